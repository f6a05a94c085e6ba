/* Symbol tables, symbol versions, the dynamic section and relocations (pb_elf.h). */
#include "elf_internal.h"
#include <string.h>

enum { SYM_SIZE = 24, DYN_SIZE = 16, RELA_SIZE = 24, REL_SIZE = 16, VERNEED_SIZE = 16, VERNAUX_SIZE = 16,
       VERDEF_SIZE = 20, VERDAUX_SIZE = 8 };

/* ---- Symbols ---- */

pb_elf_status pb_elf_symbols_in_section(pb_elf *elf, uint32_t index, pb_elf_symbols *out) {
    memset(out, 0, sizeof *out);
    pb_elf_section table, strings;
    const uint8_t *bytes, *string_bytes;
    char label[96];
    pb_elf_status status = pb_elf_section_at(elf, index, &table);
    if (status != PB_ELF_OK) return status;
    pb_elf_section_label(elf, index, label, sizeof label);
    if (table.type != PB_SHT_SYMTAB && table.type != PB_SHT_DYNSYM)
        return pb_elf_fail(elf, PB_ELF_E_SYMBOL, "section %s is not a symbol table", label);
    if ((table.entsize != 0 && table.entsize != SYM_SIZE) || table.size % SYM_SIZE != 0)
        return pb_elf_fail(elf, PB_ELF_E_SYMBOL, "symbol table %s has entries of %llu bytes and %llu bytes in all, not a multiple of 24",
                           label, (unsigned long long)table.entsize, (unsigned long long)table.size);
    if ((status = pb_elf_section_bytes(elf, &table, &bytes)) != PB_ELF_OK) return status;
    if (table.size / SYM_SIZE > UINT32_MAX) return pb_elf_fail(elf, PB_ELF_E_SYMBOL, "symbol table %s is too large", label);
    if (table.link == 0 || table.link >= elf->section_count)
        return pb_elf_fail(elf, PB_ELF_E_SYMBOL, "symbol table %s names string table %u of %u sections", label, table.link,
                           elf->section_count);
    if ((status = pb_elf_section_at(elf, table.link, &strings)) != PB_ELF_OK ||
        (status = pb_elf_section_bytes(elf, &strings, &string_bytes)) != PB_ELF_OK)
        return status;
    out->section = index;
    out->strings = table.link;
    out->count = (uint32_t)(table.size / SYM_SIZE);
    out->first_global = table.info;
    out->entries = bytes;
    if (table.info > out->count)
        return pb_elf_fail(elf, PB_ELF_E_SYMBOL, "symbol table %s says its first global is %u of %u symbols", label, table.info,
                           out->count);
    if (table.type != PB_SHT_DYNSYM) return PB_ELF_OK;
    for (uint32_t i = 0; i < elf->section_count; i++) {
        pb_elf_section versions;
        if (pb_elf_section_at(elf, i, &versions) != PB_ELF_OK || versions.type != PB_SHT_GNU_VERSYM || versions.link != index)
            continue;
        if ((status = pb_elf_section_bytes(elf, &versions, &bytes)) != PB_ELF_OK) return status;
        if (versions.size / 2 < out->count)
            return pb_elf_fail(elf, PB_ELF_E_VERSION, ".gnu.version holds %llu entries for %u dynamic symbols",
                               (unsigned long long)(versions.size / 2), out->count);
        out->versions = bytes;
        break;
    }
    return PB_ELF_OK;
}

pb_elf_status pb_elf_symbols_open(pb_elf *elf, uint32_t type, pb_elf_symbols *out) {
    pb_elf_section table;
    memset(out, 0, sizeof *out);
    pb_elf_status status = pb_elf_section_of_type(elf, type, 0, &table);
    return status == PB_ELF_OK ? pb_elf_symbols_in_section(elf, table.index, out) : status;
}

pb_elf_status pb_elf_symbol_at(pb_elf *elf, const pb_elf_symbols *symbols, uint32_t index, pb_elf_symbol *out) {
    memset(out, 0, sizeof *out);
    out->name = "";
    if (index >= symbols->count) return pb_elf_fail(elf, PB_ELF_E_ARGUMENT, "symbol %u of %u", index, symbols->count);
    const uint8_t *e = symbols->entries + (uint64_t)index * SYM_SIZE;
    uint32_t name = pb_le32(e);
    out->index = index;
    out->type = e[4] & 0xf;
    out->bind = e[4] >> 4;
    out->visibility = e[5] & 3;
    out->section = pb_le16(e + 6);
    out->value = pb_le64(e + 8);
    out->size = pb_le64(e + 16);
    if (name == 0) return PB_ELF_OK;
    pb_elf_status status = pb_elf_string(elf, symbols->strings, name, &out->name);
    if (status != PB_ELF_OK) {
        out->name = "";
        return pb_elf_fail(elf, PB_ELF_E_STRING, "symbol %u's name lies past its string table (offset %u)", index, name);
    }
    return PB_ELF_OK;
}

pb_elf_status pb_elf_symbol_named(pb_elf *elf, const pb_elf_symbols *symbols, const char *name, int defined,
                                  pb_elf_symbol *out) {
    for (uint32_t i = 1; i < symbols->count; i++) {
        pb_elf_status status = pb_elf_symbol_at(elf, symbols, i, out);
        if (status != PB_ELF_OK) return status;
        if (strcmp(out->name, name) == 0 && (!defined || out->section != PB_SHN_UNDEF)) return PB_ELF_OK;
    }
    return pb_elf_fail(elf, PB_ELF_E_NOT_FOUND, "no %ssymbol named %.64s", defined ? "defined " : "", name);
}

/* ---- Versions ---- */

/* Calls `visit` for each (library, version) of .gnu.version_r until it returns nonzero. A chain
 * of vn_next/vna_next links is followed at most as many steps as the section has entries of
 * room for, so a loop ends in PB_ELF_E_VERSION. */
typedef int (*need_visitor)(void *context, const pb_elf_version_need *need);

static pb_elf_status walk_needs(pb_elf *elf, need_visitor visit, void *context) {
    pb_elf_section section;
    const uint8_t *bytes;
    pb_elf_status status = pb_elf_section_of_type(elf, PB_SHT_GNU_VERNEED, 0, &section);
    if (status == PB_ELF_E_NOT_FOUND) return PB_ELF_OK;
    if (status != PB_ELF_OK || (status = pb_elf_section_bytes(elf, &section, &bytes)) != PB_ELF_OK) return status;
    uint64_t size = section.size, steps = size / VERNEED_SIZE, at = 0;
    for (;;) {
        if (steps-- == 0) return pb_elf_fail(elf, PB_ELF_E_VERSION, ".gnu.version_r's chain loops or overruns the section");
        if (!pb_fits(at, VERNEED_SIZE, size))
            return pb_elf_fail(elf, PB_ELF_E_VERSION, ".gnu.version_r entry at offset %llu lies past the section (%llu bytes)",
                               (unsigned long long)at, (unsigned long long)size);
        const uint8_t *need = bytes + at;
        pb_elf_version_need out;
        memset(&out, 0, sizeof out);
        if ((status = pb_elf_string(elf, section.link, pb_le32(need + 4), &out.file)) != PB_ELF_OK) return status;
        uint64_t aux = at + pb_le32(need + 8);
        for (uint16_t i = 0, count = pb_le16(need + 2); i < count; i++) {
            if (steps-- == 0) return pb_elf_fail(elf, PB_ELF_E_VERSION, ".gnu.version_r's chain loops or overruns the section");
            if (!pb_fits(aux, VERNAUX_SIZE, size))
                return pb_elf_fail(elf, PB_ELF_E_VERSION, ".gnu.version_r version at offset %llu lies past the section (%llu bytes)",
                                   (unsigned long long)aux, (unsigned long long)size);
            const uint8_t *a = bytes + aux;
            out.hash = pb_le32(a);
            out.flags = pb_le16(a + 4);
            out.index = pb_le16(a + 6);
            if ((status = pb_elf_string(elf, section.link, pb_le32(a + 8), &out.name)) != PB_ELF_OK) return status;
            if (visit(context, &out)) return PB_ELF_OK;
            if (pb_le32(a + 12) == 0 && i + 1 < count)
                return pb_elf_fail(elf, PB_ELF_E_VERSION, ".gnu.version_r: %s needs %u versions, and its chain ends after %u",
                                   out.file, count, i + 1);
            aux += pb_le32(a + 12);
        }
        if (pb_le32(need + 12) == 0) return PB_ELF_OK;
        at += pb_le32(need + 12);
    }
}

typedef struct need_list {
    pb_elf_version_need *out;
    uint32_t capacity, count;
} need_list;

static int collect_need(void *context, const pb_elf_version_need *need) {
    need_list *list = context;
    if (list->count < list->capacity) list->out[list->count] = *need;
    list->count++;
    return 0;
}

pb_elf_status pb_elf_version_needs(pb_elf *elf, pb_elf_version_need *out, uint32_t capacity, uint32_t *count) {
    need_list list = {out, capacity, 0};
    pb_elf_status status = walk_needs(elf, collect_need, &list);
    *count = list.count;
    if (status == PB_ELF_OK && list.count > capacity)
        return pb_elf_fail(elf, PB_ELF_E_ARGUMENT, "%u version needs, room for %u", list.count, capacity);
    return status;
}

typedef struct need_search {
    uint16_t index;
    const char *name;
} need_search;

static int find_need(void *context, const pb_elf_version_need *need) {
    need_search *search = context;
    if (need->index != search->index) return 0;
    search->name = need->name;
    return 1;
}

/* The name .gnu.version_d gives version `index`, NULL when it defines none of that index. */
static pb_elf_status defined_version(pb_elf *elf, uint16_t index, const char **name) {
    pb_elf_section section;
    const uint8_t *bytes;
    *name = NULL;
    pb_elf_status status = pb_elf_section_of_type(elf, PB_SHT_GNU_VERDEF, 0, &section);
    if (status == PB_ELF_E_NOT_FOUND) return PB_ELF_OK;
    if (status != PB_ELF_OK || (status = pb_elf_section_bytes(elf, &section, &bytes)) != PB_ELF_OK) return status;
    uint64_t at = 0, steps = section.size / VERDAUX_SIZE;
    for (;;) {
        if (steps-- == 0 || !pb_fits(at, VERDEF_SIZE, section.size))
            return pb_elf_fail(elf, PB_ELF_E_VERSION, ".gnu.version_d's chain loops or lies past the section");
        const uint8_t *def = bytes + at;
        if (pb_le16(def + 4) == index) {
            uint64_t aux = at + pb_le32(def + 12);
            if (!pb_fits(aux, VERDAUX_SIZE, section.size))
                return pb_elf_fail(elf, PB_ELF_E_VERSION, ".gnu.version_d name at offset %llu lies past the section", (unsigned long long)aux);
            return pb_elf_string(elf, section.link, pb_le32(bytes + aux), name);
        }
        if (pb_le32(def + 16) == 0) return PB_ELF_OK;
        at += pb_le32(def + 16);
    }
}

pb_elf_status pb_elf_symbol_version(pb_elf *elf, const pb_elf_symbols *dynsym, uint32_t index, uint16_t *version,
                                    int *hidden, const char **name) {
    *version = 0;
    *hidden = 0;
    *name = NULL;
    if (!dynsym->versions) return pb_elf_fail(elf, PB_ELF_E_NOT_FOUND, "no .gnu.version");
    if (index >= dynsym->count) return pb_elf_fail(elf, PB_ELF_E_ARGUMENT, "symbol %u of %u", index, dynsym->count);
    uint16_t raw = pb_le16(dynsym->versions + (uint64_t)index * 2);
    *hidden = raw >> 15;
    *version = raw & 0x7fff;
    if (*version < 2) return PB_ELF_OK;
    need_search search = {*version, NULL};
    pb_elf_status status = walk_needs(elf, find_need, &search);
    if (status != PB_ELF_OK) return status;
    if (search.name) {
        *name = search.name;
        return PB_ELF_OK;
    }
    if ((status = defined_version(elf, *version, name)) != PB_ELF_OK) return status;
    if (!*name)
        return pb_elf_fail(elf, PB_ELF_E_VERSION, "symbol %u has version %u, which neither .gnu.version_r nor .gnu.version_d names",
                           index, *version);
    return PB_ELF_OK;
}

/* ---- The dynamic section ---- */

static uint64_t count_before_null(const uint8_t *entries, uint64_t count) {
    for (uint64_t i = 0; i < count; i++)
        if (pb_le64(entries + i * DYN_SIZE) == PB_DT_NULL) return i;
    return count;
}

pb_elf_status pb_elf_dynamic_open(pb_elf *elf, pb_elf_dynamic *out) {
    memset(out, 0, sizeof *out);
    pb_elf_section section, strings;
    const uint8_t *bytes;
    pb_elf_status status = pb_elf_section_of_type(elf, PB_SHT_DYNAMIC, 0, &section);
    if (status == PB_ELF_OK) {
        if ((status = pb_elf_section_bytes(elf, &section, &bytes)) != PB_ELF_OK) return status;
        out->entries = bytes;
        out->count = count_before_null(bytes, section.size / DYN_SIZE);
        if ((status = pb_elf_section_at(elf, section.link, &strings)) != PB_ELF_OK ||
            (status = pb_elf_section_bytes(elf, &strings, &bytes)) != PB_ELF_OK)
            return pb_elf_fail(elf, PB_ELF_E_DYNAMIC, "the dynamic section's string table (section %u) lies", section.link);
        out->strings = (const char *)bytes;
        out->strings_size = strings.size;
        return PB_ELF_OK;
    }
    if (status != PB_ELF_E_NOT_FOUND) return status;
    /* Without section headers: PT_DYNAMIC, and its strings found by address. */
    pb_elf_segment segment;
    status = pb_elf_segment_of_type(elf, PB_PT_DYNAMIC, 0, &segment);
    if (status != PB_ELF_OK) return status == PB_ELF_E_NOT_FOUND ? pb_elf_fail(elf, status, "no dynamic section") : status;
    if ((status = pb_elf_segment_bytes(elf, &segment, &bytes)) != PB_ELF_OK) return status;
    out->entries = bytes;
    out->count = count_before_null(bytes, segment.filesz / DYN_SIZE);
    uint64_t address, size;
    if (pb_elf_dynamic_value(elf, out, PB_DT_STRTAB, &address) != PB_ELF_OK ||
        pb_elf_dynamic_value(elf, out, PB_DT_STRSZ, &size) != PB_ELF_OK)
        return pb_elf_fail(elf, PB_ELF_E_DYNAMIC, "the dynamic section names no string table (DT_STRTAB, DT_STRSZ)");
    if (pb_elf_address_bytes(elf, address, size, &bytes) != PB_ELF_OK)
        return pb_elf_fail(elf, PB_ELF_E_DYNAMIC, "the dynamic string table (%llu bytes at %#llx) lies outside the file",
                           (unsigned long long)size, (unsigned long long)address);
    out->strings = (const char *)bytes;
    out->strings_size = size;
    return PB_ELF_OK;
}

void pb_elf_dynamic_entry(const pb_elf_dynamic *dynamic, uint64_t index, uint64_t *tag, uint64_t *value) {
    const uint8_t *e = dynamic->entries + index * DYN_SIZE;
    *tag = pb_le64(e);
    *value = pb_le64(e + 8);
}

pb_elf_status pb_elf_dynamic_value(pb_elf *elf, const pb_elf_dynamic *dynamic, uint64_t tag, uint64_t *value) {
    for (uint64_t i = 0; i < dynamic->count; i++) {
        uint64_t t;
        pb_elf_dynamic_entry(dynamic, i, &t, value);
        if (t == tag) return PB_ELF_OK;
    }
    *value = 0;
    return pb_elf_fail(elf, PB_ELF_E_NOT_FOUND, "no dynamic entry %#llx", (unsigned long long)tag);
}

pb_elf_status pb_elf_dynamic_string(pb_elf *elf, const pb_elf_dynamic *dynamic, uint64_t offset, const char **out) {
    *out = pb_elf_string_in((const uint8_t *)dynamic->strings, dynamic->strings_size, offset);
    if (*out) return PB_ELF_OK;
    return pb_elf_fail(elf, PB_ELF_E_STRING, "dynamic string at offset %llu lies past its table (%llu bytes)",
                       (unsigned long long)offset, (unsigned long long)dynamic->strings_size);
}

/* ---- Relocations ---- */

pb_elf_status pb_elf_relocations_open(pb_elf *elf, uint32_t index, pb_elf_relocations *out) {
    memset(out, 0, sizeof *out);
    pb_elf_section section;
    const uint8_t *bytes;
    char label[96];
    pb_elf_status status = pb_elf_section_at(elf, index, &section);
    if (status != PB_ELF_OK) return status;
    pb_elf_section_label(elf, index, label, sizeof label);
    uint32_t entry = section.type == PB_SHT_RELA ? RELA_SIZE : section.type == PB_SHT_REL ? REL_SIZE : 0;
    if (entry == 0) return pb_elf_fail(elf, PB_ELF_E_RELOCATION, "section %s is not a relocation section", label);
    if ((section.entsize != 0 && section.entsize != entry) || section.size % entry != 0)
        return pb_elf_fail(elf, PB_ELF_E_RELOCATION, "relocation section %s: %llu bytes, not a multiple of %u", label,
                           (unsigned long long)section.size, entry);
    if (section.link >= elf->section_count)
        return pb_elf_fail(elf, PB_ELF_E_RELOCATION, "relocation section %s names symbol table %u of %u sections", label,
                           section.link, elf->section_count);
    if ((status = pb_elf_section_bytes(elf, &section, &bytes)) != PB_ELF_OK) return status;
    out->section = index;
    out->symbols = section.link;
    out->applies_to = section.info;
    out->entry_size = entry;
    out->count = section.size / entry;
    out->entries = bytes;
    return PB_ELF_OK;
}

void pb_elf_relocation_at(const pb_elf_relocations *relocations, uint64_t index, pb_elf_relocation *out) {
    const uint8_t *e = relocations->entries + index * relocations->entry_size;
    uint64_t info = pb_le64(e + 8);
    out->offset = pb_le64(e);
    out->type = (uint32_t)info;
    out->symbol = (uint32_t)(info >> 32);
    out->addend = relocations->entry_size == RELA_SIZE ? (int64_t)pb_le64(e + 16) : 0;
}

enum pb_elf_relocation_kind pb_elf_relocation_kind(uint16_t machine, uint32_t type) {
    if (machine == PB_EM_X86_64) return type == 8 ? PB_RELOC_RELATIVE : type == 37 ? PB_RELOC_IRELATIVE : PB_RELOC_OTHER;
    if (machine == PB_EM_AARCH64) return type == 1027 ? PB_RELOC_RELATIVE : type == 1032 ? PB_RELOC_IRELATIVE : PB_RELOC_OTHER;
    return PB_RELOC_OTHER;
}
