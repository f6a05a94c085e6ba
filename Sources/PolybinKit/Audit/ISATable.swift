/// What each Zydis ISA set (`meta.isa_set`, XED's names) needs of the CPU, in the feature
/// model's names (CSupport/CPolybin/cpu/features.c), so that the level follows from the one
/// feature model: v2 = SSE3, SSSE3, SSE4, SSE42, POPCNT, CMPXCHG16B, LAHF; v3 = AVX, AVX2,
/// AVX2GATHER, BMI1, BMI2, F16C, FMA, LZCNT, MOVBE, XSAVE; v4 = AVX512{F,BW,CD,DQ} (the 128-
/// and 256-bit forms also AVX512VL). Everything else above baseline needs a feature bit of its
/// own (aes, sha, vaes, ...), named here even when the feature model has no bit for it (rtm).
///
/// Instructions that never count, whatever their set: `tzcnt` (F3 0F BC runs as `bsf` on a CPU
/// without BMI1, with the same result for a non-zero input; GCC emits it in generic code),
/// `endbr64`/`endbr32` and the other CET hint-space instructions, multi-byte NOPs, `pause`,
/// `cpuid` and `xgetbv` (what dispatch code runs to decide). `lzcnt` is the opposite case:
/// F3 0F BD runs as `bsr` below v3 and returns a different number, so it always counts.
public enum ISATable {
    /// isa_set → features. A set absent from this table and from `baseline` needs
    /// `unknownFeature(set)`.
    public static let features: [String: [String]] = {
        var table: [String: [String]] = [
            "SSE3": ["sse3"], "SSE3X87": ["sse3"], "MONITOR": ["sse3"], "SSSE3": ["ssse3"], "SSSE3MMX": ["ssse3"],
            "SSE4": ["sse4.1"], "SSE42": ["sse4.2"], "POPCNT": ["popcnt"], "CMPXCHG16B": ["cx16"], "LAHF": ["lahf"],
            "AVX": ["avx"], "AVX2": ["avx2"], "AVX2GATHER": ["avx2"], "BMI1": ["bmi1"], "BMI2": ["bmi2"], "F16C": ["f16c"],
            "FMA": ["fma"], "LZCNT": ["lzcnt"], "MOVBE": ["movbe"], "XSAVE": ["xsave"],
            "XSAVEC": ["xsavec"], "XSAVEOPT": ["xsaveopt"], "XSAVES": ["xsaves"],
            "AES": ["aes"], "AVXAES": ["aes", "avx"], "PCLMULQDQ": ["pclmul"], "SHA": ["sha"],
            "VAES": ["vaes"], "VPCLMULQDQ": ["vpclmulqdq"], "GFNI": ["gfni"], "AVX_GFNI": ["gfni", "avx"],
            "AVX_VNNI": ["avxvnni"], "ADOX_ADCX": ["adx"], "RDRAND": ["rdrnd"], "RDSEED": ["rdseed"],
            "CLFLUSHOPT": ["clflushopt"], "CLWB": ["clwb"], "RDWRFSGS": ["fsgsbase"], "SSE4A": ["sse4a"],
            "RTM": ["rtm"], "RDTSCP": ["rdtscp"], "RDPID": ["rdpid"], "FMA4": ["fma4"], "XOP": ["xop"], "TBM": ["tbm"],
            "AMD3DNOW": ["3dnow"], "PREFETCHWT1": ["prefetchwt1"], "MOVDIR": ["movdiri"], "SERIALIZE": ["serialize"],
            "WAITPKG": ["waitpkg"], "CLDEMOTE": ["cldemote"], "PKU": ["pku"], "UINTR": ["uintr"],
            "AMX_TILE": ["amx-tile"], "AMX_INT8": ["amx-int8", "amx-tile"], "AMX_BF16": ["amx-bf16", "amx-tile"],
            "ENQCMD": ["enqcmd"], "HRESET": ["hreset"], "KEYLOCKER": ["kl"], "KEYLOCKER_WIDE": ["widekl"],
            "TSX_LDTRK": ["tsxldtrk"], "CLZERO": ["clzero"], "MONITORX": ["mwaitx"], "MPX": ["mpx"],
        ]
        // AVX-512: the foundation sets are v4; the 128/256-bit forms need VL too.
        let avx512Named: [String: String] = [
            "AVX512F": "avx512f", "AVX512BW": "avx512bw", "AVX512CD": "avx512cd", "AVX512DQ": "avx512dq",
            "AVX512_BF16": "avx512bf16", "AVX512_BITALG": "avx512bitalg", "AVX512_FP16": "avx512fp16",
            "AVX512_GFNI": "gfni", "AVX512_IFMA": "avx512ifma", "AVX512_VAES": "vaes", "AVX512_VBMI2": "avx512vbmi2",
            "AVX512_VBMI": "avx512vbmi", "AVX512_VNNI": "avx512vnni", "AVX512_VP2INTERSECT": "avx512vp2intersect",
            "AVX512_VPCLMULQDQ": "vpclmulqdq", "AVX512_VPOPCNTDQ": "avx512vpopcntdq",
            "AVX512ER": "avx512er", "AVX512PF": "avx512pf", "AVX512_4FMAPS": "avx5124fmaps", "AVX512_4VNNIW": "avx5124vnniw",
        ]
        for (prefix, feature) in avx512Named {
            let base = feature.hasPrefix("avx512") ? [feature] : [feature, "avx512f"]
            for suffix in ["512", "SCALAR", "KOP"] { table["\(prefix)_\(suffix)"] = Array(Set(base + ["avx512f"])).sorted() }
            for suffix in ["128", "128N", "256"] { table["\(prefix)_\(suffix)"] = Array(Set(base + ["avx512f", "avx512vl"])).sorted() }
        }
        return table
    }()

    /// Sets every x86-64 CPU runs (the baseline: i86..PPro, x87, MMX, SSE, SSE2, FXSAVE, CMOV,
    /// long mode), and hint-space sets that run as NOPs where unsupported (CET, FAT_NOP, PAUSE,
    /// PREFETCH_NOP).
    public static let baseline: Set<String> = [
        "I86", "I186", "I286PROTECTED", "I286REAL", "I386", "I486", "I486REAL", "PENTIUMMMX", "PENTIUMREAL", "PPRO",
        "CMOV", "FCMOV", "X87", "SSE", "SSE2", "SSE2MMX", "SSEMXCSR", "SSE_PREFETCH", "CLFSH", "FXSAVE", "FXSAVE64",
        "LONGMODE", "FAT_NOP", "PAUSE", "PREFETCH_NOP", "CET",
    ]

    /// Mnemonics that never count (see the type's comment).
    public static let neverCounts: Set<String> = ["tzcnt", "endbr64", "endbr32", "nop", "pause", "cpuid", "xgetbv"]

    /// The features one instruction needs: [] when it runs on every x86-64 CPU.
    public static func requirement(isaSet: String, mnemonic: String) -> [String] {
        if neverCounts.contains(mnemonic) || baseline.contains(isaSet) { return [] }
        return features[isaSet] ?? [isaSet.lowercased()]
    }

    /// The lowest x86-64 level whose features include every level feature of `features`,
    /// and the features left over (not part of any level, or above the one found).
    public static func level(of features: Set<String>) -> (level: Int, extra: [String]) {
        let known = Set(FeatureSet.allNames(.x86_64))
        let inModel = features.filter { known.contains($0) }
        let bits = (try? FeatureSet(names: inModel.map { Substring($0) }, arch: .x86_64)) ?? FeatureSet(bits: 0)
        let v4 = FeatureSet(level: 4, arch: .x86_64)
        let levelled = FeatureSet(bits: bits.bits & v4.bits, arch: .x86_64)
        let level = (1...4).first { levelled.isSubset(of: FeatureSet(level: $0, arch: .x86_64)) } ?? 4
        let covered = Set(FeatureSet(level: level, arch: .x86_64).names)
        return (level, features.subtracting(covered).sorted())
    }
}
