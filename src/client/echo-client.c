/* echo-client.c - main(): the options, then the seed's exchange (exchange.c: the seed's message,
 * -m, -f) or the probe (probe.c); and what those share: error lines, the clock, resolving. */
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client.h"
#include "connect.h"
#include "line.h"

void fail_line(const char *fmt, ...) {
        char raw[1024], msg[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        line_defuse(msg, sizeof msg, raw);
        fflush(stdout);
        fprintf(stderr, "echo-client: %s\n", msg);
}

const char *reason(int err) {
        static char buf[128];

        snprintf(buf, sizeof buf, "%s", strerror(err));
        buf[0] = (char) (buf[0] >= 'A' && buf[0] <= 'Z' ? buf[0] + 32 : buf[0]);
        return buf;
}

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
                        fail_line("unknown port or service '%s'", c->port);
                else if (c->family != AF_UNSPEC && (r == EAI_NONAME || r == EAI_ADDRFAMILY || r == EAI_NODATA))
                        fail_line("cannot resolve '%s' to an %s address: %s", c->host,
                                  c->family == AF_INET ? "IPv4" : "IPv6", gai_strerror(r));
                else
                        fail_line("cannot resolve '%s': %s", c->host, gai_strerror(r));
                t->list = NULL;
                return EXIT_CONNECT;
        }
        for (const struct addrinfo *ai = t->list; ai; ai = ai->ai_next)
                t->n++;
        t->addrs = calloc(t->n, sizeof *t->addrs);
        if (!t->addrs) {
                fail_line("out of memory");
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

int main(int argc, char **argv) {
        struct client_config c;
        int r;

        r = client_parse_args(&c, argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_INTACT;
        return c.probe ? probe_main(&c) : exchange_main(&c);
}
