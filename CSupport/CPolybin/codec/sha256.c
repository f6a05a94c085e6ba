/*
 * SHA-256 as specified in FIPS 180-4, with a fast path for the Intel SHA
 * extensions (SHA-NI: sha256rnds2, sha256msg1, sha256msg2) chosen at run time.
 */
#include "pb_sha256.h"

#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define PB_SHA256_X86 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define PB_SHA256_X86 0
#endif

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void compress_portable(uint32_t state[8], const uint8_t *data, size_t blocks)
{
    uint32_t w[64];
    int i;

    for (; blocks > 0; blocks--, data += 64) {
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        uint32_t e = state[4], f = state[5], g = state[6], h = state[7];

        for (i = 0; i < 16; i++)
            w[i] = load_be32(data + 4 * i);
        for (i = 16; i < 64; i++) {
            uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        for (i = 0; i < 64; i++) {
            uint32_t t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
            uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
    }
}

#if PB_SHA256_X86

/*
 * Four rounds of group g (0..15). cur holds W[4g..4g+3]; prev and next are the
 * schedule registers for groups g-1 and g+1 (mod 4). The schedule for later
 * groups is computed here, interleaved with the rounds, so that msg1/msg2
 * latency hides behind rnds2; the range checks stop it once no group needs it.
 */
#define PB_SHANI_ROUNDS(g, cur, prev, next)                                              \
    do {                                                                                 \
        msg = _mm_add_epi32(cur, _mm_loadu_si128((const __m128i *)&K[4 * (g)]));         \
        st1 = _mm_sha256rnds2_epu32(st1, st0, msg);                                      \
        if ((g) >= 3 && (g) <= 14)                                                       \
            next = _mm_sha256msg2_epu32(_mm_add_epi32(next, _mm_alignr_epi8(cur, prev, 4)), cur); \
        msg = _mm_shuffle_epi32(msg, 0x0E);                                              \
        st0 = _mm_sha256rnds2_epu32(st0, st1, msg);                                      \
        if ((g) >= 1 && (g) <= 12)                                                       \
            prev = _mm_sha256msg1_epu32(prev, cur);                                      \
    } while (0)

__attribute__((target("sha,sse4.1,ssse3")))
static void compress_shani(uint32_t state[8], const uint8_t *data, size_t blocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i st0, st1, tmp, msg, m0, m1, m2, m3, save0, save1;

    /* sha256rnds2 wants the state split as ABEF / CDGH rather than ABCD / EFGH. */
    tmp = _mm_loadu_si128((const __m128i *)&state[0]);
    st1 = _mm_loadu_si128((const __m128i *)&state[4]);
    tmp = _mm_shuffle_epi32(tmp, 0xB1);
    st1 = _mm_shuffle_epi32(st1, 0x1B);
    st0 = _mm_alignr_epi8(tmp, st1, 8);
    st1 = _mm_blend_epi16(st1, tmp, 0xF0);

    for (; blocks > 0; blocks--, data += 64) {
        save0 = st0;
        save1 = st1;

        m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 0)), bswap);
        m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16)), bswap);
        m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 32)), bswap);
        m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 48)), bswap);

        PB_SHANI_ROUNDS(0, m0, m3, m1);
        PB_SHANI_ROUNDS(1, m1, m0, m2);
        PB_SHANI_ROUNDS(2, m2, m1, m3);
        PB_SHANI_ROUNDS(3, m3, m2, m0);
        PB_SHANI_ROUNDS(4, m0, m3, m1);
        PB_SHANI_ROUNDS(5, m1, m0, m2);
        PB_SHANI_ROUNDS(6, m2, m1, m3);
        PB_SHANI_ROUNDS(7, m3, m2, m0);
        PB_SHANI_ROUNDS(8, m0, m3, m1);
        PB_SHANI_ROUNDS(9, m1, m0, m2);
        PB_SHANI_ROUNDS(10, m2, m1, m3);
        PB_SHANI_ROUNDS(11, m3, m2, m0);
        PB_SHANI_ROUNDS(12, m0, m3, m1);
        PB_SHANI_ROUNDS(13, m1, m0, m2);
        PB_SHANI_ROUNDS(14, m2, m1, m3);
        PB_SHANI_ROUNDS(15, m3, m2, m0);

        st0 = _mm_add_epi32(st0, save0);
        st1 = _mm_add_epi32(st1, save1);
    }

    tmp = _mm_shuffle_epi32(st0, 0x1B);
    st1 = _mm_shuffle_epi32(st1, 0xB1);
    st0 = _mm_blend_epi16(tmp, st1, 0xF0);
    st1 = _mm_alignr_epi8(st1, tmp, 8);
    _mm_storeu_si128((__m128i *)&state[0], st0);
    _mm_storeu_si128((__m128i *)&state[4], st1);
}

#undef PB_SHANI_ROUNDS

/* -1 until first use. Concurrent first calls race benignly: all store the same value. */
static int cpu_has_shani = -1;

static int detect_shani(void)
{
    unsigned int eax, ebx, ecx, edx;

    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
        return 0;
    if (!(ecx & (1u << 19)) || !(ecx & (1u << 9)))
        return 0;
    /* __get_cpuid_count returns 0 when leaf 7 is beyond the CPU's maximum leaf. */
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
        return 0;
    return (ebx & (1u << 29)) != 0;
}

#endif /* PB_SHA256_X86 */

static int shani_allowed = 1;

int pb_sha256_uses_shani(void)
{
#if PB_SHA256_X86
    if (!shani_allowed)
        return 0;
    if (cpu_has_shani < 0)
        cpu_has_shani = detect_shani();
    return cpu_has_shani;
#else
    return 0;
#endif
}

int pb_sha256_allow_shani(int allow)
{
    int previous = shani_allowed;
    shani_allowed = allow != 0;
    return previous;
}

static void compress(uint32_t state[8], const uint8_t *data, size_t blocks)
{
#if PB_SHA256_X86
    if (pb_sha256_uses_shani()) {
        compress_shani(state, data, blocks);
        return;
    }
#endif
    compress_portable(state, data, blocks);
}

void pb_sha256_init(pb_sha256_ctx *ctx)
{
    ctx->state[0] = 0x6a09e667;
    ctx->state[1] = 0xbb67ae85;
    ctx->state[2] = 0x3c6ef372;
    ctx->state[3] = 0xa54ff53a;
    ctx->state[4] = 0x510e527f;
    ctx->state[5] = 0x9b05688c;
    ctx->state[6] = 0x1f83d9ab;
    ctx->state[7] = 0x5be0cd19;
    ctx->length = 0;
    ctx->filled = 0;
}

void pb_sha256_update(pb_sha256_ctx *ctx, const void *data, size_t size)
{
    const uint8_t *p = (const uint8_t *)data;
    size_t blocks;

    if (size == 0)
        return;
    ctx->length += size;

    if (ctx->filled > 0) {
        size_t take = 64 - ctx->filled;
        if (take > size)
            take = size;
        memcpy(ctx->block + ctx->filled, p, take);
        ctx->filled += take;
        p += take;
        size -= take;
        if (ctx->filled < 64)
            return;
        compress(ctx->state, ctx->block, 1);
        ctx->filled = 0;
    }

    /* Whole blocks go straight from the caller's buffer, avoiding a copy. */
    blocks = size / 64;
    if (blocks > 0) {
        compress(ctx->state, p, blocks);
        p += blocks * 64;
        size -= blocks * 64;
    }

    if (size > 0) {
        memcpy(ctx->block, p, size);
        ctx->filled = size;
    }
}

void pb_sha256_final(pb_sha256_ctx *ctx, uint8_t digest[32])
{
    /* The length field counts bits, modulo 2^64 as FIPS 180-4 permits. */
    uint64_t bits = ctx->length << 3;
    size_t n = ctx->filled;
    int i;

    ctx->block[n++] = 0x80;
    if (n > 56) {
        memset(ctx->block + n, 0, 64 - n);
        compress(ctx->state, ctx->block, 1);
        n = 0;
    }
    memset(ctx->block + n, 0, 56 - n);
    for (i = 0; i < 8; i++)
        ctx->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    compress(ctx->state, ctx->block, 1);

    for (i = 0; i < 8; i++)
        store_be32(digest + 4 * i, ctx->state[i]);
}

void pb_sha256(const void *data, size_t size, uint8_t digest[32])
{
    pb_sha256_ctx ctx;
    pb_sha256_init(&ctx);
    pb_sha256_update(&ctx, data, size);
    pb_sha256_final(&ctx, digest);
}
