/* hello-embed: prints a file embedded with `polybin embed --name assets`, or lists them all.
 *   show            every embedded name and size
 *   show NAME       that file's bytes on stdout (exit 1 when nothing is embedded under NAME) */
#include <stdio.h>
#include "assets.h"

int main(int argc, char **argv) {
    if (argc < 2) {
        for (size_t i = 0; i < assets_count(); i++) {
            const polybin_file *f = assets_at(i);
            printf("%s\t%zu bytes\n", f->name, f->size);
        }
        return 0;
    }
    const polybin_file *f = assets_find(argv[1]);
    if (!f) {
        fprintf(stderr, "show: %s: not embedded\n", argv[1]);
        return 1;
    }
    fwrite(f->data, 1, f->size, stdout); /* in place: no copy, no parsing */
    return 0;
}
