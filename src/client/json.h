/* json.h - the little JSON echo-client prints: strings and numbers, written to a FILE. */
#pragma once

#include <stdint.h>
#include <stdio.h>

/* Writes s as a JSON string: quotes, backslash and control characters escaped, valid UTF-8
 * kept, every byte of invalid UTF-8 written as U+FFFD. */
void json_string(FILE *f, const char *s);

/* Writes v with three decimals, or null when it is not finite. */
void json_number(FILE *f, double v);

/* Writes "key": and then s, v or n, each preceded by a comma unless first. */
void json_key_string(FILE *f, const char *key, const char *s, int first);
void json_key_number(FILE *f, const char *key, double v, int first);
void json_key_uint(FILE *f, const char *key, uint64_t n, int first);
