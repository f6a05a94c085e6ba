/* The `file` stream wrapper: paths under the root are served from the bundle, read-only;
 * every other path goes to PHP's own plain-files wrapper. */
#define _GNU_SOURCE
#include "php_host.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* An inode number per name: a file's index + 2, a directory's from its name, above every file's
 * (tools that walk a tree by (device, inode), such as the php CLI's own RecursiveDirectoryIterator
 * users, must not see every directory as one). */
static ino_t inode(int kind, const polybin_file *f, const char *name) {
    uint64_t h = 1469598103934665603ULL;
    if (kind != POLYBIN_DIRECTORY) return (ino_t)(f - bundle_at(0)) + 2;
    for (const char *p = name; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (ino_t)((h & 0xffffffffULL) | 0x100000000ULL);
}

static void fill_stat(php_stream_statbuf *ssb, int kind, const polybin_file *f, const char *name) {
    memset(ssb, 0, sizeof *ssb);
    ssb->sb.st_mode = kind == POLYBIN_DIRECTORY ? (S_IFDIR | 0555) : (S_IFREG | 0444);
    ssb->sb.st_nlink = 1;
    ssb->sb.st_size = f ? (off_t)f->size : 0;
    ssb->sb.st_blksize = 4096;
    ssb->sb.st_blocks = f ? (blkcnt_t)((f->size + 511) / 512) : 0;
    ssb->sb.st_atime = ssb->sb.st_mtime = ssb->sb.st_ctime = host_tree_mtime;
    ssb->sb.st_ino = inode(kind, f, name);
}

/* ---- the file wrapper ----------------------------------------------------------------- */

#define PLAIN (&php_plain_files_wrapper)

/* Writes into the tree fail as on a read-only mount: EROFS, and PHP's warning. */
static void read_only(php_stream_wrapper *wrapper, int options, int opening) {
    errno = EROFS;
    if (opening) php_stream_wrapper_log_error(wrapper, options, "%s", strerror(EROFS));
    else if (options & REPORT_ERRORS) php_error_docref(NULL, E_WARNING, "%s", strerror(EROFS));
}

/* "x.php/" names a directory: for a file it is ENOTDIR, as the kernel answers. */
static int ends_in_slash(const char *path) {
    size_t n = strlen(path);
    return n > 0 && path[n - 1] == '/';
}

/* A file opened other than by include is a real descriptor, a sealed read-only memfd, so that
 * flock, gzopen and compress.zlib://, stream_select and proc_open's descriptors work as on a
 * file; NULL (a memory stream instead) when memfd is unavailable. Includes stay in memory. */
static php_stream *open_as_descriptor(zend_string *content STREAMS_DC) {
    int fd = memfd_create("polybin-php", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    php_stream *stream;
    if (fd < 0) return NULL;
    for (size_t at = 0; at < ZSTR_LEN(content);) {
        ssize_t put = write(fd, ZSTR_VAL(content) + at, ZSTR_LEN(content) - at);
        if (put <= 0) { close(fd); return NULL; }
        at += (size_t)put;
    }
    if (lseek(fd, 0, SEEK_SET) != 0 || fchmod(fd, 0444) != 0
        || fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
        close(fd);
        return NULL;
    }
    stream = php_stream_fopen_from_fd_rel(fd, "rb", NULL, 1);
    if (!stream) close(fd);
    return stream;
}

static php_stream *tree_open(php_stream_wrapper *wrapper, const char *filename, const char *mode, int options,
                             zend_string **opened_path, php_stream_context *context STREAMS_DC) {
    char buffer[PATH_MAX], relative[PATH_MAX];
    const char *name = host_in_tree(filename, buffer);
    const polybin_file *f;
    zend_string *content;
    php_stream *stream;
    /* include "x.php" from a script in the tree: relative to that script first, as PHP does. */
    if (!name && (options & USE_PATH) && filename[0] != '/' && zend_is_executing()) {
        const char *executing = zend_get_executed_filename();
        const char *slash = executing ? strrchr(executing, '/') : NULL;
        if (slash && (size_t)snprintf(relative, sizeof relative, "%.*s/%s", (int)(slash - executing), executing, filename) < sizeof relative) {
            name = host_in_tree(relative, buffer);
            if (name && bundle_kind(name) != POLYBIN_FILE) name = NULL;
        }
    }
    if (!name) return PLAIN->wops->stream_opener(PLAIN, host_disk_path(filename, buffer), mode, options, opened_path, context STREAMS_REL_CC);
    if (strpbrk(mode, "wax+c")) {
        read_only(wrapper, options, 1);
        return NULL;
    }
    f = ends_in_slash(filename) ? NULL : bundle_find(name);
    if (!f) {
        int kind = bundle_kind(name);
        errno = kind == POLYBIN_DIRECTORY ? EISDIR : kind == POLYBIN_FILE ? ENOTDIR : ENOENT;
        php_stream_wrapper_log_error(wrapper, options, "%s", strerror(errno));
        return NULL;
    }
    content = zend_string_alloc(f->size, 0);
    if (bundle_read(f, ZSTR_VAL(content), f->size) != (long long)f->size) {
        zend_string_efree(content);
        errno = EIO;
        php_stream_wrapper_log_error(wrapper, options, "embedded file does not decode");
        return NULL;
    }
    ZSTR_VAL(content)[f->size] = 0;
    stream = options & STREAM_OPEN_FOR_INCLUDE ? NULL : open_as_descriptor(content STREAMS_REL_CC);
    if (!stream) stream = php_stream_memory_open(TEMP_STREAM_READONLY, content);
    zend_string_release(content);
    if (stream && opened_path) *opened_path = zend_string_init(buffer, strlen(buffer), 0);
    return stream;
}

static int tree_url_stat(php_stream_wrapper *wrapper, const char *url, int flags, php_stream_statbuf *ssb,
                         php_stream_context *context) {
    char buffer[PATH_MAX];
    const char *name = host_in_tree(url, buffer);
    int kind;
    if (!name) return PLAIN->wops->url_stat(PLAIN, host_disk_path(url, buffer), flags, ssb, context);
    kind = bundle_kind(name);
    if (kind == POLYBIN_NONE || (kind == POLYBIN_FILE && ends_in_slash(url))) return -1;
    fill_stat(ssb, kind, kind == POLYBIN_FILE ? bundle_find(name) : NULL, name);
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
    if (!bundle_dir_next(d->name, &d->cursor, &e)) {
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
    const char *name = host_in_tree(filename, buffer);
    tree_dir *d;
    php_stream *stream;
    if (!name) return PLAIN->wops->dir_opener(PLAIN, host_disk_path(filename, buffer), mode, options, opened_path, context STREAMS_REL_CC);
    if (bundle_kind(name) != POLYBIN_DIRECTORY) {
        errno = bundle_kind(name) == POLYBIN_FILE ? ENOTDIR : ENOENT;
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
    if (!host_in_tree(url, buffer)) return PLAIN->wops->unlink(PLAIN, host_disk_path(url, buffer), options, context);
    read_only(wrapper, options, 0);
    return 0;
}

static int tree_rename(php_stream_wrapper *wrapper, const char *from, const char *to, int options, php_stream_context *context) {
    char a[PATH_MAX], b[PATH_MAX];
    if (!host_in_tree(from, a) && !host_in_tree(to, b))
        return PLAIN->wops->rename(PLAIN, host_disk_path(from, a), host_disk_path(to, b), options, context);
    read_only(wrapper, options, 0);
    return 0;
}

static int tree_mkdir(php_stream_wrapper *wrapper, const char *url, int mode, int options, php_stream_context *context) {
    char buffer[PATH_MAX];
    if (!host_in_tree(url, buffer)) return PLAIN->wops->stream_mkdir(PLAIN, host_disk_path(url, buffer), mode, options, context);
    read_only(wrapper, options, 0);
    return 0;
}

static int tree_rmdir(php_stream_wrapper *wrapper, const char *url, int options, php_stream_context *context) {
    char buffer[PATH_MAX];
    if (!host_in_tree(url, buffer)) return PLAIN->wops->stream_rmdir(PLAIN, host_disk_path(url, buffer), options, context);
    read_only(wrapper, options, 0);
    return 0;
}

static int tree_metadata(php_stream_wrapper *wrapper, const char *url, int option, void *value, php_stream_context *context) {
    char buffer[PATH_MAX];
    if (!host_in_tree(url, buffer)) return PLAIN->wops->stream_metadata(PLAIN, host_disk_path(url, buffer), option, value, context);
    read_only(wrapper, REPORT_ERRORS, 0);
    return 0;
}

static const php_stream_wrapper_ops tree_wrapper_ops = {
    tree_open, NULL, NULL, tree_url_stat, tree_opendir, "plainfile",
    tree_unlink, tree_rename, tree_mkdir, tree_rmdir, tree_metadata,
};

php_stream_wrapper host_tree_wrapper = { &tree_wrapper_ops, NULL, 0 };
