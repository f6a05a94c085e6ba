import Glibc

/// Calls `tick` on a thread of its own (Threads), first after `first` seconds, then every
/// `every`, until `stop()`, which wakes it at once and waits for it: the redraw of the
/// progress line. A Dispatch timer needs a thread of Dispatch's, which under `ulimit -v` it
/// retries forever (a hang); a ticker whose thread cannot start never ticks.
final class Ticker: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var stopped = false
    private var thread: Threads.Background?

    init(first: Double, every: Double, _ tick: @escaping @Sendable () -> Void) {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        // The thread holds the ticker until stop(): Progress stops it when the step ends.
        let thread = Threads.Background { [self] in
            var wait = first
            while sleep(wait) {
                tick()
                wait = every
            }
        }
        self.thread = thread.started ? thread : nil
    }

    /// Waits `seconds`; false when stopped meanwhile.
    private func sleep(_ seconds: Double) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let nanoseconds = Int(deadline.tv_nsec) + Int(seconds * 1e9)
        deadline.tv_sec += nanoseconds / 1_000_000_000
        deadline.tv_nsec = nanoseconds % 1_000_000_000
        while !stopped && pthread_cond_timedwait(condition, mutex, &deadline) != ETIMEDOUT {}
        return !stopped
    }

    /// No tick starts after this returns.
    func stop() {
        pthread_mutex_lock(mutex)
        stopped = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
        thread?.join()
        thread = nil
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }
}
