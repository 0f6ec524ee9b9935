/* activation.c - see activation.h. sd-daemon does the protocol; this file only checks that
 * what arrived is something echod can serve, and says exactly what is wrong when it is not. */
#include "activation.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "address.h"
#include "log.h"
#include "number.h"

/* sd_listen_fds_with_names() says "unknown" when the manager gave no names. */
static bool fd_named(const char *name) {
        return name && *name && strcmp(name, "unknown") != 0;
}

int fd_socket_type(int fd) {
        int type = 0;
        socklen_t len = sizeof type;

        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
                return -errno;
        return type;
}

bool fd_is_blocking(int fd) {
        int flags = fcntl(fd, F_GETFL);

        return flags >= 0 && !(flags & O_NONBLOCK);
}

static bool socket_is_connected(int fd) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;

        return getpeername(fd, (struct sockaddr *) &peer, &len) == 0;
}

const char *fd_describe(int fd) {
        struct stat st;

        if (fcntl(fd, F_GETFD) < 0)
                return "not open";
        if (fstat(fd, &st) < 0)
                return "not inspectable";
        switch (st.st_mode & S_IFMT) {
        case S_IFREG:  return "a regular file";
        case S_IFIFO:  return "a pipe";
        case S_IFCHR:  return "a character device";
        case S_IFDIR:  return "a directory";
        case S_IFBLK:  return "a block device";
        case S_IFSOCK: return "a socket";
        default:       return "not a socket";
        }
}

static const char *protocol_name(int proto, char *buf, size_t size) {
        switch (proto) {
        case IPPROTO_UDPLITE: return "UDP-Lite";
        case IPPROTO_ICMP:    return "ICMP (a ping socket)";
        case IPPROTO_ICMPV6:  return "ICMPv6 (a ping socket)";
        default:
                snprintf(buf, size, "protocol %d", proto);
                return buf;
        }
}

/* A datagram socket is served only as UDP, bound to a port and not connected: anything else
 * would be answered as UDP echo without being one, or could not be reached by any client. */
static int datagram_fd_check(int fd, const char *label) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa, plen;
        char host[NI_MAXHOST], port[NI_MAXSERV], buf[32];
        int proto = 0;

        plen = sizeof proto;
        if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &plen) < 0)
                return log_errno(-errno, "cannot inspect inherited fd %d%s", fd, label);
        if (proto != IPPROTO_UDP) {
                log_error("inherited fd %d%s is a datagram socket of %s, not UDP: echod serves UDP only",
                          fd, label, protocol_name(proto, buf, sizeof buf));
                return -EPROTONOSUPPORT;
        }
        if (getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
                return log_errno(-errno, "cannot inspect inherited fd %d%s", fd, label);
        sockaddr_numeric((struct sockaddr *) &sa, len, host, port);
        if (strcmp(port, "0") == 0) {
                log_error("inherited fd %d%s is a UDP socket bound to no port: no client can reach it",
                          fd, label);
                return -EDESTADDRREQ;
        }
        len = sizeof sa;
        if (getpeername(fd, (struct sockaddr *) &sa, &len) == 0) {
                sockaddr_numeric((struct sockaddr *) &sa, len, host, port);
                log_error("inherited fd %d%s is a UDP socket connected to %s port %s: echod needs an "
                          "unconnected one that any client can reach", fd, label, host, port);
                return -EISCONN;
        }
        return 0;
}

static int fd_check(int fd, const char *name) {
        char label[300] = "";
        int listening;

        if (fd_named(name))
                snprintf(label, sizeof label, " (%s)", name);

        if (sd_is_socket(fd, AF_UNSPEC, 0, -1) <= 0) {
                log_error("inherited fd %d%s is %s, not a socket", fd, label, fd_describe(fd));
                return -ENOTSOCK;
        }
        if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_DGRAM, -1, 0) > 0)
                return datagram_fd_check(fd, label);
        if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, -1, 0) <= 0 &&
            sd_is_socket_unix(fd, SOCK_STREAM, -1, NULL, 0) <= 0) {
                log_error("inherited fd %d%s is a socket echod cannot serve "
                          "(want a TCP, UDP or AF_UNIX stream socket)", fd, label);
                return -EPROTONOSUPPORT;
        }
        listening = sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1);
        if (listening <= 0 && !socket_is_connected(fd)) {
                log_error("inherited fd %d%s is a stream socket that is neither listening nor connected",
                          fd, label);
                return -ENOTCONN;
        }
        return 0;
}

/* Logs where a passed listening or datagram socket listens, as the seed's "starting up on" line
 * does for the sockets echod binds itself. A connected socket is a client: nothing to say. */
static void fd_announce(int fd, const char *name) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        char host[NI_MAXHOST], port[NI_MAXSERV], label[300];
        int type = fd_socket_type(fd);

        if (type < 0 || getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
                return;
        if (type == SOCK_STREAM && sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0)
                return;
        snprintf(label, sizeof label, "fd %d%s%s%s", fd, type == SOCK_DGRAM ? ", UDP" : "",
                 fd_named(name) ? ", " : "", fd_named(name) ? name : "");
        if (sa.ss_family == AF_UNIX) {
                sockaddr_pytuple((struct sockaddr *) &sa, len, host, sizeof host);
                log_info("starting up on %s (%s)", host, label);
                return;
        }
        sockaddr_numeric((struct sockaddr *) &sa, len, host, port);
        log_info("starting up on %s port %s (%s)", host, port, label);
}

/* sd_listen_fds() quietly ignores LISTEN_FDS meant for another process; echod says so instead,
 * since a stray LISTEN_FDS is always a mistake in how it was started. */
int listen_env_check(const char *pid, const char *fds, const char *names, long self,
                     char *why, size_t size) {
        unsigned long long p, n, fields = 1;
        size_t len = 0;

        if (!fds && !pid && !names)
                return 0;
        if (!fds || !pid) {
                snprintf(why, size, "%s is set but %s is not", fds ? "LISTEN_FDS" : pid ? "LISTEN_PID" : "LISTEN_FDNAMES",
                         fds ? "LISTEN_PID" : "LISTEN_FDS");
                return -EINVAL;
        }
        if (parse_unsigned(pid, 1, INT32_MAX, &p) < 0) {
                snprintf(why, size, "LISTEN_PID='%.64s' is not a process id", pid);
                return -EINVAL;
        }
        if (p != (unsigned long long) self) {
                snprintf(why, size, "LISTEN_PID=%llu is not this process (%ld): sockets meant for another process",
                         p, self);
                return -EINVAL;
        }
        if (parse_unsigned(fds, 0, ACTIVATION_FDS_MAX, &n) < 0) {
                snprintf(why, size, "LISTEN_FDS='%.64s' is not a number from 0 to %d", fds, ACTIVATION_FDS_MAX);
                return -EINVAL;
        }
        if (!names)
                return (int) n;
        /* One name per fd, each as systemd's FileDescriptorName= allows: 1-255 printable bytes. */
        for (const unsigned char *c = (const unsigned char *) names; *c; c++) {
                if (*c == ':') {
                        fields++;
                        len = 0;
                        continue;
                }
                if (*c < 0x20 || *c == 0x7f) {
                        snprintf(why, size, "LISTEN_FDNAMES holds a control character (0x%02x)", *c);
                        return -EINVAL;
                }
                if (++len > 255) {
                        snprintf(why, size, "LISTEN_FDNAMES holds a name longer than 255 bytes");
                        return -EINVAL;
                }
        }
        if (!*names)
                fields = 0;
        if (fields != n) {
                snprintf(why, size, "LISTEN_FDNAMES does not give one name to each of the %llu passed fds "
                         "('%.64s%s' has %llu)", n, names, strlen(names) > 64 ? "..." : "", fields);
                return -EINVAL;
        }
        return (int) n;
}

int activation_collect(bool inetd, int **ret_fds) {
        char **names = NULL, why[256];
        int *fds = NULL, listen_fds, n, r;

        if (inetd) {
                r = fd_check(STDIN_FILENO, "stdin, where --inetd expects the socket");
                if (r < 0)
                        return r;
                fds = malloc(sizeof *fds);
                if (!fds)
                        return log_errno(-ENOMEM, "cannot collect sockets");
                fds[0] = STDIN_FILENO;
                fd_announce(STDIN_FILENO, "inetd");
                *ret_fds = fds;
                return 1;
        }

        listen_fds = listen_env_check(getenv("LISTEN_PID"), getenv("LISTEN_FDS"), getenv("LISTEN_FDNAMES"),
                                      (long) getpid(), why, sizeof why);
        if (listen_fds < 0) {
                log_error("%s", why);
                return listen_fds;
        }
        if (listen_fds == 0)
                return 0;
        /* sd_listen_fds() fails with a bare EBADF on an fd that is not open: name it first. */
        for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + listen_fds; fd++)
                if (fcntl(fd, F_GETFD) < 0) {
                        log_error("inherited fd %d is not open, but LISTEN_FDS=%d says it was passed",
                                  fd, listen_fds);
                        return -EBADF;
                }
        n = sd_listen_fds_with_names(1, &names);
        if (n == -EINVAL)
                return log_errno(n, "LISTEN_FDNAMES does not give one name to each of the %d passed fds",
                                 listen_fds);
        if (n < 0)
                return log_errno(n, "cannot read the sockets passed by the service manager");
        if (n == 0)
                goto done;
        fds = calloc((size_t) n, sizeof *fds);
        if (!fds) {
                n = log_errno(-ENOMEM, "cannot collect sockets");
                goto done;
        }
        for (int i = 0; i < n; i++) {
                fds[i] = SD_LISTEN_FDS_START + i;
                r = fd_check(fds[i], names ? names[i] : NULL);
                if (r < 0) {
                        free(fds);
                        fds = NULL;
                        n = r;
                        goto done;
                }
        }
        for (int i = 0; i < n; i++)
                fd_announce(fds[i], names ? names[i] : NULL);
        *ret_fds = fds;
done:
        if (names)
                for (char **p = names; *p; p++)
                        free(*p);
        free(names);
        return n;
}

int activation_take_connected(int *fds, size_t *n_fds, int *ret_connected) {
        for (size_t i = 0; i < *n_fds; i++) {
                int listening = 1, type = fd_socket_type(fds[i]);
                socklen_t len = sizeof listening;

                if (type < 0)
                        return log_errno(type, "cannot inspect inherited fd %d", fds[i]);
                if (getsockopt(fds[i], SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
                        return log_errno(-errno, "cannot inspect inherited fd %d", fds[i]);
                if (type != SOCK_STREAM || listening)
                        continue;
                if (*n_fds > 1) {
                        log_error("inherited fd %d is a connected socket, but %zu sockets were passed: "
                                  "Accept=yes passes exactly one", fds[i], *n_fds);
                        return -EINVAL;
                }
                *ret_connected = fds[i];
                *n_fds = 0;
        }
        return 0;
}

bool activation_any_blocking_listener(const int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (fd_socket_type(fds[i]) == SOCK_STREAM && fd_is_blocking(fds[i]))
                        return true;
        return false;
}

int inetd_detach_stdio(void) {
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        close(fd);
        return 0;
}
