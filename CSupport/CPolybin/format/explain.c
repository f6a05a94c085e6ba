/* The decision table: which build the runner chooses on a CPU, and why. The runner prints it
 * under POLYBIN_EXPLAIN=1 and `polybin explain` prints it for this machine or a described
 * one; both call this one formatter, so the two cannot drift apart. */
#include "pb_bundle.h"
#include <string.h>

/* Appends to a buffer of `cap` bytes, counting what would not fit, like snprintf. */
typedef struct text {
    char *out;
    size_t cap;
    size_t used;
} text;

static void add(text *t, const char *s) {
    size_t n = strlen(s);
    if (t->used < t->cap) {
        size_t room = t->cap - t->used - 1;
        memcpy(t->out + t->used, s, n < room ? n : room);
        t->out[t->used + (n < room ? n : room)] = 0;
    }
    t->used += n;
}

static void add_level(text *t, unsigned arch, pb_features features) {
    const char *name = pb_arch_level_name(arch, pb_arch_level_of(arch, features));
    add(t, name ? name : "?");
}

static void add_features(text *t, unsigned arch, pb_features features) {
    char names[1024];
    pb_arch_features_format(arch, features, names, sizeof names);
    add(t, names);
}

size_t pb_explain_format(const pb_bundle *bundle, pb_features host, int64_t chosen, char *out, size_t cap) {
    text t = {out, cap, 0};
    if (cap) out[0] = 0;
    unsigned arch = bundle->arch;
    add(&t, "cpu: ");
    add_level(&t, arch, host);
    add(&t, "\ncpu features: ");
    add_features(&t, arch, host);
    add(&t, "\n");
    for (uint32_t i = 0; i < bundle->count; i++) {
        pb_entry e;
        pb_bundle_entry(bundle, i, &e);
        add(&t, "flavor ");
        add(&t, e.name);
        add(&t, ": level ");
        add_level(&t, arch, e.features);
        pb_features missing = e.features & ~host;
        if (missing) {
            add(&t, ", lacks ");
            add_features(&t, arch, missing);
        } else {
            add(&t, ", usable");
        }
        add(&t, "\n");
    }
    add(&t, "selected: ");
    if (chosen >= 0 && (uint64_t)chosen < bundle->count) {
        pb_entry e;
        pb_bundle_entry(bundle, (uint32_t)chosen, &e);
        add(&t, e.name);
    } else {
        add(&t, "none");
    }
    add(&t, "\n");
    return t.used;
}
