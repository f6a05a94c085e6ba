import Foundation

/// Runs an external tool (the C compiler, the linker); its stderr becomes part of the error
/// when it fails.
public enum Tool {
    public static func run(_ tool: String, _ arguments: [String], in directory: String? = nil, what: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.standardError
        do {
            try process.run()
        } catch {
            throw PolybinError("\(what): cannot start \(tool) (\(error.localizedDescription))")
        }
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: message, as: UTF8.self).split(separator: "\n").prefix(3).joined(separator: " | ")
            throw PolybinError("\(what): \(tool) failed (exit \(process.terminationStatus))\(text.isEmpty ? "" : ": \(text)")")
        }
    }
}
