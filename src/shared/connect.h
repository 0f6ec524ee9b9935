/* connect.h - connecting the way Python's socket.create_connection() does. */
#pragma once

#include <netdb.h>

/* Resolves host and port (a number or service name) for a TCP client. Returns 0 or an EAI_*
 * code; port errors come back as EAI_SERVICE. */
int client_resolve(const char *host, const char *port, struct addrinfo **ret);

/* Tries each result in turn, each for at most timeout_ms, and returns the first connected
 * socket (non-blocking, close-on-exec), or -errno of the last failure. */
int client_connect(const struct addrinfo *list, int timeout_ms);
