import Foundation
import Testing
import PolybinTestSupport

/// Older CPUs through qemu-user. qemu does not follow exec, so the runner's decision is
/// checked in explain mode, and each build is run on its own under its weakest CPU.
@Suite struct CPUMatrixTests {
    static let matrix: [(cpu: String, level: String)] = [
        ("qemu64", "x86-64"), ("Nehalem", "x86-64-v2"), ("Westmere", "x86-64-v2"), ("Haswell", "x86-64-v3"),
    ]

    static func requireQemu() throws {
        guard TestEnvironment.require("qemu-x86_64", install: "apt-get install qemu-user (tools/test installs it)") else {
            throw FixtureError("no qemu-x86_64")
        }
    }

    @Test(arguments: matrix.map(\.cpu))
    func decisionUnderQemuMatchesTheLoadersLevel(cpu: String) throws {
        try Self.requireQemu()
        let demo = try DemoFixture.get()
        let oracle = try loaderLevel(qemuCPU: cpu)
        #expect(oracle == Self.matrix.first { $0.cpu == cpu }!.level, "ld.so under -cpu \(cpu) says \(oracle)")
        let result = try run("qemu-x86_64", ["-cpu", cpu, demo.fatbin], environment: ["POLYBIN_EXPLAIN": "1"])
        #expect(result.status == 0)
        #expect(selectedFlavor(result.out) == oracle)
    }

    @Test func nativeDecisionMatchesTheLoadersLevel() throws {
        let demo = try DemoFixture.get()
        let result = try run(demo.fatbin, environment: ["POLYBIN_EXPLAIN": "1"])
        #expect(selectedFlavor(result.out) == (try loaderLevel()))
    }

    @Test func nehalemWithOnlyBaselineAndV3GetsBaseline() throws {
        try Self.requireQemu()
        let demo = try DemoFixture.get()
        let out = demo.dir.appendingPathComponent("v1-v3").path
        try DemoFixture.buildFatbin(out, flavors: ["x86-64=\(demo.builds["x86-64"]!)", "x86-64-v3=\(demo.builds["x86-64-v3"]!)"])
        let result = try run("qemu-x86_64", ["-cpu", "Nehalem", out], environment: ["POLYBIN_EXPLAIN": "1"])
        #expect(selectedFlavor(result.out) == "x86-64")
        #expect(result.out.contains("flavor x86-64-v3: level x86-64-v3, lacks avx avx2 bmi1 bmi2 f16c fma lzcnt movbe xsave"))
    }

    @Test(arguments: [("x86-64", "qemu64"), ("x86-64-v2", "Nehalem"), ("x86-64-v3", "Haswell")])
    func eachBuildRunsOnItsWeakestCPU(level: String, cpu: String) throws {
        try Self.requireQemu()
        let demo = try DemoFixture.get()
        let result = try run("qemu-x86_64", ["-cpu", cpu, demo.builds[level]!])
        #expect(!result.signaled, "\(level) died by signal \(result.status) under \(cpu)")
        #expect(result.status == 0)
        #expect(result.out.hasPrefix("fatbin-demo compiled for \(level),"))
    }

    @Test func v4BuildRunsNativelyWhenTheHostHasAVX512() throws {
        let demo = try DemoFixture.get()
        guard try loaderLevel() == "x86-64-v4" else {
            // Without AVX-512 here the v4 build must not be chosen; that is what we can check.
            let result = try run(demo.fatbin, ["--level"])
            #expect(result.out != "x86-64-v4\n")
            return
        }
        let result = try run(demo.builds["x86-64-v4"]!, ["--level"])
        #expect(result.out == "x86-64-v4\n")
    }

    @Test func forcingAFlavorTheCPULacksIsRefused() throws {
        try Self.requireQemu()
        let demo = try DemoFixture.get()
        let result = try run("qemu-x86_64", ["-cpu", "Haswell", demo.fatbin], environment: ["POLYBIN_FLAVOR": "x86-64-v4"])
        #expect(result.status == 122)
        #expect(withoutQemuWarnings(result.err) == "polybin: POLYBIN_FLAVOR=x86-64-v4: this CPU lacks avx512f avx512bw avx512cd avx512dq avx512vl\n")
        #expect(result.stdout.isEmpty)
    }

    @Test func noUsableFlavorExitsWithItsCode() throws {
        try Self.requireQemu()
        let demo = try DemoFixture.get()
        let out = demo.dir.appendingPathComponent("v3-only").path
        try DemoFixture.buildFatbin(out, flavors: ["x86-64-v3=\(demo.builds["x86-64-v3"]!)"])
        let result = try run("qemu-x86_64", ["-cpu", "Nehalem", out])
        #expect(result.status == 122)
        #expect(withoutQemuWarnings(result.err).hasPrefix("polybin: no build in this fatbin runs on this CPU (x86-64-v2)"))
        let explain = try run("qemu-x86_64", ["-cpu", "Nehalem", out], environment: ["POLYBIN_EXPLAIN": "1"])
        #expect(explain.status == 122)
        #expect(selectedFlavor(explain.out) == "none")
    }
}

/// qemu warns on stderr about CPUID bits TCG cannot emulate; those lines are not the runner's.
func withoutQemuWarnings(_ stderr: String) -> String {
    stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("qemu-x86_64: warning") }
        .joined(separator: "\n")
}
