/* per-source.c - see per-source.h. */
#include "per-source.h"

#include <netdb.h>

#include "address.h"
#include "log.h"

#define PER_SOURCE_NOTICE_INTERVAL_MS 60000

int per_source_take(struct sources *table, unsigned max, struct stats *st, uint64_t now_ms,
                    const struct sockaddr *peer, socklen_t len, struct source **ret) {
        struct source_key k;
        uint_fast64_t last, refused;
        int r;

        *ret = NULL;
        if (!table || source_key_from_sockaddr(peer, len, &k) < 0)
                return 0;
        r = sources_acquire(table, &k, max, now_ms, ret);
        if (r == 0)
                return 0;
        refused = atomic_fetch_add(&st->per_source_refused, 1) + 1;
        last = atomic_load(&st->per_source_noticed_ms);
        if ((last == 0 || now_ms - last >= PER_SOURCE_NOTICE_INTERVAL_MS) &&
            atomic_compare_exchange_strong(&st->per_source_noticed_ms, &last, now_ms)) {
                char host[NI_MAXHOST], port[NI_MAXSERV];

                sockaddr_numeric(peer, len, host, port);
                log_notice("closing connections from %s beyond --max-per-source %u "
                           "(%llu closed so far; this notice at most once a minute)",
                           host, max, (unsigned long long) refused);
        }
        return r;
}
