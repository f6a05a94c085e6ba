/* The exec-order rule (pb_exec_order.h): parsed, formatted, packed and unpacked here only. */
#include "pb_exec_order.h"
#include <string.h>

static const char *const names[PB_STRATEGY_COUNT + 1] = {NULL, "cache", "memfd", "tmpfile"};

const char *pb_strategy_name(uint32_t strategy) {
    return strategy >= 1 && strategy <= PB_STRATEGY_COUNT ? names[strategy] : NULL;
}

static uint32_t strategy_named(const char *word, size_t len) {
    for (uint32_t s = 1; s <= PB_STRATEGY_COUNT; s++)
        if (strlen(names[s]) == len && memcmp(names[s], word, len) == 0) return s;
    return PB_STRATEGY_END;
}

static int contains(const pb_exec_order *order, uint32_t strategy) {
    for (uint32_t i = 0; i < order->count; i++)
        if (order->strategies[i] == strategy) return 1;
    return 0;
}

pb_exec_order_problem pb_exec_order_parse(const char *spec, size_t len, pb_exec_order *order,
                                          size_t *word_start, size_t *word_len) {
    memset(order, 0, sizeof *order);
    /* Every word is checked, the empty ones before, between and after commas included. */
    for (size_t start = 0; start <= len;) {
        const char *comma = start < len ? memchr(spec + start, ',', len - start) : NULL;
        size_t end = comma ? (size_t)(comma - spec) : len;
        uint32_t strategy = strategy_named(spec + start, end - start);
        pb_exec_order_problem problem = strategy == PB_STRATEGY_END ? PB_EXEC_ORDER_UNKNOWN
                                        : contains(order, strategy) ? PB_EXEC_ORDER_REPEATED : PB_EXEC_ORDER_OK;
        if (problem != PB_EXEC_ORDER_OK) {
            if (word_start) *word_start = start;
            if (word_len) *word_len = end - start;
            memset(order, 0, sizeof *order);
            return problem;
        }
        order->strategies[order->count++] = (uint8_t)strategy;
        start = end + 1;
    }
    return PB_EXEC_ORDER_OK;
}

size_t pb_exec_order_format(const pb_exec_order *order, char *out, size_t cap) {
    size_t length = 0;
    for (uint32_t i = 0; i < order->count; i++) {
        const char *name = pb_strategy_name(order->strategies[i]);
        for (const char *p = i > 0 ? "," : ""; *p; p++, length++) if (length + 1 < cap) out[length] = *p;
        for (const char *p = name ? name : "?"; *p; p++, length++) if (length + 1 < cap) out[length] = *p;
    }
    if (cap > 0) out[length < cap ? length : cap - 1] = 0;
    return length;
}

uint32_t pb_exec_order_pack(const pb_exec_order *order) {
    uint32_t packed = 0;
    for (uint32_t i = 0; i < order->count; i++) packed |= (uint32_t)order->strategies[i] << (4 * i);
    return packed;
}

int pb_exec_order_unpack(uint32_t packed, pb_exec_order *order) {
    memset(order, 0, sizeof *order);
    if (packed == 0) packed = PB_EXEC_ORDER_DEFAULT;
    for (; packed & 0xF; packed >>= 4) {
        uint32_t s = packed & 0xF;
        if (s > PB_STRATEGY_TMPFILE || order->count == PB_STRATEGY_COUNT || contains(order, s)) {
            memset(order, 0, sizeof *order);
            return 0;
        }
        order->strategies[order->count++] = (uint8_t)s;
    }
    if (packed != 0) memset(order, 0, sizeof *order);
    return packed == 0;
}
