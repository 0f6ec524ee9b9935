/* bench.h - what echo-bench's modes share: the run's settings, the byte pattern every mode sends
 * and checks, and the result each mode fills in. */
#pragma once

#include <errno.h>
#include <netdb.h>
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

/* Monotonic seconds. */
double bench_now(void);

/* Prints "\r<what>" on stderr when c->progress is on, at most once a second per call site's
 * *last; `done` ends the line. */
void bench_progress(const struct bench_config *c, double *last, bool done, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Sets up one connection to the target: non-blocking, close-on-exec, connect started. For
 * IPv4 loopback targets the source address is 127.x.y.z chosen by `index`, so that any number
 * of connections find free ports. Returns the fd (connect may still be in progress, *pending
 * true) or -errno. */
int bench_connect_start(const struct bench_config *c, uint64_t index, bool *pending);

/* The modes. Each fills *r and returns a BENCH_* status; setup failures print one line. */
int bench_stream(const struct bench_config *c, const struct pattern *p, struct bench_result *r);
int bench_pingpong(const struct bench_config *c, const struct pattern *p, struct bench_result *r);
int bench_many(const struct bench_config *c, const struct pattern *p, struct bench_result *r);

/* The server closed before every byte came back: recorded as this errno. */
#define BENCH_ECLOSED ECONNABORTED

/* strerror(), except that BENCH_ECLOSED reads as what it means here. */
const char *bench_strerror(int e);

/* Prints "echo-bench: <message>" on stderr. */
void bench_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
