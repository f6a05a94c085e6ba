import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// Every bad input gets one `polybin:` line naming the file and the problem, a non-zero exit,
/// and no output file.
@Suite struct BadInputTests {
    func build(_ flavors: [String], in dir: URL) throws -> ProcessResult {
        try run(TestEnvironment.polybin, ["build", "-o", dir.appendingPathComponent("app").path,
                                          "--runner", TestEnvironment.runnerArchive] + flavors.flatMap { ["--flavor", $0] })
    }

    func expectRefused(_ flavors: [String], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try build(flavors.map { $0.replacingOccurrences(of: "DIR", with: dir.path) }, in: dir)
        #expect(result.status == 1, sourceLocation: sourceLocation)
        #expect(result.err == message.replacingOccurrences(of: "DIR", with: dir.path) + "\n", sourceLocation: sourceLocation)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "left files behind", sourceLocation: sourceLocation)
    }

    @Test func missingFile() throws {
        try expectRefused(["x86-64=DIR/nope"], "polybin: DIR/nope: no such file")
    }

    @Test func flavorThatIsNotAnELFExecutable() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = dir.appendingPathComponent("script.sh")
        try Data("#!/bin/sh\necho hi\n".utf8).write(to: text)
        let result = try build(["x86-64-v3=\(text.path)"], in: dir)
        #expect(result.status == 1)
        #expect(result.err == "polybin: \(text.path): flavor x86-64-v3 is not an x86-64 ELF executable (no ELF header)\n")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("app").path))
    }

    @Test func objectFileIsNotAProgram() throws {
        let demo = try DemoFixture.get()
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let object = dir.appendingPathComponent("level.o").path
        _ = try run("cc", ["-c", TestEnvironment.root.appendingPathComponent("Examples/fatbin-demo/level.c").path, "-o", object])
        let result = try build(["x86-64=\(demo.builds["x86-64"]!)", "x86-64-v2=\(object)"], in: dir)
        #expect(result.status == 1)
        #expect(result.err == "polybin: \(object): flavor x86-64-v2 is not an x86-64 ELF executable (an object file or shared library, not a program)\n")
    }

    @Test func unknownFeatureName() throws {
        let demo = try DemoFixture.get()
        try expectRefused(["fast:avx2,avx3=\(demo.builds["x86-64-v3"]!)"],
                          "polybin: --flavor fast:avx2,avx3=\(demo.builds["x86-64-v3"]!): unknown CPU feature 'avx3' (known: cx16, lahf, popcnt, sse3, ssse3, sse4.1, sse4.2, avx, avx2, bmi1, bmi2, f16c, fma, lzcnt, movbe, xsave, avx512f, avx512bw, avx512cd, avx512dq, avx512vl, aes, pclmul, sha, vaes, vpclmulqdq, gfni, avx512vnni, avx512vbmi, avx512vbmi2, avx512bitalg, avx512vpopcntdq, avx512ifma, avx512bf16, avx512fp16, avxvnni, adx, rdrnd, rdseed, clflushopt, clwb, prefetchw, xsaveopt, xsavec, fsgsbase, sse4a)")
    }

    @Test func unknownLevelName() throws {
        let demo = try DemoFixture.get()
        let path = demo.builds["x86-64-v3"]!
        try expectRefused(["x86-64-v5=\(path)"],
                          "polybin: --flavor x86-64-v5=\(path): unknown level 'x86-64-v5' (levels: x86-64, x86-64-v2, x86-64-v3, x86-64-v4; armv8-a, armv8.2-a+dotprod+fp16, armv8.4-a+sve, armv9-a+sve2; or NAME:FEATURES=PATH)")
    }

    @Test func twoFlavorsWithTheSameName() throws {
        let demo = try DemoFixture.get()
        let a = demo.builds["x86-64"]!, b = demo.builds["x86-64-v2"]!
        try expectRefused(["x86-64=\(a)", "x86-64=\(b)"], "polybin: two flavors are named x86-64 (\(a) and \(b))")
    }

    @Test func noFlavors() throws {
        try expectRefused([], "polybin: no flavors given: pass at least one --flavor LEVEL=PATH")
    }

    @Test func explicitFeatureFlavorIsRankedByItsLevel() throws {
        let demo = try DemoFixture.get()
        let out = demo.dir.appendingPathComponent("custom").path
        try DemoFixture.buildFatbin(out, flavors: ["x86-64=\(demo.builds["x86-64"]!)",
                                                   "fast:avx2,fma,bmi2=\(demo.builds["x86-64-v3"]!)"])
        let explain = try run(out, environment: ["POLYBIN_EXPLAIN": "1"])
        #expect(explain.out.contains("flavor fast: level x86-64, usable"))
        // avx2+fma+bmi2 is still level 1 by the psABI, but declares more features: it wins on a v3 host.
        #expect(selectedFlavor(explain.out) == "fast")
    }

    @Test func truncatedFatbinFailsAsCorruptPayload() throws {
        let demo = try DemoFixture.get()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: demo.fatbin))
        let bundle = try LoadedBundle(path: demo.fatbin)
        let start = bundle.offsetInFile, size = Int(bundle.byteCount)
        for cut in [start + 100, start + size / 2, start + size - 1] {
            let path = demo.dir.appendingPathComponent("truncated-\(cut)").path
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
            let result = try run(path)
            #expect(result.status == 121, "truncated at \(cut): \(result.err)")
            #expect(result.err.hasPrefix("polybin: corrupt payload: "))
            #expect(result.stdout.isEmpty)
        }
    }

    @Test func corruptedBuildIsNeverRun() throws {
        let demo = try DemoFixture.get()
        let pristine = [UInt8](try Data(contentsOf: URL(fileURLWithPath: demo.fatbin)))
        let bundle = try LoadedBundle(path: demo.fatbin)
        var path = ""
        var checked = 0
        // One byte flipped inside each build this CPU can run, and that very build forced.
        for entry in bundle.entries where entry.features.subtracting(.host).bits == 0 {
            var bytes = pristine
            bytes[bundle.offsetInFile + entry.storedOffset + Int(entry.storedSize) / 2] ^= 0x55
            path = demo.dir.appendingPathComponent("corrupt-\(entry.name)").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
            let result = try run(path, ["--level"], environment: ["POLYBIN_FLAVOR": entry.name, "POLYBIN_EXEC": "memfd"])
            #expect(result.stdout.isEmpty, "\(entry.name): the corrupted build ran")
            #expect(result.status == 121, "\(entry.name): \(result.err)")
            #expect(result.err.hasPrefix("polybin: corrupt payload: \(entry.name): "), "\(result.err)")
            checked += 1
        }
        #expect(checked >= 3, "only \(checked) builds usable here")
        let metadata = try run(TestEnvironment.polybin, ["inspect", path])
        #expect(metadata.status == 0)
    }
}
