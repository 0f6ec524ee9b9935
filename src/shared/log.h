/* log.h - the one logger of echod, echo-client and echo-bench.
 *
 * Informational lines (startup, per-connection, trace) go to stdout, warnings and errors to
 * stderr as "PROGRAM: message"; when a stream is connected to the journal (JOURNAL_STREAM) each
 * line carries sd-daemon's "<N>" priority prefix instead. In echod's --inetd mode fds 0-2 are
 * the client's socket, so every line goes to syslog(3). Each line is written with one write(2),
 * control characters defused (line.h). How a line may wait for its reader is the program's
 * business: a sink (log_set_sink) takes the lines, as echod's writer thread does. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

enum log_target {
        LOG_TARGET_CONSOLE,     /* stdout/stderr, with <N> prefixes where they are the journal */
        LOG_TARGET_PLAIN,       /* stdout/stderr, never prefixed: a command-line tool's lines */
        LOG_TARGET_SYSLOG,      /* syslog(3): nothing is written to fds 0-2 */
        LOG_TARGET_NONE,
};

/* Where one formatted line is written. */
enum log_dest { LOG_DEST_STDOUT, LOG_DEST_STDERR, LOG_DEST_SYSLOG };

/* The longest line written, its newline or "<N>" and the program's name included. */
#define LOG_LINE_MAX 2304

/* Room for log_reason()'s text. */
#define LOG_REASON_MAX 128

/* Chooses who speaks (the "PROGRAM: " of stderr lines, syslog's ident: a string that outlives
 * the logger), where lines go and how verbose they are (0 default, 1 -v, 2 -vv). Before it,
 * lines go to the console under the name the program was started as. */
void log_setup(const char *program, enum log_target target, int verbosity);

/* Nonzero when -v (level 1) or -vv (level 2) lines are wanted. */
int log_verbosity(void);

/* Start-up: from log_hold() until log_release(), informational lines for stdout are kept in
 * memory (warnings and errors still go out at once); log_release(true) writes them, false
 * drops them. Only before other threads log. echod prints its "starting up on" lines this
 * way once it is ready to serve, signal handling in place, so that whoever waits for them
 * (a script, the tests) never meets a half-started process; on a start-up error they are
 * never printed, since nothing started. syslog is not held. */
void log_hold(void);
void log_release(bool emit);

/* Logs one line at syslog priority `prio` (LOG_ERR ... LOG_DEBUG). Preserves errno. */
void log_full(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logs "fmt: <log_reason(r)>" at LOG_ERR and returns r (a negative errno; a positive one reads
 * the same), so that a caller can write `return log_errno(r, "bind %s", addr);`. */
int log_errno(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...)   log_full(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, __VA_ARGS__)
#define log_debug(...)   log_full(LOG_DEBUG, __VA_ARGS__)

/* strerror(err) (err or -err) with a lower-case first letter, for the middle of a sentence
 * ("address already in use"), written into buf[size] (LOG_REASON_MAX is enough). Returns buf. */
const char *log_reason(int err, char *buf, size_t size);

/* Takes each formatted line (n bytes, newline included except for syslog) before it is
 * written; returns true when it took the line (queued it, or dropped it), false to have it
 * written now. Set one, or NULL, before other threads log; it may log itself (into itself). */
typedef bool (*log_sink_fn)(enum log_dest dest, int prio, const char *line, size_t n);
void log_set_sink(log_sink_fn sink);

/* Writes one formatted line to dest now, blocking until it is out (stdio's stdout flushed
 * first, so that a program's printf lines and its log lines keep their order): what a sink
 * calls to deliver the lines it took. */
void log_write(enum log_dest dest, int prio, const char *line, size_t n);
