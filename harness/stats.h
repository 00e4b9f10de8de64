/* stats: the small statistics a benchmark report needs, over GSL's distributions.
 *
 * Runs of one configuration differ only by seed; their final accuracies are treated as an
 * independent sample. The module gives its mean, its sample standard deviation (n-1 in the
 * denominator), the Student-t 95% confidence interval of the mean, Welch's two-sample t-test
 * (unequal variances) with the confidence interval of the difference of means, and Holm's
 * step-down correction of several p-values. Pure functions: no allocation except where noted,
 * no printing. Quantities that do not exist (the sd of one value, a CI with no degrees of
 * freedom) are NAN, which the renderers print as "-". */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include "err.h"

/* Summary of a sample x[0..n). */
typedef struct stats_summary {
    int n;
    double mean;         /* NAN when n == 0 */
    double sd;           /* sample sd, sqrt(sum (x-mean)^2 / (n-1)); NAN when n < 2 */
    double ci_lo, ci_hi; /* mean -/+ t(0.975, n-1) * sd / sqrt(n); NAN when n < 2 */
    double min, max;     /* NAN when n == 0 */
} stats_summary;

/* Arithmetic mean; NAN when n == 0. */
double stats_mean(const double *x /* (n) */, int n);

/* Sample standard deviation with n-1 degrees of freedom; NAN when n < 2. */
double stats_sd(const double *x /* (n) */, int n);

/* The p-quantile of Student's t with dof degrees of freedom (dof > 0, real), e.g.
 * stats_t_quantile(0.975, 4) = 2.776: the half-width factor of a two-sided 95% interval. */
double stats_t_quantile(double p, double dof);

/* *out <- n, mean, sd, 95% CI (Student t, n-1 dof), min and max of x. */
void stats_summarize(stats_summary *out, const double *x /* (n) */, int n);

/* A sample summarised as it streams by, without keeping its values (Welford's update; two
 * accumulators merge by Chan's formula), so that a report's memory does not grow with its
 * runs. Zero-initialise, add values, read with stats_acc_summary. */
typedef struct stats_acc {
    int n;
    double sum;          /* of the values: the mean reported is sum / n, as stats_mean's */
    double mean, m2;     /* running mean and sum of squared deviations from it */
    double min, max;
} stats_acc;

void stats_acc_add(stats_acc *a, double x);

/* *a <- the accumulator of a's values and b's together. */
void stats_acc_merge(stats_acc *a, const stats_acc *b);

/* *out <- what stats_summarize would give for the values a saw. */
void stats_acc_summary(stats_summary *out, const stats_acc *a);

/* *out <- an accumulator equal to the one summarised by s (n, mean, sd, min, max), so that
 * summaries merge. */
void stats_acc_of(stats_acc *out, const stats_summary *s);

/* Keep s's confidence interval inside [lo, hi] (an accuracy's [0, 1]): a bound beyond is set
 * to the limit. The mean of values in [lo, hi] lies in [lo, hi], so the clipped interval
 * covers it whenever the unclipped one does: the coverage is unchanged. */
void stats_clip_ci(stats_summary *s, double lo, double hi);

/* Welch's t-test of mean(a) - mean(b), variances not assumed equal:
 *   se  = sqrt(sa^2/na + sb^2/nb)
 *   t   = (mean(a) - mean(b)) / se
 *   dof = se^4 / ((sa^2/na)^2/(na-1) + (sb^2/nb)^2/(nb-1))   (Welch-Satterthwaite)
 *   p   = 2 * P(T_dof > |t|)                                  (two-sided)
 *   CI  = diff -/+ t(0.975, dof) * se
 * When both samples have zero spread (se = 0), the test degenerates: p = 1 and the CI is
 * [diff, diff] when the means are equal, p = 0 otherwise, and dof is NAN. */
typedef struct stats_welch {
    double diff;          /* mean(a) - mean(b) */
    double se, t, dof, p;
    double ci_lo, ci_hi;  /* 95% CI of diff */
} stats_welch;

/* *out <- the test above. ERR_INVALID when na < 2 or nb < 2 (no variance to estimate). */
int stats_welch_test(stats_welch *out, const double *a /* (na) */, int na,
                     const double *b /* (nb) */, int nb, err_info *e);

/* The same from the samples' n, mean and sd alone (all the test reads): a reader of a table
 * that prints them can redo it. */
int stats_welch_summary(stats_welch *out, const stats_summary *a, const stats_summary *b,
                        err_info *e);

/* Holm's step-down correction of m p-values (family-wise error rate): with p sorted
 * ascending as p_(1) <= ... <= p_(m), adj_(i) = max over j <= i of min(1, (m - j + 1) p_(j)),
 * written back in the original order. adj and p may be the same array. NAN p-values are
 * left NAN and do not count in m. Returns ERR_NOMEM when scratch space cannot be had. */
int stats_holm(double *adj /* (m) */, const double *p /* (m) */, int m, err_info *e);

#endif
