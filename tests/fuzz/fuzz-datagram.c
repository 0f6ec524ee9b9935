/* fuzz-datagram - the UDP source filter and the source table on any input. Input: records of
 * 19 bytes: an operation byte, a port (2 bytes), 16 address bytes. Operation bit 0: IPv4 or
 * IPv6; bits 1-2: filter, take a token, acquire a count, release the last count. The first
 * record's address bytes also give a broadcast list. Checks: what passes the filter has a port
 * of 1024 or more but not 2049 and an address of no dropped class; the table never holds more
 * than its slots, and counts balance. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "datagram.h"
#include "sources.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RECORD 19
#define HELD_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct broadcasts b = { .n = 0 };
        struct rate rate = { .per_s = 3, .burst = 2 };
        struct sources t;
        struct source *held[HELD_MAX];
        size_t n_held = 0;
        uint64_t now = 0;

        if (sources_init(&t, 16, &rate, false) < 0)
                return 0;
        if (size >= RECORD) {
                memcpy(&b.addr[0], data + 3, 4);
                memcpy(&b.addr[1], data + 7, 4);
                b.n = 2;
        }
        for (size_t off = 0; off + RECORD <= size; off += RECORD) {
                const uint8_t *r = data + off;
                struct sockaddr_storage ss = { 0 };
                struct source_key key;
                enum datagram_drop why;
                uint16_t port = (uint16_t) (r[1] << 8 | r[2]);
                socklen_t len;
                bool ok;

                if (r[0] & 1) {
                        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
                        in6->sin6_family = AF_INET6;
                        in6->sin6_port = htons(port);
                        memcpy(&in6->sin6_addr, r + 3, 16);
                        len = sizeof *in6;
                } else {
                        struct sockaddr_in *in = (struct sockaddr_in *) &ss;
                        in->sin_family = AF_INET;
                        in->sin_port = htons(port);
                        memcpy(&in->sin_addr, r + 3, 4);
                        len = sizeof *in;
                }
                now += r[0] >> 4;
                switch ((r[0] >> 1) & 3) {
                case 0:
                        ok = datagram_source_ok((struct sockaddr *) &ss, len, &b, &why);
                        if (ok) {
                                uint32_t v4 = 0, h;
                                const struct in6_addr *a6 = &((struct sockaddr_in6 *) &ss)->sin6_addr;

                                assert(port >= 1024 && port != 2049);
                                if (r[0] & 1) {
                                        assert(!IN6_IS_ADDR_MULTICAST(a6) && !IN6_IS_ADDR_UNSPECIFIED(a6));
                                        if (IN6_IS_ADDR_V4MAPPED(a6) || IN6_IS_ADDR_V4COMPAT(a6))
                                                memcpy(&v4, a6->s6_addr + 12, 4);
                                        else
                                                break;
                                } else {
                                        v4 = ((struct sockaddr_in *) &ss)->sin_addr.s_addr;
                                }
                                h = ntohl(v4);
                                assert(!IN_MULTICAST(h) && h != INADDR_BROADCAST && (h >> 24) != 0);
                                assert(v4 != b.addr[0] && v4 != b.addr[1]);
                        } else {
                                assert(why == DATAGRAM_DROP_PORT || why == DATAGRAM_DROP_ADDRESS);
                        }
                        break;
                case 1:
                        assert(source_key_from_sockaddr((struct sockaddr *) &ss, len, &key) == 0);
                        (void) sources_take(&t, &key, now);
                        break;
                case 2:
                        assert(source_key_from_sockaddr((struct sockaddr *) &ss, len, &key) == 0);
                        if (n_held < HELD_MAX) {
                                int e = sources_acquire(&t, &key, 3, now, &held[n_held]);
                                assert(e == 0 || e == -EDQUOT || e == -ENOSPC);
                                if (e == 0) {
                                        assert(sources_count(&t, &key) >= 1 && sources_count(&t, &key) <= 3);
                                        n_held++;
                                }
                        }
                        break;
                default:
                        if (n_held > 0)
                                sources_release(&t, held[--n_held]);
                        break;
                }
                assert(t.n_used <= sources_capacity(&t));
        }
        while (n_held > 0)
                sources_release(&t, held[--n_held]);
        for (size_t i = 0; i < sources_capacity(&t); i++)
                assert(t.slots[i].count == 0);
        sources_finish(&t);
        return 0;
}
