import Foundation
import PolybinKit
import Testing
import PolybinTestSupport

/// A polybin step stopped by a signal (Ctrl-C, make killing its jobs, a hang-up) leaves
/// nothing behind: neither the `.OUT.tmp-PID` its output was being written to nor its
/// scratch directory under $TMPDIR, and it still dies of that signal, as callers expect.
@Suite(.serialized) struct Interrupts {
    /// The names in a directory, sorted.
    static func listing(_ dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
    }

    /// Starts `arguments` in `dir` with TMPDIR=`tmp`, waits until `ready` says it is mid-step,
    /// sends `signal`, and returns how it ended.
    static func interrupt(_ arguments: [String], in dir: URL, tmp: URL, signal: Int32,
                          when ready: () -> Bool) throws -> Outcome {
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = tmp.path
        let child = try Child(TestEnvironment.polybin, argv: ([TestEnvironment.polybin] + arguments).map { Array($0.utf8) },
                              environment: environment.map { Array("\($0.key)=\($0.value)".utf8) }, cwd: dir.path)
        var seen = false
        for _ in 0..<120_000 {
            if ready() { seen = true; break }
            if waitpid(child.pid, nil, WNOHANG) == child.pid { break }
            usleep(500)
        }
        #expect(seen, "polybin \(arguments.joined(separator: " ")) never reached the point to interrupt")
        kill(child.pid, signal)
        return child.wait(limit: 120)
    }

    @Test(arguments: [SIGTERM, SIGINT, SIGHUP])
    func aSignalWhilePackingLeavesNoTemporaryOutput(signal: Int32) throws {
        // A build that takes seconds at level 19: the probe followed by 8 MiB of noise.
        let (dir, work, tmp) = try ReliabilityFixtures.noisyBuild("interrupt-pack", named: "big", noise: 8 << 20)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try Self.interrupt(["pack", "-o", "out", "--level", "19", "--flavor", "x86-64=big", "--flavor", "x86-64-v2=big"],
                                         in: work, tmp: tmp, signal: signal) {
            Self.listing(work).contains { $0.hasPrefix(".out.tmp-") }
        }
        #expect(outcome.signal == signal, "polybin pack did not die of signal \(signal): \(outcome)")
        #expect(Self.listing(work) == ["big"], "left in the output directory: \(Self.listing(work))")
        #expect(Self.listing(tmp).isEmpty, "left in TMPDIR: \(Self.listing(tmp))")
    }

    @Test func aSignalWhileTheCompilerRunsLeavesNoScratchDirectoryOrOutput() throws {
        let dir = try ReliabilityFixtures.scratch("interrupt-embed")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tmp = dir.appendingPathComponent("tmp"), work = dir.appendingPathComponent("work")
        for d in [tmp, work, work.appendingPathComponent("assets")] {
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        }
        try Data("hello\n".utf8).write(to: work.appendingPathComponent("assets/a.txt"))
        // A compiler that says it started, then hangs until it is killed with the step.
        let started = dir.appendingPathComponent("started")
        let compiler = dir.appendingPathComponent("slow-cc")
        try "#!/bin/sh\necho $$ > '\(started.path)'\nexec sleep 300\n".write(to: compiler, atomically: true, encoding: .utf8)
        chmod(compiler.path, 0o755)
        let outcome = try Self.interrupt(["embed", "--name", "assets", "--cc", compiler.path, "-o", "assets.o",
                                          "--header", "assets.h", "assets"],
                                         in: work, tmp: tmp, signal: SIGTERM) {
            ((try? String(contentsOf: started, encoding: .utf8)) ?? "").hasSuffix("\n")
        }
        // The compiler was polybin's child, not a member of a killed process group: end it here.
        if let pid = Int32(((try? String(contentsOf: started, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) {
            kill(pid, SIGKILL)
        }
        #expect(outcome.signal == SIGTERM, "polybin embed did not die of SIGTERM: \(outcome)")
        #expect(Self.listing(work) == ["assets"], "left in the output directory: \(Self.listing(work))")
        #expect(Self.listing(tmp).isEmpty, "left in TMPDIR: \(Self.listing(tmp))")
    }
}
