/* test-proxy - proxy_header_parse() against the examples and limits of haproxy.org's
 * proxy-protocol.txt (2020/03/05): each valid header parses to its length and addresses, every
 * shorter prefix of it asks for more, and each malformed one is refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "proxy.h"

static int failures;

#define FAIL(...) do { printf("FAIL " __VA_ARGS__); printf("\n"); failures++; } while (0)

/* The source or destination as "ADDR PORT", or "-" when local. */
static void show(const struct sockaddr_storage *ss, socklen_t len, char *out, size_t size) {
        char host[INET6_ADDRSTRLEN];

        if (ss->ss_family == AF_INET && len == sizeof(struct sockaddr_in)) {
                const struct sockaddr_in *sin = (const struct sockaddr_in *) ss;
                inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
                snprintf(out, size, "%s %u", host, ntohs(sin->sin_port));
        } else if (ss->ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6)) {
                const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) ss;
                inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
                snprintf(out, size, "%s %u", host, ntohs(sin6->sin6_port));
        } else
                snprintf(out, size, "%s", ss->ss_family == 0 && len == 0 ? "-" : "?");
}

/* data[0..len) must parse as a header of want_len bytes with version, source and destination
 * as given ("-" for a local one), and every shorter prefix of it must ask for more. */
static void valid(const char *name, const void *data, size_t len, int want_len, int version,
                  const char *src, const char *dst) {
        struct proxy_header h;
        const char *why = NULL;
        char s[80], d[80];
        int r;

        r = proxy_header_parse(data, len, &h, &why);
        if (r != want_len) {
                FAIL("%s: returned %d (%s), expected %d", name, r, r < 0 ? why : "", want_len);
                return;
        }
        show(&h.source, h.source_len, s, sizeof s);
        show(&h.destination, h.destination_len, d, sizeof d);
        if (h.version != version || strcmp(s, src) != 0 || strcmp(d, dst) != 0 ||
            h.local != (strcmp(src, "-") == 0))
                FAIL("%s: version %d, local %d, source '%s', destination '%s'; expected %d, '%s', '%s'",
                     name, h.version, h.local, s, d, version, src, dst);
        for (size_t n = 0; n < (size_t) want_len; n++) {
                r = proxy_header_parse(data, n, &h, &why);
                if (r != 0) {
                        FAIL("%s: its first %zu bytes returned %d (%s), expected 0 (need more)",
                             name, n, r, r < 0 ? why : "");
                        return;
                }
        }
}

/* data[0..len) must be refused with want (-EINVAL or -EMSGSIZE) and a reason. */
static void refused(const char *name, const void *data, size_t len, int want) {
        struct proxy_header h;
        const char *why = NULL;
        int r = proxy_header_parse(data, len, &h, &why);

        if (r != want || !why || !*why)
                FAIL("%s: returned %d (%s), expected %d with a reason", name, r, why ? why : "no reason", want);
}

/* A prefix too short to tell must ask for more. */
static void incomplete(const char *name, const void *data, size_t len) {
        struct proxy_header h;
        const char *why = NULL;
        int r = proxy_header_parse(data, len, &h, &why);

        if (r != 0)
                FAIL("%s: returned %d (%s), expected 0 (need more)", name, r, r < 0 ? why : "");
}

#define V1(name, line, version, src, dst) \
        valid(name, line, strlen(line), (int) strlen(line), version, src, dst)
#define V1_BAD(name, line) refused(name, line, strlen(line), -EINVAL)

static const uint8_t sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };

/* Builds a v2 header: signature, ver_cmd, fam, length of body, body. Returns its size. */
static size_t v2(uint8_t *out, uint8_t ver_cmd, uint8_t fam, const void *body, size_t n) {
        memcpy(out, sig, 12);
        out[12] = ver_cmd;
        out[13] = fam;
        out[14] = (uint8_t) (n >> 8);
        out[15] = (uint8_t) n;
        memcpy(out + 16, body, n);
        return 16 + n;
}

static void test_v1(void) {
        static const char ipv6_max[] = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                                       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
        static const char unknown_max[] = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                                          "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
        /* The specification's example, with the request that follows it. */
        static const char example[] = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
                                      "GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n";
        static const char nul[] = "PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n";
        char longer[PROXY_V1_MAX + 2];

        valid("spec example", example, strlen(example), 47, 1, "192.168.0.1 56324", "192.168.0.11 443");
        V1("TCP4 longest (56 bytes)", "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n", 1,
           "255.255.255.255 65535", "255.255.255.255 65535");
        if (strlen(ipv6_max) != 104 || strlen(unknown_max) != 107)
                FAIL("the specification's longest lines are 104 and 107 bytes");
        V1("TCP6 longest (104 bytes)", ipv6_max, 1, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535",
           "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535");
        V1("UNKNOWN short form (15 bytes)", "PROXY UNKNOWN\r\n", 1, "-", "-");
        V1("UNKNOWN worst case (107 bytes)", unknown_max, 1, "-", "-");
        V1("UNKNOWN with anything before the CRLF", "PROXY UNKNOWN whatever\x01 it is\r\n", 1, "-", "-");
        V1("TCP4 zero addresses and ports", "PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n", 1, "0.0.0.0 0", "0.0.0.0 0");
        V1("TCP6 compressed", "PROXY TCP6 2001:db8::1 ::1 1 10000\r\n", 1, "2001:db8::1 1", "::1 10000");
        V1("TCP6 upper case", "PROXY TCP6 2001:DB8::A ::1 1 2\r\n", 1, "2001:db8::a 1", "::1 2");

        /* 108 bytes without a CRLF in the first 107: invalid even though a CRLF follows. */
        memset(longer, 'x', sizeof longer);
        memcpy(longer, "PROXY UNKNOWN ", 14);
        memcpy(longer + PROXY_V1_MAX - 1, "\r\n", 2);
        refused("UNKNOWN of 108 bytes", longer, PROXY_V1_MAX + 1, -EINVAL);
        refused("107 bytes without a CRLF", longer, PROXY_V1_MAX, -EINVAL);
        incomplete("106 bytes without a CRLF", longer, PROXY_V1_MAX - 1);

        V1_BAD("lone LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n");
        V1_BAD("lone CR then data", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\n");
        V1_BAD("lower-case keyword", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
        V1_BAD("two spaces after PROXY", "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
        V1_BAD("two spaces between fields", "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n");
        V1_BAD("trailing space", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n");
        V1_BAD("tab for a space", "PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n");
        V1_BAD("missing port", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n");
        V1_BAD("a fifth field", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n");
        V1_BAD("protocol TCP5", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n");
        V1_BAD("protocol UDP4", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n");
        V1_BAD("UNKNOWN glued to more", "PROXY UNKNOWNX\r\n");
        V1_BAD("no protocol", "PROXY \r\n");
        V1_BAD("leading zero in an address", "PROXY TCP4 192.168.0.01 5.6.7.8 1 2\r\n");
        V1_BAD("octet over 255", "PROXY TCP4 256.1.1.1 5.6.7.8 1 2\r\n");
        V1_BAD("three octets", "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n");
        V1_BAD("five octets", "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n");
        V1_BAD("empty octet", "PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n");
        V1_BAD("IPv6 under TCP4", "PROXY TCP4 ::1 5.6.7.8 1 2\r\n");
        V1_BAD("IPv4 under TCP6", "PROXY TCP6 1.2.3.4 ::1 1 2\r\n");
        V1_BAD("two double colons", "PROXY TCP6 1::2::3 ::1 1 2\r\n");
        V1_BAD("IPv6 too short", "PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n");
        V1_BAD("IPv6 with a zone", "PROXY TCP6 fe80::1%lo ::1 1 2\r\n");
        V1_BAD("a host name", "PROXY TCP4 localhost 5.6.7.8 1 2\r\n");
        V1_BAD("port over 65535", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n");
        V1_BAD("port with a leading zero", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n");
        V1_BAD("port with a sign", "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n");
        V1_BAD("port of six digits", "PROXY TCP4 1.2.3.4 5.6.7.8 000001 2\r\n");
        refused("NUL inside an address", nul, sizeof nul - 1, -EINVAL);

        /* Refused as soon as the bytes so far cannot become a header. */
        refused("not PROXY at the first byte", "GET / HTTP/1.1\r\n", 16, -EINVAL);
        refused("TLS client hello", "\x16\x03\x01\x02\x00", 5, -EINVAL);
        refused("the seed's message", "Hi, this is a test", 1, -EINVAL);
        refused("PROXY misspelt, unfinished", "PROXI", 5, -EINVAL);
        refused("bad protocol, unfinished", "PROXY TCP9", 10, -EINVAL);
        refused("bad address byte, unfinished", "PROXY TCP4 1.2.3.x", 18, -EINVAL);
        refused("CR inside the fields, unfinished", "PROXY TCP4 1.2\r3", 16, -EINVAL);
        incomplete("UNKNOWN and a CR", "PROXY UNKNOWN\r", 14);
        incomplete("nothing yet", "", 0);
}

static void test_v2(void) {
        uint8_t buf[2048], body[1100];
        size_t n;

        /* TCP over IPv4: 192.0.2.1:56324 -> 192.0.2.11:443, then the client's bytes. */
        memcpy(body, "\xc0\x00\x02\x01" "\xc0\x00\x02\x0b" "\xdc\x04" "\x01\xbb", 12);
        n = v2(buf, 0x21, 0x11, body, 12);
        memcpy(buf + n, "hello", 5);
        valid("v2 TCP4", buf, n + 5, 28, 2, "192.0.2.1 56324", "192.0.2.11 443");

        /* TCP over IPv6: 2001:db8::1 port 1 -> ::1 port 65535. */
        memset(body, 0, 36);
        memcpy(body, "\x20\x01\x0d\xb8", 4);
        body[15] = 1;
        body[31] = 1;
        memcpy(body + 32, "\x00\x01\xff\xff", 4);
        n = v2(buf, 0x21, 0x21, body, 36);
        valid("v2 TCP6", buf, n, 52, 2, "2001:db8::1 1", "::1 65535");

        /* TLVs after the addresses are skipped: ALPN "echo", NOOP of 0 bytes, a custom 0xE0. */
        memcpy(body, "\x7f\x00\x00\x01" "\x7f\x00\x00\x02" "\x30\x39" "\x27\x10", 12);
        memcpy(body + 12, "\x01\x00\x04" "echo" "\x04\x00\x00" "\xe0\x00\x02" "ab", 15);
        n = v2(buf, 0x21, 0x11, body, 27);
        valid("v2 TCP4 with TLVs", buf, n, 43, 2, "127.0.0.1 12345", "127.0.0.2 10000");
        /* The last TLV says 3 bytes but 2 are left. */
        buf[16 + 12 + 7 + 3 + 2] = 3;
        refused("v2 TLV longer than the header", buf, n, -EINVAL);
        /* Two bytes after the addresses cannot be a TLV. */
        n = v2(buf, 0x21, 0x11, body, 14);
        refused("v2 truncated TLV", buf, n, -EINVAL);

        /* LOCAL: the balancer's own connection; addresses and family ignored, TLVs skipped. */
        n = v2(buf, 0x20, 0x00, body, 0);
        valid("v2 LOCAL", buf, n, 16, 2, "-", "-");
        n = v2(buf, 0x20, 0x11, body, 12);
        valid("v2 LOCAL with an address block", buf, n, 28, 2, "-", "-");
        n = v2(buf, 0x20, 0xff, body, 5);
        valid("v2 LOCAL ignores the family", buf, n, 21, 2, "-", "-");

        /* PROXY with a family echod does not take: the real endpoints stand (AF_UNSPEC). */
        n = v2(buf, 0x21, 0x00, body, 0);
        valid("v2 PROXY AF_UNSPEC", buf, n, 16, 2, "-", "-");
        n = v2(buf, 0x21, 0x00, body, 7);
        valid("v2 PROXY AF_UNSPEC with bytes", buf, n, 23, 2, "-", "-");
        n = v2(buf, 0x21, 0x12, body, 12);
        valid("v2 PROXY UDP4", buf, n, 28, 2, "-", "-");
        memset(body, 0, 216);
        n = v2(buf, 0x21, 0x31, body, 216);
        valid("v2 PROXY AF_UNIX stream", buf, n, 232, 2, "-", "-");

        n = v2(buf, 0x21, 0x11, body, 11);
        refused("v2 TCP4 with 11 address bytes", buf, n, -EINVAL);
        n = v2(buf, 0x21, 0x21, body, 35);
        refused("v2 TCP6 with 35 address bytes", buf, n, -EINVAL);
        n = v2(buf, 0x21, 0x31, body, 215);
        refused("v2 AF_UNIX with 215 address bytes", buf, n, -EINVAL);
        n = v2(buf, 0x11, 0x11, body, 12);
        refused("v2 signature, version 1", buf, n, -EINVAL);
        refused("v2 signature, version 1, 13 bytes", buf, 13, -EINVAL);
        n = v2(buf, 0x31, 0x11, body, 12);
        refused("v2 signature, version 3", buf, n, -EINVAL);
        n = v2(buf, 0x22, 0x11, body, 12);
        refused("v2 command 2", buf, n, -EINVAL);
        refused("v2 command 2, 13 bytes", buf, 13, -EINVAL);
        n = v2(buf, 0x2f, 0x11, body, 12);
        refused("v2 command 15", buf, n, -EINVAL);
        n = v2(buf, 0x21, 0x41, body, 12);
        refused("v2 family 4", buf, n, -EINVAL);
        refused("v2 family 4, 14 bytes", buf, 14, -EINVAL);
        n = v2(buf, 0x21, 0x13, body, 12);
        refused("v2 transport 3", buf, n, -EINVAL);
        memcpy(buf, sig, 12);
        buf[4] = 0x01;
        refused("v2 signature with its NUL changed", buf, 12, -EINVAL);
        refused("v2 signature changed in its 5th byte, 5 bytes", buf, 5, -EINVAL);

        /* The announced length is checked before the body arrives. */
        memset(body, 0, sizeof body);
        n = v2(buf, 0x21, 0x11, body, PROXY_HEADER_MAX - 16);
        valid("v2 of PROXY_HEADER_MAX bytes", buf, n, PROXY_HEADER_MAX, 2, "0.0.0.0 0", "0.0.0.0 0");
        buf[16 + 12] = 0x04;
        buf[16 + 14] = (uint8_t) (PROXY_HEADER_MAX - 16 - 12 - 3);
        buf[16 + 13] = (uint8_t) ((PROXY_HEADER_MAX - 16 - 12 - 3) >> 8);
        valid("v2 of PROXY_HEADER_MAX bytes, one NOOP TLV", buf, n, PROXY_HEADER_MAX, 2, "0.0.0.0 0", "0.0.0.0 0");
        n = v2(buf, 0x21, 0x11, body, PROXY_HEADER_MAX - 15);
        refused("v2 one byte over PROXY_HEADER_MAX", buf, n, -EMSGSIZE);
        refused("v2 over PROXY_HEADER_MAX, 16 bytes", buf, 16, -EMSGSIZE);
        buf[14] = buf[15] = 0xff;
        refused("v2 announcing 65535 bytes", buf, 16, -EMSGSIZE);
}

int main(void) {
        test_v1();
        test_v2();
        printf("%s\n", failures ? "proxy tests FAILED" : "proxy tests passed");
        return failures ? 1 : 0;
}
