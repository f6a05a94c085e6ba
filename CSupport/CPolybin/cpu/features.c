/* The feature models. Names follow the compilers' spellings (GCC/Clang -m on x86-64, GCC
 * -march=...+EXT on aarch64) so that a flavor's feature list reads like the flags it was
 * compiled with. */
#include "pb_features.h"
#include <string.h>

typedef struct alias { const char *name; pb_features bits; } alias;

typedef struct model {
    unsigned count;
    const char *const *names;
    const alias *aliases;
    size_t alias_count;
    pb_features level_adds[PB_LEVEL_MAX + 1];      /* what each level adds to the one below */
    const char *level_names[PB_LEVEL_MAX + 1];
    const char *baseline_alias;                    /* another spelling of level 1, or NULL */
} model;

#define B PB_BIT

static const char *const x86_names[PB_F_COUNT] = {
    [PB_F_CX16] = "cx16", [PB_F_LAHF] = "lahf", [PB_F_POPCNT] = "popcnt", [PB_F_SSE3] = "sse3",
    [PB_F_SSSE3] = "ssse3", [PB_F_SSE4_1] = "sse4.1", [PB_F_SSE4_2] = "sse4.2",
    [PB_F_AVX] = "avx", [PB_F_AVX2] = "avx2", [PB_F_BMI1] = "bmi1", [PB_F_BMI2] = "bmi2",
    [PB_F_F16C] = "f16c", [PB_F_FMA] = "fma", [PB_F_LZCNT] = "lzcnt", [PB_F_MOVBE] = "movbe",
    [PB_F_XSAVE] = "xsave",
    [PB_F_AVX512F] = "avx512f", [PB_F_AVX512BW] = "avx512bw", [PB_F_AVX512CD] = "avx512cd",
    [PB_F_AVX512DQ] = "avx512dq", [PB_F_AVX512VL] = "avx512vl",
    [PB_F_AES] = "aes", [PB_F_PCLMUL] = "pclmul", [PB_F_SHA] = "sha", [PB_F_VAES] = "vaes",
    [PB_F_VPCLMULQDQ] = "vpclmulqdq", [PB_F_GFNI] = "gfni", [PB_F_AVX512VNNI] = "avx512vnni",
    [PB_F_AVX512VBMI] = "avx512vbmi", [PB_F_AVX512VBMI2] = "avx512vbmi2",
    [PB_F_AVX512BITALG] = "avx512bitalg", [PB_F_AVX512VPOPCNTDQ] = "avx512vpopcntdq",
    [PB_F_AVX512IFMA] = "avx512ifma", [PB_F_AVX512BF16] = "avx512bf16",
    [PB_F_AVX512FP16] = "avx512fp16", [PB_F_AVXVNNI] = "avxvnni", [PB_F_ADX] = "adx",
    [PB_F_RDRND] = "rdrnd", [PB_F_RDSEED] = "rdseed", [PB_F_CLFLUSHOPT] = "clflushopt",
    [PB_F_CLWB] = "clwb", [PB_F_PREFETCHW] = "prefetchw", [PB_F_XSAVEOPT] = "xsaveopt",
    [PB_F_XSAVEC] = "xsavec", [PB_F_FSGSBASE] = "fsgsbase", [PB_F_SSE4A] = "sse4a",
};

/* Other spellings users meet: /proc/cpuinfo flags, Intel manual names, psABI names. */
static const alias x86_aliases[] = {
    {"cmpxchg16b", B(PB_F_CX16)}, {"lahf_lm", B(PB_F_LAHF)}, {"lahf-sahf", B(PB_F_LAHF)},
    {"sahf", B(PB_F_LAHF)}, {"pni", B(PB_F_SSE3)}, {"sse4_1", B(PB_F_SSE4_1)}, {"sse4_2", B(PB_F_SSE4_2)},
    {"bmi", B(PB_F_BMI1)}, {"abm", B(PB_F_LZCNT)}, {"osxsave", B(PB_F_XSAVE)}, {"fma3", B(PB_F_FMA)},
    {"pclmulqdq", B(PB_F_PCLMUL)}, {"sha-ni", B(PB_F_SHA)}, {"sha_ni", B(PB_F_SHA)},
    {"avx512-vnni", B(PB_F_AVX512VNNI)}, {"avx_vnni", B(PB_F_AVXVNNI)}, {"avx-vnni", B(PB_F_AVXVNNI)},
    {"rdrand", B(PB_F_RDRND)}, {"3dnowprefetch", B(PB_F_PREFETCHW)},
    /* Every x86-64 CPU has these: accepted, and require nothing. */
    {"sse", 0}, {"sse2", 0}, {"mmx", 0}, {"cmov", 0}, {"cx8", 0}, {"fxsr", 0},
    {"x87", 0}, {"fpu", 0}, {"syscall", 0}, {"sce", 0},
};

static const model x86_64 = {
    .count = PB_F_COUNT, .names = x86_names,
    .aliases = x86_aliases, .alias_count = sizeof x86_aliases / sizeof x86_aliases[0],
    .level_adds = {
        0, 0,
        B(PB_F_CX16) | B(PB_F_LAHF) | B(PB_F_POPCNT) | B(PB_F_SSE3) | B(PB_F_SSSE3) |
            B(PB_F_SSE4_1) | B(PB_F_SSE4_2),
        B(PB_F_AVX) | B(PB_F_AVX2) | B(PB_F_BMI1) | B(PB_F_BMI2) | B(PB_F_F16C) | B(PB_F_FMA) |
            B(PB_F_LZCNT) | B(PB_F_MOVBE) | B(PB_F_XSAVE),
        B(PB_F_AVX512F) | B(PB_F_AVX512BW) | B(PB_F_AVX512CD) | B(PB_F_AVX512DQ) | B(PB_F_AVX512VL),
    },
    .level_names = {NULL, "x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4"},
    .baseline_alias = "x86-64-v1",
};

static const char *const aarch64_names[PB_A_COUNT] = {
    [PB_A_CRC] = "crc", [PB_A_LSE] = "lse", [PB_A_RDMA] = "rdma", [PB_A_FP16] = "fp16",
    [PB_A_DOTPROD] = "dotprod", [PB_A_RCPC] = "rcpc", [PB_A_JSCVT] = "jscvt",
    [PB_A_FCMA] = "fcma", [PB_A_PAUTH] = "pauth", [PB_A_FLAGM] = "flagm",
    [PB_A_FP16FML] = "fp16fml", [PB_A_SVE] = "sve", [PB_A_SB] = "sb", [PB_A_SSBS] = "ssbs",
    [PB_A_FRINTTS] = "frintts", [PB_A_SVE2] = "sve2", [PB_A_I8MM] = "i8mm",
    [PB_A_BF16] = "bf16", [PB_A_AES] = "aes", [PB_A_SHA2] = "sha2", [PB_A_SHA3] = "sha3",
    [PB_A_SM4] = "sm4", [PB_A_SVE2_AES] = "sve2-aes", [PB_A_SVE2_SHA3] = "sve2-sha3",
    [PB_A_SVE2_SM4] = "sve2-sm4", [PB_A_SVE2_BITPERM] = "sve2-bitperm", [PB_A_F32MM] = "f32mm",
    [PB_A_F64MM] = "f64mm", [PB_A_RNG] = "rng", [PB_A_MEMTAG] = "memtag",
};

/* LLVM and kernel (/proc/cpuinfo) spellings, and GCC's groups. */
static const alias aarch64_aliases[] = {
    {"rdm", B(PB_A_RDMA)}, {"asimdrdm", B(PB_A_RDMA)}, {"fhm", B(PB_A_FP16FML)},
    {"asimdfhm", B(PB_A_FP16FML)}, {"crc32", B(PB_A_CRC)}, {"atomics", B(PB_A_LSE)},
    {"asimddp", B(PB_A_DOTPROD)}, {"lrcpc", B(PB_A_RCPC)}, {"frint", B(PB_A_FRINTTS)},
    {"jsconv", B(PB_A_JSCVT)}, {"complxnum", B(PB_A_FCMA)}, {"mte", B(PB_A_MEMTAG)},
    {"crypto", B(PB_A_AES) | B(PB_A_SHA2)},
    /* Every Linux aarch64 CPU has these (the ABI assumes them): accepted, require nothing. */
    {"fp", 0}, {"simd", 0}, {"neon", 0}, {"asimd", 0},
};

static const model aarch64 = {
    .count = PB_A_COUNT, .names = aarch64_names,
    .aliases = aarch64_aliases, .alias_count = sizeof aarch64_aliases / sizeof aarch64_aliases[0],
    /* GCC's -march definitions, restricted to what Linux reports in a HWCAP (docs/format.md):
     * armv8.1-a adds crc, lse, rdma; armv8.2-a nothing optional; armv8.3-a pauth, rcpc,
     * jscvt, fcma; armv8.4-a flagm, fp16fml, dotprod; armv8.5-a sb, frintts (ssbs and
     * predres are system-register controls no compiler emits for user code, and predres has
     * no HWCAP); armv9-a sve, sve2. +sve implies fp16. */
    .level_adds = {
        0, 0,
        B(PB_A_CRC) | B(PB_A_LSE) | B(PB_A_RDMA) | B(PB_A_DOTPROD) | B(PB_A_FP16),
        B(PB_A_PAUTH) | B(PB_A_RCPC) | B(PB_A_JSCVT) | B(PB_A_FCMA) | B(PB_A_FLAGM) |
            B(PB_A_FP16FML) | B(PB_A_SVE),
        B(PB_A_SB) | B(PB_A_FRINTTS) | B(PB_A_SVE2),
    },
    .level_names = {NULL, "armv8-a", "armv8.2-a+dotprod+fp16", "armv8.4-a+sve", "armv9-a+sve2"},
    .baseline_alias = NULL,
};

static const model *model_of(unsigned arch) {
    switch (arch) {
    case PB_ARCH_X86_64: return &x86_64;
    case PB_ARCH_AARCH64: return &aarch64;
    }
    return NULL;
}

unsigned pb_host_arch(void) { return PB_ARCH_HOST; }

const char *pb_arch_name(unsigned arch) {
    switch (arch) {
    case PB_ARCH_X86_64: return "x86-64";
    case PB_ARCH_AARCH64: return "aarch64";
    }
    return NULL;
}

unsigned pb_arch_feature_count(unsigned arch) {
    const model *m = model_of(arch);
    return m ? m->count : 0;
}

const char *pb_arch_feature_name(unsigned arch, unsigned bit) {
    const model *m = model_of(arch);
    return m && bit < m->count ? m->names[bit] : NULL;
}

static int equals(const char *name, size_t len, const char *literal) {
    return strlen(literal) == len && memcmp(name, literal, len) == 0;
}

int pb_arch_feature_parse(unsigned arch, const char *name, size_t len, pb_features *bits) {
    const model *m = model_of(arch);
    if (!m) return -1;
    for (unsigned bit = 0; bit < m->count; bit++) {
        if (equals(name, len, m->names[bit])) {
            *bits = PB_BIT(bit);
            return 0;
        }
    }
    for (size_t i = 0; i < m->alias_count; i++) {
        if (equals(name, len, m->aliases[i].name)) {
            *bits = m->aliases[i].bits;
            return 0;
        }
    }
    return -1;
}

pb_features pb_arch_level_features(unsigned arch, unsigned level) {
    const model *m = model_of(arch);
    pb_features features = 0;
    if (!m) return 0;
    for (unsigned l = 2; l <= level && l <= PB_LEVEL_MAX; l++) features |= m->level_adds[l];
    return features;
}

const char *pb_arch_level_name(unsigned arch, unsigned level) {
    const model *m = model_of(arch);
    return m && level >= 1 && level <= PB_LEVEL_MAX ? m->level_names[level] : NULL;
}

unsigned pb_arch_level_parse(unsigned arch, const char *name, size_t len) {
    const model *m = model_of(arch);
    if (!m) return 0;
    for (unsigned level = 1; level <= PB_LEVEL_MAX; level++) {
        if (equals(name, len, m->level_names[level])) return level;
    }
    return m->baseline_alias && equals(name, len, m->baseline_alias) ? 1 : 0;
}

unsigned pb_arch_level_of(unsigned arch, pb_features features) {
    unsigned level = 1;
    while (level < PB_LEVEL_MAX) {
        pb_features next = pb_arch_level_features(arch, level + 1);
        if ((features & next) != next) break;
        level++;
    }
    return level;
}

static int popcount(pb_features features) {
    int n = 0;
    for (; features; features &= features - 1) n++;
    return n;
}

int pb_arch_rank_compare(unsigned arch, pb_features a, pb_features b) {
    int la = (int)pb_arch_level_of(arch, a), lb = (int)pb_arch_level_of(arch, b);
    if (la != lb) return la - lb;
    return popcount(a) - popcount(b);
}

size_t pb_arch_features_format(unsigned arch, pb_features features, char *out, size_t cap) {
    size_t used = 0;
    const model *m = model_of(arch);
    if (cap == 0) return 0;
    out[0] = 0;
    for (unsigned bit = 0; m && bit < m->count; bit++) {
        if (!(features & PB_BIT(bit))) continue;
        const char *name = m->names[bit];
        size_t len = strlen(name) + (used ? 1 : 0);
        if (used + len + 1 > cap) break;
        if (used) out[used++] = ' ';
        memcpy(out + used, name, strlen(name));
        used += strlen(name);
        out[used] = 0;
    }
    return used;
}

const char *pb_feature_name(unsigned bit) { return pb_arch_feature_name(PB_ARCH_HOST, bit); }
int pb_feature_parse(const char *name, size_t len, pb_features *bits) {
    return pb_arch_feature_parse(PB_ARCH_HOST, name, len, bits);
}
pb_features pb_level_features(unsigned level) { return pb_arch_level_features(PB_ARCH_HOST, level); }
const char *pb_level_name(unsigned level) { return pb_arch_level_name(PB_ARCH_HOST, level); }
unsigned pb_level_parse(const char *name, size_t len) { return pb_arch_level_parse(PB_ARCH_HOST, name, len); }
unsigned pb_level_of(pb_features features) { return pb_arch_level_of(PB_ARCH_HOST, features); }
int pb_rank_compare(pb_features a, pb_features b) { return pb_arch_rank_compare(PB_ARCH_HOST, a, b); }
size_t pb_features_format(pb_features features, char *out, size_t cap) {
    return pb_arch_features_format(PB_ARCH_HOST, features, out, cap);
}
