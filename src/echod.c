/* echod.c - main(): options, sockets (handed over or bound here), the loops, the exit status.
 * The only file that knows every other module. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "activation.h"
#include "address.h"
#include "log.h"
#include "log-queue.h"
#include "options.h"
#include "server.h"
#include "sources.h"
#include "status.h"

/* fds kept back from the connection limit: listeners, epoll, eventfds, timerfds, signalfd, syslog. */
#define FDS_RESERVED 32
/* At exit, how long queued log lines may take to go out before a stuck reader is abandoned. */
#define LOG_FINISH_MS 1000
/* --max-per-source table: at most twice this many slots (48 bytes each: 6 MiB). */
#define PER_SOURCE_SLOTS_MAX (1u << 16)

struct context {
        struct config config;
        struct stats stats;
        struct status status;
        int *fds;                       /* listening and datagram sockets, closed at exit */
        size_t n_fds;
        int connected_fd;               /* a client handed over (Accept=yes, inetd nowait), or -1 */
        bool bound_here;                /* fds were bound by echod (standalone), not passed */
        struct server *servers;         /* one per worker; [0] runs in the main thread */
        size_t n_servers;
        pthread_t *threads;             /* threads[i] runs servers[i + 1] */
        size_t n_threads;
        atomic_size_t workers_running;  /* threads whose loop has not returned yet */
        bool stopping;                  /* draining (a signal or --exit-idle) */
        bool stopped_now;               /* a second signal cut the drain short: exit status 1 */
        struct watch signal_watch;
        struct sources per_source;      /* --max-per-source, shared by the workers */
};

static int fds_append(struct context *ctx, int fd) {
        int *n = realloc(ctx->fds, (ctx->n_fds + 1) * sizeof *n);

        if (!n)
                return -ENOMEM;
        ctx->fds = n;
        ctx->fds[ctx->n_fds++] = fd;
        return 0;
}

/* Binds every getaddrinfo result of one ADDRESS argument. Returns 0 or an EXIT_* status. */
static int bind_address(struct context *ctx, const char *arg, bool given) {
        struct addrinfo *list = NULL;
        struct address a;
        const char *why;
        size_t bound = 0;
        int r, status = EXIT_OK;

        r = address_parse(arg, ECHOD_DEFAULT_PORT, &a, &why);
        if (r == -ENOENT) {
                log_error("cannot resolve '%s': %s", arg, why);
                return EXIT_RESOLVE;
        }
        if (r < 0) {
                log_error("invalid address '%s': %s", arg, why);
                return EXIT_USAGE;
        }
        r = address_resolve(&a, SOCK_STREAM, &list);
        if (r != 0) {
                log_error("cannot resolve '%s': %s", a.host[0] ? a.host : arg, gai_strerror(r));
                return r == EAI_SYSTEM ? EXIT_RUNTIME : EXIT_RESOLVE;
        }
        for (struct addrinfo *ai = list; ai; ai = ai->ai_next) {
                char host[NI_MAXHOST], port[NI_MAXSERV];
                int fd;

                sockaddr_numeric(ai->ai_addr, ai->ai_addrlen, host, port);
                fd = socket_listen(ai);
                /* Like nc's local_listen: a family this machine lacks (no ::1) is skipped. */
                if ((fd == -EADDRNOTAVAIL || fd == -EAFNOSUPPORT) && (ai->ai_next || bound > 0))
                        continue;
                if (fd < 0) {
                        log_errno(fd, "cannot listen on %s port %s", host, port);
                        status = EXIT_BIND;
                        break;
                }
                /* Accepted sockets inherit TCP_NODELAY: no setsockopt() per connection. With
                 * TCP_DEFER_ACCEPT a client is accepted with its first bytes, which are read at
                 * once (no epoll round trip); one that sends nothing after about a second. */
                (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int) { 1 }, sizeof(int));
                (void) setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &(int) { 1 }, sizeof(int));
                if (fds_append(ctx, fd) < 0) {
                        close(fd);
                        log_errno(-ENOMEM, "cannot listen on %s port %s", host, port);
                        status = EXIT_RUNTIME;
                        break;
                }
                bound++;
                log_info("starting up on %s port %s", given && a.host[0] && !a.numeric ? a.host : host, port);
        }
        freeaddrinfo(list);
        return status;
}

static int bind_standalone(struct context *ctx) {
        if (ctx->config.n_addresses == 0)
                return bind_address(ctx, ECHOD_DEFAULT_HOST, true);
        for (size_t i = 0; i < ctx->config.n_addresses; i++) {
                int status = bind_address(ctx, ctx->config.addresses[i], true);
                if (status != EXIT_OK)
                        return status;
        }
        return EXIT_OK;
}

/* Raises the soft fd limit to the hard one; returns the usable limit. */
static size_t raise_fd_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return 1024;
        if (rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
                (void) getrlimit(RLIMIT_NOFILE, &rl);
        }
        return rl.rlim_cur == RLIM_INFINITY ? 1u << 20 : (size_t) rl.rlim_cur;
}

/* Clients that fit in `fds` descriptors: FDS_RESERVED are kept back, or half of a tiny limit. */
static size_t connections_for_fds(size_t fds) {
        size_t reserved = fds > 2 * FDS_RESERVED ? FDS_RESERVED : fds / 2;

        return fds - reserved > 0 ? fds - reserved : 1;
}

/* --inetd decides where even option errors are logged: fds 0-2 are the client's socket there.
 * getopt_long() has not run yet, so look for the word, or an abbreviation getopt_long() would
 * take for it ("--in" is the shortest: "--i" is also --idle-timeout), before any "--". */
static bool argv_has_inetd(int argc, char **argv) {
        for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
                size_t n = strlen(argv[i]);

                if (n >= 4 && strncmp(argv[i], "--inetd", n) == 0)
                        return true;
        }
        return false;
}

/* Under inetd fds 0-2 are the client's socket, so lines go to syslog; if fd 0 is no socket at
 * all, echod was started by hand and its errors belong on stderr. */
static enum log_target log_target_for(bool inetd) {
        return inetd && sd_is_socket(STDIN_FILENO, AF_UNSPEC, 0, -1) > 0 ? LOG_TARGET_SYSLOG
                                                                         : LOG_TARGET_CONSOLE;
}

/* The workers count bytes and clients on their own; STATUS= shows the sums. */
static void context_sum_counts(struct context *ctx) {
        uint64_t bytes = 0, served = 0;

        for (size_t i = 0; i < ctx->n_servers; i++)
                server_add_counts(&ctx->servers[i], &bytes, &served);
        atomic_store_explicit(&ctx->stats.bytes, bytes, memory_order_relaxed);
        atomic_store_explicit(&ctx->stats.served, served, memory_order_relaxed);
}

static void context_stop(struct context *ctx, const char *why) {
        ctx->stopping = true;
        context_sum_counts(ctx);
        status_stopping(&ctx->status, why);
        /* Sockets echod bound itself have no one to hand their queue to; first, so that the
         * drain counts the clients taken from it. */
        if (ctx->bound_here)
                server_close_listeners(&ctx->servers[0]);
        server_stop(&ctx->servers[0]);
        for (size_t i = 1; i < ctx->n_servers; i++)
                server_request_stop(&ctx->servers[i], false);
}

/* A second signal during the drain: whoever sent it does not want to wait. */
static void context_stop_now(struct context *ctx) {
        ctx->stopped_now = true;
        status_stopping(&ctx->status, "stopping at once");
        server_stop_now(&ctx->servers[0]);
        for (size_t i = 1; i < ctx->n_servers; i++)
                server_request_stop(&ctx->servers[i], true);
}

static void signal_dispatch(struct watch *w, uint32_t events) {
        struct context *ctx = container_of(w, struct context, signal_watch);
        struct signalfd_siginfo si;
        char why[64];

        if (read(w->fd, &si, sizeof si) != sizeof si)
                return;
        if (ctx->stopping) {
                log_warning("SIG%s received during the drain: closing every connection now",
                            sigabbrev_np((int) si.ssi_signo));
                context_stop_now(ctx);
                return;
        }
        snprintf(why, sizeof why, "SIG%s received, draining", sigabbrev_np((int) si.ssi_signo));
        log_notice("%s", why);
        context_stop(ctx, why);
}

static void main_tick(struct server *s) {
        struct context *ctx = s->hook_userdata;

        context_sum_counts(ctx);
        if (status_tick(&ctx->status, s->loop.now_ms) > 0) {
                log_info("no client for %u s, exiting (--exit-idle)", ctx->config.exit_idle_s);
                context_stop(ctx, "idle, exiting");
        }
}

static void *worker_run(void *userdata) {
        struct server *s = userdata;
        struct context *ctx = s->hook_userdata;
        int r = server_run(s);

        if (r < 0)
                log_errno(r, "worker loop failed");
        atomic_fetch_sub(&ctx->workers_running, 1);
        return NULL;
}

/* The main worker is done (drained, or idle): the others may still be draining, and a second
 * signal must still reach them. */
static void context_wait_workers(struct context *ctx) {
        struct pollfd p = { .fd = ctx->signal_watch.fd, .events = POLLIN };

        while (atomic_load(&ctx->workers_running) > 0)
                if (poll(&p, 1, 100) > 0)
                        signal_dispatch(&ctx->signal_watch, EPOLLIN);
}

static int signals_setup(struct context *ctx) {
        sigset_t mask;
        int fd;

        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        /* A closed terminal: drain as for SIGTERM rather than die mid-transfer. */
        sigaddset(&mask, SIGHUP);
        /* Blocked before any thread starts, so that every thread inherits the mask. */
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        watch_init(&ctx->signal_watch, fd, signal_dispatch);
        return 0;
}

/* Puts the stream sockets of ctx->fds first and returns how many there are: the datagram
 * sockets after them go to the first worker only (one source table, one global rate). */
static size_t fds_streams_first(struct context *ctx) {
        size_t n_stream = 0;

        for (size_t i = 0; i < ctx->n_fds; i++) {
                int fd = ctx->fds[i];

                if (fd_socket_type(fd) != SOCK_STREAM)
                        continue;
                memmove(ctx->fds + n_stream + 1, ctx->fds + n_stream, (i - n_stream) * sizeof *ctx->fds);
                ctx->fds[n_stream++] = fd;
        }
        return n_stream;
}

static int context_serve(struct context *ctx) {
        size_t fds, client_fds, limit, workers, n_stream, pipes;
        int r;

        /* A connected socket is one client: one loop serves it. */
        workers = ctx->connected_fd >= 0 ? 1 : ctx->config.workers;
        if (workers > 1 && activation_any_blocking_listener(ctx->fds, ctx->n_fds)) {
                log_warning("a passed listening socket is in blocking mode: one worker instead of %u "
                            "(set NonBlocking=yes in the service unit)", ctx->config.workers);
                workers = 1;
        }
        fds = raise_fd_limit();
        /* The pipes' fds are kept out of the clients' share. */
        pipes = ctx->config.splice_mode == SPLICE_OFF ? 0 :
                splice_pipes_for_fds(ctx->config.splice_pipes, fds) / workers;
        client_fds = fds - 2 * pipes * workers;
        limit = ctx->config.max_connections ? ctx->config.max_connections : connections_for_fds(client_fds);
        /* Allowed (the limit may rise while running), but the excess waits on EMFILE pauses. */
        if (limit > connections_for_fds(client_fds))
                log_warning("--max-connections %zu is more than the %zu file descriptors allow "
                            "(RLIMIT_NOFILE); accepting pauses whenever they run out", limit, fds);

        ctx->servers = calloc(workers, sizeof *ctx->servers);
        ctx->threads = calloc(workers, sizeof *ctx->threads);
        if (!ctx->servers || !ctx->threads)
                return log_errno(-ENOMEM, "cannot set up workers");
        if (ctx->config.max_per_source > 0) {
                /* Twice the most sources that can hold a connection at once (sources.h), so
                 * that a source practically always finds a slot; bounded whatever the limit. */
                r = sources_init(&ctx->per_source, 2 * (limit < PER_SOURCE_SLOTS_MAX ? limit : PER_SOURCE_SLOTS_MAX),
                                 NULL, true);
                if (r < 0)
                        return log_errno(r, "cannot set up --max-per-source");
        }
        n_stream = fds_streams_first(ctx);
        /* Counted as each is set up, so that context_finish() finishes those and no others. */
        for (size_t i = 0; i < workers; i++) {
                r = server_init(&ctx->servers[i], &ctx->config, &ctx->stats, limit, pipes, ctx->fds,
                                i == 0 ? ctx->n_fds : n_stream);
                ctx->n_servers++;
                if (r < 0)
                        return log_errno(r, "cannot set up event loop");
                if (ctx->config.max_per_source > 0)
                        ctx->servers[i].per_source = &ctx->per_source;
        }
        if (ctx->connected_fd >= 0) {
                r = server_adopt(&ctx->servers[0], ctx->connected_fd);
                ctx->connected_fd = -1;
                if (r < 0)
                        return log_errno(r, "cannot serve the connection passed in");
        }
        ctx->servers[0].tick_hook = main_tick;
        ctx->servers[0].hook_userdata = ctx;

        r = signals_setup(ctx);
        if (r < 0)
                return log_errno(r, "cannot set up signal handling");
        r = loop_watch(&ctx->servers[0].loop, &ctx->signal_watch, EPOLLIN);
        if (r < 0)
                return log_errno(r, "cannot watch signals");
        /* Ready: the "starting up on" lines held since start-up go out now (see log_hold). */
        log_release(true);
        r = log_start();
        if (r < 0)
                log_errno(r, "cannot start the log writer; lines are written directly");
        for (size_t i = 1; i < ctx->n_servers; i++) {
                ctx->servers[i].hook_userdata = ctx;
                atomic_fetch_add(&ctx->workers_running, 1);
                r = -pthread_create(&ctx->threads[ctx->n_threads], NULL, worker_run, &ctx->servers[i]);
                if (r < 0) {
                        atomic_fetch_sub(&ctx->workers_running, 1);
                        return log_errno(r, "cannot start worker %zu", i);
                }
                ctx->n_threads++;
        }

        status_init(&ctx->status, &ctx->stats, ctx->config.exit_idle_s, ctx->servers[0].loop.now_ms);
        status_ready(&ctx->status);
        r = server_run(&ctx->servers[0]);
        if (r < 0)
                return log_errno(r, "event loop failed");
        context_wait_workers(ctx);
        return 0;
}

/* Undoes whatever main() got to, at any stage: threads, servers, the signalfd, the sockets. */
static void context_finish(struct context *ctx) {
        if (ctx->n_threads > 0) {
                for (size_t i = 1; i < ctx->n_servers; i++)
                        server_request_stop(&ctx->servers[i], false);
                for (size_t i = 0; i < ctx->n_threads; i++)
                        pthread_join(ctx->threads[i], NULL);
        }
        for (size_t i = 0; i < ctx->n_servers; i++)
                server_finish(&ctx->servers[i]);
        free(ctx->servers);
        free(ctx->threads);
        sources_finish(&ctx->per_source);
        if (ctx->signal_watch.fd >= 0)
                close(ctx->signal_watch.fd);
        if (ctx->connected_fd >= 0)
                close(ctx->connected_fd);
        /* For passed sockets this only drops echod's reference: systemd keeps its own. */
        for (size_t i = 0; i < ctx->n_fds; i++)
                close(ctx->fds[i]);
        free(ctx->fds);
}

/* Gets the sockets to serve: handed over (LISTEN_FDS, --inetd) or bound here. Returns EXIT_OK
 * or the exit status after logging; what it made is undone by context_finish() either way. */
static int context_sockets(struct context *ctx) {
        int r, n;

        n = activation_collect(ctx->config.inetd, &ctx->fds);
        if (n < 0)
                return EXIT_ACTIVATION;
        ctx->n_fds = (size_t) n;
        r = activation_take_connected(ctx->fds, &ctx->n_fds, &ctx->connected_fd);
        if (r < 0)
                return EXIT_ACTIVATION;
        if (n > 0 && ctx->config.n_addresses > 0) {
                log_error("addresses on the command line cannot be combined with sockets passed by "
                          "the service manager (LISTEN_FDS)");
                return EXIT_USAGE;
        }
        if (ctx->config.inetd) {
                r = inetd_detach_stdio();
                if (r < 0) {
                        log_errno(r, "cannot detach fds 1 and 2 from the inetd socket");
                        return EXIT_RUNTIME;
                }
        }
        if (n > 0)
                return EXIT_OK;
        ctx->bound_here = true;
        return bind_standalone(ctx);
}

int main(int argc, char **argv) {
        struct context ctx = { .signal_watch.fd = -1, .connected_fd = -1 };
        int r, status;

        log_setup("echod", log_target_for(argv_has_inetd(argc, argv)), 0);
        r = config_parse(&ctx.config, argc, argv);
        if (r <= 0) {
                status = r < 0 ? EXIT_USAGE : EXIT_OK;
                goto finish;
        }
        log_setup("echod", log_target_for(ctx.config.inetd), ctx.config.verbosity);
        log_hold();

        status = context_sockets(&ctx);
        if (status != EXIT_OK)
                goto finish;
        status = context_serve(&ctx) < 0 || ctx.stopped_now ? EXIT_RUNTIME : EXIT_OK;
finish:
        context_finish(&ctx);
        log_release(false);
        log_finish(LOG_FINISH_MS);
        return status;
}
