/* listener.h - the sockets one server watches: accepting on the listening ones, within the
 * connection limit of all workers and pausing while out of fds, and the datagram ones handed to
 * datagram.c. The fds stay the caller's (echod.c): never closed here, and shut down only by
 * listeners_close(). Knows no connection: an accepted client goes to the owner's `serve`. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "datagram.h"
#include "loop.h"
#include "options.h"
#include "stats.h"

struct listeners;

/* Serves the client fd accepted on a slot already taken: from the call on, fd and the slot are
 * the callee's (closed and given back by it, on failure too). inherits_nodelay: fd has
 * TCP_NODELAY from its listener. read_now: TCP_DEFER_ACCEPT, the client's first bytes are in. */
typedef void listeners_serve_fn(struct listeners *ls, int fd, const struct sockaddr *peer, socklen_t len,
                                bool inherits_nodelay, bool read_now);

struct listener {
        struct watch watch;
        struct listeners *set;
        int socktype;                           /* SOCK_STREAM or SOCK_DGRAM */
        bool failed;                            /* accept failed for good: not watched again */
        bool blocking;                          /* passed without O_NONBLOCK, which is not ours to set */
        bool nodelay;                           /* has TCP_NODELAY: accepted sockets inherit it */
        bool defer_accept;                      /* has TCP_DEFER_ACCEPT: a client's first bytes come with it */
};

struct listeners {
        struct loop *loop;
        struct stats *stats;                    /* the slots of all workers, the shortage of fds */
        struct listener *all;
        size_t n;
        size_t max_connections;                 /* of all workers together (stats->connections) */
        bool at_limit;                          /* a slot was wanted and none was free */
        bool paused;                            /* out of fds: retry at the next tick or close */
        bool stopped;                           /* draining: never accepting again */
        struct datagram *udp;                   /* the datagram sockets' state, if there are any */
        listeners_serve_fn *serve;
};

/* Prepares ls to watch fds[0..n) on loop and starts watching: the datagram sockets echoed on
 * with c's rates, the stream ones accepted on while the limit of max_connections (of every
 * worker sharing stats) allows. A listener in blocking mode is only accepted on after poll()
 * says a client waits, so only one server may watch it. Returns 0 or -errno; call
 * listeners_finish() either way. */
int listeners_init(struct listeners *ls, const struct config *c, struct loop *loop, struct stats *stats,
                   size_t max_connections, const int *fds, size_t n, listeners_serve_fn *serve);

/* Stops watching and frees what listeners_init() made; accepts a zeroed or half-built ls, before
 * loop_finish(). */
void listeners_finish(struct listeners *ls);

/* Periodic work: accepting again after a shortage of fds (probing the listeners: only an accept
 * that says EAGAIN ends one) or once another worker freed a slot. */
void listeners_tick(struct listeners *ls);

/* Stops accepting for good (the drain); datagrams are still echoed. */
void listeners_stop(struct listeners *ls);

/* Accepts every client queued on the stream listeners (handed to `serve`, as many as there are
 * slots), then shuts them down, so that a new client is refused at once; accept on them then
 * fails quietly, in every server. Only for sockets echod bound itself. */
void listeners_close(struct listeners *ls);

/* Gives back a slot taken before `serve` (or, for an adopted client, by the caller). */
void listeners_slot_release(struct listeners *ls);

/* A client of this server left: its slot is given back, and accepting resumes if it was off for
 * want of a slot or of fds. */
void listeners_connection_gone(struct listeners *ls);
