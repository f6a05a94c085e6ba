/* Zydis 4.0 through dlopen (pb_disasm.h).
 *
 * Why dlopen and local declarations rather than Zydis' headers and -lZydis: Debian ships Zydis
 * as a shared library only, the audit is optional (polybin must build and run without it, and
 * say so in one line), and the runner must never depend on it. The four functions and the
 * fields read here are declared locally for the ABI of the soname loaded, libZydis.so.4.0, so
 * polybin builds the same with or without libzydis-dev; where its headers are installed, the
 * offsets below are checked against them at compile time. */
#include "../include/pb_disasm.h"
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#define ZYDIS_SONAME "libZydis.so.4.0"

/* ZydisDecoder and ZydisDecodedInstruction of Zydis 4.0, as opaque storage. */
typedef struct { uint32_t opaque[5]; } zydis_decoder;
typedef struct { uint64_t opaque[41]; } zydis_instruction;

/* Field offsets in ZydisDecodedInstruction (4.0). Sizes in raw.* are in bits. */
enum {
    AT_MNEMONIC = 4,            /* ZydisMnemonic, 4 bytes */
    AT_LENGTH = 8,
    AT_ISA_SET = 96,            /* meta.isa_set, 4 bytes */
    AT_MODRM_MOD = 255, AT_MODRM_RM = 257, AT_MODRM_OFFSET = 258,
    AT_SIB_OFFSET = 262,
    AT_DISP_SIZE = 272, AT_DISP_OFFSET = 273,
    AT_IMM = 280, IMM_STRIDE = 24,          /* raw.imm[2] */
    IMM_IS_RELATIVE = 1, IMM_SIZE = 16, IMM_OFFSET = 17,
    MACHINE_MODE_LONG_64 = 0, STACK_WIDTH_64 = 2,
};

#if defined(__has_include)
#if __has_include(<Zydis/Zydis.h>)
#include <Zydis/Zydis.h>
#include <stddef.h>
_Static_assert(sizeof(ZydisDecoder) == sizeof(zydis_decoder), "ZydisDecoder changed size");
_Static_assert(sizeof(ZydisDecodedInstruction) == sizeof(zydis_instruction), "ZydisDecodedInstruction changed size");
_Static_assert(offsetof(ZydisDecodedInstruction, mnemonic) == AT_MNEMONIC, "mnemonic moved");
_Static_assert(offsetof(ZydisDecodedInstruction, length) == AT_LENGTH, "length moved");
_Static_assert(offsetof(ZydisDecodedInstruction, meta.isa_set) == AT_ISA_SET, "meta.isa_set moved");
_Static_assert(offsetof(ZydisDecodedInstruction, raw.modrm.mod) == AT_MODRM_MOD, "raw.modrm moved");
_Static_assert(offsetof(ZydisDecodedInstruction, raw.modrm.rm) == AT_MODRM_RM, "raw.modrm moved");
_Static_assert(offsetof(ZydisDecodedInstruction, raw.modrm.offset) == AT_MODRM_OFFSET, "raw.modrm moved");
_Static_assert(offsetof(ZydisDecodedInstruction, raw.sib.offset) == AT_SIB_OFFSET, "raw.sib moved");
_Static_assert(offsetof(ZydisDecodedInstruction, raw.disp.size) == AT_DISP_SIZE, "raw.disp moved");
_Static_assert(offsetof(ZydisDecodedInstruction, raw.disp.offset) == AT_DISP_OFFSET, "raw.disp moved");
_Static_assert(offsetof(ZydisDecodedInstruction, raw.imm[1]) == AT_IMM + IMM_STRIDE, "raw.imm moved");
_Static_assert(offsetof(ZydisDecodedInstruction, raw.imm[0].is_relative) == AT_IMM + IMM_IS_RELATIVE, "raw.imm moved");
_Static_assert(offsetof(ZydisDecodedInstruction, raw.imm[0].size) == AT_IMM + IMM_SIZE, "raw.imm moved");
_Static_assert(offsetof(ZydisDecodedInstruction, raw.imm[0].offset) == AT_IMM + IMM_OFFSET, "raw.imm moved");
_Static_assert((int)ZYDIS_MACHINE_MODE_LONG_64 == MACHINE_MODE_LONG_64 && (int)ZYDIS_STACK_WIDTH_64 == STACK_WIDTH_64, "enums changed");
#endif
#endif

static struct {
    pthread_once_t once;
    int usable;
    const char *why;
    zydis_decoder decoder;
    uint32_t (*decode)(const zydis_decoder *, void *context, const void *buffer, size_t length, zydis_instruction *);
    const char *(*mnemonic_name)(uint32_t);
    const char *(*isa_set_name)(uint32_t);
} zydis = { .once = PTHREAD_ONCE_INIT };

static void load(void)
{
    zydis.why = "x86-64 disassembler unavailable: " ZYDIS_SONAME " is not installed (apt-get install libzydis4.0)";
    void *library = dlopen(ZYDIS_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!library) return;
    uint32_t (*init)(zydis_decoder *, uint32_t, uint32_t) = (uint32_t (*)(zydis_decoder *, uint32_t, uint32_t))dlsym(library, "ZydisDecoderInit");
    zydis.decode = (uint32_t (*)(const zydis_decoder *, void *, const void *, size_t, zydis_instruction *))dlsym(library, "ZydisDecoderDecodeInstruction");
    zydis.mnemonic_name = (const char *(*)(uint32_t))dlsym(library, "ZydisMnemonicGetString");
    zydis.isa_set_name = (const char *(*)(uint32_t))dlsym(library, "ZydisISASetGetString");
    zydis.why = "x86-64 disassembler unavailable: " ZYDIS_SONAME " lacks a function polybin needs";
    if (!init || !zydis.decode || !zydis.mnemonic_name || !zydis.isa_set_name) return;
    /* ZyanStatus: bit 31 set means failure. */
    zydis.why = "x86-64 disassembler unavailable: " ZYDIS_SONAME " cannot make a 64-bit decoder";
    if (init(&zydis.decoder, MACHINE_MODE_LONG_64, STACK_WIDTH_64) & 0x80000000u) return;
    zydis.why = NULL;
    zydis.usable = 1;
}

int pb_disasm_available(const char **why)
{
    pthread_once(&zydis.once, load);
    if (why) *why = zydis.why;
    return zydis.usable;
}

static uint8_t byte_at(const zydis_instruction *z, size_t at) { return ((const uint8_t *)z)[at]; }

static uint32_t u32_at(const zydis_instruction *z, size_t at)
{
    uint32_t value;
    memcpy(&value, (const uint8_t *)z + at, sizeof value);
    return value;
}

size_t pb_disasm_decode(const uint8_t *code, size_t available, pb_disasm_insn *insn)
{
    *insn = (pb_disasm_insn){0};
    if (!pb_disasm_available(NULL)) return 0;
    zydis_instruction z;
    if (zydis.decode(&zydis.decoder, NULL, code, available, &z) & 0x80000000u) return 0;
    insn->length = byte_at(&z, AT_LENGTH);
    insn->mnemonic = zydis.mnemonic_name(u32_at(&z, AT_MNEMONIC));
    insn->isa_set = zydis.isa_set_name(u32_at(&z, AT_ISA_SET));
    /* RIP-relative: ModRM mod 0, rm 5, no SIB, a 32-bit displacement. */
    if (byte_at(&z, AT_MODRM_OFFSET) && byte_at(&z, AT_MODRM_MOD) == 0 && byte_at(&z, AT_MODRM_RM) == 5 &&
        !byte_at(&z, AT_SIB_OFFSET) && byte_at(&z, AT_DISP_SIZE) == 32)
        insn->rip_offset = byte_at(&z, AT_DISP_OFFSET);
    for (size_t k = 0; k < 2; k++) {
        size_t at = AT_IMM + k * IMM_STRIDE;
        uint8_t bytes = byte_at(&z, at + IMM_SIZE) / 8;
        if (!bytes) continue;
        if (byte_at(&z, at + IMM_IS_RELATIVE)) {
            insn->rel_offset = byte_at(&z, at + IMM_OFFSET);
            insn->rel_size = bytes;
        } else {
            if (!insn->imm_size) insn->imm_offset = byte_at(&z, at + IMM_OFFSET);
            insn->imm_size = (uint8_t)(insn->imm_size + bytes);
        }
    }
    return insn->length;
}

const char *pb_disasm_isa_set_name(uint32_t id)
{
    if (!pb_disasm_available(NULL) || id >= PB_DISASM_ISA_SETS) return NULL;
    return zydis.isa_set_name(id);
}

/* What the sweep does with each mnemonic id, learnt from its name on first sight. */
enum { KIND_UNKNOWN = 0, KIND_OTHER, KIND_LEA, KIND_BRANCH, KIND_IGNORED };

void pb_disasm_sweeper_init(pb_disasm_sweeper *sweeper, const char *const *ignored, size_t ignored_count)
{
    memset(sweeper, 0, sizeof *sweeper);
    sweeper->ignored = ignored;
    sweeper->ignored_count = ignored_count;
}

static int64_t signed_at(const uint8_t *p, uint8_t size)
{
    switch (size) {
    case 1: return (int8_t)p[0];
    case 2: return (int16_t)(uint16_t)(p[0] | p[1] << 8);
    default: return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
    }
}

int pb_disasm_sweep(pb_disasm_sweeper *sweeper, const uint8_t *code, uint64_t size, uint64_t address,
                    pb_disasm_sweep_result *out)
{
    if (!pb_disasm_available(NULL)) return 0;
    uint8_t *kinds = sweeper->kinds;
    uint64_t at = 0;
    while (at < size) {
        zydis_instruction z;
        if (zydis.decode(&zydis.decoder, NULL, code + at, (size_t)(size - at), &z) & 0x80000000u) {
            out->undecodable++;
            at++;
            continue;
        }
        uint8_t length = byte_at(&z, AT_LENGTH);
        uint32_t mnemonic = u32_at(&z, AT_MNEMONIC);
        uint8_t kind = mnemonic < PB_DISASM_MNEMONIC_IDS ? kinds[mnemonic] : KIND_OTHER;
        if (kind == KIND_UNKNOWN) {
            const char *name = zydis.mnemonic_name(mnemonic);
            kind = KIND_OTHER;
            if (name) {
                if (!strcmp(name, "lea")) kind = KIND_LEA;
                else if (!strcmp(name, "call") || name[0] == 'j') kind = KIND_BRANCH;
                for (size_t k = 0; k < sweeper->ignored_count; k++)
                    if (!strcmp(name, sweeper->ignored[k])) kind = KIND_IGNORED;
            }
            if (mnemonic < PB_DISASM_MNEMONIC_IDS) kinds[mnemonic] = kind;
        }
        out->instructions++;
        if (kind != KIND_IGNORED) {
            uint32_t set = u32_at(&z, AT_ISA_SET);
            if (set >= PB_DISASM_ISA_SETS) set = PB_DISASM_ISA_SETS - 1;
            if (!out->counts[set]++) out->first[set] = address + at;
        }
        uint64_t next = address + at + length;
        if (kind == KIND_LEA && byte_at(&z, AT_MODRM_OFFSET) && byte_at(&z, AT_MODRM_MOD) == 0 &&
            byte_at(&z, AT_MODRM_RM) == 5 && !byte_at(&z, AT_SIB_OFFSET) && byte_at(&z, AT_DISP_SIZE) == 32) {
            if (out->lea_count < out->target_capacity)
                out->lea_targets[out->lea_count] = next + (uint64_t)signed_at(code + at + byte_at(&z, AT_DISP_OFFSET), 4);
            out->lea_count++;
        } else if (kind == KIND_BRANCH) {
            for (size_t k = 0; k < 2; k++) {
                size_t imm = AT_IMM + k * IMM_STRIDE;
                uint8_t bytes = byte_at(&z, imm + IMM_SIZE) / 8;
                if (!bytes || !byte_at(&z, imm + IMM_IS_RELATIVE)) continue;
                uint64_t target = next + (uint64_t)signed_at(code + at + byte_at(&z, imm + IMM_OFFSET), bytes);
                if (target < address || target >= address + size) {
                    if (out->branch_count < out->target_capacity) out->branch_targets[out->branch_count] = target;
                    out->branch_count++;
                }
                break;
            }
        }
        at += length;
    }
    return 1;
}
