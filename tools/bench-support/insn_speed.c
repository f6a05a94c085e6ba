/* Walk speed of the delta's x86-64 decoder (CSupport/CPolybin/delta/x86_insn.c, the code the
 * runner's denormalise pass will run; issue 18 targets at least 1 GB/s of code on one core):
 * a linear sweep over a byte range of a file, one pb_x86_decode per instruction, counting the
 * rel32 and RIP-relative fields as the pass would visit them.
 *
 *   insn_speed FILE OFFSET SIZE [RUNS]     (OFFSET and SIZE in hex, as `readelf -SW` prints them)
 *
 * Prints the instructions, fields, and MB/s of the best run by thread CPU time (the machine's
 * other load does not count against it). A byte the decoder refuses is stepped over. */
#include "pb_insn.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: insn_speed FILE OFFSET SIZE [RUNS]\n");
        return 2;
    }
    long offset = strtol(argv[2], NULL, 16), size = strtol(argv[3], NULL, 16);
    int runs = argc > 4 ? atoi(argv[4]) : 5;
    FILE *file = fopen(argv[1], "rb");
    unsigned char *code = malloc(size > 0 ? (size_t)size : 1);
    if (!file || !code || size <= 0 || fseek(file, offset, SEEK_SET) || fread(code, 1, (size_t)size, file) != (size_t)size) {
        fprintf(stderr, "insn_speed: %s: cannot read %ld bytes at %ld\n", argv[1], size, offset);
        return 1;
    }
    double best = 1e30;
    unsigned long instructions = 0, fields = 0;
    for (int run = 0; run < runs; run++) {
        double start = cpu_seconds();
        instructions = fields = 0;
        for (long at = 0; at < size;) {
            pb_x86_insn insn;
            size_t length = pb_x86_decode(code + at, (size_t)(size - at), &insn);
            fields += (insn.rel_size == 4) + (insn.rip_offset != 0);
            at += length ? (long)length : 1;
            instructions++;
        }
        double elapsed = cpu_seconds() - start;
        if (elapsed < best) best = elapsed;
    }
    printf("%s: %.1f MB, %lu instructions, %lu rel32/RIP fields, best of %d: %.3f s, %.0f MB/s\n",
           argv[1], (double)size / 1e6, instructions, fields, runs, best, (double)size / 1e6 / best);
    return 0;
}
