import Foundation
import Testing
import PolybinTestSupport
@testable import PolybinKit

/// `polybin audit` as users run it: one line and exit 1 for anything it cannot audit, the
/// builds inside a fatbin each audited against their label, JSON that parses.
@Suite struct AuditCommandTests {
    @Test func anyOtherFileGetsOneLineAndExit1() throws {
        let dir = try TestEnvironment.temporaryDirectory("audit-bad")
        func file(_ name: String, _ bytes: [UInt8]) throws -> String {
            let url = dir.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            return url.path
        }
        let ls = try Array(Data(contentsOf: URL(fileURLWithPath: "/usr/bin/ls")))
        var class32 = ls; class32[4] = 1
        var bigEndian = ls; bigEndian[5] = 2
        var lyingSections = ls; lyingSections[0x28] = 0xf0; lyingSections[0x2f] = 0x7f  // e_shoff far past the end
        let fifo = dir.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let cases: [(path: String, says: String)] = [
            (try file("text", Array("hello\n".utf8)), "not an ELF file"),
            (try file("empty", []), "not an ELF file"),
            (try file("32bit", class32), "32-bit"),
            (try file("big", bigEndian), "big-endian"),
            (try file("short", Array(ls.prefix(40))), "not an ELF file"),
            (try file("cut", Array(ls.prefix(ls.count / 3))), "damaged ELF file"),
            (try file("lying", lyingSections), "damaged ELF file"),
            (try file("object.o", try Array(Data(contentsOf: URL(fileURLWithPath: try Self.object(dir))))), "relocatable object"),
            (dir.path, "is a directory"),
            (fifo, "not a regular file"),
            (dir.appendingPathComponent("absent").path, "no such file"),
        ]
        for (path, says) in cases {
            let result = try run(TestEnvironment.polybin, ["audit", path])
            let lines = result.err.split(separator: "\n")
            #expect(result.status == 1 && lines.count == 1 && lines[0].hasPrefix("polybin: \(path): ") && lines[0].contains(says),
                    "\(path): \(result.status) \(result.err)")
            #expect(result.out.isEmpty, "\(path): \(result.out)")
        }
        // Good and bad files together: the good ones are reported, the status says some failed.
        let mixed = try run(TestEnvironment.polybin, ["audit", "--no-cpu", "/usr/bin/ls", cases[0].path])
        #expect(mixed.status == 1 && mixed.out.hasPrefix("/usr/bin/ls: x86-64") && mixed.err.split(separator: "\n").count == 1)
    }

    /// The ELF reader's fuzz regressions (lying sizes, loops, offsets past the end): each is
    /// reported or refused in one line, never a crash or an allocation its sizes ask for.
    @Test func theElfFuzzRegressionsAreReportedOrRefusedInOneLine() throws {
        let dir = TestEnvironment.root.appendingPathComponent("Tests/Fuzz/regressions/elf")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(files.count > 10)
        for name in files {
            let path = dir.appendingPathComponent(name).path
            let result = try run(TestEnvironment.polybin, ["audit", path])
            #expect(!result.signaled && (result.status == 0 || result.status == 1), "\(name): \(result.status) \(result.err)")
            if result.status == 1 {
                #expect(result.err.split(separator: "\n").count == 1 && result.err.hasPrefix("polybin: \(path): "), "\(name): \(result.err)")
            }
        }
    }

    static func object(_ dir: URL) throws -> String {
        let c = dir.appendingPathComponent("o.c"), o = dir.appendingPathComponent("o.o")
        try "int f(int x) { return x + 1; }\n".write(to: c, atomically: true, encoding: .utf8)
        try mustRun("gcc", ["-c", "-o", o.path, c.path])
        return o.path
    }

    /// A fatbin's builds are each audited; a v3 build labelled x86-64 is named above its label.
    @Test func fatbinBuildsAreAuditedAgainstTheirLabels() throws {
        try InstructionFixtures.requireZydis()
        let baseline = try AuditCPUTests.build("fb-base", AuditCPUTests.kernel, ["-march=x86-64"])
        let v3 = try AuditCPUTests.build("fb-v3", AuditCPUTests.kernel, ["-march=x86-64-v3"])
        let dir = try TestEnvironment.temporaryDirectory("audit-fatbin")
        let good = dir.appendingPathComponent("good").path, mislabeled = dir.appendingPathComponent("mislabeled").path
        try mustRun(TestEnvironment.polybin, ["build", "--flavor", "x86-64=\(baseline)", "--flavor", "x86-64-v3=\(v3)", "-o", good,
                                              "--runner", TestEnvironment.runnerArchive])
        try mustRun(TestEnvironment.polybin, ["build", "--flavor", "x86-64=\(v3)", "-o", mislabeled, "--runner", TestEnvironment.runnerArchive])
        let result = try mustRun(TestEnvironment.polybin, ["audit", "--json", good, mislabeled])
        let reports = try JSONDecoder().decode([AuditReport].self, from: result.stdout)
        #expect(reports.map(\.kind) == ["fatbin", "fatbin"])
        #expect(reports[0].builds.map(\.flavor) == ["x86-64", "x86-64-v3"])
        #expect(reports[0].builds.map { $0.cpu?.needs } == ["x86-64", "x86-64-v3"])
        #expect(reports[0].builds.allSatisfy { $0.above_declared == nil })
        #expect(reports[0].builds.map(\.declared) == ["x86-64", "x86-64-v3"], "a level's own features are not listed again")
        let wrong = try #require(reports[1].builds.first)
        #expect(wrong.declared == "x86-64" && wrong.above_declared?.contains("x86-64-v3") == true, "\(wrong.above_declared ?? "nil")")
        let text = try mustRun(TestEnvironment.polybin, ["audit", mislabeled]).out
        #expect(text.contains("ABOVE ITS LABEL: declared x86-64, its own code needs x86-64-v3"), "\(text)")
    }
}
