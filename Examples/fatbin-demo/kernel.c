#include "kernel.h"

uint32_t kernel_run(uint32_t *restrict a, const uint32_t *restrict b, size_t n, int rounds) {
    uint32_t total = 0;
    for (int r = 0; r < rounds; r++) {
        uint32_t dot = 0;
        for (size_t i = 0; i < n; i++) dot += a[i] * b[i];
        for (size_t i = 0; i < n; i++) {
            uint32_t v = a[i] * 3u + b[i];
            a[i] = v > 1000000u ? v % 1000u : v;
        }
        total += dot;
    }
    return total;
}
