/* many.c - the modes with many connections on one epoll loop: concurrent (all at once, half-close,
 * read to EOF), connrate (C in flight: connect, echo, close) and idle (connect, echo one byte,
 * hold). With --procs N the connections are split over N forked client processes, each with
 * its own fd limit. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "connect.h"

#define READ_CHUNK (256u << 10)
#define IDLE_IN_FLIGHT 1000     /* idle: connects in flight, so that no SYN waits for a retry */

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

static void engine_finish(struct engine *e) {
        for (uint64_t i = 0; e->conns && i < e->n_slots; i++)
                if (e->conns[i].fd >= 0)
                        close(e->conns[i].fd);
        free(e->conns);
        free(e->free_slots);
        free(e->buf);
        if (e->epfd >= 0)
                close(e->epfd);
        e->conns = NULL;
        e->free_slots = NULL;
        e->buf = NULL;
        e->epfd = -1;
}

static int engine_init(struct engine *e, const struct bench_config *c, const struct pattern *p,
                       struct bench_result *r, uint64_t first, uint64_t total) {
        *e = (struct engine) { .config = c, .pattern = p, .result = r, .first = first, .total = total, .epfd = -1 };
        switch (c->mode) {
        case MODE_CONCURRENT:
                e->in_flight = total;
                e->bytes = c->bytes;
                e->piece = c->size;
                e->end = END_EOF;
                break;
        case MODE_CONNRATE:
                e->in_flight = c->connections < total ? c->connections : total;
                e->bytes = e->piece = c->size;
                e->end = END_CLOSE;
                break;
        default:
                e->in_flight = total < IDLE_IN_FLIGHT ? total : IDLE_IN_FLIGHT;
                e->bytes = e->piece = 1;
                e->end = END_HOLD;
                break;
        }
        /* Held connections keep their slot, so idle needs one per connection. */
        e->n_slots = e->end == END_HOLD ? total : e->in_flight;
        e->conns = calloc(e->n_slots, sizeof *e->conns);
        e->free_slots = calloc(e->n_slots, sizeof *e->free_slots);
        e->buf = malloc(READ_CHUNK);
        if (!e->conns || !e->free_slots || !e->buf)
                return -ENOMEM;
        for (uint64_t i = 0; i < e->n_slots; i++) {
                e->conns[i].fd = -1;
                e->free_slots[e->n_free++] = e->n_slots - 1 - i;
        }
        e->epfd = epoll_create1(EPOLL_CLOEXEC);
        return e->epfd < 0 ? -errno : 0;
}

static void conn_release(struct engine *e, struct many_conn *m) {
        close(m->fd);
        m->fd = -1;
        e->free_slots[e->n_free++] = (uint64_t) (m - e->conns);
        e->active--;
}

static void conn_fail(struct engine *e, struct many_conn *m, int err, bool differed) {
        e->result->failed++;
        e->result->differed += differed;
        if (!e->result->first_errno && err)
                e->result->first_errno = err;
        conn_release(e, m);
}

static void conn_succeed(struct engine *e, struct many_conn *m) {
        e->result->ok++;
        if (e->end == END_HOLD) {
                /* Held: no more events wanted; the check after the hold polls it. */
                epoll_ctl(e->epfd, EPOLL_CTL_DEL, m->fd, NULL);
                m->state = CONN_HELD;
                e->active--;
                return;
        }
        conn_release(e, m);
}

static void engine_start_more(struct engine *e) {
        while (e->started < e->total && e->active < e->in_flight && e->n_free > 0) {
                struct many_conn *m = &e->conns[e->free_slots[--e->n_free]];
                struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN };
                struct sockaddr_in src;
                bool pending;
                int fd;

                *m = (struct many_conn) { .fd = -1, .k = e->first + e->started, .state = CONN_CONNECTING };
                e->started++;
                e->active++;
                fd = connect_start(e->config->target,
                                   bench_source(e->config->target, m->k, &src) ? (struct sockaddr *) &src : NULL,
                                   sizeof src, &pending);
                if (fd < 0) {
                        /* Keeps the slot bookkeeping uniform: conn_fail closes -1 harmlessly. */
                        conn_fail(e, m, -fd, false);
                        continue;
                }
                m->fd = fd;
                ev.data.ptr = m;
                if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
                        conn_fail(e, m, errno, false);
        }
}

/* Sends until every byte is out or the socket is full. Returns 0 or -errno. */
static int conn_send(struct engine *e, struct many_conn *m) {
        while (m->sent < e->bytes) {
                uint64_t n = e->bytes - m->sent < e->piece ? e->bytes - m->sent : e->piece;
                ssize_t w = send(m->fd, pattern_at(e->pattern, m->k, m->sent), (size_t) n,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (w < 0)
                        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
                m->sent += (uint64_t) w;
        }
        if (e->end == END_EOF && shutdown(m->fd, SHUT_WR) < 0)
                return -errno;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = m };
        if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, m->fd, &ev) < 0)
                return -errno;
        m->state = CONN_READING;
        return 0;
}

/* Reads what is there and checks it. Returns 1 when the connection is done (released or held),
 * 0 to wait for more. */
static int conn_receive(struct engine *e, struct many_conn *m) {
        for (;;) {
                ssize_t n = recv(m->fd, e->buf, READ_CHUNK, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        conn_fail(e, m, errno, false);
                        return 1;
                }
                if (n == 0) {
                        if (m->received == e->bytes && m->sent == e->bytes && e->end == END_EOF)
                                conn_succeed(e, m);
                        else
                                conn_fail(e, m, BENCH_ECLOSED, false);
                        return 1;
                }
                if (m->received + (uint64_t) n > m->sent ||
                    memcmp(e->buf, pattern_at(e->pattern, m->k, m->received), (size_t) n) != 0) {
                        conn_fail(e, m, 0, true);
                        return 1;
                }
                m->received += (uint64_t) n;
                e->result->bytes += (uint64_t) n;
                if (m->received == e->bytes && e->end != END_EOF) {
                        conn_succeed(e, m);
                        return 1;
                }
        }
}

static void conn_dispatch(struct engine *e, struct many_conn *m, uint32_t events) {
        int r;

        if (m->state == CONN_CONNECTING) {
                int err = 0;
                socklen_t len = sizeof err;

                if (getsockopt(m->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                        err = errno;
                if (err) {
                        conn_fail(e, m, err, false);
                        return;
                }
                if (!(events & (EPOLLOUT | EPOLLIN)))
                        return;
                m->state = CONN_SENDING;
        }
        /* Reading while still sending: the server can only echo what we make room for. */
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                if (conn_receive(e, m))
                        return;
        }
        if (m->state == CONN_SENDING) {
                r = conn_send(e, m);
                if (r < 0)
                        conn_fail(e, m, -r, false);
        }
}

static const char *const mode_words[] = {
        [MODE_CONCURRENT] = "concurrent", [MODE_CONNRATE] = "connrate", [MODE_IDLE] = "idle",
};

/* Runs every connection to its end or to the deadline. */
static void engine_run(struct engine *e, double deadline) {
        struct epoll_event ev[512];

        engine_start_more(e);
        while (e->active > 0) {
                double now = bench_now();
                int timeout_ms = (int) ((deadline - now) * 1000);
                int n;

                if (now >= deadline)
                        break;
                n = epoll_wait(e->epfd, ev, 512, timeout_ms < 1000 ? timeout_ms + 1 : 1000);
                for (int i = 0; i < n; i++)
                        conn_dispatch(e, ev[i].data.ptr, ev[i].events);
                engine_start_more(e);
                bench_progress(e->config, &e->last_progress, false, "%s: %llu ok, %llu failed of %llu",
                               mode_words[e->config->mode], (unsigned long long) e->result->ok,
                               (unsigned long long) e->result->failed, (unsigned long long) e->total);
        }
        /* Past the deadline: whatever is unfinished failed. */
        for (uint64_t i = 0; i < e->n_slots; i++) {
                struct many_conn *m = &e->conns[i];
                if (m->fd >= 0 && m->state != CONN_HELD)
                        conn_fail(e, m, ETIMEDOUT, false);
        }
        e->result->failed += e->total - e->started;
        if (e->total > e->started && !e->result->first_errno)
                e->result->first_errno = ETIMEDOUT;
}

/* Counts the held connections the server has not closed. */
static uint64_t engine_count_held(struct engine *e) {
        uint64_t held = 0;

        for (uint64_t i = 0; i < e->n_slots; i++) {
                struct many_conn *m = &e->conns[i];
                struct pollfd p = { .fd = m->fd, .events = POLLIN | POLLRDHUP };

                if (m->fd < 0 || m->state != CONN_HELD)
                        continue;
                if (poll(&p, 1, 0) == 0)
                        held++;
        }
        return held;
}

/* VmRSS of pid in KiB, or -1. */
static long read_rss_kib(pid_t pid) {
        char path[64], line[256];
        long kib = -1;
        FILE *f;

        if (pid <= 0)
                return -1;
        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

static void sleep_s(unsigned s) {
        struct timespec ts = { .tv_sec = s };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* This process's share of the connections: [first, first + total). */
static int run_share(const struct bench_config *c, const struct pattern *p, struct bench_result *r,
                     uint64_t first, uint64_t total, double deadline, struct engine *e) {
        int err = engine_init(e, c, p, r, first, total);

        if (err < 0) {
                bench_error("cannot set up %llu connections: %s", (unsigned long long) total, strerror(-err));
                return BENCH_LOCAL;
        }
        engine_run(e, deadline);
        return BENCH_OK;
}

static void merge(struct bench_result *into, const struct bench_result *r) {
        into->bytes += r->bytes;
        into->ok += r->ok;
        into->failed += r->failed;
        into->differed += r->differed;
        into->held += r->held;
        if (!into->first_errno)
                into->first_errno = r->first_errno;
}

static int read_full(int fd, void *buf, size_t n) {
        size_t off = 0;

        while (off < n) {
                ssize_t k = read(fd, (char *) buf + off, n - off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -1;
                off += (size_t) k;
        }
        return 0;
}

/* A client process: runs its share, reports, and for idle waits for the parent's word (the
 * go pipe closing) before it counts what is still held and reports again. */
static int child_run(const struct bench_config *c, const struct pattern *p, uint64_t first,
                     uint64_t total, double deadline, int report, int go) {
        struct bench_result r = { 0 };
        struct engine e;
        char byte;
        int status;

        status = run_share(c, p, &r, first, total, deadline, &e);
        if (write(report, &r, sizeof r) != sizeof r)
                status = BENCH_LOCAL;
        if (c->mode == MODE_IDLE) {
                while (read(go, &byte, 1) < 0 && errno == EINTR)
                        ;
                r.held = engine_count_held(&e);
                if (write(report, &r, sizeof r) != sizeof r)
                        status = BENCH_LOCAL;
        }
        engine_finish(&e);
        return status;
}

int bench_many(const struct bench_config *c, const struct pattern *p, struct bench_result *r) {
        uint64_t total = c->mode == MODE_CONNRATE ? c->count : c->connections;
        double start, deadline, last = 0;
        int status = BENCH_OK;

        r->rss_before_kib = read_rss_kib(c->server_pid);
        start = bench_now();
        deadline = start + c->timeout_s;

        if (c->procs == 1) {
                struct engine e;

                status = run_share(c, p, r, 0, total, deadline, &e);
                r->wall_s = bench_now() - start;
                if (status == BENCH_OK && c->mode == MODE_IDLE) {
                        sleep_s(c->hold_s);
                        r->rss_after_kib = read_rss_kib(c->server_pid);
                        r->held = engine_count_held(&e);
                }
                engine_finish(&e);
        } else {
                pid_t pids[64];
                int reports[64], go[2];
                unsigned n = 0;

                if (pipe2(go, O_CLOEXEC) < 0) {
                        bench_error("cannot create a pipe: %s", strerror(errno));
                        return BENCH_LOCAL;
                }
                for (unsigned i = 0; i < c->procs; i++) {
                        uint64_t share = total / c->procs + (i < total % c->procs);
                        uint64_t first = i * (total / c->procs) + (i < total % c->procs ? i : total % c->procs);
                        int rep[2];

                        if (pipe2(rep, O_CLOEXEC) < 0) {
                                bench_error("cannot create a pipe: %s", strerror(errno));
                                status = BENCH_LOCAL;
                                break;
                        }
                        fflush(NULL);
                        pids[n] = fork();
                        if (pids[n] < 0) {
                                bench_error("cannot start a client process: %s", strerror(errno));
                                close(rep[0]);
                                close(rep[1]);
                                status = BENCH_LOCAL;
                                break;
                        }
                        if (pids[n] == 0) {
                                struct bench_config cc = *c;

                                close(rep[0]);
                                close(go[1]);
                                /* Only the parent draws the progress line. */
                                cc.progress = i == 0 && c->progress;
                                _exit(child_run(&cc, p, first, share, deadline, rep[1], go[0]));
                        }
                        close(rep[1]);
                        reports[n++] = rep[0];
                }
                close(go[0]);
                for (unsigned i = 0; i < n; i++) {
                        struct bench_result part;
                        if (read_full(reports[i], &part, sizeof part) == 0)
                                merge(r, &part);
                        else
                                status = BENCH_LOCAL;
                }
                r->wall_s = bench_now() - start;
                if (c->mode == MODE_IDLE) {
                        sleep_s(c->hold_s);
                        r->rss_after_kib = read_rss_kib(c->server_pid);
                }
                close(go[1]);
                for (unsigned i = 0; i < n; i++) {
                        struct bench_result part;
                        if (c->mode == MODE_IDLE && read_full(reports[i], &part, sizeof part) == 0)
                                r->held += part.held;
                        close(reports[i]);
                }
                for (unsigned i = 0; i < n; i++) {
                        int ws;
                        while (waitpid(pids[i], &ws, 0) < 0 && errno == EINTR)
                                ;
                        if (!WIFEXITED(ws) || (WEXITSTATUS(ws) != BENCH_OK && WEXITSTATUS(ws) != BENCH_FAILED))
                                status = BENCH_LOCAL;
                }
                if (status == BENCH_LOCAL)
                        bench_error("a client process failed");
        }
        bench_progress(c, &last, true, "%s: %llu ok, %llu failed", mode_words[c->mode],
                       (unsigned long long) r->ok, (unsigned long long) r->failed);
        return status;
}
