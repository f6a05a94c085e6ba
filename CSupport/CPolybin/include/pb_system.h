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

/* Starts PATH with ARGV and ENVP (NULL: this process's environment) in DIRECTORY (NULL: this
 * one), its stdin, stdout and stderr being IN_FD, OUT_FD and ERR_FD and no other descriptor
 * open. The child starts with an empty signal mask and every signal at its default
 * disposition, whatever the calling thread blocks or ignores (a test runner's or dispatch
 * worker's blocked SIGCHLD would otherwise reach it: cmake then waits forever for its own
 * children). Returns 0 and sets *PID, or an errno value. */
int pb_spawn(const char *path, char *const argv[], char *const envp[], const char *directory,
             int in_fd, int out_fd, int err_fd, pid_t *pid);

/* Waits for PID (retrying EINTR). Returns 0 with *CODE its exit status and *SIGNALED 0, or
 * *CODE the signal that killed it and *SIGNALED 1; -1 with errno set when waitpid fails. */
int pb_wait(pid_t pid, int *code, int *signaled);

/* pipe2(fds, O_CLOEXEC): fds[0] reads, fds[1] writes. */
int pb_pipe(int fds[2]);

/* A write past RLIMIT_FSIZE (`ulimit -f`) fails with EFBIG instead of killing the process
 * with SIGXFSZ, so that polybin reports it in one line and removes what it was writing.
 * Children started by pb_spawn get the default action back. */
void pb_file_size_limit_fails_writes(void);

/* Removes PATH (a file, or with DIRECTORY set a directory and the entries in it) if polybin
 * dies of SIGINT, SIGTERM, SIGHUP or SIGQUIT before pb_keep_on_signal(slot); the process then
 * dies of that signal as it would have. Signals the process ignores stay ignored. Returns the
 * slot, or -1 when all 64 are taken or memory is short (PATH is then left behind on a signal). */
int pb_remove_on_signal(const char *path, int directory);
void pb_keep_on_signal(int slot);

/* While FD (a terminal) shows a progress line, a signal of those above erases it before the
 * process dies, so that the shell's prompt does not follow a stale line; -1: none is shown. */
void pb_erase_on_signal(int fd);

/* The width of the terminal FD in columns (TIOCGWINSZ), 0 when FD is not a terminal or the
 * terminal does not say. */
int pb_terminal_columns(int fd);
#endif
