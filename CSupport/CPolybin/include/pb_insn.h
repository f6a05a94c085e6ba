/* The instruction layer of the executable-aware delta (issue 18): where an instruction ends and
 * where its code-address fields are, on x86-64 and aarch64. One implementation for the packer,
 * which normalises those fields into labels, and the runner, which turns them back: it only has
 * to agree with itself, not be a disassembler. Nothing here allocates, calls the system or reads
 * a byte it was not given. */
#ifndef PB_INSN_H
#define PB_INSN_H
#include <stddef.h>
#include <stdint.h>

/* ---- x86-64 (64-bit mode) ------------------------------------------------------------------
 *
 * Offsets count from the instruction's first byte (a prefix, if any); an offset of 0 means the
 * field is absent (no field can start at byte 0). */
typedef struct pb_x86_insn {
    uint8_t length;      /* 1..15; 0 when not decoded */
    uint8_t rel_offset;  /* relative branch displacement: jcc, jmp, call, loop/jrcxz, xbegin */
    uint8_t rel_size;    /* 1 or 4 (0: none); the target is the instruction's end + the field */
    uint8_t rip_offset;  /* RIP-relative disp32 (legacy, VEX, EVEX); target = end + disp32 */
    uint8_t imm_offset;  /* immediate bytes, not counting rel/moffs fields and 3DNow's suffix */
    uint8_t imm_size;    /* 1, 2, 4 or 8; ENTER's imm16, imm8 count 3, EXTRQ/INSERTQ's imm8, imm8 2 */
} pb_x86_insn;

/* Decodes the instruction at code[0], reading no byte at or past code[available]. Returns its
 * length and fills *insn, or returns 0 (every field 0) when it cannot decode it: an opcode
 * invalid in 64-bit mode, XOP, VEX/EVEX after 66/F2/F3/F0/REX or with a map or reserved bit
 * no CPU has, EVEX maps 5 and 6 (AVX512-FP16), a 66-prefixed rel32 branch (rel16 on AMD,
 * rel32 on Intel), more than 15 bytes, or cut off by `available`. Legacy prefixes (repeated,
 * segment, 66, 67, F0, F2, F3), REX, VEX2, VEX3 and EVEX are decoded; so are opcodes of a
 * known shape that no CPU implements (it measures, it does not validate). The packer and the
 * runner stop walking a function at a 0, so both leave the same fields raw. */
size_t pb_x86_decode(const uint8_t *code, size_t available, pb_x86_insn *insn);

/* ---- aarch64 -------------------------------------------------------------------------------
 *
 * The PC-relative fields of A64 words. A target is a byte address; for ADRP it is the 4 KiB page
 * (the low 12 bits come from the partner instruction, below). */
enum pb_a64_kind {
    PB_A64_OTHER = 0,
    PB_A64_B26,     /* B, BL: imm26 words */
    PB_A64_IMM19,   /* B.cond, BC.cond, CBZ, CBNZ, LDR/LDRSW/PRFM (literal), LDR S/D/Q (literal) */
    PB_A64_TBZ14,   /* TBZ, TBNZ: imm14 words */
    PB_A64_ADR,     /* ADR: immhi:immlo bytes, +-1 MiB */
    PB_A64_ADRP,    /* ADRP: immhi:immlo pages, +-4 GiB */
};

enum pb_a64_kind pb_a64_classify(uint32_t word);

/* The target of `word` at `address`; 0 when the word has no PC-relative field. */
int pb_a64_target(uint32_t word, uint64_t address, uint64_t *target);

/* `word` with its field changed so that, at `address`, it reaches `target`. Returns 0 (and
 * leaves *out alone) when the word has no field, the target is misaligned for it (words for
 * branches and literals, pages for ADRP) or out of its reach. */
int pb_a64_retarget(uint32_t word, uint64_t address, uint64_t target, uint32_t *out);

/* The ADRP partner test, from opcode and register bits only: is `word` an ADD (immediate,
 * 64-bit, unshifted) or a load/store (unsigned offset, any size) whose base register is the
 * ADRP's destination? If so, *low12 is the byte offset it adds to the page. */
int pb_a64_page_partner(uint32_t adrp, uint32_t word, uint32_t *low12);

/* A partner word with its byte offset replaced; 0 when `low12` is not below 4096 or not a
 * multiple of the access size (a load of 8 bytes scales its field by 8). */
int pb_a64_set_page_offset(uint32_t word, uint32_t low12, uint32_t *out);

#endif
