/* par: the core's thread team (see par.h for the contract). Linux futexes and C11 atomics. */
#define _GNU_SOURCE /* syscall(), sched_yield() */

#include "par.h"

#include <assert.h>
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { PAR_MAX_THREADS = 256 };

/* How long a thread without work stays awake before it sleeps on a futex: PAR_SPIN_PAUSE polls
 * with a pause instruction (a few microseconds: the gaps between the loops of one training
 * step), then PAR_SPIN_YIELD polls each after a sched_yield(), which hands the core to any
 * other thread that wants it (so the spinning never holds a core another process needs;
 * alone on its core a yield returns at once, about a microsecond), then sleep. A sleeping
 * thread costs a futex wake-up, tens of microseconds on a virtual machine, so the yields
 * cover the gap between two training steps as well. */
enum { PAR_SPIN_PAUSE = 100, PAR_SPIN_YIELD = 200 };

/* next's task index while a job is being set up: no task can be taken */
#define PAR_CLOSED UINT32_MAX

typedef struct par_worker {
    par_team *team;
    int index;
} par_worker;

struct par_team {
    int threads;
    pthread_t *tid;          /* (threads - 1) workers */
    par_worker *workers;     /* (threads - 1) */
    int started;             /* workers running */
    /* The current job. gen counts jobs (workers sleep on it); next holds gen in its high 32
     * bits and the next task to hand out in its low 32, so that a thread still looking at an
     * old job can never take a task of a new one (its compare-and-swap fails). */
    _Atomic uint32_t gen;
    _Atomic uint64_t next;
    _Atomic(par_fn) fn;
    _Atomic(void *) ctx;
    _Atomic uint32_t tasks;
    _Atomic uint32_t done;   /* tasks of the current job finished; the caller sleeps on it */
    atomic_int sleepers;     /* workers asleep on gen */
    atomic_int caller_asleep;
    atomic_bool stop;
};

static void par_futex_wait(_Atomic uint32_t *word, uint32_t val)
{
    /* returns at once when *word != val; spurious wake-ups are handled by the callers' loops */
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void par_futex_wake(_Atomic uint32_t *word, int n)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static inline void par_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

int par_threads(const par_team *t) { return t ? t->threads : 1; }

void par_split(size_t *lo, size_t *hi, size_t n, int i, int parts, size_t align)
{
    assert(parts >= 1 && i >= 0 && i < parts && align >= 1);
    const size_t units = (n + align - 1) / align;
    *lo = units * (size_t)i / (size_t)parts * align;
    *hi = units * (size_t)(i + 1) / (size_t)parts * align;
    if (*lo > n)
        *lo = n;
    if (*hi > n || i == parts - 1)
        *hi = n;
}

/* Take and run tasks of job g until none is left; thread is the runner's index. */
static void par_work(par_team *t, uint32_t g, int thread)
{
    for (;;) {
        uint64_t v = atomic_load(&t->next);
        if ((uint32_t)(v >> 32) != g)
            return;
        const uint32_t task = (uint32_t)v, tasks = atomic_load(&t->tasks);
        if (task >= tasks) /* all handed out, or PAR_CLOSED */
            return;
        const par_fn fn = atomic_load(&t->fn);
        void *ctx = atomic_load(&t->ctx);
        /* fails when another thread took the task first or a new job began: then fn, ctx and
         * tasks may be another job's, and are read again */
        if (!atomic_compare_exchange_weak(&t->next, &v, v + 1))
            continue;
        fn(ctx, (int)task, thread);
        if (atomic_fetch_add(&t->done, 1) + 1 == tasks && atomic_load(&t->caller_asleep))
            par_futex_wake(&t->done, 1);
    }
}

/* A worker's wait for a job other than `seen`: spin, yield, then sleep. Returns its number. */
static uint32_t par_wait_job(par_team *t, uint32_t seen)
{
    uint32_t g;
    for (int i = 0; i < PAR_SPIN_PAUSE; i++) {
        if ((g = atomic_load_explicit(&t->gen, memory_order_acquire)) != seen)
            return g;
        par_pause();
    }
    for (int i = 0; i < PAR_SPIN_YIELD; i++) {
        if ((g = atomic_load_explicit(&t->gen, memory_order_acquire)) != seen)
            return g;
        sched_yield();
    }
    for (;;) {
        /* sequentially consistent with par_run's store of gen and read of sleepers: either
         * this load sees the new job or par_run sees a sleeper and wakes it */
        atomic_fetch_add(&t->sleepers, 1);
        if ((g = atomic_load(&t->gen)) == seen)
            par_futex_wait(&t->gen, seen);
        atomic_fetch_sub(&t->sleepers, 1);
        if ((g = atomic_load(&t->gen)) != seen)
            return g;
    }
}

static void *par_worker_main(void *arg)
{
    par_worker *w = arg;
    par_team *t = w->team;
    uint32_t seen = 0;
    for (;;) {
        seen = par_wait_job(t, seen);
        if (atomic_load(&t->stop))
            return NULL;
        par_work(t, seen, w->index);
    }
}

/* The caller's wait for every task of the job to finish (the same spin, yield, sleep). */
static void par_wait_done(par_team *t, uint32_t tasks)
{
    for (int i = 0; i < PAR_SPIN_PAUSE; i++) {
        if (atomic_load_explicit(&t->done, memory_order_acquire) == tasks)
            return;
        par_pause();
    }
    for (int i = 0; i < PAR_SPIN_YIELD; i++) {
        if (atomic_load_explicit(&t->done, memory_order_acquire) == tasks)
            return;
        sched_yield();
    }
    for (;;) {
        const uint32_t d = atomic_load(&t->done);
        if (d == tasks)
            return;
        atomic_store(&t->caller_asleep, 1);
        if (atomic_load(&t->done) == d)
            par_futex_wait(&t->done, d);
        atomic_store(&t->caller_asleep, 0);
    }
}

void par_run(par_team *t, int tasks, par_fn fn, void *ctx)
{
    assert(tasks >= 0 && fn);
    if (!t || t->threads == 1 || tasks <= 1) {
        for (int i = 0; i < tasks; i++)
            fn(ctx, i, 0);
        return;
    }
    const uint32_t g = atomic_load(&t->gen) + 1;
    /* Set the job up closed (no thread can take a task of it, and a thread still reading the
     * previous job fails its compare-and-swap on the new tag), then open it. */
    atomic_store(&t->next, (uint64_t)g << 32 | PAR_CLOSED);
    atomic_store(&t->fn, fn);
    atomic_store(&t->ctx, ctx);
    atomic_store(&t->tasks, (uint32_t)tasks);
    atomic_store(&t->done, 0);
    atomic_store(&t->next, (uint64_t)g << 32);
    atomic_store(&t->gen, g);
    if (atomic_load(&t->sleepers) > 0)
        par_futex_wake(&t->gen, INT32_MAX);
    par_work(t, g, 0);
    par_wait_done(t, (uint32_t)tasks);
}

int par_new(par_team **out, int threads, err_info *e)
{
    *out = NULL;
    if (threads < 1 || threads > PAR_MAX_THREADS)
        return err_set(e, ERR_INVALID, "threads %d out of range [1, %d]", threads, PAR_MAX_THREADS);
    par_team *t = calloc(1, sizeof *t);
    if (!t)
        return err_set(e, ERR_NOMEM, "out of memory for a team of %d threads", threads);
    t->threads = threads;
    int rc = ERR_NOMEM;
    if (threads > 1) {
        t->tid = calloc((size_t)threads - 1, sizeof *t->tid);
        t->workers = calloc((size_t)threads - 1, sizeof *t->workers);
        if (!t->tid || !t->workers)
            goto nomem;
    }
    for (int i = 1; i < threads; i++) {
        t->workers[i - 1] = (par_worker){t, i};
        int err = pthread_create(&t->tid[i - 1], NULL, par_worker_main, &t->workers[i - 1]);
        if (err) {
            rc = err_set(e, ERR_INVALID, "cannot start thread %d of %d: %s", i + 1, threads, strerror(err));
            par_free(t);
            return rc;
        }
        t->started++;
    }
    *out = t;
    return 0;
nomem:
    rc = err_set(e, ERR_NOMEM, "out of memory for a team of %d threads", threads);
    par_free(t);
    return rc;
}

void par_free(par_team *t)
{
    if (!t)
        return;
    if (t->started) {
        atomic_store(&t->stop, true);
        atomic_fetch_add(&t->gen, 1);
        par_futex_wake(&t->gen, INT32_MAX);
        for (int i = 0; i < t->started; i++)
            pthread_join(t->tid[i], NULL);
    }
    free(t->tid);
    free(t->workers);
    free(t);
}
