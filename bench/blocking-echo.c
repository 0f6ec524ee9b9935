/* blocking-echo.c - the reference for one stream: one client at a time, blocking read and write
 * of a 256 KiB buffer. What one connection can get through loopback with the least work.
 * Usage: blocking-echo PORT (listens on 127.0.0.1). Built by bench/run, not installed. */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
        static char buf[256 << 10];
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int lfd, one = 1;

        if (argc != 2) {
                fprintf(stderr, "usage: blocking-echo PORT\n");
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        sin.sin_port = htons((unsigned short) atoi(argv[1]));
        lfd = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &sin, sizeof sin) < 0 || listen(lfd, SOMAXCONN) < 0) {
                perror("blocking-echo: listen");
                return 1;
        }
        printf("listening on 127.0.0.1:%s\n", argv[1]);
        fflush(stdout);
        for (;;) {
                int fd = accept(lfd, NULL, NULL);
                ssize_t n;

                if (fd < 0)
                        continue;
                while ((n = read(fd, buf, sizeof buf)) > 0) {
                        for (ssize_t off = 0, w; off < n; off += w) {
                                w = write(fd, buf + off, (size_t) (n - off));
                                if (w < 0)
                                        goto done;
                        }
                }
done:
                close(fd);
        }
}
