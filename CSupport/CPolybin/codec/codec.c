/* zstd compression for the writer. Kept in C beside the decoder so both sides agree on
 * the frame parameters (content size present, long-distance matching, window log). */
#define ZSTD_STATIC_LINKING_ONLY  /* stable input buffer, frame progression: both in libzstd 1.5 */
#include "pb_codec.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

size_t pb_zstd_bound(size_t size) { return ZSTD_compressBound(size); }

size_t pb_zstd_chunk_size(void) { return (size_t)1 << 20; }

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
        return ENOMEM;
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

/* Chunks fed to the compressor between progress reports: small enough for a report every
 * fraction of a second at level 19, large enough to cost nothing at level 1. */
#define PB_FEED (1u << 20)
/* Single-threaded: the input pages further back than this are dropped every PB_RELEASE. */
#define PB_KEEP ((size_t)8 << 20)
#define PB_RELEASE ((size_t)16 << 20)

static void release_pages(const void *base, size_t from, size_t to) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)base + from + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)base + to) & ~(page - 1);
    if (end > start) madvise((void *)start, end - start, MADV_DONTNEED);
}

int pb_zstd_compress_stream(const pb_zstd_job *job, size_t *written, char *error, size_t error_cap) {
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    if (!cctx) {
        snprintf(error, error_cap, "zstd: out of memory");
        return -1;
    }
    int threaded = 0;
    size_t r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, job->level);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_enableLongDistanceMatching, 1);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, (int)window_log_for(job->size + job->prefix_size));
    /* Workers are optional: a libzstd built without threads rejects the parameter. */
    if (!ZSTD_isError(r) && job->workers > 1)
        threaded = !ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, job->workers));
    /* Single-threaded, zstd then reads the input in place instead of copying it into a window
     * buffer as large as the build. Workers copy it into their round buffer whatever we say. */
    if (!ZSTD_isError(r) && !threaded) r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_stableInBuffer, 1);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setPledgedSrcSize(cctx, job->size);
    if (!ZSTD_isError(r) && job->prefix_size) r = ZSTD_CCtx_refPrefix(cctx, job->prefix, job->prefix_size);

    ZSTD_inBuffer in = {job->src, 0, 0};
    ZSTD_outBuffer out = {job->dst, job->cap, 0};
    size_t flushed = 0, released = 0;
    int sink_failed = 0;
    while (!ZSTD_isError(r)) {
        in.size = job->size - in.size > PB_FEED ? in.size + PB_FEED : job->size;
        ZSTD_EndDirective mode = in.size == job->size ? ZSTD_e_end : ZSTD_e_continue;
        do {
            size_t before = in.pos;
            r = ZSTD_compressStream2(cctx, &out, &in, mode);
            if (ZSTD_isError(r)) break;
            /* Workers copy what they take: the mapped input need not stay resident behind them. */
            if (threaded && job->release_input) release_pages(job->src, before, in.pos);
            if (job->progress) job->progress(job->context, threaded ? ZSTD_getFrameProgression(cctx).consumed : in.pos);
            if (job->sink && (out.pos == out.size || (mode == ZSTD_e_end && r == 0))) {
                if (out.pos && job->sink(job->context, out.dst, out.pos) != 0) { sink_failed = 1; break; }
                flushed += out.pos;
                out.pos = 0;
            }
        } while ((mode == ZSTD_e_end ? r != 0 : in.pos < in.size) && out.pos < out.size);
        if (sink_failed || ZSTD_isError(r) || (mode == ZSTD_e_end && r == 0)) break;
        /* Matches reach back anywhere in the window, so the pages behind stay mapped and fault
         * back in on demand; dropping them now and then keeps only the recent ones resident. */
        if (!threaded && job->release_input && in.pos >= released + PB_RELEASE + PB_KEEP) {
            released = in.pos - PB_KEEP;
            release_pages(job->src, 0, released);
        }
        if (out.pos == out.size) {
            snprintf(error, error_cap, "zstd: output buffer too small");
            ZSTD_freeCCtx(cctx);
            return -1;
        }
    }
    ZSTD_freeCCtx(cctx);
    if (sink_failed) return -1;
    if (ZSTD_isError(r)) {
        snprintf(error, error_cap, "zstd: %s", ZSTD_getErrorName(r));
        /* Said apart: under `ulimit -v` the message names the limit (Compression.zstd). */
        return ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? ENOMEM : -1;
    }
    *written = flushed + out.pos;
    return 0;
}

size_t pb_zstd_context_bytes(size_t size, size_t prefix_size, int level) {
    ZSTD_CCtx_params *params = ZSTD_createCCtxParams();
    if (!params) return (size_t)-1;
    size_t r = ZSTD_CCtxParams_init(params, level);
    if (!ZSTD_isError(r)) r = ZSTD_CCtxParams_setParameter(params, ZSTD_c_enableLongDistanceMatching, 1);
    unsigned window = window_log_for(size + prefix_size);
    if (!ZSTD_isError(r)) r = ZSTD_CCtxParams_setParameter(params, ZSTD_c_windowLog, (int)window);
    /* The long-distance matcher's defaults, as ZSTD_ldm_adjustParameters sets them when the
     * frame starts (the estimate alone does not, and divides by the zero minimum match). */
    unsigned ldm_hash = window > 13 ? window - 7 : 6;
    if (!ZSTD_isError(r)) r = ZSTD_CCtxParams_setParameter(params, ZSTD_c_ldmHashLog, (int)ldm_hash);
    if (!ZSTD_isError(r)) r = ZSTD_CCtxParams_setParameter(params, ZSTD_c_ldmMinMatch, 64);
    if (!ZSTD_isError(r)) r = ZSTD_CCtxParams_setParameter(params, ZSTD_c_ldmBucketSizeLog, 3);
    if (!ZSTD_isError(r)) r = ZSTD_CCtxParams_setParameter(params, ZSTD_c_ldmHashRateLog, (int)(window - ldm_hash));
    /* The pledged size and the prefix shrink the tables for a small frame, as they do when
     * pb_zstd_compress_stream starts it (the tables cover prefix and frame). */
    size_t span = size + prefix_size;
    if (!ZSTD_isError(r)) r = ZSTD_CCtxParams_setParameter(params, ZSTD_c_srcSizeHint, (int)(span < (1u << 30) ? span : (1u << 30)));
    size_t bytes = ZSTD_isError(r) ? (size_t)-1 : ZSTD_estimateCCtxSize_usingCCtxParams(params);
    ZSTD_freeCCtxParams(params);
    return ZSTD_isError(bytes) ? (size_t)-1 : bytes;
}
