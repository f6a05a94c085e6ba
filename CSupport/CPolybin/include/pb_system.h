/* Syscalls the Swift System layer needs that Glibc's module does not export (they sit
 * behind _GNU_SOURCE). Each returns what the syscall returns and leaves errno set. */
#ifndef PB_SYSTEM_H
#define PB_SYSTEM_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* copy_file_range(2) from in_fd at *in_offset to out_fd's current position. */
ssize_t pb_copy_file_range(int in_fd, int64_t *in_offset, int out_fd, size_t count);

/* posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL): inputs are read once, front to back. */
int pb_advise_sequential(int fd);
#endif
