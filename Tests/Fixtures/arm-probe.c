/* The aarch64 payload of the Arm tests and demo: built once per level, it prints the level
 * it was compiled for, exits with a given status, echoes its argv, or runs a vectorizable
 * kernel (which the SVE builds compile to SVE code, so a CPU without SVE cannot run them). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LEVEL
#define LEVEL "unknown"
#endif

#define N 4096
static float x[N], y[N];

/* y = a*x + y over a large array, many times: GCC vectorizes it at -O3 (NEON or SVE). */
static double kernel(long rounds) {
    for (int i = 0; i < N; i++) { x[i] = (float)i * 0.5f; y[i] = 1.0f; }
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < N; i++) y[i] = 1.0001f * x[i] + y[i] * 0.5f;
    double sum = 0;
    for (int i = 0; i < N; i++) sum += y[i];
    return sum;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "level") == 0) {
        printf("%s\n", LEVEL);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "exit") == 0) return atoi(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "signal") == 0) {
        raise(atoi(argv[2]));
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "kernel") == 0) {
        printf("%.1f\n", kernel(argc >= 3 ? atol(argv[2]) : 2000));
        return 0;
    }
    for (int i = 0; i < argc; i++) printf("[%s]\n", argv[i]);
    return 0;
}
