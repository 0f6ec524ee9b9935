/* engine.c - see engine.h. */
#include "engine.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "connect.h"

#define READ_CHUNK (256u << 10)
#define IDLE_IN_FLIGHT 1000     /* idle: connects in flight, so that no SYN waits for a retry */

void engine_finish(struct engine *e) {
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

int engine_init(struct engine *e, const struct bench_config *c, const struct pattern *p,
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

void engine_run(struct engine *e, double deadline) {
        struct epoll_event ev[512];

        engine_start_more(e);
        while (e->active > 0) {
                double now = clock_now_s();
                int timeout_ms = (int) ((deadline - now) * 1000);
                int n;

                if (now >= deadline)
                        break;
                n = epoll_wait(e->epfd, ev, 512, timeout_ms < 1000 ? timeout_ms + 1 : 1000);
                for (int i = 0; i < n; i++)
                        conn_dispatch(e, ev[i].data.ptr, ev[i].events);
                engine_start_more(e);
                bench_progress(e->config, &e->last_progress, false, "%s: %llu ok, %llu failed of %llu",
                               bench_mode_name(e->config->mode), (unsigned long long) e->result->ok,
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

uint64_t engine_count_held(struct engine *e) {
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
