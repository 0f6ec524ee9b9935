/* activation.h - the sockets a service manager or inetd hands to echod, and what each fd is. */
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

/* Checks the LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES values (NULL: unset) for the process
 * `self`, without I/O. Returns how many fds were passed (0 also when none is set), or -EINVAL
 * with a one-line reason in why[size]: one unset while another is set, not numbers, another
 * process's pid, more than ACTIVATION_FDS_MAX fds, or names that are not one per fd. */
int listen_env_check(const char *pid, const char *fds, const char *names, long self,
                     char *why, size_t size);

/* Says what a non-socket fd is ("not open", "a pipe", "a regular file", ...). */
const char *fd_describe(int fd);

/* The socket type of fd (SOCK_STREAM, SOCK_DGRAM, ...), or -errno (-ENOTSOCK: not a socket). */
int fd_socket_type(int fd);

/* True when fd lacks O_NONBLOCK. */
bool fd_is_blocking(int fd);

/* Moves a connected stream socket (Accept=yes, inetd nowait) out of fds[0..*n_fds) into
 * *ret_connected, leaving *n_fds 0. Only one such socket makes sense: more than one passed fd
 * beside it is an error. Returns 0 (*ret_connected untouched when there is none) or <0 after
 * logging one line. */
int activation_take_connected(int *fds, size_t *n_fds, int *ret_connected);

/* True when one of the stream sockets fds[0..n) is a listener in blocking mode (systemd passes
 * them so without NonBlocking=yes): such a listener may only be watched by one loop, see
 * server_init(). */
bool activation_any_blocking_listener(const int *fds, size_t n);

/* inetd leaves the socket on fds 0, 1 and 2. Only fd 0 is served; 1 and 2 become /dev/null so
 * that nothing stray reaches the client and closing fd 0 really ends the connection. Returns 0
 * or -errno. */
int inetd_detach_stdio(void);
