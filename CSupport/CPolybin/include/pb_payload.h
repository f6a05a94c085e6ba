/* How a fatbin's payload is found, once: the symbol the payload object defines (`polybin
 * object`, `polybin generate-c`; docs/format.md, "Payload symbols") and the runner reads, and
 * the mark that tells a fatbin's runner from any other program. */
#ifndef PB_PAYLOAD_H
#define PB_PAYLOAD_H
#include <stddef.h>
#include <stdint.h>

/* The payload's symbol (the verbs' default --symbol); the symbol followed by
 * PB_PAYLOAD_SIZE_SUFFIX holds its size as a uint64_t. */
#define PB_PAYLOAD_SYMBOL "polybin_bundle"
#define PB_PAYLOAD_SIZE_SUFFIX "_size"

#define PB_RUNNER_MARK_MAX 64

/* Text only the fatbin runner holds (in its message for a stripped payload), written to out;
 * returns its length. Kept masked, as the bundle magic is: polybin, which searches for it,
 * must not hold it, or it calls itself a fatbin whose payload was stripped. */
size_t pb_runner_mark(uint8_t out[PB_RUNNER_MARK_MAX]);

#endif
