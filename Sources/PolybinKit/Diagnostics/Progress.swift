import Dispatch  // DispatchTime only: the redraw runs on a Ticker, not a thread of Dispatch's
import Synchronization

/// Progress of a long step on a terminal: one line on stderr, redrawn in place,
/// `polybin: compressing  123.4 of 620.0 MB  41.2 MB/s  12 s left`. It appears only once a
/// step has run for `delay` seconds, only when stderr is a terminal, and is erased when the
/// step ends, so a quick step and any output into a pipe or file look as if it did not exist.
/// It never holds more than the terminal's width less one column (so it never wraps, which
/// would leave rows that `\r` cannot erase), and a signal that ends polybin erases it too.
/// Workers on any thread report with `advance`; drawing happens on a timer of its own.
///
/// A verb makes one with `.terminal(quiet:)` (the CLI's ProgressOptions), hands it down, and
/// calls `end()` when its work is done; the code doing the work calls `begin(phase, total:)`
/// for each phase and `advance(by:)` as it writes. A phase of unknown size (`total` 0: a
/// walk, a linker run) shows what is done so far and the time it has taken.
public final class Progress: @unchecked Sendable {
    /// What `done` and `total` count.
    public enum Unit: Sendable { case bytes, files }

    /// Never draws.
    public static var silent: Progress { Progress(terminal: nil) }

    /// Draws on stderr when it is a terminal and `quiet` is false. POLYBIN_PROGRESS_DELAY
    /// (seconds, default 1) is how long a step runs before the line appears.
    public static func terminal(quiet: Bool) -> Progress {
        guard !quiet, let terminal = Terminal.standardError else { return .silent }
        let delay = Environment.value("POLYBIN_PROGRESS_DELAY").flatMap { Double($0) } ?? 1
        return Progress(terminal: terminal, delay: delay)
    }

    private let terminal: Terminal?
    private let delay: Double
    private let lock = Mutex(())
    private var timer: Ticker?
    private var phase = ""
    private var done: UInt64 = 0
    private var total: UInt64 = 0
    private var unit = Unit.bytes
    private var phaseStart: UInt64 = 0
    private var stepStart: UInt64 = 0
    private var drawn = false

    init(terminal: Terminal?, delay: Double = 1) {
        self.terminal = terminal
        self.delay = delay
    }

    /// Starts (or moves on to) a phase of `total` bytes (or files); 0 when not known.
    public func begin(_ phase: String, total: UInt64, unit: Unit = .bytes) {
        guard terminal != nil else { return }
        lock.withLock { _ in
            let now = Self.now()
            // The phase that ends shows where it ended (POLYBIN_PROGRESS_DELAY=0: every phase).
            if timer != nil { draw() }
            if timer == nil {
                stepStart = now
                timer = Ticker(first: 0.1, every: 0.2) { [weak self] in self?.tick() }
            }
            self.phase = phase
            self.total = total
            self.unit = unit
            done = 0
            phaseStart = now
        }
    }

    public func advance(by bytes: UInt64) {
        guard terminal != nil else { return }
        lock.withLock { _ in done = total > 0 ? min(total, done + bytes) : done + bytes }
    }

    /// The step is over: erase the line.
    public func end() {
        guard terminal != nil else { return }
        // Stopped outside the lock: a tick waiting for the lock finds no timer and draws nothing.
        let ticker = lock.withLock { _ -> Ticker? in
            guard let ticker = timer else { return nil }
            draw()
            timer = nil
            if drawn {
                terminal?.write("\r\u{1B}[K")
                terminal?.lineShown(false)
            }
            drawn = false
            return ticker
        }
        ticker?.stop()
    }

    deinit { timer?.stop() }

    private func tick() {
        lock.withLock { _ in if timer != nil { draw() } }
    }

    private func draw() {
        let now = Self.now()
        guard Double(now - stepStart) / 1e9 >= delay else { return }
        let seconds = Double(now - phaseStart) / 1e9
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let amount = { (n: UInt64) in self.unit == .bytes ? Self.megabytes(n) : "\(n)" }
        let name = unit == .bytes ? "MB" : "files"
        var line = "polybin: \(phase)"
        if total == 0 {
            if done > 0 { line += "  \(amount(done)) \(name)" }
            line += "  \(Self.duration(seconds.rounded(.down)))"
        } else {
            line += "  \(amount(done)) of \(amount(total)) \(name)"
            if seconds >= min(0.5, delay) && seconds > 0 && done > 0 {
                line += "  \(amount(UInt64(rate))) \(name)/s"
                if done < total { line += "  \(Self.duration(Double(total - done) / rate)) left" }
            }
        }
        guard let terminal else { return }
        if !drawn { terminal.lineShown(true) }
        terminal.write("\r\u{1B}[K" + Self.fitted(line, columns: terminal.columns))
        drawn = true
    }

    /// `line` cut to `columns` less one (the line is ASCII but for the phase's words): the
    /// cursor never reaches the last column, where a terminal would wrap.
    static func fitted(_ line: String, columns: Int) -> String {
        String(line.prefix(max(0, columns - 1)))
    }

    static func megabytes(_ bytes: UInt64) -> String {
        let tenths = (bytes + 50_000) / 100_000
        return "\(tenths / 10).\(tenths % 10)"
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded(.up))
        return s < 60 ? "\(s) s" : "\(s / 60) min \(s % 60) s"
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}
