/* echo-bench.c - measures an echo server: bulk throughput, round-trip latency, many clients at
 * once, connection rate and idle connections. Every byte that comes back is checked against
 * what was sent; a run with any failure says so and exits 1. */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "client/connect.h"
#include "number.h"

static const char *const mode_names[] = {
        [MODE_STREAM] = "stream",
        [MODE_PINGPONG] = "pingpong",
        [MODE_CONCURRENT] = "concurrent",
        [MODE_CONNRATE] = "connrate",
        [MODE_IDLE] = "idle",
};

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

void bench_error(const char *fmt, ...) {
        va_list ap;

        fflush(stdout);
        fputs("echo-bench: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

const char *bench_strerror(int e) {
        return e == BENCH_ECLOSED ? "closed before every byte came back" : strerror(e);
}

double bench_now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

void bench_progress(const struct bench_config *c, double *last, bool done, const char *fmt, ...) {
        double now;
        va_list ap;

        if (!c->progress)
                return;
        now = bench_now();
        if (!done && now - *last < 1.0)
                return;
        *last = now;
        fputs("\r\033[K", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        if (done)
                fputc('\n', stderr);
        fflush(stderr);
}

int pattern_init(struct pattern *p) {
        uint64_t x = 0x9e3779b97f4a7c15ull;

        p->data = malloc(2 * PATTERN_LEN);
        if (!p->data)
                return -ENOMEM;
        /* xorshift64: cheap, and no byte sequence repeats within the pattern. */
        for (size_t i = 0; i < PATTERN_LEN; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                p->data[i] = (uint8_t) (x >> 24);
        }
        memcpy(p->data + PATTERN_LEN, p->data, PATTERN_LEN);
        return 0;
}

void pattern_finish(struct pattern *p) {
        free(p->data);
        p->data = NULL;
}

const uint8_t *pattern_at(const struct pattern *p, uint64_t k, uint64_t off) {
        return p->data + (k * 7919 + off) % PATTERN_LEN;
}

int bench_connect_start(const struct bench_config *c, uint64_t index, bool *pending) {
        const struct addrinfo *ai = c->target;
        int fd, r;

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0)
                return -errno;
        if (ai->ai_family == AF_INET &&
            (ntohl(((const struct sockaddr_in *) ai->ai_addr)->sin_addr.s_addr) >> 24) == 127) {
                /* 512 connections per source address, over 127.0.0.2 .. 127.255.255.254. */
                uint32_t host = 2 + (uint32_t) ((index / 512) % 0xfffffc);
                struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000000u | host) };
                int one = 1;

                /* The port is then picked at connect(), per destination, not reserved at bind(). */
                (void) setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
                if (bind(fd, (struct sockaddr *) &src, sizeof src) < 0)
                        goto fail;
        }
        *pending = false;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
                if (errno != EINPROGRESS)
                        goto fail;
                *pending = true;
        }
        return fd;
fail:
        r = -errno;
        close(fd);
        return r;
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
        unsigned long long v;

        if (parse_unsigned(s, min, max, &v) < 0) {
                bench_error("invalid value for --%s: '%s' (expected a whole number from %llu to %llu)",
                            name, s, min, max);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

/* Fills *c from argv. Returns >0 to run, 0 to exit successfully, <0 after one error line. */
static int bench_parse(struct bench_config *c, int argc, char **argv) {
        uint64_t v;
        bool quiet = false, progress = false;
        int opt;

        *c = (struct bench_config) { .timeout_s = 120, .hold_s = 1, .procs = 1 };
        opterr = 0;
        while ((opt = getopt_long(argc, argv, ":c:b:n:s:P:t:qh", options, NULL)) >= 0) {
                switch (opt) {
                case 'c':
                        if (parse_number("connections", optarg, 1, 10000000, &c->connections) < 0)
                                return -EINVAL;
                        break;
                case 'b':
                        if (parse_number("bytes", optarg, 1, 1ull << 40, &c->bytes) < 0)
                                return -EINVAL;
                        break;
                case 'n':
                        if (parse_number("count", optarg, 1, 1000000000, &c->count) < 0)
                                return -EINVAL;
                        break;
                case 's':
                        if (parse_number("size", optarg, 1, 1u << 20, &c->size) < 0)
                                return -EINVAL;
                        break;
                case 'P':
                        if (parse_number("procs", optarg, 1, 64, &v) < 0)
                                return -EINVAL;
                        c->procs = (unsigned) v;
                        break;
                case 't':
                        if (parse_number("timeout", optarg, 1, 86400, &v) < 0)
                                return -EINVAL;
                        c->timeout_s = (unsigned) v;
                        break;
                case OPT_HOLD:
                        if (parse_number("hold", optarg, 0, 86400, &v) < 0)
                                return -EINVAL;
                        c->hold_s = (unsigned) v;
                        break;
                case OPT_SERVER_PID:
                        if (parse_number("server-pid", optarg, 1, 1u << 22, &v) < 0)
                                return -EINVAL;
                        c->server_pid = (pid_t) v;
                        break;
                case OPT_JSON:
                        c->json = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case OPT_PROGRESS:
                        progress = true;
                        break;
                case 'h':
                        help();
                        return 0;
                case ':':
                        bench_error("option '%s' needs a value", argv[optind - 1]);
                        return -EINVAL;
                default:
                        if (optopt && optopt < 0x100)
                                bench_error("unknown option '-%c' (see echo-bench --help)", optopt);
                        else
                                bench_error("unknown option '%s' (see echo-bench --help)", argv[optind - 1]);
                        return -EINVAL;
                }
        }
        if (argc - optind != 3) {
                bench_error("expected MODE HOST PORT (see echo-bench --help)");
                return -EINVAL;
        }
        for (size_t i = 0; ; i++) {
                if (i == sizeof mode_names / sizeof *mode_names) {
                        bench_error("unknown mode '%s' (stream, pingpong, concurrent, connrate or idle)", argv[optind]);
                        return -EINVAL;
                }
                if (strcmp(argv[optind], mode_names[i]) == 0) {
                        c->mode = (enum bench_mode) i;
                        break;
                }
        }
        c->host = argv[optind + 1];
        c->port = argv[optind + 2];
        c->progress = !quiet && (progress || isatty(STDERR_FILENO));

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
        if (c->procs > 1 && c->mode != MODE_CONCURRENT && c->mode != MODE_IDLE) {
                bench_error("--procs applies to concurrent and idle only");
                return -EINVAL;
        }
        if (c->procs > 1 && c->procs > c->connections) {
                bench_error("--procs %u is more than --connections %llu", c->procs,
                            (unsigned long long) c->connections);
                return -EINVAL;
        }
        return 1;
}

/* One row of the table, or one "key": value of the JSON object. */
struct printer {
        bool json;
        bool first;
};

static void print_field(struct printer *pr, const char *key, const char *label, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void print_field(struct printer *pr, const char *key, const char *label, const char *fmt, ...) {
        va_list ap;

        if (pr->json)
                printf("%s\"%s\": ", pr->first ? "{" : ", ", key);
        else
                printf("%-22s ", label);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        if (!pr->json)
                putchar('\n');
        pr->first = false;
}

static void print_result(const struct bench_config *c, const struct bench_result *r) {
        struct printer pr = { .json = c->json, .first = true };
        double mb_s = r->wall_s > 0 ? (double) r->bytes / 1e6 / r->wall_s : 0;
        bool json = c->json;

        print_field(&pr, "mode", "mode", json ? "\"%s\"" : "%s", mode_names[c->mode]);
        if (json)
                print_field(&pr, "server", "", "\"%s %s\"", c->host, c->port);
        else
                print_field(&pr, "server", "server", "%s %s", c->host, c->port);
        switch (c->mode) {
        case MODE_STREAM:
                print_field(&pr, "connections", "connections", "%llu", (unsigned long long) c->connections);
                print_field(&pr, "bytes_per_connection", "bytes per connection", "%llu", (unsigned long long) c->bytes);
                print_field(&pr, "mb_per_s", "throughput MB/s", "%.1f", mb_s);
                break;
        case MODE_PINGPONG:
                print_field(&pr, "message_bytes", "message bytes", "%llu", (unsigned long long) c->size);
                print_field(&pr, "round_trips", "round trips", "%llu", (unsigned long long) r->ok);
                print_field(&pr, "round_trips_per_s", "round trips/s", "%.0f", r->wall_s > 0 ? (double) r->ok / r->wall_s : 0);
                print_field(&pr, "p50_us", "latency p50 us", "%.1f", r->p50_us);
                print_field(&pr, "p99_us", "latency p99 us", "%.1f", r->p99_us);
                print_field(&pr, "p999_us", "latency p99.9 us", "%.1f", r->p999_us);
                if (json && r->ok > 0) {
                        print_field(&pr, "latency_cdf", "", "[");
                        for (size_t i = 0; i < BENCH_CDF_POINTS; i++)
                                printf("%s[%g, %.1f]", i ? ", " : "", bench_cdf_q[i], r->cdf_us[i]);
                        printf("]");
                }
                break;
        case MODE_CONCURRENT:
                print_field(&pr, "connections", "connections", "%llu", (unsigned long long) c->connections);
                print_field(&pr, "bytes_per_connection", "bytes per connection", "%llu", (unsigned long long) c->bytes);
                print_field(&pr, "mb_per_s", "throughput MB/s", "%.1f", mb_s);
                break;
        case MODE_CONNRATE:
                print_field(&pr, "connections", "connections", "%llu", (unsigned long long) c->count);
                print_field(&pr, "in_flight", "in flight", "%llu", (unsigned long long) c->connections);
                print_field(&pr, "connections_per_s", "connections/s", "%.0f", r->wall_s > 0 ? (double) r->ok / r->wall_s : 0);
                break;
        case MODE_IDLE:
                print_field(&pr, "connections", "connections", "%llu", (unsigned long long) c->connections);
                print_field(&pr, "held", "held", "%llu", (unsigned long long) r->held);
                if (r->rss_before_kib >= 0 && r->rss_after_kib >= 0) {
                        long delta = r->rss_after_kib - r->rss_before_kib;
                        print_field(&pr, "server_rss_before_kib", "server RSS before KiB", "%ld", r->rss_before_kib);
                        print_field(&pr, "server_rss_kib", "server RSS held KiB", "%ld", r->rss_after_kib);
                        print_field(&pr, "bytes_per_connection", "bytes per connection", "%.0f",
                                    r->held ? (double) delta * 1024 / (double) r->held : 0);
                } else if (json) {
                        print_field(&pr, "server_rss_kib", "", "null");
                        print_field(&pr, "bytes_per_connection", "", "null");
                }
                break;
        }
        print_field(&pr, "wall_s", "wall time s", "%.3f", r->wall_s);
        print_field(&pr, "ok", "ok", "%llu", (unsigned long long) r->ok);
        print_field(&pr, "failed", "failed", "%llu", (unsigned long long) r->failed);
        print_field(&pr, "differed", "differed", "%llu", (unsigned long long) r->differed);
        if (r->first_errno)
                print_field(&pr, "first_error", "first error", json ? "\"%s\"" : "%s", bench_strerror(r->first_errno));
        if (json)
                printf("}\n");
        fflush(stdout);
}

int main(int argc, char **argv) {
        struct bench_config c;
        struct bench_result r = { .rss_before_kib = -1, .rss_after_kib = -1 };
        struct addrinfo *ai = NULL;
        struct pattern p = { 0 };
        int status;

        status = bench_parse(&c, argc, argv);
        if (status <= 0)
                return status < 0 ? BENCH_USAGE : BENCH_OK;
        signal(SIGPIPE, SIG_IGN);
        status = client_resolve(c.host, c.port, &ai);
        if (status != 0) {
                bench_error("cannot resolve %s port %s: %s", c.host, c.port, gai_strerror(status));
                return status == EAI_SERVICE ? BENCH_USAGE : BENCH_CONNECT;
        }
        c.target = ai;
        if (pattern_init(&p) < 0) {
                bench_error("out of memory");
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
                                bench_error("no connection succeeded: %s", bench_strerror(r.first_errno));
                        else
                                bench_error("no connection came back intact");
                }
                print_result(&c, &r);
                if (r.failed > 0 && status == BENCH_OK)
                        status = BENCH_FAILED;
                if (r.ok == 0 && r.first_errno == ECONNREFUSED)
                        status = BENCH_CONNECT;
        }
        pattern_finish(&p);
        freeaddrinfo(ai);
        return status;
}
