import CPolybin

/// A line of output built from bytes: Embedded Swift has no Foundation, and String's
/// Unicode machinery would double the runner's size for text that is all ASCII.
struct Text {
    var bytes: [UInt8] = []

    mutating func add(_ literal: StaticString) {
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func add(_ cString: UnsafePointer<CChar>) {
        var p = cString
        while p.pointee != 0 {
            bytes.append(UInt8(bitPattern: p.pointee))
            p += 1
        }
    }

    mutating func add(_ other: Text) { bytes.append(contentsOf: other.bytes) }

    mutating func add(features: pb_features) {
        var buffer = [CChar](repeating: 0, count: 1024)
        buffer.withUnsafeMutableBufferPointer { out in
            _ = pb_features_format(features, out.baseAddress, out.count)
            add(UnsafePointer(out.baseAddress!))
        }
    }

    mutating func add(level: UInt32) {
        if let name = pb_level_name(level) { add(name) }
    }

    /// The bytes as a NUL-terminated C string, for the C layer.
    func withCString<R>(_ body: (UnsafePointer<CChar>) -> R) -> R {
        var copy = bytes.map { CChar(bitPattern: $0) }
        copy.append(0)
        return copy.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// A value from the caller, in double quotes: `"` and `\` escaped, and at most 200 of
    /// its bytes (then `...`). Control bytes are escaped when the line is written.
    mutating func add(quoted value: CText) {
        bytes.append(0x22)
        var i = 0
        while value.pointer[i] != 0 {
            if i == 200 {
                add("...")
                break
            }
            let c = UInt8(bitPattern: value.pointer[i])
            if c == 0x22 || c == 0x5C { bytes.append(0x5C) }
            bytes.append(c)
            i += 1
        }
        bytes.append(0x22)
    }

    var isEmpty: Bool { bytes.isEmpty }

    func write(to fd: Int32) {
        bytes.withUnsafeBytes { pb_write_all(fd, $0.baseAddress, UInt64($0.count)) }
    }

    /// The text as one line on `fd`: every control byte in it (a newline in a path or a
    /// variable, say) written as `\xNN`, then one newline.
    func writeLine(to fd: Int32) {
        var line = Text()
        let digits: StaticString = "0123456789abcdef"
        for c in bytes {
            if c < 0x20 || c == 0x7F {
                line.add("\\x")
                line.bytes.append(digits.utf8Start[Int(c >> 4)])
                line.bytes.append(digits.utf8Start[Int(c & 15)])
            } else {
                line.bytes.append(c)
            }
        }
        line.bytes.append(0x0A)
        line.write(to: fd)
    }
}

/// A NUL-terminated string from the environment or argv, compared without String.
struct CText {
    let pointer: UnsafePointer<CChar>

    var count: Int {
        var n = 0
        while pointer[n] != 0 { n += 1 }
        return n
    }

    func equals(_ literal: StaticString) -> Bool {
        literal.withUTF8Buffer { expected in
            for i in 0..<expected.count where UInt8(bitPattern: pointer[i]) != expected[i] { return false }
            return pointer[expected.count] == 0
        }
    }

    var isAbsolutePath: Bool { pointer[0] == 0x2F }

    /// The variable's value when it is set, empty or not.
    static func variable(_ name: StaticString) -> CText? {
        guard let value = pb_env(UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self)) else { return nil }
        return CText(pointer: value)
    }

    /// The variable's value when it is set and not empty.
    static func environment(_ name: StaticString) -> CText? {
        guard let value = pb_env(UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self)),
              value[0] != 0 else { return nil }
        return CText(pointer: value)
    }
}
