import Foundation
import Glibc
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// TESTING.md, "Privileges, limits and planted files": a fatbin installed setuid or setgid and
/// run by `nobody`, who controls the environment, HOME, TMPDIR and a cache of their own.
/// The tests run as root (as CI does), install the fatbin root-owned, and drop to `nobody`
/// with setpriv, so the kernel marks the exec secure (AT_SECURE) exactly as for a real user.
@Suite struct PrivilegeTests {
    static let nobody: uid_t = 65534

    /// A world-readable scratch tree: `bin/app` (the canary fatbin, root-owned, `mode`) and
    /// `home` owned by nobody.
    static func install(_ label: String, mode: mode_t) throws -> (root: URL, app: String, home: URL) {
        let fatbin = try ReliabilityFixtures.canaryFatbin()
        let root = try ReliabilityFixtures.scratch(label)
        chmod(root.path, 0o755)
        let bin = root.appendingPathComponent("bin"), home = root.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let app = bin.appendingPathComponent("app").path
        try FileManager.default.copyItem(atPath: fatbin, toPath: app)
        #expect(chown(app, 0, 0) == 0 && chmod(app, mode) == 0)
        #expect(chown(home.path, nobody, nobody) == 0)
        return (root, app, home)
    }

    /// Every path under `root` with its type, owner, mode and size: what "nothing created,
    /// written or deleted" compares.
    static func snapshot(_ root: URL) -> [String] {
        let paths = (FileManager.default.enumerator(atPath: root.path)?.allObjects as? [String]) ?? []
        return paths.sorted().map { relative in
            var st = stat()
            lstat(root.appendingPathComponent(relative).path, &st)
            return "\(relative) mode \(String(st.st_mode, radix: 8)) uid \(st.st_uid) size \(st.st_size) ctime \(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)"
        }
    }

    /// `program` run as nobody:nogroup with exactly `environment`.
    static func asNobody(_ program: String, _ arguments: [String] = [], environment: [String: String]) throws -> Outcome {
        try launch("/usr/bin/setpriv", ["--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups", "--", program] + arguments,
                   environment: environment)
    }

    /// Everything the caller can set to steer a runner, pointing into their own `home`.
    static func hostileEnvironment(home: URL, cache: URL) -> [String: String] {
        [
            "PATH": "/usr/bin:/bin", "HOME": home.path, "XDG_CACHE_HOME": home.appendingPathComponent("xdg").path,
            "TMPDIR": home.path, "POLYBIN_CACHE_DIR": cache.path, "POLYBIN_EXEC": "cache,tmpfile",
            "POLYBIN_CACHE_MAX": "1", "POLYBIN_FLAVOR": "x86-64", "POLYBIN_TEST_KILL_AT": "memfd-written",
            "POLYBIN_LOG": "1",
        ]
    }

    /// The caller plants their own program and a matching record under the hash of the build
    /// the fatbin would run; a setgid fatbin (same uid, more group) must not run it.
    @Test func setgidFatbinNeverRunsTheCallersCacheEntry() throws {
        let (root, app, home) = try Self.install("setgid", mode: 0o2755)
        defer { try? FileManager.default.removeItem(at: root) }
        let host = try ReliabilityFixtures.hostLevel()
        // Planted for the build POLYBIN_FLAVOR asks for, which a runner trusting it would run.
        let build = try [UInt8](Data(contentsOf: URL(fileURLWithPath: ReliabilityFixtures.canary("x86-64"))))
        let cache = home.appendingPathComponent("cache")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        #expect(chown(cache.path, Self.nobody, Self.nobody) == 0 && chmod(cache.path, 0o700) == 0)
        // The forgery: the same build with its marker changed, the same size, so only the
        // record check could tell, and the caller wrote that record too.
        let marker = Array("POLYBIN-CANARY-RAN".utf8), forgedMarker = Array("POLYBIN-FORGED-RAN".utf8)
        var forged = build
        let at = try #require((0...(forged.count - marker.count)).first { Array(forged[$0..<($0 + marker.count)]) == marker })
        forged.replaceSubrange(at..<(at + marker.count), with: forgedMarker)
        let name = SHA256.hex(SHA256.digest(build))
        let entry = cache.appendingPathComponent(name).path
        try Data(forged).write(to: URL(fileURLWithPath: entry))
        #expect(chown(entry, Self.nobody, Self.nobody) == 0 && chmod(entry, 0o500) == 0)
        var st = stat()
        #expect(stat(entry, &st) == 0)
        let record: [UInt64] = [UInt64(st.st_dev), UInt64(st.st_ino), UInt64(st.st_size),
                                UInt64(st.st_ctim.tv_sec), UInt64(st.st_ctim.tv_nsec)]
        let recordPath = cache.appendingPathComponent("\(name).rec").path
        try record.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: recordPath)) }
        #expect(chown(recordPath, Self.nobody, Self.nobody) == 0)

        let env = Self.hostileEnvironment(home: home, cache: cache)
        let before = Self.snapshot(root)
        let result = try Self.asNobody(app, environment: env)
        #expect(result.status == 0, "\(result)")
        #expect(result.out == ReliabilityFixtures.canaryMarker(host), "setgid fatbin ran \(result.out.debugDescription); \(result)")
        #expect(Self.snapshot(root) == before, "the secure run changed files the caller owns")
        #expect(result.stderr.isEmpty, "POLYBIN_LOG must be ignored too: \(result.err)")
    }

    /// setuid root, run by nobody with POLYBIN_CACHE_DIR through a symlink the caller planted
    /// into a root-owned directory and POLYBIN_CACHE_MAX=1: nothing created, nothing deleted.
    @Test func setuidFatbinTouchesNothingTheCallerNames() throws {
        let (root, app, home) = try Self.install("setuid", mode: 0o4755)
        defer { try? FileManager.default.removeItem(at: root) }
        let rootsDir = root.appendingPathComponent("roots")
        try FileManager.default.createDirectory(at: rootsDir, withIntermediateDirectories: true)
        chmod(rootsDir.path, 0o755)
        // A root file whose name looks like a cache entry, which an eviction would delete.
        try Data("root's\n".utf8).write(to: rootsDir.appendingPathComponent(String(repeating: "0", count: 64)))
        let link = home.appendingPathComponent("link")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: rootsDir.path)
        let host = try ReliabilityFixtures.hostLevel()
        for cache in [link, link.appendingPathComponent("made/by/root")] {
            let before = Self.snapshot(root)
            let result = try Self.asNobody(app, environment: Self.hostileEnvironment(home: home, cache: cache))
            #expect(result.status == 0 && result.out == ReliabilityFixtures.canaryMarker(host), "cache \(cache.path): \(result)")
            #expect(Self.snapshot(root) == before, "cache \(cache.path): files changed: \(Self.snapshot(root))")
        }
        #expect(!FileManager.default.fileExists(atPath: home.appendingPathComponent(".cache").path))
    }

    /// When memfd cannot execute (vm.memfd_noexec=2), a secure exec has no safe way: one line,
    /// exit 123, and still nothing written where the caller points.
    @Test func secureExecWithoutMemfdFailsWithOneLine() throws {
        guard ReliabilityFixtures.requireNamespaces() else { return }
        let (root, app, home) = try Self.install("secure-noexec", mode: 0o4755)
        defer { try? FileManager.default.removeItem(at: root) }
        let setup = "echo 2 > /proc/sys/vm/memfd_noexec; test \"$(cat /proc/sys/vm/memfd_noexec)\" = 2"
        let before = Self.snapshot(root)
        let env = Self.hostileEnvironment(home: home, cache: home.appendingPathComponent("cache"))
        let result = try inNamespace(["-pf", "--mount-proc"], setup: setup, "/usr/bin/setpriv",
                                     ["--reuid=\(Self.nobody)", "--regid=\(Self.nobody)", "--clear-groups", "--", app],
                                     environment: env)
        #expect(result.status == 123, "\(result)")
        #expect(result.stdout.isEmpty)
        #expect(result.err.hasPrefix("polybin: could not execute ") && result.err.contains("memfd")
                && result.err.contains("setuid/setgid"), "\(result.err)")
        #expect(result.err.split(separator: "\n").count == 1, "\(result.err)")
        #expect(Self.snapshot(root) == before)
    }

    /// Outside secure mode too: root running with another user's HOME (`sudo -E`) must not
    /// leave a root-owned ~/.cache there; the build still runs (memfd).
    @Test func neverCreatesACacheInAnotherUsersHome() throws {
        let fatbin = try ReliabilityFixtures.canaryFatbin()
        let scratch = try ReliabilityFixtures.scratch("foreign-home")
        defer { try? FileManager.default.removeItem(at: scratch) }
        #expect(chown(scratch.path, Self.nobody, Self.nobody) == 0)
        let result = try launch(fatbin, environment: ["PATH": "/usr/bin:/bin", "HOME": scratch.path])
        let marker = ReliabilityFixtures.canaryMarker(try ReliabilityFixtures.hostLevel())
        #expect(result.status == 0 && result.out == marker, "\(result)")
        #expect(Self.snapshot(scratch).isEmpty, "created in nobody's home: \(Self.snapshot(scratch))")
    }

    /// The cache policy looks at every directory on the way (docs/cache-policy.md): one owned by
    /// another user, or a name another user made in a sticky directory, is never used, and
    /// nothing is created under it (before, only the final directory was checked, so root
    /// made and used a cache inside nobody's directory).
    @Test func neverKeepsACacheUnderADirectoryAnotherUserControls() throws {
        let fatbin = try ReliabilityFixtures.canaryFatbin()
        let host = try ReliabilityFixtures.hostLevel()
        let scratch = try ReliabilityFixtures.scratch("foreign-component")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let theirs = scratch.appendingPathComponent("theirs"), sticky = scratch.appendingPathComponent("sticky")
        for dir in [theirs, sticky] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        #expect(chown(theirs.path, Self.nobody, Self.nobody) == 0 && chmod(theirs.path, 0o755) == 0)
        #expect(chmod(sticky.path, 0o1777) == 0)
        let planted = sticky.appendingPathComponent("planted")
        try FileManager.default.createDirectory(at: planted, withIntermediateDirectories: true)
        #expect(chown(planted.path, Self.nobody, Self.nobody) == 0 && chmod(planted.path, 0o777) == 0)
        let cases = [("XDG_CACHE_HOME", theirs.appendingPathComponent("xdg").path, "\(theirs.path) belongs to another user (uid \(Self.nobody))"),
                     ("POLYBIN_CACHE_DIR", theirs.appendingPathComponent("cache").path, "\(theirs.path) belongs to another user"),
                     ("POLYBIN_CACHE_DIR", planted.appendingPathComponent("cache").path, "\(planted.path) belongs to another user (uid \(Self.nobody)) in a directory anyone may write")]
        for (variable, place, reason) in cases {
            var env = ["PATH": "/usr/bin:/bin", "HOME": scratch.path, "POLYBIN_EXEC": "cache,memfd", "POLYBIN_LOG": "1"]
            env[variable] = place
            let result = try launch(fatbin, environment: env)
            #expect(result.status == 0 && result.out == ReliabilityFixtures.canaryMarker(host), "\(variable)=\(place): \(result)")
            #expect(result.err.contains("polybin: cache: ") && result.err.contains(reason), "\(variable)=\(place): \(result.err)")
        }
        #expect(Self.snapshot(theirs).isEmpty && Self.snapshot(planted).isEmpty, "created under another user's directory: \(Self.snapshot(scratch))")
    }

    /// The size bound deletes only names of the cache's own scheme (64 hex digits, `.rec`,
    /// its temp names): a cache directory shared with other files keeps them.
    @Test func evictionDeletesOnlyTheCachesOwnNames() throws {
        let fatbin = try ReliabilityFixtures.canaryFatbin()
        let cache = try ReliabilityFixtures.scratch("evict-names")
        defer { try? FileManager.default.removeItem(at: cache) }
        chmod(cache.path, 0o700)
        let foreign = [String(repeating: "x", count: 64), String(repeating: "A", count: 64), "notes.txt",
                       ".tmp-notes", String(repeating: "0", count: 64) + ".bak", ".tmp-1-" + String(repeating: "z", count: 64)]
        let old = Date().addingTimeInterval(-86_400)
        for name in foreign {
            let path = cache.appendingPathComponent(name).path
            try Data(repeating: 7, count: 4096).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: path)
        }
        let result = try launch(fatbin, environment: ReliabilityFixtures.environment(cache: cache, ["POLYBIN_EXEC": "cache", "POLYBIN_CACHE_MAX": "1"]))
        #expect(result.status == 0, "\(result)")
        let left = Set(CacheTests.listing(cache))
        #expect(Set(foreign).isSubset(of: left), "eviction deleted files it did not make: \(Set(foreign).subtracting(left))")
    }
}
