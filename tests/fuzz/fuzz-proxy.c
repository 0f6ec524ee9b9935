/* fuzz-proxy - proxy_header_parse() on any bytes: it returns a header length within the data
 * (version 1 at most 107 bytes, any at most PROXY_HEADER_MAX), 0 (need more) only for data
 * shorter than a header can be, or -EINVAL/-EMSGSIZE with a reason. A header parses the same
 * without the bytes after it, and every shorter prefix of it asks for more. */
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_address(const struct sockaddr_storage *ss, socklen_t len) {
        assert((ss->ss_family == AF_INET && len == sizeof(struct sockaddr_in)) ||
               (ss->ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct proxy_header h, again;
        const char *why = NULL;
        int r, r2;

        r = proxy_header_parse(data, size, &h, &why);
        if (r < 0) {
                assert((r == -EINVAL || r == -EMSGSIZE) && why && *why);
                return 0;
        }
        if (r == 0) {
                assert(size < PROXY_HEADER_MAX);
                return 0;
        }
        assert((size_t) r <= size && r <= PROXY_HEADER_MAX);
        assert(h.version == 1 || h.version == 2);
        if (h.version == 1)
                assert(r <= PROXY_V1_MAX && data[r - 2] == '\r' && data[r - 1] == '\n');
        if (h.local) {
                assert(h.source_len == 0 && h.destination_len == 0);
        } else {
                check_address(&h.source, h.source_len);
                check_address(&h.destination, h.destination_len);
                assert(h.source.ss_family == h.destination.ss_family);
        }
        r2 = proxy_header_parse(data, (size_t) r, &again, &why);
        assert(r2 == r && memcmp(&h, &again, sizeof h) == 0);
        assert(proxy_header_parse(data, (size_t) r - 1, &again, &why) == 0);
        assert(proxy_header_parse(data, (size_t) r / 2, &again, &why) == 0);
        return 0;
}
