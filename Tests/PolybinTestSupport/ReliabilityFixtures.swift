import Foundation
import PolybinKit
import Glibc
import Testing

/// The C programs under Tests/Fixtures (probe, canary, seccomp-exec), compiled once per test
/// process, and fatbins built from them with the release polybin and runner archive.
package enum ReliabilityFixtures {
    package static let sources = TestEnvironment.root.appendingPathComponent("Tests/Fixtures")
    /// Beside the build products rather than under /tmp, which some tests mount over; removed
    /// when the test process exits.
    package static func dir() throws -> URL { try BuildOnce.value("ReliabilityFixtures", makeDirectory) }

    private static func makeDirectory() throws -> URL {
        let dir = TestEnvironment.root.appendingPathComponent(TestEnvironment.buildDir)
            .deletingLastPathComponent().appendingPathComponent("reliability-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        fixturesToRemove = strdup(dir.path)
        atexit { if let path = fixturesToRemove { try? FileManager.default.removeItem(atPath: String(cString: path)) } }
        return dir
    }

    /// Tests/Fixtures/SOURCE compiled with `flags` as NAME (once per process).
    package static func program(_ source: String, _ flags: [String], as name: String) throws -> String {
        try once(name) { output in
            let result = try run("cc", flags + ["-o", output, sources.appendingPathComponent(source).path])
            guard result.status == 0 else { throw FixtureError("cc \(source): \(result.err)") }
        }
    }

    package static func seccompExec() throws -> String {
        try program("seccomp-exec.c", ["-O2", "-Wall"], as: "seccomp-exec")
    }

    /// The probe built for `level`; each level at its own optimisation too, so no two builds
    /// are identical (identical builds would share one cache entry).
    package static func probe(_ level: String) throws -> String {
        let optimisation = ["x86-64": "-O0", "x86-64-v2": "-O1"][level] ?? "-O2"
        return try program("probe.c", [optimisation, "-march=\(level)"], as: "probe.\(level)")
    }

    /// The probe built at three levels, so the host's build is a delta against the baseline.
    package static func probeFlavors() throws -> [String] {
        try levels.map { "\($0)=\(try probe($0))" }
    }

    /// The x86-64 levels below v4.
    package static let levels = Array(Architecture.x86_64.levelNames.prefix(3))

    /// The probe run directly, for comparing with a run through the fatbin.
    package static func directProbe() throws -> String { try probe(hostLevel()) }

    /// The best of `levels` this host runs: the build a probe fatbin picks here.
    package static func hostLevel() throws -> String {
        let best = try loaderLevel()
        return levels.contains(best) ? best : "x86-64-v3"
    }

    /// A fatbin of the probe at the three levels; `extra` is passed to `polybin build`.
    package static func probeFatbin(_ name: String = "probe-fatbin", extra: [String] = []) throws -> String {
        let flavors = try probeFlavors()
        return try once(name) { output in
            try DemoFixture.buildFatbin(output, flavors: flavors, extra: extra)
        }
    }

    /// A fatbin of the canary at the three levels, each printing its own flavor name.
    package static func canaryFatbin() throws -> String {
        let flavors = try levels.map { "\($0)=\(try canary($0))" }
        return try once("canary-fatbin") { output in
            try DemoFixture.buildFatbin(output, flavors: flavors)
        }
    }

    package static func canary(_ level: String) throws -> String {
        try program("canary.c", ["-O2", "-march=\(level)", "-DFLAVOR=\"\(level)\""], as: "canary.\(level)")
    }

    /// `count` bytes from the kernel's random source.
    package static func randomBytes(_ count: Int) -> Data {
        FileHandle(forReadingAtPath: "/dev/urandom")!.readData(ofLength: count)
    }

    package static func canaryMarker(_ flavor: String) -> String { "POLYBIN-CANARY-RAN \(flavor)\n" }

    /// Makes DIR/NAME once per process with `make(path)`; tests running in parallel wait for it.
    package static func once(_ name: String, _ make: (String) throws -> Void) throws -> String {
        try BuildOnce.value("ReliabilityFixtures/\(name)") {
            let output = try dir().appendingPathComponent(name).path
            try make(output)
            return output
        }
    }

    /// A fresh scratch directory for one test, removed by the caller's `defer`.
    package static func scratch(_ label: String) throws -> URL { try Scratch(label).root }

    /// A scratch directory holding `work/` with `name`, the probe followed by `noise` random
    /// bytes (a build no codec shrinks much), and an empty `tmp/` to be the step's TMPDIR:
    /// for tests that check a step leaves nothing in either.
    package static func noisyBuild(_ label: String, named name: String, noise: Int) throws -> (dir: URL, work: URL, tmp: URL) {
        let dir = try scratch(label)
        let work = dir.appendingPathComponent("work"), tmp = dir.appendingPathComponent("tmp")
        for d in [work, tmp] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: try probe("x86-64")))
        guard let random = FileHandle(forReadingAtPath: "/dev/urandom") else { throw FixtureError("/dev/urandom cannot be read") }
        bytes.append(random.readData(ofLength: noise))
        try bytes.write(to: work.appendingPathComponent(name))
        return (dir, work, tmp)
    }

    /// The environment every runner test starts from: no HOME cache, a private cache dir.
    package static func environment(cache: URL, _ extra: [String: String] = [:]) -> [String: String] {
        var env = ["PATH": "/usr/local/bin:/usr/bin:/bin", "POLYBIN_CACHE_DIR": cache.path]
        for (key, value) in extra { env[key] = value }
        return env
    }

    /// Records an issue and returns false when a tool a test needs is missing.
    package static func require(_ tool: String, package: String) -> Bool {
        TestEnvironment.require(tool, install: "apt-get install \(package)")
    }

    /// Records an issue and returns false unless this process may create namespaces
    /// (root with CAP_SYS_ADMIN, as in CI).
    package static func requireNamespaces() -> Bool {
        guard require("unshare", package: "util-linux") else { return false }
        let probe = try? run("unshare", ["-m", "--", "/bin/true"])
        if probe?.status == 0 { return true }
        Issue.record("unshare -m fails here (\(probe?.err ?? "not run")): these tests need root with CAP_SYS_ADMIN, as CI has")
        return false
    }
}

private nonisolated(unsafe) var fixturesToRemove: UnsafeMutablePointer<CChar>?

/// What a finished child did.
package struct Outcome: CustomStringConvertible {
    package var status: Int32 = 0
    /// The signal that killed it, if one did.
    package var signal: Int32?
    package var stdout: [UInt8] = []
    package var stderr: [UInt8] = []
    package var hung = false

    package var out: String { String(decoding: stdout, as: UTF8.self) }
    package var err: String { String(decoding: stderr, as: UTF8.self) }
    package var crashed: Bool { signal != nil || hung }

    package var description: String {
        let how = hung ? "hung" : signal.map { "killed by signal \($0)" } ?? "exit \(status)"
        return "\(how); stderr: \(err.prefix(600))"
    }
}

/// A child started with posix_spawn from raw bytes: argv and environment entries need not be
/// UTF-8, only the listed descriptors are open in it, and its PID is known while it runs.
package final class Child: @unchecked Sendable {
    package let pid: pid_t
    private let scratch: URL

    /// `argv[0]` is what the child sees as its name; `program` is what is executed.
    package init(_ program: String, argv: [[UInt8]], environment: [[UInt8]], cwd: String? = nil,
         stdin: [UInt8] = [], extraFiles: [Int32: String] = [:]) throws {
        scratch = try TestEnvironment.temporaryDirectory("polybin-child")
        let inPath = scratch.appendingPathComponent("in").path
        _ = FileManager.default.createFile(atPath: inPath, contents: Data(stdin))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, scratch.appendingPathComponent("out").path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, scratch.appendingPathComponent("err").path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = Spawn.closeFrom(&actions, 3)
        for (fd, path) in extraFiles.sorted(by: { $0.key < $1.key }) {
            posix_spawn_file_actions_addopen(&actions, fd, path, O_RDONLY, 0)
        }
        if let cwd { _ = Spawn.chdir(&actions, cwd) }
        let args: [UnsafeMutablePointer<CChar>?] = argv.map { Spawn.cString($0) } + [nil]
        let env: [UnsafeMutablePointer<CChar>?] = environment.map { Spawn.cString($0) } + [nil]
        defer { (args + env).forEach { free($0) } }
        // What a shell gives its children: no blocked signals, default dispositions. The test
        // runner's threads block some, and a blocked SIGABRT would never kill the probe.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let status = args.withUnsafeBufferPointer { a in
            env.withUnsafeBufferPointer { e in
                posix_spawn(&pid, program, &actions, &attributes, UnsafeMutablePointer(mutating: a.baseAddress!),
                            UnsafeMutablePointer(mutating: e.baseAddress!))
            }
        }
        guard status == 0 else { throw FixtureError("posix_spawn \(program): \(String(cString: strerror(status)))") }
        self.pid = pid
    }

    package var stdoutSoFar: String {
        (try? String(contentsOf: scratch.appendingPathComponent("out"), encoding: .utf8)) ?? ""
    }

    /// Waits for the child; one still running after `limit` seconds is killed and reported as
    /// hung (a safety net against a test that would never end, not a timing assertion).
    package func wait(limit: Double = 60) -> Outcome {
        var result = Outcome()
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(limit)
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { break }
            if done < 0 && errno != EINTR { break }
            if Date() > deadline && !result.hung {
                result.hung = true
                kill(pid, SIGKILL)
            }
            usleep(1000)
        }
        if status & 0x7f == 0 {
            result.status = (status >> 8) & 0xff
        } else {
            result.signal = status & 0x7f
        }
        result.stdout = [UInt8]((try? Data(contentsOf: scratch.appendingPathComponent("out"))) ?? Data())
        result.stderr = [UInt8]((try? Data(contentsOf: scratch.appendingPathComponent("err"))) ?? Data())
        try? FileManager.default.removeItem(at: scratch)
        return result
    }
}

/// glibc's spawn extensions, looked up at run time: Swift's Glibc module does not export them.
package enum Spawn {
    package typealias Action = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    package typealias PathAction = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    package static func closeFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ fd: Int32) -> Int32 {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return -1 }
        return unsafeBitCast(symbol, to: Action.self)(actions, fd)
    }

    package static func chdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: String) -> Int32 {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else { return -1 }
        return path.withCString { unsafeBitCast(symbol, to: PathAction.self)(actions, $0) }
    }

    package static func cString(_ bytes: [UInt8]) -> UnsafeMutablePointer<CChar> {
        let p = malloc(bytes.count + 1)!.assumingMemoryBound(to: CChar.self)
        for (i, b) in bytes.enumerated() { p[i] = CChar(bitPattern: b) }
        p[bytes.count] = 0
        return p
    }
}

/// Runs `program` with `arguments` (argv[0] is the program path) and waits for it.
package func launch(_ program: String, _ arguments: [String] = [], environment: [String: String], cwd: String? = nil,
            stdin: [UInt8] = [], limit: Double = 60) throws -> Outcome {
    try Child(program, argv: ([program] + arguments).map { Array($0.utf8) },
              environment: environment.sorted { $0.key < $1.key }.map { Array("\($0.key)=\($0.value)".utf8) },
              cwd: cwd, stdin: stdin).wait(limit: limit)
}

/// `unshare -m` (and more `flags`), then `setup` as root in the new namespace, then exec of
/// the command: noexec or tiny mounts that vanish with the process. The fixture directory is
/// bound back in place after `setup`, so a checkout under /tmp (which tests mount over) keeps
/// its fixtures visible and executable.
package func inNamespace(_ flags: [String] = ["-m"], setup: String, _ program: String, _ arguments: [String] = [],
                 environment: [String: String], limit: Double = 60) throws -> Outcome {
    let fixtures = try ReliabilityFixtures.dir().path
    let keep = "mkdir -p /mnt && mount -t tmpfs polybin-keep /mnt && mkdir /mnt/fixtures && mount --bind '\(fixtures)' /mnt/fixtures"
    let restore = "mkdir -p '\(fixtures)' && mount --bind /mnt/fixtures '\(fixtures)'"
    return try launch("/usr/bin/unshare", flags + ["--", "/bin/sh", "-c", "set -e; \(keep); \(setup); \(restore); exec \"$@\"", "sh", program] + arguments,
                      environment: environment, limit: limit)
}

/// The probe's dump without the lines that legitimately differ between a direct run and a
/// run through the fatbin (the executable's path, comm, pid).
package func comparable(_ dump: [UInt8]) -> String {
    String(decoding: dump, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        .filter { !$0.hasPrefix("meta ") }.joined(separator: "\n")
}

/// The value of a probe dump's `meta NAME` line.
package func meta(_ dump: String, _ name: String) -> String? {
    dump.split(separator: "\n").first { $0.hasPrefix("meta \(name) ") }.map { String($0.dropFirst("meta \(name) ".count)) }
}
