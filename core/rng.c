/* rng: xoshiro256** seeded by splitmix64; see rng.h for the algorithm and the contract. */
#include "rng.h"

#include <assert.h>
#include <math.h>

#define RNG_GOLDEN 0x9E3779B97F4A7C15ULL /* 2^64 / golden ratio, splitmix64's increment */

/* splitmix64's output function: a bijection of 64-bit words with good avalanche. */
static uint64_t rng_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rng_splitmix_next(uint64_t *x)
{
    *x += RNG_GOLDEN;
    return rng_mix(*x);
}

static inline uint64_t rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void rng_init(rng *r, uint64_t seed, uint64_t stream)
{
    assert(r);
    /* Hash the seed first, then fold in the stream, so that (seed, stream) pairs which differ
     * in either word start splitmix64 at unrelated points. */
    uint64_t sm = rng_mix(seed + RNG_GOLDEN) ^ stream;
    for (int i = 0; i < 4; i++)
        r->s[i] = rng_splitmix_next(&sm);
}

/* One step of xoshiro256**; inlined into rng_next and rng_fill. */
static inline uint64_t rng_step(rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rng_rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return result;
}

uint64_t rng_next(rng *r)
{
    return rng_step(r);
}

void rng_fill(rng *r, uint64_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = rng_step(r);
}

double rng_uniform(rng *r)
{
    /* The top 53 bits are the best of xoshiro256**'s output; k * 2^-53 is exact in double. */
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

uint32_t rng_below(rng *r, uint32_t n)
{
    assert(n >= 1);
    /* Lemire, "Fast random integer generation in an interval" (2019). x * n / 2^32 maps the
     * 2^32 values of x onto [0, n); each result is hit floor(2^32/n) or that + 1 times. The
     * low half l of the product tells which x's are in the over-represented part: rejecting
     * l < (2^32 mod n) leaves every result hit exactly floor(2^32/n) times. */
    uint64_t m = (uint64_t)(uint32_t)(rng_next(r) >> 32) * n;
    uint32_t l = (uint32_t)m;
    if (l < n) {
        const uint32_t threshold = (uint32_t)(-n) % n; /* = 2^32 mod n */
        while (l < threshold) {
            m = (uint64_t)(uint32_t)(rng_next(r) >> 32) * n;
            l = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double rng_normal(rng *r)
{
    /* Box-Muller: for U1, U2 uniform on (0,1], [0,1), sqrt(-2 ln U1) cos(2 pi U2) ~ N(0,1).
     * The sine partner is discarded on purpose (no cache: the stream position depends only
     * on the number of calls). */
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = 1.0 - rng_uniform(r); /* (0, 1]: log(u1) is finite */
    double u2 = rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}

void rng_permute(rng *r, uint32_t *idx, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        idx[i] = i;
    /* Fisher-Yates: idx[i+1..n-1] are final; position i gets a uniform pick among idx[0..i]. */
    for (uint32_t i = n; i-- > 1;) {
        uint32_t j = rng_below(r, i + 1);
        uint32_t tmp = idx[i];
        idx[i] = idx[j];
        idx[j] = tmp;
    }
}
