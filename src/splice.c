/* splice.c - see splice.h. */
#include "splice.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

size_t splice_pipes_for_fds(size_t wanted, size_t fds) {
        return wanted < fds / 64 ? wanted : fds / 64;
}

void splice_pipe_init(struct splice_pipe *sp) {
        *sp = (struct splice_pipe) { .rfd = -1, .wfd = -1 };
}

int pipe_pool_init(struct pipe_pool *p, size_t max, size_t size) {
        *p = (struct pipe_pool) { .max = max, .size = size };
        if (max == 0)
                return 0;
        p->spare = calloc(max, sizeof *p->spare);
        return p->spare ? 0 : -ENOMEM;
}

void pipe_pool_finish(struct pipe_pool *p) {
        for (size_t i = 0; i < p->n_spare; i++) {
                close(p->spare[i][0]);
                close(p->spare[i][1]);
        }
        free(p->spare);
        *p = (struct pipe_pool) { 0 };
}

int pipe_pool_lend(struct pipe_pool *p, struct splice_pipe *sp, uint64_t now_ms) {
        int fds[2], got;

        if (p->n_spare > 0) {
                p->n_spare--;
                fds[0] = p->spare[p->n_spare][0];
                fds[1] = p->spare[p->n_spare][1];
        } else if (p->n_lent < p->max) {
                if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
                        return -errno;
                /* Past the per-user pipe quota the kernel refuses or gives less: what it gives is
                 * what the pipe holds. */
                (void) fcntl(fds[1], F_SETPIPE_SZ, (int) p->size);
        } else {
                return -EAGAIN;
        }
        got = fcntl(fds[1], F_GETPIPE_SZ);
        *sp = (struct splice_pipe) {
                .rfd = fds[0], .wfd = fds[1], .wanted = sp->wanted, .unable = sp->unable, .last_ms = now_ms,
                .cap = got > 0 && (size_t) got < p->size ? (size_t) got : p->size,
                .next = p->lent,
        };
        if (p->lent)
                p->lent->prev = sp;
        p->lent = sp;
        p->n_lent++;
        return 0;
}

void pipe_pool_return(struct pipe_pool *p, struct splice_pipe *sp) {
        if (!splice_pipe_active(sp))
                return;
        if (sp->prev)
                sp->prev->next = sp->next;
        else
                p->lent = sp->next;
        if (sp->next)
                sp->next->prev = sp->prev;
        p->n_lent--;
        /* Bytes left in a pipe belong to the connection that is going: never to the next one. */
        if (sp->held == 0 && p->n_spare < p->max) {
                p->spare[p->n_spare][0] = sp->rfd;
                p->spare[p->n_spare][1] = sp->wfd;
                p->n_spare++;
        } else {
                close(sp->rfd);
                close(sp->wfd);
        }
        sp->rfd = sp->wfd = -1;
        sp->held = sp->cap = 0;
        sp->stalled = false;
        sp->prev = sp->next = NULL;
}

size_t pipe_pool_reclaim(struct pipe_pool *p, uint64_t now_ms) {
        struct splice_pipe *sp = p->lent, *next;
        size_t n = 0;

        for (; sp; sp = next) {
                next = sp->next;
                if (sp->held == 0 && now_ms - sp->last_ms >= SPLICE_QUIET_MS) {
                        sp->wanted = false;
                        pipe_pool_return(p, sp);
                        n++;
                }
        }
        return n;
}

ssize_t splice_in(struct splice_pipe *sp, int fd, uint64_t now_ms) {
        ssize_t n = splice(fd, NULL, sp->wfd, NULL, sp->cap - sp->held, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

        if (n < 0) {
                int r = -errno;
                /* A socket with bytes and a pipe with no free slot look alike: wait for a splice
                 * out before reading again, so that level-triggered EPOLLIN cannot spin. */
                if (r == -EAGAIN && sp->held > 0)
                        sp->stalled = true;
                return r;
        }
        sp->held += (size_t) n;
        if (n > 0)
                sp->last_ms = now_ms;
        return n;
}

ssize_t splice_out(struct splice_pipe *sp, int fd, uint64_t now_ms) {
        ssize_t n = splice(sp->rfd, NULL, fd, NULL, sp->held, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

        if (n < 0)
                return -errno;
        sp->held -= (size_t) n;
        if (n > 0) {
                sp->stalled = false;
                sp->last_ms = now_ms;
        }
        return n;
}
