/* usage.h - the lines echod, echo-client and echo-bench print for a bad command line, written
 * once so that the three say the same thing the same way. Nothing here prints: each program
 * hands the line to its own logger. */
#pragma once

#include <getopt.h>

/* Room for one line; longer ones are cut, as the loggers cut them. */
#define USAGE_LINE_MAX 2048

/* Parses `value`, given to --name, strictly as a whole number in [min, max] (parse_unsigned()).
 * Returns 0, or -EINVAL or -ERANGE with line holding "invalid value for --NAME: 'VALUE'
 * (expected a whole number from MIN to MAX)". */
int usage_number(const char *name, const char *value, unsigned long long min,
                 unsigned long long max, unsigned long long *ret, char line[USAGE_LINE_MAX]);

/* Writes into line what getopt_long() refused: `ret` is what it returned (':' for a missing
 * value, '?' otherwise), `arg` the argument it was reading, `opt` its optopt, `options` the
 * program's table. The lines: "option 'ARG' needs a value", "option '--NAME' takes no value",
 * "ambiguous option '--AB' (see PROGRAM --help)", "unknown option '-x' (see PROGRAM --help)"
 * and "unknown option 'ARG' (see PROGRAM --help)". */
void usage_refused(const char *program, const struct option *options, int ret, const char *arg,
                   int opt, char line[USAGE_LINE_MAX]);
