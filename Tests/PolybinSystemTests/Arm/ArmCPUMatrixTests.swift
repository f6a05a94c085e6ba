import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// Emulated Arm CPUs through qemu-aarch64. The expected level of each model comes from the
/// HWCAPs a program sees under that model, never from a table alone; qemu-aarch64 run by
/// hand does not follow exec, so the decision is checked in explain mode and each build is
/// run on its own.
@Suite struct ArmCPUMatrixTests {
    static let models = ["cortex-a53", "cortex-a76", "neoverse-n1", "a64fx", "max"]

    static func selected(_ out: String) -> String? {
        out.split(separator: "\n").last { $0.hasPrefix("selected: ") }.map { String($0.dropFirst("selected: ".count)) }
    }

    @Test(arguments: models)
    func decisionUnderQemuMatchesTheModelsHWCAPs(model: String) throws {
        let arm = try ArmFixture.get()
        let cpu = try arm.hwcaps(model: model)
        let result = try run("qemu-aarch64", ["-cpu", model, arm.fatbin], environment: ["POLYBIN_EXPLAIN": "1"])
        #expect(result.status == 0, "\(result.err)")
        #expect(Self.selected(result.out) == cpu.levelName, "\(model): HWCAPs give \(cpu.levelName)")
        // polybin explain, told the same HWCAPs on this x86-64 machine, prints the same table.
        let words = try run("qemu-aarch64", ["-cpu", model, arm.hwcaps]).out.split(separator: "\n").map { String($0.split(separator: " ")[1]) }
        let explain = try run(TestEnvironment.polybin, ["explain", arm.fatbin, "--hwcap", words[0], "--hwcap2", words[1]])
        #expect(explain.out == result.out)
    }

    @Test func weakestModelsHaveTheirLevelsAndStrongerBuildsAreRefused() throws {
        let arm = try ArmFixture.get()
        for (level, model) in ArmFixture.weakestModel {
            #expect(try arm.hwcaps(model: model).level >= Level.parse(Substring(level), arch: .aarch64)!)
        }
        // a64fx has SVE but not dotprod: the baseline, never an SVE build without the rest.
        #expect(try arm.hwcaps(model: "a64fx").names.contains("sve"))
        let result = try run("qemu-aarch64", ["-cpu", "a64fx", arm.fatbin], environment: ["POLYBIN_EXPLAIN": "1"])
        #expect(Self.selected(result.out) == "armv8-a")
        #expect(result.out.contains("flavor armv8.2-a+dotprod+fp16: level armv8.2-a+dotprod+fp16, lacks dotprod\n"))
    }

    @Test func eachBuildRunsOnItsWeakestModelWithoutSIGILL() throws {
        let arm = try ArmFixture.get()
        var sums: Set<String> = []
        for level in ArmFixture.levels {
            let extracted = arm.dir.appendingPathComponent("extracted-\(level)").path
            try #require(try run(TestEnvironment.polybin, ["extract", arm.fatbin, "--flavor", level, "-o", extracted]).status == 0)
            let model = ArmFixture.weakestModel[level]!
            let probe = try run("qemu-aarch64", ["-cpu", model, extracted, "level"])
            #expect(!probe.signaled && probe.status == 0, "\(level) under \(model): \(probe.status) \(probe.err)")
            #expect(probe.out == "\(level)\n")
            let kernel = try run("qemu-aarch64", ["-cpu", model, extracted, "kernel", "20"])
            #expect(!kernel.signaled && kernel.status == 0, "\(level) kernel under \(model)")
            sums.insert(kernel.out)
        }
        #expect(sums.count == 1, "every build computes the same result: \(sums)")
        // The test can fail: the SVE build's kernel is SVE code, which a Neoverse N1 lacks.
        let sve = try run("qemu-aarch64", ["-cpu", "neoverse-n1", arm.builds["armv8.4-a+sve"]!, "kernel", "20"])
        #expect(sve.signaled && sve.status == SIGILL)
    }

    @Test func onlyBaselineAndSVEBuiltGivesNeoverseN1TheBaseline() throws {
        let arm = try ArmFixture.get()
        let out = arm.dir.appendingPathComponent("v1-sve").path
        try ArmFixture.build(out, flavors: ["armv8-a=\(arm.builds["armv8-a"]!)", "armv8.4-a+sve=\(arm.builds["armv8.4-a+sve"]!)"])
        let result = try run("qemu-aarch64", ["-cpu", "neoverse-n1", out], environment: ["POLYBIN_EXPLAIN": "1"])
        #expect(Self.selected(result.out) == "armv8-a")
    }

    @Test func forcedFlavorTheCPULacksIsRefusedWith122() throws {
        let arm = try ArmFixture.get()
        let result = try run("qemu-aarch64", ["-cpu", "cortex-a53", arm.fatbin], environment: ["POLYBIN_FLAVOR": "armv9-a+sve2"])
        #expect(result.status == 122)
        #expect(result.err.hasPrefix("polybin: POLYBIN_FLAVOR=armv9-a+sve2: this CPU lacks lse rdma fp16 dotprod "))
        #expect(result.err.filter { $0 == "\n" }.count == 1)
    }

    @Test func aarch64RunnerAddsUnderOneMiBAndIsStatic() throws {
        let arm = try ArmFixture.get()
        let report = try Fatbin.inspect(LoadedBundle(path: arm.fatbin))
        #expect(report.arch == "aarch64")
        let runner = report.file_size - report.bundle_size
        #expect(runner <= 1 << 20, "aarch64 runner adds \(runner) bytes")
        let file = try run("file", [arm.fatbin]).out
        #expect(file.contains("ARM aarch64") && file.contains("statically linked"), "\(file)")
        let headers = try run("aarch64-linux-gnu-readelf", ["-lW", arm.fatbin]).out
        #expect(headers.contains("GNU_STACK") && !headers.contains("RWE"))
    }

    @Test func packingRefusesAMixOfArchitectures() throws {
        let arm = try ArmFixture.get()
        let demo = try DemoFixture.get()
        let out = arm.dir.appendingPathComponent("mixed").path
        let result = try run(TestEnvironment.polybin, ["build", "-o", out, "--flavor", "x86-64=\(demo.builds["x86-64"]!)",
                                                        "--flavor", "armv8-a=\(arm.builds["armv8-a"]!)"])
        #expect(result.status == 1)
        #expect(result.err == "polybin: \(arm.builds["armv8-a"]!): an aarch64 build, but \(demo.builds["x86-64"]!) is x86-64: a fatbin holds builds of one architecture\n")
        #expect(!FileManager.default.fileExists(atPath: out))
        let level = try run(TestEnvironment.polybin, ["build", "-o", out, "--flavor", "x86-64-v3=\(arm.builds["armv8-a"]!)"])
        #expect(level.err == "polybin: \(arm.builds["armv8-a"]!): flavor x86-64-v3 is an x86-64 level but the build is an aarch64 ELF executable\n")
        // A feature list is read in the build's architecture: 'aes' is Arm's here.
        let aes = arm.dir.appendingPathComponent("aes").path
        try ArmFixture.build(aes, flavors: ["crypto:aes=\(arm.builds["armv8-a"]!)"])
        let inspect = try run(TestEnvironment.polybin, ["inspect", aes, "--json"]).out
        #expect(inspect.contains("\"arch\" : \"aarch64\""))
    }
}

/// Integrations/polybin.mk with POLYBIN_ARCH=aarch64: the four Arm levels cross-built and
/// packed on this machine.
@Suite struct ArmMakeTests {
    @Test func polybinMkBuildsTheArmLevels() throws {
        try ArmFixture.require(ArmFixture.gcc)
        let dir = try TestEnvironment.temporaryDirectory("polybin-arm-make")
        defer { try? FileManager.default.removeItem(at: dir) }
        let demo = TestEnvironment.root.appendingPathComponent("Examples/fatbin-demo")
        let make = try run("make", ["-C", demo.path, "POLYBIN_ARCH=aarch64", "POLYBIN_BUILDDIR=\(dir.path)", "POLYBIN_ZSTD_LEVEL=3",
                                    "POLYBIN=\(TestEnvironment.polybin)"])
        try #require(make.status == 0, "\(make.err)")
        let fatbin = dir.appendingPathComponent("fatbin-demo").path
        let report = try Fatbin.inspect(LoadedBundle(path: fatbin))
        #expect(report.arch == "aarch64")
        #expect((report.flavors ?? []).map(\.name).sorted() == Architecture.aarch64.levelNames.sorted())
        let result = try run("qemu-aarch64", ["-cpu", "neoverse-n1", fatbin], environment: ["POLYBIN_EXPLAIN": "1"])
        #expect(result.out.hasSuffix("selected: armv8.2-a+dotprod+fp16\n"))
        let bad = try run("make", ["-C", demo.path, "POLYBIN_ARCH=sparc", "POLYBIN_BUILDDIR=\(dir.path)"])
        #expect(bad.status != 0 && bad.err.contains("POLYBIN_ARCH=sparc: use x86-64 or aarch64"))
    }
}
