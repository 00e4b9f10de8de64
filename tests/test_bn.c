/* Tests of core/bn: hand-computed training forward, running statistics, inference and backward,
 * in both layouts (S = 1 after an affine layer, S > 1 after a conv); normalization properties;
 * finite-difference gradients of x, gamma and beta; bitwise determinism. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bn.h"
#include "gradcheck.h"

/* S = 1, B = 4, C = 1, x = [1,2,3,6]: mean 3, deviations [-2,-1,0,3], biased variance
 * (4+1+0+9)/4 = 3.5; with eps = 0.5, inv_std = 1/sqrt(4) = 0.5, xhat = [-1,-0.5,0,1.5];
 * gamma 2, beta 1 -> y = [-1,0,1,4].
 * Running stats from (0, 1) with momentum 0.9: mean 0.9*0 + 0.1*3 = 0.3, var 0.9*1 + 0.1*3.5 = 1.25.
 * Backward with dy = [1,0,0,0] (N = 4): dbeta = 1, dgamma = sum dy*xhat = -1,
 *   dx = gamma*inv_std*(dy - mean dy - xhat*mean(dy*xhat)) = 1*(dy - 0.25 + 0.25*xhat)
 *      = [0.5, -0.375, -0.25, 0.125]. */
static void test_known_answer_s1(void **state)
{
    (void)state;
    const float x[4] = {1, 2, 3, 6}, gamma[1] = {2}, beta[1] = {1};
    float y[4], xhat[4], inv_std[1], rm[1] = {0}, rv[1] = {1};
    bn_forward_train(y, xhat, inv_std, rm, rv, x, gamma, beta, 4, 1, 1, 0.9f, 0.5f);
    const float y_want[4] = {-1, 0, 1, 4}, xhat_want[4] = {-1, -0.5f, 0, 1.5f};
    assert_true(gc_near("y", y, y_want, 4, 1e-6));
    assert_true(gc_near("xhat", xhat, xhat_want, 4, 1e-6));
    assert_float_equal(inv_std[0], 0.5f, 1e-7f);
    assert_float_equal(rm[0], 0.3f, 1e-6f);
    assert_float_equal(rv[0], 1.25f, 1e-6f);
    const float dy[4] = {1, 0, 0, 0};
    float dx[4], dgamma[1] = {0}, dbeta[1] = {0};
    bn_backward(dx, dgamma, dbeta, dy, xhat, inv_std, gamma, 4, 1, 1);
    const float dx_want[4] = {0.5f, -0.375f, -0.25f, 0.125f};
    assert_true(gc_near("dx", dx, dx_want, 4, 1e-6));
    assert_float_equal(dgamma[0], -1.0f, 1e-6f);
    assert_float_equal(dbeta[0], 1.0f, 1e-6f);
    /* accumulation, and dx == NULL skips only dx */
    bn_backward(NULL, dgamma, dbeta, dy, xhat, inv_std, gamma, 4, 1, 1);
    assert_float_equal(dgamma[0], -2.0f, 1e-6f);
    assert_float_equal(dbeta[0], 2.0f, 1e-6f);
}

/* S = 2, B = 2, C = 2, stored (b, c, s): x = [1,3, 10,10, 5,7, 10,10].
 * Channel 0 sees {1,3,5,7}: mean 4, variance (9+1+1+9)/4 = 5; with eps 4, inv_std = 1/3 and
 *   xhat = [-1, -1/3, 1/3, 1]; gamma 3, beta 0 -> [-3, -1, 1, 3].
 * Channel 1 sees {10,10,10,10}: variance 0, inv_std = 1/sqrt(4) = 0.5, xhat 0 -> y = beta = 2.
 * So y = [-3,-1, 2,2, 1,3, 2,2]. */
static void test_known_answer_s2(void **state)
{
    (void)state;
    const float x[8] = {1, 3, 10, 10, 5, 7, 10, 10}, gamma[2] = {3, 1}, beta[2] = {0, 2};
    float y[8], xhat[8], inv_std[2], rm[2] = {0, 0}, rv[2] = {1, 1};
    bn_forward_train(y, xhat, inv_std, rm, rv, x, gamma, beta, 2, 2, 2, 0.9f, 4.0f);
    const float y_want[8] = {-3, -1, 2, 2, 1, 3, 2, 2};
    assert_true(gc_near("y", y, y_want, 8, 1e-6));
    assert_float_equal(inv_std[0], 1.0f / 3.0f, 1e-7f);
    assert_float_equal(inv_std[1], 0.5f, 1e-7f);
    /* running: mean 0.1*[4, 10] = [0.4, 1]; var 0.9 + 0.1*[5, 0] = [1.4, 0.9] */
    assert_float_equal(rm[0], 0.4f, 1e-6f);
    assert_float_equal(rm[1], 1.0f, 1e-6f);
    assert_float_equal(rv[0], 1.4f, 1e-6f);
    assert_float_equal(rv[1], 0.9f, 1e-6f);
}

/* Inference: run_mean 1, run_var 3, eps 1 -> std 2; gamma 3, beta 1, x = [1,5,-3]
 *   y = 3*(x - 1)/2 + 1 = [1, 7, -5]. With S = 3 and C = 1 the same numbers form one image. */
static void test_infer_known_answer(void **state)
{
    (void)state;
    const float x[3] = {1, 5, -3}, gamma[1] = {3}, beta[1] = {1}, rm[1] = {1}, rv[1] = {3};
    const float want[3] = {1, 7, -5};
    float y[3];
    bn_forward_infer(y, x, gamma, beta, rm, rv, 3, 1, 1, 1.0f); /* (B=3, C=1, S=1) */
    assert_true(gc_near("y s1", y, want, 3, 1e-6));
    bn_forward_infer(y, x, gamma, beta, rm, rv, 1, 1, 3, 1.0f); /* (B=1, C=1, S=3) */
    assert_true(gc_near("y s3", y, want, 3, 1e-6));
}

/* Per-channel mean and biased variance of a (B,C,S) tensor, in double. */
static void channel_stats(double *mean, double *var, const float *y, int batch, int c, int s, int ch)
{
    double sum = 0, ss = 0;
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < s; i++)
            sum += y[((size_t)b * c + ch) * s + i];
    *mean = sum / ((double)batch * s);
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < s; i++) {
            double d = y[((size_t)b * c + ch) * s + i] - *mean;
            ss += d * d;
        }
    *var = ss / ((double)batch * s);
}

/* Training output with gamma 1, beta 0 has per-channel mean 0 and variance var/(var + eps),
 * i.e. 1 within 1e-4 for the textbook eps 1e-6 and inputs of variance ~1 (shifted and scaled
 * per channel so that a per-element or per-batch normalization would fail). Then, after many
 * steps on the same batch, the running statistics converge to the batch ones
 * (0.9^300 ~ 2e-14), so inference reproduces the training output. */
static void normalization_case(int batch, int c, int s)
{
    const size_t n = (size_t)batch * c * s;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float)), *xhat = malloc(n * sizeof(float));
    float *yi = malloc(n * sizeof(float));
    float *gamma = malloc(c * sizeof(float)), *beta = malloc(c * sizeof(float)), *inv_std = malloc(c * sizeof(float));
    float *rm = calloc(c, sizeof(float)), *rv = malloc(c * sizeof(float));
    assert_true(x && y && xhat && yi && gamma && beta && inv_std && rm && rv);
    gc_rand r = {81};
    gc_fill(x, n, -1.0f, 1.0f, &r);
    for (int b = 0; b < batch; b++)
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < s; i++)
                x[((size_t)b * c + ch) * s + i] = x[((size_t)b * c + ch) * s + i] * (float)(ch + 1) + 5.0f * (float)ch;
    for (int ch = 0; ch < c; ch++) {
        gamma[ch] = 1.0f;
        beta[ch] = 0.0f;
        rv[ch] = 1.0f;
    }
    bn_forward_train(y, xhat, inv_std, rm, rv, x, gamma, beta, batch, c, s, 0.9f, 1e-6f);
    for (int ch = 0; ch < c; ch++) {
        double mean, var;
        channel_stats(&mean, &var, y, batch, c, s, ch);
        assert_true(fabs(mean) < 1e-6);
        assert_true(fabs(var - 1.0) < 1e-4);
    }
    for (int step = 0; step < 300; step++)
        bn_forward_train(y, xhat, inv_std, rm, rv, x, gamma, beta, batch, c, s, 0.9f, 1e-6f);
    for (int ch = 0; ch < c; ch++) {
        double mean, var;
        channel_stats(&mean, &var, x, batch, c, s, ch);
        assert_true(fabs(rm[ch] - mean) < 1e-5 * (1 + fabs(mean)));
        assert_true(fabs(rv[ch] - var) < 1e-5 * (1 + var));
    }
    bn_forward_infer(yi, x, gamma, beta, rm, rv, batch, c, s, 1e-6f);
    assert_true(gc_near("infer vs train", yi, y, n, 1e-4));
    free(x);
    free(y);
    free(xhat);
    free(yi);
    free(gamma);
    free(beta);
    free(inv_std);
    free(rm);
    free(rv);
}

static void test_normalizes_s1(void **state)
{
    (void)state;
    normalization_case(16, 5, 1);
}

static void test_normalizes_s_gt_1(void **state)
{
    (void)state;
    normalization_case(3, 4, 12);
}

typedef struct bn_case {
    int batch, c, s;
    size_t n;
    float *x, *y, *xhat, *inv_std, *rm, *rv, *gamma, *beta, *wt;
} bn_case;

static void case_init(bn_case *t, int batch, int c, int s, uint64_t seed)
{
    *t = (bn_case){.batch = batch, .c = c, .s = s, .n = (size_t)batch * c * s};
    t->x = malloc(t->n * sizeof(float));
    t->y = malloc(t->n * sizeof(float));
    t->xhat = malloc(t->n * sizeof(float));
    t->wt = malloc(t->n * sizeof(float));
    t->inv_std = malloc(c * sizeof(float));
    t->rm = calloc(c, sizeof(float));
    t->rv = calloc(c, sizeof(float));
    t->gamma = malloc(c * sizeof(float));
    t->beta = malloc(c * sizeof(float));
    assert_true(t->x && t->y && t->xhat && t->wt && t->inv_std && t->rm && t->rv && t->gamma && t->beta);
    gc_rand r = {seed};
    gc_fill(t->x, t->n, -1.0f, 1.0f, &r);
    gc_fill(t->wt, t->n, -1.0f, 1.0f, &r);
    gc_fill(t->gamma, c, 0.5f, 1.5f, &r);
    gc_fill(t->beta, c, -0.5f, 0.5f, &r);
}

static void case_free(bn_case *t)
{
    free(t->x);
    free(t->y);
    free(t->xhat);
    free(t->wt);
    free(t->inv_std);
    free(t->rm);
    free(t->rv);
    free(t->gamma);
    free(t->beta);
}

static double case_objective(void *ctx)
{
    bn_case *t = ctx;
    bn_forward_train(t->y, t->xhat, t->inv_std, t->rm, t->rv, t->x, t->gamma, t->beta, t->batch, t->c, t->s, 0.9f,
                     1e-6f);
    return gc_weighted_sum(t->y, t->wt, t->n);
}

/* BN is nonlinear in x. With h = 3e-3: curvature error ~ h^2 * |d3L| ~ 1e-5 * 10 = 1e-4;
 * rounding of L (|L| ~ 5, float y) ~ 1e-6 / 6e-3 ~ 2e-4. Tolerance atol 2e-3 + rtol 1e-2; the
 * gradient without the mean/variance terms (a common bug) is off by O(0.1..1). */
static void gradcheck_case(int batch, int c, int s, uint64_t seed)
{
    bn_case t;
    case_init(&t, batch, c, s, seed);
    float *dx = malloc(t.n * sizeof(float)), *dg = calloc(c, sizeof(float)), *dbt = calloc(c, sizeof(float));
    assert_true(dx && dg && dbt);
    case_objective(&t);
    bn_backward(dx, dg, dbt, t.wt, t.xhat, t.inv_std, t.gamma, batch, c, s);
    /* the two parameter gradients do not depend on dx == NULL */
    float *dg2 = calloc(c, sizeof(float)), *dbt2 = calloc(c, sizeof(float));
    assert_true(dg2 && dbt2);
    bn_backward(NULL, dg2, dbt2, t.wt, t.xhat, t.inv_std, t.gamma, batch, c, s);
    assert_memory_equal(dg, dg2, c * sizeof(float));
    assert_memory_equal(dbt, dbt2, c * sizeof(float));
    assert_true(gc_ok("bn dx", gc_check(t.x, dx, t.n, case_objective, &t, 3e-3, 2e-3, 1e-2)));
    assert_true(gc_ok("bn dgamma", gc_check(t.gamma, dg, c, case_objective, &t, 3e-3, 2e-3, 1e-2)));
    assert_true(gc_ok("bn dbeta", gc_check(t.beta, dbt, c, case_objective, &t, 3e-3, 2e-3, 1e-2)));
    free(dx);
    free(dg);
    free(dbt);
    free(dg2);
    free(dbt2);
    case_free(&t);
}

static void test_gradcheck_s1(void **state)
{
    (void)state;
    gradcheck_case(6, 3, 1, 91);
}

static void test_gradcheck_s_gt_1(void **state)
{
    (void)state;
    gradcheck_case(3, 2, 5, 92);
}

/* Same inputs twice -> bitwise the same outputs, caches, running stats and gradients. */
static void test_bitwise_repeatable(void **state)
{
    (void)state;
    enum { B = 10, C = 6, S = 9, N = B * C * S };
    static float y[2][N], xhat[2][N], dx[2][N], istd[2][C], rm[2][C], rv[2][C], dg[2][C], dbt[2][C];
    bn_case t;
    case_init(&t, B, C, S, 93);
    for (int run = 0; run < 2; run++) {
        for (int ch = 0; ch < C; ch++)
            rv[run][ch] = 1.0f;
        bn_forward_train(y[run], xhat[run], istd[run], rm[run], rv[run], t.x, t.gamma, t.beta, B, C, S, 0.9f, 1e-6f);
        bn_backward(dx[run], dg[run], dbt[run], t.wt, xhat[run], istd[run], t.gamma, B, C, S);
    }
    assert_memory_equal(y[0], y[1], sizeof y[0]);
    assert_memory_equal(xhat[0], xhat[1], sizeof xhat[0]);
    assert_memory_equal(dx[0], dx[1], sizeof dx[0]);
    assert_memory_equal(istd[0], istd[1], sizeof istd[0]);
    assert_memory_equal(rm[0], rm[1], sizeof rm[0]);
    assert_memory_equal(rv[0], rv[1], sizeof rv[0]);
    assert_memory_equal(dg[0], dg[1], sizeof dg[0]);
    assert_memory_equal(dbt[0], dbt[1], sizeof dbt[0]);
    case_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer_s1),
        cmocka_unit_test(test_known_answer_s2),
        cmocka_unit_test(test_infer_known_answer),
        cmocka_unit_test(test_normalizes_s1),
        cmocka_unit_test(test_normalizes_s_gt_1),
        cmocka_unit_test(test_gradcheck_s1),
        cmocka_unit_test(test_gradcheck_s_gt_1),
        cmocka_unit_test(test_bitwise_repeatable),
    };
    return cmocka_run_group_tests_name("bn", tests, NULL, NULL);
}
