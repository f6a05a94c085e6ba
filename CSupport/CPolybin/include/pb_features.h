/* The feature models: stable feature bits per architecture, the named levels, and ranking.
 * Bit numbers are part of the bundle format (docs/format.md): never renumber.
 *
 * Every function exists twice: pb_arch_*(arch, ...) for any architecture (the polybin tool
 * packs and inspects fatbins for either), and the plain pb_*(...) for the architecture this
 * code is compiled for (the runner, which only ever judges the CPU it runs on). */
#ifndef PB_FEATURES_H
#define PB_FEATURES_H
#include <stddef.h>
#include <stdint.h>

typedef uint64_t pb_features;

/* Architectures, numbered as ELF's e_machine, which is also how a bundle records them. */
enum pb_arch { PB_ARCH_NONE = 0, PB_ARCH_X86_64 = 62, PB_ARCH_AARCH64 = 183 };

#if defined(__aarch64__)
#define PB_ARCH_HOST PB_ARCH_AARCH64
#else
#define PB_ARCH_HOST PB_ARCH_X86_64
#endif

/* x86-64: GCC/Clang -m spellings. */
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

/* aarch64: GCC -march=...+EXT spellings (jscvt, fcma and frintts have no +EXT of their own:
 * GCC enables them with armv8.3-a and armv8.5-a; they carry the Arm FEAT_ names). */
enum pb_aarch64_feature_bit {
    PB_A_CRC = 0, PB_A_LSE = 1, PB_A_RDMA = 2, PB_A_FP16 = 3, PB_A_DOTPROD = 4,
    PB_A_RCPC = 5, PB_A_JSCVT = 6, PB_A_FCMA = 7, PB_A_PAUTH = 8, PB_A_FLAGM = 9,
    PB_A_FP16FML = 10, PB_A_SVE = 11, PB_A_SB = 12, PB_A_SSBS = 13, PB_A_FRINTTS = 14,
    PB_A_SVE2 = 15, PB_A_I8MM = 16, PB_A_BF16 = 17, PB_A_AES = 18, PB_A_SHA2 = 19,
    PB_A_SHA3 = 20, PB_A_SM4 = 21, PB_A_SVE2_AES = 22, PB_A_SVE2_SHA3 = 23,
    PB_A_SVE2_SM4 = 24, PB_A_SVE2_BITPERM = 25, PB_A_F32MM = 26, PB_A_F64MM = 27,
    PB_A_RNG = 28, PB_A_MEMTAG = 29,
    PB_A_COUNT = 30
};

#define PB_BIT(b) ((pb_features)1 << (b))

/* Highest level each model knows (x86-64-v4, armv9-a+sve2). Level 1 is the baseline. */
#define PB_LEVEL_MAX 4

/* PB_ARCH_HOST, for Swift (which does not import the macro). */
unsigned pb_host_arch(void);

/* "x86-64", "aarch64"; NULL for an architecture without a model. */
const char *pb_arch_name(unsigned arch);

/* Number of feature bits the architecture defines (0 without a model). */
unsigned pb_arch_feature_count(unsigned arch);

/* The feature's compiler spelling ("sse4.1", "dotprod"), or NULL past the model's bits. */
const char *pb_arch_feature_name(unsigned arch, unsigned bit);

/* Parses one feature name (exactly `len` bytes, case-sensitive, compiler spelling or a
 * common alias such as "pclmulqdq" or "rdm"). Returns 0 and sets *bits (0 for a baseline
 * feature every CPU of the architecture has, such as sse2 or simd; several bits for a
 * group such as crypto), or -1 for an unknown name. */
int pb_arch_feature_parse(unsigned arch, const char *name, size_t len, pb_features *bits);

/* Features a level requires, cumulative (level 3 includes level 2). 0 for level 1. */
pb_features pb_arch_level_features(unsigned arch, unsigned level);

/* "x86-64" ... "x86-64-v4", "armv8-a" ... "armv9-a+sve2"; NULL outside 1..4. */
const char *pb_arch_level_name(unsigned arch, unsigned level);

/* 1..4 when `name` (len bytes) is one of the architecture's level names, else 0. */
unsigned pb_arch_level_parse(unsigned arch, const char *name, size_t len);

/* Highest level whose every feature is in `features` (1 when none beyond baseline). */
unsigned pb_arch_level_of(unsigned arch, pb_features features);

/* Orders two builds' requirements: >0 when a ranks above b. Level first, then the
 * number of declared features; equal requirements rank equal (0). */
int pb_arch_rank_compare(unsigned arch, pb_features a, pb_features b);

/* Writes the names of the set bits, space-separated, NUL-terminated, truncated to cap. */
size_t pb_arch_features_format(unsigned arch, pb_features features, char *out, size_t cap);

/* The same for PB_ARCH_HOST. */
const char *pb_feature_name(unsigned bit);
int pb_feature_parse(const char *name, size_t len, pb_features *bits);
pb_features pb_level_features(unsigned level);
const char *pb_level_name(unsigned level);
unsigned pb_level_parse(const char *name, size_t len);
unsigned pb_level_of(pb_features features);
int pb_rank_compare(pb_features a, pb_features b);
size_t pb_features_format(pb_features features, char *out, size_t cap);

#endif
