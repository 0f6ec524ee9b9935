/* echo-client.c - sends a message or a file to an echo server, half-closes, reads until EOF,
 * and proves that every byte came back. By default it prints what the seed's Python client
 * prints, byte for byte. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "address.h"
#include "connect.h"
#include "number.h"
#include "pyrepr.h"
#include "usage.h"

/* Exit statuses; echo-client(1) lists the same. */
enum {
        EXIT_INTACT = 0,
        EXIT_DIFFERS = 1,       /* the echo was not exactly what was sent */
        EXIT_USAGE = 2,
        EXIT_CONNECT = 3,       /* name does not resolve, connection refused or timed out */
        EXIT_INPUT = 4,         /* the -f file cannot be read */
        EXIT_BROKEN = 5,        /* the connection failed mid-transfer (reset, no reply in time) */
};

#define SEED_MESSAGE "This is the message.  It will be repeated."
#define SEED_CHUNK 16
#define WINDOW (1u << 20)       /* sent-but-unverified bytes held for comparison */

struct client_config {
        const char *host;
        const char *port;
        const char *message;
        const char *file;
        bool quiet;
        bool info;
        int timeout_ms;
};

/* Bytes read from the input and not yet seen back: [verified, sent) are in flight, [sent, filled)
 * still to send. For -m the whole message is the window. */
struct window {
        uint8_t *data;
        size_t verified, sent, filled, cap;
        bool input_done;
        int input_fd;
        uint64_t total_sent, total_received;
};

static void help(void) {
        printf("Usage: echo-client [OPTION]... [HOST [PORT]]\n"
               "Send a message to an echo server and check that exactly the same bytes come back.\n"
               "HOST defaults to localhost, PORT (a number or service name) to 10000.\n"
               "\n"
               "  -m, --message TEXT   send TEXT instead of the seed's message\n"
               "  -f, --file FILE      send FILE's bytes (- for standard input), streamed\n"
               "  -q, --quiet          print nothing on stdout; only the exit status tells\n"
               "  -i, --info           print the socket's family, type and protocol first\n"
               "  -t, --timeout SEC    give up after SEC seconds without progress (default 30)\n"
               "  -h, --help           show this help and exit\n"
               "  -V, --version        show the version and exit\n"
               "\n"
               "Exit status: 0 echo intact, 1 echo differs, 2 usage error, 3 cannot connect,\n"
               "4 cannot read the input file, 5 connection broken mid-transfer. See echo-client(1).\n");
}

static void fail_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_line(const char *fmt, ...) {
        char msg[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        /* Arguments are echoed back in messages: a newline in one must not make two lines. */
        for (unsigned char *p = (unsigned char *) msg; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        *p = '?';
        fflush(stdout);
        fprintf(stderr, "echo-client: %s\n", msg);
}

static const char *reason(int err) {
        static char buf[128];

        snprintf(buf, sizeof buf, "%s", strerror(err));
        buf[0] = (char) (buf[0] >= 'A' && buf[0] <= 'Z' ? buf[0] + 32 : buf[0]);
        return buf;
}

/* Returns >0 to run, 0 to exit 0, <0 on a usage error (already reported). */
static int parse_args(struct client_config *c, int argc, char **argv) {
        static const struct option options[] = {
                { "message", required_argument, NULL, 'm' },
                { "file",    required_argument, NULL, 'f' },
                { "quiet",   no_argument,       NULL, 'q' },
                { "info",    no_argument,       NULL, 'i' },
                { "timeout", required_argument, NULL, 't' },
                { "help",    no_argument,       NULL, 'h' },
                { "version", no_argument,       NULL, 'V' },
                { 0 }
        };
        unsigned long long v;
        char line[USAGE_LINE_MAX];
        int opt;

        *c = (struct client_config) { .host = "localhost", .port = "10000", .timeout_ms = 30000 };
        opterr = 0;
        while ((opt = getopt_long(argc, argv, ":m:f:qit:hV", options, NULL)) >= 0) {
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
                        if (usage_number("timeout", optarg, 1, 86400, &v, line) < 0) {
                                fail_line("%s", line);
                                return -EINVAL;
                        }
                        c->timeout_ms = (int) v * 1000;
                        break;
                case 'h':
                        help();
                        return 0;
                case 'V':
                        printf("echo-client %s\n", ECHOD_VERSION);
                        return 0;
                default:
                        usage_refused("echo-client", options, opt, argv[optind - 1], optopt, line);
                        fail_line("%s", line);
                        return -EINVAL;
                }
        }
        if (c->message && c->file) {
                fail_line("-m and -f cannot be used together");
                return -EINVAL;
        }
        if (argc - optind > 2) {
                fail_line("too many arguments: '%s' (expected [HOST [PORT]])", argv[optind + 2]);
                return -EINVAL;
        }
        if (optind < argc)
                c->host = argv[optind];
        if (optind + 1 < argc)
                c->port = argv[optind + 1];
        if (!*c->host) {
                fail_line("empty host name");
                return -EINVAL;
        }
        if (c->port[0] >= '0' && c->port[0] <= '9' ? parse_unsigned(c->port, 1, 65535, &v) < 0
                                                   : !service_name_valid(c->port)) {
                fail_line("invalid port '%s': must be a number from 1 to 65535 or a service name", c->port);
                return -EINVAL;
        }
        if (!c->message && !c->file)
                c->message = SEED_MESSAGE;
        return 1;
}

/* Refills the window from the input file. Returns 0 or -errno. */
static int window_fill(struct window *w) {
        ssize_t n;

        if (w->input_done || w->input_fd < 0)
                return 0;
        if (w->verified > 0 && w->verified == w->filled)
                w->verified = w->sent = w->filled = 0;
        else if (w->verified >= w->cap / 2) {
                memmove(w->data, w->data + w->verified, w->filled - w->verified);
                w->sent -= w->verified;
                w->filled -= w->verified;
                w->verified = 0;
        }
        if (w->filled == w->cap)
                return 0;
        n = read(w->input_fd, w->data + w->filled, w->cap - w->filled);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        if (n == 0)
                w->input_done = true;
        w->filled += (size_t) n;
        return 0;
}

/* Compares n received bytes with the oldest in-flight ones. Returns 0, or the offset + 1 of the
 * first byte that differs (or that was never sent). */
static uint64_t window_verify(struct window *w, const uint8_t *got, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (w->verified >= w->sent || w->data[w->verified] != got[i])
                        return w->total_received + i + 1;
                w->verified++;
        }
        w->total_received += n;
        return 0;
}

static int exchange(const struct client_config *c, int fd, struct window *w) {
        uint8_t buf[65536];
        bool shut = false;
        size_t chunk = c->file ? sizeof buf : SEED_CHUNK;

        for (;;) {
                struct pollfd p[2] = {
                        { .fd = fd, .events = POLLIN },
                        { .fd = -1, .events = POLLIN },
                };
                int r;

                if (w->sent < w->filled)
                        p[0].events |= POLLOUT;
                if (!w->input_done && w->input_fd >= 0 && w->filled < w->cap)
                        p[1].fd = w->input_fd;
                if (w->input_done && w->sent == w->filled && !shut) {
                        if (shutdown(fd, SHUT_WR) < 0) {
                                fail_line("cannot half-close the connection: %s", reason(errno));
                                return EXIT_BROKEN;
                        }
                        shut = true;
                }

                r = poll(p, 2, c->timeout_ms);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        fail_line("poll: %s", reason(errno));
                        return EXIT_BROKEN;
                }
                if (r == 0) {
                        fail_line("no progress for %d s: %llu of %llu bytes came back", c->timeout_ms / 1000,
                                  (unsigned long long) w->total_received, (unsigned long long) w->total_sent);
                        return EXIT_BROKEN;
                }
                if (p[1].revents) {
                        r = window_fill(w);
                        if (r < 0) {
                                fail_line("cannot read %s: %s", c->file, reason(-r));
                                return EXIT_INPUT;
                        }
                }
                if (p[0].revents & POLLOUT) {
                        ssize_t n = send(fd, w->data + w->sent, w->filled - w->sent, MSG_NOSIGNAL);
                        if (n < 0 && errno != EAGAIN && errno != EINTR) {
                                fail_line("send failed after %llu bytes: %s",
                                          (unsigned long long) w->total_sent, reason(errno));
                                return EXIT_BROKEN;
                        }
                        if (n > 0) {
                                w->sent += (size_t) n;
                                w->total_sent += (uint64_t) n;
                        }
                }
                if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        ssize_t n = recv(fd, buf, chunk, 0);
                        uint64_t bad;

                        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                                continue;
                        if (n < 0) {
                                fail_line("receive failed after %llu bytes: %s",
                                          (unsigned long long) w->total_received, reason(errno));
                                return EXIT_BROKEN;
                        }
                        if (n == 0) {
                                if (!shut || w->total_received < w->total_sent || !w->input_done) {
                                        fail_line("server closed the connection after echoing %llu of %llu bytes",
                                                  (unsigned long long) w->total_received,
                                                  (unsigned long long) w->total_sent);
                                        return EXIT_DIFFERS;
                                }
                                return EXIT_INTACT;
                        }
                        if (!c->quiet && !c->file) {
                                char repr[PYREPR_SIZE(SEED_CHUNK)];
                                pyrepr(repr, buf, (size_t) n);
                                printf("received %s\n", repr);
                        }
                        bad = window_verify(w, buf, (size_t) n);
                        if (bad) {
                                fail_line("echo differs from what was sent at byte %llu",
                                          (unsigned long long) bad);
                                return EXIT_DIFFERS;
                        }
                }
        }
}

int main(int argc, char **argv) {
        struct client_config c;
        struct addrinfo *list = NULL;
        struct window w = { .input_fd = -1 };
        struct stat st;
        int r, fd = -1, status;

        r = parse_args(&c, argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_INTACT;

        if (c.file) {
                w.input_fd = strcmp(c.file, "-") == 0 ? STDIN_FILENO : open(c.file, O_RDONLY | O_CLOEXEC);
                if (w.input_fd < 0) {
                        fail_line("cannot open %s: %s", c.file, reason(errno));
                        return EXIT_INPUT;
                }
                /* Found out now rather than by the first read, after connecting. */
                if (fstat(w.input_fd, &st) == 0 && S_ISDIR(st.st_mode)) {
                        fail_line("cannot read %s: %s", c.file, reason(EISDIR));
                        close(w.input_fd);
                        return EXIT_INPUT;
                }
                w.data = malloc(WINDOW);
                if (!w.data) {
                        fail_line("out of memory");
                        return EXIT_BROKEN;
                }
                w.cap = WINDOW;
        } else {
                w.data = (uint8_t *) c.message;
                w.filled = w.cap = strlen(c.message);
                w.input_done = true;
        }

        if (!c.quiet && !c.info)
                printf("connecting to %s port %s\n", c.host, c.port);
        r = connect_resolve(c.host, c.port, &list);
        if (r != 0) {
                if (r == EAI_SERVICE)
                        fail_line("unknown port or service '%s'", c.port);
                else
                        fail_line("cannot resolve '%s': %s", c.host, gai_strerror(r));
                status = EXIT_CONNECT;
                goto out;
        }
        fd = connect_first(list, c.timeout_ms);
        if (fd < 0) {
                fail_line("cannot connect to %s port %s: %s", c.host, c.port, reason(-fd));
                status = EXIT_CONNECT;
                goto out;
        }
        if (c.info && !c.quiet) {
                struct sockaddr_storage sa;
                socklen_t len = sizeof sa;
                if (getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
                        sa.ss_family = AF_UNSPEC;
                printf("Family  : %s\nType    : SOCK_STREAM\nProtocol: IPPROTO_TCP\n\n",
                       sa.ss_family == AF_INET6 ? "AF_INET6" : "AF_INET");
        }
        if (!c.quiet) {
                if (c.file)
                        printf("sending %s\n", strcmp(c.file, "-") == 0 ? "standard input" : c.file);
                else {
                        char *repr = malloc(PYREPR_SIZE(w.filled));
                        if (!repr) {
                                fail_line("out of memory");
                                status = EXIT_BROKEN;
                                goto out;
                        }
                        pyrepr(repr, w.data, w.filled);
                        printf("sending %s\n", repr);
                        free(repr);
                }
                fflush(stdout);
        }

        status = exchange(&c, fd, &w);
        if (!c.quiet) {
                if (c.file && status == EXIT_INTACT)
                        printf("received %llu bytes, identical to what was sent\n",
                               (unsigned long long) w.total_received);
                printf("closing socket\n");
        }
out:
        if (fd >= 0)
                close(fd);
        if (list)
                freeaddrinfo(list);
        if (c.file) {
                free(w.data);
                if (w.input_fd > STDIN_FILENO)
                        close(w.input_fd);
        }
        return status;
}
