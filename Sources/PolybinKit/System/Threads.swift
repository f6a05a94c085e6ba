import Glibc
import Synchronization

/// polybin's worker threads, started here instead of by Dispatch. libdispatch never gives up
/// on a thread it cannot start: under `ulimit -v` (the 8 MiB stack cannot be mapped) or
/// `ulimit -u` it retries once a second forever, and a worker whose eventfd fails under
/// `ulimit -n` kills the process with SIGILL. A thread that cannot start here leaves its share
/// of the work to the calling thread: slower, the same result, never a hang or a signal.
enum Threads {
    /// Each thread's stack, set explicitly: glibc's default is `ulimit -s`, which a user may
    /// have made small, and 8 MiB when unlimited.
    static let stackSize = 4 << 20

    /// How many threads run `forEach` at most, the caller included: the online CPUs.
    static var width: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Calls `body(i)` for each `i` in `0..<count`, on up to `width` threads (the calling
    /// thread is one of them), each taking the next index; returns when all are done.
    static func forEach(_ count: Int, width: Int = Threads.width, _ body: (Int) -> Void) {
        guard count > 1, width > 1 else { return (0..<count).forEach(body) }
        let cursor = Cursor()
        withoutActuallyEscaping(body) { body in
            let work: @Sendable () -> Void = { [body = UncheckedBox(body)] in
                while true {
                    let i = cursor.next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard i < count else { return }
                    body.value(i)
                }
            }
            let helpers = (1..<min(width, count)).compactMap { _ in start(work) }
            work()
            for helper in helpers { pthread_join(helper, nil) }
        }
    }

    /// `body` on a thread of its own while the caller goes on; `join()` waits for it. When no
    /// thread can start, `body` runs in `join()`, on the caller's thread.
    final class Background: @unchecked Sendable {
        private var thread: pthread_t?
        private var pending: (@Sendable () -> Void)?

        init(_ body: @escaping @Sendable () -> Void) {
            thread = Threads.start(body)
            if thread == nil { pending = body }
        }

        /// Whether `body` runs on a thread of its own (else it waits for `join()`).
        var started: Bool { thread != nil }

        func join() {
            if let thread { pthread_join(thread, nil) }
            thread = nil
            pending?()
            pending = nil
        }

        /// A thread still running is waited for; work that never started is dropped.
        deinit { if let thread { pthread_join(thread, nil) } }
    }

    /// A joinable thread running `body`, or nil when none can start (EAGAIN: no memory for
    /// its stack, or no process left under `ulimit -u`).
    static func start(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
        var attributes = pthread_attr_t()
        guard pthread_attr_init(&attributes) == 0 else { return nil }
        defer { pthread_attr_destroy(&attributes) }
        guard pthread_attr_setstacksize(&attributes, stackSize) == 0 else { return nil }
        let context = Unmanaged.passRetained(UncheckedBox(body)).toOpaque()
        var thread = pthread_t()
        let started = pthread_create(&thread, &attributes, { context in
            let box = Unmanaged<UncheckedBox<@Sendable () -> Void>>.fromOpaque(context!).takeRetainedValue()
            box.value()
            return nil
        }, context)
        guard started == 0 else {
            Unmanaged<UncheckedBox<@Sendable () -> Void>>.fromOpaque(context).release()
            return nil
        }
        return thread
    }
}

/// The next index `forEach` hands out.
private final class Cursor: Sendable {
    let next = Atomic<Int>(0)
}

/// A value handed to another thread whose safety the caller vouches for (`forEach`'s body
/// runs only while `forEach` waits).
private final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
