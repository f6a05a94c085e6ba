/* The audit's x86-64 disassembler (issue 19): Zydis 4.0, loaded at run time. Only the polybin
 * tool links this (target CPolybinAudit); the runner never does. */
#ifndef PB_DISASM_H
#define PB_DISASM_H
#include <stddef.h>
#include <stdint.h>

/* One decoded instruction. Offsets count from its first byte; 0 means absent, as in
 * pb_x86_insn, so the two can be compared field by field. */
typedef struct pb_disasm_insn {
    uint8_t length;
    uint8_t rel_offset;     /* relative branch displacement (Zydis: a relative immediate) */
    uint8_t rel_size;       /* in bytes */
    uint8_t rip_offset;     /* RIP-relative disp32 */
    uint8_t imm_offset;     /* first non-relative immediate */
    uint8_t imm_size;       /* bytes of all non-relative immediates */
    const char *mnemonic;   /* "vpaddd" (Zydis' lower-case names) */
    const char *isa_set;    /* "AVX2", "BMI2", "AVX512F_512", ... (Zydis' meta.isa_set) */
} pb_disasm_insn;

/* Loads libZydis.so.4.0 once per process (thread-safe). Returns 1 when it is usable; else 0 and,
 * in `why`, one line saying what is missing and how to get it. */
int pb_disasm_available(const char **why);

/* Decodes one 64-bit-mode instruction of at most `available` bytes. Returns its length, or 0
 * when Zydis refuses the bytes or is not available. */
size_t pb_disasm_decode(const uint8_t *code, size_t available, pb_disasm_insn *insn);

#endif
