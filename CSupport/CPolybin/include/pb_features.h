/* The x86-64 feature model: stable feature bits, the psABI levels, and ranking.
 * Bit numbers are part of the bundle format (docs/format.md): never renumber. */
#ifndef PB_FEATURES_H
#define PB_FEATURES_H
#include <stddef.h>
#include <stdint.h>

typedef uint64_t pb_features;

enum pb_feature_bit {
    PB_F_CX16 = 0, PB_F_LAHF = 1, PB_F_POPCNT = 2, PB_F_SSE3 = 3, PB_F_SSSE3 = 4,
    PB_F_SSE4_1 = 5, PB_F_SSE4_2 = 6,
    PB_F_AVX = 7, PB_F_AVX2 = 8, PB_F_BMI1 = 9, PB_F_BMI2 = 10, PB_F_F16C = 11, PB_F_FMA = 12,
    PB_F_LZCNT = 13, PB_F_MOVBE = 14, PB_F_XSAVE = 15,
    PB_F_AVX512F = 16, PB_F_AVX512BW = 17, PB_F_AVX512CD = 18, PB_F_AVX512DQ = 19,
    PB_F_AVX512VL = 20,
    PB_F_AES = 21, PB_F_PCLMUL = 22, PB_F_SHA = 23, PB_F_VAES = 24, PB_F_VPCLMULQDQ = 25,
    PB_F_GFNI = 26, PB_F_AVX512VNNI = 27, PB_F_AVX512VBMI = 28, PB_F_AVX512VBMI2 = 29,
    PB_F_AVX512BITALG = 30, PB_F_AVX512VPOPCNTDQ = 31, PB_F_AVX512IFMA = 32,
    PB_F_AVX512BF16 = 33, PB_F_AVX512FP16 = 34, PB_F_AVXVNNI = 35, PB_F_ADX = 36,
    PB_F_RDRND = 37, PB_F_RDSEED = 38, PB_F_CLFLUSHOPT = 39, PB_F_CLWB = 40,
    PB_F_PREFETCHW = 41, PB_F_XSAVEOPT = 42, PB_F_XSAVEC = 43, PB_F_FSGSBASE = 44,
    PB_F_SSE4A = 45,
    PB_F_COUNT = 46
};

#define PB_BIT(b) ((pb_features)1 << (b))

/* Highest level this model knows: x86-64-v4. Level 1 is the baseline (x86-64). */
#define PB_LEVEL_MAX 4

/* The feature's compiler spelling ("sse4.1"), or NULL when bit >= PB_F_COUNT. */
const char *pb_feature_name(unsigned bit);

/* Parses one feature name (exactly `len` bytes, case-sensitive, compiler spelling or a
 * common alias such as "pclmulqdq" or "cmpxchg16b"). Returns 0 and sets *bits (0 for a
 * baseline feature every x86-64 CPU has, such as sse2), or -1 for an unknown name. */
int pb_feature_parse(const char *name, size_t len, pb_features *bits);

/* Features a level requires, cumulative (level 3 includes level 2). 0 for level 1. */
pb_features pb_level_features(unsigned level);

/* "x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4"; NULL outside 1..4. */
const char *pb_level_name(unsigned level);

/* 1..4 when `name` (len bytes) is a level name, else 0. Accepts x86-64-v1 for the baseline. */
unsigned pb_level_parse(const char *name, size_t len);

/* Highest level whose every feature is in `features` (1 when none beyond baseline). */
unsigned pb_level_of(pb_features features);

/* Orders two builds' requirements: >0 when a ranks above b. Level first, then the
 * number of declared features; equal requirements rank equal (0). */
int pb_rank_compare(pb_features a, pb_features b);

/* Writes the names of the set bits, space-separated, NUL-terminated, truncated to cap. */
size_t pb_features_format(pb_features features, char *out, size_t cap);

#endif
