/* log-queue.c - echod's log writer thread, the sink (shared/log.h) that keeps the event loops
 * from ever writing: once log_start() has run, a line is copied into a bounded queue and one
 * writer thread does the blocking write(2) or syslog(3). A writer thread rather than
 * O_NONBLOCK: fds 1 and 2 are file descriptions shared with whoever started echod (a terminal,
 * the journal's stream, a shell's pipe), and flipping O_NONBLOCK on them would change them for
 * every other process; send(MSG_DONTWAIT) works only when they are sockets, and syslog(3) has
 * no non-blocking form at all. */
#include "log-queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* Bytes of lines waiting for the writer: about a thousand lines. */
#define LOG_QUEUE_BYTES (256u << 10)

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

/* The sink: while the writer runs, or after log_finish() abandoned it, every line is queued. */
static bool queue_sink(enum log_dest dest, int prio, const char *line, size_t n) {
        bool taken;

        pthread_mutex_lock(&queue.lock);
        taken = queue.running || queue.abandoned;
        if (taken)
                queue_push(dest, prio, line, n);
        pthread_mutex_unlock(&queue.lock);
        return taken;
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

                log_write((enum log_dest) r.dest, r.prio, line, r.len);

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
        log_set_sink(queue_sink);
        r = -pthread_create(&queue.thread, NULL, log_writer, NULL);
        if (r < 0) {
                log_set_sink(NULL);
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

