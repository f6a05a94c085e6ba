/* What the files of elf/ share: little-endian loads, range checks that cannot overflow, and
 * the one way a call fails (a status and its reason, written into elf->reason). */
#ifndef PB_ELF_INTERNAL_H
#define PB_ELF_INTERNAL_H
#include "pb_elf.h"

static inline uint16_t pb_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t pb_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t pb_le64(const uint8_t *p) { return (uint64_t)pb_le32(p) | (uint64_t)pb_le32(p + 4) << 32; }

/* 1 when [offset, offset + count) lies inside [0, size), without overflow. */
static inline int pb_fits(uint64_t offset, uint64_t count, uint64_t size) {
    return offset <= size && count <= size - offset;
}

/* Sets elf->reason from `format` and returns `status`. */
pb_elf_status pb_elf_fail(pb_elf *elf, pb_elf_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* The NUL-terminated string at `offset` of the `size` bytes at `table`, or NULL. */
const char *pb_elf_string_in(const uint8_t *table, uint64_t size, uint64_t offset);

/* The header of section `index` (< section_count, or 0 while opening). */
const uint8_t *pb_elf_section_header(const pb_elf *elf, uint32_t index);

/* The section name table's bytes; NULL and 0 when the file names no such table. */
pb_elf_status pb_elf_names_table(pb_elf *elf, const uint8_t **table, uint64_t *size);

/* Section names for reasons: "5 (.text)", or "5" when the name cannot be read. */
void pb_elf_section_label(pb_elf *elf, uint32_t index, char *out, size_t size);

#endif
