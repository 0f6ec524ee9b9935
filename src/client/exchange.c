/* exchange.c - the seed's exchange and -f streaming: send, half-close, read until the server
 * closes, and prove that every byte came back. By default it prints what the seed's Python
 * client prints, byte for byte. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "connect.h"
#include "log.h"
#include "pyrepr.h"

#define SEED_CHUNK 16
#define WINDOW (1u << 20)       /* sent-but-unverified bytes held for comparison */
#define GRACE_MS 500            /* an echo silent this long after the last byte sent: half-close */
#define PROGRESS_NS 250000000   /* between two updates of the -f progress line */

/* Bytes read from the input and not yet seen back: [verified, sent) are in flight, [sent, filled)
 * still to send. For -m the whole message is the window. */
struct window {
        uint8_t *data;
        size_t verified, sent, filled, cap;
        bool input_done;
        int input_fd;
        uint64_t total_sent, total_received;
};

struct exchange {
        const struct client_config *c;
        int fd;
        struct window w;
        bool shut;              /* half-closed */
        bool progress;          /* -f with a terminal on stderr: a progress line there */
        int64_t start_ns, last_event_ns, last_progress_ns, progress_ns;
};

/* Drops verified bytes from the front of the window of an input file, once they are all of it or
 * half of its capacity; called on every turn, so that a full window makes room as its echo comes
 * back (waiting for the input to be readable would wait forever: it is not watched while full). */
static void window_compact(struct window *w) {
        if (w->input_fd < 0 || w->verified == 0)
                return;
        if (w->verified == w->filled)
                w->verified = w->sent = w->filled = 0;
        else if (w->verified >= w->cap / 2) {
                memmove(w->data, w->data + w->verified, w->filled - w->verified);
                w->sent -= w->verified;
                w->filled -= w->verified;
                w->verified = 0;
        }
}

/* Refills the window from the input file. Returns 0 or -errno. */
static int window_fill(struct window *w) {
        ssize_t n;

        if (w->input_done || w->input_fd < 0 || w->filled == w->cap)
                return 0;
        n = read(w->input_fd, w->data + w->filled, w->cap - w->filled);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        if (n == 0)
                w->input_done = true;
        w->filled += (size_t) n;
        return 0;
}

/* Compares n received bytes with the oldest in-flight ones. Returns 0, or the offset + 1 of the
 * first byte that differs (or that was never sent). */
static uint64_t window_verify(struct window *w, const uint8_t *got, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (w->verified >= w->sent || w->data[w->verified] != got[i])
                        return w->total_received + i + 1;
                w->verified++;
        }
        w->total_received += n;
        return 0;
}

static void progress_show(struct exchange *x, bool last) {
        int64_t now = now_ns();
        double s = (double) (now - x->start_ns) / 1e9;

        if (!x->progress || (!last && now - x->progress_ns < PROGRESS_NS))
                return;
        x->progress_ns = now;
        if (last) {
                fprintf(stderr, "\r%60s\r", "");
                return;
        }
        fprintf(stderr, "\r%llu bytes sent, %llu echoed, %.1f MB/s ",
                (unsigned long long) x->w.total_sent, (unsigned long long) x->w.total_received,
                s > 0 ? (double) x->w.total_received / s / 1e6 : 0.0);
}

/* Once everything is sent the length is known: half-close when the echo is complete, or when it
 * has been silent for GRACE_MS (a server that echoes only at the end of input). Reading the
 * whole echo first keeps a server that quits at end of input from cutting it short. Returns the
 * poll timeout, or -1 after reporting a failure. */
static int half_close_step(struct exchange *x) {
        int64_t now = now_ns(), left = x->c->timeout_ms - (now - x->last_event_ns) / 1000000;
        int64_t quiet = (now - x->last_progress_ns) / 1000000;

        if (left < 0)
                left = 0;
        if (x->shut || !x->w.input_done || x->w.sent < x->w.filled)
                return (int) left;
        if (x->w.total_received < x->w.total_sent && quiet < GRACE_MS)
                return (int) (GRACE_MS - quiet < left ? GRACE_MS - quiet : left);
        if (shutdown(x->fd, SHUT_WR) < 0) {
                log_errno(-errno, "cannot half-close the connection");
                return -1;
        }
        x->shut = true;
        return (int) left;
}

static int exchange_send(struct exchange *x) {
        struct window *w = &x->w;
        ssize_t n = send(x->fd, w->data + w->sent, w->filled - w->sent, MSG_NOSIGNAL);

        if (n < 0 && errno != EAGAIN && errno != EINTR) {
                log_errno(-errno, "send failed after %llu bytes", (unsigned long long) w->total_sent);
                return EXIT_BROKEN;
        }
        if (n > 0) {
                w->sent += (size_t) n;
                w->total_sent += (uint64_t) n;
                x->last_progress_ns = now_ns();
        }
        return -1;
}

static int server_closed(const struct exchange *x) {
        const struct window *w = &x->w;

        if (x->shut && w->total_received == w->total_sent)
                return EXIT_INTACT;
        if (!x->shut)
                log_error("server closed the connection after echoing %llu of %llu bytes, before echo-client "
                          "half-closed: it ended the exchange itself (a limit or a fault on its side)",
                          (unsigned long long) w->total_received, (unsigned long long) w->total_sent);
        else
                log_error("server closed the connection after echoing %llu of %llu bytes, once echo-client "
                          "half-closed: it drops what it has not echoed at the end of input (as ncat "
                          "--sh-exec can); try the probe (-c 1 -W SEC), which waits for the whole echo",
                          (unsigned long long) w->total_received, (unsigned long long) w->total_sent);
        return EXIT_DIFFERS;
}

/* Returns an exit status when the exchange is over, -1 to go on. */
static int exchange_receive(struct exchange *x) {
        uint8_t buf[65536];
        size_t chunk = x->c->file ? sizeof buf : SEED_CHUNK;
        ssize_t n = recv(x->fd, buf, chunk, 0);
        uint64_t bad;

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return -1;
        if (n < 0) {
                log_errno(-errno, "receive failed after %llu bytes", (unsigned long long) x->w.total_received);
                return EXIT_BROKEN;
        }
        if (n == 0)
                return server_closed(x);
        x->last_progress_ns = now_ns();
        if (!x->c->quiet && !x->c->file) {
                char repr[PYREPR_SIZE(SEED_CHUNK)];
                pyrepr(repr, buf, (size_t) n);
                printf("received %s\n", repr);
        }
        bad = window_verify(&x->w, buf, (size_t) n);
        if (bad) {
                log_error("echo differs from what was sent at byte %llu", (unsigned long long) bad);
                return EXIT_DIFFERS;
        }
        return -1;
}

static int exchange_run(struct exchange *x) {
        struct window *w = &x->w;

        x->start_ns = x->last_event_ns = x->last_progress_ns = x->progress_ns = now_ns();
        for (;;) {
                struct pollfd p[2] = {
                        { .fd = x->fd, .events = POLLIN },
                        { .fd = -1, .events = POLLIN },
                };
                int r, timeout;

                window_compact(w);
                if (w->sent < w->filled)
                        p[0].events |= POLLOUT;
                if (!w->input_done && w->input_fd >= 0 && w->filled < w->cap)
                        p[1].fd = w->input_fd;
                timeout = half_close_step(x);
                if (timeout < 0)
                        return EXIT_BROKEN;
                if (x->progress && timeout > PROGRESS_NS / 1000000)
                        timeout = PROGRESS_NS / 1000000;
                r = poll(p, 2, timeout);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        log_errno(-errno, "poll");
                        return EXIT_BROKEN;
                }
                if (r == 0) {
                        progress_show(x, false);
                        if ((now_ns() - x->last_event_ns) / 1000000 < x->c->timeout_ms)
                                continue;       /* only the grace or the progress period ran out */
                        log_error("no progress for %d s: %llu of %llu bytes came back", x->c->timeout_ms / 1000,
                                  (unsigned long long) w->total_received, (unsigned long long) w->total_sent);
                        return EXIT_BROKEN;
                }
                x->last_event_ns = now_ns();
                if (p[1].revents) {
                        r = window_fill(w);
                        if (r < 0) {
                                log_errno(r, "cannot read %s", x->c->file);
                                return EXIT_INPUT;
                        }
                }
                if ((p[0].revents & POLLOUT) && (r = exchange_send(x)) >= 0)
                        return r;
                if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && (r = exchange_receive(x)) >= 0)
                        return r;
                progress_show(x, false);
        }
}

/* Opens -f's input, or makes the message the window. Returns 0 or an exit status. */
static int input_open(const struct client_config *c, struct window *w) {
        struct stat st;

        if (!c->file) {
                w->data = (uint8_t *) c->message;
                w->filled = w->cap = strlen(c->message);
                w->input_done = true;
                return 0;
        }
        w->input_fd = strcmp(c->file, "-") == 0 ? STDIN_FILENO : open(c->file, O_RDONLY | O_CLOEXEC);
        if (w->input_fd < 0) {
                log_errno(-errno, "cannot open %s", c->file);
                return EXIT_INPUT;
        }
        /* Found out now rather than by the first read, after connecting. */
        if (fstat(w->input_fd, &st) == 0 && S_ISDIR(st.st_mode)) {
                log_errno(-EISDIR, "cannot read %s", c->file);
                return EXIT_INPUT;
        }
        w->data = malloc(WINDOW);
        if (!w->data) {
                log_error("out of memory");
                return EXIT_BROKEN;
        }
        w->cap = WINDOW;
        return 0;
}

static void input_close(const struct client_config *c, struct window *w) {
        if (!c->file)
                return;
        free(w->data);
        if (w->input_fd > STDIN_FILENO)
                close(w->input_fd);
}

/* Tries every address in turn; when all fail, one line names each with its reason. Returns the
 * connected fd, or -1 after reporting. */
static int exchange_connect(const struct client_config *c, const struct target *t, size_t *which) {
        char why[768] = "";
        size_t len = 0;

        for (size_t i = 0; i < t->n; i++) {
                struct addrinfo one = *t->addrs[i].ai;
                char reason[LOG_REASON_MAX];
                int fd;

                one.ai_next = NULL;     /* this address alone, to say why it failed */
                fd = connect_first(&one, c->timeout_ms);
                if (fd >= 0) {
                        *which = i;
                        return fd;
                }
                if (t->n == 1 && strcmp(t->addrs[0].name, c->host) == 0)
                        log_reason(fd, why, sizeof why);
                else if (len < sizeof why)
                        len += (size_t) snprintf(why + len, sizeof why - len, "%s%s: %s", i ? "; " : "",
                                                 t->addrs[i].name, log_reason(fd, reason, sizeof reason));
        }
        log_error("cannot connect to %s port %s: %s", c->host, c->port, t->n ? why : "no address");
        return -1;
}

static int print_sending(const struct client_config *c, const struct window *w) {
        char *repr;

        if (c->file) {
                printf("sending %s\n", strcmp(c->file, "-") == 0 ? "standard input" : c->file);
                return 0;
        }
        repr = malloc(PYREPR_SIZE(w->filled));
        if (!repr) {
                log_error("out of memory");
                return EXIT_BROKEN;
        }
        pyrepr(repr, w->data, w->filled);
        printf("sending %s\n", repr);
        free(repr);
        return 0;
}

static void print_info(int fd) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;

        if (getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
                sa.ss_family = AF_UNSPEC;
        printf("Family  : %s\nType    : SOCK_STREAM\nProtocol: IPPROTO_TCP\n\n",
               sa.ss_family == AF_INET6 ? "AF_INET6" : "AF_INET");
}

static void print_end(const struct exchange *x, int status) {
        double s = (double) (now_ns() - x->start_ns) / 1e9;

        if (x->c->quiet)
                return;
        if (x->c->file && status == EXIT_INTACT) {
                printf("received %llu bytes, identical to what was sent\n",
                       (unsigned long long) x->w.total_received);
                printf("throughput %.1f MB/s: %llu bytes echoed in %.3f s\n",
                       s > 0 ? (double) x->w.total_received / s / 1e6 : 0.0,
                       (unsigned long long) x->w.total_received, s);
        }
        printf("closing socket\n");
}

int exchange_main(const struct client_config *c) {
        struct exchange x = { .c = c, .fd = -1, .w = { .input_fd = -1 } };
        struct target t = { 0 };
        size_t which = 0;
        int status;

        status = input_open(c, &x.w);
        if (status != 0)
                goto out;
        if (!c->quiet && !c->info)
                printf("connecting to %s port %s\n", c->host, c->port);
        status = target_resolve(c, SOCK_STREAM, &t);
        if (status != 0)
                goto out;
        x.fd = exchange_connect(c, &t, &which);
        if (x.fd < 0) {
                status = EXIT_CONNECT;
                goto out;
        }
        if (c->info && !c->quiet)
                print_info(x.fd);
        if (!c->quiet && c->file)
                printf("connected to %s port %s\n", t.addrs[which].name, t.addrs[which].port);
        if (!c->quiet && (status = print_sending(c, &x.w)) != 0)
                goto out;
        fflush(stdout);
        x.progress = c->file && !c->quiet && isatty(STDERR_FILENO);
        status = exchange_run(&x);
        progress_show(&x, true);
        print_end(&x, status);
out:
        if (x.fd >= 0)
                close(x.fd);
        target_clear(&t);
        input_close(c, &x.w);
        return status;
}
