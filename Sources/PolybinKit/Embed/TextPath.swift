/// Paths worked out on their bytes, as the user reads them: made absolute against the current
/// directory, `.` and `..` resolved, links on the way not followed. Generated files and
/// bundle names then depend on how paths are spelled relative to each other, never on where
/// polybin runs.
enum TextPath {
    /// The components of `path` made absolute, with `.` and `..` resolved.
    static func components(_ path: FilePath) -> [[UInt8]] {
        path.components(from: (try? FileSystem.currentDirectory()) ?? "/")
    }

    /// `path` as seen from `directory`.
    static func relative(_ path: FilePath, from directory: FilePath) -> FilePath {
        let target = components(path), from = components(directory)
        var common = 0
        while common < min(target.count, from.count) && target[common] == from[common] { common += 1 }
        let parts = Array(repeating: [0x2E, 0x2E], count: from.count - common) + target[common...]
        return FilePath(bytes: Array(parts.joined(separator: [0x2F])))
    }
}
