/* probe.c - the probe, as ping does it for ICMP: probes paced by --interval, each given -W
 * seconds, the whole run at most -w; over TCP a connection per probe (or one with --keep), over
 * UDP a datagram each. Each payload differs from the one before, so a stale echo is caught.
 * SIGINT only sets a flag: it is unblocked inside ppoll() alone, so it is never missed. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "connect.h"
#include "log.h"
#include "report.h"

#define LATE_PROBES 64          /* UDP: an echo of one of these earlier probes is late, not wrong */

struct probe {
        const struct client_config *c;
        struct target t;
        struct report report;
        sigset_t unblocked;     /* the signal mask inside ppoll() */
        int64_t run_deadline_ns;
        int fd;                 /* --keep's connection, or the UDP socket; -1 */
        size_t cur;             /* the address that answered last: tried first */
        uint8_t *payload, *buf, *scratch;
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
        (void) sig;
        interrupted = 1;
}

static int64_t min64(int64_t a, int64_t b) {
        return a < b ? a : b;
}

static double ms_since(int64_t start_ns) {
        return (double) (now_ns() - start_ns) / 1e6;
}

/* Probe seq's payload: four bytes of a multiplicative hash of seq, spread with the offset. */
static void payload_fill(uint8_t *out, size_t n, uint64_t seq) {
        uint32_t x = (uint32_t) seq * 2654435761u;

        for (size_t i = 0; i < n; i++)
                out[i] = (uint8_t) (i * 0x3b + (x >> (8 * (i & 3))));
}

/* Waits for events on fd (or for time alone if fd < 0) until deadline_ns. Returns the revents,
 * 0 at the deadline, -EINTR once SIGINT came, or -errno. */
static int probe_wait(struct probe *p, int fd, short events, int64_t deadline_ns) {
        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = events };
                int64_t left = deadline_ns - now_ns();
                struct timespec ts;
                int r;

                if (interrupted)
                        return -EINTR;
                if (left <= 0)
                        return 0;
                ts = (struct timespec) { .tv_sec = left / 1000000000, .tv_nsec = left % 1000000000 };
                r = ppoll(&pfd, fd >= 0 ? 1 : 0, &ts, &p->unblocked);
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r > 0)
                        return pfd.revents;
        }
}

/* The socket's pending error, read and so cleared: 0 or -errno. */
static int socket_error(int fd) {
        int err = 0;
        socklen_t len = sizeof err;

        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                return -errno;
        return -err;
}

/* The word for errno err (positive) in a probe's line, as ping would say it, or its reason in
 * buf[size]. */
static const char *err_word(int err, bool udp, char *buf, size_t size) {
        switch (err) {
        case ECONNREFUSED:
                return udp ? "port unreachable" : "refused";
        case ECONNRESET:
        case EPIPE:
                return "reset";
        case ETIMEDOUT:
                return "timeout";
        default:
                return log_reason(err, buf, size);
        }
}

/* Marks res as not intact, for the reason given. Returns 0. */
static int probe_failed(struct probe_result *res, enum probe_outcome o, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int probe_failed(struct probe_result *res, enum probe_outcome o, const char *fmt, ...) {
        va_list ap;

        res->outcome = o;
        va_start(ap, fmt);
        vsnprintf(res->reason, sizeof res->reason, fmt, ap);
        va_end(ap);
        return 0;
}

/* Marks res as lost for errno err (positive; ETIMEDOUT for no answer in time). Returns 0. */
static int probe_lost(struct probe_result *res, int err, bool udp) {
        char buf[LOG_REASON_MAX];

        return probe_failed(res, PROBE_LOST, "%s", err_word(err, udp, buf, sizeof buf));
}

/* Connects, trying the address that answered last first, then the others, until deadline_ns.
 * Returns the fd, -1 when no address took the connection (res says why), or -EINTR. */
static int tcp_connect(struct probe *p, struct probe_result *res, int64_t deadline_ns) {
        char why[sizeof res->reason] = "", buf[LOG_REASON_MAX];
        size_t len = 0;
        int r = -ETIMEDOUT;

        for (size_t k = 0; k < p->t.n && now_ns() < deadline_ns; k++) {
                size_t i = (p->cur + k) % p->t.n;
                int64_t start = now_ns();
                bool pending;
                int fd = connect_start(p->t.addrs[i].ai, NULL, 0, &pending);

                r = fd;
                if (fd >= 0) {
                        r = pending ? probe_wait(p, fd, POLLOUT, deadline_ns) : 1;
                        r = r > 0 ? socket_error(fd) : r == 0 ? -ETIMEDOUT : r;
                        if (r == 0) {
                                res->addr = p->cur = i;
                                res->connect_ms = ms_since(start);
                                return fd;
                        }
                        close(fd);
                        if (r == -EINTR)
                                return r;
                }
                if (len < sizeof why)
                        len += (size_t) snprintf(why + len, sizeof why - len, "%s%s %s", k ? ", " : "",
                                                 p->t.addrs[i].name, err_word(-r, false, buf, sizeof buf));
        }
        /* One address: the line names it, and the reason alone follows. */
        res->addr = p->t.n == 1 ? 0 : SIZE_MAX;
        probe_failed(res, PROBE_LOST, "%s", p->t.n == 1 ? err_word(-r, false, buf, sizeof buf) : why[0] ? why : "timeout");
        return -1;
}

/* Compares the k bytes received at offset got with the payload. Returns 0 or offset + 1 of the
 * first byte that differs (or that was not sent yet). */
static size_t echo_check(const struct probe *p, size_t got, size_t k, size_t sent) {
        for (size_t i = got; i < got + k; i++)
                if (i >= sent || p->buf[i] != p->payload[i])
                        return i + 1;
        return 0;
}

/* Sends the payload on fd and reads all of its echo back before anything else (no half-close
 * yet: a server may quit at end of input). Returns 0 with res filled, or -EINTR. */
static int tcp_echo(struct probe *p, int fd, struct probe_result *res, int64_t deadline_ns) {
        size_t n = p->c->size, sent = 0, got = 0, bad;
        int64_t start = now_ns();

        while (got < n) {
                int r = probe_wait(p, fd, (short) (POLLIN | (sent < n ? POLLOUT : 0)), deadline_ns);
                ssize_t k;

                res->answered = got > 0;
                if (r == -EINTR)
                        return r;
                if (r == 0 && got)
                        return probe_failed(res, PROBE_LOST, "timeout after %zu of %zu bytes", got, n);
                if (r <= 0)
                        return probe_lost(res, r ? -r : ETIMEDOUT, false);
                if ((r & POLLOUT) && sent < n) {
                        k = send(fd, p->payload + sent, n - sent, MSG_NOSIGNAL);
                        if (k < 0 && errno != EAGAIN && errno != EINTR)
                                return probe_lost(res, errno, false);
                        sent += k > 0 ? (size_t) k : 0;
                }
                if (!(r & (POLLIN | POLLHUP | POLLERR)))
                        continue;
                k = recv(fd, p->buf + got, n - got, 0);
                if (k < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (k < 0)
                        return probe_lost(res, errno, false);
                if (k == 0)
                        return probe_failed(res, PROBE_LOST, "closed by the server after %zu of %zu bytes", got, n);
                res->answered = true;
                bad = echo_check(p, got, (size_t) k, sent);
                if (bad)
                        return probe_failed(res, PROBE_DIFFERS, "differs at byte %zu", bad);
                got += (size_t) k;
        }
        res->time_ms = ms_since(start);
        res->answered = true;
        res->outcome = PROBE_INTACT;
        return 0;
}

/* After an intact echo: half-close, and read until the server closes (or deadline_ns): one byte
 * more than was sent makes the probe differ. */
static void tcp_finish(struct probe *p, int fd, struct probe_result *res, int64_t deadline_ns) {
        uint8_t extra[512];

        if (shutdown(fd, SHUT_WR) < 0)
                return;
        while (probe_wait(p, fd, POLLIN, deadline_ns) > 0) {
                ssize_t k = recv(fd, extra, sizeof extra, 0);
                if (k > 0) {
                        probe_failed(res, PROBE_DIFFERS, "differs at byte %zu (more bytes than sent)",
                                     p->c->size + 1);
                        res->time_ms = -1;
                }
                if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR) || k > 0)
                        return;
        }
}

static int tcp_probe(struct probe *p, struct probe_result *res, int64_t deadline_ns) {
        int r;

        if (p->fd < 0) {
                r = tcp_connect(p, res, deadline_ns);
                if (r < 0)
                        return r == -EINTR ? r : 0;
                p->fd = r;
        }
        res->addr = p->cur;
        r = tcp_echo(p, p->fd, res, deadline_ns);
        if (r == 0 && res->outcome == PROBE_INTACT && !p->c->keep)
                tcp_finish(p, p->fd, res, deadline_ns);
        if (r < 0 || res->outcome != PROBE_INTACT || !p->c->keep) {
                close(p->fd);
                p->fd = -1;
        }
        return r;
}

/* True when the datagram is the echo of one of the LATE_PROBES probes before seq. */
static bool udp_late(struct probe *p, uint64_t seq, size_t k) {
        if (k != p->c->size)
                return false;
        for (uint64_t s = seq - 1; s >= 1 && s + LATE_PROBES >= seq; s--) {
                payload_fill(p->scratch, k, s);
                if (memcmp(p->scratch, p->buf, k) == 0)
                        return true;
        }
        return false;
}

static int udp_probe(struct probe *p, struct probe_result *res, int64_t deadline_ns) {
        size_t n = p->c->size;
        int64_t start;

        res->addr = 0;
        (void) socket_error(p->fd);     /* an error left by an earlier probe's datagram */
        start = now_ns();
        if (send(p->fd, p->payload, n, 0) < 0)
                return probe_lost(res, errno, true);
        for (;;) {
                int r = probe_wait(p, p->fd, POLLIN, deadline_ns);
                ssize_t k;
                size_t i;

                if (r == -EINTR)
                        return r;
                if (r <= 0)
                        return probe_lost(res, r ? -r : ETIMEDOUT, true);
                k = recv(p->fd, p->buf, PROBE_SIZE_MAX + 1, MSG_TRUNC);
                if (k < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (k < 0)
                        return probe_lost(res, errno, true);
                if ((size_t) k == n && memcmp(p->buf, p->payload, n) == 0)
                        break;
                if (udp_late(p, res->seq, (size_t) k))
                        continue;
                res->answered = true;
                for (i = 0; i < n && i < (size_t) k && p->buf[i] == p->payload[i]; i++)
                        ;
                return probe_failed(res, PROBE_DIFFERS, "differs at byte %zu (%zd bytes came back)", i + 1, k);
        }
        res->time_ms = ms_since(start);
        res->answered = true;
        res->outcome = PROBE_INTACT;
        return 0;
}

static void probe_loop(struct probe *p) {
        const struct client_config *c = p->c;
        int64_t next = now_ns();

        for (uint64_t seq = 1; !c->count || seq <= c->count; seq++) {
                struct probe_result res = { .seq = seq, .addr = SIZE_MAX, .connect_ms = -1, .time_ms = -1 };
                int64_t start;
                int r;

                if (seq > 1 && probe_wait(p, -1, 0, min64(next, p->run_deadline_ns)) < 0)
                        return;
                start = now_ns();
                if (start >= p->run_deadline_ns)
                        return;
                next = start + c->interval_ms * 1000000;
                payload_fill(p->payload, c->size, seq);
                r = (c->udp ? udp_probe : tcp_probe)(p, &res, min64(start + c->wait_ms * 1000000, p->run_deadline_ns));
                /* A probe cut short by Ctrl-C was neither lost nor intact: it is not counted. */
                if (r == -EINTR)
                        return;
                report_probe(&p->report, &res);
        }
}

static int udp_open(struct probe *p) {
        bool pending;
        int fd = connect_start(p->t.addrs[0].ai, NULL, 0, &pending);

        if (fd < 0) {
                log_errno(fd, "cannot send to %s port %s", p->t.addrs[0].name, p->t.addrs[0].port);
                return EXIT_CONNECT;
        }
        p->fd = fd;
        return 0;
}

static void signals_catch(struct probe *p) {
        struct sigaction sa = { .sa_handler = on_sigint };
        sigset_t block;

        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigprocmask(SIG_BLOCK, &block, &p->unblocked);
        sigdelset(&p->unblocked, SIGINT);
}

int probe_main(const struct client_config *c) {
        struct probe p = { .c = c, .fd = -1, .run_deadline_ns = INT64_MAX };
        int status;

        status = target_resolve(c, c->udp ? SOCK_DGRAM : SOCK_STREAM, &p.t);
        if (status != 0)
                goto out;
        p.payload = malloc(c->size);
        p.scratch = malloc(c->size);
        p.buf = malloc(PROBE_SIZE_MAX + 1);
        if (!p.payload || !p.scratch || !p.buf || report_begin(&p.report, c, &p.t) < 0) {
                log_error("out of memory");
                status = EXIT_BROKEN;
                goto out;
        }
        if (c->udp && (status = udp_open(&p)) != 0)
                goto out;
        signals_catch(&p);
        if (c->deadline_ms)
                p.run_deadline_ns = p.report.start_ns + c->deadline_ms * 1000000;
        probe_loop(&p);
        status = report_end(&p.report);
out:
        if (p.fd >= 0)
                close(p.fd);
        free(p.payload);
        free(p.scratch);
        free(p.buf);
        report_clear(&p.report);
        target_clear(&p.t);
        return status;
}
