import Foundation
import Glibc
import Testing
@testable import PolybinKit
import PolybinTestSupport

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
        // A checkout under /tmp stays visible in the namespace (the fixtures live in it): not a
        // leftover, and neither are the directories above it (/tmp/a of /tmp/a/clone).
        let root = TestEnvironment.root.path
        let above = root.split(separator: "/").dropLast().reduce(into: [String]()) { $0.append(($0.last ?? "") + "/" + $1) }
        let setup = places.map { "mount -t tmpfs polybin-fsize \($0)" }.joined(separator: "; ") + "; mkdir -m 700 /tmp/cache"
        let env = ["PATH": "/usr/bin:/bin", "POLYBIN_CACHE_DIR": "/tmp/cache"]
        let kept = (["/tmp/cache", root] + above).map { "! -path '\($0)'" }.joined(separator: " ") + " ! -path '\(root)/*'"
        let script = "prlimit --fsize=4096:4096 \"$0\" exit 0; echo \"status $?\"; find \(places.joined(separator: " ")) -mindepth 1 \(kept)"
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

    /// The limits every verb is run under (issue 21, item 2). Below about 20 KiB of stack the
    /// dynamic loader and the Swift runtime overflow it before polybin's first line runs.
    static let verbLimits = ["-v 30000", "-v 40000", "-v 60000", "-v 100000",
                             "-n 4", "-n 5", "-n 6", "-n 7", "-n 8", "-n 9", "-n 10", "-f 100", "-s 32", "-s 64"]

    /// Runs `verb` (EveryVerb's run of it, in a fresh directory holding its inputs) through
    /// `prefix` (what sets the limit, then execs polybin) with a timeout: a result, or one
    /// `polybin:` line naming the limit (`ulimit -X`) and exit 1; never a hang, never a
    /// signal, and nothing left but the inputs (and the output of a run that succeeded).
    static func underLimit(_ verb: String, _ label: String, _ prefix: [String], forAnyone: Bool = false,
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = try ReliabilityFixtures.scratch("limit-\(verb)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try EveryVerb.copyInputs(into: dir)
        let tmp = dir.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        if forAnyone { chmod(dir.path, 0o777); chmod(tmp.path, 0o777) }
        let arguments = try #require(EveryVerb.arguments(verb), "EveryVerb.arguments does not know \(verb)", sourceLocation: sourceLocation)
        let result = try launch(prefix[0], Array(prefix.dropFirst()) + [TestEnvironment.polybin] + arguments,
                                environment: ["PATH": "/usr/bin:/bin", "TMPDIR": tmp.path], cwd: dir.path, limit: 60)
        let what = "\(verb) under \(label)"
        #expect(!result.hung && result.signal == nil, "\(what): \(result)", sourceLocation: sourceLocation)
        let lines = result.err.split(separator: "\n")
        if result.status != 0 {
            #expect(result.status == 1 && lines.count == 1 && lines[0].hasPrefix("polybin: ") && lines[0].contains("ulimit -"),
                    "\(what): not one line naming the limit: \(result)", sourceLocation: sourceLocation)
        }
        let wrote = result.status == 0 && !(EveryVerb.outputs.filter { $0.verb == verb }.isEmpty)
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(left == (EveryVerb.inputNames + (wrote ? ["out"] : []) + ["tmp"]).sorted(), "\(what) left \(left): \(result)", sourceLocation: sourceLocation)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).isEmpty, "\(what) left scratch files", sourceLocation: sourceLocation)
    }

    /// `ulimit -v` from 30000 KiB (before: embed hung, libdispatch retrying a thread's 8 MiB
    /// stack once a second), `-n` 4 to 10 (before: SIGILL from libdispatch's eventfd, and
    /// "posix_spawn: Bad file descriptor"), `-f 100` and a small `-s` (before: SIGSEGV below 48 KiB).
    @Test(arguments: EveryVerb.verbs)
    func everyVerbUnderALimitGivesAResultOrOneLineNamingIt(verb: String) throws {
        for limit in Self.verbLimits {
            try Self.underLimit(verb, "ulimit \(limit)", ["/bin/sh", "-c", "ulimit \(limit) && exec \"$0\" \"$@\""])
        }
    }

    /// On a terminal, where the progress line redraws on a thread of its own: before, its
    /// Dispatch timer hung embed under `ulimit -v 30000` and `40000` (Dispatch retrying the
    /// thread forever). `timeout -s KILL` turns a hang into 137; util-linux script gives the pty.
    @Test(arguments: EveryVerb.verbs)
    func everyVerbOnATerminalUnderALimitNeitherHangsNorDies(verb: String) throws {
        guard ReliabilityFixtures.require("script", package: "util-linux") else { return }
        for limit in ["-v 30000", "-v 40000", "-n 5", "-n 8"] {
            let dir = try ReliabilityFixtures.scratch("limit-tty-\(verb)")
            defer { try? FileManager.default.removeItem(at: dir) }
            try EveryVerb.copyInputs(into: dir)
            let arguments = try #require(EveryVerb.arguments(verb)).joined(separator: " ")
            let command = "ulimit \(limit) && POLYBIN_PROGRESS_DELAY=0 exec timeout -s KILL 30 '\(TestEnvironment.polybin)' \(arguments)"
            let result = try launch("/usr/bin/script", ["-qec", command, "/dev/null"],
                                    environment: ["PATH": "/usr/bin:/bin", "TMPDIR": dir.path], cwd: dir.path, limit: 60)
            let label = "\(verb) on a terminal under ulimit \(limit)"
            #expect(!result.hung && result.signal == nil && (result.status == 0 || result.status == 1), "\(label): \(result) \(result.out)")
            let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !EveryVerb.inputNames.contains($0) && $0 != "out" }
            #expect(left.isEmpty, "\(label) left \(left)")
        }
    }

    /// An input of 8 MiB under `ulimit -v` 30000 to 80000 KiB, in the steps that hold the most
    /// (zstd's state, the MiB buffers, the mappings): a result, or one line naming the limit;
    /// before, a buffer Swift could not allocate aborted embed (SIGABRT) leaving `.out.tmp-PID`.
    @Test func bigInputsUnderAnAddressSpaceLimitGiveAResultOrOneLine() throws {
        let (dir, work, tmp) = try ReliabilityFixtures.noisyBuild("as-big", named: "big.bin", noise: 8 << 20)
        defer { try? FileManager.default.removeItem(at: dir) }
        let runs = [["embed", "--name", "big", "-o", "out", "big.bin"], ["embed", "--name", "big", "--compress", "-o", "out", "big.bin"],
                    ["embed", "--name", "big", "--mode", "c", "-o", "out", "big.bin"],
                    ["pack", "--flavor", "x86-64=big.bin", "-o", "out"], ["build", "--flavor", "x86-64=big.bin", "-o", "out"]]
        for kibibytes in [30000, 40000, 50000, 65000, 80000] {
            for arguments in runs {
                let label = "\(arguments.joined(separator: " ")) under ulimit -v \(kibibytes)"
                let result = try launch("/bin/sh", ["-c", "ulimit -v \(kibibytes) && exec \"$0\" \"$@\"", TestEnvironment.polybin] + arguments,
                                        environment: ["PATH": "/usr/bin:/bin", "TMPDIR": tmp.path], cwd: work.path, limit: 120)
                #expect(!result.hung && result.signal == nil, "\(label): \(result)")
                if result.status != 0 {
                    let lines = result.err.split(separator: "\n")
                    #expect(result.status == 1 && lines.count == 1 && lines[0].contains("ulimit -v \(kibibytes)"), "\(label): \(result)")
                }
                let left = try FileManager.default.contentsOfDirectory(atPath: work.path).sorted()
                #expect(left == (result.status == 0 ? ["big.bin", "out"] : ["big.bin"]), "\(label) left \(left)")
                #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).isEmpty, "\(label) left scratch files")
                try? FileManager.default.removeItem(at: work.appendingPathComponent("out"))
            }
        }
    }

    /// `ulimit -n 3`: no descriptor is left for the dynamic loader to open libc with, so it
    /// fails (exit 127, its own one line) before polybin runs; still no hang, no signal, no file.
    @Test func everyVerbUnderThreeOpenFilesNeitherHangsNorDies() throws {
        for verb in EveryVerb.verbs {
            let dir = try ReliabilityFixtures.scratch("limit-n3")
            defer { try? FileManager.default.removeItem(at: dir) }
            try EveryVerb.copyInputs(into: dir)
            let arguments = try #require(EveryVerb.arguments(verb))
            let result = try launch("/bin/sh", ["-c", "ulimit -n 3 && exec \"$0\" \"$@\"", TestEnvironment.polybin] + arguments,
                                    environment: ["PATH": "/usr/bin:/bin", "TMPDIR": dir.path], cwd: dir.path, limit: 60)
            #expect(!result.hung && result.signal == nil && result.status != 0, "\(verb): \(result)")
            #expect(result.err.split(separator: "\n").count == 1, "\(verb): \(result)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == EveryVerb.inputNames, "\(verb)")
        }
    }

    /// `ulimit -u` at the process count of another user (nobody; root ignores RLIMIT_NPROC):
    /// room for polybin itself only, then for one more thread or child. One verb at a time:
    /// the runs of the others would count. Without root (setpriv) this cannot be set up.
    @Test(.serialized, arguments: EveryVerb.verbs)
    func everyVerbAtTheProcessLimitGivesAResultOrOneLineNamingIt(verb: String) throws {
        guard getuid() == 0 else { return }
        let running = try run("/bin/sh", ["-c", "ps -L -u 65534 --no-headers | wc -l"])
        let count = try #require(Int(running.out.trimmingCharacters(in: .whitespacesAndNewlines)), "\(running)")
        for processes in [count + 1, count + 2] {
            try Self.underLimit(verb, "ulimit -u \(processes)", ["/usr/bin/prlimit", "--nproc=\(processes)", "/usr/bin/setpriv",
                                "--reuid=65534", "--regid=65534", "--clear-groups", "--"], forAnyone: true)
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
