/* The bundle reader. Every field is checked against the bytes actually present before it
 * is used; see docs/format.md for the layout these offsets follow. */
#include "pb_bundle.h"
#include "pb_sha256.h"
#include <string.h>

/* The magic is kept masked, the mask read at run time so no compiler folds it back: a
 * program holding this reader (the runner, polybin, a program with embedded files) must not
 * hold the magic itself, or a search for a bundle in it finds the reader's copy. A stripped
 * fatbin then says its payload is gone, not that some bundle version is unsupported. */
static const uint8_t masked_magic[PB_MAGIC_SIZE] = {'P' ^ 0xA5, 'L' ^ 0xA5, 'Y' ^ 0xA5, 'B' ^ 0xA5,
                                                    'N' ^ 0xA5, 'D' ^ 0xA5, 'L' ^ 0xA5, 0xA5};
static volatile uint8_t magic_mask = 0xA5;

static int is_magic(const uint8_t *p) {
    uint8_t mask = magic_mask;
    for (int i = 0; i < PB_MAGIC_SIZE; i++)
        if ((uint8_t)(p[i] ^ mask) != masked_magic[i]) return 0;
    return 1;
}

void pb_magic(uint8_t out[PB_MAGIC_SIZE]) {
    uint8_t mask = magic_mask;
    for (int i = 0; i < PB_MAGIC_SIZE; i++) out[i] = (uint8_t)(masked_magic[i] ^ mask);
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

static int all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) if (p[i]) return 0;
    return 1;
}

const char *pb_status_message(pb_status status) {
    switch (status) {
    case PB_OK: return "ok";
    case PB_E_TRUNCATED: return "bundle is truncated";
    case PB_E_MAGIC: return "no polybin bundle found";
    case PB_E_VERSION: return "bundle version is not supported";
    case PB_E_HEADER: return "bundle header is inconsistent";
    case PB_E_META_HASH: return "bundle header or index is corrupt (hash mismatch)";
    case PB_E_INDEX: return "bundle index entry is malformed";
    case PB_E_NAME: return "bundle entry names are malformed or unsorted";
    case PB_E_RANGE: return "bundle entry data lies outside the bundle";
    case PB_E_CODEC: return "bundle entry has an unknown codec or impossible sizes";
    case PB_E_REF: return "bundle delta reference is invalid";
    case PB_E_DECODE: return "bundle entry data does not decode";
    case PB_E_HASH: return "bundle entry content does not match its SHA-256";
    case PB_E_NOMEM: return "out of memory while decoding";
    case PB_E_ARGUMENT: return "invalid argument";
    case PB_E_WRITE: return "the destination could not be written";
    }
    return "unknown error";
}

/* Index entry field offsets (docs/format.md, "Index entry"). */
enum {
    E_NAME_OFFSET = 0, E_NAME_SIZE = 4, E_CODEC = 8, E_FLAGS = 10, E_REF = 12,
    E_DATA_OFFSET = 16, E_STORED_SIZE = 24, E_SIZE = 32, E_FEATURES = 40, E_SHA256 = 48,
    E_RESERVED = 80
};

static int name_less(const uint8_t *a, uint32_t an, const uint8_t *b, uint32_t bn) {
    int c = memcmp(a, b, an < bn ? an : bn);
    return c < 0 || (c == 0 && an < bn);
}

static pb_status check_entry(const pb_bundle *b, uint32_t i) {
    const uint8_t *e = b->index + (uint64_t)i * PB_ENTRY_SIZE;
    uint32_t name_offset = le32(e + E_NAME_OFFSET), name_size = le32(e + E_NAME_SIZE);
    uint16_t codec = le16(e + E_CODEC);
    uint32_t ref = le32(e + E_REF);
    uint64_t offset = le64(e + E_DATA_OFFSET), stored = le64(e + E_STORED_SIZE), size = le64(e + E_SIZE);
    uint64_t features = le64(e + E_FEATURES);

    if (le16(e + E_FLAGS) != 0 || !all_zero(e + E_RESERVED, PB_ENTRY_SIZE - E_RESERVED)) return PB_E_INDEX;
    if (name_size == 0 || (uint64_t)name_offset + name_size >= b->names_size) return PB_E_NAME;
    if (b->names[name_offset + name_size] != 0 || memchr(b->names + name_offset, 0, name_size)) return PB_E_NAME;
    if (offset > b->data_size || stored > b->data_size - offset) return PB_E_RANGE;
    if (size > PB_MAX_CONTENT) return PB_E_CODEC;
    if (b->kind == PB_KIND_FILES && features != 0) return PB_E_INDEX;
    if (b->kind == PB_KIND_FATBIN && features >> pb_arch_feature_count(b->arch)) return PB_E_INDEX;
    switch (codec) {
    case PB_CODEC_RAW:
        if (stored != size || ref != PB_NO_REF) return PB_E_CODEC;
        break;
    case PB_CODEC_ZSTD:
        if (stored == 0 || ref != PB_NO_REF) return PB_E_CODEC;
        break;
    case PB_CODEC_DELTA: {
        if (stored == 0 || b->kind != PB_KIND_FATBIN) return PB_E_CODEC;
        if (ref >= b->count || ref == i) return PB_E_REF;
        uint16_t ref_codec = le16(b->index + (uint64_t)ref * PB_ENTRY_SIZE + E_CODEC);
        if (ref_codec != PB_CODEC_RAW && ref_codec != PB_CODEC_ZSTD) return PB_E_REF;
        break;
    }
    default:
        return PB_E_CODEC;
    }
    if (i > 0) {
        const uint8_t *p = e - PB_ENTRY_SIZE;
        uint32_t pn_off = le32(p + E_NAME_OFFSET), pn_size = le32(p + E_NAME_SIZE);
        if (!name_less(b->names + pn_off, pn_size, b->names + name_offset, name_size)) return PB_E_NAME;
    }
    return PB_OK;
}

pb_status pb_bundle_open(pb_bundle *b, const void *bytes, uint64_t size) {
    const uint8_t *h = bytes;
    memset(b, 0, sizeof *b);
    if (size < PB_HEADER_SIZE) return size >= PB_MAGIC_SIZE && is_magic(h) ? PB_E_TRUNCATED : PB_E_MAGIC;
    if (!is_magic(h)) return PB_E_MAGIC;
    uint16_t version = le16(h + 8);
    if (version != PB_VERSION && version != PB_VERSION_1) return PB_E_VERSION;

    uint32_t kind = le16(h + 10), header_size = le32(h + 12), entry_size = le32(h + 16);
    uint32_t count = le32(h + 20), exec_order = le32(h + 24), flags = le32(h + 28);
    uint64_t bundle_size = le64(h + 32), names_offset = le64(h + 40), names_size = le64(h + 48);
    uint64_t data_offset = le64(h + 56), data_size = le64(h + 64);

    if (kind != PB_KIND_FATBIN && kind != PB_KIND_FILES) return PB_E_HEADER;
    if (header_size != PB_HEADER_SIZE || entry_size != PB_ENTRY_SIZE || flags != 0) return PB_E_HEADER;
    /* Version 1 has no architecture field: its fatbins are x86-64. */
    uint32_t arch = version == PB_VERSION_1 ? (kind == PB_KIND_FATBIN ? PB_ARCH_X86_64 : PB_ARCH_NONE) : le16(h + 72);
    uint32_t reserved_from = version == PB_VERSION_1 ? 72 : 74;
    if (count > PB_MAX_ENTRIES || !all_zero(h + reserved_from, 96 - reserved_from)) return PB_E_HEADER;
    if (kind == PB_KIND_FATBIN ? pb_arch_feature_count(arch) == 0 : arch != PB_ARCH_NONE) return PB_E_HEADER;
    if (kind == PB_KIND_FILES && exec_order != 0) return PB_E_HEADER;
    pb_exec_order exec = {0};
    if (kind == PB_KIND_FATBIN && !pb_exec_order_unpack(exec_order, &exec)) return PB_E_HEADER;
    /* The layout is canonical: index, names, then the aligned data area, then the end. */
    if (names_offset != PB_HEADER_SIZE + (uint64_t)count * PB_ENTRY_SIZE) return PB_E_HEADER;
    if (names_size > PB_MAX_CONTENT || data_size > PB_MAX_CONTENT) return PB_E_HEADER;
    uint64_t names_end = names_offset + names_size;
    uint64_t aligned = (names_end + PB_DATA_ALIGN - 1) / PB_DATA_ALIGN * PB_DATA_ALIGN;
    if (data_offset != aligned || bundle_size != data_offset + data_size) return PB_E_HEADER;
    if (bundle_size > size) return PB_E_TRUNCATED;

    /* One hash over header (minus the hash itself), index and names: a flipped feature bit
     * or size must never select or run the wrong build. */
    uint8_t digest[32];
    pb_sha256_ctx ctx;
    pb_sha256_init(&ctx);
    pb_sha256_update(&ctx, h, 96);
    pb_sha256_update(&ctx, h + PB_HEADER_SIZE, names_end - PB_HEADER_SIZE);
    pb_sha256_final(&ctx, digest);
    if (memcmp(digest, h + 96, 32) != 0) return PB_E_META_HASH;

    if (!all_zero(h + names_end, data_offset - names_end)) return PB_E_HEADER;
    b->base = h;
    b->size = bundle_size;
    b->kind = kind;
    b->arch = arch;
    b->count = count;
    b->exec_order = exec_order;
    b->exec = exec;
    b->index = h + PB_HEADER_SIZE;
    b->names = h + names_offset;
    b->names_size = names_size;
    b->data = h + data_offset;
    b->data_size = data_size;
    for (uint32_t i = 0; i < count; i++) {
        pb_status status = check_entry(b, i);
        if (status != PB_OK) {
            memset(b, 0, sizeof *b);
            return status;
        }
    }
    return PB_OK;
}

void pb_bundle_entry(const pb_bundle *b, uint32_t i, pb_entry *entry) {
    const uint8_t *e = b->index + (uint64_t)i * PB_ENTRY_SIZE;
    entry->name = (const char *)b->names + le32(e + E_NAME_OFFSET);
    entry->name_size = le32(e + E_NAME_SIZE);
    entry->codec = le16(e + E_CODEC);
    entry->ref = le32(e + E_REF);
    entry->stored = b->data + le64(e + E_DATA_OFFSET);
    entry->stored_size = le64(e + E_STORED_SIZE);
    entry->size = le64(e + E_SIZE);
    entry->features = le64(e + E_FEATURES);
    entry->sha256 = e + E_SHA256;
}

int64_t pb_bundle_find(const pb_bundle *b, const char *name, size_t len) {
    uint32_t lo = 0, hi = b->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const uint8_t *e = b->index + (uint64_t)mid * PB_ENTRY_SIZE;
        const uint8_t *n = b->names + le32(e + E_NAME_OFFSET);
        uint32_t nn = le32(e + E_NAME_SIZE);
        if (name_less(n, nn, (const uint8_t *)name, (uint32_t)len)) lo = mid + 1;
        else if (name_less((const uint8_t *)name, (uint32_t)len, n, nn)) hi = mid;
        else return mid;
    }
    return -1;
}

pb_status pb_bundle_locate(pb_bundle *b, const void *bytes, uint64_t size) {
    const uint8_t *p = bytes, *end = p + size;
    pb_status last = PB_E_MAGIC;
    while (p < end) {
        const uint8_t *hit = memchr(p, 'P', (size_t)(end - p));
        if (!hit) break;
        if ((uint64_t)(end - hit) >= PB_MAGIC_SIZE && is_magic(hit)) {
            last = pb_bundle_open(b, hit, (uint64_t)(end - hit));
            if (last == PB_OK) return PB_OK;
        }
        p = hit + 1;
    }
    return last;
}

int64_t pb_select(const pb_bundle *b, pb_features host) {
    int64_t best = -1;
    pb_features best_features = 0;
    for (uint32_t i = 0; i < b->count; i++) {
        pb_entry e;
        pb_bundle_entry(b, i, &e);
        if (e.features & ~host) continue;
        if (best < 0 || pb_arch_rank_compare(b->arch, e.features, best_features) > 0) {
            best = i;
            best_features = e.features;
        }
    }
    return best;
}
