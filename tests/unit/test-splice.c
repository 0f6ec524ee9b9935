/* test-splice - the pipe pool's bounds and reuse, and bytes through a pipe far smaller than the
 * stream, in order, over a socketpair. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "splice.h"

static int failures;

#define FAIL(...) do { printf("FAIL: " __VA_ARGS__); printf("\n"); failures++; return; } while (0)

static bool fd_open(int fd) {
        return fcntl(fd, F_GETFD) >= 0;
}

static void pool_bounds(void) {
        struct pipe_pool pool;
        struct splice_pipe a, b, c;
        int a_rfd;

        if (pipe_pool_init(&pool, 2, 4096) < 0)
                FAIL("init");
        splice_pipe_init(&a);
        splice_pipe_init(&b);
        splice_pipe_init(&c);
        if (pipe_pool_lend(&pool, &a, 0) < 0 || pipe_pool_lend(&pool, &b, 0) < 0)
                FAIL("lend two of two");
        if (!splice_pipe_active(&a) || a.cap != 4096)
                FAIL("a lent pipe holds its size: cap %zu", a.cap);
        if (pipe_pool_lend(&pool, &c, 0) != -EAGAIN || splice_pipe_active(&c))
                FAIL("a third pipe from a pool of two");
        a_rfd = a.rfd;
        pipe_pool_return(&pool, &a);
        if (splice_pipe_active(&a) || pool.n_spare != 1 || !fd_open(a_rfd))
                FAIL("an empty pipe is kept for reuse");
        if (pipe_pool_lend(&pool, &c, 0) < 0 || c.rfd != a_rfd)
                FAIL("the spare pipe is lent again");
        /* A pipe that still holds bytes is closed, never lent to the next connection. */
        c.held = 1;
        pipe_pool_return(&pool, &c);
        if (fd_open(a_rfd) || pool.n_spare != 0 || pool.n_lent != 1)
                FAIL("a pipe with bytes in it is closed");
        if (pipe_pool_lend(&pool, &c, 0) < 0)
                FAIL("a new pipe in place of the closed one");
        /* Reclaim: empty and quiet goes back; one holding bytes stays. */
        b.held = 5;
        c.wanted = true;
        pipe_pool_reclaim(&pool, SPLICE_QUIET_MS - 1);
        if (!splice_pipe_active(&c))
                FAIL("reclaimed before the quiet time");
        pipe_pool_reclaim(&pool, SPLICE_QUIET_MS);
        if (splice_pipe_active(&c) || c.wanted || !splice_pipe_active(&b))
                FAIL("reclaim: the quiet empty pipe goes back, the one with bytes stays");
        b.held = 0;
        pipe_pool_return(&pool, &b);
        if (pool.n_lent != 0 || pool.n_spare != 2)
                FAIL("every pipe back: %zu lent, %zu spare", pool.n_lent, pool.n_spare);
        pipe_pool_finish(&pool);

        if (pipe_pool_init(&pool, 0, 4096) < 0 || pipe_pool_lend(&pool, &a, 0) != -EAGAIN)
                FAIL("a pool of none lends none");
        pipe_pool_finish(&pool);
}

/* The echo of a stream 256 times the pipe's size: sent on sv[0], spliced in and out on sv[1]. */
static void stream_through_small_pipe(size_t pipe_size) {
        struct pipe_pool pool;
        struct splice_pipe p;
        size_t total = pipe_size * 256, sent = 0, got = 0, max_held = 0;
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0 || pipe_pool_init(&pool, 1, pipe_size) < 0)
                FAIL("setup");
        splice_pipe_init(&p);
        if (pipe_pool_lend(&pool, &p, 0) < 0)
                FAIL("lend");
        if (p.cap > pipe_size)
                FAIL("cap %zu over the size %zu", p.cap, pipe_size);
        for (int steps = 0; got < total && steps < 1000000; steps++) {
                uint8_t buf[3001];
                ssize_t n;

                if (sent < total) {
                        size_t want = total - sent < sizeof buf ? total - sent : sizeof buf;
                        for (size_t i = 0; i < want; i++)
                                buf[i] = (uint8_t) ((sent + i) % 251);
                        n = write(sv[0], buf, want);
                        if (n > 0)
                                sent += (size_t) n;
                        if (sent == total)
                                shutdown(sv[0], SHUT_WR);
                }
                if (splice_pipe_has_room(&p)) {
                        n = splice_in(&p, sv[1], 0);
                        if (n < 0 && n != -EAGAIN)
                                FAIL("splice_in: %s", strerror((int) -n));
                }
                if (p.held > max_held)
                        max_held = p.held;
                if (p.held > 0) {
                        n = splice_out(&p, sv[1], 0);
                        if (n < 0 && n != -EAGAIN)
                                FAIL("splice_out: %s", strerror((int) -n));
                }
                n = read(sv[0], buf, sizeof buf);
                for (ssize_t i = 0; i < n; i++, got++)
                        if (buf[i] != (uint8_t) (got % 251))
                                FAIL("byte %zu differs", got);
        }
        if (got != total)
                FAIL("%zu of %zu bytes came back", got, total);
        if (max_held > p.cap || max_held == 0)
                FAIL("the pipe held %zu, its cap is %zu", max_held, p.cap);
        /* End of stream: the half-close comes through as 0. */
        if (splice_in(&p, sv[1], 0) != 0)
                FAIL("end of stream after the last byte");
        pipe_pool_return(&pool, &p);
        pipe_pool_finish(&pool);
        close(sv[0]);
        close(sv[1]);
}

static void fd_budget(void) {
        if (splice_pipes_for_fds(32, 20000) != 32 || splice_pipes_for_fds(32, 1024) != 16 ||
            splice_pipes_for_fds(32, 48) != 0 || splice_pipes_for_fds(2, 20000) != 2)
                FAIL("splice_pipes_for_fds");
}

int main(void) {
        pool_bounds();
        stream_through_small_pipe(4096);
        stream_through_small_pipe(1024);        /* less than a page: cap, not the pipe, bounds it */
        stream_through_small_pipe(65536);
        fd_budget();
        if (failures)
                printf("%d failures\n", failures);
        else
                printf("ok\n");
        return failures ? 1 : 0;
}
