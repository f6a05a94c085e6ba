import Foundation
import Glibc
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// The aarch64 runner keeps the x86-64 runner's contract (docs/runner.md, "Runner environment", "Exit
/// codes of the runner", "The cache"), checked under qemu-aarch64: the same malformed values
/// (RunnerVariableTests' table) exit 120, forcing a flavor runs it or exits 122, POLYBIN_LOG
/// names the strategy that ran, the order packed with --exec is the default, and the cache
/// names entries by content, rewrites a changed one and keeps to POLYBIN_CACHE_MAX.
/// ArmExecTests covers each strategy through binfmt_misc, 121 and 123.
@Suite struct ArmRunnerContractTests {
    static func qemu() throws -> String { try ArmProcessSemanticsTests.qemu() }

    @Test func malformedVariablesExit120WithOneLine() throws {
        let arm = try ArmFixture.get()
        let cache = arm.dir.appendingPathComponent("cache-malformed")
        for (variable, value) in RunnerVariableTests.malformed where variable != "POLYBIN_TEST_KILL_AT" {
            var env = ReliabilityFixtures.environment(cache: cache)
            env[variable] = value
            let result = try launch(try Self.qemu(), ["-cpu", "max", arm.fatbin, "level"], environment: env)
            let label = "\(variable)=\(value.debugDescription)"
            #expect(result.status == 120 && result.stdout.isEmpty, "\(label): \(result)")
            #expect(result.err.hasPrefix("polybin: \(variable): expected ") && result.err.filter { $0 == "\n" }.count == 1, "\(label): \(result.err)")
            #expect(!FileManager.default.fileExists(atPath: cache.path), "\(label): the cache was written")
        }
    }

    @Test func forcedFlavorRunsOrExits122() throws {
        let arm = try ArmFixture.get()
        let env = ReliabilityFixtures.environment(cache: arm.dir.appendingPathComponent("cache-flavor"))
        for (model, flavor) in [("neoverse-n1", "armv9-a+sve2"), ("max", "no-such-flavor")] {
            let refused = try launch(try Self.qemu(), ["-cpu", model, arm.fatbin, "level"], environment: env.merging(["POLYBIN_FLAVOR": flavor]) { $1 })
            #expect(refused.status == 122 && refused.stdout.isEmpty, "\(model) \(flavor): \(refused)")
            #expect(refused.err.hasPrefix("polybin: POLYBIN_FLAVOR=\(flavor): ") && refused.err.filter { $0 == "\n" }.count == 1, "\(refused.err)")
        }
        let lacks = try launch(try Self.qemu(), ["-cpu", "neoverse-n1", arm.fatbin], environment: env.merging(["POLYBIN_FLAVOR": "armv9-a+sve2"]) { $1 })
        #expect(lacks.err.contains("sve2"), "names what the CPU lacks: \(lacks.err)")
        // A weaker flavor than the best one runs when forced.
        let ran: Void? = try ArmBinfmt.with(flags: "OP") {
            for flavor in ["armv8-a", "armv8.4-a+sve"] {
                let forced = try launch(arm.fatbin, ["level"], environment: env.merging(["POLYBIN_FLAVOR": flavor]) { $1 })
                #expect(forced.status == 0 && forced.out == "\(flavor)\n" && forced.stderr.isEmpty, "\(flavor): \(forced)")
            }
        }
        _ = ran
    }

    @Test func logNamesTheStrategyAndPackedOrderIsTheDefault() throws {
        let arm = try ArmFixture.get()
        let packed = arm.dir.appendingPathComponent("packed-tmpfile").path
        let result = try run(TestEnvironment.polybin, ["build", "-o", packed, "--exec", "tmpfile,cache"]
            + ArmFixture.levels.flatMap { ["--flavor", "\($0)=\(arm.builds[$0]!)"] })
        try #require(result.status == 0, "\(result.err)")
        let env = ReliabilityFixtures.environment(cache: arm.dir.appendingPathComponent("cache-log"), ["POLYBIN_LOG": "1"])
        let ran: Void? = try ArmBinfmt.with(flags: "OP") {
            for (program, strategy, extra) in [(arm.fatbin, "cache", [:]), (arm.fatbin, "memfd", ["POLYBIN_EXEC": "memfd"]),
                                               (arm.fatbin, "tmpfile", ["POLYBIN_EXEC": "tmpfile"]), (packed, "tmpfile", [:])] {
                let logged = try launch(program, ["level"], environment: env.merging(extra) { $1 })
                let lines = logged.err.split(separator: "\n")
                #expect(logged.status == 0 && logged.out == "armv9-a+sve2\n", "\(strategy): \(logged)")
                #expect(lines.count == 1 && lines[0].hasPrefix("polybin: cpu armv9-a+sve2, running armv9-a+sve2 via \(strategy)"), "\(strategy): \(logged.err)")
            }
        }
        _ = ran
    }

    @Test func cacheEntriesAreNamedByContentRewrittenWhenChangedAndBounded() throws {
        let arm = try ArmFixture.get()
        let cache = arm.dir.appendingPathComponent("cache-contract")
        try? FileManager.default.removeItem(at: cache)
        let env = ReliabilityFixtures.environment(cache: cache, ["POLYBIN_EXEC": "cache"])
        func entries() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: cache.path)) ?? []).filter { !$0.hasSuffix(".rec") }.sorted()
        }
        func sha256(_ path: String) throws -> String {
            SHA256.hex(SHA256.digest([UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))))
        }
        let ran: Void? = try ArmBinfmt.with(flags: "OP") {
            let first = try launch(arm.fatbin, ["level"], environment: env)
            #expect(first.status == 0 && first.out == "armv9-a+sve2\n", "\(first)")
            let names = entries()
            try #require(names.count == 1)
            let entry = cache.appendingPathComponent(names[0]).path
            #expect(try sha256(entry) == names[0] && FileManager.default.fileExists(atPath: entry + ".rec"))
            #expect(try sha256(entry) == sha256(arm.builds["armv9-a+sve2"]!), "the entry is the build")
            // Same size, other bytes: the record no longer matches, the entry is written anew.
            chmod(entry, 0o700)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: entry))
            try handle.seek(toOffset: 4096)
            try handle.write(contentsOf: Data(repeating: 0, count: 64))
            try handle.close()
            let again = try launch(arm.fatbin, ["level"], environment: env)
            #expect(again.status == 0 && again.out == "armv9-a+sve2\n", "\(again)")
            #expect(try sha256(entry) == names[0], "the changed entry was rewritten")
            // A bound of one byte keeps only the entry just written.
            let other = try launch(arm.fatbin, ["level"], environment: env.merging(["POLYBIN_FLAVOR": "armv8-a", "POLYBIN_CACHE_MAX": "1"]) { $1 })
            #expect(other.status == 0 && other.out == "armv8-a\n", "\(other)")
            #expect(entries() == [try sha256(arm.builds["armv8-a"]!)], "\(entries())")
        }
        _ = ran
    }
}
