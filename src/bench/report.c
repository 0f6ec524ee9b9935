/* report.c - echo-bench's result, as a table or as one JSON object: see bench_report() in
 * bench.h. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "bench.h"

/* One row of the table, or one "key": value of the JSON object. */
struct printer {
        bool json;
        bool first;
};

static void print_field(struct printer *pr, const char *key, const char *label, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void print_field(struct printer *pr, const char *key, const char *label, const char *fmt, ...) {
        va_list ap;

        if (pr->json)
                printf("%s\"%s\": ", pr->first ? "{" : ", ", key);
        else
                printf("%-22s ", label);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        if (!pr->json)
                putchar('\n');
        pr->first = false;
}

void bench_report(const struct bench_config *c, const struct bench_result *r) {
        struct printer pr = { .json = c->json, .first = true };
        double mb_s = r->wall_s > 0 ? (double) r->bytes / 1e6 / r->wall_s : 0;
        bool json = c->json;

        print_field(&pr, "mode", "mode", json ? "\"%s\"" : "%s", bench_mode_name(c->mode));
        if (json)
                print_field(&pr, "server", "", "\"%s %s\"", c->host, c->port);
        else
                print_field(&pr, "server", "server", "%s %s", c->host, c->port);
        switch (c->mode) {
        case MODE_STREAM:
        case MODE_CONCURRENT:
                print_field(&pr, "connections", "connections", "%llu", (unsigned long long) c->connections);
                print_field(&pr, "bytes_per_connection", "bytes per connection", "%llu", (unsigned long long) c->bytes);
                print_field(&pr, "mb_per_s", "throughput MB/s", "%.1f", mb_s);
                break;
        case MODE_PINGPONG:
                print_field(&pr, "message_bytes", "message bytes", "%llu", (unsigned long long) c->size);
                print_field(&pr, "round_trips", "round trips", "%llu", (unsigned long long) r->ok);
                print_field(&pr, "round_trips_per_s", "round trips/s", "%.0f", r->wall_s > 0 ? (double) r->ok / r->wall_s : 0);
                print_field(&pr, "p50_us", "latency p50 us", "%.1f", r->p50_us);
                print_field(&pr, "p99_us", "latency p99 us", "%.1f", r->p99_us);
                print_field(&pr, "p999_us", "latency p99.9 us", "%.1f", r->p999_us);
                if (json && r->ok > 0) {
                        print_field(&pr, "latency_cdf", "", "[");
                        for (size_t i = 0; i < BENCH_CDF_POINTS; i++)
                                printf("%s[%g, %.1f]", i ? ", " : "", bench_cdf_q[i], r->cdf_us[i]);
                        printf("]");
                }
                break;
        case MODE_CONNRATE:
                print_field(&pr, "connections", "connections", "%llu", (unsigned long long) c->count);
                print_field(&pr, "in_flight", "in flight", "%llu", (unsigned long long) c->connections);
                print_field(&pr, "connections_per_s", "connections/s", "%.0f", r->wall_s > 0 ? (double) r->ok / r->wall_s : 0);
                break;
        case MODE_IDLE:
                print_field(&pr, "connections", "connections", "%llu", (unsigned long long) c->connections);
                print_field(&pr, "held", "held", "%llu", (unsigned long long) r->held);
                if (r->rss_before_kib >= 0 && r->rss_after_kib >= 0) {
                        long delta = r->rss_after_kib - r->rss_before_kib;
                        print_field(&pr, "server_rss_before_kib", "server RSS before KiB", "%ld", r->rss_before_kib);
                        print_field(&pr, "server_rss_kib", "server RSS held KiB", "%ld", r->rss_after_kib);
                        print_field(&pr, "bytes_per_connection", "bytes per connection", "%.0f",
                                    r->held ? (double) delta * 1024 / (double) r->held : 0);
                } else if (json) {
                        print_field(&pr, "server_rss_kib", "", "null");
                        print_field(&pr, "bytes_per_connection", "", "null");
                }
                break;
        }
        print_field(&pr, "wall_s", "wall time s", "%.3f", r->wall_s);
        print_field(&pr, "ok", "ok", "%llu", (unsigned long long) r->ok);
        print_field(&pr, "failed", "failed", "%llu", (unsigned long long) r->failed);
        print_field(&pr, "differed", "differed", "%llu", (unsigned long long) r->differed);
        if (r->first_errno)
                print_field(&pr, "first_error", "first error", json ? "\"%s\"" : "%s", bench_strerror(r->first_errno));
        if (json)
                printf("}\n");
        fflush(stdout);
}
