import Glibc

/// The buffers polybin streams through (a MiB to read, hash, compress or format a literal),
/// allocated so that running out is an error, not the end: Swift's own `allocate` aborts the
/// process (SIGABRT, the temporary output left behind) when `ulimit -v` leaves no room, where
/// this says "allocate: Cannot allocate memory (the address space limit, ulimit -v N)".
enum Memory {
    static func allocate(_ count: Int, alignment: Int) throws -> UnsafeMutableRawBufferPointer {
        var pointer: UnsafeMutableRawPointer?
        let error = posix_memalign(&pointer, alignment, max(count, 1))
        guard error == 0, let pointer else { throw SystemError("allocate", nil, errno: error == 0 ? ENOMEM : error) }
        return UnsafeMutableRawBufferPointer(start: pointer, count: count)
    }

    /// Frees a buffer of `allocate`.
    static func release(_ buffer: UnsafeMutableRawBufferPointer) { free(buffer.baseAddress) }
}
