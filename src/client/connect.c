/* connect.c - see connect.h. */
#include "connect.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

int client_resolve(const char *host, const char *port, struct addrinfo **ret) {
        return client_resolve_hints(host, port, AF_UNSPEC, SOCK_STREAM, ret);
}

int client_resolve_hints(const char *host, const char *port, int family, int socktype,
                         struct addrinfo **ret) {
        struct addrinfo hints = { .ai_family = family, .ai_socktype = socktype };

        return getaddrinfo(host, port, &hints, ret);
}

int client_connect_start(const struct addrinfo *ai) {
        int fd, r;

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0)
                return -errno;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
                r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int client_connect_result(int fd) {
        int err = 0;
        socklen_t len = sizeof err;

        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                return -errno;
        return -err;
}

static int connect_one(const struct addrinfo *ai, int timeout_ms) {
        struct pollfd p;
        int fd, err = 0, r;
        socklen_t len = sizeof err;

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0)
                return -errno;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
                if (errno != EINPROGRESS)
                        goto fail;
                p = (struct pollfd) { .fd = fd, .events = POLLOUT };
                do
                        r = poll(&p, 1, timeout_ms);
                while (r < 0 && errno == EINTR);
                if (r == 0)
                        errno = ETIMEDOUT;
                if (r <= 0)
                        goto fail;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                        goto fail;
                if (err != 0) {
                        errno = err;
                        goto fail;
                }
        }
        return fd;
fail:
        r = -errno;
        close(fd);
        return r;
}

int client_connect(const struct addrinfo *list, int timeout_ms) {
        int r = -EHOSTUNREACH;

        for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
                r = connect_one(ai, timeout_ms);
                if (r >= 0)
                        return r;
        }
        return r;
}

int client_connect_addr(const struct addrinfo *ai, int timeout_ms) {
        return connect_one(ai, timeout_ms);
}
