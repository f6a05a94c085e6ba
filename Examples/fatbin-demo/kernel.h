/* The hot loop: an integer dot product and a clamped update over arrays, which compilers
 * vectorize to the widest registers the level allows (SSE2, SSE4.1 pmulld, AVX2, AVX-512). */
#ifndef KERNEL_H
#define KERNEL_H
#include <stddef.h>
#include <stdint.h>
uint32_t kernel_run(uint32_t *restrict a, const uint32_t *restrict b, size_t n, int rounds);
#endif
