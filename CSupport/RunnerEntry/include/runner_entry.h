/* The runner's link-time inputs: the payload object provides the bundle symbols. */
#ifndef RUNNER_ENTRY_H
#define RUNNER_ENTRY_H
#include <stdint.h>

/* The bundle linked into this fatbin, and its size in bytes. */
const uint8_t *polybin_runner_bundle(void);
uint64_t polybin_runner_bundle_size(void);

#endif
