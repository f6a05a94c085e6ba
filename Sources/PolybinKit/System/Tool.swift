/// Runs an external tool (the C compiler, the linker); its stderr becomes part of the error
/// when it fails. The tool starts through Subprocess: an empty signal mask, default signal
/// dispositions, only stdin, stdout (this process's stderr) and stderr (a pipe) open.
public enum Tool {
    public static func run(_ tool: String, _ arguments: [String], in directory: String? = nil, what: String) throws {
        let errors: (read: FileDescriptor, write: FileDescriptor)
        do {
            errors = try Subprocess.pipe()
        } catch {
            throw PolybinError("\(what): cannot start \(tool) (\(error))")
        }
        let child: Subprocess
        do {
            child = try Subprocess.spawn(tool, arguments, directory: directory, stdin: 0, stdout: 2, stderr: errors.write.rawValue)
        } catch {
            try? errors.read.close(); try? errors.write.close()
            throw PolybinError("\(what): cannot start \(tool) (\(error))")
        }
        try? errors.write.close()
        var message: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while let n = try? chunk.withUnsafeMutableBytes({ try errors.read.read(into: $0) }), n > 0 {
            message += chunk[..<n]
        }
        try? errors.read.close()
        let end = try child.wait()
        guard end == Subprocess.Termination(code: 0, signaled: false) else {
            let text = String(decoding: message, as: UTF8.self).split(separator: "\n").prefix(3).joined(separator: " | ")
            let status = end.signaled ? "signal \(end.code)" : "exit \(end.code)"
            let limits = ResourceLimits.tight
            throw PolybinError("\(what): \(tool) failed (\(status))\(text.isEmpty ? "" : ": \(text)")"
                + (limits.isEmpty ? "" : " (under \(limits.joined(separator: ", ")))"))
        }
    }
}
