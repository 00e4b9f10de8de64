/* Tests of core/loss: hand-computed softmax cross-entropy and gradient, probabilities summing to
 * one, huge logits, finite-difference gradient, bitwise determinism. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <string.h>

#include "gradcheck.h"
#include "loss.h"

/* Row 0: logits [0, ln 2, ln 5] -> exp = [1, 2, 5] / 8 -> p = [0.125, 0.25, 0.625], label 2.
 * Row 1: logits [1000, 1000, 1000] -> p = [1/3, 1/3, 1/3] (finite thanks to the max shift), label 0.
 * loss = -(log(0.625 + 1e-7) + log(1/3 + 1e-7)) / 2 = (0.470003469 + 1.098611989) / 2 ~ 0.784307729
 * gradient (p - onehot)/2: row 0 [0.0625, 0.125, -0.1875], row 1 [-1/3, 1/6, 1/6]. */
static void test_known_answer(void **state)
{
    (void)state;
    const float z[6] = {0.0f, logf(2.0f), logf(5.0f), 1000.0f, 1000.0f, 1000.0f};
    const uint8_t labels[2] = {2, 0};
    float p[6], dz[6];
    const double loss = loss_softmax_xent_forward(p, z, labels, 2, 3);
    const double want = -(log(0.625 + 1e-7) + log(1.0 / 3.0 + 1e-7)) / 2.0;
    assert_true(fabs(loss - want) < 1e-6);
    assert_true(fabs(loss - 0.784307729) < 1e-8);
    const float p_want[6] = {0.125f, 0.25f, 0.625f, 1.0f / 3, 1.0f / 3, 1.0f / 3};
    assert_true(gc_near("p", p, p_want, 6, 1e-6));
    loss_softmax_xent_backward(dz, p, labels, 2, 3);
    const float dz_want[6] = {0.0625f, 0.125f, -0.1875f, -1.0f / 3, 1.0f / 6, 1.0f / 6};
    assert_true(gc_near("dz", dz, dz_want, 6, 1e-6));
}

/* Huge logits stay finite: [FLT_MAX, -FLT_MAX, 0] -> p = [1, 0, 0]; with label 1 the loss is
 * -log(0 + 1e-7) = 7 ln 10 ~ 16.118 (the 1e-7 guard), and the gradient is (p - onehot)/1. */
static void test_huge_logits(void **state)
{
    (void)state;
    const float z[3] = {FLT_MAX, -FLT_MAX, 0.0f};
    const uint8_t labels[1] = {1};
    float p[3], dz[3];
    const double loss = loss_softmax_xent_forward(p, z, labels, 1, 3);
    assert_true(isfinite(loss));
    assert_true(fabs(loss - 7.0 * log(10.0)) < 1e-6);
    const float p_want[3] = {1, 0, 0};
    assert_true(gc_near("p", p, p_want, 3, 0.0));
    loss_softmax_xent_backward(dz, p, labels, 1, 3);
    const float dz_want[3] = {1, -1, 0};
    assert_true(gc_near("dz", dz, dz_want, 3, 0.0));
}

/* Rows of random logits (spread over +-30) sum to 1 within float rounding, and all p in [0,1]. */
static void test_prob_sums_to_one(void **state)
{
    (void)state;
    enum { B = 50, K = 10 };
    float z[B * K], p[B * K];
    uint8_t labels[B];
    gc_rand r = {151};
    gc_fill(z, B * K, -30.0f, 30.0f, &r);
    for (int b = 0; b < B; b++)
        labels[b] = (uint8_t)(b % K);
    const double loss = loss_softmax_xent_forward(p, z, labels, B, K);
    assert_true(isfinite(loss) && loss >= 0.0);
    for (int b = 0; b < B; b++) {
        double s = 0;
        for (int j = 0; j < K; j++) {
            assert_true(p[b * K + j] >= 0.0f && p[b * K + j] <= 1.0f);
            s += p[b * K + j];
        }
        assert_true(fabs(s - 1.0) < 1e-6);
    }
}

enum { GB = 4, GK = 5 };

typedef struct loss_case {
    float z[GB * GK], p[GB * GK];
    uint8_t labels[GB];
} loss_case;

static double case_objective(void *ctx)
{
    loss_case *t = ctx;
    return loss_softmax_xent_forward(t->p, t->z, t->labels, GB, GK);
}

/* The loss itself is the objective. h = 1e-3: curvature error ~ h^2 * |d3L| <= 1e-6;
 * the loss is computed in double from float logits, so rounding is ~1e-16 / 2e-3. The
 * 1e-7 inside the log makes the true derivative differ from (p - onehot)/B by a relative
 * 1e-7 / p_label <= 1e-5 here. Tolerance atol 1e-5 + rtol 1e-3. */
static void test_gradcheck(void **state)
{
    (void)state;
    loss_case t;
    gc_rand r = {161};
    gc_fill(t.z, GB * GK, -2.0f, 2.0f, &r);
    const uint8_t labels[GB] = {0, 4, 2, 2};
    memcpy(t.labels, labels, sizeof labels);
    float dz[GB * GK];
    case_objective(&t);
    loss_softmax_xent_backward(dz, t.p, t.labels, GB, GK);
    assert_true(gc_ok("loss dz", gc_check(t.z, dz, GB * GK, case_objective, &t, 1e-3, 1e-5, 1e-3)));
}

/* Same inputs twice -> bitwise the same loss, probabilities and gradient. */
static void test_bitwise_repeatable(void **state)
{
    (void)state;
    enum { B = 100, K = 10 };
    float z[B * K], p[2][B * K], dz[2][B * K];
    uint8_t labels[B];
    double loss[2];
    gc_rand r = {171};
    gc_fill(z, B * K, -5.0f, 5.0f, &r);
    for (int b = 0; b < B; b++)
        labels[b] = (uint8_t)((b * 7) % K);
    for (int run = 0; run < 2; run++) {
        loss[run] = loss_softmax_xent_forward(p[run], z, labels, B, K);
        loss_softmax_xent_backward(dz[run], p[run], labels, B, K);
    }
    assert_memory_equal(&loss[0], &loss[1], sizeof loss[0]);
    assert_memory_equal(p[0], p[1], sizeof p[0]);
    assert_memory_equal(dz[0], dz[1], sizeof dz[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_huge_logits),
        cmocka_unit_test(test_prob_sums_to_one),
        cmocka_unit_test(test_gradcheck),
        cmocka_unit_test(test_bitwise_repeatable),
    };
    return cmocka_run_group_tests_name("loss", tests, NULL, NULL);
}
