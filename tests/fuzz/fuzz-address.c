/* fuzz-address - address_parse() on any string: it returns 0 with a well-formed result that
 * parses back to itself, or -EINVAL with a reason; it never reads or writes out of bounds. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_port(const char *port) {
        unsigned long v;
        char *end;

        assert(port[0] >= '1' && port[0] <= '9');
        v = strtoul(port, &end, 10);
        assert(*end == '\0' && v >= 1 && v <= 65535);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1), again[ADDRESS_HOST_MAX + 16];
        struct address a, b;
        struct in6_addr in6;
        const char *why = NULL;
        int r;

        memcpy(s, data, size);
        s[size] = '\0';
        r = address_parse(s, "10000", &a, &why);
        if (r < 0) {
                assert((r == -EINVAL || r == -ENOENT) && why && *why);
                free(s);
                return 0;
        }
        assert(r == 0);
        assert(strnlen(a.host, sizeof a.host) < sizeof a.host);
        assert(!strchr(a.host, '[') && !strchr(a.host, ']'));
        check_port(a.port);
        if (a.bracketed) {
                /* A scoped address (fe80::1%lo): the address before the '%', a zone after it. */
                char addr6[ADDRESS_HOST_MAX + 1], *zone;

                snprintf(addr6, sizeof addr6, "%s", a.host);
                zone = strchr(addr6, '%');
                if (zone) {
                        *zone++ = '\0';
                        assert(*zone);
                }
                assert(inet_pton(AF_INET6, addr6, &in6) == 1);
        }
        else
                assert(!strchr(a.host, ':'));

        /* The canonical spelling parses back to the same address. */
        snprintf(again, sizeof again, a.bracketed ? "[%s]:%s" : "%s:%s", a.host[0] ? a.host : "*", a.port);
        r = address_parse(again, "1", &b, &why);
        assert(r == 0);
        assert(strcmp(a.host, b.host) == 0 && strcmp(a.port, b.port) == 0 && a.bracketed == b.bracketed);
        free(s);
        return 0;
}
