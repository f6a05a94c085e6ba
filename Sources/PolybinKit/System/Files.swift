import Glibc

/// Reading inputs and writing outputs. Outputs go through OutputFiles, the one atomic writer:
/// an interrupted or failed step never leaves a half-written file.
public enum Files {
    /// A whole regular file, in one allocation; the messages a user meets name the file.
    public static func read(_ path: FilePath) throws -> [UInt8] {
        let fd = try openForReading(path)
        defer { try? fd.close() }
        return try fd.readAll()
    }

    public static func read(_ path: String) throws -> [UInt8] { try read(FilePath(path)) }

    /// Opens a regular file for reading: "no such file" and "is a directory" are said plainly.
    public static func openForReading(_ path: FilePath) throws -> FileDescriptor {
        let fd: FileDescriptor
        do {
            // Non-blocking: a FIFO put where a file was expected is refused, never waited on.
            fd = try FileDescriptor.open(path, [.readOnly, .nonBlocking])
        } catch let error as SystemError {
            throw PolybinError("\(path): \(error.errno == ENOENT ? "no such file" : "cannot be read (\(error.call): \(error.reason))")")
        }
        do {
            guard try fd.status().kind == .regular else {
                let kind = try fd.status().kind
                throw PolybinError("\(path): \(kind == .directory ? "is a directory, not a file" : "is not a regular file")")
            }
        } catch {
            try? fd.close()
            throw error
        }
        return fd
    }

    /// The size of the regular file at `path`, with the messages `openForReading` gives.
    public static func size(of path: FilePath) throws -> UInt64 {
        let fd = try openForReading(path)
        defer { try? fd.close() }
        return try fd.status().size
    }

    /// The size of a regular file, or its whole content when its `st_size` cannot be trusted:
    /// a file with no block allocated and a small size (the files of /proc and /sys say 0 or
    /// 4096 whatever they hold; an empty file costs one read) is read to its end instead.
    public static func sizeOrContent(of path: FilePath) throws -> (size: UInt64, content: [UInt8]?) {
        let fd = try openForReading(path)
        defer { try? fd.close() }
        let info = try fd.status()
        guard info.sizeMayLie else { return (info.size, nil) }
        let content = try fd.readToEnd(limit: 256 << 20)
        return (UInt64(content.count), content)
    }

    /// Runs `write` on a temporary path beside `path`, then renames it into place; on any
    /// failure the temporary file is removed (OutputFiles with one output). `executable` sets mode 0755.
    public static func writeAtomically(_ path: FilePath, executable: Bool = false, _ write: (FilePath) throws -> Void) throws {
        let output = OutputFiles()
        defer { output.abandon() }
        try output.stage(path, executable: executable, write)
        try output.commit()
    }

    /// Refuses to write `output` when it names one of `inputs` (`what` says which), however
    /// spelled: the atomic rename would replace that input with the output.
    public static func refuseOverwriting(_ output: String, inputs: [(path: String, what: String)]) throws {
        for input in inputs where sameFile(input.path, output) {
            throw PolybinError("\(output): is \(input.what); writing it would replace that input (choose another -o)")
        }
    }

    /// Whether both paths name one existing file (same device and inode), however spelled.
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        var x = stat(), y = stat()
        return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }

    public static func writeAtomically(_ path: String, executable: Bool = false, _ write: (String) throws -> Void) throws {
        try writeAtomically(FilePath(path), executable: executable) { try write($0.description) }
    }

    /// Creates `path` atomically and hands `body` the open file to fill.
    public static func create(_ path: FilePath, executable: Bool = false, _ body: (FileDescriptor) throws -> Void) throws {
        let output = OutputFiles()
        defer { output.abandon() }
        try output.create(path, executable: executable, body)
        try output.commit()
    }

    /// Writes the parts one after the other without joining them: a `c` source is several
    /// times the payload, and one more copy of it would cost as much memory again.
    public static func write(parts: [[UInt8]], to path: FilePath, executable: Bool = false) throws {
        try create(path, executable: executable) { fd in
            for part in parts { try fd.write(part) }
        }
    }

    public static func write(_ bytes: [UInt8], to path: FilePath, executable: Bool = false) throws {
        try write(parts: [bytes], to: path, executable: executable)
    }

    public static func write(_ bytes: [UInt8], to path: String, executable: Bool = false) throws {
        try write(bytes, to: FilePath(path), executable: executable)
    }
}
