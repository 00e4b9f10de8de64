/* Tests of core/conv: geometry, hand-computed forward and backward, finite-difference gradients
 * (the paper's 5x5 pad 0 and a 3x3 stride 2 pad 1 case, several channels and images),
 * accumulation into parameter gradients, dx == NULL, and bitwise determinism. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "gradcheck.h"

static void test_geom(void **state)
{
    (void)state;
    conv_geom g;
    err_info e = {0};
    /* the paper: 1x28x28, 30 filters 5x5, stride 1, pad 0 -> (28 - 5)/1 + 1 = 24 */
    assert_int_equal(conv_geom_init(&g, 1, 28, 28, 30, 5, 1, 0, &e), 0);
    assert_int_equal(g.oh, 24);
    assert_int_equal(g.ow, 24);
    /* B * 25 * 24*24 floats of im2col plus 16 chunk partials of dW (30*25) and db (30) */
    assert_int_equal(conv_ws_floats(&g, 100), (size_t)100 * 25 * 576 + 16 * (750 + 30));
    /* 3x7x6, 3x3 stride 2 pad 1: oh = (7 + 2 - 3)/2 + 1 = 4, ow = (6 + 2 - 3)/2 + 1 = 3 */
    assert_int_equal(conv_geom_init(&g, 3, 7, 6, 2, 3, 2, 1, &e), 0);
    assert_int_equal(g.oh, 4);
    assert_int_equal(g.ow, 3);
    /* invalid: kernel larger than the padded input, zero stride, negative and too large pads */
    assert_int_equal(conv_geom_init(&g, 1, 4, 4, 1, 5, 1, 0, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "kernel 5"));
    assert_int_equal(conv_geom_init(&g, 1, 4, 4, 1, 3, 0, 0, &e), ERR_INVALID);
    assert_int_equal(conv_geom_init(&g, 1, 4, 4, 1, 3, 1, -1, &e), ERR_INVALID);
    assert_int_equal(conv_geom_init(&g, 1, 4, 4, 1, 3, 1, 3, &e), ERR_INVALID);
    assert_int_equal(conv_geom_init(&g, 0, 4, 4, 1, 3, 1, 0, &e), ERR_INVALID);
}

/* x = [[1,2,3],[4,5,6],[7,8,9]], w = [[1,2],[3,4]], b = 0.5, stride 1, pad 0:
 *   y(0,0) = 1*1 + 2*2 + 3*4 + 4*5 = 37    y(0,1) = 1*2 + 2*3 + 3*5 + 4*6 = 47
 *   y(1,0) = 1*4 + 2*5 + 3*7 + 4*8 = 67    y(1,1) = 1*5 + 2*6 + 3*8 + 4*9 = 77   (+ 0.5 each)
 * With dy = ones(2,2):
 *   db = 4; dW(i,j) = sum of the inputs under w(i,j) over the 4 windows:
 *   dW = [[1+2+4+5, 2+3+5+6], [4+5+7+8, 5+6+8+9]] = [[12,16],[24,28]]
 *   dx(i,j) = sum of the weights that touch x(i,j): [[1,3,2],[4,10,6],[3,7,4]] */
static void test_known_answer_single(void **state)
{
    (void)state;
    conv_geom g;
    assert_int_equal(conv_geom_init(&g, 1, 3, 3, 1, 2, 1, 0, NULL), 0);
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 2, 3, 4}, b[1] = {0.5f};
    float y[4], ws[128], dx[9], dw[4] = {0}, db[1] = {0};
    assert_true(conv_ws_floats(&g, 1) <= 128);
    const gemm_ctx ctx = GEMM_CTX_DEFAULT;
    conv_forward(&ctx, y, ws, x, w, b, &g, 1);
    const float y_want[4] = {37.5f, 47.5f, 67.5f, 77.5f};
    assert_true(gc_near("y", y, y_want, 4, 0.0));
    const float dy[4] = {1, 1, 1, 1};
    conv_backward(&ctx, dx, dw, db, ws, dy, x, w, &g, 1);
    const float dw_want[4] = {12, 16, 24, 28}, dx_want[9] = {1, 3, 2, 4, 10, 6, 3, 7, 4};
    assert_true(gc_near("dw", dw, dw_want, 4, 0.0));
    assert_true(gc_near("dx", dx, dx_want, 9, 0.0));
    assert_float_equal(db[0], 4.0f, 0.0f);
}

/* Two channels, two filters, 3x3 kernel, stride 2, pad 1 on a 3x3 input: outputs (2x2) are
 * centred on input positions (0,0), (0,2), (2,0), (2,2), so each window sees a 2x2 corner.
 * x channel 0 = [[1,2,3],[4,5,6],[7,8,9]], channel 1 = all ones.
 * filter 0: channel-0 weights all 1, channel-1 weight 10 at the centre, else 0; bias 0
 *   -> corner sums of channel 0: 1+2+4+5 = 12, 2+3+5+6 = 16, 4+5+7+8 = 24, 5+6+8+9 = 28, plus 10
 *   -> [22, 26, 34, 38]
 * filter 1: channel-0 weights 0, channel-1 weights all 1; bias -1
 *   -> each window covers 4 in-bounds ones: 4 - 1 = 3 -> [3, 3, 3, 3] */
static void test_known_answer_stride_pad(void **state)
{
    (void)state;
    conv_geom g;
    assert_int_equal(conv_geom_init(&g, 2, 3, 3, 2, 3, 2, 1, NULL), 0);
    assert_int_equal(g.oh, 2);
    float x[18] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    float w[36] = {0};
    for (int i = 0; i < 9; i++) {
        w[i] = 1.0f;           /* filter 0, channel 0 */
        w[27 + i] = 1.0f;      /* filter 1, channel 1 */
    }
    w[9 + 4] = 10.0f;          /* filter 0, channel 1, centre */
    const float b[2] = {0.0f, -1.0f};
    float y[8], ws[1024];
    assert_true(conv_ws_floats(&g, 1) <= 1024);
    const gemm_ctx ctx = GEMM_CTX_DEFAULT;
    conv_forward(&ctx, y, ws, x, w, b, &g, 1);
    const float want[8] = {22, 26, 34, 38, 3, 3, 3, 3};
    assert_true(gc_near("y", y, want, 8, 0.0));
}

/* A randomized case: buffers, inputs and the fixed objective weights wt. */
typedef struct conv_case {
    conv_geom g;
    int batch;
    gemm_ctx ctx;
    size_t nx, nw, ny;
    float *x, *w, *b, *y, *ws, *wt;
} conv_case;

static void case_init(conv_case *t, int batch, int c, int h, int w, int f, int k, int stride, int pad,
                      uint64_t seed)
{
    memset(t, 0, sizeof *t);
    assert_int_equal(conv_geom_init(&t->g, c, h, w, f, k, stride, pad, NULL), 0);
    t->batch = batch;
    t->ctx = GEMM_CTX_DEFAULT;
    t->nx = (size_t)batch * c * h * w;
    t->nw = (size_t)f * c * k * k;
    t->ny = (size_t)batch * f * t->g.oh * t->g.ow;
    t->x = malloc(t->nx * sizeof(float));
    t->w = malloc(t->nw * sizeof(float));
    t->b = malloc((size_t)f * sizeof(float));
    t->y = malloc(t->ny * sizeof(float));
    t->wt = malloc(t->ny * sizeof(float));
    t->ws = malloc(conv_ws_floats(&t->g, batch) * sizeof(float));
    assert_true(t->x && t->w && t->b && t->y && t->wt && t->ws);
    gc_rand r = {seed};
    gc_fill(t->x, t->nx, -1.0f, 1.0f, &r);
    gc_fill(t->w, t->nw, -1.0f, 1.0f, &r);
    gc_fill(t->b, (size_t)f, -1.0f, 1.0f, &r);
    gc_fill(t->wt, t->ny, -1.0f, 1.0f, &r);
}

static void case_free(conv_case *t)
{
    free(t->x);
    free(t->w);
    free(t->b);
    free(t->y);
    free(t->wt);
    free(t->ws);
}

static double case_objective(void *ctx)
{
    conv_case *t = ctx;
    conv_forward(&t->ctx, t->y, t->ws, t->x, t->w, t->b, &t->g, t->batch);
    return gc_weighted_sum(t->y, t->wt, t->ny);
}

/* The layer is linear in x, w and b, so central differences are exact up to rounding:
 * with h = 1e-2 and |L| of order 10, float rounding of L is about 1e-5, i.e. 1e-3 in the
 * derivative. Tolerance: atol 2e-3 + rtol 1e-3; a wrong index or a missing term is O(0.1..1). */
static void gradcheck_case(int batch, int c, int h, int w, int f, int k, int stride, int pad, uint64_t seed)
{
    conv_case t;
    case_init(&t, batch, c, h, w, f, k, stride, pad, seed);
    float *dx = malloc(t.nx * sizeof(float)), *dw = calloc(t.nw, sizeof(float));
    float *db = calloc((size_t)f, sizeof(float));
    assert_true(dx && dw && db);
    case_objective(&t);
    conv_backward(&t.ctx, dx, dw, db, t.ws, t.wt, t.x, t.w, &t.g, batch);
    assert_true(gc_ok("conv dx", gc_check(t.x, dx, t.nx, case_objective, &t, 1e-2, 2e-3, 1e-3)));
    assert_true(gc_ok("conv dw", gc_check(t.w, dw, t.nw, case_objective, &t, 1e-2, 2e-3, 1e-3)));
    assert_true(gc_ok("conv db", gc_check(t.b, db, (size_t)f, case_objective, &t, 1e-2, 2e-3, 1e-3)));
    free(dx);
    free(dw);
    free(db);
    case_free(&t);
}

static void test_gradcheck_paper_5x5(void **state)
{
    (void)state;
    /* the paper's kernel (5x5, stride 1, pad 0) with 2 input channels, 3 filters, 2 images */
    gradcheck_case(2, 2, 8, 7, 3, 5, 1, 0, 11);
}

static void test_gradcheck_stride2_pad1(void **state)
{
    (void)state;
    /* 3 channels, non-square input, overlapping windows (k 3 > stride 2), padding 1 */
    gradcheck_case(3, 3, 7, 6, 2, 3, 2, 1, 12);
}

static void test_gradcheck_stride1_pad2(void **state)
{
    (void)state;
    /* "same" padding for a 5x5 kernel: every output pixel touches the padding near the edges */
    gradcheck_case(2, 2, 5, 6, 2, 5, 1, 2, 13);
}

/* dw and db accumulate: a second backward after a fresh forward adds the same gradient again;
 * dx == NULL changes neither. */
static void test_accumulate_and_null_dx(void **state)
{
    (void)state;
    conv_case t;
    case_init(&t, 2, 2, 6, 6, 3, 3, 1, 1, 21);
    float *dx = malloc(t.nx * sizeof(float));
    float *dw1 = calloc(t.nw, sizeof(float)), *db1 = calloc(3, sizeof(float));
    float *dw2 = calloc(t.nw, sizeof(float)), *db2 = calloc(3, sizeof(float));
    assert_true(dx && dw1 && db1 && dw2 && db2);
    case_objective(&t);
    conv_backward(&t.ctx, dx, dw1, db1, t.ws, t.wt, t.x, t.w, &t.g, t.batch);
    case_objective(&t);
    conv_backward(&t.ctx, NULL, dw2, db2, t.ws, t.wt, t.x, t.w, &t.g, t.batch);
    assert_memory_equal(dw1, dw2, t.nw * sizeof(float)); /* NULL dx: same parameter gradients */
    assert_memory_equal(db1, db2, 3 * sizeof(float));
    case_objective(&t);
    conv_backward(&t.ctx, NULL, dw2, db2, t.ws, t.wt, t.x, t.w, &t.g, t.batch);
    for (size_t i = 0; i < t.nw; i++)
        assert_float_equal(dw2[i], 2.0f * dw1[i], 1e-5f * (1.0f + fabsf(dw1[i])));
    for (int i = 0; i < 3; i++)
        assert_float_equal(db2[i], 2.0f * db1[i], 1e-5f * (1.0f + fabsf(db1[i])));
    free(dx);
    free(dw1);
    free(db1);
    free(dw2);
    free(db2);
    case_free(&t);
}

/* Same inputs twice -> bitwise the same y, dx, dw, db (with the given thread count). */
static void determinism_run(int threads, float *y, float *dx, float *dw, float *db)
{
    conv_case t;
    case_init(&t, 4, 3, 12, 12, 5, 5, 1, 0, 31);
    par_team *team = NULL;
    assert_int_equal(par_new(&team, threads, NULL), 0);
    t.ctx.threads = threads;
    t.ctx.team = team;
    case_objective(&t);
    memcpy(y, t.y, t.ny * sizeof(float));
    conv_backward(&t.ctx, dx, dw, db, t.ws, t.wt, t.x, t.w, &t.g, t.batch);
    case_free(&t);
    par_free(team);
}

static void test_bitwise_repeatable(void **state)
{
    (void)state;
    enum { NY = 4 * 5 * 8 * 8, NX = 4 * 3 * 12 * 12, NW = 5 * 3 * 25 };
    for (int threads = 1; threads <= 2; threads++) {
        static float y[2][NY], dx[2][NX], dw[2][NW], db[2][5];
        memset(dw, 0, sizeof dw);
        memset(db, 0, sizeof db);
        for (int run = 0; run < 2; run++)
            determinism_run(threads, y[run], dx[run], dw[run], db[run]);
        assert_memory_equal(y[0], y[1], sizeof y[0]);
        assert_memory_equal(dx[0], dx[1], sizeof dx[0]);
        assert_memory_equal(dw[0], dw[1], sizeof dw[0]);
        assert_memory_equal(db[0], db[1], sizeof db[0]);
    }
}

/* Images are spread over threads and parameter gradients are reduced over fixed image ranges,
 * so 1 and 2 threads give bitwise the same y, dx, dw and db; batch 37 makes uneven ranges. */
static void test_thread_count_invariant(void **state)
{
    (void)state;
    float *out[2][4];
    size_t sizes[4];
    for (int threads = 1; threads <= 2; threads++) {
        conv_case t;
        case_init(&t, 37, 2, 9, 9, 4, 3, 2, 1, 33);
        par_team *team = NULL;
        assert_int_equal(par_new(&team, threads, NULL), 0);
        t.ctx.threads = threads;
        t.ctx.team = team;
        sizes[0] = t.ny;
        sizes[1] = t.nx;
        sizes[2] = t.nw;
        sizes[3] = 4;
        float **o = out[threads - 1];
        o[0] = malloc(t.ny * sizeof(float));
        o[1] = malloc(t.nx * sizeof(float));
        o[2] = calloc(t.nw, sizeof(float));
        o[3] = calloc(4, sizeof(float));
        case_objective(&t);
        memcpy(o[0], t.y, t.ny * sizeof(float));
        conv_backward(&t.ctx, o[1], o[2], o[3], t.ws, t.wt, t.x, t.w, &t.g, t.batch);
        case_free(&t);
        par_free(team);
    }
    for (int i = 0; i < 4; i++) {
        assert_memory_equal(out[0][i], out[1][i], sizes[i] * sizeof(float));
        free(out[0][i]);
        free(out[1][i]);
    }
}

/* ---- the own kernel sets' products against their stated order (conv.h, gemm.h, kern.h) ----
 * With batch <= 16 every image is its own chunk, so under KERN_AVX2 and KERN_AVX512:
 *   y(b,f,p)  = fmaf chain over q in increasing order from b(f) of W(f,q)*col_b(q,p)
 *   dW(f,q)  += (float)(sum over b in order, in double, of the image's partial), the partial
 *               being, from Q = C*K*K >= 64 on (gemm()), the fmaf chain over p from +0 of
 *               dy(b,f,p)*col_b(q,p) (below 64 taps: kern_conv_dw_avx2's 8 lanes, test_kern.c)
 * checked bitwise against these scalar loops; and y, dx, dW and db the same bits for AVX2 and
 * AVX-512 and 1..3 threads (batch 37: uneven chunks of several images), and near the BLAS path
 * (KERN_GENERIC, another order). Shapes: ji2018's second conv (Q = 288, P = 196), Q = 72, 64
 * (P = 4 < 16, the few-pixel path), 63 (just below: the AVX2 kernels), batch 1. */

/* col_b(q,p) of image b: x(b, c, oy*s + i - pad, ox*s + j - pad) or 0 in the padding. */
static float ref_col(const conv_case *t, int b, int q, int p)
{
    const conv_geom *g = &t->g;
    const int c = q / (g->k * g->k), i = (q / g->k) % g->k, j = q % g->k;
    const int iy = (p / g->ow) * g->stride + i - g->pad, ix = (p % g->ow) * g->stride + j - g->pad;
    if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w)
        return 0.0f;
    return t->x[(((size_t)b * g->c + c) * g->h + iy) * g->w + ix];
}

typedef struct conv_outs {
    float *y, *dx, *dw, *db;
} conv_outs;

static void outs_run(conv_outs *o, conv_case *t, kern_isa isa, int threads)
{
    const size_t f = (size_t)t->g.f;
    o->y = malloc(t->ny * sizeof(float));
    o->dx = malloc(t->nx * sizeof(float));
    o->dw = malloc(t->nw * sizeof(float));
    o->db = malloc(f * sizeof(float));
    assert_true(o->y && o->dx && o->dw && o->db);
    for (size_t i = 0; i < t->nw; i++)
        o->dw[i] = 0.25f; /* dW and db accumulate */
    for (size_t i = 0; i < f; i++)
        o->db[i] = -0.5f;
    par_team *team = NULL;
    assert_int_equal(par_new(&team, threads, NULL), 0);
    const gemm_ctx ctx = {.threads = threads, .isa = isa, .team = team};
    conv_forward(&ctx, o->y, t->ws, t->x, t->w, t->b, &t->g, t->batch);
    conv_backward(&ctx, o->dx, o->dw, o->db, t->ws, t->wt, t->x, t->w, &t->g, t->batch);
    par_free(team);
}

static void outs_free(conv_outs *o)
{
    free(o->y);
    free(o->dx);
    free(o->dw);
    free(o->db);
}

static void own_kernels_case(int batch, int c, int h, int w, int f, int k, int stride, int pad, uint64_t seed)
{
    if (kern_resolve(KERN_AVX2) != KERN_AVX2)
        return; /* no own kernels on this CPU: nothing to compare */
    conv_case t;
    case_init(&t, batch, c, h, w, f, k, stride, pad, seed);
    const int q = c * k * k, p = t.g.oh * t.g.ow;
    const kern_isa isas[] = {KERN_AVX2, KERN_AVX512}; /* AVX512 resolves to AVX2 without it */
    conv_outs first, got, blas;
    outs_run(&first, &t, KERN_AVX2, 1);
    if (batch <= 16) {
        for (int b = 0; b < batch; b++)
            for (int fi = 0; fi < f; fi++)
                for (int pi = 0; pi < p; pi++) {
                    float acc = t.b[fi];
                    for (int qi = 0; qi < q; qi++)
                        acc = fmaf(t.w[(size_t)fi * q + qi], ref_col(&t, b, qi, pi), acc);
                    assert_true(first.y[((size_t)b * f + fi) * p + pi] == acc);
                }
        if (q >= 64)
            for (int fi = 0; fi < f; fi++)
                for (int qi = 0; qi < q; qi++) {
                    double sum = 0.0;
                    for (int b = 0; b < batch; b++) {
                        float chain = 0.0f;
                        for (int pi = 0; pi < p; pi++)
                            chain = fmaf(t.wt[((size_t)b * f + fi) * p + pi], ref_col(&t, b, qi, pi), chain);
                        sum += chain;
                    }
                    assert_true(first.dw[(size_t)fi * q + qi] == 0.25f + (float)sum);
                }
    }
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++)
        for (int threads = 1; threads <= 3; threads++) {
            outs_run(&got, &t, isas[i], threads);
            assert_memory_equal(got.y, first.y, t.ny * sizeof(float));
            assert_memory_equal(got.dx, first.dx, t.nx * sizeof(float));
            assert_memory_equal(got.dw, first.dw, t.nw * sizeof(float));
            assert_memory_equal(got.db, first.db, (size_t)f * sizeof(float));
            outs_free(&got);
        }
    outs_run(&blas, &t, KERN_GENERIC, 2);
    const double tol = 1e-5 * (q + p * batch); /* sums of q or p*batch terms of size <= 1 */
    assert_true(gc_near("y vs blas", first.y, blas.y, t.ny, tol));
    assert_true(gc_near("dx vs blas", first.dx, blas.dx, t.nx, tol));
    assert_true(gc_near("dw vs blas", first.dw, blas.dw, t.nw, tol));
    assert_true(gc_near("db vs blas", first.db, blas.db, (size_t)f, tol));
    outs_free(&first);
    outs_free(&blas);
    case_free(&t);
}

static void test_own_kernels_order(void **state)
{
    (void)state;
    own_kernels_case(3, 32, 14, 14, 64, 3, 1, 1, 41); /* ji2018's second conv */
    own_kernels_case(5, 8, 6, 7, 13, 3, 1, 1, 42);    /* Q = 72, P = 42 */
    own_kernels_case(4, 16, 4, 4, 3, 2, 2, 0, 43);    /* Q = 64, P = 4 */
    own_kernels_case(1, 7, 9, 8, 10, 3, 1, 0, 44);    /* Q = 63, batch 1 */
    own_kernels_case(37, 9, 5, 6, 11, 3, 1, 1, 45);   /* Q = 81, uneven chunks */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_geom),
        cmocka_unit_test(test_known_answer_single),
        cmocka_unit_test(test_known_answer_stride_pad),
        cmocka_unit_test(test_gradcheck_paper_5x5),
        cmocka_unit_test(test_gradcheck_stride2_pad1),
        cmocka_unit_test(test_gradcheck_stride1_pad2),
        cmocka_unit_test(test_accumulate_and_null_dx),
        cmocka_unit_test(test_bitwise_repeatable),
        cmocka_unit_test(test_thread_count_invariant),
        cmocka_unit_test(test_own_kernels_order),
    };
    return cmocka_run_group_tests_name("conv", tests, NULL, NULL);
}
