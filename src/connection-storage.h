/* connection-storage.h - where a connection holds the bytes it read and has not yet written
 * back: a ring from its server's pool, or while it streams bulk a pipe from the pipe pool
 * (splice.h), never both at once, and each only while --max-memory's budget (budget.h) has room
 * for it. Without either it is served holding nothing (connection.c's direct echo). */
#pragma once

#include <stdbool.h>

#include "connection.h"

/* Gives c a ring if it has none and the budget allows one more. True when c has a ring. */
bool connection_ring_take(struct connection *c);

/* Gives c's ring back, if it has one; it must be empty or being discarded. */
void connection_ring_give(struct connection *c);

/* Lends c a pipe when the pool has one and the budget has room for its capacity; a connection
 * that gets none keeps the ring (out of fds: and stops asking). c's ring must be empty. */
void connection_pipe_take(struct connection *c);

/* Returns c's pipe, if it holds one (bytes still in it are discarded). */
void connection_pipe_give(struct connection *c);

/* Reads what c's socket has into its pipe: >0 if bytes moved, 0 if none are ready or the peer
 * half-closed (c->read_eof), or -errno. A socket that cannot splice goes back to the ring, for
 * good. */
int connection_splice_in(struct connection *c);

/* Room to read into, in whichever c holds. */
static inline bool connection_has_room(const struct connection *c) {
        return splice_pipe_active(&c->pipe) ? splice_pipe_has_room(&c->pipe) : !buffer_is_full(&c->buf);
}

/* Bytes read and not yet written back. */
static inline bool connection_has_pending(const struct connection *c) {
        return splice_pipe_active(&c->pipe) ? c->pipe.held > 0 : !buffer_is_empty(&c->buf);
}
