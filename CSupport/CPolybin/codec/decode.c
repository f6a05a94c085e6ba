/* Rebuilding an entry's content: raw copy, one zstd frame, or one zstd frame against the
 * reference build as prefix (a delta). The SHA-256 is checked before the caller may use it. */
#include "pb_bundle.h"
#include "pb_sha256.h"
#include <string.h>
#include <sys/mman.h>
#include <zstd.h>

/* Deltas span reference plus output; 2 GiB windows cover any build we accept. */
#define PB_WINDOW_LOG_MAX 31

static pb_status decode_frame(const pb_entry *e, const void *prefix, size_t prefix_size, void *dst) {
    unsigned long long declared = ZSTD_getFrameContentSize(e->stored, e->stored_size);
    if (declared != e->size) return PB_E_DECODE;
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (!dctx) return PB_E_NOMEM;
    pb_status status = PB_OK;
    if (ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, PB_WINDOW_LOG_MAX)) ||
        (prefix_size && ZSTD_isError(ZSTD_DCtx_refPrefix(dctx, prefix, prefix_size)))) {
        status = PB_E_DECODE;
    } else {
        size_t got = ZSTD_decompressDCtx(dctx, dst, (size_t)e->size, e->stored, (size_t)e->stored_size);
        if (ZSTD_isError(got) || got != e->size) status = PB_E_DECODE;
    }
    ZSTD_freeDCtx(dctx);
    return status;
}

static pb_status verify(const pb_entry *e, const void *content) {
    uint8_t digest[32];
    pb_sha256(content, (size_t)e->size, digest);
    return memcmp(digest, e->sha256, 32) == 0 ? PB_OK : PB_E_HASH;
}

static pb_status decode_plain(const pb_entry *e, void *dst) {
    if (e->codec == PB_CODEC_RAW) {
        memcpy(dst, e->stored, (size_t)e->size);
        return PB_OK;
    }
    return decode_frame(e, NULL, 0, dst);
}

/* The most a frame can decode to, from its block headers alone (RFC 8878, 3.1.1): raw and RLE
 * blocks state their size, a compressed block gives at most 128 KiB. 0 when the blocks do not
 * end exactly at the end of the stored bytes. The frame header was validated by the caller. */
static uint64_t frame_bound(const uint8_t *p, uint64_t n) {
    static const uint8_t dictionary_id_size[4] = {0, 1, 2, 4}, content_size_size[4] = {0, 2, 4, 8};
    uint8_t descriptor = p[4];
    int single_segment = descriptor >> 5 & 1;
    uint64_t at = 5 + !single_segment + dictionary_id_size[descriptor & 3] +
                  (descriptor >> 6 == 0 ? single_segment : content_size_size[descriptor >> 6]);
    uint64_t bound = 0;
    for (int last = 0; !last;) {
        if (n < at || n - at < 3) return 0;
        uint32_t header = (uint32_t)p[at] | (uint32_t)p[at + 1] << 8 | (uint32_t)p[at + 2] << 16;
        uint32_t type = header >> 1 & 3, size = header >> 3;
        uint64_t content = type == 1 ? 1 : size;
        last = header & 1;
        at += 3;
        if (type == 3 || n - at < content) return 0;
        bound += type == 2 ? (uint64_t)128 << 10 : size;
        at += content;
    }
    if (descriptor & 4) at += 4;
    return at == n ? bound : 0;
}

/* One frame that declares exactly the entry's size, can decode to that much, and ends
 * exactly at the end of the stored bytes: a size that lies is refused before it is allocated. */
static pb_status check_frame(const pb_entry *e) {
    if (e->codec == PB_CODEC_RAW || e->size == 0) return PB_OK;
    if (ZSTD_getFrameContentSize(e->stored, e->stored_size) != e->size) return PB_E_DECODE;
    if (frame_bound(e->stored, e->stored_size) < e->size) return PB_E_DECODE;
    return PB_OK;
}

pb_status pb_entry_check(const pb_bundle *bundle, uint32_t index) {
    if (index >= bundle->count) return PB_E_ARGUMENT;
    pb_entry e;
    pb_bundle_entry(bundle, index, &e);
    pb_status status = check_frame(&e);
    if (status != PB_OK || e.codec != PB_CODEC_DELTA) return status;
    pb_entry ref;
    pb_bundle_entry(bundle, e.ref, &ref);
    return check_frame(&ref);
}

pb_status pb_entry_decode(const pb_bundle *bundle, uint32_t index, void *dst, uint64_t dst_size) {
    if (index >= bundle->count) return PB_E_ARGUMENT;
    pb_entry e;
    pb_bundle_entry(bundle, index, &e);
    if (dst_size != e.size) return PB_E_ARGUMENT;
    pb_status checked = pb_entry_check(bundle, index);
    if (checked != PB_OK) return checked;
    if (e.size == 0) return verify(&e, dst);
    if (e.codec != PB_CODEC_DELTA) {
        pb_status status = decode_plain(&e, dst);
        return status != PB_OK ? status : verify(&e, dst);
    }

    pb_entry ref;
    pb_bundle_entry(bundle, e.ref, &ref);
    /* Lazily backed: a lying size reserves address space, not memory. */
    void *prefix = ref.size ? mmap(NULL, (size_t)ref.size, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) : NULL;
    if (ref.size && prefix == MAP_FAILED) return PB_E_NOMEM;
    /* The reference gets no hash pass of its own: a wrong byte in it changes the output, which
     * the output's SHA-256 rejects. A second pass would cost as much as the hash of the output. */
    pb_status status = ref.size ? decode_plain(&ref, prefix) : PB_OK;
    if (status == PB_OK) status = decode_frame(&e, prefix, (size_t)ref.size, dst);
    if (prefix) munmap(prefix, (size_t)ref.size);
    return status != PB_OK ? status : verify(&e, dst);
}
