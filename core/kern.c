/* kern: run-time selected compute kernels (see kern.h for the contracts and the numerics). */
#include "kern.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KERN_HAVE_AVX2 1
#include <immintrin.h>
#else
#define KERN_HAVE_AVX2 0
#endif

static const struct {
    kern_isa isa;
    const char *name;
} kern_names[] = {
    {KERN_AUTO, "auto"},
    {KERN_GENERIC, "generic"},
    {KERN_AVX2, "avx2"},
};

const char *kern_isa_name(kern_isa isa)
{
    for (size_t i = 0; i < sizeof kern_names / sizeof kern_names[0]; i++)
        if (kern_names[i].isa == isa)
            return kern_names[i].name;
    return "?";
}

/* Whether the running CPU can execute the AVX2 + FMA kernels. __builtin_cpu_supports reads the
 * CPU description libgcc fills in at start-up (it also checks that the OS saves the YMM state). */
static bool kern_cpu_avx2(void)
{
#if KERN_HAVE_AVX2
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

kern_isa kern_resolve(kern_isa want)
{
    if (want == KERN_AUTO || want == KERN_AVX2)
        return kern_cpu_avx2() ? KERN_AVX2 : KERN_GENERIC;
    return KERN_GENERIC;
}

#if KERN_HAVE_AVX2

#define KERN_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define KERN_INLINE static inline __attribute__((always_inline))

/* Forward tile: NF filters x 16 pixels (two 8-float vectors), 2*NF accumulators started at the
 * bias; every tap broadcasts one weight per filter against the same two col vectors. With
 * NF <= 6 the 12 accumulators, 2 col vectors and a broadcast fit the 16 YMM registers. */
KERN_TARGET_AVX2 KERN_INLINE void kern_fwd_tile(float *y, const float *w, const float *b,
                                                const float *col, int nf, int q, int p)
{
    __m256 acc[6][2];
    for (int j = 0; j < nf; j++)
        acc[j][0] = acc[j][1] = _mm256_set1_ps(b[j]);
    for (int t = 0; t < q; t++) {
        const float *ct = col + (size_t)t * (size_t)p;
        const __m256 c0 = _mm256_loadu_ps(ct), c1 = _mm256_loadu_ps(ct + 8);
        for (int j = 0; j < nf; j++) {
            const __m256 wv = _mm256_broadcast_ss(w + (size_t)j * (size_t)q + (size_t)t);
            acc[j][0] = _mm256_fmadd_ps(wv, c0, acc[j][0]);
            acc[j][1] = _mm256_fmadd_ps(wv, c1, acc[j][1]);
        }
    }
    for (int j = 0; j < nf; j++) {
        _mm256_storeu_ps(y + (size_t)j * (size_t)p, acc[j][0]);
        _mm256_storeu_ps(y + (size_t)j * (size_t)p + 8, acc[j][1]);
    }
}

KERN_TARGET_AVX2 void kern_conv_fwd_avx2(float *y, const float *w, const float *b,
                                         const float *col, int f, int q, int p)
{
    assert(y && w && b && col && f >= 1 && q >= 1 && p >= 1);
    assert(kern_cpu_avx2());
    const int p16 = p - p % 16;
    for (int f0 = 0; f0 < f; f0 += 6) {
        const int nf = f - f0 < 6 ? f - f0 : 6;
        float *yf = y + (size_t)f0 * (size_t)p;
        const float *wf = w + (size_t)f0 * (size_t)q, *bf = b + f0;
        for (int p0 = 0; p0 < p16; p0 += 16) {
            /* constant tile heights, so that each call is unrolled into registers */
            switch (nf) {
            case 6: kern_fwd_tile(yf + p0, wf, bf, col + p0, 6, q, p); break;
            case 5: kern_fwd_tile(yf + p0, wf, bf, col + p0, 5, q, p); break;
            case 4: kern_fwd_tile(yf + p0, wf, bf, col + p0, 4, q, p); break;
            case 3: kern_fwd_tile(yf + p0, wf, bf, col + p0, 3, q, p); break;
            case 2: kern_fwd_tile(yf + p0, wf, bf, col + p0, 2, q, p); break;
            default: kern_fwd_tile(yf + p0, wf, bf, col + p0, 1, q, p); break;
            }
        }
        /* the last p mod 16 pixels: the same fma chain, one output at a time */
        for (int j = 0; j < nf; j++)
            for (int px = p16; px < p; px++) {
                float s = bf[j];
                for (int t = 0; t < q; t++)
                    s = fmaf(wf[(size_t)j * (size_t)q + (size_t)t], col[(size_t)t * (size_t)p + (size_t)px], s);
                yf[(size_t)j * (size_t)p + (size_t)px] = s;
            }
    }
}

/* Sum of the 8 lanes in the fixed tree of kern.h. */
KERN_TARGET_AVX2 KERN_INLINE float kern_hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)); /* l_i + l_i+4 */
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));          /* (l0+l4)+(l2+l6), (l1+l5)+(l3+l7) */
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/* Weight-gradient tile: NF filters x NT taps (NF, NT <= 3), NF*NT accumulators of 8 lanes. */
KERN_TARGET_AVX2 KERN_INLINE void kern_dw_tile(float *dw, const float *dy, const float *col, int nf, int nt,
                                               int q, int p, bool accumulate)
{
    __m256 acc[3][3];
    for (int j = 0; j < nf; j++)
        for (int k = 0; k < nt; k++)
            acc[j][k] = _mm256_setzero_ps();
    const int p8 = p - p % 8;
    for (int px = 0; px < p8; px += 8) {
        __m256 d[3], c[3];
        for (int j = 0; j < nf; j++)
            d[j] = _mm256_loadu_ps(dy + (size_t)j * (size_t)p + (size_t)px);
        for (int k = 0; k < nt; k++)
            c[k] = _mm256_loadu_ps(col + (size_t)k * (size_t)p + (size_t)px);
        for (int j = 0; j < nf; j++)
            for (int k = 0; k < nt; k++)
                acc[j][k] = _mm256_fmadd_ps(d[j], c[k], acc[j][k]);
    }
    for (int j = 0; j < nf; j++)
        for (int k = 0; k < nt; k++) {
            float s = kern_hsum(acc[j][k]);
            for (int px = p8; px < p; px++)
                s = fmaf(dy[(size_t)j * (size_t)p + (size_t)px], col[(size_t)k * (size_t)p + (size_t)px], s);
            float *o = dw + (size_t)j * (size_t)q + (size_t)k;
            *o = accumulate ? *o + s : s;
        }
}

KERN_TARGET_AVX2 void kern_conv_dw_avx2(float *dw, const float *dy, const float *col, int f, int q, int p,
                                        bool accumulate)
{
    assert(dw && dy && col && f >= 1 && q >= 1 && p >= 1);
    assert(kern_cpu_avx2());
    for (int f0 = 0; f0 < f; f0 += 3) {
        const int nf = f - f0 < 3 ? f - f0 : 3;
        const float *dyf = dy + (size_t)f0 * (size_t)p;
        float *dwf = dw + (size_t)f0 * (size_t)q;
        for (int t0 = 0; t0 < q; t0 += 3) {
            const int nt = q - t0 < 3 ? q - t0 : 3;
            const float *ct = col + (size_t)t0 * (size_t)p;
            /* constant tile shapes (3x3 for the bulk), unrolled into registers */
            switch (nf * 4 + nt) {
            case 15: kern_dw_tile(dwf + t0, dyf, ct, 3, 3, q, p, accumulate); break;
            case 14: kern_dw_tile(dwf + t0, dyf, ct, 3, 2, q, p, accumulate); break;
            case 13: kern_dw_tile(dwf + t0, dyf, ct, 3, 1, q, p, accumulate); break;
            case 11: kern_dw_tile(dwf + t0, dyf, ct, 2, 3, q, p, accumulate); break;
            case 10: kern_dw_tile(dwf + t0, dyf, ct, 2, 2, q, p, accumulate); break;
            case 9: kern_dw_tile(dwf + t0, dyf, ct, 2, 1, q, p, accumulate); break;
            case 7: kern_dw_tile(dwf + t0, dyf, ct, 1, 3, q, p, accumulate); break;
            case 6: kern_dw_tile(dwf + t0, dyf, ct, 1, 2, q, p, accumulate); break;
            default: kern_dw_tile(dwf + t0, dyf, ct, 1, 1, q, p, accumulate); break;
            }
        }
    }
}

#else /* no AVX2 build: kern_resolve() never selects these */

void kern_conv_fwd_avx2(float *y, const float *w, const float *b, const float *col, int f, int q, int p)
{
    (void)y, (void)w, (void)b, (void)col, (void)f, (void)q, (void)p;
    assert(!"kern_conv_fwd_avx2 called in a build without AVX2 kernels");
}

void kern_conv_dw_avx2(float *dw, const float *dy, const float *col, int f, int q, int p, bool accumulate)
{
    (void)dw, (void)dy, (void)col, (void)f, (void)q, (void)p, (void)accumulate;
    assert(!"kern_conv_dw_avx2 called in a build without AVX2 kernels");
}

#endif
