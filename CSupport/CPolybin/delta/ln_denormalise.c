/* The LN denormaliser (pb_delta.h): N(T) and its side block back to T. This is the runner's
 * half: it allocates only the two function tables and the runs, bounded by the side blocks'
 * sizes, and writes only inside its output. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ln_internal.h"

const char *pb_delta_status_message(pb_delta_status status)
{
    switch (status) {
    case PB_DELTA_OK: return "ok";
    case PB_DELTA_E_UNSUPPORTED: return "not an x86-64 or aarch64 ELF program";
    case PB_DELTA_E_MISMATCH: return "label normalisation does not round-trip";
    case PB_DELTA_E_CORRUPT: return "corrupt normalised build or side block";
    case PB_DELTA_E_MEMORY: return "out of memory";
    case PB_DELTA_E_ARGUMENT: return "bad argument";
    }
    return "unknown status";
}

pb_delta_status ln_fail(pb_delta_status status, char *reason, size_t reason_size, const char *format, ...)
{
    if (reason && reason_size) {
        va_list args;
        va_start(args, format);
        vsnprintf(reason, reason_size, format, args);
        va_end(args);
    }
    return status;
}

/* A side block's function table: R's own (with self) or T's against R's. */
static ln_function *decode_functions(ln_side *side, const ln_function *r, uint64_t r_count)
{
    ln_function *table = malloc((side->function_count ? side->function_count : 1) * sizeof *table);
    if (table && !ln_side_functions(side, r, r_count, table)) {
        free(table);
        return NULL;
    }
    return table;
}

pb_delta_status pb_delta_denormalise(const uint8_t *normalised, size_t size, const uint8_t *side_bytes,
                                     size_t side_size, const uint8_t *reference_side, size_t reference_side_size,
                                     uint8_t *out, size_t out_capacity, char *reason, size_t reason_size)
{
    if (!normalised || !out || out_capacity < size)
        return ln_fail(PB_DELTA_E_ARGUMENT, reason, reason_size, "the output holds %zu bytes, the build %zu", out_capacity, size);
    ln_side side, reference;
    if (!ln_side_parse(side_bytes, side_size, &side))
        return ln_fail(PB_DELTA_E_CORRUPT, reason, reason_size, "the side block is malformed");
    int self = side.flags & LN_SIDE_SELF;
    if (!self && (!ln_side_parse(reference_side, reference_side_size, &reference) ||
                  !(reference.flags & LN_SIDE_SELF) || reference.arch != side.arch))
        return ln_fail(PB_DELTA_E_CORRUPT, reason, reason_size, "the reference's side block is malformed");
    /* each entry took at least two bytes of its side block: tables stay within a multiple of it */
    ln_pass pass;
    memset(&pass, 0, sizeof pass);
    pass.in = normalised;
    pass.out = out;
    pass.size = size;
    if (pb_elf_open(&pass.elf, normalised, size, 0) != PB_ELF_OK)
        return ln_fail(PB_DELTA_E_CORRUPT, reason, reason_size, "the normalised build is not ELF: %s", pass.elf.reason);
    pass.machine = pass.elf.header.machine;
    if ((side.arch == LN_ARCH_X86_64) != (pass.machine == PB_EM_X86_64) ||
        (side.arch == LN_ARCH_AARCH64) != (pass.machine == PB_EM_AARCH64))
        return ln_fail(PB_DELTA_E_CORRUPT, reason, reason_size, "the side block is for another machine");

    pb_delta_status status = PB_DELTA_OK;
    ln_function *r = NULL, *t = NULL;
    int64_t *r_to_t = NULL;
    ln_run *runs = NULL;
    ln_map map = {.self = self};
    if (self) {
        t = decode_functions(&side, NULL, 0);
        map.r = t;
        map.r_count = side.function_count;
    } else {
        r = decode_functions(&reference, NULL, 0);
        t = r ? decode_functions(&side, r, reference.function_count) : NULL;
        r_to_t = malloc((reference.function_count ? reference.function_count : 1) * sizeof *r_to_t);
        runs = malloc((side.run_count ? side.run_count : 1) * sizeof *runs);
        if (r && t && r_to_t && runs) {
            for (uint64_t i = 0; i < reference.function_count; i++) r_to_t[i] = -1;
            for (uint64_t i = 0; i < side.function_count; i++)
                if (t[i].match >= 0) r_to_t[t[i].match] = (int64_t)i;
            if (!ln_side_runs(&side, runs)) status = PB_DELTA_E_CORRUPT;
        }
        map.r = r;
        map.r_count = reference.function_count;
        map.r_to_t = r_to_t;
        map.runs = runs;
        map.run_count = side.run_count;
    }
    if (!t || (!self && (!r || !r_to_t || !runs))) status = PB_DELTA_E_CORRUPT;
    map.t = t;
    map.t_count = side.function_count;
    if (status == PB_DELTA_OK && !ln_map_index(&map)) status = PB_DELTA_E_MEMORY;
    if (status == PB_DELTA_OK) {
        memcpy(out, normalised, size);
        pass.map = &map;
        pass.escape_reader = side.escapes;
        pass.escapes_left = side.escape_count;
        pass.next_escape = UINT64_MAX;
        if (pass.escapes_left) {
            pass.escapes_left--;
            pass.next_escape = ln_get_varint(&pass.escape_reader);
        }
        ln_pass_run(&pass);
        if (pass.corrupt || pass.field != side.field_count || pass.escapes_left || pass.next_escape != UINT64_MAX ||
            pass.escape_reader.bad)
            status = PB_DELTA_E_CORRUPT;
    }
    free(r);
    free(t);
    free(r_to_t);
    free(runs);
    free(map.r_page);
    if (status == PB_DELTA_E_MEMORY) return ln_fail(status, reason, reason_size, "out of memory for the function tables");
    if (status != PB_DELTA_OK)
        return ln_fail(status, reason, reason_size, "the side block does not describe the normalised build");
    return PB_DELTA_OK;
}
