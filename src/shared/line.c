/* line.c - see line.h. */
#include "line.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0 if it is not one (overlong,
 * a surrogate, beyond U+10FFFF, cut short). Only called for p[0] >= 0x80. */
static size_t utf8_sequence(const unsigned char *p, size_t n) {
        unsigned char lo = 0x80, hi = 0xbf;
        size_t len;

        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                len = 2;
        else if (p[0] >= 0xe0 && p[0] <= 0xef) {
                len = 3;
                if (p[0] == 0xe0)
                        lo = 0xa0;
                else if (p[0] == 0xed)
                        hi = 0x9f;
        } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
                len = 4;
                if (p[0] == 0xf0)
                        lo = 0x90;
                else if (p[0] == 0xf4)
                        hi = 0x8f;
        } else
                return 0;
        if (n < len || p[1] < lo || p[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if (p[i] < 0x80 || p[i] > 0xbf)
                        return 0;
        return len;
}

size_t line_defuse(char *out, size_t size, const char *in) {
        const unsigned char *p = (const unsigned char *) in;
        size_t n = strlen(in), o = 0;

        if (size == 0)
                return 0;
        while (n > 0) {
                size_t len = p[0] < 0x80 ? 1 : utf8_sequence(p, n);
                /* U+0080..U+009F (C1, 0xc2 0x80..0x9f) is a control as much as a raw 0x9b is. */
                bool control = p[0] < 0x20 || p[0] == 0x7f || len == 0 || (p[0] == 0xc2 && p[1] < 0xa0);

                if (control) {
                        size_t k = len > 0 ? len : 1;

                        if (o + 4 * k >= size)
                                break;
                        for (size_t i = 0; i < k; i++)
                                o += (size_t) snprintf(out + o, size - o, "\\x%02x", p[i]);
                        p += k;
                        n -= k;
                        continue;
                }
                if (o + len >= size)
                        break;
                memcpy(out + o, p, len);
                o += len;
                p += len;
                n -= len;
        }
        out[o] = '\0';
        return o;
}
