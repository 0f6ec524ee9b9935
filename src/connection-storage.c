/* connection-storage.c - see connection-storage.h. */
#include "connection-storage.h"

#include <errno.h>

#include "budget.h"
#include "server.h"

bool connection_ring_take(struct connection *c) {
        struct server *s = c->server;

        if (c->buf.data)
                return true;
        if (!budget_take(&s->budget, s->pool.size))
                return false;
        if (buffer_pool_attach(&s->pool, &c->buf) < 0) {
                budget_give(&s->budget, s->pool.size);
                return false;
        }
        return true;
}

void connection_ring_give(struct connection *c) {
        struct server *s = c->server;

        if (!c->buf.data)
                return;
        buffer_pool_detach(&s->pool, &c->buf);
        budget_give(&s->budget, s->pool.size);
}

void connection_pipe_take(struct connection *c) {
        struct server *s = c->server;

        if (!pipe_pool_can_lend(&s->pipes) || !budget_take(&s->budget, s->pipes.size))
                return;
        if (pipe_pool_lend(&s->pipes, &c->pipe, s->loop.now_ms) < 0) {
                budget_give(&s->budget, s->pipes.size);
                /* Out of fds: the ring, and no pipe2() on every wakeup. */
                c->pipe.wanted = false;
        }
}

void connection_pipe_give(struct connection *c) {
        struct server *s = c->server;

        if (!splice_pipe_active(&c->pipe))
                return;
        pipe_pool_return(&s->pipes, &c->pipe);
        budget_give(&s->budget, s->pipes.size);
}

int connection_splice_in(struct connection *c) {
        ssize_t n = splice_in(&c->pipe, c->watch.fd, c->server->loop.now_ms);

        if (n == -EINVAL && c->pipe.held == 0) {
                connection_pipe_give(c);
                c->pipe.unable = true;
                c->pipe.wanted = false;
                return 0;
        }
        if (n < 0)
                return n == -EAGAIN || n == -EINTR ? 0 : (int) n;
        if (n == 0)
                c->read_eof = true;
        return n > 0;
}
