/* The feature model. Names follow GCC/Clang's -m spellings so that a flavor's feature list
 * reads like the flags it was compiled with. */
#include "pb_features.h"
#include <string.h>

static const char *const feature_names[PB_F_COUNT] = {
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
static const struct { const char *alias; int bit; } aliases[] = {
    {"cmpxchg16b", PB_F_CX16}, {"lahf_lm", PB_F_LAHF}, {"lahf-sahf", PB_F_LAHF},
    {"sahf", PB_F_LAHF}, {"pni", PB_F_SSE3}, {"sse4_1", PB_F_SSE4_1}, {"sse4_2", PB_F_SSE4_2},
    {"bmi", PB_F_BMI1}, {"abm", PB_F_LZCNT}, {"osxsave", PB_F_XSAVE}, {"fma3", PB_F_FMA},
    {"pclmulqdq", PB_F_PCLMUL}, {"sha-ni", PB_F_SHA}, {"sha_ni", PB_F_SHA},
    {"avx512-vnni", PB_F_AVX512VNNI}, {"avx_vnni", PB_F_AVXVNNI}, {"avx-vnni", PB_F_AVXVNNI},
    {"rdrand", PB_F_RDRND}, {"3dnowprefetch", PB_F_PREFETCHW},
    /* Every x86-64 CPU has these: accepted, and require nothing. */
    {"sse", -1}, {"sse2", -1}, {"mmx", -1}, {"cmov", -1}, {"cx8", -1}, {"fxsr", -1},
    {"x87", -1}, {"fpu", -1}, {"syscall", -1}, {"sce", -1},
};

static const pb_features level2 = PB_BIT(PB_F_CX16) | PB_BIT(PB_F_LAHF) | PB_BIT(PB_F_POPCNT) |
    PB_BIT(PB_F_SSE3) | PB_BIT(PB_F_SSSE3) | PB_BIT(PB_F_SSE4_1) | PB_BIT(PB_F_SSE4_2);
static const pb_features level3 = PB_BIT(PB_F_AVX) | PB_BIT(PB_F_AVX2) | PB_BIT(PB_F_BMI1) |
    PB_BIT(PB_F_BMI2) | PB_BIT(PB_F_F16C) | PB_BIT(PB_F_FMA) | PB_BIT(PB_F_LZCNT) |
    PB_BIT(PB_F_MOVBE) | PB_BIT(PB_F_XSAVE);
static const pb_features level4 = PB_BIT(PB_F_AVX512F) | PB_BIT(PB_F_AVX512BW) |
    PB_BIT(PB_F_AVX512CD) | PB_BIT(PB_F_AVX512DQ) | PB_BIT(PB_F_AVX512VL);

static const char *const level_names[PB_LEVEL_MAX + 1] = {
    NULL, "x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4",
};

const char *pb_feature_name(unsigned bit) {
    return bit < PB_F_COUNT ? feature_names[bit] : NULL;
}

static int equals(const char *name, size_t len, const char *literal) {
    return strlen(literal) == len && memcmp(name, literal, len) == 0;
}

int pb_feature_parse(const char *name, size_t len, pb_features *bits) {
    for (unsigned bit = 0; bit < PB_F_COUNT; bit++) {
        if (equals(name, len, feature_names[bit])) {
            *bits = PB_BIT(bit);
            return 0;
        }
    }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (equals(name, len, aliases[i].alias)) {
            *bits = aliases[i].bit < 0 ? 0 : PB_BIT(aliases[i].bit);
            return 0;
        }
    }
    return -1;
}

pb_features pb_level_features(unsigned level) {
    pb_features features = 0;
    if (level >= 2) features |= level2;
    if (level >= 3) features |= level3;
    if (level >= 4) features |= level4;
    return features;
}

const char *pb_level_name(unsigned level) {
    return level >= 1 && level <= PB_LEVEL_MAX ? level_names[level] : NULL;
}

unsigned pb_level_parse(const char *name, size_t len) {
    for (unsigned level = 1; level <= PB_LEVEL_MAX; level++) {
        if (equals(name, len, level_names[level])) return level;
    }
    return equals(name, len, "x86-64-v1") ? 1 : 0;
}

unsigned pb_level_of(pb_features features) {
    unsigned level = 1;
    while (level < PB_LEVEL_MAX) {
        pb_features next = pb_level_features(level + 1);
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

int pb_rank_compare(pb_features a, pb_features b) {
    int la = (int)pb_level_of(a), lb = (int)pb_level_of(b);
    if (la != lb) return la - lb;
    return popcount(a) - popcount(b);
}

size_t pb_features_format(pb_features features, char *out, size_t cap) {
    size_t used = 0;
    if (cap == 0) return 0;
    out[0] = 0;
    for (unsigned bit = 0; bit < PB_F_COUNT; bit++) {
        if (!(features & PB_BIT(bit))) continue;
        const char *name = feature_names[bit];
        size_t len = strlen(name) + (used ? 1 : 0);
        if (used + len + 1 > cap) break;
        if (used) out[used++] = ' ';
        memcpy(out + used, name, strlen(name));
        used += strlen(name);
        out[used] = 0;
    }
    return used;
}
