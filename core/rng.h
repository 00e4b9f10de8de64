/* rng: the core's only source of randomness — xoshiro256** seeded by splitmix64.
 *
 * The module owns the generator state and the derived draws (uniform, bounded integer, normal,
 * permutation). There is no global state: every consumer of randomness takes an `rng *`
 * (README.md "Conventions" rule 6), and each consumer uses its own stream (enum rng_stream), so that changing
 * how many numbers one consumer draws never shifts what another one sees.
 *
 * Algorithm
 *   splitmix64 (Steele, Lea, Flood 2014):  x += 0x9E3779B97F4A7C15; z = x;
 *       z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;  z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
 *       return z ^ (z >> 31).            Call mix(v) the three mixing lines applied to v.
 *   Seeding from (seed, stream):  sm = mix(seed + 0x9E3779B97F4A7C15) ^ stream; then
 *       s[0..3] = four successive splitmix64 outputs from state sm. Consecutive splitmix64
 *       outputs come from distinct inputs of a bijection, so s is never all zero.
 *   xoshiro256** (Blackman, Vigna 2018):
 *       result = rotl(s[1] * 5, 7) * 9;  t = s[1] << 17;
 *       s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45).
 *
 * Known-answer vector (checked by tests/test_rng.c; computed once by an independent Python
 * implementation of the description above):
 *   seed 1, stream 1: 0x309714ec38d33b4c 0x1bc11473d28024a0 0xaa4f7bbef2a5a194
 *                     0xe418b571ccc48341 0xf474a7fd3ed0cb44
 *   seed 1, stream 2: 0x84f02f195ab5fd66 0x46ff6f0daaf44911 0x8276408e60c29367 ...
 *
 * Each function documents how many outputs it consumes. Integer draws are bitwise identical
 * on every platform; rng_normal goes through libm's log/cos/sqrt, whose last bit may differ
 * between C libraries, so normal draws are reproducible for one libm (glibc here). */
#ifndef BENCH_RNG_H
#define BENCH_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct rng {
    uint64_t s[4]; /* xoshiro256** state; never all zero */
} rng;

/* Streams of randomness, one per consumer. Values are part of the reproducibility contract:
 * never renumber them, only append. */
enum rng_stream {
    RNG_STREAM_INIT = 1,    /* weight initialisation */
    RNG_STREAM_SAMPLE = 2,  /* mini-batch sampling / epoch shuffles */
    RNG_STREAM_DROPOUT = 3, /* dropout masks and any other training-time noise */
    RNG_STREAM_AUGMENT = 4, /* data augmentation: the random translation of each training image */
    RNG_STREAM_AFFINE = 5,  /* augmentation: rotation, scales and shear of each image (augment.h) */
    RNG_STREAM_ELASTIC = 6, /* augmentation: the seeds of the elastic fields, and the fields */
};

/* Seed r from (seed, stream) as described above. Any seed is valid, 0 included. */
void rng_init(rng *r, uint64_t seed, uint64_t stream);

/* Next 64-bit output of xoshiro256**. */
uint64_t rng_next(rng *r);

/* out (n) = the next n outputs of rng_next, in order (a loop without a call per output). */
void rng_fill(rng *r, uint64_t *out, size_t n);

/* Uniform double in [0, 1): the top 53 bits of one output times 2^-53. One output. */
double rng_uniform(rng *r);

/* Uniform integer in [0, n), exactly unbiased, n >= 1 (asserted). Lemire's multiply-shift
 * method (2019) on the top 32 bits of an output: m = x * n (64-bit); accept m >> 32 unless the
 * low half of m is below 2^32 mod n, in which case draw again. Usually one output; the expected
 * number is below 2 for every n. */
uint32_t rng_below(rng *r, uint32_t n);

/* Standard normal N(0,1) by the Box-Muller transform WITHOUT caching the second variate:
 * u1 = 1 - rng_uniform (in (0,1], so log is finite), u2 = rng_uniform,
 * z = sqrt(-2 ln u1) * cos(2 pi u2). Exactly two outputs per call, so the stream position is a
 * pure function of the call count. */
double rng_normal(rng *r);

/* idx (n) = a uniformly random permutation of 0..n-1 (the previous contents are ignored).
 * Fisher-Yates, from the top: for i = n-1 .. 1, j = rng_below(i+1), swap idx[i], idx[j].
 * Exactly n-1 calls to rng_below. */
void rng_permute(rng *r, uint32_t *idx, uint32_t n);

#endif
