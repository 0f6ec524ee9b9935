/* proxy.c - see proxy.h. Follows proxy-protocol.txt (2020/03/05) section 2: a receiver that
 * takes both versions, tells them apart by the first bytes, and rejects anything that does not
 * match exactly. Version 2 TLVs are skipped (each must lie within the announced length); the
 * optional CRC32C TLV is not verified, which the specification allows a receiver. */
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#define V2_FIXED 16

static const uint8_t v2_signature[12] = {
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
};

static size_t min_size(size_t a, size_t b) {
        return a < b ? a : b;
}

static int invalid(const char **why, const char *what) {
        *why = what;
        return -EINVAL;
}

/* True when each of s[0..n) is a byte of set (never NUL). */
static bool all_in(const char *s, size_t n, const char *set) {
        for (size_t i = 0; i < n; i++)
                if (s[i] == '\0' || !strchr(set, s[i]))
                        return false;
        return true;
}

#define V1_ADDRESS_CHARS "0123456789abcdefABCDEF.:"

/* A decimal number without leading zeroes, at most max. */
static bool parse_decimal(const char *s, size_t n, unsigned max, unsigned *ret) {
        unsigned v = 0;

        if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        if (v > max)
                return false;
        *ret = v;
        return true;
}

/* Exactly four decimal numbers 0-255, one dot between each, no leading zeroes. */
static bool parse_ipv4(const char *s, size_t n, struct in_addr *out) {
        uint32_t a = 0;
        size_t start = 0;
        int parts = 0;

        for (size_t i = 0; i <= n; i++) {
                unsigned v;

                if (i < n && s[i] != '.')
                        continue;
                if (!parse_decimal(s + start, i - start, 255, &v) || ++parts > 4)
                        return false;
                a = a << 8 | v;
                start = i + 1;
        }
        if (parts != 4)
                return false;
        out->s_addr = htonl(a);
        return true;
}

/* Hex groups and colons as inet_pton(3) reads them (128 bits exactly, one "::" at most). */
static bool parse_ipv6(const char *s, size_t n, struct in6_addr *out) {
        char buf[INET6_ADDRSTRLEN];

        if (n == 0 || n >= sizeof buf || !all_in(s, n, V1_ADDRESS_CHARS))
                return false;
        memcpy(buf, s, n);
        buf[n] = '\0';
        return inet_pton(AF_INET6, buf, out) == 1;
}

static void set_inet(struct sockaddr_storage *ss, socklen_t *len, struct in_addr a, unsigned port) {
        struct sockaddr_in *sin = (struct sockaddr_in *) ss;

        sin->sin_family = AF_INET;
        sin->sin_addr = a;
        sin->sin_port = htons((uint16_t) port);
        *len = sizeof *sin;
}

static void set_inet6(struct sockaddr_storage *ss, socklen_t *len, const struct in6_addr *a, unsigned port) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = *a;
        sin6->sin6_port = htons((uint16_t) port);
        *len = sizeof *sin6;
}

/* Could the bytes of an unfinished line, after "PROXY ", still become a valid one? */
static bool v1_rest_may_continue(const char *s, size_t n) {
        static const char *const protocols[] = { "TCP4 ", "TCP6 ", "UNKNOWN" };

        for (size_t i = 0; i < sizeof protocols / sizeof *protocols; i++) {
                size_t plen = strlen(protocols[i]);

                if (memcmp(s, protocols[i], min_size(n, plen)) != 0)
                        continue;
                /* UNKNOWN's addresses are ignored, whatever they are. */
                if (i == 2)
                        return n <= plen || s[plen] == ' ' || (s[plen] == '\r' && n == plen + 1);
                if (n <= plen)
                        return true;
                /* A CR may only be the last byte so far: the start of the CRLF. */
                if (s[n - 1] == '\r')
                        n--;
                return all_in(s + plen, n - plen, V1_ADDRESS_CHARS " ");
        }
        return false;
}

/* "TCP4 SRC DST SPORT DPORT" or "TCP6 ...": the fields after the protocol, one space apart. */
static int v1_parse_addresses(const char *s, size_t n, bool v6, struct proxy_header *h, const char **why) {
        const char *field[4];
        size_t flen[4], start = 0;
        unsigned sport, dport;
        int k = 0;

        for (size_t i = 0; i <= n; i++) {
                if (i < n && s[i] != ' ')
                        continue;
                if (k == 4)
                        return invalid(why, "more than four fields after the protocol");
                field[k] = s + start;
                flen[k] = i - start;
                if (flen[k] == 0)
                        return invalid(why, "an empty field (fields are one space apart)");
                k++;
                start = i + 1;
        }
        if (k != 4)
                return invalid(why, "fewer than four fields after the protocol");
        if (!parse_decimal(field[2], flen[2], 65535, &sport) ||
            !parse_decimal(field[3], flen[3], 65535, &dport))
                return invalid(why, "a port is not a number from 0 to 65535 without leading zeroes");
        if (v6) {
                struct in6_addr src, dst;

                if (!parse_ipv6(field[0], flen[0], &src) || !parse_ipv6(field[1], flen[1], &dst))
                        return invalid(why, "an address is not IPv6");
                set_inet6(&h->source, &h->source_len, &src, sport);
                set_inet6(&h->destination, &h->destination_len, &dst, dport);
        } else {
                struct in_addr src, dst;

                if (!parse_ipv4(field[0], flen[0], &src) || !parse_ipv4(field[1], flen[1], &dst))
                        return invalid(why, "an address is not IPv4 in dotted decimal without leading zeroes");
                set_inet(&h->source, &h->source_len, src, sport);
                set_inet(&h->destination, &h->destination_len, dst, dport);
        }
        return 0;
}

static int parse_v1(const uint8_t *data, size_t len, struct proxy_header *h, const char **why) {
        const char *s = (const char *) data;
        size_t scan = min_size(len, PROXY_V1_MAX), end;
        const char *lf;
        int r;

        if (memcmp(s, "PROXY ", min_size(scan, 6)) != 0)
                return invalid(why, "not a PROXY protocol header");
        lf = memchr(s, '\n', scan);
        if (!lf) {
                if (len >= PROXY_V1_MAX)
                        return invalid(why, "no CRLF within the first 107 bytes");
                if (scan > 6 && !v1_rest_may_continue(s + 6, scan - 6))
                        return invalid(why, "not TCP4, TCP6 or UNKNOWN with numeric addresses");
                return 0;
        }
        end = (size_t) (lf - s);
        if (end < 7 || s[end - 1] != '\r')
                return invalid(why, "line not ended by CRLF");
        /* The line between "PROXY " and the CR. */
        s += 6;
        end -= 7;
        h->version = 1;
        if (end >= 7 && memcmp(s, "UNKNOWN", 7) == 0 && (end == 7 || s[7] == ' ')) {
                h->local = true;
                return (int) (lf - (const char *) data) + 1;
        }
        if (end < 5 || (memcmp(s, "TCP4 ", 5) != 0 && memcmp(s, "TCP6 ", 5) != 0))
                return invalid(why, "protocol is not TCP4, TCP6 or UNKNOWN");
        r = v1_parse_addresses(s + 5, end - 5, s[3] == '6', h, why);
        if (r < 0)
                return r;
        return (int) (lf - (const char *) data) + 1;
}

/* Bytes of the address block for a v2 family and protocol byte, 0 when echod ignores it. */
static size_t v2_address_size(uint8_t fam) {
        switch (fam) {
        case 0x11: case 0x12: return 12;        /* TCP, UDP over IPv4 */
        case 0x21: case 0x22: return 36;        /* TCP, UDP over IPv6 */
        case 0x31: case 0x32: return 216;       /* AF_UNIX stream, datagram */
        default: return 0;
        }
}

static int parse_v2(const uint8_t *d, size_t len, struct proxy_header *h, const char **why) {
        size_t total, addr, off;
        uint8_t cmd, fam;

        if (memcmp(d, v2_signature, min_size(len, sizeof v2_signature)) != 0)
                return invalid(why, "not a PROXY protocol header");
        if (len < 13)
                return 0;
        if (d[12] >> 4 != 2)
                return invalid(why, "version 2 signature with a version other than 2");
        cmd = d[12] & 0x0f;
        if (cmd > 1)
                return invalid(why, "command is neither LOCAL nor PROXY");
        if (len < 14)
                return 0;
        fam = d[13];
        /* LOCAL ignores the family; PROXY must name a defined one. */
        if (cmd == 1 && (fam >> 4 > 3 || (fam & 0x0f) > 2))
                return invalid(why, "undefined address family or transport protocol");
        if (len < V2_FIXED)
                return 0;
        total = V2_FIXED + ((size_t) d[14] << 8 | d[15]);
        if (total > PROXY_HEADER_MAX) {
                *why = "version 2 header longer than 1024 bytes";
                return -EMSGSIZE;
        }
        if (len < total)
                return 0;
        h->version = 2;
        h->local = true;
        if (cmd == 0)
                return (int) total;

        addr = v2_address_size(fam);
        if (total - V2_FIXED < addr)
                return invalid(why, "address block shorter than its family needs");
        if (addr > 0) {
                for (off = V2_FIXED + addr; off < total; ) {
                        size_t tlv;

                        if (total - off < 3)
                                return invalid(why, "truncated TLV");
                        tlv = (size_t) d[off + 1] << 8 | d[off + 2];
                        if (tlv > total - off - 3)
                                return invalid(why, "TLV longer than the header");
                        off += 3 + tlv;
                }
        }
        if (fam == 0x11) {
                struct in_addr src, dst;

                memcpy(&src, d + 16, 4);
                memcpy(&dst, d + 20, 4);
                set_inet(&h->source, &h->source_len, src, (unsigned) (d[24] << 8 | d[25]));
                set_inet(&h->destination, &h->destination_len, dst, (unsigned) (d[26] << 8 | d[27]));
                h->local = false;
        } else if (fam == 0x21) {
                struct in6_addr src, dst;

                memcpy(&src, d + 16, 16);
                memcpy(&dst, d + 32, 16);
                set_inet6(&h->source, &h->source_len, &src, (unsigned) (d[48] << 8 | d[49]));
                set_inet6(&h->destination, &h->destination_len, &dst, (unsigned) (d[50] << 8 | d[51]));
                h->local = false;
        }
        return (int) total;
}

int proxy_header_parse(const uint8_t *data, size_t len, struct proxy_header *h, const char **why) {
        memset(h, 0, sizeof *h);
        if (len == 0)
                return 0;
        if (data[0] == 'P')
                return parse_v1(data, len, h, why);
        if (data[0] == '\r')
                return parse_v2(data, len, h, why);
        return invalid(why, "not a PROXY protocol header");
}
