/* libFuzzer target for label normalisation (pb_delta.h: delta/ln_*.c).
 *
 * Input byte 0 picks the mode.
 * Even: a hostile denormalisation. Bytes 1-2 and 3-4 are the little-endian sizes of T's side
 * block and R's side block (0: none), which follow, then the normalised build. The output is a
 * heap block of exactly the build's size, so ASan sees any write outside it.
 * Odd: the rest is a build (hostile ELF), normalised against itself (bit 1 clear) or with
 * itself as the reference (bit 1 set). A success must rebuild the build exactly through the
 * denormaliser; anything else must be a refusal, never a crash.
 *
 * Built by tools/fuzz; FuzzRegressionTests replays Tests/Fuzz/regressions/denormalise. Built
 * with -DPB_FUZZ_SEED_MAIN it is a program that writes an even-mode seed from a build and its
 * reference (tools/fuzz makes its seeds so). */
#include "pb_delta.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void denormalise(const uint8_t *data, size_t size)
{
    if (size < 5) return;
    size_t side_size = data[1] | (size_t)data[2] << 8, reference_size = data[3] | (size_t)data[4] << 8;
    if (side_size + reference_size > size - 5) return;
    const uint8_t *side = data + 5, *reference = side + side_size, *normalised = reference + reference_size;
    size_t build_size = size - 5 - side_size - reference_size;
    uint8_t *out = malloc(build_size ? build_size : 1);
    if (!out) return;
    char reason[160];
    pb_delta_denormalise(normalised, build_size, side, side_size, reference_size ? reference : NULL, reference_size, out,
                         build_size, reason, sizeof reason);
    free(out);
}

static void normalise(const uint8_t *data, size_t size, int with_reference)
{
    uint8_t *normalised = malloc(size ? size : 1), *back = malloc(size ? size : 1), *side = NULL, *own = NULL;
    size_t side_size = 0, own_size = 0;
    char reason[160];
    if (!normalised || !back) goto done;
    pb_delta_status status;
    if (with_reference) {
        uint8_t *scratch = malloc(size ? size : 1);
        if (!scratch) goto done;
        status = pb_delta_normalise(data, size, NULL, 0, scratch, &own, &own_size, NULL, reason, sizeof reason);
        free(scratch);
        if (status != PB_DELTA_OK) goto done;
    }
    status = pb_delta_normalise(data, size, with_reference ? data : NULL, with_reference ? size : 0, normalised, &side,
                                &side_size, NULL, reason, sizeof reason);
    if (status == PB_DELTA_OK) {
        if (pb_delta_denormalise(normalised, size, side, side_size, own, own_size, back, size, reason, sizeof reason) !=
                PB_DELTA_OK ||
            memcmp(back, data, size) != 0)
            abort();    /* a normalisation the normaliser proved must come back */
    } else if (status != PB_DELTA_E_UNSUPPORTED && status != PB_DELTA_E_MISMATCH && status != PB_DELTA_E_MEMORY) {
        abort();
    }
done:
    free(normalised);
    free(back);
    free(side);
    free(own);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    if (data[0] & 1) normalise(data + 1, size - 1, data[0] & 2);
    else denormalise(data, size);
    return 0;
}

#ifdef PB_FUZZ_SEED_MAIN
static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *bytes = malloc(n > 0 ? (size_t)n : 1);
    *size = bytes && n >= 0 && fread(bytes, 1, (size_t)n, f) == (size_t)n ? (size_t)n : 0;
    fclose(f);
    return bytes;
}

/* fuzz_denormalise-seed BUILD REFERENCE OUT: an even-mode input (side blocks under 64 KiB). */
int main(int argc, char **argv)
{
    size_t size = 0, reference_size = 0, side_size = 0, own_size = 0;
    uint8_t *build, *reference, *side = NULL, *own = NULL;
    if (argc != 4 || !(build = slurp(argv[1], &size)) || !(reference = slurp(argv[2], &reference_size))) return 2;
    uint8_t *normalised = malloc(size), *scratch = malloc(reference_size);
    char reason[160];
    if (pb_delta_normalise(reference, reference_size, NULL, 0, scratch, &own, &own_size, NULL, reason, sizeof reason) ||
        pb_delta_normalise(build, size, reference, reference_size, normalised, &side, &side_size, NULL, reason, sizeof reason) ||
        side_size > 0xFFFF || own_size > 0xFFFF) {
        fprintf(stderr, "fuzz_denormalise-seed: %s\n", reason);
        return 1;
    }
    FILE *out = fopen(argv[3], "wb");
    if (!out) return 1;
    uint8_t head[5] = {0, (uint8_t)side_size, (uint8_t)(side_size >> 8), (uint8_t)own_size, (uint8_t)(own_size >> 8)};
    fwrite(head, 1, 5, out);
    fwrite(side, 1, side_size, out);
    fwrite(own, 1, own_size, out);
    fwrite(normalised, 1, size, out);
    return fclose(out) != 0;
}
#endif
