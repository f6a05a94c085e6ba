import Glibc

/// An input file mapped read-only, so that builds of hundreds of MB are read in place rather
/// than copied into arrays. Its pages are the page cache's: `release` drops the ones a pass
/// is done with from this process (they fault back in on the next read).
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer

    public convenience init(_ path: String) throws { try self.init(FilePath(path)) }

    /// A path of any bytes (embedded files are named as the command line spelled them).
    public init(_ path: FilePath) throws {
        self.path = path.description
        let fd = try Files.openForReading(path)
        defer { try? fd.close() }
        let size = Int(try fd.status().size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd.rawValue, 0), base != MAP_FAILED else {
            throw PolybinError("\(path): cannot be read (mmap: \(SystemError.last("mmap", path).reason))")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }

    public var count: Int { bytes.count }

    /// Drops the resident pages that lie wholly inside `range` from this process.
    public func release(_ range: Range<Int>) {
        guard let base = bytes.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: base) + range.lowerBound + page - 1) / page * page
        let end = (Int(bitPattern: base) + range.upperBound) / page * page
        if end > start { madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_DONTNEED) }
    }
}
