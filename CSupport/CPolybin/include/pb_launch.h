/* Running a build: rebuild it into an executable file descriptor, verify it, execveat it.
 * Each pb_launch_* returns only when it could not run the build. */
#ifndef PB_LAUNCH_H
#define PB_LAUNCH_H
#include <stdint.h>
#include <sys/stat.h>
#include "pb_bundle.h"

typedef enum pb_launch_result {
    PB_LAUNCH_UNAVAILABLE = 1,  /* this strategy cannot work here: try the next one */
    PB_LAUNCH_CORRUPT = 2,      /* the build did not decode or verify: stop, never run it */
    PB_LAUNCH_REFUSED = 3       /* the kernel will not run this verified build (ENOEXEC, a
                                   missing interpreter): no other strategy can, stop */
} pb_launch_result;

typedef struct pb_launch {
    const pb_bundle *bundle;
    uint32_t index;             /* the chosen entry */
    char *const *argv;
    char *const *envp;
    pb_status status;           /* set with PB_LAUNCH_CORRUPT */
    /* POLYBIN_LOG's decision line up to "via " (NULL: no log): completed with the strategy
     * and its place, and written to stderr, immediately before the exec that runs the build. */
    const char *announce;
    char detail[1024];          /* one line: what was tried and why it failed */
} pb_launch;

/* Content-addressed cache in the directory the cache policy gives (pb_cache_dir_open:
 * `explicit_dir`, POLYBIN_CACHE_DIR, or NULL for $XDG_CACHE_HOME/polybin or
 * $HOME/.cache/polybin). Warm launches compare a record of inode, size and ctime taken when
 * the entry was written and verified; `max_bytes` bounds the directory (0 keeps only the
 * entry just written). */
int pb_launch_cache(pb_launch *launch, const char *explicit_dir, uint64_t max_bytes);

/* Anonymous memory file named "polybin:NAME", sealed after verification. */
int pb_launch_memfd(pb_launch *launch, const char *name);

/* An unlinked temporary file in the first of `dirs` (NULL-terminated) that works. */
int pb_launch_tmpfile(pb_launch *launch, const char *const *dirs);

/* Until exec, SIGBUS (reading a payload page past the end of a truncated file) exits with
 * `exit_code` and one line on stderr instead of crashing. Exec resets the handler. */
void pb_guard_truncation(int exit_code);

/* 1 when the page holding `address` is mapped: 0 when, say, strip removed the payload's
 * section and so its segment, where reading it would crash. */
int pb_mapped(const void *address);

/* Process facts the runner needs, behind this layer so Swift never touches libc directly. */
const char *pb_env(const char *name);                   /* getenv; NULL for all under a secure exec */
void pb_write_all(int fd, const void *bytes, uint64_t size);
void pb_exit(int code) __attribute__((noreturn));


/* Policy (run/policy.c). 1 when the kernel marked this exec secure (AT_SECURE: setuid,
 * setgid or file capabilities): the caller's environment is then ignored and the build runs
 * from memfd only, so nothing is read, written or deleted anywhere the caller can name. */
int pb_secure_exec(void);
/* Around a rebuild: the soft file-size limit raised to the hard one and SIGXFSZ ignored;
 * pb_limits_for_exec puts both back as they were, so the program sees its own limits. */
void pb_limits_for_rebuild(void);
void pb_limits_for_exec(void);
/* openat(dfd, name) read-only, never following a symlink nor blocking on a FIFO; -1 with
 * EINVAL unless it is a regular file (its stat in `st`). */
int pb_open_regular(int dfd, const char *name, struct stat *st);
/* Tests only: the runner kills itself with SIGKILL at `point` when POLYBIN_TEST_KILL_AT
 * names it (ignored under a secure exec, like every variable). */
void pb_fault_point(const char *point);

#endif
