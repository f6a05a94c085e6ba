import Synchronization

/// Slots written by concurrentPerform workers, one slot per worker index.
final class ConcurrentResults<T>: @unchecked Sendable {
    private var slots: [T?]
    private let lock = Mutex(())

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    subscript(i: Int) -> T? {
        get { lock.withLock { _ in slots[i] } }
        set { lock.withLock { _ in slots[i] = newValue } }
    }
}
