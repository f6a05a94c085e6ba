/* .eh_frame: CIEs, FDEs, and the function table built on them (pb_elf.h). The layout is the
 * LSB's (Linux Standard Base Core, "Exception Frames"); every length, pointer and LEB128 is
 * read inside the entry it belongs to. */
#include "elf_internal.h"
#include <stdlib.h>
#include <string.h>

enum {
    DW_EH_PE_absptr = 0x00, DW_EH_PE_uleb128 = 0x01, DW_EH_PE_udata2 = 0x02, DW_EH_PE_udata4 = 0x03,
    DW_EH_PE_udata8 = 0x04, DW_EH_PE_sleb128 = 0x09, DW_EH_PE_sdata2 = 0x0a, DW_EH_PE_sdata4 = 0x0b,
    DW_EH_PE_sdata8 = 0x0c, DW_EH_PE_pcrel = 0x10, DW_EH_PE_datarel = 0x30, DW_EH_PE_indirect = 0x80,
    DW_EH_PE_omit = 0xff,
};

/* A read position inside one entry: `at` never passes `end`. */
typedef struct cursor {
    const pb_elf_frames *frames;
    uint64_t at, end;
    int bad;                    /* set by any read that would pass `end` */
} cursor;

static const uint8_t *take(cursor *c, uint64_t count) {
    if (c->bad || !pb_fits(c->at, count, c->end)) {
        c->bad = 1;
        return NULL;
    }
    const uint8_t *p = c->frames->bytes + c->at;
    c->at += count;
    return p;
}

static uint8_t u8(cursor *c) {
    const uint8_t *p = take(c, 1);
    return p ? *p : 0;
}

static uint64_t uleb(cursor *c) {
    uint64_t value = 0;
    for (unsigned shift = 0;; shift += 7) {
        const uint8_t *p = take(c, 1);
        if (!p) return 0;
        if (shift < 64) value |= (uint64_t)(*p & 0x7f) << shift;
        if (!(*p & 0x80)) return value;
    }
}

static int64_t sleb(cursor *c) {
    uint64_t value = 0;
    unsigned shift = 0;
    uint8_t byte;
    do {
        const uint8_t *p = take(c, 1);
        if (!p) return 0;
        byte = *p;
        if (shift < 64) value |= (uint64_t)(byte & 0x7f) << shift;
        shift += 7;
    } while (byte & 0x80);
    if (shift < 64 && (byte & 0x40)) value |= ~(uint64_t)0 << shift;
    return (int64_t)value;
}

/* A DW_EH_PE_* encoded pointer; 0 (and c->bad untouched) for an encoding this reader does not
 * know, reported through *known. Indirect pointers are given as the address of the pointer. */
static uint64_t encoded(cursor *c, uint8_t encoding, int apply, int *known) {
    uint64_t field = c->frames->address + c->at, value;
    const uint8_t *p;
    *known = 1;
    switch (encoding & 0x0f) {
    case DW_EH_PE_absptr: p = take(c, 8); value = p ? pb_le64(p) : 0; break;
    case DW_EH_PE_uleb128: value = uleb(c); break;
    case DW_EH_PE_udata2: p = take(c, 2); value = p ? pb_le16(p) : 0; break;
    case DW_EH_PE_udata4: p = take(c, 4); value = p ? pb_le32(p) : 0; break;
    case DW_EH_PE_udata8: p = take(c, 8); value = p ? pb_le64(p) : 0; break;
    case DW_EH_PE_sleb128: value = (uint64_t)sleb(c); break;
    case DW_EH_PE_sdata2: p = take(c, 2); value = p ? (uint64_t)(int64_t)(int16_t)pb_le16(p) : 0; break;
    case DW_EH_PE_sdata4: p = take(c, 4); value = p ? (uint64_t)(int64_t)(int32_t)pb_le32(p) : 0; break;
    case DW_EH_PE_sdata8: p = take(c, 8); value = p ? pb_le64(p) : 0; break;
    default: *known = 0; return 0;
    }
    if (!apply) return value;
    switch (encoding & 0x70) {
    case 0: return value;
    case DW_EH_PE_pcrel: return value + field;
    case DW_EH_PE_datarel: return value + c->frames->data_base;
    default: *known = 0; return 0;  /* textrel, funcrel, aligned: not used on Linux */
    }
}

pb_elf_status pb_elf_frames_open(pb_elf *elf, pb_elf_frames *out) {
    memset(out, 0, sizeof *out);
    pb_elf_section section, got;
    const uint8_t *bytes;
    pb_elf_status status = pb_elf_section_named(elf, ".eh_frame", &section);
    if (status != PB_ELF_OK || (status = pb_elf_section_bytes(elf, &section, &bytes)) != PB_ELF_OK) return status;
    out->bytes = bytes;
    out->size = section.size;
    out->address = section.addr;
    if (pb_elf_section_named(elf, ".got", &got) == PB_ELF_OK) out->data_base = got.addr;
    return PB_ELF_OK;
}

/* The entry at `offset`: its length, where its id field is and how wide, and where it ends.
 * Refuses a length that runs past the section. */
static pb_elf_status entry_at(pb_elf *elf, const pb_elf_frames *f, uint64_t offset, uint64_t *length, uint64_t *id_at,
                              unsigned *id_size, uint64_t *end) {
    if (!pb_fits(offset, 4, f->size))
        return pb_elf_fail(elf, PB_ELF_E_FRAME, "entry at .eh_frame offset %llu is cut short", (unsigned long long)offset);
    *length = pb_le32(f->bytes + offset);
    *id_at = offset + 4;
    *id_size = 4;
    if (*length == 0xffffffffu) {  /* 64-bit DWARF: the length follows, and the id is 8 bytes */
        if (!pb_fits(offset, 12, f->size))
            return pb_elf_fail(elf, PB_ELF_E_FRAME, "entry at .eh_frame offset %llu is cut short", (unsigned long long)offset);
        *length = pb_le64(f->bytes + offset + 4);
        *id_at = offset + 12;
        *id_size = 8;
    }
    if (!pb_fits(*id_at, *length, f->size) || (*length != 0 && *length < *id_size))
        return pb_elf_fail(elf, PB_ELF_E_FRAME, "entry at .eh_frame offset %llu claims %llu bytes, past the section's %llu",
                           (unsigned long long)offset, (unsigned long long)*length, (unsigned long long)f->size);
    *end = *id_at + *length;
    return PB_ELF_OK;
}

static pb_elf_status read_cie(pb_elf *elf, const pb_elf_frames *f, uint64_t offset, pb_elf_cie *cie) {
    uint64_t length, id_at, end;
    unsigned id_size;
    memset(cie, 0, sizeof *cie);
    pb_elf_status status = entry_at(elf, f, offset, &length, &id_at, &id_size, &end);
    if (status != PB_ELF_OK) return status;
    uint64_t id = id_size == 8 ? pb_le64(f->bytes + id_at) : pb_le32(f->bytes + id_at);
    if (id != 0) return pb_elf_fail(elf, PB_ELF_E_FRAME, "the CIE pointer names offset %llu, which is not a CIE", (unsigned long long)offset);
    cursor c = {f, id_at + id_size, end, 0};
    cie->offset = offset;
    cie->lsda_encoding = DW_EH_PE_omit;
    cie->personality_encoding = DW_EH_PE_omit;
    cie->fde_encoding = DW_EH_PE_absptr;
    cie->version = u8(&c);
    if (!c.bad && cie->version != 1 && cie->version != 3 && cie->version != 4)
        return pb_elf_fail(elf, PB_ELF_E_FRAME, "CIE at offset %llu has version %u", (unsigned long long)offset, cie->version);
    const uint8_t *augmentation = f->bytes + c.at;
    const uint8_t *nul = c.bad ? NULL : memchr(augmentation, 0, (size_t)(end - c.at));
    if (!nul) return pb_elf_fail(elf, PB_ELF_E_FRAME, "CIE at offset %llu: augmentation string without its NUL", (unsigned long long)offset);
    cie->augmentation = (const char *)augmentation;
    c.at += (uint64_t)(nul - augmentation) + 1;
    if (cie->version == 4) (void)take(&c, 2);  /* address and segment selector sizes */
    cie->code_align = uleb(&c);
    cie->data_align = sleb(&c);
    cie->return_register = cie->version == 1 ? u8(&c) : uleb(&c);
    if (cie->augmentation[0] == 'z') {
        uint64_t size = uleb(&c), data_end = c.at + size;
        if (c.bad || !pb_fits(c.at, size, end))
            return pb_elf_fail(elf, PB_ELF_E_FRAME, "CIE at offset %llu: augmentation data runs past the entry", (unsigned long long)offset);
        cursor data = {f, c.at, data_end, 0};
        int known = 1;
        for (const char *a = cie->augmentation + 1; *a && known && !data.bad; a++) {
            if (*a == 'L') cie->lsda_encoding = u8(&data);
            else if (*a == 'R') cie->fde_encoding = u8(&data);
            else if (*a == 'P') {
                cie->personality_encoding = u8(&data);
                cie->personality = encoded(&data, cie->personality_encoding, 1, &known);
            } else if (*a == 'S') cie->signal_frame = 1;
            else if (*a != 'B' && *a != 'G') break;  /* unknown: the 'z' length lets us skip the rest */
        }
        if (!known || data.bad)
            return pb_elf_fail(elf, PB_ELF_E_FRAME, "CIE at offset %llu: augmentation \"%.16s\" cannot be read", (unsigned long long)offset,
                               cie->augmentation);
        c.at = data_end;
    } else if (cie->augmentation[0] != 0) {
        return pb_elf_fail(elf, PB_ELF_E_FRAME, "CIE at offset %llu: augmentation \"%.16s\" is not supported", (unsigned long long)offset,
                           cie->augmentation);
    }
    if (c.bad) return pb_elf_fail(elf, PB_ELF_E_FRAME, "CIE at offset %llu is cut short", (unsigned long long)offset);
    cie->instructions = f->bytes + c.at;
    cie->instructions_size = end - c.at;
    return PB_ELF_OK;
}

pb_elf_status pb_elf_frames_next(pb_elf *elf, pb_elf_frames *f, pb_elf_fde *out) {
    memset(out, 0, sizeof *out);
    for (;;) {
        uint64_t offset = f->next, left = f->size > offset ? f->size - offset : 0, length, id_at, end;
        unsigned id_size;
        if (left == 0) return PB_ELF_END;
        if (left < 4) {
            /* Padding after the last entry is harmless; anything else is an entry cut short. */
            f->next = f->size;
            for (uint64_t i = 0; i < left; i++)
                if (f->bytes[offset + i]) return pb_elf_fail(elf, PB_ELF_E_FRAME, "entry at .eh_frame offset %llu is cut short", (unsigned long long)offset);
            return PB_ELF_END;
        }
        pb_elf_status status = entry_at(elf, f, offset, &length, &id_at, &id_size, &end);
        if (status != PB_ELF_OK) {
            f->next = f->size;  /* nothing after a lying length can be found */
            out->offset = offset;
            return status;
        }
        f->next = end;
        if (length == 0) continue;  /* a terminator: readelf reads on, and so does this walk */
        uint64_t id = id_size == 8 ? pb_le64(f->bytes + id_at) : pb_le32(f->bytes + id_at);
        if (id == 0) continue;  /* a CIE: read when an FDE names it */
        out->offset = offset;
        out->length = length;
        if (id > id_at)
            return pb_elf_fail(elf, PB_ELF_E_FRAME, "FDE at offset %llu: its CIE pointer (%llu) points before the section",
                               (unsigned long long)offset, (unsigned long long)id);
        if ((status = read_cie(elf, f, id_at - id, &out->cie)) != PB_ELF_OK) return status;
        cursor c = {f, id_at + id_size, end, 0};
        int known_start, known_size, known_lsda = 1;
        out->start = encoded(&c, out->cie.fde_encoding, 1, &known_start);
        out->size = encoded(&c, out->cie.fde_encoding & 0x0f, 0, &known_size);
        if (out->cie.augmentation[0] == 'z') {
            uint64_t size = uleb(&c), data_end = c.at + size;
            if (!c.bad && !pb_fits(c.at, size, end)) c.bad = 1;
            if (!c.bad && size > 0 && out->cie.lsda_encoding != DW_EH_PE_omit) {
                cursor data = {f, c.at, data_end, 0};
                out->lsda = encoded(&data, out->cie.lsda_encoding, 1, &known_lsda);
                c.bad = data.bad;
            }
            c.at = c.bad ? c.at : data_end;
        }
        if (!known_start || !known_size || !known_lsda)
            return pb_elf_fail(elf, PB_ELF_E_FRAME, "FDE at offset %llu: pointer encoding %#x is not supported", (unsigned long long)offset,
                               out->cie.fde_encoding);
        if (c.bad) return pb_elf_fail(elf, PB_ELF_E_FRAME, "FDE at offset %llu is cut short", (unsigned long long)offset);
        out->instructions = f->bytes + c.at;
        out->instructions_size = end - c.at;
        return PB_ELF_OK;
    }
}

uint64_t pb_elf_frames_capacity(uint64_t size) { return size / 8 + 1; }

static void add_problem(pb_elf_frame_problem *problems, uint64_t capacity, uint64_t *count, uint32_t kind, uint64_t offset,
                        uint64_t start, uint64_t size) {
    if (*count < capacity) problems[*count] = (pb_elf_frame_problem){kind, offset, start, size};
    (*count)++;
}

static int by_start(const void *a, const void *b) {
    const pb_elf_function *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->size != y->size) return x->size < y->size ? -1 : 1;
    return x->fde < y->fde ? -1 : x->fde > y->fde;
}

pb_elf_status pb_elf_function_table(pb_elf *elf, pb_elf_function *functions, uint64_t capacity, uint64_t *count,
                                    pb_elf_frame_problem *problems, uint64_t problem_capacity,
                                    uint64_t *problem_count) {
    *count = 0;
    *problem_count = 0;
    pb_elf_frames frames;
    pb_elf_status status = pb_elf_frames_open(elf, &frames);
    if (status == PB_ELF_E_NOT_FOUND) return PB_ELF_OK;
    if (status != PB_ELF_OK) return status;
    /* An object's pc_begin fields wait for their relocations: its addresses say nothing yet. */
    int relocatable = elf->header.type == PB_ET_REL;
    pb_elf_fde fde;
    while ((status = pb_elf_frames_next(elf, &frames, &fde)) != PB_ELF_END) {
        if (status != PB_ELF_OK) {
            add_problem(problems, problem_capacity, problem_count, PB_FRAME_BAD_ENTRY, fde.offset, 0, 0);
            continue;
        }
        if (*count < capacity) functions[*count] = (pb_elf_function){fde.start, fde.size, fde.offset};
        (*count)++;
        if (!relocatable && !pb_elf_is_executable_range(elf, fde.start, fde.size))
            add_problem(problems, problem_capacity, problem_count, PB_FRAME_OUTSIDE_CODE, fde.offset, fde.start, fde.size);
    }
    if (*count > capacity)
        return pb_elf_fail(elf, PB_ELF_E_ARGUMENT, "%llu functions, room for %llu", (unsigned long long)*count,
                           (unsigned long long)capacity);
    if (*count > 1) qsort(functions, (size_t)*count, sizeof *functions, by_start);
    uint64_t reach = 0;
    for (uint64_t i = 0; i < *count && !relocatable; i++) {
        const pb_elf_function *fn = &functions[i];
        if (i > 0 && fn->start < reach)
            add_problem(problems, problem_capacity, problem_count, PB_FRAME_OVERLAP, fn->fde, fn->start, fn->size);
        uint64_t end = fn->start + fn->size < fn->start ? UINT64_MAX : fn->start + fn->size;
        if (end > reach) reach = end;
    }
    return PB_ELF_OK;
}
