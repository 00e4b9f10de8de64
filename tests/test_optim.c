/* Tests of core/optim: every rule on a hand-computed 2-parameter problem, weight decay with a
 * mask, Adam's bias correction, validation, reset and checkpoint state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optim.h"

/* |got - want| <= tol, reporting the values on failure. */
#define assert_near(got, want, tol)                                                            \
    do {                                                                                       \
        double g_ = (got), w_ = (want);                                                        \
        if (!(fabs(g_ - w_) <= (tol)))                                                         \
            fail_msg("%s = %.9g, want %.9g (tol %g)", #got, g_, w_, (double)(tol));            \
    } while (0)

/* The problem: f(w) = 0.5 w0^2 + w1^2, so grad f = (w0, 2 w1); start at w = (1, -1).
 * want[t] = w after step t+1. Float arithmetic against these double values: tolerance 1e-6. */
static void run_quadratic(const optim_config *cfg, const double want[3][2])
{
    optim *o = NULL;
    err_info e = {0};
    assert_int_equal(optim_new(&o, cfg, 2, &e), 0);
    float w[2] = {1.0f, -1.0f};
    for (int t = 0; t < 3; t++) {
        float g[2] = {w[0], 2.0f * w[1]};
        optim_step(o, w, g, NULL, 2);
        assert_near(w[0], want[t][0], 1e-6);
        assert_near(w[1], want[t][1], 1e-6);
    }
    assert_int_equal(optim_steps(o), 3);
    optim_free(o);
}

static optim_config config_with_lr(optim_kind kind, float lr)
{
    optim_config c = optim_defaults(kind);
    c.lr = lr;
    return c;
}

static void test_sgd(void **state)
{
    (void)state;
    /* lr 0.1, w -= 0.1 g:
     * t1: g = (1, -2)        w = (1 - 0.1, -1 + 0.2)       = (0.9, -0.8)
     * t2: g = (0.9, -1.6)    w = (0.9 - 0.09, -0.8 + 0.16) = (0.81, -0.64)
     * t3: g = (0.81, -1.28)  w = (0.81 - 0.081, -0.64 + 0.128) = (0.729, -0.512) */
    static const double want[3][2] = {{0.9, -0.8}, {0.81, -0.64}, {0.729, -0.512}};
    optim_config c = config_with_lr(OPTIM_SGD, 0.1f);
    run_quadratic(&c, want);
}

static void test_momentum(void **state)
{
    (void)state;
    /* lr 0.1, m 0.9: v = 0.9 v - 0.1 g; w += v.
     * t1: g = (1, -2)       v = (-0.1, 0.2)                         w = (0.9, -0.8)
     * t2: g = (0.9, -1.6)   v = (-0.09 - 0.09, 0.18 + 0.16) = (-0.18, 0.34)   w = (0.72, -0.46)
     * t3: g = (0.72, -0.92) v = (-0.162 - 0.072, 0.306 + 0.092) = (-0.234, 0.398)
     *                                                                w = (0.486, -0.062) */
    static const double want[3][2] = {{0.9, -0.8}, {0.72, -0.46}, {0.486, -0.062}};
    optim_config c = config_with_lr(OPTIM_MOMENTUM, 0.1f);
    run_quadratic(&c, want);
}

static void test_nesterov(void **state)
{
    (void)state;
    /* lr 0.1, m 0.9: v = 0.9 v - 0.1 g; w += 0.81 v - 1.9 * 0.1 g.
     * t1: g = (1, -2)  v = (-0.1, 0.2)
     *     w0 = 1 - 0.081 - 0.19 = 0.729;  w1 = -1 + 0.162 + 0.38 = -0.458
     * t2: g = (0.729, -0.916)  v = (-0.09 - 0.0729, 0.18 + 0.0916) = (-0.1629, 0.2716)
     *     w0 = 0.729 - 0.131949 - 0.13851 = 0.458541
     *     w1 = -0.458 + 0.219996 + 0.17404 = -0.063964
     * t3: g = (0.458541, -0.127928)
     *     v = (-0.14661 - 0.0458541, 0.24444 + 0.0127928) = (-0.1924641, 0.2572328)
     *     w0 = 0.458541 - 0.155895921 - 0.08712279 = 0.215522289
     *     w1 = -0.063964 + 0.208358568 + 0.02430632 = 0.168700888 */
    static const double want[3][2] = {
        {0.729, -0.458}, {0.458541, -0.063964}, {0.215522289, 0.168700888}};
    optim_config c = config_with_lr(OPTIM_NESTEROV, 0.1f);
    run_quadratic(&c, want);
}

static void test_adagrad(void **state)
{
    (void)state;
    /* lr 0.1: h += g^2; w -= 0.1 g / (sqrt(h) + 1e-7). Each coordinate is scale-free, so
     * w1 = -w0 at every step (to float precision; eps shifts the 8th digit).
     * t1: g = (1, -2)      h = (1, 4)         w0 = 1 - 0.1 * 1 / 1           = 0.9
     * t2: g = (0.9, -1.8)  h = (1.81, 7.24)   w0 = 0.9 - 0.09 / 1.345362405 = 0.833103541
     * t3: g = (0.833103541, -1.666207082)     h0 = 1.81 + 0.694061511 = 2.504061511
     *                                         w0 = 0.833103541 - 0.0833103541 / 1.582422668
     *                                            = 0.780456199 */
    static const double want[3][2] = {
        {0.9, -0.9}, {0.833103541, -0.833103541}, {0.780456199, -0.780456199}};
    optim_config c = config_with_lr(OPTIM_ADAGRAD, 0.1f);
    run_quadratic(&c, want);
}

static void test_rmsprop(void **state)
{
    (void)state;
    /* lr 0.01, rho 0.99: h = 0.99 h + 0.01 g^2; w -= 0.01 g / (sqrt(h) + 1e-7).
     * t1: g = (1, -2)      h = (0.01, 0.04)          w0 = 1 - 0.01 / 0.1 = 0.9
     * t2: g = (0.9, -1.8)  h0 = 0.0099 + 0.0081 = 0.018
     *                      w0 = 0.9 - 0.009 / 0.134164079 = 0.832917961 (+1.5e-7 from eps)
     * t3: g0 = 0.832918   h0 = 0.01782 + 0.006937528 = 0.024757528
     *                      w0 = 0.832918 - 0.00832918 / 0.157345251 = 0.779982439
     * and w1 = -w0 (scale-free, like AdaGrad). */
    static const double want[3][2] = {
        {0.9, -0.9}, {0.832918107, -0.832918107}, {0.779982439, -0.779982439}};
    optim_config c = config_with_lr(OPTIM_RMSPROP, 0.01f);
    run_quadratic(&c, want);
}

static void test_adam(void **state)
{
    (void)state;
    /* lr 0.001, beta1 0.9, beta2 0.999: with bias correction every early step moves each
     * coordinate by ~lr against the sign of g (see test_adam_bias_correction).
     * t1: lr_t = 0.001 sqrt(0.001) / 0.1;  m = (0.1, -0.2);  v = (0.001, 0.004)
     *     w0 = 1 - lr_t 0.1 / (0.0316227766 + 1e-7) = 0.999000003
     * t2: g0 = 0.999  m0 = 0.1 + 0.1 (0.999 - 0.1) = 0.1899
     *     v0 = 0.001 + 0.001 (0.998001 - 0.001) = 0.001997001
     *     lr_t = 0.001 sqrt(0.001999) / 0.19 = 2.353157e-4;  w0 = 0.998000032
     * t3: likewise, w0 = 0.997000103;  w1 = -w0 to 1e-8. */
    static const double want[3][2] = {
        {0.999000003, -0.999000002}, {0.998000032, -0.998000029}, {0.997000103, -0.9970001}};
    optim_config c = optim_defaults(OPTIM_ADAM);
    assert_true(c.lr == 0.001f);
    run_quadratic(&c, want);
}

/* Adam at t = 1, 2 with a constant gradient g, from w = 0:
 * t1: m = 0.1 g, v = 0.001 g^2, lr_t = lr sqrt(0.001) / 0.1,
 *     step = lr_t m / sqrt(v) = lr sqrt(0.001) / 0.1 * 0.1 g / (sqrt(0.001) |g|) = lr sign(g);
 * t2: m = 0.19 g, v = 0.001999 g^2, lr_t = lr sqrt(1 - 0.999^2) / (1 - 0.9^2)
 *     = lr sqrt(0.001999) / 0.19, step again lr sign(g).
 * Without the correction the first step would be lr 0.1 / sqrt(0.001) = 3.16 lr. eps moves
 * each step by lr eps / sqrt(v) <= 3.2e-9, hence the 1e-8 tolerance. */
static void test_adam_bias_correction(void **state)
{
    (void)state;
    optim_config c = optim_defaults(OPTIM_ADAM);
    optim *o = NULL;
    assert_int_equal(optim_new(&o, &c, 2, NULL), 0);
    float w[2] = {0.0f, 0.0f};
    const float g[2] = {1.0f, -5.0f};

    optim_step(o, w, g, NULL, 2);
    assert_near(w[0], -0.001, 1e-8);
    assert_near(w[1], 0.001, 1e-8);
    size_t n_state = 0;
    const float *s = optim_state(o, &n_state);
    assert_int_equal(n_state, 4); /* [m0 m1 v0 v1] */
    /* State tolerances reflect float constants: 1 - 0.9f = 0.10000002, 1 - 0.999f = 0.00099999. */
    assert_near(s[0], 0.1, 1e-7);
    assert_near(s[1], -0.5, 5e-7);
    assert_near(s[2], 0.001, 5e-8);
    assert_near(s[3], 0.025, 1e-6);

    optim_step(o, w, g, NULL, 2);
    assert_near(w[0], -0.002, 1e-8);
    assert_near(w[1], 0.002, 1e-8);
    assert_near(s[0], 0.19, 2e-7);
    assert_near(s[2], 0.001999, 1e-7);
    assert_int_equal(optim_steps(o), 2);
    optim_free(o);
}

/* L2 weight decay: g' = g + lambda w on masked entries only; NULL mask = every entry.
 * SGD lr 0.1, lambda 0.5, w = (2, 2, -4), g = (0, 0, 1), mask = (1, 0, 1):
 *   w0 = 2 - 0.1 (0 + 0.5 * 2) = 1.9;  w1 = 2 (not decayed, zero gradient);
 *   w2 = -4 - 0.1 (1 + 0.5 * -4) = -4 - 0.1 (-1) = -3.9.
 * With no mask, w1 also becomes 1.9. Momentum sees the same g' (first step v = -lr g'). */
static void test_weight_decay_mask(void **state)
{
    (void)state;
    optim_config c = config_with_lr(OPTIM_SGD, 0.1f);
    c.weight_decay = 0.5f;
    static const uint8_t mask[3] = {1, 0, 1};
    const float g[3] = {0.0f, 0.0f, 1.0f};
    optim *o = NULL;
    assert_int_equal(optim_new(&o, &c, 3, NULL), 0);

    float w[3] = {2.0f, 2.0f, -4.0f};
    optim_step(o, w, g, mask, 3);
    assert_near(w[0], 1.9, 1e-6);
    assert_true(w[1] == 2.0f);
    assert_near(w[2], -3.9, 1e-6);

    float u[3] = {2.0f, 2.0f, -4.0f};
    optim_step(o, u, g, NULL, 3);
    assert_near(u[0], 1.9, 1e-6);
    assert_near(u[1], 1.9, 1e-6);
    assert_near(u[2], -3.9, 1e-6);
    optim_free(o);

    c = config_with_lr(OPTIM_MOMENTUM, 0.1f);
    c.weight_decay = 0.5f;
    assert_int_equal(optim_new(&o, &c, 3, NULL), 0);
    float v[3] = {2.0f, 2.0f, -4.0f};
    optim_step(o, v, g, mask, 3);
    assert_near(v[0], 1.9, 1e-6);
    assert_true(v[1] == 2.0f);
    assert_near(v[2], -3.9, 1e-6);
    optim_free(o);

}

static void test_defaults(void **state)
{
    (void)state;
    for (int k = 0; k < OPTIM_KIND_COUNT; k++) {
        optim_config c = optim_defaults((optim_kind)k);
        assert_int_equal(c.kind, k);
        assert_true(c.lr == (k == OPTIM_ADAM ? 0.001f : 0.01f));
        assert_true(c.momentum == 0.9f);
        assert_true(c.beta1 == 0.9f && c.beta2 == 0.999f);
        assert_true(c.decay_rate == 0.99f);
        assert_true(c.weight_decay == 0.0f);
        assert_int_equal(optim_config_validate(&c, NULL), 0);
    }
}

static void test_names(void **state)
{
    (void)state;
    static const char *const names[] = {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"};
    for (int k = 0; k < OPTIM_KIND_COUNT; k++) {
        optim_kind got = (optim_kind)-1;
        assert_int_equal(optim_kind_from_name(&got, names[k], NULL), 0);
        assert_int_equal(got, k);
        assert_string_equal(optim_kind_name(got), names[k]);
    }
    assert_string_equal(optim_kind_name((optim_kind)42), "?");
    optim_kind k = OPTIM_ADAM;
    err_info e = {0};
    assert_int_equal(optim_kind_from_name(&k, "Adam", &e), ERR_INVALID);
    assert_int_equal(k, OPTIM_ADAM);
    assert_non_null(strstr(e.msg, "'Adam'"));
    assert_non_null(strstr(e.msg, "sgd, momentum, nesterov, adagrad, rmsprop, adam"));
}

static void test_validation(void **state)
{
    (void)state;
    struct {
        optim_kind kind;
        int field; /* 0 lr, 1 momentum, 2 beta1, 3 beta2, 4 decay_rate, 5 weight_decay */
        float value;
        const char *msg_part;
    } bad[] = {
        {OPTIM_SGD, 0, 0.0f, "learning rate"},
        {OPTIM_SGD, 0, -0.1f, "learning rate"},
        {OPTIM_ADAM, 0, NAN, "learning rate"},
        {OPTIM_ADAM, 0, INFINITY, "learning rate"},
        {OPTIM_MOMENTUM, 1, 1.0f, "momentum"},
        {OPTIM_NESTEROV, 1, -0.5f, "momentum"},
        {OPTIM_ADAM, 2, 1.0f, "beta1"},
        {OPTIM_ADAM, 3, NAN, "beta2"},
        {OPTIM_RMSPROP, 4, 1.5f, "decay_rate"},
        {OPTIM_ADAGRAD, 5, -1e-4f, "weight_decay"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        optim_config c = optim_defaults(bad[i].kind);
        float *fields[] = {&c.lr, &c.momentum, &c.beta1, &c.beta2, &c.decay_rate,
                           &c.weight_decay};
        *fields[bad[i].field] = bad[i].value;
        optim *o = (optim *)&c; /* must be reset to NULL on failure */
        err_info e = {0};
        assert_int_equal(optim_new(&o, &c, 10, &e), ERR_INVALID);
        assert_null(o);
        assert_non_null(strstr(e.msg, bad[i].msg_part));
    }
    /* Fields a kind does not use are not checked: SGD ignores momentum. */
    optim_config c = optim_defaults(OPTIM_SGD);
    c.momentum = 5.0f;
    assert_int_equal(optim_config_validate(&c, NULL), 0);
    c.kind = (optim_kind)17;
    assert_int_equal(optim_config_validate(&c, NULL), ERR_INVALID);
}

/* Reset returns to the fresh state: the same steps after optim_reset give the same weights
 * bit for bit as a new optimizer, for every kind (state sizes 0, n, 2n). */
static void test_reset_and_determinism(void **state)
{
    (void)state;
    static const size_t want_state[OPTIM_KIND_COUNT] = {0, 5, 5, 5, 5, 10};
    for (int k = 0; k < OPTIM_KIND_COUNT; k++) {
        optim_config c = optim_defaults((optim_kind)k);
        c.weight_decay = 1e-3f;
        optim *o = NULL;
        assert_int_equal(optim_new(&o, &c, 5, NULL), 0);
        const float g[5] = {0.5f, -1.0f, 2.0f, 0.0f, -0.25f};
        float a[5] = {1, 2, 3, 4, 5}, b[5] = {1, 2, 3, 4, 5};
        for (int t = 0; t < 4; t++)
            optim_step(o, a, g, NULL, 5);
        size_t n_state;
        float *s = optim_state(o, &n_state);
        assert_int_equal(n_state, want_state[k]);
        optim_reset(o);
        assert_int_equal(optim_steps(o), 0);
        for (size_t i = 0; i < n_state; i++)
            assert_true(s[i] == 0.0f);
        for (int t = 0; t < 4; t++)
            optim_step(o, b, g, NULL, 5);
        assert_memory_equal(a, b, sizeof a);
        assert_int_equal(optim_get_config(o)->kind, k);
        optim_free(o);
    }
    optim_free(NULL);
}

/* Checkpoint: copying state and step count into a fresh optimizer continues identically. */
static void test_checkpoint_restore(void **state)
{
    (void)state;
    optim_config c = optim_defaults(OPTIM_ADAM);
    optim *o1 = NULL, *o2 = NULL;
    assert_int_equal(optim_new(&o1, &c, 3, NULL), 0);
    assert_int_equal(optim_new(&o2, &c, 3, NULL), 0);
    const float g[3] = {0.3f, -0.7f, 1.1f};
    float w1[3] = {1, 1, 1};
    for (int t = 0; t < 3; t++)
        optim_step(o1, w1, g, NULL, 3);
    size_t n1, n2;
    float *s1 = optim_state(o1, &n1), *s2 = optim_state(o2, &n2);
    assert_int_equal(n1, n2);
    memcpy(s2, s1, n1 * sizeof *s1);
    optim_set_steps(o2, optim_steps(o1));
    float w2[3];
    memcpy(w2, w1, sizeof w2);
    optim_step(o1, w1, g, NULL, 3);
    optim_step(o2, w2, g, NULL, 3);
    assert_memory_equal(w1, w2, sizeof w1);
    optim_free(o1);
    optim_free(o2);
}

/* optim_step_par on teams of 2 and 3 threads == optim_step, bitwise, for every kind, with weight
 * decay on a mask, over a block large enough to be split (ranges not multiples of 16). */
static void test_threads_bitwise(void **state)
{
    (void)state;
    const size_t n = 100003;
    float *w1 = malloc(n * 4), *w2 = malloc(n * 4), *g = malloc(n * 4);
    uint8_t *mask = malloc(n);
    for (int kind = 0; kind < OPTIM_KIND_COUNT; kind++) {
        for (int threads = 2; threads <= 3; threads++) {
            par_team *team = NULL;
            assert_int_equal(par_new(&team, threads, NULL), 0);
            optim_config cfg = optim_defaults((optim_kind)kind);
            cfg.weight_decay = 0.01f;
            optim *o1 = NULL, *o2 = NULL;
            assert_int_equal(optim_new(&o1, &cfg, n, NULL), 0);
            assert_int_equal(optim_new(&o2, &cfg, n, NULL), 0);
            for (size_t i = 0; i < n; i++) {
                w1[i] = w2[i] = (float)((double)(i % 97) / 50.0 - 1.0);
                mask[i] = (uint8_t)(i % 3 != 0);
            }
            for (int step = 0; step < 3; step++) {
                for (size_t i = 0; i < n; i++)
                    g[i] = (float)((double)((i * 7 + (size_t)step) % 89) / 40.0 - 1.1);
                optim_step(o1, w1, g, mask, n);
                optim_step_par(o2, w2, g, mask, n, team);
            }
            assert_memory_equal(w1, w2, n * 4);
            size_t s1, s2;
            float *st1 = optim_state(o1, &s1), *st2 = optim_state(o2, &s2);
            assert_int_equal(s1, s2);
            if (s1)
                assert_memory_equal(st1, st2, s1 * 4);
            optim_free(o1);
            optim_free(o2);
            par_free(team);
        }
    }
    free(w1), free(w2), free(g), free(mask);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd),
        cmocka_unit_test(test_momentum),
        cmocka_unit_test(test_nesterov),
        cmocka_unit_test(test_adagrad),
        cmocka_unit_test(test_rmsprop),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_adam_bias_correction),
        cmocka_unit_test(test_weight_decay_mask),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_reset_and_determinism),
        cmocka_unit_test(test_checkpoint_restore),
        cmocka_unit_test(test_threads_bitwise),
    };
    return cmocka_run_group_tests_name("optim", tests, NULL, NULL);
}
