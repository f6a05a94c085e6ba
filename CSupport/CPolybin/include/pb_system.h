/* Syscalls the Swift System layer needs that Glibc's module does not export (they sit
 * behind _GNU_SOURCE). Each returns what the syscall returns and leaves errno set. */
#ifndef PB_SYSTEM_H
#define PB_SYSTEM_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* copy_file_range(2) from in_fd at *in_offset to out_fd at *out_offset; both advance. */
ssize_t pb_copy_file_range(int in_fd, int64_t *in_offset, int out_fd, int64_t *out_offset, size_t count);

/* lseek(fd, offset, SEEK_DATA) and SEEK_HOLE: where data and holes of a sparse file lie. */
int64_t pb_seek_data(int fd, int64_t offset);
int64_t pb_seek_hole(int fd, int64_t offset);
#endif
