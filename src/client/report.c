/* report.c - see report.h. */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* As ping prints times: three significant decimals below 1 ms, fewer above. */
static void print_ms(const char *label, double ms) {
        int decimals = ms >= 100 ? 0 : ms >= 10 ? 1 : ms >= 1 ? 2 : 3;

        printf(" %s=%.*f ms", label, decimals, ms);
}

int report_begin(struct report *r, const struct client_config *c, const struct target *t) {
        *r = (struct report) { .c = c, .t = t, .min = INFINITY, .max = 0 };
        r->kept = calloc(c->count && c->count < REPORT_PROBES_KEPT ? c->count : REPORT_PROBES_KEPT,
                         sizeof *r->kept);
        if (!r->kept)
                return -ENOMEM;
        r->start_ns = now_ns();
        if (c->quiet || c->json)
                return 0;
        printf("ECHO %s port %s (", c->host, c->port);
        for (size_t i = 0; i < t->n; i++)
                printf("%s%s", i ? ", " : "", t->addrs[i].name);
        printf("): %zu bytes per probe, %s\n", c->size,
               c->udp ? "UDP" : c->keep ? "TCP, one connection" : "TCP, a connection per probe");
        fflush(stdout);
        return 0;
}

static void probe_line(const struct report *r, const struct probe_result *p) {
        const struct target_addr *a = p->addr < r->t->n ? &r->t->addrs[p->addr] : NULL;

        if (p->outcome == PROBE_INTACT)
                printf("%zu bytes from %s port %s: seq=%llu", r->c->size, a->name, a->port,
                       (unsigned long long) p->seq);
        else
                printf("from %s port %s: seq=%llu %s", a ? a->name : r->c->host, a ? a->port : r->c->port,
                       (unsigned long long) p->seq, p->reason);
        if (p->outcome == PROBE_INTACT && p->connect_ms >= 0)
                print_ms("connect", p->connect_ms);
        if (p->outcome == PROBE_INTACT)
                print_ms("time", p->time_ms);
        printf("\n");
        fflush(stdout);
}

void report_probe(struct report *r, const struct probe_result *p) {
        r->sent++;
        r->answered += p->answered;
        r->differed += p->outcome == PROBE_DIFFERS;
        if (p->outcome == PROBE_INTACT) {
                r->intact++;
                r->sum += p->time_ms;
                r->sumsq += p->time_ms * p->time_ms;
                r->min = p->time_ms < r->min ? p->time_ms : r->min;
                r->max = p->time_ms > r->max ? p->time_ms : r->max;
        }
        if (r->n_kept < REPORT_PROBES_KEPT && (!r->c->count || r->n_kept < r->c->count))
                r->kept[r->n_kept++] = *p;
        if (!r->c->quiet && !r->c->json)
                probe_line(r, p);
}

static double loss_percent(const struct report *r) {
        return r->sent ? 100.0 * (double) (r->sent - r->intact) / (double) r->sent : 0.0;
}

/* ping's mdev: the standard deviation of the times, sqrt(E[x^2] - E[x]^2). */
static double mdev(const struct report *r) {
        double avg = r->sum / (double) r->intact, v = r->sumsq / (double) r->intact - avg * avg;

        return v > 0 ? sqrt(v) : 0.0;
}

static void json_probe(const struct report *r, const struct probe_result *p, bool first) {
        static const char *const outcome[] = { "intact", "lost", "differs" };

        fputs(first ? "{" : ",{", stdout);
        json_key_uint(stdout, "seq", p->seq, 1);
        json_key_string(stdout, "result", outcome[p->outcome], 0);
        if (p->addr < r->t->n)
                json_key_string(stdout, "address", r->t->addrs[p->addr].name, 0);
        if (p->connect_ms >= 0)
                json_key_number(stdout, "connect_ms", p->connect_ms, 0);
        if (p->time_ms >= 0)
                json_key_number(stdout, "time_ms", p->time_ms, 0);
        if (p->reason[0])
                json_key_string(stdout, "reason", p->reason, 0);
        fputs("}", stdout);
}

static void json_report(const struct report *r) {
        fputs("{", stdout);
        json_key_string(stdout, "host", r->c->host, 1);
        json_key_string(stdout, "port", r->t->n ? r->t->addrs[0].port : r->c->port, 0);
        json_key_string(stdout, "protocol", r->c->udp ? "udp" : "tcp", 0);
        json_key_uint(stdout, "size", r->c->size, 0);
        json_key_uint(stdout, "sent", r->sent, 0);
        json_key_uint(stdout, "intact", r->intact, 0);
        json_key_uint(stdout, "lost", r->sent - r->intact, 0);
        json_key_uint(stdout, "differed", r->differed, 0);
        json_key_number(stdout, "loss_percent", loss_percent(r), 0);
        json_key_number(stdout, "time_ms", (double) (r->end_ns - r->start_ns) / 1e6, 0);
        fputs(",\"rtt_ms\":", stdout);
        if (r->intact) {
                fputs("{", stdout);
                json_key_number(stdout, "min", r->min, 1);
                json_key_number(stdout, "avg", r->sum / (double) r->intact, 0);
                json_key_number(stdout, "max", r->max, 0);
                json_key_number(stdout, "mdev", mdev(r), 0);
                fputs("}", stdout);
        } else
                fputs("null", stdout);
        fputs(",\"probes\":[", stdout);
        for (size_t i = 0; i < r->n_kept; i++)
                json_probe(r, &r->kept[i], i == 0);
        fputs("]", stdout);
        json_key_uint(stdout, "probes_not_listed", r->sent - r->n_kept, 0);
        fputs("}\n", stdout);
}

int report_end(struct report *r) {
        r->end_ns = now_ns();
        if (r->c->json)
                json_report(r);
        else if (!r->c->quiet) {
                printf("\n--- %s port %s echo statistics ---\n", r->c->host, r->c->port);
                printf("%llu probes sent, %llu intact, %g%% loss, time %.0f ms\n",
                       (unsigned long long) r->sent, (unsigned long long) r->intact, loss_percent(r),
                       (double) (r->end_ns - r->start_ns) / 1e6);
                if (r->intact)
                        printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", r->min,
                               r->sum / (double) r->intact, r->max, mdev(r));
        }
        fflush(stdout);
        if (r->sent && r->intact == r->sent)
                return EXIT_INTACT;
        return r->answered ? EXIT_DIFFERS : EXIT_CONNECT;
}

void report_clear(struct report *r) {
        free(r->kept);
        r->kept = NULL;
}
