/* stats.h - the counters every worker shares: bumped where the event happens, atomically (the
 * workers run in threads of their own), and shown by status.c as STATUS=. A new counter is a
 * field here. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "budget.h"
#include "datagram.h"
#include "ratelimit.h"

/* What one worker counts in its own thread: bytes echoed, connections accepted or adopted. */
struct worker_counts {
        atomic_uint_fast64_t bytes, served;
};

/* Adds n to a counter of worker_counts from its worker's thread: a relaxed load and store, no
 * locked instruction per message; any thread may read it. */
static inline void worker_count(atomic_uint_fast64_t *counter, uint64_t n) {
        atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
                              memory_order_relaxed);
}

/* Counters shared by every worker, read for STATUS= lines. */
struct stats {
        atomic_uint_fast64_t connections;       /* open now */
        atomic_uint_fast64_t served;            /* accepted since start */
        atomic_uint_fast64_t bytes;             /* echoed since start */
        atomic_uint_fast64_t datagrams;         /* UDP datagrams echoed since start */
        atomic_uint_fast64_t datagrams_dropped[DATAGRAM_DROP_REASONS];  /* without a reply, by reason */
        /* Out of fds, shared by the workers: from a failed accept until one finds no client
         * waiting; the warning at most once a minute, and one "again" line per warning. */
        atomic_bool out_of_fds;
        atomic_bool fd_resume_pending;
        atomic_uint_fast64_t fd_warned_ms;
        struct ratelimit conn_errors;           /* "connection ... closed on error" lines */
        atomic_uint_fast64_t per_source_refused;        /* closed at accept: --max-per-source */
        atomic_uint_fast64_t per_source_noticed_ms;     /* the notice, at most once a minute */
        /* --max-memory: the rings and pipes of every connection, with the workers' reserves. */
        struct budget_total memory;
        /* --proxy-protocol: connections closed unanswered for want of a valid header, and the
         * notice about them, at most once a minute (the count when it was last given). */
        atomic_uint_fast64_t proxy_refused;
        atomic_uint_fast64_t proxy_noticed;
        atomic_uint_fast64_t proxy_noticed_ms;
        atomic_bool listeners_closed;           /* server_close_listeners() was called */
};
