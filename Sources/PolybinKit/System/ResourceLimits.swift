import Glibc

/// Names the `ulimit` behind a failure: "Too many open files" alone sends a user looking for
/// a leak; "(the open files limit, ulimit -n 5)" says what to raise. An errno names a limit
/// only when that limit is set; otherwise the failure is the machine's, said as it is.
public enum ResourceLimits {
    /// The limit `errno` of `call` ran into, as words for a message; nil when none is set.
    static func named(errno: Int32, call: String) -> String? {
        switch errno {
        case EMFILE: return spelled(RLIMIT_NOFILE).map { "the open files limit, \($0)" }
        case EFBIG: return spelled(RLIMIT_FSIZE).map { "the file size limit, \($0)" }
        case ENOMEM: return spelled(RLIMIT_AS).map { "the address space limit, \($0)" }
        case EAGAIN where ["posix_spawn", "fork", "pthread_create"].contains(call):
            return spelled(__RLIMIT_NPROC).map { "the process limit, \($0)" }
        default: return nil
        }
    }

    /// The limits set low enough to make a compiler or linker fail ("ulimit -v 30000"): a
    /// tool's failure under one of them names it (Tool.run).
    static var tight: [String] {
        let low: [(__rlimit_resource, UInt64)] = [(RLIMIT_AS, .max), (RLIMIT_NOFILE, 256), (RLIMIT_FSIZE, .max),
                                                 (RLIMIT_STACK, 1 << 20), (__RLIMIT_NPROC, 1024)]
        return low.compactMap { resource, below in soft(resource).flatMap { $0 < below ? spelled(resource) : nil } }
    }

    /// A set limit as `ulimit` takes it (KiB for -v and -s, a count for -n and -u; the file
    /// size in bytes, as shells count -f in blocks of different sizes); nil when unlimited.
    private static func spelled(_ resource: __rlimit_resource) -> String? {
        guard let value = soft(resource) else { return nil }
        switch resource {
        case RLIMIT_AS: return "ulimit -v \(value / 1024)"
        case RLIMIT_STACK: return "ulimit -s \(value / 1024)"
        case RLIMIT_NOFILE: return "ulimit -n \(value)"
        case RLIMIT_FSIZE: return "ulimit -f of \(value) bytes"
        default: return "ulimit -u \(value)"
        }
    }

    /// Runs `body` (the whole verb) where the stack is large enough: on a thread with a stack
    /// of Threads.stackSize when `ulimit -s` is smaller (below about 48 KiB parsing the command
    /// line alone overflows it: SIGSEGV), else on this thread. When no thread can start, here.
    public static func withLargeEnoughStack(_ body: @escaping @Sendable () -> Void) {
        guard let bytes = soft(RLIMIT_STACK), bytes < UInt64(Threads.stackSize) else { return body() }
        Threads.Background(body).join()
    }

    /// The soft limit, or nil when it is unlimited.
    private static func soft(_ resource: __rlimit_resource) -> UInt64? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(resource.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return UInt64(limit.rlim_cur)
    }
}
