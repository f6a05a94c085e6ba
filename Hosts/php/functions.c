/* PHP functions replaced so that they agree with the tree wrapper, include/require path
 * resolution, and the installation of both into the engine. */
#define _GNU_SOURCE
#include "php_host.h"
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <ext/standard/php_filestat.h>
#include <ext/spl/spl_directory.h>
#include <Zend/zend_interfaces.h>

/* ---- replaced functions --------------------------------------------------------------- */

static zif_handler original_realpath, original_glob, original_is_readable, original_is_writable,
    original_is_writeable, original_is_executable, original_curl_setopt;

/* A path argument outside the tree made absolute against a working directory in the tree
 * (host_disk_path), for a PHP function that hands it to the disk as it is. */
static void disk_argument(zval *path) {
    char buffer[PATH_MAX];
    const char *disk;
    if (Z_TYPE_P(path) != IS_STRING || (disk = host_disk_path(Z_STRVAL_P(path), buffer)) == Z_STRVAL_P(path)) return;
    zval_ptr_dtor(path);
    ZVAL_STRING(path, disk);
}

/* chdir() into the tree: the working directory becomes a path of the tree (host_cwd), which
 * relative paths then resolve against; the process's own stays where it was, since the tree
 * is nowhere on disk (a child process starts there). getcwd() answers the tree's. */
static zif_handler original_chdir, original_getcwd;

static ZEND_NAMED_FUNCTION(host_chdir) {
    char buffer[PATH_MAX];
    zval *dir = ZEND_NUM_ARGS() == 1 ? ZEND_CALL_ARG(execute_data, 1) : NULL;
    const char *name = dir && Z_TYPE_P(dir) == IS_STRING && Z_STRLEN_P(dir) > 0 ? host_in_tree(Z_STRVAL_P(dir), buffer) : NULL;
    if (name) {
        int kind = bundle_kind(name);
        if (kind != POLYBIN_DIRECTORY) {
            int err = kind == POLYBIN_FILE ? ENOTDIR : ENOENT;
            php_error_docref(NULL, E_WARNING, "%s (errno %d)", strerror(err), err);
            RETURN_FALSE;
        }
        snprintf(host_cwd, sizeof host_cwd, "%s", buffer);
        RETURN_TRUE;
    }
    if (dir) disk_argument(dir);
    original_chdir(execute_data, return_value);
    if (Z_TYPE_P(return_value) == IS_TRUE) host_cwd[0] = 0;
}

static ZEND_NAMED_FUNCTION(host_getcwd) {
    if (host_cwd[0] && ZEND_NUM_ARGS() == 0) RETURN_STRING(host_cwd);
    original_getcwd(execute_data, return_value);
}

/* realpath(): paths in the tree resolve textually and must exist in the tree. */
static ZEND_NAMED_FUNCTION(host_realpath) {
    zend_string *path;
    char buffer[PATH_MAX];
    const char *name;
    if (ZEND_NUM_ARGS() != 1 || Z_TYPE_P(ZEND_CALL_ARG(execute_data, 1)) != IS_STRING) {
        original_realpath(execute_data, return_value);
        return;
    }
    path = Z_STR_P(ZEND_CALL_ARG(execute_data, 1));
    name = host_in_tree(ZSTR_VAL(path), buffer);
    if (!name) {
        disk_argument(ZEND_CALL_ARG(execute_data, 1));
        original_realpath(execute_data, return_value);
        return;
    }
    if (bundle_kind(name) == POLYBIN_NONE) RETURN_FALSE;
    RETURN_STRING(buffer);
}

/* SplFileInfo::getRealPath() (and its subclasses': SplFileObject, DirectoryIterator, ...):
 * a path in the tree resolves as realpath() does, instead of being looked up on the disk. */
static zif_handler original_get_real_path;

static ZEND_NAMED_FUNCTION(host_get_real_path) {
    zval pathname;
    char buffer[PATH_MAX];
    const char *name = NULL;
    ZVAL_UNDEF(&pathname);
    if (ZEND_NUM_ARGS() == 0 && Z_TYPE_P(ZEND_THIS) == IS_OBJECT)
        zend_call_method(Z_OBJ_P(ZEND_THIS), spl_ce_SplFileInfo, NULL, "getpathname", sizeof "getpathname" - 1, &pathname, 0, NULL, NULL);
    if (Z_TYPE(pathname) == IS_STRING && Z_STRLEN(pathname) > 0) name = host_in_tree(Z_STRVAL(pathname), buffer);
    zval_ptr_dtor(&pathname);
    if (!name) {
        original_get_real_path(execute_data, return_value);
        return;
    }
    if (bundle_kind(name) == POLYBIN_NONE) RETURN_FALSE;
    RETURN_STRING(buffer);
}

/* Internal classes copy an inherited method: each SplFileInfo class gets the replacement. */
static void replace_get_real_path(void) {
    zend_class_entry *ce;
    zend_function *base = zend_hash_str_find_ptr(&spl_ce_SplFileInfo->function_table, "getrealpath", sizeof "getrealpath" - 1);
    if (!base || base->type != ZEND_INTERNAL_FUNCTION) return;
    original_get_real_path = base->internal_function.handler;
    ZEND_HASH_FOREACH_PTR(CG(class_table), ce) {
        zend_function *f;
        if (ce->type != ZEND_INTERNAL_CLASS || !instanceof_function(ce, spl_ce_SplFileInfo)) continue;
        f = zend_hash_str_find_ptr(&ce->function_table, "getrealpath", sizeof "getrealpath" - 1);
        if (f && f->type == ZEND_INTERNAL_FUNCTION && f->internal_function.handler == original_get_real_path)
            f->internal_function.handler = host_get_real_path;
    } ZEND_HASH_FOREACH_END();
}

/* glob(): a pattern in the tree is matched against the tree, one component at a time, as
 * glibc's glob does: GLOB_BRACE alternatives one after the other (each sorted), the root
 * itself, a trailing slash matching directories only and kept, GLOB_MARK, GLOB_ONLYDIR,
 * GLOB_NOCHECK. `slashed`: the pattern ended in '/'. */
static void glob_tree(const char *dir, const char *pattern, int flags, int slashed, zval *matches) {
    const char *slash = strchr(pattern, '/');
    size_t len = slash ? (size_t)(slash - pattern) : strlen(pattern);
    char component[PATH_MAX], child[PATH_MAX];
    size_t cursor = 0;
    polybin_dirent e;
    if (len == 0) { if (slash) glob_tree(dir, slash + 1, flags, slashed, matches); return; }
    memcpy(component, pattern, len);
    component[len] = 0;
    while (bundle_dir_next(dir, &cursor, &e)) {
        char name[PATH_MAX];
        memcpy(name, e.name, e.length);
        name[e.length] = 0;
        if (fnmatch(component, name, FNM_PERIOD) != 0) continue;
        snprintf(child, sizeof child, "%s%s%s", dir, *dir ? "/" : "", name);
        if (slash && slash[1]) {
            if (e.kind == POLYBIN_DIRECTORY) glob_tree(child, slash + 1, flags, slashed, matches);
        } else if (e.kind == POLYBIN_DIRECTORY || !(slashed || (flags & GLOB_ONLYDIR))) {
            char full[PATH_MAX + 1];
            host_tree_path(child, full);
            if ((slashed || (flags & GLOB_MARK)) && e.kind == POLYBIN_DIRECTORY && strlen(full) + 1 < sizeof full) strcat(full, "/");
            add_next_index_string(matches, full);
        }
    }
}

static int compare_strings(Bucket *a, Bucket *b) {
    return strcmp(Z_STRVAL(a->val), Z_STRVAL(b->val));
}

/* One pattern without braces, its matches (sorted unless GLOB_NOSORT) appended. */
static void glob_one(const char *name, int flags, int slashed, zval *matches) {
    zval found;
    zval *match;
    array_init(&found);
    if (!*name) {
        char full[PATH_MAX + 1];
        host_tree_path("", full);
        if ((slashed || (flags & GLOB_MARK)) && strlen(full) + 1 < sizeof full) strcat(full, "/");
        add_next_index_string(&found, full);
    } else {
        glob_tree("", name, flags, slashed, &found);
    }
    if (!(flags & GLOB_NOSORT)) zend_hash_sort(Z_ARRVAL(found), compare_strings, 1);
    ZEND_HASH_FOREACH_VAL(Z_ARRVAL(found), match) {
        Z_TRY_ADDREF_P(match);
        add_next_index_zval(matches, match);
    } ZEND_HASH_FOREACH_END();
    zval_ptr_dtor(&found);
}

/* GLOB_BRACE: the first {a,b,...} expanded, each alternative in turn (nested braces too). */
static void glob_braces(const char *name, int flags, int slashed, zval *matches) {
    const char *open = (flags & GLOB_BRACE) ? strchr(name, '{') : NULL, *close = NULL, *start;
    int depth = 0;
    for (const char *p = open; p && *p; p++) {
        if (*p == '{') depth++;
        else if (*p == '}' && --depth == 0) { close = p; break; }
    }
    if (!close) {
        glob_one(name, flags, slashed, matches);
        return;
    }
    start = open + 1;
    depth = 0;
    for (const char *p = start; p <= close; p++) {
        if (*p == '{') depth++;
        else if (*p == '}' && depth > 0) depth--;
        else if ((*p == ',' && depth == 0) || p == close) {
            char expanded[PATH_MAX];
            if ((size_t)snprintf(expanded, sizeof expanded, "%.*s%.*s%s", (int)(open - name), name, (int)(p - start), start, close + 1)
                < sizeof expanded)
                glob_braces(expanded, flags, slashed, matches);
            start = p + 1;
        }
    }
}

/* A relative pattern's matches spelled as glibc spells them: its leading components without
 * wildcards as written ("../data"), then the rest, instead of absolute paths. */
static void relative_matches(const char *pattern, zval *matches) {
    char literal[PATH_MAX], absolute[PATH_MAX];
    size_t end = 0, at = 0, n;
    zval *match;
    while (pattern[at]) {
        size_t len = strcspn(pattern + at, "/");
        if (strpbrk(pattern + at, "*?[{") && strpbrk(pattern + at, "*?[{") < pattern + at + len) break;
        at += len;
        if (pattern[at] != '/') break;
        end = at;
        at++;
    }
    if (end >= sizeof literal) return;
    memcpy(literal, pattern, end);
    literal[end] = 0;
    if (!host_normalise(end ? literal : ".", absolute)) return;
    n = strlen(absolute);
    ZEND_HASH_FOREACH_VAL(Z_ARRVAL_P(matches), match) {
        const char *full = Z_STRVAL_P(match);
        if (strncmp(full, absolute, n) != 0 || full[n] != '/') continue;
        zend_string *spelled = zend_strpprintf(0, "%s%s%s", literal, end ? "/" : "", full + n + 1);
        zval_ptr_dtor(match);
        ZVAL_STR(match, spelled);
    } ZEND_HASH_FOREACH_END();
}

static ZEND_NAMED_FUNCTION(host_glob) {
    char buffer[PATH_MAX];
    const char *name;
    zend_long flags = 0;
    zval *pattern = ZEND_NUM_ARGS() >= 1 ? ZEND_CALL_ARG(execute_data, 1) : NULL;
    size_t length;
    if (!pattern || Z_TYPE_P(pattern) != IS_STRING || !(name = host_in_tree(Z_STRVAL_P(pattern), buffer))) {
        if (pattern) disk_argument(pattern);
        original_glob(execute_data, return_value);
        return;
    }
    if (ZEND_NUM_ARGS() >= 2 && Z_TYPE_P(ZEND_CALL_ARG(execute_data, 2)) == IS_LONG)
        flags = Z_LVAL_P(ZEND_CALL_ARG(execute_data, 2));
    length = Z_STRLEN_P(pattern);
    array_init(return_value);
    glob_braces(name, (int)flags, length > 0 && Z_STRVAL_P(pattern)[length - 1] == '/', return_value);
    if (Z_STRVAL_P(pattern)[0] != '/' && strncmp(Z_STRVAL_P(pattern), "file://", 7) != 0)
        relative_matches(Z_STRVAL_P(pattern), return_value);
    if ((flags & GLOB_NOCHECK) && zend_hash_num_elements(Z_ARRVAL_P(return_value)) == 0)
        add_next_index_str(return_value, zend_string_copy(Z_STR_P(pattern)));
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
    name = host_in_tree(Z_STRVAL_P(path), buffer);
    if (name) {
        int kind = bundle_kind(name);
        RETURN_BOOL(kind != POLYBIN_NONE && (mode == R_OK || (mode == X_OK && kind == POLYBIN_DIRECTORY)));
    }
    if (strstr(Z_STRVAL_P(path), "://") && strncmp(Z_STRVAL_P(path), "file://", 7) != 0) {
        original(execute_data, return_value);
        return;
    }
    RETURN_BOOL(Z_STRLEN_P(path) > 0 && access(host_disk_path(Z_STRVAL_P(path) + (strncmp(Z_STRVAL_P(path), "file://", 7) ? 0 : 7), buffer), mode) == 0);
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
        && Z_TYPE_P(value) == IS_STRING && (name = host_in_tree(Z_STRVAL_P(value), buffer)) && (f = bundle_find(name))) {
        if (!host_extract(f, extracted)) {
            php_error_docref(NULL, E_WARNING, "cannot extract embedded %s for libcurl", Z_STRVAL_P(value));
            RETURN_FALSE;
        }
        zval_ptr_dtor(value);
        ZVAL_STRING(value, extracted);
    }
    original_curl_setopt(execute_data, return_value);
}

/* symlink() and link() making a name in the tree fail as on a read-only file system (before
 * they reached the disk under the root); tempnam() in the tree falls back to the system's
 * temporary directory with PHP's notice, as for any directory it cannot write in. */
static zif_handler original_symlink, original_link, original_tempnam;

static void host_make_link(INTERNAL_FUNCTION_PARAMETERS, zif_handler original) {
    char buffer[PATH_MAX];
    zval *link = ZEND_NUM_ARGS() == 2 ? ZEND_CALL_ARG(execute_data, 2) : NULL;
    if (link && Z_TYPE_P(link) == IS_STRING && host_in_tree(Z_STRVAL_P(link), buffer)) {
        php_error_docref(NULL, E_WARNING, "%s", strerror(EROFS));
        RETURN_FALSE;
    }
    for (uint32_t i = 1; i <= ZEND_NUM_ARGS() && i <= 2; i++) disk_argument(ZEND_CALL_ARG(execute_data, i));
    original(execute_data, return_value);
}

static ZEND_NAMED_FUNCTION(host_symlink) { host_make_link(INTERNAL_FUNCTION_PARAM_PASSTHRU, original_symlink); }
static ZEND_NAMED_FUNCTION(host_link) { host_make_link(INTERNAL_FUNCTION_PARAM_PASSTHRU, original_link); }

static ZEND_NAMED_FUNCTION(host_tempnam) {
    char buffer[PATH_MAX];
    zval *dir = ZEND_NUM_ARGS() == 2 ? ZEND_CALL_ARG(execute_data, 1) : NULL;
    if (dir && Z_TYPE_P(dir) == IS_STRING && host_in_tree(Z_STRVAL_P(dir), buffer)) {
        php_error_docref(NULL, E_NOTICE, "file created in the system's temporary directory");
        zval_ptr_dtor(dir);
        ZVAL_EMPTY_STRING(dir);
    } else if (dir) {
        disk_argument(dir);
    }
    original_tempnam(execute_data, return_value);
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
    const char *name = strstr(path, "://") && strncmp(path, "file://", 7) != 0 ? NULL : host_in_tree(path, buffer);
    zend_string *other, *found;
    if (name) return bundle_kind(name) == POLYBIN_FILE ? zend_string_init(buffer, strlen(buffer), 0) : NULL;
    path = host_disk_path(path, buffer);
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

void host_install_tree(void) {
    replace("realpath", host_realpath, &original_realpath);
    replace("glob", host_glob, &original_glob);
    replace("is_readable", host_is_readable, &original_is_readable);
    replace("is_writable", host_is_writable, &original_is_writable);
    replace("is_writeable", host_is_writeable, &original_is_writeable);
    replace("is_executable", host_is_executable, &original_is_executable);
    replace("curl_setopt", host_curl_setopt, &original_curl_setopt);
    replace("symlink", host_symlink, &original_symlink);
    replace("link", host_link, &original_link);
    replace("tempnam", host_tempnam, &original_tempnam);
    replace_get_real_path();
    replace("chdir", host_chdir, &original_chdir);
    replace("getcwd", host_getcwd, &original_getcwd);
    original_resolve_path = zend_resolve_path;
    zend_resolve_path = host_resolve_path;
    /* The global table's "file" too: stream_wrapper_restore('file') (and the unregister,
     * register, restore of interception libraries) re-registers the global entry, which must
     * be the tree's wrapper or the whole tree vanishes. */
    zend_hash_update_ptr(php_stream_get_url_stream_wrappers_hash_global(), ZSTR_KNOWN(ZEND_STR_FILE), &host_tree_wrapper);
    /* PHP consults the request's wrapper table for "file" once it exists (volatile registration
     * creates it); without one it would use its plain wrapper directly. */
    php_unregister_url_stream_wrapper_volatile(ZSTR_KNOWN(ZEND_STR_FILE));
    php_register_url_stream_wrapper_volatile(ZSTR_KNOWN(ZEND_STR_FILE), &host_tree_wrapper);
}

