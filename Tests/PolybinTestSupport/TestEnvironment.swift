import Foundation
import PolybinKit
import Testing

/// Paths and process helpers shared by the end-to-end tests. The binaries under test are
/// the release builds `tools/test` makes before `swift test`; a missing one fails the test
/// with the command that builds it, never skips it.
package enum TestEnvironment {
    package static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The release products under test: `.build/release`, or POLYBIN_BUILD_DIR (relative to
    /// the package root) when a second scratch path is in use.
    package static let buildDir = ProcessInfo.processInfo.environment["POLYBIN_BUILD_DIR"] ?? ".build/release"

    package static var polybin: String { requireFile("\(buildDir)/polybin") }
    package static var runnerArchive: String { requireFile("\(buildDir)/libPolybinRunner.a") }

    package static func requireFile(_ relative: String) -> String {
        let path = root.appendingPathComponent(relative).path
        if !FileManager.default.fileExists(atPath: path) {
            Issue.record("\(path) is missing: run tools/test (or swift build -c release --product polybin --product PolybinRunner) first")
        }
        return path
    }

    /// Whether an external tool is on PATH.
    package static func has(_ tool: String) -> Bool {
        (try? run("/bin/sh", ["-c", "command -v \(tool)"]).status) == 0
    }

    /// Whether a tool a test needs is on PATH; a missing one is a recorded failure saying how
    /// to install it, never a skip. The one check behind every fixture's own.
    package static func require(_ tool: String, install: String, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        if has(tool) { return true }
        Issue.record("\(tool) is missing: \(install)", sourceLocation: sourceLocation)
        return false
    }

    /// One directory per test process under the system temp dir, holding every directory
    /// `temporaryDirectory` makes, and removed (with whatever a test left in it) when the
    /// process exits: test runs leave nothing behind in /tmp.
    package static let temporaryRoot: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("polybin-tests-\(getpid())")
        try? FileManager.default.removeItem(at: dir)    // a stale one of a process whose PID this is now
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        atexit { TestEnvironment.removeTemporaryRoot() }
        return dir
    }()

    /// Not through `run`, which makes its own directory here.
    package static func removeTemporaryRoot() {
        try? FileManager.default.removeItem(at: temporaryRoot)
    }

    /// A fresh directory under `temporaryRoot`; a caller's `defer` may remove it sooner.
    package static func temporaryDirectory(_ label: String = "polybin-test") throws -> URL {
        let dir = temporaryRoot.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

package struct ProcessResult {
    package var status: Int32
    /// True when the process died by a signal; `status` is then the signal number.
    package var signaled: Bool
    package var stdout: Data
    package var stderr: Data

    package var out: String { String(decoding: stdout, as: UTF8.self) }
    package var err: String { String(decoding: stderr, as: UTF8.self) }
}

/// Runs a program to completion with optional environment changes, cwd and stdin.
/// `environment` values of nil remove the variable. The child starts through PolybinKit's
/// Subprocess (pb_spawn): an empty signal mask and default dispositions, whichever test
/// thread starts it (a blocked SIGCHLD inherited from a worker thread hangs cmake), and only
/// its stdin, stdout and stderr open.
@discardableResult
package func run(_ executable: String, _ arguments: [String] = [], environment: [String: String?] = [:],
         clearEnvironment: Bool = false, cwd: URL? = nil, stdin: Data? = nil) throws -> ProcessResult {
    var env = clearEnvironment ? [:] : ProcessInfo.processInfo.environment
    for (key, value) in environment { env[key] = value }
    // Files, not pipes: nothing can block on a full pipe, whatever the child writes or reads.
    let scratch = try TestEnvironment.temporaryDirectory("polybin-run")
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("out"), errURL = scratch.appendingPathComponent("err")
    let inURL = scratch.appendingPathComponent("in")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: inURL.path, contents: stdin ?? Data())
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    let input = try FileHandle(forReadingFrom: inURL)
    let child = try Subprocess.spawn(executable, arguments, environment: env, directory: cwd?.path,
                                     stdin: input.fileDescriptor, stdout: out.fileDescriptor, stderr: err.fileDescriptor)
    let end = try child.wait()
    try out.close(); try err.close(); try input.close()
    return ProcessResult(status: end.code, signaled: end.signaled,
                         stdout: try Data(contentsOf: outURL), stderr: try Data(contentsOf: errURL))
}

/// Runs a shell command line (for pipelines and redirections in tests).
@discardableResult
package func shell(_ command: String, cwd: URL? = nil, environment: [String: String?] = [:]) throws -> ProcessResult {
    try run("/bin/sh", ["-c", command], environment: environment, cwd: cwd)
}

/// A file's modification time.
package func modified(_ path: String) throws -> Date {
    try #require(FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
}

/// Runs a command that must succeed (a compiler, make); its stderr is the failure message.
@discardableResult
package func mustRun(_ tool: String, _ arguments: [String], cwd: URL? = nil, environment: [String: String?] = [:]) throws -> ProcessResult {
    let result = try run(tool, arguments, environment: environment, cwd: cwd)
    guard result.status == 0 else {
        throw FixtureError("\(tool) \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.err.prefix(2000))")
    }
    return result
}
