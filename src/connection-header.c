/* connection-header.c - see connection-header.h. */
#include "connection-header.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "address.h"
#include "log.h"
#include "per-source.h"
#include "proxy.h"
#include "server.h"

#define REFUSE_NOTICE_INTERVAL_MS 60000

/* The header was read: c joins the idle order, as the client the header names (or, for the
 * balancer's own connections, LOCAL and UNKNOWN, as itself), counted against --max-per-source
 * as that client. Returns 0, or -EDQUOT when the client is at its limit (counted and noticed by
 * per_source_take(); c is to be closed unanswered). */
static int connection_header_take(struct connection *c, const struct proxy_header *h) {
        struct server *s = c->server;
        char via[NI_MAXHOST + 64];
        int r;

        if (h->local)
                r = per_source_take(s->per_source, s->config->max_per_source, s->stats, s->loop.now_ms,
                                    (const struct sockaddr *) &c->peer, c->peer_len, &c->source);
        else
                r = per_source_take(s->per_source, s->config->max_per_source, s->stats, s->loop.now_ms,
                                    (const struct sockaddr *) &h->source, h->source_len, &c->source);
        if (r < 0)
                return -EDQUOT;
        c->awaiting_header = false;
        /* From the awaiting list to the idle list's end, whatever connection_touch() would skip. */
        c->last_active_ms = s->loop.now_ms;
        list_remove(&c->idle);
        list_insert_tail(&s->idle, &c->idle);
        if (log_verbosity() >= 1)
                sockaddr_pytuple((const struct sockaddr *) &c->peer, c->peer_len, via, sizeof via);
        if (!h->local) {
                memcpy(&c->peer, &h->source, h->source_len);
                c->peer_len = h->source_len;
        }
        if (log_verbosity() < 1)
                return 0;
        if (h->local) {
                log_info("connection from %s (the balancer's own, PROXY %s)", via, h->version == 1 ? "UNKNOWN" : "LOCAL");
        } else {
                char peer[NI_MAXHOST + 64];

                sockaddr_pytuple((const struct sockaddr *) &c->peer, c->peer_len, peer, sizeof peer);
                log_info("connection from %s via %s", peer, via);
        }
        return 0;
}

int connection_header_read(struct connection *c, const char **why) {
        uint8_t buf[PROXY_HEADER_MAX];
        struct proxy_header h;
        size_t have = c->header_len, take;
        ssize_t n;
        int r;

        if (have > 0)
                memcpy(buf, c->header, have);
        n = recv(c->watch.fd, buf + have, sizeof buf - have, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0) {
                int err = errno;

                if (err == EAGAIN || err == EINTR)
                        return 0;
                *why = strerror(err);
                return -err;
        }
        if (n == 0) {
                *why = "closed before sending a PROXY header";
                return -ECONNRESET;
        }
        r = proxy_header_parse(buf, have + (size_t) n, &h, why);
        if (r < 0)
                return r;
        /* Only header bytes are taken out of the socket: all of them while more are to come. */
        take = r > 0 ? (size_t) r - have : (size_t) n;
        if (recv(c->watch.fd, buf + have, take, MSG_DONTWAIT) != (ssize_t) take) {
                *why = "the peeked header could not be read";
                return -EIO;
        }
        if (r == 0) {
                if (!c->header && !(c->header = malloc(PROXY_HEADER_MAX))) {
                        *why = strerror(ENOMEM);
                        return -ENOMEM;
                }
                memcpy(c->header + have, buf + have, take);
                c->header_len = (uint16_t) (have + take);
                return 0;
        }
        free(c->header);
        c->header = NULL;
        c->header_len = 0;
        r = connection_header_take(c, &h);
        return r < 0 ? r : 1;
}

void connection_header_refused(const struct connection *c, const char *why) {
        struct stats *st = c->server->stats;
        uint64_t now = c->server->loop.now_ms, total, last;

        total = atomic_fetch_add(&st->proxy_refused, 1) + 1;
        last = atomic_load(&st->proxy_noticed_ms);
        if ((last == 0 || now - last >= REFUSE_NOTICE_INTERVAL_MS) &&
            atomic_compare_exchange_strong(&st->proxy_noticed_ms, &last, now)) {
                uint64_t n = total - atomic_exchange(&st->proxy_noticed, total);
                char peer[NI_MAXHOST + 64];

                sockaddr_pytuple((const struct sockaddr *) &c->peer, c->peer_len, peer, sizeof peer);
                log_notice("closed %llu connection%s without a valid PROXY header, the latest from %s: %s "
                           "(at most one such line a minute; STATUS= has the total)",
                           (unsigned long long) n, n == 1 ? "" : "s", peer, why);
        }
}

