/* echod.c - main(): options, sockets (handed over or bound here), the loops, the exit status.
 * The only file that knows every other module. */
#include <errno.h>
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
#include "log.h"
#include "log-queue.h"
#include "options.h"
#include "server.h"
#include "sockets.h"
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
        struct sockets sockets;         /* closed at exit */
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
        if (ctx->sockets.bound_here)
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

/* How many workers, and how many clients and splice pipes each may hold, from the options and
 * RLIMIT_NOFILE (raised to its hard limit here). */
static size_t context_plan(struct context *ctx, size_t *ret_limit, size_t *ret_pipes) {
        size_t fds, client_fds, limit, workers, pipes;

        /* A connected socket is one client: one loop serves it. */
        workers = ctx->sockets.connected_fd >= 0 ? 1 : ctx->config.workers;
        if (workers > 1 && activation_any_blocking_listener(ctx->sockets.fds, ctx->sockets.n_fds)) {
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
        *ret_limit = limit;
        *ret_pipes = pipes;
        return workers;
}

/* One server per worker, sharing the sockets, the counters and the --max-per-source table; the
 * first one serves the connected socket, if one was handed over. */
static int context_servers_init(struct context *ctx) {
        size_t limit, workers, n_stream, pipes;
        int r;

        workers = context_plan(ctx, &limit, &pipes);
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
        n_stream = sockets_streams_first(&ctx->sockets);
        /* Counted as each is set up, so that context_finish() finishes those and no others. */
        for (size_t i = 0; i < workers; i++) {
                r = server_init(&ctx->servers[i], &ctx->config, &ctx->stats, limit, pipes, ctx->sockets.fds,
                                i == 0 ? ctx->sockets.n_fds : n_stream);
                ctx->n_servers++;
                if (r < 0)
                        return log_errno(r, "cannot set up event loop");
                if (ctx->config.max_per_source > 0)
                        ctx->servers[i].per_source = &ctx->per_source;
        }
        if (ctx->sockets.connected_fd >= 0) {
                r = server_adopt(&ctx->servers[0], ctx->sockets.connected_fd);
                ctx->sockets.connected_fd = -1;
                if (r < 0)
                        return log_errno(r, "cannot serve the connection passed in");
        }
        ctx->servers[0].tick_hook = main_tick;
        ctx->servers[0].hook_userdata = ctx;
        return 0;
}

/* Starts a thread for every server but the first, which the main thread runs. */
static int context_start_workers(struct context *ctx) {
        for (size_t i = 1; i < ctx->n_servers; i++) {
                int r;

                ctx->servers[i].hook_userdata = ctx;
                atomic_fetch_add(&ctx->workers_running, 1);
                r = -pthread_create(&ctx->threads[ctx->n_threads], NULL, worker_run, &ctx->servers[i]);
                if (r < 0) {
                        atomic_fetch_sub(&ctx->workers_running, 1);
                        return log_errno(r, "cannot start worker %zu", i);
                }
                ctx->n_threads++;
        }
        return 0;
}

static int context_serve(struct context *ctx) {
        int r;

        r = context_servers_init(ctx);
        if (r < 0)
                return r;
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
        r = context_start_workers(ctx);
        if (r < 0)
                return r;

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
        sockets_close(&ctx->sockets);
}

int main(int argc, char **argv) {
        struct context ctx = { .signal_watch.fd = -1, .sockets = SOCKETS_INIT };
        int r, status;

        log_setup("echod", log_target_for(argv_has_inetd(argc, argv)), 0);
        r = config_parse(&ctx.config, argc, argv);
        if (r <= 0) {
                status = r < 0 ? EXIT_USAGE : EXIT_OK;
                goto finish;
        }
        log_setup("echod", log_target_for(ctx.config.inetd), ctx.config.verbosity);
        log_hold();

        status = sockets_get(&ctx.sockets, &ctx.config);
        if (status != EXIT_OK)
                goto finish;
        status = context_serve(&ctx) < 0 || ctx.stopped_now ? EXIT_RUNTIME : EXIT_OK;
finish:
        context_finish(&ctx);
        log_release(false);
        log_finish(LOG_FINISH_MS);
        return status;
}
