/* connect.h - connecting the way Python's socket.create_connection() does. */
#pragma once

#include <netdb.h>

/* Resolves host and port (a number or service name) for a TCP client. Returns 0 or an EAI_*
 * code; port errors come back as EAI_SERVICE. */
int client_resolve(const char *host, const char *port, struct addrinfo **ret);

/* Tries each result in turn, each for at most timeout_ms, and returns the first connected
 * socket (non-blocking, close-on-exec), or -errno of the last failure. */
int client_connect(const struct addrinfo *list, int timeout_ms);

/* As client_resolve(), for a family (AF_UNSPEC, AF_INET, AF_INET6) and socktype (SOCK_STREAM,
 * SOCK_DGRAM). */
int client_resolve_hints(const char *host, const char *port, int family, int socktype,
                         struct addrinfo **ret);

/* Connects to one address, for at most timeout_ms; as client_connect() otherwise. */
int client_connect_addr(const struct addrinfo *ai, int timeout_ms);

/* Starts a non-blocking connect to ai. Returns the socket (non-blocking, close-on-exec), whose
 * connection is established or in progress (wait for POLLOUT, then client_connect_result()),
 * or -errno. */
int client_connect_start(const struct addrinfo *ai);

/* Once a socket from client_connect_start() is writable: 0 if connected, or -errno why not. */
int client_connect_result(int fd);
