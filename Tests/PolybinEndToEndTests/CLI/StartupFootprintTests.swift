import Foundation
import Testing
import PolybinTestSupport

/// Issue 9 §1 (peak RSS no higher than the zstd CLI's): the polybin CLI loads the Swift
/// runtime and FoundationEssentials (through swift-argument-parser), never full Foundation
/// with its ICU data, which alone cost ~6 MiB of RSS at start-up (docs/packing.md).
@Suite struct StartupFootprintTests {
    @Test func polybinDoesNotLinkFoundationOrICU() throws {
        let dynamic = try run("readelf", ["-d", "-W", TestEnvironment.polybin])
        #expect(dynamic.status == 0, "readelf: \(dynamic.err)")
        let needed = dynamic.out.split(separator: "\n").filter { $0.contains("(NEEDED)") }
        #expect(needed.contains { $0.contains("libswiftCore.so") }, "not the dynamic release build? \(dynamic.out)")
        let heavy = needed.filter {
            $0.contains("[libFoundation.so") || $0.contains("libFoundationInternationalization") || $0.contains("ICU")
        }
        #expect(heavy.isEmpty, "polybin links full Foundation: \(heavy.joined(separator: "\n"))")
    }

    /// CC set but empty means the default compiler, as when it is unset (Environment.value).
    @Test func anEmptyCCMeansTheDefaultCompiler() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-cc")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("hello\n".utf8).write(to: dir.appendingPathComponent("a.txt"))
        let empty = try run(TestEnvironment.polybin, ["embed", "--name", "files", "-o", "files.o", "a.txt"], environment: ["CC": ""], cwd: dir)
        #expect(empty.status == 0, "\(empty.err)")
        let missing = try run(TestEnvironment.polybin, ["embed", "--name", "files", "-o", "files2.o", "a.txt"],
                              environment: ["CC": "/nonexistent/polybin-cc"], cwd: dir)
        #expect(missing.status != 0 && missing.err.contains("/nonexistent/polybin-cc"), "\(missing.status) \(missing.err)")
    }
}
