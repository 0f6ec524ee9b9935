/* bench.c - see bench.h. */
#include "bench.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

static const char *const mode_names[] = {
        [MODE_STREAM] = "stream",
        [MODE_PINGPONG] = "pingpong",
        [MODE_CONCURRENT] = "concurrent",
        [MODE_CONNRATE] = "connrate",
        [MODE_IDLE] = "idle",
};

const char *bench_mode_name(enum bench_mode m) {
        return mode_names[m];
}

int bench_mode_parse(const char *s, enum bench_mode *ret) {
        for (size_t i = 0; i < sizeof mode_names / sizeof *mode_names; i++)
                if (strcmp(s, mode_names[i]) == 0) {
                        *ret = (enum bench_mode) i;
                        return 0;
                }
        return -EINVAL;
}

const char *bench_strerror(int e) {
        return e == BENCH_ECLOSED ? "closed before every byte came back" : strerror(e);
}

void bench_progress(const struct bench_config *c, double *last, bool done, const char *fmt, ...) {
        double now;
        va_list ap;

        if (!c->progress)
                return;
        now = clock_now_s();
        if (!done && now - *last < 1.0)
                return;
        *last = now;
        fputs("\r\033[K", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        if (done)
                fputc('\n', stderr);
        fflush(stderr);
}

int pattern_init(struct pattern *p) {
        uint64_t x = 0x9e3779b97f4a7c15ull;

        p->data = malloc(2 * PATTERN_LEN);
        if (!p->data)
                return -ENOMEM;
        /* xorshift64: cheap, and no byte sequence repeats within the pattern. */
        for (size_t i = 0; i < PATTERN_LEN; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                p->data[i] = (uint8_t) (x >> 24);
        }
        memcpy(p->data + PATTERN_LEN, p->data, PATTERN_LEN);
        return 0;
}

void pattern_finish(struct pattern *p) {
        free(p->data);
        p->data = NULL;
}

const uint8_t *pattern_at(const struct pattern *p, uint64_t k, uint64_t off) {
        return p->data + (k * 7919 + off) % PATTERN_LEN;
}

bool bench_source(const struct addrinfo *target, uint64_t index, struct sockaddr_in *src) {
        if (target->ai_family != AF_INET ||
            (ntohl(((const struct sockaddr_in *) target->ai_addr)->sin_addr.s_addr) >> 24) != 127)
                return false;
        /* 512 connections per source address, over 127.0.0.2 .. 127.255.255.254. */
        *src = (struct sockaddr_in) {
                .sin_family = AF_INET,
                .sin_addr.s_addr = htonl(0x7f000000u | (2 + (uint32_t) ((index / 512) % 0xfffffc))),
        };
        return true;
}
