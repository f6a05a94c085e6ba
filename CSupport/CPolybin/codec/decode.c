/* Rebuilding an entry's content: raw copy, one zstd frame, or one zstd frame against the
 * reference build as prefix (a delta), streamed into its destination and hashed on the way.
 * The SHA-256 is checked before the caller may use it. */
#define ZSTD_STATIC_LINKING_ONLY  /* ZSTD_d_stableOutBuffer, in libzstd since 1.4.4 */
#include "pb_bundle.h"
#include "pb_sha256.h"
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

/* Deltas span reference plus output; 2 GiB windows cover any build we accept. */
#define PB_WINDOW_LOG_MAX 31

/* Input handed to zstd per call: the pages behind it can be dropped once it is consumed. */
#define PB_FEED ((size_t)4 << 20)

static void release_pages(const uint8_t *from, const uint8_t *to) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)from + page - 1) & ~(page - 1), end = (uintptr_t)to & ~(page - 1);
    if (end > start) madvise((void *)start, end - start, MADV_DONTNEED);
}

/* What a decode does with each range of output as it appears: hash it while it is in the
 * cache, write it to the destination file, and let go of the stored bytes behind it. */
typedef struct output {
    pb_sha256_ctx sha;
    int hash;
    uint8_t *dst;
    uint64_t done;          /* output handled so far */
    int fd;
    int write_errno;
    const uint8_t *stored;
    const uint8_t *released;
    int release_input;
    void (*progress)(void *context, uint64_t done);
    void *context;
    uint64_t before;        /* bytes produced by this decode before this output */
} output;

static int emit(output *o, uint64_t upto, const uint8_t *consumed) {
    if (o->hash && upto > o->done) pb_sha256_update(&o->sha, o->dst + o->done, (size_t)(upto - o->done));
    while (o->fd >= 0 && o->done < upto) {
        ssize_t n = pwrite(o->fd, o->dst + o->done, (size_t)(upto - o->done), (off_t)o->done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            o->write_errno = n < 0 ? errno : EIO;
            return -1;
        }
        o->done += (uint64_t)n;
    }
    o->done = upto;
    if (o->progress) o->progress(o->context, o->before + upto);
    if (o->release_input && consumed - o->released >= (ptrdiff_t)PB_FEED) {
        release_pages(o->released, consumed);
        o->released = consumed;
    }
    return 0;
}

/* One frame into dst (exactly e->size bytes), streamed: zstd decodes into dst in place
 * (a stable output buffer is its own window), so nothing of the size of the build is
 * allocated besides dst and the reference. */
static pb_status decode_frame(const pb_entry *e, const void *prefix, size_t prefix_size, output *o) {
    if (ZSTD_getFrameContentSize(e->stored, e->stored_size) != e->size) return PB_E_DECODE;
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (!dctx) return PB_E_NOMEM;
    pb_status status = PB_OK;
    if (ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, PB_WINDOW_LOG_MAX)) ||
        ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_stableOutBuffer, 1)) ||
        (prefix_size && ZSTD_isError(ZSTD_DCtx_refPrefix(dctx, prefix, prefix_size)))) {
        status = PB_E_DECODE;
    }
    ZSTD_inBuffer in = {e->stored, 0, 0};
    ZSTD_outBuffer out = {o->dst, (size_t)e->size, 0};
    size_t r = 1;
    while (status == PB_OK && r != 0) {
        if (in.pos == in.size) {
            if (in.size == e->stored_size) {
                status = PB_E_DECODE;  /* the frame wants more than is stored */
                break;
            }
            in.size = e->stored_size - in.size > PB_FEED ? in.size + PB_FEED : (size_t)e->stored_size;
        }
        r = ZSTD_decompressStream(dctx, &out, &in);
        if (ZSTD_isError(r)) {
            status = ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? PB_E_NOMEM : PB_E_DECODE;
        } else if (emit(o, out.pos, e->stored + in.pos) != 0) {
            status = PB_E_WRITE;
        }
    }
    if (status == PB_OK && (out.pos != e->size || in.pos != e->stored_size)) status = PB_E_DECODE;
    ZSTD_freeDCtx(dctx);
    return status;
}

static pb_status decode_plain(const pb_entry *e, output *o) {
    if (e->codec != PB_CODEC_RAW) return decode_frame(e, NULL, 0, o);
    for (uint64_t at = 0; at < e->size;) {
        uint64_t n = e->size - at > PB_FEED ? PB_FEED : e->size - at;
        memcpy(o->dst + at, e->stored + at, (size_t)n);
        at += n;
        if (emit(o, at, e->stored + at) != 0) return PB_E_WRITE;
    }
    return PB_OK;
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

pb_status pb_decode(pb_decoder *d, uint32_t index, void *dst, int fd, int *write_errno) {
    const pb_bundle *bundle = d->bundle;
    if (index >= bundle->count) return PB_E_ARGUMENT;
    pb_entry e;
    pb_bundle_entry(bundle, index, &e);
    pb_status status = pb_entry_check(bundle, index);
    if (status != PB_OK) return status;

    const void *prefix = NULL;
    size_t prefix_size = 0;
    uint64_t before = 0;
    if (e.codec == PB_CODEC_DELTA) {
        pb_entry ref;
        pb_bundle_entry(bundle, e.ref, &ref);
        if (ref.size && (!d->reference || d->reference_index != e.ref)) {
            pb_decoder_release(d);
            /* Lazily backed: a lying size reserves address space, not memory. */
            void *map = mmap(NULL, (size_t)ref.size, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (map == MAP_FAILED) return PB_E_NOMEM;
            /* The reference gets no hash pass of its own: a wrong byte in it changes the
             * output, which the output's SHA-256 rejects. */
            output r = {.dst = map, .fd = -1, .stored = ref.stored, .released = ref.stored,
                        .release_input = d->release_input, .progress = d->progress,
                        .context = d->progress_context};
            status = decode_plain(&ref, &r);
            if (status != PB_OK) {
                munmap(map, (size_t)ref.size);
                return status;
            }
            d->reference = map;
            d->reference_index = e.ref;
            d->reference_size = ref.size;
            before = ref.size;
        }
        prefix = d->reference;
        prefix_size = (size_t)ref.size;
    }

    output o = {.hash = 1, .dst = dst, .fd = fd, .stored = e.stored, .released = e.stored,
                .release_input = d->release_input, .progress = d->progress,
                .context = d->progress_context, .before = before};
    pb_sha256_init(&o.sha);
    if (e.size > 0) {
        status = e.codec == PB_CODEC_DELTA ? decode_frame(&e, prefix, prefix_size, &o) : decode_plain(&e, &o);
    }
    if (write_errno) *write_errno = o.write_errno;
    if (status != PB_OK) return status;
    uint8_t digest[32];
    pb_sha256_final(&o.sha, digest);
    return memcmp(digest, e.sha256, 32) == 0 ? PB_OK : PB_E_HASH;
}

void pb_decoder_release(pb_decoder *d) {
    if (d->reference) munmap(d->reference, (size_t)d->reference_size);
    d->reference = NULL;
    d->reference_size = 0;
}

pb_status pb_entry_decode(const pb_bundle *bundle, uint32_t index, void *dst, uint64_t dst_size) {
    if (index >= bundle->count) return PB_E_ARGUMENT;
    pb_entry e;
    pb_bundle_entry(bundle, index, &e);
    if (dst_size != e.size) return PB_E_ARGUMENT;
    pb_decoder d = {.bundle = bundle};
    pb_status status = pb_decode(&d, index, dst, -1, NULL);
    pb_decoder_release(&d);
    return status;
}
