import Foundation
import PolybinKit

/// Made-up file contents the same on every run: seeded bytes no codec shrinks much, and a
/// minimal x86-64 executable header in front of them (what pack takes for a build).
package enum TestBytes {
    /// `count` bytes from a xorshift generator seeded with `seed`.
    package static func random(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }

    /// An ELF header for x86-64 ET_EXEC with an entry point, followed by `body`.
    package static func fakeExecutable(_ body: [UInt8]) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 64)
        header.replaceSubrange(0..<6, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1])
        header[16] = 2
        header[18] = 62
        header[24] = 0x40
        return header + body
    }

    /// Three builds on disk: a random baseline, an identical v2, and a v3 that differs in
    /// a few hundred bytes.
    package static func threeBuilds(in dir: URL) throws -> (flavors: [Flavor], base: [UInt8], v3: [UInt8]) {
        let base = TestBytes.fakeExecutable(TestBytes.random(200_000, seed: 9))
        var v3 = base
        for i in stride(from: 100, to: v3.count, by: 997) { v3[i] ^= 0xFF }
        try Data(base).write(to: dir.appendingPathComponent("v1"))
        try Data(v3).write(to: dir.appendingPathComponent("v3"))
        try Data(base).write(to: dir.appendingPathComponent("v2"))
        let flavors = try ["x86-64=v1", "x86-64-v2=v2", "x86-64-v3=v3"].map {
            try Flavor(parsing: $0.replacingOccurrences(of: "=", with: "=\(dir.path)/"))
        }
        return (flavors, base, v3)
    }
}
