/* loop.h — the event loop every worker runs, in the manner of Redis's ae: handlers
 * per file descriptor, one-shot timers, and before-sleep hooks.
 *
 *   loop_t *l = loop_new();
 *   loop_watch(l, fd, LOOP_READ, on_readable, ctx);   // fd handlers
 *   loop_timer_at(l, mono_ms() + 50, on_timer, ctx);  // timers (monotonic ms)
 *   loop_before_sleep(l, admit_batch, ctx);           // runs before every wait
 *   for (;;) loop_run_once(l, 100);
 *
 * One turn: the before-sleep hooks run in registration order (batched work: admission,
 * consumption, rate slots), then poll(2) waits for a watched fd, the next timer or the
 * longest sleep allowed, then the ready fds' handlers run, then the due timers'.
 * A hook that leaves work undone calls loop_wake (the next wait does not block) or
 * loop_sleep_at_most. Single-threaded: nothing here may be called from another thread. */
#ifndef PRESSROOM_LOOP_H
#define PRESSROOM_LOOP_H

#include <stdint.h>

typedef struct loop loop_t;

enum { LOOP_READ = 1, LOOP_WRITE = 2 };

typedef void (*loop_fd_fn)(void *ctx, int fd, int events);
typedef void (*loop_timer_fn)(void *ctx);
typedef void (*loop_hook_fn)(void *ctx);
typedef uint64_t loop_timer_id; /* 0 = none */

/* NULL when out of memory. */
loop_t *loop_new(void);
void loop_free(loop_t *l);

/* Watches fd for events (LOOP_READ | LOOP_WRITE); watching it again replaces its
 * events and handler. Returns 0 or -1 (out of memory). */
int loop_watch(loop_t *l, int fd, int events, loop_fd_fn fn, void *ctx);
void loop_unwatch(loop_t *l, int fd);

/* Calls fn(ctx) once, at or after due_ms on the monotonic clock (mono_ms). */
loop_timer_id loop_timer_at(loop_t *l, int64_t due_ms, loop_timer_fn fn, void *ctx);
void loop_timer_cancel(loop_t *l, loop_timer_id id);

/* Adds a hook run before every wait. Returns 0 or -1. */
int loop_before_sleep(loop_t *l, loop_hook_fn fn, void *ctx);

/* From a hook or handler: the next wait returns at once (there is more to do), or
 * waits at most ms. */
void loop_wake(loop_t *l);
void loop_sleep_at_most(loop_t *l, int ms);

/* One turn, waiting at most max_wait_ms. Returns the number of handlers and timers
 * that ran. */
int loop_run_once(loop_t *l, int max_wait_ms);

#endif
