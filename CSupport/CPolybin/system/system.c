/* Thin syscall wrappers for the Swift System layer (Sources/PolybinKit/System). */
#define _GNU_SOURCE
#include "pb_system.h"
#include <fcntl.h>
#include <unistd.h>

ssize_t pb_copy_file_range(int in_fd, int64_t *in_offset, int out_fd, int64_t *out_offset, size_t count) {
    loff_t in = *in_offset, out = *out_offset;
    ssize_t n = copy_file_range(in_fd, &in, out_fd, &out, count, 0);
    *in_offset = in;
    *out_offset = out;
    return n;
}

int64_t pb_seek_data(int fd, int64_t offset) { return lseek(fd, offset, SEEK_DATA); }
int64_t pb_seek_hole(int fd, int64_t offset) { return lseek(fd, offset, SEEK_HOLE); }
