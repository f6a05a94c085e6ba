/* Prints what Linux (or qemu-user) reports to an aarch64 program: the oracle the Arm CPU
 * matrix derives its expected levels from. Static, so it runs under qemu-aarch64 alone. */
#include <stdio.h>
#include <sys/auxv.h>

int main(void) {
    printf("AT_HWCAP: 0x%lx\nAT_HWCAP2: 0x%lx\n", getauxval(AT_HWCAP), getauxval(AT_HWCAP2));
    return 0;
}
