/* Tests of core/act: hand-computed ReLU and tanh, in-place backward, finite-difference
 * gradients, bitwise determinism; and a self-test that tests/gradcheck.h rejects a wrong
 * gradient (so the layer gradient checks can fail). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "act.h"
#include "gradcheck.h"

/* relu([-2, -0, 0, 0.5, 3]) = [0, 0, 0, 0.5, 3]; backward with dy = [1..5] keeps dy only where
 * y > 0: [0, 0, 0, 4, 5] (the subgradient at 0 is 0). */
static void test_relu_known_answer(void **state)
{
    (void)state;
    const float x[5] = {-2.0f, -0.0f, 0.0f, 0.5f, 3.0f};
    float y[5], dx[5];
    act_relu_forward(y, x, 5);
    const float y_want[5] = {0, 0, 0, 0.5f, 3};
    assert_true(gc_near("y", y, y_want, 5, 0.0));
    float dy[5] = {1, 2, 3, 4, 5};
    act_relu_backward(dx, dy, y, 5);
    const float dx_want[5] = {0, 0, 0, 4, 5};
    assert_true(gc_near("dx", dx, dx_want, 5, 0.0));
    act_relu_backward(dy, dy, y, 5); /* in place: dx aliases dy */
    assert_true(gc_near("dx in place", dy, dx_want, 5, 0.0));
}

/* tanh(x) = (e^2x - 1)/(e^2x + 1): tanh(0) = 0, tanh(ln 2) = (4-1)/(4+1) = 0.6,
 * tanh(-ln 3) = (1/9 - 1)/(1/9 + 1) = -0.8. Backward with dy = 1: 1 - y^2 = [1, 0.64, 0.36]. */
static void test_tanh_known_answer(void **state)
{
    (void)state;
    const float x[3] = {0.0f, logf(2.0f), -logf(3.0f)};
    float y[3], dx[3];
    act_tanh_forward(y, x, 3);
    const float y_want[3] = {0.0f, 0.6f, -0.8f};
    assert_true(gc_near("y", y, y_want, 3, 1e-6));
    float dy[3] = {1, 1, 1};
    act_tanh_backward(dx, dy, y, 3);
    const float dx_want[3] = {1.0f, 0.64f, 0.36f};
    assert_true(gc_near("dx", dx, dx_want, 3, 1e-6));
    act_tanh_backward(dy, dy, y, 3);
    assert_memory_equal(dy, dx, sizeof dx);
}

enum { N = 40 };

typedef struct act_case {
    int is_tanh;
    float x[N], y[N], wt[N];
} act_case;

static double case_objective(void *ctx)
{
    act_case *t = ctx;
    if (t->is_tanh)
        act_tanh_forward(t->y, t->x, N);
    else
        act_relu_forward(t->y, t->x, N);
    return gc_weighted_sum(t->y, t->wt, N);
}

/* ReLU inputs stay at least 0.1 away from the kink and h = 1e-2, so ReLU is linear around each
 * point: exact up to rounding (~1e-7 / 2e-2). tanh: h = 1e-3, curvature error
 * h^2 * |tanh'''| / 6 <= 1e-6 * 2 / 6, rounding ~ 1e-7 * 10 / 2e-3 = 5e-4 at worst.
 * Tolerance for both: atol 1e-3 + rtol 1e-3. */
static void test_gradcheck(void **state)
{
    (void)state;
    for (int is_tanh = 0; is_tanh <= 1; is_tanh++) {
        act_case t = {.is_tanh = is_tanh};
        gc_rand r = {101 + is_tanh};
        gc_fill(t.x, N, -2.0f, 2.0f, &r);
        for (int i = 0; i < N; i++)
            if (fabsf(t.x[i]) < 0.1f)
                t.x[i] = t.x[i] < 0 ? -0.5f : 0.5f;
        gc_fill(t.wt, N, -1.0f, 1.0f, &r);
        float dx[N];
        case_objective(&t);
        if (is_tanh)
            act_tanh_backward(dx, t.wt, t.y, N);
        else
            act_relu_backward(dx, t.wt, t.y, N);
        assert_true(gc_ok(is_tanh ? "tanh dx" : "relu dx", gc_check(t.x, dx, N, case_objective, &t, is_tanh ? 1e-3 : 1e-2, 1e-3, 1e-3)));
        /* the checker itself must reject a gradient that is 5% off or has one wrong element */
        float bad[N];
        for (int i = 0; i < N; i++)
            bad[i] = dx[i] * 1.05f;
        assert_true(gc_check(t.x, bad, N, case_objective, &t, 1e-2, 1e-3, 1e-3).worst > 1.0);
        memcpy(bad, dx, sizeof bad);
        bad[7] += 0.1f;
        gc_result res = gc_check(t.x, bad, N, case_objective, &t, 1e-2, 1e-3, 1e-3);
        assert_true(res.worst > 1.0);
        assert_int_equal(res.at, 7);
    }
}

/* Same inputs twice -> bitwise the same outputs and gradients. */
static void test_bitwise_repeatable(void **state)
{
    (void)state;
    float x[N], dy[N], y[2][2][N], dx[2][2][N];
    gc_rand r = {111};
    gc_fill(x, N, -3.0f, 3.0f, &r);
    gc_fill(dy, N, -1.0f, 1.0f, &r);
    for (int run = 0; run < 2; run++) {
        act_relu_forward(y[run][0], x, N);
        act_relu_backward(dx[run][0], dy, y[run][0], N);
        act_tanh_forward(y[run][1], x, N);
        act_tanh_backward(dx[run][1], dy, y[run][1], N);
    }
    assert_memory_equal(y[0], y[1], sizeof y[0]);
    assert_memory_equal(dx[0], dx[1], sizeof dx[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relu_known_answer),
        cmocka_unit_test(test_tanh_known_answer),
        cmocka_unit_test(test_gradcheck),
        cmocka_unit_test(test_bitwise_repeatable),
    };
    return cmocka_run_group_tests_name("act", tests, NULL, NULL);
}
