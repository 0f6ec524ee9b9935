/* options.c - see options.h. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "log.h"
#include "number.h"
#include "usage.h"

enum {
        OPT_INETD = 0x100,
        OPT_MAX_CONNECTIONS,
        OPT_IDLE_TIMEOUT,
        OPT_DRAIN_TIMEOUT,
        OPT_EXIT_IDLE,
        OPT_WORKERS,
        OPT_BUFFER_SIZE,
        OPT_PROXY_PROTOCOL,
        OPT_UDP_RATE,
        OPT_UDP_GLOBAL_RATE,
        OPT_MAX_PER_SOURCE,
        OPT_MAX_MEMORY,
};

static const struct option options[] = {
        { "help",            no_argument,       NULL, 'h' },
        { "version",         no_argument,       NULL, 'V' },
        { "verbose",         no_argument,       NULL, 'v' },
        { "inetd",           no_argument,       NULL, OPT_INETD },
        { "max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS },
        { "idle-timeout",    required_argument, NULL, OPT_IDLE_TIMEOUT },
        { "drain-timeout",   required_argument, NULL, OPT_DRAIN_TIMEOUT },
        { "exit-idle",       required_argument, NULL, OPT_EXIT_IDLE },
        { "workers",         required_argument, NULL, OPT_WORKERS },
        { "buffer-size",     required_argument, NULL, OPT_BUFFER_SIZE },
        { "proxy-protocol",  no_argument,       NULL, OPT_PROXY_PROTOCOL },
        { "udp-rate",        required_argument, NULL, OPT_UDP_RATE },
        { "udp-global-rate", required_argument, NULL, OPT_UDP_GLOBAL_RATE },
        { "max-per-source",  required_argument, NULL, OPT_MAX_PER_SOURCE },
        { "max-memory",      required_argument, NULL, OPT_MAX_MEMORY },
        { 0 }
};

static void help(void) {
        printf("Usage: echod [OPTION]... [ADDRESS]...\n"
               "Echo every TCP byte stream and every UDP datagram back to its sender (RFC 862).\n"
               "\n"
               "ADDRESS is HOST:PORT, [IPv6]:PORT, HOST (port " ADDRESS_DEFAULT_PORT "), :PORT or *:PORT (all\n"
               "addresses). Without one, echod listens on " ADDRESS_DEFAULT_HOST " port " ADDRESS_DEFAULT_PORT ".\n"
               "Sockets passed by systemd (LISTEN_FDS) are used instead when present.\n"
               "\n"
               "  -v, --verbose             one line per connection; twice: trace every chunk\n"
               "      --inetd               serve the socket on fd 0 (inetd, wait or nowait)\n"
               "      --max-connections N   clients served at once (default: from RLIMIT_NOFILE)\n"
               "      --idle-timeout SEC    close a connection silent for SEC seconds (default 300, 0 never)\n"
               "      --drain-timeout SEC   on SIGTERM, wait SEC seconds for open connections (default 10)\n"
               "      --exit-idle SEC       exit after SEC seconds with no client (default 0, never)\n"
               "      --workers N           event loops, one thread each (default 1)\n"
               "      --buffer-size BYTES   unsent bytes held per connection (default 262144)\n"
               "      --max-memory BYTES    unsent bytes held by all connections together\n"
               "                            (default 134217728); beyond, echo without holding any\n"
               "      --max-per-source N    TCP connections at once from one source address (IPv6:\n"
               "                            its /64); more are closed at once (default 0, no limit)\n"
               "      --udp-rate N          UDP datagrams a second echoed to one source address\n"
               "                            (IPv6: its /64), bursts of N (default 50, 0 no limit)\n"
               "      --udp-global-rate N   UDP datagrams a second echoed in all (default 5000, 0 no limit)\n"
               "      --proxy-protocol      every TCP connection begins with a PROXY header (v1 or v2)\n"
               "                            from a load balancer; the client is the one it names\n"
               "  -h, --help                show this help and exit\n"
               "  -V, --version             show the version and exit\n"
               "\n"
               "Exit status: 0 success, 1 runtime failure, 2 usage error, 3 name does not resolve,\n"
               "4 cannot bind or listen, 5 bad socket-activation environment or inherited fd.\n"
               "See echod(8).\n");
}

static int parse_option_number(const char *name, const char *s, unsigned long long min,
                               unsigned long long max, unsigned long long *ret) {
        char line[USAGE_LINE_MAX];
        int r = usage_number(name, s, min, max, ret, line);

        if (r < 0)
                log_error("%s", line);
        return r;
}

/* The zero-copy path's knobs: for tests, and for operators who count every fd. */
static int config_parse_environment(struct config *c) {
        const char *e = getenv("ECHOD_SPLICE");
        unsigned long long v;

        if (e && *e) {
                if (strcmp(e, "auto") == 0)
                        c->splice_mode = SPLICE_AUTO;
                else if (strcmp(e, "on") == 0)
                        c->splice_mode = SPLICE_ON;
                else if (strcmp(e, "off") == 0)
                        c->splice_mode = SPLICE_OFF;
                else {
                        log_error("invalid value for ECHOD_SPLICE: '%s' (expected auto, on or off)", e);
                        return -EINVAL;
                }
        }
        e = getenv("ECHOD_SPLICE_PIPES");
        if (e && *e) {
                if (parse_unsigned(e, 0, 65536, &v) < 0) {
                        log_error("invalid value for ECHOD_SPLICE_PIPES: '%s' (expected a whole number from 0 to 65536)", e);
                        return -EINVAL;
                }
                c->splice_pipes = (size_t) v;
        }
        return 0;
}

/* The options that take a number: its range and the field of struct config it fills (an
 * unsigned, or a size_t where `wide`). */
static const struct number_option {
        int opt;
        const char *name;
        unsigned long long min, max;
        size_t offset;
        bool wide;
} number_options[] = {
        { OPT_MAX_CONNECTIONS, "max-connections", 1, 10000000, offsetof(struct config, max_connections), false },
        { OPT_IDLE_TIMEOUT, "idle-timeout", 0, 86400 * 7, offsetof(struct config, idle_timeout_s), false },
        { OPT_DRAIN_TIMEOUT, "drain-timeout", 0, 3600, offsetof(struct config, drain_timeout_s), false },
        { OPT_EXIT_IDLE, "exit-idle", 0, 86400 * 7, offsetof(struct config, exit_idle_s), false },
        { OPT_WORKERS, "workers", 1, 64, offsetof(struct config, workers), false },
        { OPT_BUFFER_SIZE, "buffer-size", 1024, 64 << 20, offsetof(struct config, buffer_size), true },
        { OPT_MAX_PER_SOURCE, "max-per-source", 0, 10000000, offsetof(struct config, max_per_source), false },
        { OPT_MAX_MEMORY, "max-memory", 0, 1ull << 40, offsetof(struct config, max_memory), true },
        { OPT_UDP_RATE, "udp-rate", 0, 1000000, offsetof(struct config, udp_rate), false },
        { OPT_UDP_GLOBAL_RATE, "udp-global-rate", 0, 10000000, offsetof(struct config, udp_global_rate), false },
};

/* 1 when opt takes a number and arg fits (stored in c), 0 when opt takes none, <0 after the
 * error line. */
static int config_parse_number(struct config *c, int opt, const char *arg) {
        for (size_t i = 0; i < sizeof number_options / sizeof *number_options; i++) {
                const struct number_option *o = &number_options[i];
                char *field = (char *) c + o->offset;
                unsigned long long v;

                if (o->opt != opt)
                        continue;
                if (parse_option_number(o->name, arg, o->min, o->max, &v) < 0)
                        return -EINVAL;
                if (o->wide)
                        *(size_t *) (void *) field = (size_t) v;
                else
                        *(unsigned *) (void *) field = (unsigned) v;
                return 1;
        }
        return 0;
}

int config_parse(struct config *c, int argc, char **argv) {
        int opt;

        *c = (struct config) {
                .idle_timeout_s = 300,
                .drain_timeout_s = 10,
                .workers = 1,
                .buffer_size = 262144,
                .splice_pipes = SPLICE_PIPES_DEFAULT,
                .udp_rate = ECHOD_DEFAULT_UDP_RATE,
                .udp_global_rate = ECHOD_DEFAULT_UDP_GLOBAL_RATE,
                .max_memory = ECHOD_DEFAULT_MAX_MEMORY,
        };

        opterr = 0;
        /* 0, not 1: glibc then also forgets where it was inside a previous "-vh" cluster. */
        optind = 0;
        while ((opt = getopt_long(argc, argv, ":hVv", options, NULL)) >= 0) {
                const char *name = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
                int r = config_parse_number(c, opt, optarg);

                if (r < 0)
                        return -EINVAL;
                if (r > 0)
                        continue;
                switch (opt) {
                case 'h':
                        help();
                        return 0;
                case 'V':
                        printf("echod %s\n", ECHOD_VERSION);
                        return 0;
                case 'v':
                        if (c->verbosity < 2)
                                c->verbosity++;
                        break;
                case OPT_INETD:
                        c->inetd = true;
                        break;
                case OPT_PROXY_PROTOCOL:
                        c->proxy_protocol = true;
                        break;
                default: {
                        char line[USAGE_LINE_MAX];

                        usage_refused("echod", options, opt, name, optopt, line);
                        log_error("%s", line);
                        return -EINVAL;
                }
                }
        }

        c->addresses = argv + optind;
        c->n_addresses = (size_t) (argc - optind);
        if (c->inetd && c->n_addresses > 0) {
                log_error("address '%s' cannot be combined with --inetd (the socket is fd 0)", c->addresses[0]);
                return -EINVAL;
        }
        if (config_parse_environment(c) < 0)
                return -EINVAL;
        return 1;
}
