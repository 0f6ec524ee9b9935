/* status.h - what echod tells its service manager: READY=1, STATUS= figures, WATCHDOG=1,
 * STOPPING=1, and --exit-idle. All no-ops without NOTIFY_SOCKET, as sd_notify() is. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "stats.h"

struct status {
        struct stats *stats;
        uint64_t watchdog_ms;           /* 0: no watchdog */
        uint64_t last_watchdog_ms;
        uint64_t last_status_ms;
        uint64_t idle_since_ms;         /* 0: a client is connected */
        uint64_t last_datagrams;        /* a datagram since the last tick is activity too */
        unsigned exit_idle_s;
        char last[256];                 /* the STATUS= last sent, to send only changes */
        char stopping[64];              /* why echod is stopping, or "" */
};

/* Reads the watchdog interval (sd_watchdog_enabled) and remembers what to report. */
void status_init(struct status *st, struct stats *stats, unsigned exit_idle_s, uint64_t now_ms);

/* Sends READY=1 and the first STATUS=. */
void status_ready(struct status *st);

/* Periodic work: STATUS= at most once a second when it changed, WATCHDOG=1 at half the
 * interval. Returns 1 when --exit-idle says it is time to exit, else 0. */
int status_tick(struct status *st, uint64_t now_ms);

/* Sends STOPPING=1 with a reason, which prefixes every later STATUS=. */
void status_stopping(struct status *st, const char *why);

/* Writes the figures STATUS= shows into buf. */
void status_format(const struct stats *stats, char *buf, size_t size);
