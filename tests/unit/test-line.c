/* test-line - line_defuse(): what reaches a log line from argv, the environment or the network. */
#include <stdio.h>
#include <string.h>

#include "line.h"

static int failures;

static void expect(const char *in, size_t size, const char *want) {
        char got[256];
        size_t n = line_defuse(got, size, in);

        if (strcmp(got, want) != 0 || n != strlen(want)) {
                printf("FAIL: defuse(\"");
                for (const unsigned char *p = (const unsigned char *) in; *p; p++)
                        printf(*p >= 0x20 && *p < 0x7f ? "%c" : "\\x%02x", *p);
                printf("\", %zu) gave '%s' (%zu), want '%s'\n", size, got, n, want);
                failures++;
        }
}

int main(void) {
        static const struct { const char *in, *want; } table[] = {
                { "", "" },
                { "plain ASCII: ('127.0.0.1', 5000) b'\\x00'", "plain ASCII: ('127.0.0.1', 5000) b'\\x00'" },
                /* C0 controls and DEL */
                { "a\nb", "a\\x0ab" },
                { "\r\t\x1b[31m", "\\x0d\\x09\\x1b[31m" },
                { "\x01\x1f\x7f", "\\x01\\x1f\\x7f" },
                /* C1 controls, raw (invalid UTF-8) and as UTF-8 U+0080..U+009F */
                { "\x9b" "31m", "\\x9b31m" },
                { "\x80\x9f", "\\x80\\x9f" },
                { "\xc2\x9b" "2J", "\\xc2\\x9b2J" },
                { "\xc2\x80", "\\xc2\\x80" },
                { "\xc2\x9f", "\\xc2\\x9f" },
                /* valid UTF-8 stays: U+00A0, é, €, U+10FFFF, an emoji */
                { "\xc2\xa0", "\xc2\xa0" },
                { "caf\xc3\xa9", "caf\xc3\xa9" },
                { "\xe2\x82\xac", "\xe2\x82\xac" },
                { "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" },
                { "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
                /* invalid UTF-8: overlong, surrogate, beyond U+10FFFF, stray and cut-short */
                { "\xc0\xaf", "\\xc0\\xaf" },
                { "\xc1\xbf", "\\xc1\\xbf" },
                { "\xe0\x80\xaf", "\\xe0\\x80\\xaf" },
                { "\xed\xa0\x80", "\\xed\\xa0\\x80" },
                { "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },
                { "\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80" },
                { "\xbf", "\\xbf" },
                { "\xe2\x82", "\\xe2\\x82" },
                { "\xe2\x82x", "\\xe2\\x82x" },
                { "\xfe\xff", "\\xfe\\xff" },
        };

        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
                expect(table[i].in, 256, table[i].want);
        /* Too small: cut at a whole character or escape, never inside one. */
        expect("abc\ndef", 6, "abc");
        expect("abc\ndef", 8, "abc\\x0a");
        expect("ab\xc3\xa9", 4, "ab");
        expect("ab\xc3\xa9", 5, "ab\xc3\xa9");
        expect("abc", 1, "");

        if (failures == 0)
                printf("ok\n");
        return failures ? 1 : 0;
}
