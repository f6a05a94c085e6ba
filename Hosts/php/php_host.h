/* A PHP application as one executable: PHP's embed SAPI plus the application's tree, embedded
 * by `polybin embed` and served from memory under a virtual root (docs/php-host.md).
 *
 * Built by php-host.mk with these macros (strings unless noted):
 *   PHP_HOST_ROOT   absolute path the tree appears at, e.g. "/usr/share/arcanist"; paths
 *                   below it are read from the bundle (named relative to it), every other
 *                   path from the disk
 *   PHP_HOST_ROOTS  instead, several trees and files, each at its own absolute path,
 *                   ':'-separated, e.g. "/usr/share/php:/usr/bin/tool"; the bundle names
 *                   are the absolute paths without their leading '/' (embed --base /)
 *   PHP_HOST_ENTRY  the entry script, relative to PHP_HOST_ROOT or absolute
 *   PHP_HOST_INI    INI lines after the host's own (extension=... for a shared libphp)
 *   PHP_HOST_PATH_PHP  1: put a `php` that is this program first on PATH, for the
 *                   application's own `php` calls
 *   PHP_HOST_BUNDLE the bundle's name given to `polybin embed --name` (an identifier; phpapp)
 *
 * The files, by concern: path.c (paths to bundle names), wrapper.c (the `file` stream
 * wrapper), functions.c (PHP functions replaced to agree with it), extract.c (files on disk,
 * through the cache policy), engine.c (the embed SAPI), cli.c (the `php` personality),
 * main.c. */
#ifndef PHP_HOST_H
#define PHP_HOST_H
#include <limits.h>
#include <time.h>

#include <sapi/embed/php_embed.h>
#include <main/php_streams.h>

#if !defined(PHP_HOST_ROOT) && !defined(PHP_HOST_ROOTS)
#error "define PHP_HOST_ROOT, the absolute path the embedded tree appears at (or PHP_HOST_ROOTS)"
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
#ifndef PHP_HOST_BUNDLE
#define PHP_HOST_BUNDLE phpapp
#endif

/* The bundle's header and functions (NAME.h, NAME_find, ...) under names of their own, so the
 * host's code does not depend on the name the bundle was embedded under. */
#define HOST_STRING(x) #x
#define HOST_HEADER(name) HOST_STRING(name.h)
#define HOST_JOIN(name, f) name##_##f
#define HOST_BUNDLE(name, f) HOST_JOIN(name, f)
#include HOST_HEADER(PHP_HOST_BUNDLE)
#define bundle_find HOST_BUNDLE(PHP_HOST_BUNDLE, find)
#define bundle_kind HOST_BUNDLE(PHP_HOST_BUNDLE, kind)
#define bundle_read HOST_BUNDLE(PHP_HOST_BUNDLE, read)
#define bundle_at HOST_BUNDLE(PHP_HOST_BUNDLE, at)
#define bundle_dir_next HOST_BUNDLE(PHP_HOST_BUNDLE, dir_next)

/* main.c: where the tree appears (PHP_HOST_ROOT, or the ':'-separated PHP_HOST_ROOTS), whether
 * bundle names are absolute paths (PHP_HOST_ROOTS), the tree's mtime (the program's), the
 * program's path. */
extern const char host_roots[];
extern const int host_names_absolute;
extern time_t host_tree_mtime;
extern char host_self[PATH_MAX];

/* path.c */
/* `path` made absolute (against the working directory) and normalised textually: no "//",
 * ".", "..". Returns 0 when it does not fit. */
int host_normalise(const char *path, char out[PATH_MAX]);
/* The bundle name of an absolute normalised path in the tree, or NULL. */
const char *host_bundle_name(const char *absolute);
/* For a path PHP hands us: the bundle name when it lies in the tree, else NULL. */
const char *host_in_tree(const char *path, char buffer[PATH_MAX]);
/* The absolute path of a bundle name. */
void host_tree_path(const char *name, char out[PATH_MAX]);
/* The working directory chdir() put in the tree, or "" (the process's own). */
extern char host_cwd[PATH_MAX];
/* A path outside the tree as the disk must see it: made absolute against host_cwd when that
 * is set and the path is relative (the process's working directory is elsewhere). */
const char *host_disk_path(const char *path, char buffer[PATH_MAX]);

/* wrapper.c: the `file` wrapper that serves the tree. */
extern php_stream_wrapper host_tree_wrapper;

/* functions.c: the wrapper and the replaced functions installed into the running engine. */
void host_install_tree(void);

/* extract.c */
/* A real path with the content of embedded file `f` (for a C library), or NULL. */
const char *host_extract(const polybin_file *f, char out[PATH_MAX]);
/* A directory holding `php`, a link to this program, put first on PATH. */
void host_put_php_on_path(void);

/* engine.c */
/* `script`: the script's path for $_SERVER, NULL for code from -r or standard input. */
int host_engine_start(int argc, char **argv, const char *defines, const char *script);
void host_engine_stop(void);
int host_run_file(const char *path);
int host_lint_file(const char *path);
void host_register_stdio(void);

/* cli.c: run as `php`. */
int host_php_main(int argc, char **argv);

#endif
