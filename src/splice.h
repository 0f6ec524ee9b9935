/* splice.h - the zero-copy path for bulk streams: a connection that moves bulk data borrows a
 * pipe from its server's bounded pool and echoes through it with splice(2), socket → pipe →
 * socket, so that its bytes never enter user memory.
 *
 * A pipe holds at most the connection's buffer size, as the ring it stands in for does. The
 * bytes of a connection are in its ring or in its pipe, never in both: a pipe is only lent while
 * the ring is empty and only taken back while the pipe is empty (or with the connection), so the
 * order of the bytes is kept. Nothing here logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum splice_mode {
        SPLICE_AUTO,    /* a connection turns bulk when a read fills its ring */
        SPLICE_ON,      /* every connection that can splice wants a pipe from its first byte (tests) */
        SPLICE_OFF,     /* never: the ring only */
};

/* Pipes per process by default; at most one per 64 fds of RLIMIT_NOFILE (see splice_pipes_for_fds). */
#define SPLICE_PIPES_DEFAULT 32
/* A lent pipe that moved nothing for this long while empty goes back to the pool. */
#define SPLICE_QUIET_MS 1000

/* One connection's borrowed pipe; embedded in the connection, linked into the pool while lent. */
struct splice_pipe {
        int rfd, wfd;                   /* -1 while no pipe is lent */
        size_t held;                    /* bytes in the pipe */
        size_t cap;                     /* the most it may hold */
        bool stalled;                   /* splice_in() stopped with bytes held: wait for splice_out() */
        bool wanted;                    /* the connection turned bulk: take a pipe when the ring is empty */
        bool unable;                    /* the socket cannot splice (EINVAL): never again */
        uint64_t last_ms;               /* when bytes last moved */
        struct splice_pipe *prev, *next;
};

/* A server's pipes: at most `max` in all, lent or spare, each of `size` bytes at most. Pipes
 * are made when first needed and kept open for reuse. */
struct pipe_pool {
        int (*spare)[2];
        size_t n_spare, n_lent, max;
        size_t size;
        struct splice_pipe *lent;       /* every pipe lent out, for pipe_pool_reclaim() */
};

/* The number of pipes (two fds each) a process with `fds` descriptors keeps for splicing when
 * `wanted` are asked for: at most one per 64 fds, so that small limits keep them all for clients. */
size_t splice_pipes_for_fds(size_t wanted, size_t fds);

/* Prepares sp holding no pipe. */
void splice_pipe_init(struct splice_pipe *sp);

static inline bool splice_pipe_active(const struct splice_pipe *sp) { return sp->rfd >= 0; }

/* Room left: splice_in() may move bytes. */
static inline bool splice_pipe_has_room(const struct splice_pipe *sp) {
        return !sp->stalled && sp->held < sp->cap;
}

/* Prepares p for at most max pipes of size bytes (max 0: the pool is always empty). Returns 0
 * or -ENOMEM; call pipe_pool_finish() either way. */
int pipe_pool_init(struct pipe_pool *p, size_t max, size_t size);

/* Closes every spare pipe; every lent one must have been returned. Accepts a zeroed pool. */
void pipe_pool_finish(struct pipe_pool *p);

/* Lends sp (holding none) a pipe. Returns 0, -EAGAIN when all max pipes are lent, or -errno
 * from pipe2(2) (out of fds: the caller keeps its ring). */
int pipe_pool_lend(struct pipe_pool *p, struct splice_pipe *sp, uint64_t now_ms);

/* Takes sp's pipe back, if it holds one: kept for reuse when empty, closed when it still holds
 * bytes (a connection closed with echoes pending). */
void pipe_pool_return(struct pipe_pool *p, struct splice_pipe *sp);

/* True when pipe_pool_lend() would not say -EAGAIN. */
static inline bool pipe_pool_can_lend(const struct pipe_pool *p) {
        return p->n_spare > 0 || p->n_lent < p->max;
}

/* Takes back every lent pipe that is empty and moved nothing for SPLICE_QUIET_MS; its
 * connection goes back to the ring and to turning bulk again. Returns how many: the caller
 * gives their size back to --max-memory's count, as connections do for the ones they return. */
size_t pipe_pool_reclaim(struct pipe_pool *p, uint64_t now_ms);

/* Moves what the connected, non-blocking socket fd has into sp's pipe, as much as there is
 * room for. Returns the bytes moved, 0 at end of stream, or -errno (-EAGAIN: nothing to move,
 * or no room: then sp is stalled until splice_out() moves bytes). */
ssize_t splice_in(struct splice_pipe *sp, int fd, uint64_t now_ms);

/* Moves what sp's pipe holds to the socket fd. Returns the bytes moved or -errno (-EAGAIN: the
 * socket takes nothing now). */
ssize_t splice_out(struct splice_pipe *sp, int fd, uint64_t now_ms);
