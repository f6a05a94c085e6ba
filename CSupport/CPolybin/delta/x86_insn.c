/* x86-64 instruction lengths and fields (pb_insn.h): two 256-entry opcode tables, a fast path
 * for what compilers emit most, and a careful path for everything else. The runner walks every
 * function of a build with it, so the fast path is table loads and masks, not branches. */
#include "pb_insn.h"
#include <string.h>

/* A table entry: what follows the opcode byte. */
enum {
    FIELD = 7,      /* bytes of the immediate or relative field: 0, 1, 2 or 4 */
    MODRM = 8,      /* a ModRM byte (then SIB and displacement) before the field */
    REL = 16,       /* the field is a branch displacement */
    IZ = 32,        /* a 4-byte field that is 2 bytes under 66 without REX.W */
    WIDE = 64,      /* and 8 bytes under REX.W (MOV r64, imm64) */
    SPECIAL = 128,  /* the careful path decides; FIELD then says why: */
    PREFIX = SPECIAL | 5, REX = SPECIAL | 6, BAD = SPECIAL | 7,
};

#define M MODRM
#define S SPECIAL
#define P PREFIX
#define X BAD
#define IB 1
#define IW 2
#define Z (IZ | 4)
#define R8 (REL | 1)
#define RZ (REL | 4)
#define W64 (WIDE | Z)

/* [0]: one-byte opcodes in 64-bit mode. SPECIAL: 0F, VEX (C4 C5), EVEX (62), XOP/POP (8F),
 * moffs (A0-A3), C6/C7 (/0 and XABORT/XBEGIN), ENTER, F6/F7 (TEST's immediate).
 * [1]: 0F xx. SPECIAL: 0F 0F (3DNow: ModRM, then an opcode byte), MOV CR/DR (0F 20-23: ModRM
 * names registers whatever its mod), 0F 38 and 0F 3A, 0F 78 (SSE4a EXTRQ/INSERTQ with 66/F2).
 * The VEX and EVEX 0F map reuses [1] for its IB entries (70-73, C2, C4-C6). */
static const uint8_t opcodes[2][256] = { {
    /*        0     1     2     3     4     5     6     7     8     9     A     B     C     D     E     F */
    /* 0 */   M,    M,    M,    M,    IB,   Z,    X,    X,    M,    M,    M,    M,    IB,   Z,    X,    S,
    /* 1 */   M,    M,    M,    M,    IB,   Z,    X,    X,    M,    M,    M,    M,    IB,   Z,    X,    X,
    /* 2 */   M,    M,    M,    M,    IB,   Z,    P,    X,    M,    M,    M,    M,    IB,   Z,    P,    X,
    /* 3 */   M,    M,    M,    M,    IB,   Z,    P,    X,    M,    M,    M,    M,    IB,   Z,    P,    X,
    /* 4 */   REX,  REX,  REX,  REX,  REX,  REX,  REX,  REX,  REX,  REX,  REX,  REX,  REX,  REX,  REX,  REX,
    /* 5 */   0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
    /* 6 */   X,    X,    S,    M,    P,    P,    P,    P,    Z,    M|Z,  IB,   M|IB, 0,    0,    0,    0,
    /* 7 */   R8,   R8,   R8,   R8,   R8,   R8,   R8,   R8,   R8,   R8,   R8,   R8,   R8,   R8,   R8,   R8,
    /* 8 */   M|IB, M|Z,  X,    M|IB, M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    S,
    /* 9 */   0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    X,    0,    0,    0,    0,    0,
    /* A */   S,    S,    S,    S,    0,    0,    0,    0,    IB,   Z,    0,    0,    0,    0,    0,    0,
    /* B */   IB,   IB,   IB,   IB,   IB,   IB,   IB,   IB,   W64,  W64,  W64,  W64,  W64,  W64,  W64,  W64,
    /* C */   M|IB, M|IB, IW,   0,    S,    S,    S,    S,    S,    0,    IW,   0,    0,    IB,   X,    0,
    /* D */   M,    M,    M,    M,    X,    X,    X,    0,    M,    M,    M,    M,    M,    M,    M,    M,
    /* E */   R8,   R8,   R8,   R8,   IB,   IB,   IB,   IB,   RZ,   RZ,   X,    R8,   0,    0,    0,    0,
    /* F */   P,    0,    P,    P,    0,    0,    S,    S,    0,    0,    0,    0,    0,    0,    M,    M,
}, {
    /*        0     1     2     3     4     5     6     7     8     9     A     B     C     D     E     F */
    /* 0 */   M,    M,    M,    M,    X,    0,    0,    0,    0,    0,    X,    0,    X,    M,    0,    S,
    /* 1 */   M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,
    /* 2 */   S,    S,    S,    S,    X,    X,    X,    X,    M,    M,    M,    M,    M,    M,    M,    M,
    /* 3 */   0,    0,    0,    0,    0,    0,    X,    0,    S,    X,    S,    X,    X,    X,    X,    X,
    /* 4 */   M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,
    /* 5 */   M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,
    /* 6 */   M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,
    /* 7 */   M|IB, M|IB, M|IB, M|IB, M,    M,    M,    0,    S,    M,    X,    X,    M,    M,    M,    M,
    /* 8 */   RZ,   RZ,   RZ,   RZ,   RZ,   RZ,   RZ,   RZ,   RZ,   RZ,   RZ,   RZ,   RZ,   RZ,   RZ,   RZ,
    /* 9 */   M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,
    /* A */   0,    0,    0,    M,    M|IB, M,    X,    X,    0,    0,    0,    M,    M|IB, M,    M,    M,
    /* B */   M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M|IB, M,    M,    M,    M,    M,
    /* C */   M,    M,    M|IB, M,    M|IB, M|IB, M|IB, M,    0,    0,    0,    0,    0,    0,    0,    0,
    /* D */   M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,
    /* E */   M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,
    /* F */   M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,    M,
} };

#undef M
#undef S
#undef P
#undef X
#undef IB
#undef IW
#undef Z
#undef R8
#undef RZ
#undef W64

/* Bytes a ModRM byte adds in 64-bit mode (itself, a SIB byte, disp8 or disp32), by mod and
 * rm; ModRM.reg does not matter. A SIB whose base is 5 under mod 0 adds a disp32 on top. */
#define MOD0 1, 1, 1, 1, 2, 5, 1, 1
#define MOD1 2, 2, 2, 2, 3, 2, 2, 2
#define MOD2 5, 5, 5, 5, 6, 5, 5, 5
#define MOD3 1, 1, 1, 1, 1, 1, 1, 1
static const uint8_t modrm_bytes[256] = {
    MOD0, MOD0, MOD0, MOD0, MOD0, MOD0, MOD0, MOD0,
    MOD1, MOD1, MOD1, MOD1, MOD1, MOD1, MOD1, MOD1,
    MOD2, MOD2, MOD2, MOD2, MOD2, MOD2, MOD2, MOD2,
    MOD3, MOD3, MOD3, MOD3, MOD3, MOD3, MOD3, MOD3,
};
#undef MOD0
#undef MOD1
#undef MOD2
#undef MOD3

#define MAX_LENGTH 15

/* Prefix flags seen before the opcode. */
enum { OPSIZE = 1, ADDRSIZE = 2, REP_F2 = 4, REP_F3 = 8, LOCK = 16, REX_W = 32, HAS_REX = 64 };

/* Every instruction the decoder knows, one byte at a time and checked against `available`. */
__attribute__((noinline)) static size_t decode_any(const uint8_t *code, size_t available, pb_x86_insn *insn)
{
    *insn = (pb_x86_insn){0};
    size_t limit = available < MAX_LENGTH ? available : MAX_LENGTH;
    size_t i = 0;
    unsigned flags = 0;
    uint8_t op, entry;

    /* Prefixes. A REX counts only right before the opcode: a legacy prefix after it voids it. */
    for (;;) {
        if (i >= limit) return 0;
        op = code[i];
        entry = opcodes[0][op];
        if (entry == REX) {
            flags = (flags & ~(unsigned)REX_W) | HAS_REX | ((op & 8) ? REX_W : 0);
        } else if (entry == PREFIX) {
            flags &= ~(unsigned)(HAS_REX | REX_W);
            switch (op) {
            case 0x66: flags |= OPSIZE; break;
            case 0x67: flags |= ADDRSIZE; break;
            case 0xF0: flags |= LOCK; break;
            /* The last of F2/F3 is the one that counts (for 0F 78 below). */
            case 0xF2: flags = (flags & ~(unsigned)REP_F3) | REP_F2; break;
            case 0xF3: flags = (flags & ~(unsigned)REP_F2) | REP_F3; break;
            default: break;    /* segment overrides and branch hints */
            }
        } else {
            break;
        }
        i++;
    }
    i++;    /* past the opcode byte */

    int forced_register = 0;    /* ModRM names registers whatever its mod (MOV CR/DR) */
    size_t unreported = 0;      /* bytes after the field that are not a field: moffs, 3DNow */
    if (entry == BAD) return 0;
    if (entry & SPECIAL) {
        switch (op) {
        case 0x0F: {
            if (i >= limit) return 0;
            uint8_t op2 = code[i++];
            if (op2 == 0x38 || op2 == 0x3A) {
                if (i >= limit) return 0;
                i++;    /* the third opcode byte: every 0F 38 and 0F 3A opcode has ModRM */
                entry = op2 == 0x3A ? MODRM | 1 : MODRM;
                break;
            }
            entry = opcodes[1][op2];
            if (entry == BAD) return 0;
            if (entry & SPECIAL) {
                if (op2 == 0x0F) {
                    entry = MODRM;
                    unreported = 1;    /* 3DNow: the opcode byte that ends the instruction */
                } else if (op2 >= 0x20 && op2 <= 0x23) {
                    entry = MODRM;
                    forced_register = 1;
                } else { /* 0F 78: VMREAD; 66 EXTRQ and F2 INSERTQ take imm8, imm8 */
                    entry = (flags & (OPSIZE | REP_F2)) ? MODRM | 2 : MODRM;
                }
            }
            break;
        }
        case 0xC4: case 0xC5: case 0x62: {
            /* VEX and EVEX: no 66/F2/F3/F0 or REX before them (the prefix bytes carry those). */
            if (flags & (OPSIZE | REP_F2 | REP_F3 | LOCK | HAS_REX)) return 0;
            unsigned map;
            if (op == 0xC5) {
                map = 1;
                i += 1;
            } else if (op == 0xC4) {
                if (i >= limit) return 0;
                map = code[i] & 0x1F;
                i += 2;
            } else {
                if (i + 2 >= limit) return 0;
                /* EVEX P0 bits 3:2 are zero, P1 bit 2 is one; maps 5 and 6 (FP16) are refused. */
                if ((code[i] & 0x0C) || !(code[i + 1] & 0x04)) return 0;
                map = code[i] & 0x03;
                i += 3;
            }
            if (i >= limit) return 0;
            uint8_t vop = code[i++];
            if (map == 1) {
                uint8_t legacy = opcodes[1][vop];
                if (vop == 0x77) {
                    if (op == 0x62) return 0;
                    entry = 0;    /* VZEROUPPER, VZEROALL: no ModRM */
                } else if (op == 0x62 && vop >= 0x78 && vop <= 0x7B) {
                    /* EVEX-only conversions (VCVTTPS2UDQ, VCVTPS2UDQ, VCVTUDQ2PD, VCVTUSI2SD,
                     * ...): ModRM, no immediate, where legacy 0F 78-7B are VMREAD, VMWRITE and
                     * nothing. GCC emits them at x86-64-v4. */
                    entry = MODRM;
                } else if (!(legacy & MODRM)) {
                    return 0;     /* no VEX form (Knights Corner's VEX jcc among them) */
                } else {
                    entry = legacy == (MODRM | 1) ? MODRM | 1 : MODRM;
                }
            } else if (map == 2 || map == 3) {
                entry = map == 3 ? MODRM | 1 : MODRM;
            } else {
                return 0;
            }
            break;
        }
        case 0x8F:
            /* POP r/m is /0; any other ModRM.reg makes it an XOP prefix, refused. */
            if (i >= limit || (code[i] & 0x38)) return 0;
            entry = MODRM;
            break;
        case 0xA0: case 0xA1: case 0xA2: case 0xA3:
            entry = 0;    /* moffs: an absolute address, not reported as a field */
            unreported = (flags & ADDRSIZE) ? 4 : 8;
            break;
        case 0xC6: case 0xC7:
            if (i >= limit) return 0;
            if (code[i] == 0xF8) {    /* XABORT imm8, XBEGIN rel32 */
                entry = op == 0xC6 ? MODRM | 1 : MODRM | REL | 4;
            } else if (code[i] & 0x38) {
                return 0;
            } else {
                entry = op == 0xC6 ? MODRM | 1 : MODRM | IZ | 4;
            }
            break;
        case 0xC8:    /* ENTER imm16, imm8 */
            entry = 3;
            break;
        case 0xF6: case 0xF7:    /* TEST (/0 and /1) has an immediate; NOT, NEG, MUL, DIV do not */
            if (i >= limit) return 0;
            entry = (code[i] & 0x30) ? MODRM : op == 0xF6 ? MODRM | 1 : MODRM | IZ | 4;
            break;
        default:
            return 0;
        }
    }

    if (entry & MODRM) {
        if (i >= limit) return 0;
        uint8_t m = code[i++];
        unsigned mod = m >> 6, rm = m & 7;
        if (mod != 3 && !forced_register) {
            if (rm == 4) {
                if (i >= limit) return 0;
                uint8_t sib = code[i++];
                if (mod == 0 && (sib & 7) == 5) i += 4;
            } else if (mod == 0 && rm == 5) {
                insn->rip_offset = (uint8_t)i;
                i += 4;
            }
            if (mod == 1) i += 1;
            else if (mod == 2) i += 4;
        }
    }

    size_t field = entry & FIELD;
    if (entry & IZ) {
        if ((entry & WIDE) && (flags & REX_W)) field = 8;
        else if ((flags & OPSIZE) && !(flags & REX_W)) field = 2;
    }
    if (entry & REL) {
        /* A 66-prefixed rel32 is rel16 on AMD and rel32 on Intel: refused. */
        if (field == 4 && (flags & OPSIZE)) return 0;
        insn->rel_offset = (uint8_t)i;
        insn->rel_size = (uint8_t)field;
    } else if (field) {
        insn->imm_offset = (uint8_t)i;
        insn->imm_size = (uint8_t)field;
    }
    i += field + unreported;
    if (i > limit) {
        *insn = (pb_x86_insn){0};
        return 0;
    }
    insn->length = (uint8_t)i;
    return i;
}

/* The fast path's answer as the six bytes of a pb_x86_insn in one little-endian word, per
 * table entry without SPECIAL: which bytes get the offset after ModRM (length, rel_offset or
 * imm_offset), and what is added to them (the field's size to length, rel_size or imm_size). */
#define FIELD_OF(e) ((uint64_t)((e) & FIELD))
#define IS_REL(e) (((e) & REL) != 0)
#define IS_IMM(e) (!IS_REL(e) && ((e) & FIELD) != 0)
#define TAKES_OFFSET(e) (0xFFull | (IS_REL(e) ? 0xFFull << 8 : 0) | (IS_IMM(e) ? 0xFFull << 32 : 0))
#define ADDS_SIZE(e) (FIELD_OF(e) | (IS_REL(e) ? FIELD_OF(e) << 16 : 0) | (IS_IMM(e) ? FIELD_OF(e) << 40 : 0))
#define LANES(e) { TAKES_OFFSET(e), ADDS_SIZE(e) }
#define LANES4(e) LANES(e), LANES((e) + 1), LANES((e) + 2), LANES((e) + 3)
#define LANES16(e) LANES4(e), LANES4((e) + 4), LANES4((e) + 8), LANES4((e) + 12)
#define LANES64(e) LANES16(e), LANES16((e) + 16), LANES16((e) + 32), LANES16((e) + 48)
static const uint64_t lanes[128][2] = { LANES64(0), LANES64(64) };
#undef FIELD_OF
#undef IS_REL
#undef IS_IMM
#undef TAKES_OFFSET
#undef ADDS_SIZE
#undef LANES
#undef LANES4
#undef LANES16
#undef LANES64

_Static_assert(sizeof(pb_x86_insn) == 6, "the fast path writes pb_x86_insn as six bytes of one word");

/* Most compiled instructions are a REX, a 0F, an opcode that the tables settle, and ModRM.
 * With 15 bytes in hand none of their reads needs a bounds check: the bytes come from one
 * 8-byte load, the answer from three table loads and arithmetic, with no branch a CPU
 * mispredicts often. This is the loop the runner's denormalise pass runs; the rest (legacy
 * prefixes, VEX, EVEX and the odd opcodes) goes the careful way. */
size_t pb_x86_decode(const uint8_t *code, size_t available, pb_x86_insn *insn)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (available < MAX_LENGTH) return decode_any(code, available, insn);
    uint64_t w;
    memcpy(&w, code, sizeof w);
    /* The walk is partly bound by latency (where this instruction ends is where the next
     * begins): the chain is a load, two selects, two table loads and a few adds. */
    size_t rex = (w & 0xF0) == 0x40;
    size_t wide = rex & (w >> 3);
    w = rex ? w >> 8 : w;
    size_t escape = (uint8_t)w == 0x0F;
    w = escape ? w >> 8 : w;
    size_t modrm_at = rex + escape + 1;
    uint8_t entry = opcodes[escape][(uint8_t)w];
    if (entry & SPECIAL) return decode_any(code, available, insn);
    uint8_t m = (uint8_t)(w >> 8), sib = (uint8_t)(w >> 16);
    uint64_t modrm_mask = 0 - (uint64_t)((entry >> 3) & 1);
    uint64_t sib_disp = (uint64_t)(((m & 0xC7) == 0x04) & ((sib & 7) == 5)) << 2;
    uint64_t after = modrm_at + ((modrm_bytes[m] + sib_disp) & modrm_mask);
    /* B8-BF under REX.W: an imm64, 4 bytes more in length and imm_size. */
    uint64_t imm64 = (uint64_t)((entry >> 6) & wide) << 2;
    size_t length = after + (entry & FIELD) + imm64;
    uint64_t rip = (modrm_at + 1) & modrm_mask & (0 - (uint64_t)((m & 0xC7) == 0x05));
    uint64_t out = ((after * 0x0000000100000101ull) & lanes[entry & 127][0]) + lanes[entry & 127][1] +
                   (rip << 24) + (imm64 | imm64 << 40);
    memcpy(insn, &out, sizeof *insn);
    return length;
#else
    return decode_any(code, available, insn);
#endif
}
