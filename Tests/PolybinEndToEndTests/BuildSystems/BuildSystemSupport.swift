import Foundation
import PolybinKit
import Testing
import PolybinTestSupport

/// What the make, CMake, cargo and SwiftPM tests share: the levels, a
/// scratch tree holding copies of checkout files with a build directory and a fatbin cache
/// beside them, and the checks every one of them makes on a fatbin.
enum BuildSystems {
    static let levels = Architecture.x86_64.levelNames

    /// The highest of `built` that this machine can run.
    static func expectedLevel(of built: [String]) throws -> String {
        let host = try #require(levels.firstIndex(of: try hostLevel()))
        return try #require(built.filter { levels.firstIndex(of: $0)! <= host }.max { levels.firstIndex(of: $0)! < levels.firstIndex(of: $1)! })
    }

    /// A fresh directory for one test, removed by the test's `defer { scratch.remove() }`:
    /// copies of checkout paths at the same relative paths, `build/` for the build tree, and
    /// `cache/` for the fatbins' cache (never the user's ~/.cache).
    struct Scratch {
        let root: URL

        /// Copies `paths` (files or directories, relative to the checkout) under the new root.
        init(_ label: String, copying paths: [String] = []) throws {
            root = try TestEnvironment.temporaryDirectory("polybin-\(label)")
            let files = FileManager.default
            for path in paths {
                let target = root.appendingPathComponent(path)
                try files.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                try files.copyItem(at: TestEnvironment.root.appendingPathComponent(path), to: target)
            }
        }

        func remove() { try? FileManager.default.removeItem(at: root) }

        func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }
        func path(_ relative: String) -> String { url(relative).path }
        var build: URL { url("build") }

        /// Writes `text` to `relative`, creating its directories.
        func write(_ text: String, to relative: String) throws {
            let target = url(relative)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: target, atomically: false, encoding: .utf8)
        }

        /// Runs a fatbin with this scratch tree's cache.
        func runFatbin(_ fatbin: String, _ arguments: [String] = [], stdin: Data? = nil) throws -> ProcessResult {
            try run(fatbin, arguments, environment: ["POLYBIN_CACHE_DIR": path("cache")], stdin: stdin)
        }

        /// The build `polybin extract` takes out of `fatbin` for `level`.
        func extract(_ fatbin: String, _ level: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Data {
            let extracted = path("extracted-\(level)")
            let result = try run(TestEnvironment.polybin, ["extract", fatbin, "--flavor", level, "-o", extracted])
            #expect(result.status == 0, "extract \(level): \(result.err)", sourceLocation: sourceLocation)
            return try Data(contentsOf: URL(fileURLWithPath: extracted))
        }
    }

    /// Records a failure naming `what` with the tail of its output unless it exited 0.
    @discardableResult
    static func succeeded(_ result: ProcessResult, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) -> ProcessResult {
        #expect(result.status == 0, "\(what) failed (\(result.signaled ? "signal" : "exit") \(result.status)): \(result.err.suffix(3000))\(result.out.suffix(3000))",
                sourceLocation: sourceLocation)
        return result
    }

    /// Whether each tool is on PATH; records what to install when one is not.
    static func present(_ tools: [String]) -> Bool {
        tools.allSatisfy { TestEnvironment.require($0, install: "run tools/bootstrap") }
    }
}
