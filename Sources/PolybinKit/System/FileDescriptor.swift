import CPolybin
import Glibc

/// An open file, after swift-system's FileDescriptor: every call retries EINTR, loops over
/// short transfers, and throws a SystemError naming the call and the path it was opened as.
public struct FileDescriptor: Sendable {
    public let rawValue: Int32
    /// The path it was opened as, for messages.
    public let path: FilePath

    public struct Options: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let readOnly = Options(rawValue: O_RDONLY)
        public static let writeOnly = Options(rawValue: O_WRONLY)
        public static let readWrite = Options(rawValue: O_RDWR)
        public static let create = Options(rawValue: O_CREAT)
        public static let exclusive = Options(rawValue: O_EXCL)
        public static let truncate = Options(rawValue: O_TRUNC)
        public static let noFollow = Options(rawValue: O_NOFOLLOW)
        public static let directory = Options(rawValue: O_DIRECTORY)
        /// Opening a FIFO or a device returns at once instead of waiting for the other end.
        public static let nonBlocking = Options(rawValue: O_NONBLOCK)
    }

    public static func open(_ path: FilePath, _ options: Options, permissions: UInt32 = 0o644) throws -> FileDescriptor {
        let fd = try path.withCString("open") { name in
            retrying { Glibc.open(name, options.rawValue | O_CLOEXEC, mode_t(permissions)) }
        }
        guard fd >= 0 else { throw SystemError.last("open", path) }
        return FileDescriptor(rawValue: fd, path: path)
    }

    public func close() throws {
        guard Glibc.close(rawValue) == 0 else { throw SystemError.last("close", path) }
    }

    /// Hands `body` this file to fill, then closes it; closed once also when `body` throws.
    public func fill(_ body: (FileDescriptor) throws -> Void) throws {
        do { try body(self) } catch { try? close(); throw error }
        try close()
    }

    public func status() throws -> FileStatus {
        var info = stat()
        guard fstat(rawValue, &info) == 0 else { throw SystemError.last("fstat", path) }
        return FileStatus(info)
    }

    /// Reads up to `buffer.count` bytes; 0 at the end of the file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = retrying { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
        guard n >= 0 else { throw SystemError.last("read", path) }
        return n
    }

    /// Fills `buffer` from `offset` unless the file ends first; returns how much was read.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = retrying { pread(rawValue, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done)) }
            guard n >= 0 else { throw SystemError.last("pread", path) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Hands `body` the file's `count` bytes from `offset` a MiB at a time; a file that ends
    /// first is an error.
    public func stream(from offset: UInt64 = 0, count: UInt64, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let chunk = Int(min(max(count, 1), 1 << 20))
        let buffer = try Memory.allocate(chunk, alignment: 4096)
        defer { Memory.release(buffer) }
        var done: UInt64 = 0
        while done < count {
            let want = Int(min(UInt64(chunk), count - done))
            let got = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]), at: offset + done)
            guard got == want else { throw PolybinError("\(path): changed while being read (shrank)") }
            try body(UnsafeRawBufferPointer(rebasing: buffer[..<got]))
            done += UInt64(got)
        }
    }

    /// Writes all of `buffer` at the current position.
    public func write(_ buffer: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            let n = retrying { Glibc.write(rawValue, buffer.baseAddress! + done, buffer.count - done) }
            guard n > 0 else { throw n == 0 ? SystemError("write", path, errno: EIO) : SystemError.last("write", path) }
            done += n
        }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    public func write(_ bytes: [UInt8], at offset: UInt64) throws { try bytes.withUnsafeBytes { try write($0, at: offset) } }

    /// Writes all of `buffer` at `offset`, leaving the file position alone.
    public func write(_ buffer: UnsafeRawBufferPointer, at offset: UInt64) throws {
        var done = 0
        while done < buffer.count {
            let n = retrying { pwrite(rawValue, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done)) }
            guard n > 0 else { throw n == 0 ? SystemError("pwrite", path, errno: EIO) : SystemError.last("pwrite", path) }
            done += n
        }
    }

    /// The data regions of `count` bytes from `offset` (SEEK_DATA/SEEK_HOLE): a sparse
    /// file's holes need not be read or written. A file system that cannot say gives one region.
    public func dataRegions(from offset: UInt64, count: UInt64) -> [Range<UInt64>] {
        let end = offset + count
        var regions: [Range<UInt64>] = []
        var at = offset
        while at < end {
            let data = pb_seek_data(rawValue, Int64(at))
            if data < 0 { return Glibc.errno == ENXIO ? regions : [offset..<end] }
            if UInt64(data) >= end { break }
            let hole = pb_seek_hole(rawValue, data)
            if hole < 0 { return [offset..<end] }
            let stop = min(UInt64(hole), end)
            regions.append(UInt64(data)..<stop)
            at = stop
        }
        return regions
    }

    /// Copies `count` bytes of `source` from `sourceOffset` to this file at `offset`, in the
    /// kernel (copy_file_range) where it can, else through a buffer. Holes of a sparse source
    /// are skipped: the destination must read as zeros there already (freshly truncated).
    /// A source shorter than `count` is an error naming it. `progress` advances by every byte
    /// copied or skipped as a hole, at least every 64 MiB.
    public func copy(from source: FileDescriptor, at sourceOffset: UInt64, count: UInt64, to offset: UInt64,
                     progress: Progress = .silent) throws {
        var reported = sourceOffset
        for region in source.dataRegions(from: sourceOffset, count: count) {
            progress.advance(by: region.lowerBound - reported)
            reported = region.upperBound
            var from = Int64(region.lowerBound), to = Int64(offset + (region.lowerBound - sourceOffset))
            var left = region.upperBound - region.lowerBound
            var kernel = true
            while left > 0 && kernel {
                let n = retrying { pb_copy_file_range(source.rawValue, &from, rawValue, &to, Int(min(left, 64 << 20))) }
                if n < 0 {
                    switch Glibc.errno {
                    case EXDEV, ENOSYS, EINVAL, EOPNOTSUPP, EPERM, ETXTBSY: kernel = false
                    default: throw SystemError.last("copy_file_range", path)
                    }
                } else if n == 0 {
                    throw PolybinError("\(source.path): changed while being read (shrank)")
                } else {
                    left -= UInt64(n)
                    progress.advance(by: UInt64(n))
                }
            }
            if left > 0 {
                try copyThroughBuffer(from: source, at: UInt64(from), count: left, to: UInt64(to), progress: progress)
            }
        }
        progress.advance(by: sourceOffset + count - reported)
    }

    private func copyThroughBuffer(from source: FileDescriptor, at sourceOffset: UInt64, count: UInt64, to offset: UInt64,
                                   progress: Progress) throws {
        var done: UInt64 = 0
        try source.stream(from: sourceOffset, count: count) { piece in
            try write(piece, at: offset + done)
            done += UInt64(piece.count)
            progress.advance(by: UInt64(piece.count))
        }
    }

    /// Sets the file's size; new bytes read as zeros and take no space.
    public func resize(to size: UInt64) throws {
        guard ftruncate(rawValue, off_t(size)) == 0 else { throw SystemError.last("ftruncate", path) }
    }

    public func seek(to offset: UInt64) throws {
        guard lseek(rawValue, off_t(offset), SEEK_SET) >= 0 else { throw SystemError.last("lseek", path) }
    }

    public func setPermissions(_ permissions: UInt32) throws {
        guard fchmod(rawValue, mode_t(permissions)) == 0 else { throw SystemError.last("fchmod", path) }
    }

    /// Reads from the current position to the end of the file, whatever `st_size` says
    /// (files in /proc and /sys report 0 or 4096); more than `limit` bytes is an error.
    public func readToEnd(limit: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { return bytes }
            guard bytes.count + n <= limit else {
                throw PolybinError("\(path): reads past \(limit) bytes although its size is \((try? status().size) ?? 0): a file whose size is not its length must be small")
            }
            bytes.append(contentsOf: chunk[..<n])
        }
    }

    /// Reads the whole file in one allocation of its size; a file that changes size while
    /// it is read is an error, never a silently short or long result.
    public func readAll() throws -> [UInt8] {
        let expected = try status().size
        guard expected <= UInt64(Int.max) else { throw SystemError("read", path, errno: EFBIG) }
        var bytes = [UInt8](repeating: 0, count: Int(expected))
        let got = try bytes.withUnsafeMutableBytes { try read(into: $0, at: 0) }
        var probe: UInt8 = 0
        let more = try withUnsafeMutableBytes(of: &probe) { try read(into: $0, at: expected) }
        guard got == bytes.count, more == 0 else {
            throw PolybinError("\(path): changed while being read (\(got < bytes.count ? "shrank" : "grew"))")
        }
        return bytes
    }
}

/// Repeats a call that failed with EINTR.
@inline(__always)
func retrying<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result < 0 && Glibc.errno == EINTR { continue }
        return result
    }
}

/// Diagnostics go to fd 2 with write(2): unbuffered, so nothing is lost at exit or exec.
public enum StandardError {
    public static func write(_ text: String) {
        try? FileDescriptor(rawValue: 2, path: "<stderr>").write(Array(text.utf8))
    }
}
