/* loop.c - see loop.h. */
#include "loop.h"

#include <errno.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "clock.h"

#define LOOP_BATCH 256

static void loop_tick_dispatch(struct watch *w, uint32_t events) {
        struct loop *l = container_of(w, struct loop, tick_watch);
        uint64_t expirations;

        if (read(w->fd, &expirations, sizeof expirations) > 0)
                l->tick_due = true;
}

int loop_init(struct loop *l) {
        *l = (struct loop) { .epfd = -1, .tick_watch.fd = -1 };
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (l->epfd < 0)
                return -errno;
        watch_init(&l->tick_watch, timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC),
                   loop_tick_dispatch);
        if (l->tick_watch.fd < 0)
                return -errno;
        l->now_ms = clock_now_ms();
        return 0;
}

void loop_finish(struct loop *l) {
        if (l->tick_watch.fd >= 0)
                close(l->tick_watch.fd);
        if (l->epfd >= 0)
                close(l->epfd);
        l->epfd = l->tick_watch.fd = -1;
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

int loop_set_tick(struct loop *l, int tick_ms, void (*tick)(void *), void *userdata) {
        struct timespec period = { tick_ms / 1000, (long) (tick_ms % 1000) * 1000000 };
        struct itimerspec its = { .it_interval = period, .it_value = period };

        l->tick_ms = tick_ms;
        l->tick = tick;
        l->tick_userdata = userdata;
        l->tick_due = false;
        if (timerfd_settime(l->tick_watch.fd, 0, &its, NULL) < 0)
                return -errno;
        return loop_watch(l, &l->tick_watch, tick_ms > 0 ? EPOLLIN : 0);
}

void loop_quit(struct loop *l) {
        l->quit = true;
}

int loop_run(struct loop *l) {
        struct epoll_event ev[LOOP_BATCH];

        while (!l->quit) {
                int n = epoll_wait(l->epfd, ev, LOOP_BATCH, -1);
                if (n < 0 && errno != EINTR)
                        return -errno;
                l->now_ms = clock_now_ms();
                for (int i = 0; i < n; i++) {
                        struct watch *w = ev[i].data.ptr;
                        w->fn(w, ev[i].events);
                }
                if (l->tick_due && l->tick_ms > 0) {
                        l->tick_due = false;
                        l->tick(l->tick_userdata);
                }
        }
        return 0;
}
