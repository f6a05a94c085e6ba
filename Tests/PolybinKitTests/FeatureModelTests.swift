import CPolybin
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// Replays recorded CPUID leaves and XCR0 values through the pure level function.
struct RecordedCPU {
    var leaf1_ecx: UInt32 = 0
    var leaf7_ebx: UInt32 = 0
    var leaf7_ecx: UInt32 = 0
    var ext1_ecx: UInt32 = 0
    var xcr0: UInt64 = 0

    static let sse3: UInt32 = 1 << 0, ssse3: UInt32 = 1 << 9, fma: UInt32 = 1 << 12, cx16: UInt32 = 1 << 13
    static let sse41: UInt32 = 1 << 19, sse42: UInt32 = 1 << 20, movbe: UInt32 = 1 << 22, popcnt: UInt32 = 1 << 23
    static let xsave: UInt32 = 1 << 26, osxsave: UInt32 = 1 << 27, avx: UInt32 = 1 << 28, f16c: UInt32 = 1 << 29
    static let bmi1: UInt32 = 1 << 3, avx2: UInt32 = 1 << 5, bmi2: UInt32 = 1 << 8
    static let avx512f: UInt32 = 1 << 16, avx512dq: UInt32 = 1 << 17, avx512cd: UInt32 = 1 << 28
    static let avx512bw: UInt32 = 1 << 30, avx512vl: UInt32 = 1 << 31
    static let lahf: UInt32 = 1 << 0, lzcnt: UInt32 = 1 << 5

    /// A Nehalem: the v2 set, no AVX, no OSXSAVE.
    static var nehalem: RecordedCPU {
        RecordedCPU(leaf1_ecx: sse3 | ssse3 | cx16 | sse41 | sse42 | popcnt, ext1_ecx: lahf)
    }

    /// A Haswell with the OS saving SSE and AVX state.
    static var haswell: RecordedCPU {
        var cpu = nehalem
        cpu.leaf1_ecx |= fma | movbe | xsave | osxsave | avx | f16c
        cpu.leaf7_ebx = bmi1 | avx2 | bmi2
        cpu.ext1_ecx |= lzcnt
        cpu.xcr0 = 0b111
        return cpu
    }

    /// A Skylake-SP with the OS saving AVX-512 state too.
    static var skylakeServer: RecordedCPU {
        var cpu = haswell
        cpu.leaf7_ebx |= avx512f | avx512dq | avx512cd | avx512bw | avx512vl
        cpu.xcr0 = 0b1110_0111
        return cpu
    }

    /// Runs the snapshot through the C probe interface; reports whether XGETBV was executed.
    func features() -> (features: FeatureSet, calledXGETBV: Bool) {
        final class Probe {
            var cpu: RecordedCPU
            var calledXGETBV = false
            init(_ cpu: RecordedCPU) { self.cpu = cpu }
        }
        let probe = Probe(self)
        var snapshot = pb_cpuid_snapshot()
        let context = Unmanaged.passUnretained(probe).toOpaque()
        pb_cpuid_snapshot_take_with(&snapshot, { ctx, leaf, subleaf, regs in
            let cpu = Unmanaged<Probe>.fromOpaque(ctx!).takeUnretainedValue().cpu
            var r: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
            switch (leaf, subleaf) {
            case (0, _): r.0 = 13
            case (1, _): r.2 = cpu.leaf1_ecx; r.3 = 1 << 25 | 1 << 26
            case (7, 0): r.1 = cpu.leaf7_ebx; r.2 = cpu.leaf7_ecx
            case (0x8000_0000, _): r.0 = 0x8000_0001
            case (0x8000_0001, _): r.2 = cpu.ext1_ecx
            default: break
            }
            regs![0] = r.0; regs![1] = r.1; regs![2] = r.2; regs![3] = r.3
        }, { ctx in
            let probe = Unmanaged<Probe>.fromOpaque(ctx!).takeUnretainedValue()
            probe.calledXGETBV = true
            return probe.cpu.xcr0
        }, context)
        return (FeatureSet(bits: pb_features_from_snapshot(&snapshot)), probe.calledXGETBV)
    }
}

@Suite struct FeatureModelTests {
    @Test func recordedMachinesGetTheirLevels() {
        #expect(RecordedCPU().features().features.level == 1)
        #expect(RecordedCPU.nehalem.features().features.level == 2)
        #expect(RecordedCPU.haswell.features().features.level == 3)
        #expect(RecordedCPU.skylakeServer.features().features.level == 4)
    }

    @Test func avx512InCPUIDWithoutXCR0StateIsNotV4() {
        var cpu = RecordedCPU.skylakeServer
        cpu.xcr0 = 0b111  // the OS saves YMM but not opmask/ZMM state
        let features = cpu.features().features
        #expect(features.level == 3)
        #expect(!features.names.contains("avx512f"))
        #expect(features.names.contains("avx2"))
    }

    @Test func partialAVX512StateIsNotV4() {
        var cpu = RecordedCPU.skylakeServer
        cpu.xcr0 = 0b0110_0111  // bit 7 (Hi16_ZMM) missing
        #expect(cpu.features().features.level == 3)
    }

    @Test func osxsaveClearNeverExecutesXGETBVAndDisablesAVX() {
        var cpu = RecordedCPU.haswell
        cpu.leaf1_ecx &= ~RecordedCPU.osxsave
        let (features, calledXGETBV) = cpu.features()
        #expect(!calledXGETBV)
        #expect(features.level == 2)
        #expect(!features.names.contains("avx"))
        #expect(!features.names.contains("avx2"))
        #expect(RecordedCPU.haswell.features().calledXGETBV)
    }

    @Test func xcr0WithoutYMMStateDisablesAVX() {
        var cpu = RecordedCPU.haswell
        cpu.xcr0 = 0b011
        #expect(cpu.features().features.level == 2)
    }

    @Test func avx2WithoutBMI2IsNotV3() {
        var cpu = RecordedCPU.haswell
        cpu.leaf7_ebx &= ~RecordedCPU.bmi2
        let features = cpu.features().features
        #expect(features.level == 2)
        #expect(features.names.contains("avx2"))
    }

    @Test func missingMOVBEIsNotV3() {
        var cpu = RecordedCPU.haswell
        cpu.leaf1_ecx &= ~RecordedCPU.movbe
        #expect(cpu.features().features.level == 2)
    }

    @Test func missingLAHFIsBaseline() {
        var cpu = RecordedCPU.haswell
        cpu.ext1_ecx &= ~RecordedCPU.lahf
        #expect(cpu.features().features.level == 1)
    }

    @Test func hypervisorMaskedAVXHidesAVX2Too() {
        var cpu = RecordedCPU.haswell
        cpu.leaf1_ecx &= ~RecordedCPU.avx  // leaf 7 still claims AVX2
        let features = cpu.features().features
        #expect(!features.names.contains("avx2"))
        #expect(!features.names.contains("fma"))
        #expect(features.level == 2)
    }

    @Test func levelFeaturesFollowThePsABI() {
        #expect(FeatureSet(level: 1).names.isEmpty)
        #expect(Set(FeatureSet(level: 2).names) == ["cx16", "lahf", "popcnt", "sse3", "ssse3", "sse4.1", "sse4.2"])
        #expect(Set(FeatureSet(level: 3).subtracting(FeatureSet(level: 2)).names)
            == ["avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "lzcnt", "movbe", "xsave"])
        #expect(Set(FeatureSet(level: 4).subtracting(FeatureSet(level: 3)).names)
            == ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"])
    }

    @Test func everyDocumentedFeatureNameParses() throws {
        let names = ["sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "cx16", "lahf", "avx", "avx2", "bmi1", "bmi2",
                     "f16c", "fma", "lzcnt", "movbe", "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl",
                     "aes", "pclmul", "sha", "vaes", "vpclmulqdq", "gfni", "avx512vnni", "avx512vbmi"]
        let set = try FeatureSet(names: names.map { Substring($0) })
        #expect(set.names.count == names.count)
        #expect(throws: PolybinError.self) { try FeatureSet(names: ["avx3"]) }
    }

    @Test func rankingIsByLevelThenFeatureCount() {
        let v3 = FeatureSet(level: 3).bits
        let v2PlusMany = FeatureSet(level: 2).bits | (try! FeatureSet(names: ["aes", "pclmul", "sha", "gfni", "avx", "avx2", "fma"])).bits
        #expect(pb_rank_compare(v3, v2PlusMany) > 0)  // more features, lower level: ranks below
        #expect(pb_rank_compare(v3 | FeatureSet(bits: 1 << UInt64(PB_F_AES.rawValue)).bits, v3) > 0)
        #expect(pb_rank_compare(v3, v3) == 0)
    }
}
