/* What label normalisation (pb_delta.h, issue 18) saves on the payload of one program's level
 * builds, and how fast the runner's half runs.
 *
 *   ln_sizes BASE BUILD...        (the builds in level order: each chain step is from the one before)
 *
 * Per build: zstd -19 --long=27 of the base alone; today's delta (the build with the raw base
 * as zstd's prefix, as polybin pack does); LN star (N(build) with N(base) as prefix, plus its
 * side block at zstd -19) and LN chain (N(build) with N(previous build) as prefix, plus its
 * side block); sizes in bytes and, on the last line, the whole payload as a multiple of the
 * base alone. Labels always live in the base's address space, so both LN columns share one
 * normalisation. Then the denormaliser's speed: the best of 20 runs by thread CPU time, in MB
 * of the whole file and of its executable sections per second.
 *
 * Build it with the C files of CSupport/CPolybin/delta and CSupport/CPolybin/elf:
 *   cc -O2 -I CSupport/CPolybin/include tools/bench-support/ln_sizes.c \
 *      $(ls CSupport/CPolybin/delta/[a-z]*.c CSupport/CPolybin/elf/[a-z]*.c) -lzstd -o ln_sizes */
#define ZSTD_STATIC_LINKING_ONLY
#include "pb_delta.h"
#include "pb_elf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

typedef struct build {
    const char *path;
    uint8_t *bytes, *normalised, *side;
    size_t size, side_size;
    pb_delta_stats stats;
} build;

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *bytes = malloc(n > 0 ? (size_t)n : 1);
    *size = bytes && n > 0 && fread(bytes, 1, (size_t)n, f) == (size_t)n ? (size_t)n : 0;
    fclose(f);
    return *size ? bytes : NULL;
}

/* zstd -19 --long=27 of `src`, with `prefix` as a raw-content prefix when given. */
static size_t compressed(const uint8_t *src, size_t size, const uint8_t *prefix, size_t prefix_size)
{
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    size_t capacity = ZSTD_compressBound(size);
    void *out = malloc(capacity);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 19);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 27);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_enableLongDistanceMatching, 1);
    if (prefix) ZSTD_CCtx_refPrefix(cctx, prefix, prefix_size);
    size_t n = ZSTD_compress2(cctx, out, capacity, src, size);
    free(out);
    ZSTD_freeCCtx(cctx);
    if (ZSTD_isError(n)) {
        fprintf(stderr, "ln_sizes: zstd: %s\n", ZSTD_getErrorName(n));
        exit(1);
    }
    return n;
}

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The bytes of executable sections (what the code walk covers, at most). */
static uint64_t code_size(const build *b)
{
    pb_elf elf;
    uint64_t total = 0;
    if (pb_elf_open(&elf, b->bytes, b->size, 0) != PB_ELF_OK) return 0;
    for (uint32_t i = 1; i < elf.section_count; i++) {
        pb_elf_section s;
        if (pb_elf_section_at(&elf, i, &s) == PB_ELF_OK && (s.flags & PB_SHF_EXECINSTR) && s.type == PB_SHT_PROGBITS)
            total += s.size;
    }
    return total;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ln_sizes BASE BUILD...\n");
        return 2;
    }
    int count = argc - 1;
    build *builds = calloc((size_t)count, sizeof *builds);
    char reason[200];
    for (int i = 0; i < count; i++) {
        build *b = &builds[i];
        b->path = argv[i + 1];
        if (!(b->bytes = slurp(b->path, &b->size))) {
            fprintf(stderr, "ln_sizes: %s: cannot read\n", b->path);
            return 1;
        }
        b->normalised = malloc(b->size);
        pb_delta_status status = pb_delta_normalise(b->bytes, b->size, i ? builds[0].bytes : NULL, i ? builds[0].size : 0,
                                                    b->normalised, &b->side, &b->side_size, &b->stats, reason, sizeof reason);
        if (status != PB_DELTA_OK) {
            fprintf(stderr, "ln_sizes: %s: %s\n", b->path, reason);
            return 1;
        }
    }
    build *base = &builds[0];
    size_t base_raw = compressed(base->bytes, base->size, NULL, 0);
    size_t base_ln = compressed(base->normalised, base->size, NULL, 0) + compressed(base->side, base->side_size, NULL, 0);
    size_t today = base_raw, today_chain = base_raw, star = base_ln, chain = base_ln;
    printf("%-28s %9s %9s %9s %9s %9s %6s %7s %7s %8s\n", "build", "size", "today", "chain", "LN star", "LN chain", "side",
           "fields", "escapes", "matched");
    printf("%-28s %9zu %9zu %9s %9zu %9s %6zu %7llu %7llu %4llu/%-4llu\n", base->path, base->size, base_raw, "", base_ln, "",
           compressed(base->side, base->side_size, NULL, 0), (unsigned long long)base->stats.fields,
           (unsigned long long)base->stats.escapes, (unsigned long long)base->stats.matched,
           (unsigned long long)base->stats.functions);
    for (int i = 1; i < count; i++) {
        build *b = &builds[i], *previous = &builds[i - 1];
        size_t side = compressed(b->side, b->side_size, NULL, 0);
        size_t d_today = compressed(b->bytes, b->size, base->bytes, base->size);
        size_t d_today_chain = compressed(b->bytes, b->size, previous->bytes, previous->size);
        size_t d_star = compressed(b->normalised, b->size, base->normalised, base->size) + side;
        size_t d_chain = compressed(b->normalised, b->size, previous->normalised, previous->size) + side;
        today += d_today, today_chain += d_today_chain, star += d_star, chain += d_chain;
        printf("%-28s %9zu %9zu %9zu %9zu %9zu %6zu %7llu %7llu %4llu/%-4llu\n", b->path, b->size, d_today, d_today_chain,
               d_star, d_chain, side, (unsigned long long)b->stats.fields, (unsigned long long)b->stats.escapes,
               (unsigned long long)b->stats.matched, (unsigned long long)b->stats.functions);
    }
    printf("payload / base alone: today %.3f, today chain %.3f, LN star %.3f, LN chain %.3f (base alone %zu B)\n",
           (double)today / base_raw, (double)today_chain / base_raw, (double)star / base_raw, (double)chain / base_raw,
           base_raw);

    /* Denormalise speed: the slowest level (most fields) matters; every build is measured. */
    for (int i = 0; i < count; i++) {
        build *b = &builds[i];
        uint8_t *out = malloc(b->size);
        double best = 1e9;
        for (int run = 0; run < 20; run++) {
            double start = cpu_seconds();
            pb_delta_status status = pb_delta_denormalise(b->normalised, b->size, b->side, b->side_size, i ? base->side : NULL,
                                                          i ? base->side_size : 0, out, b->size, reason, sizeof reason);
            double took = cpu_seconds() - start;
            if (status != PB_DELTA_OK || memcmp(out, b->bytes, b->size) != 0) {
                fprintf(stderr, "ln_sizes: %s: the round trip failed: %s\n", b->path, reason);
                return 1;
            }
            if (took < best) best = took;
        }
        printf("denormalise %-28s %7.2f ms  %6.0f MB/s of the file  %6.0f MB/s of code\n", b->path, best * 1e3,
               b->size / best / 1e6, code_size(b) / best / 1e6);
        free(out);
    }
    return 0;
}
