import Foundation
import PolybinKit
import Testing

/// Examples/fatbin-demo compiled at the four levels and packed into a fatbin, once per test
/// process (tests run in parallel and share it read-only).
package struct DemoFixture: Sendable {
    package static let levels = Architecture.x86_64.levelNames

    package let dir: URL
    /// Level name → build path.
    package let builds: [String: String]
    package let fatbin: String

    package static func get() throws -> DemoFixture { try BuildOnce.value("DemoFixture") { try make() } }

    package static func make() throws -> DemoFixture {
        let dir = try TestEnvironment.temporaryDirectory("polybin-demo")
        let sources = ["main.c", "kernel.c", "level.c"].map {
            TestEnvironment.root.appendingPathComponent("Examples/fatbin-demo/\($0)").path
        }
        var builds: [String: String] = [:]
        for level in levels {
            let out = dir.appendingPathComponent("demo.\(level)").path
            let result = try run("cc", ["-O2", "-march=\(level)", "-o", out] + sources)
            guard result.status == 0 else { throw FixtureError("compiling the demo at \(level): \(result.err)") }
            builds[level] = out
        }
        let fatbin = dir.appendingPathComponent("demo").path
        try buildFatbin(fatbin, flavors: levels.map { "\($0)=\(builds[$0]!)" })
        return DemoFixture(dir: dir, builds: builds, fatbin: fatbin)
    }

    package static func buildFatbin(_ output: String, flavors: [String], extra: [String] = []) throws {
        let result = try run(TestEnvironment.polybin, ["build", "-o", output, "--runner", TestEnvironment.runnerArchive]
            + flavors.flatMap { ["--flavor", $0] } + extra)
        guard result.status == 0 else { throw FixtureError("polybin build: \(result.err)") }
    }
}

package struct FixtureError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// The `selected:` line of an explain table.
package func selectedFlavor(_ explain: String) -> String? {
    explain.split(separator: "\n").last { $0.hasPrefix("selected: ") }.map { String($0.dropFirst("selected: ".count)) }
}
