/* number.c - see number.h. */
#include "number.h"

#include <errno.h>
#include <stdlib.h>

int parse_unsigned(const char *s, unsigned long long min, unsigned long long max,
                   unsigned long long *ret) {
        unsigned long long v;
        char *end;

        /* strtoull accepts leading blanks and a minus sign; a strict parser takes digits only. */
        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (*end != '\0')
                return -EINVAL;
        if (errno == ERANGE || v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}
