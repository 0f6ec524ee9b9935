/* clock.h - the one clock every program measures time with: CLOCK_MONOTONIC, which neither
 * NTP nor an administrator's `date` moves. */
#pragma once

#include <stdint.h>

/* Nanoseconds on CLOCK_MONOTONIC. */
uint64_t clock_now_ns(void);

/* The same clock in milliseconds (echod's loop, its timeouts) and in seconds (measurements). */
static inline uint64_t clock_now_ms(void) {
        return clock_now_ns() / 1000000;
}

static inline double clock_now_s(void) {
        return (double) clock_now_ns() / 1e9;
}
