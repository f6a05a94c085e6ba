import Glibc

/// A failed system call: which call, on which path, and the errno it returned. Printed as
/// one line, `PATH: CALL: strerror`, e.g. `site/a.txt: open: Permission denied`.
public struct SystemError: Error, CustomStringConvertible, Equatable {
    public let call: String
    public let path: FilePath?
    public let errno: Int32

    public init(_ call: String, _ path: FilePath?, errno: Int32) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    /// The error the last failed call left in `errno`.
    static func last(_ call: String, _ path: FilePath?) -> SystemError {
        SystemError(call, path, errno: Glibc.errno)
    }

    public var reason: String { String(cString: strerror(errno)) }

    public var description: String {
        (path.map { "\($0): " } ?? "") + "\(call): \(reason)"
    }

    /// The same failure as a PolybinError, for code that reports one error type.
    public var polybinError: PolybinError { PolybinError(description) }
}
