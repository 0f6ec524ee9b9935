/* echo-bench.c - measures an echo server: bulk throughput, round-trip latency, many clients at
 * once, connection rate and idle connections. Every byte that comes back is checked against
 * what was sent; a run with any failure says so and exits 1. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "bench.h"
#include "connect.h"
#include "log.h"
#include "modes.h"
#include "usage.h"

static void help(void) {
        printf("Usage: echo-bench [OPTION]... MODE HOST PORT\n"
               "Measure the echo server at HOST PORT; every byte that comes back is verified.\n"
               "\n"
               "Modes:\n"
               "  stream      C connections (default 1) each send B bytes (default 256 MiB) while\n"
               "              reading them back: MB/s (1 MB = 10^6 bytes), sender and receiver concurrent\n"
               "  pingpong    N round trips (default 100000) of S bytes (default 64) on one connection:\n"
               "              round trips/s and latency p50/p99/p99.9 in microseconds\n"
               "  concurrent  C connections (default 1000) at once, each sends B bytes (default 65536)\n"
               "              in pieces of S (default 4096), half-closes, reads all back: wall time, MB/s\n"
               "  connrate    N connections (default 20000), C in flight (default 64): connect, echo S\n"
               "              bytes (default 64), close: connections/s\n"
               "  idle        open C connections (default 1000), echo one byte on each, hold them\n"
               "              --hold seconds: connections held, server RSS, memory per connection\n"
               "\n"
               "Options:\n"
               "  -c, --connections N   see the modes\n"
               "  -b, --bytes N         bytes per connection (stream, concurrent)\n"
               "  -n, --count N         round trips (pingpong) or connections in all (connrate)\n"
               "  -s, --size N          write size, message size or piece size (see the modes)\n"
               "  -P, --procs N         client processes for concurrent and idle (default 1);\n"
               "                        one process holds at most its fd limit of connections\n"
               "      --hold SEC        idle: hold the connections SEC seconds (default 1)\n"
               "      --server-pid PID  idle: read the server's VmRSS from /proc/PID/status\n"
               "  -t, --timeout SEC     give up on what is unfinished after SEC seconds (default 120)\n"
               "      --json            one JSON object on stdout instead of the table\n"
               "  -q, --quiet           no progress line on stderr (default: shown on a terminal)\n"
               "      --progress        show the progress line even when stderr is not a terminal\n"
               "  -h, --help            show this help and exit\n"
               "\n"
               "IPv4 loopback targets are reached from source addresses spread over 127.0.0.0/8,\n"
               "so that ports never run out.\n"
               "\n"
               "Exit status: 0 every byte came back intact, 1 some connections failed or differed\n"
               "(the figures are still printed), 2 usage error, 3 name does not resolve or no\n"
               "connection succeeded, 4 out of local resources (memory, fds, processes).\n");
}

enum {
        OPT_HOLD = 0x100,
        OPT_SERVER_PID,
        OPT_JSON,
        OPT_PROGRESS,
};

static const struct option options[] = {
        { "connections", required_argument, NULL, 'c' },
        { "bytes",       required_argument, NULL, 'b' },
        { "count",       required_argument, NULL, 'n' },
        { "size",        required_argument, NULL, 's' },
        { "procs",       required_argument, NULL, 'P' },
        { "timeout",     required_argument, NULL, 't' },
        { "hold",        required_argument, NULL, OPT_HOLD },
        { "server-pid",  required_argument, NULL, OPT_SERVER_PID },
        { "json",        no_argument,       NULL, OPT_JSON },
        { "quiet",       no_argument,       NULL, 'q' },
        { "progress",    no_argument,       NULL, OPT_PROGRESS },
        { "help",        no_argument,       NULL, 'h' },
        { 0 }
};

static int parse_number(const char *name, const char *s, unsigned long long min,
                        unsigned long long max, uint64_t *ret) {
        char line[USAGE_LINE_MAX];
        unsigned long long v;

        if (usage_number(name, s, min, max, &v, line) < 0) {
                log_error("%s", line);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

/* One option of getopt_long()'s into *c; quiet and progress wait until isatty() is asked. Returns
 * >0 to go on, 0 to exit successfully, <0 after one error line. */
static int parse_option(struct bench_config *c, int opt, int argc, char **argv, bool *quiet,
                        bool *progress) {
        char line[USAGE_LINE_MAX];
        uint64_t v;

        switch (opt) {
        case 'c':
                return parse_number("connections", optarg, 1, 10000000, &c->connections) < 0 ? -EINVAL : 1;
        case 'b':
                return parse_number("bytes", optarg, 1, 1ull << 40, &c->bytes) < 0 ? -EINVAL : 1;
        case 'n':
                return parse_number("count", optarg, 1, 1000000000, &c->count) < 0 ? -EINVAL : 1;
        case 's':
                return parse_number("size", optarg, 1, 1u << 20, &c->size) < 0 ? -EINVAL : 1;
        case 'P':
                if (parse_number("procs", optarg, 1, 64, &v) < 0)
                        return -EINVAL;
                c->procs = (unsigned) v;
                return 1;
        case 't':
                if (parse_number("timeout", optarg, 1, 86400, &v) < 0)
                        return -EINVAL;
                c->timeout_s = (unsigned) v;
                return 1;
        case OPT_HOLD:
                if (parse_number("hold", optarg, 0, 86400, &v) < 0)
                        return -EINVAL;
                c->hold_s = (unsigned) v;
                return 1;
        case OPT_SERVER_PID:
                if (parse_number("server-pid", optarg, 1, 1u << 22, &v) < 0)
                        return -EINVAL;
                c->server_pid = (pid_t) v;
                return 1;
        case OPT_JSON:
                c->json = true;
                return 1;
        case 'q':
                *quiet = true;
                return 1;
        case OPT_PROGRESS:
                *progress = true;
                return 1;
        case 'h':
                help();
                return 0;
        default:
                usage_refused("echo-bench", options, opt, argv[optind - 1], optopt, line);
                log_error("%s", line);
                return -EINVAL;
        }
}

/* What a mode does when an option is not given. */
static void apply_defaults(struct bench_config *c) {
        switch (c->mode) {
        case MODE_STREAM:
                c->connections = c->connections ? c->connections : 1;
                c->bytes = c->bytes ? c->bytes : 256ull << 20;
                c->size = c->size ? c->size : 256u << 10;
                break;
        case MODE_PINGPONG:
                c->count = c->count ? c->count : 100000;
                c->size = c->size ? c->size : 64;
                break;
        case MODE_CONCURRENT:
                c->connections = c->connections ? c->connections : 1000;
                c->bytes = c->bytes ? c->bytes : 65536;
                c->size = c->size ? c->size : 4096;
                break;
        case MODE_CONNRATE:
                c->connections = c->connections ? c->connections : 64;
                c->count = c->count ? c->count : 20000;
                c->size = c->size ? c->size : 64;
                break;
        case MODE_IDLE:
                c->connections = c->connections ? c->connections : 1000;
                break;
        }
}

/* Fills *c from argv. Returns >0 to run, 0 to exit successfully, <0 after one error line. */
static int bench_parse(struct bench_config *c, int argc, char **argv) {
        bool quiet = false, progress = false;
        int opt, r;

        *c = (struct bench_config) { .timeout_s = 120, .hold_s = 1, .procs = 1 };
        opterr = 0;
        while ((opt = getopt_long(argc, argv, ":c:b:n:s:P:t:qh", options, NULL)) >= 0) {
                r = parse_option(c, opt, argc, argv, &quiet, &progress);
                if (r <= 0)
                        return r;
        }
        if (argc - optind != 3) {
                log_error("expected MODE HOST PORT (see echo-bench --help)");
                return -EINVAL;
        }
        if (bench_mode_parse(argv[optind], &c->mode) < 0) {
                log_error("unknown mode '%s' (stream, pingpong, concurrent, connrate or idle)", argv[optind]);
                return -EINVAL;
        }
        c->host = argv[optind + 1];
        c->port = argv[optind + 2];
        c->progress = !quiet && (progress || isatty(STDERR_FILENO));
        apply_defaults(c);
        if (c->procs > 1 && c->mode != MODE_CONCURRENT && c->mode != MODE_IDLE) {
                log_error("--procs applies to concurrent and idle only");
                return -EINVAL;
        }
        if (c->procs > 1 && c->procs > c->connections) {
                log_error("--procs %u is more than --connections %llu", c->procs,
                            (unsigned long long) c->connections);
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char **argv) {
        struct bench_config c;
        struct bench_result r = { .rss_before_kib = -1, .rss_after_kib = -1 };
        struct addrinfo *ai = NULL;
        struct pattern p = { 0 };
        int status;

        log_setup("echo-bench", LOG_TARGET_PLAIN, 0);
        status = bench_parse(&c, argc, argv);
        if (status <= 0)
                return status < 0 ? BENCH_USAGE : BENCH_OK;
        signal(SIGPIPE, SIG_IGN);
        status = connect_resolve(c.host, c.port, &ai);
        if (status != 0) {
                log_error("cannot resolve %s port %s: %s", c.host, c.port, gai_strerror(status));
                return status == EAI_SERVICE ? BENCH_USAGE : BENCH_CONNECT;
        }
        c.target = ai;
        if (pattern_init(&p) < 0) {
                log_error("out of memory");
                freeaddrinfo(ai);
                return BENCH_LOCAL;
        }

        switch (c.mode) {
        case MODE_STREAM:
                status = bench_stream(&c, &p, &r);
                break;
        case MODE_PINGPONG:
                status = bench_pingpong(&c, &p, &r);
                break;
        default:
                status = bench_many(&c, &p, &r);
                break;
        }
        if (status == BENCH_OK || status == BENCH_FAILED) {
                if (r.ok == 0 && r.failed > 0 && c.mode != MODE_PINGPONG) {
                        if (r.first_errno)
                                log_error("no connection succeeded: %s", bench_strerror(r.first_errno));
                        else
                                log_error("no connection came back intact");
                }
                bench_report(&c, &r);
                if (r.failed > 0 && status == BENCH_OK)
                        status = BENCH_FAILED;
                if (r.ok == 0 && r.first_errno == ECONNREFUSED)
                        status = BENCH_CONNECT;
        }
        pattern_finish(&p);
        freeaddrinfo(ai);
        return status;
}
