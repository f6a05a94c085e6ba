import Glibc

/// Names the `ulimit` behind a failure: "Too many open files" alone sends a user looking for
/// a leak; "(the open files limit, ulimit -n: 5)" says what to raise. An errno names a limit
/// only when that limit is set; otherwise the failure is the machine's, said as it is.
public enum ResourceLimits {
    /// The limit `errno` of `call` ran into, as words for a message; nil when none is set.
    static func named(errno: Int32, call: String) -> String? {
        switch errno {
        case EMFILE:
            return soft(RLIMIT_NOFILE).map { "the open files limit, ulimit -n: \($0)" }
        case EFBIG:
            return soft(RLIMIT_FSIZE).map { "the file size limit, ulimit -f: \($0) bytes" }
        case ENOMEM:
            return soft(RLIMIT_AS).map { "the address space limit, ulimit -v: \($0 / 1024) KiB" }
        case EAGAIN where ["posix_spawn", "fork", "pthread_create"].contains(call):
            return soft(__RLIMIT_NPROC).map { "the process limit, ulimit -u: \($0)" }
        default:
            return nil
        }
    }

    /// The limits set low enough to make a compiler or linker fail, as `ulimit` spells them
    /// ("ulimit -v 30000"): a tool's failure under one of them names it (Tool.run).
    static var tight: [String] {
        var set: [String] = []
        if let bytes = soft(RLIMIT_AS) { set.append("ulimit -v \(bytes / 1024)") }
        if let files = soft(RLIMIT_NOFILE), files < 256 { set.append("ulimit -n \(files)") }
        if let bytes = soft(RLIMIT_FSIZE) { set.append("ulimit -f \(bytes / 1024)") }
        if let bytes = soft(RLIMIT_STACK), bytes < 1 << 20 { set.append("ulimit -s \(bytes / 1024)") }
        if let processes = soft(__RLIMIT_NPROC), processes < 1024 { set.append("ulimit -u \(processes)") }
        return set
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
