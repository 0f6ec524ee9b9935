/* test-log - the shared logger (src/shared/log.c) as a program sees it: fds 1 and 2 are one pipe,
 * read back after each call, so that the prefix, the defusing, one line per call, stdio's order
 * and the journal's <N> are checked on the bytes that were written. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static int failures;
static int out = -1;            /* the test's own stdout, for its verdicts */
static int pipe_rd = -1;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        dprintf(out, "FAIL: ");
        vdprintf(out, fmt, ap);
        dprintf(out, "\n");
        va_end(ap);
        failures++;
}

/* What the logger wrote since the last call, NUL-terminated. */
static const char *written(void) {
        static char buf[8192];
        size_t len = 0;
        ssize_t n;

        while (len < sizeof buf - 1 && (n = read(pipe_rd, buf + len, sizeof buf - 1 - len)) > 0)
                len += (size_t) n;
        buf[len] = '\0';
        return buf;
}

static void expect(const char *what, const char *want) {
        const char *got = written();

        if (strcmp(got, want) != 0)
                fail("%s: wrote '%s', want '%s'", what, got, want);
}

static struct {
        enum log_dest dest;
        int prio;
        char line[LOG_LINE_MAX];
        int calls;
} sunk;

static bool sink_take(enum log_dest dest, int prio, const char *line, size_t n) {
        sunk.dest = dest;
        sunk.prio = prio;
        snprintf(sunk.line, sizeof sunk.line, "%.*s", (int) n, line);
        sunk.calls++;
        return true;
}

int main(void) {
        char journal[64], reason[LOG_REASON_MAX], *big;
        int fds[2], r;
        struct stat st;
        const char *got;

        out = dup(STDOUT_FILENO);
        if (out < 0 || pipe2(fds, O_NONBLOCK) < 0 || dup2(fds[1], STDOUT_FILENO) < 0 ||
            dup2(fds[1], STDERR_FILENO) < 0) {
                perror("test-log: set-up");
                return 1;
        }
        pipe_rd = fds[0];
        unsetenv("JOURNAL_STREAM");

        /* Errors on stderr as "PROGRAM: ", after what stdio still holds for stdout. */
        log_setup("test-log", LOG_TARGET_PLAIN, 0);
        printf("from stdio\n");
        log_error("a\nb \x1b[31m%d", 1);
        expect("log_error after printf", "from stdio\ntest-log: a\\x0ab \\x1b[31m1\n");
        log_info("to stdout");
        log_notice("notice");
        expect("log_info", "to stdout\nnotice\n");

        /* log_errno: the lower-case reason, r returned, errno kept. */
        errno = EBADF;
        r = log_errno(-ENOENT, "cannot open %s", "x");
        if (r != -ENOENT || errno != EBADF)
                fail("log_errno returned %d with errno %d, want %d and %d", r, errno, -ENOENT, EBADF);
        expect("log_errno", "test-log: cannot open x: no such file or directory\n");
        if (strcmp(log_reason(ECONNREFUSED, reason, sizeof reason), "connection refused") != 0 ||
            strcmp(log_reason(-EISDIR, reason, sizeof reason), "is a directory") != 0)
                fail("log_reason gave '%s'", reason);

        /* A message of any length is one line, cut to LOG_LINE_MAX. */
        big = malloc(5000);
        if (!big)
                return 1;
        memset(big, 'y', 4999);
        big[4999] = '\0';
        log_warning("%s", big);
        free(big);
        got = written();
        if (strncmp(got, "test-log: yyy", 13) != 0 || strchr(got, '\n') != got + strlen(got) - 1 ||
            strlen(got) >= LOG_LINE_MAX)
                fail("a long line: %zu bytes, want one line shorter than %d", strlen(got), LOG_LINE_MAX);

        /* Held: informational lines wait for log_release(), warnings do not. */
        log_hold();
        log_info("held");
        log_warning("at once");
        expect("log_hold", "test-log: at once\n");
        log_release(true);
        expect("log_release(true)", "held\n");
        log_hold();
        log_info("dropped");
        log_release(false);
        expect("log_release(false)", "");

        /* A sink takes the formatted line instead. */
        log_set_sink(sink_take);
        log_error("sunk");
        log_set_sink(NULL);
        expect("with a sink", "");
        if (sunk.calls != 1 || sunk.dest != LOG_DEST_STDERR || sunk.prio != LOG_ERR ||
            strcmp(sunk.line, "test-log: sunk\n") != 0)
                fail("the sink got %d calls, dest %d, prio %d, '%s'", sunk.calls, (int) sunk.dest,
                     sunk.prio, sunk.line);

        /* The journal: <N> instead of the name, for LOG_TARGET_CONSOLE only. */
        if (fstat(fds[1], &st) < 0)
                return 1;
        snprintf(journal, sizeof journal, "%llu:%llu", (unsigned long long) st.st_dev,
                 (unsigned long long) st.st_ino);
        setenv("JOURNAL_STREAM", journal, 1);
        log_setup("test-log", LOG_TARGET_CONSOLE, 0);
        log_error("e");
        log_info("i");
        expect("the journal", "<3>e\n<6>i\n");
        log_setup("test-log", LOG_TARGET_PLAIN, 0);
        log_error("e");
        expect("plain, on the journal", "test-log: e\n");

        log_setup("test-log", LOG_TARGET_NONE, 0);
        log_error("nothing");
        expect("LOG_TARGET_NONE", "");

        if (failures)
                dprintf(out, "%d failures\n", failures);
        else
                dprintf(out, "ok\n");
        return failures ? 1 : 0;
}
