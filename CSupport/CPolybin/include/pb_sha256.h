/* SHA-256 (FIPS 180-4). Uses the x86 SHA extensions when the CPU has them. */
#ifndef PB_SHA256_H
#define PB_SHA256_H
#include <stddef.h>
#include <stdint.h>

typedef struct pb_sha256_ctx {
    uint32_t state[8];
    uint64_t length;        /* bytes hashed so far */
    uint8_t block[64];
    size_t filled;          /* bytes waiting in block */
} pb_sha256_ctx;

void pb_sha256_init(pb_sha256_ctx *ctx);
void pb_sha256_update(pb_sha256_ctx *ctx, const void *data, size_t size);
void pb_sha256_final(pb_sha256_ctx *ctx, uint8_t digest[32]);
void pb_sha256(const void *data, size_t size, uint8_t digest[32]);

/* 1 when the SHA-NI code path is in use on this CPU; for tests and benchmarks. */
int pb_sha256_uses_shani(void);
/* Force the portable path (0) or allow SHA-NI (1); returns the previous setting. For tests. */
int pb_sha256_allow_shani(int allow);

#endif
