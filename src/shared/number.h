/* number.h - strict number parsing: digits only, a range, no atoi. */
#pragma once

/* Parses a whole decimal number in [min, max] into *ret. Returns 0, -EINVAL (not digits only:
 * empty, sign, blanks, trailing junk) or -ERANGE (outside [min, max]). */
int parse_unsigned(const char *s, unsigned long long min, unsigned long long max,
                   unsigned long long *ret);
