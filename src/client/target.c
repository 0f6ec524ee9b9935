/* target.c - what echo-client talks to: host and port resolved to a list of numeric addresses,
 * each tried once, in the resolver's order. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client.h"
#include "connect.h"
#include "log.h"

/* glibc answers an AF_INET query with 127.0.0.1 for a "::1 name" line of /etc/hosts too: an
 * address tried once is enough. */
static bool addr_listed(const struct target *t, size_t n, const struct addrinfo *ai) {
        for (size_t i = 0; i < n; i++)
                if (t->addrs[i].ai->ai_addrlen == ai->ai_addrlen &&
                    memcmp(t->addrs[i].ai->ai_addr, ai->ai_addr, ai->ai_addrlen) == 0)
                        return true;
        return false;
}

int target_resolve(const struct client_config *c, int socktype, struct target *t) {
        size_t i = 0;
        int r;

        *t = (struct target) { 0 };
        r = connect_resolve_for(c->host, c->port, c->family, socktype, &t->list);
        if (r != 0) {
                if (r == EAI_SERVICE)
                        log_error("unknown port or service '%s'", c->port);
                else if (c->family != AF_UNSPEC && (r == EAI_NONAME || r == EAI_ADDRFAMILY || r == EAI_NODATA))
                        log_error("cannot resolve '%s' to an %s address: %s", c->host,
                                  c->family == AF_INET ? "IPv4" : "IPv6", gai_strerror(r));
                else
                        log_error("cannot resolve '%s': %s", c->host, gai_strerror(r));
                t->list = NULL;
                return EXIT_CONNECT;
        }
        for (const struct addrinfo *ai = t->list; ai; ai = ai->ai_next)
                t->n++;
        t->addrs = calloc(t->n, sizeof *t->addrs);
        if (!t->addrs) {
                log_error("out of memory");
                return EXIT_BROKEN;
        }
        for (const struct addrinfo *ai = t->list; ai; ai = ai->ai_next) {
                char host[NI_MAXHOST], port[NI_MAXSERV];

                if (addr_listed(t, i, ai))
                        continue;
                sockaddr_numeric(ai->ai_addr, ai->ai_addrlen, host, port);
                t->addrs[i].ai = ai;
                /* Numeric: at most INET6_ADDRSTRLEN with a scope, and five digits. */
                memcpy(t->addrs[i].name, host, strnlen(host, sizeof t->addrs[i].name - 1));
                memcpy(t->addrs[i].port, port, strnlen(port, sizeof t->addrs[i].port - 1));
                i++;
        }
        t->n = i;
        return 0;
}

void target_clear(struct target *t) {
        free(t->addrs);
        if (t->list)
                freeaddrinfo(t->list);
        *t = (struct target) { 0 };
}
