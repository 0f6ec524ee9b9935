/* loop.c - see loop.h. */
#include "loop.h"

#include <errno.h>
#include <unistd.h>

#include "clock.h"

#define LOOP_BATCH 256

int loop_init(struct loop *l) {
        *l = (struct loop) { .epfd = -1 };
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (l->epfd < 0)
                return -errno;
        l->now_ms = clock_now_ms();
        return 0;
}

void loop_finish(struct loop *l) {
        if (l->epfd >= 0)
                close(l->epfd);
        l->epfd = -1;
}

void watch_init(struct watch *w, int fd, watch_fn fn) {
        *w = (struct watch) { .fd = fd, .fn = fn };
}

int loop_watch(struct loop *l, struct watch *w, uint32_t events) {
        struct epoll_event ev = { .events = events, .data.ptr = w };
        int op;

        if (events == w->events)
                return 0;
        if (events == 0)
                op = EPOLL_CTL_DEL;
        else if (w->events == 0)
                op = EPOLL_CTL_ADD;
        else if ((events | w->events) & EPOLLEXCLUSIVE) {
                /* epoll refuses EPOLL_CTL_MOD on exclusive watches: re-add instead. */
                if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL) < 0)
                        return -errno;
                w->events = 0;
                op = EPOLL_CTL_ADD;
        } else
                op = EPOLL_CTL_MOD;
        if (epoll_ctl(l->epfd, op, w->fd, &ev) < 0)
                return -errno;
        w->events = events;
        return 0;
}

void loop_set_tick(struct loop *l, int tick_ms, void (*tick)(void *), void *userdata) {
        l->tick_ms = tick_ms;
        l->tick = tick;
        l->tick_userdata = userdata;
        l->next_tick_ms = clock_now_ms() + (uint64_t) tick_ms;
}

void loop_quit(struct loop *l) {
        l->quit = true;
}

static int loop_timeout(const struct loop *l) {
        if (l->tick_ms <= 0)
                return -1;
        return l->next_tick_ms > l->now_ms ? (int) (l->next_tick_ms - l->now_ms) : 0;
}

int loop_run(struct loop *l) {
        struct epoll_event ev[LOOP_BATCH];

        while (!l->quit) {
                int n = epoll_wait(l->epfd, ev, LOOP_BATCH, loop_timeout(l));
                if (n < 0 && errno != EINTR)
                        return -errno;
                l->now_ms = clock_now_ms();
                for (int i = 0; i < n; i++) {
                        struct watch *w = ev[i].data.ptr;
                        w->fn(w, ev[i].events);
                }
                if (l->tick_ms > 0 && l->now_ms >= l->next_tick_ms) {
                        l->next_tick_ms = l->now_ms + (uint64_t) l->tick_ms;
                        l->tick(l->tick_userdata);
                }
        }
        return 0;
}
