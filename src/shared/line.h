/* line.h - the text of one log or error line, as echod, echo-client and echo-bench write it. */
#pragma once

/* Replaces every control character of s (below 0x20, and 0x7f) with '?'. Values in messages come
 * from argv, the environment and the network: a newline or an escape sequence among them must
 * not start a second, forged line or drive the terminal. */
void line_defuse(char *s);
