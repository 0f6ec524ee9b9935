/* pyrepr.h - bytes shown the way Python's repr(bytes) shows them: b'...' or b"...". */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The most bytes pyrepr() writes for `n` input bytes, including the terminating NUL. */
#define PYREPR_SIZE(n) (4 * (n) + 4)

/* Writes the Python repr of data[0..n) plus a NUL into out, which must hold PYREPR_SIZE(n)
 * bytes. Python's rules: double quotes only when the data has a single quote and no double
 * quote; \\, the chosen quote, \t, \n, \r escaped; other bytes outside 0x20..0x7e as \xNN in
 * lower-case hex. Returns the length written, without the NUL. */
size_t pyrepr(char *out, const uint8_t *data, size_t n);
