/* aarch64 detection from the kernel's hwcaps (Documentation/arch/arm64/elf_hwcaps.rst).
 * Userspace cannot probe these features reliably any other way: a missing feature need
 * not raise SIGILL, and the ID registers are readable only where HWCAP_CPUID says so. The
 * bit numbers are the uapi <asm/hwcap.h> ones, spelled out so this builds on any host. */
#include "pb_cpu.h"

enum {
    HWCAP_AES = 3, HWCAP_PMULL = 4, HWCAP_SHA1 = 5, HWCAP_SHA2 = 6, HWCAP_CRC32 = 7,
    HWCAP_ATOMICS = 8, HWCAP_FPHP = 9, HWCAP_ASIMDHP = 10, HWCAP_ASIMDRDM = 12,
    HWCAP_JSCVT = 13, HWCAP_FCMA = 14, HWCAP_LRCPC = 15, HWCAP_SHA3 = 17, HWCAP_SM3 = 18,
    HWCAP_SM4 = 19, HWCAP_ASIMDDP = 20, HWCAP_SHA512 = 21, HWCAP_SVE = 22, HWCAP_ASIMDFHM = 23,
    HWCAP_FLAGM = 27, HWCAP_SSBS = 28, HWCAP_SB = 29, HWCAP_PACA = 30,
};
enum {
    HWCAP2_SVE2 = 1, HWCAP2_SVEAES = 2, HWCAP2_SVEPMULL = 3, HWCAP2_SVEBITPERM = 4,
    HWCAP2_SVESHA3 = 5, HWCAP2_SVESM4 = 6, HWCAP2_FRINT = 8, HWCAP2_SVEI8MM = 9,
    HWCAP2_SVEF32MM = 10, HWCAP2_SVEF64MM = 11, HWCAP2_SVEBF16 = 12, HWCAP2_I8MM = 13,
    HWCAP2_BF16 = 14, HWCAP2_RNG = 16, HWCAP2_MTE = 18,
};

#define HAS(word, bit) (((word) >> (bit)) & 1u)

pb_features pb_features_from_hwcaps(uint64_t h, uint64_t h2) {
    pb_features f = 0;
    if (HAS(h, HWCAP_CRC32)) f |= PB_BIT(PB_A_CRC);
    if (HAS(h, HWCAP_ATOMICS)) f |= PB_BIT(PB_A_LSE);
    if (HAS(h, HWCAP_ASIMDRDM)) f |= PB_BIT(PB_A_RDMA);
    /* GCC's +fp16 emits both scalar (FPHP) and vector (ASIMDHP) half-precision code. */
    if (HAS(h, HWCAP_FPHP) && HAS(h, HWCAP_ASIMDHP)) f |= PB_BIT(PB_A_FP16);
    if (HAS(h, HWCAP_ASIMDDP)) f |= PB_BIT(PB_A_DOTPROD);
    if (HAS(h, HWCAP_LRCPC)) f |= PB_BIT(PB_A_RCPC);
    if (HAS(h, HWCAP_JSCVT)) f |= PB_BIT(PB_A_JSCVT);
    if (HAS(h, HWCAP_FCMA)) f |= PB_BIT(PB_A_FCMA);
    /* Compilers sign return addresses with the A keys (PACA); PACG's pacga is never emitted. */
    if (HAS(h, HWCAP_PACA)) f |= PB_BIT(PB_A_PAUTH);
    if (HAS(h, HWCAP_FLAGM)) f |= PB_BIT(PB_A_FLAGM);
    if (HAS(h, HWCAP_ASIMDFHM) && (f & PB_BIT(PB_A_FP16))) f |= PB_BIT(PB_A_FP16FML);
    if (HAS(h, HWCAP_SB)) f |= PB_BIT(PB_A_SB);
    if (HAS(h, HWCAP_SSBS)) f |= PB_BIT(PB_A_SSBS);
    if (HAS(h2, HWCAP2_FRINT)) f |= PB_BIT(PB_A_FRINTTS);
    /* +aes is AES and PMULL, +sha2 SHA-1 and SHA-256, +sha3 SHA3 and SHA-512, +sm4 SM3 and SM4. */
    if (HAS(h, HWCAP_AES) && HAS(h, HWCAP_PMULL)) f |= PB_BIT(PB_A_AES);
    if (HAS(h, HWCAP_SHA1) && HAS(h, HWCAP_SHA2)) f |= PB_BIT(PB_A_SHA2);
    if (HAS(h, HWCAP_SHA3) && HAS(h, HWCAP_SHA512)) f |= PB_BIT(PB_A_SHA3);
    if (HAS(h, HWCAP_SM3) && HAS(h, HWCAP_SM4)) f |= PB_BIT(PB_A_SM4);
    if (HAS(h2, HWCAP2_RNG)) f |= PB_BIT(PB_A_RNG);
    if (HAS(h2, HWCAP2_MTE)) f |= PB_BIT(PB_A_MEMTAG);

    /* SVE implies half precision in GCC (+sve enables +fp16): without it SVE is not usable.
     * An SVE2 or SVE-extension bit without SVE is a bogus report and is not trusted. */
    const int sve = HAS(h, HWCAP_SVE) && (f & PB_BIT(PB_A_FP16));
    if (sve) f |= PB_BIT(PB_A_SVE);
    const int sve2 = sve && HAS(h2, HWCAP2_SVE2);
    if (sve2) {
        f |= PB_BIT(PB_A_SVE2);
        if (HAS(h2, HWCAP2_SVEAES) && HAS(h2, HWCAP2_SVEPMULL)) f |= PB_BIT(PB_A_SVE2_AES);
        if (HAS(h2, HWCAP2_SVESHA3)) f |= PB_BIT(PB_A_SVE2_SHA3);
        if (HAS(h2, HWCAP2_SVESM4)) f |= PB_BIT(PB_A_SVE2_SM4);
        if (HAS(h2, HWCAP2_SVEBITPERM)) f |= PB_BIT(PB_A_SVE2_BITPERM);
    }
    if (sve && HAS(h2, HWCAP2_SVEF32MM)) f |= PB_BIT(PB_A_F32MM);
    if (sve && HAS(h2, HWCAP2_SVEF64MM)) f |= PB_BIT(PB_A_F64MM);
    /* With SVE present, +i8mm and +bf16 also emit their SVE forms: both reports are needed. */
    if (HAS(h2, HWCAP2_I8MM) && (!sve || HAS(h2, HWCAP2_SVEI8MM))) f |= PB_BIT(PB_A_I8MM);
    if (HAS(h2, HWCAP2_BF16) && (!sve || HAS(h2, HWCAP2_SVEBF16))) f |= PB_BIT(PB_A_BF16);
    return f;
}
