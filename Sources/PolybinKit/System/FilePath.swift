import Glibc

/// A path as the kernel sees it: bytes, not text. Names read from a directory keep every
/// byte, including ones that are not UTF-8; only messages decode them (for display).
public struct FilePath: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The path's bytes, without a terminating NUL.
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { bytes = Array(string.utf8) }
    public init(stringLiteral value: String) { self.init(value) }

    /// The path for messages: a byte that is not part of UTF-8 text shows as `\xFF` (its
    /// value), so that the message names the file a user can find, not U+FFFD.
    public var description: String {
        if let text = string { return text }
        var out = ""
        var i = 0
        outer: while i < bytes.count {
            for length in 1...4 where i + length <= bytes.count {
                if let text = String(validating: bytes[i..<i + length], as: UTF8.self) {
                    out += text
                    i += length
                    continue outer
                }
            }
            let hex = Array("0123456789ABCDEF")
            out += "\\x\(hex[Int(bytes[i] >> 4)])\(hex[Int(bytes[i] & 15)])"
            i += 1
        }
        return out
    }

    /// The path as text, or nil when its bytes are not UTF-8.
    public var string: String? { String(validating: bytes, as: UTF8.self) }

    /// `self/component`, without doubling a separator.
    public func appending(_ component: [UInt8]) -> FilePath {
        if bytes.isEmpty || bytes == [0x2E] { return FilePath(bytes: component) }
        return FilePath(bytes: bytes.last == 0x2F ? bytes + component : bytes + [0x2F] + component)
    }

    public func appending(_ component: String) -> FilePath { appending(Array(component.utf8)) }

    /// The path without trailing slashes ("/" stays "/").
    public var trimmed: FilePath {
        var bytes = self.bytes
        while bytes.count > 1 && bytes.last == 0x2F { bytes.removeLast() }
        return FilePath(bytes: bytes)
    }

    /// The last non-empty component: `web/` gives `web`; "/" gives "/".
    public var lastComponent: [UInt8] {
        bytes.split(separator: 0x2F).last.map(Array.init) ?? bytes
    }

    /// The directory holding the last component, as spelled: `a/b` gives `a`, `b` gives `.`.
    public var directory: FilePath {
        let path = trimmed.bytes
        guard let slash = path.lastIndex(of: 0x2F) else { return "." }
        return slash == 0 ? "/" : FilePath(bytes: Array(path[..<slash]))
    }

    /// The components made absolute against `cwd`, with `.` and `..` resolved as text.
    public func components(from cwd: FilePath) -> [[UInt8]] {
        let joined = bytes.first == 0x2F ? bytes : cwd.bytes + [0x2F] + bytes
        var parts: [[UInt8]] = []
        for part in joined.split(separator: 0x2F) {
            switch Array(part) {
            case [0x2E]: continue
            case [0x2E, 0x2E]: if !parts.isEmpty { parts.removeLast() }
            default: parts.append(Array(part))
            }
        }
        return parts
    }

    /// Calls `body` with the path as a C string. A path holding a NUL cannot name a file:
    /// the call fails with EINVAL rather than silently naming a shorter path.
    func withCString<T>(_ call: String, _ body: (UnsafePointer<CChar>) throws -> T) throws -> T {
        guard !bytes.contains(0) else { throw SystemError(call, self, errno: EINVAL) }
        return try (bytes + [0]).withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }
}
