/* usage.c - see usage.h. */
#include "usage.h"

#include <stdio.h>
#include <string.h>

#include "number.h"

int usage_number(const char *name, const char *value, unsigned long long min,
                 unsigned long long max, unsigned long long *ret, char line[USAGE_LINE_MAX]) {
        int r = parse_unsigned(value, min, max, ret);

        if (r < 0)
                snprintf(line, USAGE_LINE_MAX,
                         "invalid value for --%s: '%s' (expected a whole number from %llu to %llu)",
                         name, value, min, max);
        return r;
}

/* getopt_long() answers '?' to an unknown option, an ambiguous abbreviation and a value given
 * to an option that takes none; only `arg` and `opt` tell them apart. */
void usage_refused(const char *program, const struct option *options, int ret, const char *arg,
                   int opt, char line[USAGE_LINE_MAX]) {
        const char *eq;
        size_t len, matches = 0;

        if (ret == ':') {
                snprintf(line, USAGE_LINE_MAX, "option '%s' needs a value", arg);
                return;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
                snprintf(line, USAGE_LINE_MAX, "unknown option '-%c' (see %s --help)",
                         opt > 0 && opt < 0x100 ? opt : '?', program);
                return;
        }
        eq = strchr(arg, '=');
        len = eq ? (size_t) (eq - arg - 2) : strlen(arg + 2);
        for (const struct option *o = options; o->name; o++) {
                if (strncmp(o->name, arg + 2, len) != 0)
                        continue;
                if (opt != 0 && o->val == opt && eq) {
                        snprintf(line, USAGE_LINE_MAX, "option '--%s' takes no value", o->name);
                        return;
                }
                matches++;
        }
        if (opt == 0 && matches > 1)
                snprintf(line, USAGE_LINE_MAX, "ambiguous option '%.*s' (see %s --help)",
                         (int) (len + 2), arg, program);
        else if (opt != 0 && opt < 0x100)
                snprintf(line, USAGE_LINE_MAX, "unknown option '-%c' (see %s --help)", opt, program);
        else
                snprintf(line, USAGE_LINE_MAX, "unknown option '%s' (see %s --help)", arg, program);
}
