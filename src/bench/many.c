/* many.c - the modes with many connections: concurrent (all at once, half-close, read to EOF),
 * connrate (C in flight: connect, echo, close) and idle (connect, echo one byte, hold), each run
 * by engine.c. With --procs N the connections are split over N forked client processes, each
 * with its own fd limit. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "clock.h"
#include "log.h"
#include "engine.h"
#include "modes.h"

/* VmRSS of pid in KiB, or -1. */
static long read_rss_kib(pid_t pid) {
        char path[64], line[256];
        long kib = -1;
        FILE *f;

        if (pid <= 0)
                return -1;
        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

static void sleep_s(unsigned s) {
        struct timespec ts = { .tv_sec = s };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* This process's share of the connections: [first, first + total). */
static int run_share(const struct bench_config *c, const struct pattern *p, struct bench_result *r,
                     uint64_t first, uint64_t total, double deadline, struct engine *e) {
        int err = engine_init(e, c, p, r, first, total);

        if (err < 0) {
                log_error("cannot set up %llu connections: %s", (unsigned long long) total, strerror(-err));
                return BENCH_LOCAL;
        }
        engine_run(e, deadline);
        return BENCH_OK;
}

static void merge(struct bench_result *into, const struct bench_result *r) {
        into->bytes += r->bytes;
        into->ok += r->ok;
        into->failed += r->failed;
        into->differed += r->differed;
        into->held += r->held;
        if (!into->first_errno)
                into->first_errno = r->first_errno;
}

static int read_full(int fd, void *buf, size_t n) {
        size_t off = 0;

        while (off < n) {
                ssize_t k = read(fd, (char *) buf + off, n - off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -1;
                off += (size_t) k;
        }
        return 0;
}

/* A client process: runs its share, reports, and for idle waits for the parent's word (the
 * go pipe closing) before it counts what is still held and reports again. */
static int child_run(const struct bench_config *c, const struct pattern *p, uint64_t first,
                     uint64_t total, double deadline, int report, int go) {
        struct bench_result r = { 0 };
        struct engine e;
        char byte;
        int status;

        status = run_share(c, p, &r, first, total, deadline, &e);
        if (write(report, &r, sizeof r) != sizeof r)
                status = BENCH_LOCAL;
        if (c->mode == MODE_IDLE) {
                while (read(go, &byte, 1) < 0 && errno == EINTR)
                        ;
                r.held = engine_count_held(&e);
                if (write(report, &r, sizeof r) != sizeof r)
                        status = BENCH_LOCAL;
        }
        engine_finish(&e);
        return status;
}

/* Every connection in this process. */
static int many_here(const struct bench_config *c, const struct pattern *p, struct bench_result *r,
                     uint64_t total, double start, double deadline) {
        struct engine e;
        int status;

        status = run_share(c, p, r, 0, total, deadline, &e);
        r->wall_s = clock_now_s() - start;
        if (status == BENCH_OK && c->mode == MODE_IDLE) {
                sleep_s(c->hold_s);
                r->rss_after_kib = read_rss_kib(c->server_pid);
                r->held = engine_count_held(&e);
        }
        engine_finish(&e);
        return status;
}

/* Forks c->procs client processes, each with its share of the connections and a report pipe;
 * *n says how many started. Returns BENCH_OK or BENCH_LOCAL (after one line). */
static int procs_start(const struct bench_config *c, const struct pattern *p, uint64_t total,
                       double deadline, const int go[2], pid_t *pids, int *reports, unsigned *n) {
        for (unsigned i = 0; i < c->procs; i++) {
                uint64_t share = total / c->procs + (i < total % c->procs);
                uint64_t first = i * (total / c->procs) + (i < total % c->procs ? i : total % c->procs);
                int rep[2];

                if (pipe2(rep, O_CLOEXEC) < 0) {
                        log_error("cannot create a pipe: %s", strerror(errno));
                        return BENCH_LOCAL;
                }
                fflush(NULL);
                pids[*n] = fork();
                if (pids[*n] < 0) {
                        log_error("cannot start a client process: %s", strerror(errno));
                        close(rep[0]);
                        close(rep[1]);
                        return BENCH_LOCAL;
                }
                if (pids[*n] == 0) {
                        struct bench_config cc = *c;

                        close(rep[0]);
                        close(go[1]);
                        /* Only the parent draws the progress line. */
                        cc.progress = i == 0 && c->progress;
                        _exit(child_run(&cc, p, first, share, deadline, rep[1], go[0]));
                }
                close(rep[1]);
                reports[(*n)++] = rep[0];
        }
        return BENCH_OK;
}

/* The connections split over c->procs client processes. */
static int many_in_procs(const struct bench_config *c, const struct pattern *p, struct bench_result *r,
                         uint64_t total, double start, double deadline) {
        pid_t pids[64];
        int reports[64], go[2], status;
        unsigned n = 0;

        if (pipe2(go, O_CLOEXEC) < 0) {
                log_error("cannot create a pipe: %s", strerror(errno));
                return BENCH_LOCAL;
        }
        status = procs_start(c, p, total, deadline, go, pids, reports, &n);
        close(go[0]);
        for (unsigned i = 0; i < n; i++) {
                struct bench_result part;
                if (read_full(reports[i], &part, sizeof part) == 0)
                        merge(r, &part);
                else
                        status = BENCH_LOCAL;
        }
        r->wall_s = clock_now_s() - start;
        if (c->mode == MODE_IDLE) {
                sleep_s(c->hold_s);
                r->rss_after_kib = read_rss_kib(c->server_pid);
        }
        close(go[1]);
        for (unsigned i = 0; i < n; i++) {
                struct bench_result part;
                if (c->mode == MODE_IDLE && read_full(reports[i], &part, sizeof part) == 0)
                        r->held += part.held;
                close(reports[i]);
        }
        for (unsigned i = 0; i < n; i++) {
                int ws;
                while (waitpid(pids[i], &ws, 0) < 0 && errno == EINTR)
                        ;
                if (!WIFEXITED(ws) || (WEXITSTATUS(ws) != BENCH_OK && WEXITSTATUS(ws) != BENCH_FAILED))
                        status = BENCH_LOCAL;
        }
        if (status == BENCH_LOCAL)
                log_error("a client process failed");
        return status;
}

int bench_many(const struct bench_config *c, const struct pattern *p, struct bench_result *r) {
        uint64_t total = c->mode == MODE_CONNRATE ? c->count : c->connections;
        double start, deadline, last = 0;
        int status;

        r->rss_before_kib = read_rss_kib(c->server_pid);
        start = clock_now_s();
        deadline = start + c->timeout_s;
        if (c->procs == 1)
                status = many_here(c, p, r, total, start, deadline);
        else
                status = many_in_procs(c, p, r, total, start, deadline);
        bench_progress(c, &last, true, "%s: %llu ok, %llu failed", bench_mode_name(c->mode),
                       (unsigned long long) r->ok, (unsigned long long) r->failed);
        return status;
}
