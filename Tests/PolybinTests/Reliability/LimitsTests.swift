import Foundation
import Glibc
import Testing
@testable import PolybinKit

/// TESTING.md, "Privileges, limits and planted files": resource limits, kills at fixed points
/// (the runner's POLYBIN_TEST_KILL_AT hook), builds the kernel refuses, a missing /proc, and
/// FIFOs planted where the cache keeps entries and records.
@Suite struct LimitsTests {
    static let strategies = ["cache", "memfd", "tmpfile"]

    /// Every file under `dir`, recursively (hidden ones too).
    static func files(_ dir: URL) -> [String] {
        ((FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String]) ?? []).sorted()
    }

    /// The runner killed right after reserving the build's space and right after writing it,
    /// in each strategy: no file is left in the cache or the temp directory, and the next
    /// launch runs.
    @Test func killedAtEachPointLeavesNoFile() throws {
        let fatbin = try ReliabilityFixtures.probeFatbin()
        for strategy in Self.strategies {
            for point in ["reserved", "\(strategy)-written"] {
                let scratch = try ReliabilityFixtures.scratch("kill-\(strategy)")
                defer { try? FileManager.default.removeItem(at: scratch) }
                let cache = scratch.appendingPathComponent("cache"), tmp = scratch.appendingPathComponent("tmp")
                try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
                let env = ReliabilityFixtures.environment(cache: cache, ["POLYBIN_EXEC": strategy, "TMPDIR": tmp.path])
                var hooked = env
                hooked["POLYBIN_TEST_KILL_AT"] = point
                let killed = try launch(fatbin, ["exit", "0"], environment: hooked)
                #expect(killed.signal == SIGKILL, "\(strategy) at \(point): the hook did not fire: \(killed)")
                #expect(Self.files(tmp).isEmpty, "\(strategy) killed at \(point) left \(Self.files(tmp)) in TMPDIR")
                #expect(Self.files(cache).isEmpty, "\(strategy) killed at \(point) left \(Self.files(cache)) in the cache")
                let next = try launch(fatbin, ["exit", "7"], environment: env)
                #expect(next.status == 7, "\(strategy) after a kill at \(point): \(next)")
            }
        }
    }

    /// `ulimit -f` (soft) below the build's size: the build is written anyway and the program
    /// sees the caller's limits and SIGXFSZ disposition, as in a direct run.
    @Test func softFileSizeLimitIsRaisedForTheRebuildOnly() throws {
        let fatbin = try ReliabilityFixtures.probeFatbin()
        let direct = try ReliabilityFixtures.directProbe()
        for strategy in Self.strategies {
            let scratch = try ReliabilityFixtures.scratch("fsize-soft")
            defer { try? FileManager.default.removeItem(at: scratch) }
            let env = ReliabilityFixtures.environment(cache: scratch.appendingPathComponent("cache"),
                                                      ["POLYBIN_EXEC": strategy, "TMPDIR": scratch.path])
            let expected = try launch("/usr/bin/prlimit", ["--fsize=4096:", direct, "dump"], environment: env)
            #expect(expected.out.contains("rlimit fsize 4096 "), "\(expected.out)")
            let result = try launch("/usr/bin/prlimit", ["--fsize=4096:", fatbin, "dump"], environment: env)
            #expect(result.status == 0 && result.signal == nil, "\(strategy): \(result)")
            #expect(comparable(result.stdout) == comparable(expected.stdout), "\(strategy): the program saw other limits")
        }
    }

    /// A hard file-size limit below the build: one line, exit 123, never SIGXFSZ (153), and
    /// nothing left in the cache or the temp directories (a private /tmp shows them all).
    @Test func hardFileSizeLimitFailsWithOneLineAndNoFile() throws {
        guard ReliabilityFixtures.requireNamespaces() else { return }
        let fatbin = try ReliabilityFixtures.probeFatbin()
        let places = ["/tmp", "/var/tmp", "/dev/shm"]
        // A checkout under /tmp stays visible in the namespace (the fixtures live in it): not a leftover.
        let root = TestEnvironment.root.path
        let setup = places.map { "mount -t tmpfs polybin-fsize \($0)" }.joined(separator: "; ") + "; mkdir -m 700 /tmp/cache"
        let env = ["PATH": "/usr/bin:/bin", "POLYBIN_CACHE_DIR": "/tmp/cache"]
        let script = "prlimit --fsize=4096:4096 \"$0\" exit 0; echo \"status $?\"; find \(places.joined(separator: " ")) -mindepth 1 ! -path /tmp/cache ! -path '\(root)' ! -path '\(root)/*'"
        let result = try inNamespace(setup: setup, "/bin/sh", ["-c", script, fatbin], environment: env)
        #expect(result.out == "status 123\n", "exit status, then files left behind: \(result.out)")
        #expect(result.err.hasPrefix("polybin: could not execute ") && result.err.split(separator: "\n").count == 1, "\(result.err)")
    }

    /// A small address-space limit: one line and 123, never SIGSEGV. The limit leaves room to
    /// map the fatbin itself (below that the kernel's exec fails before the runner runs) but
    /// not for the 24 MiB build.
    @Test func smallAddressSpaceLimitFailsWithOneLine() throws {
        let fatbin = try CacheTests.ballastFatbin(mebibytes: 24)
        let mapped = try #require(try FileManager.default.attributesOfItem(atPath: fatbin)[.size] as? Int)
        for strategy in Self.strategies {
            let scratch = try ReliabilityFixtures.scratch("as-limit")
            defer { try? FileManager.default.removeItem(at: scratch) }
            let env = ReliabilityFixtures.environment(cache: scratch.appendingPathComponent("cache"),
                                                      ["POLYBIN_EXEC": strategy, "TMPDIR": scratch.path])
            let result = try launch("/usr/bin/prlimit", ["--as=\(mapped + (8 << 20))", fatbin, "exit", "0"], environment: env)
            #expect(result.signal == nil && result.status == 123, "\(strategy): \(result)")
            #expect(result.err.hasPrefix("polybin: ") && result.err.split(separator: "\n").count == 1, "\(strategy): \(result.err)")
            #expect(Self.files(scratch).isEmpty || Self.files(scratch) == ["cache"], "\(strategy): \(Self.files(scratch))")
        }
    }

    /// A verified build whose interpreter is missing: the first strategy's exec says so, the
    /// search stops there (no second rebuild), and the message names the interpreter.
    @Test func missingInterpreterStopsAtOnceAndIsNamed() throws {
        let scratch = try ReliabilityFixtures.scratch("no-interp")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let build = scratch.appendingPathComponent("orphan").path
        let source = ReliabilityFixtures.sources.appendingPathComponent("canary.c").path
        let cc = try run("cc", ["-O2", "-Wl,--dynamic-linker=/nonexistent/ld-polybin.so", "-o", build, source])
        #expect(cc.status == 0, "\(cc.err)")
        let fatbin = scratch.appendingPathComponent("orphan-fatbin").path
        try DemoFixture.buildFatbin(fatbin, flavors: ["x86-64=\(build)"])
        let tmp = scratch.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        for order in ["cache,memfd,tmpfile", "memfd,tmpfile,cache", "tmpfile,cache,memfd"] {
            let cache = scratch.appendingPathComponent("cache-\(order)")
            let env = ReliabilityFixtures.environment(cache: cache, ["POLYBIN_EXEC": order, "TMPDIR": tmp.path, "POLYBIN_LOG": "1"])
            let result = try launch(fatbin, environment: env)
            #expect(result.status == 123 && result.stdout.isEmpty, "\(order): \(result)")
            let last = result.err.split(separator: "\n").last.map(String.init) ?? ""
            #expect(last.hasPrefix("polybin: could not execute x86-64: ") && last.contains("/nonexistent/ld-polybin.so"), "\(order): \(result.err)")
            // Stopped at the first strategy: later ones would have left a cache or a log line.
            let first = String(order.prefix { $0 != "," })
            #expect(!last.contains(";") && last.contains("\(first): "), "\(order): more than one strategy tried: \(last)")
            #expect(FileManager.default.fileExists(atPath: cache.path) == (first == "cache"), "\(order)")
        }
    }

    /// execveat filtered (ENOSYS) and no /proc: the cache entry has a real path and runs from it.
    @Test func cacheRunsByPathWithoutExecveatAndProc() throws {
        guard ReliabilityFixtures.requireNamespaces() else { return }
        let helper = try ReliabilityFixtures.seccompExec()
        let fatbin = try ReliabilityFixtures.probeFatbin()
        let scratch = try ReliabilityFixtures.scratch("no-proc")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let env = ReliabilityFixtures.environment(cache: scratch.appendingPathComponent("cache"), ["POLYBIN_EXEC": "cache"])
        for run in ["cold", "warm"] {
            let result = try inNamespace(setup: "umount -l /proc 2>/dev/null || mount -t tmpfs polybin-noproc /proc; test ! -e /proc/self",
                                         helper, ["--deny", "execveat=ENOSYS", "--", fatbin, "exit", "42"], environment: env)
            #expect(result.status == 42, "\(run): \(result)")
            #expect(result.stderr.isEmpty, "\(run): \(result.err)")
        }
    }

    /// FIFOs where the cache keeps the entry and its record: the launch neither blocks on
    /// them nor trusts them, and runs the build.
    @Test func plantedFifosNeverBlock() throws {
        let fatbin = try ReliabilityFixtures.probeFatbin()
        let build = try [UInt8](Data(contentsOf: URL(fileURLWithPath: ReliabilityFixtures.directProbe())))
        let name = SHA256.hex(SHA256.digest(build))
        for planted in [[name], ["\(name).rec"], [name, "\(name).rec"]] {
            let scratch = try ReliabilityFixtures.scratch("fifo")
            defer { try? FileManager.default.removeItem(at: scratch) }
            let cache = scratch.appendingPathComponent("cache")
            try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
            chmod(cache.path, 0o700)
            if planted == ["\(name).rec"] {
                #expect(try launch(fatbin, ["exit", "0"], environment: ReliabilityFixtures.environment(cache: cache, ["POLYBIN_EXEC": "cache"])).status == 0)
                unlink(cache.appendingPathComponent("\(name).rec").path)
            }
            for file in planted { #expect(mkfifo(cache.appendingPathComponent(file).path, 0o600) == 0) }
            let env = ReliabilityFixtures.environment(cache: cache, ["POLYBIN_EXEC": "cache,memfd"])
            let result = try launch(fatbin, ["exit", "5"], environment: env, limit: 20)
            #expect(!result.hung && result.status == 5, "FIFO as \(planted): \(result)")
        }
    }
}
