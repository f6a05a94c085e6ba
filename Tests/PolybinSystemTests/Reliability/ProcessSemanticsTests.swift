import Foundation
import Glibc
import Testing
import PolybinTestSupport

/// TESTING.md, "Process semantics": a run through the fatbin is indistinguishable from a
/// direct run of the build, whichever exec strategy runs it. The checks take the fatbin,
/// the build it picks and how both are started, so the aarch64 fatbin under qemu runs the
/// same ones (ArmProcessSemanticsTests).
@Suite struct ProcessSemanticsTests {
    static let strategies = ["cache", "memfd", "tmpfile"]

    static func host() throws -> ProcessSemantics {
        ProcessSemantics(fatbin: try ReliabilityFixtures.probeFatbin(), direct: try ReliabilityFixtures.directProbe())
    }

    @Test(arguments: strategies)
    func argvEnvCwdUmaskAndFdsPassThroughByteForByte(strategy: String) throws {
        try Self.host().argvEnvCwdUmaskAndFdsPassThroughByteForByte(strategy)
    }

    @Test func tenThousandArgumentsPassThrough() throws {
        for strategy in Self.strategies { try Self.host().tenThousandArgumentsPassThrough(strategy) }
    }

    @Test(arguments: strategies)
    func exitCodesAndDeathsBySignalAreThePayloads(strategy: String) throws {
        try Self.host().exitCodesAndDeathsBySignalAreThePayloads(strategy)
    }

    @Test(arguments: strategies)
    func signalsSentToTheCallersPIDReachThePayloadsHandlers(strategy: String) throws {
        try Self.host().signalsSentToTheCallersPIDReachThePayloadsHandlers(strategy)
    }

    @Test(arguments: strategies)
    func runnerLeavesStdoutAndStdinToThePayload(strategy: String) throws {
        try Self.host().runnerLeavesStdoutAndStdinToThePayload(strategy)
    }
}

/// The process-semantics checks for one fatbin of Tests/Fixtures/probe.c: `direct` is the
/// build the fatbin picks on this CPU, `launcher` what starts both (empty: exec them
/// directly; `qemu-aarch64 -cpu max` for an aarch64 fatbin run by hand). `execFd`: the run
/// through the fatbin may hold one descriptor more, its build's executable, which the runner
/// keeps open for an interpreter that reopens it after exec (qemu 7.2 under binfmt_misc, no
/// execveat, for memfd and tmpfile); nothing else may differ. `environmentInOrder` false:
/// the variables are compared as a set, for qemu-user, which reorders them at every start
/// (a run through the fatbin starts qemu twice, a direct run once).
struct ProcessSemantics {
    var fatbin: String
    var direct: String
    var launcher: [String] = []
    var execFd: (String) -> Bool = { _ in false }
    var environmentInOrder = true

    /// A dump as compared: `comparable`, with the variables sorted unless their order counts.
    func view(_ dump: [UInt8]) -> String {
        let lines = comparable(dump).split(separator: "\n", omittingEmptySubsequences: false)
        if environmentInOrder { return lines.joined(separator: "\n") }
        let sorted = lines.filter { $0.hasPrefix("env ") }.sorted()
        var next = sorted.makeIterator()
        return lines.map { $0.hasPrefix("env ") ? next.next()! : $0 }.joined(separator: "\n")
    }

    /// Runs the probe directly and through the fatbin under the same conditions.
    func both(_ strategy: String, argv: [[UInt8]], environment: [[UInt8]], cwd: String? = nil,
              stdin: [UInt8] = [], extraFiles: [Int32: String] = [:], shell: String? = nil) throws -> (direct: Outcome, fatbin: Outcome) {
        func go(_ program: String) throws -> Outcome {
            let command = launcher.map { Array($0.utf8) } + [Array(program.utf8)]
            // umask is not a posix_spawn attribute: set it in a shell that then execs the program.
            let (path, args) = shell.map { ("/bin/sh", [Array("sh".utf8), Array("-c".utf8), Array("\($0); exec \"$0\" \"$@\"".utf8)] + command + argv) }
                ?? (launcher.first ?? program, command + argv)
            return try Child(path, argv: args, environment: environment + [Array("POLYBIN_EXEC=\(strategy)".utf8)],
                             cwd: cwd, stdin: stdin, extraFiles: extraFiles).wait()
        }
        return (try go(direct), try go(fatbin))
    }

    /// The fatbin's dump as the direct run's would read: without the `meta` lines, and
    /// without the one descriptor of its executable where `execFd` allows it.
    func comparableThroughFatbin(_ dump: [UInt8], _ strategy: String) -> String {
        let lines = view(dump).split(separator: "\n", omittingEmptySubsequences: false)
        guard execFd(strategy) else { return lines.joined(separator: "\n") }
        let own = lines.filter { $0.hasPrefix("fd ") && ($0.contains(" /memfd:polybin:") || $0.contains("/#") && $0.hasSuffix(" (deleted)")) }
        return lines.filter { own.count == 1 ? $0 != own[0] : true }.joined(separator: "\n")
    }

    func argvEnvCwdUmaskAndFdsPassThroughByteForByte(_ strategy: String) throws {
        let scratch = try ReliabilityFixtures.scratch("passthrough dir with spaces")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let extra = scratch.appendingPathComponent("extra-fd").path
        _ = FileManager.default.createFile(atPath: extra, contents: Data("x".utf8))
        let argv: [[UInt8]] = [Array("dump".utf8), [], Array(" two  spaces ".utf8), Array("new\nline".utf8),
                               [0xff, 0xfe, 0x80, 0x41], Array("tab\tand=equals".utf8), Array("--flag".utf8), []]
        let environment: [[UInt8]] = [Array("PATH=/usr/bin:/bin".utf8), Array("EMPTY=".utf8), [0x42, 0x49, 0x4e, 0x3d, 0xc3, 0x28, 0xff],
                                      Array("POLYBIN_CACHE_DIR=\(scratch.appendingPathComponent("cache").path)".utf8),
                                      Array("MULTI=line\none".utf8)]
        let (direct, fatbin) = try both(strategy, argv: argv, environment: environment, cwd: scratch.path,
                                        extraFiles: [5: extra], shell: "umask 027")
        #expect(direct.status == 0 && fatbin.status == 0, "\(fatbin)")
        #expect(Bool(comparableThroughFatbin(fatbin.stdout, strategy) == view(direct.stdout)), "\(strategy): payload saw something else than a direct run:\n\(view(fatbin.stdout))\n--- direct ---\n\(view(direct.stdout))")
        #expect(fatbin.out.contains("umask 027\n") && fatbin.out.contains("fd 5 \(extra)\n"), "\(fatbin.out)")
        #expect(fatbin.out.contains("cwd \(scratch.path)\n"))
        #expect(fatbin.stderr.isEmpty, "\(fatbin.err)")
    }

    func tenThousandArgumentsPassThrough(_ strategy: String) throws {
        let scratch = try ReliabilityFixtures.scratch("many-args")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let argv = [Array("dump".utf8)] + (0..<10_000).map { Array("argument-\($0)".utf8) }
        let env = [Array("POLYBIN_CACHE_DIR=\(scratch.path)".utf8)]
        let (direct, fatbin) = try both(strategy, argv: argv, environment: env)
        #expect(fatbin.status == 0, "\(strategy): \(fatbin)")
        #expect(fatbin.out.hasPrefix("argc 10002\n"))
        #expect(Bool(comparableThroughFatbin(fatbin.stdout, strategy) == view(direct.stdout)), "\(strategy): argv differs")
    }

    func exitCodesAndDeathsBySignalAreThePayloads(_ strategy: String) throws {
        let scratch = try ReliabilityFixtures.scratch("exit")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let env = [Array("POLYBIN_CACHE_DIR=\(scratch.path)".utf8)]
        for code in ["0", "1", "42", "255"] {
            let (direct, fatbin) = try both(strategy, argv: [Array("exit".utf8), Array(code.utf8)], environment: env)
            #expect(fatbin.status == Int32(code)! && fatbin.signal == nil && direct.status == fatbin.status, "exit \(code): \(fatbin)")
        }
        for signal in [SIGSEGV, SIGABRT, SIGKILL] {
            let (direct, fatbin) = try both(strategy, argv: [Array("raise".utf8), Array("\(signal)".utf8)], environment: env)
            #expect(fatbin.signal == signal && direct.signal == signal, "signal \(signal): \(fatbin)")
        }
        // What a shell's $? shows: 128 + signal, as for a direct run.
        let command = (launcher + [fatbin]).map { "'\($0)'" }.joined(separator: " ")
        let status = try launch("/bin/sh", ["-c", "\(command) raise \(SIGABRT) 2>/dev/null; echo $?"],
                                environment: ["POLYBIN_EXEC": strategy, "POLYBIN_CACHE_DIR": scratch.path])
        #expect(status.out == "\(128 + SIGABRT)\n", "\(status)")
    }

    func signalsSentToTheCallersPIDReachThePayloadsHandlers(_ strategy: String) throws {
        let scratch = try ReliabilityFixtures.scratch("signals")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let ready = scratch.appendingPathComponent("pid").path
        let command = (launcher + [fatbin]).map { Array($0.utf8) }
        let child = try Child(launcher.first ?? fatbin, argv: command + [Array("signals".utf8), Array(ready.utf8)],
                              environment: [Array("POLYBIN_EXEC=\(strategy)".utf8), Array("POLYBIN_CACHE_DIR=\(scratch.path)".utf8)])
        var reported: String?
        for _ in 0..<30_000 where reported == nil {
            if let text = try? String(contentsOfFile: ready, encoding: .utf8), text.hasSuffix("\n") { reported = text }
            else { usleep(1000) }
        }
        #expect(reported == "\(child.pid)\n", "the payload's PID is not the one the caller started")
        for (i, signal) in [SIGTERM, SIGINT, SIGHUP, SIGUSR1].enumerated() {
            kill(child.pid, signal)
            for _ in 0..<30_000 where !child.stdoutSoFar.contains("got \(signal)\n") { usleep(1000) }
            #expect(child.stdoutSoFar.split(separator: "\n").count == i + 1, "signal \(signal) did not reach the handler")
        }
        let result = child.wait()
        #expect(result.status == 0 && result.signal == nil, "\(result)")
        #expect(result.out == "got \(SIGTERM)\ngot \(SIGINT)\ngot \(SIGHUP)\ngot \(SIGUSR1)\n")
    }

    func runnerLeavesStdoutAndStdinToThePayload(_ strategy: String) throws {
        let scratch = try ReliabilityFixtures.scratch("stdio")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = [UInt8](ReliabilityFixtures.randomBytes(1 << 20))
        let env = [Array("POLYBIN_CACHE_DIR=\(scratch.path)".utf8), Array("POLYBIN_LOG=1".utf8)]
        let (_, cat) = try both(strategy, argv: [Array("cat".utf8)], environment: env, stdin: input)
        #expect(cat.status == 0 && cat.stdout == input, "stdin did not reach the payload intact")
        // The log lines are written with write(2) before exec, so none is lost in a buffer.
        let logLines = cat.err.split(separator: "\n")
        #expect(!logLines.isEmpty && logLines.allSatisfy { $0.hasPrefix("polybin: ") }, "\(cat.err)")
        #expect(cat.err.contains("running"))

        let (direct, stdio) = try both(strategy, argv: [Array("stdio".utf8)], environment: [Array("POLYBIN_CACHE_DIR=\(scratch.path)".utf8)])
        #expect(stdio.stdout == direct.stdout && stdio.stderr == direct.stderr, "\(stdio)")
    }
}
