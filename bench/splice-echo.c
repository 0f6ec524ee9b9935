/* splice-echo.c - the zero-copy reference for one stream: one client at a time, blocking
 * splice() from the socket into a 256 KiB pipe and from the pipe back into the socket, so that
 * the bytes never enter user memory. What echod's splice path is measured against.
 * Usage: splice-echo PORT (listens on 127.0.0.1). Built by bench/run, not installed. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define PIPE_BYTES (256 << 10)

int main(int argc, char **argv) {
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int lfd, one = 1, p[2];

        if (argc != 2) {
                fprintf(stderr, "usage: splice-echo PORT\n");
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        sin.sin_port = htons((unsigned short) atoi(argv[1]));
        lfd = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &sin, sizeof sin) < 0 || listen(lfd, SOMAXCONN) < 0) {
                perror("splice-echo: listen");
                return 1;
        }
        if (pipe2(p, O_CLOEXEC) < 0) {
                perror("splice-echo: pipe");
                return 1;
        }
        (void) fcntl(p[1], F_SETPIPE_SZ, PIPE_BYTES);
        printf("listening on 127.0.0.1:%s\n", argv[1]);
        fflush(stdout);
        for (;;) {
                int fd = accept(lfd, NULL, NULL);
                int dirty = 0;
                ssize_t n;

                if (fd < 0)
                        continue;
                while ((n = splice(fd, NULL, p[1], NULL, PIPE_BYTES, SPLICE_F_MOVE)) > 0) {
                        for (ssize_t off = 0, w; off < n; off += w) {
                                w = splice(p[0], NULL, fd, NULL, (size_t) (n - off), SPLICE_F_MOVE);
                                if (w <= 0) {
                                        dirty = 1;
                                        goto done;
                                }
                        }
                }
done:
                close(fd);
                if (!dirty)
                        continue;
                /* What a failed write left in the pipe must not go to the next client. */
                close(p[0]);
                close(p[1]);
                if (pipe2(p, O_CLOEXEC) < 0) {
                        perror("splice-echo: pipe");
                        return 1;
                }
                (void) fcntl(p[1], F_SETPIPE_SZ, PIPE_BYTES);
        }
}
