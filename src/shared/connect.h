/* connect.h - connecting a TCP client, the way Python's socket.create_connection() does.
 * Nothing here logs, and nothing knows a program's options: failures come back as values. */
#pragma once

#include <netdb.h>
#include <stdbool.h>
#include <sys/socket.h>

/* Resolves host and port (a number or service name) for a TCP client. Returns 0 or an EAI_*
 * code; port errors come back as EAI_SERVICE. */
int connect_resolve(const char *host, const char *port, struct addrinfo **ret);

/* As connect_resolve(), for one family (AF_UNSPEC, AF_INET, AF_INET6) and socktype
 * (SOCK_STREAM, SOCK_DGRAM). */
int connect_resolve_for(const char *host, const char *port, int family, int socktype,
                        struct addrinfo **ret);

/* Starts connecting a new non-blocking, close-on-exec socket to ai. When source is not NULL the
 * socket is bound to it first, with IP_BIND_ADDRESS_NO_PORT so that the port is picked at
 * connect(), per destination. Returns the fd, with *pending true while the connection is still
 * in progress (wait for writability, then read SO_ERROR), or -errno; the caller owns the fd. */
int connect_start(const struct addrinfo *ai, const struct sockaddr *source, socklen_t source_len,
                  bool *pending);

/* Tries each result in turn, each for at most timeout_ms, and returns the first connected
 * socket (non-blocking, close-on-exec), or -errno of the last failure. */
int connect_first(const struct addrinfo *list, int timeout_ms);
