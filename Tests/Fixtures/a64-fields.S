// Every PC-relative field kind of A64 that GCC rarely emits (LDR literal of each register
// class, PRFM literal, ADR) and ADRP partners of each access size, for the aarch64 field
// rules' tests (Tests/PolybinTests/Delta/A64FieldTests.swift). Linked with -nostdlib; never run.
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
    adrp    x5, table
    add     x5, x5, :lo12:table
    adrp    x6, table
    ldr     x7, [x6, :lo12:table+8]
    adrp    x8, table
    ldrb    w9, [x8, :lo12:table+3]
    adrp    x10, table
    ldrh    w11, [x10, :lo12:table+6]
    adrp    x12, table
    str     w13, [x12, :lo12:table+12]
    adrp    x14, table
    ldr     q3, [x14, :lo12:table+16]
    adrp    x15, table
    ldr     d4, [x15, :lo12:table+24]
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
