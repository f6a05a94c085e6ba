/* main() for the runner archive. Embedded Swift has no CommandLine, so argv and envp are
 * handed to the Swift entry point as they came from the kernel. */
#include "runner_entry.h"
#include "pb_payload.h"

/* Emitted by `polybin object` / `polybin generate-c` (docs/format.md, "Payload symbols") under
 * the name pb_payload.h gives, which the asm labels spell here. */
extern const uint8_t linked_bundle[] __asm__(PB_PAYLOAD_SYMBOL);
extern const uint64_t linked_bundle_size __asm__(PB_PAYLOAD_SYMBOL PB_PAYLOAD_SIZE_SUFFIX);

const uint8_t *polybin_runner_bundle(void) { return linked_bundle; }
uint64_t polybin_runner_bundle_size(void) { return linked_bundle_size; }

int polybin_runner_main(int argc, char **argv, char **envp);

int main(int argc, char **argv, char **envp) { return polybin_runner_main(argc, argv, envp); }
