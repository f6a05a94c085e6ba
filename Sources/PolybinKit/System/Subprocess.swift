import CPolybin
import Glibc

/// A child process started through the C layer (`pb_spawn`): its stdin, stdout and stderr are
/// the descriptors given and no other is open; it starts with an empty signal mask and every
/// signal at its default disposition, whatever the calling thread blocks (Foundation's
/// Process passes the caller's mask on: a child started from a thread that blocks SIGCHLD,
/// as test runners' and dispatch's worker threads do, never hears of its own children).
public struct Subprocess: Sendable {
    public let pid: pid_t
    /// The executable as given, for messages.
    public let executable: String

    /// How a child ended: its exit status, or the signal that killed it.
    public struct Termination: Sendable, Equatable {
        public let code: Int32
        public let signaled: Bool
    }

    /// Starts `executable` (a path; a bare name is looked up on the child's PATH through
    /// /usr/bin/env) with `arguments`. `environment` nil inherits this process's.
    public static func spawn(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                             directory: String? = nil, stdin: Int32 = 0, stdout: Int32 = 1, stderr: Int32 = 2) throws -> Subprocess {
        let path = executable.contains("/") ? executable : "/usr/bin/env"
        let argv = executable.contains("/") ? [executable] + arguments : ["env", executable] + arguments
        let envp = environment.map { $0.map { "\($0.key)=\($0.value)" } }
        var pid: pid_t = 0
        let error = withCStrings(argv) { argvPointers in
            withOptionalCStrings(envp) { envPointers in
                withOptionalCString(directory) { dir in
                    pb_spawn(path, argvPointers, envPointers, dir, stdin, stdout, stderr, &pid)
                }
            }
        }
        guard error == 0 else { throw SystemError("posix_spawn", FilePath(executable), errno: error) }
        return Subprocess(pid: pid, executable: executable)
    }

    /// Waits for the child to end.
    public func wait() throws -> Termination {
        var code: Int32 = 0, signaled: Int32 = 0
        guard pb_wait(pid, &code, &signaled) == 0 else { throw SystemError.last("waitpid", FilePath(executable)) }
        return Termination(code: code, signaled: signaled != 0)
    }

    /// A pipe, both ends close-on-exec (a child gets one only as its stdin, stdout or stderr).
    public static func pipe() throws -> (read: FileDescriptor, write: FileDescriptor) {
        var fds: [Int32] = [-1, -1]
        guard pb_pipe(&fds) == 0 else { throw SystemError.last("pipe", nil) }
        return (FileDescriptor(rawValue: fds[0], path: FilePath("pipe")), FileDescriptor(rawValue: fds[1], path: FilePath("pipe")))
    }
}

/// `strings` as a NULL-terminated array of C strings, valid inside `body`.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

private func withOptionalCStrings<R>(_ strings: [String]?, _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>?) -> R) -> R {
    guard let strings else { return body(nil) }
    return withCStrings(strings) { body($0) }
}

private func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
