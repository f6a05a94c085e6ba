/* The runner mark (pb_payload.h). */
#include "pb_payload.h"

/* "the payload is gone from this file", each byte one higher; the shift is read at run time so
 * no compiler folds the text back into this program. Runner.swift prints the text itself. */
static const char shifted_mark[] = "uif!qbzmpbe!jt!hpof!gspn!uijt!gjmf";
static volatile uint8_t mark_shift = 1;

size_t pb_runner_mark(uint8_t out[PB_RUNNER_MARK_MAX]) {
    uint8_t shift = mark_shift;
    size_t length = sizeof shifted_mark - 1;
    for (size_t i = 0; i < length; i++) out[i] = (uint8_t)(shifted_mark[i] - shift);
    return length;
}
