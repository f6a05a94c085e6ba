/* The LN field pass (pb_delta.h): the label map and the walkers that find every field, run in
 * both directions by the same code, so that the packer's normaliser and the runner's
 * denormaliser can never disagree on where a field is. A walker finds fields from bytes no
 * field rewrites (opcodes, ModRM, registers, ELF and .eh_frame structure), except a relocation's
 * slot, which is found from its offset field's T value, known to both sides.
 *
 * Each field kind is one rule: raw bytes -> T target t -> label ln_forward(t) -> bytes, and back.
 * Normalising checks that the label's bytes come back to the raw ones through the exact
 * denormalising path; a field that would not is left raw and its index becomes an escape. */
#include <stdlib.h>
#include <string.h>
#include "ln_internal.h"
#include "pb_insn.h"

/* ---- The label map ---- */

/* The function of `table` holding `address`, or -1 (tables are sorted and disjoint). */
static int64_t find_function(const ln_function *table, uint64_t count, uint64_t address)
{
    uint64_t low = 0, high = count;
    while (low < high) {
        uint64_t middle = low + (high - low) / 2;
        if (table[middle].start <= address) low = middle + 1;
        else high = middle;
    }
    if (low == 0) return -1;
    const ln_function *f = &table[low - 1];
    return address - f->start < f->size ? (int64_t)(low - 1) : -1;
}

int ln_map_index(ln_map *map)
{
    map->r_page = NULL;
    if (map->self || map->r_count == 0 || map->r_count > UINT32_MAX) return 1;
    uint64_t base = map->r[0].start & ~0xFFFull;
    const ln_function *last = &map->r[map->r_count - 1];
    uint64_t pages = ((last->start + last->size - 1 - base) >> 12) + 1;
    if (pages > 4 * map->r_count + 1024) return 1;    /* sparse: the binary search is as good */
    uint32_t *index = malloc(pages * sizeof *index);
    if (!index) return 0;
    uint64_t i = 0;
    for (uint64_t p = 0; p < pages; p++) {
        while (i < map->r_count && map->r[i].start + map->r[i].size <= base + (p << 12)) i++;
        index[p] = (uint32_t)i;
    }
    map->r_page = index;
    map->r_page_base = base;
    map->r_page_count = pages;
    return 1;
}

/* R's function holding v, through the page index. */
static int64_t find_r_function(const ln_map *map, uint64_t v)
{
    if (!map->r_page) return find_function(map->r, map->r_count, v);
    uint64_t page = (v - map->r_page_base) >> 12;
    if (v < map->r_page_base || page >= map->r_page_count) return -1;
    uint64_t i = map->r_page[page];
    while (i < map->r_count && map->r[i].start + map->r[i].size <= v) i++;
    return i < map->r_count && map->r[i].start <= v ? (int64_t)i : -1;
}

/* The last run starting at or before `address`, in T's addresses or R's (runs are monotone in
 * both), or NULL. */
static const ln_run *last_run(const ln_map *map, uint64_t address, int in_t)
{
    uint64_t low = 0, high = map->run_count;
    while (low < high) {
        uint64_t middle = low + (high - low) / 2;
        if ((in_t ? map->runs[middle].t_start : map->runs[middle].r_start) <= address) low = middle + 1;
        else high = middle;
    }
    return low ? &map->runs[low - 1] : NULL;
}

uint64_t ln_forward(const ln_map *map, uint64_t t, int64_t k)
{
    if (map->self) return t;
    if (k < 0 || t - map->t[k].start >= map->t[k].size) k = find_function(map->t, map->t_count, t);
    if (k >= 0 && map->t[k].match >= 0) {
        const ln_function *m = &map->r[map->t[k].match];
        uint64_t offset = t - map->t[k].start;
        if (offset < m->size) return m->start + offset;
    }
    const ln_run *run = last_run(map, t, 1);
    return run ? t - run->t_start + run->r_start : t;
}

uint64_t ln_backward(const ln_map *map, uint64_t v, int64_t m)
{
    if (map->self) return v;
    if (m < 0 || v - map->r[m].start >= map->r[m].size) m = find_r_function(map, v);
    if (m >= 0 && map->r_to_t[m] >= 0) return map->t[map->r_to_t[m]].start + (v - map->r[m].start);
    const ln_run *run = last_run(map, v, 0);
    return run ? v - run->r_start + run->t_start : v;
}

/* ---- Fields ---- */

/* Whether this field stays raw: normalising, the caller decides (escape()); denormalising, the
 * side block says so. */
static int escaped(ln_pass *pass)
{
    if (pass->normalising || pass->field != pass->next_escape) return 0;
    if (pass->escapes_left) {
        pass->escapes_left--;
        uint64_t gap = ln_get_varint(&pass->escape_reader);
        uint64_t next = pass->next_escape + 1 + gap;
        if (pass->escape_reader.bad || next < pass->next_escape) pass->corrupt = 1;
        pass->next_escape = next;
    } else {
        pass->next_escape = UINT64_MAX;
    }
    return 1;
}

static void escape(ln_pass *pass)
{
    if (pass->escape_count == pass->escape_capacity) {
        uint64_t capacity = pass->escape_capacity ? pass->escape_capacity * 2 : 1024;
        uint64_t *escapes = realloc(pass->escapes, capacity * sizeof *escapes);
        if (!escapes) { pass->failed = 1; return; }
        pass->escapes = escapes;
        pass->escape_capacity = capacity;
    }
    pass->escapes[pass->escape_count++] = pass->field;
}

static uint64_t load(const uint8_t *at, unsigned width)
{
    uint64_t value = 0;
    memcpy(&value, at, width);    /* little-endian hosts only (x86-64, aarch64) */
    return value;
}

static void store(uint8_t *at, uint64_t value, unsigned width) { memcpy(at, &value, width); }

static uint64_t extend(uint64_t value, unsigned width, int sign)
{
    if (width == 8) return value;
    uint64_t bit = 1ull << (width * 8 - 1);
    value &= (bit << 1) - 1;
    return sign ? (value ^ bit) - bit : value;
}

/* A field of `width` bytes at file offset `at` holding t - base (base 0: an absolute address).
 * A 4-byte label is the low half of the label; it is widened to the value nearest `near`.
 * `k` and `m` are the T and R functions to try first. Returns the field's T value. */
static uint64_t word_field(ln_pass *pass, uint64_t at, unsigned width, int sign, uint64_t base, uint64_t near,
                           int64_t k, int64_t m)
{
    const ln_map *map = pass->map;
    uint64_t raw = load(pass->in + at, width), t;
    if (escaped(pass)) {
        t = base + extend(raw, width, sign);
    } else if (pass->normalising) {
        t = base + extend(raw, width, sign);
        uint64_t label = ln_forward(map, t, k);
        uint64_t wide = width == 8 ? label : near + extend(label - near, 4, 1);
        uint64_t back = ln_backward(map, wide, m) - base;
        if (extend(back, width, 0) == raw) store(pass->out + at, label, width);
        else escape(pass);
    } else {
        uint64_t wide = width == 8 ? raw : near + extend(raw - near, 4, 1);
        t = ln_backward(map, wide, m);
        store(pass->out + at, t - base, width);
    }
    pass->field++;
    return t;
}

/* ---- Code ---- */

/* The distance between a label and the value it names (a power of two): aarch64 fields hold a
 * label modulo the field's span, widened to the value nearest the instruction's place in R. */
static uint64_t a64_span(enum pb_a64_kind kind)
{
    switch (kind) {
    case PB_A64_B26: return 1ull << 28;
    case PB_A64_IMM19: case PB_A64_ADR: return 1ull << 21;
    case PB_A64_TBZ14: return 1ull << 16;
    default: return 1ull << 33;    /* ADRP: +-4 GiB of pages */
    }
}

/* `word` holding `value` modulo its span (ADRP: value's page). */
static int a64_put_label(uint32_t word, uint64_t value, uint64_t span, uint32_t *out)
{
    uint64_t origin = (value + span / 2) & ~(span - 1);
    if (pb_a64_classify(word) == PB_A64_ADRP) value &= ~0xFFFull;
    return pb_a64_retarget(word, origin, value, out);
}

static uint64_t a64_get_label(uint32_t word, uint64_t span, uint64_t near)
{
    uint64_t modulo = 0;
    pb_a64_target(word, 0, &modulo);
    return near + (((modulo - near + span / 2) & (span - 1)) - span / 2);
}

/* The ADRP partners claimed so far in this function (a partner belongs to one ADRP). */
typedef struct a64_claims {
    uint64_t at[8];
    unsigned next;
} a64_claims;

static int claimed(const a64_claims *claims, uint64_t at)
{
    for (unsigned i = 0; i < 8; i++)
        if (claims->at[i] == at) return 1;
    return 0;
}

/* One word of a function at T address `address` (R address `near`), file offset `at`, with
 * `end` the function's end offset. */
static void a64_word(ln_pass *pass, uint64_t at, uint64_t end, uint64_t address, uint64_t near, int64_t k,
                     int64_t m, a64_claims *claims)
{
    const ln_map *map = pass->map;
    uint32_t word = (uint32_t)load(pass->in + at, 4);
    enum pb_a64_kind kind = pb_a64_classify(word);
    if (kind == PB_A64_OTHER) return;
    uint64_t span = a64_span(kind);
    uint64_t partner_at = 0;
    uint32_t partner = 0, low12 = 0;
    if (kind == PB_A64_ADRP) {
        for (uint64_t p = at + 4; p + 4 <= end && p <= at + 32; p += 4) {
            uint32_t candidate = (uint32_t)load(pass->in + p, 4);
            if (pb_a64_classify(candidate) == PB_A64_ADRP && (candidate & 31) == (word & 31)) break;
            if (pb_a64_page_partner(word, candidate, &low12)) {
                if (!claimed(claims, p)) partner_at = p, partner = candidate;
                break;
            }
        }
        if (!partner_at) return;    /* a lone page: not a field */
        claims->at[claims->next++ & 7] = partner_at;
    }
    if (escaped(pass)) {
        pass->field++;
        return;
    }
    uint32_t new_word = 0, new_partner = partner;
    if (pass->normalising) {
        uint64_t t = 0;
        pb_a64_target(word, address, &t);
        if (partner_at) t += low12;
        uint64_t label = ln_forward(map, t, k);
        uint32_t label_word, label_partner = partner, back_word, back_partner = partner, back_low12 = 0;
        int ok = a64_put_label(word, label, span, &label_word) &&
                 (!partner_at || pb_a64_set_page_offset(partner, (uint32_t)label & 0xFFF, &label_partner));
        if (ok) {    /* the denormalising path, on the label */
            uint64_t value = a64_get_label(label_word, span, near);
            if (partner_at) ok = pb_a64_page_partner(label_word, label_partner, &back_low12), value += back_low12;
            uint64_t back = ln_backward(map, value, m);
            ok = ok && pb_a64_retarget(label_word, address, partner_at ? back & ~0xFFFull : back, &back_word) &&
                 back_word == word &&
                 (!partner_at || (pb_a64_set_page_offset(label_partner, back & 0xFFF, &back_partner) &&
                                  back_partner == partner));
        }
        if (!ok) {
            escape(pass);
            pass->field++;
            return;
        }
        new_word = label_word, new_partner = label_partner;
    } else {
        uint64_t value = a64_get_label(word, span, near);
        if (partner_at) value += low12;
        uint64_t t = ln_backward(map, value, m);
        if (!pb_a64_retarget(word, address, partner_at ? t & ~0xFFFull : t, &new_word) ||
            (partner_at && !pb_a64_set_page_offset(partner, t & 0xFFF, &new_partner))) {
            pass->corrupt = 1;    /* no T has this: the normaliser proved every field */
            new_word = word;
        }
    }
    store(pass->out + at, new_word, 4);
    if (partner_at) store(pass->out + partner_at, new_partner, 4);
    pass->field++;
}

/* The runner's hot loop: word_field's denormalising path for x86-64 code, with the target's
 * own function (most branches stay inside it) tried before any lookup. Same results. */
static void x86_denormalise(ln_pass *pass, const ln_function *f, uint64_t at, int64_t m)
{
    const ln_map *map = pass->map;
    uint64_t r_start = 0, r_size = 0;
    if (!map->self && m >= 0) r_start = map->r[m].start, r_size = map->r[m].size;
    const uint8_t *in = pass->in + at;
    uint8_t *out = pass->out + at;
    uint64_t offset = 0;
    while (offset < f->size) {
        pb_x86_insn insn;
        size_t length = pb_x86_decode(in + offset, f->size - offset, &insn);
        if (!length) break;
        unsigned field = insn.rel_size == 4 ? insn.rel_offset : insn.rip_offset;
        if (field) {
            if (pass->field == pass->next_escape) {
                escaped(pass);
            } else {
                uint64_t end = f->start + offset + length;
                uint32_t label, value;
                memcpy(&label, in + offset + field, 4);
                uint64_t wide = end + (uint64_t)(int64_t)(int32_t)(label - (uint32_t)end), t;
                if (map->self) t = wide;
                else if (wide - r_start < r_size) t = f->start + (wide - r_start);
                else t = ln_backward(map, wide, -1);
                value = (uint32_t)(t - end);
                memcpy(out + offset + field, &value, 4);
            }
            pass->field++;
        }
        offset += length;
    }
}

static void walk_function(ln_pass *pass, int64_t k)
{
    const ln_map *map = pass->map;
    const ln_function *f = &map->t[k];
    uint64_t at;
    if (pb_elf_address_offset(&pass->elf, f->start, f->size, &at) != PB_ELF_OK) {
        if (!pass->normalising) pass->corrupt = 1;    /* the normaliser only lists mapped ones */
        return;
    }
    int64_t m = map->self ? k : f->match;
    uint64_t r_start = m >= 0 ? map->r[m].start : f->start;
    if (pass->machine == PB_EM_X86_64 && !pass->normalising) {
        x86_denormalise(pass, f, at, m);
    } else if (pass->machine == PB_EM_X86_64) {
        uint64_t offset = 0;
        while (offset < f->size) {
            pb_x86_insn insn;
            size_t length = pb_x86_decode(pass->in + at + offset, f->size - offset, &insn);
            if (!length) break;
            uint64_t end = f->start + offset + length;
            if (insn.rel_size == 4)
                word_field(pass, at + offset + insn.rel_offset, 4, 1, end, end, k, m);
            else if (insn.rip_offset)
                word_field(pass, at + offset + insn.rip_offset, 4, 1, end, end, k, m);
            offset += length;
        }
    } else {
        a64_claims claims = {{0}, 0};
        for (uint64_t offset = 0; offset + 4 <= f->size; offset += 4)
            a64_word(pass, at + offset, at + f->size, f->start + offset, r_start + offset, k, m, &claims);
    }
}

/* ---- Metadata ---- */

/* DW_EH_PE pointer forms LN rewrites: absolute or pc-relative, 4 or 8 bytes. */
static unsigned pointer_width(uint8_t encoding, int *sign)
{
    if (encoding & 0xE0) return 0;    /* indirect, or relative to text, data or function */
    switch (encoding & 0x0F) {
    case 0x00: case 0x04: *sign = 0; return 8;
    case 0x0C: *sign = 1; return 8;
    case 0x03: *sign = 0; return 4;
    case 0x0B: *sign = 1; return 4;
    default: return 0;
    }
}

static void walk_eh_frame(ln_pass *pass)
{
    pb_elf_frames frames;
    pb_elf_section section;
    if (pb_elf_frames_open(&pass->elf, &frames) != PB_ELF_OK ||
        pb_elf_section_named(&pass->elf, ".eh_frame", &section) != PB_ELF_OK)
        return;
    pb_elf_fde fde;
    while (pb_elf_frames_next(&pass->elf, &frames, &fde) == PB_ELF_OK) {
        int sign = 0;
        unsigned width = pointer_width(fde.cie.fde_encoding, &sign);
        if (!width) continue;
        uint64_t head = load(frames.bytes + fde.offset, 4) == 0xFFFFFFFFu ? 20 : 8;
        uint64_t field = fde.offset + head;
        if (field + width > frames.size) continue;
        uint64_t address = frames.address + field;
        uint64_t base = (fde.cie.fde_encoding & 0x70) == 0x10 ? address : 0;
        word_field(pass, section.offset + field, width, sign, base, address, -1, -1);
    }
}

static void walk_eh_frame_hdr(ln_pass *pass)
{
    pb_elf_section section;
    const uint8_t *bytes;
    if (pb_elf_section_named(&pass->elf, ".eh_frame_hdr", &section) != PB_ELF_OK ||
        pb_elf_section_bytes(&pass->elf, &section, &bytes) != PB_ELF_OK || section.size < 12 || bytes[0] != 1)
        return;
    /* version 1, eh_frame_ptr pcrel sdata4, count udata4, table datarel sdata4: what ld writes */
    if (bytes[1] != 0x1B || bytes[2] != 0x03 || bytes[3] != 0x3B) return;
    uint64_t address = section.addr, at = section.offset;
    word_field(pass, at + 4, 4, 1, address + 4, address + 4, -1, -1);
    uint64_t count = load(bytes + 8, 4);
    if (count > (section.size - 12) / 8) return;
    for (uint64_t i = 0; i < count; i++) {
        word_field(pass, at + 12 + 8 * i, 4, 1, address, address, -1, -1);
        word_field(pass, at + 16 + 8 * i, 4, 1, address, address, -1, -1);
    }
}

/* Whether the 8 bytes at `address` are a slot LN may rewrite: file-backed in a writable,
 * non-executable section (never code, metadata or the relocations themselves). */
typedef struct slot_places {
    uint32_t count;
    pb_elf_section section[16];
    int more;               /* more than 16: look the rest up section by section */
} slot_places;

static int slot_section(const pb_elf_section *section)
{
    return (section->flags & (PB_SHF_ALLOC | PB_SHF_WRITE | PB_SHF_EXECINSTR)) == (PB_SHF_ALLOC | PB_SHF_WRITE) &&
           section->type != PB_SHT_NOBITS;
}

static void find_slot_places(ln_pass *pass, slot_places *places)
{
    places->count = 0;
    places->more = 0;
    for (uint32_t i = 1; i < pass->elf.section_count; i++) {
        pb_elf_section section;
        if (pb_elf_section_at(&pass->elf, i, &section) != PB_ELF_OK || !slot_section(&section)) continue;
        if (places->count == 16) { places->more = 1; break; }
        places->section[places->count++] = section;
    }
}

static int slot_in(const pb_elf_section *section, uint64_t address, uint64_t size, uint64_t *at)
{
    if (address - section->addr >= section->size || section->size - (address - section->addr) < 8) return 0;
    *at = section->offset + (address - section->addr);
    return size >= 8 && *at <= size - 8;
}

static int slot_offset(ln_pass *pass, const slot_places *places, uint64_t address, uint64_t *at)
{
    for (uint32_t i = 0; i < places->count; i++)
        if (address - places->section[i].addr < places->section[i].size)
            return slot_in(&places->section[i], address, pass->size, at);
    if (!places->more) return 0;
    for (uint32_t i = 1; i < pass->elf.section_count; i++) {
        pb_elf_section section;
        if (pb_elf_section_at(&pass->elf, i, &section) == PB_ELF_OK && slot_section(&section) &&
            address - section.addr < section.size)
            return slot_in(&section, address, pass->size, at);
    }
    return 0;
}

static void walk_relocations(ln_pass *pass)
{
    slot_places places;
    find_slot_places(pass, &places);
    for (uint32_t i = 1; i < pass->elf.section_count; i++) {
        pb_elf_section section;
        pb_elf_relocations relocations;
        if (pb_elf_section_at(&pass->elf, i, &section) != PB_ELF_OK || section.type != PB_SHT_RELA ||
            !(section.flags & PB_SHF_ALLOC) || pb_elf_relocations_open(&pass->elf, i, &relocations) != PB_ELF_OK ||
            relocations.entry_size != 24)
            continue;
        uint64_t entries = (uint64_t)(relocations.entries - pass->in);
        for (uint64_t j = 0; j < relocations.count; j++) {
            pb_elf_relocation relocation;
            pb_elf_relocation_at(&relocations, j, &relocation);
            enum pb_elf_relocation_kind kind = pb_elf_relocation_kind(pass->machine, relocation.type);
            if (kind == PB_RELOC_OTHER) continue;
            uint64_t at = entries + j * 24;
            uint64_t slot = word_field(pass, at, 8, 0, 0, 0, -1, -1);
            word_field(pass, at + 16, 8, 0, 0, 0, -1, -1);
            uint64_t slot_at;
            if (kind == PB_RELOC_RELATIVE && slot_offset(pass, &places, slot, &slot_at))
                word_field(pass, slot_at, 8, 0, 0, 0, -1, -1);
        }
    }
}

void ln_pass_run(ln_pass *pass)
{
    for (uint64_t k = 0; k < pass->map->t_count && !pass->corrupt; k++) walk_function(pass, (int64_t)k);
    if (pass->elf.section_count == 0) return;
    walk_eh_frame(pass);
    walk_eh_frame_hdr(pass);
    walk_relocations(pass);
}
