/* server.c - see server.h. */
#include "server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "address.h"
#include "connection.h"
#include "log.h"
#include "per-source.h"

#define TICK_MS 250
/* Spare ring storage kept for reuse, in bytes, whatever the buffer size. */
#define POOL_SPARE_BYTES (4u << 20)
/* --max-memory reserved by a worker at a time, in rings (budget.h). */
#define BUDGET_CHUNK_RINGS 4

void server_slot_release(struct server *s) {
        listeners_slot_release(&s->listen);
}

/* A client accepted on a slot already taken: its source counted, unless a balancer's PROXY
 * header is to name it (connection.c counts that one once the header is read), then served. */
static void server_serve_accepted(struct listeners *ls, int fd, const struct sockaddr *peer, socklen_t len,
                                  bool inherits_nodelay, bool read_now) {
        struct server *s = container_of(ls, struct server, listen);
        struct source *source = NULL;
        int r;

        if (!s->config->proxy_protocol &&
            per_source_take(s->per_source, s->config->max_per_source, s->stats, s->loop.now_ms, peer, len,
                            &source) < 0) {
                close(fd);
                server_slot_release(s);
                return;
        }
        r = connection_create(s, fd, peer, len, source, inherits_nodelay, read_now);
        if (r < 0)
                log_errno(r, "cannot set up a connection");
}

static void server_check_done(struct server *s) {
        if (s->n_connections > 0)
                return;
        if (s->draining || s->listen.n == 0)
                loop_quit(&s->loop);
}

void server_connection_gone(struct server *s) {
        s->n_connections--;
        listeners_connection_gone(&s->listen);
        server_check_done(s);
}

void server_add_counts(const struct server *s, uint64_t *bytes, uint64_t *served) {
        *bytes += atomic_load_explicit(&s->counts.bytes, memory_order_relaxed);
        *served += atomic_load_explicit(&s->counts.served, memory_order_relaxed);
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

        listeners_tick(&s->listen);
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
        if (s->listen.udp)
                datagram_tick(s->listen.udp, s->loop.now_ms);
        if (s->tick_hook)
                s->tick_hook(s);
        server_check_done(s);
}

void server_stop(struct server *s) {
        if (s->draining)
                return;
        s->draining = true;
        s->drain_deadline_ms = s->loop.now_ms + (uint64_t) s->config->drain_timeout_s * 1000;
        listeners_stop(&s->listen);
        server_check_done(s);
}

void server_close_listeners(struct server *s) {
        listeners_close(&s->listen);
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

int server_init(struct server *s, const struct config *c, struct stats *stats,
                size_t max_connections, size_t max_pipes, const int *fds, size_t n) {
        size_t spare;
        int r, efd;

        *s = (struct server) { .config = c, .stats = stats };
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
        efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (efd < 0)
                return -errno;
        watch_init(&s->stop_watch, efd, server_stop_dispatch);
        r = loop_watch(&s->loop, &s->stop_watch, EPOLLIN);
        if (r < 0)
                return r;
        r = listeners_init(&s->listen, c, &s->loop, stats, max_connections, fds, n, server_serve_accepted);
        if (r < 0)
                return r;
        return loop_set_tick(&s->loop, TICK_MS, server_tick, s);
}

void server_finish(struct server *s) {
        s->draining = true;
        s->listen.stopped = true;
        while (!list_empty(&s->idle))
                connection_destroy(connection_oldest(s));
        while (!list_empty(&s->awaiting))
                connection_destroy(connection_oldest_awaiting(s));
        listeners_finish(&s->listen);
        free(s->scratch);
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
        if (s->listen.n == 0 && s->n_connections == 0)
                return 0;
        return loop_run(&s->loop);
}
