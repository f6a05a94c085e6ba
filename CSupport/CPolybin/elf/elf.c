/* The ELF header, section headers, program headers and the address map (pb_elf.h). Every field
 * is checked against the bytes present before it is used: the file may be anything. */
#include "elf_internal.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { EHDR_SIZE = 64, SHDR_SIZE = 64, PHDR_SIZE = 56, PN_XNUM = 0xffff };

const char *pb_elf_status_message(pb_elf_status status) {
    switch (status) {
    case PB_ELF_OK: return "ok";
    case PB_ELF_END: return "no more entries";
    case PB_ELF_E_NOT_ELF: return "not an ELF file";
    case PB_ELF_E_CLASS: return "not a 64-bit ELF file";
    case PB_ELF_E_ENDIAN: return "not a little-endian ELF file";
    case PB_ELF_E_TRUNCATED: return "ELF file is truncated";
    case PB_ELF_E_HEADER: return "ELF header is inconsistent";
    case PB_ELF_E_SECTION: return "section header lies";
    case PB_ELF_E_SEGMENT: return "program header lies";
    case PB_ELF_E_STRING: return "string index lies";
    case PB_ELF_E_SYMBOL: return "symbol table is malformed";
    case PB_ELF_E_DYNAMIC: return "dynamic section is malformed";
    case PB_ELF_E_VERSION: return "symbol version section is malformed";
    case PB_ELF_E_RELOCATION: return "relocation section is malformed";
    case PB_ELF_E_NOTE: return "note is malformed";
    case PB_ELF_E_FRAME: return ".eh_frame is malformed";
    case PB_ELF_E_NOT_FOUND: return "not found";
    case PB_ELF_E_ARGUMENT: return "invalid argument";
    }
    return "unknown error";
}

static pb_elf_status vfail(char *reason, size_t size, pb_elf_status status, const char *format, va_list args) {
    if (reason && size) vsnprintf(reason, size, format, args);
    return status;
}

pb_elf_status pb_elf_fail(pb_elf *elf, pb_elf_status status, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vfail(elf->reason, sizeof elf->reason, status, format, args);
    va_end(args);
    return status;
}

static pb_elf_status fail_into(char *reason, size_t size, pb_elf_status status, const char *format, ...)
    __attribute__((format(printf, 4, 5)));
static pb_elf_status fail_into(char *reason, size_t size, pb_elf_status status, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vfail(reason, size, status, format, args);
    va_end(args);
    return status;
}

const char *pb_elf_string_in(const uint8_t *table, uint64_t size, uint64_t offset) {
    if (offset >= size) return NULL;
    const uint8_t *nul = memchr(table + offset, 0, (size_t)(size - offset));
    return nul ? (const char *)(table + offset) : NULL;
}

pb_elf_status pb_elf_read_header(pb_elf_header *h, const void *bytes, uint64_t size, char *reason, size_t reason_size) {
    const uint8_t *p = bytes;
    memset(h, 0, sizeof *h);
    if (size < 4 || memcmp(p, "\x7f" "ELF", 4) != 0) return fail_into(reason, reason_size, PB_ELF_E_NOT_ELF, "no ELF header");
    if (size >= 6) {
        if (p[4] != 2)
            return fail_into(reason, reason_size, PB_ELF_E_CLASS, p[4] == 1 ? "a 32-bit ELF file, not 64-bit" : "ELF class %u, not 64-bit", p[4]);
        if (p[5] != 1)
            return fail_into(reason, reason_size, PB_ELF_E_ENDIAN, p[5] == 2 ? "a big-endian ELF file, not little-endian" : "ELF data encoding %u, not little-endian", p[5]);
    }
    if (size < EHDR_SIZE)
        return fail_into(reason, reason_size, PB_ELF_E_TRUNCATED, "truncated inside the ELF header (%llu of 64 bytes)", (unsigned long long)size);
    h->elf_class = p[4];
    h->data = p[5];
    h->os_abi = p[7];
    h->type = pb_le16(p + 16);
    h->machine = pb_le16(p + 18);
    h->entry = pb_le64(p + 24);
    h->phoff = pb_le64(p + 32);
    h->shoff = pb_le64(p + 40);
    h->flags = pb_le32(p + 48);
    h->phentsize = pb_le16(p + 54);
    h->phnum = pb_le16(p + 56);
    h->shentsize = pb_le16(p + 58);
    h->shnum = pb_le16(p + 60);
    h->shstrndx = pb_le16(p + 62);
    return PB_ELF_OK;
}

static const uint8_t *section_header(const pb_elf *elf, uint32_t index) {
    return elf->base + elf->header.shoff + (uint64_t)index * elf->header.shentsize;
}

/* The section name table's bytes; 0 when the file names no such table. */
static pb_elf_status names_table(pb_elf *elf, const uint8_t **table, uint64_t *size) {
    *table = NULL;
    *size = 0;
    if (elf->section_names == 0) return PB_ELF_OK;
    const uint8_t *h = section_header(elf, elf->section_names);
    uint64_t offset = pb_le64(h + 24), bytes = pb_le64(h + 32);
    if (pb_le32(h + 4) == PB_SHT_NOBITS || !pb_fits(offset, bytes, elf->size))
        return pb_elf_fail(elf, PB_ELF_E_SECTION, "the section name table (section %u) lies past the end of the file",
                           elf->section_names);
    *table = elf->base + offset;
    *size = bytes;
    return PB_ELF_OK;
}

static pb_elf_status open_sections(pb_elf *elf) {
    const pb_elf_header *h = &elf->header;
    if (h->shoff == 0) return PB_ELF_OK;  /* no section headers (stripped of them, or never had any) */
    if (h->shentsize < SHDR_SIZE)
        return pb_elf_fail(elf, PB_ELF_E_HEADER, "section header entries of %u bytes, less than 64", h->shentsize);
    if (!pb_fits(h->shoff, h->shentsize, elf->size))
        return pb_elf_fail(elf, PB_ELF_E_SECTION, "the section headers (at offset %llu) lie past the end of the file (%llu bytes)",
                           (unsigned long long)h->shoff, (unsigned long long)elf->size);
    const uint8_t *zero = elf->base + h->shoff;
    /* Past 0xff00 sections the real count and name table index live in section 0. */
    uint64_t count = h->shnum ? h->shnum : pb_le64(zero + 32);
    uint64_t names = h->shstrndx == PB_SHN_XINDEX ? pb_le32(zero + 40) : h->shstrndx;
    if (count == 0) return PB_ELF_OK;
    if (count > (elf->size - h->shoff) / h->shentsize || count > UINT32_MAX)
        return pb_elf_fail(elf, PB_ELF_E_SECTION, "%llu section headers at offset %llu lie past the end of the file (%llu bytes)",
                           (unsigned long long)count, (unsigned long long)h->shoff, (unsigned long long)elf->size);
    if (names >= count)
        return pb_elf_fail(elf, PB_ELF_E_HEADER, "the section name table is section %llu of %llu", (unsigned long long)names,
                           (unsigned long long)count);
    elf->section_count = (uint32_t)count;
    elf->section_names = (uint32_t)names;
    const uint8_t *table;
    uint64_t size;
    return names_table(elf, &table, &size);
}

static pb_elf_status open_segments(pb_elf *elf) {
    const pb_elf_header *h = &elf->header;
    uint64_t count = h->phnum;
    if (count == PN_XNUM) {
        /* The real count is section 0's sh_info. */
        if (h->shoff == 0 || h->shentsize < SHDR_SIZE || !pb_fits(h->shoff, SHDR_SIZE, elf->size))
            return pb_elf_fail(elf, PB_ELF_E_HEADER, "e_phnum says section 0 holds the program header count, and there is no section 0");
        count = pb_le32(elf->base + h->shoff + 44);
    }
    if (count == 0) return PB_ELF_OK;
    if (h->phoff == 0) return pb_elf_fail(elf, PB_ELF_E_HEADER, "%llu program headers at offset 0, over the ELF header", (unsigned long long)count);
    if (h->phentsize < PHDR_SIZE)
        return pb_elf_fail(elf, PB_ELF_E_HEADER, "program header entries of %u bytes, less than 56", h->phentsize);
    if (h->phoff > elf->size || count > (elf->size - h->phoff) / h->phentsize)
        return pb_elf_fail(elf, PB_ELF_E_SEGMENT, "%llu program headers at offset %llu lie past the end of the file (%llu bytes)",
                           (unsigned long long)count, (unsigned long long)h->phoff, (unsigned long long)elf->size);
    elf->segment_count = (uint32_t)count;
    return PB_ELF_OK;
}

pb_elf_status pb_elf_open(pb_elf *elf, const void *bytes, uint64_t size, unsigned flags) {
    memset(elf, 0, sizeof *elf);
    elf->base = bytes;
    elf->size = size;
    pb_elf_status status = pb_elf_read_header(&elf->header, bytes, size, elf->reason, sizeof elf->reason);
    if (status != PB_ELF_OK) return status;
    if (!(flags & PB_ELF_OPEN_SEGMENTS_ONLY) && (status = open_sections(elf)) != PB_ELF_OK) {
        elf->section_count = 0;
        return status;
    }
    return open_segments(elf);
}

/* ---- Sections ---- */

void pb_elf_section_label(pb_elf *elf, uint32_t index, char *out, size_t size) {
    snprintf(out, size, "%u", index);
    if (index >= elf->section_count) return;
    const uint8_t *table;
    uint64_t table_size;
    char saved[sizeof elf->reason];
    memcpy(saved, elf->reason, sizeof saved);
    if (names_table(elf, &table, &table_size) == PB_ELF_OK && table) {
        const char *name = pb_elf_string_in(table, table_size, pb_le32(section_header(elf, index)));
        if (name && *name) snprintf(out, size, "%u (%.64s)", index, name);
    }
    memcpy(elf->reason, saved, sizeof saved);
}

pb_elf_status pb_elf_section_at(pb_elf *elf, uint32_t index, pb_elf_section *out) {
    memset(out, 0, sizeof *out);
    out->name = "";
    if (index >= elf->section_count)
        return pb_elf_fail(elf, PB_ELF_E_ARGUMENT, "section %u of %u", index, elf->section_count);
    const uint8_t *h = section_header(elf, index);
    out->index = index;
    out->type = pb_le32(h + 4);
    out->flags = pb_le64(h + 8);
    out->addr = pb_le64(h + 16);
    out->offset = pb_le64(h + 24);
    out->size = pb_le64(h + 32);
    out->link = pb_le32(h + 40);
    out->info = pb_le32(h + 44);
    out->align = pb_le64(h + 48);
    out->entsize = pb_le64(h + 56);
    const uint8_t *table;
    uint64_t table_size;
    pb_elf_status status = names_table(elf, &table, &table_size);
    if (status != PB_ELF_OK || !table) return status;
    const char *name = pb_elf_string_in(table, table_size, pb_le32(h));
    if (!name)
        return pb_elf_fail(elf, PB_ELF_E_STRING, "section %u's name lies past the section name table (offset %u of %llu bytes)",
                           index, pb_le32(h), (unsigned long long)table_size);
    out->name = name;
    return PB_ELF_OK;
}

pb_elf_status pb_elf_section_named(pb_elf *elf, const char *name, pb_elf_section *out) {
    for (uint32_t i = 0; i < elf->section_count; i++) {
        pb_elf_status status = pb_elf_section_at(elf, i, out);
        if (status != PB_ELF_OK) return status;
        if (strcmp(out->name, name) == 0) return PB_ELF_OK;
    }
    return pb_elf_fail(elf, PB_ELF_E_NOT_FOUND, "no section named %.64s", name);
}

pb_elf_status pb_elf_section_of_type(pb_elf *elf, uint32_t type, uint32_t from, pb_elf_section *out) {
    for (uint32_t i = from; i < elf->section_count; i++) {
        if (pb_le32(section_header(elf, i) + 4) != type) continue;
        return pb_elf_section_at(elf, i, out);
    }
    return pb_elf_fail(elf, PB_ELF_E_NOT_FOUND, "no section of type %#x", type);
}

pb_elf_status pb_elf_section_range(pb_elf *elf, const pb_elf_section *s, uint64_t offset, uint64_t count,
                                   const uint8_t **bytes) {
    *bytes = NULL;
    char label[96];
    if (s->type == PB_SHT_NOBITS) {
        pb_elf_section_label(elf, s->index, label, sizeof label);
        return pb_elf_fail(elf, PB_ELF_E_SECTION, "section %s holds no bytes in the file (SHT_NOBITS)", label);
    }
    if (!pb_fits(s->offset, s->size, elf->size)) {
        pb_elf_section_label(elf, s->index, label, sizeof label);
        return pb_elf_fail(elf, PB_ELF_E_SECTION, "section %s (%llu bytes at offset %llu) lies past the end of the file (%llu bytes)",
                           label, (unsigned long long)s->size, (unsigned long long)s->offset, (unsigned long long)elf->size);
    }
    if (!pb_fits(offset, count, s->size)) {
        pb_elf_section_label(elf, s->index, label, sizeof label);
        return pb_elf_fail(elf, PB_ELF_E_ARGUMENT, "%llu bytes at offset %llu lie outside section %s (%llu bytes)",
                           (unsigned long long)count, (unsigned long long)offset, label, (unsigned long long)s->size);
    }
    *bytes = elf->base + s->offset + offset;
    return PB_ELF_OK;
}

pb_elf_status pb_elf_section_bytes(pb_elf *elf, const pb_elf_section *s, const uint8_t **bytes) {
    return pb_elf_section_range(elf, s, 0, s->size, bytes);
}

pb_elf_status pb_elf_string(pb_elf *elf, uint32_t index, uint64_t offset, const char **out) {
    *out = NULL;
    pb_elf_section table;
    const uint8_t *bytes = NULL;
    pb_elf_status status = pb_elf_section_at(elf, index, &table);
    if (status == PB_ELF_OK) status = pb_elf_section_bytes(elf, &table, &bytes);
    if (status != PB_ELF_OK) return status;
    *out = pb_elf_string_in(bytes, table.size, offset);
    if (*out) return PB_ELF_OK;
    char label[96];
    pb_elf_section_label(elf, index, label, sizeof label);
    return pb_elf_fail(elf, PB_ELF_E_STRING, "string at offset %llu lies past string table %s (%llu bytes)",
                       (unsigned long long)offset, label, (unsigned long long)table.size);
}

/* ---- Segments ---- */

pb_elf_status pb_elf_segment_at(pb_elf *elf, uint32_t index, pb_elf_segment *out) {
    memset(out, 0, sizeof *out);
    if (index >= elf->segment_count)
        return pb_elf_fail(elf, PB_ELF_E_ARGUMENT, "program header %u of %u", index, elf->segment_count);
    const uint8_t *h = elf->base + elf->header.phoff + (uint64_t)index * elf->header.phentsize;
    out->index = index;
    out->type = pb_le32(h);
    out->flags = pb_le32(h + 4);
    out->offset = pb_le64(h + 8);
    out->vaddr = pb_le64(h + 16);
    out->paddr = pb_le64(h + 24);
    out->filesz = pb_le64(h + 32);
    out->memsz = pb_le64(h + 40);
    out->align = pb_le64(h + 48);
    if (!pb_fits(out->offset, out->filesz, elf->size))
        return pb_elf_fail(elf, PB_ELF_E_SEGMENT, "program header %u (%llu bytes at offset %llu) lies past the end of the file (%llu bytes)",
                           index, (unsigned long long)out->filesz, (unsigned long long)out->offset, (unsigned long long)elf->size);
    return PB_ELF_OK;
}

pb_elf_status pb_elf_segment_of_type(pb_elf *elf, uint32_t type, uint32_t from, pb_elf_segment *out) {
    /* Pointers into the table are formed only for entries open_segments checked. */
    for (uint32_t i = from; i < elf->segment_count; i++)
        if (pb_le32(elf->base + elf->header.phoff + (uint64_t)i * elf->header.phentsize) == type) return pb_elf_segment_at(elf, i, out);
    memset(out, 0, sizeof *out);
    return pb_elf_fail(elf, PB_ELF_E_NOT_FOUND, "no program header of type %#x", type);
}

pb_elf_status pb_elf_segment_bytes(pb_elf *elf, const pb_elf_segment *segment, const uint8_t **bytes) {
    *bytes = NULL;
    if (!pb_fits(segment->offset, segment->filesz, elf->size))
        return pb_elf_fail(elf, PB_ELF_E_SEGMENT, "program header %u (%llu bytes at offset %llu) lies past the end of the file (%llu bytes)",
                           segment->index, (unsigned long long)segment->filesz, (unsigned long long)segment->offset,
                           (unsigned long long)elf->size);
    *bytes = elf->base + segment->offset;
    return PB_ELF_OK;
}

pb_elf_status pb_elf_interpreter(pb_elf *elf, const char **path) {
    *path = NULL;
    pb_elf_segment segment;
    const uint8_t *bytes = NULL;
    pb_elf_status status = pb_elf_segment_of_type(elf, PB_PT_INTERP, 0, &segment);
    if (status == PB_ELF_E_NOT_FOUND) return PB_ELF_OK;
    if (status == PB_ELF_OK) status = pb_elf_segment_bytes(elf, &segment, &bytes);
    if (status != PB_ELF_OK) return status;
    if (segment.filesz == 0 || !memchr(bytes, 0, (size_t)segment.filesz))
        return pb_elf_fail(elf, PB_ELF_E_SEGMENT, "the interpreter path (PT_INTERP) has no terminating NUL");
    *path = (const char *)bytes;
    return PB_ELF_OK;
}

/* ---- Addresses ---- */

/* 1 when [address, address + count) lies inside [start, start + size). */
static int within(uint64_t address, uint64_t count, uint64_t start, uint64_t size) {
    return address >= start && pb_fits(address - start, count, size);
}

pb_elf_status pb_elf_address_offset(pb_elf *elf, uint64_t address, uint64_t count, uint64_t *offset) {
    int loads = 0;
    for (uint32_t i = 0; i < elf->segment_count; i++) {
        pb_elf_segment s;
        pb_elf_status status = pb_elf_segment_at(elf, i, &s);
        if (s.type != PB_PT_LOAD) continue;
        loads = 1;
        if (status == PB_ELF_OK && within(address, count, s.vaddr, s.filesz)) {
            *offset = s.offset + (address - s.vaddr);
            return PB_ELF_OK;
        }
    }
    for (uint32_t i = 0; !loads && i < elf->section_count; i++) {
        const uint8_t *h = section_header(elf, i);
        uint64_t flags = pb_le64(h + 8), addr = pb_le64(h + 16), off = pb_le64(h + 24), size = pb_le64(h + 32);
        if (!(flags & PB_SHF_ALLOC) || pb_le32(h + 4) == PB_SHT_NOBITS || !pb_fits(off, size, elf->size)) continue;
        if (within(address, count, addr, size)) {
            *offset = off + (address - addr);
            return PB_ELF_OK;
        }
    }
    return pb_elf_fail(elf, PB_ELF_E_NOT_FOUND, "no %s holds the %llu bytes at address %#llx in the file",
                       loads ? "loaded segment" : "allocated section", (unsigned long long)count, (unsigned long long)address);
}

pb_elf_status pb_elf_address_bytes(pb_elf *elf, uint64_t address, uint64_t count, const uint8_t **bytes) {
    uint64_t offset;
    pb_elf_status status = pb_elf_address_offset(elf, address, count, &offset);
    *bytes = status == PB_ELF_OK ? elf->base + offset : NULL;
    return status;
}

int pb_elf_is_executable_range(pb_elf *elf, uint64_t address, uint64_t size) {
    if (elf->section_count > 0) {
        for (uint32_t i = 0; i < elf->section_count; i++) {
            const uint8_t *h = section_header(elf, i);
            if ((pb_le64(h + 8) & PB_SHF_EXECINSTR) && within(address, size, pb_le64(h + 16), pb_le64(h + 32))) return 1;
        }
        return 0;
    }
    for (uint32_t i = 0; i < elf->segment_count; i++) {
        pb_elf_segment s;
        (void)pb_elf_segment_at(elf, i, &s);
        if (s.type == PB_PT_LOAD && (s.flags & PB_PF_X) && within(address, size, s.vaddr, s.memsz)) return 1;
    }
    return 0;
}
