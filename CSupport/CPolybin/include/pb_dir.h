/* Directories in a files bundle, implied by its names ("a/b/c.txt" makes "a" and "a/b"; ""
 * is the top): the one walk over a pb_bundle, which PolybinFiles lists them with (and any C
 * reader of a bundle, such as the PHP host, can call). The generated C
 * (embed.c.in) keeps a self-contained copy of this walk, as generated code must compile on
 * its own; EmbedDirectoryTests holds both to the same answers. */
#ifndef PB_DIR_H
#define PB_DIR_H
#include <stddef.h>
#include <stdint.h>
#include "pb_bundle.h"

enum pb_dir_kind { PB_DIR_NONE = 0, PB_DIR_FILE = 1, PB_DIR_DIRECTORY = 2 };

/* One entry directly in a directory. */
typedef struct pb_dirent {
    const char *name;           /* its last path component, inside the bundle; not NUL-terminated */
    size_t length;
    uint32_t kind;              /* PB_DIR_FILE or PB_DIR_DIRECTORY */
    int64_t index;              /* the file's entry; -1 for a directory */
} pb_dirent;

/* The position of the first entry whose name is at or after the `len` bytes at `key`, in
 * byte order, or bundle->count: the names that start with a prefix follow it. */
uint32_t pb_bundle_lower_bound(const pb_bundle *bundle, const char *key, size_t len);

/* Whether the `len` bytes at `path` (no leading or trailing '/') name a file, a directory or
 * nothing: enum pb_dir_kind. */
uint32_t pb_bundle_kind(const pb_bundle *bundle, const char *path, size_t len);

/* The next entry directly in directory `dir` (`len` bytes; "" is the top), in name order: set
 * *cursor to 0 before the first call and pass it back unchanged. Returns 1 with *entry set,
 * 0 when there are no more or `dir` is not a directory (a file of that name included). */
int pb_bundle_dir_next(const pb_bundle *bundle, const char *dir, size_t len, uint64_t *cursor, pb_dirent *entry);

#endif
