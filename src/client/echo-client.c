/* echo-client.c - main(): the options, then the seed's exchange (exchange.c: the seed's message,
 * -m, -f) or the probe (probe.c). */
#include "client.h"
#include "log.h"

int main(int argc, char **argv) {
        struct client_config c;
        int r;

        log_setup("echo-client", LOG_TARGET_PLAIN, 0);
        r = client_parse_args(&c, argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_INTACT;
        return c.probe ? probe_main(&c) : exchange_main(&c);
}
