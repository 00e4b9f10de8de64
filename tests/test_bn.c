/* Tests of core/bn: hand-computed training forward, running statistics, inference and backward,
 * in both layouts (S = 1 after an affine layer, S > 1 after a conv); normalization properties;
 * finite-difference gradients of x, gamma and beta; bitwise determinism; the order of the sums
 * (a known answer), and the kernels against bn.h's order under every kernel set and thread count. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bn.h"
#include "gradcheck.h"

/* one thread, the best kernel set of this CPU */
static const gemm_ctx CTX1 = {.threads = 1, .isa = KERN_AUTO, .team = NULL};

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
    bn_forward_train(&CTX1, y, xhat, inv_std, rm, rv, x, gamma, beta, 4, 1, 1, 0.9f, 0.5f);
    const float y_want[4] = {-1, 0, 1, 4}, xhat_want[4] = {-1, -0.5f, 0, 1.5f};
    assert_true(gc_near("y", y, y_want, 4, 1e-6));
    assert_true(gc_near("xhat", xhat, xhat_want, 4, 1e-6));
    assert_float_equal(inv_std[0], 0.5f, 1e-7f);
    assert_float_equal(rm[0], 0.3f, 1e-6f);
    assert_float_equal(rv[0], 1.25f, 1e-6f);
    const float dy[4] = {1, 0, 0, 0};
    float dx[4], dgamma[1] = {0}, dbeta[1] = {0};
    bn_backward(&CTX1, dx, dgamma, dbeta, dy, xhat, inv_std, gamma, 4, 1, 1);
    const float dx_want[4] = {0.5f, -0.375f, -0.25f, 0.125f};
    assert_true(gc_near("dx", dx, dx_want, 4, 1e-6));
    assert_float_equal(dgamma[0], -1.0f, 1e-6f);
    assert_float_equal(dbeta[0], 1.0f, 1e-6f);
    /* accumulation, and dx == NULL skips only dx */
    bn_backward(&CTX1, NULL, dgamma, dbeta, dy, xhat, inv_std, gamma, 4, 1, 1);
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
    bn_forward_train(&CTX1, y, xhat, inv_std, rm, rv, x, gamma, beta, 2, 2, 2, 0.9f, 4.0f);
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
    bn_forward_infer(&CTX1, y, x, gamma, beta, rm, rv, 3, 1, 1, 1.0f); /* (B=3, C=1, S=1) */
    assert_true(gc_near("y s1", y, want, 3, 1e-6));
    bn_forward_infer(&CTX1, y, x, gamma, beta, rm, rv, 1, 1, 3, 1.0f); /* (B=1, C=1, S=3) */
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
    bn_forward_train(&CTX1, y, xhat, inv_std, rm, rv, x, gamma, beta, batch, c, s, 0.9f, 1e-6f);
    for (int ch = 0; ch < c; ch++) {
        double mean, var;
        channel_stats(&mean, &var, y, batch, c, s, ch);
        assert_true(fabs(mean) < 1e-6);
        assert_true(fabs(var - 1.0) < 1e-4);
    }
    for (int step = 0; step < 300; step++)
        bn_forward_train(&CTX1, y, xhat, inv_std, rm, rv, x, gamma, beta, batch, c, s, 0.9f, 1e-6f);
    for (int ch = 0; ch < c; ch++) {
        double mean, var;
        channel_stats(&mean, &var, x, batch, c, s, ch);
        assert_true(fabs(rm[ch] - mean) < 1e-5 * (1 + fabs(mean)));
        assert_true(fabs(rv[ch] - var) < 1e-5 * (1 + var));
    }
    bn_forward_infer(&CTX1, yi, x, gamma, beta, rm, rv, batch, c, s, 1e-6f);
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
    bn_forward_train(&CTX1, t->y, t->xhat, t->inv_std, t->rm, t->rv, t->x, t->gamma, t->beta, t->batch, t->c, t->s,
                     0.9f, 1e-6f);
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
    bn_backward(&CTX1, dx, dg, dbt, t.wt, t.xhat, t.inv_std, t.gamma, batch, c, s);
    /* the two parameter gradients do not depend on dx == NULL */
    float *dg2 = calloc(c, sizeof(float)), *dbt2 = calloc(c, sizeof(float));
    assert_true(dg2 && dbt2);
    bn_backward(&CTX1, NULL, dg2, dbt2, t.wt, t.xhat, t.inv_std, t.gamma, batch, c, s);
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
        bn_forward_train(&CTX1, y[run], xhat[run], istd[run], rm[run], rv[run], t.x, t.gamma, t.beta, B, C, S, 0.9f,
                         1e-6f);
        bn_backward(&CTX1, dx[run], dg[run], dbt[run], t.wt, xhat[run], istd[run], t.gamma, B, C, S);
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

/* The order of the sums, by a case where it decides the answer: every (b, c) segment of 16
 * values holds 2^60 at i = 0, -2^60 at i = 8 and 1 elsewhere. bn.h's partial 0 takes i = 0 and
 * 8 (they cancel exactly) and partials 1..7 the ones, so with B = 2 the sum is 28 and the mean
 * 28/32 = 0.875; a single running sum in increasing (b, i) loses the ones added to +-2^60 and
 * ends at 7 (mean 0.21875). With momentum 0 the running mean is the batch mean, and with dy = x
 * dbeta = sum dy = 28. With S = 1 each value is its segment's i = 0, so the same 32 values laid
 * out as (B = 32, C, 1) in that order give the running sum's 7: mean 7/32. Under every kernel
 * set and 1..3 threads. */
static void test_sum_order_known_answer(void **state)
{
    (void)state;
    enum { B = 2, C = 3, S = 16, N = B * C * S };
    static float x[N], y[N], xhat[N], dx[N];
    float gamma[C], beta[C], istd[C], rm[C], rv[C], dg[C], dbt[C];
    for (int i = 0; i < N; i++)
        x[i] = i % S == 0 ? 0x1p60f : i % S == 8 ? -0x1p60f : 1.0f;
    const kern_isa isas[] = {KERN_GENERIC, KERN_AVX2, KERN_AVX512};
    for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++)
        for (int threads = 1; threads <= 3; threads++) {
            par_team *team = NULL;
            assert_int_equal(par_new(&team, threads, NULL), 0);
            const gemm_ctx ctx = {.threads = threads, .isa = isas[k], .team = team};
            for (int ch = 0; ch < C; ch++) {
                gamma[ch] = 1.0f;
                beta[ch] = rm[ch] = rv[ch] = dg[ch] = dbt[ch] = 0.0f;
            }
            bn_forward_train(&ctx, y, xhat, istd, rm, rv, x, gamma, beta, B, C, S, 0.0f, 1e-6f);
            bn_backward(&ctx, dx, dg, dbt, x, xhat, istd, gamma, B, C, S);
            for (int ch = 0; ch < C; ch++) {
                assert_true(rm[ch] == 0.875f);
                assert_true(dbt[ch] == 28.0f);
            }
            /* S = 1: (B = 32, C = 1, 1), the values in the same order */
            bn_forward_train(&ctx, y, xhat, istd, rm, rv, x, gamma, beta, B * S, 1, 1, 0.0f, 1e-6f);
            assert_true(rm[0] == 7.0f / 32.0f);
            par_free(team);
        }
}

/* ---- the vector and threaded kernels against bn.h's order of operations ----
 * bn_ref_* below compute bn.h's formulas with its stated order (8 double partial sums, partial
 * l taking the values of index i mod 8 == l inside each (b, c) segment, combined in the fixed
 * tree) in plain scalar C, one channel at a time. The kernels must equal them bitwise under
 * every kernel set (generic C, AVX2, AVX-512) and 1, 2 and 3 threads; and they must stay
 * within rounding of the textbook's single running sum (bn_ref with one partial). */

static double ref_tree(const double p[8])
{
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

/* partials: 8 (bn.h's order) or 1 (a single running sum in increasing (b, i), the old order) */
static void bn_ref_train(float *y, float *xhat, float *istd_out, float *rm, float *rv, const float *x,
                         const float *gamma, const float *beta, int batch, int c, int s, float momentum, float eps,
                         int partials)
{
    const double n = (double)batch * s;
    for (int ch = 0; ch < c; ch++) {
        double p[8] = {0}, q[8] = {0};
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < s; i++)
                p[i % partials] += (double)x[((size_t)b * c + ch) * s + i];
        const double mu = ref_tree(p) / n;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < s; i++) {
                const double d = (double)x[((size_t)b * c + ch) * s + i] - mu;
                q[i % partials] += d * d;
            }
        const double var = ref_tree(q) / n, istd = 1.0 / sqrt(var + (double)eps);
        istd_out[ch] = (float)istd;
        rm[ch] = momentum * rm[ch] + (1.0f - momentum) * (float)mu;
        rv[ch] = momentum * rv[ch] + (1.0f - momentum) * (float)var;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < s; i++) {
                const size_t at = ((size_t)b * c + ch) * s + i;
                xhat[at] = (float)(((double)x[at] - mu) * istd);
                y[at] = gamma[ch] * xhat[at] + beta[ch];
            }
    }
}

static void bn_ref_backward(float *dx, float *dg, float *dbt, const float *dy, const float *xhat, const float *istd,
                            const float *gamma, int batch, int c, int s, int partials)
{
    const double n = (double)batch * s;
    for (int ch = 0; ch < c; ch++) {
        double p[8] = {0}, q[8] = {0};
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < s; i++) {
                const size_t at = ((size_t)b * c + ch) * s + i;
                p[i % partials] += (double)dy[at];
                q[i % partials] += (double)dy[at] * (double)xhat[at];
            }
        const double sdy = ref_tree(p), sdyx = ref_tree(q);
        dbt[ch] += (float)sdy;
        dg[ch] += (float)sdyx;
        const double k = (double)gamma[ch] * (double)istd[ch];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < s; i++) {
                const size_t at = ((size_t)b * c + ch) * s + i;
                dx[at] = (float)(k * (((double)dy[at] - sdy / n) - (double)xhat[at] * (sdyx / n)));
            }
    }
}

/* Everything a layer call produces: forward (y, xhat, inv_std, running stats), backward (dx,
 * dgamma, dbeta accumulated onto nonzero values) and inference y. */
typedef struct bn_out {
    float *y, *xhat, *istd, *rm, *rv, *dx, *dg, *dbt, *yi;
} bn_out;

static void out_alloc(bn_out *o, size_t n, int c)
{
    o->y = malloc(n * sizeof(float));
    o->xhat = malloc(n * sizeof(float));
    o->dx = malloc(n * sizeof(float));
    o->yi = malloc(n * sizeof(float));
    o->istd = malloc(c * sizeof(float));
    o->rm = malloc(c * sizeof(float));
    o->rv = malloc(c * sizeof(float));
    o->dg = malloc(c * sizeof(float));
    o->dbt = malloc(c * sizeof(float));
    assert_true(o->y && o->xhat && o->dx && o->yi && o->istd && o->rm && o->rv && o->dg && o->dbt);
    for (int ch = 0; ch < c; ch++) { /* nonzero starting points: the updates must add to them */
        o->rm[ch] = 0.25f;
        o->rv[ch] = 1.5f;
        o->dg[ch] = 0.125f;
        o->dbt[ch] = -0.5f;
    }
}

static void out_free(bn_out *o)
{
    free(o->y);
    free(o->xhat);
    free(o->dx);
    free(o->yi);
    free(o->istd);
    free(o->rm);
    free(o->rv);
    free(o->dg);
    free(o->dbt);
}

static void out_equal(const bn_out *a, const bn_out *b, size_t n, int c, bool infer)
{
    assert_memory_equal(a->y, b->y, n * sizeof(float));
    assert_memory_equal(a->xhat, b->xhat, n * sizeof(float));
    assert_memory_equal(a->dx, b->dx, n * sizeof(float));
    assert_memory_equal(a->istd, b->istd, c * sizeof(float));
    assert_memory_equal(a->rm, b->rm, c * sizeof(float));
    assert_memory_equal(a->rv, b->rv, c * sizeof(float));
    assert_memory_equal(a->dg, b->dg, c * sizeof(float));
    assert_memory_equal(a->dbt, b->dbt, c * sizeof(float));
    if (infer)
        assert_memory_equal(a->yi, b->yi, n * sizeof(float));
}

/* The layer under a kernel set and thread count. */
static void run_kernels(bn_out *o, const bn_case *t, kern_isa isa, int threads)
{
    par_team *team = NULL;
    assert_int_equal(par_new(&team, threads, NULL), 0);
    const gemm_ctx ctx = {.threads = threads, .isa = isa, .team = team};
    bn_forward_train(&ctx, o->y, o->xhat, o->istd, o->rm, o->rv, t->x, t->gamma, t->beta, t->batch, t->c, t->s,
                     0.9f, 1e-6f);
    bn_backward(&ctx, o->dx, o->dg, o->dbt, t->wt, o->xhat, o->istd, t->gamma, t->batch, t->c, t->s);
    bn_forward_infer(&ctx, o->yi, t->x, t->gamma, t->beta, o->rm, o->rv, t->batch, t->c, t->s, 1e-6f);
    par_free(team);
}

static void kernels_case(int batch, int c, int s, uint64_t seed)
{
    bn_case t;
    case_init(&t, batch, c, s, seed);
    for (size_t i = 0; i < t.n; i++) /* an offset larger than the spread, per channel */
        t.x[i] = 3.0f + 2.0f * t.x[i] + (float)((i / (size_t)s) % (size_t)c);
    bn_out ref, old, got;
    out_alloc(&ref, t.n, c);
    out_alloc(&old, t.n, c);
    bn_ref_train(ref.y, ref.xhat, ref.istd, ref.rm, ref.rv, t.x, t.gamma, t.beta, batch, c, s, 0.9f, 1e-6f, 8);
    bn_ref_backward(ref.dx, ref.dg, ref.dbt, t.wt, ref.xhat, ref.istd, t.gamma, batch, c, s, 8);
    bn_ref_train(old.y, old.xhat, old.istd, old.rm, old.rv, t.x, t.gamma, t.beta, batch, c, s, 0.9f, 1e-6f, 1);
    bn_ref_backward(old.dx, old.dg, old.dbt, t.wt, old.xhat, old.istd, t.gamma, batch, c, s, 1);
    /* the two orders agree to float rounding */
    assert_true(gc_near("y vs one running sum", ref.y, old.y, t.n, 1e-5));
    assert_true(gc_near("dx vs one running sum", ref.dx, old.dx, t.n, 1e-5));
    assert_true(gc_near("dgamma vs one running sum", ref.dg, old.dg, (size_t)c, 1e-4));
    const kern_isa isas[] = {KERN_GENERIC, KERN_AVX2, KERN_AVX512};
    bn_out first;
    out_alloc(&first, t.n, c);
    bool have_first = false;
    for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++)
        for (int threads = 1; threads <= 3; threads++) {
            out_alloc(&got, t.n, c);
            run_kernels(&got, &t, isas[k], threads);
            out_equal(&got, &ref, t.n, c, false); /* bitwise bn.h's order */
            if (!have_first) {
                run_kernels(&first, &t, isas[k], threads);
                have_first = true;
            }
            out_equal(&got, &first, t.n, c, true); /* inference too, across sets and threads */
            out_free(&got);
        }
    out_free(&first);
    out_free(&ref);
    out_free(&old);
    case_free(&t);
}

/* conv-like shapes (S > 1): a tail of s mod 8 values per segment, s < 8, batch 1, channel
 * counts not a multiple of 8 or 16; sizes above the threading threshold (65536 values) so that
 * the team really runs: the ji2018 network's second BN (64 x 14x14, S = 196 = 24*8 + 4) */
static void test_kernels_spatial(void **state)
{
    (void)state;
    kernels_case(1, 3, 13, 101);
    kernels_case(5, 19, 9, 102);
    kernels_case(3, 2, 5, 103);
    kernels_case(4, 17, 8, 104);
    kernels_case(7, 64, 196, 105);
    kernels_case(1, 1, 70001, 106);
}

/* S = 1 (after an affine layer): channels in blocks (one partial, increasing b); channel counts
 * below, at and above a block's 64, batch 1, and above the threading threshold */
static void test_kernels_s1(void **state)
{
    (void)state;
    kernels_case(1, 5, 1, 111);
    kernels_case(9, 64, 1, 112);
    kernels_case(13, 150, 1, 113);
    kernels_case(120, 625, 1, 114);
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
        cmocka_unit_test(test_sum_order_known_answer),
        cmocka_unit_test(test_kernels_spatial),
        cmocka_unit_test(test_kernels_s1),
    };
    return cmocka_run_group_tests_name("bn", tests, NULL, NULL);
}
