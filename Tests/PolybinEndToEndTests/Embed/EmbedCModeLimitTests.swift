import Foundation
import Testing
import PolybinTestSupport

/// Issue 9, item 5: the C modes put the payload in .rodata, which a program of the small code
/// model cannot reach past 2 GiB; a larger payload is refused with one line pointing to
/// --mode object (whose payload is a large section), before anything is written.
@Suite struct EmbedCModeLimitTests {
    @Test(arguments: ["c", "c-incbin", "c-embed"])
    func payloadsPast2GiBAreRefusedInTheCModes(mode: String) throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        // Sparse: no disk and no time to make; the refusal comes from its size alone.
        let big = input.appendingPathComponent("big.bin")
        #expect(FileManager.default.createFile(atPath: big.path, contents: nil))
        let handle = try FileHandle(forWritingTo: big)
        try handle.truncate(atOffset: (2 << 30) + 1)
        try handle.close()
        let output = dir.appendingPathComponent("out.c")
        let result = try run(TestEnvironment.polybin, ["embed", "--name", "big", "--mode", mode, "-o", output.path, input.path])
        #expect(result.status == 1)
        let lines = result.err.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("polybin: \(output.path): the files come to ") && lines[0].hasSuffix("use --mode object, whose payload is a large section"), "\(result.err)")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(left == ["in"], "written despite the refusal: \(left)")
    }
}
