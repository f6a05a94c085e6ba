/// Paths worked out on their text, as the user reads them: made absolute against the current
/// directory, `.` and `..` resolved, links on the way not followed. Generated files and
/// bundle names then depend on how paths are spelled relative to each other, never on where
/// polybin runs.
enum TextPath {
    /// The components of `path` made absolute, with `.` and `..` resolved.
    static func components(_ path: String) -> [Substring] {
        let joined = path.hasPrefix("/") ? path : ((try? FileSystem.currentDirectory().description) ?? "/") + "/" + path
        var parts: [Substring] = []
        for part in joined.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return parts
    }

    /// The last non-empty component: `web/` gives `web`.
    static func lastComponent(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    static func absolute(_ path: String) -> String { "/" + components(path).joined(separator: "/") }

    /// `path` as seen from `directory`.
    static func relative(_ path: String, from directory: String) -> String {
        let target = components(path), from = components(directory)
        var common = 0
        while common < min(target.count, from.count) && target[common] == from[common] { common += 1 }
        return (Array(repeating: "..", count: from.count - common) + target[common...].map(String.init)).joined(separator: "/")
    }
}
