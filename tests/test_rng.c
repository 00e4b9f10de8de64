/* Tests of core/rng: known-answer vector, streams, bounded draws, permutations, normals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "rng.h"

/* The known-answer vector of rng.h, computed once by an independent Python implementation
 * (splitmix64 seeding + xoshiro256** written from the published descriptions). */
static void test_known_answer(void **state)
{
    (void)state;
    static const uint64_t want_1_1[5] = {0x309714ec38d33b4cULL, 0x1bc11473d28024a0ULL,
                                         0xaa4f7bbef2a5a194ULL, 0xe418b571ccc48341ULL,
                                         0xf474a7fd3ed0cb44ULL};
    static const uint64_t want_1_2[5] = {0x84f02f195ab5fd66ULL, 0x46ff6f0daaf44911ULL,
                                         0x8276408e60c29367ULL, 0x9d7cf08eef179a7bULL,
                                         0xd6e56b4c6f3b3983ULL};
    static const uint64_t want_42_1[3] = {0x0cee3ac9ad457c96ULL, 0x719a1abe9d3f4270ULL,
                                          0x7256f0ab739bfce7ULL};
    rng r;
    rng_init(&r, 1, RNG_STREAM_INIT);
    /* The seeded state itself (splitmix64 outputs) is part of the vector too. */
    assert_int_equal(r.s[0], 0xe9fd6049d65af21eULL);
    assert_int_equal(r.s[3], 0x484b90fcf1d24019ULL);
    for (int i = 0; i < 5; i++)
        assert_int_equal(rng_next(&r), want_1_1[i]);
    rng_init(&r, 1, RNG_STREAM_SAMPLE);
    for (int i = 0; i < 5; i++)
        assert_int_equal(rng_next(&r), want_1_2[i]);
    rng_init(&r, 42, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rng_next(&r), want_42_1[i]);
}

/* Distinct (seed, stream) pairs give unrelated sequences: no shared output among the first
 * 64 outputs of 3 seeds x 3 streams (a collision of 64-bit words would mean overlapping
 * sequences), so e.g. (seed 1, stream 2) and (seed 2, stream 1) are not confused. */
/* rng_fill gives the outputs rng_next would, in order, and leaves the state where n calls
 * would: the known-answer vector again, then the two generators stay in step. */
static void test_fill(void **state)
{
    (void)state;
    rng a, b;
    rng_init(&a, 1, RNG_STREAM_INIT);
    rng_init(&b, 1, RNG_STREAM_INIT);
    uint64_t out[3];
    rng_fill(&a, out, 3);
    assert_int_equal(out[0], 0x309714ec38d33b4cULL);
    assert_int_equal(out[1], 0x1bc11473d28024a0ULL);
    assert_int_equal(out[2], 0xaa4f7bbef2a5a194ULL);
    for (int i = 0; i < 3; i++)
        rng_next(&b);
    assert_int_equal(rng_next(&a), rng_next(&b));
    rng_fill(&a, out, 0);
    assert_int_equal(rng_next(&a), rng_next(&b));
}

static void test_streams_independent(void **state)
{
    (void)state;
    enum { SEEDS = 3, STREAMS = 3, N = 64 };
    static uint64_t out[SEEDS * STREAMS][N];
    for (int a = 0; a < SEEDS; a++) {
        for (int b = 0; b < STREAMS; b++) {
            rng r;
            rng_init(&r, (uint64_t)a, (uint64_t)b + 1);
            assert_true(r.s[0] | r.s[1] | r.s[2] | r.s[3]); /* seed 0 is valid */
            for (int i = 0; i < N; i++)
                out[a * STREAMS + b][i] = rng_next(&r);
        }
    }
    for (int x = 0; x < SEEDS * STREAMS; x++)
        for (int y = x + 1; y < SEEDS * STREAMS; y++)
            for (int i = 0; i < N; i++)
                for (int j = 0; j < N; j++)
                    assert_true(out[x][i] != out[y][j]);

}

static void test_uniform(void **state)
{
    (void)state;
    rng a, b;
    rng_init(&a, 3, 1);
    rng_init(&b, 3, 1);
    double sum = 0.0;
    for (int i = 0; i < 100000; i++) {
        double u = rng_uniform(&a);
        /* Definition: top 53 bits of one output, times 2^-53. */
        assert_true(u == (double)(rng_next(&b) >> 11) * 0x1.0p-53);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
    }
    /* Mean of 1e5 U(0,1): sd 0.0009; fixed seed, so the bound is deterministic. */
    assert_true(fabs(sum / 100000 - 0.5) < 0.005);
}

/* rng_below: results in range for small, odd, power-of-two and huge n; n = 1 always 0. */
static void test_below_range(void **state)
{
    (void)state;
    static const uint32_t ns[] = {1, 2, 3, 7, 10, 64, 1000, 60000, 0x80000001u, 0xC0000000u,
                                  UINT32_MAX};
    rng r;
    rng_init(&r, 5, 2);
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        uint32_t max_seen = 0;
        for (int i = 0; i < 20000; i++) {
            uint32_t x = rng_below(&r, ns[k]);
            assert_true(x < ns[k]);
            if (x > max_seen)
                max_seen = x;
        }
        /* The top of the range is reached: above 90% of n for every n >= 2. */
        if (ns[k] >= 2)
            assert_true(max_seen >= ns[k] - 1 - ns[k] / 10);
    }
}

/* Pearson chi-square of 100000 draws over n = 10 cells, df = 9. Under uniformity P(X > 40)
 * is about 5e-6; the seed is fixed, so the test is deterministic and cannot flake, yet a
 * biased mapping (e.g. x % 10 on a few bits) would blow far past the bound. */
static void test_below_chi_square(void **state)
{
    (void)state;
    enum { N = 100000, K = 10 };
    int64_t count[K] = {0};
    rng r;
    rng_init(&r, 11, RNG_STREAM_SAMPLE);
    for (int i = 0; i < N; i++)
        count[rng_below(&r, K)]++;
    double chi2 = 0.0, expect = (double)N / K;
    for (int c = 0; c < K; c++)
        chi2 += (count[c] - expect) * (count[c] - expect) / expect;
    assert_true(chi2 < 40.0);

    /* Large n, where the rejection step matters: for n = 3 * 2^30, multiply-shift without
     * rejection maps x to floor(3x/4), hitting every multiple of 3 twice, so P(result % 3 == 0)
     * would be 1/2 instead of 1/3. 60000 draws, cells = result % 3, df = 2, P(X > 25) ~ 4e-6. */
    int64_t third[3] = {0};
    for (int i = 0; i < 60000; i++)
        third[rng_below(&r, 0xC0000000u) % 3]++;
    chi2 = 0.0;
    for (int c = 0; c < 3; c++)
        chi2 += (third[c] - 20000.0) * (third[c] - 20000.0) / 20000.0;
    assert_true(chi2 < 25.0);
}

static void test_permute_is_permutation(void **state)
{
    (void)state;
    enum { N = 1000 };
    static uint32_t idx[N];
    static unsigned char seen[N];
    rng r;
    rng_init(&r, 9, RNG_STREAM_SAMPLE);
    for (int rep = 0; rep < 5; rep++) {
        rng_permute(&r, idx, N);
        memset(seen, 0, sizeof seen);
        int fixed = 0;
        for (uint32_t i = 0; i < N; i++) {
            assert_true(idx[i] < N);
            assert_false(seen[idx[i]]);
            seen[idx[i]] = 1;
            fixed += idx[i] == i;
        }
        /* A uniform permutation has ~Poisson(1) fixed points; identity would have 1000. */
        assert_true(fixed < 10);
    }
    /* Degenerate sizes. */
    uint32_t one = 77;
    rng_permute(&r, &one, 1);
    assert_int_equal(one, 0);
    rng_permute(&r, NULL, 0);
}

/* All 6 permutations of 3 elements, 60000 shuffles: chi-square df = 5, P(X > 30) ~ 1.5e-5.
 * Catches the classic off-by-one (j drawn from [0, n) at every i), which is non-uniform. */
static void test_permute_uniform(void **state)
{
    (void)state;
    int64_t count[27] = {0};
    rng r;
    rng_init(&r, 13, RNG_STREAM_SAMPLE);
    uint32_t idx[3];
    for (int i = 0; i < 60000; i++) {
        rng_permute(&r, idx, 3);
        count[idx[0] * 9 + idx[1] * 3 + idx[2]]++;
    }
    double chi2 = 0.0;
    int cells = 0;
    for (int c = 0; c < 27; c++) {
        if (count[c]) {
            cells++;
            chi2 += (count[c] - 10000.0) * (count[c] - 10000.0) / 10000.0;
        }
    }
    assert_int_equal(cells, 6);
    assert_true(chi2 < 30.0);
}

static void test_normal(void **state)
{
    (void)state;
    enum { N = 200000 };
    rng r;
    rng_init(&r, 17, RNG_STREAM_INIT);
    double sum = 0.0, sum2 = 0.0, sum4 = 0.0;
    int beyond2 = 0;
    for (int i = 0; i < N; i++) {
        double z = rng_normal(&r);
        assert_true(isfinite(z));
        sum += z;
        sum2 += z * z;
        sum4 += z * z * z * z;
        beyond2 += fabs(z) > 2.0;
    }
    double mean = sum / N, var = sum2 / N - mean * mean;
    /* sd of the mean ~0.0022, of the variance ~0.0032; bounds are > 4 sd. */
    assert_true(fabs(mean) < 0.01);
    assert_true(fabs(var - 1.0) < 0.015);
    assert_true(fabs(sum4 / N - 3.0) < 0.1); /* normal kurtosis, not e.g. uniform's 1.8 */
    /* P(|Z| > 2) = 0.0455: expect 9100, sd ~93. */
    assert_true(beyond2 > 8600 && beyond2 < 9600);

    /* Exactly two outputs per call (no cached second variate). */
    rng a, b;
    rng_init(&a, 21, 1);
    rng_init(&b, 21, 1);
    for (int i = 0; i < 7; i++) {
        rng_normal(&a);
        rng_next(&b);
        rng_next(&b);
        assert_memory_equal(&a, &b, sizeof a);
    }
}

static void test_same_seed_same_sequence(void **state)
{
    (void)state;
    rng a, b;
    rng_init(&a, 123456789, RNG_STREAM_DROPOUT);
    rng_init(&b, 123456789, RNG_STREAM_DROPOUT);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(rng_below(&a, 1000), rng_below(&b, 1000));
        double x = rng_normal(&a), y = rng_normal(&b);
        assert_memory_equal(&x, &y, sizeof x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_fill),
        cmocka_unit_test(test_streams_independent),
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_below_range),
        cmocka_unit_test(test_below_chi_square),
        cmocka_unit_test(test_permute_is_permutation),
        cmocka_unit_test(test_permute_uniform),
        cmocka_unit_test(test_normal),
        cmocka_unit_test(test_same_seed_same_sequence),
    };
    return cmocka_run_group_tests_name("rng", tests, NULL, NULL);
}
