/* client.h - what the parts of echo-client share: its options, its exit statuses, the clock,
 * and the addresses it talks to (target.c). Error lines go through the shared logger (log.h). */
#pragma once

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "clock.h"

/* Exit statuses; echo-client(1) lists the same. */
enum {
        EXIT_INTACT = 0,        /* the echo, or every probe, came back intact */
        EXIT_DIFFERS = 1,       /* the echo was not exactly what was sent; some probes lost */
        EXIT_USAGE = 2,
        EXIT_CONNECT = 3,       /* cannot resolve or connect; no probe came back */
        EXIT_INPUT = 4,         /* the -f file cannot be read */
        EXIT_BROKEN = 5,        /* the connection failed mid-transfer (reset, no reply in time) */
};

#define SEED_MESSAGE "This is the message.  It will be repeated."
#define PROBE_SIZE_MAX 65507    /* the largest UDP payload over IPv4 */

struct client_config {
        const char *host;
        const char *port;
        const char *message;
        const char *file;
        bool quiet;
        bool info;
        int timeout_ms;
        int family;             /* AF_UNSPEC, or AF_INET / AF_INET6 for -4 / -6 */
        /* The probe: on when any of its options is given. */
        bool probe;
        bool udp;
        bool keep;
        bool json;
        uint64_t count;         /* 0: until Ctrl-C or --deadline */
        int64_t interval_ms;
        int64_t wait_ms;
        int64_t deadline_ms;    /* 0: none */
        size_t size;
        struct address address; /* storage for host and port given as one ADDRESS */
};

/* One address a name resolved to, with its numeric form for messages. */
struct target_addr {
        const struct addrinfo *ai;
        char name[64];
        char port[8];
};

/* Every address host and port resolve to, in the order they are tried. */
struct target {
        struct addrinfo *list;
        struct target_addr *addrs;
        size_t n;
};

/* Fills *c from the command line. Returns >0 to run, 0 to exit 0 (--help, --version), <0 on a
 * usage error, already reported. */
int client_parse_args(struct client_config *c, int argc, char **argv);

/* The shared monotonic clock, signed: deadlines are compared and subtracted. */
static inline int64_t now_ns(void) {
        return (int64_t) clock_now_ns();
}

/* Resolves c's host and port for socktype into *t, each address once. Returns 0, or an exit
 * status after printing the one error line. */
int target_resolve(const struct client_config *c, int socktype, struct target *t);

/* Frees what target_resolve() allocated; safe on a zeroed target. */
void target_clear(struct target *t);

/* The seed's exchange or -f streaming, printing what the seed prints. Returns the exit status. */
int exchange_main(const struct client_config *c);

/* The probe: c->count probes over TCP or UDP, a line each and a summary (or --json). Returns the
 * exit status. */
int probe_main(const struct client_config *c);
