/// A dependency file for embedded files, which compilers cannot write: neither gcc nor clang
/// lists `.incbin` inputs in -MD output, and an object written by polybin has no compiler.
/// Three readers take one, each with its own escapes (`DepfileFormat`); a name the chosen
/// reader cannot read back is refused before anything is written, naming the file.
///
/// make: every name is written so that GNU make reads back exactly its bytes, checked with make
/// itself (EmbedSafetyTests): blanks, `#`, `:`, the wildcards `*?[`, and `%` in a target (where
/// it would make a pattern rule) behind a backslash; `$` doubled; `;`, which make looks for
/// again after expanding the line, behind three backslashes; `=` (a target-specific variable)
/// and `|` in a target (order-only) as `$(if ,,C)`, which make expands after parsing the rule;
/// a run of backslashes before any of those, or ending the name, doubled (quadrupled before `;`). What make cannot
/// read back is refused, naming the file: a newline, carriage return or tab; `~` starting
/// the name (make expands it to a home directory); a name ending in `)` with a `(` in it (an
/// archive member); and the names of make's special targets.
enum Depfile {
    enum Role { case target, prerequisite }

    /// `targets: prerequisites`, then an empty rule per prerequisite (as -MP does), so that
    /// deleting an embedded file rebuilds instead of stopping make with "no rule to make".
    /// Ninja and CMake read the same layout.
    static func text(targets: [FilePath], prerequisites: [FilePath], format: DepfileFormat = .make) throws -> [UInt8] {
        let word = { (path: FilePath, role: Role) throws -> [UInt8] in
            switch format {
            case .make: return try escaped(path, as: role)
            case .cmake: return try DepfileFormat.cmakeWord(path)
            case .ninja: return try DepfileFormat.ninjaWord(path)
            }
        }
        var out = Array(try targets.map { try word($0, .target) }.joined(separator: [0x20])) + [0x3A]
        for prerequisite in prerequisites {
            out += Array(" \\\n ".utf8) + (try word(prerequisite, .prerequisite))
        }
        out.append(0x0A)
        for prerequisite in prerequisites {
            out += [0x0A] + (try word(prerequisite, .target)) + [0x3A, 0x0A]
        }
        return out
    }

    static let specialTargets: Set<String> = [
        ".PHONY", ".SUFFIXES", ".DEFAULT", ".PRECIOUS", ".INTERMEDIATE", ".NOTINTERMEDIATE", ".SECONDARY",
        ".SECONDEXPANSION", ".DELETE_ON_ERROR", ".IGNORE", ".LOW_RESOLUTION_TIME", ".SILENT",
        ".EXPORT_ALL_VARIABLES", ".NOTPARALLEL", ".ONESHELL", ".POSIX", ".WAIT",
    ]

    /// The name as a one-line error shows it: escaped, never a raw line break.
    static func shown(_ path: FilePath) -> Substring {
        String(reflecting: path.description).dropFirst().dropLast()
    }

    /// Where the run of backslashes starting at `i` ends: every format escapes a run by what follows it.
    static func backslashRun(_ bytes: [UInt8], from i: Int) -> Int {
        var end = i
        while end < bytes.count && bytes[end] == 0x5C { end += 1 }
        return end
    }

    /// One path as a word of a rule, in the role it plays there.
    static func escaped(_ path: FilePath, as role: Role) throws -> [UInt8] {
        let bytes = path.bytes
        func refuse(_ why: String) -> PolybinError {
            PolybinError("\(shown(path)): a make depfile cannot name this file (\(why)); rename it, or drop --depfile")
        }
        if let bad = bytes.first(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw refuse(bad == 0x09 ? "a tab in its name" : "a line break in its name")
        }
        if bytes.first == 0x7E { throw refuse("make expands a leading ~ to a home directory") }
        if bytes.last == 0x29 && bytes.contains(0x28) { throw refuse("make reads NAME(MEMBER) as an archive member") }
        if specialTargets.contains(path.description) { throw refuse("make reads it as a special target") }

        func backslashed(_ byte: UInt8) -> Bool {
            switch byte {
            case 0x20, 0x23, 0x3A, 0x2A, 0x3F, 0x5B, 0x3B: return true    // space # : * ? [ ;
            case 0x25: return role == .target                              // %
            case 0x7C: return role == .prerequisite                        // |
            default: return false
            }
        }
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == 0x5C {
                let end = backslashRun(bytes, from: i)
                let run = end - i
                // Before `;` make halves the run twice (before and after expanding the line).
                let factor = end == bytes.count || backslashed(bytes[end]) ? (end < bytes.count && bytes[end] == 0x3B ? 4 : 2) : 1
                out += [UInt8](repeating: 0x5C, count: run * factor)
                i = end
                continue
            }
            switch byte {
            case 0x24: out += [0x24, 0x24]                                          // $ → $$
            case 0x3B: out += Array("\\\\\\;".utf8)                                 // ; → \\\;
            case 0x3D: out += Array("$(if ,,=)".utf8)                               // =
            case 0x7C where role == .target: out += Array("$(if ,,|)".utf8)         // |
            case _ where backslashed(byte): out += [0x5C, byte]
            default: out.append(byte)
            }
            i += 1
        }
        return out
    }
}
