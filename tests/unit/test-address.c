/* test-address - address_parse() and port_parse(): the forms the issue names and the bad ones;
 * address_resolve() of localhost names (RFC 6761), which needs no resolver. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "address.h"

static int failures;

static void ok(const char *s, const char *host, const char *port, int bracketed) {
        struct address a;
        const char *why = NULL;
        int r = address_parse(s, "10000", &a, &why);

        if (r < 0 || strcmp(a.host, host) != 0 || strcmp(a.port, port) != 0 || a.bracketed != bracketed) {
                printf("FAIL '%s': r=%d why=%s host='%s' port='%s' bracketed=%d\n", s, r, why ? why : "-",
                       r < 0 ? "" : a.host, r < 0 ? "" : a.port, r < 0 ? -1 : a.bracketed);
                failures++;
        }
}

static void bad(const char *s, const char *why_part) {
        struct address a;
        const char *why = NULL;
        int r = address_parse(s, "10000", &a, &why);

        if (r != -EINVAL || !why || !strstr(why, why_part)) {
                printf("FAIL '%s' should be refused with '%s': r=%d why=%s\n", s, why_part, r, why ? why : "-");
                failures++;
        }
}

static void localhost_name(const char *host, bool want) {
        if (host_is_localhost(host) != want) {
                printf("FAIL host_is_localhost('%s') should be %s\n", host, want ? "true" : "false");
                failures++;
        }
}

/* A localhost name resolves to ::1 and 127.0.0.1, in that order, each once, with the port. */
static void resolves_to_loopbacks(const char *s) {
        struct address a;
        struct addrinfo *list = NULL;
        const char *why;
        char got[2 * (NI_MAXHOST + NI_MAXSERV + 2)] = "", host[NI_MAXHOST], port[NI_MAXSERV];
        int r;

        if (address_parse(s, "10000", &a, &why) < 0 || (r = address_resolve(&a, SOCK_STREAM, &list)) != 0) {
                printf("FAIL resolving '%s'\n", s);
                failures++;
                return;
        }
        for (struct addrinfo *ai = list; ai; ai = ai->ai_next) {
                sockaddr_numeric(ai->ai_addr, ai->ai_addrlen, host, port);
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s/%s", got[0] ? " " : "", host, port);
        }
        freeaddrinfo(list);
        if (strcmp(got, "::1/7 127.0.0.1/7") != 0) {
                printf("FAIL '%s' resolved to '%s', not '::1/7 127.0.0.1/7'\n", s, got);
                failures++;
        }
}

int main(void) {
        /* Issue 13: numeric forms as getaddrinfo(AI_NUMERICHOST) takes them, less inet_aton's. */
        ok("0:10000", "0.0.0.0", "10000", 0);
        ok("0", "0.0.0.0", "10000", 0);
        ok("10.1.2.3:7", "10.1.2.3", "7", 0);
        ok("1e100.net:80", "1e100.net", "80", 0);
        ok("[fe80::1%lo]:80", "fe80::1%lo", "80", 1);
        ok("[fe80::1%2]:80", "fe80::1%2", "80", 1);
        ok("fe80::1%lo", "fe80::1%lo", "10000", 1);
        bad("127.1:80", "legacy forms");
        bad("0x7f.1:80", "legacy forms");
        bad("0x7f000001", "legacy forms");
        bad("2130706433:80", "legacy forms");
        bad("127.0.0.01:80", "legacy forms");
        bad("1.2.3.4.5:80", "legacy forms");
        bad("[::ffff:127.0.0.1]:80", "IPv4-mapped");
        bad("::ffff:127.0.0.1", "IPv4-mapped");
        bad("[fe80::1%]:80", "interface name");
        bad("[fe80::1%l o]:80", "interface name");
        bad("[fe80::g%lo]:80", "not an IPv6 address");
        {
                struct address a;
                const char *why = NULL;
                int r = address_parse("localhost:no-such-service", "10000", &a, &why);

                if (r != -ENOENT || !why || !strstr(why, "unknown service name")) {
                        printf("FAIL an unknown service should be -ENOENT: r=%d\n", r);
                        failures++;
                }
        }
        char long_host[400];

        ok("localhost", "localhost", "10000", 0);
        ok("localhost:10001", "localhost", "10001", 0);
        ok("127.0.0.1:1", "127.0.0.1", "1", 0);
        ok("0.0.0.0:10002", "0.0.0.0", "10002", 0);
        ok(":10002", "", "10002", 0);
        ok("*:10002", "", "10002", 0);
        ok("*", "", "10000", 0);
        ok("[::1]:65535", "::1", "65535", 1);
        ok("[::1]", "::1", "10000", 1);
        ok("[::]:7", "::", "7", 1);
        ok("::1", "::1", "10000", 1);
        ok("localhost:echo", "localhost", "7", 0);
        ok("vm:discard", "vm", "9", 0);

        bad("", "empty address");
        bad("localhost:", "empty port");
        bad("localhost:0", "1 to 65535");
        bad("localhost:65536", "1 to 65535");
        bad("localhost:99999999999999999999999", "1 to 65535");
        bad("localhost:-1", "1 to 65535");
        bad("localhost:10x", "1 to 65535");
        bad("localhost: 10", "1 to 65535");
        bad("[::1", "closing ']'");
        bad("[::1]10000", "after ']'");
        bad("[]:10000", "empty IPv6");
        bad("[127.0.0.1]:10000", "not an IPv6");
        bad("::1:10000:x", "brackets");
        bad("fe80::1::2", "brackets");
        bad("a]b:10", "stray");
        memset(long_host, 'a', sizeof long_host - 1);
        long_host[sizeof long_host - 1] = '\0';
        bad(long_host, "too long");

        localhost_name("localhost", true);
        localhost_name("LocalHost.", true);
        localhost_name("a.localhost", true);
        localhost_name("localhost.localdomain", false);
        localhost_name("notlocalhost", false);
        localhost_name(".localhost", false);
        localhost_name("", false);
        resolves_to_loopbacks("localhost:7");
        resolves_to_loopbacks("LOCALHOST.:echo");
        resolves_to_loopbacks("echo.localhost:7");

        printf("%s\n", failures ? "address tests FAILED" : "address tests passed");
        return failures ? 1 : 0;
}
