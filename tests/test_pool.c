/* Tests of core/pool: geometry, hand-computed max/avg forward and backward (ties, overlapping
 * windows), finite-difference gradients, bitwise determinism, and the threaded batch entry points
 * against the one-thread calls. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "act.h"
#include "gradcheck.h"
#include "pool.h"

static void test_geom(void **state)
{
    (void)state;
    pool_geom g;
    err_info e = {0};
    /* the paper: 30x24x24, 2x2 stride 2 -> 12x12 */
    assert_int_equal(pool_geom_init(&g, 30, 24, 24, 2, 2, &e), 0);
    assert_int_equal(g.oh, 12);
    assert_int_equal(g.ow, 12);
    /* floor: 7x6 with 3x3 stride 2 -> (7-3)/2+1 = 3, (6-3)/2+1 = 2 */
    assert_int_equal(pool_geom_init(&g, 1, 7, 6, 3, 2, &e), 0);
    assert_int_equal(g.oh, 3);
    assert_int_equal(g.ow, 2);
    assert_int_equal(pool_geom_init(&g, 1, 2, 6, 3, 1, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "window 3"));
    assert_int_equal(pool_geom_init(&g, 1, 4, 4, 2, 0, &e), ERR_INVALID);
    assert_int_equal(pool_geom_init(&g, 0, 4, 4, 2, 2, &e), ERR_INVALID);
}

/* x = [[1,3,2,4],[5,6,1,0],[7,2,9,8],[0,1,3,4]], 2x2 windows, stride 2:
 *   max = [[6,4],[7,9]] at plane indices 1*4+1 = 5, 0*4+3 = 3, 2*4+0 = 8, 2*4+2 = 10
 *   avg = [[(1+3+5+6)/4, (2+4+1+0)/4], [(7+2+0+1)/4, (9+8+3+4)/4]] = [[3.75,1.75],[2.5,6]]
 * backward with dy = [1,2,3,4]: max routes each dy to its argmax; avg spreads dy/4 over the
 * window. */
static void test_known_answer(void **state)
{
    (void)state;
    pool_geom g;
    assert_int_equal(pool_geom_init(&g, 1, 4, 4, 2, 2, NULL), 0);
    const float x[16] = {1, 3, 2, 4, 5, 6, 1, 0, 7, 2, 9, 8, 0, 1, 3, 4};
    float y[4], dx[16];
    int32_t am[4];
    pool_max_forward(y, am, x, &g, 1);
    const float ymax[4] = {6, 4, 7, 9};
    assert_true(gc_near("max y", y, ymax, 4, 0.0));
    const int32_t am_want[4] = {5, 3, 8, 10};
    assert_memory_equal(am, am_want, sizeof am);
    const float dy[4] = {1, 2, 3, 4};
    pool_max_backward(dx, dy, am, &g, 1);
    const float dxmax[16] = {0, 0, 0, 2, 0, 1, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0};
    assert_true(gc_near("max dx", dx, dxmax, 16, 0.0));
    /* inference: no argmax wanted, same y */
    float y2[4];
    pool_max_forward(y2, NULL, x, &g, 1);
    assert_memory_equal(y, y2, sizeof y);

    pool_avg_forward(y, x, &g, 1);
    const float yavg[4] = {3.75f, 1.75f, 2.5f, 6.0f};
    assert_true(gc_near("avg y", y, yavg, 4, 0.0));
    pool_avg_backward(dx, dy, &g, 1);
    const float dxavg[16] = {0.25f, 0.25f, 0.5f, 0.5f, 0.25f, 0.25f, 0.5f, 0.5f,
                             0.75f, 0.75f, 1.0f, 1.0f, 0.75f, 0.75f, 1.0f, 1.0f};
    assert_true(gc_near("avg dx", dx, dxavg, 16, 0.0));
}

/* Ties go to the first maximum in row-major window order:
 * window [[2,5],[5,1]] -> index 1 (the first 5); window [[3,3],[3,3]] -> index 0. */
static void test_ties(void **state)
{
    (void)state;
    pool_geom g;
    assert_int_equal(pool_geom_init(&g, 2, 2, 2, 2, 2, NULL), 0);
    const float x[8] = {2, 5, 5, 1, 3, 3, 3, 3};
    float y[2];
    int32_t am[2];
    pool_max_forward(y, am, x, &g, 1);
    assert_float_equal(y[0], 5.0f, 0.0f);
    assert_float_equal(y[1], 3.0f, 0.0f);
    assert_int_equal(am[0], 1);
    assert_int_equal(am[1], 0);
}

/* Overlapping windows (3x3 input, 2x2 windows, stride 1 -> 2x2 outputs):
 * max: the centre 9 wins all four windows, so dx(centre) = 1+2+3+4 = 10;
 * avg with dy = ones: dx(i,j) = (number of windows covering (i,j)) / 4
 *   = [[1,2,1],[2,4,2],[1,2,1]] / 4. */
static void test_overlap(void **state)
{
    (void)state;
    pool_geom g;
    assert_int_equal(pool_geom_init(&g, 1, 3, 3, 2, 1, NULL), 0);
    const float x[9] = {1, 2, 3, 4, 9, 5, 6, 7, 8};
    float y[4], dx[9];
    int32_t am[4];
    pool_max_forward(y, am, x, &g, 1);
    const float ymax[4] = {9, 9, 9, 9};
    assert_true(gc_near("max y", y, ymax, 4, 0.0));
    const float dy[4] = {1, 2, 3, 4};
    pool_max_backward(dx, dy, am, &g, 1);
    const float dxmax[9] = {0, 0, 0, 0, 10, 0, 0, 0, 0};
    assert_true(gc_near("max dx", dx, dxmax, 9, 0.0));
    const float ones[4] = {1, 1, 1, 1};
    pool_avg_backward(dx, ones, &g, 1);
    const float dxavg[9] = {0.25f, 0.5f, 0.25f, 0.5f, 1.0f, 0.5f, 0.25f, 0.5f, 0.25f};
    assert_true(gc_near("avg dx", dx, dxavg, 9, 0.0));
}

typedef struct pool_case {
    pool_geom g;
    int batch;
    size_t nx, ny;
    float *x, *y, *wt;
    int32_t *am;
    int is_max;
} pool_case;

/* Inputs are a shuffled ladder of values 0.05 apart, so no window has ties and a perturbation
 * of h = 1e-2 never changes a window's maximum: max pooling is then linear around x. */
static void case_init(pool_case *t, int is_max, int batch, int c, int h, int w, int k, int stride, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    assert_int_equal(pool_geom_init(&t->g, c, h, w, k, stride, NULL), 0);
    t->batch = batch;
    t->is_max = is_max;
    t->nx = (size_t)batch * c * h * w;
    t->ny = (size_t)batch * c * t->g.oh * t->g.ow;
    t->x = malloc(t->nx * sizeof(float));
    t->y = malloc(t->ny * sizeof(float));
    t->wt = malloc(t->ny * sizeof(float));
    t->am = malloc(t->ny * sizeof(int32_t));
    assert_true(t->x && t->y && t->wt && t->am);
    gc_rand r = {seed};
    for (size_t i = 0; i < t->nx; i++)
        t->x[i] = 0.05f * (float)i - 2.0f;
    for (size_t i = t->nx - 1; i > 0; i--) { /* Fisher-Yates */
        size_t j = (size_t)(gc_uniform(&r) * (double)(i + 1));
        float tmp = t->x[i];
        t->x[i] = t->x[j];
        t->x[j] = tmp;
    }
    gc_fill(t->wt, t->ny, -1.0f, 1.0f, &r);
}

static void case_free(pool_case *t)
{
    free(t->x);
    free(t->y);
    free(t->wt);
    free(t->am);
}

static double case_objective(void *ctx)
{
    pool_case *t = ctx;
    if (t->is_max)
        pool_max_forward(t->y, t->am, t->x, &t->g, t->batch);
    else
        pool_avg_forward(t->y, t->x, &t->g, t->batch);
    return gc_weighted_sum(t->y, t->wt, t->ny);
}

/* Both poolings are (piecewise) linear: central differences are exact up to float rounding of
 * L (|L| ~ 10, rounding ~ 1e-6, / 2h = 2e-2 -> 5e-5). Tolerance atol 1e-3 + rtol 1e-3. */
static void gradcheck_case(int is_max, int k, int stride, uint64_t seed)
{
    pool_case t;
    case_init(&t, is_max, 2, 3, 7, 6, k, stride, seed);
    float *dx = malloc(t.nx * sizeof(float));
    assert_non_null(dx);
    case_objective(&t);
    if (is_max)
        pool_max_backward(dx, t.wt, t.am, &t.g, t.batch);
    else
        pool_avg_backward(dx, t.wt, &t.g, t.batch);
    assert_true(gc_ok(is_max ? "max dx" : "avg dx", gc_check(t.x, dx, t.nx, case_objective, &t, 1e-2, 1e-3, 1e-3)));
    free(dx);
    case_free(&t);
}

static void test_gradcheck_max(void **state)
{
    (void)state;
    gradcheck_case(1, 2, 2, 41); /* the paper's 2x2 stride 2 (7x6: last row unused) */
    gradcheck_case(1, 3, 2, 42); /* overlapping windows */
}

static void test_gradcheck_avg(void **state)
{
    (void)state;
    gradcheck_case(0, 2, 2, 43);
    gradcheck_case(0, 3, 2, 44);
}

/* Same inputs twice -> bitwise the same outputs, argmax and gradients. */
static void test_bitwise_repeatable(void **state)
{
    (void)state;
    pool_case t;
    case_init(&t, 1, 3, 4, 9, 9, 3, 2, 51);
    gc_rand r = {52};
    gc_fill(t.x, t.nx, -1.0f, 1.0f, &r); /* random, ties unlikely but allowed here */
    float *out[2][4];
    for (int run = 0; run < 2; run++) {
        out[run][0] = malloc(t.ny * sizeof(float));
        out[run][1] = malloc(t.nx * sizeof(float));
        out[run][2] = malloc(t.ny * sizeof(float));
        out[run][3] = malloc(t.nx * sizeof(float));
        int32_t *am = malloc(t.ny * sizeof(int32_t));
        pool_max_forward(out[run][0], am, t.x, &t.g, t.batch);
        pool_max_backward(out[run][1], t.wt, am, &t.g, t.batch);
        pool_avg_forward(out[run][2], t.x, &t.g, t.batch);
        pool_avg_backward(out[run][3], t.wt, &t.g, t.batch);
        if (run == 1)
            assert_memory_equal(am, t.am, t.ny * sizeof(int32_t));
        else
            memcpy(t.am, am, t.ny * sizeof(int32_t));
        free(am);
    }
    for (int i = 0; i < 4; i++) {
        size_t n = (i % 2 == 0 ? t.ny : t.nx) * sizeof(float);
        assert_memory_equal(out[0][i], out[1][i], n);
        free(out[0][i]);
        free(out[1][i]);
    }
    case_free(&t);
}

/* pool_max_forward_team and pool_max_backward_team against the one-thread calls
 * (pool_max_forward, then act_relu_forward; pool_max_backward), bitwise, for every kernel set
 * and 1..3 threads: x from a few integer levels (many ties, and NaN-free negatives for the
 * ReLU); 2x2 stride 2 with W >= 16 (the AVX2 kernel: even and odd W, odd H), W < 16, a 3x3
 * stride 2 window; batch 1, and sizes above the threading threshold (65536 inputs). */
static void team_case(int batch, int c, int h, int w, int k, int stride)
{
    pool_geom g;
    assert_int_equal(pool_geom_init(&g, c, h, w, k, stride, NULL), 0);
    const size_t nx = (size_t)batch * c * h * w, ny = (size_t)batch * c * g.oh * g.ow;
    float *x = malloc(nx * sizeof(float)), *dy = malloc(ny * sizeof(float));
    float *y0 = malloc(ny * sizeof(float)), *y1 = malloc(ny * sizeof(float));
    float *dx0 = malloc(nx * sizeof(float)), *dx1 = malloc(nx * sizeof(float));
    int32_t *a0 = malloc(ny * sizeof(int32_t)), *a1 = malloc(ny * sizeof(int32_t));
    assert_true(x && dy && y0 && y1 && dx0 && dx1 && a0 && a1);
    gc_rand r = {(uint64_t)(nx + 7)};
    gc_fill(x, nx, -3.0f, 3.0f, &r);
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)(int)x[i]; /* -2 .. 2: ties */
    gc_fill(dy, ny, -1.0f, 1.0f, &r);
    const kern_isa isas[] = {KERN_GENERIC, KERN_AVX2, KERN_AVX512};
    for (int relu = 0; relu <= 1; relu++) {
        pool_max_forward(y0, a0, x, &g, batch);
        if (relu)
            act_relu_forward(y0, y0, ny);
        pool_max_backward(dx0, dy, a0, &g, batch);
        for (size_t k2 = 0; k2 < sizeof isas / sizeof isas[0]; k2++)
            for (int threads = 1; threads <= 3; threads++) {
                par_team *team = NULL;
                assert_int_equal(par_new(&team, threads, NULL), 0);
                const gemm_ctx ctx = {.threads = threads, .isa = isas[k2], .team = team};
                memset(y1, 0xff, ny * sizeof(float));
                memset(dx1, 0xff, nx * sizeof(float));
                pool_max_forward_team(&ctx, y1, a1, x, &g, batch, relu);
                pool_max_backward_team(&ctx, dx1, dy, a1, &g, batch);
                assert_memory_equal(y1, y0, ny * sizeof(float));
                assert_memory_equal(a1, a0, ny * sizeof(int32_t));
                assert_memory_equal(dx1, dx0, nx * sizeof(float));
                memset(y1, 0xff, ny * sizeof(float)); /* without argmax (inference) */
                pool_max_forward_team(&ctx, y1, NULL, x, &g, batch, relu);
                assert_memory_equal(y1, y0, ny * sizeof(float));
                pool_max_backward_team(&ctx, NULL, dy, a1, &g, batch); /* NULL dx: nothing */
                par_free(team);
            }
    }
    free(x);
    free(dy);
    free(y0);
    free(y1);
    free(dx0);
    free(dx1);
    free(a0);
    free(a1);
}

static void test_team_matches_single(void **state)
{
    (void)state;
    team_case(1, 3, 28, 28, 2, 2);
    team_case(100, 5, 28, 28, 2, 2);
    team_case(2, 3, 17, 33, 2, 2);
    team_case(50, 7, 14, 14, 2, 2);
    team_case(1, 1, 9, 5, 2, 2);
    team_case(4, 6, 61, 57, 3, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_geom),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_overlap),
        cmocka_unit_test(test_gradcheck_max),
        cmocka_unit_test(test_gradcheck_avg),
        cmocka_unit_test(test_bitwise_repeatable),
        cmocka_unit_test(test_team_matches_single),
    };
    return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
