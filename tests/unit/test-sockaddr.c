/* test-sockaddr - sockaddr_pytuple(): addresses as Python's socket module shows them. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "address.h"

static int failures;

static void expect(const struct sockaddr *sa, socklen_t len, const char *want) {
        char got[256];

        sockaddr_pytuple(sa, len, got, sizeof got);
        if (strcmp(got, want) != 0) {
                printf("FAIL: got %s, want %s\n", got, want);
                failures++;
        }
}

int main(void) {
        struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons(10000) };
        struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(5000) };
        struct sockaddr_un un = { .sun_family = AF_UNIX };
        socklen_t base = offsetof(struct sockaddr_un, sun_path);

        inet_pton(AF_INET, "127.0.0.1", &in4.sin_addr);
        expect((struct sockaddr *) &in4, sizeof in4, "('127.0.0.1', 10000)");
        inet_pton(AF_INET6, "::1", &in6.sin6_addr);
        expect((struct sockaddr *) &in6, sizeof in6, "('::1', 5000, 0, 0)");

        strcpy(un.sun_path, "/run/echo.sock");
        expect((struct sockaddr *) &un, base + sizeof "/run/echo.sock", "'/run/echo.sock'");
        /* accept() on AF_UNIX gives an unnamed peer: only the family. */
        expect((struct sockaddr *) &un, base, "''");
        memcpy(un.sun_path, "\0echo", 5);
        expect((struct sockaddr *) &un, base + 5, "'@echo'");
        /* Abstract names in full: a NUL does not end them, and no two look alike. */
        memcpy(un.sun_path, "\0echo\0x", 8);
        expect((struct sockaddr *) &un, base + 7, "'@echo\\x00x'");
        expect((struct sockaddr *) &un, base + 6, "'@echo\\x00'");
        memcpy(un.sun_path, "\0echo\\x00x", 11);
        expect((struct sockaddr *) &un, base + 10, "'@echo\\\\x00x'");
        memcpy(un.sun_path, "\0\n\x9b\xc3\xa9", 6);
        expect((struct sockaddr *) &un, base + 5, "'@\\x0a\\x9b\\xc3\\xa9'");

        if (failures == 0)
                printf("ok\n");
        return failures ? 1 : 0;
}
