/* datagram.h - RFC 862 UDP echo, safe on an open network.
 *
 * Every datagram goes back to its sender unchanged, from the address it was sent to, unless:
 * its source cannot be a client (the filter: a reserved port, a broadcast or multicast address,
 * and the like), it was sent to a broadcast or multicast address, its source is over
 * --udp-rate, or the whole service is over --udp-global-rate. A dropped datagram gets no reply
 * and is counted by reason (STATUS=); one notice line at most once a minute says how many.
 *
 * One struct datagram serves every datagram socket of one loop. echod gives its datagram
 * sockets to the first worker only, so that the rates hold for the whole process. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "options.h"
#include "sources.h"

/* Why a datagram got no echo; also the index of struct stats' datagrams_dropped[]. */
enum datagram_drop {
        DATAGRAM_DROP_PORT,             /* source port below 1024, or 2049 (NFS) */
        DATAGRAM_DROP_ADDRESS,          /* a source no client has, or a broadcast/multicast destination */
        DATAGRAM_DROP_RATE,             /* the source is over --udp-rate */
        DATAGRAM_DROP_CEILING,          /* the service is over --udp-global-rate */
        DATAGRAM_DROP_UNSENT,           /* the echo could not be sent (send buffer full, no route) */
        DATAGRAM_DROP_REASONS,
};

/* Slots of the per-source table: the memory bound whatever the number of sources. */
#define DATAGRAM_SOURCES 4096
/* Directed broadcast addresses of local interfaces kept (two per IPv4 address at most). */
#define DATAGRAM_BROADCASTS_MAX 128

/* IPv4 directed broadcast addresses (network byte order) of the local interfaces. */
struct broadcasts {
        uint32_t addr[DATAGRAM_BROADCASTS_MAX];
        size_t n;
};

struct stats;

struct datagram {
        struct stats *stats;
        struct sources sources;                 /* a token bucket per source: --udp-rate */
        struct rate global_rate;
        struct token_bucket global;             /* --udp-global-rate */
        struct broadcasts broadcasts;
        int ioctl_fd;                           /* an AF_INET socket to list interfaces on, or -1 */
        bool owns_ioctl_fd;                     /* echod made it: closed by datagram_finish() */
        uint64_t broadcasts_ms;                 /* when they were last read */
        uint8_t *buf;                           /* one datagram */
        uint64_t noticed[DATAGRAM_DROP_REASONS];        /* drops the last notice counted */
        uint64_t notice_ms;                     /* when it went out (or start-up) */
        bool noticed_once;
};

/* The short names STATUS= and the notice use, indexed by enum datagram_drop. */
extern const char *const datagram_drop_names[DATAGRAM_DROP_REASONS];

/* Prepares d for the datagram sockets fds[0..n) (n >= 1, owned by the caller): rates from c,
 * interface broadcasts read in the namespace of the first AF_INET one (without one, through an
 * AF_INET socket of its own, where it may make one), and on every socket
 * bound to a wildcard address IP_PKTINFO or IPV6_RECVPKTINFO (see datagram.c for why that is
 * harmless on a passed socket). Returns 0 or -errno; call datagram_finish() either way. */
int datagram_init(struct datagram *d, const struct config *c, struct stats *stats,
                  const int *fds, size_t n, uint64_t now_ms);

/* Frees what datagram_init() made; accepts a zeroed or half-built d. */
void datagram_finish(struct datagram *d);

/* Reads and answers the datagrams waiting on fd, at most a batch, never blocking. */
void datagram_echo(struct datagram *d, int fd, uint64_t now_ms);

/* Periodic work: rereads the interfaces' broadcast addresses now and then, and logs the drop
 * notice when datagrams were dropped and the last notice is a minute old. */
void datagram_tick(struct datagram *d, uint64_t now_ms);

/* The filter. True when the source sa could be a client; false with *why (DATAGRAM_DROP_PORT or
 * DATAGRAM_DROP_ADDRESS) for a source port below 1024 or 2049, a multicast source, the limited
 * broadcast 255.255.255.255, one of `b`, 0.0.0.0/8, ::, a v4-mapped or v4-compatible IPv6
 * address carrying any of these, or an address of another family. b may be NULL. */
bool datagram_source_ok(const struct sockaddr *sa, socklen_t len, const struct broadcasts *b,
                        enum datagram_drop *why);

/* Lists the directed broadcast addresses of the IPv4 interfaces in the network namespace of
 * the AF_INET socket fd (SIOCGIFCONF: no new socket, so it works in a service without address
 * families of its own): each interface's configured broadcast address and, for prefixes up to
 * /30, the all-ones host of its subnet. Returns 0 or -errno. */
int broadcasts_read(int fd, struct broadcasts *b);
