import CPolybin
import Foundation
import PolybinKit
import Testing
import PolybinTestSupport

/// Issue 9, item 1 (peak RSS no higher than the zstd CLI's): small builds at the default
/// level 19 are packed one frame at a time. A level-19 context for a 1 MB delta is ~33 MiB
/// (its tables cover prefix and frame), 30 times the build: two side by side doubled the
/// peak, where the CLI holds one. Memory, not time: the peak is what wait4 reports for polybin
/// (the C parent of ColdLaunchMemoryTests), against polybin's own start-up peak.
@Suite struct PackingMemoryTests {
    @Test func smallBuildsAtLevel19HoldOneCompressionContextAtATime() throws {
        guard TestEnvironment.require("cc", install: "apt-get install gcc") else { return }
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let parent = try ColdLaunchMemoryTests.buildParent(in: dir)
        // Four level builds of about 1 MB that differ in a few bytes, as real level builds do.
        let size = 1 << 20
        var body = ColdLaunchMemoryTests.data(size, seed: 3)
        var flavors: [String] = []
        for (i, level) in ["x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4"].enumerated() {
            for at in stride(from: 4096 * (i + 1), to: body.count, by: 65536) { body[at] = UInt8(0x30 + i) }
            let path = dir.appendingPathComponent(level).path
            try Data(TestBytes.fakeExecutable(body)).write(to: URL(fileURLWithPath: path))
            flavors += ["--flavor", "\(level)=\(path)"]
        }
        let startup = try run(parent, [TestEnvironment.polybin, "--version"])
        let packed = try run(parent, [TestEnvironment.polybin, "pack", "-o", "\(dir.path)/bundle"] + flavors)
        #expect(packed.status == 0, "\(packed.err)")
        let bundle = try LoadedBundle(bytes: Array(Data(contentsOf: dir.appendingPathComponent("bundle"))), path: "bundle")
        #expect(bundle.entries.count == 4 && bundle.entries.filter { $0.codec == .delta }.count == 3)
        let base = try #require(ColdLaunchMemoryTests.peakKiB(startup), "\(startup.err)")
        let peak = try #require(ColdLaunchMemoryTests.peakKiB(packed), "\(packed.err)")
        // One delta's context (the largest), the four mapped builds, zstd's 1 MiB chunk, slack.
        let context = pb_zstd_context_bytes(size + 64, size + 64, 19)
        #expect(context > 24 << 20, "the level-19 context estimate is \(context) bytes")
        let budgetKiB = base + context / 1024 + 4 * size / 1024 + 8 * 1024
        #expect(peak <= budgetKiB, "packing peaked at \(peak) KiB, over start-up \(base) KiB + one context \(context / 1024) KiB + builds + 8 MiB")
    }
}
