/* main() for the runner archive. Embedded Swift has no CommandLine, so argv and envp are
 * handed to the Swift entry point as they came from the kernel. */
#include "runner_entry.h"

/* Emitted by `polybin object` / `polybin generate-c` (docs/format.md, "Payload symbols"). */
extern const uint8_t polybin_bundle[];
extern const uint64_t polybin_bundle_size;

const uint8_t *polybin_runner_bundle(void) { return polybin_bundle; }
uint64_t polybin_runner_bundle_size(void) { return polybin_bundle_size; }

int polybin_runner_main(int argc, char **argv, char **envp);

int main(int argc, char **argv, char **envp) { return polybin_runner_main(argc, argv, envp); }
