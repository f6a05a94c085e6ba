/* The flavor-name rule, once: what `polybin build --flavor NAME:...` accepts and what the
 * runner accepts in POLYBIN_FLAVOR. */
#ifndef PB_NAMES_H
#define PB_NAMES_H
#include <stddef.h>

#define PB_FLAVOR_NAME_MAX 64

/* 1 when the `len` bytes at `name` are a flavor name: 1 to 64 of A-Z a-z 0-9 . _ - +. */
int pb_flavor_name_valid(const char *name, size_t len);

#endif
