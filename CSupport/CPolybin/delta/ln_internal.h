/* What the LN files share (pb_delta.h): the label map, the side block's reader and writer, and
 * the field pass that both directions run. Not a public header. */
#ifndef PB_LN_INTERNAL_H
#define PB_LN_INTERNAL_H
#include "pb_delta.h"
#include "pb_elf.h"

#define LN_SIDE_VERSION 1
enum { LN_ARCH_X86_64 = 1, LN_ARCH_AARCH64 = 2 };
enum { LN_SIDE_SELF = 1 };  /* flag: labels are T's own addresses (the base); no reference */

typedef struct ln_function {
    uint64_t start, size;
    int64_t match;          /* index in R's table, -1 when unmatched (self: its own index) */
} ln_function;

/* A shift run: an address v of R at or after r_start (up to the next run) is T's v - r_start + t_start. */
typedef struct ln_run {
    uint64_t t_start, r_start;
} ln_run;

/* The label map: T's functions, R's, the inverse match and the runs. With `self`, labels are
 * T's addresses (r == t, no runs) and mapping is the identity. */
typedef struct ln_map {
    int self;
    const ln_function *t;
    uint64_t t_count;
    const ln_function *r;
    uint64_t r_count;
    const int64_t *r_to_t;  /* R index -> T index or -1; NULL with self */
    const ln_run *runs;
    uint64_t run_count;
    /* A page index of R's table (ln_map_index): for each 4 KiB page from r_page_base, the first
     * function ending after the page's start. NULL: binary search. */
    uint32_t *r_page;
    uint64_t r_page_base, r_page_count;
} ln_map;

/* Builds map->r_page when R's table is dense enough (the caller frees it); 0 when out of memory. */
int ln_map_index(ln_map *map);

/* T address -> label (an R address). `k` is the T function the reference sits in, -1 if unknown. */
uint64_t ln_forward(const ln_map *map, uint64_t t, int64_t k);
/* label -> T address. `m` is the R function to try first, -1 if none. */
uint64_t ln_backward(const ln_map *map, uint64_t v, int64_t m);

/* Writes one line into `reason` (when given) and returns `status` (ln_denormalise.c). */
pb_delta_status ln_fail(pb_delta_status status, char *reason, size_t reason_size, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- The side block (ln_side.c; format in docs/delta.md) ---- */
typedef struct ln_buffer {
    uint8_t *bytes;
    size_t size, capacity;
    int failed;             /* an allocation failed: the contents are incomplete */
} ln_buffer;
void ln_put_byte(ln_buffer *buffer, uint8_t byte);
void ln_put_varint(ln_buffer *buffer, uint64_t value);
uint64_t ln_zigzag(int64_t value);

/* Reading: a cursor that never passes `end`; `bad` is set on the first lie and stays set. */
typedef struct ln_reader {
    const uint8_t *at, *end;
    int bad;
} ln_reader;
uint64_t ln_get_varint(ln_reader *reader);
int64_t ln_unzigzag(uint64_t value);

typedef struct ln_side {
    uint8_t arch, flags;
    uint64_t field_count;
    uint64_t function_count;
    ln_reader functions;    /* the encoded table, to decode with ln_side_functions */
    uint64_t run_count;
    ln_reader runs;
    uint64_t escape_count;
    ln_reader escapes;      /* varint gaps, read one at a time during the pass */
} ln_side;

/* Checks the header and the extent of each part (every count bounded by the bytes it needs). */
int ln_side_parse(const uint8_t *bytes, size_t size, ln_side *side);
/* Decodes the function table into out[0..function_count) against R's (NULL, 0 with self),
 * checking order, overlap, overflow and match indexes. */
int ln_side_functions(ln_side *side, const ln_function *r, uint64_t r_count, ln_function *out);
int ln_side_runs(ln_side *side, ln_run *out);
/* Writes a side block. */
void ln_side_write(ln_buffer *buffer, uint8_t arch, uint8_t flags, uint64_t field_count, const ln_function *t,
                   uint64_t t_count, const ln_function *r, const ln_run *runs, uint64_t run_count,
                   const uint64_t *escapes, uint64_t escape_count);

/* ---- The field pass (ln_fields.c) ---- */
typedef struct ln_pass {
    int normalising;        /* 1: T -> N(T), collecting escapes; 0: N(T) -> T, reading them */
    const uint8_t *in;
    uint8_t *out;           /* a copy of `in` on entry; fields are rewritten in place */
    uint64_t size;
    pb_elf elf;             /* opened on `in` (headers are never rewritten) */
    uint16_t machine;
    const ln_map *map;
    uint64_t field;         /* index of the next field */
    /* normalising */
    uint64_t *escapes;
    uint64_t escape_count, escape_capacity;
    int failed;             /* allocation */
    /* denormalising */
    ln_reader escape_reader;
    uint64_t escapes_left, next_escape;
    int corrupt;
} ln_pass;

/* Runs every walker (code, .eh_frame, .eh_frame_hdr, relocations) in the one fixed order. */
void ln_pass_run(ln_pass *pass);

#endif
