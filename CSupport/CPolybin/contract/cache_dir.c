/* The one cache-directory policy (docs/cache-policy.md): which directory a process may keep
 * files in, walked from "/" a component at a time so that no one but root and the effective
 * user can change what the returned descriptor names. */
#define _GNU_SOURCE
#include "pb_cache_dir.h"
#include "pb_launch.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_DEPTH = 64, MAX_LINKS = 40 };

static int refuse(pb_cache_dir *out, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(out->detail, sizeof out->detail, format, args);
    va_end(args);
    return -1;
}

int pb_cache_entry_private(const struct stat *st) {
    return st->st_uid == geteuid() && (st->st_mode & 022) == 0;
}

/* A directory names may be looked up in: root's or ours, and writable by no one else unless
 * sticky. Returns 1 when sticky (the next component must then be ours). */
static int check_parent(pb_cache_dir *out, const struct stat *st, const char *shown, int *sticky) {
    if (st->st_uid != 0 && st->st_uid != geteuid())
        return refuse(out, "%s: %s belongs to another user (uid %u), skipped", out->path, shown, (unsigned)st->st_uid);
    *sticky = (st->st_mode & S_ISVTX) != 0;
    if ((st->st_mode & 022) && !*sticky)
        return refuse(out, "%s: %s is writable by others and not sticky, skipped", out->path, shown);
    return 0;
}

static void close_all(int *stack, int depth) {
    while (depth > 0) close(stack[--depth]);
}

/* Non-empty components in `p` other than ".". */
static int components(const char *p) {
    int n = 0;
    while (*p) {
        while (*p == '/') p++;
        if (!*p) break;
        size_t len = strcspn(p, "/");
        if (!(len == 1 && p[0] == '.')) n++;
        p += len;
    }
    return n;
}

/* Walks `out->path` (absolute). Of its last `creatable` components, those missing are
 * created 0700; `private_mode` is the mode bits the final directory must not have. */
static int walk(pb_cache_dir *out, int creatable, mode_t private_mode) {
    char rest[8192], walked[4096] = "";
    int stack[MAX_DEPTH], sticky[MAX_DEPTH], depth = 0, links = 0;
    struct stat st;
    uid_t me = geteuid();
    int fd = -1, result = -1;
    snprintf(rest, sizeof rest, "%s", out->path);
    stack[0] = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (stack[0] < 0) return refuse(out, "%s: /: %s", out->path, strerror(errno));
    depth = 1;
    if (fstat(stack[0], &st) != 0) { refuse(out, "%s: /: %s", out->path, strerror(errno)); goto done; }
    if (check_parent(out, &st, "/", &sticky[0]) < 0) goto done;
    for (char *p = rest;;) {
        while (*p == '/') p++;
        if (!*p) break;
        size_t len = strcspn(p, "/");
        char name[256];
        if (len >= sizeof name) { refuse(out, "%s: a component is too long", out->path); goto done; }
        memcpy(name, p, len);
        name[len] = 0;
        p += len;
        int after = components(p), last = after == 0;
        if (!strcmp(name, ".")) continue;
        if (!strcmp(name, "..")) {
            if (depth > 1) close(stack[--depth]);
            char *slash = strrchr(walked, '/');
            if (slash) *slash = 0;
            continue;
        }
        size_t used = strlen(walked);
        snprintf(walked + used, sizeof walked - used, "/%s", name);
        int parent = stack[depth - 1];
        if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            /* Missing: made here only when it is one of the components that may be created. */
            int made = errno == ENOENT && after < creatable && (mkdirat(parent, name, 0700) == 0 || errno == EEXIST);
            if (!made || fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                refuse(out, "%s: %s: %s", out->path, walked, strerror(errno));
                goto done;
            }
        }
        if (sticky[depth - 1] && st.st_uid != me) {
            refuse(out, "%s: %s belongs to another user (uid %u) in a directory anyone may write, skipped",
                   out->path, walked, (unsigned)st.st_uid);
            goto done;
        }
        if (S_ISLNK(st.st_mode)) {
            char target[4096], joined[8192];
            ssize_t n;
            if (last) {
                refuse(out, "%s: is a symbolic link, not a directory: skipped (name the directory itself)", out->path);
                goto done;
            }
            if (st.st_uid != 0 && st.st_uid != me) {
                refuse(out, "%s: %s is a link of another user (uid %u), skipped", out->path, walked, (unsigned)st.st_uid);
                goto done;
            }
            if (++links > MAX_LINKS) { refuse(out, "%s: %s: %s", out->path, walked, strerror(ELOOP)); goto done; }
            if ((n = readlinkat(parent, name, target, sizeof target - 1)) <= 0) {
                refuse(out, "%s: %s: %s", out->path, walked, strerror(errno));
                goto done;
            }
            target[n] = 0;
            /* The target, then what was left, walked from "/" or from the link's directory. */
            if ((size_t)snprintf(joined, sizeof joined, "%s/%s", target, p) >= sizeof joined) {
                refuse(out, "%s: path too long", out->path);
                goto done;
            }
            snprintf(rest, sizeof rest, "%s", joined);
            p = rest;
            walked[used] = 0;
            if (target[0] == '/') {
                close_all(stack + 1, depth - 1);
                depth = 1;
                walked[0] = 0;
            }
            continue;
        }
        if (!S_ISDIR(st.st_mode)) { refuse(out, "%s: %s: %s", out->path, walked, strerror(ENOTDIR)); goto done; }
        if (depth == MAX_DEPTH) { refuse(out, "%s: too deep", out->path); goto done; }
        fd = openat(parent, name, (last ? O_RDONLY : O_PATH) | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) != 0) {
            refuse(out, "%s: %s: %s", out->path, walked, strerror(errno));
            goto done;
        }
        if (last) break;
        stack[depth++] = fd;
        fd = -1;
        if (check_parent(out, &st, walked, &sticky[depth - 1]) < 0) goto done;
    }
    /* The directory itself: ours and writable by no one else (or, for the fallback, private). */
    if (fd < 0 || !pb_cache_entry_private(&st) || (st.st_mode & private_mode)) {
        refuse(out, "%s: not a private directory of this user (owner or mode), skipped", out->path);
        goto done;
    }
    result = fd;
    fd = -1;
done:
    if (fd >= 0) close(fd);
    close_all(stack, depth);
    return result;
}

/* One candidate: `base` + `tail`; missing components of `tail`, and of `base` when it may be
 * created, are created. */
static int candidate(pb_cache_dir *out, const char *base, const char *tail, int base_creatable, mode_t private_mode) {
    if ((size_t)snprintf(out->path, sizeof out->path, "%s%s", base, tail) >= sizeof out->path)
        return refuse(out, "%s%s: path too long", base, tail);
    return walk(out, base_creatable ? MAX_DEPTH : components(tail), private_mode);
}

static const char *absolute(const char *value) {
    return value && value[0] == '/' ? value : NULL;
}

int pb_cache_dir_open(pb_cache_dir *out, const char *explicit_dir, const char *name, int flags) {
    char tail[300];
    const char *xdg, *home;
    int fd = -1;
    out->path[0] = out->detail[0] = 0;
    if (pb_secure_exec()) return refuse(out, "a setuid, setgid or capability exec keeps no files (AT_SECURE)");
    if (explicit_dir) return candidate(out, explicit_dir, "", 1, 022);
    if ((xdg = absolute(pb_env("XDG_CACHE_HOME")))) {
        snprintf(tail, sizeof tail, "/%s", name);
        fd = candidate(out, xdg, tail, 1, 022);
    } else if ((home = absolute(pb_env("HOME")))) {
        snprintf(tail, sizeof tail, "/.cache/%s", name);
        fd = candidate(out, home, tail, 0, 022);
    } else {
        refuse(out, "no cache directory: XDG_CACHE_HOME and HOME are unset, empty or relative");
    }
    if (fd >= 0) out->detail[0] = 0;
    if (fd >= 0 || !(flags & PB_CACHE_TMP_FALLBACK)) return fd;
    char first[sizeof out->detail];
    snprintf(first, sizeof first, "%s", out->detail);
    snprintf(tail, sizeof tail, "/%s-%u", name, (unsigned)geteuid());
    fd = candidate(out, "/tmp", tail, 0, 077);
    if (fd >= 0) {
        out->detail[0] = 0;
    } else {
        char second[sizeof out->detail];
        snprintf(second, sizeof second, "%s", out->detail);
        snprintf(out->detail, sizeof out->detail, "%.500s; %.500s", first, second);
    }
    return fd;
}
