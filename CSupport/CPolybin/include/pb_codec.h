/* zstd glue for the writer: one frame, optionally against a prefix (a delta). */
#ifndef PB_CODEC_H
#define PB_CODEC_H
#include <stddef.h>
#include <stdint.h>

/* Upper bound of the compressed size of `size` bytes. */
size_t pb_zstd_bound(size_t size);

/* Compresses src into dst with content size recorded and long-distance matching, against
 * `prefix` when prefix_size > 0 (then the window covers prefix and source). Returns 0 and
 * sets *written, or -1 and fills `error` with zstd's message. `threads` > 1 uses zstd workers. */
int pb_zstd_compress(const void *src, size_t size, const void *prefix, size_t prefix_size,
                     int level, int threads, void *dst, size_t cap, size_t *written,
                     char *error, size_t error_cap);

/* One frame, as pb_zstd_compress writes it, fed to zstd in chunks so that `progress` hears
 * how much of src is done. With workers > 1 (big inputs: zstd splits them into jobs of
 * 16-64 MiB) zstd copies the input into its own buffers; `release_input` then drops the
 * pages of src already taken (src must be a read-only file mapping, which faults them back
 * on demand). Single-threaded, zstd reads src in place, and `release_input` drops the pages
 * more than PB_KEEP behind the read position every so often: zstd's matches may fault some
 * back in, but the input no longer stays resident whole while the frame is made. */
typedef struct pb_zstd_job {
    const void *src;
    size_t size;
    const void *prefix;         /* the reference of a delta, or NULL */
    size_t prefix_size;
    int level;
    int workers;
    int release_input;
    void *dst;
    size_t cap;                 /* at least pb_zstd_bound(size) */
    void (*progress)(void *context, uint64_t done);
    void *context;
    /* When set, the frame is streamed: each time dst (then any size, at least
     * pb_zstd_chunk_size()) fills, and at the end, its bytes go to sink(context, ...), which
     * returns 0, or -1 to stop (the error is then the sink's). *written counts all of them. */
    int (*sink)(void *context, const void *data, size_t size);
} pb_zstd_job;

/* A good size for the dst buffer of a streamed frame. */
size_t pb_zstd_chunk_size(void);

/* 0, or ENOMEM when zstd could not allocate (its state, its workers), or -1 for any other
 * failure; `error` then says what. */
int pb_zstd_compress_stream(const pb_zstd_job *job, size_t *written, char *error, size_t error_cap);

/* What one single-threaded pb_zstd_compress_stream context for a frame of `size` bytes
 * against a prefix of `prefix_size` at `level` allocates (ZSTD_estimateCCtxSize_usingCCtxParams
 * with the same parameters): the packer runs frames side by side only when it is cheap. */
size_t pb_zstd_context_bytes(size_t size, size_t prefix_size, int level);

#endif
