/* listener.c - see listener.h. */
#include "listener.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "activation.h"
#include "log.h"

/* Accepts at most this many connections per wakeup, so that one busy listener cannot starve the
 * connections already open. */
#define ACCEPT_BATCH 64
#define FD_WARNING_INTERVAL_MS 60000

/* Watches (or stops watching) the listeners of `socktype`: pausing accept leaves UDP served. */
static void listeners_watch(struct listeners *ls, int socktype, bool on) {
        for (size_t i = 0; i < ls->n; i++) {
                struct listener *l = &ls->all[i];
                uint32_t ev = on && !l->failed ? (EPOLLIN | (l->socktype == SOCK_STREAM ? EPOLLEXCLUSIVE : 0)) : 0;
                int r;

                if (l->socktype != socktype)
                        continue;
                r = loop_watch(ls->loop, &l->watch, ev);
                if (r < 0)
                        log_errno(r, "cannot watch listening socket %d", l->watch.fd);
        }
}

/* Listening is on while not draining, below the connection limit (of all workers together)
 * and not out of fds. */
static bool listeners_may_accept(const struct listeners *ls) {
        return !ls->stopped && !ls->paused &&
               atomic_load_explicit(&ls->stats->connections, memory_order_relaxed) < ls->max_connections;
}

/* Takes one of the max_connections slots shared by every worker, or says there is none: the
 * count is exact, whatever the number of workers. */
static bool listeners_slot_take(struct listeners *ls) {
        uint_fast64_t n = atomic_load_explicit(&ls->stats->connections, memory_order_relaxed);

        do {
                if (n >= ls->max_connections) {
                        ls->at_limit = true;
                        return false;
                }
        } while (!atomic_compare_exchange_weak(&ls->stats->connections, &n, n + 1));
        return true;
}

void listeners_slot_release(struct listeners *ls) {
        atomic_fetch_sub_explicit(&ls->stats->connections, 1, memory_order_relaxed);
}

static void listeners_update(struct listeners *ls) {
        bool on = listeners_may_accept(ls);

        /* Off for the limit: a close, here or (seen at the tick) in another worker, turns it on. */
        if (!on && !ls->stopped && !ls->paused)
                ls->at_limit = true;
        listeners_watch(ls, SOCK_STREAM, on);
}

/* Errors of accept(2) that concern one would-be client only (accept(2), "Error handling"). */
static bool accept_error_is_transient(int err) {
        switch (err) {
        case ECONNABORTED: case EPROTO: case EPERM: case EINTR:
        case ENETDOWN: case ENOPROTOOPT: case EHOSTDOWN: case ENONET:
        case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH: case ETIMEDOUT:
                return true;
        default:
                return false;
        }
}

/* Out of fds or memory: stop watching the listeners until the next tick or until a client
 * leaves, so that a full backlog cannot wake the loop in a tight accept-fail cycle. The
 * shortage lasts until an accept says EAGAIN (no client left waiting), not until the next
 * success: under churn every close would start a new one. Workers race (one may get EMFILE on
 * an empty backlog just after another saw EAGAIN), hence also at most one warning a minute. */
static void listeners_pause(struct listeners *ls, int err) {
        struct stats *st = ls->stats;
        uint64_t last;

        ls->paused = true;
        if (atomic_exchange(&st->out_of_fds, true))
                return;
        last = atomic_load(&st->fd_warned_ms);
        if (last != 0 && ls->loop->now_ms - last < FD_WARNING_INTERVAL_MS)
                return;
        atomic_store(&st->fd_warned_ms, ls->loop->now_ms);
        atomic_store(&st->fd_resume_pending, true);
        log_warning("cannot accept: %s; pausing until file descriptors or memory are free", strerror(err));
}

static void listeners_resume(struct listeners *ls) {
        struct stats *st = ls->stats;

        if (!atomic_load_explicit(&st->out_of_fds, memory_order_relaxed) || !atomic_exchange(&st->out_of_fds, false))
                return;
        if (atomic_exchange(&st->fd_resume_pending, false))
                log_notice("accepting connections again: no client is left waiting");
}

/* On a blocking listener accept4() would wait for the next client once the queue is empty. */
static bool listener_has_client(const struct listener *l) {
        struct pollfd p = { .fd = l->watch.fd, .events = POLLIN };

        return !l->blocking || (poll(&p, 1, 0) > 0 && (p.revents & POLLIN));
}

static void listener_accept(struct listener *l) {
        struct listeners *ls = l->set;

        for (int i = 0; i < ACCEPT_BATCH && listeners_may_accept(ls); i++) {
                struct sockaddr_storage peer;
                socklen_t len = sizeof peer;
                int fd;

                /* An empty queue ends a shortage as EAGAIN does. */
                if (!listener_has_client(l)) {
                        listeners_resume(ls);
                        break;
                }
                if (!listeners_slot_take(ls))
                        break;
                fd = accept4(l->watch.fd, (struct sockaddr *) &peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        int err = errno;

                        listeners_slot_release(ls);
                        if (err == EAGAIN || err == EWOULDBLOCK) {
                                listeners_resume(ls);
                                break;
                        }
                        if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                                listeners_pause(ls, err);
                                break;
                        }
                        if (accept_error_is_transient(err))
                                continue;
                        /* EINVAL (someone shut the socket down), EBADF, ...: retrying would spin.
                         * Quietly if it was server_close_listeners(). */
                        if (!(err == EINVAL && ls->stats->listeners_closed))
                                log_errno(-err, "cannot accept on socket %d, no longer watching it", l->watch.fd);
                        l->failed = true;
                        break;
                }
                ls->serve(ls, fd, (struct sockaddr *) &peer, len, l->nodelay, l->defer_accept);
        }
        listeners_update(ls);
}

static void listener_dispatch(struct watch *w, uint32_t events) {
        struct listener *l = container_of(w, struct listener, watch);

        /* A stale event from the batch in which listening stopped (SIGTERM, the connection
         * limit): a client accepted while draining with nothing open would be closed unread at
         * exit, which resets it. Left queued, the next echod serves it. */
        if (w->events == 0)
                return;
        if (l->socktype == SOCK_DGRAM)
                datagram_echo(l->set->udp, w->fd, l->set->loop->now_ms);
        else
                listener_accept(l);
}

void listeners_connection_gone(struct listeners *ls) {
        listeners_slot_release(ls);
        if (ls->paused || ls->at_limit) {
                ls->paused = false;
                ls->at_limit = false;
                listeners_update(ls);
        }
}

void listeners_tick(struct listeners *ls) {
        if (ls->paused || atomic_load_explicit(&ls->stats->out_of_fds, memory_order_relaxed)) {
                ls->paused = false;
                listeners_update(ls);
                /* Probe now rather than wait for epoll: only an accept that says EAGAIN ends a
                 * shortage, and with the backlog empty (the waiting clients were served after a
                 * close, or gave up) epoll would never call one. */
                for (size_t i = 0; i < ls->n && listeners_may_accept(ls); i++)
                        if (ls->all[i].socktype == SOCK_STREAM && !ls->all[i].failed)
                                listener_accept(&ls->all[i]);
        }
        /* A slot freed by another worker: this one has no close of its own to notice it. */
        if (ls->at_limit && listeners_may_accept(ls)) {
                ls->at_limit = false;
                listeners_update(ls);
        }
}

void listeners_stop(struct listeners *ls) {
        ls->stopped = true;
        listeners_update(ls);
}

void listeners_close(struct listeners *ls) {
        atomic_store(&ls->stats->listeners_closed, true);
        for (size_t i = 0; i < ls->n; i++) {
                struct listener *l = &ls->all[i];

                if (l->socktype != SOCK_STREAM || l->failed)
                        continue;
                while (listeners_slot_take(ls)) {
                        struct sockaddr_storage peer;
                        socklen_t len = sizeof peer;
                        int fd = accept4(l->watch.fd, (struct sockaddr *) &peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

                        if (fd < 0) {
                                int err = errno;

                                listeners_slot_release(ls);
                                if (err == EINTR || accept_error_is_transient(err))
                                        continue;
                                break;
                        }
                        ls->serve(ls, fd, (struct sockaddr *) &peer, len, l->nodelay, false);
                }
                if (shutdown(l->watch.fd, SHUT_RDWR) < 0)
                        log_errno(-errno, "cannot stop listening on socket %d", l->watch.fd);
                l->failed = true;
        }
}

/* What the socket fd is, read only: a socket systemd passed is not ours to change. */
static int listener_init(struct listener *l, struct listeners *ls, int fd) {
        int type = fd_socket_type(fd);

        if (type < 0)
                return type;
        *l = (struct listener) { .set = ls, .socktype = type, .blocking = fd_is_blocking(fd) };
        if (type == SOCK_STREAM) {
                int v = 0;
                socklen_t vlen = sizeof v;

                l->nodelay = getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &vlen) == 0 && v;
                v = 0;
                vlen = sizeof v;
                l->defer_accept = getsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, &vlen) == 0 && v;
        }
        watch_init(&l->watch, fd, listener_dispatch);
        return 0;
}

/* One struct datagram for all the datagram listeners, if there are any. */
static int listeners_init_datagrams(struct listeners *ls, const struct config *c) {
        int *dgram = calloc(ls->n ? ls->n : 1, sizeof *dgram);
        size_t n_dgram = 0;
        int r = 0;

        if (!dgram)
                return -ENOMEM;
        for (size_t i = 0; i < ls->n; i++)
                if (ls->all[i].socktype == SOCK_DGRAM)
                        dgram[n_dgram++] = ls->all[i].watch.fd;
        if (n_dgram > 0) {
                ls->udp = calloc(1, sizeof *ls->udp);
                r = ls->udp ? datagram_init(ls->udp, c, ls->stats, dgram, n_dgram, ls->loop->now_ms) : -ENOMEM;
        }
        free(dgram);
        return r;
}

int listeners_init(struct listeners *ls, const struct config *c, struct loop *loop, struct stats *stats,
                   size_t max_connections, const int *fds, size_t n, listeners_serve_fn *serve) {
        int r;

        *ls = (struct listeners) { .loop = loop, .stats = stats, .max_connections = max_connections, .serve = serve };
        ls->all = calloc(n ? n : 1, sizeof *ls->all);
        if (!ls->all)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = listener_init(&ls->all[ls->n], ls, fds[i]);
                if (r < 0)
                        return r;
                ls->n++;
        }
        r = listeners_init_datagrams(ls, c);
        if (r < 0)
                return r;
        listeners_watch(ls, SOCK_DGRAM, true);
        listeners_update(ls);
        return 0;
}

void listeners_finish(struct listeners *ls) {
        /* Listening fds belong to the caller (they may be systemd's): only stop watching them. */
        if (ls->loop && ls->loop->epfd >= 0) {
                listeners_watch(ls, SOCK_STREAM, false);
                listeners_watch(ls, SOCK_DGRAM, false);
        }
        free(ls->all);
        if (ls->udp)
                datagram_finish(ls->udp);
        free(ls->udp);
        *ls = (struct listeners) { 0 };
}
