/* loop.h - the event loop: epoll over file descriptors plus one periodic tick.
 *
 * A watch is embedded in whatever owns the fd (a listener, a connection); the loop calls its
 * function with the ready events. The loop knows nothing about echoing. A watch function may
 * free its own watch, but no other: work that touches many objects (timeouts) belongs in the
 * tick, which runs between batches of events. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

/* The struct of type `type` whose member `member` ptr points to: how a watch function finds
 * the object its watch is embedded in. */
#define container_of(ptr, type, member) ((type *) (void *) ((char *) (ptr) - offsetof(type, member)))

struct watch;
typedef void (*watch_fn)(struct watch *w, uint32_t events);

struct watch {
        int fd;
        uint32_t events;        /* what epoll watches now; 0 = not registered */
        watch_fn fn;
};

struct loop {
        int epfd;
        bool quit;
        int tick_ms;
        void (*tick)(void *userdata);
        void *tick_userdata;
        uint64_t now_ms;        /* clock_now_ms(), refreshed after every wait */
        /* A timerfd for the tick, so that epoll_wait() sleeps without a timeout: no timer armed
         * and cancelled in the kernel for every wait of a busy loop. */
        struct watch tick_watch;
        bool tick_due;
};

/* Creates the epoll instance and the tick's timerfd. Returns 0 or -errno. */
int loop_init(struct loop *l);

/* Closes the epoll instance; accepts a zeroed or half-built loop. */
void loop_finish(struct loop *l);

/* Prepares w for fd and fn; registers nothing yet. */
void watch_init(struct watch *w, int fd, watch_fn fn);

/* Makes epoll watch `events` on w (EPOLLIN, EPOLLOUT, optionally EPOLLEXCLUSIVE); 0 removes it.
 * Calls epoll_ctl only when the set changes. Returns 0 or -errno. */
int loop_watch(struct loop *l, struct watch *w, uint32_t events);

/* Calls tick(userdata) about every tick_ms milliseconds from loop_run(), between batches of
 * events; tick_ms 0 turns it off. Returns 0 or -errno. */
int loop_set_tick(struct loop *l, int tick_ms, void (*tick)(void *), void *userdata);

/* Dispatches events until loop_quit(). Returns 0, or -errno if epoll_wait fails. */
int loop_run(struct loop *l);

/* Makes loop_run() return after the current batch. */
void loop_quit(struct loop *l);
