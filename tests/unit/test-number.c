/* test-number - parse_unsigned() takes digits only, within a range. */
#include <errno.h>
#include <stdio.h>

#include "number.h"

static int failures;

static void check(const char *s, unsigned long long min, unsigned long long max, int want_r,
                  unsigned long long want_v) {
        unsigned long long v = 12345;
        int r = parse_unsigned(s, min, max, &v);

        if (r != want_r || (r == 0 && v != want_v)) {
                printf("FAIL parse_unsigned('%s', %llu, %llu) = %d, %llu\n", s ? s : "(null)", min, max, r, v);
                failures++;
        }
}

int main(void) {
        check("0", 0, 10, 0, 0);
        check("10", 0, 10, 0, 10);
        check("007", 0, 10, 0, 7);
        check("18446744073709551615", 0, ~0ull, 0, ~0ull);
        check("11", 0, 10, -ERANGE, 0);
        check("0", 1, 10, -ERANGE, 0);
        check("18446744073709551616", 0, ~0ull, -ERANGE, 0);
        check("", 0, 10, -EINVAL, 0);
        check(NULL, 0, 10, -EINVAL, 0);
        check("-1", 0, 10, -EINVAL, 0);
        check("+1", 0, 10, -EINVAL, 0);
        check(" 1", 0, 10, -EINVAL, 0);
        check("1 ", 0, 10, -EINVAL, 0);
        check("1x", 0, 10, -EINVAL, 0);
        check("0x10", 0, 100, -EINVAL, 0);
        check("1e3", 0, 10000, -EINVAL, 0);
        printf("%s\n", failures ? "number tests FAILED" : "number tests passed");
        return failures ? 1 : 0;
}
