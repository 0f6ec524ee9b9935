/* connect.c - see connect.h. */
#include "connect.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

int connect_resolve(const char *host, const char *port, struct addrinfo **ret) {
        return connect_resolve_for(host, port, AF_UNSPEC, SOCK_STREAM, ret);
}

int connect_resolve_for(const char *host, const char *port, int family, int socktype,
                        struct addrinfo **ret) {
        struct addrinfo hints = { .ai_family = family, .ai_socktype = socktype };

        return getaddrinfo(host, port, &hints, ret);
}

int connect_start(const struct addrinfo *ai, const struct sockaddr *source, socklen_t source_len,
                  bool *pending) {
        int fd, r;

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0)
                return -errno;
        if (source) {
                int one = 1;

                (void) setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
                if (bind(fd, source, source_len) < 0)
                        goto fail;
        }
        *pending = false;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
                if (errno != EINPROGRESS)
                        goto fail;
                *pending = true;
        }
        return fd;
fail:
        r = -errno;
        close(fd);
        return r;
}

/* Waits up to timeout_ms for fd's connection to complete. Returns 0 or -errno. */
static int connect_wait(int fd, int timeout_ms) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int err = 0, r;
        socklen_t len = sizeof err;

        do
                r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;
        if (r == 0)
                return -ETIMEDOUT;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                return -errno;
        return -err;
}

int connect_first(const struct addrinfo *list, int timeout_ms) {
        int r = -EHOSTUNREACH;

        for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
                bool pending;
                int fd = connect_start(ai, NULL, 0, &pending);

                if (fd < 0) {
                        r = fd;
                        continue;
                }
                r = pending ? connect_wait(fd, timeout_ms) : 0;
                if (r == 0)
                        return fd;
                close(fd);
        }
        return r;
}
