/* status.c - see status.h. */
#include "status.h"

#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

void status_init(struct status *st, struct stats *stats, unsigned exit_idle_s, uint64_t now_ms) {
        uint64_t usec = 0;

        *st = (struct status) { .stats = stats, .exit_idle_s = exit_idle_s, .idle_since_ms = now_ms };
        if (sd_watchdog_enabled(0, &usec) > 0)
                st->watchdog_ms = usec / 1000;
        st->last_watchdog_ms = now_ms;
}

void status_format(const struct stats *stats, char *buf, size_t size) {
        uint64_t dropped[DATAGRAM_DROP_REASONS], total = 0;
        size_t n;

        snprintf(buf, size, "%llu connections, %llu served, %llu bytes echoed",
                 (unsigned long long) atomic_load(&stats->connections),
                 (unsigned long long) atomic_load(&stats->served),
                 (unsigned long long) atomic_load(&stats->bytes));
        /* UDP: echoed, and dropped by reason once one was. */
        for (int i = 0; i < DATAGRAM_DROP_REASONS; i++)
                total += dropped[i] = atomic_load(&stats->datagrams_dropped[i]);
        if (atomic_load(&stats->datagrams) == 0 && total == 0)
                return;
        snprintf(buf + strlen(buf), size - strlen(buf), ", %llu datagrams",
                 (unsigned long long) atomic_load(&stats->datagrams));
        if (total == 0)
                return;
        snprintf(buf + strlen(buf), size - strlen(buf), ", %llu dropped (", (unsigned long long) total);
        for (int i = 0; i < DATAGRAM_DROP_REASONS; i++) {
                n = strlen(buf);
                snprintf(buf + n, size - n, "%s%llu %s", i ? ", " : "", (unsigned long long) dropped[i],
                         datagram_drop_names[i]);
        }
        n = strlen(buf);
        snprintf(buf + n, size - n, ")");
}

void status_ready(struct status *st) {
        status_format(st->stats, st->last, sizeof st->last);
        sd_notifyf(0, "READY=1\nSTATUS=%s", st->last);
}

/* The figures, after the reason for stopping once there is one. */
static void status_line(const struct status *st, char *buf, size_t size) {
        size_t n = 0;

        if (st->stopping[0])
                n = (size_t) snprintf(buf, size, "%s: ", st->stopping);
        status_format(st->stats, buf + n, size - n);
}

int status_tick(struct status *st, uint64_t now_ms) {
        char now[sizeof st->last];

        if (now_ms - st->last_status_ms >= 1000) {
                status_line(st, now, sizeof now);
                if (strcmp(now, st->last) != 0) {
                        memcpy(st->last, now, sizeof now);
                        sd_notifyf(0, "STATUS=%s", now);
                }
                st->last_status_ms = now_ms;
        }
        if (st->watchdog_ms > 0 && now_ms - st->last_watchdog_ms >= st->watchdog_ms / 2) {
                sd_notify(0, "WATCHDOG=1");
                st->last_watchdog_ms = now_ms;
        }
        if (atomic_load(&st->stats->connections) > 0 ||
            atomic_load(&st->stats->datagrams) != st->last_datagrams) {
                st->last_datagrams = atomic_load(&st->stats->datagrams);
                st->idle_since_ms = 0;
                return 0;
        }
        if (st->idle_since_ms == 0)
                st->idle_since_ms = now_ms;
        return st->exit_idle_s > 0 && now_ms - st->idle_since_ms >= (uint64_t) st->exit_idle_s * 1000;
}

void status_stopping(struct status *st, const char *why) {
        if (st->stopping[0])
                return;
        snprintf(st->stopping, sizeof st->stopping, "%s", why);
        status_line(st, st->last, sizeof st->last);
        sd_notifyf(0, "STOPPING=1\nSTATUS=%s", st->last);
}
