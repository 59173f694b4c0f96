/* loop.c — fd handlers, timers and before-sleep hooks over poll(2); see loop.h. */
#include "runtime/loop.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/clock.h"

typedef struct {
    int fd, events;
    loop_fd_fn fn;
    void *ctx;
} watch_t;

typedef struct {
    loop_timer_id id;
    int64_t due_ms;
    loop_timer_fn fn;
    void *ctx;
} timer_t_;

typedef struct {
    loop_hook_fn fn;
    void *ctx;
} hook_t;

struct loop {
    watch_t *watch;
    int n_watch, cap_watch;
    timer_t_ *timers;
    int n_timers, cap_timers;
    hook_t *hooks;
    int n_hooks, cap_hooks;
    struct pollfd *pfd;
    int cap_pfd;
    loop_timer_id next_id;
    int sleep_cap_ms; /* -1 = none set this turn */
};

/* Grows *arr (of n elements of size sz, capacity *cap) to hold one more. */
static int grow(void **arr, int n, int *cap, size_t sz) {
    if (n < *cap) return 0;
    int c = *cap ? *cap * 2 : 8;
    *arr = xrealloc(*arr, (size_t)c * sz);
    *cap = c;
    return 0;
}

loop_t *loop_new(void) {
    loop_t *l = xcalloc(1, sizeof *l);
    l->sleep_cap_ms = -1;
    return l;
}

void loop_free(loop_t *l) {
    if (!l) return;
    free(l->watch);
    free(l->timers);
    free(l->hooks);
    free(l->pfd);
    free(l);
}

int loop_watch(loop_t *l, int fd, int events, loop_fd_fn fn, void *ctx) {
    for (int i = 0; i < l->n_watch; i++)
        if (l->watch[i].fd == fd) {
            l->watch[i] = (watch_t){fd, events, fn, ctx};
            return 0;
        }
    if (grow((void **)&l->watch, l->n_watch, &l->cap_watch, sizeof *l->watch)) return -1;
    l->watch[l->n_watch++] = (watch_t){fd, events, fn, ctx};
    return 0;
}

void loop_unwatch(loop_t *l, int fd) {
    for (int i = 0; i < l->n_watch; i++)
        if (l->watch[i].fd == fd) {
            l->watch[i] = l->watch[--l->n_watch];
            return;
        }
}

loop_timer_id loop_timer_at(loop_t *l, int64_t due_ms, loop_timer_fn fn, void *ctx) {
    if (grow((void **)&l->timers, l->n_timers, &l->cap_timers, sizeof *l->timers)) return 0;
    loop_timer_id id = ++l->next_id;
    l->timers[l->n_timers++] = (timer_t_){id, due_ms, fn, ctx};
    return id;
}

void loop_timer_cancel(loop_t *l, loop_timer_id id) {
    for (int i = 0; id && i < l->n_timers; i++)
        if (l->timers[i].id == id) {
            l->timers[i] = l->timers[--l->n_timers];
            return;
        }
}

int loop_before_sleep(loop_t *l, loop_hook_fn fn, void *ctx) {
    if (grow((void **)&l->hooks, l->n_hooks, &l->cap_hooks, sizeof *l->hooks)) return -1;
    l->hooks[l->n_hooks++] = (hook_t){fn, ctx};
    return 0;
}

void loop_wake(loop_t *l) { l->sleep_cap_ms = 0; }

void loop_sleep_at_most(loop_t *l, int ms) {
    if (ms < 0) ms = 0;
    if (l->sleep_cap_ms < 0 || ms < l->sleep_cap_ms) l->sleep_cap_ms = ms;
}

/* Runs the timers due by now; a timer armed by a timer waits for the next turn. */
static int fire_timers(loop_t *l) {
    int ran = 0;
    int64_t now = mono_ms();
    loop_timer_id last = l->next_id;
    for (int i = 0; i < l->n_timers;) {
        timer_t_ t = l->timers[i];
        if (t.due_ms > now || t.id > last) {
            i++;
            continue;
        }
        l->timers[i] = l->timers[--l->n_timers]; /* removed before it runs: it may re-arm */
        t.fn(t.ctx);
        ran++;
        i = 0; /* the callback may have cancelled or added timers */
    }
    return ran;
}

int loop_run_once(loop_t *l, int max_wait_ms) {
    l->sleep_cap_ms = -1;
    for (int i = 0; i < l->n_hooks; i++) l->hooks[i].fn(l->hooks[i].ctx);
    int64_t wait = max_wait_ms < 0 ? 0 : max_wait_ms;
    if (l->sleep_cap_ms >= 0 && l->sleep_cap_ms < wait) wait = l->sleep_cap_ms;
    int64_t now = mono_ms();
    for (int i = 0; i < l->n_timers; i++) {
        int64_t in = l->timers[i].due_ms - now;
        if (in < wait) wait = in < 0 ? 0 : in;
    }
    if (l->n_watch > l->cap_pfd) {
        l->pfd = xrealloc(l->pfd, (size_t)l->n_watch * sizeof *l->pfd);
        l->cap_pfd = l->n_watch;
    }
    int n = l->n_watch;
    for (int i = 0; i < n; i++)
        l->pfd[i] = (struct pollfd){.fd = l->watch[i].fd,
                                    .events = (short)(((l->watch[i].events & LOOP_READ) ? POLLIN : 0) |
                                                      ((l->watch[i].events & LOOP_WRITE) ? POLLOUT : 0))};
    int ready = poll(l->pfd, (nfds_t)n, (int)wait);
    int ran = 0;
    if (ready < 0 && errno != EINTR) ready = 0;
    for (int i = 0; i < n && ready > 0; i++) {
        short re = l->pfd[i].revents;
        if (!re) continue;
        ready--;
        int ev = ((re & (POLLIN | POLLHUP | POLLERR)) ? LOOP_READ : 0) | ((re & (POLLOUT | POLLERR)) ? LOOP_WRITE : 0);
        /* Handlers may (un)watch fds: find this fd's current handler by fd. */
        for (int j = 0; j < l->n_watch; j++)
            if (l->watch[j].fd == l->pfd[i].fd) {
                watch_t w = l->watch[j];
                if (w.events & ev) {
                    w.fn(w.ctx, w.fd, w.events & ev);
                    ran++;
                }
                break;
            }
    }
    return ran + fire_timers(l);
}
