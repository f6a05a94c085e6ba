/* Label normalisation ("LN", issue 18): the executable-aware half of the delta between level
 * builds. The packer rewrites every code reference of a build T into a build-independent label
 * (a target in the label space of a reference build R, normally the fatbin's base), so that zstd
 * sees two level builds as mostly equal bytes; the runner turns the labels back. One
 * implementation for both sides (docs/delta.md has the method and the side block's format):
 *
 *   pb_delta_normalise(T, R)        -> N(T) (same size as T) + side block    (packer: delta/ln_normalise.c)
 *   pb_delta_denormalise(N(T), side, side of R) -> T, byte for byte          (runner: delta/ln_denormalise.c)
 *
 * What is rewritten: x86-64 rel32 branches and every RIP-relative disp32 (pb_x86_decode), aarch64
 * B/BL, B.cond/CBZ/TBZ, LDR literal, ADR, ADRP with its ADD/load/store partner (pb_a64_*), the
 * `.eh_frame` pc_begin fields, the `.eh_frame_hdr` table and R_*_RELATIVE / IRELATIVE addends,
 * offsets and slots. Everything else stays raw; a field whose label would not turn back into
 * the same bytes stays raw too and is listed in the side block. The normaliser rebuilds T
 * through the denormaliser before it answers, so a success is a proven round trip; anything
 * else is a refusal the caller answers with a plain delta.
 *
 * The denormaliser trusts neither the side blocks nor the normalised build: every count, index
 * and address is checked, it writes only inside `out[0..size)`, and a lie is PB_DELTA_E_CORRUPT. */
#ifndef PB_DELTA_H
#define PB_DELTA_H
#include <stddef.h>
#include <stdint.h>

typedef enum pb_delta_status {
    PB_DELTA_OK = 0,
    PB_DELTA_E_UNSUPPORTED, /* not ELF64 little-endian x86-64 or aarch64, or R's machine differs */
    PB_DELTA_E_MISMATCH,    /* normalise: the round trip through the denormaliser differs (refused) */
    PB_DELTA_E_CORRUPT,     /* denormalise: the side block, the reference's side block or the
                               normalised build is inconsistent */
    PB_DELTA_E_MEMORY,      /* an allocation failed */
    PB_DELTA_E_ARGUMENT     /* caller error: output too small, NULL where a buffer is needed */
} pb_delta_status;

/* What a normalisation did, for the packer's log and the tests. */
typedef struct pb_delta_stats {
    uint64_t functions;     /* T's function table (FDEs, or one per executable section) */
    uint64_t matched;       /* of them matched to one of R's */
    uint64_t fields;        /* fields found (code, .eh_frame, .eh_frame_hdr, relocations, slots) */
    uint64_t escapes;       /* of them left raw */
    uint64_t runs;          /* shift runs for targets outside matched functions */
} pb_delta_stats;

/* Normalises `build` into `out` (exactly `size` bytes, may not alias `build`). `reference` is R,
 * whose address space the labels live in, or NULL to normalise the build against itself (the
 * base: labels are its own absolute addresses). On success *side (malloc'd, the caller frees it)
 * holds `*side_size` bytes. R's own side block (from normalising R against itself) is what the
 * denormaliser needs besides T's. `reason` gets one line on failure. */
pb_delta_status pb_delta_normalise(const uint8_t *build, size_t size, const uint8_t *reference, size_t reference_size,
                                   uint8_t *out, uint8_t **side, size_t *side_size, pb_delta_stats *stats,
                                   char *reason, size_t reason_size);

/* Rebuilds T from N(T) (`size` bytes) into out[0..out_capacity), which must hold `size` bytes.
 * `reference_side` is R's own side block (NULL, 0 when `side` was made against T itself). */
pb_delta_status pb_delta_denormalise(const uint8_t *normalised, size_t size, const uint8_t *side, size_t side_size,
                                     const uint8_t *reference_side, size_t reference_side_size, uint8_t *out,
                                     size_t out_capacity, char *reason, size_t reason_size);

/* A short lower-case phrase for a status. */
const char *pb_delta_status_message(pb_delta_status status);

#endif
