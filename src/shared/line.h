/* line.h - the text of one log or error line, as echod, echo-client and echo-bench write it. */
#pragma once

#include <stddef.h>

/* Copies the NUL-terminated in to out[size], safe for one line: C0 controls, DEL, C1 controls
 * (raw bytes or UTF-8 U+0080..U+009F) and every byte that is not part of valid UTF-8 become
 * \xNN; the rest is copied. Values in messages come from argv, the environment and the
 * network: a newline or an escape sequence among them must not start a second, forged line or
 * drive the terminal. Cut at a whole character or escape if out is too small. Returns the
 * length written. */
size_t line_defuse(char *out, size_t size, const char *in);
