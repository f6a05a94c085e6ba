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

#endif
