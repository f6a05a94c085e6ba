import Foundation
@testable import PolybinKit
import Testing

/// Issue 9, item 2: progress on a terminal, nothing in a pipe, nothing with --quiet.
@Suite struct ProgressTests {
    /// A pack that takes a while: 3 MB of random bytes at level 19. POLYBIN_PROGRESS_DELAY=0
    /// draws from the first tick instead of after a second, so no test depends on timing.
    static func packCommand(in dir: URL, quiet: Bool) throws -> String {
        let build = dir.appendingPathComponent("build")
        try Data(BundleRoundTripTests.fakeExecutable(BundleRoundTripTests.randomBytes(3 << 20, seed: 3))).write(to: build)
        return "POLYBIN_PROGRESS_DELAY=0 '\(TestEnvironment.polybin)' pack --level 19 \(quiet ? "--quiet " : "")"
            + "-o '\(dir.path)/out.bundle' --flavor 'x86-64=\(build.path)'"
    }

    /// Runs `command` with a pseudo-terminal as its stdin, stdout and stderr (util-linux script).
    static func underTerminal(_ command: String) throws -> ProcessResult {
        try run("script", ["-qec", command, "/dev/null"])
    }

    @Test func aTerminalShowsPhaseBytesAndRateThenErasesTheLine() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try Self.underTerminal(Self.packCommand(in: dir, quiet: false))
        #expect(result.status == 0, "\(result.out)")
        #expect(result.out.contains("polybin: compressing  "), "\(result.out)")
        #expect(result.out.contains(" of 3.1 MB"), "\(result.out)")
        #expect(result.out.contains(" MB/s"), "\(result.out)")
        #expect(result.out.hasSuffix("\r\u{1B}[K"), "the line is erased at the end")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out.bundle").path))
    }

    @Test func quietSilencesItOnATerminal() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try Self.underTerminal(Self.packCommand(in: dir, quiet: true))
        #expect(result.status == 0, "\(result.out)")
        #expect(result.out.isEmpty, "\(result.out)")
    }

    @Test func aPipeGetsNothing() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try run("/bin/sh", ["-c", Self.packCommand(in: dir, quiet: false)])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.err.isEmpty, "\(result.err)")
        #expect(result.out.isEmpty, "\(result.out)")
    }

    @Test func sizesAndTimesReadAsWords() {
        #expect(Progress.megabytes(0) == "0.0")
        #expect(Progress.megabytes(3_145_764) == "3.1")
        #expect(Progress.megabytes(620_000_000) == "620.0")
        #expect(Progress.duration(0.2) == "1 s")
        #expect(Progress.duration(75) == "1 min 15 s")
    }
}
