/* The exec-order rule, once: which exec strategies a fatbin's runner tries and in which order,
 * as `polybin build --exec` and POLYBIN_EXEC spell it ("cache,memfd,tmpfile") and as a fatbin's
 * header packs it (docs/format.md, exec_order). The tool, the runner and the bundle reader all
 * call these functions. */
#ifndef PB_EXEC_ORDER_H
#define PB_EXEC_ORDER_H
#include <stddef.h>
#include <stdint.h>

/* Exec strategies, stored as nibbles (lowest first) in a fatbin's exec_order field. */
enum pb_strategy { PB_STRATEGY_END = 0, PB_STRATEGY_CACHE = 1, PB_STRATEGY_MEMFD = 2, PB_STRATEGY_TMPFILE = 3 };
#define PB_STRATEGY_COUNT 3
/* cache, then memfd, then tmpfile: what a header field of 0 means. */
#define PB_EXEC_ORDER_DEFAULT 0x321u

/* A valid order: 1 to 3 distinct strategies (enum pb_strategy), first tried first. */
typedef struct pb_exec_order {
    uint32_t count;
    uint8_t strategies[PB_STRATEGY_COUNT];
} pb_exec_order;

typedef enum pb_exec_order_problem {
    PB_EXEC_ORDER_OK = 0,
    PB_EXEC_ORDER_UNKNOWN,      /* a word that is not cache, memfd or tmpfile (an empty one included) */
    PB_EXEC_ORDER_REPEATED      /* a strategy listed twice */
} pb_exec_order_problem;

/* "cache", "memfd", "tmpfile"; NULL for any other value. */
const char *pb_strategy_name(uint32_t strategy);

/* Parses the `len` bytes at `spec`: a non-empty comma-separated list of cache, memfd, tmpfile,
 * each at most once. On a problem, *word_start and *word_len (when not NULL) say which word. */
pb_exec_order_problem pb_exec_order_parse(const char *spec, size_t len, pb_exec_order *order,
                                          size_t *word_start, size_t *word_len);

/* The order as it is spelled ("cache,memfd,tmpfile"). Writes at most cap bytes with the NUL
 * and returns the full length without it, as snprintf does. */
size_t pb_exec_order_format(const pb_exec_order *order, char *out, size_t cap);

/* The header's exec_order field for a valid order: nibbles, lowest first. */
uint32_t pb_exec_order_pack(const pb_exec_order *order);

/* Reads a header's exec_order field: nibbles 1-3, lowest first, no repeats, ended by 0 with
 * nothing after it; 0 alone means the default order. Returns 0 when the field is invalid. */
int pb_exec_order_unpack(uint32_t packed, pb_exec_order *order);

#endif
