/* connection.c - see connection.h.
 *
 * The echo path: read into the connection's ring while it has room, write back what it holds.
 * Epoll interest follows the state: EPOLLIN while there is room and the peer has not
 * half-closed, EPOLLOUT while bytes are pending. A client that stops reading therefore stops
 * being read once its ring is full, and costs nothing more than the ring and kernel buffers.
 * A bulk connection may borrow a pipe instead of the ring (splice.h): the same rules hold, with
 * "room" and "pending" asked of the pipe. */
#include "connection.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "address.h"
#include "connection-header.h"
#include "connection-storage.h"
#include "log.h"
#include "pyrepr.h"
#include "server.h"

/* -vv reads 16 bytes at a time, as the seed's recv(16), so its trace reads like the seed's. */
#define TRACE_CHUNK 16
/* Read-write turns per wakeup at most. */
#define DISPATCH_ROUNDS 8

static void connection_log(const struct connection *c, const char *what) {
        char peer[NI_MAXHOST + 64];

        sockaddr_pytuple((const struct sockaddr *) &c->peer, c->peer_len, peer, sizeof peer);
        if (what)
                log_info("%s %s: %llu bytes echoed", what, peer, (unsigned long long) c->echoed);
        else
                log_info("connection from %s", peer);
}

/* Remotely triggered (a peer that times out, a broken path): named, and rate-limited across
 * all workers, so that many failing clients cost a few lines and one summary. */
static void connection_log_error(const struct connection *c, int r) {
        struct server *s = c->server;
        char peer[NI_MAXHOST + 64];
        uint64_t summary;
        bool allow = ratelimit_allow(&s->stats->conn_errors, s->loop.now_ms, &summary);

        if (summary > 0)
                log_suppressed(summary, "connection errors");
        if (!allow)
                return;
        sockaddr_pytuple((const struct sockaddr *) &c->peer, c->peer_len, peer, sizeof peer);
        log_errno(r, "connection from %s closed on error", peer);
}

void connection_destroy(struct connection *c) {
        struct server *s;

        if (!c)
                return;
        s = c->server;
        /* One that never sent its header was never logged as opened either. */
        if (log_verbosity() >= 1 && !c->awaiting_header)
                connection_log(c, "closed connection from");
        list_remove(&c->idle);
        /* Closing the fd removes it from epoll. */
        close(c->watch.fd);
        connection_ring_give(c);
        free(c->header);
        connection_pipe_give(c);
        if (c->source)
                sources_release(s->per_source, c->source);
        free(c);
        server_connection_gone(s);
}

struct connection *connection_oldest(const struct server *s) {
        struct list *first = list_first(&s->idle);

        return first ? container_of(first, struct connection, idle) : NULL;
}

/* Marks c most recently active: the end of the idle list (which it joins from the awaiting
 * list once its PROXY header is read). Touched already in this millisecond, everything after
 * it was touched in it too: the order by last activity holds without a move (most messages of
 * a busy client). */
static void connection_touch(struct connection *c) {
        if (c->last_active_ms == c->server->loop.now_ms)
                return;
        c->last_active_ms = c->server->loop.now_ms;
        list_remove(&c->idle);
        list_insert_tail(&c->server->idle, &c->idle);
}

/* Echoes without holding a byte, for when --max-memory is spent: peeks at what the socket
 * holds, sends what the peer's side takes, and only then consumes that much, so that what
 * could not be sent stays in the kernel's receive queue (and TCP's window pushes back on the
 * sender). Returns >0 if bytes moved, 0 if not (*write_blocked: the socket is full), or -errno. */
static int connection_echo_direct(struct connection *c, bool *write_blocked) {
        struct server *s = c->server;
        ssize_t n, w;

        n = recv(c->watch.fd, s->scratch, SCRATCH_SIZE, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        if (n == 0) {
                c->read_eof = true;
                return 0;
        }
        w = send(c->watch.fd, s->scratch, (size_t) n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        return -errno;
                *write_blocked = true;
                return 0;
        }
        /* MSG_TRUNC: the bytes are dropped from the receive queue, not copied again. */
        if (recv(c->watch.fd, s->scratch, (size_t) w, MSG_TRUNC | MSG_DONTWAIT) != w)
                return -EIO;
        *write_blocked = w < n;
        c->echoed += (uint64_t) w;
        worker_count(&s->counts.bytes, (uint64_t) w);
        return 1;
}

static void connection_dispatch_direct(struct connection *c) {
        struct server *s = c->server;
        bool moved = false, write_blocked = false;
        int r = 0;

        for (int round = 0; round < DISPATCH_ROUNDS && !write_blocked; round++) {
                r = connection_echo_direct(c, &write_blocked);
                if (r <= 0)
                        break;
                moved = true;
        }
        if (r < 0) {
                if (r != -ECONNRESET && r != -EPIPE)
                        connection_log_error(c, r);
                connection_destroy(c);
                return;
        }
        /* EOF on a peek: nothing is left unread, and nothing is held. */
        if (c->read_eof) {
                connection_destroy(c);
                return;
        }
        if (moved)
                connection_touch(c);
        r = loop_watch(&s->loop, &c->watch, write_blocked ? EPOLLOUT : EPOLLIN);
        if (r < 0) {
                connection_log_error(c, r);
                connection_destroy(c);
        }
}

struct connection *connection_oldest_awaiting(const struct server *s) {
        struct list *first = list_first(&s->awaiting);

        return first ? container_of(first, struct connection, idle) : NULL;
}

void connection_refuse(struct connection *c, const char *why) {
        connection_header_refused(c, why);
        connection_destroy(c);
}

/* Returns >0 if bytes were read, 0 if none are ready or the peer half-closed, or -errno. */
static int connection_read(struct connection *c) {
        struct msghdr msg = { 0 };
        struct iovec iov[2];
        bool trace = log_verbosity() >= 2;
        ssize_t n;
        int niov;

        if (splice_pipe_active(&c->pipe))
                return connection_splice_in(c);
        niov = buffer_space_iov(&c->buf, iov);
        if (trace) {
                niov = 1;
                if (iov[0].iov_len > TRACE_CHUNK)
                        iov[0].iov_len = TRACE_CHUNK;
        }
        /* MSG_DONTWAIT: an adopted socket (Accept=yes, inetd nowait) may be in blocking mode.
         * recv() for one region (an empty ring: every small message) costs the kernel less
         * than recvmsg()'s msghdr and iovec import. */
        if (niov == 1) {
                n = recv(c->watch.fd, iov[0].iov_base, iov[0].iov_len, MSG_DONTWAIT);
        } else {
                msg.msg_iov = iov;
                msg.msg_iovlen = (size_t) niov;
                n = recvmsg(c->watch.fd, &msg, MSG_DONTWAIT);
        }
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        if (trace) {
                char repr[PYREPR_SIZE(TRACE_CHUNK)];
                pyrepr(repr, iov[0].iov_base, (size_t) n);
                log_debug("received %s", repr);
        }
        if (n == 0) {
                c->read_eof = true;
                if (trace) {
                        char peer[NI_MAXHOST + 64];
                        sockaddr_pytuple((const struct sockaddr *) &c->peer, c->peer_len, peer, sizeof peer);
                        log_debug("no data from %s", peer);
                }
                return 0;
        }
        buffer_produce(&c->buf, (size_t) n);
        /* A read that fills the ring is a bulk stream: a pipe, once the ring is empty again. */
        if (buffer_is_full(&c->buf) && !c->pipe.unable)
                c->pipe.wanted = true;
        if (trace)
                log_debug("sending data back to the client");
        return 1;
}

/* Returns >0 if bytes were written, 0 if the socket is full, or -errno. */
static int connection_write(struct connection *c) {
        struct msghdr msg = { 0 };
        struct iovec iov[2];
        ssize_t n;

        if (splice_pipe_active(&c->pipe)) {
                n = splice_out(&c->pipe, c->watch.fd, c->server->loop.now_ms);
                if (n < 0)
                        return n == -EAGAIN || n == -EINTR ? 0 : (int) n;
        } else {
                msg.msg_iov = iov;
                msg.msg_iovlen = (size_t) buffer_data_iov(&c->buf, iov);
                if (msg.msg_iovlen == 1)
                        n = send(c->watch.fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT);
                else
                        n = sendmsg(c->watch.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0)
                        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
                buffer_consume(&c->buf, (size_t) n);
        }
        c->echoed += (uint64_t) n;
        worker_count(&c->server->counts.bytes, (uint64_t) n);
        return 1;
}

static void connection_dispatch(struct watch *w, uint32_t events) {
        struct connection *c = container_of(w, struct connection, watch);
        struct server *s = c->server;
        bool moved = false, readable = events & (EPOLLIN | EPOLLHUP | EPOLLERR);
        uint32_t want = 0;
        int r;

        if (c->awaiting_header) {
                const char *why = NULL;

                r = connection_header_read(c, &why);
                if (r == -EDQUOT)
                        connection_destroy(c);
                else if (r < 0)
                        connection_refuse(c, why);
                if (r <= 0)
                        return;
                worker_count(&s->counts.served, 1);
                /* The client's first bytes may have come with the header. */
                readable = true;
        }
        /* Only between streams of bytes: the ring is empty, so their order is kept. */
        if (c->pipe.wanted && !splice_pipe_active(&c->pipe) && buffer_is_empty(&c->buf))
                connection_pipe_take(c);
        /* Nothing held and no ring or pipe to be had: serve it anyway, holding nothing. */
        if (!splice_pipe_active(&c->pipe) && !connection_ring_take(c)) {
                connection_dispatch_direct(c);
                return;
        }
        /* Read and write in turns while both move, up to a bound: fewer wakeups per byte for a
         * busy stream, and no starving of the other connections. */
        for (int round = 0; round < DISPATCH_ROUNDS; round++) {
                bool progress = false;

                if (readable && !c->read_eof && connection_has_room(c)) {
                        r = connection_read(c);
                        if (r < 0)
                                goto fail;
                        progress |= r > 0;
                        /* Only a read that filled the ring may have left bytes in the socket. */
                        readable = r > 0 && !connection_has_room(c);
                }
                if (connection_has_pending(c)) {
                        r = connection_write(c);
                        if (r < 0)
                                goto fail;
                        progress |= r > 0;
                }
                moved |= progress;
                if (!progress || !readable)
                        break;
        }
        if (buffer_is_empty(&c->buf)) {
                connection_ring_give(c);
                if (c->read_eof && !connection_has_pending(c)) {
                        connection_destroy(c);
                        return;
                }
        }
        if (moved)
                connection_touch(c);

        if (!c->read_eof && connection_has_room(c))
                want |= EPOLLIN;
        if (connection_has_pending(c))
                want |= EPOLLOUT;
        r = loop_watch(&s->loop, &c->watch, want);
        if (r < 0)
                goto fail;
        return;
fail:
        if (r != -ECONNRESET && r != -EPIPE)
                connection_log_error(c, r);
        connection_destroy(c);
}

int connection_create(struct server *s, int fd, const struct sockaddr *peer, socklen_t peer_len,
                      struct source *source, bool inherits_nodelay, bool read_now) {
        struct connection *c;
        int r;

        c = calloc(1, sizeof *c);
        if (!c) {
                close(fd);
                server_slot_release(s);
                if (source)
                        sources_release(s->per_source, source);
                return -ENOMEM;
        }
        c->source = source;
        watch_init(&c->watch, fd, connection_dispatch);
        c->server = s;
        splice_pipe_init(&c->pipe);
        /* -vv traces the ring's reads; a socket handed over in blocking mode (no listener:
         * Accept=yes, inetd nowait) would make splice() wait. Accepted ones are non-blocking. */
        c->pipe.unable = s->config->splice_mode == SPLICE_OFF || log_verbosity() >= 2 ||
                         (s->listen.n == 0 && !(fcntl(fd, F_GETFL) & O_NONBLOCK));
        c->pipe.wanted = s->config->splice_mode == SPLICE_ON && !c->pipe.unable;
        if (peer_len > sizeof c->peer)
                peer_len = sizeof c->peer;
        if (peer)
                memcpy(&c->peer, peer, peer_len);
        c->peer_len = peer_len;
        c->last_active_ms = s->loop.now_ms;
        c->awaiting_header = s->config->proxy_protocol;
        list_insert_tail(c->awaiting_header ? &s->awaiting : &s->idle, &c->idle);
        s->n_connections++;
        /* Behind a balancer the client is known, and served, once its header is read. */
        if (!c->awaiting_header) {
                worker_count(&s->counts.served, 1);
                if (log_verbosity() >= 1)
                        connection_log(c, NULL);
        }

        /* Echoed bytes go out as soon as they are read, never held back by Nagle; this
         * connection is ours alone, even when inetd or systemd accepted it. Fails harmlessly
         * on a non-TCP socket. One system call less when the listener has it: accept4()
         * copies it (echod sets it on the sockets it binds, NoDelay=yes in the units). */
        if (!inherits_nodelay)
                (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int) { 1 }, sizeof(int));
        /* The client's first bytes are usually there (always after TCP_DEFER_ACCEPT): read
         * them now rather than after an epoll round trip. The dispatch sets the watch (not
         * while a PROXY header is awaited: that path leaves the watch as it is). */
        if (read_now && !c->awaiting_header) {
                connection_dispatch(&c->watch, EPOLLIN);
                return 0;
        }
        r = loop_watch(&s->loop, &c->watch, EPOLLIN);
        if (r < 0) {
                connection_destroy(c);
                return r;
        }
        return 0;
}
