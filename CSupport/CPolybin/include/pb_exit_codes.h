/* The runner's exit codes for its own failures (README, "Exit codes"), once: the runner exits
 * with them and `polybin explain` answers "no usable flavor" with the runner's code. */
#ifndef PB_EXIT_CODES_H
#define PB_EXIT_CODES_H

/* A POLYBIN_* variable breaks its rule. */
#define PB_EXIT_BAD_ENVIRONMENT 120
/* The payload is missing, damaged or not a fatbin's. */
#define PB_EXIT_CORRUPT_PAYLOAD 121
/* No build runs on this CPU, or POLYBIN_FLAVOR names one that does not exist or cannot run. */
#define PB_EXIT_NO_USABLE_FLAVOR 122
/* Every exec strategy failed. */
#define PB_EXIT_NO_STRATEGY_WORKED 123

#endif
