/// Who reads the depfile (`embed --depfile-format`): each reader has its own escapes, and
/// each cannot spell some names at all. Checked with the readers themselves: GNU make in
/// EmbedSafetyTests, Ninja through the CMake package in CMakeDepfileTests; the escapes of
/// `cmake` in DepfileFormatTests (worked out against CMake 3.25 by hand).
public enum DepfileFormat: String, CaseIterable, Sendable {
    /// GNU make, through `-include` (Depfile.escaped).
    case make
    /// A project's own `add_custom_command(DEPFILE)` under CMake's Makefiles generator. CMake
    /// (3.20 to at least 3.25) reads GCC's syntax (`\ `, `\#`, `$$`) and writes what it read
    /// into a makefile of its own escaping only blanks, `#` and `$`, with backslashes turned
    /// into slashes: a name holding `:` (`12:30.log`) there stops make for good ("multiple
    /// target patterns"). Names make would misread in that makefile are refused. (The CMake
    /// package uses no depfile under Makefiles: PolybinEmbedCheck.cmake says why.)
    case cmake
    /// Ninja's own depfile parser (1.10 and later), given the file unchanged (what the CMake
    /// package does under Ninja, with CMP0116 OLD: CMake's rewrite of it drops the escapes of
    /// `$` and `#`). Ninja unescapes `\ `, `\#` and `$$`, keeps a backslash and the byte after
    /// it, and ends a name at any other byte outside its plain set.
    case ninja

    /// One name in CMake's GCC syntax.
    static func cmakeWord(_ path: FilePath) throws -> [UInt8] {
        let bytes = path.bytes
        func refuse(_ why: String) -> PolybinError {
            PolybinError("\(Depfile.shown(path)): a depfile for CMake cannot name this file (\(why)); rename it, or drop --depfile")
        }
        if let bad = bytes.first(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw refuse(bad == 0x09 ? "a tab in its name" : "a line break in its name")
        }
        if bytes.contains(0x5C) { throw refuse("CMake reads a backslash as a directory separator") }
        // Written unescaped into CMake's makefile, where make reads each as syntax.
        for (byte, meaning) in [(0x3A, "a rule"), (0x3B, "a recipe"), (0x7C, "order-only prerequisites"),
                                (0x25, "a pattern rule"), (0x2A, "a wildcard"), (0x3F, "a wildcard"), (0x5B, "a wildcard")]
            as [(UInt8, String)] where bytes.contains(byte) {
            throw refuse("CMake's makefile would hold '\(Character(Unicode.Scalar(byte)))' unescaped, which make reads as \(meaning)")
        }
        if bytes.first == 0x7E { throw refuse("make expands a leading ~ to a home directory") }
        if bytes.last == 0x29 && bytes.contains(0x28) { throw refuse("make reads NAME(MEMBER) as an archive member") }
        if Depfile.specialTargets.contains(path.description) { throw refuse("make reads it as a special target") }
        var out: [UInt8] = []
        for byte in bytes {
            switch byte {
            case 0x20, 0x23: out += [0x5C, byte]       // space #
            case 0x24: out += [0x24, 0x24]             // $
            default: out.append(byte)
            }
        }
        return out
    }

    /// One name in Ninja's depfile syntax.
    static func ninjaWord(_ path: FilePath) throws -> [UInt8] {
        let bytes = path.bytes
        func refuse(_ why: String) -> PolybinError {
            PolybinError("\(Depfile.shown(path)): a ninja depfile cannot name this file (\(why)); rename it, or drop --depfile")
        }
        func plain(_ byte: UInt8) -> Bool {
            switch byte {
            case 0x61...0x7A, 0x41...0x5A, 0x30...0x39, 0x80...0xFF: return true
            default: return Array("+,/_:.~()}{%=@[]!-".utf8).contains(byte)
            }
        }
        if let bad = bytes.first(where: { $0 == 0x0A || $0 == 0x0D }) {
            throw refuse(bad == 0x0D ? "a carriage return in its name" : "a line break in its name")
        }
        if bytes.last == 0x5C { throw refuse("ninja reads a backslash ending a name as an escape") }
        if bytes.last == 0x3A { throw refuse("ninja reads a name ending in ':' as a target") }
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == 0x5C {
                let end = Depfile.backslashRun(bytes, from: i)
                let run = end - i, next = bytes[end]    // not the end: a trailing backslash is refused
                switch next {
                case 0x20: out += [UInt8](repeating: 0x5C, count: 2 * run + 1) + [0x20]   // 2N+1 \ + space → N \ + space
                case 0x23: out += [UInt8](repeating: 0x5C, count: run + 1) + [0x23]       // N+1 \ + # → N \ + #
                case 0x24: throw refuse("ninja cannot read a backslash before '$'")
                case 0x3A: throw refuse("ninja 1.11 reads a backslash before ':' as an escape, older ones do not")
                case 0x09: throw refuse("a tab in its name")
                default: out += [UInt8](repeating: 0x5C, count: run) + [next]              // kept as they are
                }
                i = end + 1
                continue
            }
            switch byte {
            case 0x20, 0x23: out += [0x5C, byte]                     // space #
            case 0x24: out += [0x24, 0x24]                           // $
            case _ where plain(byte): out.append(byte)
            case 0x09: throw refuse("a tab in its name")
            default:
                let shown = (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte \(byte)"
                throw refuse("ninja ends a name at \(shown)")
            }
            i += 1
        }
        return out
    }

}
