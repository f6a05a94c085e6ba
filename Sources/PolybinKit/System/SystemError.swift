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

    /// strerror, with the `ulimit` that caused it when one did (ResourceLimits).
    public var reason: String {
        let text = String(cString: strerror(errno))
        return ResourceLimits.named(errno: errno, call: call).map { "\(text) (\($0))" } ?? text
    }

    public var description: String {
        (path.map { "\($0): " } ?? "") + "\(call): \(reason)"
    }

    /// `error`, naming `path` where it named `temporary`: the user named the output, not the
    /// temporary file it is written to before its rename.
    /// (A failure reported from a worker thread comes as a PolybinError holding the text.)
    static func naming(_ path: FilePath, insteadOf temporary: FilePath, in error: Error) -> Error {
        if let error = error as? SystemError, error.path == temporary {
            return SystemError(error.call, path, errno: error.errno)
        }
        if let error = error as? PolybinError, error.message.contains(temporary.description) {
            return PolybinError(error.message.replacing(temporary.description, with: path.description))
        }
        return error
    }

    /// The same failure as a PolybinError, for code that reports one error type.
    public var polybinError: PolybinError { PolybinError(description) }
}
