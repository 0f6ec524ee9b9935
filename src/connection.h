/* connection.h - one client's TCP connection: what was read and not yet written back, the
 * backpressure between the two directions, half-close, and its place in the idle order. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "buffer.h"
#include "list.h"
#include "loop.h"
#include "sources.h"
#include "splice.h"

struct server;

/* What a connection without a ring (--max-memory spent) echoes per peek. */
#define SCRATCH_SIZE 65536

struct connection {
        struct watch watch;             /* the loop hands back &watch: container_of() */
        struct server *server;
        struct list idle;               /* in the server's idle list, least recently active first, or
                                         * until its PROXY header is read in its awaiting list */
        struct buffer buf;              /* storage only while bytes are pending */
        struct splice_pipe pipe;        /* instead of buf while bulk (see splice.h) */
        uint64_t last_active_ms;
        uint64_t echoed;                /* bytes written back */
        bool read_eof;                  /* the peer half-closed: flush, then close */
        bool awaiting_header;           /* --proxy-protocol: not a byte is echoed before it */
        uint16_t header_len;            /* of a header that came in pieces, held in `header` */
        uint8_t *header;
        struct source *source;          /* its count in server->per_source, or NULL */
        socklen_t peer_len;
        struct sockaddr_storage peer;
};

/* Takes ownership of the connected stream socket fd (closed on failure too) and of one slot the
 * caller took in s->stats->connections and of `source` (its count in s->per_source, or NULL),
 * both given back when the connection ends or fails to start; links the
 * connection into s and starts watching it. fd may be in blocking mode: every call on it says
 * MSG_DONTWAIT. inherits_nodelay: fd has TCP_NODELAY already (from its listener). read_now:
 * serve what the client sent at once, before asking epoll (the connection may then be gone
 * already, a failure logged and counted as after any read). Returns 0 or -errno. */
int connection_create(struct server *s, int fd, const struct sockaddr *peer, socklen_t peer_len,
                      struct source *source, bool inherits_nodelay, bool read_now);

/* Unlinks, closes the socket and frees. Accepts NULL. Pending bytes are discarded. */
void connection_destroy(struct connection *c);

/* --proxy-protocol: how long a connection may take to send its header. The specification asks
 * for at least 3 s, to cover a TCP retransmission. */
#define PROXY_HEADER_TIMEOUT_MS 3000

/* Closes c, which is awaiting its PROXY header, without an echo: counted in the stats, with a
 * notice (saying `why` for the latest) at most once a minute whatever the number. */
void connection_refuse(struct connection *c, const char *why);

/* The connection of s least recently active, or NULL when s has none. */
struct connection *connection_oldest(const struct server *s);

/* --proxy-protocol: the connection of s that has waited longest for its header, or NULL. */
struct connection *connection_oldest_awaiting(const struct server *s);
