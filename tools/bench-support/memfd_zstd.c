/* The cold-launch floor for tools/bench: decompress one zstd frame straight into a memfd
 * (or a temp file), check its SHA-256 when given one, and execute it, with nothing else (no
 * bundle, no CPU detection). A fatbin's cold launch is compared with this; tools/bench hands
 * it the fatbin's own frames and hashes, so that it does the runner's work and no more.
 *
 *   memfd_zstd [--patch-from REF.zst] [--tmpfile DIR] [--sha256 HEX] BUILD.zst [ARG...]
 *
 * --patch-from decodes REF.zst into a private buffer first and uses it as the prefix of
 * BUILD.zst (a `zstd --patch-from` delta), as the runner does for a delta flavor.
 * --tmpfile streams into a file in DIR instead of a memfd, then executes it through a
 * read-only fd after unlinking it (a file still open for writing cannot be executed: ETXTBSY).
 * --sha256 verifies the decoded build against HEX before it runs (exit 126 on a mismatch), as
 * the runner does: the simplest way, one pass over the memfd after decoding; the temp file's
 * chunks as they are written.
 * The build sees argv[0] = BUILD.zst. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zstd.h>
#include "pb_sha256.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

extern char **environ;

static void *map_file(const char *path, size_t *size) {
    int in = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (in < 0 || fstat(in, &st) != 0) return perror(path), exit(127), NULL;
    void *src = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, in, 0);
    if (src == MAP_FAILED) return perror("mmap"), exit(127), NULL;
    close(in);
    *size = (size_t)st.st_size;
    return src;
}

static size_t content_size(const void *frame, size_t size) {
    unsigned long long n = ZSTD_getFrameContentSize(frame, size);
    if (n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR) {
        fprintf(stderr, "zstd: frame without a content size\n");
        exit(127);
    }
    return (size_t)n;
}

static void decode(ZSTD_DCtx *dctx, void *dst, size_t size, const void *src, size_t src_size,
                   const void *prefix, size_t prefix_size) {
    if (prefix) ZSTD_DCtx_refPrefix(dctx, prefix, prefix_size);
    size_t got = ZSTD_decompressDCtx(dctx, dst, size, src, src_size);
    if (ZSTD_isError(got) || got != size) {
        fprintf(stderr, "zstd: bad frame\n");
        exit(127);
    }
}

static int parse_hex(const char *text, uint8_t digest[32]) {
    if (strlen(text) != 64 || strspn(text, "0123456789abcdefABCDEF") != 64) return -1;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(text + 2 * i, "%2x", &v) != 1) return -1;
        digest[i] = (uint8_t)v;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *reference = NULL, *tmpdir = NULL, *hash = NULL;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--patch-from") == 0) reference = argv[i + 1];
        else if (strcmp(argv[i], "--tmpfile") == 0) tmpdir = argv[i + 1];
        else if (strcmp(argv[i], "--sha256") == 0) hash = argv[i + 1];
        else return 2;
    }
    uint8_t want[32], got[32];
    if (hash && parse_hex(hash, want) != 0) return fprintf(stderr, "--sha256: not 64 hex digits\n"), 2;
    pb_sha256_ctx sha;
    pb_sha256_init(&sha);
    if (i >= argc) return 2;
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 31);

    void *prefix = NULL;
    size_t prefix_size = 0;
    if (reference) {
        size_t ref_frame_size;
        void *ref_frame = map_file(reference, &ref_frame_size);
        prefix_size = content_size(ref_frame, ref_frame_size);
        prefix = malloc(prefix_size ? prefix_size : 1);
        if (!prefix) return perror("malloc"), 127;
        decode(dctx, prefix, prefix_size, ref_frame, ref_frame_size, NULL, 0);
        munmap(ref_frame, ref_frame_size);
    }
    size_t src_size;
    void *src = map_file(argv[i], &src_size);
    size_t size = content_size(src, src_size);

    int fd;
    char path[4096] = "";
    if (tmpdir) {
        snprintf(path, sizeof path, "%s/floor-XXXXXX", tmpdir);
        fd = mkostemp(path, O_CLOEXEC);
        if (fd >= 0 && fchmod(fd, 0700) != 0) return perror(path), 127;
    } else {
        fd = (int)syscall(SYS_memfd_create, "build", MFD_CLOEXEC | MFD_EXEC);
        if (fd < 0) fd = (int)syscall(SYS_memfd_create, "build", MFD_CLOEXEC);
    }
    if (fd < 0 || (!tmpdir && ftruncate(fd, (off_t)size) != 0)) return perror(tmpdir ? path : "memfd"), 127;
    if (tmpdir) {
        /* Streamed through a small buffer with write(): one copy of nothing, the least a
         * file destination can cost (a file filled through a shared mapping execs slower). */
        if (prefix) ZSTD_DCtx_refPrefix(dctx, prefix, prefix_size);
        static char chunk[4 << 20];
        ZSTD_inBuffer in = {src, src_size, 0};
        size_t done = 0, left = 1;
        while (left != 0) {
            ZSTD_outBuffer out = {chunk, sizeof chunk, 0};
            left = ZSTD_decompressStream(dctx, &out, &in);
            if (ZSTD_isError(left) || (left != 0 && in.pos == in.size && out.pos == 0)) {
                fprintf(stderr, "zstd: bad frame\n");
                return 127;
            }
            if (hash) pb_sha256_update(&sha, chunk, out.pos);
            for (size_t w = 0; w < out.pos;) {
                ssize_t n = write(fd, chunk + w, out.pos - w);
                if (n <= 0) return perror("write"), 127;
                w += (size_t)n;
            }
            done += out.pos;
        }
        if (done != size) return fprintf(stderr, "zstd: short frame\n"), 127;
        close(fd);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        unlink(path);
        if (fd < 0) return perror(path), 127;
    } else {
        void *dst = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (dst == MAP_FAILED) return perror("mmap"), 127;
        decode(dctx, dst, size, src, src_size, prefix, prefix_size);
        if (hash) pb_sha256_update(&sha, dst, size);
        munmap(dst, size);
    }
    free(prefix);
    if (hash) {
        pb_sha256_final(&sha, got);
        if (memcmp(got, want, 32) != 0) return fprintf(stderr, "sha256 mismatch\n"), 126;
    }

    syscall(SYS_execveat, fd, "", argv + i, environ, AT_EMPTY_PATH);
    perror("execveat");
    return 127;
}
