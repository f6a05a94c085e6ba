/* What the runner trusts and what it may touch: secure-exec policy, resource limits around a
 * rebuild, checks on files it did not make, and the test-only fault hook. */
#define _GNU_SOURCE
#include "pb_launch.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

int pb_secure_exec(void) { return getauxval(AT_SECURE) != 0; }

/* Every variable the runner reads (POLYBIN_*, XDG_CACHE_HOME, HOME, TMPDIR) belongs to the
 * caller; under a setuid/setgid/capability exec the caller must not steer the runner. */
const char *pb_env(const char *name) { return pb_secure_exec() ? NULL : getenv(name); }

/* ---- file-size limit: a rebuild writes the build, the program it runs must not notice ---- */

static struct rlimit saved_fsize;
static struct sigaction saved_xfsz;
static int limits_raised;

void pb_limits_for_rebuild(void) {
    if (limits_raised) return;
    if (getrlimit(RLIMIT_FSIZE, &saved_fsize) != 0) return;
    struct rlimit raised = saved_fsize;
    raised.rlim_cur = raised.rlim_max;
    setrlimit(RLIMIT_FSIZE, &raised);
    /* Past a hard limit a write fails with EFBIG (reported, the file removed) instead of
     * killing the runner with SIGXFSZ and leaving the file behind. */
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGXFSZ, &ignore, &saved_xfsz);
    limits_raised = 1;
}

void pb_limits_for_exec(void) {
    if (!limits_raised) return;
    setrlimit(RLIMIT_FSIZE, &saved_fsize);
    sigaction(SIGXFSZ, &saved_xfsz, NULL);  /* an ignored signal would stay ignored across exec */
    limits_raised = 0;
}

/* ---- files the runner did not make ---- */

int pb_open_regular(int dfd, const char *name, struct stat *st) {
    /* O_NONBLOCK: a FIFO planted under the name must not block the open. */
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    return fd;
}

/* ---- the tests' fault hook ---- */

void pb_fault_point(const char *point) {
    const char *want = pb_env("POLYBIN_TEST_KILL_AT");
    if (want && strcmp(want, point) == 0) raise(SIGKILL);
}
