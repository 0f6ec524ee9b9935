/* proxy.h - the PROXY protocol header (haproxy.org's proxy-protocol.txt, versions 1 and 2) a
 * load balancer sends at the start of a connection to say whom it relays. The parser is pure:
 * it reads only the bytes it is given, does no I/O, no allocation and no logging. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Version 1 is one text line of at most 107 bytes, CRLF included. */
#define PROXY_V1_MAX 107
/* The longest header echod takes: a version 2 header may announce up to 16 + 65535 bytes, but
 * addresses take at most 232 of them; the rest are TLVs, of which real balancers send a few
 * dozen bytes. A header announcing more is refused before its body is read. */
#define PROXY_HEADER_MAX 1024

struct proxy_header {
        int version;                    /* 1 or 2 */
        /* No relayed client: v2 LOCAL (the balancer's own health check), v1 UNKNOWN, or a v2
         * family or protocol other than TCP over IPv4/IPv6. The connection's own endpoints
         * stand; source and destination are zeroed. */
        bool local;
        struct sockaddr_storage source; /* the client, as the balancer saw it */
        struct sockaddr_storage destination;
        socklen_t source_len, destination_len;
};

/* Parses the header at the start of data[0..len), which holds everything received so far.
 * Returns the header's length in bytes (> 0) with *h filled, the bytes after it being the
 * client's; 0 when data is a valid beginning of a header but too short to tell (read more:
 * every byte given so far is then part of the header); or -EINVAL when data is not a valid
 * header (version, command, family, address, port, CRLF, TLVs, or v1 longer than
 * PROXY_V1_MAX), -EMSGSIZE when a v2 header announces more than PROXY_HEADER_MAX bytes.
 * On an error *why says what is wrong (a static string). */
int proxy_header_parse(const uint8_t *data, size_t len, struct proxy_header *h, const char **why);
