/* gradcheck: header-only helpers shared by the layer tests (tests/test_{conv,pool,affine,bn,act,
 * dropout,loss}.c).
 *
 * - gc_rand: a tiny splitmix64 generator for test inputs, independent of core/rng so that a
 *   change there never changes the layer tests' data.
 * - gc_check: central finite differences in double. A layer test defines a scalar objective
 *   L = sum_i wt_i * y_i of the layer output (wt random and fixed, summed in double by
 *   gc_weighted_sum), runs the layer's backward with dy = wt to get the analytic gradient of
 *   every input and parameter, and compares it element by element with
 *       dL/dv_i ~= (L(v_i + h) - L(v_i - h)) / ((v_i + h) - (v_i - h)),
 *   where the denominator uses the perturbed values as actually stored in float. The error of
 *   that estimate is O(h^2) (curvature) plus O(eps_float * |L| / h) (rounding of the float
 *   forward); each test states the tolerance it uses and why.
 * Everything is static so each test file gets its own copy. */
#ifndef BENCH_TESTS_GRADCHECK_H
#define BENCH_TESTS_GRADCHECK_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct gc_rand {
    uint64_t s;
} gc_rand;

/* splitmix64 (Steele, Lea, Flood 2014). */
static inline uint64_t gc_next(gc_rand *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) from the top 53 bits. */
static inline double gc_uniform(gc_rand *r)
{
    return (double)(gc_next(r) >> 11) * 0x1.0p-53;
}

/* a[i] uniform in [lo, hi). */
static inline void gc_fill(float *a, size_t n, float lo, float hi, gc_rand *r)
{
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(lo + (hi - lo) * gc_uniform(r));
}

/* L = sum_i wt[i] * y[i], accumulated in double. */
static inline double gc_weighted_sum(const float *y, const float *wt, size_t n)
{
    double acc = 0.0;
    for (size_t i = 0; i < n; i++)
        acc += (double)wt[i] * (double)y[i];
    return acc;
}

/* Recompute the forward pass with the current inputs and return the scalar objective. */
typedef double (*gc_objective)(void *ctx);

typedef struct gc_result {
    double worst;            /* max over i of |num - ana| / (atol + rtol * max(|num|, |ana|)) */
    size_t at;               /* the index where it occurred */
    double numeric, analytic; /* the two values there */
} gc_result;

/* Compare analytic[0..n) with central differences of f with respect to v[0..n) (which f reads).
 * v is restored exactly. analytic must not be overwritten by f. The check passes when
 * result.worst <= 1, i.e. |num - ana| <= atol + rtol * max(|num|, |ana|) for every element. */
static inline gc_result gc_check(float *v, const float *analytic, size_t n, gc_objective f, void *ctx, double h,
                                 double atol, double rtol)
{
    gc_result res = {0};
    for (size_t i = 0; i < n; i++) {
        const float keep = v[i];
        const float vp = (float)(keep + h), vm = (float)(keep - h);
        v[i] = vp;
        const double lp = f(ctx);
        v[i] = vm;
        const double lm = f(ctx);
        v[i] = keep;
        const double num = (lp - lm) / ((double)vp - (double)vm);
        const double ana = analytic[i];
        const double scale = fmax(fabs(num), fabs(ana));
        const double ratio = fabs(num - ana) / (atol + rtol * scale);
        if (!(ratio <= res.worst)) { /* also catches NaN */
            res.worst = ratio;
            res.at = i;
            res.numeric = num;
            res.analytic = ana;
        }
    }
    return res;
}

/* True when r passed; otherwise prints where it failed, for the test log. */
static inline bool gc_ok(const char *what, gc_result r)
{
    if (r.worst <= 1.0)
        return true;
    fprintf(stderr, "gradcheck %s: element %zu numeric %.9g analytic %.9g (error ratio %.3g)\n", what, r.at,
            r.numeric, r.analytic, r.worst);
    return false;
}

/* True when |a[i] - b[i]| <= tol for all i; otherwise prints the first mismatch. */
static inline bool gc_near(const char *what, const float *a, const float *b, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++) {
        if (!(fabs((double)a[i] - (double)b[i]) <= tol)) {
            fprintf(stderr, "%s: element %zu is %.9g, expected %.9g (tolerance %g)\n", what, i, (double)a[i],
                    (double)b[i], tol);
            return false;
        }
    }
    return true;
}

#endif
