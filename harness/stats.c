/* stats: mean, sd, Student-t intervals, Welch's test and Holm's correction (see stats.h). */
#include "stats.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

double stats_mean(const double *x, int n)
{
    if (n <= 0)
        return NAN;
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return s / n;
}

double stats_sd(const double *x, int n)
{
    if (n < 2)
        return NAN;
    /* Two passes: the mean first, then squared deviations (no cancellation as in
     * sum(x^2) - n*mean^2 when the values are close to each other, like accuracies). */
    double m = stats_mean(x, n), ss = 0.0;
    for (int i = 0; i < n; i++)
        ss += (x[i] - m) * (x[i] - m);
    return sqrt(ss / (n - 1));
}

double stats_t_quantile(double p, double dof)
{
    assert(p > 0.0 && p < 1.0);
    if (!(dof > 0.0))
        return NAN;
    return gsl_cdf_tdist_Pinv(p, dof);
}

/* The Student-t 95% interval of s's mean, from its n and sd. */
static void ci_of(stats_summary *s)
{
    double half = stats_t_quantile(0.975, s->n - 1) * s->sd / sqrt((double)s->n);
    s->ci_lo = s->mean - half;
    s->ci_hi = s->mean + half;
}

void stats_summarize(stats_summary *out, const double *x, int n)
{
    *out = (stats_summary){.n = n, .mean = NAN, .sd = NAN, .ci_lo = NAN, .ci_hi = NAN,
                           .min = NAN, .max = NAN};
    if (n <= 0)
        return;
    out->mean = stats_mean(x, n);
    out->min = out->max = x[0];
    for (int i = 1; i < n; i++) {
        out->min = fmin(out->min, x[i]);
        out->max = fmax(out->max, x[i]);
    }
    if (n < 2)
        return;
    out->sd = stats_sd(x, n);
    ci_of(out);
}

void stats_acc_add(stats_acc *a, double x)
{
    if (a->n == 0) {
        *a = (stats_acc){.n = 1, .sum = x, .mean = x, .m2 = 0.0, .min = x, .max = x};
        return;
    }
    a->n++;
    a->sum += x;
    double d = x - a->mean;
    a->mean += d / a->n;
    a->m2 += d * (x - a->mean);
    a->min = fmin(a->min, x);
    a->max = fmax(a->max, x);
}

void stats_acc_merge(stats_acc *a, const stats_acc *b)
{
    if (b->n == 0)
        return;
    if (a->n == 0) {
        *a = *b;
        return;
    }
    double n = (double)a->n + b->n, d = b->mean - a->mean;
    a->m2 += b->m2 + d * d * a->n * b->n / n;
    a->mean += d * b->n / n;
    a->n += b->n;
    a->sum += b->sum;
    a->min = fmin(a->min, b->min);
    a->max = fmax(a->max, b->max);
}

void stats_acc_summary(stats_summary *out, const stats_acc *a)
{
    *out = (stats_summary){.n = a->n, .mean = NAN, .sd = NAN, .ci_lo = NAN, .ci_hi = NAN,
                           .min = NAN, .max = NAN};
    if (a->n <= 0)
        return;
    out->mean = a->sum / a->n;
    out->min = a->min;
    out->max = a->max;
    if (a->n < 2)
        return;
    out->sd = sqrt(fmax(a->m2, 0.0) / (a->n - 1));
    ci_of(out);
}

void stats_acc_of(stats_acc *out, const stats_summary *s)
{
    *out = (stats_acc){.n = s->n, .sum = s->mean * s->n, .mean = s->mean, .min = s->min,
                       .max = s->max, .m2 = s->n >= 2 ? s->sd * s->sd * (s->n - 1) : 0.0};
    if (s->n <= 0)
        *out = (stats_acc){0};
}

void stats_clip_ci(stats_summary *s, double lo, double hi)
{
    if (s->ci_lo < lo)
        s->ci_lo = lo;
    if (s->ci_hi > hi)
        s->ci_hi = hi;
}

int stats_welch_test(stats_welch *out, const double *a, int na, const double *b, int nb,
                     err_info *e)
{
    stats_summary sa, sb;
    stats_summarize(&sa, a, na);
    stats_summarize(&sb, b, nb);
    return stats_welch_summary(out, &sa, &sb, e);
}

int stats_welch_summary(stats_welch *out, const stats_summary *a, const stats_summary *b,
                        err_info *e)
{
    *out = (stats_welch){.diff = NAN, .se = NAN, .t = NAN, .dof = NAN, .p = NAN,
                         .ci_lo = NAN, .ci_hi = NAN};
    int na = a->n, nb = b->n;
    if (na < 2 || nb < 2)
        return err_set(e, ERR_INVALID, "welch test needs two runs on each side (got %d and %d)",
                       na, nb);
    double ma = a->mean, mb = b->mean, sa = a->sd, sb = b->sd;
    double va = sa * sa / na, vb = sb * sb / nb; /* squared standard errors of each mean */
    out->diff = ma - mb;
    out->se = sqrt(va + vb);
    if (out->se == 0.0) {
        /* No spread on either side: equal means are indistinguishable, different ones are
         * different with certainty (the t statistic is infinite). */
        bool same = out->diff == 0.0;
        out->t = same ? 0.0 : copysign(INFINITY, out->diff);
        out->p = same ? 1.0 : 0.0;
        out->ci_lo = out->ci_hi = out->diff;
        return 0;
    }
    out->t = out->diff / out->se;
    /* Welch-Satterthwaite degrees of freedom; a side with zero variance contributes 0. */
    double den = va * va / (na - 1) + vb * vb / (nb - 1);
    out->dof = (va + vb) * (va + vb) / den;
    /* Two-sided p from the upper tail (Q), which keeps precision for large |t|. */
    out->p = 2.0 * gsl_cdf_tdist_Q(fabs(out->t), out->dof);
    if (out->p > 1.0)
        out->p = 1.0;
    double half = stats_t_quantile(0.975, out->dof) * out->se;
    out->ci_lo = out->diff - half;
    out->ci_hi = out->diff + half;
    return 0;
}

/* Order of p-values for Holm: ascending, ties by position so the result is deterministic. */
typedef struct holm_item {
    double p;
    int i;
} holm_item;

static int holm_cmp(const void *x, const void *y)
{
    const holm_item *a = x, *b = y;
    if (a->p < b->p)
        return -1;
    if (a->p > b->p)
        return 1;
    return (a->i > b->i) - (a->i < b->i);
}

int stats_holm(double *adj, const double *p, int m, err_info *e)
{
    if (m <= 0)
        return 0;
    holm_item *it = malloc((size_t)m * sizeof *it);
    if (!it)
        return err_set(e, ERR_NOMEM, "out of memory correcting %d p-values", m);
    int k = 0; /* the p-values that take part (not NAN) */
    for (int i = 0; i < m; i++)
        if (!isnan(p[i]))
            it[k++] = (holm_item){p[i], i};
    qsort(it, (size_t)k, sizeof *it, holm_cmp);
    for (int i = 0; i < m; i++)
        if (isnan(p[i]))
            adj[i] = NAN;
    /* Step down: the j-th smallest is multiplied by the number of hypotheses still standing,
     * and the running maximum keeps the adjusted values in the same order as the raw ones. */
    double run = 0.0;
    for (int j = 0; j < k; j++) {
        double v = fmin(1.0, (double)(k - j) * it[j].p);
        run = fmax(run, v);
        adj[it[j].i] = run;
    }
    free(it);
    return 0;
}
