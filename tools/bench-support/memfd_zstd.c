/* The cold-launch floor for tools/bench: decompress one zstd frame straight into a memfd
 * and execute it, with nothing else (no bundle, no CPU detection, no hash). A fatbin's cold
 * memfd launch is compared with this.
 *
 *   memfd_zstd BUILD.zst [ARG...]      (the build sees argv[0] = BUILD.zst) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zstd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int in = open(argv[1], O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (in < 0 || fstat(in, &st) != 0) return perror(argv[1]), 127;
    void *src = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, in, 0);
    if (src == MAP_FAILED) return perror("mmap"), 127;
    unsigned long long size = ZSTD_getFrameContentSize(src, (size_t)st.st_size);
    if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR) return 127;

    int fd = (int)syscall(SYS_memfd_create, "build", MFD_CLOEXEC | MFD_EXEC);
    if (fd < 0) fd = (int)syscall(SYS_memfd_create, "build", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0) return perror("memfd"), 127;
    void *dst = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (dst == MAP_FAILED) return perror("mmap"), 127;
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 31);
    size_t got = ZSTD_decompressDCtx(dctx, dst, (size_t)size, src, (size_t)st.st_size);
    if (ZSTD_isError(got) || got != size) return fprintf(stderr, "zstd: bad frame\n"), 127;
    munmap(dst, (size_t)size);

    syscall(SYS_execveat, fd, "", argv + 1, environ, AT_EMPTY_PATH);
    perror("execveat");
    return 127;
}
