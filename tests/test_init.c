/* Tests of core/init: names, standard deviations, fan_in scaling, determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"

enum { BIG = 200000 };

static void test_names(void **state)
{
    (void)state;
    static const char *const names[] = {"normal", "he", "xavier"};
    for (int k = 0; k < INIT_KIND_COUNT; k++) {
        init_kind got = (init_kind)-1;
        err_info e = {0};
        assert_int_equal(init_kind_from_name(&got, names[k], &e), 0);
        assert_int_equal(got, k);
        assert_string_equal(init_kind_name(got), names[k]);
    }
    assert_string_equal(init_kind_name((init_kind)99), "?");

    init_kind untouched = INIT_HE;
    err_info e = {0};
    assert_int_equal(init_kind_from_name(&untouched, "glorot", &e), ERR_INVALID);
    assert_int_equal(untouched, INIT_HE);
    assert_int_equal(e.code, ERR_INVALID);
    assert_non_null(strstr(e.msg, "'glorot'"));
    assert_non_null(strstr(e.msg, "normal, he, xavier"));
    assert_int_equal(init_kind_from_name(&untouched, "He", &e), ERR_INVALID); /* exact case */
}

static void test_std_table(void **state)
{
    (void)state;
    assert_true(init_std(INIT_NORMAL, 0.01f, 0) == (double)0.01f);
    assert_true(fabs(init_std(INIT_HE, 0, 50) - 0.2) < 1e-15);         /* sqrt(2/50) */
    assert_true(fabs(init_std(INIT_XAVIER, 0, 100) - 0.1) < 1e-15);    /* sqrt(1/100) */
    assert_true(fabs(init_std(INIT_HE, 0, 4320) - sqrt(2.0 / 4320)) < 1e-15);
}

/* Sample mean and standard deviation of w (n). */
static void init_moments(double *mean, double *sd, const float *w, size_t n)
{
    double s = 0.0, s2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        s += w[i];
        s2 += (double)w[i] * w[i];
    }
    *mean = s / n;
    *sd = sqrt(s2 / n - *mean * *mean);
}

/* Large fills have the scheme's std: with n = 2e5 the sample sd is within ~0.16% (1 sd) of
 * the true one; the bound is 1%, and the seed is fixed. */
static void test_std_of_large_fill(void **state)
{
    (void)state;
    float *w = malloc(BIG * sizeof *w);
    assert_non_null(w);
    static const struct {
        init_kind kind;
        float std;
        int fan_in;
        double want;
    } cases[] = {
        {INIT_NORMAL, 0.01f, 0, 0.01},
        {INIT_HE, 0.0f, 50, 0.2},
        {INIT_XAVIER, 0.0f, 100, 0.1},
        {INIT_HE, 0.0f, 750, 0.0516397779494322}, /* conv 30@5x5 over 30 channels: sqrt(2/750) */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        rng r;
        rng_init(&r, 1, RNG_STREAM_INIT);
        init_fill(w, BIG, cases[c].kind, cases[c].std, cases[c].fan_in, &r);
        double mean, sd;
        init_moments(&mean, &sd, w, BIG);
        assert_true(fabs(sd / cases[c].want - 1.0) < 0.01);
        assert_true(fabs(mean) < 0.01 * cases[c].want);
    }
    free(w);
}

/* fan_in scaling: He with fan_in 8 has std 0.5, with fan_in 32 std 0.25, powers of two, so
 * from the same draws every weight of the first fill is exactly twice the second's. Xavier
 * with fan_in 16 (std 0.25) equals He with fan_in 32 bit for bit. */
static void test_fan_in_scaling(void **state)
{
    (void)state;
    enum { N = 1000 };
    float a[N], b[N], c[N];
    rng r;
    rng_init(&r, 4, RNG_STREAM_INIT);
    init_fill(a, N, INIT_HE, 0, 8, &r);
    rng_init(&r, 4, RNG_STREAM_INIT);
    init_fill(b, N, INIT_HE, 0, 32, &r);
    rng_init(&r, 4, RNG_STREAM_INIT);
    init_fill(c, N, INIT_XAVIER, 0, 16, &r);
    for (int i = 0; i < N; i++)
        assert_true(a[i] == 2.0f * b[i]);
    assert_memory_equal(b, c, sizeof b);
}

/* The fill is std * rng_normal in order, rounded to float; it consumes exactly n normals. */
static void test_definition_and_stream_position(void **state)
{
    (void)state;
    enum { N = 100 };
    float w[N];
    rng a, b;
    rng_init(&a, 8, RNG_STREAM_INIT);
    rng_init(&b, 8, RNG_STREAM_INIT);
    init_fill(w, N, INIT_NORMAL, 0.01f, 0, &a);
    for (int i = 0; i < N; i++) {
        float want = (float)((double)0.01f * rng_normal(&b));
        assert_true(w[i] == want);
    }
    assert_memory_equal(&a, &b, sizeof a);
    init_fill(w, 0, INIT_NORMAL, 0.01f, 0, &a); /* n = 0 draws nothing */
    assert_memory_equal(&a, &b, sizeof a);
}

static void test_determinism(void **state)
{
    (void)state;
    enum { N = 4320 };
    static float x[N], y[N], z[N];
    rng r;
    rng_init(&r, 42, RNG_STREAM_INIT);
    init_fill(x, N, INIT_HE, 0, 100, &r);
    rng_init(&r, 42, RNG_STREAM_INIT);
    init_fill(y, N, INIT_HE, 0, 100, &r);
    assert_memory_equal(x, y, sizeof x);
    rng_init(&r, 43, RNG_STREAM_INIT);
    init_fill(z, N, INIT_HE, 0, 100, &r);
    assert_memory_not_equal(x, z, sizeof x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_std_table),
        cmocka_unit_test(test_std_of_large_fill),
        cmocka_unit_test(test_fan_in_scaling),
        cmocka_unit_test(test_definition_and_stream_position),
        cmocka_unit_test(test_determinism),
    };
    return cmocka_run_group_tests_name("init", tests, NULL, NULL);
}
