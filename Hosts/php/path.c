/* Paths as PHP hands them to the host: made absolute, normalised textually, and named in the
 * bundle when they lie in the tree, against the working directory (which chdir() may have
 * put in the tree). Pure: no PHP, no disk but getcwd. */
#define _GNU_SOURCE
#include "php_host.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The working directory when chdir() went into the tree (the process's own cannot follow it
 * there); "" while it is the process's. */
char host_cwd[PATH_MAX];

/* `path` made absolute (against the working directory) and normalised textually: no "//",
 * ".", "..". Returns 0 when it does not fit. */
int host_normalise(const char *path, char out[PATH_MAX]) {
    char joined[PATH_MAX * 2];
    size_t n = 0;
    const char *p;
    if (!strncmp(path, "file://", 7)) path += 7;
    if (path[0] == '/') {
        if (strlen(path) >= sizeof joined) return 0;
        strcpy(joined, path);
    } else {
        char cwd[PATH_MAX];
        if (host_cwd[0]) snprintf(cwd, sizeof cwd, "%s", host_cwd);
        else if (!getcwd(cwd, sizeof cwd)) return 0;
        if ((size_t)snprintf(joined, sizeof joined, "%s/%s", cwd, path) >= sizeof joined) return 0;
    }
    for (p = joined; *p;) {
        const char *end;
        size_t len;
        while (*p == '/') p++;
        if (!*p) break;
        end = strchr(p, '/');
        len = end ? (size_t)(end - p) : strlen(p);
        if (len == 1 && p[0] == '.') {
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            while (n > 0 && out[n - 1] != '/') n--;
            if (n > 0) n--;
        } else {
            if (n + 1 + len >= PATH_MAX) return 0;
            out[n++] = '/';
            memcpy(out + n, p, len);
            n += len;
        }
        p += len;
    }
    if (n == 0) out[n++] = '/';
    out[n] = 0;
    return 1;
}

/* The bundle name of an absolute normalised path in the tree, or NULL: under a root of
 * host_roots, relative to it (one tree) or without its leading "/" (several). */
const char *host_bundle_name(const char *absolute) {
    for (const char *r = host_roots; *r;) {
        size_t n = strcspn(r, ":");
        if (n > 0 && strncmp(absolute, r, n) == 0 && (absolute[n] == 0 || absolute[n] == '/')) {
            if (host_names_absolute) return absolute + 1;
            return absolute[n] ? absolute + n + 1 : absolute + n;
        }
        r += n;
        if (*r) r++;
    }
    return NULL;
}

const char *host_disk_path(const char *path, char buffer[PATH_MAX]) {
    if (!host_cwd[0] || path[0] == '/' || !strncmp(path, "file://", 7) || strstr(path, "://")) return path;
    return host_normalise(path, buffer) ? buffer : path;
}

/* The absolute path of bundle name `name`: the inverse of host_bundle_name. */
void host_tree_path(const char *name, char out[PATH_MAX]) {
    if (host_names_absolute) snprintf(out, PATH_MAX, "/%s", name);
    else snprintf(out, PATH_MAX, "%s%s%s", host_roots, *name ? "/" : "", name);
}

/* For a path PHP hands us: the bundle name when it lies in the tree, else NULL. */
const char *host_in_tree(const char *path, char buffer[PATH_MAX]) {
    if (strstr(path, "://") && strncmp(path, "file://", 7) != 0) return NULL;
    if (!host_normalise(path, buffer)) return NULL;
    return host_bundle_name(buffer);
}
