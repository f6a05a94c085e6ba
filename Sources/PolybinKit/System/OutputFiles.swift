import Glibc

/// The one atomic writer of outputs (docs/output-rule.md): each output goes to a temporary
/// file beside where it lands (`.NAME.tmp-PID`), and all are renamed into place only once
/// every one is complete, so a failure at any step leaves every output as it was and no
/// temporary file behind. Each output passes OutputRule when it is staged: a symbolic link to
/// a regular file has its target replaced; a device, FIFO, socket or directory never is.
public final class OutputFiles {
    private var staged: [(temp: FilePath, target: FilePath, path: FilePath, removal: RemovalOnSignal)] = []
    private var renamed: [FilePath] = []

    public init() {}

    /// Stages `path`: `write` makes its temporary file (by opening it, or a tool's `-o TEMP`).
    /// `executable` sets mode 0755.
    public func stage(_ path: FilePath, executable: Bool = false, _ write: (FilePath) throws -> Void) throws {
        let target = try OutputRule.target(path)
        let temp = Self.temporaryName(for: target)
        // Staged before it exists: abandon() removes whatever a failed write left.
        staged.append((temp, target, path, RemovalOnSignal(temp)))
        do {
            try write(temp)
            if executable {
                guard try temp.withCString("chmod", { chmod($0, 0o755) }) == 0 else { throw SystemError.last("chmod", temp) }
            }
        } catch {
            throw SystemError.naming(path, insteadOf: temp, in: error)
        }
    }

    /// Creates the temporary file for `path` and hands `body` the open file to fill.
    public func create(_ path: FilePath, executable: Bool = false, _ body: (FileDescriptor) throws -> Void) throws {
        try stage(path, executable: executable) { temp in
            try FileDescriptor.open(temp, [.writeOnly, .create, .truncate, .noFollow]).fill(body)
        }
    }

    /// Writes the parts one after the other without joining them.
    public func write(parts: [[UInt8]], to path: FilePath, executable: Bool = false) throws {
        try create(path, executable: executable) { fd in for part in parts { try fd.write(part) } }
    }

    /// Renames every output into place, then sets each one's time to now: a rename changes
    /// the directory it lands in, and an output in a directory it depends on must not be
    /// older than that directory (make would rebuild it on every run).
    public func commit() throws {
        defer { abandon() }
        while let (temp, target, path, removal) = staged.first {
            do {
                try FileSystem.rename(temp, to: target)
            } catch let error as SystemError {
                throw SystemError(error.call, path, errno: error.errno)
            }
            removal.keep()
            staged.removeFirst()
            renamed.append(target)
        }
        for target in renamed { try FileSystem.touch(target) }
    }

    /// Removes the temporary files of outputs not yet renamed.
    public func abandon() {
        for (temp, _, _, removal) in staged {
            try? FileSystem.remove(temp)
            removal.keep()
        }
        staged = []
    }

    /// The temporary name beside `path` that its output is written under (`.NAME.tmp-PID`).
    public static func temporaryName(for path: FilePath) -> FilePath {
        var bytes = path.bytes
        while bytes.count > 1 && bytes.last == 0x2F { bytes.removeLast() }
        let slash = bytes.lastIndex(of: 0x2F)
        let directory = slash.map { Array(bytes[...$0]) } ?? []
        let name = slash.map { Array(bytes[($0 + 1)...]) } ?? bytes
        return FilePath(bytes: directory + Array(".".utf8) + name + Array(".tmp-\(getpid())".utf8))
    }
}

/// Where a path would be written, to tell before writing whether two paths name one file,
/// however spelled (`x`, `./x`, `d/../x`, a hard link, a symbolic link): the file there now
/// (links followed) when there is one, else the directory it would go in and its name.
public struct FilePlace: Sendable {
    /// What is there now, links followed; nil when nothing is.
    public let existing: FileStatus?
    /// The directory it is (or would be) in, links followed; nil when that is missing too.
    public let directory: FileStatus?
    /// The last component, as written.
    public let name: [UInt8]
    /// The absolute path with `.` and `..` resolved as text, for paths whose directory is missing.
    let text: [[UInt8]]

    public init(_ path: FilePath) throws {
        existing = try FileSystem.statusIfPresent(path)
        directory = try FileSystem.statusIfPresent(path.directory)
        name = path.lastComponent
        text = path.components(from: (try? FileSystem.currentDirectory()) ?? "/")
    }

    public func isSame(as other: FilePlace) -> Bool {
        if let a = existing, let b = other.existing { return a.device == b.device && a.inode == b.inode }
        if existing != nil || other.existing != nil { return false }
        if let a = directory, let b = other.directory {
            return a.device == b.device && a.inode == b.inode && name == other.name
        }
        return text == other.text
    }

    /// Whether `entry` of the directory `inside` is this place, or a temporary file of it.
    public func isEntry(_ entry: [UInt8], of inside: FileStatus) -> Bool {
        guard let directory, directory.device == inside.device, directory.inode == inside.inode else { return false }
        return entry == name || entry.starts(with: [0x2E] + name + Array(".tmp-".utf8))
    }
}
