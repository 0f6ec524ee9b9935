/* address.h - "HOST:PORT" strings, name resolution and listening sockets. Nothing here logs:
 * failures come back as values, with a reason where the caller needs one. */
#pragma once

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define ADDRESS_HOST_MAX 256

/* The seed's address: where echod listens and echo-client connects when given none. */
#define ADDRESS_DEFAULT_HOST "localhost"
#define ADDRESS_DEFAULT_PORT "10000"

struct address {
        char host[ADDRESS_HOST_MAX];    /* "" means every address of the machine */
        char port[6];                   /* decimal, 1..65535 */
        bool bracketed;                 /* written as [IPv6] */
        bool numeric;                   /* an IPv4 or IPv6 literal: resolved with AI_NUMERICHOST */
};

/* Parses HOST:PORT, [IPv6]:PORT, [IPv6], HOST, :PORT, *:PORT, * or a bare IPv6 literal into *a;
 * a missing port is default_port. PORT is a number 1-65535 or a TCP service name (getservbyname).
 * An IPv6 literal may carry a zone (fe80::1%lo); an IPv4-mapped one is refused (it can never
 * be listened on), as are IPv4 literals not in dotted decimal (127.1, 0x7f.1); "0" is 0.0.0.0.
 * Returns 0, -EINVAL with *why saying what is malformed, or -ENOENT with *why for a service
 * name that /etc/services lacks (a name that does not resolve, as for a host). */
int address_parse(const char *s, const char *default_port, struct address *a, const char **why);

/* True for a service name as /etc/services spells them: letters, digits, '-', '_' and '.', not
 * empty (getaddrinfo() and getservbyname() would also take " 80" or ""). */
bool service_name_valid(const char *s);

/* Parses a PORT alone (number 1-65535 or service name) into out[6]. Returns 0, -EINVAL with
 * *why, or -ENOENT with *why for an unknown service name. */
int port_parse(const char *s, const char *proto, char out[6], const char **why);

/* True for "localhost", "localhost." and names ending in ".localhost" (RFC 6761), any case. */
bool host_is_localhost(const char *host);

/* Resolves a for a passive socket of socktype (all results, duplicates removed); a localhost
 * name is ::1 and 127.0.0.1, whatever /etc/hosts says. Returns 0, or a getaddrinfo EAI_* code
 * (nonzero) with *ret untouched; free the list with freeaddrinfo(). */
int address_resolve(const struct address *a, int socktype, struct addrinfo **ret);

/* Creates, binds and listens on a non-blocking, close-on-exec stream socket for ai, with
 * SO_REUSEADDR and, for IPv6, IPV6_V6ONLY. Returns the fd or -errno. */
int socket_listen(const struct addrinfo *ai);

/* Writes the numeric host and port of sa into host[NI_MAXHOST] and port[NI_MAXSERV]. */
void sockaddr_numeric(const struct sockaddr *sa, socklen_t len, char *host, char *port);

/* Formats sa as Python shows a socket address: ('127.0.0.1', 5000), ('::1', 5000, 0, 0), or for
 * AF_UNIX the path in quotes ('' for an unnamed peer, '@name' for an abstract one). */
void sockaddr_pytuple(const struct sockaddr *sa, socklen_t len, char *out, size_t size);
