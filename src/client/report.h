/* report.h - what the probe prints: a header, one ping-like line per probe, the summary in ping's
 * words, or one JSON object (--json); and the statistics behind them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "client.h"

#define REPORT_PROBES_KEPT 10000        /* per-probe results listed by --json; the rest counted */

enum probe_outcome {
        PROBE_INTACT,
        PROBE_LOST,             /* nothing, or not all of it, came back: refused, timeout, reset... */
        PROBE_DIFFERS,          /* something came back that was not what was sent */
};

struct probe_result {
        uint64_t seq;
        enum probe_outcome outcome;
        bool answered;          /* some echo came back, intact or not */
        size_t addr;            /* index in the target's addrs; SIZE_MAX: several were tried */
        double connect_ms;      /* < 0: no connection was made for this probe */
        double time_ms;         /* the echo's round trip; < 0 when it did not come back */
        char reason[160];       /* "" when intact: "refused", "timeout", "differs at byte 17"... */
};

struct report {
        const struct client_config *c;
        const struct target *t;
        uint64_t sent, intact, answered, differed;
        double min, max, sum, sumsq;    /* of the intact probes' times, ms */
        struct probe_result *kept;
        size_t n_kept;
        int64_t start_ns, end_ns;
};

/* Starts the statistics and prints the header (not with -q or --json). Returns 0 or -ENOMEM. */
int report_begin(struct report *r, const struct client_config *c, const struct target *t);

/* Counts one probe and prints its line (not with -q or --json). */
void report_probe(struct report *r, const struct probe_result *p);

/* Prints the summary, or the JSON object; returns the exit status: 0 every probe intact, 3 no
 * probe answered at all, 1 otherwise. */
int report_end(struct report *r);

/* Frees what report_begin() allocated; safe on a zeroed report. */
void report_clear(struct report *r);
