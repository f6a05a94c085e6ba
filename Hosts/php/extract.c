/* Files on disk, in a private cache directory: an embedded file a C library
 * must open by path (libcurl's CA bundle), and the `php` on PATH that is this program. */
#define _GNU_SOURCE
#include "php_host.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pb_sha256.h"

/* ---- extraction for C libraries ------------------------------------------------------- */

static int private_dir(const char *path) {
    struct stat st;
    if (mkdir(path, 0700) != 0 && errno != EEXIST) return 0;
    if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
    return st.st_uid == geteuid() && (st.st_mode & 022) == 0;
}

/* The cache directory for this user, made private; NULL when none is safe. */
static const char *cache_dir(void) {
    static char dir[PATH_MAX];
    const char *base = getauxval(AT_SECURE) ? NULL : getenv("XDG_CACHE_HOME");
    const char *home = getauxval(AT_SECURE) ? NULL : getenv("HOME");
    char parent[PATH_MAX];
    if (dir[0]) return dir;
    if (base && base[0] == '/') snprintf(parent, sizeof parent, "%s", base);
    else if (home && home[0] == '/') snprintf(parent, sizeof parent, "%s/.cache", home);
    else snprintf(parent, sizeof parent, "/tmp/polybin-php-%u", (unsigned)geteuid());
    mkdir(parent, 0700);
    snprintf(dir, sizeof dir, "%s/polybin-php", parent);
    if (!private_dir(dir)) {
        snprintf(dir, sizeof dir, "/tmp/polybin-php-%u", (unsigned)geteuid());
        if (!private_dir(dir)) dir[0] = 0;
    }
    return dir[0] ? dir : NULL;
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

/* A real path with the content of embedded file `f`, or NULL. */
const char *host_extract(const polybin_file *f, char out[PATH_MAX]) {
    const char *dir = cache_dir();
    unsigned char *bytes, digest[32];
    char hex[65], temp[PATH_MAX];
    const char *slash = strrchr(f->name, '/');
    struct stat st;
    int fd, ok;
    if (!dir) return NULL;
    bytes = malloc(f->size ? f->size : 1);
    if (!bytes || bundle_read(f, bytes, f->size) != (long long)f->size) { free(bytes); return NULL; }
    pb_sha256(bytes, f->size, digest);
    for (int i = 0; i < 32; i++) sprintf(hex + 2 * i, "%02x", digest[i]);
    /* The last component is kept, so a library that looks at the suffix still sees it. */
    snprintf(out, PATH_MAX, "%s/%.16s-%s", dir, hex, slash ? slash + 1 : f->name);
    fd = open(out, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() && (st.st_mode & 022) == 0
             && same_content(fd, bytes, f->size);
        close(fd);
        if (ok) { free(bytes); return out; }
    }
    snprintf(temp, sizeof temp, "%s/.tmp-%d-%.16s", dir, (int)getpid(), hex);
    fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
    ok = fd >= 0;
    for (size_t at = 0; ok && at < f->size;) {
        ssize_t put = write(fd, bytes + at, f->size - at);
        if (put <= 0) ok = 0;
        else at += (size_t)put;
    }
    if (fd >= 0 && close(fd) != 0) ok = 0;
    ok = ok && rename(temp, out) == 0;
    if (!ok) unlink(temp);
    free(bytes);
    return ok ? out : NULL;
}

/* ---- PATH ------------------------------------------------------------------------------ */

/* A directory in the cache with `php` linked to this program, first on PATH. */
void host_put_php_on_path(void) {
    const char *dir = cache_dir();
    char bin[PATH_MAX], link_path[PATH_MAX], temp[PATH_MAX], target[PATH_MAX];
    unsigned char digest[32];
    const char *path = getenv("PATH");
    char *value;
    ssize_t n;
    if (!dir || !host_self[0]) return;
    pb_sha256((const unsigned char *)host_self, strlen(host_self), digest);
    snprintf(bin, sizeof bin, "%s/bin-%02x%02x%02x%02x%02x%02x%02x%02x", dir, digest[0], digest[1], digest[2],
             digest[3], digest[4], digest[5], digest[6], digest[7]);
    if (!private_dir(bin)) return;
    snprintf(link_path, sizeof link_path, "%s/php", bin);
    n = readlink(link_path, target, sizeof target - 1);
    if (n < 0 || (size_t)n != strlen(host_self) || memcmp(target, host_self, (size_t)n) != 0) {
        snprintf(temp, sizeof temp, "%s/.php-%d", bin, (int)getpid());
        unlink(temp);
        if (symlink(host_self, temp) != 0 || rename(temp, link_path) != 0) { unlink(temp); return; }
    }
    value = malloc(strlen(bin) + (path ? strlen(path) : 0) + 2);
    if (!value) return;
    sprintf(value, "%s%s%s", bin, path && *path ? ":" : "", path ? path : "");
    setenv("PATH", value, 1);
    free(value);
}

