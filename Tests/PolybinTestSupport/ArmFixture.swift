import Foundation
import Testing
@testable import PolybinKit

/// Tests/Fixtures/arm-probe.c cross-compiled at the four aarch64 levels and packed on this
/// x86-64 machine into one aarch64 fatbin, once per test run.
package final class ArmFixture: @unchecked Sendable {
    package static let gcc = "aarch64-linux-gnu-gcc"
    package static let levels = Architecture.aarch64.levelNames
    /// The weakest qemu 7.2 model that has each level (from its HWCAPs; checked by a test).
    package static let weakestModel = ["armv8-a": "cortex-a53", "armv8.2-a+dotprod+fp16": "cortex-a76",
                               "armv8.4-a+sve": "max", "armv9-a+sve2": "max"]

    package let dir: URL
    package var builds: [String: String] = [:]
    package let fatbin: String
    package let hwcaps: String

    package static func get() throws -> ArmFixture { try BuildOnce.value("ArmFixture") { try ArmFixture() } }

    package static func require(_ tool: String) throws {
        guard TestEnvironment.require(tool, install: "tools/bootstrap installs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, libzstd-dev:arm64 and qemu-user") else {
            throw FixtureError("no \(tool)")
        }
    }

    private init() throws {
        try Self.require(Self.gcc)
        try Self.require("qemu-aarch64")
        dir = try TestEnvironment.temporaryDirectory("polybin-arm")
        let fixtures = TestEnvironment.root.appendingPathComponent("Tests/Fixtures")
        for level in Self.levels {
            let out = dir.appendingPathComponent("probe-\(level)").path
            let result = try run(Self.gcc, ["-static", "-O3", "-march=\(level)", "-DLEVEL=\"\(level)\"", "-o", out,
                                            fixtures.appendingPathComponent("arm-probe.c").path])
            guard result.status == 0 else { throw FixtureError("compiling arm-probe.c for \(level): \(result.err)") }
            builds[level] = out
        }
        hwcaps = dir.appendingPathComponent("hwcaps").path
        let result = try run(Self.gcc, ["-static", "-O2", "-o", hwcaps, fixtures.appendingPathComponent("hwcaps.c").path])
        guard result.status == 0 else { throw FixtureError("compiling hwcaps.c: \(result.err)") }
        fatbin = dir.appendingPathComponent("probe-fatbin").path
        try Self.build(fatbin, flavors: Self.levels.map { "\($0)=\(builds[$0]!)" })
    }

    package static func build(_ output: String, flavors: [String]) throws {
        let result = try run(TestEnvironment.polybin, ["build", "-o", output, "--level", "3"] + flavors.flatMap { ["--flavor", $0] })
        guard result.status == 0 else { throw FixtureError("polybin build \(output): \(result.err)") }
    }

    /// getauxval(AT_HWCAP) and (AT_HWCAP2) as qemu-aarch64 -cpu MODEL reports them.
    package func hwcaps(model: String) throws -> FeatureSet {
        let result = try run("qemu-aarch64", ["-cpu", model, hwcaps])
        var words: [String: UInt64] = [:]
        for line in result.out.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = UInt64(parts[1].dropFirst(2), radix: 16) { words[String(parts[0])] = value }
        }
        guard let hwcap = words["AT_HWCAP:"], let hwcap2 = words["AT_HWCAP2:"] else {
            throw FixtureError("hwcaps under -cpu \(model) printed \(result.out)")
        }
        return .aarch64(hwcap: hwcap, hwcap2: hwcap2)
    }
}
