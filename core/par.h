/* par: a small team of threads that runs the core's parallel loops.
 *
 * A loop is split into `tasks` numbered 0 .. tasks-1 that write disjoint outputs; par_run()
 * hands them out one at a time, in increasing order, to whichever thread of the team asks
 * first (the calling thread works too), and returns when all of them are done. Which thread
 * runs a task never changes what the task computes, so a result does not depend on the team's
 * size or on the scheduling, only on how the caller cut the work into tasks (a function of the
 * problem's shape, never of the thread count).
 *
 * Waiting is polite: a thread without work first spins briefly (a pause loop, then
 * sched_yield(), which hands the core to any other runnable thread), then sleeps on a futex
 * until there is work again. So a team never holds a core that another process needs, and when
 * a worker is descheduled the caller simply takes the remaining tasks itself.
 *
 * A team is used by one caller thread at a time; par_run() must not be called from inside a
 * task. Nothing is allocated after par_new(). */
#ifndef BENCH_PAR_H
#define BENCH_PAR_H

#include <stddef.h>

#include "err.h"

typedef struct par_team par_team;

/* A task: fn(ctx, task, thread) with thread in 0 .. par_threads()-1 (0 is the caller). */
typedef void (*par_fn)(void *ctx, int task, int thread);

/* *out <- a team of `threads` (>= 1) threads: the caller plus threads-1 workers started now.
 * ERR_NOMEM or ERR_INVALID (threads out of range, a thread that cannot be started) with a
 * message in e. */
int par_new(par_team **out, int threads, err_info *e);

/* Stop the workers and free the team (NULL is fine). */
void par_free(par_team *t);

/* Threads of the team; 1 for t == NULL. */
int par_threads(const par_team *t);

/* Run fn on every task 0 .. tasks-1 and return when all are done. t == NULL (or a 1-thread
 * team) runs them in order on the caller. */
void par_run(par_team *t, int tasks, par_fn fn, void *ctx);

/* The contiguous range [*lo, *hi) of part `i` of `parts` equal parts of n items, rounded to
 * multiples of `align` items (the last part takes the rest). */
void par_split(size_t *lo, size_t *hi, size_t n, int i, int parts, size_t align);

#endif
