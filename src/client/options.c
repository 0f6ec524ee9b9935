/* options.c - echo-client's command line: see client_parse_args() in client.h. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "client.h"
#include "log.h"
#include "number.h"
#include "usage.h"

enum { OPT_INTERVAL = 0x100, OPT_KEEP, OPT_JSON };

static void help(void) {
        printf("Usage: echo-client [OPTION]... [HOST [PORT] | ADDRESS]\n"
               "Send a message to an echo server and check that exactly the same bytes come back,\n"
               "or probe it as ping does (-c, -u, --json...).\n"
               "HOST defaults to " ADDRESS_DEFAULT_HOST ", PORT (a number or service name) to " ADDRESS_DEFAULT_PORT ". ADDRESS is\n"
               "HOST:PORT or [IPv6]:PORT, as echod takes it.\n"
               "\n"
               "  -m, --message TEXT   send TEXT instead of the seed's message\n"
               "  -f, --file FILE      send FILE's bytes (- for standard input), streamed\n"
               "  -q, --quiet          print nothing on stdout; only the exit status tells\n"
               "  -i, --info           print the socket's family, type and protocol first\n"
               "                       (not ping's -i: the probe interval is --interval)\n"
               "  -t, --timeout SEC    give up after SEC seconds without progress (default 30)\n"
               "  -4, -6               IPv4 or IPv6 addresses only\n"
               "\n"
               "Probe:\n"
               "  -c, --count N        send N probes (default: until Ctrl-C or --deadline)\n"
               "      --interval SEC   wait SEC seconds between probes (default 1)\n"
               "  -s, --size BYTES     payload of each probe (default 64, at most 65507)\n"
               "  -W, --wait SEC       give each probe SEC seconds (default 5)\n"
               "  -w, --deadline SEC   stop after SEC seconds, however many probes were sent\n"
               "      --keep           send every TCP probe over one connection\n"
               "  -u, --udp            send the probes as UDP datagrams\n"
               "      --json           print one JSON object at the end instead of the lines\n"
               "\n"
               "  -h, --help           show this help and exit\n"
               "  -V, --version        show the version and exit\n"
               "\n"
               "Exit status: 0 echo intact (probes: every one intact), 1 echo differs (probes: some\n"
               "lost or differed), 2 usage error, 3 cannot connect (probes: none came back), 4 cannot\n"
               "read the input file, 5 connection broken mid-transfer. See echo-client(1).\n");
}

/* Seconds with at most three decimals ("2", "0.25"), strictly, into milliseconds in [min, max]. */
static int parse_ms(const char *s, int64_t min, int64_t max, int64_t *ret) {
        const char *dot = strchr(s, '.');
        char whole[16], frac[4] = "000";
        unsigned long long w, f;
        size_t n = dot ? (size_t) (dot - s) : strlen(s);

        if (n == 0 || n >= sizeof whole || (dot && (strlen(dot + 1) == 0 || strlen(dot + 1) > 3)))
                return -EINVAL;
        memcpy(whole, s, n);
        whole[n] = '\0';
        if (dot)
                memcpy(frac, dot + 1, strlen(dot + 1));
        if (parse_unsigned(whole, 0, 999999999, &w) < 0 || parse_unsigned(frac, 0, 999, &f) < 0)
                return -EINVAL;
        if ((int64_t) (w * 1000 + f) < min || (int64_t) (w * 1000 + f) > max)
                return -ERANGE;
        *ret = (int64_t) (w * 1000 + f);
        return 0;
}

/* The line usage_number() writes, for values that are not whole numbers. */
static int bad_value(const char *option, const char *value, const char *expected) {
        log_error("invalid value for %s: '%s' (expected %s)", option, value, expected);
        return -EINVAL;
}

static int number_option(const char *name, const char *value, unsigned long long min,
                         unsigned long long max, unsigned long long *ret) {
        char line[USAGE_LINE_MAX];

        if (usage_number(name, value, min, max, ret, line) < 0) {
                log_error("%s", line);
                return -EINVAL;
        }
        return 0;
}

/* The probe's options, and -4/-6. Returns 1 if opt was one of them, 0 if not, <0 on an error. */
static int parse_probe_option(struct client_config *c, int opt, const char *arg) {
        unsigned long long v;

        switch (opt) {
        case 'c':
                if (number_option("count", arg, 1, 1000000000, &v) < 0)
                        return -EINVAL;
                c->count = v;
                break;
        case OPT_INTERVAL:
                if (parse_ms(arg, 1, 3600000, &c->interval_ms) < 0)
                        return bad_value("--interval", arg, "seconds from 0.001 to 3600, as 1 or 0.2");
                break;
        case 's':
                if (number_option("size", arg, 1, PROBE_SIZE_MAX, &v) < 0)
                        return -EINVAL;
                c->size = (size_t) v;
                break;
        case 'W':
                if (parse_ms(arg, 1, 3600000, &c->wait_ms) < 0)
                        return bad_value("--wait", arg, "seconds from 0.001 to 3600, as 5 or 0.5");
                break;
        case 'w':
                if (parse_ms(arg, 1, 86400000 * 7LL, &c->deadline_ms) < 0)
                        return bad_value("--deadline", arg, "seconds from 0.001 to 604800");
                break;
        case OPT_KEEP:
                c->keep = true;
                break;
        case 'u':
                c->udp = true;
                break;
        case OPT_JSON:
                c->json = true;
                break;
        case '4':
        case '6':
                if (c->family != AF_UNSPEC && c->family != (opt == '4' ? AF_INET : AF_INET6)) {
                        log_error("-4 and -6 cannot be used together");
                        return -EINVAL;
                }
                c->family = opt == '4' ? AF_INET : AF_INET6;
                return 1;
        default:
                return 0;
        }
        c->probe = true;
        return 1;
}

/* [HOST [PORT]] as before, or one ADDRESS read by echod's own parser (address_parse). */
static int parse_target(struct client_config *c, int argc, char **argv) {
        unsigned long long v;
        const char *why;

        if (argc > 2) {
                log_error("too many arguments: '%s' (expected [HOST [PORT]] or ADDRESS)", argv[2]);
                return -EINVAL;
        }
        if (argc >= 1 && !*argv[0]) {
                log_error("empty host name");
                return -EINVAL;
        }
        if (argc == 1) {
                if (address_parse(argv[0], c->port, &c->address, &why) < 0) {
                        log_error("invalid address '%s': %s", argv[0], why);
                        return -EINVAL;
                }
                if (!c->address.host[0]) {
                        log_error("invalid address '%s': no host to connect to", argv[0]);
                        return -EINVAL;
                }
                c->host = c->address.host;
                c->port = c->address.port;
                return 0;
        }
        if (argc == 2) {
                c->host = argv[0];
                c->port = argv[1];
        }
        if (c->port[0] >= '0' && c->port[0] <= '9' ? parse_unsigned(c->port, 1, 65535, &v) < 0
                                                   : !service_name_valid(c->port)) {
                log_error("invalid port '%s': must be a number from 1 to 65535 or a service name", c->port);
                return -EINVAL;
        }
        return 0;
}

/* Options that make sense together. */
static int check_combination(struct client_config *c, bool timeout_given) {
        if (c->message && c->file) {
                log_error("-m and -f cannot be used together");
                return -EINVAL;
        }
        if (!c->probe)
                return 0;
        if (c->message || c->file) {
                log_error("%s sends one exchange and cannot be used with the probe's options", c->file ? "-f" : "-m");
                return -EINVAL;
        }
        if (c->info) {
                log_error("-i is --info (the seed's create_connection client), not ping's interval: use --interval SEC");
                return -EINVAL;
        }
        if (timeout_given) {
                log_error("--timeout is for one exchange: give probes their time with -W/--wait");
                return -EINVAL;
        }
        if (c->quiet && c->json) {
                log_error("-q prints nothing and --json prints one object: choose one");
                return -EINVAL;
        }
        if (c->keep && c->udp) {
                log_error("--keep is for TCP probes: UDP probes need no connection");
                return -EINVAL;
        }
        return 0;
}

int client_parse_args(struct client_config *c, int argc, char **argv) {
        static const struct option options[] = {
                { "message",  required_argument, NULL, 'm' },
                { "file",     required_argument, NULL, 'f' },
                { "quiet",    no_argument,       NULL, 'q' },
                { "info",     no_argument,       NULL, 'i' },
                { "timeout",  required_argument, NULL, 't' },
                { "count",    required_argument, NULL, 'c' },
                { "interval", required_argument, NULL, OPT_INTERVAL },
                { "size",     required_argument, NULL, 's' },
                { "wait",     required_argument, NULL, 'W' },
                { "deadline", required_argument, NULL, 'w' },
                { "keep",     no_argument,       NULL, OPT_KEEP },
                { "udp",      no_argument,       NULL, 'u' },
                { "json",     no_argument,       NULL, OPT_JSON },
                { "help",     no_argument,       NULL, 'h' },
                { "version",  no_argument,       NULL, 'V' },
                { 0 }
        };
        unsigned long long v;
        char line[USAGE_LINE_MAX];
        bool timeout_given = false;
        int opt, r;

        *c = (struct client_config) { .host = ADDRESS_DEFAULT_HOST, .port = ADDRESS_DEFAULT_PORT, .timeout_ms = 30000,
                                      .family = AF_UNSPEC, .interval_ms = 1000, .wait_ms = 5000,
                                      .size = 64 };
        opterr = 0;
        while ((opt = getopt_long(argc, argv, ":m:f:qit:c:s:W:w:u46hV", options, NULL)) >= 0) {
                r = parse_probe_option(c, opt, optarg);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                switch (opt) {
                case 'm':
                        c->message = optarg;
                        break;
                case 'f':
                        c->file = optarg;
                        break;
                case 'q':
                        c->quiet = true;
                        break;
                case 'i':
                        c->info = true;
                        break;
                case 't':
                        if (number_option("timeout", optarg, 1, 86400, &v) < 0)
                                return -EINVAL;
                        c->timeout_ms = (int) v * 1000;
                        timeout_given = true;
                        break;
                case 'h':
                        help();
                        return 0;
                case 'V':
                        printf("echo-client %s\n", ECHOD_VERSION);
                        return 0;
                default:
                        usage_refused("echo-client", options, opt, argv[optind - 1], optopt, line);
                        log_error("%s", line);
                        return -EINVAL;
                }
        }
        r = check_combination(c, timeout_given);
        if (r < 0)
                return r;
        r = parse_target(c, argc - optind, argv + optind);
        if (r < 0)
                return r;
        if (!c->probe && !c->message && !c->file)
                c->message = SEED_MESSAGE;
        return 1;
}
