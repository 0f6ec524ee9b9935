/* sockets.c - see sockets.h. */
#include "sockets.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "activation.h"
#include "address.h"
#include "log.h"

static int fds_append(struct sockets *so, int fd) {
        int *n = realloc(so->fds, (so->n_fds + 1) * sizeof *n);

        if (!n)
                return -ENOMEM;
        so->fds = n;
        so->fds[so->n_fds++] = fd;
        return 0;
}

/* Binds every getaddrinfo result of one ADDRESS argument. Returns 0 or an EXIT_* status. */
static int bind_address(struct sockets *so, const char *arg, bool given) {
        struct addrinfo *list = NULL;
        struct address a;
        const char *why;
        size_t bound = 0;
        int r, status = EXIT_OK;

        r = address_parse(arg, ADDRESS_DEFAULT_PORT, &a, &why);
        if (r == -ENOENT) {
                log_error("cannot resolve '%s': %s", arg, why);
                return EXIT_RESOLVE;
        }
        if (r < 0) {
                log_error("invalid address '%s': %s", arg, why);
                return EXIT_USAGE;
        }
        r = address_resolve(&a, SOCK_STREAM, &list);
        if (r != 0) {
                log_error("cannot resolve '%s': %s", a.host[0] ? a.host : arg, gai_strerror(r));
                return r == EAI_SYSTEM ? EXIT_RUNTIME : EXIT_RESOLVE;
        }
        for (struct addrinfo *ai = list; ai; ai = ai->ai_next) {
                char host[NI_MAXHOST], port[NI_MAXSERV];
                int fd;

                sockaddr_numeric(ai->ai_addr, ai->ai_addrlen, host, port);
                fd = socket_listen(ai);
                /* Like nc's local_listen: a family this machine lacks (no ::1) is skipped. */
                if ((fd == -EADDRNOTAVAIL || fd == -EAFNOSUPPORT) && (ai->ai_next || bound > 0))
                        continue;
                if (fd < 0) {
                        log_errno(fd, "cannot listen on %s port %s", host, port);
                        status = EXIT_BIND;
                        break;
                }
                /* Accepted sockets inherit TCP_NODELAY: no setsockopt() per connection. With
                 * TCP_DEFER_ACCEPT a client is accepted with its first bytes, which are read at
                 * once (no epoll round trip); one that sends nothing after about a second. */
                (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int) { 1 }, sizeof(int));
                (void) setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &(int) { 1 }, sizeof(int));
                if (fds_append(so, fd) < 0) {
                        close(fd);
                        log_errno(-ENOMEM, "cannot listen on %s port %s", host, port);
                        status = EXIT_RUNTIME;
                        break;
                }
                bound++;
                log_info("starting up on %s port %s", given && a.host[0] && !a.numeric ? a.host : host, port);
        }
        freeaddrinfo(list);
        return status;
}

static int bind_standalone(struct sockets *so, const struct config *c) {
        if (c->n_addresses == 0)
                return bind_address(so, ADDRESS_DEFAULT_HOST, true);
        for (size_t i = 0; i < c->n_addresses; i++) {
                int status = bind_address(so, c->addresses[i], true);
                if (status != EXIT_OK)
                        return status;
        }
        return EXIT_OK;
}

int sockets_get(struct sockets *so, const struct config *c) {
        int r, n;

        n = activation_collect(c->inetd, &so->fds);
        if (n < 0)
                return EXIT_ACTIVATION;
        so->n_fds = (size_t) n;
        r = activation_take_connected(so->fds, &so->n_fds, &so->connected_fd);
        if (r < 0)
                return EXIT_ACTIVATION;
        if (n > 0 && c->n_addresses > 0) {
                log_error("addresses on the command line cannot be combined with sockets passed by "
                          "the service manager (LISTEN_FDS)");
                return EXIT_USAGE;
        }
        if (c->inetd) {
                r = inetd_detach_stdio();
                if (r < 0) {
                        log_errno(r, "cannot detach fds 1 and 2 from the inetd socket");
                        return EXIT_RUNTIME;
                }
        }
        if (n > 0)
                return EXIT_OK;
        so->bound_here = true;
        return bind_standalone(so, c);
}

size_t sockets_streams_first(struct sockets *so) {
        size_t n_stream = 0;

        for (size_t i = 0; i < so->n_fds; i++) {
                int fd = so->fds[i];

                if (fd_socket_type(fd) != SOCK_STREAM)
                        continue;
                memmove(so->fds + n_stream + 1, so->fds + n_stream, (i - n_stream) * sizeof *so->fds);
                so->fds[n_stream++] = fd;
        }
        return n_stream;
}

void sockets_close(struct sockets *so) {
        if (so->connected_fd >= 0)
                close(so->connected_fd);
        for (size_t i = 0; i < so->n_fds; i++)
                close(so->fds[i]);
        free(so->fds);
        *so = (struct sockets) SOCKETS_INIT;
}
