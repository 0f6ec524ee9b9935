/* log.c - one line per call, written with a single write(2) so that lines from worker threads
 * never interleave. The logger's settings are the one piece of process-wide state besides the
 * signal handling: every module logs, and threading a logger through each call would add a
 * parameter to every function for no gain in clarity. */
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "line.h"

static struct {
        enum log_target target;
        int verbosity;
        bool journal_out;       /* stdout is the journal: prefix lines with <N> */
        bool journal_err;
} logger = { LOG_TARGET_CONSOLE, 0, false, false };

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

void log_setup(enum log_target target, int verbosity) {
        logger.target = target;
        logger.verbosity = verbosity;
        logger.journal_out = fd_is_journal(STDOUT_FILENO);
        logger.journal_err = fd_is_journal(STDERR_FILENO);
        if (target == LOG_TARGET_SYSLOG)
                openlog("echod", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int log_verbosity(void) {
        return logger.verbosity;
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
                write_all(STDOUT_FILENO, held.buf, held.len);
        free(held.buf);
        held.buf = NULL;
        held.len = held.cap = 0;
        held.on = false;
}

static void log_emit(int prio, const char *msg) {
        bool to_err = prio <= LOG_WARNING;
        int fd = to_err ? STDERR_FILENO : STDOUT_FILENO;
        bool journal = to_err ? logger.journal_err : logger.journal_out;
        char line[2304];
        int n;

        if (logger.target == LOG_TARGET_NONE)
                return;
        if (logger.target == LOG_TARGET_SYSLOG) {
                syslog(prio, "%s", msg);
                return;
        }
        if (journal)
                n = snprintf(line, sizeof line, "<%d>%s\n", prio, msg);
        else if (to_err)
                n = snprintf(line, sizeof line, "echod: %s\n", msg);
        else
                n = snprintf(line, sizeof line, "%s\n", msg);
        if (n < 0)
                return;
        if ((size_t) n >= sizeof line) {
                n = sizeof line - 1;
                line[n - 1] = '\n';
        }
        if (held.on && !to_err && hold_line(line, (size_t) n))
                return;
        write_all(fd, line, (size_t) n);
}

void log_full(int prio, const char *fmt, ...) {
        int saved = errno;
        char msg[2048];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        line_defuse(msg);
        log_emit(prio, msg);
        errno = saved;
}

int log_errno(int r, const char *fmt, ...) {
        int saved = errno;
        char msg[2048], reason[128];
        va_list ap;
        size_t n;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        /* "address already in use" reads better mid-line than "Address already in use". */
        snprintf(reason, sizeof reason, "%s", strerror(r < 0 ? -r : r));
        reason[0] = (char) tolower((unsigned char) reason[0]);
        n = strlen(msg);
        snprintf(msg + n, sizeof msg - n, ": %s", reason);
        line_defuse(msg);
        log_emit(LOG_ERR, msg);
        errno = saved;
        return r;
}
