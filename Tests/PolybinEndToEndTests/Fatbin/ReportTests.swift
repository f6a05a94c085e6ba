import Foundation
import Testing
import PolybinTestSupport

/// What `inspect` and `explain` tell about a fatbin: sizes that add up, and advice that applies.
@Suite struct ReportTests {
    /// Two flavors of the same build are stored once: the second says so instead of counting
    /// the stored bytes again, so the stored sizes shown add up to no more than the payload.
    @Test func flavorsSharingOneStoredCopyCountItOnce() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-report")
        defer { try? FileManager.default.removeItem(at: dir) }
        let build = dir.appendingPathComponent("build")
        try Data(TestBytes.fakeExecutable(TestBytes.random(1 << 20, seed: 11))).write(to: build)
        let bundle = dir.appendingPathComponent("app.bundle").path
        let packed = try run(TestEnvironment.polybin, ["pack", "--level", "1", "-o", bundle,
                                                       "--flavor", "x86-64=\(build.path)", "--flavor", "x86-64-v2=\(build.path)"])
        try #require(packed.status == 0, "\(packed.err)")
        let shown = try run(TestEnvironment.polybin, ["inspect", bundle])
        #expect(shown.status == 0, "\(shown.err)")
        let lines = shown.out.split(separator: "\n").filter { $0.hasPrefix("  x86-64") }
        #expect(lines.count == 2, "\(shown.out)")
        #expect(lines.last?.contains("stored with x86-64") == true, "\(shown.out)")
        let payload = try #require(shown.out.firstMatch(of: /payload (\d+) bytes/).flatMap { UInt64($0.1) })
        let counted = lines.compactMap { $0.firstMatch(of: #/stored (\d+) /#).flatMap { UInt64($0.1) } }.reduce(0, +)
        #expect(counted > 0 && counted <= payload, "stored sizes \(counted) > payload \(payload): \(shown.out)")

    }

    /// `explain --hwcap` describes an aarch64 CPU; on an x86-64 fatbin the advice is to drop
    /// it, not to pass it.
    @Test func explainWithHwcapOnAnX86FatbinSaysToDropIt() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-report")
        defer { try? FileManager.default.removeItem(at: dir) }
        let build = dir.appendingPathComponent("build")
        try Data(TestBytes.fakeExecutable(TestBytes.random(4096, seed: 12))).write(to: build)
        let bundle = dir.appendingPathComponent("app.bundle").path
        try #require(try run(TestEnvironment.polybin, ["pack", "-o", bundle, "--flavor", "x86-64=\(build.path)"]).status == 0)
        let explained = try run(TestEnvironment.polybin, ["explain", bundle, "--hwcap", "0x1"])
        #expect(explained.status == 1)
        #expect(explained.err.contains("drop them"), "\(explained.err)")
        #expect(!explained.err.contains("pass --hwcap"), "\(explained.err)")
        #expect(explained.err.split(separator: "\n").count == 1, "\(explained.err)")
    }
}
