/* zstd compression for the writer. Kept in C beside the decoder so both sides agree on
 * the frame parameters (content size present, long-distance matching, window log). */
#include "pb_codec.h"
#include <stdio.h>
#include <zstd.h>

size_t pb_zstd_bound(size_t size) { return ZSTD_compressBound(size); }

static unsigned window_log_for(size_t span) {
    unsigned log = 20;
    while (log < 31 && ((size_t)1 << log) < span) log++;
    return log;
}

int pb_zstd_compress(const void *src, size_t size, const void *prefix, size_t prefix_size,
                     int level, int threads, void *dst, size_t cap, size_t *written,
                     char *error, size_t error_cap) {
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    if (!cctx) {
        snprintf(error, error_cap, "zstd: out of memory");
        return -1;
    }
    size_t r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_enableLongDistanceMatching, 1);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, (int)window_log_for(size + prefix_size));
    /* Workers are optional: a libzstd built without threads rejects the parameter. */
    if (!ZSTD_isError(r) && threads > 1) (void)ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, threads);
    if (!ZSTD_isError(r) && prefix_size) r = ZSTD_CCtx_refPrefix(cctx, prefix, prefix_size);
    if (!ZSTD_isError(r)) r = ZSTD_compress2(cctx, dst, cap, src, size);
    ZSTD_freeCCtx(cctx);
    if (ZSTD_isError(r)) {
        snprintf(error, error_cap, "zstd: %s", ZSTD_getErrorName(r));
        return -1;
    }
    *written = r;
    return 0;
}
