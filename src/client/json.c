/* json.c - see json.h. */
#include "json.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

/* The length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF), or 0. */
static size_t utf8_length(const unsigned char *s) {
        size_t n;
        unsigned min, cp;

        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0)
                n = 2, min = 0x80, cp = s[0] & 0x1fu;
        else if ((s[0] & 0xf0) == 0xe0)
                n = 3, min = 0x800, cp = s[0] & 0x0fu;
        else if ((s[0] & 0xf8) == 0xf0)
                n = 4, min = 0x10000, cp = s[0] & 0x07u;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

void json_string(FILE *f, const char *str) {
        const unsigned char *s = (const unsigned char *) str;

        fputc('"', f);
        while (*s) {
                size_t n = utf8_length(s);

                if (n == 0) {
                        fputs("\\ufffd", f);
                        s++;
                } else if (*s == '"' || *s == '\\')
                        fprintf(f, "\\%c", *s++);
                else if (*s < 0x20 || *s == 0x7f)
                        fprintf(f, "\\u%04x", *s++);
                else {
                        fwrite(s, 1, n, f);
                        s += n;
                }
        }
        fputc('"', f);
}

void json_number(FILE *f, double v) {
        if (isfinite(v))
                fprintf(f, "%.3f", v);
        else
                fputs("null", f);
}

static void json_key(FILE *f, const char *key, int first) {
        if (!first)
                fputc(',', f);
        json_string(f, key);
        fputc(':', f);
}

void json_key_string(FILE *f, const char *key, const char *s, int first) {
        json_key(f, key, first);
        json_string(f, s);
}

void json_key_number(FILE *f, const char *key, double v, int first) {
        json_key(f, key, first);
        json_number(f, v);
}

void json_key_uint(FILE *f, const char *key, uint64_t n, int first) {
        json_key(f, key, first);
        fprintf(f, "%llu", (unsigned long long) n);
}
