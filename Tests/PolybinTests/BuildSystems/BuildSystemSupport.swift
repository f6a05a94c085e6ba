import Foundation
import Testing

/// What the CMake, cargo and SwiftPM tests share: the levels, the host's level, copies of
/// checkout files into a scratch tree, and the level a fatbin runs.
enum BuildSystems {
    static let levels = ["x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4"]

    /// The level `polybin cpu` says this machine gets.
    static func hostLevel() throws -> String {
        let result = try run(TestEnvironment.polybin, ["cpu"])
        let line = try #require(result.out.split(separator: "\n").first { $0.hasPrefix("level: ") })
        return String(line.dropFirst("level: ".count))
    }

    /// The highest of `built` that this machine can run.
    static func expectedLevel(of built: [String]) throws -> String {
        let host = try #require(levels.firstIndex(of: try hostLevel()))
        return try #require(built.filter { levels.firstIndex(of: $0)! <= host }.max { levels.firstIndex(of: $0)! < levels.firstIndex(of: $1)! })
    }

    /// Copies checkout paths (files or directories, relative to the checkout) to the same
    /// relative paths under `root`.
    static func copy(_ paths: [String], to root: URL) throws {
        let files = FileManager.default
        for path in paths {
            let target = root.appendingPathComponent(path)
            try files.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try files.copyItem(at: TestEnvironment.root.appendingPathComponent(path), to: target)
        }
    }

    static func modified(_ path: String) throws -> Date {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
    }

    /// Whether each tool is on PATH; records what to install when one is not.
    static func present(_ tools: [String]) -> Bool {
        for tool in tools where !TestEnvironment.has(tool) {
            Issue.record("\(tool) is not on PATH: run tools/bootstrap")
            return false
        }
        return true
    }
}
