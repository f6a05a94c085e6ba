/* Files on disk, in the directory the cache policy gives (docs/cache-policy.md): an embedded
 * file a C library must open by path (libcurl's CA bundle), and the `php` on PATH that is this
 * program. Everything in the directory is reached through its descriptor; nothing is written
 * when what is there is already right, and nothing at all under a secure exec. */
#define _GNU_SOURCE
#include "php_host.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "pb_cache_dir.h"
#include "pb_launch.h"
#include "pb_sha256.h"

static pb_cache_dir place;

/* The cache directory's descriptor, opened once; -1 when no place is safe. */
static int cache_fd(void) {
    static int fd = -2;
    if (fd == -2) fd = pb_cache_dir_open(&place, NULL, "polybin-php", PB_CACHE_TMP_FALLBACK);
    return fd;
}

/* Temporary names: `.tmp-PID-N-ENTRY` for an extracted file, `.php-PID-N` for the `php` link in
 * a bin-HASH directory. N is the first number whose name is free: a killed run's leftover may
 * carry this run's pid (a container's programs are all pid 1) or another pid namespace's
 * live process may be using it, and neither may make this run fail or lose its file. */
enum { TEMP_TRIES = 64 };

/* 1 when `*p` starts with decimal digits then `-`; moves past them. */
static int skip_number(const char **p) {
    const char *start = *p;
    while (**p >= '0' && **p <= '9') (*p)++;
    return *p > start && *(*p)++ == '-';
}

/* 1 for a name this file gives a temporary file in the cache directory. */
static int is_temp_name(const char *name) {
    const char *p = name + 5;
    if (strncmp(name, ".tmp-", 5) != 0 || !skip_number(&p) || !skip_number(&p)) return 0;
    for (int i = 0; i < 16; i++, p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
    return *p == '-' && p[1];
}

/* 1 for `bin-` and 16 lowercase hex digits. */
static int is_bin_name(const char *name) {
    if (strncmp(name, "bin-", 4) != 0 || strlen(name) != 20) return 0;
    for (const char *p = name + 4; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
    return 1;
}

/* 1 when `st` is this user's and was last changed more than an hour ago: a temporary name
 * that old belongs to a killed run. */
static int stale(const struct stat *st, time_t now) {
    return st->st_uid == geteuid() && now - st->st_mtime > 3600;
}

/* One bin-HASH directory (opened without following a link): its stale `.php-PID-N` links
 * go, and when its `php` link dangles (the program no longer exists) the link and then the
 * directory; an empty directory goes once stale (a run killed before it made the link). */
static void collect_bin(int dfd, const char *bin, time_t now) {
    int fd = openat(dfd, bin, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), gone = 0;
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;
    struct stat st, target, self;
    if (!d) {
        if (fd >= 0) close(fd);
        return;
    }
    /* Its age before this collection changes it. */
    if (fstat(fd, &self) != 0) self.st_uid = (uid_t)-1;
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, ".php-", 5) && fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
            && S_ISLNK(st.st_mode) && stale(&st, now))
            unlinkat(fd, de->d_name, 0);
    if (fstatat(fd, "php", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) && st.st_uid == geteuid()
        && fstatat(fd, "php", &target, 0) != 0 && errno == ENOENT)
        gone = unlinkat(fd, "php", 0) == 0;
    /* rmdir fails on a directory that still holds anything: a live program's link, a young
     * temporary one. */
    if (gone || stale(&self, now)) unlinkat(dfd, bin, AT_REMOVEDIR);
    closedir(d);
}

/* Only names of this cache's own scheme go, and nothing is followed through a link: temporary
 * files of killed runs after an hour, and the bin-HASH directory of a program that no longer
 * exists (its `php` link dangles). Run only when something is written, never on a warm start. */
static void collect(int dfd) {
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;
    time_t now = time(NULL);
    if (!d) {
        if (fd >= 0) close(fd);
        return;
    }
    while ((de = readdir(d))) {
        struct stat st;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_uid != geteuid()) continue;
        if (is_temp_name(de->d_name) && S_ISREG(st.st_mode) && stale(&st, now)) unlinkat(dfd, de->d_name, 0);
        else if (is_bin_name(de->d_name) && S_ISDIR(st.st_mode)) collect_bin(dfd, de->d_name, now);
    }
    closedir(d);
}

static int same_content(int fd, const unsigned char *bytes, size_t size) {
    unsigned char chunk[65536];
    size_t at = 0;
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof chunk);
        if (got < 0) return 0;
        if (got == 0) return at == size;
        if (at + (size_t)got > size || memcmp(chunk, bytes + at, (size_t)got) != 0) return 0;
        at += (size_t)got;
    }
}

/* `bytes` under `name` in the directory: written unnamed (O_TMPFILE) or under a temporary name,
 * then renamed into place, so readers see the whole file or none. */
static int write_entry(int dfd, const char *name, const unsigned char *bytes, size_t size) {
    char temp[128], proc[64];
    int fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0400), ok, named = 0;
    int unnamed = fd >= 0;
    for (int n = 0; !unnamed && n < TEMP_TRIES && !named; n++) {
        snprintf(temp, sizeof temp, ".tmp-%d-%d-%.40s", (int)getpid(), n, name);
        fd = openat(dfd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
        named = fd >= 0;
        if (!named && errno != EEXIST) break;
    }
    ok = fd >= 0;
    for (size_t at = 0; ok && at < size;) {
        ssize_t put = write(fd, bytes + at, size - at);
        if (put <= 0) ok = 0;
        else at += (size_t)put;
    }
    if (ok && unnamed) {
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        for (int n = 0; n < TEMP_TRIES && !named; n++) {
            snprintf(temp, sizeof temp, ".tmp-%d-%d-%.40s", (int)getpid(), n, name);
            named = linkat(AT_FDCWD, proc, dfd, temp, AT_SYMLINK_FOLLOW) == 0;
            if (!named && errno != EEXIST) break;
        }
        ok = named;
    }
    if (fd >= 0 && close(fd) != 0) ok = 0;
    ok = ok && renameat(dfd, temp, dfd, name) == 0;
    /* Only a name this run made is removed: another one may be a live writer's. */
    if (!ok && named) unlinkat(dfd, temp, 0);
    return ok;
}

const char *host_extract(const polybin_file *f, char out[PATH_MAX]) {
    int dfd = cache_fd(), fd, ok;
    unsigned char *bytes, digest[32];
    char hex[65], name[NAME_MAX + 1];
    const char *slash = strrchr(f->name, '/');
    struct stat st;
    if (dfd < 0) return NULL;
    bytes = malloc(f->size ? f->size : 1);
    if (!bytes || bundle_read(f, bytes, f->size) != (long long)f->size) { free(bytes); return NULL; }
    pb_sha256(bytes, f->size, digest);
    for (int i = 0; i < 32; i++) sprintf(hex + 2 * i, "%02x", digest[i]);
    /* The last component is kept, so a library that looks at the suffix still sees it. */
    snprintf(name, sizeof name, "%.16s-%.200s", hex, slash ? slash + 1 : f->name);
    snprintf(out, PATH_MAX, "%s/%s", place.path, name);
    fd = pb_open_regular(dfd, name, &st);
    if (fd >= 0) {
        ok = pb_cache_entry_private(&st) && same_content(fd, bytes, f->size);
        close(fd);
        if (ok) { free(bytes); return out; }
    }
    ok = write_entry(dfd, name, bytes, f->size);
    free(bytes);
    if (ok) collect(dfd);
    return ok ? out : NULL;
}

/* bin-HASH (of this program's path) holding `php`, a link to this program, first on PATH. A
 * warm start only reads the link; the directory and link are made when missing or wrong. */
void host_put_php_on_path(void) {
    char bin[32], target[PATH_MAX], entry[PATH_MAX];
    unsigned char digest[32];
    const char *path = getenv("PATH");
    struct stat st;
    char *value;
    ssize_t n;
    int dfd, bfd;
    if (pb_secure_exec() || !host_self[0] || (dfd = cache_fd()) < 0) return;
    pb_sha256((const unsigned char *)host_self, strlen(host_self), digest);
    snprintf(bin, sizeof bin, "bin-%02x%02x%02x%02x%02x%02x%02x%02x", digest[0], digest[1], digest[2], digest[3],
             digest[4], digest[5], digest[6], digest[7]);
    bfd = openat(dfd, bin, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (bfd < 0 && errno == ENOENT && (mkdirat(dfd, bin, 0700) == 0 || errno == EEXIST))
        bfd = openat(dfd, bin, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (bfd < 0) return;
    if (fstat(bfd, &st) != 0 || !pb_cache_entry_private(&st)) { close(bfd); return; }
    n = readlinkat(bfd, "php", target, sizeof target - 1);
    if (n < 0 || (size_t)n != strlen(host_self) || memcmp(target, host_self, (size_t)n) != 0) {
        char temp[64];
        int made = 0;
        for (int i = 0; i < TEMP_TRIES && !made; i++) {
            snprintf(temp, sizeof temp, ".php-%d-%d", (int)getpid(), i);
            made = symlinkat(host_self, bfd, temp) == 0;
            if (!made && errno != EEXIST) break;
        }
        if (!made || renameat(bfd, temp, bfd, "php") != 0) {
            if (made) unlinkat(bfd, temp, 0);
            close(bfd);
            return;
        }
        collect(dfd);
    }
    close(bfd);
    snprintf(entry, sizeof entry, "%s/%s", place.path, bin);
    value = malloc(strlen(entry) + (path ? strlen(path) : 0) + 2);
    if (!value) return;
    sprintf(value, "%s%s%s", entry, path && *path ? ":" : "", path ? path : "");
    setenv("PATH", value, 1);
    free(value);
}
