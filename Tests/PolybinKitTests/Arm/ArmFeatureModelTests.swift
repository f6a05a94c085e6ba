import CPolybin
import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// Linux's aarch64 HWCAP words for one CPU, replayed through the pure level function
/// (uapi <asm/hwcap.h> bit numbers; Documentation/arch/arm64/elf_hwcaps.rst).
struct RecordedHWCAP {
    var hwcap: UInt64 = 0
    var hwcap2: UInt64 = 0

    static let fp: UInt64 = 1 << 0, asimd: UInt64 = 1 << 1, aes: UInt64 = 1 << 3, pmull: UInt64 = 1 << 4
    static let sha1: UInt64 = 1 << 5, sha2: UInt64 = 1 << 6, crc32: UInt64 = 1 << 7, atomics: UInt64 = 1 << 8
    static let fphp: UInt64 = 1 << 9, asimdhp: UInt64 = 1 << 10, cpuid: UInt64 = 1 << 11, asimdrdm: UInt64 = 1 << 12
    static let jscvt: UInt64 = 1 << 13, fcma: UInt64 = 1 << 14, lrcpc: UInt64 = 1 << 15, dcpop: UInt64 = 1 << 16
    static let asimddp: UInt64 = 1 << 20, sve: UInt64 = 1 << 22, asimdfhm: UInt64 = 1 << 23
    static let flagm: UInt64 = 1 << 27, ssbs: UInt64 = 1 << 28, sb: UInt64 = 1 << 29, paca: UInt64 = 1 << 30, pacg: UInt64 = 1 << 31
    static let sve2: UInt64 = 1 << 1, frint: UInt64 = 1 << 8, svei8mm: UInt64 = 1 << 9, svebf16: UInt64 = 1 << 12
    static let i8mm: UInt64 = 1 << 13, bf16: UInt64 = 1 << 14

    /// Cortex-A53 (Armv8.0 with the crypto extension), as the kernel reports it.
    static var cortexA53: RecordedHWCAP { RecordedHWCAP(hwcap: fp | asimd | aes | pmull | sha1 | sha2 | crc32 | cpuid) }

    /// Neoverse N1 (Armv8.2 with dotprod, fp16, rcpc).
    static var neoverseN1: RecordedHWCAP {
        var cpu = cortexA53
        cpu.hwcap |= atomics | fphp | asimdhp | asimdrdm | lrcpc | dcpop | asimddp | ssbs
        return cpu
    }

    /// Neoverse V1 (Armv8.4 with SVE, bf16, i8mm, pointer authentication).
    static var neoverseV1: RecordedHWCAP {
        var cpu = neoverseN1
        cpu.hwcap |= jscvt | fcma | sve | asimdfhm | flagm | paca | pacg
        cpu.hwcap2 = svei8mm | svebf16 | i8mm | bf16
        return cpu
    }

    /// Neoverse V2 (Armv9.0 with SVE2).
    static var neoverseV2: RecordedHWCAP {
        var cpu = neoverseV1
        cpu.hwcap |= sb
        cpu.hwcap2 |= sve2 | frint
        return cpu
    }

    var features: FeatureSet { .aarch64(hwcap: hwcap, hwcap2: hwcap2) }
}

@Suite struct ArmFeatureModelTests {
    @Test func serverGenerationsGetTheirLevels() {
        #expect(RecordedHWCAP.cortexA53.features.levelName == "armv8-a")
        #expect(RecordedHWCAP.neoverseN1.features.levelName == "armv8.2-a+dotprod+fp16")
        #expect(RecordedHWCAP.neoverseV1.features.levelName == "armv8.4-a+sve")
        #expect(RecordedHWCAP.neoverseV2.features.levelName == "armv9-a+sve2")
    }

    @Test func sveWithoutSVE2StaysBelowArmv9() {
        let features = RecordedHWCAP.neoverseV1.features
        #expect(features.names.contains("sve"))
        #expect(!features.names.contains("sve2"))
        #expect(features.level == 3)
    }

    @Test func sve2WithoutSVEIsBogusAndNotTrusted() {
        var cpu = RecordedHWCAP.neoverseV2
        cpu.hwcap &= ~RecordedHWCAP.sve
        let features = cpu.features
        #expect(!features.names.contains("sve"))
        #expect(!features.names.contains("sve2"))
        // The rest of the CPU is still judged: an Armv8.2 server with dotprod.
        #expect(features.level == 2)
    }

    @Test func halfPrecisionNeedsScalarAndVectorReports() {
        var cpu = RecordedHWCAP.neoverseN1
        cpu.hwcap &= ~RecordedHWCAP.asimdhp
        #expect(!cpu.features.names.contains("fp16"))
        #expect(cpu.features.level == 1)
        // SVE implies fp16 in GCC: without it SVE cannot be used either.
        var v1 = RecordedHWCAP.neoverseV1
        v1.hwcap &= ~RecordedHWCAP.fphp
        #expect(!v1.features.names.contains("sve"))
    }

    @Test func cryptoGroupsNeedEveryPart() {
        var cpu = RecordedHWCAP.cortexA53
        #expect(Set(cpu.features.names) == ["aes", "sha2", "crc"])
        cpu.hwcap &= ~RecordedHWCAP.pmull
        #expect(!cpu.features.names.contains("aes"))
    }

    @Test func sveFormsOfI8mmAndBf16AreRequiredWithSVE() {
        var cpu = RecordedHWCAP.neoverseV1
        cpu.hwcap2 &= ~RecordedHWCAP.svei8mm
        #expect(!cpu.features.names.contains("i8mm"))
        #expect(cpu.features.names.contains("bf16"))
        cpu.hwcap &= ~RecordedHWCAP.sve  // without SVE only the Advanced SIMD form matters
        #expect(cpu.features.names.contains("i8mm"))
    }

    @Test func noHWCAPsIsTheBaseline() {
        let features = FeatureSet.aarch64(hwcap: 0, hwcap2: 0)
        #expect(features.bits == 0)
        #expect(features.levelName == "armv8-a")
    }

    @Test func levelsAreCumulativeAndDocumented() {
        func adds(_ level: Int) -> Set<String> {
            Set(FeatureSet(level: level, arch: .aarch64).subtracting(FeatureSet(level: level - 1, arch: .aarch64)).names)
        }
        #expect(FeatureSet(level: 1, arch: .aarch64).names.isEmpty)
        #expect(adds(2) == ["crc", "lse", "rdma", "dotprod", "fp16"])
        #expect(adds(3) == ["pauth", "rcpc", "jscvt", "fcma", "flagm", "fp16fml", "sve"])
        #expect(adds(4) == ["sb", "frintts", "sve2"])
        #expect(Architecture.aarch64.levelNames == ["armv8-a", "armv8.2-a+dotprod+fp16", "armv8.4-a+sve", "armv9-a+sve2"])
    }

    /// GCC's own view of each level: every feature its predefined macros announce for that
    /// -march is one the level requires (ACLE __ARM_FEATURE_* names).
    @Test func levelsRequireWhatGCCEnablesForTheirMarch() throws {
        let gcc = "/usr/bin/aarch64-linux-gnu-gcc"
        try #require(FileManager.default.fileExists(atPath: gcc), "tools/bootstrap installs gcc-aarch64-linux-gnu")
        let macros: [String: String] = [
            "__ARM_FEATURE_CRC32": "crc", "__ARM_FEATURE_ATOMICS": "lse", "__ARM_FEATURE_QRDMX": "rdma",
            "__ARM_FEATURE_DOTPROD": "dotprod", "__ARM_FEATURE_FP16_SCALAR_ARITHMETIC": "fp16",
            "__ARM_FEATURE_FP16_VECTOR_ARITHMETIC": "fp16", "__ARM_FEATURE_COMPLEX": "fcma",
            "__ARM_FEATURE_JCVT": "jscvt", "__ARM_FEATURE_FP16_FML": "fp16fml", "__ARM_FEATURE_SVE": "sve",
            "__ARM_FEATURE_FRINT": "frintts", "__ARM_FEATURE_SVE2": "sve2",
        ]
        for level in 1...4 {
            let name = Level.name(level, arch: .aarch64)
            let result = try run(gcc, ["-march=\(name)", "-E", "-dM", "-x", "c", "/dev/null"])
            let announced = Set(result.out.split(separator: "\n").compactMap { line -> String? in
                let words = line.split(separator: " ")
                return words.count >= 2 ? macros[String(words[1])] : nil
            })
            let required = Set(FeatureSet(level: level, arch: .aarch64).names)
            #expect(announced.isSubset(of: required), "\(name): GCC enables \(announced.subtracting(required)) that the level does not require")
        }
    }

    @Test func featureNamesAreGCCSpellingsWithAliases() throws {
        let set = try FeatureSet(names: ["crc", "lse", "rcpc", "rdm", "dotprod", "fp16", "fhm", "sve", "sve2", "i8mm",
                                         "bf16", "sha3", "sm4", "aes", "sha2", "simd", "fp"], arch: .aarch64)
        #expect(Set(set.names) == ["crc", "lse", "rcpc", "rdma", "dotprod", "fp16", "fp16fml", "sve", "sve2", "i8mm",
                                   "bf16", "sha3", "sm4", "aes", "sha2"])
        #expect(try FeatureSet(names: ["crypto"], arch: .aarch64).names == ["aes", "sha2"])
        #expect(throws: PolybinError.self) { try FeatureSet(names: ["avx2"], arch: .aarch64) }
    }

    @Test func rankingIsByLevelThenFeatureCountAsOnX86() {
        let n1 = FeatureSet(level: 2, arch: .aarch64)
        let many = FeatureSet(bits: (try! FeatureSet(names: ["crc", "lse", "aes", "sha2", "sha3", "sm4", "i8mm", "bf16"], arch: .aarch64)).bits, arch: .aarch64)
        #expect(n1.rankCompare(many) > 0)
        #expect(FeatureSet(level: 3, arch: .aarch64).rankCompare(n1) > 0)
    }

    @Test func flavorsTakeTheirArchitectureFromLevelsAndFeatureLists() throws {
        let sve = try Flavor(parsing: "armv8.4-a+sve=build/sve/app")
        #expect(sve.features.arch == .aarch64)
        #expect(sve.features == FeatureSet(level: 3, arch: .aarch64))
        let dot = try Flavor(parsing: "dot:dotprod,lse=build/dot/app")
        #expect(dot.features.arch == .aarch64)
        // 'aes' alone is both an x86-64 and an Arm name: the build's ELF header decides.
        let aes = try Flavor(parsing: "crypto:aes=build/aes/app")
        #expect(aes.features.arch == .x86_64)
        #expect(try aes.resolved(for: .aarch64).features == FeatureSet(bits: 1 << UInt64(PB_A_AES.rawValue), arch: .aarch64))
        #expect(throws: PolybinError.self) { try Flavor(parsing: "x86-64-v3=app").resolved(for: .aarch64) }
    }
}
