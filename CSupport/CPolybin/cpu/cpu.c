/* CPU detection. CPUID says what the silicon has; XCR0 says which register state the OS
 * saves on context switch. AVX and AVX-512 are usable only when both agree (Intel SDM
 * vol. 1, 13.3 and 15.2), and the psABI levels are defined on usable features. */
#include "pb_cpu.h"
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <sys/auxv.h>
#endif

#define XCR0_SSE (1u << 1)
#define XCR0_YMM (1u << 2)
#define XCR0_AVX512 ((1u << 5) | (1u << 6) | (1u << 7))

void pb_cpuid_snapshot_take_with(pb_cpuid_snapshot *snap, pb_cpuid_fn cpuid, pb_xgetbv_fn xgetbv, void *ctx) {
    uint32_t r[4];
    memset(snap, 0, sizeof *snap);
    cpuid(ctx, 0, 0, r);
    snap->max_leaf = r[0];
    if (snap->max_leaf >= 1) {
        cpuid(ctx, 1, 0, r);
        snap->leaf1_ecx = r[2];
        snap->leaf1_edx = r[3];
    }
    if (snap->max_leaf >= 7) {
        cpuid(ctx, 7, 0, r);
        uint32_t max_subleaf = r[0];
        snap->leaf7_ebx = r[1];
        snap->leaf7_ecx = r[2];
        snap->leaf7_edx = r[3];
        if (max_subleaf >= 1) {
            cpuid(ctx, 7, 1, r);
            snap->leaf7_1_eax = r[0];
        }
    }
    if (snap->max_leaf >= 0xD) {
        cpuid(ctx, 0xD, 1, r);
        snap->leaf_d1_eax = r[0];
    }
    cpuid(ctx, 0x80000000u, 0, r);
    snap->max_ext_leaf = r[0];
    if (snap->max_ext_leaf >= 0x80000001u && snap->max_ext_leaf <= 0x8000FFFFu) {
        cpuid(ctx, 0x80000001u, 0, r);
        snap->ext1_ecx = r[2];
        snap->ext1_edx = r[3];
    }
    /* XGETBV raises #UD unless the OS set CR4.OSXSAVE, which CPUID.1:ECX[27] mirrors. */
    if (snap->leaf1_ecx & (1u << 27)) {
        snap->xcr0 = xgetbv(ctx);
        snap->xcr0_valid = 1;
    }
}

#if defined(__x86_64__)
static void real_cpuid(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t regs[4]) {
    (void)ctx;
    __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
}

static uint64_t real_xgetbv(void *ctx) {
    (void)ctx;
    uint32_t eax, edx;
    /* The opcode bytes, so that assemblers without the mnemonic (and no -mxsave) accept it. */
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

void pb_cpuid_snapshot_take(pb_cpuid_snapshot *snap) {
    pb_cpuid_snapshot_take_with(snap, real_cpuid, real_xgetbv, NULL);
}
#endif

#define HAS(reg, bit) (((reg) >> (bit)) & 1u)

pb_features pb_features_from_snapshot(const pb_cpuid_snapshot *s) {
    pb_features f = 0;
    const uint64_t xcr0 = s->xcr0_valid ? s->xcr0 : 0;
    const int osxsave = HAS(s->leaf1_ecx, 27) && s->xcr0_valid;
    const int ymm_state = osxsave && (xcr0 & (XCR0_SSE | XCR0_YMM)) == (XCR0_SSE | XCR0_YMM);
    const int zmm_state = ymm_state && (xcr0 & XCR0_AVX512) == XCR0_AVX512;

    if (HAS(s->leaf1_ecx, 0)) f |= PB_BIT(PB_F_SSE3);
    if (HAS(s->leaf1_ecx, 1)) f |= PB_BIT(PB_F_PCLMUL);
    if (HAS(s->leaf1_ecx, 9)) f |= PB_BIT(PB_F_SSSE3);
    if (HAS(s->leaf1_ecx, 13)) f |= PB_BIT(PB_F_CX16);
    if (HAS(s->leaf1_ecx, 19)) f |= PB_BIT(PB_F_SSE4_1);
    if (HAS(s->leaf1_ecx, 20)) f |= PB_BIT(PB_F_SSE4_2);
    if (HAS(s->leaf1_ecx, 22)) f |= PB_BIT(PB_F_MOVBE);
    if (HAS(s->leaf1_ecx, 23)) f |= PB_BIT(PB_F_POPCNT);
    if (HAS(s->leaf1_ecx, 25)) f |= PB_BIT(PB_F_AES);
    if (HAS(s->leaf1_ecx, 30)) f |= PB_BIT(PB_F_RDRND);
    /* The psABI's v3 "OSXSAVE": XSAVE present and enabled by the OS. */
    if (HAS(s->leaf1_ecx, 26) && osxsave) f |= PB_BIT(PB_F_XSAVE);

    const int avx = HAS(s->leaf1_ecx, 28) && ymm_state;
    if (avx) {
        f |= PB_BIT(PB_F_AVX);
        if (HAS(s->leaf1_ecx, 12)) f |= PB_BIT(PB_F_FMA);
        if (HAS(s->leaf1_ecx, 29)) f |= PB_BIT(PB_F_F16C);
        if (HAS(s->leaf7_ebx, 5)) f |= PB_BIT(PB_F_AVX2);
        if (HAS(s->leaf7_ecx, 9)) f |= PB_BIT(PB_F_VAES);
        if (HAS(s->leaf7_ecx, 10)) f |= PB_BIT(PB_F_VPCLMULQDQ);
        if (HAS(s->leaf7_1_eax, 4)) f |= PB_BIT(PB_F_AVXVNNI);
    }
    if (osxsave && HAS(s->leaf_d1_eax, 0)) f |= PB_BIT(PB_F_XSAVEOPT);
    if (osxsave && HAS(s->leaf_d1_eax, 1)) f |= PB_BIT(PB_F_XSAVEC);

    if (HAS(s->leaf7_ebx, 0)) f |= PB_BIT(PB_F_FSGSBASE);
    if (HAS(s->leaf7_ebx, 3)) f |= PB_BIT(PB_F_BMI1);
    if (HAS(s->leaf7_ebx, 8)) f |= PB_BIT(PB_F_BMI2);
    if (HAS(s->leaf7_ebx, 18)) f |= PB_BIT(PB_F_RDSEED);
    if (HAS(s->leaf7_ebx, 19)) f |= PB_BIT(PB_F_ADX);
    if (HAS(s->leaf7_ebx, 23)) f |= PB_BIT(PB_F_CLFLUSHOPT);
    if (HAS(s->leaf7_ebx, 24)) f |= PB_BIT(PB_F_CLWB);
    if (HAS(s->leaf7_ebx, 29)) f |= PB_BIT(PB_F_SHA);
    if (HAS(s->leaf7_ecx, 8)) f |= PB_BIT(PB_F_GFNI);

    if (avx && zmm_state && HAS(s->leaf7_ebx, 16)) {
        f |= PB_BIT(PB_F_AVX512F);
        if (HAS(s->leaf7_ebx, 17)) f |= PB_BIT(PB_F_AVX512DQ);
        if (HAS(s->leaf7_ebx, 21)) f |= PB_BIT(PB_F_AVX512IFMA);
        if (HAS(s->leaf7_ebx, 28)) f |= PB_BIT(PB_F_AVX512CD);
        if (HAS(s->leaf7_ebx, 30)) f |= PB_BIT(PB_F_AVX512BW);
        if (HAS(s->leaf7_ebx, 31)) f |= PB_BIT(PB_F_AVX512VL);
        if (HAS(s->leaf7_ecx, 1)) f |= PB_BIT(PB_F_AVX512VBMI);
        if (HAS(s->leaf7_ecx, 6)) f |= PB_BIT(PB_F_AVX512VBMI2);
        if (HAS(s->leaf7_ecx, 11)) f |= PB_BIT(PB_F_AVX512VNNI);
        if (HAS(s->leaf7_ecx, 12)) f |= PB_BIT(PB_F_AVX512BITALG);
        if (HAS(s->leaf7_ecx, 14)) f |= PB_BIT(PB_F_AVX512VPOPCNTDQ);
        if (HAS(s->leaf7_edx, 23)) f |= PB_BIT(PB_F_AVX512FP16);
        if (HAS(s->leaf7_1_eax, 5)) f |= PB_BIT(PB_F_AVX512BF16);
    }

    if (s->max_ext_leaf >= 0x80000001u) {
        if (HAS(s->ext1_ecx, 0)) f |= PB_BIT(PB_F_LAHF);
        if (HAS(s->ext1_ecx, 5)) f |= PB_BIT(PB_F_LZCNT);
        if (HAS(s->ext1_ecx, 6)) f |= PB_BIT(PB_F_SSE4A);
        if (HAS(s->ext1_ecx, 8)) f |= PB_BIT(PB_F_PREFETCHW);
    }
    return f;
}

pb_features pb_cpu_features(void) {
#if defined(__x86_64__)
    pb_cpuid_snapshot snap;
    pb_cpuid_snapshot_take(&snap);
    return pb_features_from_snapshot(&snap);
#elif defined(__aarch64__)
    return pb_features_from_hwcaps(getauxval(AT_HWCAP), getauxval(AT_HWCAP2));
#else
#error "CPU detection exists for x86-64 and aarch64 only"
#endif
}
