/* ratelimit.h - a budget for lines a remote peer can trigger (a burst per interval, shared by
 * every thread): beyond it lines are counted instead of logged, and summarised later. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Zero-initialised state is valid. */
struct ratelimit {
        atomic_uint_fast64_t window_ms;         /* start of the current interval */
        atomic_uint burst;                      /* lines allowed in it so far */
        atomic_uint_fast64_t suppressed;        /* lines counted instead, not yet summarised */
};

#define RATELIMIT_BURST 10
#define RATELIMIT_INTERVAL_MS 10000

/* True when one more line may be logged at now_ms. When a new interval starts, *summary is set
 * to the number suppressed in the ones before (else 0): log it first. */
bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ms, uint64_t *summary);

/* Returns the lines suppressed in intervals that are over by now_ms (0 if none), so that a
 * periodic tick can summarise them although no new line comes. */
uint64_t ratelimit_flush(struct ratelimit *rl, uint64_t now_ms);

/* Logs that n lines about `what` were suppressed by a struct ratelimit in the last interval. */
void log_suppressed(uint64_t n, const char *what);
