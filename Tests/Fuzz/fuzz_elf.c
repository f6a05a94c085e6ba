/* libFuzzer target for the ELF reader (CSupport/CPolybin/elf): every accessor of pb_elf.h on
 * every input, as a full open and a segments-only open. The reader promises that whatever it
 * hands back points inside the input; this checks each pointer and string it returns, and
 * ASan catches any read past the input (libFuzzer's copy of it is exactly `size` bytes).
 *
 * Built by tools/fuzz; FuzzRegressionTests replays Tests/Fuzz/regressions/elf. */
#include "pb_elf.h"
#include <stdlib.h>
#include <string.h>

static const uint8_t *start, *finish;

/* Aborts unless [p, p + n) lies inside the input. */
static void inside(const void *p, uint64_t n) {
    const uint8_t *b = p;
    if (b < start || b > finish || n > (uint64_t)(finish - b)) abort();
}

static void string_inside(const char *s) {
    if (!s) abort();
    if (s[0] == 0 && (const uint8_t *)s < start) return;  /* the reader's own "" */
    inside(s, strlen(s) + 1);
}

static void sections(pb_elf *elf) {
    for (uint32_t i = 0; i < elf->section_count; i++) {
        pb_elf_section s;
        const uint8_t *bytes;
        if (pb_elf_section_at(elf, i, &s) == PB_ELF_OK) string_inside(s.name);
        if (pb_elf_section_bytes(elf, &s, &bytes) == PB_ELF_OK) inside(bytes, s.size);
        if (s.type == PB_SHT_RELA || s.type == PB_SHT_REL) {
            pb_elf_relocations r;
            if (pb_elf_relocations_open(elf, i, &r) != PB_ELF_OK) continue;
            inside(r.entries, r.count * r.entry_size);
            for (uint64_t j = 0; j < r.count; j++) {
                pb_elf_relocation rel;
                pb_elf_relocation_at(&r, j, &rel);
                (void)pb_elf_relocation_kind(elf->header.machine, rel.type);
            }
        }
        if (s.type == PB_SHT_NOTE) {
            pb_elf_notes notes;
            pb_elf_note note;
            if (pb_elf_notes_in_section(elf, &s, &notes) != PB_ELF_OK) continue;
            while (pb_elf_note_next(elf, &notes, &note) == PB_ELF_OK) {
                string_inside(note.name);
                inside(note.desc, note.desc_size);
            }
        }
    }
    pb_elf_section found;
    (void)pb_elf_section_named(elf, ".text", &found);
}

static void segments(pb_elf *elf) {
    for (uint32_t i = 0; i < elf->segment_count; i++) {
        pb_elf_segment s;
        const uint8_t *bytes;
        (void)pb_elf_segment_at(elf, i, &s);
        if (pb_elf_segment_bytes(elf, &s, &bytes) == PB_ELF_OK) inside(bytes, s.filesz);
        const uint8_t *at;
        if (pb_elf_address_bytes(elf, s.vaddr, 16, &at) == PB_ELF_OK) inside(at, 16);
        (void)pb_elf_is_executable_range(elf, s.vaddr, s.memsz);
    }
    const char *interpreter;
    if (pb_elf_interpreter(elf, &interpreter) == PB_ELF_OK && interpreter) string_inside(interpreter);
}

static void symbols(pb_elf *elf) {
    static const uint32_t types[] = {PB_SHT_SYMTAB, PB_SHT_DYNSYM};
    for (int t = 0; t < 2; t++) {
        pb_elf_symbols table;
        if (pb_elf_symbols_open(elf, types[t], &table) != PB_ELF_OK) continue;
        inside(table.entries, (uint64_t)table.count * 24);
        if (table.versions) inside(table.versions, (uint64_t)table.count * 2);
        for (uint32_t i = 0; i < table.count && i < 4096; i++) {
            pb_elf_symbol symbol;
            if (pb_elf_symbol_at(elf, &table, i, &symbol) == PB_ELF_OK) string_inside(symbol.name);
            uint16_t version;
            int hidden;
            const char *name;
            if (pb_elf_symbol_version(elf, &table, i, &version, &hidden, &name) == PB_ELF_OK && name) string_inside(name);
        }
        pb_elf_symbol main_symbol;
        (void)pb_elf_symbol_named(elf, &table, "main", 1, &main_symbol);
    }
    pb_elf_version_need needs[8];
    uint32_t count;
    pb_elf_status status = pb_elf_version_needs(elf, needs, 8, &count);
    if (status == PB_ELF_OK || status == PB_ELF_E_ARGUMENT)
        for (uint32_t i = 0; i < count && i < 8; i++) {
            string_inside(needs[i].file);
            string_inside(needs[i].name);
        }
}

static void dynamic(pb_elf *elf) {
    pb_elf_dynamic d;
    if (pb_elf_dynamic_open(elf, &d) != PB_ELF_OK) return;
    inside(d.entries, d.count * 16);
    inside(d.strings, d.strings_size);
    for (uint64_t i = 0; i < d.count; i++) {
        uint64_t tag, value;
        const char *s;
        pb_elf_dynamic_entry(&d, i, &tag, &value);
        if (pb_elf_dynamic_string(elf, &d, value, &s) == PB_ELF_OK) string_inside(s);
    }
}

static void frames(pb_elf *elf) {
    pb_elf_gnu_notes notes;
    if (pb_elf_read_gnu_notes(elf, &notes) == PB_ELF_OK && notes.build_id) inside(notes.build_id, notes.build_id_size);
    pb_elf_frames walk;
    if (pb_elf_frames_open(elf, &walk) != PB_ELF_OK) return;
    pb_elf_fde fde;
    pb_elf_status status;
    while ((status = pb_elf_frames_next(elf, &walk, &fde)) != PB_ELF_END) {
        if (status != PB_ELF_OK) continue;
        inside(fde.instructions, fde.instructions_size);
        inside(fde.cie.instructions, fde.cie.instructions_size);
        string_inside(fde.cie.augmentation);
    }
    uint64_t capacity = pb_elf_frames_capacity(walk.size), count, problem_count;
    pb_elf_function *functions = malloc((size_t)capacity * sizeof *functions);
    pb_elf_frame_problem problems[16];
    if (!functions) return;
    if (pb_elf_function_table(elf, functions, capacity, &count, problems, 16, &problem_count) == PB_ELF_OK) {
        if (count > capacity) abort();
        for (uint64_t i = 1; i < count; i++)
            if (functions[i].start < functions[i - 1].start) abort();
    }
    free(functions);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    start = data;
    finish = data + size;
    pb_elf_header header;
    char reason[160];
    (void)pb_elf_read_header(&header, data, size, reason, sizeof reason);
    pb_elf elf;
    for (unsigned flags = 0; flags <= PB_ELF_OPEN_SEGMENTS_ONLY; flags++) {
        if (pb_elf_open(&elf, data, size, flags) != PB_ELF_OK) {
            if (!memchr(elf.reason, 0, sizeof elf.reason) || elf.reason[0] == 0) abort();  /* a failure always says why */
            continue;
        }
        sections(&elf);
        segments(&elf);
        symbols(&elf);
        dynamic(&elf);
        frames(&elf);
    }
    return 0;
}
