/* log.c - one line per call, written with a single write(2) so that lines from threads never
 * interleave. The logger's settings are process-wide state, set once at start-up: every module
 * logs, and threading a logger through each call would add a parameter to every function for
 * no gain in clarity. Threads are not its business: a sink (echod's log-queue.c) takes the
 * lines when they must not wait for their reader. */
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "line.h"

/* A message before its prefix and newline, defused. */
#define LOG_MESSAGE_MAX 2048

static struct {
        const char *program;    /* NULL until log_setup(): the name the program was started as */
        enum log_target target;
        int verbosity;
        bool journal_out;       /* stdout is the journal: prefix lines with <N> */
        bool journal_err;
        log_sink_fn sink;
} logger = { NULL, LOG_TARGET_CONSOLE, 0, false, false, NULL };

/* Informational lines held back during start-up (log_hold), in the form they are written. */
static struct {
        bool on;
        char *buf;
        size_t len, cap;
} held;

static bool fd_is_journal(int fd) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(fd, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_setup(const char *program, enum log_target target, int verbosity) {
        bool journal = target == LOG_TARGET_CONSOLE;

        logger.program = program;
        logger.target = target;
        logger.verbosity = verbosity;
        logger.journal_out = journal && fd_is_journal(STDOUT_FILENO);
        logger.journal_err = journal && fd_is_journal(STDERR_FILENO);
        if (target == LOG_TARGET_SYSLOG)
                openlog(program, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int log_verbosity(void) {
        return logger.verbosity;
}

void log_set_sink(log_sink_fn sink) {
        logger.sink = sink;
}

static void write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t w = write(fd, p, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return;
                p += w;
                n -= (size_t) w;
        }
}

void log_write(enum log_dest dest, int prio, const char *line, size_t n) {
        if (dest == LOG_DEST_SYSLOG) {
                syslog(prio, "%.*s", (int) n, line);
                return;
        }
        fflush(stdout);
        write_all(dest == LOG_DEST_STDERR ? STDERR_FILENO : STDOUT_FILENO, line, n);
}

/* Keeps a formatted line for log_release(); false when it must be written now (out of memory). */
static bool hold_line(const char *line, size_t n) {
        if (held.len + n > held.cap) {
                size_t cap = held.cap ? held.cap * 2 : 1024;
                char *buf;

                while (cap < held.len + n)
                        cap *= 2;
                buf = realloc(held.buf, cap);
                if (!buf)
                        return false;
                held.buf = buf;
                held.cap = cap;
        }
        memcpy(held.buf + held.len, line, n);
        held.len += n;
        return true;
}

void log_hold(void) {
        held.on = true;
}

void log_release(bool emit) {
        if (emit && held.len > 0)
                log_write(LOG_DEST_STDOUT, LOG_INFO, held.buf, held.len);
        free(held.buf);
        held.buf = NULL;
        held.len = held.cap = 0;
        held.on = false;
}

static void log_emit(int prio, const char *msg) {
        bool to_err = prio <= LOG_WARNING;
        bool journal = to_err ? logger.journal_err : logger.journal_out;
        enum log_dest dest = logger.target == LOG_TARGET_SYSLOG ? LOG_DEST_SYSLOG :
                             to_err ? LOG_DEST_STDERR : LOG_DEST_STDOUT;
        char line[LOG_LINE_MAX];
        int n;

        if (logger.target == LOG_TARGET_NONE)
                return;
        if (dest == LOG_DEST_SYSLOG)
                n = snprintf(line, sizeof line, "%s", msg);
        else if (journal)
                n = snprintf(line, sizeof line, "<%d>%s\n", prio, msg);
        else if (to_err)
                n = snprintf(line, sizeof line, "%s: %s\n",
                             logger.program ? logger.program : program_invocation_short_name, msg);
        else
                n = snprintf(line, sizeof line, "%s\n", msg);
        if (n < 0)
                return;
        if ((size_t) n >= sizeof line) {
                n = sizeof line - 1;
                if (dest != LOG_DEST_SYSLOG)
                        line[n - 1] = '\n';
        }
        if (logger.sink && logger.sink(dest, prio, line, (size_t) n))
                return;
        if (held.on && dest == LOG_DEST_STDOUT && hold_line(line, (size_t) n))
                return;
        log_write(dest, prio, line, (size_t) n);
}

void log_full(int prio, const char *fmt, ...) {
        int saved = errno;
        char raw[LOG_MESSAGE_MAX], msg[LOG_MESSAGE_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        line_defuse(msg, sizeof msg, raw);
        log_emit(prio, msg);
        errno = saved;
}

const char *log_reason(int err, char *buf, size_t size) {
        if (size == 0)
                return "";
        snprintf(buf, size, "%s", strerror(err < 0 ? -err : err));
        buf[0] = (char) tolower((unsigned char) buf[0]);
        return buf;
}

int log_errno(int r, const char *fmt, ...) {
        int saved = errno;
        char raw[LOG_MESSAGE_MAX], msg[LOG_MESSAGE_MAX], reason[LOG_REASON_MAX];
        va_list ap;
        size_t n;

        va_start(ap, fmt);
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        n = strlen(raw);
        snprintf(raw + n, sizeof raw - n, ": %s", log_reason(r, reason, sizeof reason));
        line_defuse(msg, sizeof msg, raw);
        log_emit(LOG_ERR, msg);
        errno = saved;
        return r;
}
