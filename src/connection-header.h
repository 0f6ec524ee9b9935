/* connection-header.h - --proxy-protocol's state before the echo: a connection reads the PROXY
 * header a balancer sends first (parsed by proxy.c) and not a byte more, then takes the client
 * it names as its peer. Nothing is echoed, and no ring is taken, until then. */
#pragma once

#include "connection.h"

/* Reads c's header, peeking first, so that what the client sent after it stays in the socket
 * for the echo; bytes of a header that arrives in pieces are kept in c->header. Once it is
 * complete c joins the server's idle list as the client the header names (LOCAL and UNKNOWN: as
 * itself), counted against --max-per-source as that client. Returns 1 once the header was
 * taken, 0 to wait for more, -EDQUOT when that client is at its limit (counted and noticed; c
 * is to be closed unanswered), or another <0 with *why set when c must be refused. */
int connection_header_read(struct connection *c, const char **why);

/* Counts c as closed for want of a valid header, with a notice (saying `why` for the latest)
 * at most once a minute whatever the number. The caller closes c. */
void connection_header_refused(const struct connection *c, const char *why);
