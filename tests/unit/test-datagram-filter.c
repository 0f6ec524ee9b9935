/* test-datagram-filter - datagram_source_ok(), the sources UDP echo never answers, class by
 * class, with the neighbours that must pass; and broadcasts_read() on a real socket. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "datagram.h"

static int failures;

enum { OK = -1 };

/* check("ADDRESS", port, want): want is OK, DATAGRAM_DROP_PORT or DATAGRAM_DROP_ADDRESS. */
static void check_with(const char *text, unsigned port, int want, const struct broadcasts *b) {
        struct sockaddr_storage ss = { 0 };
        enum datagram_drop why = DATAGRAM_DROP_REASONS;
        socklen_t len;
        bool ok;
        int got;

        if (strchr(text, ':')) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) port);
                if (inet_pton(AF_INET6, text, &in6->sin6_addr) != 1)
                        printf("FAIL: bad test address %s\n", text), failures++;
                len = sizeof *in6;
        } else {
                struct sockaddr_in *in = (struct sockaddr_in *) &ss;
                in->sin_family = AF_INET;
                in->sin_port = htons((uint16_t) port);
                if (inet_pton(AF_INET, text, &in->sin_addr) != 1)
                        printf("FAIL: bad test address %s\n", text), failures++;
                len = sizeof *in;
        }
        ok = datagram_source_ok((struct sockaddr *) &ss, len, b, &why);
        got = ok ? OK : (int) why;
        if (got != want) {
                printf("FAIL %s port %u: got %s, want %s\n", text, port,
                       got == OK ? "ok" : datagram_drop_names[got], want == OK ? "ok" : datagram_drop_names[want]);
                failures++;
        }
}

static void check(const char *text, unsigned port, int want) {
        check_with(text, port, want, NULL);
}

static void test_ports(void) {
        static const unsigned bad[] = { 0, 1, 7, 9, 13, 19, 37, 53, 123, 1023, 2049 };
        static const unsigned good[] = { 1024, 2048, 2050, 10000, 40000, 65535 };

        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                check("127.0.0.1", bad[i], DATAGRAM_DROP_PORT);
                check("::1", bad[i], DATAGRAM_DROP_PORT);
                check("::ffff:192.0.2.1", bad[i], DATAGRAM_DROP_PORT);
        }
        for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
                check("127.0.0.1", good[i], OK);
                check("::1", good[i], OK);
        }
}

static void test_ipv4(void) {
        struct broadcasts b = { .n = 2 };

        check("192.0.2.1", 40000, OK);
        check("127.0.0.3", 40000, OK);          /* loopback stays a client */
        check("224.0.0.1", 40000, DATAGRAM_DROP_ADDRESS);
        check("239.255.255.255", 40000, DATAGRAM_DROP_ADDRESS);
        check("223.255.255.255", 40000, OK);
        check("255.255.255.255", 40000, DATAGRAM_DROP_ADDRESS);
        check("0.0.0.0", 40000, DATAGRAM_DROP_ADDRESS);
        check("0.255.255.255", 40000, DATAGRAM_DROP_ADDRESS);
        check("1.0.0.0", 40000, OK);
        /* The address class comes first: a multicast source on port 7 is an "address" drop. */
        check("224.0.0.1", 7, DATAGRAM_DROP_ADDRESS);

        inet_pton(AF_INET, "10.0.0.255", &b.addr[0]);
        inet_pton(AF_INET, "192.0.2.127", &b.addr[1]);
        check_with("10.0.0.255", 40000, DATAGRAM_DROP_ADDRESS, &b);
        check_with("192.0.2.127", 40000, DATAGRAM_DROP_ADDRESS, &b);
        check_with("10.0.0.254", 40000, OK, &b);
        check("10.0.0.255", 40000, OK);         /* not a local broadcast without the list */
}

static void test_ipv6(void) {
        struct broadcasts b = { .n = 1 };

        inet_pton(AF_INET, "10.0.0.255", &b.addr[0]);
        check("2001:db8::1", 40000, OK);
        check("::1", 40000, OK);                /* not read as v4-compatible 0.0.0.1 */
        check("::", 40000, DATAGRAM_DROP_ADDRESS);
        check("ff02::1", 40000, DATAGRAM_DROP_ADDRESS);
        check("ff0e::1234", 40000, DATAGRAM_DROP_ADDRESS);
        check("fe80::1", 40000, OK);
        /* v4-mapped: the IPv4 address inside decides. */
        check("::ffff:127.0.0.1", 40000, OK);
        check("::ffff:224.0.0.1", 40000, DATAGRAM_DROP_ADDRESS);
        check("::ffff:255.255.255.255", 40000, DATAGRAM_DROP_ADDRESS);
        check("::ffff:0.0.0.5", 40000, DATAGRAM_DROP_ADDRESS);
        check_with("::ffff:10.0.0.255", 40000, DATAGRAM_DROP_ADDRESS, &b);
        /* v4-compatible (deprecated, RFC 4291): likewise. */
        check("::0.0.0.2", 40000, DATAGRAM_DROP_ADDRESS);
        check("::224.0.0.1", 40000, DATAGRAM_DROP_ADDRESS);
        check("::255.255.255.255", 40000, DATAGRAM_DROP_ADDRESS);
        check_with("::10.0.0.255", 40000, DATAGRAM_DROP_ADDRESS, &b);
        check("::192.0.2.1", 40000, OK);
}

static void test_other(void) {
        struct sockaddr_un un = { .sun_family = AF_UNIX };
        struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(40000), .sin_addr.s_addr = htonl(0xc0000201) };
        enum datagram_drop why;

        if (datagram_source_ok((struct sockaddr *) &un, sizeof un, NULL, &why) || why != DATAGRAM_DROP_ADDRESS)
                printf("FAIL: AF_UNIX passes\n"), failures++;
        if (datagram_source_ok((struct sockaddr *) &in, sizeof in - 1, NULL, &why))
                printf("FAIL: a truncated address passes\n"), failures++;
        if (!datagram_source_ok((struct sockaddr *) &in, sizeof in, NULL, &why))
                printf("FAIL: 192.0.2.1 port 40000 dropped\n"), failures++;
}

static void test_broadcasts_read(void) {
        struct broadcasts b = { .n = 99 };
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), null = open("/dev/null", O_RDONLY);
        int r;

        r = broadcasts_read(fd, &b);
        if (r != 0 || b.n > DATAGRAM_BROADCASTS_MAX)
                printf("FAIL: broadcasts_read on a UDP socket: %d, %zu\n", r, b.n), failures++;
        for (size_t i = 0; i < b.n; i++)
                if (b.addr[i] == 0)
                        printf("FAIL: 0.0.0.0 listed as a broadcast address\n"), failures++;
        b.n = 7;
        r = broadcasts_read(null, &b);
        if (r >= 0 || b.n != 7)
                printf("FAIL: broadcasts_read on /dev/null: %d, list changed\n", r), failures++;
        close(fd);
        close(null);
}

int main(void) {
        test_ports();
        test_ipv4();
        test_ipv6();
        test_other();
        test_broadcasts_read();
        if (failures)
                printf("%d failures\n", failures);
        else
                printf("all filter tests passed\n");
        return failures ? 1 : 0;
}
