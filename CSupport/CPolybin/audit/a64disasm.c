/* The aarch64 audit decoder (pb_disasm.h): LLVM 14's disassembler through dlopen, one decoder
 * per level gated by a feature string (LLVMCreateDisasmCPUFeatures). Why dlopen: as for Zydis,
 * the audit is optional and the runner must never depend on it; the four functions used are
 * declared here for the C API of llvm-c/Disassembler.h. */
#include "../include/pb_disasm.h"
#include "../include/pb_insn.h"
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#define LLVM_SONAME "libLLVM-14.so.1"

/* features.c's aarch64 levels as LLVM 14 spells them, each with what the level excludes
 * turned off (LLVM's generic CPU would otherwise accept some of it). */
static const char *const level_features[PB_A64_LEVELS] = {
    "+v8a,-lse,-rdm,-dotprod,-fullfp16,-rcpc,-sve,-sve2,-crc,-aes,-sha2,-sha3,-sm4",
    "+v8.2a,+dotprod,+fullfp16,-sve,-sve2,-aes,-sha2,-sha3,-sm4",
    "+v8.4a,+dotprod,+fullfp16,+sve,-sve2,-aes,-sha2,-sha3,-sm4",
    "+v9a,+dotprod,+fullfp16,+sve,+sve2,-aes,-sha2,-sha3,-sm4",
};
static const char *const every_feature = "+v9a,+sve,+sve2,+sve2-aes,+sve2-sha3,+sve2-sm4,+sve2-bitperm,+dotprod,"
                                         "+fullfp16,+fp16fml,+lse,+rcpc,+crc,+aes,+sha2,+sha3,+sm4,+i8mm,+bf16,+mte,+rand";

static struct {
    pthread_once_t once;
    int usable;
    const char *why;
    void *levels[PB_A64_LEVELS];
    void *every;
    size_t (*decode)(void *, uint8_t *, uint64_t, uint64_t, char *, size_t);
} llvm = { .once = PTHREAD_ONCE_INIT };

static void load(void)
{
    llvm.why = "aarch64 disassembler unavailable: " LLVM_SONAME " is not installed (apt-get install libllvm14)";
    void *library = dlopen(LLVM_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!library) return;
    llvm.why = "aarch64 disassembler unavailable: " LLVM_SONAME " lacks the AArch64 disassembler";
    const char *inits[] = {"LLVMInitializeAArch64TargetInfo", "LLVMInitializeAArch64TargetMC", "LLVMInitializeAArch64Disassembler"};
    for (size_t i = 0; i < 3; i++) {
        void (*init)(void) = (void (*)(void))dlsym(library, inits[i]);
        if (!init) return;
        init();
    }
    void *(*create)(const char *, const char *, const char *, void *, int, void *, void *) =
        (void *(*)(const char *, const char *, const char *, void *, int, void *, void *))dlsym(library, "LLVMCreateDisasmCPUFeatures");
    llvm.decode = (size_t (*)(void *, uint8_t *, uint64_t, uint64_t, char *, size_t))dlsym(library, "LLVMDisasmInstruction");
    if (!create || !llvm.decode) return;
    for (size_t level = 0; level < PB_A64_LEVELS; level++)
        if (!(llvm.levels[level] = create("aarch64-linux-gnu", "generic", level_features[level], NULL, 0, NULL, NULL))) return;
    if (!(llvm.every = create("aarch64-linux-gnu", "generic", every_feature, NULL, 0, NULL, NULL))) return;
    llvm.why = NULL;
    llvm.usable = 1;
}

int pb_a64_disasm_available(const char **why)
{
    pthread_once(&llvm.once, load);
    if (why) *why = llvm.why;
    return llvm.usable;
}

/* LLVM's text with its leading tab dropped, cut to the sample's size. */
static void keep_sample(char *sample, const char *text)
{
    while (*text == '\t' || *text == ' ') text++;
    size_t n = strlen(text);
    if (n > 47) n = 47;
    memcpy(sample, text, n);
    sample[n] = 0;
    for (char *c = sample; *c; c++)
        if (*c == '\t') *c = ' ';
}

int pb_a64_sweep(const uint8_t *code, uint64_t size, uint64_t address, pb_a64_sweep_result *out)
{
    if (!pb_a64_disasm_available(NULL)) return 0;
    char text[128];
    uint32_t adrp = 0;              /* the last ADRP, for its ADD partner */
    uint64_t page = 0;
    for (uint64_t at = 0; at + 4 <= size; at += 4) {
        uint8_t word[4];
        memcpy(word, code + at, 4);
        out->words++;
        /* Rule A's edges, from the field rules the delta shares (pb_insn.h). */
        uint32_t value = (uint32_t)word[0] | (uint32_t)word[1] << 8 | (uint32_t)word[2] << 16 | (uint32_t)word[3] << 24;
        enum pb_a64_kind kind = pb_a64_classify(value);
        uint64_t target, low12_target;
        uint32_t low12;
        if (kind == PB_A64_ADRP && pb_a64_target(value, address + at, &target)) {
            adrp = value;
            page = target;
        } else if (adrp && (value & 0xff800000u) == 0x91000000u && pb_a64_page_partner(adrp, value, &low12)) {
            low12_target = page + low12;   /* ADD (immediate, 64-bit): an address, not a load */
            if (out->address_count < out->target_capacity) out->address_targets[out->address_count] = low12_target;
            out->address_count++;
        } else if (kind == PB_A64_ADR && pb_a64_target(value, address + at, &target)) {
            if (out->address_count < out->target_capacity) out->address_targets[out->address_count] = target;
            out->address_count++;
        } else if (kind == PB_A64_B26 && pb_a64_target(value, address + at, &target) && (target < address || target >= address + size)) {
            if (out->branch_count < out->target_capacity) out->branch_targets[out->branch_count] = target;
            out->branch_count++;
        }
        int level = 0;
        /* Most words decode at the first level: one call each. */
        for (int l = 0; l < PB_A64_LEVELS && !level; l++)
            if (llvm.decode(llvm.levels[l], word, 4, address + at, text, sizeof text) == 4) level = l + 1;
        if (level) {
            if (level > 1 && !out->counts[level]++) {
                out->first[level] = address + at;
                keep_sample(out->sample[level], text);
            } else if (level == 1) {
                out->counts[1]++;
            }
        } else if (llvm.decode(llvm.every, word, 4, address + at, text, sizeof text) == 4) {
            if (!out->beyond++) {
                out->beyond_first = address + at;
                keep_sample(out->sample[PB_A64_LEVELS + 1], text);
            }
        } else {
            out->unknown++;
        }
    }
    return 1;
}
