/* metrics: classification metrics of one evaluation, from softmax scores and true labels.
 *
 * The module owns the definitions (and their edge cases) of every number the harness stores
 * per epoch: accuracy, per-class precision / recall / F1 / one-vs-rest AUROC, their macro
 * averages, support-weighted F1, and the confusion matrix. It follows scikit-learn's
 * definitions so the figures can be checked against it:
 *
 *   predicted class of row i = argmax_c prob[i,c]; ties go to the lowest index, NaN scores
 *   never win (a row of all NaN predicts class 0).
 *   For class c: tp = confusion[c][c], support = sum_p confusion[c][p] (rows with label c),
 *   predicted = sum_t confusion[t][c] (rows predicted c).
 *   precision = tp / predicted, recall = tp / support, F1 = 2 tp / (2 tp + fp + fn)
 *   (= 2PR/(P+R)). Zero-division convention (scikit-learn's zero_division=0): a class never
 *   predicted has precision 0; a class with no support has recall 0; F1 = 0 when P + R = 0.
 *   Macro averages are unweighted means over the classes that occur in labels or in the
 *   predictions (scikit-learn's default label set); f1_weighted = sum_c support_c F1_c / n.
 *   AUROC of class c: one-vs-rest from scores prob[:,c], by Mann-Whitney:
 *   AUC = (R+ - P(P+1)/2) / (P N), R+ = sum of ranks (1-based, ascending score, tied scores
 *   share their average rank) of the P positives, N = negatives. It equals the probability
 *   that a random positive scores above a random negative, ties counting 1/2. NaN scores rank
 *   lowest. AUROC is NaN when a class has no positives or no negatives; auroc_macro is the
 *   mean over classes where it is defined, NaN if none.
 *   loss is not computed here: the caller's value is stored as given. */
#ifndef BENCH_METRICS_H
#define BENCH_METRICS_H

#include <stdint.h>

#include "err.h"

#define METRICS_MAX_CLASSES 64

typedef struct metrics_class {
    double precision, recall, f1, auroc; /* auroc NaN when undefined (see above) */
    int64_t support;   /* rows whose true label is this class */
    int64_t predicted; /* rows predicted as this class */
} metrics_class;

typedef struct metrics {
    int k;          /* number of classes */
    int64_t n;      /* number of rows */
    double loss;    /* as given by the caller */
    double accuracy; /* correct / n */
    double precision_macro, recall_macro, f1_macro, f1_weighted, auroc_macro;
    metrics_class cls[METRICS_MAX_CLASSES]; /* [0, k) filled */
    int64_t confusion[METRICS_MAX_CLASSES][METRICS_MAX_CLASSES]; /* [true][predicted] */
} metrics;

/* *out = the metrics of prob (n,k) row-major softmax scores against labels (n), each in
 * [0, k). Requires 1 <= k <= METRICS_MAX_CLASSES and n >= 1; a label out of range is
 * ERR_INVALID naming the row. Allocates n * 8 bytes of scratch for the AUROC sort
 * (ERR_NOMEM); meant for once per evaluation, not the training loop. On error *out is
 * zeroed. */
int metrics_compute(metrics *out, const float *prob, const uint8_t *labels, int64_t n, int k,
                    double loss, err_info *e);

/* Index of the largest of scores (k), ties to the lowest index, NaN never wins; k >= 1. */
int metrics_argmax(const float *scores, int k);

#endif
