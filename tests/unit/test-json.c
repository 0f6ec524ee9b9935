/* test-json - echo-client's JSON strings: escapes, UTF-8 kept, invalid UTF-8 as U+FFFD; numbers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static int failures;

static void check(const char *in, const char *want, int is_number, double v) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f) {
                perror("open_memstream");
                exit(1);
        }
        if (is_number)
                json_number(f, v);
        else
                json_string(f, in);
        fclose(f);
        if (strcmp(buf, want) != 0) {
                printf("FAIL %s -> %s, want %s\n", is_number ? "number" : in, buf, want);
                failures++;
        }
        free(buf);
}

int main(void) {
        check("", "\"\"", 0, 0);
        check("plain", "\"plain\"", 0, 0);
        check("a\"b\\c/", "\"a\\\"b\\\\c/\"", 0, 0);
        check("\n\t\x01\x1f\x7f", "\"\\u000a\\u0009\\u0001\\u001f\\u007f\"", 0, 0);
        check("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", 0, 0);
        check("\xff", "\"\\ufffd\"", 0, 0);                     /* never a UTF-8 byte */
        check("\xc3", "\"\\ufffd\"", 0, 0);                     /* cut short at the end */
        check("\xc3(", "\"\\ufffd(\"", 0, 0);                   /* cut short by ASCII */
        check("\xc0\xaf", "\"\\ufffd\\ufffd\"", 0, 0);          /* overlong '/' */
        check("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"", 0, 0);
        check("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", 0, 0);  /* a UTF-16 surrogate */
        check("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", 0, 0);  /* above U+10FFFF */
        check("\x80x", "\"\\ufffdx\"", 0, 0);                   /* a lone continuation byte */
        check(NULL, "0.000", 1, 0);
        check(NULL, "0.130", 1, 0.13);
        check(NULL, "12345.679", 1, 12345.6789);
        check(NULL, "-1.500", 1, -1.5);
        check(NULL, "null", 1, NAN);
        check(NULL, "null", 1, INFINITY);
        if (failures)
                return 1;
        printf("ok\n");
        return 0;
}
