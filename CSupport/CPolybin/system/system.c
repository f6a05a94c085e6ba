/* Thin syscall wrappers for the Swift System layer (Sources/PolybinKit/System). */
#define _GNU_SOURCE
#include "pb_system.h"
#include <fcntl.h>
#include <unistd.h>

ssize_t pb_copy_file_range(int in_fd, int64_t *in_offset, int out_fd, size_t count) {
    loff_t offset = *in_offset;
    ssize_t n = copy_file_range(in_fd, &offset, out_fd, NULL, count, 0);
    *in_offset = offset;
    return n;
}

int pb_advise_sequential(int fd) { return posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL); }
