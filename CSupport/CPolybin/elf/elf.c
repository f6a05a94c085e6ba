/* Opening an ELF file (the header and the extent of its tables), its program headers and
 * PT_INTERP (pb_elf.h): all the runner links. Every field is checked against the bytes present
 * before it is used: the file may be anything. */
#include "elf_internal.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { EHDR_SIZE = 64, SHDR_SIZE = 64, PHDR_SIZE = 56, PN_XNUM = 0xffff };

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

const uint8_t *pb_elf_section_header(const pb_elf *elf, uint32_t index) {
    return elf->base + elf->header.shoff + (uint64_t)index * elf->header.shentsize;
}

pb_elf_status pb_elf_names_table(pb_elf *elf, const uint8_t **table, uint64_t *size) {
    *table = NULL;
    *size = 0;
    if (elf->section_names == 0) return PB_ELF_OK;
    const uint8_t *h = pb_elf_section_header(elf, elf->section_names);
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
    return pb_elf_names_table(elf, &table, &size);
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
