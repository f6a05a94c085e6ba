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

/* Above this many Zydis ISA sets (4.0 has 186) the sweep counts the rest under the last. */
#define PB_DISASM_ISA_SETS 256

/* What a linear sweep of one function found (pb_disasm_sweep). */
typedef struct pb_disasm_sweep_result {
    uint64_t instructions;
    uint64_t undecodable;                     /* byte positions Zydis refused, each stepped over */
    uint32_t counts[PB_DISASM_ISA_SETS];      /* instructions per isa_set id, the ignored ones left out */
    uint64_t first[PB_DISASM_ISA_SETS];       /* address of the first of each */
    uint64_t *lea_targets;                    /* RIP-relative lea targets (caller's array) */
    uint64_t *branch_targets;                 /* direct call and jump targets outside the range */
    size_t target_capacity;                   /* of each array: size / 2 + 1 is always enough */
    size_t lea_count, branch_count;           /* how many there were (more than capacity: the rest dropped) */
} pb_disasm_sweep_result;

/* What a sweep learns of each Zydis mnemonic id on first sight, kept across the sweeps of one
 * program. Mnemonics named in `ignored` (which must outlive it) are not counted (tzcnt,
 * xgetbv: ISATable.neverCounts in the tool). */
#define PB_DISASM_MNEMONIC_IDS 4096
typedef struct pb_disasm_sweeper {
    const char *const *ignored;
    size_t ignored_count;
    uint8_t kinds[PB_DISASM_MNEMONIC_IDS];
} pb_disasm_sweeper;

void pb_disasm_sweeper_init(pb_disasm_sweeper *sweeper, const char *const *ignored, size_t ignored_count);

/* Decodes `size` bytes at `address` from the first byte to the last, in C for speed (the
 * per-instruction work of the audit), adding to `out`. Returns 0 when Zydis is not available. */
int pb_disasm_sweep(pb_disasm_sweeper *sweeper, const uint8_t *code, uint64_t size, uint64_t address,
                    pb_disasm_sweep_result *out);

/* Zydis' name of an isa_set id ("AVX2"), NULL when out of range or Zydis is not available. */
const char *pb_disasm_isa_set_name(uint32_t id);

/* ---- aarch64: LLVM's disassembler gated by feature strings (audit/a64disasm.c) ----
 * libLLVM-14.so.1 through dlopen, like Zydis. No Debian library labels an aarch64 word with its
 * extension, but LLVM refuses a word its feature string lacks: a word that decodes with a
 * level's features runs at that level. */
#define PB_A64_LEVELS 4

/* Loads libLLVM once (thread-safe) and makes one decoder per level (features.c's aarch64
 * levels, as LLVM feature strings) and one with every feature. 1 when usable; else 0 and `why`. */
int pb_a64_disasm_available(const char **why);

typedef struct pb_a64_sweep_result {
    uint64_t words;
    uint64_t unknown;                         /* words no feature set decodes (data, or newer than LLVM 14) */
    uint64_t counts[PB_A64_LEVELS + 1];       /* [0] unused; [L] words that first decode at level L */
    uint64_t first[PB_A64_LEVELS + 1];
    uint64_t beyond;                          /* words only the all-features decoder takes */
    uint64_t beyond_first;
    char sample[PB_A64_LEVELS + 2][48];       /* the first such word's text, per level, [L+1] beyond */
    uint64_t *address_targets;                /* ADRP+ADD and ADR targets (caller's array): what a resolver returns */
    uint64_t *branch_targets;                 /* B and BL targets outside the range */
    size_t target_capacity;                   /* of each array: size / 4 + 1 is always enough */
    size_t address_count, branch_count;       /* how many there were (more than capacity: the rest dropped) */
} pb_a64_sweep_result;

/* Decodes each 4-byte word of `size` bytes at `address`, adding to `out`. 0 when unavailable. */
int pb_a64_sweep(const uint8_t *code, uint64_t size, uint64_t address, pb_a64_sweep_result *out);

#endif
