/* server.h - one event loop's worth of service: its loop and tick, the connections it accepted
 * (on the sockets of listener.h) or adopted, their timeouts and --max-per-source, and draining on
 * shutdown. With --workers N there are N servers, one per thread, sharing the listening sockets
 * and the counters. A server owns its connections and its eventfd; the sockets are the caller's. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "buffer.h"
#include "datagram.h"
#include "list.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "options.h"
#include "sources.h"
#include "splice.h"
#include "stats.h"

struct server {
        const struct config *config;
        struct stats *stats;
        struct loop loop;
        struct buffer_pool pool;
        struct pipe_pool pipes;                 /* for bulk connections (splice.h) */
        struct budget budget;                   /* this worker's part of --max-memory */
        struct listeners listen;                /* the sockets it watches, accepting (listener.h) */
        struct list idle;                       /* connections, least recently active first */
        struct list awaiting;                   /* --proxy-protocol: awaiting their header, oldest first */
        size_t n_connections;
        bool draining;
        uint64_t drain_deadline_ms;
        uint8_t *scratch;                       /* SCRATCH_SIZE bytes: echo without a ring */
        struct sources *per_source;             /* shared, locked; NULL: no --max-per-source */
        struct watch stop_watch;                /* eventfd: server_request_stop() from another thread */
        struct worker_counts counts;            /* summed by server_add_counts() for STATUS= */
        void (*tick_hook)(struct server *s);    /* the main worker's periodic work */
        void *hook_userdata;                    /* for tick_hook; echod.c keeps its context here */
};

/* Prepares s to watch fds[0..n), listening stream or datagram sockets that stay owned by the
 * caller, with at most max_pipes pipes (two fds each) for splicing bulk connections. They may be in blocking mode (systemd passes them so unless NonBlocking=yes): a
 * blocking listener is only accepted on after poll() says a client waits, so only one server
 * may watch it. Datagram sockets are echoed on (datagram.h) whether or not accepting is paused;
 * give them to one server only, since each server keeps its own rates. max_connections is the
 * limit for every server sharing stats, together. Returns 0 or -errno; call server_finish()
 * either way. */
int server_init(struct server *s, const struct config *c, struct stats *stats,
                size_t max_connections, size_t max_pipes, const int *fds, size_t n);

/* Closes every connection and frees everything server_init() made; accepts a server whose
 * server_init() failed part way, or one already finished (not a merely zeroed one: fd 0). */
void server_finish(struct server *s);

/* Serves the connected stream socket fd (Accept=yes, inetd nowait) as one client; takes
 * ownership of fd, closed on failure too. fd may be in blocking mode. Returns 0 or -errno. */
int server_adopt(struct server *s, int fd);

/* Serves until server_stop() has drained, or until the last connection of a server without
 * listeners (Accept=yes, inetd nowait) is done. Returns 0 or -errno. */
int server_run(struct server *s);

/* Stops accepting and lets open connections finish, for at most the drain timeout. Must be
 * called from s's own thread (or before server_run). */
void server_stop(struct server *s);

/* For listening sockets echod bound itself (standalone), called as a stop begins: accepts
 * every client already queued on s's stream listeners (the drain serves them), then shuts the
 * listeners down, so that a new client is refused at once (a balancer retries it on another
 * backend) rather than left queued until exit and reset then. Never for passed sockets: their
 * queue is the next instance's. Other servers watching them see accept fail quietly. */
void server_close_listeners(struct server *s);

/* Stops accepting and closes every open connection at once (pending bytes discarded); the loop
 * then returns. From s's own thread. */
void server_stop_now(struct server *s);

/* Asks s to stop as server_stop() does, or with `now` as server_stop_now() does; safe from any
 * thread. */
void server_request_stop(struct server *s, bool now);

/* Gives back a connection slot taken before connection_create() (which does so itself when it
 * fails before the connection is linked). */
void server_slot_release(struct server *s);


/* Called by connection_destroy(): the connection was unlinked and its fd closed. */
void server_connection_gone(struct server *s);

/* Adds what s counted to *bytes and *served; safe from any thread. */
void server_add_counts(const struct server *s, uint64_t *bytes, uint64_t *served);
