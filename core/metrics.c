/* metrics: classification metrics of one evaluation; definitions in metrics.h. */
#include "metrics.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One row as seen by the one-vs-rest AUROC of a class: its score and whether it is a
 * positive. Sorting these (rather than indices) needs no comparator context. */
typedef struct metrics_scored {
    float score;
    uint32_t positive;
} metrics_scored;

/* Ascending score, NaN below everything (a total order, which qsort requires). Rows with equal
 * scores may come out in any order; the rank sums below do not depend on it. */
static int metrics_cmp_scored(const void *pa, const void *pb)
{
    float a = ((const metrics_scored *)pa)->score;
    float b = ((const metrics_scored *)pb)->score;
    int na = isnan(a), nb = isnan(b);
    if (na || nb)
        return na - nb ? (na ? -1 : 1) : 0;
    return (a > b) - (a < b);
}

/* Two scores that share a rank: equal, or both NaN. */
static int metrics_tied(float a, float b)
{
    return a == b || (isnan(a) && isnan(b));
}

int metrics_argmax(const float *scores, int k)
{
    assert(k >= 1);
    int best = 0;
    /* Skip leading NaNs so that a NaN never wins; strict > keeps the lowest index on ties. */
    while (best < k - 1 && isnan(scores[best]))
        best++;
    if (isnan(scores[best]))
        return 0;
    for (int c = best + 1; c < k; c++)
        if (scores[c] > scores[best])
            best = c;
    return best;
}

/* AUROC of class c, one vs rest, from rows (n) with `positive` already set; sorts rows.
 * Mann-Whitney: ranks 1..n by ascending score, a run of t tied rows starting at 0-based
 * position i shares the average rank (i+1 + i+t)/2; AUC = (R+ - P(P+1)/2) / (P N). */
static double metrics_auroc(metrics_scored *rows, int64_t n, int64_t pos)
{
    int64_t neg = n - pos;
    if (pos == 0 || neg == 0)
        return NAN;
    qsort(rows, (size_t)n, sizeof *rows, metrics_cmp_scored);
    double rank_sum = 0.0; /* sums of half-integers up to n^2/2: exact in double for n < 2^26 */
    for (int64_t i = 0; i < n;) {
        int64_t j = i, pos_in_run = 0;
        while (j < n && metrics_tied(rows[j].score, rows[i].score)) {
            pos_in_run += rows[j].positive;
            j++;
        }
        rank_sum += (double)pos_in_run * (double)(i + 1 + j) / 2.0;
        i = j;
    }
    double u = rank_sum - (double)pos * (double)(pos + 1) / 2.0;
    return u / ((double)pos * (double)neg);
}

int metrics_compute(metrics *out, const float *prob, const uint8_t *labels, int64_t n, int k,
                    double loss, err_info *e)
{
    int rc = 0;
    metrics_scored *rows = NULL;
    memset(out, 0, sizeof *out);

    if (k < 1 || k > METRICS_MAX_CLASSES) {
        rc = err_set(e, ERR_INVALID, "number of classes %d out of range [1, %d]", k,
                     METRICS_MAX_CLASSES);
        goto done;
    }
    if (n < 1) {
        rc = err_set(e, ERR_INVALID, "no rows to evaluate (n = %lld)", (long long)n);
        goto done;
    }
    if ((uint64_t)n > SIZE_MAX / sizeof *rows) {
        rc = err_set(e, ERR_NOMEM, "too many rows to evaluate (n = %lld)", (long long)n);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] >= k) {
            rc = err_set(e, ERR_INVALID, "label %d of row %lld out of range [0, %d)",
                         labels[i], (long long)i, k);
            goto done;
        }
    }
    rows = malloc((size_t)n * sizeof *rows);
    if (!rows) {
        rc = err_set(e, ERR_NOMEM, "cannot allocate AUROC scratch for %lld rows", (long long)n);
        goto done;
    }

    out->k = k;
    out->n = n;
    out->loss = loss;

    /* Confusion matrix [true][predicted] and the counts derived from it. */
    int64_t correct = 0;
    for (int64_t i = 0; i < n; i++) {
        int p = metrics_argmax(prob + i * k, k);
        out->confusion[labels[i]][p]++;
        correct += p == labels[i];
    }
    out->accuracy = (double)correct / (double)n;

    int present = 0, with_auroc = 0;
    double sum_p = 0.0, sum_r = 0.0, sum_f1 = 0.0, sum_f1_w = 0.0, sum_auc = 0.0;
    for (int c = 0; c < k; c++) {
        metrics_class *m = &out->cls[c];
        for (int j = 0; j < k; j++) {
            m->support += out->confusion[c][j];
            m->predicted += out->confusion[j][c];
        }
        int64_t tp = out->confusion[c][c];
        int64_t fp = m->predicted - tp, fn = m->support - tp;
        /* Zero division gives 0 (scikit-learn's zero_division=0). */
        m->precision = m->predicted ? (double)tp / (double)m->predicted : 0.0;
        m->recall = m->support ? (double)tp / (double)m->support : 0.0;
        m->f1 = tp ? 2.0 * (double)tp / (double)(2 * tp + fp + fn) : 0.0;

        for (int64_t i = 0; i < n; i++) {
            rows[i].score = prob[i * k + c];
            rows[i].positive = labels[i] == c;
        }
        m->auroc = metrics_auroc(rows, n, m->support);

        if (m->support || m->predicted) { /* scikit-learn's default label set */
            present++;
            sum_p += m->precision;
            sum_r += m->recall;
            sum_f1 += m->f1;
        }
        sum_f1_w += (double)m->support * m->f1;
        if (!isnan(m->auroc)) {
            with_auroc++;
            sum_auc += m->auroc;
        }
    }
    /* present >= 1 because n >= 1: every row has a label. */
    out->precision_macro = sum_p / present;
    out->recall_macro = sum_r / present;
    out->f1_macro = sum_f1 / present;
    out->f1_weighted = sum_f1_w / (double)n;
    out->auroc_macro = with_auroc ? sum_auc / with_auroc : NAN;

done:
    free(rows);
    if (rc < 0)
        memset(out, 0, sizeof *out);
    return rc;
}
