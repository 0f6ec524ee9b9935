/* ratelimit.c - see ratelimit.h. Lock-free: every worker thread shares one struct ratelimit. */
#include "ratelimit.h"

#include "log.h"

/* Starts a new interval if the current one is over; returns what the old ones suppressed. */
static uint64_t ratelimit_roll(struct ratelimit *rl, uint64_t now_ms) {
        uint_fast64_t start = atomic_load(&rl->window_ms);

        if (start != 0 && now_ms - start < RATELIMIT_INTERVAL_MS)
                return 0;
        if (!atomic_compare_exchange_strong(&rl->window_ms, &start, now_ms ? now_ms : 1))
                return 0;
        atomic_store(&rl->burst, 0);
        return atomic_exchange(&rl->suppressed, 0);
}

bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ms, uint64_t *summary) {
        *summary = ratelimit_roll(rl, now_ms);
        if (atomic_fetch_add(&rl->burst, 1) < RATELIMIT_BURST)
                return true;
        atomic_fetch_add(&rl->suppressed, 1);
        return false;
}

uint64_t ratelimit_flush(struct ratelimit *rl, uint64_t now_ms) {
        if (atomic_load_explicit(&rl->suppressed, memory_order_relaxed) == 0)
                return 0;
        return ratelimit_roll(rl, now_ms);
}

void log_suppressed(uint64_t n, const char *what) {
        log_warning("%llu more %s in the last %u s were not logged", (unsigned long long) n, what,
                    RATELIMIT_INTERVAL_MS / 1000);
}
