/* The bundle reader: the only code that parses the bundle format (docs/format.md).
 * pb_bundle_open validates everything once, so later accessors cannot fail. */
#ifndef PB_BUNDLE_H
#define PB_BUNDLE_H
#include <stddef.h>
#include <stdint.h>
#include "pb_features.h"
#include "pb_exec_order.h"

#define PB_MAGIC_SIZE 8
/* Version 2 records the architecture (header offset 72); version 1 bundles, all x86-64, still read. */
#define PB_VERSION 2
#define PB_VERSION_1 1
#define PB_HEADER_SIZE 128
#define PB_ENTRY_SIZE 128
#define PB_DATA_ALIGN 64
#define PB_NO_REF 0xFFFFFFFFu
/* Largest content an entry may declare (1 TiB): bounds every allocation before it happens. */
#define PB_MAX_CONTENT ((uint64_t)1 << 40)
#define PB_MAX_ENTRIES 1000000u

enum pb_kind { PB_KIND_FATBIN = 1, PB_KIND_FILES = 2 };
enum pb_codec { PB_CODEC_RAW = 0, PB_CODEC_ZSTD = 1, PB_CODEC_DELTA = 2 };

typedef enum pb_status {
    PB_OK = 0,
    PB_E_TRUNCATED,     /* shorter than its header says */
    PB_E_MAGIC,         /* not a bundle */
    PB_E_VERSION,       /* a bundle of a version this reader does not know */
    PB_E_HEADER,        /* header fields inconsistent */
    PB_E_META_HASH,     /* header, index or names do not match their hash */
    PB_E_INDEX,         /* an index entry is malformed */
    PB_E_NAME,          /* a name is malformed, unsorted or duplicated */
    PB_E_RANGE,         /* an entry's data lies outside the data area */
    PB_E_CODEC,         /* unknown codec, or sizes impossible for it */
    PB_E_REF,           /* a delta's reference is invalid */
    PB_E_DECODE,        /* compressed data does not decode to the declared size */
    PB_E_HASH,          /* decoded content does not match its SHA-256 */
    PB_E_NOMEM,         /* memory for decoding could not be had */
    PB_E_ARGUMENT,      /* caller error: wrong index or destination size */
    PB_E_WRITE          /* the destination file could not be written (errno says why) */
} pb_status;

typedef struct pb_bundle {
    const uint8_t *base;
    uint64_t size;
    uint32_t kind;
    uint32_t arch;              /* enum pb_arch: the builds' architecture (fatbins); PB_ARCH_NONE for files */
    uint32_t count;
    uint32_t exec_order;
    /* exec_order decoded and validated (pb_exec_order_unpack). A fatbin whose field is 0 gets
     * the default order; files bundles have none (count 0). */
    pb_exec_order exec;
    const uint8_t *index;
    const uint8_t *names;
    uint64_t names_size;
    const uint8_t *data;
    uint64_t data_size;
} pb_bundle;

typedef struct pb_entry {
    const char *name;           /* NUL-terminated, inside the bundle */
    uint32_t name_size;
    uint32_t codec;
    uint32_t ref;               /* PB_NO_REF unless codec is PB_CODEC_DELTA */
    uint64_t size;              /* content size */
    uint64_t stored_size;
    const uint8_t *stored;      /* stored bytes, inside the bundle */
    const uint8_t *sha256;      /* 32 bytes, inside the bundle */
    pb_features features;       /* required features (fatbins) */
} pb_entry;

/* A short lower-case phrase for a status: "index entry malformed". */
const char *pb_status_message(pb_status status);

/* Validates header, meta hash, every entry and every name; the bytes must stay mapped. */
pb_status pb_bundle_open(pb_bundle *bundle, const void *bytes, uint64_t size);

/* Entry `index` (< bundle->count) of an opened bundle. */
void pb_bundle_entry(const pb_bundle *bundle, uint32_t index, pb_entry *entry);

/* Index of the entry named exactly `name` (len bytes), or -1. Binary search. */
int64_t pb_bundle_find(const pb_bundle *bundle, const char *name, size_t len);

/* The 8 magic bytes a bundle starts with (stored masked, see bundle.c). */
void pb_magic(uint8_t out[PB_MAGIC_SIZE]);

/* Finds and opens the first valid bundle inside a larger file (an executable or object).
 * Returns PB_E_MAGIC when there is none; otherwise the status of the last candidate. */
pb_status pb_bundle_locate(pb_bundle *bundle, const void *bytes, uint64_t size);

/* Checks entry `index` (and its delta reference) against the frame headers of its stored
 * bytes without decoding: a declared size that is not the frame's is refused here, before
 * anyone allocates that size. pb_entry_decode runs it first. */
pb_status pb_entry_check(const pb_bundle *bundle, uint32_t index);

/* Decodes entry `index` into dst (exactly entry.size bytes) and verifies its SHA-256.
 * On any failure dst holds garbage that must not be used. */
pb_status pb_entry_decode(const pb_bundle *bundle, uint32_t index, void *dst, uint64_t dst_size);

/* Decoding with state kept between calls: a delta's reference is decoded once, however many
 * destinations are tried. Zero-initialise, set `bundle`, and pb_decoder_release when done. */
typedef struct pb_decoder {
    const pb_bundle *bundle;
    /* 1 when the bundle lies in a read-only file mapping (the runner's own image): the pages
     * of stored bytes already decoded are dropped from memory as the decode goes. Never for
     * bundles in anonymous memory, which dropping would zero. */
    int release_input;
    void *reference;
    uint32_t reference_index;
    uint64_t reference_size;
    /* When set, hears every few MiB how many bytes a pb_decode has produced so far: those of
     * the delta reference it decodes first (if not kept from an earlier call), then the entry's. */
    void (*progress)(void *context, uint64_t done);
    void *progress_context;
} pb_decoder;

/* pb_entry_decode into dst (entry.size bytes, its own window: no other copy is made), also
 * written with pwrite to `fd` at the same offsets as it is produced when fd >= 0, and hashed
 * on the way. PB_E_WRITE sets *write_errno. */
pb_status pb_decode(pb_decoder *decoder, uint32_t index, void *dst, int fd, int *write_errno);

/* Frees the decoded reference. */
void pb_decoder_release(pb_decoder *decoder);

/* Best entry whose every required feature is in `host` (features in the bundle's
 * architecture's model): highest level, then most declared features, then first in the
 * index. -1 when none is usable. */
int64_t pb_select(const pb_bundle *bundle, pb_features host);

/* The decision table the runner prints under POLYBIN_EXPLAIN=1 and `polybin explain` prints:
 * "cpu: LEVEL", "cpu features: ...", one "flavor NAME: level L, usable" (or ", lacks F ...")
 * line per entry, then "selected: NAME" for entry `chosen` ("none" when it is negative), each
 * line ending in a newline, in the bundle's architecture's feature names. Writes at most cap
 * bytes with the NUL and returns the full length without it, as snprintf does. */
size_t pb_explain_format(const pb_bundle *bundle, pb_features host, int64_t chosen, char *out, size_t cap);

#endif
