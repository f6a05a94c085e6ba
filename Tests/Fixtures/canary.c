/* Payload for the corruption sweep: prints its marker only when it actually runs. Any run
 * of a damaged fatbin that prints it executed bytes that were not verified. */
#include <stdio.h>

#ifndef FLAVOR
#define FLAVOR "unknown"
#endif

int main(void) {
    puts("POLYBIN-CANARY-RAN " FLAVOR);
    return 0;
}
