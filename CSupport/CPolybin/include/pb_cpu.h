/* What the CPU and the OS support: on x86-64 CPUID leaves plus XCR0 (XGETBV), on aarch64
 * the kernel's HWCAP words (getauxval), never a trial instruction or an ID register. */
#ifndef PB_CPU_H
#define PB_CPU_H
#include <stdint.h>
#include "pb_features.h"

/* The raw facts the level function needs, recorded so tests can replay real machines. */
typedef struct pb_cpuid_snapshot {
    uint32_t max_leaf;                 /* CPUID.0:EAX */
    uint32_t leaf1_ecx, leaf1_edx;     /* CPUID.1 */
    uint32_t leaf7_ebx, leaf7_ecx, leaf7_edx;  /* CPUID.(7,0) */
    uint32_t leaf7_1_eax;              /* CPUID.(7,1) */
    uint32_t max_ext_leaf;             /* CPUID.80000000h:EAX */
    uint32_t ext1_ecx, ext1_edx;       /* CPUID.80000001h */
    uint32_t leaf_d1_eax;              /* CPUID.(0Dh,1): XSAVEOPT/XSAVEC */
    uint64_t xcr0;                     /* XGETBV(0); only meaningful when xcr0_valid */
    int xcr0_valid;                    /* 0 when OSXSAVE is clear: XGETBV was not executed */
} pb_cpuid_snapshot;

typedef void (*pb_cpuid_fn)(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);
typedef uint64_t (*pb_xgetbv_fn)(void *ctx);

/* Fills a snapshot through the given probes. xgetbv is called only when CPUID.1:ECX.OSXSAVE
 * is set: executing XGETBV otherwise raises #UD. */
void pb_cpuid_snapshot_take_with(pb_cpuid_snapshot *snap, pb_cpuid_fn cpuid, pb_xgetbv_fn xgetbv, void *ctx);

/* The same through the real CPUID and XGETBV instructions (x86-64 builds only). */
void pb_cpuid_snapshot_take(pb_cpuid_snapshot *snap);

/* Pure: the features that are both reported by the CPU and usable under the OS's XCR0. */
pb_features pb_features_from_snapshot(const pb_cpuid_snapshot *snap);

/* Pure: the aarch64 features usable under Linux's getauxval(AT_HWCAP) and (AT_HWCAP2)
 * words. A feature needing several HWCAP bits (fp16: FPHP and ASIMDHP) needs all of them;
 * SVE2 and the SVE extensions count only together with SVE itself. */
pb_features pb_features_from_hwcaps(uint64_t hwcap, uint64_t hwcap2);

/* This machine's usable features, in the model of PB_ARCH_HOST: CPUID snapshot + level
 * function on x86-64, HWCAP words on aarch64. */
pb_features pb_cpu_features(void);

#endif
