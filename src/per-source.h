/* per-source.h - --max-per-source for TCP: a connection counted against its source address in
 * the table every worker shares (sources.h), or refused there: counted, with a notice at most
 * once a minute however many are refused. */
#pragma once

#include <stdint.h>
#include <sys/socket.h>

#include "sources.h"
#include "stats.h"

/* Counts one more connection of the source of peer (AF_INET, AF_INET6; other families are not
 * limited) in `table`, *ret the count to give back with sources_release(); *ret NULL when
 * table is NULL (no limit). Returns 0, or <0 when the source has `max` already: counted in
 * st, and noticed; the caller closes the connection unread. */
int per_source_take(struct sources *table, unsigned max, struct stats *st, uint64_t now_ms,
                    const struct sockaddr *peer, socklen_t len, struct source **ret);
