/* The LN side block (docs/delta.md): what the denormaliser needs besides N(T): T's function
 * table against R's, the shift runs and the escapes. Written by the packer, read by the runner,
 * which trusts none of it: every count is bounded by the bytes it needs before it is used. */
#include <stdlib.h>
#include <string.h>
#include "ln_internal.h"

static const uint8_t side_magic[3] = {'P', 'L', 'N'};

void ln_put_byte(ln_buffer *buffer, uint8_t byte)
{
    if (buffer->failed) return;
    if (buffer->size == buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity * 2 : 256;
        uint8_t *bytes = realloc(buffer->bytes, capacity);
        if (!bytes) { buffer->failed = 1; return; }
        buffer->bytes = bytes;
        buffer->capacity = capacity;
    }
    buffer->bytes[buffer->size++] = byte;
}

void ln_put_varint(ln_buffer *buffer, uint64_t value)
{
    while (value >= 0x80) {
        ln_put_byte(buffer, (uint8_t)(value | 0x80));
        value >>= 7;
    }
    ln_put_byte(buffer, (uint8_t)value);
}

uint64_t ln_zigzag(int64_t value) { return ((uint64_t)value << 1) ^ (uint64_t)(value >> 63); }
int64_t ln_unzigzag(uint64_t value) { return (int64_t)(value >> 1) ^ -(int64_t)(value & 1); }

uint64_t ln_get_varint(ln_reader *reader)
{
    uint64_t value = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (reader->at >= reader->end) break;
        uint8_t byte = *reader->at++;
        if (shift == 63 && byte > 1) break;    /* more than 64 bits */
        value |= (uint64_t)(byte & 0x7F) << shift;
        if (!(byte & 0x80)) return value;
    }
    reader->bad = 1;
    return 0;
}

/* Steps over `count` varints, refusing a count larger than the bytes left (each takes one). */
static void skip_varints(ln_reader *reader, uint64_t count)
{
    if (count > (uint64_t)(reader->end - reader->at)) { reader->bad = 1; return; }
    for (uint64_t i = 0; i < count && !reader->bad; i++) ln_get_varint(reader);
}

/* Reads `count` groups of `per` varints as a part of its own. */
static ln_reader part(ln_reader *reader, uint64_t count, unsigned per)
{
    ln_reader start = *reader;
    if (count > UINT64_MAX / per) { reader->bad = 1; return start; }
    skip_varints(reader, count * per);
    start.end = reader->at;
    return start;
}

int ln_side_parse(const uint8_t *bytes, size_t size, ln_side *side)
{
    memset(side, 0, sizeof *side);
    if (!bytes || size < 6 || memcmp(bytes, side_magic, 3) != 0 || bytes[3] != LN_SIDE_VERSION) return 0;
    side->arch = bytes[4];
    side->flags = bytes[5];
    if ((side->arch != LN_ARCH_X86_64 && side->arch != LN_ARCH_AARCH64) || (side->flags & ~LN_SIDE_SELF)) return 0;
    ln_reader reader = {bytes + 6, bytes + size, 0};
    side->field_count = ln_get_varint(&reader);
    side->function_count = ln_get_varint(&reader);
    side->functions = part(&reader, side->function_count, (side->flags & LN_SIDE_SELF) ? 2 : 3);
    side->run_count = ln_get_varint(&reader);
    side->runs = part(&reader, side->run_count, 2);
    side->escape_count = ln_get_varint(&reader);
    side->escapes = part(&reader, side->escape_count, 1);
    if ((side->flags & LN_SIDE_SELF) && side->run_count) return 0;
    return !reader.bad && reader.at == reader.end && side->escape_count <= side->field_count;
}

int ln_side_functions(ln_side *side, const ln_function *r, uint64_t r_count, ln_function *out)
{
    ln_reader *reader = &side->functions;
    int self = side->flags & LN_SIDE_SELF;
    uint64_t previous_end = 0;
    int64_t previous_match = -1, previous_shift = 0;
    for (uint64_t i = 0; i < side->function_count; i++) {
        uint64_t start, size;
        int64_t match = self ? (int64_t)i : -1;
        if (self) {
            uint64_t gap = ln_get_varint(reader);
            size = ln_get_varint(reader);
            start = previous_end + gap;
            if (start < previous_end) return 0;
        } else {
            uint64_t code = ln_get_varint(reader);
            uint64_t start_code = ln_get_varint(reader), size_code = ln_get_varint(reader);
            if (code) {
                int64_t step = ln_unzigzag(code - 1);
                uint64_t index = (uint64_t)(previous_match + 1) + (uint64_t)step;
                if (step < 0 || index >= r_count) return 0;    /* matches only go forward */
                match = (int64_t)index;
                previous_shift += ln_unzigzag(start_code);
                start = r[index].start + (uint64_t)previous_shift;
                size = r[index].size + (uint64_t)ln_unzigzag(size_code);
                if (start < previous_end) return 0;
                previous_match = match;
            } else {
                start = previous_end + start_code;
                size = size_code;
                if (start < previous_end) return 0;
            }
        }
        if (reader->bad || size == 0 || start + size < start) return 0;
        out[i] = (ln_function){start, size, match};
        previous_end = start + size;
    }
    return !reader->bad;
}

int ln_side_runs(ln_side *side, ln_run *out)
{
    ln_reader *reader = &side->runs;
    uint64_t previous = 0;
    int64_t delta = 0;
    for (uint64_t i = 0; i < side->run_count; i++) {
        uint64_t gap = ln_get_varint(reader);
        delta += ln_unzigzag(ln_get_varint(reader));
        if (reader->bad || previous + gap < previous || (i && gap == 0)) return 0;
        previous += gap;
        out[i] = (ln_run){previous + (uint64_t)delta, previous};
    }
    return !reader->bad;
}

void ln_side_write(ln_buffer *buffer, uint8_t arch, uint8_t flags, uint64_t field_count, const ln_function *t,
                   uint64_t t_count, const ln_function *r, const ln_run *runs, uint64_t run_count,
                   const uint64_t *escapes, uint64_t escape_count)
{
    for (int i = 0; i < 3; i++) ln_put_byte(buffer, side_magic[i]);
    ln_put_byte(buffer, LN_SIDE_VERSION);
    ln_put_byte(buffer, arch);
    ln_put_byte(buffer, flags);
    ln_put_varint(buffer, field_count);
    ln_put_varint(buffer, t_count);
    uint64_t previous_end = 0;
    int64_t previous_match = -1, previous_shift = 0;
    for (uint64_t i = 0; i < t_count; i++) {
        if (flags & LN_SIDE_SELF) {
            ln_put_varint(buffer, t[i].start - previous_end);
            ln_put_varint(buffer, t[i].size);
        } else if (t[i].match >= 0) {
            const ln_function *m = &r[t[i].match];
            int64_t shift = (int64_t)(t[i].start - m->start);
            ln_put_varint(buffer, ln_zigzag(t[i].match - (previous_match + 1)) + 1);
            ln_put_varint(buffer, ln_zigzag(shift - previous_shift));
            ln_put_varint(buffer, ln_zigzag((int64_t)(t[i].size - m->size)));
            previous_match = t[i].match;
            previous_shift = shift;
        } else {
            ln_put_varint(buffer, 0);
            ln_put_varint(buffer, t[i].start - previous_end);
            ln_put_varint(buffer, t[i].size);
        }
        previous_end = t[i].start + t[i].size;
    }
    ln_put_varint(buffer, run_count);
    uint64_t previous = 0;
    int64_t delta = 0;
    for (uint64_t i = 0; i < run_count; i++) {
        int64_t d = (int64_t)(runs[i].t_start - runs[i].r_start);
        ln_put_varint(buffer, runs[i].r_start - previous);
        ln_put_varint(buffer, ln_zigzag(d - delta));
        previous = runs[i].r_start;
        delta = d;
    }
    ln_put_varint(buffer, escape_count);
    uint64_t next = 0;
    for (uint64_t i = 0; i < escape_count; i++) {
        ln_put_varint(buffer, escapes[i] - next);
        next = escapes[i] + 1;
    }
}
