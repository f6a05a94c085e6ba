import Foundation
import Glibc
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// TESTING.md, "Cache on disk": concurrent first runs, killed extractions, tampered entries
/// and directories, a full disk, and the size bound.
@Suite struct CacheTests {
    /// The probe with `mebibytes` of random ballast in a non-loaded section: extraction takes
    /// long enough for launches to overlap and to be killed halfway.
    static func ballastFatbin(mebibytes: Int) throws -> String {
        let name = "probe-ballast-\(mebibytes)"
        let probes = try ReliabilityFixtures.levels.map { try ReliabilityFixtures.probe($0) }
        return try ReliabilityFixtures.once(name) { output in
            let ballast = output + ".bin"
            try ReliabilityFixtures.randomBytes(mebibytes << 20).write(to: URL(fileURLWithPath: ballast))
            var flavors: [String] = []
            for (level, probe) in zip(ReliabilityFixtures.levels, probes) {
                let build = "\(output).\(level)"
                let added = try run("objcopy", ["--add-section", ".ballast=\(ballast)", probe, build])
                guard added.status == 0 else { throw FixtureError("objcopy: \(added.err)") }
                flavors.append("\(level)=\(build)")
            }
            try DemoFixture.buildFatbin(output, flavors: flavors, extra: ["--level", "1"])
        }
    }

    static func listing(_ dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
    }

    /// Every 64-hex-digit entry holds the bytes its name says, and sits beside its record.
    static func expectOnlyVerifiedEntries(_ cache: URL, _ label: String) {
        let names = listing(cache)
        for name in names where name.count == 64 {
            let content = (try? [UInt8](Data(contentsOf: cache.appendingPathComponent(name)))) ?? []
            #expect(SHA256.hex(SHA256.digest(content)) == name, "\(label): entry \(name) does not hold what its name says")
        }
        #expect(names.allSatisfy { $0.count == 64 || ($0.count == 68 && $0.hasSuffix(".rec")) }, "\(label): stray files \(names)")
    }

    @Test func fiftySimultaneousFirstRunsAllSucceed() throws {
        let fatbin = try Self.ballastFatbin(mebibytes: 2)
        let scratch = try ReliabilityFixtures.scratch("fifty")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let gate = scratch.appendingPathComponent("gate").path
        _ = FileManager.default.createFile(atPath: gate, contents: nil)
        var launches = 0
        for round in 0..<3 {
            let cache = scratch.appendingPathComponent("cache-\(round)")
            // The children wait for a shared lock the test holds, and start together when it lets go.
            let held = open(gate, O_RDONLY | O_CLOEXEC)
            #expect(flock(held, LOCK_EX) == 0)
            let env = ReliabilityFixtures.environment(cache: cache, ["POLYBIN_EXEC": "cache"]).map { Array("\($0.key)=\($0.value)".utf8) }
            let children = try (0..<50).map { _ in
                try Child("/usr/bin/flock", argv: ["flock", "-s", gate, fatbin, "exit", "9"].map { Array($0.utf8) }, environment: env)
            }
            usleep(300_000)
            close(held)
            let results = children.map { $0.wait(limit: 120) }
            launches += results.count
            let failed = results.filter { $0.status != 9 || $0.signal != nil }
            #expect(failed.isEmpty, "round \(round): \(failed.count) of 50 launches failed, e.g. \(failed.first.map(String.init(describing:)) ?? "")")
            let names = Self.listing(cache)
            #expect(names.filter { $0.count == 64 }.count == 1 && names.filter { $0.hasSuffix(".rec") }.count == 1, "round \(round): \(names)")
            #expect(!names.contains { $0.hasPrefix(".tmp-") }, "round \(round): temp files left: \(names)")
            Self.expectOnlyVerifiedEntries(cache, "round \(round)")
        }
        print("CacheTests: \(launches) concurrent first launches")
    }

    @Test func killedMidExtractionNeverLeavesARunnableHalfEntry() throws {
        let fatbin = try Self.ballastFatbin(mebibytes: 24)
        let scratch = try ReliabilityFixtures.scratch("killed")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let cache = scratch.appendingPathComponent("cache")
        let env = ReliabilityFixtures.environment(cache: cache, ["POLYBIN_EXEC": "cache"])
        // The runner's test hook kills it at fixed points of a first launch: after the space
        // is reserved and after the build is written, before it is named.
        for point in ["reserved", "cache-written"] {
            try? FileManager.default.removeItem(at: cache)
            var hooked = env
            hooked["POLYBIN_TEST_KILL_AT"] = point
            let outcome = try launch(fatbin, ["exit", "0"], environment: hooked)
            #expect(outcome.signal == SIGKILL, "the hook at \(point) did not fire: \(outcome)")
            #expect(Self.listing(cache).isEmpty, "killed at \(point): left \(Self.listing(cache))")
            let next = try launch(fatbin, ["exit", "4"], environment: env)
            #expect(next.status == 4, "after a kill at \(point): \(next)")
            let entries = Self.listing(cache).filter { $0.count == 64 }
            #expect(entries.count == 1, "\(Self.listing(cache))")
            for name in entries {
                let content = [UInt8](try Data(contentsOf: cache.appendingPathComponent(name)))
                #expect(SHA256.hex(SHA256.digest(content)) == name)
            }
        }

        // What a writer that wrote in place would leave: half an entry under the final name.
        try? FileManager.default.removeItem(at: cache)
        #expect(try launch(fatbin, ["exit", "0"], environment: env).status == 0)
        let name = try #require(Self.listing(cache).first { $0.count == 64 })
        let entry = cache.appendingPathComponent(name)
        let half = try Data(contentsOf: entry).prefix(1 << 20)
        try FileManager.default.removeItem(at: entry)
        try half.write(to: entry)
        chmod(entry.path, 0o500)
        let after = try launch(fatbin, ["exit", "6"], environment: env)
        #expect(after.status == 6, "\(after)")
        #expect(SHA256.hex(SHA256.digest([UInt8](try Data(contentsOf: entry)))) == name)

        // Temp files of killed runs go after an hour; a recent one may be a live launch's.
        let stale = cache.appendingPathComponent(".tmp-999999-\(name)"), fresh = cache.appendingPathComponent(".tmp-999998-\(name)")
        try Data([1, 2, 3]).write(to: stale)
        try Data([1, 2, 3]).write(to: fresh)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: stale.path)
        var forced = env
        forced["POLYBIN_FLAVOR"] = "x86-64"
        #expect(try launch(fatbin, ["exit", "0"], environment: forced).status == 0)
        #expect(!FileManager.default.fileExists(atPath: stale.path) && FileManager.default.fileExists(atPath: fresh.path))
    }

    @Test func tamperedEntriesAreNeverExecuted() throws {
        let fatbin = try ReliabilityFixtures.canaryFatbin()
        let host = try ReliabilityFixtures.hostLevel()
        let tampered = try ReliabilityFixtures.program("canary.c", ["-Os", "-DFLAVOR=\"TAMPERED\""], as: "canary-tampered")
        let scratch = try ReliabilityFixtures.scratch("tamper")
        defer { try? FileManager.default.removeItem(at: scratch) }

        /// Warms a fresh cache, changes it, runs again; returns the second run and the cache.
        func afterTampering(_ label: String, exec: String = "cache", _ change: (URL, URL) throws -> Void) throws -> (Outcome, URL) {
            let cache = scratch.appendingPathComponent(label.replacingOccurrences(of: " ", with: "-"))
            let env = ReliabilityFixtures.environment(cache: cache, ["POLYBIN_EXEC": exec, "POLYBIN_LOG": "1"])
            let warm = try launch(fatbin, [], environment: env)
            #expect(warm.status == 0, "\(label): warming: \(warm)")
            let entry = cache.appendingPathComponent(try #require(Self.listing(cache).first { $0.count == 64 }))
            try change(cache, entry)
            return (try launch(fatbin, [], environment: env), cache)
        }
        /// Tampered bytes padded to the entry's size: same size, different bytes.
        func sameSize(as entry: URL) throws -> Data {
            var bytes = try Data(contentsOf: URL(fileURLWithPath: tampered))
            let size = try Data(contentsOf: entry).count
            try #require(bytes.count <= size, "the tampered canary is larger than the entry")
            bytes.append(Data(count: size - bytes.count))
            return bytes
        }
        let expected = ReliabilityFixtures.canaryMarker(host)
        var setups = 0
        let entryCases: [(String, (URL, URL) throws -> Void)] = [
            ("same size, different bytes, written in place", { _, entry in
                let handle = try FileHandle(forWritingTo: entry)
                try handle.write(contentsOf: try sameSize(as: entry))
                try handle.close()
            }),
            ("same size, different bytes, mtime put back", { _, entry in
                let mtime = try FileManager.default.attributesOfItem(atPath: entry.path)[.modificationDate] as! Date
                let handle = try FileHandle(forWritingTo: entry)
                try handle.write(contentsOf: try sameSize(as: entry))
                try handle.close()
                try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: entry.path)
            }),
            ("another file renamed over it", { cache, entry in
                let other = cache.appendingPathComponent("other")
                try sameSize(as: entry).write(to: other)
                chmod(other.path, 0o500)
                #expect(rename(other.path, entry.path) == 0)
            }),
            ("symlink swapped in", { _, entry in
                try FileManager.default.removeItem(at: entry)
                try FileManager.default.createSymbolicLink(atPath: entry.path, withDestinationPath: tampered)
            }),
            ("entry made world-writable", { _, entry in
                chmod(entry.path, 0o777)
            }),
        ]
        for (label, change) in entryCases {
            setups += 1
            let (result, cache) = try afterTampering(label, change)
            #expect(result.status == 0 && result.out == expected, "\(label): \(result)")
            #expect(!result.out.contains("TAMPERED"))
            Self.expectOnlyVerifiedEntries(cache, label)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: tampered)).count > 0, "the symlink's target was changed")

        // Directories others could write to are skipped, not deleted, not used.
        let directoryCases: [(String, (URL) -> Void)] = [
            ("world-writable directory", { chmod($0.path, 0o777) }),
            ("group-writable directory", { chmod($0.path, 0o770) }),
            ("foreign-owned directory", { chown($0.path, 12345, 12345) }),
        ]
        for (label, change) in directoryCases {
            for exec in ["cache,memfd", "cache"] {
                setups += 1
                let (result, cache) = try afterTampering("\(label) \(exec)", exec: exec) { cache, entry in
                    try sameSize(as: entry).write(to: entry)
                    change(cache)
                }
                #expect(!result.out.contains("TAMPERED"), "\(label): ran tampered bytes")
                if exec == "cache" {
                    #expect(result.status == 123 && result.err.contains("not a private directory"), "\(label): \(result)")
                } else {
                    #expect(result.status == 0 && result.out == expected, "\(label): \(result)")
                }
                #expect(Self.listing(cache).filter { $0.count == 64 || $0.hasSuffix(".rec") }.count == 2, "\(label): the directory was emptied")
            }
        }
        print("CacheTests: \(setups) tampered set-ups")
    }

    @Test func fullDiskFallsBackOrFailsClearlyWithoutPartialFiles() throws {
        guard ReliabilityFixtures.requireNamespaces() else { return }
        let fatbin = try Self.ballastFatbin(mebibytes: 2)
        // /tmp first: the cache dir is made inside the new /tmp and gets its own 1 MiB too.
        let cache = "/tmp/polybin-cache"
        let setup = ["/tmp", "/dev/shm", "/var/tmp", cache].map {
            "mkdir -p \($0); mount -t tmpfs -o size=1m,mode=0700 polybin-full \($0)"
        }.joined(separator: "; ")
        // Run, then list what is left in the 1 MiB file systems before they vanish.
        let fixtures = try ReliabilityFixtures.dir().path
        let script = "\"$0\" exit 0; echo \"status=$?\"; find \(cache) /tmp /dev/shm /var/tmp -mindepth 1 -type f ! -path '\(fixtures)/*'"
        for (order, expectRun) in [("cache,tmpfile", false), ("cache,memfd,tmpfile", true), ("tmpfile,cache", false)] {
            let env = ReliabilityFixtures.environment(cache: URL(fileURLWithPath: cache), ["POLYBIN_EXEC": order])
            let result = try inNamespace(setup: setup, "/bin/sh", ["-c", script, fatbin], environment: env)
            let lines = result.out.split(separator: "\n")
            #expect(lines.first == (expectRun ? "status=0" : "status=123"), "\(order): \(result)")
            #expect(lines.count == 1, "\(order): partial files left: \(lines.dropFirst())")
            if !expectRun {
                #expect(result.err.contains("No space left on device"), "\(order): \(result.err)")
                #expect(result.err.split(separator: "\n").count == 1)
            }
        }
    }

    @Test func sizeBoundCollectsOldestEntriesWithoutBreakingRunningLaunches() throws {
        let fatbin = try ReliabilityFixtures.probeFatbin()
        let scratch = try ReliabilityFixtures.scratch("bound")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let cache = scratch.appendingPathComponent("cache")
        let sizes = try LoadedBundle(path: fatbin).entries.reduce(into: [String: UInt64]()) { $0[$1.name] = $1.size }
        func env(_ flavor: String, max: UInt64) -> [String: String] {
            ReliabilityFixtures.environment(cache: cache, ["POLYBIN_EXEC": "cache", "POLYBIN_FLAVOR": flavor, "POLYBIN_CACHE_MAX": "\(max)"])
        }

        // A launch already running from its entry keeps running when the entry is collected.
        let ready = scratch.appendingPathComponent("ready").path
        let running = try Child(fatbin, argv: [fatbin, "signals", ready].map { Array($0.utf8) },
                                environment: env("x86-64", max: 1 << 30).map { Array("\($0.key)=\($0.value)".utf8) })
        for _ in 0..<30_000 where !FileManager.default.fileExists(atPath: ready) { usleep(1000) }
        let firstEntry = try #require(Self.listing(cache).first { $0.count == 64 })
        // Older than what follows: collection goes by age.
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-600)], ofItemAtPath: cache.appendingPathComponent(firstEntry).path)
        let second = try launch(fatbin, ["exit", "0"], environment: env("x86-64-v2", max: sizes["x86-64-v2"]! + 1))
        #expect(second.status == 0, "\(second)")
        #expect(!Self.listing(cache).contains(firstEntry), "the oldest entry was not collected")
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGUSR1] {
            kill(running.pid, signal)
            for _ in 0..<30_000 where !running.stdoutSoFar.contains("got \(signal)\n") { usleep(1000) }
        }
        let survived = running.wait()
        #expect(survived.status == 0 && survived.out.split(separator: "\n").count == 4, "the running launch broke: \(survived)")

        // The bound holds after every launch: oldest first, the entry just written always kept.
        var previous: String?
        for (i, flavor) in ["x86-64-v3", "x86-64", "x86-64-v2", "x86-64-v3"].enumerated() {
            let limit = sizes.values.max()! + 1
            let result = try launch(fatbin, ["exit", "0"], environment: env(flavor, max: limit))
            #expect(result.status == 0, "\(flavor): \(result)")
            let entries = Self.listing(cache).filter { $0.count == 64 }
            let total = entries.reduce(UInt64(0)) { $0 + UInt64((try? Data(contentsOf: cache.appendingPathComponent($1)).count) ?? 0) }
            #expect(total <= limit, "launch \(i): \(total) bytes in the cache, bound \(limit)")
            #expect(entries.count == 1 && entries.first != previous, "launch \(i): \(entries)")
            previous = entries.first
            Self.expectOnlyVerifiedEntries(cache, "launch \(i)")
        }
        // A bound smaller than one entry still runs it: the entry just written is kept.
        let tiny = try launch(fatbin, ["exit", "0"], environment: env("x86-64", max: 1))
        #expect(tiny.status == 0 && Self.listing(cache).filter { $0.count == 64 }.count == 1)
    }
}
