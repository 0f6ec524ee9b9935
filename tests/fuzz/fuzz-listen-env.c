/* fuzz-listen-env - listen_env_check() against a model written from the protocol's text
 * (sd_listen_fds(3), FileDescriptorName= in systemd.socket(5)): the same verdict, the same fd
 * count, and a one-line reason whenever it refuses. Input: a byte of flags (which variables are
 * set), then LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES separated by NUL bytes. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "activation.h"

#define SELF 4242L

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Digits only, no more than `max`; -1 otherwise. */
static long long model_number(const char *s, long long max) {
        long long v = 0;

        if (!*s)
                return -1;
        for (; *s; s++) {
                if (!isdigit((unsigned char) *s))
                        return -1;
                v = v * 10 + (*s - '0');
                if (v > max)
                        return -1;
        }
        return v;
}

static int model(const char *pid, const char *fds, const char *names) {
        long long p, n, count = 0, len = 0;

        if (!pid && !fds && !names)
                return 0;
        if (!pid || !fds)
                return -EINVAL;
        p = model_number(pid, INT32_MAX);
        if (p < 1 || p != SELF)
                return -EINVAL;
        n = model_number(fds, ACTIVATION_FDS_MAX);
        if (n < 0)
                return -EINVAL;
        if (!names)
                return (int) n;
        if (*names)
                count = 1;
        for (const char *c = names; *c; c++) {
                if (*c == ':') {
                        count++;
                        len = 0;
                } else if ((unsigned char) *c < 0x20 || *c == 0x7f || ++len > 255)
                        return -EINVAL;
        }
        return count == n ? (int) n : -EINVAL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *buf, *field[3] = { 0 }, why[256];
        uint8_t flags;
        size_t at = 0;
        int r, m;

        if (size < 1)
                return 0;
        flags = data[0];
        buf = malloc(size);
        memcpy(buf, data + 1, size - 1);
        buf[size - 1] = '\0';
        for (int i = 0; i < 3; i++) {
                field[i] = buf + at;
                at += strlen(buf + at);
                if (at < size - 1)
                        at++;
        }
        for (int i = 0; i < 3; i++)
                if (!(flags & (1u << i)))
                        field[i] = NULL;

        why[0] = '\0';
        r = listen_env_check(field[0], field[1], field[2], SELF, why, sizeof why);
        m = model(field[0], field[1], field[2]);
        assert(r == m);
        if (r < 0)
                assert(why[0] != '\0' && strlen(why) < sizeof why);
        free(buf);
        return 0;
}
