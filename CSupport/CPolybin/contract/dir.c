/* Directories in a files bundle (pb_dir.h). Names are sorted as whole byte strings, so the
 * names below "d/" are contiguous and each question is a binary search; a subdirectory "d/s"
 * is stepped over by searching for "d/s0", as '0' is the byte after '/'. */
#include "pb_dir.h"
#include <string.h>

/* Orders entry i's name against key[0..len) followed by the byte `last` when last >= 0, as
 * memcmp-then-length orders the two byte strings. */
static int compare(const pb_bundle *b, uint32_t i, const char *key, size_t len, int last) {
    pb_entry e;
    pb_bundle_entry(b, i, &e);
    size_t common = e.name_size < len ? e.name_size : len;
    int c = common ? memcmp(e.name, key, common) : 0;
    if (c != 0) return c < 0 ? -1 : 1;
    if (e.name_size < len) return -1;
    if (last >= 0) {
        if (e.name_size == len) return -1;
        unsigned char a = (unsigned char)e.name[len];
        if (a != (unsigned char)last) return a < (unsigned char)last ? -1 : 1;
        len++;
    }
    return e.name_size > len ? 1 : 0;
}

static uint32_t lower(const pb_bundle *b, const char *key, size_t len, int last) {
    uint32_t lo = 0, hi = b->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (compare(b, mid, key, len, last) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Whether entry i lies below the directory dir[0..len) ("" holds everything). */
static int below(const pb_bundle *b, uint32_t i, const char *dir, size_t len) {
    if (i >= b->count) return 0;
    if (len == 0) return 1;
    pb_entry e;
    pb_bundle_entry(b, i, &e);
    return e.name_size > len && memcmp(e.name, dir, len) == 0 && e.name[len] == '/';
}

uint32_t pb_bundle_lower_bound(const pb_bundle *b, const char *key, size_t len) {
    return lower(b, key, len, -1);
}

uint32_t pb_bundle_kind(const pb_bundle *b, const char *path, size_t len) {
    if (len == 0) return PB_DIR_DIRECTORY;
    if (pb_bundle_find(b, path, len) >= 0) return PB_DIR_FILE;
    return below(b, lower(b, path, len, '/'), path, len) ? PB_DIR_DIRECTORY : PB_DIR_NONE;
}

int pb_bundle_dir_next(const pb_bundle *b, const char *dir, size_t len, uint64_t *cursor, pb_dirent *entry) {
    uint32_t i;
    if (*cursor == 0) {
        /* A file of that name is not a directory, whatever lies below a same-named directory. */
        if (len && pb_bundle_find(b, dir, len) >= 0) return 0;
        i = len ? lower(b, dir, len, '/') : 0;
    } else if (*cursor - 1 > b->count) {
        return 0;
    } else {
        i = (uint32_t)(*cursor - 1);
    }
    if (!below(b, i, dir, len)) return 0;
    pb_entry e;
    pb_bundle_entry(b, i, &e);
    size_t skip = len ? len + 1 : 0;
    const char *rest = e.name + skip;
    const char *slash = memchr(rest, '/', e.name_size - skip);
    entry->name = rest;
    if (!slash) {
        entry->length = e.name_size - skip;
        entry->kind = PB_DIR_FILE;
        entry->index = i;
        *cursor = (uint64_t)i + 2;
        return 1;
    }
    /* A subdirectory: step over every name starting "rest/". */
    entry->length = (size_t)(slash - rest);
    entry->kind = PB_DIR_DIRECTORY;
    entry->index = -1;
    *cursor = (uint64_t)lower(b, e.name, (size_t)(slash - e.name), '0') + 1;
    return 1;
}
