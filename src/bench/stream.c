/* stream.c - the blocking modes: stream (a sender and a receiver thread per connection) and
 * pingpong (one connection, one message in flight). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "clock.h"
#include "log.h"
#include "connect.h"
#include "modes.h"

/* Connects one blocking socket with send and receive timeouts of timeout_s. Returns fd or -errno. */
static int connect_blocking(const struct bench_config *c) {
        struct timeval tv = { .tv_sec = c->timeout_s };
        int fd, flags;

        fd = connect_first(c->target, (int) c->timeout_s * 1000);
        if (fd < 0)
                return fd;
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

struct stream_conn {
        const struct bench_config *config;
        const struct pattern *pattern;
        uint64_t k;
        int fd;
        pthread_t sender, receiver;
        bool sender_started, receiver_started;
        _Atomic uint64_t received;      /* verified so far */
        int send_errno, recv_errno;
        bool differed, short_read;
        bool timed_out;                 /* still running at the deadline: set by the main thread */
        _Atomic bool finished;          /* the receiver is done; end is set */
        double end;                     /* when the last byte came back */
};

static void *stream_send(void *arg) {
        struct stream_conn *s = arg;
        uint64_t off = 0, total = s->config->bytes;
        size_t chunk = (size_t) s->config->size;

        while (off < total) {
                size_t n = total - off < chunk ? (size_t) (total - off) : chunk;
                ssize_t w = send(s->fd, pattern_at(s->pattern, s->k, off), n, MSG_NOSIGNAL);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        s->send_errno = errno == EAGAIN ? ETIMEDOUT : errno;
                        return NULL;
                }
                off += (uint64_t) w;
        }
        if (shutdown(s->fd, SHUT_WR) < 0)
                s->send_errno = errno;
        return NULL;
}

static void *stream_receive(void *arg) {
        struct stream_conn *s = arg;
        size_t cap = 256u << 10;
        uint64_t off = 0;
        uint8_t *buf = malloc(cap);

        if (!buf) {
                s->recv_errno = ENOMEM;
                return NULL;
        }
        for (;;) {
                ssize_t n = recv(s->fd, buf, cap, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        s->recv_errno = errno == EAGAIN ? ETIMEDOUT : errno;
                        break;
                }
                if (n == 0) {
                        s->short_read = off != s->config->bytes;
                        break;
                }
                if (off + (uint64_t) n > s->config->bytes ||
                    memcmp(buf, pattern_at(s->pattern, s->k, off), (size_t) n) != 0) {
                        s->differed = true;
                        break;
                }
                off += (uint64_t) n;
                atomic_store_explicit(&s->received, off, memory_order_relaxed);
        }
        s->end = clock_now_s();
        atomic_store_explicit(&s->finished, true, memory_order_release);
        free(buf);
        return NULL;
}

/* Starts each connection's receiver and sender. Returns BENCH_OK, or BENCH_LOCAL after one line
 * with what already runs woken up to end on its own. */
static int stream_start(struct stream_conn *conns, uint64_t n) {
        for (uint64_t i = 0; i < n; i++) {
                int e = pthread_create(&conns[i].receiver, NULL, stream_receive, &conns[i]);

                if (e == 0) {
                        conns[i].receiver_started = true;
                        e = pthread_create(&conns[i].sender, NULL, stream_send, &conns[i]);
                        conns[i].sender_started = e == 0;
                }
                if (e != 0) {
                        log_error("cannot start threads: %s", strerror(e));
                        for (uint64_t j = 0; j <= i; j++)
                                shutdown(conns[j].fd, SHUT_RDWR);
                        return BENCH_LOCAL;
                }
        }
        return BENCH_OK;
}

/* Progress and the deadline while the receivers run; their own timestamps give the wall time.
 * Past the deadline, shutting the sockets down wakes every thread. */
static void stream_watch(const struct bench_config *c, struct stream_conn *conns, uint64_t n,
                         double deadline, double *last) {
        for (;;) {
                uint64_t got = 0, done = 0;

                for (uint64_t i = 0; i < n; i++) {
                        got += atomic_load_explicit(&conns[i].received, memory_order_relaxed);
                        done += atomic_load_explicit(&conns[i].finished, memory_order_acquire);
                }
                if (done == n)
                        return;
                if (clock_now_s() >= deadline) {
                        for (uint64_t i = 0; i < n; i++) {
                                conns[i].timed_out = !atomic_load(&conns[i].finished);
                                shutdown(conns[i].fd, SHUT_RDWR);
                        }
                        return;
                }
                bench_progress(c, last, false, "stream: %.0f MB back of %.0f MB",
                               (double) got / 1e6, (double) (c->bytes * n) / 1e6);
                usleep(20000);
        }
}

/* Adds up what the connections did. */
static void stream_tally(const struct stream_conn *conns, uint64_t n, double start, struct bench_result *r) {
        r->wall_s = 0;
        for (uint64_t i = 0; i < n; i++) {
                const struct stream_conn *s = &conns[i];
                int err = s->timed_out ? ETIMEDOUT : s->recv_errno ? s->recv_errno : s->send_errno;

                if (!err && s->short_read)
                        err = BENCH_ECLOSED;

                r->bytes += atomic_load(&s->received);
                if (s->end - start > r->wall_s)
                        r->wall_s = s->end - start;
                if (err || s->differed || s->short_read) {
                        r->failed++;
                        r->differed += s->differed;
                        if (!r->first_errno && err)
                                r->first_errno = err;
                } else
                        r->ok++;
        }
}

int bench_stream(const struct bench_config *c, const struct pattern *p, struct bench_result *r) {
        struct stream_conn *conns;
        uint64_t n = c->connections;
        double start, last = 0;
        int status = BENCH_OK;

        conns = calloc(n, sizeof *conns);
        if (!conns) {
                log_error("out of memory");
                return BENCH_LOCAL;
        }
        for (uint64_t i = 0; i < n; i++)
                conns[i].fd = -1;
        for (uint64_t i = 0; i < n; i++) {
                int fd = connect_blocking(c);
                if (fd < 0) {
                        log_error("cannot connect to %s port %s: %s", c->host, c->port, strerror(-fd));
                        status = fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM ? BENCH_LOCAL : BENCH_CONNECT;
                        goto out;
                }
                conns[i] = (struct stream_conn) { .config = c, .pattern = p, .k = i, .fd = fd };
        }

        start = clock_now_s();
        status = stream_start(conns, n);
        if (status == BENCH_OK)
                stream_watch(c, conns, n, start + c->timeout_s, &last);
        for (uint64_t i = 0; i < n; i++) {
                if (conns[i].sender_started)
                        pthread_join(conns[i].sender, NULL);
                if (conns[i].receiver_started)
                        pthread_join(conns[i].receiver, NULL);
        }
        bench_progress(c, &last, true, "stream: done");
        if (status == BENCH_OK)
                stream_tally(conns, n, start, r);
out:
        for (uint64_t i = 0; i < n; i++)
                if (conns[i].fd >= 0)
                        close(conns[i].fd);
        free(conns);
        return status;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double percentile(const double *sorted, uint64_t n, double q) {
        uint64_t i = (uint64_t) ((double) n * q);
        return sorted[i >= n ? n - 1 : i];
}

/* One round trip: sends message k's bytes, reads them back. 0, -errno or 1 if they differed. */
static int round_trip(int fd, const struct pattern *p, uint64_t k, size_t size, uint8_t *buf) {
        const uint8_t *msg = pattern_at(p, k, 0);
        size_t off = 0;

        while (off < size) {
                ssize_t w = send(fd, msg + off, size - off, MSG_NOSIGNAL);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? -ETIMEDOUT : -errno;
                }
                off += (size_t) w;
        }
        off = 0;
        while (off < size) {
                ssize_t n = recv(fd, buf + off, size - off, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? -ETIMEDOUT : -errno;
                }
                if (n == 0)
                        return -ECONNRESET;
                off += (size_t) n;
        }
        return memcmp(buf, msg, size) != 0;
}

const double bench_cdf_q[BENCH_CDF_POINTS] = {
        0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12, 0.13, 0.14, 0.15,
        0.16, 0.17, 0.18, 0.19, 0.20, 0.21, 0.22, 0.23, 0.24, 0.25, 0.26, 0.27, 0.28, 0.29, 0.30,
        0.31, 0.32, 0.33, 0.34, 0.35, 0.36, 0.37, 0.38, 0.39, 0.40, 0.41, 0.42, 0.43, 0.44, 0.45,
        0.46, 0.47, 0.48, 0.49, 0.50, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56, 0.57, 0.58, 0.59, 0.60,
        0.61, 0.62, 0.63, 0.64, 0.65, 0.66, 0.67, 0.68, 0.69, 0.70, 0.71, 0.72, 0.73, 0.74, 0.75,
        0.76, 0.77, 0.78, 0.79, 0.80, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.87, 0.88, 0.89, 0.90,
        0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995, 0.999, 0.9999,
};

int bench_pingpong(const struct bench_config *c, const struct pattern *p, struct bench_result *r) {
        uint64_t warmup = c->count / 10 < 1000 ? c->count / 10 : 1000, done = 0;
        double *lat, start, last = 0, deadline;
        uint8_t *buf;
        int fd, one = 1, status = BENCH_OK, e = 0;

        lat = calloc(c->count, sizeof *lat);
        buf = malloc(c->size);
        if (!lat || !buf) {
                log_error("out of memory");
                status = BENCH_LOCAL;
                goto out;
        }
        fd = connect_blocking(c);
        if (fd < 0) {
                log_error("cannot connect to %s port %s: %s", c->host, c->port, strerror(-fd));
                status = fd == -EMFILE || fd == -ENFILE ? BENCH_LOCAL : BENCH_CONNECT;
                goto out;
        }
        /* The client sends one small message at a time: Nagle would only add delay. */
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

        for (uint64_t i = 0; i < warmup && e == 0; i++)
                e = round_trip(fd, p, i, (size_t) c->size, buf);
        start = clock_now_s();
        deadline = start + c->timeout_s;
        while (e == 0 && done < c->count) {
                double t0 = clock_now_s();
                e = round_trip(fd, p, done, (size_t) c->size, buf);
                if (e != 0)
                        break;
                lat[done++] = clock_now_s() - t0;
                if ((done & 1023) == 0) {
                        if (t0 > deadline)
                                e = -ETIMEDOUT;
                        bench_progress(c, &last, false, "pingpong: %llu of %llu round trips",
                                       (unsigned long long) done, (unsigned long long) c->count);
                }
        }
        r->wall_s = clock_now_s() - start;
        bench_progress(c, &last, true, "pingpong: done");
        close(fd);

        /* A round trip that failed or differed is not a latency sample. */
        r->ok = done;
        if (e != 0) {
                r->failed = 1;
                r->differed = e > 0;
                r->first_errno = e < 0 ? -e : 0;
        }
        r->bytes = r->ok * c->size;
        if (r->ok > 0) {
                qsort(lat, r->ok, sizeof *lat, cmp_double);
                r->p50_us = percentile(lat, r->ok, 0.50) * 1e6;
                r->p99_us = percentile(lat, r->ok, 0.99) * 1e6;
                r->p999_us = percentile(lat, r->ok, 0.999) * 1e6;
                for (size_t i = 0; i < BENCH_CDF_POINTS; i++)
                        r->cdf_us[i] = percentile(lat, r->ok, bench_cdf_q[i]) * 1e6;
        }
out:
        free(lat);
        free(buf);
        return status;
}
