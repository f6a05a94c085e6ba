/* Rebuild speed for tools/bench: how fast the runner's decoder (CSupport/CPolybin, the same
 * code the runner links) turns each stored flavor of a fatbin back into its build, SHA-256
 * check included.
 *
 *   rebuild FATBIN [RUNS]
 *
 * Prints one line per flavor: "NAME SIZE buffer_ns=.. memfd_ns=..", medians over RUNS.
 * buffer: into a preallocated, already-faulted buffer (the decoder alone).
 * memfd: into a fresh memfd sized with fallocate and mapped shared, as the runner's memfd
 * strategy does before exec, page faults and all. */
#define _GNU_SOURCE
#include "pb_bundle.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "timing.h"


static uint64_t median(uint64_t *t, int n) {
    qsort(t, (size_t)n, sizeof *t, by_value);
    return t[n / 2];
}

static int into_memfd(const pb_bundle *b, uint32_t index, uint64_t size) {
    int fd = (int)syscall(SYS_memfd_create, "rebuild", MFD_CLOEXEC);
    if (fd < 0 || fallocate(fd, 0, 0, (off_t)size) != 0) return -1;
    void *map = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) return -1;
    pb_status status = pb_entry_decode(b, index, map, size);
    munmap(map, (size_t)size);
    close(fd);
    return status == PB_OK ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: rebuild FATBIN [RUNS]\n");
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 10;
    if (runs < 1) runs = 1;
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) return perror(argv[1]), 1;
    const void *bytes = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (bytes == MAP_FAILED) return perror("mmap"), 1;
    pb_bundle bundle;
    pb_status status = pb_bundle_locate(&bundle, bytes, (uint64_t)st.st_size);
    if (status != PB_OK) return fprintf(stderr, "%s: %s\n", argv[1], pb_status_message(status)), 1;

    uint64_t *buffer_ns = calloc((size_t)runs, sizeof *buffer_ns);
    uint64_t *memfd_ns = calloc((size_t)runs, sizeof *memfd_ns);
    for (uint32_t i = 0; i < bundle.count; i++) {
        pb_entry e;
        pb_bundle_entry(&bundle, i, &e);
        uint8_t *dst = malloc((size_t)e.size);
        if (!dst) return 1;
        memset(dst, 0, (size_t)e.size);
        /* One untimed pass of each warms the caches and the allocator the way repeated launches do. */
        if (pb_entry_decode(&bundle, i, dst, e.size) != PB_OK || into_memfd(&bundle, i, e.size) != 0) {
            fprintf(stderr, "%s: %s does not rebuild\n", argv[1], e.name);
            return 1;
        }
        for (int r = 0; r < runs; r++) {
            uint64_t start = now_ns();
            pb_entry_decode(&bundle, i, dst, e.size);
            buffer_ns[r] = now_ns() - start;
            start = now_ns();
            into_memfd(&bundle, i, e.size);
            memfd_ns[r] = now_ns() - start;
        }
        printf("%s %llu buffer_ns=%llu memfd_ns=%llu\n", e.name, (unsigned long long)e.size,
               (unsigned long long)median(buffer_ns, runs), (unsigned long long)median(memfd_ns, runs));
        free(dst);
    }
    return 0;
}
