/* libFuzzer target for delta application: pb_entry_decode of a build stored as a zstd frame
 * against its reference build.
 *
 * The input is not a bundle but what a delta is made of, so that every mutation lands in
 * the decoder instead of a hash check:
 *   byte 0       bit 0: the reference is stored zstd-compressed (else raw)
 *   bytes 1-4    length L of the stored reference (little-endian, clipped to what is there)
 *   bytes 5-8    declared size of the rebuilt build; 0 means "what the frame header says"
 *   L bytes      the stored reference
 *   the rest     the stored delta
 * The harness wraps them in a valid two-entry bundle whose hashes are those of what zstd
 * itself decodes, so a delta that decodes must come out of pb_entry_decode byte-identical,
 * and one that does not must be refused. tools/fuzz makes seeds from real builds. */
#include "pb_bundle.h"
#include "pb_sha256.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define SIZE_LIMIT ((uint64_t)4 << 20)

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* What zstd decodes on its own, with the decoder's settings; NULL when it refuses. */
static uint8_t *reference_decode(const uint8_t *src, size_t src_size, const void *prefix, size_t prefix_size, uint64_t size) {
    if (ZSTD_getFrameContentSize(src, src_size) != size || ZSTD_findFrameCompressedSize(src, src_size) != src_size) return NULL;
    uint8_t *out = malloc(size ? (size_t)size : 1);
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    size_t got = 1;
    if (out && dctx && !ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 31)) &&
        (!prefix_size || !ZSTD_isError(ZSTD_DCtx_refPrefix(dctx, prefix, prefix_size))))
        got = ZSTD_decompressDCtx(dctx, out, (size_t)size, src, src_size);
    ZSTD_freeDCtx(dctx);
    if (ZSTD_isError(got) || got != size) {
        free(out);
        return NULL;
    }
    return out;
}

static void put_entry(uint8_t *e, uint32_t name_offset, uint32_t name_size, uint16_t codec, uint32_t ref,
                      uint64_t offset, uint64_t stored, uint64_t size, uint64_t features, const uint8_t *sha) {
    put32(e, name_offset);
    put32(e + 4, name_size);
    put16(e + 8, codec);
    put32(e + 12, ref);
    put64(e + 16, offset);
    put64(e + 24, stored);
    put64(e + 32, size);
    put64(e + 40, features);
    memcpy(e + 48, sha, 32);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 10) return 0;
    int ref_zstd = data[0] & 1;
    size_t ref_stored = le32(data + 1);
    uint64_t declared = le32(data + 5);
    data += 9;
    size -= 9;
    if (ref_stored > size) ref_stored = size;
    const uint8_t *ref = data, *delta = data + ref_stored;
    size_t delta_stored = size - ref_stored;
    if (delta_stored == 0 || (ref_zstd && ref_stored == 0)) return 0;

    uint64_t ref_size = ref_stored;
    uint8_t *ref_content = NULL;
    if (ref_zstd) {
        unsigned long long fcs = ZSTD_getFrameContentSize(ref, ref_stored);
        if (fcs == ZSTD_CONTENTSIZE_ERROR || fcs == ZSTD_CONTENTSIZE_UNKNOWN || fcs > SIZE_LIMIT) return 0;
        ref_size = fcs;
        ref_content = reference_decode(ref, ref_stored, NULL, 0, ref_size);
    }
    const uint8_t *prefix = ref_zstd ? ref_content : ref;
    if (declared == 0) {
        unsigned long long fcs = ZSTD_getFrameContentSize(delta, delta_stored);
        declared = fcs == ZSTD_CONTENTSIZE_ERROR || fcs == ZSTD_CONTENTSIZE_UNKNOWN ? 1 : fcs;
    }
    if (declared > SIZE_LIMIT) {
        free(ref_content);
        return 0;
    }
    uint8_t *expected = prefix || ref_size == 0 ? reference_decode(delta, delta_stored, prefix, (size_t)ref_size, declared) : NULL;

    uint8_t ref_sha[32] = {0}, delta_sha[32] = {0};
    if (prefix) pb_sha256(prefix, (size_t)ref_size, ref_sha);
    if (expected) pb_sha256(expected, (size_t)declared, delta_sha);

    static const char names[] = "base\0v2";
    uint64_t names_offset = PB_HEADER_SIZE + 2 * PB_ENTRY_SIZE, names_size = sizeof names;
    uint64_t data_offset = (names_offset + names_size + PB_DATA_ALIGN - 1) / PB_DATA_ALIGN * PB_DATA_ALIGN;
    uint64_t delta_offset = (ref_stored + 15) / 16 * 16;
    uint64_t data_size = delta_offset + delta_stored, total = data_offset + data_size;
    uint8_t *bundle = calloc(1, (size_t)total);
    if (!bundle) abort();
    memcpy(bundle, "PLYBNDL", 8);
    put16(bundle + 8, PB_VERSION);
    put16(bundle + 10, PB_KIND_FATBIN);
    put32(bundle + 12, PB_HEADER_SIZE);
    put32(bundle + 16, PB_ENTRY_SIZE);
    put32(bundle + 20, 2);
    put32(bundle + 24, PB_EXEC_ORDER_DEFAULT);
    put64(bundle + 32, total);
    put64(bundle + 40, names_offset);
    put64(bundle + 48, names_size);
    put64(bundle + 56, data_offset);
    put64(bundle + 64, data_size);
    put16(bundle + 72, PB_ARCH_X86_64);
    put_entry(bundle + PB_HEADER_SIZE, 0, 4, ref_zstd ? PB_CODEC_ZSTD : PB_CODEC_RAW, PB_NO_REF, 0, ref_stored, ref_size, 0, ref_sha);
    put_entry(bundle + PB_HEADER_SIZE + PB_ENTRY_SIZE, 5, 2, PB_CODEC_DELTA, 0, delta_offset, delta_stored, declared, 1, delta_sha);
    memcpy(bundle + names_offset, names, names_size);
    memcpy(bundle + data_offset, ref, ref_stored);
    memcpy(bundle + data_offset + delta_offset, delta, delta_stored);
    pb_sha256_ctx ctx;
    pb_sha256_init(&ctx);
    pb_sha256_update(&ctx, bundle, 96);
    pb_sha256_update(&ctx, bundle + PB_HEADER_SIZE, (size_t)(names_offset + names_size - PB_HEADER_SIZE));
    pb_sha256_final(&ctx, bundle + 96);

    pb_bundle b;
    pb_status status = pb_bundle_open(&b, bundle, total);
    if (status == PB_OK) {
        uint8_t *out = malloc(declared ? (size_t)declared : 1);
        if (!out) abort();
        status = pb_entry_decode(&b, 1, out, declared);
        /* Differential: the runner's decoder agrees with zstd on every input. */
        if ((status == PB_OK) != (expected != NULL)) abort();
        if (status == PB_OK && memcmp(out, expected, (size_t)declared) != 0) abort();
        free(out);
    }
    free(bundle);
    free(expected);
    free(ref_content);
    return 0;
}
