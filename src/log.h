/* log.h - the one logger of echod.
 *
 * Informational lines (startup, per-connection, trace) go to stdout, warnings and errors to
 * stderr; when a stream is connected to the journal (JOURNAL_STREAM) each line carries
 * sd-daemon's "<N>" priority prefix. In --inetd mode fds 0-2 are the client's socket, so every
 * line goes to syslog(3) instead. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
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
