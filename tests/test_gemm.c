/* Tests of core/gemm: the own AVX-512 and AVX2 kernels against a scalar loop of fmaf in the
 * order gemm.h documents (bitwise), for every transpose combination, shapes that hit every tile
 * remainder (m, n not multiples of the tiles, k longer than a slice), accumulate on and off,
 * teams of 1 to 3 threads; gemm_skip on mostly-zero inputs (the same bits, steps really
 * skipped); the BLAS path against the same reference (to rounding); and the backend names. The own-kernel cases are skipped on a CPU without them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "gradcheck.h"

/* op(A)(i,p) of A stored row-major with stride ld, transposed or not */
static float at(const float *a, int ld, bool trans, int i, int p)
{
    return trans ? a[(size_t)p * (size_t)ld + (size_t)i] : a[(size_t)i * (size_t)ld + (size_t)p];
}

/* The contract of gemm.h: one fmaf chain per element over p in increasing order. */
static void ref_gemm(bool ta, bool tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     bool acc, float *c, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float s = acc ? c[(size_t)i * (size_t)ldc + (size_t)j] : 0.0f;
            for (int p = 0; p < k; p++)
                s = fmaf(at(a, lda, ta, i, p), at(b, ldb, tb, p, j), s);
            c[(size_t)i * (size_t)ldc + (size_t)j] = s;
        }
}

static void fill(float *a, size_t n, gc_rand *r)
{
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(2.0 * gc_uniform(r) - 1.0);
}

/* One product of shape (m,n,k) through gemm() with isa on a team of `threads`, against the
 * reference: bitwise when exact, else within a relative 1e-5 of the largest |C|. Operands are
 * stored with row strides larger than needed (the padding must not be read into C or written). */
static void check(kern_isa isa, int threads, bool ta, bool tb, int m, int n, int k, bool acc, bool exact)
{
    const int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 7;
    const size_t na = (size_t)(ta ? k : m) * (size_t)lda, nb = (size_t)(tb ? n : k) * (size_t)ldb;
    const size_t nc = (size_t)m * (size_t)ldc;
    gc_rand r = {(uint64_t)(m * 131 + n * 17 + k + (ta ? 7 : 0) + (tb ? 3 : 0))};
    float *a = malloc(na * 4), *b = malloc(nb * 4), *c = malloc(nc * 4), *want = malloc(nc * 4);
    fill(a, na, &r);
    fill(b, nb, &r);
    fill(c, nc, &r);
    memcpy(want, c, nc * 4);
    par_team *team = NULL;
    assert_int_equal(par_new(&team, threads, NULL), 0);
    const gemm_ctx ctx = {.threads = threads, .isa = isa, .team = team};
    gemm(&ctx, ta, tb, m, n, k, a, lda, b, ldb, acc, c, ldc);
    ref_gemm(ta, tb, m, n, k, a, lda, b, ldb, acc, want, ldc);
    if (exact) {
        assert_memory_equal(c, want, nc * 4); /* the padding columns too: untouched */
    } else {
        double big = 0.0;
        for (size_t i = 0; i < nc; i++)
            big = fmax(big, fabs(want[i]));
        for (size_t i = 0; i < nc; i++)
            assert_true(fabs((double)c[i] - want[i]) <= 1e-5 * big);
    }
    par_free(team);
    free(a), free(b), free(c), free(want);
}

/* The paper's three products of its 4320 -> 100 affine layer, its 100 -> 10 layer, and small
 * shapes around every remainder of the 10 x 32 and 6 x 16 tiles, k past a 192 slice. */
static const int shapes[][3] = {
    {100, 100, 4320}, {4320, 100, 100}, {100, 4320, 100}, {100, 10, 100}, {100, 100, 10},
    {1, 1, 1},        {7, 5, 3},        {13, 33, 200},    {11, 17, 385},  {6, 16, 8},
    {10, 32, 192},    {25, 48, 31},     {3, 100, 193},
};

static void run_isa(kern_isa isa)
{
    if (kern_resolve(isa) != isa)
        skip();
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++) {
            const bool ta = t & 1, tb = t & 2;
            const int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
            check(isa, 1, ta, tb, m, n, k, false, true);
            check(isa, 1, ta, tb, m, n, k, true, true);
            check(isa, s % 2 ? 2 : 3, ta, tb, m, n, k, t == 1, true);
        }
}

static void test_avx512_bitwise(void **state)
{
    (void)state;
    run_isa(KERN_AVX512);
}

static void test_avx2_bitwise(void **state)
{
    (void)state;
    run_isa(KERN_AVX2);
}

/* gemm_skip == the reference bitwise on an A that is mostly zero (as a ReLU leaves it: zero
 * rows, zero columns, scattered zeros, some -0) with starts that are never -0, for both
 * layouts of A and every kernel set; with AVX-512 the skipped steps are really skipped: an
 * infinity in B at a step where a whole tile of A is zero does not reach C (0 * inf would be
 * NaN). */
static void skip_case(kern_isa isa, int threads, bool ta, int m, int n, int k)
{
    const int lda = ta ? m : k, ldb = n, ldc = n;
    gc_rand r = {(uint64_t)(m + 7 * n + 13 * k + ta)};
    float *a = malloc(sizeof(float) * (size_t)(m * k)), *b = malloc(sizeof(float) * (size_t)(k * n));
    float *c = malloc(sizeof(float) * (size_t)(m * n)), *want = malloc(sizeof(float) * (size_t)(m * n));
    fill(a, (size_t)(m * k), &r);
    fill(b, (size_t)(k * n), &r);
    fill(c, (size_t)(m * n), &r);
    for (int i = 0; i < m; i++)
        for (int p = 0; p < k; p++) {
            const double u = gc_uniform(&r);
            float *v = ta ? &a[(size_t)p * (size_t)lda + (size_t)i] : &a[(size_t)i * (size_t)lda + (size_t)p];
            if (u < 0.6 || p % 7 == 3 || i % 11 == 5) /* scattered, whole steps, whole rows */
                *v = u < 0.05 ? -0.0f : 0.0f;
        }
    for (int i = 0; i < m * n; i++)
        if (c[i] == 0.0f)
            c[i] = 0.5f;
    c[0] = 0.0f; /* +0 is a fine start */
    memcpy(want, c, sizeof(float) * (size_t)(m * n));
    par_team *team = NULL;
    assert_int_equal(par_new(&team, threads, NULL), 0);
    const gemm_ctx ctx = {.threads = threads, .isa = isa, .team = team};
    gemm_skip(&ctx, ta, false, m, n, k, a, lda, b, ldb, true, c, ldc);
    ref_gemm(ta, false, m, n, k, a, lda, b, ldb, true, want, ldc);
    assert_memory_equal(c, want, sizeof(float) * (size_t)(m * n));
    if (isa == KERN_AVX512) {
        /* step 3 is zero in every row (p % 7 == 3): an infinity there is never multiplied */
        for (int j = 0; j < n; j++)
            b[(size_t)3 * (size_t)ldb + (size_t)j] = INFINITY;
        gemm_skip(&ctx, ta, false, m, n, k, a, lda, b, ldb, false, c, ldc);
        for (int i = 0; i < m * n; i++)
            assert_true(isfinite(c[i]));
        gemm(&ctx, ta, false, m, n, k, a, lda, b, ldb, false, c, ldc);
        assert_true(isnan(c[0])); /* while gemm() does multiply it */
    }
    par_free(team);
    free(a), free(b), free(c), free(want);
}

static void test_skip_zeros(void **state)
{
    (void)state;
    const kern_isa isas[] = {KERN_AVX512, KERN_AVX2};
    for (int s = 0; s < 2; s++) {
        if (kern_resolve(isas[s]) != isas[s])
            continue;
        for (int ta = 0; ta < 2; ta++) {
            skip_case(isas[s], 1, ta, 100, 100, 430);  /* the paper's forward, smaller k */
            skip_case(isas[s], 2, ta, 433, 100, 100);  /* its weight gradient; m past the tiles */
            skip_case(isas[s], 1, ta, 37, 17, 211);    /* 1-vector panels: 28-row tiles */
            skip_case(isas[s], 3, ta, 20, 45, 390);    /* a 3-vector panel, k past a slice */
        }
    }
}

/* BLIS (one thread) agrees with the fma chains to rounding. */
static void test_generic_close(void **state)
{
    (void)state;
    for (int t = 0; t < 4; t++) {
        check(KERN_GENERIC, 2, t & 1, t & 2, 100, 100, 4320, false, false);
        check(KERN_GENERIC, 1, t & 1, t & 2, 13, 33, 200, true, false);
    }
}

/* k = 0 leaves C (accumulate) or zeroes it; m = 0 or n = 0 touches nothing. */
static void test_empty(void **state)
{
    (void)state;
    const kern_isa isas[] = {KERN_AUTO, KERN_GENERIC};
    for (int i = 0; i < 2; i++) {
        const gemm_ctx ctx = {.threads = 1, .isa = isas[i]};
        float c[6] = {1, 2, 3, 4, 5, 6}, a[1] = {9}, b[1] = {9};
        gemm(&ctx, false, false, 2, 3, 0, a, 1, b, 3, true, c, 3);
        assert_true(c[0] == 1.0f && c[5] == 6.0f);
        gemm(&ctx, false, false, 0, 3, 1, a, 1, b, 3, false, c, 3);
        gemm(&ctx, false, false, 2, 0, 1, a, 1, b, 3, false, c, 3);
        assert_true(c[0] == 1.0f && c[5] == 6.0f);
        gemm(&ctx, false, false, 2, 3, 0, a, 1, b, 3, false, c, 3);
        for (int j = 0; j < 6; j++)
            assert_true(c[j] == 0.0f && !signbit(c[j]));
    }
}

static void test_backend_names(void **state)
{
    (void)state;
    /* each set's backend and numerics (the generic ones start with the BLIS configuration's) */
    static const struct {
        kern_isa isa;
        const char *backend, *numerics;
    } want[] = {{KERN_AVX512, "avx512-6x64", "fma-chains"},
                {KERN_AVX2, "avx2-6x16", "fma-chains"},
                {KERN_GENERIC, "blis-", "generic+blis-"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char s[64];
        gemm_backend(s, sizeof s, want[i].isa);
        assert_memory_equal(s, want[i].backend, strlen(want[i].backend) + (want[i].isa != KERN_GENERIC));
        gemm_numerics(s, sizeof s, want[i].isa);
        assert_memory_equal(s, want[i].numerics, strlen(want[i].numerics) + (want[i].isa != KERN_GENERIC));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_avx512_bitwise), cmocka_unit_test(test_avx2_bitwise),
        cmocka_unit_test(test_skip_zeros),
        cmocka_unit_test(test_generic_close),  cmocka_unit_test(test_empty),
        cmocka_unit_test(test_backend_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
