import Glibc
import Synchronization

/// Operations on paths, after swift-system: each one raw call (or a short loop of them),
/// every failure a SystemError naming the call and the path.
public enum FileSystem {
    /// `stat` (following links) or `lstat`.
    public static func status(_ path: FilePath, followingLinks: Bool = true) throws -> FileStatus {
        var info = stat()
        let call = followingLinks ? "stat" : "lstat"
        let result = try path.withCString(call) { followingLinks ? stat($0, &info) : lstat($0, &info) }
        guard result == 0 else { throw SystemError.last(call, path) }
        return FileStatus(info)
    }

    /// The status, or nil when nothing is there.
    public static func statusIfPresent(_ path: FilePath, followingLinks: Bool = true) throws -> FileStatus? {
        do {
            return try status(path, followingLinks: followingLinks)
        } catch let error as SystemError where error.errno == ENOENT || error.errno == ENOTDIR {
            return nil
        }
    }

    public static func exists(_ path: FilePath) -> Bool {
        (try? statusIfPresent(path)).flatMap { $0 } != nil
    }

    /// The names in a directory, without `.` and `..`, sorted as bytes.
    public static func entries(of directory: FilePath) throws -> [[UInt8]] {
        guard let stream = try directory.withCString("opendir", { opendir($0) }) else {
            throw SystemError.last("opendir", directory)
        }
        defer { closedir(stream) }
        var names: [[UInt8]] = []
        while true {
            Glibc.errno = 0
            guard let entry = readdir(stream) else {
                if Glibc.errno != 0 { throw SystemError.last("readdir", directory) }
                break
            }
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if bytes == [0x2E] || bytes == [0x2E, 0x2E] { continue }
            names.append(bytes)
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    public static func rename(_ from: FilePath, to: FilePath) throws {
        let result = try from.withCString("rename") { a in try to.withCString("rename") { b in Glibc.rename(a, b) } }
        guard result == 0 else { throw SystemError.last("rename", to) }
    }

    /// Sets the file's access and modification times to now.
    public static func touch(_ path: FilePath) throws {
        guard try path.withCString("utimensat", { utimensat(AT_FDCWD, $0, nil, 0) }) == 0 else {
            throw SystemError.last("utimensat", path)
        }
    }

    public static func remove(_ path: FilePath) throws {
        guard try path.withCString("unlink", { unlink($0) }) == 0 else { throw SystemError.last("unlink", path) }
    }

    /// Removes `path` and, for a directory, everything below it; links are removed, not followed.
    public static func removeTree(_ path: FilePath) throws {
        guard let info = try statusIfPresent(path, followingLinks: false) else { return }
        if info.kind == .directory {
            for name in try entries(of: path) { try removeTree(path.appending(name)) }
            guard try path.withCString("rmdir", { rmdir($0) }) == 0 else { throw SystemError.last("rmdir", path) }
            scratch.withLock { $0.removeValue(forKey: path)?.keep() }
        } else {
            try remove(path)
        }
    }

    public static func makeDirectory(_ path: FilePath, permissions: UInt32 = 0o755) throws {
        guard try path.withCString("mkdir", { mkdir($0, mode_t(permissions)) }) == 0 else {
            throw SystemError.last("mkdir", path)
        }
    }

    /// A new private directory under $TMPDIR (or /tmp), named `prefix-XXXXXX`.
    public static func makeTemporaryDirectory(_ prefix: String) throws -> FilePath {
        let base = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array(FilePath(base).appending("\(prefix)-XXXXXX").bytes.map { CChar(bitPattern: $0) }) + [0]
        guard mkdtemp(&template) != nil else { throw SystemError.last("mkdtemp", FilePath(base)) }
        let path = FilePath(bytes: template.dropLast().map { UInt8(bitPattern: $0) })
        scratch.withLock { $0[path] = RemovalOnSignal(path, directory: true) }
        return path
    }

    /// Temporary directories not yet removed: a signal removes them (RemovalOnSignal), and
    /// `removeTree` of one of them hands it back.
    private static let scratch = Mutex<[FilePath: RemovalOnSignal]>([:])

    public static func currentDirectory() throws -> FilePath {
        guard let cwd = getcwd(nil, 0) else { throw SystemError.last("getcwd", nil) }
        defer { free(cwd) }
        return FilePath(bytes: Array(UnsafeBufferPointer(start: cwd, count: strlen(cwd)).map { UInt8(bitPattern: $0) }))
    }

    /// Where a symbolic link resolves to, every component followed.
    public static func resolved(_ path: FilePath) throws -> FilePath {
        guard let real = try path.withCString("realpath", { realpath($0, nil) }) else {
            throw SystemError.last("realpath", path)
        }
        defer { free(real) }
        return FilePath(bytes: Array(UnsafeBufferPointer(start: real, count: strlen(real)).map { UInt8(bitPattern: $0) }))
    }
}
