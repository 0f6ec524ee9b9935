/* test-loop - the event loop on pipes: loop_watch() adds, modifies, re-adds an exclusive watch
 * and removes, the loop dispatches what is ready to the watch's owner, and the tick runs. A
 * guard tick ends every loop_run() after GUARD_TICKS ticks, so that no case can hang. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "clock.h"
#include "loop.h"

#define TICK_MS 10
#define GUARD_TICKS 200         /* 2 s: far more than any case needs */

static int failures;

#define CHECK(cond)                                                                         \
        do {                                                                                \
                if (!(cond)) {                                                              \
                        printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);              \
                        failures++;                                                         \
                }                                                                           \
        } while (0)

/* What owns a watch, as a listener or a connection does: the watch is not its first member. */
struct owner {
        struct loop *loop;
        int calls;
        uint32_t last_events;
        struct watch watch;
};

struct ticker {
        struct loop *loop;
        int ticks;
        int quit_after;
};

static void owner_dispatch(struct watch *w, uint32_t events) {
        struct owner *o = container_of(w, struct owner, watch);

        o->calls++;
        o->last_events = events;
        loop_quit(o->loop);
}

static void ticker_tick(void *userdata) {
        struct ticker *t = userdata;

        if (++t->ticks >= t->quit_after)
                loop_quit(t->loop);
}

/* Runs l until a watch function or the tick quits it. */
static void run(struct loop *l, struct ticker *t, int quit_after) {
        t->ticks = 0;
        t->quit_after = quit_after;
        l->quit = false;
        CHECK(loop_run(l) == 0);
}

/* True when epoll holds fd: a second EPOLL_CTL_ADD is refused with EEXIST. */
static bool epoll_holds(const struct loop *l, int fd) {
        struct epoll_event ev = { .events = EPOLLIN };

        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == 0) {
                epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
                return false;
        }
        return errno == EEXIST;
}

static void test_watch(void) {
        struct loop l;
        struct ticker t = { .loop = &l };
        struct owner rd = { .loop = &l }, wr = { .loop = &l };
        struct epoll_event ev = { .events = EPOLLIN };
        int p[2];

        CHECK(loop_init(&l) == 0);
        CHECK(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
        loop_set_tick(&l, TICK_MS, ticker_tick, &t);
        watch_init(&rd.watch, p[0], owner_dispatch);
        watch_init(&wr.watch, p[1], owner_dispatch);

        /* Add: nothing to read yet, so only the guard tick ends the run. */
        CHECK(loop_watch(&l, &rd.watch, EPOLLIN) == 0);
        CHECK(rd.watch.events == EPOLLIN);
        CHECK(epoll_holds(&l, p[0]));
        run(&l, &t, 3);
        CHECK(rd.calls == 0);
        CHECK(t.ticks == 3);

        /* A byte to read: dispatched to its owner with EPOLLIN. */
        CHECK(write(p[1], "x", 1) == 1);
        run(&l, &t, GUARD_TICKS);
        CHECK(rd.calls == 1);
        CHECK(rd.last_events == EPOLLIN);

        /* The same set again: nothing changes. */
        CHECK(loop_watch(&l, &rd.watch, EPOLLIN) == 0);
        CHECK(rd.watch.events == EPOLLIN);

        /* Modify: the write end watched for EPOLLIN never fires; for EPOLLOUT it does. */
        CHECK(loop_watch(&l, &wr.watch, EPOLLIN) == 0);
        CHECK(loop_watch(&l, &rd.watch, 0) == 0);
        run(&l, &t, 3);
        CHECK(wr.calls == 0);
        CHECK(loop_watch(&l, &wr.watch, EPOLLOUT) == 0);
        CHECK(wr.watch.events == EPOLLOUT);
        run(&l, &t, GUARD_TICKS);
        CHECK(wr.calls == 1);
        CHECK(wr.last_events == EPOLLOUT);
        CHECK(loop_watch(&l, &wr.watch, 0) == 0);

        /* Exclusive: epoll refuses EPOLL_CTL_MOD on it, so loop_watch() must re-add. */
        CHECK(loop_watch(&l, &rd.watch, EPOLLIN | EPOLLEXCLUSIVE) == 0);
        CHECK(rd.watch.events == (EPOLLIN | EPOLLEXCLUSIVE));
        CHECK(epoll_ctl(l.epfd, EPOLL_CTL_MOD, p[0], &ev) < 0 && errno == EINVAL);
        CHECK(loop_watch(&l, &rd.watch, EPOLLIN) == 0);
        CHECK(rd.watch.events == EPOLLIN);
        CHECK(loop_watch(&l, &rd.watch, EPOLLIN | EPOLLEXCLUSIVE) == 0);
        CHECK(rd.watch.events == (EPOLLIN | EPOLLEXCLUSIVE));
        run(&l, &t, GUARD_TICKS);
        CHECK(rd.calls == 2);
        CHECK(rd.last_events == EPOLLIN);

        /* Remove: the byte is still there, yet nothing is dispatched and epoll forgot the fd. */
        CHECK(loop_watch(&l, &rd.watch, 0) == 0);
        CHECK(rd.watch.events == 0);
        CHECK(!epoll_holds(&l, p[0]));
        run(&l, &t, 3);
        CHECK(rd.calls == 2);

        /* Removing what is not watched is no call at all. */
        CHECK(loop_watch(&l, &rd.watch, 0) == 0);

        close(p[0]);
        close(p[1]);
        loop_finish(&l);
}

static void test_tick(void) {
        struct loop l;
        struct ticker t = { .loop = &l };
        struct owner rd = { .loop = &l };
        uint64_t start, elapsed;
        int p[2];

        CHECK(loop_init(&l) == 0);
        loop_set_tick(&l, TICK_MS, ticker_tick, &t);
        start = clock_now_ms();
        run(&l, &t, 5);
        elapsed = clock_now_ms() - start;
        CHECK(t.ticks == 5);
        /* Five ticks cannot come sooner than five periods; "later" is a loaded machine. */
        CHECK(elapsed >= 5 * TICK_MS);

        /* Tick off: past the time the next tick was due, a run that a ready fd ends calls no
         * tick. */
        CHECK(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
        watch_init(&rd.watch, p[0], owner_dispatch);
        CHECK(loop_watch(&l, &rd.watch, EPOLLIN) == 0);
        loop_set_tick(&l, 0, ticker_tick, &t);
        usleep(3 * TICK_MS * 1000);
        CHECK(write(p[1], "x", 1) == 1);
        l.quit = false;
        CHECK(loop_run(&l) == 0);
        CHECK(rd.calls == 1);
        CHECK(t.ticks == 5);
        close(p[0]);
        close(p[1]);
        loop_finish(&l);
        loop_finish(&l);        /* accepts a finished loop */
}

int main(void) {
        test_watch();
        test_tick();
        printf("%s\n", failures ? "loop tests FAILED" : "loop tests passed");
        return failures ? 1 : 0;
}
