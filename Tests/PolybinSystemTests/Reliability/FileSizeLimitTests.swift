import Foundation
import PolybinKit
import Testing
import PolybinTestSupport

/// `ulimit -f` (RLIMIT_FSIZE) below an output's size: every verb says so in one `polybin:`
/// line naming its output and exits 1, instead of dying of SIGXFSZ with its temporary output
/// (or its scratch directory) left behind.
@Suite struct FileSizeLimitTests {
    static let verbs: [(name: String, arguments: [String])] = [
        ("embed object", ["embed", "--name", "big", "-o", "out", "big.bin"]),
        ("embed c", ["embed", "--name", "big", "--mode", "c", "-o", "out", "big.bin"]),
        ("pack", ["pack", "--level", "1", "--flavor", "x86-64=big.bin", "-o", "out"]),
        ("build", ["build", "--level", "1", "--flavor", "x86-64=big.bin", "-o", "out"]),
    ]

    @Test(arguments: verbs.map(\.name))
    func aWritePastTheLimitIsOneLineAndLeavesNothing(verb: String) throws {
        let arguments = try #require(Self.verbs.first { $0.name == verb }).arguments
        // 3 MiB that no codec shrinks, after a real program (pack and build take an executable).
        let (dir, work, tmp) = try ReliabilityFixtures.noisyBuild("fsize", named: "big.bin", noise: 3 << 20)
        defer { try? FileManager.default.removeItem(at: dir) }
        // 1000 blocks of 512 bytes: the input is readable, no output fits.
        let command = "ulimit -f 1000 && exec \"$0\" \"$@\""
        let result = try run("/bin/sh", ["-c", command, TestEnvironment.polybin] + arguments,
                             environment: ["TMPDIR": tmp.path], cwd: work)
        #expect(!result.signaled && result.status == 1, "\(verb): \(result)")
        let lines = result.err.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("polybin: out: ") && lines[0].hasSuffix("File too large (the file size limit, ulimit -f of 512000 bytes)"),
                "\(verb): \(result.err)")
        let left = (try FileManager.default.contentsOfDirectory(atPath: work.path)).sorted()
        #expect(left == ["big.bin"], "\(verb) left \(left)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).isEmpty, "\(verb) left its scratch files")
    }
}
