/* Tests of core/affine: hand-computed forward and backward, finite-difference gradients,
 * accumulation, dx == NULL and bitwise determinism. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "affine.h"
#include "gradcheck.h"

/* x = [[1,2,3],[4,5,6]] (B=2, D=3), W = [[1,0],[0,1],[1,1]] (D=3, N=2), b = [0.5,-1]:
 *   y = x.W + b = [[1+3, 2+3], [4+6, 5+6]] + b = [[4.5, 4], [10.5, 10]]
 * dy = [[1,0],[0,1]]:
 *   db = column sums of dy = [1, 1]
 *   dW = x^T.dy = [[1,4],[2,5],[3,6]]
 *   dx = dy.W^T = [[W(0,0), W(1,0), W(2,0)], [W(0,1), W(1,1), W(2,1)]] = [[1,0,1],[0,1,1]] */
static void test_known_answer(void **state)
{
    (void)state;
    const gemm_ctx ctx = GEMM_CTX_DEFAULT;
    const float x[6] = {1, 2, 3, 4, 5, 6}, w[6] = {1, 0, 0, 1, 1, 1}, b[2] = {0.5f, -1.0f};
    float y[4];
    affine_forward(&ctx, y, x, w, b, 2, 3, 2);
    const float y_want[4] = {4.5f, 4.0f, 10.5f, 10.0f};
    assert_true(gc_near("y", y, y_want, 4, 0.0));
    const float dy[4] = {1, 0, 0, 1};
    float dx[6], dw[6] = {0}, db[2] = {0};
    affine_backward(&ctx, dx, dw, db, dy, x, w, 2, 3, 2);
    const float dx_want[6] = {1, 0, 1, 0, 1, 1}, dw_want[6] = {1, 4, 2, 5, 3, 6}, db_want[2] = {1, 1};
    assert_true(gc_near("dx", dx, dx_want, 6, 0.0));
    assert_true(gc_near("dw", dw, dw_want, 6, 0.0));
    assert_true(gc_near("db", db, db_want, 2, 0.0));
    /* accumulation: a second backward adds the same amounts; dx == NULL is allowed */
    affine_backward(&ctx, NULL, dw, db, dy, x, w, 2, 3, 2);
    const float dw2[6] = {2, 8, 4, 10, 6, 12}, db2[2] = {2, 2};
    assert_true(gc_near("dw twice", dw, dw2, 6, 0.0));
    assert_true(gc_near("db twice", db, db2, 2, 0.0));
}

typedef struct affine_case {
    gemm_ctx ctx;
    int batch, d, n;
    float *x, *w, *b, *y, *wt;
} affine_case;

static void case_init(affine_case *t, int batch, int d, int n, uint64_t seed)
{
    *t = (affine_case){.ctx = GEMM_CTX_DEFAULT, .batch = batch, .d = d, .n = n};
    t->x = malloc((size_t)batch * d * sizeof(float));
    t->w = malloc((size_t)d * n * sizeof(float));
    t->b = malloc((size_t)n * sizeof(float));
    t->y = malloc((size_t)batch * n * sizeof(float));
    t->wt = malloc((size_t)batch * n * sizeof(float));
    assert_true(t->x && t->w && t->b && t->y && t->wt);
    gc_rand r = {seed};
    gc_fill(t->x, (size_t)batch * d, -1.0f, 1.0f, &r);
    gc_fill(t->w, (size_t)d * n, -1.0f, 1.0f, &r);
    gc_fill(t->b, (size_t)n, -1.0f, 1.0f, &r);
    gc_fill(t->wt, (size_t)batch * n, -1.0f, 1.0f, &r);
}

static void case_free(affine_case *t)
{
    free(t->x);
    free(t->w);
    free(t->b);
    free(t->y);
    free(t->wt);
}

static double case_objective(void *ctx)
{
    affine_case *t = ctx;
    affine_forward(&t->ctx, t->y, t->x, t->w, t->b, t->batch, t->d, t->n);
    return gc_weighted_sum(t->y, t->wt, (size_t)t->batch * t->n);
}

/* Linear in x, W and b: central differences are exact up to float rounding of L (|L| ~ 10,
 * rounding ~ 1e-6, / 2h = 2e-2 -> 5e-5). Tolerance atol 1e-3 + rtol 1e-3. */
static void test_gradcheck(void **state)
{
    (void)state;
    affine_case t;
    case_init(&t, 5, 13, 7, 61);
    const size_t nx = (size_t)t.batch * t.d, nw = (size_t)t.d * t.n;
    float *dx = malloc(nx * sizeof(float)), *dw = calloc(nw, sizeof(float)), *db = calloc((size_t)t.n, sizeof(float));
    assert_true(dx && dw && db);
    case_objective(&t);
    affine_backward(&t.ctx, dx, dw, db, t.wt, t.x, t.w, t.batch, t.d, t.n);
    assert_true(gc_ok("affine dx", gc_check(t.x, dx, nx, case_objective, &t, 1e-2, 1e-3, 1e-3)));
    assert_true(gc_ok("affine dw", gc_check(t.w, dw, nw, case_objective, &t, 1e-2, 1e-3, 1e-3)));
    assert_true(gc_ok("affine db", gc_check(t.b, db, (size_t)t.n, case_objective, &t, 1e-2, 1e-3, 1e-3)));
    free(dx);
    free(dw);
    free(db);
    case_free(&t);
}

/* Same inputs twice -> bitwise the same y, dx, dw, db, for 1 and 2 gemm threads, and the same
 * bits with 2 threads as with 1 (gemm splits C among threads, never a sum); the sizes are the
 * paper's first affine layer (4320 -> 100, batch 100). */
static void test_bitwise_repeatable(void **state)
{
    (void)state;
    enum { B = 100, D = 4320, N = 100 };
    affine_case t;
    case_init(&t, B, D, N, 71);
    float *out[2][4], *one[4] = {NULL};
    for (int threads = 1; threads <= 2; threads++) {
        par_team *team = NULL;
        assert_int_equal(par_new(&team, threads, NULL), 0);
        t.ctx.threads = threads;
        t.ctx.team = team;
        for (int run = 0; run < 2; run++) {
            out[run][0] = malloc((size_t)B * N * sizeof(float));
            out[run][1] = malloc((size_t)B * D * sizeof(float));
            out[run][2] = calloc((size_t)D * N, sizeof(float));
            out[run][3] = calloc(N, sizeof(float));
            affine_forward(&t.ctx, out[run][0], t.x, t.w, t.b, B, D, N);
            affine_backward(&t.ctx, out[run][1], out[run][2], out[run][3], t.wt, t.x, t.w, B, D, N);
        }
        const size_t sizes[4] = {(size_t)B * N, (size_t)B * D, (size_t)D * N, N};
        for (int i = 0; i < 4; i++) {
            assert_memory_equal(out[0][i], out[1][i], sizes[i] * sizeof(float));
            if (threads == 1) {
                one[i] = out[0][i];
            } else {
                assert_memory_equal(one[i], out[0][i], sizes[i] * sizeof(float));
                free(one[i]);
                free(out[0][i]);
            }
            free(out[1][i]);
        }
        par_free(team);
    }
    case_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_gradcheck),
        cmocka_unit_test(test_bitwise_repeatable),
    };
    return cmocka_run_group_tests_name("affine", tests, NULL, NULL);
}
