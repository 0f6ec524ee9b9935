/* epoll-echo.c - the reference for many clients: one thread, one level-triggered epoll loop.
 * Reads into one shared 64 KiB buffer and writes straight back; only what the socket does not
 * take is copied into storage of the connection's own, and then the connection waits for
 * EPOLLOUT instead of reading. Closes after the peer's EOF once everything went back.
 * Usage: epoll-echo PORT (listens on 127.0.0.1). Built by bench/run, not installed. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF (64 << 10)

struct conn {
        int fd;
        int eof;
        unsigned want;          /* what epoll watches now */
        char *pending;          /* bytes the socket did not take yet */
        size_t off, len;
};

static void conn_close(struct conn *c) {
        close(c->fd);
        free(c->pending);
        free(c);
}

int main(int argc, char **argv) {
        static char buf[BUF];
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        struct epoll_event ev, evs[256];
        int lfd, ep, one = 1;

        if (argc != 2) {
                fprintf(stderr, "usage: epoll-echo PORT\n");
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        sin.sin_port = htons((unsigned short) atoi(argv[1]));
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &sin, sizeof sin) < 0 || listen(lfd, SOMAXCONN) < 0) {
                perror("epoll-echo: listen");
                return 1;
        }
        ep = epoll_create1(0);
        ev = (struct epoll_event) { .events = EPOLLIN, .data.ptr = NULL };
        epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
        printf("listening on 127.0.0.1:%s\n", argv[1]);
        fflush(stdout);
        for (;;) {
                int n = epoll_wait(ep, evs, 256, -1);
                for (int i = 0; i < n; i++) {
                        struct conn *c = evs[i].data.ptr;
                        ssize_t k;

                        if (!c) {
                                int fd;
                                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                                        c = calloc(1, sizeof *c);
                                        if (!c) {
                                                close(fd);
                                                continue;
                                        }
                                        c->fd = fd;
                                        c->want = EPOLLIN;
                                        ev = (struct epoll_event) { .events = EPOLLIN, .data.ptr = c };
                                        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                                }
                                continue;
                        }
                        if (c->len > 0) {
                                k = write(c->fd, c->pending + c->off, c->len);
                                if (k < 0 && errno != EAGAIN) {
                                        conn_close(c);
                                        continue;
                                }
                                if (k > 0) {
                                        c->off += (size_t) k;
                                        c->len -= (size_t) k;
                                }
                                if (c->len == 0) {
                                        free(c->pending);
                                        c->pending = NULL;
                                }
                        } else if (!c->eof) {
                                k = read(c->fd, buf, BUF);
                                if (k < 0 && errno != EAGAIN) {
                                        conn_close(c);
                                        continue;
                                }
                                if (k == 0)
                                        c->eof = 1;
                                if (k > 0) {
                                        ssize_t w = write(c->fd, buf, (size_t) k);
                                        if (w < 0 && errno != EAGAIN) {
                                                conn_close(c);
                                                continue;
                                        }
                                        if (w < 0)
                                                w = 0;
                                        if (w < k) {
                                                c->pending = malloc((size_t) (k - w));
                                                if (!c->pending) {
                                                        conn_close(c);
                                                        continue;
                                                }
                                                memcpy(c->pending, buf + w, (size_t) (k - w));
                                                c->off = 0;
                                                c->len = (size_t) (k - w);
                                        }
                                }
                        }
                        if (c->len == 0 && c->eof) {
                                conn_close(c);
                                continue;
                        }
                        if (c->want != (c->len ? EPOLLOUT : EPOLLIN)) {
                                c->want = c->len ? EPOLLOUT : EPOLLIN;
                                ev = (struct epoll_event) { .events = c->want, .data.ptr = c };
                                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                        }
                }
        }
}
