/* Files and directories to remove when polybin is interrupted (SIGINT, SIGTERM, SIGHUP,
 * SIGQUIT): the temporary files an output is written to before its rename, and the scratch
 * directories of a step; and the progress line to erase from the terminal. The handler does
 * only async-signal-safe work -- atomic exchanges, unlink, unlinkat, rmdir, getdents64 into a
 * static buffer, write -- then dies of the same signal. */
#define _GNU_SOURCE
#include "pb_system.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct pb_doomed {
    int directory;
    char path[];
};

#define PB_DOOMED_SLOTS 64
static _Atomic(struct pb_doomed *) doomed[PB_DOOMED_SLOTS];
static atomic_flag installed = ATOMIC_FLAG_INIT;
/* The terminal a progress line is shown on, -1 when none is. */
static atomic_int shown_line = -1;
static const int signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

/* One directory's entries (regular files, links, empty directories), then the directory. */
static void empty_and_remove(const char *path) {
    static char buffer[4096];
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        long n;
        while ((n = syscall(SYS_getdents64, fd, buffer, sizeof buffer)) > 0) {
            for (long at = 0; at < n;) {
                struct dirent64 *entry = (struct dirent64 *)(buffer + at);
                at += entry->d_reclen;
                const char *name = entry->d_name;
                if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
                if (unlinkat(fd, name, 0) != 0) unlinkat(fd, name, AT_REMOVEDIR);
            }
        }
        close(fd);
    }
    rmdir(path);
}

static void on_signal(int sig) {
    int saved = errno;
    int line = atomic_exchange(&shown_line, -1);
    if (line >= 0) {
        static const char erase[] = "\r\033[K";
        ssize_t ignored = write(line, erase, sizeof erase - 1);
        (void)ignored;
    }
    for (int i = 0; i < PB_DOOMED_SLOTS; i++) {
        struct pb_doomed *entry = atomic_exchange(&doomed[i], NULL);
        if (!entry) continue;
        if (entry->directory) empty_and_remove(entry->path);
        else unlink(entry->path);
    }
    errno = saved;
    /* SA_RESETHAND restored the default action and SA_NODEFER leaves the signal unblocked:
     * raising it again ends the process as the signal would have without polybin's handler. */
    raise(sig);
}

static void install(void) {
    if (atomic_flag_test_and_set(&installed)) return;
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction old;
        /* A signal the caller ignores (nohup, a shell's background job) stays ignored. */
        if (sigaction(signals[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL) continue;
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = on_signal;
        action.sa_flags = SA_RESETHAND | SA_NODEFER;
        sigemptyset(&action.sa_mask);
        sigaction(signals[i], &action, NULL);
    }
}

int pb_remove_on_signal(const char *path, int directory) {
    install();
    size_t length = strlen(path);
    struct pb_doomed *entry = malloc(sizeof *entry + length + 1);
    if (!entry) return -1;
    entry->directory = directory;
    memcpy(entry->path, path, length + 1);
    for (int i = 0; i < PB_DOOMED_SLOTS; i++) {
        struct pb_doomed *empty = NULL;
        if (atomic_compare_exchange_strong(&doomed[i], &empty, entry)) return i;
    }
    free(entry);
    return -1;
}

void pb_keep_on_signal(int slot) {
    if (slot < 0 || slot >= PB_DOOMED_SLOTS) return;
    /* NULL when the handler took it first: then the process is dying, and the entry leaks. */
    free(atomic_exchange(&doomed[slot], NULL));
}

void pb_erase_on_signal(int fd) {
    if (fd >= 0) install();
    atomic_store(&shown_line, fd);
}
