import Glibc

/// Outputs written as one: each goes to a temporary file beside it, and all are renamed into
/// place only once every one is complete, so a failure at any step leaves every output as it
/// was and no temporary file behind.
public final class OutputFiles {
    private var staged: [(temp: FilePath, path: FilePath, removal: RemovalOnSignal)] = []
    private var renamed: [FilePath] = []

    public init() {}

    /// Creates the temporary file for `path` and hands `body` the open file to fill.
    public func create(_ path: FilePath, _ body: (FileDescriptor) throws -> Void) throws {
        let temp = Files.temporaryName(for: path)
        let removal = RemovalOnSignal(temp)
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(temp, [.writeOnly, .create, .truncate, .noFollow])
        } catch {
            removal.keep()
            throw SystemError.naming(path, insteadOf: temp, in: error)
        }
        staged.append((temp, path, removal))
        do {
            try fd.fill(body)
        } catch {
            throw SystemError.naming(path, insteadOf: temp, in: error)
        }
    }

    /// Writes the parts one after the other without joining them.
    public func write(parts: [[UInt8]], to path: FilePath) throws {
        try create(path) { fd in for part in parts { try fd.write(part) } }
    }

    /// Renames every output into place, then sets each one's time to now: a rename changes
    /// the directory it lands in, and an output in a directory it depends on must not be
    /// older than that directory (make would rebuild it on every run).
    public func commit() throws {
        defer { abandon() }
        while let (temp, path, removal) = staged.first {
            try FileSystem.rename(temp, to: path)
            removal.keep()
            staged.removeFirst()
            renamed.append(path)
        }
        for path in renamed { try FileSystem.touch(path) }
    }

    /// Removes the temporary files of outputs not yet renamed.
    public func abandon() {
        for (temp, _, removal) in staged {
            try? FileSystem.remove(temp)
            removal.keep()
        }
        staged = []
    }

    /// The temporary name `path` is written under (`.NAME.tmp-PID` beside it).
    public static func temporaryName(for path: FilePath) -> FilePath { Files.temporaryName(for: path) }
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
