/* The flavor-name rule (pb_names.h). Names reach file names (the cache entry), log lines and
 * the environment, so only a small portable set of bytes is allowed. */
#include "pb_names.h"

int pb_flavor_name_valid(const char *name, size_t len) {
    if (len < 1 || len > PB_FLAVOR_NAME_MAX) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        int ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                 || c == '.' || c == '_' || c == '-' || c == '+';
        if (!ok) return 0;
    }
    return 1;
}
