/* Tests of core/metrics: hand-computed confusion cases, the zero-division convention,
 * AUROC with ties / perfect / inverted rankings, argmax ties, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "rng.h"

#define assert_near(got, want, tol)                                                            \
    do {                                                                                       \
        double g_ = (got), w_ = (want);                                                        \
        if (!(fabs(g_ - w_) <= (tol)))                                                         \
            fail_msg("%s = %.12g, want %.12g", #got, g_, w_);                                  \
    } while (0)

/* prob (n,k) = one-hot-ish scores that make row i predict pred[i]: 0.9 on the predicted
 * class, the rest spread evenly. */
static void scores_for_predictions(float *prob, const int *pred, int n, int k)
{
    for (int i = 0; i < n; i++)
        for (int c = 0; c < k; c++)
            prob[i * k + c] = c == pred[i] ? 0.9f : 0.1f / (float)(k - 1);
}

/* k = 3, n = 8.  labels 0 0 0 0 1 1 2 2,  predictions 0 0 0 1 1 2 1 0.
 * confusion [true][pred]:  0: (3 1 0)   1: (0 1 1)   2: (1 1 0)
 * support (4 2 2), predicted (4 3 1), tp (3 1 0)
 * precision (3/4, 1/3, 0/1 = 0)   recall (3/4, 1/2, 0)
 * F1: 2tp/(2tp+fp+fn): c0 6/8 = 0.75, c1 2/(2+2+1) = 0.4, c2 0
 * accuracy 4/8; macro P (0.75 + 1/3)/3 = 0.361111..., macro R 1.25/3 = 0.416666...,
 * macro F1 1.15/3 = 0.383333..., weighted F1 (4*0.75 + 2*0.4 + 2*0)/8 = 0.475.
 * (scikit-learn's precision/recall/f1_score with average='macro'/'weighted' give these.) */
static void test_confusion_case(void **state)
{
    (void)state;
    static const uint8_t labels[8] = {0, 0, 0, 0, 1, 1, 2, 2};
    static const int pred[8] = {0, 0, 0, 1, 1, 2, 1, 0};
    float prob[8 * 3];
    scores_for_predictions(prob, pred, 8, 3);
    metrics m;
    err_info e = {0};
    assert_int_equal(metrics_compute(&m, prob, labels, 8, 3, 1.25, &e), 0);
    assert_int_equal(m.k, 3);
    assert_int_equal(m.n, 8);
    assert_true(m.loss == 1.25);
    static const int64_t want_conf[3][3] = {{3, 1, 0}, {0, 1, 1}, {1, 1, 0}};
    for (int t = 0; t < 3; t++)
        for (int p = 0; p < 3; p++)
            assert_int_equal(m.confusion[t][p], want_conf[t][p]);
    static const int64_t support[3] = {4, 2, 2}, predicted[3] = {4, 3, 1};
    static const double p[3] = {0.75, 1.0 / 3, 0}, r[3] = {0.75, 0.5, 0}, f1[3] = {0.75, 0.4, 0};
    for (int c = 0; c < 3; c++) {
        assert_int_equal(m.cls[c].support, support[c]);
        assert_int_equal(m.cls[c].predicted, predicted[c]);
        assert_near(m.cls[c].precision, p[c], 1e-12);
        assert_near(m.cls[c].recall, r[c], 1e-12);
        assert_near(m.cls[c].f1, f1[c], 1e-12);
    }
    assert_near(m.accuracy, 0.5, 1e-12);
    assert_near(m.precision_macro, 1.0833333333333333 / 3, 1e-12);
    assert_near(m.recall_macro, 1.25 / 3, 1e-12);
    assert_near(m.f1_macro, 1.15 / 3, 1e-12);
    assert_near(m.f1_weighted, 0.475, 1e-12);
}

/* Zero division. k = 3, labels 0 1 2 2, predictions 0 1 1 1: class 2 is never predicted.
 *   c0: P 1/1, R 1/1, F1 1.   c1: tp 1, predicted 3: P 1/3, R 1/1, F1 2/(2+2+0) = 0.5.
 *   c2: predicted 0 -> P 0 (not NaN), R 0/2 = 0, F1 0 (P + R = 0).
 *   macro P (1 + 1/3 + 0)/3 = 4/9, macro R 2/3, macro F1 1.5/3 = 0.5.
 * The same data with k = 4 leaves class 3 absent from labels and predictions: it is left out of
 * the macro means (scikit-learn's default label set), so they do not change. */
static void test_never_predicted_class(void **state)
{
    (void)state;
    static const uint8_t labels[4] = {0, 1, 2, 2};
    static const int pred[4] = {0, 1, 1, 1};
    for (int k = 3; k <= 4; k++) {
        float prob[4 * 4];
        scores_for_predictions(prob, pred, 4, k);
        metrics m;
        assert_int_equal(metrics_compute(&m, prob, labels, 4, k, 0.0, NULL), 0);
        assert_int_equal(m.cls[2].predicted, 0);
        assert_true(m.cls[2].precision == 0.0);
        assert_true(m.cls[2].recall == 0.0);
        assert_true(m.cls[2].f1 == 0.0);
        assert_near(m.cls[1].precision, 1.0 / 3, 1e-12);
        assert_near(m.cls[1].f1, 0.5, 1e-12);
        assert_near(m.precision_macro, 4.0 / 9, 1e-12);
        assert_near(m.recall_macro, 2.0 / 3, 1e-12);
        assert_near(m.f1_macro, 0.5, 1e-12);
        /* weighted F1: (1*1 + 1*0.5 + 2*0)/4 */
        assert_near(m.f1_weighted, 0.375, 1e-12);
        if (k == 4) {
            assert_int_equal(m.cls[3].support, 0);
            assert_true(m.cls[3].precision == 0.0 && m.cls[3].f1 == 0.0);
            assert_true(isnan(m.cls[3].auroc));
        }
    }
}

/* A class predicted but absent from the labels: recall 0 by the zero-division rule, and it
 * counts in the macro means. k = 2, labels 0 0, predictions 0 1:
 *   c0: P 1/1, R 1/2, F1 2/(2+0+1) = 2/3.   c1: P 0/1 = 0, R 0 (no support), F1 0.
 *   macro P 0.5, macro R 0.25, macro F1 1/3, weighted F1 (2 * 2/3 + 0)/2 = 2/3.
 *   AUROC undefined for both (class 0 has no negatives, class 1 no positives): NaN. */
static void test_predicted_but_absent_class(void **state)
{
    (void)state;
    static const uint8_t labels[2] = {0, 0};
    static const float prob[4] = {0.8f, 0.2f, 0.3f, 0.7f};
    metrics m;
    assert_int_equal(metrics_compute(&m, prob, labels, 2, 2, 0.0, NULL), 0);
    assert_true(m.cls[1].recall == 0.0 && m.cls[1].precision == 0.0);
    assert_near(m.cls[0].f1, 2.0 / 3, 1e-12);
    assert_near(m.precision_macro, 0.5, 1e-12);
    assert_near(m.recall_macro, 0.25, 1e-12);
    assert_near(m.f1_macro, 1.0 / 3, 1e-12);
    assert_near(m.f1_weighted, 2.0 / 3, 1e-12);
    assert_true(isnan(m.cls[0].auroc) && isnan(m.cls[1].auroc));
    assert_true(isnan(m.auroc_macro));
}

/* AUROC with ties. k = 2, rows (p0, p1) and labels:
 *   (0.9 0.1) 0,  (0.6 0.4) 0,  (0.6 0.4) 1,  (0.2 0.8) 1,  (0.6 0.4) 1.
 * Class 1, scores p1: positives 0.4 0.8 0.4, negatives 0.1 0.4. Over the 6 (pos, neg) pairs:
 *   0.4>0.1: 1, 0.4=0.4: 1/2, 0.8>0.1: 1, 0.8>0.4: 1, 0.4>0.1: 1, 0.4=0.4: 1/2  -> 5/6.
 *   Ranks: 0.1 -> 1, the three 0.4 -> (2+3+4)/3 = 3, 0.8 -> 5; R+ = 3+5+3 = 11,
 *   U = 11 - 3*4/2 = 5, AUC = 5/(3*2).
 * Class 0 (scores p0 = 1 - p1, same ties, roles swapped) is 5/6 as well; macro 5/6.
 * Predictions (argmax): 0 0 0 1 0 -> accuracy 3/5. */
static void test_auroc_ties(void **state)
{
    (void)state;
    static const float prob[10] = {0.9f, 0.1f, 0.6f, 0.4f, 0.6f, 0.4f, 0.2f, 0.8f, 0.6f, 0.4f};
    static const uint8_t labels[5] = {0, 0, 1, 1, 1};
    metrics m;
    assert_int_equal(metrics_compute(&m, prob, labels, 5, 2, 0.0, NULL), 0);
    assert_near(m.cls[1].auroc, 5.0 / 6, 1e-12);
    assert_near(m.cls[0].auroc, 5.0 / 6, 1e-12);
    assert_near(m.auroc_macro, 5.0 / 6, 1e-12);
    assert_near(m.accuracy, 0.6, 1e-12);
}

/* Perfect ranking -> 1, inverted -> 0, all scores tied -> 1/2, each exactly. */
static void test_auroc_extremes(void **state)
{
    (void)state;
    enum { N = 10 };
    float prob[N * 2];
    uint8_t up[N], down[N];
    for (int i = 0; i < N; i++) {
        prob[2 * i + 1] = (float)(i + 1) / 16.0f; /* class-1 score grows with i */
        prob[2 * i] = 1.0f - prob[2 * i + 1];
        up[i] = i >= 6;   /* positives have the highest scores */
        down[i] = i < 4;  /* positives have the lowest scores */
    }
    metrics m;
    assert_int_equal(metrics_compute(&m, prob, up, N, 2, 0.0, NULL), 0);
    assert_true(m.cls[1].auroc == 1.0);
    assert_true(m.cls[0].auroc == 1.0);
    assert_true(m.auroc_macro == 1.0);
    assert_int_equal(metrics_compute(&m, prob, down, N, 2, 0.0, NULL), 0);
    assert_true(m.cls[1].auroc == 0.0);
    assert_true(m.auroc_macro == 0.0);

    for (int i = 0; i < 2 * N; i++)
        prob[i] = 0.5f;
    assert_int_equal(metrics_compute(&m, prob, up, N, 2, 0.0, NULL), 0);
    assert_true(m.cls[1].auroc == 0.5);
    /* All rows tie -> all predict class 0 (lowest index). */
    assert_int_equal(m.cls[0].predicted, N);
}

/* The rank formula agrees with the pairwise definition P(s+ > s-) + P(s+ = s-)/2 computed by
 * brute force, on 300 rows, k = 4, scores quantised to 8 levels so ties are frequent. */
static void test_auroc_matches_pairwise(void **state)
{
    (void)state;
    enum { N = 300, K = 4 };
    static float prob[N * K];
    static uint8_t labels[N];
    rng r;
    rng_init(&r, 5, RNG_STREAM_SAMPLE);
    for (int i = 0; i < N; i++) {
        labels[i] = (uint8_t)rng_below(&r, K);
        for (int c = 0; c < K; c++)
            prob[i * K + c] = (float)rng_below(&r, 8) / 8.0f + (c == labels[i] ? 0.25f : 0.0f);
    }
    metrics m;
    assert_int_equal(metrics_compute(&m, prob, labels, N, K, 0.0, NULL), 0);
    double macro = 0.0;
    for (int c = 0; c < K; c++) {
        double wins = 0.0;
        int64_t pos = 0, neg = 0;
        for (int i = 0; i < N; i++) {
            if (labels[i] != c)
                continue;
            pos++;
            for (int j = 0; j < N; j++) {
                if (labels[j] == c)
                    continue;
                float a = prob[i * K + c], b = prob[j * K + c];
                wins += a > b ? 1.0 : a == b ? 0.5 : 0.0;
            }
        }
        neg = N - pos;
        double want = wins / ((double)pos * (double)neg);
        assert_near(m.cls[c].auroc, want, 1e-12);
        assert_true(want > 0.55 && want < 1.0); /* informative but imperfect scores */
        macro += want / K;
        assert_int_equal(m.cls[c].support, pos);
    }
    assert_near(m.auroc_macro, macro, 1e-12);
    /* Perfect predictions give accuracy 1 and every P/R/F1 1: a sanity anchor. */
    static float onehot[N * K];
    for (int i = 0; i < N; i++)
        for (int c = 0; c < K; c++)
            onehot[i * K + c] = c == labels[i] ? 1.0f : 0.0f;
    assert_int_equal(metrics_compute(&m, onehot, labels, N, K, 0.0, NULL), 0);
    assert_true(m.accuracy == 1.0 && m.f1_macro == 1.0 && m.f1_weighted == 1.0);
    assert_true(m.precision_macro == 1.0 && m.recall_macro == 1.0 && m.auroc_macro == 1.0);
}

static void test_argmax(void **state)
{
    (void)state;
    const float tie2[2] = {0.5f, 0.5f};
    const float tie_late[3] = {0.2f, 0.4f, 0.4f};
    const float nan_first[3] = {NAN, 0.1f, 0.3f};
    const float nan_mid[3] = {0.2f, NAN, 0.1f};
    const float all_nan[2] = {NAN, NAN};
    const float neg[3] = {-3.0f, -1.0f, -2.0f};
    assert_int_equal(metrics_argmax(tie2, 2), 0);
    assert_int_equal(metrics_argmax(tie_late, 3), 1);
    assert_int_equal(metrics_argmax(nan_first, 3), 2);
    assert_int_equal(metrics_argmax(nan_mid, 3), 0);
    assert_int_equal(metrics_argmax(all_nan, 2), 0);
    assert_int_equal(metrics_argmax(neg, 3), 1);
    assert_int_equal(metrics_argmax(neg, 1), 0);
}

/* NaN scores (a diverged network) still give defined metrics: they rank lowest. */
static void test_nan_scores(void **state)
{
    (void)state;
    static const float prob[8] = {NAN, NAN, 0.3f, 0.7f, 0.6f, 0.4f, NAN, 0.9f};
    static const uint8_t labels[4] = {0, 1, 0, 1};
    metrics m;
    assert_int_equal(metrics_compute(&m, prob, labels, 4, 2, NAN, NULL), 0);
    assert_true(isnan(m.loss));
    /* predictions: 0 (all NaN), 1, 0, 1 -> all correct */
    assert_true(m.accuracy == 1.0);
    /* class 1 scores: NaN(neg) 0.7(pos) 0.4(neg) 0.9(pos): positives above all negatives. */
    assert_true(m.cls[1].auroc == 1.0);
    /* class 0 scores: NaN(pos) 0.3(neg) 0.6(pos) NaN(neg): ranks NaN,NaN -> 1.5 each, 0.3 -> 3,
     * 0.6 -> 4; R+ = 1.5 + 4 = 5.5, U = 5.5 - 3 = 2.5, AUC = 2.5/4. */
    assert_near(m.cls[0].auroc, 0.625, 1e-12);
}

static void test_errors(void **state)
{
    (void)state;
    static const float prob[6] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    static const uint8_t labels[3] = {0, 1, 2};
    metrics m;
    err_info e = {0};
    m.k = 7;
    assert_int_equal(metrics_compute(&m, prob, labels, 3, 2, 0.0, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "row 2"));
    assert_int_equal(m.k, 0); /* zeroed on error */
    assert_int_equal(metrics_compute(&m, prob, labels, 0, 2, 0.0, &e), ERR_INVALID);
    assert_int_equal(metrics_compute(&m, prob, labels, 1, 0, 0.0, &e), ERR_INVALID);
    assert_int_equal(metrics_compute(&m, prob, labels, 1, METRICS_MAX_CLASSES + 1, 0.0, &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "classes"));
    /* k = 1 is allowed: everything is class 0, AUROC undefined. */
    assert_int_equal(metrics_compute(&m, prob, labels, 1, 1, 0.0, &e), 0);
    assert_true(m.accuracy == 1.0 && isnan(m.auroc_macro));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_confusion_case),
        cmocka_unit_test(test_never_predicted_class),
        cmocka_unit_test(test_predicted_but_absent_class),
        cmocka_unit_test(test_auroc_ties),
        cmocka_unit_test(test_auroc_extremes),
        cmocka_unit_test(test_auroc_matches_pairwise),
        cmocka_unit_test(test_argmax),
        cmocka_unit_test(test_nan_scores),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
