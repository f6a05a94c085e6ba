/* fatbin-demo: prints the level it was compiled for, and times its hot loop.
 *   fatbin-demo            level and a checksum
 *   fatbin-demo --level    the level only
 *   fatbin-demo --bench    milliseconds for the hot loop (best of 3) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kernel.h"
#include "level.h"

enum { N = 4096, ROUNDS = 20000 };

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint32_t run_once(int rounds) {
    static uint32_t a[N], b[N];
    for (size_t i = 0; i < N; i++) {
        a[i] = (uint32_t)(i % 97);
        b[i] = (uint32_t)(i % 89);
    }
    return kernel_run(a, b, N, rounds);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--level") == 0) {
        printf("%s\n", compiled_level());
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--bench") == 0) {
        double best = 1e30;
        uint32_t sum = 0;
        for (int i = 0; i < 3; i++) {
            double start = now_ms();
            sum += run_once(ROUNDS);
            double took = now_ms() - start;
            if (took < best) best = took;
        }
        printf("%s %.1f ms (checksum %u)\n", compiled_level(), best, (unsigned)sum);
        return 0;
    }
    printf("fatbin-demo compiled for %s, checksum %u\n", compiled_level(), (unsigned)run_once(10));
    return 0;
}
