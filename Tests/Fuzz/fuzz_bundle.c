/* libFuzzer target for the bundle reader (bundle.c, decode.c) and the directory walk over
 * a files bundle's names (contract/dir.c).
 *
 * A random change to the header, index or names is caught by the meta SHA-256 before any
 * other check runs, so each input is tried twice: as it is, and with the meta hash
 * recomputed over the mutated bytes. The second pass reaches every later check (header
 * layout, entries, names, ranges, codecs, references) and, for bundles that pass them, the
 * decoder: what a crafted bundle, not a damaged one, would reach.
 *
 * Built by tools/fuzz; the Swift test BundleRegressionTests replays Tests/Fuzz/regressions. */
#include "pb_bundle.h"
#include "pb_dir.h"
#include "pb_sha256.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Decoding allocates the declared size: keep the fuzzer's memory bounded. */
#define DECODE_LIMIT ((uint64_t)8 << 20)

static uint64_t le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* Walks directory dir[0..len): every step moves the cursor forward, and a file it lists is
 * the entry named DIR/NAME. */
static void walk(const pb_bundle *b, const char *dir, size_t len) {
    uint64_t cursor = 0, last = 0;
    pb_dirent d;
    while (pb_bundle_dir_next(b, dir, len, &cursor, &d)) {
        if (cursor <= last) abort();
        last = cursor;
        if (d.kind != PB_DIR_FILE) continue;
        pb_entry e;
        pb_bundle_entry(b, (uint32_t)d.index, &e);
        size_t prefix = len ? len + 1 : 0;
        if (e.name_size != prefix + d.length || memcmp(e.name + prefix, d.name, d.length) != 0) abort();
    }
}

static void exercise(const pb_bundle *b) {
    pb_features everything = ((pb_features)1 << PB_F_COUNT) - 1;
    (void)pb_select(b, 0);
    (void)pb_select(b, everything);
    for (uint32_t i = 0; i < b->count; i++) {
        pb_entry e;
        pb_bundle_entry(b, i, &e);
        /* Accessors promise pointers inside the bundle once open succeeded. */
        if ((const uint8_t *)e.name < b->base || (const uint8_t *)e.name + e.name_size >= b->base + b->size) abort();
        if (e.stored < b->base || e.stored_size > (uint64_t)(b->base + b->size - e.stored)) abort();
        if (pb_bundle_find(b, e.name, e.name_size) != (int64_t)i) abort();
        /* The check runs on every size: it must never need what the size claims. */
        if (pb_entry_check(b, i) != PB_OK || e.size > DECODE_LIMIT) continue;
        uint8_t *out = malloc(e.size ? (size_t)e.size : 1);
        if (!out) continue;
        pb_status status = pb_entry_decode(b, i, out, e.size);
        if (status == PB_OK) {
            uint8_t digest[32];
            pb_sha256(out, (size_t)e.size, digest);
            if (memcmp(digest, e.sha256, 32) != 0) abort();
        }
        if (pb_entry_decode(b, i, out, e.size + 1) != PB_E_ARGUMENT) abort();
        free(out);
    }
    if (pb_entry_decode(b, b->count, NULL, 0) != PB_E_ARGUMENT) abort();
    /* The top and every directory an entry's name implies (bounded: each walk is linear). */
    if (b->kind != PB_KIND_FILES || b->count > 256) return;
    walk(b, "", 0);
    for (uint32_t i = 0; i < b->count; i++) {
        pb_entry e;
        pb_bundle_entry(b, i, &e);
        for (uint32_t j = 0; j < e.name_size; j++)
            if (e.name[j] == '/') walk(b, e.name, j);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    pb_bundle b;
    if (pb_bundle_open(&b, data, size) == PB_OK) exercise(&b);
    if (pb_bundle_locate(&b, data, size) == PB_OK) exercise(&b);

    if (size < PB_HEADER_SIZE) return 0;
    uint64_t names_end = le64(data + 40) + le64(data + 48);
    if (names_end < PB_HEADER_SIZE || names_end > size) return 0;
    /* A heap copy of exactly `size` bytes: ASan reports any read past the end. */
    uint8_t *copy = malloc(size);
    if (!copy) return 0;
    memcpy(copy, data, size);
    pb_sha256_ctx ctx;
    pb_sha256_init(&ctx);
    pb_sha256_update(&ctx, copy, 96);
    pb_sha256_update(&ctx, copy + PB_HEADER_SIZE, (size_t)(names_end - PB_HEADER_SIZE));
    pb_sha256_final(&ctx, copy + 96);
    if (pb_bundle_open(&b, copy, size) == PB_OK) exercise(&b);
    free(copy);
    return 0;
}
