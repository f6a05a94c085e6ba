import Foundation
import Glibc
import Testing
import PolybinTestSupport

/// docs/runner.md, "Runner environment": each POLYBIN_* variable the runner reads has one rule; a set
/// variable that breaks it (an empty value included) exits 120 with one line naming the
/// variable, before anything runs or is written. Run on a real fatbin (the canary prints its
/// marker only when a build actually ran).
@Suite struct RunnerVariableTests {
    static let malformed: [(variable: String, value: String)] = [
        ("POLYBIN_EXPLAIN", "yes"), ("POLYBIN_EXPLAIN", "true"), ("POLYBIN_EXPLAIN", "2"), ("POLYBIN_EXPLAIN", ""),
        ("POLYBIN_LOG", "yes"), ("POLYBIN_LOG", "on"), ("POLYBIN_LOG", ""),
        ("POLYBIN_EXEC", ""), ("POLYBIN_EXEC", "fast"), ("POLYBIN_EXEC", "cache,,memfd"), ("POLYBIN_EXEC", "memfd,"),
        ("POLYBIN_EXEC", "memfd,memfd"), ("POLYBIN_EXEC", "Cache"),
        ("POLYBIN_FLAVOR", "x86-64\nevil"), ("POLYBIN_FLAVOR", ""), ("POLYBIN_FLAVOR", "a b"),
        ("POLYBIN_FLAVOR", String(repeating: "v", count: 65)),
        ("POLYBIN_CACHE_DIR", "relative/cache"), ("POLYBIN_CACHE_DIR", "./cache"), ("POLYBIN_CACHE_DIR", ""),
        ("POLYBIN_CACHE_MAX", ""), ("POLYBIN_CACHE_MAX", "1k"), ("POLYBIN_CACHE_MAX", "1MB"), ("POLYBIN_CACHE_MAX", "-1"),
        ("POLYBIN_CACHE_MAX", "G"), ("POLYBIN_CACHE_MAX", "18446744073709551616"), ("POLYBIN_CACHE_MAX", "17179869184G"),
        ("POLYBIN_CACHE_MAX", "99999999999999999999999"),
        ("POLYBIN_TEST_KILL_AT", "nowhere"),
    ]

    @Test func everyMalformedValueExits120WithOneLineNamingTheVariable() throws {
        let fatbin = try ReliabilityFixtures.canaryFatbin()
        let scratch = try ReliabilityFixtures.scratch("variables")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let cache = scratch.appendingPathComponent("cache")
        for (variable, value) in Self.malformed {
            var env = ReliabilityFixtures.environment(cache: cache)
            env[variable] = value
            let result = try launch(fatbin, environment: env)
            let label = "\(variable)=\(value.debugDescription)"
            #expect(result.status == 120 && !result.crashed, "\(label): \(result)")
            #expect(result.stdout.isEmpty, "\(label): something ran: \(result.out)")
            #expect(result.err.hasPrefix("polybin: \(variable): expected "), "\(label): \(result.err)")
            #expect(result.err.hasSuffix("\n") && result.err.filter { $0 == "\n" }.count == 1, "\(label): not one line: \(result.err.debugDescription)")
            #expect(!FileManager.default.fileExists(atPath: cache.path), "\(label): the cache was written")
        }
        // The value is quoted with its control bytes escaped: a newline never splits the line.
        var env = ReliabilityFixtures.environment(cache: cache)
        env["POLYBIN_FLAVOR"] = "x86-64\nevil\"\\"
        let result = try launch(fatbin, environment: env)
        #expect(result.err == "polybin: POLYBIN_FLAVOR: expected a flavor name (1 to 64 of A-Z a-z 0-9 . _ - +), got \"x86-64\\x0aevil\\\"\\\\\"\n")
    }

    @Test func wellFormedFlagsDoWhatTheySay() throws {
        let fatbin = try ReliabilityFixtures.canaryFatbin()
        let host = try ReliabilityFixtures.hostLevel()
        let scratch = try ReliabilityFixtures.scratch("variables")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let env = ReliabilityFixtures.environment(cache: scratch.appendingPathComponent("cache"), ["POLYBIN_EXEC": "memfd"])
        func with(_ extra: [String: String]) throws -> Outcome { try launch(fatbin, environment: env.merging(extra) { $1 }) }

        let explain = try with(["POLYBIN_EXPLAIN": "1"])
        #expect(explain.status == 0 && explain.out.hasSuffix("selected: \(host)\n") && !explain.out.contains("CANARY"), "\(explain)")
        for off in [["POLYBIN_EXPLAIN": "0"], ["POLYBIN_LOG": "0"], [:]] {
            let quiet = try with(off)
            #expect(quiet.status == 0 && quiet.out == ReliabilityFixtures.canaryMarker(host) && quiet.stderr.isEmpty, "\(off): \(quiet)")
        }
        let log = try with(["POLYBIN_LOG": "1"])
        #expect(log.out == ReliabilityFixtures.canaryMarker(host))
        #expect(log.err == "polybin: cpu \(try loaderLevel()), running \(host) via memfd\n", "\(log)")
        let forced = try with(["POLYBIN_FLAVOR": "x86-64"])
        #expect(forced.out == ReliabilityFixtures.canaryMarker("x86-64"), "\(forced)")
    }

    /// The decision line names the strategy that ran the build, not the order configured.
    @Test func logSaysWhichStrategyRan() throws {
        let fatbin = try ReliabilityFixtures.canaryFatbin()
        let host = try ReliabilityFixtures.hostLevel()
        let scratch = try ReliabilityFixtures.scratch("variables")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let cache = scratch.appendingPathComponent("cache"), tmp = scratch.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        // A cache directory the runner must skip: world-writable.
        let shared = scratch.appendingPathComponent("shared")
        try FileManager.default.createDirectory(at: shared, withIntermediateDirectories: true)
        chmod(shared.path, 0o777)
        let prefix = "polybin: cpu \(try loaderLevel()), running \(host) via "

        let cold = try launch(fatbin, environment: ReliabilityFixtures.environment(cache: cache, ["POLYBIN_LOG": "1"]))
        let entry = try #require(try FileManager.default.contentsOfDirectory(atPath: cache.path).first { $0.count == 64 })
        #expect(cold.out == ReliabilityFixtures.canaryMarker(host) && cold.err == "\(prefix)cache (\(cache.path)/\(entry))\n", "\(cold)")
        let warm = try launch(fatbin, environment: ReliabilityFixtures.environment(cache: cache, ["POLYBIN_LOG": "1"]))
        #expect(warm.err == "\(prefix)cache (\(cache.path)/\(entry))\n", "\(warm)")

        let fellOver = try launch(fatbin, environment: ReliabilityFixtures.environment(cache: shared, ["POLYBIN_LOG": "1", "POLYBIN_EXEC": "cache,memfd,tmpfile"]))
        let lines = fellOver.err.split(separator: "\n").map(String.init)
        #expect(fellOver.out == ReliabilityFixtures.canaryMarker(host), "\(fellOver)")
        #expect(lines.count == 2 && lines[0].hasPrefix("polybin: cache: \(shared.path): not a private directory") && lines[1] == "\(prefix)memfd",
                "\(fellOver.err)")

        let tmpfile = try launch(fatbin, environment: ReliabilityFixtures.environment(cache: cache, ["POLYBIN_LOG": "1", "POLYBIN_EXEC": "tmpfile", "TMPDIR": tmp.path]))
        #expect(tmpfile.out == ReliabilityFixtures.canaryMarker(host) && tmpfile.err == "\(prefix)tmpfile (\(tmp.path))\n", "\(tmpfile)")
    }

    /// A symlink as the cache directory is skipped the same way with or without a trailing
    /// slash; a real directory works with one.
    @Test func cacheDirectoryIsTheDirectoryItselfHoweverSpelled() throws {
        let fatbin = try ReliabilityFixtures.canaryFatbin()
        let host = try ReliabilityFixtures.hostLevel()
        let scratch = try ReliabilityFixtures.scratch("variables")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let real = scratch.appendingPathComponent("real"), link = scratch.appendingPathComponent("link")
        try FileManager.default.createDirectory(at: real, withIntermediateDirectories: true)
        chmod(real.path, 0o700)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: real.path)
        var lines: [String] = []
        for spelling in [link.path, link.path + "/", link.path + "//"] {
            var env = ReliabilityFixtures.environment(cache: real, ["POLYBIN_LOG": "1", "POLYBIN_EXEC": "cache,memfd"])
            env["POLYBIN_CACHE_DIR"] = spelling
            let result = try launch(fatbin, environment: env)
            #expect(result.status == 0 && result.out == ReliabilityFixtures.canaryMarker(host), "\(spelling): \(result)")
            lines.append(result.err)
        }
        #expect(Set(lines).count == 1, "spellings of one symlink disagree: \(lines)")
        #expect(lines[0].hasPrefix("polybin: cache: \(link.path): is a symbolic link, not a directory: skipped"), "\(lines[0])")
        #expect(try FileManager.default.contentsOfDirectory(atPath: real.path).isEmpty, "the symlink was followed")

        var env = ReliabilityFixtures.environment(cache: real, ["POLYBIN_LOG": "1"])
        env["POLYBIN_CACHE_DIR"] = real.path + "/"
        let slashed = try launch(fatbin, environment: env)
        #expect(slashed.err.hasPrefix("polybin: cpu ") && slashed.err.contains("via cache (\(real.path)/"), "\(slashed)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: real.path).contains { $0.count == 64 })
    }

    /// POLYBIN_CACHE_MAX is a bound like any other: 0 keeps only the entry just written.
    @Test func cacheMaxZeroKeepsOnlyTheEntryJustWritten() throws {
        let fatbin = try ReliabilityFixtures.canaryFatbin()
        let scratch = try ReliabilityFixtures.scratch("variables")
        defer { try? FileManager.default.removeItem(at: scratch) }
        func entries(max: String?) throws -> Int {
            let cache = scratch.appendingPathComponent("cache-\(max ?? "default")")
            for flavor in ["x86-64", "x86-64-v2"] {
                var env = ReliabilityFixtures.environment(cache: cache, ["POLYBIN_FLAVOR": flavor, "POLYBIN_EXEC": "cache"])
                if let max { env["POLYBIN_CACHE_MAX"] = max }
                let result = try launch(fatbin, environment: env)
                #expect(result.status == 0 && result.out == ReliabilityFixtures.canaryMarker(flavor), "\(max ?? "default"): \(result)")
            }
            return try FileManager.default.contentsOfDirectory(atPath: cache.path).filter { $0.count == 64 }.count
        }
        #expect(try entries(max: nil) == 2)
        #expect(try entries(max: "0") == 1)
        #expect(try entries(max: "1K") == 1)
        #expect(try entries(max: "16G") == 2)
    }

    /// Under a secure exec every variable is ignored, malformed or not (docs/runner.md, "setuid and
    /// setgid fatbins"): the same values that exit 120 above change nothing.
    @Test func secureExecIgnoresMalformedValues() throws {
        let (root, app, home) = try PrivilegeTests.install("variables-setuid", mode: 0o4755)
        defer { try? FileManager.default.removeItem(at: root) }
        let host = try ReliabilityFixtures.hostLevel()
        var env = ["PATH": "/usr/bin:/bin", "HOME": home.path]
        for (variable, value) in Self.malformed { env[variable] = value }
        let secure = try PrivilegeTests.asNobody(app, environment: env)
        #expect(secure.status == 0 && secure.out == ReliabilityFixtures.canaryMarker(host) && secure.stderr.isEmpty, "\(secure)")
        let plain = try launch(ReliabilityFixtures.canaryFatbin(), environment: env)
        #expect(plain.status == 120, "the same environment without a secure exec: \(plain)")
    }
}
