/* log.c - one line per call, written with a single write(2) so that lines from worker threads
 * never interleave. The logger's settings are the one piece of process-wide state besides the
 * signal handling: every module logs, and threading a logger through each call would add a
 * parameter to every function for no gain in clarity.
 *
 * Once log_start() has run, the event loops never write: a line is copied into a bounded queue
 * and one writer thread does the blocking write(2) or syslog(3). A writer thread rather than
 * O_NONBLOCK: fds 1 and 2 are file descriptions shared with whoever started echod (a terminal,
 * the journal's stream, a shell's pipe), and flipping O_NONBLOCK on them would change them for
 * every other process; send(MSG_DONTWAIT) works only when they are sockets, and syslog(3) has
 * no non-blocking form at all. */
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "line.h"

/* Bytes of lines waiting for the writer: about a thousand lines. */
#define LOG_QUEUE_BYTES (256u << 10)
#define LOG_LINE_MAX 2304

enum log_dest { DEST_STDOUT, DEST_STDERR, DEST_SYSLOG };

struct record {
        uint32_t len;
        uint8_t dest;
        uint8_t prio;
};

/* The queue between the loops and the writer thread (log_start). */
static struct {
        pthread_mutex_t lock;
        pthread_cond_t wake;            /* the writer: a record or stop */
        pthread_cond_t idle;            /* log_finish(): queue empty */
        pthread_t thread;
        bool running;                   /* lines go through the queue */
        bool stop;
        bool abandoned;                 /* log_finish() gave up on a stuck reader: drop lines */
        bool busy;                      /* the writer holds a record it has not written yet */
        uint8_t *ring;
        size_t head, len;
        uint64_t dropped;               /* lines lost since the last "lost" line */
} queue = { .lock = PTHREAD_MUTEX_INITIALIZER };

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

static void ring_copy(uint8_t *ring, size_t at, const void *src, size_t n, bool in) {
        size_t first = LOG_QUEUE_BYTES - at < n ? LOG_QUEUE_BYTES - at : n;

        if (in) {
                memcpy(ring + at, src, first);
                memcpy(ring, (const uint8_t *) src + first, n - first);
        } else {
                memcpy((uint8_t *) src, ring + at, first);
                memcpy((uint8_t *) src + first, ring, n - first);
        }
}

static void dest_write(enum log_dest dest, int prio, const char *line, size_t n) {
        if (dest == DEST_SYSLOG)
                syslog(prio, "%.*s", (int) n, line);
        else
                write_all(dest == DEST_STDERR ? STDERR_FILENO : STDOUT_FILENO, line, n);
}

/* Queues one line for the writer, or counts it lost when the queue is full. Called locked. */
static void queue_push(enum log_dest dest, int prio, const char *line, size_t n) {
        struct record r = { .len = (uint32_t) n, .dest = (uint8_t) dest, .prio = (uint8_t) prio };

        if (queue.abandoned || queue.len + sizeof r + n > LOG_QUEUE_BYTES) {
                queue.dropped++;
                return;
        }
        ring_copy(queue.ring, (queue.head + queue.len) % LOG_QUEUE_BYTES, &r, sizeof r, true);
        ring_copy(queue.ring, (queue.head + queue.len + sizeof r) % LOG_QUEUE_BYTES, line, n, true);
        queue.len += sizeof r + n;
        pthread_cond_signal(&queue.wake);
}

static void *log_writer(void *unused) {
        char line[LOG_LINE_MAX + 128];

        (void) unused;
        pthread_mutex_lock(&queue.lock);
        for (;;) {
                struct record r;
                uint64_t lost = 0;

                while (queue.len == 0 && !queue.stop)
                        pthread_cond_wait(&queue.wake, &queue.lock);
                if (queue.len == 0)
                        break;
                ring_copy(queue.ring, queue.head, &r, sizeof r, false);
                ring_copy(queue.ring, (queue.head + sizeof r) % LOG_QUEUE_BYTES, line, r.len, false);
                queue.head = (queue.head + sizeof r + r.len) % LOG_QUEUE_BYTES;
                queue.len -= sizeof r + r.len;
                queue.busy = true;
                pthread_mutex_unlock(&queue.lock);

                dest_write(r.dest, r.prio, line, r.len);

                pthread_mutex_lock(&queue.lock);
                /* Caught up after a loss: say how much was lost, once. */
                if (queue.len == 0 && queue.dropped > 0) {
                        lost = queue.dropped;
                        queue.dropped = 0;
                }
                if (lost > 0) {
                        pthread_mutex_unlock(&queue.lock);
                        log_warning("%llu log lines were lost: the log reader was too slow",
                                    (unsigned long long) lost);
                        pthread_mutex_lock(&queue.lock);
                }
                queue.busy = false;
                if (queue.len == 0)
                        pthread_cond_broadcast(&queue.idle);
        }
        pthread_mutex_unlock(&queue.lock);
        return NULL;
}

int log_start(void) {
        pthread_condattr_t attr;
        int r;

        queue.ring = malloc(LOG_QUEUE_BYTES);
        if (!queue.ring)
                return -ENOMEM;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&queue.wake, NULL);
        pthread_cond_init(&queue.idle, &attr);
        pthread_condattr_destroy(&attr);
        r = -pthread_create(&queue.thread, NULL, log_writer, NULL);
        if (r < 0) {
                free(queue.ring);
                queue.ring = NULL;
                return r;
        }
        pthread_mutex_lock(&queue.lock);
        queue.running = true;
        pthread_mutex_unlock(&queue.lock);
        return 0;
}

void log_finish(unsigned timeout_ms) {
        struct timespec deadline;
        bool drained;

        pthread_mutex_lock(&queue.lock);
        if (!queue.running) {
                pthread_mutex_unlock(&queue.lock);
                return;
        }
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000;
        if (deadline.tv_nsec >= 1000000000) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000;
        }
        while ((queue.len > 0 || queue.busy) &&
               pthread_cond_timedwait(&queue.idle, &queue.lock, &deadline) == 0)
                ;
        drained = queue.len == 0 && !queue.busy;
        if (!drained) {
                /* The reader is stuck: exit without it; the writer dies with the process. */
                queue.abandoned = true;
                pthread_mutex_unlock(&queue.lock);
                return;
        }
        queue.stop = true;
        queue.running = false;
        pthread_cond_signal(&queue.wake);
        pthread_mutex_unlock(&queue.lock);
        pthread_join(queue.thread, NULL);
        free(queue.ring);
        queue.ring = NULL;
}

static void log_emit(int prio, const char *msg) {
        bool to_err = prio <= LOG_WARNING;
        bool journal = to_err ? logger.journal_err : logger.journal_out;
        enum log_dest dest = logger.target == LOG_TARGET_SYSLOG ? DEST_SYSLOG : to_err ? DEST_STDERR : DEST_STDOUT;
        char line[LOG_LINE_MAX];
        int n;

        if (logger.target == LOG_TARGET_NONE)
                return;
        if (dest == DEST_SYSLOG)
                n = snprintf(line, sizeof line, "%s", msg);
        else if (journal)
                n = snprintf(line, sizeof line, "<%d>%s\n", prio, msg);
        else if (to_err)
                n = snprintf(line, sizeof line, "echod: %s\n", msg);
        else
                n = snprintf(line, sizeof line, "%s\n", msg);
        if (n < 0)
                return;
        if ((size_t) n >= sizeof line) {
                n = sizeof line - 1;
                if (dest != DEST_SYSLOG)
                        line[n - 1] = '\n';
        }
        pthread_mutex_lock(&queue.lock);
        if (queue.running || queue.abandoned) {
                queue_push(dest, prio, line, (size_t) n);
                pthread_mutex_unlock(&queue.lock);
                return;
        }
        pthread_mutex_unlock(&queue.lock);
        if (held.on && dest == DEST_STDOUT && hold_line(line, (size_t) n))
                return;
        dest_write(dest, prio, line, (size_t) n);
}

void log_full(int prio, const char *fmt, ...) {
        int saved = errno;
        char raw[2048], msg[2048];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        line_defuse(msg, sizeof msg, raw);
        log_emit(prio, msg);
        errno = saved;
}

int log_errno(int r, const char *fmt, ...) {
        int saved = errno;
        char raw[2048], msg[2048], reason[128];
        va_list ap;
        size_t n;

        va_start(ap, fmt);
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        /* "address already in use" reads better mid-line than "Address already in use". */
        snprintf(reason, sizeof reason, "%s", strerror(r < 0 ? -r : r));
        reason[0] = (char) tolower((unsigned char) reason[0]);
        n = strlen(raw);
        snprintf(raw + n, sizeof raw - n, ": %s", reason);
        line_defuse(msg, sizeof msg, raw);
        log_emit(LOG_ERR, msg);
        errno = saved;
        return r;
}

/* Starts a new interval if the current one is over; returns what the old ones suppressed. */
static uint64_t ratelimit_roll(struct ratelimit *rl, uint64_t now_ms) {
        uint_fast64_t start = atomic_load(&rl->window_ms);

        if (start != 0 && now_ms - start < RATELIMIT_INTERVAL_MS)
                return 0;
        if (!atomic_compare_exchange_strong(&rl->window_ms, &start, now_ms ? now_ms : 1))
                return 0;
        atomic_store(&rl->burst, 0);
        return atomic_exchange(&rl->suppressed, 0);
}

bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ms, uint64_t *summary) {
        *summary = ratelimit_roll(rl, now_ms);
        if (atomic_fetch_add(&rl->burst, 1) < RATELIMIT_BURST)
                return true;
        atomic_fetch_add(&rl->suppressed, 1);
        return false;
}

uint64_t ratelimit_flush(struct ratelimit *rl, uint64_t now_ms) {
        if (atomic_load_explicit(&rl->suppressed, memory_order_relaxed) == 0)
                return 0;
        return ratelimit_roll(rl, now_ms);
}

void log_suppressed(uint64_t n, const char *what) {
        log_warning("%llu more %s in the last %u s were not logged", (unsigned long long) n, what,
                    RATELIMIT_INTERVAL_MS / 1000);
}
