import Synchronization

/// The data area of a bundle whose blobs learn their sizes only while they are made
/// (compressed frames, made side by side): blob i goes right after blob i-1, aligned as
/// BundleLayout places it, straight into the file. A blob whose predecessors are not all
/// complete yet is held in memory until they are, then written through; so the output is
/// the same whatever order the blobs are made in, and at most the blobs running ahead of
/// the first unfinished one are ever held.
final class BlobStream: @unchecked Sendable {
    private let fd: FileDescriptor
    /// Where the data area starts in the file.
    private let start: UInt64
    private let lock = Mutex(())
    private var pending: [[UInt8]]
    private var sizes: [UInt64]
    private var finished: [Bool]
    /// The first unfinished blob, which alone streams to the file, and where it starts
    /// (from `start`).
    private var current = 0
    private var currentOffset: UInt64 = 0

    init(fd: FileDescriptor, dataStart: UInt64, blobs: Int) {
        self.fd = fd
        start = dataStart
        pending = Array(repeating: [], count: blobs)
        sizes = Array(repeating: 0, count: blobs)
        finished = Array(repeating: false, count: blobs)
    }

    /// The next bytes of blob `i`.
    func append(_ i: Int, _ bytes: UnsafeRawBufferPointer) throws {
        try lock.withLock { _ in
            precondition(!finished[i])
            if i == current {
                try fd.write(bytes, at: start + currentOffset + sizes[i])
            } else {
                pending[i].append(contentsOf: bytes)
            }
            sizes[i] += UInt64(bytes.count)
        }
    }

    /// Blob `i` is complete.
    func finish(_ i: Int) throws {
        try lock.withLock { _ in
            finished[i] = true
            while current < finished.count && finished[current] {
                currentOffset = align(currentOffset + sizes[current], BundleLayout.blobAlignment)
                current += 1
                if current < finished.count && !pending[current].isEmpty {
                    try fd.write(pending[current], at: start + currentOffset)
                    pending[current] = []
                }
            }
        }
    }

    /// Every blob's size, once all are finished.
    var blobSizes: [UInt64] {
        lock.withLock { _ in
            precondition(current == finished.count, "a blob was not finished")
            return sizes
        }
    }
}
