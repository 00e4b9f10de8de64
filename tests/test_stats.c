/* Tests of harness/stats against hand-computed numbers: mean and sample sd, Student-t 95%
 * quantiles for 1..5 degrees of freedom (textbook table values), the CI of a mean, Welch's
 * test on a case whose t distribution has a closed form (2 dof) and on one with fractional
 * Welch-Satterthwaite dof, the degenerate zero-spread case, and Holm's step-down order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "stats.h"

#define assert_close(a, b, eps)                                                                \
    do {                                                                                       \
        double a_ = (a), b_ = (b);                                                             \
        if (!(fabs(a_ - b_) <= (eps)))                                                         \
            fail_msg("%s = %.17g, expected %.17g", #a, a_, b_);                                 \
    } while (0)

static void test_mean_sd(void **state)
{
    (void)state;
    const double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
    assert_close(stats_mean(x, 8), 5.0, 1e-15);
    /* sum of squared deviations 32, 7 dof */
    assert_close(stats_sd(x, 8), sqrt(32.0 / 7.0), 1e-14);
    assert_true(isnan(stats_mean(x, 0)));
    assert_true(isnan(stats_sd(x, 1)));
    /* accuracies close together: no cancellation */
    const double acc[] = {0.99221, 0.99223, 0.99222};
    assert_close(stats_sd(acc, 3), 1e-5, 1e-12);
}

static void test_t_quantiles(void **state)
{
    (void)state;
    /* two-sided 95% critical values of Student's t, dof 1..5 */
    const double table[] = {12.706205, 4.302653, 3.182446, 2.776445, 2.570582};
    for (int d = 1; d <= 5; d++)
        assert_close(stats_t_quantile(0.975, d), table[d - 1], 5e-6);
    assert_close(stats_t_quantile(0.5, 3), 0.0, 1e-12);
    assert_true(isnan(stats_t_quantile(0.975, 0)));
}

static void test_summary(void **state)
{
    (void)state;
    const double x[] = {1, 3, 2};
    stats_summary s;
    stats_summarize(&s, x, 3);
    assert_int_equal(s.n, 3);
    assert_close(s.mean, 2.0, 1e-15);
    assert_close(s.sd, 1.0, 1e-15);
    /* 2 -/+ 4.302653 * 1 / sqrt(3) */
    assert_close(s.ci_lo, 2.0 - 2.484138, 1e-5);
    assert_close(s.ci_hi, 2.0 + 2.484138, 1e-5);
    assert_close(s.min, 1.0, 0);
    assert_close(s.max, 3.0, 0);
    /* one value: mean, no spread */
    stats_summarize(&s, x, 1);
    assert_close(s.mean, 1.0, 0);
    assert_true(isnan(s.sd) && isnan(s.ci_lo) && isnan(s.ci_hi));
    stats_summarize(&s, x, 0);
    assert_true(isnan(s.mean) && isnan(s.min));
}

static void test_welch_two_dof(void **state)
{
    (void)state;
    /* a = {0,2}, b = {3,5}: variances 2 and 2, se = sqrt(1 + 1), t = -3/sqrt 2, dof = 2.
     * With 2 dof the t CDF is 1/2 + t / (2 sqrt(2 + t^2)), so p = 1 - |t|/sqrt(2 + t^2)
     * = 1 - 2.1213203/sqrt(6.5) = 0.1679497. */
    const double a[] = {0, 2}, b[] = {3, 5};
    stats_welch w;
    assert_int_equal(stats_welch_test(&w, a, 2, b, 2, NULL), 0);
    assert_close(w.diff, -3.0, 1e-15);
    assert_close(w.se, sqrt(2.0), 1e-15);
    assert_close(w.t, -3.0 / sqrt(2.0), 1e-14);
    assert_close(w.dof, 2.0, 1e-12);
    double t = 3.0 / sqrt(2.0);
    assert_close(w.p, 1.0 - t / sqrt(2.0 + t * t), 1e-10);
    assert_close(w.p, 0.1679497, 1e-7);
    /* -3 -/+ 4.302653 * sqrt 2 = 6.084870 */
    assert_close(w.ci_lo, -3.0 - 6.084870, 1e-5);
    assert_close(w.ci_hi, -3.0 + 6.084870, 1e-5);
}

static void test_welch_fractional_dof(void **state)
{
    (void)state;
    /* a = {1,2,3,4}: mean 2.5, var 5/3, var/n = 5/12; b = {2,4,6,8,10}: mean 6, var 10,
     * var/n = 2. se^2 = 29/12, t = -3.5/sqrt(29/12) = -2.2514363,
     * dof = (29/12)^2 / ((5/12)^2/3 + 2^2/4) = (841/144)/(457/432) = 2523/457. */
    const double a[] = {1, 2, 3, 4}, b[] = {2, 4, 6, 8, 10};
    stats_welch w;
    assert_int_equal(stats_welch_test(&w, a, 4, b, 5, NULL), 0);
    assert_close(w.diff, -3.5, 1e-14);
    assert_close(w.t, -2.2514363, 1e-7);
    assert_close(w.dof, 2523.0 / 457.0, 1e-12);
    /* p lies between the two-sided p of |t| at 5 and at 6 dof, and is symmetric in a, b */
    assert_true(w.p > 0.05 && w.p < 0.1);
    stats_welch r;
    assert_int_equal(stats_welch_test(&r, b, 5, a, 4, NULL), 0);
    assert_close(r.p, w.p, 1e-15);
    assert_close(r.diff, 3.5, 1e-14);
    assert_close(r.ci_lo, -w.ci_hi, 1e-12);
    /* the CI excludes 0 exactly when p < 0.05: here it does not */
    assert_true(w.ci_lo < 0 && w.ci_hi > 0);
}

static void test_welch_degenerate(void **state)
{
    (void)state;
    /* exactly representable values, so that the spread is exactly zero */
    const double a[] = {0.75, 0.75}, b[] = {0.5, 0.5}, c[] = {0.75, 0.75, 0.75};
    stats_welch w;
    assert_int_equal(stats_welch_test(&w, a, 2, b, 2, NULL), 0);
    assert_close(w.p, 0.0, 0);
    assert_close(w.ci_lo, w.diff, 0);
    assert_int_equal(stats_welch_test(&w, a, 2, c, 3, NULL), 0);
    assert_close(w.p, 1.0, 0);
    err_info e = {0};
    assert_int_equal(stats_welch_test(&w, a, 1, c, 3, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "two runs"));
}

static void test_holm(void **state)
{
    (void)state;
    /* sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> max(0.06, 0.04) */
    const double p[] = {0.01, 0.04, 0.03, 0.005};
    double adj[4];
    assert_int_equal(stats_holm(adj, p, 4, NULL), 0);
    assert_close(adj[0], 0.03, 1e-15);
    assert_close(adj[1], 0.06, 1e-15);
    assert_close(adj[2], 0.06, 1e-15);
    assert_close(adj[3], 0.02, 1e-15);
    /* capped at 1; NAN stays NAN and does not count in m; in place */
    double q[] = {0.6, NAN, 0.2};
    assert_int_equal(stats_holm(q, q, 3, NULL), 0);
    assert_close(q[2], 0.4, 1e-15);
    assert_close(q[0], 0.6, 1e-15);
    assert_true(isnan(q[1]));
    double r[] = {0.7, 0.8};
    assert_int_equal(stats_holm(r, r, 2, NULL), 0);
    assert_close(r[0], 1.0, 0);
    assert_close(r[1], 1.0, 0);
}

/* Streaming: an accumulator fed value by value, or two merged, gives what stats_summarize
 * gives for the whole sample; Welch from the summaries equals Welch from the samples. */
static void test_streaming(void **state)
{
    (void)state;
    const double x[] = {0.991, 0.9934, 0.9902, 0.9921, 0.9917, 0.9899, 0.9931};
    stats_summary want, got;
    stats_summarize(&want, x, 7);
    stats_acc a = {0}, b = {0};
    for (int i = 0; i < 3; i++)
        stats_acc_add(&a, x[i]);
    for (int i = 3; i < 7; i++)
        stats_acc_add(&b, x[i]);
    stats_acc_merge(&a, &b);
    stats_acc_summary(&got, &a);
    assert_int_equal(got.n, 7);
    assert_true(fabs(got.mean - want.mean) < 1e-15);
    assert_true(fabs(got.sd - want.sd) < 1e-15);
    assert_true(fabs(got.ci_lo - want.ci_lo) < 1e-14);
    assert_true(got.min == want.min && got.max == want.max);
    stats_acc c;
    stats_acc_of(&c, &want); /* from a summary, and back */
    stats_acc_summary(&got, &c);
    assert_true(fabs(got.sd - want.sd) < 1e-15);
    stats_acc empty = {0};
    stats_acc_summary(&got, &empty);
    assert_int_equal(got.n, 0);
    assert_true(isnan(got.mean));

    const double y[] = {0.985, 0.987, 0.9861};
    stats_summary sy;
    stats_summarize(&sy, y, 3);
    stats_welch w1, w2;
    err_info e = {0};
    assert_int_equal(stats_welch_test(&w1, x, 7, y, 3, &e), 0);
    assert_int_equal(stats_welch_summary(&w2, &want, &sy, &e), 0);
    assert_true(w1.p == w2.p && w1.dof == w2.dof && w1.diff == w2.diff);
}

/* An accuracy's interval stays inside [0, 1]; inside, it is untouched. */
static void test_clip(void **state)
{
    (void)state;
    const double x[] = {0.96, 0.99};
    stats_summary s;
    stats_summarize(&s, x, 2);
    assert_true(s.ci_hi > 1.0); /* 0.975 + 12.706 * 0.0212 / sqrt 2 */
    double lo = s.ci_lo;
    stats_clip_ci(&s, 0.0, 1.0);
    assert_true(s.ci_hi == 1.0);
    assert_true(s.ci_lo == lo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mean_sd),
        cmocka_unit_test(test_t_quantiles),
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_welch_two_dof),
        cmocka_unit_test(test_welch_fractional_dof),
        cmocka_unit_test(test_welch_degenerate),
        cmocka_unit_test(test_holm),
        cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_clip),
    };
    return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
