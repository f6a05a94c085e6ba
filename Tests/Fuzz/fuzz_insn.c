/* libFuzzer target for the delta's instruction layer (delta/x86_insn.c, delta/a64_insn.c).
 *
 * x86-64: the input is decoded at every offset from a heap copy of exactly its size, so ASan
 * sees any read past `available`; lengths stay within 15 and `available`, fields within the
 * instruction, a refusal leaves every field 0, and decoding is a function of the bytes it
 * covers (the same answer with only `length` bytes given, unless those are too few for the
 * fast path's window, where the careful path must agree too).
 * aarch64: every word decodes to a target that re-encodes to the same word; a second target
 * taken from the input re-encodes, when it fits, to a word that decodes to it and differs only
 * in the field; ADRP partners re-encode to themselves.
 *
 * Built by tools/fuzz; FuzzRegressionTests replays Tests/Fuzz/regressions/insn. */
#include "pb_insn.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_x86(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return;
    memcpy(copy, data, size);
    for (size_t at = 0; at < size; at++) {
        pb_x86_insn insn, again;
        size_t available = size - at;
        size_t length = pb_x86_decode(copy + at, available, &insn);
        if (length > 15 || length > available || length != insn.length) abort();
        if (!length) {
            if (insn.rel_offset || insn.rel_size || insn.rip_offset || insn.imm_offset || insn.imm_size) abort();
            continue;
        }
        if (insn.rel_offset + insn.rel_size > length || insn.imm_offset + insn.imm_size > length) abort();
        if (insn.rip_offset && insn.rip_offset + 4 > length) abort();
        if ((insn.rel_size != 0) != (insn.rel_offset != 0) || (insn.imm_size != 0) != (insn.imm_offset != 0)) abort();
        /* Only the instruction's own bytes matter: given exactly those, the answer is the same. */
        if (pb_x86_decode(copy + at, length, &again) != length || memcmp(&insn, &again, sizeof insn)) abort();
    }
    free(copy);
}

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static void check_a64(const uint8_t *data, size_t size)
{
    for (size_t at = 0; at + 4 <= size; at += 4) {
        uint32_t word = le32(data + at);
        uint64_t address = 0x400000 + at * 4099, target, decoded;
        uint32_t encoded;
        enum pb_a64_kind kind = pb_a64_classify(word);
        if (!pb_a64_target(word, address, &target)) {
            if (kind != PB_A64_OTHER || pb_a64_retarget(word, address, address, &encoded)) abort();
        } else {
            if (!pb_a64_retarget(word, address, target, &encoded) || encoded != word) abort();
            if (at + 8 <= size) {
                uint64_t other = address + (uint64_t)(int64_t)(int32_t)le32(data + at + 4) * 4;
                if (kind == PB_A64_ADRP) other &= ~0xFFFull;
                if (pb_a64_retarget(word, address, other, &encoded)) {
                    if (pb_a64_classify(encoded) != kind || !pb_a64_target(encoded, address, &decoded) || decoded != other) abort();
                }
            }
        }
        if (at + 8 <= size) {
            uint32_t low12, again;
            if (pb_a64_page_partner(word, le32(data + at + 4), &low12)) {
                if (low12 >= 4096 || !pb_a64_set_page_offset(le32(data + at + 4), low12, &again) || again != le32(data + at + 4)) abort();
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_x86(data, size);
    check_a64(data, size);
    return 0;
}
