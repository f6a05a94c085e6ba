/* aarch64 PC-relative fields (pb_insn.h): every A64 word is 4 bytes, so the delta needs no
 * length decoder there, only which words carry a code or data address and how to rewrite it.
 * Encodings from the Arm ARM (DDI 0487), "Branches, exception generating and system
 * instructions", "Data processing - immediate" and "Loads and stores". */
#include "pb_insn.h"

enum pb_a64_kind pb_a64_classify(uint32_t word)
{
    if ((word & 0x7C000000u) == 0x14000000u) return PB_A64_B26;              /* B, BL */
    if ((word & 0xFF000000u) == 0x54000000u) return PB_A64_IMM19;            /* B.cond, BC.cond */
    if ((word & 0x7E000000u) == 0x34000000u) return PB_A64_IMM19;            /* CBZ, CBNZ */
    if ((word & 0x7E000000u) == 0x36000000u) return PB_A64_TBZ14;            /* TBZ, TBNZ */
    /* LDR (literal): opc 011 V 00; opc 11 with V (no such register) is unallocated. */
    if ((word & 0x3B000000u) == 0x18000000u && (word & 0xC4000000u) != 0xC4000000u) return PB_A64_IMM19;
    if ((word & 0x9F000000u) == 0x10000000u) return PB_A64_ADR;
    if ((word & 0x9F000000u) == 0x90000000u) return PB_A64_ADRP;
    return PB_A64_OTHER;
}

/* The signed value of `bits` bits of `word` from bit `at`. */
static int64_t field(uint32_t word, unsigned at, unsigned bits)
{
    uint64_t value = (word >> at) & ((1u << bits) - 1);
    uint64_t sign = 1ull << (bits - 1);
    return (int64_t)((value ^ sign) - sign);
}

/* ADR and ADRP split their immediate: immlo in bits 30:29, immhi in bits 23:5. */
static int64_t adr_immediate(uint32_t word)
{
    uint32_t joined = ((word >> 5) & 0x7FFFFu) << 2 | ((word >> 29) & 3u);
    return field(joined, 0, 21);
}

int pb_a64_target(uint32_t word, uint64_t address, uint64_t *target)
{
    switch (pb_a64_classify(word)) {
    case PB_A64_B26: *target = address + (uint64_t)(field(word, 0, 26) * 4); return 1;
    case PB_A64_IMM19: *target = address + (uint64_t)(field(word, 5, 19) * 4); return 1;
    case PB_A64_TBZ14: *target = address + (uint64_t)(field(word, 5, 14) * 4); return 1;
    case PB_A64_ADR: *target = address + (uint64_t)adr_immediate(word); return 1;
    case PB_A64_ADRP: *target = (address & ~0xFFFull) + (uint64_t)(adr_immediate(word) * 4096); return 1;
    default: return 0;
    }
}

/* Whether `value` fits a `bits`-bit signed field. */
static int fits(int64_t value, unsigned bits)
{
    int64_t limit = (int64_t)1 << (bits - 1);
    return value >= -limit && value < limit;
}

int pb_a64_retarget(uint32_t word, uint64_t address, uint64_t target, uint32_t *out)
{
    int64_t distance = (int64_t)(target - address);
    enum pb_a64_kind kind = pb_a64_classify(word);
    unsigned at, bits;
    switch (kind) {
    case PB_A64_B26: at = 0; bits = 26; break;
    case PB_A64_IMM19: at = 5; bits = 19; break;
    case PB_A64_TBZ14: at = 5; bits = 14; break;
    case PB_A64_ADR: case PB_A64_ADRP: {
        if (kind == PB_A64_ADRP) {
            if (target & 0xFFF) return 0;
            distance = (int64_t)(target - (address & ~0xFFFull)) / 4096;
        }
        if (!fits(distance, 21)) return 0;
        uint32_t imm = (uint32_t)distance & 0x1FFFFFu;
        *out = (word & 0x9F00001Fu) | (imm & 3u) << 29 | (imm >> 2) << 5;
        return 1;
    }
    default: return 0;
    }
    if (distance & 3) return 0;
    if (!fits(distance / 4, bits)) return 0;
    uint32_t mask = ((1u << bits) - 1) << at;
    *out = (word & ~mask) | (((uint32_t)(distance / 4) << at) & mask);
    return 1;
}

/* The scale of a load/store (unsigned offset) word's imm12, or -1 when unallocated: size for
 * general registers; for SIMD&FP, size, or 4 (128-bit) when opc bit 1 is set with size 0. */
static int access_scale(uint32_t word)
{
    unsigned size = word >> 30, simd = (word >> 26) & 1, opc = (word >> 22) & 3;
    if (!simd) return (int)size;
    if (opc & 2) return size == 0 ? 4 : -1;
    return (int)size;
}

int pb_a64_page_partner(uint32_t adrp, uint32_t word, uint32_t *low12)
{
    unsigned page_register = adrp & 31;
    if (((word >> 5) & 31) != page_register) return 0;
    if ((word & 0xFFC00000u) == 0x91000000u) {    /* ADD Xd, Xn, #imm12 (LSL #0) */
        *low12 = (word >> 10) & 0xFFFu;
        return 1;
    }
    if ((word & 0x3B000000u) == 0x39000000u) {    /* loads, stores, PRFM (unsigned offset) */
        int scale = access_scale(word);
        if (scale < 0) return 0;
        uint32_t offset = ((word >> 10) & 0xFFFu) << scale;
        if (offset >= 4096) return 0;    /* beyond the page: not a :lo12: partner */
        *low12 = offset;
        return 1;
    }
    return 0;
}

int pb_a64_set_page_offset(uint32_t word, uint32_t low12, uint32_t *out)
{
    if (low12 >= 4096) return 0;
    int scale = 0;
    if ((word & 0x3B000000u) == 0x39000000u) {
        scale = access_scale(word);
        if (scale < 0 || (low12 & ((1u << scale) - 1))) return 0;
    } else if ((word & 0xFFC00000u) != 0x91000000u) {
        return 0;
    }
    *out = (word & ~(0xFFFu << 10)) | (low12 >> scale) << 10;
    return 1;
}
