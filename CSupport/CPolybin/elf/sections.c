/* Section headers, strings, and the address map (pb_elf.h). */
#include "elf_internal.h"
#include <stdio.h>
#include <string.h>

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

/* ---- Sections ---- */

void pb_elf_section_label(pb_elf *elf, uint32_t index, char *out, size_t size) {
    snprintf(out, size, "%u", index);
    if (index >= elf->section_count) return;
    const uint8_t *table;
    uint64_t table_size;
    char saved[sizeof elf->reason];
    memcpy(saved, elf->reason, sizeof saved);
    if (pb_elf_names_table(elf, &table, &table_size) == PB_ELF_OK && table) {
        const char *name = pb_elf_string_in(table, table_size, pb_le32(pb_elf_section_header(elf, index)));
        if (name && *name) snprintf(out, size, "%u (%.64s)", index, name);
    }
    memcpy(elf->reason, saved, sizeof saved);
}

pb_elf_status pb_elf_section_at(pb_elf *elf, uint32_t index, pb_elf_section *out) {
    memset(out, 0, sizeof *out);
    out->name = "";
    if (index >= elf->section_count)
        return pb_elf_fail(elf, PB_ELF_E_ARGUMENT, "section %u of %u", index, elf->section_count);
    const uint8_t *h = pb_elf_section_header(elf, index);
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
    pb_elf_status status = pb_elf_names_table(elf, &table, &table_size);
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
        if (pb_le32(pb_elf_section_header(elf, i) + 4) != type) continue;
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
        const uint8_t *h = pb_elf_section_header(elf, i);
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
            const uint8_t *h = pb_elf_section_header(elf, i);
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
