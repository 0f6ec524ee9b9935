/* engine.h - many connections on one epoll loop, for the concurrent, connrate and idle modes:
 * each connection connects, sends its bytes of the pattern while reading them back, and then
 * half-closes and reads to EOF (concurrent), closes (connrate) or is held (idle). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bench.h"

enum conn_state { CONN_CONNECTING, CONN_SENDING, CONN_READING, CONN_HELD };
/* What a connection does once every byte came back. */
enum conn_end { END_EOF, END_CLOSE, END_HOLD };

struct many_conn {
        int fd;
        enum conn_state state;
        uint64_t k;             /* global connection index: picks the pattern and source address */
        uint64_t sent, received;
};

struct engine {
        const struct bench_config *config;
        const struct pattern *pattern;
        struct bench_result *result;
        uint64_t first, total;  /* this process's connections: first .. first + total */
        uint64_t in_flight;     /* at most this many connecting, sending or reading */
        uint64_t bytes, piece;
        enum conn_end end;
        int epfd;
        struct many_conn *conns;        /* in_flight slots, then held ones for END_HOLD */
        uint64_t *free_slots;
        uint64_t n_free, n_slots;
        uint64_t started, active;
        uint8_t *buf;
        double last_progress;
};

/* Prepares e for this process's share of c's connections, [first, first + total), with their
 * results added to *r. Returns 0 or -errno; call engine_finish() either way. */
int engine_init(struct engine *e, const struct bench_config *c, const struct pattern *p,
                struct bench_result *r, uint64_t first, uint64_t total);

/* Closes every connection and frees what engine_init() took; accepts a half-built engine. */
void engine_finish(struct engine *e);

/* Runs every connection to its end or to the deadline (clock_now_s()); what is unfinished
 * then counts as failed with ETIMEDOUT. */
void engine_run(struct engine *e, double deadline);

/* Counts the held connections (idle) the server has not closed. */
uint64_t engine_count_held(struct engine *e);
