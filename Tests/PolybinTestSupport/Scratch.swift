import Foundation
import Testing

/// A fresh directory for one test, removed by the test's `defer { scratch.remove() }`:
/// copies of checkout paths at the same relative paths, `build/` for the build tree, and
/// `cache/` for the fatbins' cache (never the user's ~/.cache).
package struct Scratch {
    package let root: URL

    /// Copies `paths` (files or directories, relative to the checkout) under the new root.
    package init(_ label: String, copying paths: [String] = []) throws {
        root = try TestEnvironment.temporaryDirectory("polybin-\(label)")
        let files = FileManager.default
        for path in paths {
            let target = root.appendingPathComponent(path)
            try files.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try files.copyItem(at: TestEnvironment.root.appendingPathComponent(path), to: target)
        }
    }

    package func remove() { try? FileManager.default.removeItem(at: root) }

    package func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }
    package func path(_ relative: String) -> String { url(relative).path }
    package var build: URL { url("build") }

    /// Writes `text` to `relative`, creating its directories.
    package func write(_ text: String, to relative: String) throws {
        let target = url(relative)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: target, atomically: false, encoding: .utf8)
    }

    /// Runs a fatbin with this scratch tree's cache.
    package func runFatbin(_ fatbin: String, _ arguments: [String] = [], stdin: Data? = nil) throws -> ProcessResult {
        try run(fatbin, arguments, environment: ["POLYBIN_CACHE_DIR": path("cache")], stdin: stdin)
    }

    /// The build `polybin extract` takes out of `fatbin` for `level`.
    package func extract(_ fatbin: String, _ level: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Data {
        let extracted = path("extracted-\(level)")
        let result = try run(TestEnvironment.polybin, ["extract", fatbin, "--flavor", level, "-o", extracted])
        #expect(result.status == 0, "extract \(level): \(result.err)", sourceLocation: sourceLocation)
        return try Data(contentsOf: URL(fileURLWithPath: extracted))
    }
}
