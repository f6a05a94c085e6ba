import Foundation

/// The one memoiser of the tests: what a test process builds once and its parallel tests share
/// read-only (a compiled fixture, a fatbin, a checkout). The first caller of a name builds it,
/// callers meanwhile wait, later ones get it, a failure included (each test then reports the
/// build's error instead of building again). Different names build in parallel, and a build
/// may ask for other names (never for its own).
package enum BuildOnce {
    private final class Slot: @unchecked Sendable {
        let lock = NSLock()
        var value: Result<Any, Error>?
    }

    private static let lock = NSLock()
    private nonisolated(unsafe) static var slots: [String: Slot] = [:]

    package static func value<T>(_ name: String, _ make: () throws -> T) throws -> T {
        let slot = lock.withLock {
            if let slot = slots[name] { return slot }
            let slot = Slot()
            slots[name] = slot
            return slot
        }
        return try slot.lock.withLock {
            if slot.value == nil { slot.value = Result { try make() } }
            guard let value = try slot.value!.get() as? T else { throw FixtureError("BuildOnce: \(name) was built as another type") }
            return value
        }
    }
}
