/* Tests of core/kern (run-time selected kernels) and of what uses them: the direct AVX2
 * convolution products against scalar references of their documented operation order (bitwise),
 * the fused conv+relu+maxpool layers against the separate layers (bitwise), the paper's network
 * fused vs unfused (bitwise), across thread counts (bitwise) and across kernel sets (close),
 * and the kernels description for provenance. The AVX2 cases are skipped on a CPU without
 * AVX2+FMA. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "gradcheck.h"
#include "kern.h"
#include "models.h"
#include "net.h"
#include "act.h"
#include "pool.h"

static void fill(float *a, size_t n, gc_rand *r, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(lo + (hi - lo) * gc_uniform(r));
}

static bool have_avx2(void) { return kern_has_avx2(kern_resolve(KERN_AUTO)); }
static bool have_avx512(void) { return kern_resolve(KERN_AUTO) == KERN_AVX512; }

static void test_resolve_and_names(void **state)
{
    (void)state;
    assert_int_equal(kern_resolve(KERN_GENERIC), KERN_GENERIC);
    const kern_isa best = kern_resolve(KERN_AUTO);
    assert_true(best == KERN_GENERIC || best == KERN_AVX2 || best == KERN_AVX512);
    assert_int_equal(kern_resolve(KERN_AVX512), best); /* the best set at most AVX-512 */
    /* AVX2 asked on a CPU without it: generic; on one with AVX-512: AVX2 */
    assert_int_equal(kern_resolve(KERN_AVX2), best == KERN_GENERIC ? KERN_GENERIC : KERN_AVX2);
    assert_false(kern_has_avx2(KERN_GENERIC));
    assert_true(kern_has_avx2(KERN_AVX2) && kern_has_avx2(KERN_AVX512));
    assert_string_equal(kern_isa_name(KERN_GENERIC), "generic");
    assert_string_equal(kern_isa_name(KERN_AVX2), "avx2");
    assert_string_equal(kern_isa_name(KERN_AVX512), "avx512");
    assert_string_equal(kern_isa_name(KERN_AUTO), "auto");
    const char *names[] = {"auto", "generic", "avx2", "avx512"};
    for (int i = 0; i < 4; i++) {
        kern_isa k = KERN_GENERIC;
        assert_true(kern_isa_from_name(&k, names[i]));
        assert_int_equal(k, (kern_isa)i);
    }
    kern_isa k = KERN_AVX2;
    assert_false(kern_isa_from_name(&k, "sse"));
    assert_int_equal(k, KERN_AVX2);
}

/* Shapes that hit every tile remainder: F = 7 (6+1) and 13 (6+6+1), Q = 1, 11, 25, P = 37
 * (16+16+5) and 576. The reference is the fma chain of kern.h, so equality is exact. */
static void test_fwd_bitwise(void **state)
{
    (void)state;
    if (!have_avx2())
        skip();
    const int shapes[][3] = {{7, 11, 37}, {13, 25, 576}, {1, 1, 16}, {30, 25, 576}, {5, 3, 9}};
    gc_rand r = {11};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int f = shapes[s][0], q = shapes[s][1], p = shapes[s][2];
        float *w = malloc(sizeof(float) * (size_t)(f * q)), *b = malloc(sizeof(float) * (size_t)f);
        float *col = malloc(sizeof(float) * (size_t)(q * p));
        float *y = malloc(sizeof(float) * (size_t)(f * p)), *want = malloc(sizeof(float) * (size_t)(f * p));
        fill(w, (size_t)(f * q), &r, -1, 1);
        fill(b, (size_t)f, &r, -1, 1);
        fill(col, (size_t)(q * p), &r, -1, 1);
        for (int j = 0; j < f; j++)
            for (int px = 0; px < p; px++) {
                float acc = b[j];
                for (int t = 0; t < q; t++)
                    acc = fmaf(w[j * q + t], col[t * p + px], acc);
                want[j * p + px] = acc;
            }
        kern_conv_fwd_avx2(y, w, b, col, f, q, p);
        assert_memory_equal(y, want, sizeof(float) * (size_t)(f * p));
        free(w), free(b), free(col), free(y), free(want);
    }
}

/* The direct forward against im2col + kern_conv_fwd_avx2, bitwise: filter tails (F = 30 =
 * 7*4+2, 7 = 4+3, 1), C > 1, output rows of 24 (the paper), 8, 5 (masked), 29 (24 + masked 5),
 * 40 (24 + 16). */
static void test_fwd_direct_bitwise(void **state)
{
    (void)state;
    if (!have_avx2())
        skip();
    /* f, c, h, w, k */
    const int shapes[][5] = {{30, 1, 28, 28, 5}, {7, 3, 10, 12, 5}, {1, 2, 9, 9, 5}, {5, 1, 6, 33, 5},
                             {3, 2, 7, 42, 3}, {2, 1, 3, 3, 3}};
    gc_rand r = {16};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int f = shapes[s][0], c = shapes[s][1], h = shapes[s][2], wd = shapes[s][3], k = shapes[s][4];
        conv_geom g;
        assert_int_equal(conv_geom_init(&g, c, h, wd, f, k, 1, 0, NULL), 0);
        const int q = c * k * k, p = g.oh * g.ow;
        float *x = malloc(sizeof(float) * (size_t)(c * h * wd)), *w = malloc(sizeof(float) * (size_t)(f * q));
        float *b = malloc(sizeof(float) * (size_t)f), *col = malloc(sizeof(float) * (size_t)(q * p));
        float *y = malloc(sizeof(float) * (size_t)(f * p)), *want = malloc(sizeof(float) * (size_t)(f * p));
        fill(x, (size_t)(c * h * wd), &r, 0, 1);
        fill(w, (size_t)(f * q), &r, -1, 1);
        fill(b, (size_t)f, &r, -1, 1);
        for (int t = 0; t < q; t++) {
            const int ci = t / (k * k), i = (t / k) % k, j = t % k;
            for (int px = 0; px < p; px++)
                col[t * p + px] = x[(ci * h + px / g.ow + i) * wd + px % g.ow + j];
        }
        kern_conv_fwd_avx2(want, w, b, col, f, q, p);
        kern_conv_fwd_direct_avx2(y, w, b, x, f, c, h, wd, k);
        assert_memory_equal(y, want, sizeof(float) * (size_t)(f * p));
        free(x), free(w), free(b), free(col), free(y), free(want);
    }
}

/* The AVX2 2x2 pool (+ ReLU) against pool_max_forward (+ act_relu_forward), bitwise in values
 * and argmax: few distinct values (ties), -0, NaN, odd sizes (floor), widths 16 .. 40. */
static void test_maxpool2_bitwise(void **state)
{
    (void)state;
    if (!have_avx2())
        skip();
    const int shapes[][2] = {{24, 24}, {5, 17}, {2, 16}, {7, 40}, {4, 31}};
    gc_rand r = {17};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int h = shapes[s][0], w = shapes[s][1];
        pool_geom pg;
        assert_int_equal(pool_geom_init(&pg, 1, h, w, 2, 2, NULL), 0);
        const size_t n = (size_t)(h * w), on = (size_t)(pg.oh * pg.ow);
        float *x = malloc(n * 4), *y = malloc(on * 4), *want = malloc(on * 4);
        int32_t *a = malloc(on * 4), *wa = malloc(on * 4);
        for (size_t i = 0; i < n; i++)
            x[i] = (float)((int)(gc_uniform(&r) * 5.0) - 2) * 0.5f; /* -1 .. 1 in steps of 0.5 */
        x[3] = -0.0f;
        x[w + 2] = NAN;
        x[5] = NAN;
        for (int relu = 0; relu < 2; relu++) {
            pool_max_forward(want, wa, x, &pg, 1);
            if (relu)
                act_relu_forward(want, want, on);
            kern_maxpool2_avx2(y, a, x, h, w, relu);
            assert_memory_equal(y, want, on * 4);
            assert_memory_equal(a, wa, on * 4);
            memset(y, 0, on * 4);
            kern_maxpool2_avx2(y, NULL, x, h, w, relu);
            assert_memory_equal(y, want, on * 4);
        }
        free(x), free(y), free(want), free(a), free(wa);
    }
}

/* The AVX-512 convolution fused with its 2x2 max-pool (+ ReLU) against the scalar fma chain of
 * kern.h (conv) then pool_max_forward (+ act_relu_forward): bitwise in values and argmax.
 * Shapes cover both of its paths (row pairs pooled in registers for OW = 16, 24, 32; wide
 * planes otherwise), W < 16, odd OW and OH (floor), more than 16 pooled columns (two and three
 * column blocks), several channels, F not a multiple of the 6-filter tile, OH = 1 (no pooled
 * row); values once continuous, once on a grid of halves (exact sums: ties, zeros, and -0 from
 * a filter whose bias is -0). */
static void test_conv_pool_avx512_bitwise(void **state)
{
    (void)state;
    if (!have_avx512())
        skip();
    /* f, c, h, w, k */
    const int shapes[][5] = {{30, 1, 28, 28, 5}, {7, 3, 10, 12, 5}, {1, 2, 9, 9, 5},   {5, 1, 6, 33, 5},
                             {13, 2, 7, 42, 3},  {2, 1, 3, 3, 3},   {8, 1, 40, 70, 5},  {6, 4, 11, 20, 1},
                             /* the row-pair tiles: OW = 16, 24 with OH odd, 32; K = 3, C = 3 */
                             {4, 2, 20, 20, 5},  {3, 1, 27, 28, 5}, {7, 1, 36, 36, 5},  {2, 3, 18, 18, 3}};
    gc_rand r = {18};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int grid = 0; grid < 2; grid++) {
            const int f = shapes[s][0], c = shapes[s][1], h = shapes[s][2], wd = shapes[s][3], k = shapes[s][4];
            const int oh = h - k + 1, ow = wd - k + 1, q = c * k * k, p = oh * ow;
            pool_geom pg;
            assert_int_equal(pool_geom_init(&pg, f, oh, ow, 2, 2, NULL), oh >= 2 && ow >= 2 ? 0 : ERR_INVALID);
            const int ph = oh / 2, pw = ow / 2;
            const size_t on = (size_t)(f * ph * pw) + 1;
            float *x = malloc(sizeof(float) * (size_t)(c * h * wd)), *w = malloc(sizeof(float) * (size_t)(f * q));
            float *b = malloc(sizeof(float) * (size_t)f), *conv = malloc(sizeof(float) * (size_t)(f * p));
            float *tmp = malloc(sizeof(float) * (size_t)(KERN_WIDE_FILTERS * oh * wd));
            float *y = malloc(on * 4), *want = malloc(on * 4);
            int32_t *a = malloc(on * 4), *wa = malloc(on * 4);
            if (grid) {
                for (int i = 0; i < c * h * wd; i++)
                    x[i] = (float)(int)(gc_uniform(&r) * 3.0) * 0.5f;
                for (int i = 0; i < f * q; i++)
                    w[i] = (float)((int)(gc_uniform(&r) * 5.0) - 2) * 0.5f;
                for (int i = 0; i < f; i++)
                    b[i] = 0.0f;
                b[0] = -0.0f;
                for (int i = 0; i < q; i++)
                    w[i] = -0.5f; /* filter 0: -0 where the input is all zero */
            } else {
                fill(x, (size_t)(c * h * wd), &r, 0, 1);
                fill(w, (size_t)(f * q), &r, -1, 1);
                fill(b, (size_t)f, &r, -1, 1);
            }
            if (grid)
                for (int i = 0; i < wd && i < c * h * wd; i++)
                    x[i] = 0.0f; /* a zero first row */
            for (int fi = 0; fi < f; fi++)
                for (int px = 0; px < p; px++) {
                    float acc = b[fi];
                    for (int t = 0; t < q; t++) {
                        const int ci = t / (k * k), i = (t / k) % k, j = t % k;
                        acc = fmaf(w[fi * q + t], x[(ci * h + px / ow + i) * wd + px % ow + j], acc);
                    }
                    conv[fi * p + px] = acc;
                }
            for (int relu = 0; relu < 2; relu++) {
                memset(y, 0x55, on * 4);
                memset(a, 0x55, on * 4);
                memcpy(want, y, on * 4);
                memcpy(wa, a, on * 4);
                if (ph > 0 && pw > 0) {
                    pool_max_forward(want, wa, conv, &pg, 1);
                    if (relu)
                        act_relu_forward(want, want, on - 1);
                }
                kern_conv_pool_avx512(y, a, tmp, w, b, x, f, c, h, wd, k, relu);
                assert_memory_equal(y, want, on * 4); /* the last float: nothing past the output */
                assert_memory_equal(a, wa, on * 4);
                memset(y, 0x55, on * 4);
                kern_conv_pool_avx512(y, NULL, tmp, w, b, x, f, c, h, wd, k, relu);
                assert_memory_equal(y, want, on * 4);
            }
            free(x), free(w), free(b), free(conv), free(tmp), free(y), free(want), free(a), free(wa);
        }
}

/* kern_sum8_avx2 == the scalar sum of kern.h's order, bitwise, for lengths around multiples of
 * 8 (the tail goes to the partial of its index) and values of very different sizes. */
static void test_sum8_bitwise(void **state)
{
    (void)state;
    if (!have_avx2())
        skip();
    gc_rand r = {19};
    float a[300];
    for (int i = 0; i < 300; i++)
        a[i] = (float)((gc_uniform(&r) - 0.5) * (i % 3 == 0 ? 1e6 : i % 3 == 1 ? 1.0 : 1e-6));
    for (size_t n = 0; n <= 300; n += n < 20 ? 1 : 37) {
        double s[8] = {0};
        for (size_t i = 0; i < n; i++)
            s[i % 8] += a[i];
        const double want = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
        const double got = kern_sum8_avx2(a, n);
        assert_memory_equal(&got, &want, sizeof got);
    }
}

/* The reference follows kern.h's order: 8 lanes by fma in increasing p, the lane tree, the
 * tail. Also checks accumulate adds to (and only to) the previous value. */
static void test_dw_bitwise(void **state)
{
    (void)state;
    if (!have_avx2())
        skip();
    const int shapes[][3] = {{7, 11, 37}, {30, 25, 576}, {2, 4, 5}, {4, 5, 8}, {3, 3, 17}};
    gc_rand r = {12};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int f = shapes[s][0], q = shapes[s][1], p = shapes[s][2];
        float *dy = malloc(sizeof(float) * (size_t)(f * p)), *col = malloc(sizeof(float) * (size_t)(q * p));
        float *dw = malloc(sizeof(float) * (size_t)(f * q)), *want = malloc(sizeof(float) * (size_t)(f * q));
        fill(dy, (size_t)(f * p), &r, -1, 1);
        fill(col, (size_t)(q * p), &r, -1, 1);
        const int p8 = p - p % 8;
        for (int j = 0; j < f; j++)
            for (int t = 0; t < q; t++) {
                float l[8] = {0};
                for (int px = 0; px < p8; px++)
                    l[px % 8] = fmaf(dy[j * p + px], col[t * p + px], l[px % 8]);
                float sum = ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
                for (int px = p8; px < p; px++)
                    sum = fmaf(dy[j * p + px], col[t * p + px], sum);
                want[j * q + t] = sum;
            }
        kern_conv_dw_avx2(dw, dy, col, f, q, p, false);
        assert_memory_equal(dw, want, sizeof(float) * (size_t)(f * q));
        for (int i = 0; i < f * q; i++)
            want[i] = want[i] + want[i];
        kern_conv_dw_avx2(dw, dy, col, f, q, p, true);
        assert_memory_equal(dw, want, sizeof(float) * (size_t)(f * q));
        free(dy), free(col), free(dw), free(want);
    }
}

/* The sparse dW against a scalar reference of kern.h's order (bitwise): the argmax of a real
 * max-pool over a random conv-output-shaped map, random gradients mostly zero as a ReLU leaves
 * them (some -0, and one whole plane), which the kernel skips and the reference adds; shapes
 * with one patch row block (the paper: C=1, K=5), several blocks and a remainder (C=7, K=3: 21
 * rows), stride 2, overlapping 3x3 pool windows, odd counts of pooled outputs, K = 8, and
 * planes of more outputs than one compaction pass takes (256). */
static void test_dw_sparse_bitwise(void **state)
{
    (void)state;
    if (!have_avx2())
        skip();
    /* batch, c, h, f, k, stride, pool k, pool stride */
    const int shapes[][8] = {{3, 1, 28, 4, 5, 1, 2, 2}, {2, 7, 9, 3, 3, 1, 2, 2}, {2, 2, 15, 2, 3, 2, 3, 2},
                             {1, 1, 12, 2, 8, 1, 2, 1}, {2, 1, 11, 3, 5, 1, 3, 3}, {2, 1, 12, 30, 5, 1, 2, 2},
                             /* O = 289 (odd, past one 256-output compaction chunk), 256, 676 */
                             {2, 1, 39, 3, 5, 1, 2, 2}, {1, 2, 52, 2, 5, 1, 3, 3}, {1, 1, 56, 17, 5, 1, 2, 2}};
    gc_rand r = {15};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int *sh = shapes[s];
        const int batch = sh[0], c = sh[1], h = sh[2], f = sh[3], k = sh[4], st = sh[5];
        conv_geom g;
        pool_geom pg;
        assert_int_equal(conv_geom_init(&g, c, h, h, f, k, st, 0, NULL), 0);
        assert_int_equal(pool_geom_init(&pg, f, g.oh, g.ow, sh[6], sh[7], NULL), 0);
        const size_t xn = (size_t)(batch * c * h * h), yn = (size_t)(batch * f * g.oh * g.ow);
        const size_t o = (size_t)(pg.oh * pg.ow), on = (size_t)batch * (size_t)f * o, wn = (size_t)(f * c * k * k);
        float *x = malloc(xn * 4), *y = malloc(yn * 4), *pooled = malloc(on * 4), *dout = malloc(on * 4);
        float *dw = malloc(wn * 4), *want = malloc(wn * 4);
        int32_t *am = malloc(on * 4);
        fill(x, xn, &r, 0, 1);
        fill(y, yn, &r, -1, 1);
        fill(dout, on, &r, -1, 1);
        for (size_t i = 0; i < on; i++) { /* as the ReLU mask leaves them: most zero (some -0) */
            const double u = gc_uniform(&r);
            if (u < 0.55)
                dout[i] = 0.0f;
            else if (u < 0.6)
                dout[i] = -0.0f;
        }
        if (s == 0)
            for (size_t i = 0; i < o; i++) /* a whole plane without a term */
                dout[i] = 0.0f;
        fill(dw, wn, &r, -1, 1);
        memcpy(want, dw, wn * 4);
        pool_max_forward(pooled, am, y, &pg, batch);
        for (int fi = 0; fi < f; fi++)
            for (int ci = 0; ci < c; ci++)
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) {
                        float a[2] = {0.0f, 0.0f};
                        for (int b = 0; b < batch; b++)
                            for (size_t oi = 0; oi < o; oi++) {
                                const size_t gi = ((size_t)b * (size_t)f + (size_t)fi) * o + oi;
                                const int oy = am[gi] / g.ow, ox = am[gi] % g.ow;
                                const float v = x[(((size_t)b * (size_t)c + (size_t)ci) * (size_t)h +
                                                   (size_t)(oy * st + i)) * (size_t)h + (size_t)(ox * st + j)];
                                a[oi % 2] = fmaf(dout[gi], v, a[oi % 2]);
                            }
                        float *wv = want + (((size_t)fi * (size_t)c + (size_t)ci) * (size_t)k + (size_t)i) * (size_t)k + (size_t)j;
                        *wv = *wv + (a[0] + a[1]);
                    }
        const kern_pool_geom kg = {.batch = batch, .c = c, .h = h, .w = h, .f = f, .k = k, .o = (int)o};
        int32_t *xoff = malloc((size_t)(g.oh * g.ow) * 4);
        for (int a = 0; a < g.oh * g.ow; a++)
            xoff[a] = (a / g.ow) * st * h + (a % g.ow) * st;
        /* one filter at a time, and all at once: the same bits */
        float *dw1 = malloc(wn * 4);
        memcpy(dw1, dw, wn * 4);
        for (int fi = 0; fi < f; fi++)
            kern_conv_dw_sparse_avx2(dw, dout, am, xoff, x, &kg, fi, fi + 1);
        assert_memory_equal(dw, want, wn * 4);
        kern_conv_dw_sparse_avx2(dw1, dout, am, xoff, x, &kg, 0, f);
        assert_memory_equal(dw1, want, wn * 4);
        free(xoff), free(dw1);
        free(x), free(y), free(pooled), free(dout), free(dw), free(want), free(am);
    }
}

/* Every a[i] within tol * max |want| of want[i]. */
static void close_rel(const float *a, const float *want, size_t n, double tol)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(want[i]));
    for (size_t i = 0; i < n; i++)
        assert_true(fabs((double)a[i] - want[i]) <= tol * m);
}

/* conv_pool_forward/backward == conv_forward -> act_relu_forward -> pool_max_forward and the
 * backward chain, bitwise, for both kernel sets, with and without ReLU, with dx. */
static void fused_case(kern_isa isa, bool relu, int batch, int c, int h, int f, int k, int pad)
{
    conv_geom g;
    pool_geom pg;
    assert_int_equal(conv_geom_init(&g, c, h, h, f, k, 1, pad, NULL), 0);
    assert_int_equal(pool_geom_init(&pg, f, g.oh, g.ow, 2, 2, NULL), 0);
    const size_t xn = (size_t)batch * (size_t)(c * h * h), yn = (size_t)batch * (size_t)(f * g.oh * g.ow);
    const size_t on = (size_t)batch * (size_t)(f * pg.oh * pg.ow), wn = (size_t)(f * c * k * k);
    gc_rand r = {13};
    float *x = malloc(xn * 4), *w = malloc(wn * 4), *b = malloc((size_t)f * 4);
    fill(x, xn, &r, 0, 1);
    fill(w, wn, &r, -0.5, 0.5);
    fill(b, (size_t)f, &r, -0.3, 0.3);
    par_team *team = NULL;
    assert_int_equal(par_new(&team, 2, NULL), 0);
    const gemm_ctx ctx = {.threads = 2, .isa = isa, .team = team};
    /* unfused */
    float *ws1 = calloc(conv_ws_floats(&g, batch), 4), *y = malloc(yn * 4), *r1 = malloc(yn * 4);
    float *o1 = malloc(on * 4);
    int32_t *a1 = malloc(on * 4);
    conv_forward(&ctx, y, ws1, x, w, b, &g, batch);
    if (relu)
        act_relu_forward(r1, y, yn);
    else
        memcpy(r1, y, yn * 4);
    pool_max_forward(o1, a1, r1, &pg, batch);
    /* fused */
    float *ws2 = calloc(conv_pool_ws_floats(&g, batch), 4), *o2 = malloc(on * 4);
    int32_t *a2 = malloc(on * 4);
    conv_pool_forward(&ctx, o2, a2, ws2, x, w, b, &g, &pg, relu, batch);
    assert_memory_equal(o1, o2, on * 4);
    /* backward, from the same output gradient */
    float *dout = malloc(on * 4), *dr = malloc(yn * 4), *dy = malloc(yn * 4), *dm = malloc(on * 4);
    fill(dout, on, &r, -1, 1);
    float *dx1 = malloc(xn * 4), *dx2 = malloc(xn * 4);
    float *dw1 = calloc(wn, 4), *dw2 = calloc(wn, 4), *db1 = calloc((size_t)f, 4), *db2 = calloc((size_t)f, 4);
    pool_max_backward(dr, dout, a1, &pg, batch);
    if (relu)
        act_relu_backward(dy, dr, r1, yn);
    else
        memcpy(dy, dr, yn * 4);
    conv_backward(&ctx, dx1, dw1, db1, ws1, dy, x, w, &g, batch);
    if (relu)
        act_relu_backward(dm, dout, o2, on);
    else
        memcpy(dm, dout, on * 4);
    conv_pool_backward(&ctx, dx2, dw2, db2, ws2, dm, a2, x, w, &g, &pg, batch);
    if (conv_pool_sparse_dw(kern_resolve(isa), k, pad)) {
        /* the sparse dW and db sum in another order: equal to rounding */
        close_rel(dw2, dw1, wn, 1e-5);
        close_rel(db2, db1, (size_t)f, 1e-5);
    } else {
        assert_memory_equal(dw1, dw2, wn * 4);
        assert_memory_equal(db1, db2, (size_t)f * 4);
    }
    assert_memory_equal(dx1, dx2, xn * 4);
    free(x), free(w), free(b), free(ws1), free(y), free(r1), free(o1), free(a1), free(ws2), free(o2), free(a2);
    free(dout), free(dr), free(dy), free(dm), free(dx1), free(dx2), free(dw1), free(dw2), free(db1), free(db2);
    par_free(team);
}

static void test_fused_conv_pool_bitwise(void **state)
{
    (void)state;
    const kern_isa sets[] = {KERN_GENERIC, KERN_AUTO};
    for (int s = 0; s < 2; s++) {
        fused_case(sets[s], true, 5, 2, 9, 3, 3, 1);   /* 9x9 pad 1 -> 9x9, pool floors to 4x4 */
        fused_case(sets[s], false, 3, 1, 10, 4, 3, 0); /* 8x8 -> 4x4 */
        fused_case(sets[s], true, 4, 2, 5, 6, 3, 0);   /* 3x3 -> 1x1: the unfused product (P = 9
                                                        * < 16) goes through gemm, the same chain */
        fused_case(sets[s], true, 17, 1, 28, 30, 5, 0); /* the paper: 24x24 -> 12x12, 17 > 16 chunks */
    }
}

static net *paper_net(int threads, kern_isa isa, bool unfused, int batch)
{
    const model_preset *p;
    err_info e = {0};
    assert_int_equal(models_find(&p, "paper", &e), 0);
    layer_spec specs[MODELS_MAX_LAYERS];
    int n = models_layers(specs, MODELS_MAX_LAYERS, p, 10, true);
    net_config cfg = net_config_default();
    cfg.max_batch = batch;
    cfg.gemm.threads = threads;
    cfg.gemm.isa = isa;
    cfg.unfused = unfused;
    net *nn = NULL;
    assert_int_equal(net_new(&nn, &cfg, specs, n, &e), 0);
    net_init_params(nn, 3);
    return nn;
}

/* One training-mode forward and backward of a random batch; copies probabilities and grads. */
static void run_step(net *n, float *probs, float *grads, int batch)
{
    gc_rand r = {14};
    float *x = malloc((size_t)batch * 784 * 4);
    uint8_t *y = malloc((size_t)batch);
    fill(x, (size_t)batch * 784, &r, 0, 1);
    for (int i = 0; i < batch; i++)
        y[i] = (uint8_t)(gc_next(&r) % 10);
    net_forward(n, x, y, batch, true);
    net_backward(n, y, batch);
    memcpy(probs, net_probs(n), (size_t)batch * 10 * 4);
    memcpy(grads, net_grads(n), net_param_count(n) * 4);
    free(x);
    free(y);
}

static void test_net_fused_threads_kernels(void **state)
{
    (void)state;
    const int B = 20;
    net *base = paper_net(1, KERN_AUTO, false, B);
    const size_t np = net_param_count(base);
    float *p0 = malloc((size_t)B * 40), *g0 = malloc(np * 4), *p1 = malloc((size_t)B * 40), *g1 = malloc(np * 4);
    run_step(base, p0, g0, B);
    /* fusion is exact, but for the conv's sparse dW and db (the first 30*25 + 30 parameters,
     * layers in order, weights before biases), which sum in another order */
    net *unf = paper_net(1, KERN_AUTO, true, B);
    run_step(unf, p1, g1, B);
    assert_memory_equal(p0, p1, (size_t)B * 40);
    const size_t nconv = 30 * 25 + 30;
    if (have_avx2()) {
        close_rel(g0, g1, nconv, 1e-5);
        assert_memory_equal(g0 + nconv, g1 + nconv, (np - nconv) * 4);
    } else {
        assert_memory_equal(g0, g1, np * 4);
    }
    /* the thread count does not change a bit */
    net *two = paper_net(2, KERN_AUTO, false, B);
    run_step(two, p1, g1, B);
    assert_memory_equal(p0, p1, (size_t)B * 40);
    assert_memory_equal(g0, g1, np * 4);
    /* the BLAS path agrees to rounding: every gradient within 1e-4 of the largest */
    net *gen = paper_net(2, KERN_GENERIC, false, B);
    run_step(gen, p1, g1, B);
    double gmax = 0.0, dmax = 0.0;
    for (size_t i = 0; i < np; i++) {
        gmax = fmax(gmax, fabs(g0[i]));
        dmax = fmax(dmax, fabs((double)g0[i] - g1[i]));
    }
    assert_true(gmax > 0.0);
    assert_true(dmax <= 1e-4 * gmax);
    for (int i = 0; i < B * 10; i++)
        assert_true(fabs((double)p0[i] - p1[i]) < 1e-5);
    /* AVX-512 and AVX2 compute the same chains: the same bits, whichever the choice */
    if (have_avx512()) {
        net *narrow = paper_net(2, KERN_AVX2, false, B);
        run_step(narrow, p1, g1, B);
        assert_memory_equal(p0, p1, (size_t)B * 40);
        assert_memory_equal(g0, g1, np * 4);
        assert_non_null(strstr(net_kernels(narrow), "conv:direct-avx2 gemm:avx2-6x16"));
        net_free(narrow);
    }
    /* provenance strings */
    assert_non_null(strstr(net_kernels(base), "fused:conv+relu+maxpool"));
    const char *want = have_avx512() ? "conv:direct-avx512 gemm:avx512-6x64"
                       : have_avx2() ? "conv:direct-avx2 gemm:avx2-6x16"
                                     : "conv:im2col-blas gemm:blis-";
    assert_non_null(strstr(net_kernels(base), want));
    assert_non_null(strstr(net_kernels(gen), "conv:im2col-blas gemm:blis-"));
    assert_null(strstr(net_kernels(unf), "fused"));
    assert_true((strstr(net_kernels(base), "dw:sparse-argmax") != NULL) == have_avx2());
    assert_null(strstr(net_kernels(gen), "dw:sparse-argmax"));
    assert_null(strstr(net_kernels(unf), "dw:sparse-argmax"));
    net_free(base), net_free(unf), net_free(two), net_free(gen);
    free(p0), free(g0), free(p1), free(g1);
}

/* relu -> maxpool (not after a conv) is fused too, and exact: ji2018 has BN -> ReLU -> maxpool. */
static void test_relu_pool_group(void **state)
{
    (void)state;
    const model_preset *p;
    assert_int_equal(models_find(&p, "ji2018", NULL), 0);
    layer_spec s[MODELS_MAX_LAYERS];
    int n = models_layers(s, MODELS_MAX_LAYERS, p, 10, true);
    net *nets[2];
    const int B = 4;
    float *pr[2], *gr[2];
    for (int u = 0; u < 2; u++) {
        net_config cfg = net_config_default();
        cfg.max_batch = B;
        cfg.unfused = u == 1;
        assert_int_equal(net_new(&nets[u], &cfg, s, n, NULL), 0);
        net_init_params(nets[u], 5);
        pr[u] = malloc((size_t)B * 40);
        gr[u] = malloc(net_param_count(nets[u]) * 4);
        run_step(nets[u], pr[u], gr[u], B);
    }
    assert_non_null(strstr(net_kernels(nets[0]), "fused:maxpool-then-relu"));
    assert_memory_equal(pr[0], pr[1], (size_t)B * 40);
    assert_memory_equal(gr[0], gr[1], net_param_count(nets[0]) * 4);
    char desc[128];
    net_config cfg = net_config_default();
    net_kernels_describe(desc, sizeof desc, &cfg, s, n);
    assert_string_equal(desc, net_kernels(nets[0]));
    for (int u = 0; u < 2; u++) {
        net_free(nets[u]);
        free(pr[u]);
        free(gr[u]);
    }
}

/* ji2018 (conv 1->32 and 32->64 3x3 pad 1, spatial BN, ReLU -> maxpool, affine, BN with S = 1):
 * one training step gives bitwise the same probabilities and gradients (so the same BN
 * statistics, pooling, and conv products, im2col-avx512 included) for 1, 2 and 3 threads and
 * under AVX2 and AVX-512; a batch of 3 and of 1. The kernel names say which conv product runs:
 * the second conv's 288 taps take gemm()'s AVX-512 kernel, the first conv's 9 do not. */
static void test_ji2018_threads_kernels(void **state)
{
    (void)state;
    if (!have_avx2())
        return;
    const model_preset *p;
    assert_int_equal(models_find(&p, "ji2018", NULL), 0);
    layer_spec s[MODELS_MAX_LAYERS];
    const int n = models_layers(s, MODELS_MAX_LAYERS, p, 10, true);
    for (int B = 1; B <= 3; B += 2) {
        float *p0 = NULL, *g0 = NULL;
        size_t np = 0;
        const kern_isa isas[] = {KERN_AVX2, KERN_AVX512};
        for (size_t k = 0; k < 2; k++)
            for (int threads = 1; threads <= 3; threads++) {
                net_config cfg = net_config_default();
                cfg.max_batch = B;
                cfg.gemm.threads = threads;
                cfg.gemm.isa = isas[k];
                net *nn = NULL;
                assert_int_equal(net_new(&nn, &cfg, s, n, NULL), 0);
                net_init_params(nn, 7);
                np = net_param_count(nn);
                float *pr = malloc((size_t)B * 40), *gr = malloc(np * 4);
                assert_true(pr && gr);
                run_step(nn, pr, gr, B);
                if (!p0) {
                    p0 = pr, g0 = gr;
                } else {
                    assert_memory_equal(pr, p0, (size_t)B * 40);
                    assert_memory_equal(gr, g0, np * 4);
                    free(pr), free(gr);
                }
                const char *want = kern_resolve(isas[k]) == KERN_AVX512 ? "conv:im2col-avx2,im2col-avx512 "
                                                                         : "conv:im2col-avx2 ";
                assert_non_null(strstr(net_kernels(nn), want));
                net_free(nn);
            }
        free(p0), free(g0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_and_names),
        cmocka_unit_test(test_fwd_bitwise),
        cmocka_unit_test(test_fwd_direct_bitwise),
        cmocka_unit_test(test_maxpool2_bitwise),
        cmocka_unit_test(test_dw_bitwise),
        cmocka_unit_test(test_dw_sparse_bitwise),
        cmocka_unit_test(test_fused_conv_pool_bitwise),
        cmocka_unit_test(test_sum8_bitwise),
        cmocka_unit_test(test_conv_pool_avx512_bitwise),
        cmocka_unit_test(test_net_fused_threads_kernels),
        cmocka_unit_test(test_relu_pool_group),
        cmocka_unit_test(test_ji2018_threads_kernels),
    };
    return cmocka_run_group_tests_name("kern", tests, NULL, NULL);
}
