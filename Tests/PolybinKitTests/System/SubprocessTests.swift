import Foundation
import Glibc
@testable import PolybinKit
import Testing
import PolybinTestSupport

/// Children start clean whatever the starting thread blocks or ignores: the tests' run() and
/// PolybinKit's Tool both start them through Subprocess (pb_spawn). Under `swift test` the
/// starting thread may block SIGCHLD; a cmake started with it blocked never returns from its
/// configure step (CMakeIntegrationTests).
@Suite(.serialized) struct SubprocessTests {
    /// The blocked and the ignored signals of a child, from its /proc/self/status, as masks
    /// (bit N-1 for signal N). glibc's posix_spawn leaves its two reserved signals, 32 and 33
    /// (SIGCANCEL, SIGSETXID: never a program's own), ignored in every child it starts (Python's
    /// os.posix_spawn shows the same); they are left out of the ignored mask.
    static func blockedAndIgnored(_ status: String) throws -> (blocked: UInt64, ignored: UInt64) {
        func mask(_ key: String) throws -> UInt64 {
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix(key + ":") })
            return try #require(UInt64(line.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces), radix: 16))
        }
        let glibcReserved: UInt64 = 1 << 31 | 1 << 32
        return (try mask("SigBlk"), try mask("SigIgn") & ~glibcReserved)
    }

    /// Runs `body` with SIGCHLD, SIGTERM and SIGUSR1 blocked and SIGPIPE and SIGUSR2 ignored
    /// on this thread, then restores both.
    static func withSignalsBlockedAndIgnored<R>(_ body: () throws -> R) throws -> R {
        var blocked = sigset_t(), previous = sigset_t()
        sigemptyset(&blocked)
        for signal in [SIGCHLD, SIGTERM, SIGUSR1] { sigaddset(&blocked, signal) }
        #expect(pthread_sigmask(SIG_BLOCK, &blocked, &previous) == 0)
        let pipe = signal(SIGPIPE, SIG_IGN), usr2 = signal(SIGUSR2, SIG_IGN)
        defer {
            pthread_sigmask(SIG_SETMASK, &previous, nil)
            signal(SIGPIPE, pipe)
            signal(SIGUSR2, usr2)
        }
        return try body()
    }

    @Test func aChildOfTheTestsRunStartsWithNoBlockedAndNoIgnoredSignal() throws {
        let result = try Self.withSignalsBlockedAndIgnored { try run("/bin/cat", ["/proc/self/status"]) }
        #expect(result.status == 0)
        let child = try Self.blockedAndIgnored(result.out)
        #expect(child.blocked == 0 && child.ignored == 0, "blocked \(String(child.blocked, radix: 16)), ignored \(String(child.ignored, radix: 16))")
    }

    @Test func aToolStartsWithNoBlockedAndNoIgnoredSignal() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-subprocess")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("status").path
        try Self.withSignalsBlockedAndIgnored {
            try Tool.run("sh", ["-c", "cat /proc/self/status > status"], in: dir.path, what: "status")
        }
        let child = try Self.blockedAndIgnored(try String(contentsOfFile: file, encoding: .utf8))
        #expect(child.blocked == 0 && child.ignored == 0, "blocked \(String(child.blocked, radix: 16)), ignored \(String(child.ignored, radix: 16))")
    }

    @Test func aChildGetsOnlyItsThreeDescriptors() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-subprocess")
        defer { try? FileManager.default.removeItem(at: dir) }
        // An inheritable descriptor of this process (no O_CLOEXEC) is not passed on.
        let leaked = open(dir.appendingPathComponent("open").path, O_CREAT | O_WRONLY, 0o600)
        #expect(leaked >= 0)
        defer { close(leaked) }
        let result = try run("/bin/ls", ["/proc/self/fd"])
        #expect(result.out.split(separator: "\n").sorted() == ["0", "1", "2", "3"], "\(result.out)")  // 3: ls's own listing
    }

    @Test func aChildRunsInTheDirectoryGivenAndReportsItsStatusAndSignal() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-subprocess")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pwd = try run("/bin/pwd", cwd: dir)
        #expect(pwd.out == dir.resolvingSymlinksInPath().path + "\n")
        let exited = try run("/bin/sh", ["-c", "exit 7"])
        #expect(exited.status == 7 && !exited.signaled)
        let killed = try run("/bin/sh", ["-c", "kill -TERM $$"])
        #expect(killed.status == SIGTERM && killed.signaled)
        #expect(throws: SystemError.self) { try Subprocess.spawn("/nonexistent/tool", []) }
        let failed = #expect(throws: PolybinError.self) { try Tool.run("sh", ["-c", "echo first >&2; echo second >&2; exit 3"], what: "a step") }
        #expect(failed?.description == "a step: sh failed (exit 3): first | second")
    }
}
