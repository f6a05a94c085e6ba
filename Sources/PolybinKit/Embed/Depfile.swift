/// A make dependency file for embedded files, which compilers cannot write: neither gcc nor
/// clang lists `.incbin` inputs in -MD output, and an object written by polybin has no compiler.
enum Depfile {
    /// `targets: prerequisites`, then an empty rule per prerequisite (as -MP does), so that
    /// deleting an embedded file rebuilds instead of stopping make with "no rule to make".
    static func text(targets: [String], prerequisites: [String]) throws -> String {
        var lines = [try targets.map(escaped).joined(separator: " ") + ":"]
        for prerequisite in prerequisites {
            lines[lines.count - 1] += " \\"
            lines.append(" " + (try escaped(prerequisite)))
        }
        for prerequisite in prerequisites {
            lines.append("")
            lines.append(try escaped(prerequisite) + ":")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A path as make reads it in a rule, escaped as gcc's -MD escapes it: blanks and `#`
    /// behind a backslash, `$` doubled. A newline cannot be written at all.
    static func escaped(_ path: String) throws -> String {
        guard !path.contains("\n") && !path.contains("\r") else {
            throw PolybinError("\(path.debugDescription): a make depfile cannot name a file with a newline in its name")
        }
        var out = ""
        for character in path {
            switch character {
            case " ", "\t", "#": out += "\\" + String(character)
            case "$": out += "$$"
            default: out.append(character)
            }
        }
        return out
    }
}
