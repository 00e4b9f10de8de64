/* Tests of core/par: every task runs exactly once per par_run, on a valid thread index, for
 * teams of 1 to 4 threads and for no team; thousands of short jobs in a row (a lost wake-up or
 * a task taken twice across jobs would hang or miscount); jobs with fewer tasks than threads
 * and with none; par_split's ranges; and the error for a bad thread count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <string.h>

#include "par.h"

typedef struct count_job {
    int threads;
    atomic_int runs[64];  /* per task */
    atomic_int bad_thread;
    atomic_long sum;      /* sum of task + 1 over the runs */
} count_job;

static void count_task(void *ctx, int task, int thread)
{
    count_job *j = ctx;
    if (thread < 0 || thread >= j->threads)
        atomic_fetch_add(&j->bad_thread, 1);
    atomic_fetch_add(&j->runs[task], 1);
    atomic_fetch_add(&j->sum, task + 1);
}

/* Run `tasks` tasks `jobs` times on t and check each ran once per job. */
static void run_jobs(par_team *t, int tasks, int jobs)
{
    count_job j;
    memset(&j, 0, sizeof j);
    j.threads = par_threads(t);
    for (int k = 0; k < jobs; k++)
        par_run(t, tasks, count_task, &j);
    for (int i = 0; i < tasks; i++)
        assert_int_equal(atomic_load(&j.runs[i]), jobs);
    assert_int_equal(atomic_load(&j.bad_thread), 0);
    assert_int_equal(atomic_load(&j.sum), (long)jobs * tasks * (tasks + 1) / 2);
}

static void test_each_task_once(void **state)
{
    (void)state;
    run_jobs(NULL, 7, 3);
    assert_int_equal(par_threads(NULL), 1);
    for (int threads = 1; threads <= 4; threads++) {
        par_team *t = NULL;
        assert_int_equal(par_new(&t, threads, NULL), 0);
        assert_int_equal(par_threads(t), threads);
        run_jobs(t, 64, 20);
        run_jobs(t, 1, 20);
        run_jobs(t, 0, 5);
        run_jobs(t, threads > 1 ? threads - 1 : 1, 20);
        par_free(t);
    }
    par_free(NULL);
}

/* Many short jobs back to back, as a training step issues them: a worker that is late for one
 * job must never take a task of the next one, and the caller must never wait forever. */
static void test_many_short_jobs(void **state)
{
    (void)state;
    par_team *t = NULL;
    assert_int_equal(par_new(&t, 3, NULL), 0);
    run_jobs(t, 5, 20000);
    run_jobs(t, 2, 20000);
    par_free(t);
}

/* A result written by tasks into disjoint outputs is the same for any team. */
typedef struct square_job {
    double *out;
} square_job;

static void square_task(void *ctx, int task, int thread)
{
    (void)thread;
    square_job *j = ctx;
    double s = 0.0;
    for (int i = 0; i <= task * 100; i++)
        s += 1.0 / (1.0 + i);
    j->out[task] = s;
}

static void test_same_result_any_team(void **state)
{
    (void)state;
    double want[40], got[40];
    square_job j = {want};
    par_run(NULL, 40, square_task, &j);
    for (int threads = 1; threads <= 4; threads++) {
        par_team *t = NULL;
        assert_int_equal(par_new(&t, threads, NULL), 0);
        memset(got, 0, sizeof got);
        j.out = got;
        par_run(t, 40, square_task, &j);
        assert_memory_equal(got, want, sizeof want);
        par_free(t);
    }
}

static void test_split(void **state)
{
    (void)state;
    size_t lo, hi, prev = 0;
    for (int i = 0; i < 8; i++) {
        par_split(&lo, &hi, 1000, i, 8, 16);
        assert_int_equal(lo, prev);
        assert_true(lo % 16 == 0 && hi >= lo);
        assert_true(i == 7 || hi % 16 == 0);
        prev = hi;
    }
    assert_int_equal(prev, 1000);
    par_split(&lo, &hi, 10, 3, 4, 16); /* fewer items than parts: empty ranges, then the rest */
    assert_int_equal(hi, 10);
    par_split(&lo, &hi, 10, 1, 4, 16);
    assert_int_equal(lo, hi);
}

static void test_bad_threads(void **state)
{
    (void)state;
    par_team *t = (par_team *)1;
    err_info e = {0};
    assert_int_equal(par_new(&t, 0, &e), ERR_INVALID);
    assert_null(t);
    assert_non_null(strstr(e.msg, "threads 0"));
    assert_int_equal(par_new(&t, 100000, &e), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_task_once),     cmocka_unit_test(test_many_short_jobs),
        cmocka_unit_test(test_same_result_any_team), cmocka_unit_test(test_split),
        cmocka_unit_test(test_bad_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
