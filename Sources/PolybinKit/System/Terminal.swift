import CPolybin
import Glibc

/// The terminal polybin draws its progress line on (stderr, when it is one): whether there is
/// one, its width now, writing to it, and erasing the line when a signal ends polybin while it
/// shows (CSupport/CPolybin/system/interrupt.c).
public struct Terminal: Sendable {
    let fd: Int32

    /// stderr, when it is a terminal.
    public static var standardError: Terminal? { isatty(2) == 1 ? Terminal(fd: 2) : nil }

    /// Its width in columns, asked each time so that a resized window is followed; COLUMNS,
    /// then 80, when the terminal does not say.
    public var columns: Int {
        let asked = Int(pb_terminal_columns(fd))
        if asked > 0 { return asked }
        return Environment.value("COLUMNS").flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil } ?? 80
    }

    /// Writes all of `text`, retrying after a signal; gives up quietly when the terminal is
    /// gone (a progress line is never worth failing for).
    public func write(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }

    /// While `shown`, SIGINT, SIGTERM, SIGHUP or SIGQUIT erases the line before polybin dies.
    public func lineShown(_ shown: Bool) {
        pb_erase_on_signal(shown ? fd : -1)
    }
}
