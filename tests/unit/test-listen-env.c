/* test-listen-env - listen_env_check(), the LISTEN_* checks, without forking or setting the
 * environment: a table of values and the verdict each must get. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "activation.h"

#define SELF 4242L

static const struct {
        const char *pid, *fds, *names;
        int want;
        const char *why;        /* a part of the reason, for refusals */
} cases[] = {
        { NULL, NULL, NULL, 0, NULL },
        { "4242", "0", NULL, 0, NULL },
        { "4242", "1", NULL, 1, NULL },
        { "4242", "3", "web:dns:x", 3, NULL },
        { "4242", "2", "a:", 2, NULL },                 /* an empty name is still a name */
        { "4242", "256", NULL, 256, NULL },
        { NULL, "1", NULL, -EINVAL, "LISTEN_FDS is set but LISTEN_PID is not" },
        { "4242", NULL, NULL, -EINVAL, "LISTEN_PID is set but LISTEN_FDS is not" },
        { NULL, NULL, "web", -EINVAL, "LISTEN_FDNAMES is set but LISTEN_FDS is not" },
        { "", "1", NULL, -EINVAL, "LISTEN_PID='' is not a process id" },
        { "0", "1", NULL, -EINVAL, "is not a process id" },
        { " 4242", "1", NULL, -EINVAL, "is not a process id" },
        { "4242x", "1", NULL, -EINVAL, "is not a process id" },
        { "2147483648", "1", NULL, -EINVAL, "is not a process id" },
        { "1", "1", NULL, -EINVAL, "LISTEN_PID=1 is not this process (4242)" },
        { "4242", "", NULL, -EINVAL, "LISTEN_FDS='' is not a number from 0 to 256" },
        { "4242", "-1", NULL, -EINVAL, "is not a number" },
        { "4242", "257", NULL, -EINVAL, "is not a number" },
        { "4242", "1", "", -EINVAL, "one name to each of the 1 passed fds ('' has 0)" },
        { "4242", "1", "a:b", -EINVAL, "one name to each of the 1 passed fds ('a:b' has 2)" },
        { "4242", "2", "a\nb:c", -EINVAL, "control character (0x0a)" },
};

int main(void) {
        int failures = 0;
        char long_names[300];

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char why[256] = "";
                int r = listen_env_check(cases[i].pid, cases[i].fds, cases[i].names, SELF, why, sizeof why);

                if (r != cases[i].want || (cases[i].why && !strstr(why, cases[i].why))) {
                        printf("FAIL case %zu: got %d '%s', want %d '%s'\n", i, r, why, cases[i].want,
                               cases[i].why ? cases[i].why : "");
                        failures++;
                }
        }
        memset(long_names, 'n', 256);
        long_names[256] = '\0';
        {
                char why[256] = "";
                if (listen_env_check("4242", "1", long_names, SELF, why, sizeof why) != -EINVAL ||
                    !strstr(why, "longer than 255 bytes")) {
                        printf("FAIL: a 256-byte name: '%s'\n", why);
                        failures++;
                }
                long_names[255] = '\0';
                if (listen_env_check("4242", "1", long_names, SELF, why, sizeof why) != 1) {
                        printf("FAIL: a 255-byte name refused: '%s'\n", why);
                        failures++;
                }
        }
        printf("%s\n", failures ? "FAILED" : "ok");
        return failures != 0;
}
