/* Where this process may keep files, and the directory opened safely: the one cache-directory
 * policy of the runner and the PHP host (docs/cache-policy.md). */
#ifndef PB_CACHE_DIR_H
#define PB_CACHE_DIR_H
#include <sys/stat.h>

/* When no XDG_CACHE_HOME or HOME directory is usable: /tmp/NAME-EUID, private (0700). */
#define PB_CACHE_TMP_FALLBACK 1

typedef struct pb_cache_dir {
    char path[4096];    /* the directory's path: for messages, and for names a library must open */
    char detail[1024];  /* one line, when no directory: what was tried and why it was refused */
} pb_cache_dir;

/* The descriptor (O_RDONLY | O_DIRECTORY | O_CLOEXEC) of the directory this process may keep
 * files in, or -1 with `detail` set. `explicit_dir`: a directory the user named for this
 * purpose (the runner's POLYBIN_CACHE_DIR), used as it is, or NULL; else $XDG_CACHE_HOME/NAME,
 * $HOME/.cache/NAME, and with PB_CACHE_TMP_FALLBACK /tmp/NAME-EUID. Every component is opened
 * relative to the one before and must belong to root or the effective user, and be writable
 * by no one else or sticky (then the next belongs to the effective user); the directory
 * itself belongs to the effective user and is writable by no one else. Under a secure exec
 * (AT_SECURE) there is none. Missing components after HOME are created 0700. */
int pb_cache_dir_open(pb_cache_dir *out, const char *explicit_dir, const char *name, int flags);

/* 1 when a file or directory in the cache directory (its fstat) may be used: it belongs to the
 * effective user and no one else can write it. */
int pb_cache_entry_private(const struct stat *st);

#endif
