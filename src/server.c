/* server.c - see server.h. */
#include "server.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "activation.h"
#include "address.h"
#include "connection.h"
#include "log.h"

/* Accepts at most this many connections per wakeup, so that one busy listener cannot starve the
 * connections already open. */
#define ACCEPT_BATCH 64
#define TICK_MS 250
#define FD_WARNING_INTERVAL_MS 60000
#define PER_SOURCE_NOTICE_INTERVAL_MS 60000
/* Spare ring storage kept for reuse, in bytes, whatever the buffer size. */
#define POOL_SPARE_BYTES (4u << 20)
/* --max-memory reserved by a worker at a time, in rings (budget.h). */
#define BUDGET_CHUNK_RINGS 4

/* Watches (or stops watching) the listeners of `socktype`: pausing accept leaves UDP served. */
static void server_watch_listeners(struct server *s, int socktype, bool on) {
        for (size_t i = 0; i < s->n_listeners; i++) {
                struct listener *l = &s->listeners[i];
                uint32_t ev = on && !l->failed ? (EPOLLIN | (l->socktype == SOCK_STREAM ? EPOLLEXCLUSIVE : 0)) : 0;
                int r;

                if (l->socktype != socktype)
                        continue;
                r = loop_watch(&s->loop, &l->watch, ev);
                if (r < 0)
                        log_errno(r, "cannot watch listening socket %d", l->watch.fd);
        }
}

/* Listening is on while not draining, below the connection limit (of all workers together)
 * and not out of fds. */
static bool server_may_accept(const struct server *s) {
        return !s->draining && !s->accept_paused &&
               atomic_load_explicit(&s->stats->connections, memory_order_relaxed) < s->max_connections;
}

/* Takes one of the max_connections slots shared by every worker, or says there is none: the
 * count is exact, whatever the number of workers. */
static bool server_slot_take(struct server *s) {
        uint_fast64_t n = atomic_load_explicit(&s->stats->connections, memory_order_relaxed);

        do {
                if (n >= s->max_connections) {
                        s->at_limit = true;
                        return false;
                }
        } while (!atomic_compare_exchange_weak(&s->stats->connections, &n, n + 1));
        return true;
}

void server_slot_release(struct server *s) {
        atomic_fetch_sub_explicit(&s->stats->connections, 1, memory_order_relaxed);
}

static void server_update_accepting(struct server *s) {
        bool on = server_may_accept(s);

        /* Off for the limit: a close, here or (seen at the tick) in another worker, turns it on. */
        if (!on && !s->draining && !s->accept_paused)
                s->at_limit = true;
        server_watch_listeners(s, SOCK_STREAM, on);
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
static void server_pause_accepting(struct server *s, int err) {
        struct stats *st = s->stats;
        uint64_t last;

        s->accept_paused = true;
        if (atomic_exchange(&st->out_of_fds, true))
                return;
        last = atomic_load(&st->fd_warned_ms);
        if (last != 0 && s->loop.now_ms - last < FD_WARNING_INTERVAL_MS)
                return;
        atomic_store(&st->fd_warned_ms, s->loop.now_ms);
        atomic_store(&st->fd_resume_pending, true);
        log_warning("cannot accept: %s; pausing until file descriptors or memory are free", strerror(err));
}

static void server_resume_accepting(struct server *s) {
        struct stats *st = s->stats;

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

int server_source_take(struct server *s, const struct sockaddr *peer, socklen_t len, struct source **ret) {
        struct source_key k;
        uint_fast64_t last, refused;
        int r;

        *ret = NULL;
        if (!s->per_source || source_key_from_sockaddr(peer, len, &k) < 0)
                return 0;
        r = sources_acquire(s->per_source, &k, s->config->max_per_source, s->loop.now_ms, ret);
        if (r == 0)
                return 0;
        refused = atomic_fetch_add(&s->stats->per_source_refused, 1) + 1;
        last = atomic_load(&s->stats->per_source_noticed_ms);
        if ((last == 0 || s->loop.now_ms - last >= PER_SOURCE_NOTICE_INTERVAL_MS) &&
            atomic_compare_exchange_strong(&s->stats->per_source_noticed_ms, &last, s->loop.now_ms)) {
                char host[NI_MAXHOST], port[NI_MAXSERV];

                sockaddr_numeric(peer, len, host, port);
                log_notice("closing connections from %s beyond --max-per-source %u "
                           "(%llu closed so far; this notice at most once a minute)",
                           host, s->config->max_per_source, (unsigned long long) refused);
        }
        return r;
}

/* A client accepted on a slot already taken: its source counted, unless a balancer's PROXY
 * header is to name it (connection.c counts that one once the header is read), then served. */
static void server_serve_accepted(struct server *s, int fd, const struct sockaddr *peer, socklen_t len,
                                  bool inherits_nodelay, bool read_now) {
        struct source *source = NULL;
        int r;

        if (!s->config->proxy_protocol && server_source_take(s, peer, len, &source) < 0) {
                close(fd);
                server_slot_release(s);
                return;
        }
        r = connection_create(s, fd, peer, len, source, inherits_nodelay, read_now);
        if (r < 0)
                log_errno(r, "cannot set up a connection");
}

static void listener_accept(struct listener *l) {
        struct server *s = l->server;

        for (int i = 0; i < ACCEPT_BATCH && server_may_accept(s); i++) {
                struct sockaddr_storage peer;
                socklen_t len = sizeof peer;
                int fd;

                /* An empty queue ends a shortage as EAGAIN does. */
                if (!listener_has_client(l)) {
                        server_resume_accepting(s);
                        break;
                }
                if (!server_slot_take(s))
                        break;
                fd = accept4(l->watch.fd, (struct sockaddr *) &peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        int err = errno;

                        server_slot_release(s);
                        if (err == EAGAIN || err == EWOULDBLOCK) {
                                server_resume_accepting(s);
                                break;
                        }
                        if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                                server_pause_accepting(s, err);
                                break;
                        }
                        if (accept_error_is_transient(err))
                                continue;
                        /* EINVAL (someone shut the socket down), EBADF, ...: retrying would spin.
                         * Quietly if it was server_close_listeners(). */
                        if (!(err == EINVAL && s->stats->listeners_closed))
                                log_errno(-err, "cannot accept on socket %d, no longer watching it", l->watch.fd);
                        l->failed = true;
                        break;
                }
                server_serve_accepted(s, fd, (struct sockaddr *) &peer, len, l->nodelay, l->defer_accept);
        }
        server_update_accepting(s);
}

static void listener_dispatch(struct watch *w, uint32_t events) {
        struct listener *l = container_of(w, struct listener, watch);

        /* A stale event from the batch in which listening stopped (SIGTERM, the connection
         * limit): a client accepted while draining with nothing open would be closed unread at
         * exit, which resets it. Left queued, the next echod serves it. */
        if (w->events == 0)
                return;
        if (l->socktype == SOCK_DGRAM)
                datagram_echo(l->server->udp, w->fd, l->server->loop.now_ms);
        else
                listener_accept(l);
}

static void server_check_done(struct server *s) {
        if (s->n_connections > 0)
                return;
        if (s->draining || s->n_listeners == 0)
                loop_quit(&s->loop);
}

void server_connection_gone(struct server *s) {
        s->n_connections--;
        server_slot_release(s);
        if (s->accept_paused || s->at_limit) {
                s->accept_paused = false;
                s->at_limit = false;
                server_update_accepting(s);
        }
        server_check_done(s);
}

void server_add_counts(const struct server *s, uint64_t *bytes, uint64_t *served) {
        *bytes += atomic_load_explicit(&s->bytes, memory_order_relaxed);
        *served += atomic_load_explicit(&s->served, memory_order_relaxed);
}

static void server_close_idle(struct server *s) {
        uint64_t limit = (uint64_t) s->config->idle_timeout_s * 1000;
        struct connection *c;

        if (limit == 0)
                return;
        while ((c = connection_oldest(s)) && s->loop.now_ms - c->last_active_ms >= limit) {
                if (log_verbosity() >= 1)
                        log_info("idle for %u s, closing", s->config->idle_timeout_s);
                connection_destroy(c);
        }
}

/* --proxy-protocol: no header within PROXY_HEADER_TIMEOUT_MS, no echo. Never touched while
 * waiting, these connections are in the order they came. */
static void server_expire_headers(struct server *s) {
        struct connection *c;

        while ((c = connection_oldest_awaiting(s)) && s->loop.now_ms - c->last_active_ms >= PROXY_HEADER_TIMEOUT_MS)
                connection_refuse(c, "no PROXY header within 3 s");
}

static void server_tick(void *userdata) {
        struct server *s = userdata;
        uint64_t suppressed = ratelimit_flush(&s->stats->conn_errors, s->loop.now_ms);
        size_t reclaimed;

        if (suppressed > 0)
                log_suppressed(suppressed, "connection errors");

        if (s->accept_paused || atomic_load_explicit(&s->stats->out_of_fds, memory_order_relaxed)) {
                s->accept_paused = false;
                server_update_accepting(s);
                /* Probe now rather than wait for epoll: only an accept that says EAGAIN ends a
                 * shortage, and with the backlog empty (the waiting clients were served after a
                 * close, or gave up) epoll would never call one. */
                for (size_t i = 0; i < s->n_listeners && server_may_accept(s); i++)
                        if (s->listeners[i].socktype == SOCK_STREAM && !s->listeners[i].failed)
                                listener_accept(&s->listeners[i]);
        }
        /* A slot freed by another worker: this one has no close of its own to notice it. */
        if (s->at_limit && server_may_accept(s)) {
                s->at_limit = false;
                server_update_accepting(s);
        }
        server_close_idle(s);
        server_expire_headers(s);
        /* Quiet pipes go back to the pool; their capacity to --max-memory's count. */
        reclaimed = pipe_pool_reclaim(&s->pipes, s->loop.now_ms);
        if (reclaimed > 0)
                budget_give(&s->budget, reclaimed * s->pipes.size);
        if (s->draining && s->loop.now_ms >= s->drain_deadline_ms && s->n_connections > 0) {
                log_warning("drain timeout: closing %zu connections that are still open", s->n_connections);
                while (!list_empty(&s->idle))
                        connection_destroy(connection_oldest(s));
                while (!list_empty(&s->awaiting))
                        connection_destroy(connection_oldest_awaiting(s));
        }
        if (s->udp)
                datagram_tick(s->udp, s->loop.now_ms);
        if (s->tick_hook)
                s->tick_hook(s);
        server_check_done(s);
}

void server_stop(struct server *s) {
        if (s->draining)
                return;
        s->draining = true;
        s->drain_deadline_ms = s->loop.now_ms + (uint64_t) s->config->drain_timeout_s * 1000;
        server_update_accepting(s);
        server_check_done(s);
}

void server_close_listeners(struct server *s) {
        atomic_store(&s->stats->listeners_closed, true);
        for (size_t i = 0; i < s->n_listeners; i++) {
                struct listener *l = &s->listeners[i];

                if (l->socktype != SOCK_STREAM || l->failed)
                        continue;
                while (server_slot_take(s)) {
                        struct sockaddr_storage peer;
                        socklen_t len = sizeof peer;
                        int fd = accept4(l->watch.fd, (struct sockaddr *) &peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

                        if (fd < 0) {
                                int err = errno;

                                server_slot_release(s);
                                if (err == EINTR || accept_error_is_transient(err))
                                        continue;
                                break;
                        }
                        server_serve_accepted(s, fd, (struct sockaddr *) &peer, len, l->nodelay, false);
                }
                if (shutdown(l->watch.fd, SHUT_RDWR) < 0)
                        log_errno(-errno, "cannot stop listening on socket %d", l->watch.fd);
                l->failed = true;
        }
}

void server_stop_now(struct server *s) {
        server_stop(s);
        if (s->n_connections > 0)
                log_warning("stopping at once: closing %zu connections that are still open", s->n_connections);
        while (!list_empty(&s->idle))
                connection_destroy(connection_oldest(s));
        while (!list_empty(&s->awaiting))
                connection_destroy(connection_oldest_awaiting(s));
        server_check_done(s);
}

/* The eventfd adds up what is written: 1 for a stop, STOP_NOW for a stop at once. */
#define STOP_NOW (UINT64_C(1) << 32)

static void server_stop_dispatch(struct watch *w, uint32_t events) {
        struct server *s = container_of(w, struct server, stop_watch);
        uint64_t v = 0;

        if (read(w->fd, &v, sizeof v) < 0 && errno != EAGAIN)
                log_errno(-errno, "cannot read stop event");
        if (v >= STOP_NOW)
                server_stop_now(s);
        else
                server_stop(s);
}

void server_request_stop(struct server *s, bool now) {
        uint64_t v = now ? STOP_NOW : 1;

        if (write(s->stop_watch.fd, &v, sizeof v) < 0)
                log_errno(-errno, "cannot signal worker to stop");
}

/* One struct datagram for all the datagram listeners, if there are any. */
static int server_init_datagrams(struct server *s) {
        int *dgram = calloc(s->n_listeners ? s->n_listeners : 1, sizeof *dgram);
        size_t n_dgram = 0;
        int r = 0;

        if (!dgram)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_listeners; i++)
                if (s->listeners[i].socktype == SOCK_DGRAM)
                        dgram[n_dgram++] = s->listeners[i].watch.fd;
        if (n_dgram > 0) {
                s->udp = calloc(1, sizeof *s->udp);
                r = s->udp ? datagram_init(s->udp, s->config, s->stats, dgram, n_dgram, s->loop.now_ms) : -ENOMEM;
        }
        free(dgram);
        return r;
}

int server_init(struct server *s, const struct config *c, struct stats *stats,
                size_t max_connections, size_t max_pipes, const int *fds, size_t n) {
        size_t spare;
        int r, efd;

        *s = (struct server) { .config = c, .stats = stats, .max_connections = max_connections };
        watch_init(&s->stop_watch, -1, server_stop_dispatch);
        list_init(&s->idle);
        list_init(&s->awaiting);
        budget_init(&s->budget, &stats->memory, c->max_memory, BUDGET_CHUNK_RINGS * c->buffer_size);
        r = loop_init(&s->loop);
        if (r < 0)
                return r;
        /* Spare rings are memory too: never more of them than --max-memory. */
        spare = c->max_memory < POOL_SPARE_BYTES ? c->max_memory : POOL_SPARE_BYTES;
        r = buffer_pool_init(&s->pool, c->buffer_size, spare / c->buffer_size);
        if (r < 0)
                return r;
        r = pipe_pool_init(&s->pipes, max_pipes, c->buffer_size);
        if (r < 0)
                return r;
        s->scratch = malloc(SCRATCH_SIZE);
        if (!s->scratch)
                return -ENOMEM;
        s->listeners = calloc(n ? n : 1, sizeof *s->listeners);
        if (!s->listeners)
                return -ENOMEM;
        efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (efd < 0)
                return -errno;
        watch_init(&s->stop_watch, efd, server_stop_dispatch);
        r = loop_watch(&s->loop, &s->stop_watch, EPOLLIN);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                int type = fd_socket_type(fds[i]);

                if (type < 0)
                        return type;
                s->listeners[s->n_listeners] = (struct listener) {
                        .server = s, .socktype = type, .blocking = fd_is_blocking(fds[i]) };
                if (type == SOCK_STREAM) {
                        int v = 0;
                        socklen_t vlen = sizeof v;
                        /* Only read: a socket systemd passed is not ours to change. */
                        s->listeners[s->n_listeners].nodelay =
                                getsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &v, &vlen) == 0 && v;
                        v = 0;
                        vlen = sizeof v;
                        s->listeners[s->n_listeners].defer_accept =
                                getsockopt(fds[i], IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, &vlen) == 0 && v;
                }
                watch_init(&s->listeners[s->n_listeners].watch, fds[i], listener_dispatch);
                s->n_listeners++;
        }
        r = server_init_datagrams(s);
        if (r < 0)
                return r;
        r = loop_set_tick(&s->loop, TICK_MS, server_tick, s);
        if (r < 0)
                return r;
        server_watch_listeners(s, SOCK_DGRAM, true);
        server_update_accepting(s);
        return 0;
}

void server_finish(struct server *s) {
        s->draining = true;
        while (!list_empty(&s->idle))
                connection_destroy(connection_oldest(s));
        while (!list_empty(&s->awaiting))
                connection_destroy(connection_oldest_awaiting(s));
        /* Listening fds belong to the caller (they may be systemd's): only stop watching them. */
        if (s->loop.epfd >= 0) {
                server_watch_listeners(s, SOCK_STREAM, false);
                server_watch_listeners(s, SOCK_DGRAM, false);
        }
        free(s->listeners);
        free(s->scratch);
        if (s->udp)
                datagram_finish(s->udp);
        free(s->udp);
        if (s->stop_watch.fd >= 0)
                close(s->stop_watch.fd);
        buffer_pool_finish(&s->pool);
        pipe_pool_finish(&s->pipes);
        budget_finish(&s->budget);
        loop_finish(&s->loop);
        *s = (struct server) { .stop_watch.fd = -1, .loop.epfd = -1, .loop.tick_watch.fd = -1 };
}

int server_adopt(struct server *s, int fd) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;

        if (getpeername(fd, (struct sockaddr *) &peer, &len) < 0)
                len = 0;
        /* The one client of an Accept=yes or inetd nowait instance: no limit to check. */
        atomic_fetch_add_explicit(&s->stats->connections, 1, memory_order_relaxed);
        return connection_create(s, fd, len ? (struct sockaddr *) &peer : NULL, len, NULL, false, false);
}

int server_run(struct server *s) {
        if (s->n_listeners == 0 && s->n_connections == 0)
                return 0;
        return loop_run(&s->loop);
}
