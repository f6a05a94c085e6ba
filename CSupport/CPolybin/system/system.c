/* Thin syscall wrappers for the Swift System layer (Sources/PolybinKit/System). */
#define _GNU_SOURCE
#include "pb_system.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
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

int pb_spawn(const char *path, char *const argv[], char *const envp[], const char *directory,
             int in_fd, int out_fd, int err_fd, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int error = posix_spawn_file_actions_init(&actions);
    if (error) return error;
    error = posix_spawnattr_init(&attributes);
    if (error) {
        posix_spawn_file_actions_destroy(&actions);
        return error;
    }
    /* Into place in order 0, 1, 2 when no dup2 overwrites a source a later one needs (the
     * usual case: stdin 0, stdout 2, stderr a pipe). Otherwise the sources are copied above
     * all of them first, which needs three more descriptors: past `ulimit -n` that is EMFILE,
     * said as such (posix_spawn would say EBADF, which blames the descriptors given). */
    int sources[3] = { in_fd, out_fd, err_fd };
    int clash = 0;
    for (int i = 0; i < 3; i++)
        for (int later = i + 1; later < 3; later++)
            if (sources[later] == i) clash = 1;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    if (!clash) {
        for (int i = 0; i < 3 && !error; i++)
            error = posix_spawn_file_actions_adddup2(&actions, sources[i], i);
    } else {
        int above = 3;
        for (int i = 0; i < 3; i++)
            if (sources[i] >= above) above = sources[i] + 1;
        struct rlimit files;
        if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY && (rlim_t)above + 3 > files.rlim_cur)
            error = EMFILE;
        for (int i = 0; i < 3 && !error; i++)
            error = posix_spawn_file_actions_adddup2(&actions, sources[i], above + i);
        for (int i = 0; i < 3 && !error; i++)
            error = posix_spawn_file_actions_adddup2(&actions, above + i, i);
    }
    if (!error) error = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (!error && directory) error = posix_spawn_file_actions_addchdir_np(&actions, directory);
    if (!error) error = posix_spawnattr_setsigmask(&attributes, &none);
    if (!error) error = posix_spawnattr_setsigdefault(&attributes, &all);
    if (!error) error = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (!error) error = posix_spawn(pid, path, &actions, &attributes, argv, envp ? envp : environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return error;
}

int pb_wait(pid_t pid, int *code, int *signaled) {
    int status;
    pid_t done;
    do done = waitpid(pid, &status, 0); while (done < 0 && errno == EINTR);
    if (done < 0) return -1;
    if (WIFSIGNALED(status)) {
        *code = WTERMSIG(status);
        *signaled = 1;
    } else {
        *code = WEXITSTATUS(status);
        *signaled = 0;
    }
    return 0;
}

int pb_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int pb_terminal_columns(int fd) {
    struct winsize size;
    return ioctl(fd, TIOCGWINSZ, &size) == 0 ? size.ws_col : 0;
}

void pb_file_size_limit_fails_writes(void) { signal(SIGXFSZ, SIG_IGN); }
