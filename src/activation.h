/* activation.h - the sockets a service manager or inetd hands to echod. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Largest LISTEN_FDS accepted; systemd passes one fd per Listen*= line. */
#define ACTIVATION_FDS_MAX 256

/* Collects the sockets passed to this process: with `inetd`, fd 0; otherwise the fds of
 * sd_listen_fds_with_names(). Every fd must be an AF_INET, AF_INET6 or AF_UNIX socket of type
 * SOCK_STREAM (listening or connected) or an AF_INET/AF_INET6 SOCK_DGRAM one. Logs a "starting
 * up on" line for each listening and datagram socket. Stores a malloc'd array in *ret_fds and
 * returns how many (0: not socket-activated), or <0 after logging one line that names the fd or
 * variable that is wrong. The fds stay open and belong to the caller. */
int activation_collect(bool inetd, int **ret_fds);

/* Says what a non-socket fd is ("not open", "a pipe", "a regular file", ...). */
const char *fd_describe(int fd);
