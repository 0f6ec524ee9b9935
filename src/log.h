/* log.h - the one logger of echod.
 *
 * Informational lines (startup, per-connection, trace) go to stdout, warnings and errors to
 * stderr; when a stream is connected to the journal (JOURNAL_STREAM) each line carries
 * sd-daemon's "<N>" priority prefix. In --inetd mode fds 0-2 are the client's socket, so every
 * line goes to syslog(3) instead. */
#pragma once

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

enum log_target {
        LOG_TARGET_CONSOLE,     /* stdout/stderr, with <N> prefixes where they are the journal */
        LOG_TARGET_SYSLOG,      /* syslog(3): nothing is written to fds 0-2 */
        LOG_TARGET_NONE,
};

/* Chooses where lines go and how verbose they are (0 default, 1 -v, 2 -vv). */
void log_setup(enum log_target target, int verbosity);

/* Start-up: from log_hold() until log_release(), informational lines for stdout are kept in
 * memory (warnings and errors still go out at once); log_release(true) writes them, false
 * drops them. Only before worker threads start. echod prints its "starting up on" lines this
 * way once it is ready to serve, signal handling in place, so that whoever waits for them
 * (a script, the tests) never meets a half-started process; on a start-up error they are
 * never printed, since nothing started. syslog is not held. */
void log_hold(void);
void log_release(bool emit);

/* From here on no caller of the logger ever waits for a reader: lines go to a bounded queue
 * (256 KiB) that one writer thread empties; when it is full a line is dropped and counted, and
 * once the writer has caught up it logs one warning saying how many were lost. Call before
 * worker threads start. Returns 0 or -errno (lines are then written directly, as before). */
int log_start(void);

/* Waits up to timeout_ms for the queue to be written out, then stops the writer; a reader that
 * is still stuck is abandoned (later lines are dropped). A no-op without log_start(). */
void log_finish(unsigned timeout_ms);

/* Nonzero when -v (level 1) or -vv (level 2) lines are wanted. */
int log_verbosity(void);

/* Logs one line at syslog priority `prio` (LOG_ERR ... LOG_DEBUG). Preserves errno. */
void log_full(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logs "fmt: strerror(-r)" at LOG_ERR and returns r (a negative errno), so that a caller can
 * write `return log_errno(r, "bind %s", addr);`. */
int log_errno(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...)   log_full(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, __VA_ARGS__)
#define log_debug(...)   log_full(LOG_DEBUG, __VA_ARGS__)

/* A budget for lines a remote peer can trigger (a burst per interval, shared by every thread):
 * beyond it lines are counted instead of logged. Zero-initialised state is valid. */
struct ratelimit {
        atomic_uint_fast64_t window_ms;         /* start of the current interval */
        atomic_uint burst;                      /* lines allowed in it so far */
        atomic_uint_fast64_t suppressed;        /* lines counted instead, not yet summarised */
};

#define RATELIMIT_BURST 10
#define RATELIMIT_INTERVAL_MS 10000

/* True when one more line may be logged at now_ms. When a new interval starts, *summary is set
 * to the number suppressed in the ones before (else 0): log it first. */
bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ms, uint64_t *summary);

/* Returns the lines suppressed in intervals that are over by now_ms (0 if none), so that a
 * periodic tick can summarise them although no new line comes. */
uint64_t ratelimit_flush(struct ratelimit *rl, uint64_t now_ms);

/* Logs that n lines about `what` were suppressed by a struct ratelimit in the last interval. */
void log_suppressed(uint64_t n, const char *what);
