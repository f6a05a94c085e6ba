/// A make dependency file for embedded files, which compilers cannot write: neither gcc nor
/// clang lists `.incbin` inputs in -MD output, and an object written by polybin has no compiler.
///
/// Every name is written so that GNU make reads back exactly its bytes, checked with make
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
    static func text(targets: [FilePath], prerequisites: [FilePath]) throws -> [UInt8] {
        var out = Array(try targets.map { try escaped($0, as: .target) }.joined(separator: [0x20])) + [0x3A]
        for prerequisite in prerequisites {
            out += Array(" \\\n ".utf8) + (try escaped(prerequisite, as: .prerequisite))
        }
        out.append(0x0A)
        for prerequisite in prerequisites {
            out += [0x0A] + (try escaped(prerequisite, as: .target)) + [0x3A, 0x0A]
        }
        return out
    }

    static let specialTargets: Set<String> = [
        ".PHONY", ".SUFFIXES", ".DEFAULT", ".PRECIOUS", ".INTERMEDIATE", ".NOTINTERMEDIATE", ".SECONDARY",
        ".SECONDEXPANSION", ".DELETE_ON_ERROR", ".IGNORE", ".LOW_RESOLUTION_TIME", ".SILENT",
        ".EXPORT_ALL_VARIABLES", ".NOTPARALLEL", ".ONESHELL", ".POSIX", ".WAIT",
    ]

    /// One path as a word of a rule, in the role it plays there.
    static func escaped(_ path: FilePath, as role: Role) throws -> [UInt8] {
        let bytes = path.bytes
        func refuse(_ why: String) -> PolybinError {
            PolybinError("\(String(reflecting: path.description).dropFirst().dropLast()): a make depfile cannot name this file (\(why)); rename it, or drop --depfile")
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
                var end = i
                while end < bytes.count && bytes[end] == 0x5C { end += 1 }
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
