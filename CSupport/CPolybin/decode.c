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

pb_status pb_entry_decode(const pb_bundle *bundle, uint32_t index, void *dst, uint64_t dst_size) {
    if (index >= bundle->count) return PB_E_ARGUMENT;
    pb_entry e;
    pb_bundle_entry(bundle, index, &e);
    if (dst_size != e.size) return PB_E_ARGUMENT;
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
    pb_status status = ref.size ? decode_plain(&ref, prefix) : PB_OK;
    if (status == PB_OK) status = verify(&ref, prefix);
    if (status == PB_OK) status = decode_frame(&e, prefix, (size_t)ref.size, dst);
    if (prefix) munmap(prefix, (size_t)ref.size);
    return status != PB_OK ? status : verify(&e, dst);
}
