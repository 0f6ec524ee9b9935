/* sockets.h - the sockets echod serves: handed over by the service manager or inetd
 * (activation.c), or bound here from the ADDRESS arguments (standalone). All of them are
 * echod's to close, and only sockets_close() closes them; the servers only watch them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "options.h"

struct sockets {
        int *fds;                       /* listening and datagram sockets, closed at exit */
        size_t n_fds;
        int connected_fd;               /* a client handed over (Accept=yes, inetd nowait), or -1 */
        bool bound_here;                /* fds were bound by echod (standalone), not passed */
};

#define SOCKETS_INIT { .connected_fd = -1 }

/* Gets the sockets to serve: handed over (LISTEN_FDS, --inetd, then fds 1 and 2 detached from
 * the client) or bound here for c's addresses. Returns EXIT_OK or the exit status after logging;
 * what it made is undone by sockets_close() either way. */
int sockets_get(struct sockets *so, const struct config *c);

/* Puts the stream sockets of so->fds first and returns how many there are: the datagram
 * sockets after them go to the first worker only (one source table, one global rate). */
size_t sockets_streams_first(struct sockets *so);

/* Closes every socket of so, the connected one if no server took it; for passed sockets this
 * only drops echod's reference: systemd keeps its own. */
void sockets_close(struct sockets *so);
