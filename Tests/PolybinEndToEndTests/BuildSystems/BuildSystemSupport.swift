import Foundation
import PolybinKit
import Testing
import PolybinTestSupport

/// What the make, CMake, cargo and SwiftPM tests share: the levels, the scratch tree
/// (PolybinTestSupport's), and the checks every one of them makes on a fatbin.
enum BuildSystems {
    static let levels = Architecture.x86_64.levelNames

    /// The highest of `built` that this machine can run.
    static func expectedLevel(of built: [String]) throws -> String {
        let host = try #require(levels.firstIndex(of: try hostLevel()))
        return try #require(built.filter { levels.firstIndex(of: $0)! <= host }.max { levels.firstIndex(of: $0)! < levels.firstIndex(of: $1)! })
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
