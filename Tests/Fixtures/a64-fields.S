// Every PC-relative field kind of A64 that GCC rarely emits (LDR literal of each register
// class, PRFM literal, ADR) and ADRP partners of each access size, for the aarch64 field
// rules' tests (Tests/PolybinKitTests/Delta/A64FieldTests.swift). Linked with -nostdlib; never run.
    .text
    .globl _start
    .type _start, %function
_start:
    ldr     x0, 1f
    ldr     w1, 1f
    ldrsw   x2, 1f
    ldr     s0, 1f
    ldr     d1, 1f
    ldr     q2, 2f
    prfm    pldl1keep, 1f
    adr     x3, 1f
    adr     x4, _start
    // An ADRP and its partner: the page of `table`, then the access at table+OFFSET.
    .macro page_pair base, access, value, offset
    adrp    \base, table
    \access \value, [\base, :lo12:table+\offset]
    .endm
    adrp    x5, table
    add     x5, x5, :lo12:table
    page_pair x6, ldr, x7, 8
    page_pair x8, ldrb, w9, 3
    page_pair x10, ldrh, w11, 6
    page_pair x12, str, w13, 12
    page_pair x14, ldr, q3, 16
    page_pair x15, ldr, d4, 24
    tbz     x0, #40, 3f
    tbnz    w1, #3, 3f
    cbz     x0, 3f
    cbnz    w0, 3f
    b.ne    3f
    bl      3f
    b       _start
3:  ret
    .balign 16
1:  .quad   0x1122334455667788
2:  .quad   0, 0
    .size _start, . - _start

    .data
    .balign 64
table:
    .space  64
