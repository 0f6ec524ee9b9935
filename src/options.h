/* options.h - echod's command line: struct config and its parser. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "splice.h"

/* Exit statuses of echod; the man page's table lists the same. */
enum {
        EXIT_OK = 0,
        EXIT_RUNTIME = 1,       /* a failure while serving (out of memory, epoll), or a second
                                 * SIGTERM/SIGINT/SIGHUP that cut the drain short */
        EXIT_USAGE = 2,         /* a bad option, argument or address */
        EXIT_RESOLVE = 3,       /* a host or service name that does not resolve */
        EXIT_BIND = 4,          /* a socket could not be created, bound or listened on */
        EXIT_ACTIVATION = 5,    /* bad LISTEN_* environment or inherited file descriptors */
};

struct config {
        char **addresses;               /* ADDRESS arguments (points into argv) */
        size_t n_addresses;
        int verbosity;                  /* -v count: 0, 1, 2 */
        bool inetd;                     /* --inetd: the socket is fd 0 */
        unsigned max_connections;       /* 0: derive from RLIMIT_NOFILE */
        unsigned idle_timeout_s;        /* 0: never */
        unsigned drain_timeout_s;
        unsigned exit_idle_s;           /* 0: never */
        unsigned workers;
        size_t buffer_size;
        bool proxy_protocol;            /* --proxy-protocol: each connection starts with a PROXY header */
        unsigned udp_rate;              /* datagrams a second echoed to one source; 0: no limit */
        unsigned udp_global_rate;       /* datagrams a second echoed in all; 0: no limit */
        unsigned max_per_source;        /* TCP connections at once from one source; 0: no limit */
        size_t max_memory;              /* rings and splice pipes of all connections together */
        enum splice_mode splice_mode;   /* ECHOD_SPLICE */
        size_t splice_pipes;            /* ECHOD_SPLICE_PIPES: per process, before the fd cap */
};

/* 512 rings of the default size: what the shipped units (16 352 connections) may hold. */
#define ECHOD_DEFAULT_MAX_MEMORY ((size_t) 128 << 20)

#define ECHOD_DEFAULT_UDP_RATE 50
#define ECHOD_DEFAULT_UDP_GLOBAL_RATE 5000

/* Fills *c from argv, and from the environment (ECHOD_SPLICE, ECHOD_SPLICE_PIPES). Returns >0
 * to run, 0 to exit successfully (--help, --version, after printing), or <0 after printing one
 * line naming the bad argument (exit with EXIT_USAGE). */
int config_parse(struct config *c, int argc, char **argv);
