/* The LN normaliser (pb_delta.h): the packer's half. It builds both function tables from
 * `.eh_frame`, matches them, learns the shift runs, runs the field pass, writes the side block
 * and proves the result by rebuilding the build through the runner's denormaliser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ln_internal.h"

static int by_start(const void *a, const void *b)
{
    const ln_function *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return x->size < y->size ? -1 : x->size > y->size;
}

/* Keeps the functions LN can walk: sorted, non-empty, mapped in the file, inside executable
 * code, and disjoint (one starting inside another is dropped). */
static uint64_t keep_walkable(pb_elf *elf, ln_function *table, uint64_t count)
{
    qsort(table, (size_t)count, sizeof *table, by_start);
    uint64_t kept = 0, end = 0, offset;
    for (uint64_t i = 0; i < count; i++) {
        ln_function f = table[i];
        if (f.size == 0 || f.start + f.size < f.start || (kept && f.start < end) ||
            !pb_elf_is_executable_range(elf, f.start, f.size) ||
            pb_elf_address_offset(elf, f.start, f.size, &offset) != PB_ELF_OK)
            continue;
        table[kept++] = (ln_function){f.start, f.size, -1};
        end = f.start + f.size;
    }
    return kept;
}

/* The function table: every FDE, or, without them, one pseudo-function per executable section. */
static ln_function *function_table(pb_elf *elf, uint64_t *count)
{
    pb_elf_section section;
    const uint8_t *bytes;
    uint64_t capacity = 1;
    /* only a section whose bytes are in the file: its size bounds the allocation */
    if (pb_elf_section_named(elf, ".eh_frame", &section) == PB_ELF_OK &&
        pb_elf_section_bytes(elf, &section, &bytes) == PB_ELF_OK)
        capacity += pb_elf_frames_capacity(section.size);
    capacity += elf->section_count;
    pb_elf_function *fdes = malloc(capacity * sizeof *fdes);
    ln_function *table = malloc(capacity * sizeof *table);
    if (!fdes || !table) {
        free(fdes);
        free(table);
        return NULL;
    }
    uint64_t found = 0, problems = 0;
    if (pb_elf_function_table(elf, fdes, capacity, &found, NULL, 0, &problems) != PB_ELF_OK || found > capacity) found = 0;
    for (uint64_t i = 0; i < found; i++) table[i] = (ln_function){fdes[i].start, fdes[i].size, -1};
    free(fdes);
    *count = keep_walkable(elf, table, found);
    if (*count == 0) {
        uint64_t n = 0;
        for (uint32_t i = 1; i < elf->section_count; i++)
            if (pb_elf_section_at(elf, i, &section) == PB_ELF_OK && section.type == PB_SHT_PROGBITS &&
                (section.flags & (PB_SHF_ALLOC | PB_SHF_EXECINSTR)) == (PB_SHF_ALLOC | PB_SHF_EXECINSTR))
                table[n++] = (ln_function){section.addr, section.size, -1};
        *count = keep_walkable(elf, table, n);
    }
    return table;
}

/* Whether two functions look like one another: sizes within a quarter (or 16 bytes). */
static int alike(const ln_function *a, const ln_function *b)
{
    uint64_t d = a->size > b->size ? a->size - b->size : b->size - a->size;
    uint64_t larger = a->size > b->size ? a->size : b->size;
    return d <= 16 || d * 4 <= larger;
}

/* T's functions to R's: the identity when the counts agree (every level build measured but
 * runtime-dispatch twins), else a greedy alignment on sizes that skips up to 8 on either side. */
static uint64_t match_functions(ln_function *t, uint64_t t_count, const ln_function *r, uint64_t r_count)
{
    uint64_t matched = 0;
    if (t_count == r_count) {
        for (uint64_t i = 0; i < t_count; i++) t[i].match = (int64_t)i;
        return t_count;
    }
    uint64_t i = 0, j = 0;
    while (i < t_count && j < r_count) {
        if (!alike(&t[i], &r[j])) {
            unsigned skip_r = 0, skip_t = 0;
            for (unsigned d = 1; d <= 8 && !skip_r && !skip_t; d++) {
                if (j + d < r_count && alike(&t[i], &r[j + d])) skip_r = d;
                else if (i + d < t_count && alike(&t[i + d], &r[j])) skip_t = d;
            }
            j += skip_r;
            i += skip_t;
        }
        t[i++].match = (int64_t)j++;
        matched++;
    }
    return matched;
}

/* One run per allocated section that R has too (by name): its data moved as a block. Kept only
 * while monotone in both address spaces, which the lookups need. */
static ln_run *learn_runs(pb_elf *t_elf, pb_elf *r_elf, uint64_t *count)
{
    ln_run *runs = malloc((t_elf->section_count + 1) * sizeof *runs);
    if (!runs) return NULL;
    uint64_t n = 0;
    for (uint32_t i = 1; i < t_elf->section_count; i++) {
        pb_elf_section s, r;
        if (pb_elf_section_at(t_elf, i, &s) != PB_ELF_OK || !(s.flags & PB_SHF_ALLOC) || !s.size ||
            pb_elf_section_named(r_elf, s.name, &r) != PB_ELF_OK || !(r.flags & PB_SHF_ALLOC))
            continue;
        if (n && (r.addr <= runs[n - 1].r_start || s.addr <= runs[n - 1].t_start)) continue;
        runs[n++] = (ln_run){s.addr, r.addr};
    }
    *count = n;
    return runs;
}

pb_delta_status pb_delta_normalise(const uint8_t *build, size_t size, const uint8_t *reference, size_t reference_size,
                                   uint8_t *out, uint8_t **side, size_t *side_size, pb_delta_stats *stats,
                                   char *reason, size_t reason_size)
{
    if (!build || !out || !side || !side_size || out == build)
        return ln_fail(PB_DELTA_E_ARGUMENT, reason, reason_size, "bad arguments");
    *side = NULL;
    *side_size = 0;
    pb_elf t_elf, r_elf;
    if (pb_elf_open(&t_elf, build, size, 0) != PB_ELF_OK)
        return ln_fail(PB_DELTA_E_UNSUPPORTED, reason, reason_size, "%s", t_elf.reason);
    uint16_t machine = t_elf.header.machine;
    if (machine != PB_EM_X86_64 && machine != PB_EM_AARCH64)
        return ln_fail(PB_DELTA_E_UNSUPPORTED, reason, reason_size, "machine %u is neither x86-64 nor aarch64", machine);
    if (reference && pb_elf_open(&r_elf, reference, reference_size, 0) != PB_ELF_OK)
        return ln_fail(PB_DELTA_E_UNSUPPORTED, reason, reason_size, "the reference: %s", r_elf.reason);
    if (reference && r_elf.header.machine != machine)
        return ln_fail(PB_DELTA_E_UNSUPPORTED, reason, reason_size, "the reference is for another machine");
    uint8_t arch = machine == PB_EM_X86_64 ? LN_ARCH_X86_64 : LN_ARCH_AARCH64;

    pb_delta_status status = PB_DELTA_OK;
    uint64_t t_count = 0, r_count = 0, run_count = 0, matched = 0;
    ln_function *t = function_table(&t_elf, &t_count), *r = NULL;
    ln_run *runs = NULL;
    int64_t *r_to_t = NULL;
    ln_map map = {.self = !reference, .t = t, .t_count = t_count, .r = t, .r_count = t_count};
    if (reference) {
        r = function_table(&r_elf, &r_count);
        runs = learn_runs(&t_elf, &r_elf, &run_count);
        r_to_t = malloc((r_count + 1) * sizeof *r_to_t);
        if (t && r && r_to_t) {
            matched = match_functions(t, t_count, r, r_count);
            for (uint64_t i = 0; i < r_count; i++) r_to_t[i] = -1;
            for (uint64_t i = 0; i < t_count; i++)
                if (t[i].match >= 0) r_to_t[t[i].match] = (int64_t)i;
        }
        map.r = r, map.r_count = r_count, map.r_to_t = r_to_t, map.runs = runs, map.run_count = run_count;
    } else if (t) {
        for (uint64_t i = 0; i < t_count; i++) t[i].match = (int64_t)i;
        matched = t_count;
    }
    ln_pass pass;
    memset(&pass, 0, sizeof pass);
    ln_buffer block = {0}, reference_block = {0};
    uint8_t *check = NULL;
    if (!t || (reference && (!r || !runs || !r_to_t))) {
        status = ln_fail(PB_DELTA_E_MEMORY, reason, reason_size, "out of memory for the function tables");
        goto done;
    }
    if (!ln_map_index(&map)) {
        status = ln_fail(PB_DELTA_E_MEMORY, reason, reason_size, "out of memory for the function index");
        goto done;
    }
    memcpy(out, build, size);
    pass.normalising = 1;
    pass.in = build, pass.out = out, pass.size = size, pass.elf = t_elf, pass.machine = machine, pass.map = &map;
    ln_pass_run(&pass);
    ln_side_write(&block, arch, reference ? 0 : LN_SIDE_SELF, pass.field, t, t_count, r, runs, run_count,
                  pass.escapes, pass.escape_count);
    if (reference) ln_side_write(&reference_block, arch, LN_SIDE_SELF, 0, r, r_count, NULL, NULL, 0, NULL, 0);
    check = malloc(size ? size : 1);
    if (pass.failed || block.failed || reference_block.failed || !check) {
        status = ln_fail(PB_DELTA_E_MEMORY, reason, reason_size, "out of memory for the side block");
        goto done;
    }
    /* The proof: the runner's own path must give the build back. */
    char why[160] = "";
    pb_delta_status back = pb_delta_denormalise(out, size, block.bytes, block.size, reference_block.bytes,
                                                reference_block.size, check, size, why, sizeof why);
    if (back != PB_DELTA_OK || memcmp(check, build, size) != 0) {
        status = ln_fail(PB_DELTA_E_MISMATCH, reason, reason_size, "the normalised build does not turn back into the build%s%s",
                      back != PB_DELTA_OK ? ": " : "", back != PB_DELTA_OK ? why : "");
        goto done;
    }
    if (stats)
        *stats = (pb_delta_stats){t_count, matched, pass.field, pass.escape_count, run_count};
    *side = block.bytes;
    *side_size = block.size;
    block.bytes = NULL;
done:
    free(check);
    free(block.bytes);
    free(reference_block.bytes);
    free(pass.escapes);
    free(t);
    free(r);
    free(runs);
    free(r_to_t);
    free(map.r_page);
    return status;
}
