import Glibc

/// The bytes of the process's arguments. Swift's `CommandLine.arguments` puts U+FFFD where
/// an argument's bytes are not UTF-8, and a path is bytes: a path argument is looked up
/// again here by its decoded text, so that `-o out\xff` names exactly `out\xff`.
public enum ArgumentBytes {
    /// The path that was given on the command line as the argument decoded to `text`.
    public static func path(_ text: String) throws -> FilePath {
        guard text.unicodeScalars.contains("\u{FFFD}") else { return FilePath(text) }
        var found: Set<[UInt8]> = []
        for i in 1..<Int(CommandLine.argc) {
            guard let argument = CommandLine.unsafeArgv[i] else { continue }
            let raw = UnsafeRawBufferPointer(start: argument, count: strlen(argument)).map { $0 }
            for candidate in spellings(raw) where String(decoding: candidate, as: UTF8.self) == text {
                found.insert(candidate)
            }
        }
        guard found.count <= 1 else {
            throw PolybinError("\(text): several arguments differ only in bytes that are not UTF-8, so which one is meant cannot be told; rename one")
        }
        return FilePath(bytes: found.first ?? Array(text.utf8))
    }

    /// Where a value can sit in one argument: all of it, after `--option=`, after `-o`.
    static func spellings(_ raw: [UInt8]) -> [[UInt8]] {
        var out = [raw]
        if raw.starts(with: [0x2D, 0x2D]), let equals = raw.firstIndex(of: 0x3D) {
            out.append(Array(raw[(equals + 1)...]))
        } else if raw.count > 2, raw[0] == 0x2D, raw[1] != 0x2D {
            out.append(Array(raw[2...]))
        }
        return out
    }
}
