/* datagram.c - see datagram.h. */
#include "datagram.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "stats.h"

/* Datagrams read per wakeup, so that a flood on one socket cannot starve the loop's others. */
#define DATAGRAM_BATCH 64
/* Larger than any UDP payload (65507 bytes over IPv4, 65527 over IPv6 without jumbograms). */
#define DATAGRAM_MAX 65536
#define NOTICE_INTERVAL_MS 60000
#define BROADCASTS_INTERVAL_MS 10000

const char *const datagram_drop_names[DATAGRAM_DROP_REASONS] = {
        [DATAGRAM_DROP_PORT] = "port",
        [DATAGRAM_DROP_ADDRESS] = "address",
        [DATAGRAM_DROP_RATE] = "rate",
        [DATAGRAM_DROP_CEILING] = "ceiling",
        [DATAGRAM_DROP_UNSENT] = "unsent",
};

static bool broadcasts_has(const struct broadcasts *b, uint32_t a) {
        for (size_t i = 0; b && i < b->n; i++)
                if (b->addr[i] == a)
                        return true;
        return false;
}

/* a in network byte order: multicast, limited broadcast, "this network" 0.0.0.0/8, or a local
 * interface's directed broadcast. 127.0.0.0/8 is a client: Linux already drops loopback
 * sources arriving on any other interface as martians. */
static bool ipv4_is_no_client(uint32_t a, const struct broadcasts *b) {
        uint32_t h = ntohl(a);

        return IN_MULTICAST(h) || h == INADDR_BROADCAST || (h >> 24) == 0 || broadcasts_has(b, a);
}

/* The IPv4 address inside a v4-mapped (::ffff:a.b.c.d) or v4-compatible (::a.b.c.d, but not ::
 * or ::1) IPv6 address, in network byte order; false for any other IPv6 address. */
static bool ipv6_embedded_ipv4(const struct in6_addr *a, uint32_t *ret) {
        if (!IN6_IS_ADDR_V4MAPPED(a) && !IN6_IS_ADDR_V4COMPAT(a))
                return false;
        memcpy(ret, a->s6_addr + 12, 4);
        return true;
}

bool datagram_source_ok(const struct sockaddr *sa, socklen_t len, const struct broadcasts *b,
                        enum datagram_drop *why) {
        uint16_t port;
        uint32_t v4;

        *why = DATAGRAM_DROP_ADDRESS;
        if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
                const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

                if (ipv4_is_no_client(in->sin_addr.s_addr, b))
                        return false;
                port = ntohs(in->sin_port);
        } else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;

                if (IN6_IS_ADDR_MULTICAST(&in6->sin6_addr) || IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
                        return false;
                if (ipv6_embedded_ipv4(&in6->sin6_addr, &v4) && ipv4_is_no_client(v4, b))
                        return false;
                port = ntohs(in6->sin6_port);
        } else {
                return false;
        }
        /* Every well-known service (echo, chargen, daytime, time, DNS, NTP) and NFS would answer
         * an echo, and a loop between two of them never ends. */
        if (port < 1024 || port == 2049) {
                *why = DATAGRAM_DROP_PORT;
                return false;
        }
        return true;
}

static void broadcasts_add(struct broadcasts *b, uint32_t a) {
        if (a != 0 && !broadcasts_has(b, a) && b->n < DATAGRAM_BROADCASTS_MAX)
                b->addr[b->n++] = a;
}

int broadcasts_read(int fd, struct broadcasts *b) {
        struct ifreq reqs[DATAGRAM_BROADCASTS_MAX / 2];
        struct ifconf ifc = { .ifc_len = sizeof reqs, .ifc_req = reqs };
        struct broadcasts found = { .n = 0 };

        if (ioctl(fd, SIOCGIFCONF, &ifc) < 0)
                return -errno;
        for (size_t i = 0; i < (size_t) ifc.ifc_len / sizeof *reqs; i++) {
                uint32_t addr = ((const struct sockaddr_in *) &reqs[i].ifr_addr)->sin_addr.s_addr;
                struct ifreq q = reqs[i];

                if (reqs[i].ifr_addr.sa_family != AF_INET)
                        continue;
                /* With ifr_addr set, the kernel answers for that address, not the label's first. */
                if (ioctl(fd, SIOCGIFFLAGS, &q) == 0 && (q.ifr_flags & IFF_BROADCAST)) {
                        q = reqs[i];
                        if (ioctl(fd, SIOCGIFBRDADDR, &q) == 0)
                                broadcasts_add(&found, ((const struct sockaddr_in *) &q.ifr_broadaddr)->sin_addr.s_addr);
                }
                q = reqs[i];
                if (ioctl(fd, SIOCGIFNETMASK, &q) == 0) {
                        uint32_t mask = ntohl(((const struct sockaddr_in *) &q.ifr_netmask)->sin_addr.s_addr);

                        /* /31 and /32 have no broadcast address (RFC 3021). */
                        if (mask < 0xfffffffeu)
                                broadcasts_add(&found, htonl(ntohl(addr) | ~mask));
                }
        }
        *b = found;
        return 0;
}

/* Whether fd is bound to 0.0.0.0 or ::, where replies need the request's destination address. */
static bool socket_is_wildcard(int fd, int *family) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;

        *family = AF_UNSPEC;
        if (getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
                return false;
        *family = sa.ss_family;
        if (sa.ss_family == AF_INET)
                return ((struct sockaddr_in *) &sa)->sin_addr.s_addr == htonl(INADDR_ANY);
        if (sa.ss_family == AF_INET6)
                return IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *) &sa)->sin6_addr);
        return false;
}

int datagram_init(struct datagram *d, const struct config *c, struct stats *stats,
                  const int *fds, size_t n, uint64_t now_ms) {
        struct rate per_source = { .per_s = c->udp_rate, .burst = c->udp_rate };
        int one = 1, r;

        *d = (struct datagram) { .stats = stats, .ioctl_fd = -1, .notice_ms = now_ms, .broadcasts_ms = now_ms };
        d->buf = malloc(DATAGRAM_MAX);
        if (!d->buf)
                return -ENOMEM;
        r = sources_init(&d->sources, DATAGRAM_SOURCES, &per_source, false);
        if (r < 0)
                return r;
        d->global_rate = (struct rate) { .per_s = c->udp_global_rate, .burst = c->udp_global_rate };
        token_bucket_init(&d->global, &d->global_rate, now_ms);

        for (size_t i = 0; i < n; i++) {
                int family;
                bool wildcard = socket_is_wildcard(fds[i], &family);

                if (family == AF_INET && d->ioctl_fd < 0)
                        d->ioctl_fd = fds[i];
                if (!wildcard)
                        continue;
                /* A wildcard socket answers from the address the request was sent to, as unbound
                 * and ntpd do, or a client that connect()ed its UDP socket to one of several
                 * addresses never sees the reply. On a socket passed by systemd or inetd this is
                 * harmless: the option only adds ancillary data to the datagrams echod itself
                 * reads, the manager never reads from the socket, and a later instance handles or
                 * ignores that data (systemd's own PassPacketInfo=yes sets the same option). */
                if (family == AF_INET)
                        r = setsockopt(fds[i], IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
                else
                        r = setsockopt(fds[i], IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
                if (r < 0)
                        return -errno;
        }
        /* IPv6 sockets only (a dual-stack [::]): the IPv4 ioctls need an IPv4 socket. One of
         * echod's own sees its own namespace, which is the sockets' unless a sandbox moved echod
         * (PrivateNetwork=); there RestrictAddressFamilies= refuses it, and the list stays empty. */
        if (d->ioctl_fd < 0) {
                d->ioctl_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                d->owns_ioctl_fd = d->ioctl_fd >= 0;
        }
        if (d->ioctl_fd >= 0)
                (void) broadcasts_read(d->ioctl_fd, &d->broadcasts);
        return 0;
}

void datagram_finish(struct datagram *d) {
        sources_finish(&d->sources);
        free(d->buf);
        if (d->owns_ioctl_fd)
                close(d->ioctl_fd);
        *d = (struct datagram) { .ioctl_fd = -1 };
}

static void datagram_drop(struct datagram *d, enum datagram_drop why) {
        atomic_fetch_add_explicit(&d->stats->datagrams_dropped[why], 1, memory_order_relaxed);
}

union pktinfo_control {
        struct cmsghdr align;
        uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
};

/* The destination of a request, from its IP_PKTINFO or IPV6_PKTINFO, as the cmsg to send the
 * reply with in *out. Returns false when the request went to a broadcast or multicast address:
 * one request would then draw an answer from every host that got it. No pktinfo (a socket
 * bound to one address): true, out->len 0. */
static bool reply_control(struct datagram *d, struct msghdr *m, union pktinfo_control *out, size_t *len) {
        *len = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
                if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
                    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
                        struct in_pktinfo in, reply = { .ipi_ifindex = 0 };
                        struct cmsghdr *rc = (struct cmsghdr *) out->buf;

                        memcpy(&in, CMSG_DATA(c), sizeof in);
                        /* For a local unicast destination the kernel's spec_dst is that address;
                         * it differs for a directed broadcast, which needs no interface list. */
                        if (in.ipi_addr.s_addr != in.ipi_spec_dst.s_addr ||
                            ipv4_is_no_client(in.ipi_addr.s_addr, &d->broadcasts))
                                return false;
                        reply.ipi_spec_dst = in.ipi_addr;
                        rc->cmsg_level = IPPROTO_IP;
                        rc->cmsg_type = IP_PKTINFO;
                        rc->cmsg_len = CMSG_LEN(sizeof reply);
                        memcpy(CMSG_DATA(rc), &reply, sizeof reply);
                        *len = CMSG_SPACE(sizeof reply);
                        return true;
                }
                if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
                    c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
                        struct in6_pktinfo in, reply = { .ipi6_ifindex = 0 };
                        struct cmsghdr *rc = (struct cmsghdr *) out->buf;
                        uint32_t v4;

                        memcpy(&in, CMSG_DATA(c), sizeof in);
                        if (IN6_IS_ADDR_MULTICAST(&in.ipi6_addr) ||
                            (ipv6_embedded_ipv4(&in.ipi6_addr, &v4) && ipv4_is_no_client(v4, &d->broadcasts)))
                                return false;
                        reply.ipi6_addr = in.ipi6_addr;
                        /* A link-local source address means something only on its interface. */
                        if (IN6_IS_ADDR_LINKLOCAL(&in.ipi6_addr))
                                reply.ipi6_ifindex = in.ipi6_ifindex;
                        rc->cmsg_level = IPPROTO_IPV6;
                        rc->cmsg_type = IPV6_PKTINFO;
                        rc->cmsg_len = CMSG_LEN(sizeof reply);
                        memcpy(CMSG_DATA(rc), &reply, sizeof reply);
                        *len = CMSG_SPACE(sizeof reply);
                        return true;
                }
        }
        return true;
}

void datagram_echo(struct datagram *d, int fd, uint64_t now_ms) {
        for (int i = 0; i < DATAGRAM_BATCH; i++) {
                struct sockaddr_storage peer;
                union pktinfo_control control, reply;
                struct iovec iov = { .iov_base = d->buf, .iov_len = DATAGRAM_MAX };
                struct msghdr m = {
                        .msg_name = &peer, .msg_namelen = sizeof peer, .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = control.buf, .msg_controllen = sizeof control.buf,
                };
                struct source_key key;
                enum datagram_drop why;
                size_t reply_len;
                ssize_t n;

                n = recvmsg(fd, &m, MSG_DONTWAIT);
                if (n < 0)
                        break;
                if (!datagram_source_ok((struct sockaddr *) &peer, m.msg_namelen, &d->broadcasts, &why)) {
                        datagram_drop(d, why);
                        continue;
                }
                if (!reply_control(d, &m, &reply, &reply_len)) {
                        datagram_drop(d, DATAGRAM_DROP_ADDRESS);
                        continue;
                }
                /* Per source first: a flood from one source must not spend the global budget. */
                if (source_key_from_sockaddr((struct sockaddr *) &peer, m.msg_namelen, &key) < 0 ||
                    !sources_take(&d->sources, &key, now_ms)) {
                        datagram_drop(d, DATAGRAM_DROP_RATE);
                        continue;
                }
                if (!token_bucket_take(&d->global, &d->global_rate, now_ms)) {
                        datagram_drop(d, DATAGRAM_DROP_CEILING);
                        continue;
                }
                iov.iov_len = (size_t) n;
                m = (struct msghdr) {
                        .msg_name = &peer, .msg_namelen = m.msg_namelen, .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = reply_len ? reply.buf : NULL, .msg_controllen = reply_len,
                };
                /* UDP is lossy by contract: an echo that cannot be sent now is dropped, counted. */
                if (sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
                        datagram_drop(d, DATAGRAM_DROP_UNSENT);
                else
                        atomic_fetch_add_explicit(&d->stats->datagrams, 1, memory_order_relaxed);
        }
}

void datagram_tick(struct datagram *d, uint64_t now_ms) {
        uint64_t now[DATAGRAM_DROP_REASONS], total = 0;

        if (d->ioctl_fd >= 0 && now_ms - d->broadcasts_ms >= BROADCASTS_INTERVAL_MS) {
                (void) broadcasts_read(d->ioctl_fd, &d->broadcasts);
                d->broadcasts_ms = now_ms;
        }
        if (d->noticed_once && now_ms - d->notice_ms < NOTICE_INTERVAL_MS)
                return;
        for (int i = 0; i < DATAGRAM_DROP_REASONS; i++) {
                now[i] = atomic_load_explicit(&d->stats->datagrams_dropped[i], memory_order_relaxed);
                total += now[i] - d->noticed[i];
        }
        if (total == 0)
                return;
        log_notice("UDP: %llu datagrams dropped without a reply in the last %llu s "
                   "(%llu port, %llu address, %llu rate, %llu ceiling, %llu unsent); "
                   "at most one such line a minute",
                   (unsigned long long) total, (unsigned long long) ((now_ms - d->notice_ms + 999) / 1000),
                   (unsigned long long) (now[DATAGRAM_DROP_PORT] - d->noticed[DATAGRAM_DROP_PORT]),
                   (unsigned long long) (now[DATAGRAM_DROP_ADDRESS] - d->noticed[DATAGRAM_DROP_ADDRESS]),
                   (unsigned long long) (now[DATAGRAM_DROP_RATE] - d->noticed[DATAGRAM_DROP_RATE]),
                   (unsigned long long) (now[DATAGRAM_DROP_CEILING] - d->noticed[DATAGRAM_DROP_CEILING]),
                   (unsigned long long) (now[DATAGRAM_DROP_UNSENT] - d->noticed[DATAGRAM_DROP_UNSENT]));
        memcpy(d->noticed, now, sizeof now);
        d->notice_ms = now_ms;
        d->noticed_once = true;
}
