/* A PHP application as one executable: PHP's embed SAPI plus the application's tree, embedded
 * by `polybin embed --name phpapp` and served from memory under a virtual root.
 *
 * Built by Templates/php-host.mk with these macros (strings unless noted):
 *   PHP_HOST_ROOT   absolute path the tree appears at, e.g. "/usr/share/arcanist"; paths
 *                   below it are read from the bundle, every other path from the disk
 *   PHP_HOST_ENTRY  the entry script, relative to the root, e.g. "bin/arc"
 *   PHP_HOST_INI    INI lines after the host's own (extension=... for a shared libphp)
 *   PHP_HOST_PATH_PHP  1: put a `php` that is this program first on PATH, for the
 *                   application's own `php` calls
 *
 * Run under the name `php` (a link), it is the PHP command line for the embedded tree and the
 * disk: php [-n] [-q] [-d k=v]... (-f FILE | -r CODE | -l FILE | FILE | -) [--] [ARGS...].
 *
 * What the tree looks like from PHP: a read-only file system. The `file` wrapper is replaced
 * by one that serves paths under the root from the bundle and hands every other path to PHP's
 * own plain-files wrapper; realpath, glob, is_readable/is_writable/is_executable and
 * curl_setopt (CA files) are replaced so they agree with it. Writes under the root fail with
 * EROFS. A file that must reach a C library as a real path (libcurl's CA bundle) is extracted
 * on demand into a private cache directory (0700, owned by this user, entries named by
 * content hash, written to a temporary name and renamed, compared byte for byte on use). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sapi/embed/php_embed.h>
#include <main/php_streams.h>
#include <main/php_main.h>
#include <main/php_variables.h>
#include <Zend/zend_exceptions.h>
#include <Zend/zend_constants.h>
#include <ext/standard/php_filestat.h>

#include "phpapp.h"
#include "pb_sha256.h"

#ifndef PHP_HOST_ROOT
#error "define PHP_HOST_ROOT, the absolute path the embedded tree appears at"
#endif
#ifndef PHP_HOST_ENTRY
#define PHP_HOST_ENTRY ""
#endif
#ifndef PHP_HOST_INI
#define PHP_HOST_INI ""
#endif
#ifndef PHP_HOST_PATH_PHP
#define PHP_HOST_PATH_PHP 0
#endif

static const char root[] = PHP_HOST_ROOT;
static time_t tree_mtime;
static char self_path[PATH_MAX];

/* The host's INI: no php.ini is read. The values are Debian's php-cli ones, except
 * variables_order: with EGPCS $_ENV is filled, so Arcanist needs no `php` subprocess for it. */
static const char host_ini[] =
    "html_errors=0\n"
    "register_argc_argv=1\n"
    "implicit_flush=1\n"
    "output_buffering=0\n"
    "max_execution_time=0\n"
    "max_input_time=-1\n"
    "memory_limit=-1\n"
    "display_errors=0\n"
    "log_errors=1\n"
    "error_reporting=22527\n"
    "zend.assertions=-1\n"
    "zend.exception_ignore_args=1\n"
    "variables_order=EGPCS\n"
    PHP_HOST_INI;

/* ---- paths ---------------------------------------------------------------------------- */

/* `path` made absolute (against the working directory) and normalised textually: no "//",
 * ".", "..". Returns 0 when it does not fit. */
static int normalise(const char *path, char out[PATH_MAX]) {
    char joined[PATH_MAX * 2];
    size_t n = 0;
    const char *p;
    if (!strncmp(path, "file://", 7)) path += 7;
    if (path[0] == '/') {
        if (strlen(path) >= sizeof joined) return 0;
        strcpy(joined, path);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) return 0;
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

/* The bundle name of an absolute normalised path under the root ("" for the root), or NULL. */
static const char *bundle_name(const char *absolute) {
    size_t n = sizeof root - 1;
    if (strncmp(absolute, root, n) != 0) return NULL;
    if (absolute[n] == 0) return absolute + n;
    if (absolute[n] != '/') return NULL;
    return absolute + n + 1;
}

/* For a path PHP hands us: the bundle name when it lies under the root, else NULL. */
static const char *in_tree(const char *path, char buffer[PATH_MAX]) {
    if (strstr(path, "://") && strncmp(path, "file://", 7) != 0) return NULL;
    if (!normalise(path, buffer)) return NULL;
    return bundle_name(buffer);
}

static void fill_stat(php_stream_statbuf *ssb, int kind, const polybin_file *f) {
    memset(ssb, 0, sizeof *ssb);
    ssb->sb.st_mode = kind == POLYBIN_DIRECTORY ? (S_IFDIR | 0555) : (S_IFREG | 0444);
    ssb->sb.st_nlink = 1;
    ssb->sb.st_size = f ? (off_t)f->size : 0;
    ssb->sb.st_blksize = 4096;
    ssb->sb.st_blocks = f ? (blkcnt_t)((f->size + 511) / 512) : 0;
    ssb->sb.st_atime = ssb->sb.st_mtime = ssb->sb.st_ctime = tree_mtime;
    ssb->sb.st_ino = f ? (ino_t)(f - phpapp_at(0)) + 2 : 1;
}

/* ---- the file wrapper ----------------------------------------------------------------- */

static php_stream_wrapper tree_wrapper;
#define PLAIN (&php_plain_files_wrapper)

/* Writes into the tree fail as on a read-only mount: EROFS, and PHP's warning. */
static void read_only(php_stream_wrapper *wrapper, int options, int opening) {
    errno = EROFS;
    if (opening) php_stream_wrapper_log_error(wrapper, options, "%s", strerror(EROFS));
    else if (options & REPORT_ERRORS) php_error_docref(NULL, E_WARNING, "%s", strerror(EROFS));
}

static php_stream *tree_open(php_stream_wrapper *wrapper, const char *filename, const char *mode, int options,
                             zend_string **opened_path, php_stream_context *context STREAMS_DC) {
    char buffer[PATH_MAX], relative[PATH_MAX];
    const char *name = in_tree(filename, buffer);
    const polybin_file *f;
    zend_string *content;
    php_stream *stream;
    /* include "x.php" from a script in the tree: relative to that script first, as PHP does. */
    if (!name && (options & USE_PATH) && filename[0] != '/' && zend_is_executing()) {
        const char *executing = zend_get_executed_filename();
        const char *slash = executing ? strrchr(executing, '/') : NULL;
        if (slash && (size_t)snprintf(relative, sizeof relative, "%.*s/%s", (int)(slash - executing), executing, filename) < sizeof relative) {
            name = in_tree(relative, buffer);
            if (name && phpapp_kind(name) != POLYBIN_FILE) name = NULL;
        }
    }
    if (!name) return PLAIN->wops->stream_opener(PLAIN, filename, mode, options, opened_path, context STREAMS_REL_CC);
    if (strpbrk(mode, "wax+c")) {
        read_only(wrapper, options, 1);
        return NULL;
    }
    f = phpapp_find(name);
    if (!f) {
        errno = phpapp_kind(name) == POLYBIN_DIRECTORY ? EISDIR : ENOENT;
        php_stream_wrapper_log_error(wrapper, options, "%s", strerror(errno));
        return NULL;
    }
    content = zend_string_alloc(f->size, 0);
    if (phpapp_read(f, ZSTR_VAL(content), f->size) != (long long)f->size) {
        zend_string_efree(content);
        errno = EIO;
        php_stream_wrapper_log_error(wrapper, options, "embedded file does not decode");
        return NULL;
    }
    ZSTR_VAL(content)[f->size] = 0;
    stream = php_stream_memory_open(TEMP_STREAM_READONLY, content);
    zend_string_release(content);
    if (stream && opened_path) *opened_path = zend_string_init(buffer, strlen(buffer), 0);
    return stream;
}

static int tree_url_stat(php_stream_wrapper *wrapper, const char *url, int flags, php_stream_statbuf *ssb,
                         php_stream_context *context) {
    char buffer[PATH_MAX];
    const char *name = in_tree(url, buffer);
    int kind;
    if (!name) return PLAIN->wops->url_stat(PLAIN, url, flags, ssb, context);
    kind = phpapp_kind(name);
    if (kind == POLYBIN_NONE) return -1;
    fill_stat(ssb, kind, kind == POLYBIN_FILE ? phpapp_find(name) : NULL);
    return 0;
}

/* A directory stream: one php_stream_dirent per read, "." and ".." first, as readdir gives. */
typedef struct tree_dir {
    char name[PATH_MAX];
    size_t cursor;
    int dots;
} tree_dir;

static ssize_t tree_dir_read(php_stream *stream, char *buf, size_t count) {
    tree_dir *d = stream->abstract;
    php_stream_dirent *ent = (php_stream_dirent *)buf;
    polybin_dirent e;
    if (count != sizeof(php_stream_dirent)) return -1;
    if (d->dots < 2) {
        strcpy(ent->d_name, d->dots++ ? ".." : ".");
        return sizeof(php_stream_dirent);
    }
    if (!phpapp_dir_next(d->name, &d->cursor, &e)) {
        stream->eof = 1;
        return 0;
    }
    if (e.length >= sizeof ent->d_name) return -1;
    memcpy(ent->d_name, e.name, e.length);
    ent->d_name[e.length] = 0;
    return sizeof(php_stream_dirent);
}

static int tree_dir_close(php_stream *stream, int close_handle) {
    efree(stream->abstract);
    return 0;
}

static int tree_dir_rewind(php_stream *stream, zend_off_t offset, int whence, zend_off_t *newoffs) {
    tree_dir *d = stream->abstract;
    d->cursor = 0;
    d->dots = 0;
    return 0;
}

static const php_stream_ops tree_dir_ops = {
    NULL, tree_dir_read, tree_dir_close, NULL, "embedded dir", tree_dir_rewind, NULL, NULL, NULL,
};

static php_stream *tree_opendir(php_stream_wrapper *wrapper, const char *filename, const char *mode, int options,
                                zend_string **opened_path, php_stream_context *context STREAMS_DC) {
    char buffer[PATH_MAX];
    const char *name = in_tree(filename, buffer);
    tree_dir *d;
    php_stream *stream;
    if (!name) return PLAIN->wops->dir_opener(PLAIN, filename, mode, options, opened_path, context STREAMS_REL_CC);
    if (phpapp_kind(name) != POLYBIN_DIRECTORY) {
        errno = phpapp_kind(name) == POLYBIN_FILE ? ENOTDIR : ENOENT;
        php_stream_wrapper_log_error(wrapper, options, "%s", strerror(errno));
        return NULL;
    }
    d = ecalloc(1, sizeof *d);
    strcpy(d->name, name);
    stream = php_stream_alloc(&tree_dir_ops, d, 0, mode);
    if (!stream) efree(d);
    else stream->flags |= PHP_STREAM_FLAG_NO_BUFFER;
    return stream;
}

static int tree_unlink(php_stream_wrapper *wrapper, const char *url, int options, php_stream_context *context) {
    char buffer[PATH_MAX];
    if (!in_tree(url, buffer)) return PLAIN->wops->unlink(PLAIN, url, options, context);
    read_only(wrapper, options, 0);
    return 0;
}

static int tree_rename(php_stream_wrapper *wrapper, const char *from, const char *to, int options, php_stream_context *context) {
    char a[PATH_MAX], b[PATH_MAX];
    if (!in_tree(from, a) && !in_tree(to, b)) return PLAIN->wops->rename(PLAIN, from, to, options, context);
    read_only(wrapper, options, 0);
    return 0;
}

static int tree_mkdir(php_stream_wrapper *wrapper, const char *url, int mode, int options, php_stream_context *context) {
    char buffer[PATH_MAX];
    if (!in_tree(url, buffer)) return PLAIN->wops->stream_mkdir(PLAIN, url, mode, options, context);
    read_only(wrapper, options, 0);
    return 0;
}

static int tree_rmdir(php_stream_wrapper *wrapper, const char *url, int options, php_stream_context *context) {
    char buffer[PATH_MAX];
    if (!in_tree(url, buffer)) return PLAIN->wops->stream_rmdir(PLAIN, url, options, context);
    read_only(wrapper, options, 0);
    return 0;
}

static int tree_metadata(php_stream_wrapper *wrapper, const char *url, int option, void *value, php_stream_context *context) {
    char buffer[PATH_MAX];
    if (!in_tree(url, buffer)) return PLAIN->wops->stream_metadata(PLAIN, url, option, value, context);
    read_only(wrapper, REPORT_ERRORS, 0);
    return 0;
}

static const php_stream_wrapper_ops tree_wrapper_ops = {
    tree_open, NULL, NULL, tree_url_stat, tree_opendir, "plainfile",
    tree_unlink, tree_rename, tree_mkdir, tree_rmdir, tree_metadata,
};

static php_stream_wrapper tree_wrapper = { &tree_wrapper_ops, NULL, 0 };

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
static const char *extract(const polybin_file *f, char out[PATH_MAX]) {
    const char *dir = cache_dir();
    unsigned char *bytes, digest[32];
    char hex[65], temp[PATH_MAX];
    const char *slash = strrchr(f->name, '/');
    struct stat st;
    int fd, ok;
    if (!dir) return NULL;
    bytes = malloc(f->size ? f->size : 1);
    if (!bytes || phpapp_read(f, bytes, f->size) != (long long)f->size) { free(bytes); return NULL; }
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

/* ---- replaced functions --------------------------------------------------------------- */

static zif_handler original_realpath, original_glob, original_is_readable, original_is_writable,
    original_is_writeable, original_is_executable, original_curl_setopt;

/* realpath(): paths under the root resolve textually and must exist in the tree. */
static ZEND_NAMED_FUNCTION(host_realpath) {
    zend_string *path;
    char buffer[PATH_MAX];
    const char *name;
    if (ZEND_NUM_ARGS() != 1 || Z_TYPE_P(ZEND_CALL_ARG(execute_data, 1)) != IS_STRING) {
        original_realpath(execute_data, return_value);
        return;
    }
    path = Z_STR_P(ZEND_CALL_ARG(execute_data, 1));
    name = in_tree(ZSTR_VAL(path), buffer);
    if (!name) {
        original_realpath(execute_data, return_value);
        return;
    }
    if (phpapp_kind(name) == POLYBIN_NONE) RETURN_FALSE;
    RETURN_STRING(buffer);
}

/* glob(): a pattern under the root is matched against the tree, one component at a time. */
static void glob_tree(const char *dir, const char *pattern, int flags, zval *matches) {
    const char *slash = strchr(pattern, '/');
    size_t len = slash ? (size_t)(slash - pattern) : strlen(pattern);
    char component[PATH_MAX], child[PATH_MAX];
    size_t cursor = 0;
    polybin_dirent e;
    if (len == 0) { if (slash) glob_tree(dir, slash + 1, flags, matches); return; }
    memcpy(component, pattern, len);
    component[len] = 0;
    while (phpapp_dir_next(dir, &cursor, &e)) {
        char name[PATH_MAX];
        memcpy(name, e.name, e.length);
        name[e.length] = 0;
        if (fnmatch(component, name, FNM_PERIOD) != 0) continue;
        snprintf(child, sizeof child, "%s%s%s", dir, *dir ? "/" : "", name);
        if (slash && slash[1]) {
            if (e.kind == POLYBIN_DIRECTORY) glob_tree(child, slash + 1, flags, matches);
        } else if (!slash || e.kind == POLYBIN_DIRECTORY) {
            if ((flags & GLOB_ONLYDIR) && e.kind != POLYBIN_DIRECTORY) continue;
            char full[PATH_MAX * 2];
            snprintf(full, sizeof full, "%s/%s%s", root, child, (flags & GLOB_MARK) && e.kind == POLYBIN_DIRECTORY ? "/" : "");
            add_next_index_string(matches, full);
        }
    }
}

static int compare_strings(Bucket *a, Bucket *b) {
    return strcmp(Z_STRVAL(a->val), Z_STRVAL(b->val));
}

static ZEND_NAMED_FUNCTION(host_glob) {
    char buffer[PATH_MAX];
    const char *name;
    zend_long flags = 0;
    zval *pattern = ZEND_NUM_ARGS() >= 1 ? ZEND_CALL_ARG(execute_data, 1) : NULL;
    if (!pattern || Z_TYPE_P(pattern) != IS_STRING || !(name = in_tree(Z_STRVAL_P(pattern), buffer))) {
        original_glob(execute_data, return_value);
        return;
    }
    if (ZEND_NUM_ARGS() >= 2 && Z_TYPE_P(ZEND_CALL_ARG(execute_data, 2)) == IS_LONG)
        flags = Z_LVAL_P(ZEND_CALL_ARG(execute_data, 2));
    array_init(return_value);
    glob_tree("", name, (int)flags, return_value);
    if (!(flags & GLOB_NOSORT)) zend_hash_sort(Z_ARRVAL_P(return_value), compare_strings, 1);
}

/* is_readable() and friends: PHP asks access(2) only for its own plain wrapper, so paths off
 * the tree go to access(2) here; in the tree everything is readable, nothing writable. */
static void host_access(INTERNAL_FUNCTION_PARAMETERS, int mode, zif_handler original) {
    char buffer[PATH_MAX];
    const char *name;
    zval *path = ZEND_NUM_ARGS() == 1 ? ZEND_CALL_ARG(execute_data, 1) : NULL;
    if (!path || Z_TYPE_P(path) != IS_STRING || strlen(Z_STRVAL_P(path)) != Z_STRLEN_P(path)) {
        original(execute_data, return_value);
        return;
    }
    name = in_tree(Z_STRVAL_P(path), buffer);
    if (name) {
        int kind = phpapp_kind(name);
        RETURN_BOOL(kind != POLYBIN_NONE && (mode == R_OK || (mode == X_OK && kind == POLYBIN_DIRECTORY)));
    }
    if (strstr(Z_STRVAL_P(path), "://") && strncmp(Z_STRVAL_P(path), "file://", 7) != 0) {
        original(execute_data, return_value);
        return;
    }
    RETURN_BOOL(Z_STRLEN_P(path) > 0 && access(Z_STRVAL_P(path) + (strncmp(Z_STRVAL_P(path), "file://", 7) ? 0 : 7), mode) == 0);
}

static ZEND_NAMED_FUNCTION(host_is_readable) { host_access(INTERNAL_FUNCTION_PARAM_PASSTHRU, R_OK, original_is_readable); }
static ZEND_NAMED_FUNCTION(host_is_writable) { host_access(INTERNAL_FUNCTION_PARAM_PASSTHRU, W_OK, original_is_writable); }
static ZEND_NAMED_FUNCTION(host_is_writeable) { host_access(INTERNAL_FUNCTION_PARAM_PASSTHRU, W_OK, original_is_writeable); }
static ZEND_NAMED_FUNCTION(host_is_executable) { host_access(INTERNAL_FUNCTION_PARAM_PASSTHRU, X_OK, original_is_executable); }

/* curl_setopt($h, CURLOPT_CAINFO, path in the tree): libcurl opens the file itself. */
#define HOST_CURLOPT_CAINFO 10065
static ZEND_NAMED_FUNCTION(host_curl_setopt) {
    char buffer[PATH_MAX], extracted[PATH_MAX];
    const char *name;
    const polybin_file *f;
    zval *option = ZEND_NUM_ARGS() == 3 ? ZEND_CALL_ARG(execute_data, 2) : NULL;
    zval *value = option ? ZEND_CALL_ARG(execute_data, 3) : NULL;
    if (option && Z_TYPE_P(option) == IS_LONG && Z_LVAL_P(option) == HOST_CURLOPT_CAINFO
        && Z_TYPE_P(value) == IS_STRING && (name = in_tree(Z_STRVAL_P(value), buffer)) && (f = phpapp_find(name))) {
        if (!extract(f, extracted)) {
            php_error_docref(NULL, E_WARNING, "cannot extract embedded %s for libcurl", Z_STRVAL_P(value));
            RETURN_FALSE;
        }
        zval_ptr_dtor(value);
        ZVAL_STRING(value, extracted);
    }
    original_curl_setopt(execute_data, return_value);
}

/* include/require path resolution. PHP resolves a path to its include_once identity before
 * opening it, through realpath(3)-like lookups on the disk (lstat of every component): for the
 * tree that would consult the disk (and, were a component a symlink there, name a file outside
 * the tree). Paths in the tree resolve textually instead, against the bundle, so one file has
 * one identity however it is spelled and whether or not the disk has a copy; relative names
 * are tried along include_path and then beside the executing script, as PHP does. */
static zend_string *(*original_resolve_path)(zend_string *filename);

/* One explicit candidate (absolute, ./ or ../, or a wrapper URL): the bundle decides for the
 * tree, PHP's own resolution for everything else. */
static zend_string *resolve_explicit(const char *path) {
    char buffer[PATH_MAX];
    const char *name = strstr(path, "://") && strncmp(path, "file://", 7) != 0 ? NULL : in_tree(path, buffer);
    zend_string *other, *found;
    if (name) return phpapp_kind(name) == POLYBIN_FILE ? zend_string_init(buffer, strlen(buffer), 0) : NULL;
    other = zend_string_init(path, strlen(path), 0);
    found = original_resolve_path(other);
    zend_string_release(other);
    return found;
}

static zend_string *host_resolve_path(zend_string *filename) {
    const char *f = ZSTR_VAL(filename);
    char candidate[PATH_MAX];
    zend_string *found;
    if (ZSTR_LEN(filename) == 0 || strlen(f) != ZSTR_LEN(filename)) return original_resolve_path(filename);
    if (f[0] == '/' || strstr(f, "://") || (f[0] == '.' && (f[1] == '/' || (f[1] == '.' && f[2] == '/'))))
        return resolve_explicit(f);
    /* A bare relative name: each include_path entry, then the executing script's directory
     * (with no include_path, the working directory), as php_resolve_path searches. */
    if (!PG(include_path) || !PG(include_path)[0]) {
        if ((size_t)snprintf(candidate, sizeof candidate, "./%s", f) >= sizeof candidate) return NULL;
        return resolve_explicit(candidate);
    }
    for (const char *p = PG(include_path); *p;) {
        const char *q = p, *end;
        int wrapper = 0;
        size_t n;
        while (isalnum((unsigned char)*q) || *q == '+' || *q == '-' || *q == '.') q++;
        if (q[0] == ':' && q - p > 1 && q[1] == '/' && q[2] == '/' && !(q - p == 2 && p[0] == '.')) {
            wrapper = 1;
            q += 3;
        } else {
            q = p;
        }
        end = strchr(q, DEFAULT_DIR_SEPARATOR);
        n = end ? (size_t)(end - p) : strlen(p);
        if (n > 0 && (size_t)snprintf(candidate, sizeof candidate, "%s%.*s/%s", wrapper || p[0] == '/' ? "" : "./",
                                      (int)n, p, f) < sizeof candidate
            && (found = resolve_explicit(candidate)))
            return found;
        p += n;
        if (*p) p++;
    }
    if (zend_is_executing()) {
        const char *executing = zend_get_executed_filename();
        const char *slash = executing ? strrchr(executing, '/') : NULL;
        if (slash && (size_t)snprintf(candidate, sizeof candidate, "%.*s/%s", (int)(slash - executing), executing, f) < sizeof candidate)
            return resolve_explicit(candidate);
    }
    return NULL;
}

static void replace(const char *function, zif_handler with, zif_handler *original) {
    zend_function *f = zend_hash_str_find_ptr(CG(function_table), function, strlen(function));
    if (!f || f->type != ZEND_INTERNAL_FUNCTION) return;
    *original = f->internal_function.handler;
    f->internal_function.handler = with;
}

static void install_tree(void) {
    replace("realpath", host_realpath, &original_realpath);
    replace("glob", host_glob, &original_glob);
    replace("is_readable", host_is_readable, &original_is_readable);
    replace("is_writable", host_is_writable, &original_is_writable);
    replace("is_writeable", host_is_writeable, &original_is_writeable);
    replace("is_executable", host_is_executable, &original_is_executable);
    replace("curl_setopt", host_curl_setopt, &original_curl_setopt);
    original_resolve_path = zend_resolve_path;
    zend_resolve_path = host_resolve_path;
    /* PHP consults the request's wrapper table for "file" once it exists (volatile registration
     * creates it); without one it would use its plain wrapper directly. */
    php_unregister_url_stream_wrapper_volatile(ZSTR_KNOWN(ZEND_STR_FILE));
    php_register_url_stream_wrapper_volatile(ZSTR_KNOWN(ZEND_STR_FILE), &tree_wrapper);
}

/* ---- the CLI's constants -------------------------------------------------------------- */

static void register_stdio(void) {
    static const char *names[] = {"STDIN", "STDOUT", "STDERR"};
    static const char *urls[] = {"php://stdin", "php://stdout", "php://stderr"};
    static const char *modes[] = {"rb", "wb", "wb"};
    for (int i = 0; i < 3; i++) {
        php_stream *s = php_stream_open_wrapper_ex(urls[i], modes[i], 0, NULL, NULL);
        zend_constant c;
        if (!s) continue;
        /* Closing STDOUT in PHP must not close fd 1 under the engine's own output. */
        s->flags |= PHP_STREAM_FLAG_NO_CLOSE;
        php_stream_to_zval(s, &c.value);
        ZEND_CONSTANT_SET_FLAGS(&c, CONST_CS, 0);
        c.name = zend_string_init_interned(names[i], strlen(names[i]), 1);
        zend_register_constant(&c);
    }
}

/* ---- PATH ------------------------------------------------------------------------------ */

/* A directory in the cache with `php` linked to this program, first on PATH. */
static void put_php_on_path(void) {
    const char *dir = cache_dir();
    char bin[PATH_MAX], link_path[PATH_MAX], temp[PATH_MAX], target[PATH_MAX];
    unsigned char digest[32];
    const char *path = getenv("PATH");
    char *value;
    ssize_t n;
    if (!dir || !self_path[0]) return;
    pb_sha256((const unsigned char *)self_path, strlen(self_path), digest);
    snprintf(bin, sizeof bin, "%s/bin-%02x%02x%02x%02x%02x%02x%02x%02x", dir, digest[0], digest[1], digest[2],
             digest[3], digest[4], digest[5], digest[6], digest[7]);
    if (!private_dir(bin)) return;
    snprintf(link_path, sizeof link_path, "%s/php", bin);
    n = readlink(link_path, target, sizeof target - 1);
    if (n < 0 || (size_t)n != strlen(self_path) || memcmp(target, self_path, (size_t)n) != 0) {
        snprintf(temp, sizeof temp, "%s/.php-%d", bin, (int)getpid());
        unlink(temp);
        if (symlink(self_path, temp) != 0 || rename(temp, link_path) != 0) { unlink(temp); return; }
    }
    value = malloc(strlen(bin) + (path ? strlen(path) : 0) + 2);
    if (!value) return;
    sprintf(value, "%s%s%s", bin, path && *path ? ":" : "", path ? path : "");
    setenv("PATH", value, 1);
    free(value);
}

/* ---- the engine ------------------------------------------------------------------------ */

static int engine_start(int argc, char **argv, const char *defines) {
    size_t size = sizeof host_ini + strlen(defines) + 1;
    char *ini = malloc(size);
    if (!ini) return 0;
    snprintf(ini, size, "%s%s", host_ini, defines);
#if defined(ZEND_SIGNALS)
    zend_signal_startup();
#endif
    sapi_startup(&php_embed_module);
    php_embed_module.ini_entries = ini;
    php_embed_module.php_ini_ignore = 1;
    php_embed_module.executable_location = self_path[0] ? self_path : argv[0];
    if (php_embed_module.startup(&php_embed_module) == FAILURE) return 0;
    SG(options) |= SAPI_OPTION_NO_CHDIR;
    SG(request_info).argc = argc;
    SG(request_info).argv = argv;
    if (php_request_startup() == FAILURE) return 0;
    SG(headers_sent) = 1;
    SG(request_info).no_headers = 1;
    php_register_variable("PHP_SELF", "-", NULL);
    /* Warnings name the function from now on, not "PHP Request Startup" (the CLI does this too). */
    PG(during_request_startup) = 0;
    install_tree();
    register_stdio();
    return 1;
}

static int run_file(const char *path) {
    zend_file_handle handle;
    int status;
    CG(skip_shebang) = 1;
    if (!strcmp(path, "-")) {
        zend_stream_init_fp(&handle, stdin, "Standard input code");
    } else {
        zend_stream_init_filename(&handle, path);
    }
    php_execute_script(&handle);
    status = EG(exit_status);
    zend_destroy_file_handle(&handle);
    return status;
}

/* php -l: compile only, with the CLI's messages and exit statuses. */
static int lint_file(const char *path) {
    zend_file_handle handle;
    int status = 0;
    zend_stream_init_filename(&handle, path);
    CG(skip_shebang) = 1;
    zend_try {
        zend_op_array *op = zend_compile_file(&handle, ZEND_INCLUDE);
        if (op) {
            destroy_op_array(op);
            efree(op);
        } else {
            status = 255;
        }
    } zend_catch {
        status = 255;
    } zend_end_try();
    if (EG(exception)) {
        zend_exception_error(EG(exception), E_ERROR);
        status = 255;
    }
    if (status == 0) php_printf("No syntax errors detected in %s\n", path);
    else php_printf("Errors parsing %s\n", path);
    zend_destroy_file_handle(&handle);
    return status;
}

static void engine_stop(void) {
    php_request_shutdown(NULL);
    php_module_shutdown();
    sapi_shutdown();
    free(php_embed_module.ini_entries);
    php_embed_module.ini_entries = NULL;
}

static int usage(const char *program) {
    fprintf(stderr, "usage: %s [-n] [-q] [-d key=value]... (-f FILE | -r CODE | -l FILE | FILE | -) [--] [ARGS...]\n", program);
    return 1;
}

/* Run as `php`: the options Arcanist and scripts use. */
static int php_main(int argc, char **argv) {
    char *defines = calloc(1, 1);
    size_t defines_size = 1;
    const char *file = NULL, *code = NULL;
    int lint = 0, i, status = 255;
    char **script_argv;
    int script_argc;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { i++; break; }
        if (a[0] != '-' || !strcmp(a, "-")) break;
        if (!strcmp(a, "-n") || !strcmp(a, "--no-php-ini") || !strcmp(a, "-q") || !strcmp(a, "--no-header")) continue;
        if (!strcmp(a, "-d") || !strcmp(a, "--define") || !strncmp(a, "-d", 2)) {
            const char *kv = a[1] == 'd' && a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
            char *grown;
            if (!kv) return usage(argv[0]);
            grown = realloc(defines, defines_size + strlen(kv) + (strchr(kv, '=') ? 1 : 3));
            if (!grown) return 1;
            defines = grown;
            strcat(defines, kv);
            strcat(defines, strchr(kv, '=') ? "\n" : "=1\n");
            defines_size = strlen(defines) + 1;
            continue;
        }
        if (!strcmp(a, "-f") || !strcmp(a, "--file") || !strcmp(a, "-l") || !strcmp(a, "--syntax-check")) {
            if (a[1] == 'l' || !strcmp(a, "--syntax-check")) {
                lint = 1;
                if (i + 1 < argc && argv[i + 1][0] != '-') file = argv[++i];
                continue;
            }
            if (i + 1 >= argc) return usage(argv[0]);
            file = argv[++i];
            continue;
        }
        if (!strcmp(a, "-r") || !strcmp(a, "--run")) {
            if (i + 1 >= argc) return usage(argv[0]);
            code = argv[++i];
            continue;
        }
        fprintf(stderr, "%s: unknown option %s\n", argv[0], a);
        return usage(argv[0]);
    }
    if (!file && !code && i < argc) file = argv[i++];
    else if (i < argc && !strcmp(argv[i], "--")) i++;
    if (!file && !code) file = "-";
    if (lint && !file) return usage(argv[0]);
    /* $argv: the script (or "Standard input code" / "-") then its arguments, as the CLI gives. */
    script_argc = argc - i + 1;
    script_argv = calloc((size_t)script_argc + 1, sizeof *script_argv);
    if (!script_argv) return 1;
    script_argv[0] = (char *)(code ? "Standard input code" : file);
    for (int k = 1; k < script_argc; k++) script_argv[k] = argv[i + k - 1];
    if (!engine_start(script_argc, script_argv, defines)) {
        fprintf(stderr, "%s: PHP did not start\n", argv[0]);
        return 1;
    }
    zend_first_try {
        if (lint) {
            status = lint_file(file);
        } else if (code) {
            if (zend_eval_string_ex((char *)code, NULL, "Command line code", 1) == FAILURE) status = 255;
            else status = EG(exit_status);
        } else {
            status = run_file(file);
        }
    } zend_catch {
        status = EG(exit_status);
    } zend_end_try();
    if (code && EG(exit_status)) status = EG(exit_status);
    engine_stop();
    free(defines);
    free(script_argv);
    return status;
}

int main(int argc, char **argv) {
    const char *base = strrchr(argv[0], '/');
    struct stat st;
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    char entry[PATH_MAX];
    int status = 255;
    self_path[n > 0 ? n : 0] = 0;
    tree_mtime = self_path[0] && stat(self_path, &st) == 0 ? st.st_mtime : 0;
    base = base ? base + 1 : argv[0];
    if (PHP_HOST_PATH_PHP) put_php_on_path();
    if (!strcmp(base, "php") || !PHP_HOST_ENTRY[0]) return php_main(argc, argv);

    snprintf(entry, sizeof entry, "%s/%s", root, PHP_HOST_ENTRY);
    if (!engine_start(argc, argv, "")) {
        fprintf(stderr, "%s: PHP did not start\n", argv[0]);
        return 1;
    }
    zend_first_try {
        status = run_file(entry);
    } zend_catch {
        status = EG(exit_status);
    } zend_end_try();
    engine_stop();
    return status;
}
