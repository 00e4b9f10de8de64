/* Tests of core/dropout: the mask follows rng_uniform > ratio element by element, known answers
 * for ratio 0 and for inference, the keep rate, finite-difference gradient with a fixed mask,
 * and bitwise determinism per (seed, stream). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "dropout.h"
#include "gradcheck.h"

/* Inference scales by the keep probability: x = [2, 4, -8], ratio 0.25 -> [1.5, 3, -6].
 * Training with ratio 0 keeps everything (u > 0 except with probability 2^-53). */
static void test_known_answer(void **state)
{
    (void)state;
    const float x[3] = {2, 4, -8};
    float y[3];
    dropout_forward_infer(y, x, 3, 0.25f);
    const float want[3] = {1.5f, 3.0f, -6.0f};
    assert_true(gc_near("infer", y, want, 3, 0.0));
    uint8_t mask[3];
    rng r;
    rng_init(&r, 1, RNG_STREAM_DROPOUT);
    dropout_forward_train(y, mask, x, 3, 0.0f, &r);
    assert_true(gc_near("ratio 0", y, x, 3, 0.0));
    /* backward: dx = dy * mask; mask [1,0,1] on dy [1,2,3] -> [1,0,3], also in place */
    const uint8_t m[3] = {1, 0, 1};
    float dy[3] = {1, 2, 3}, dx[3];
    dropout_backward(dx, dy, m, 3);
    const float dx_want[3] = {1, 0, 3};
    assert_true(gc_near("dx", dx, dx_want, 3, 0.0));
    dropout_backward(dy, dy, m, 3);
    assert_true(gc_near("dx in place", dy, dx_want, 3, 0.0));
}

/* mask_i = (u_i > ratio) for the i-th rng_uniform of the stream, and y = x * mask. */
static void test_mask_follows_stream(void **state)
{
    (void)state;
    enum { N = 1000 };
    static float x[N], y[N];
    static uint8_t mask[N];
    gc_rand g = {121};
    gc_fill(x, N, -1.0f, 1.0f, &g);
    rng r, ref;
    rng_init(&r, 7, RNG_STREAM_DROPOUT);
    rng_init(&ref, 7, RNG_STREAM_DROPOUT);
    dropout_forward_train(y, mask, x, N, 0.3f, &r);
    for (int i = 0; i < N; i++) {
        const int keep = rng_uniform(&ref) > 0.3;
        assert_int_equal(mask[i], keep);
        assert_true(y[i] == (keep ? x[i] : 0.0f));
    }
    /* the stream moved by exactly N draws */
    assert_true(rng_uniform(&r) == rng_uniform(&ref));
}

/* Keep rate: for n = 20000 and ratio 0.5 the kept fraction has sd sqrt(0.25/n) ~ 0.0035;
 * accept within 0.02 (more than 5 sd). */
static void test_keep_rate(void **state)
{
    (void)state;
    enum { N = 20000 };
    static float x[N], y[N];
    static uint8_t mask[N];
    for (int i = 0; i < N; i++)
        x[i] = 1.0f;
    rng r;
    rng_init(&r, 3, RNG_STREAM_DROPOUT);
    dropout_forward_train(y, mask, x, N, 0.5f, &r);
    size_t kept = 0;
    for (int i = 0; i < N; i++)
        kept += mask[i];
    assert_true(fabs((double)kept / N - 0.5) < 0.02);
}

enum { GN = 30 };

typedef struct dropout_case {
    float x[GN], y[GN], wt[GN];
    uint8_t mask[GN];
} dropout_case;

/* Re-seeds the stream on every call so the mask is the same for every evaluation. */
static double case_objective(void *ctx)
{
    dropout_case *t = ctx;
    rng r;
    rng_init(&r, 5, RNG_STREAM_DROPOUT);
    dropout_forward_train(t->y, t->mask, t->x, GN, 0.4f, &r);
    return gc_weighted_sum(t->y, t->wt, GN);
}

/* With a fixed mask dropout is linear: exact up to rounding. atol 1e-3 + rtol 1e-3. */
static void test_gradcheck(void **state)
{
    (void)state;
    dropout_case t;
    gc_rand g = {131};
    gc_fill(t.x, GN, -1.0f, 1.0f, &g);
    gc_fill(t.wt, GN, -1.0f, 1.0f, &g);
    float dx[GN];
    case_objective(&t);
    dropout_backward(dx, t.wt, t.mask, GN);
    size_t kept = 0;
    for (int i = 0; i < GN; i++)
        kept += t.mask[i];
    assert_true(kept > 0 && kept < GN); /* both branches are exercised */
    assert_true(gc_ok("dropout dx", gc_check(t.x, dx, GN, case_objective, &t, 1e-2, 1e-3, 1e-3)));
}

/* Same seed and stream -> bitwise the same mask and output; another stream -> another mask. */
static void test_bitwise_repeatable(void **state)
{
    (void)state;
    enum { N = 256 };
    float x[N], y[3][N];
    uint8_t mask[3][N];
    gc_rand g = {141};
    gc_fill(x, N, -1.0f, 1.0f, &g);
    for (int run = 0; run < 3; run++) {
        rng r;
        rng_init(&r, 9, run < 2 ? RNG_STREAM_DROPOUT : RNG_STREAM_SAMPLE);
        dropout_forward_train(y[run], mask[run], x, N, 0.5f, &r);
    }
    assert_memory_equal(mask[0], mask[1], N);
    assert_memory_equal(y[0], y[1], sizeof y[0]);
    assert_memory_not_equal(mask[0], mask[2], N);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_mask_follows_stream),
        cmocka_unit_test(test_keep_rate),
        cmocka_unit_test(test_gradcheck),
        cmocka_unit_test(test_bitwise_repeatable),
    };
    return cmocka_run_group_tests_name("dropout", tests, NULL, NULL);
}
