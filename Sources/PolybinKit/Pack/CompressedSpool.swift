import Dispatch

/// Where `--compress` puts the zstd frames of embedded files before the bundle is laid out:
/// a frame's size is known only once it is made, and the layout (and the lookup code compiled
/// from it) needs every size before the first byte of the output is written. So each file is
/// compressed from its mapping into a temporary file as zstd makes the frame, and the writer
/// later copies the frames into place in the kernel (copy_file_range). Nothing of a file is
/// held in memory but zstd's own state and one chunk of output. Removed when released.
final class CompressedSpool: @unchecked Sendable {
    private let directory: FilePath
    private let lock = DispatchQueue(label: "polybin.spool")
    private var files: [FileDescriptor] = []

    init() throws { directory = try FileSystem.makeTemporaryDirectory("polybin-compress") }

    deinit {
        for fd in files { try? fd.close() }
        try? FileSystem.removeTree(directory)
    }

    /// A frame's bytes: `count` of them from `offset` of one spool file.
    struct Frame: Sendable {
        let fd: FileDescriptor
        let offset: UInt64
        let count: UInt64
    }

    /// One spool file of its own, for a frame made in a stream (a big file).
    func newFile() throws -> FileDescriptor {
        try lock.sync {
            let fd = try FileDescriptor.open(directory.appending("\(files.count)"), [.readWrite, .create, .exclusive], permissions: 0o600)
            files.append(fd)
            return fd
        }
    }

    private var shared: FileDescriptor?
    private var sharedEnd: UInt64 = 0

    /// Appends a frame held in memory (a small file's) to the spool file they share.
    func append(_ bytes: [UInt8]) throws -> Frame {
        let (fd, offset): (FileDescriptor, UInt64) = try lock.sync {
            if shared == nil {
                let fd = try FileDescriptor.open(directory.appending("shared"), [.readWrite, .create, .exclusive], permissions: 0o600)
                files.append(fd)
                shared = fd
            }
            defer { sharedEnd += UInt64(bytes.count) }
            return (shared!, sharedEnd)
        }
        try fd.write(bytes, at: offset)
        return Frame(fd: fd, offset: offset, count: UInt64(bytes.count))
    }
}
