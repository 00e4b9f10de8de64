/* Tests of harness/timing: the contended rule and the gate time on spans made up for the
 * purpose (exact numbers), and the measurement itself on this process:
 *   - a span is contended above 10% run-queue wait over CPU time, not at or below it, nor
 *     when the wait is unknown;
 *   - the gate time of a run: its wall time on a quiet machine; unchanged when load stretches
 *     some or all of its epochs; doubled when the work doubles, loaded or not; CPU over threads
 *     when every epoch was contended;
 *   - marks read this process's clocks, run-queue wait and context switches; a span never
 *     has a negative wait, and an unknown count stays unknown;
 *   - CPU work beside one busy process per CPU (and one more) is measured as contended (the
 *     figures of the same work alone and loaded are printed, not compared). */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>

#include "hog.h"
#include "timing.h"

static timing_span span(double wall, double cpu, double wait)
{
    return (timing_span){.wall_s = wall, .cpu_s = cpu, .wait_s = wait, .nivcsw = 0};
}

static void test_contended_rule(void **state)
{
    (void)state;
    timing_span s = span(1.0, 1.0, 0.05);
    assert_false(timing_contended(&s));
    s = span(1.0, 1.0, 0.10); /* at the threshold: not above it */
    assert_false(timing_contended(&s));
    s = span(1.2, 1.0, 0.11);
    assert_true(timing_contended(&s));
    s = span(3.0, 1.0, 2.0);
    assert_true(timing_contended(&s));
    assert_float_equal(timing_wait_share(&s), 2.0, 1e-12);
    s = span(3.0, 1.0, NAN); /* unknown wait: not contended */
    assert_false(timing_contended(&s));
    assert_true(isnan(timing_wait_share(&s)));
    s = span(0.5, 0.0, 0.0);
    assert_false(timing_contended(&s));
    assert_true(isnan(timing_wait_share(&s)));
}

/* The gate time of epochs e[0..n) for a run of threads threads. */
static double gate_of(const timing_span *e, int n, int threads)
{
    timing_run r = {0};
    for (int i = 0; i < n; i++)
        timing_run_add(&r, &e[i]);
    return timing_run_gate_s(&r, threads);
}

/* Four epochs of 10 s of work on one thread, quiet, loaded, and doubled. A budget half again
 * as long as the quiet time (60 s) passes every loaded variant and fails every doubled one. */
static void test_gate_time(void **state)
{
    (void)state;
    const double budget = 1.5 * 40.0;
    const timing_span quiet[4] = {span(10, 10, 0), span(10, 10, 0.2), span(10, 10, 0),
                                  span(10, 10, 0.5)};
    assert_float_equal(gate_of(quiet, 4, 1), 40.0, 1e-12); /* the sum of the wall times */

    /* the same work, two epochs stretched by other processes: 70 s of wall time */
    const timing_span some[4] = {span(10, 10, 0), span(25, 10, 15), span(10, 10, 0),
                                 span(25, 10, 15)};
    assert_float_equal(gate_of(some, 4, 1), 40.0, 1e-12);
    /* every epoch stretched: 100 s of wall time, 40 s of CPU time */
    const timing_span all[4] = {span(25, 10, 15), span(25, 10, 15), span(25, 10, 15),
                                span(25, 10, 15)};
    assert_float_equal(gate_of(all, 4, 1), 40.0, 1e-12);
    assert_true(gate_of(some, 4, 1) <= budget && gate_of(all, 4, 1) <= budget);

    /* twice the work, quiet, partly loaded, fully loaded */
    const timing_span twice[4] = {span(20, 20, 0), span(20, 20, 0), span(20, 20, 0),
                                  span(20, 20, 0)};
    const timing_span twice_some[4] = {span(20, 20, 0), span(50, 20, 30), span(20, 20, 0),
                                       span(35, 20, 15)};
    const timing_span twice_all[4] = {span(50, 20, 30), span(50, 20, 30), span(50, 20, 30),
                                      span(50, 20, 30)};
    assert_float_equal(gate_of(twice, 4, 1), 80.0, 1e-12);
    assert_float_equal(gate_of(twice_some, 4, 1), 80.0, 1e-12);
    assert_float_equal(gate_of(twice_all, 4, 1), 80.0, 1e-12);
    assert_true(gate_of(twice_some, 4, 1) > budget && gate_of(twice_all, 4, 1) > budget);

    /* every epoch contended with 2 threads: CPU time over the threads */
    const timing_span two[2] = {span(30, 16, 12), span(30, 16, 12)};
    assert_float_equal(gate_of(two, 2, 2), 16.0, 1e-12);
    /* an unknown wait counts as quiet: the wall time, as before contention was measured */
    const timing_span old[2] = {span(12, 10, NAN), span(14, 10, NAN)};
    assert_float_equal(gate_of(old, 2, 1), 26.0, 1e-12);
    assert_true(isnan(gate_of(old, 0, 1)));

    timing_run r = {0};
    for (int i = 0; i < 4; i++)
        timing_run_add(&r, &some[i]);
    assert_int_equal(r.epochs, 4);
    assert_int_equal(r.contended, 2);
    assert_float_equal(r.wall_s, 70.0, 1e-12);
    assert_float_equal(r.quiet_wall_s, 20.0, 1e-12);
    assert_float_equal(r.cpu_s, 40.0, 1e-12);
}

/* The span of about `cpu` seconds of this process's CPU time spent spinning. */
static timing_span burn(double cpu)
{
    volatile double x = 1.0;
    timing_mark a, now;
    timing_mark_now(&a);
    do {
        for (int i = 0; i < 200000; i++)
            x = x * 1.0000001 + 1e-9;
        timing_mark_now(&now);
    } while (now.cpu - a.cpu < cpu);
    return timing_span_between(&a, &now);
}

static void print_span(const char *what, const timing_span *s)
{
    printf("%-7s wall %.3f s, cpu %.3f s, wait %.3f s (%.0f%%), %lld involuntary switches\n", what,
           s->wall_s, s->cpu_s, s->wait_s, 100.0 * timing_wait_share(s), (long long)s->nivcsw);
}

static void test_marks(void **state)
{
    (void)state;
    timing_span s = burn(0.05);
    assert_true(s.cpu_s >= 0.05);
    assert_true(s.wall_s > 0.0);
    assert_false(isnan(s.wait_s)); /* Linux: /proc/self/task/<tid>/schedstat */
    assert_true(s.wait_s >= 0.0);
    assert_true(s.nivcsw >= 0);
    /* a thread that ended takes its wait along: never a negative wait */
    timing_mark a = {.wall = 1.0, .cpu = 1.0, .wait = 2.0, .nivcsw = 3};
    timing_mark b = {.wall = 2.0, .cpu = 1.5, .wait = 1.0, .nivcsw = 5};
    s = timing_span_between(&a, &b);
    assert_true(s.wait_s == 0.0);
    assert_int_equal(s.nivcsw, 2);
    b.nivcsw = -1; /* unknown stays unknown */
    assert_int_equal(timing_span_between(&a, &b).nivcsw, -1);
}

/* Spans timed in pieces add up; an unknown wait or switch count makes the sum's unknown, and
 * so does its contended verdict (an unknown wait is not contention). */
static void test_span_add(void **state)
{
    (void)state;
    timing_span sum = {0};
    const timing_span a = {.wall_s = 1.0, .cpu_s = 2.0, .wait_s = 0.1, .nivcsw = 3};
    const timing_span b = {.wall_s = 0.5, .cpu_s = 1.0, .wait_s = 0.4, .nivcsw = 4};
    timing_span_add(&sum, &a);
    assert_false(timing_contended(&sum)); /* 0.1 s of wait for 2 s of CPU time */
    timing_span_add(&sum, &b);
    assert_true(sum.wall_s == 1.5 && sum.cpu_s == 3.0 && fabs(sum.wait_s - 0.5) < 1e-12);
    assert_int_equal(sum.nivcsw, 7);
    assert_true(timing_contended(&sum)); /* 0.5 s for 3 s */
    const timing_span unknown = {.wall_s = 1.0, .cpu_s = 1.0, .wait_s = NAN, .nivcsw = -1};
    timing_span_add(&sum, &unknown);
    assert_true(isnan(sum.wait_s));
    assert_int_equal(sum.nivcsw, -1);
    assert_false(timing_contended(&sum));
    timing_span_add(&sum, &a);
    assert_int_equal(sum.nivcsw, -1);
}

/* The same CPU work alone and beside one busy process per CPU and one more: the second is
 * contended. The figures are printed, never compared, but for the detection itself: with more
 * runnable processes than CPUs this one waits about as long as it runs. */
static void test_hogs_are_contention(void **state)
{
    (void)state;
    const timing_span alone = burn(0.3);
    pid_t pids[HOG_MAX];
    const int n = hog_count();
    hog_start(pids, n);
    const timing_span loaded = burn(0.3);
    hog_stop(pids, n);
    print_span("alone:", &alone);
    print_span("hogs:", &loaded);
    assert_true(timing_contended(&loaded));
    assert_true(loaded.nivcsw > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contended_rule),
        cmocka_unit_test(test_gate_time),
        cmocka_unit_test(test_marks),
        cmocka_unit_test(test_span_add),
        cmocka_unit_test(test_hogs_are_contention),
    };
    return cmocka_run_group_tests_name("timing", tests, NULL, NULL);
}
