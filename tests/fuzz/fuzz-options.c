/* fuzz-options - config_parse() on any argv (the input split at NUL bytes): it refuses, exits
 * (--help, --version) or fills struct config with every value inside its documented range. */
#include <assert.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "options.h"

#define ARGS_MAX 64

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        int fd = open("/dev/null", O_WRONLY);

        /* --help and --version print; errors are logged nowhere. */
        if (fd >= 0) {
                dup2(fd, STDOUT_FILENO);
                close(fd);
        }
        log_setup("echod", LOG_TARGET_NONE, 0);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *buf = malloc(size + 1), *argv[ARGS_MAX + 2], *orig[ARGS_MAX + 2];
        struct config c;
        int argc = 1, r;

        memcpy(buf, data, size);
        buf[size] = '\0';
        argv[0] = "echod";
        for (size_t i = 0; i <= size && argc <= ARGS_MAX; argc++) {
                argv[argc] = buf + i;
                i += strlen(buf + i) + 1;
        }
        argv[argc] = NULL;
        memcpy(orig, argv, sizeof argv);

        r = config_parse(&c, argc, argv);
        if (r > 0) {
                assert(c.verbosity >= 0 && c.verbosity <= 2);
                assert(c.max_connections <= 10000000);
                assert(c.idle_timeout_s <= 86400 * 7 && c.exit_idle_s <= 86400 * 7);
                assert(c.drain_timeout_s <= 3600);
                assert(c.workers >= 1 && c.workers <= 64);
                assert(c.buffer_size >= 1024 && c.buffer_size <= 64 << 20);
                assert(!(c.inetd && c.n_addresses > 0));
                assert(c.addresses + c.n_addresses == argv + argc);
                /* Each address is one of the arguments given (getopt only permutes). */
                for (size_t i = 0; i < c.n_addresses; i++) {
                        int found = 0;
                        for (int j = 1; j < argc; j++)
                                found |= c.addresses[i] == orig[j];
                        assert(found);
                }
        }
        free(buf);
        return 0;
}
