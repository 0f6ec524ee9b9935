/* bench.h - what echo-bench's modes and its main() share (bench.c): the run's settings, the
 * byte pattern every mode sends and checks, the result each mode fills in, and the progress
 * lines; error lines go through the shared logger (log.h). Nothing here knows a mode. */
#pragma once

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit statuses; echo-bench --help and docs/performance.md list the same. */
enum {
        BENCH_OK = 0,           /* every connection finished and every byte came back intact */
        BENCH_FAILED = 1,       /* the run finished, but some connections failed or differed */
        BENCH_USAGE = 2,
        BENCH_CONNECT = 3,      /* the name does not resolve, or no connection at all succeeded */
        BENCH_LOCAL = 4,        /* out of memory, fds, threads or processes on the client side */
};

enum bench_mode { MODE_STREAM, MODE_PINGPONG, MODE_CONCURRENT, MODE_CONNRATE, MODE_IDLE };

/* The mode's name on the command line and in the output ("stream", ...). */
const char *bench_mode_name(enum bench_mode m);

/* The mode named s. Returns 0 with *ret set, or -EINVAL for a name that is no mode. */
int bench_mode_parse(const char *s, enum bench_mode *ret);

struct bench_config {
        enum bench_mode mode;
        const char *host, *port;
        const struct addrinfo *target;  /* resolved host and port; the first result is used */
        uint64_t connections;           /* stream, concurrent, idle: connections; connrate: in flight */
        uint64_t bytes;                 /* stream, concurrent: bytes per connection */
        uint64_t count;                 /* pingpong: round trips; connrate: connections in all */
        uint64_t size;                  /* stream: write size; pingpong, connrate: message; concurrent: piece */
        unsigned timeout_s;             /* the whole run */
        unsigned hold_s;                /* idle: how long the connections are held */
        unsigned procs;                 /* concurrent, idle: client processes */
        pid_t server_pid;               /* idle: whose VmRSS to read; 0 = none */
        bool json;
        bool progress;
};

/* The quantiles of the ping-pong latency distribution that --json reports (its CDF):
 * every percent, then 99.5, 99.9 and 99.99 %. */
#define BENCH_CDF_POINTS 102
extern const double bench_cdf_q[BENCH_CDF_POINTS];

struct bench_result {
        double wall_s;
        uint64_t bytes;                 /* bytes that came back and were verified */
        uint64_t ok;                    /* connections (or round trips) that completed intact */
        uint64_t failed;                /* connections that failed: refused, reset, short, differed, late */
        uint64_t differed;              /* of which: a byte came back wrong */
        int first_errno;                /* the first failure's errno, 0 if none or a wrong byte */
        double p50_us, p99_us, p999_us; /* pingpong */
        double cdf_us[BENCH_CDF_POINTS];  /* pingpong: the latency at each of bench_cdf_q[] */
        uint64_t held;                  /* idle: connections still open after the hold */
        long rss_before_kib, rss_after_kib;  /* idle: the server's VmRSS; -1 unknown */
};

/* The byte pattern: byte i of connection k is pattern_at(k, i). data holds PATTERN_LEN bytes
 * twice over, so any window of up to PATTERN_LEN bytes is contiguous. The odd length makes a
 * shifted or repeated chunk differ. */
#define PATTERN_LEN ((size_t) (1u << 20) + 4093)
struct pattern {
        uint8_t *data;
};

int pattern_init(struct pattern *p);
void pattern_finish(struct pattern *p);

/* The expected bytes at offset `off` of connection k: a pointer valid for PATTERN_LEN bytes. */
const uint8_t *pattern_at(const struct pattern *p, uint64_t k, uint64_t off);

/* Prints "\r<what>" on stderr when c->progress is on, at most once a second per call site's
 * *last; `done` ends the line. */
void bench_progress(const struct bench_config *c, double *last, bool done, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* For an IPv4 loopback target, writes into *src the source address 127.x.y.z that connection
 * `index` connects from, so that any number of connections find free ports, and returns true;
 * false (no source: the kernel picks) for any other target. */
bool bench_source(const struct addrinfo *target, uint64_t index, struct sockaddr_in *src);

/* The server closed before every byte came back: recorded as this errno. */
#define BENCH_ECLOSED ECONNABORTED

/* strerror(), except that BENCH_ECLOSED reads as what it means here. */
const char *bench_strerror(int e);

/* Prints the result: a table, or with c->json one JSON object, on stdout. */
void bench_report(const struct bench_config *c, const struct bench_result *r);
