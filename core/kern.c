/* kern: run-time selected compute kernels (see kern.h for the contracts and the numerics). */
#include "kern.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

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
    {KERN_AVX512, "avx512"},
};

const char *kern_isa_name(kern_isa isa)
{
    for (size_t i = 0; i < sizeof kern_names / sizeof kern_names[0]; i++)
        if (kern_names[i].isa == isa)
            return kern_names[i].name;
    return "?";
}

bool kern_isa_from_name(kern_isa *out, const char *name)
{
    for (size_t i = 0; i < sizeof kern_names / sizeof kern_names[0]; i++)
        if (strcmp(kern_names[i].name, name) == 0) {
            *out = kern_names[i].isa;
            return true;
        }
    return false;
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

/* Whether it can also execute the AVX-512F kernels (the check includes the OS's saving of the
 * ZMM state). */
static bool kern_cpu_avx512(void)
{
#if KERN_HAVE_AVX2
    return kern_cpu_avx2() && __builtin_cpu_supports("avx512f");
#else
    return false;
#endif
}

kern_isa kern_resolve(kern_isa want)
{
    if ((want == KERN_AUTO || want == KERN_AVX512) && kern_cpu_avx512())
        return KERN_AVX512;
    if (want == KERN_AUTO || want == KERN_AVX512 || want == KERN_AVX2)
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

/* Direct forward tile: NF <= 4 filters x NV <= 3 vectors of 8 pixels of one output row, 4*3
 * accumulators started at the bias; each tap (c, i, j) loads the NV input vectors at row i,
 * column j of the tile's origin in x and broadcasts one weight per filter. MASKED: the last
 * vector holds only the pixels `mask` selects (a row's tail), loaded and stored under it. */
KERN_TARGET_AVX2 KERN_INLINE void kern_dfwd_tile(float *y, const float *w, const float *b, const float *x,
                                                 int nf, int nv, bool masked, __m256i mask, int c, int h,
                                                 int wd, int k, size_t ohw)
{
    __m256 acc[4][3];
    const int q = c * k * k;
    for (int jf = 0; jf < nf; jf++)
        for (int v = 0; v < nv; v++)
            acc[jf][v] = _mm256_set1_ps(b[jf]);
    for (int ci = 0; ci < c; ci++)
        for (int i = 0; i < k; i++) {
            const float *xr = x + ((size_t)ci * (size_t)h + (size_t)i) * (size_t)wd;
            const int t0 = (ci * k + i) * k;
            for (int j = 0; j < k; j++) {
                __m256 xv[3];
                for (int v = 0; v < nv; v++)
                    xv[v] = masked && v == nv - 1 ? _mm256_maskload_ps(xr + j + 8 * v, mask)
                                                  : _mm256_loadu_ps(xr + j + 8 * v);
                for (int jf = 0; jf < nf; jf++) {
                    const __m256 wv = _mm256_broadcast_ss(w + (size_t)jf * (size_t)q + (size_t)(t0 + j));
                    for (int v = 0; v < nv; v++)
                        acc[jf][v] = _mm256_fmadd_ps(wv, xv[v], acc[jf][v]);
                }
            }
        }
    for (int jf = 0; jf < nf; jf++)
        for (int v = 0; v < nv; v++) {
            float *d = y + (size_t)jf * ohw + (size_t)(8 * v);
            if (masked && v == nv - 1)
                _mm256_maskstore_ps(d, mask, acc[jf][v]);
            else
                _mm256_storeu_ps(d, acc[jf][v]);
        }
}

/* kern_dfwd_tile with constant NF, NV, MASKED (so that the accumulators stay in registers). */
#define KERN_DFWD_CASE(NF, NV, M)                                                                       \
    case (NF) * 8 + (NV) * 2 + (M):                                                                     \
        kern_dfwd_tile(yt, wf, bf, xt, NF, NV, M, mask, c, h, wd, k, ohw);                              \
        break;

KERN_TARGET_AVX2 void kern_conv_fwd_direct_avx2(float *y, const float *w, const float *b, const float *x,
                                                int f, int c, int h, int wd, int k)
{
    assert(y && w && b && x && f >= 1 && c >= 1 && k >= 1 && k <= h && k <= wd);
    assert(kern_cpu_avx2());
    const int oh = h - k + 1, ow = wd - k + 1, q = c * k * k;
    const size_t ohw = (size_t)oh * (size_t)ow;
    for (int f0 = 0; f0 < f; f0 += 4) {
        const int nf = f - f0 < 4 ? f - f0 : 4;
        const float *wf = w + (size_t)f0 * (size_t)q, *bf = b + f0;
        for (int oy = 0; oy < oh; oy++)
            for (int ox0 = 0; ox0 < ow; ox0 += 24) {
                const int n = ow - ox0 < 24 ? ow - ox0 : 24; /* pixels of this tile */
                const int nv = (n + 7) / 8, tail = n - 8 * (nv - 1);
                const bool m = tail < 8;
                const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(tail), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
                float *yt = y + (size_t)f0 * ohw + (size_t)oy * (size_t)ow + (size_t)ox0;
                const float *xt = x + (size_t)oy * (size_t)wd + (size_t)ox0;
                switch (nf * 8 + nv * 2 + (int)m) {
                    KERN_DFWD_CASE(4, 3, 0) KERN_DFWD_CASE(4, 3, 1) KERN_DFWD_CASE(4, 2, 0) KERN_DFWD_CASE(4, 2, 1)
                    KERN_DFWD_CASE(4, 1, 0) KERN_DFWD_CASE(4, 1, 1) KERN_DFWD_CASE(3, 3, 0) KERN_DFWD_CASE(3, 3, 1)
                    KERN_DFWD_CASE(3, 2, 0) KERN_DFWD_CASE(3, 2, 1) KERN_DFWD_CASE(3, 1, 0) KERN_DFWD_CASE(3, 1, 1)
                    KERN_DFWD_CASE(2, 3, 0) KERN_DFWD_CASE(2, 3, 1) KERN_DFWD_CASE(2, 2, 0) KERN_DFWD_CASE(2, 2, 1)
                    KERN_DFWD_CASE(2, 1, 0) KERN_DFWD_CASE(2, 1, 1) KERN_DFWD_CASE(1, 3, 0) KERN_DFWD_CASE(1, 3, 1)
                    KERN_DFWD_CASE(1, 2, 0) KERN_DFWD_CASE(1, 2, 1) KERN_DFWD_CASE(1, 1, 0) KERN_DFWD_CASE(1, 1, 1)
                default: assert(!"unreachable tile shape");
                }
            }
    }
}
#undef KERN_DFWD_CASE

/* Eight pooled outputs ox0 .. ox0+7 of output row oy (kern_maxpool2_avx2). The even and odd
 * columns of the 16 inputs of a row are split by a shuffle within 128-bit lanes and a
 * cross-lane permute (lanes 0-7 = columns 2*ox0 + 2*l (+1)). */
KERN_TARGET_AVX2 KERN_INLINE void kern_pool2_vec(float *y, int32_t *argmax, const float *x, int w, int ow, int oy,
                                                 int ox0, bool relu)
{
    const float *r0 = x + (size_t)(2 * oy) * (size_t)w + (size_t)(2 * ox0), *r1 = r0 + w;
    const __m256 a0 = _mm256_loadu_ps(r0), a1 = _mm256_loadu_ps(r0 + 8);
    const __m256 b0 = _mm256_loadu_ps(r1), b1 = _mm256_loadu_ps(r1 + 8);
#define KERN_EVEN(u, v) _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(u, v, 0x88)), 0xd8))
#define KERN_ODD(u, v) _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(u, v, 0xdd)), 0xd8))
    const __m256 e00 = KERN_EVEN(a0, a1), e01 = KERN_ODD(a0, a1), e10 = KERN_EVEN(b0, b1), e11 = KERN_ODD(b0, b1);
#undef KERN_EVEN
#undef KERN_ODD
    __m256 best = e00;
    __m256 gt = _mm256_cmp_ps(e01, best, _CMP_GT_OQ);
    best = _mm256_blendv_ps(best, e01, gt);
    const __m256 gt1 = gt;
    gt = _mm256_cmp_ps(e10, best, _CMP_GT_OQ);
    best = _mm256_blendv_ps(best, e10, gt);
    const __m256 gt2 = gt;
    gt = _mm256_cmp_ps(e11, best, _CMP_GT_OQ);
    best = _mm256_blendv_ps(best, e11, gt);
    const __m256 gt3 = gt;
    float *yr = y + (size_t)oy * (size_t)ow + (size_t)ox0;
    if (relu)
        _mm256_storeu_ps(yr, _mm256_and_ps(best, _mm256_cmp_ps(best, _mm256_setzero_ps(), _CMP_GT_OQ)));
    else
        _mm256_storeu_ps(yr, best);
    if (argmax) {
        /* index of (0,0) is base + 2*(ox0 + l); the others add 1, w, w + 1 */
        const __m256i i00 = _mm256_add_epi32(_mm256_set1_epi32(2 * oy * w + 2 * ox0),
                                             _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14));
        __m256i bi = i00;
        bi = _mm256_blendv_epi8(bi, _mm256_add_epi32(i00, _mm256_set1_epi32(1)), _mm256_castps_si256(gt1));
        bi = _mm256_blendv_epi8(bi, _mm256_add_epi32(i00, _mm256_set1_epi32(w)), _mm256_castps_si256(gt2));
        bi = _mm256_blendv_epi8(bi, _mm256_add_epi32(i00, _mm256_set1_epi32(w + 1)), _mm256_castps_si256(gt3));
        _mm256_storeu_si256((__m256i *)(argmax + (size_t)oy * (size_t)ow + (size_t)ox0), bi);
    }
}

KERN_TARGET_AVX2 void kern_maxpool2_avx2(float *y, int32_t *argmax, const float *x, int h, int w, bool relu)
{
    assert(y && x && w >= 16 && h >= 2);
    assert(kern_cpu_avx2());
    const int oh = h / 2, ow = w / 2;
    for (int oy = 0; oy < oh; oy++) {
        int ox0 = 0;
        for (; ox0 + 8 <= ow; ox0 += 8)
            kern_pool2_vec(y, argmax, x, w, ow, oy, ox0, relu);
        /* the tail: a last vector overlapping the previous one (rewrites the same values) */
        if (ox0 < ow)
            kern_pool2_vec(y, argmax, x, w, ow, oy, ow - 8, relu);
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

/* ---- sparse weight gradient of conv + max-pool (kern.h) ---- */

/* patch rows per pass: 2*5 accumulators, one broadcast and the loads fit the 16 YMM registers */
enum { KERN_SDW_ROWS = 5 };

/* pooled outputs compacted at a time (kern_sdw_compact); each list has room for half of them
 * and for a whole vector written past its end */
enum { KERN_SDW_CHUNK = 256, KERN_SDW_LIST = KERN_SDW_CHUNK / 2 + 8 };

/* For each 8-bit mask m of nonzero lanes, even lanes (0,2,4,6) and odd lanes (1,3,5,7) apart:
 * the lanes to pack to the front, as 4-bit lane numbers (the i-th in bits 4i..4i+3), and their
 * count in bits 28..31 (a lane number past the count is never used). */
static void kern_sdw_lut(uint32_t lut[256][2])
{
    for (int m = 0; m < 256; m++)
        for (int par = 0; par < 2; par++) {
            uint32_t v = 0, n = 0;
            for (uint32_t l = (uint32_t)par; l < 8; l += 2)
                if (m >> l & 1)
                    v |= l << (4 * n++);
            lut[m][par] = v | n << 28;
        }
}

/* The pooled outputs o0 .. o0+n-1 of one (image, filter) plane (o0 even) whose gradient is not
 * zero, split by the parity of o and kept in increasing o: their argmax and gradient. cnt[p]
 * gets each list's length. Eight outputs at a time: a compare, then a permutation from lut that
 * packs the kept lanes of each parity to the front. Not inlined: its stores would otherwise keep
 * the caller's accumulators out of registers (a __m256 may alias anything). */
static __attribute__((noinline)) KERN_TARGET_AVX2 void
kern_sdw_compact(int32_t ai[2][KERN_SDW_LIST], float gv[2][KERN_SDW_LIST], int cnt[2], const float *gb,
                 const int32_t *ab, int o0, int n, const uint32_t lut[256][2])
{
    int ne = 0, no = 0; /* in registers: through cnt, every store would reload them */
    const __m256i shift = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28), nibble = _mm256_set1_epi32(15);
    int t = 0;
    for (; t + 8 <= n; t += 8) {
        const __m256 g = _mm256_loadu_ps(gb + o0 + t);
        const __m256i a = _mm256_loadu_si256((const __m256i *)(ab + o0 + t));
        const int m = _mm256_movemask_ps(_mm256_cmp_ps(g, _mm256_setzero_ps(), _CMP_NEQ_UQ));
        const uint32_t le = lut[m][0], lo = lut[m][1];
        const __m256i pe = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int)le), shift), nibble);
        const __m256i po = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int)lo), shift), nibble);
        _mm256_storeu_ps(gv[0] + ne, _mm256_permutevar8x32_ps(g, pe));
        _mm256_storeu_si256((__m256i *)(ai[0] + ne), _mm256_permutevar8x32_epi32(a, pe));
        _mm256_storeu_ps(gv[1] + no, _mm256_permutevar8x32_ps(g, po));
        _mm256_storeu_si256((__m256i *)(ai[1] + no), _mm256_permutevar8x32_epi32(a, po));
        ne += (int)(le >> 28);
        no += (int)(lo >> 28);
    }
    for (; t < n; t++) { /* t even <=> o even */
        const float g = gb[o0 + t];
        if (g == 0.0f)
            continue;
        if (t & 1)
            ai[1][no] = ab[o0 + t], gv[1][no++] = g;
        else
            ai[0][ne] = ab[o0 + t], gv[0][ne++] = g;
    }
    cnt[0] = ne;
    cnt[1] = no;
}

/* One image's terms for patch rows r (< NR) at offsets roff[r] from the patch start: even
 * pooled outputs into acc0, odd into acc1. MASKED reads only the K taps (the last image, where
 * an 8-lane read could run past the end of x). The outputs whose gradient is zero (the ReLU
 * was off: more than half of them in training) are left out: their terms are exact zeros, which
 * leave a chain started at +0 unchanged. The others are compacted first, even and odd apart,
 * so that each chain still takes its terms in increasing o. */
KERN_TARGET_AVX2 KERN_INLINE void kern_sdw_image(__m256 *acc0, __m256 *acc1, int nr, const size_t *roff,
                                                 const float *xb, const float *gb, const int32_t *ab,
                                                 const int32_t *xoff, int o, bool masked, __m256i mask,
                                                 const uint32_t lut[256][2])
{
#define KERN_SDW_LOAD(ptr) (masked ? _mm256_maskload_ps((ptr), mask) : _mm256_loadu_ps(ptr))
    int32_t ai[2][KERN_SDW_LIST];
    float gv[2][KERN_SDW_LIST];
    for (int o0 = 0; o0 < o; o0 += KERN_SDW_CHUNK) {
        int cnt[2];
        kern_sdw_compact(ai, gv, cnt, gb, ab, o0, o - o0 < KERN_SDW_CHUNK ? o - o0 : KERN_SDW_CHUNK, lut);
        __m256 a0[KERN_SDW_ROWS], a1[KERN_SDW_ROWS];
        for (int r = 0; r < nr; r++)
            a0[r] = acc0[r], a1[r] = acc1[r];
        const int both = cnt[0] < cnt[1] ? cnt[0] : cnt[1];
        for (int i = 0; i < both; i++) {
            const float *p0 = xb + xoff[ai[0][i]], *p1 = xb + xoff[ai[1][i]];
            const __m256 g0 = _mm256_set1_ps(gv[0][i]), g1 = _mm256_set1_ps(gv[1][i]);
            for (int r = 0; r < nr; r++) {
                a0[r] = _mm256_fmadd_ps(g0, KERN_SDW_LOAD(p0 + roff[r]), a0[r]);
                a1[r] = _mm256_fmadd_ps(g1, KERN_SDW_LOAD(p1 + roff[r]), a1[r]);
            }
        }
        for (int i = both; i < cnt[0]; i++) {
            const float *p0 = xb + xoff[ai[0][i]];
            const __m256 g0 = _mm256_set1_ps(gv[0][i]);
            for (int r = 0; r < nr; r++)
                a0[r] = _mm256_fmadd_ps(g0, KERN_SDW_LOAD(p0 + roff[r]), a0[r]);
        }
        for (int i = both; i < cnt[1]; i++) {
            const float *p1 = xb + xoff[ai[1][i]];
            const __m256 g1 = _mm256_set1_ps(gv[1][i]);
            for (int r = 0; r < nr; r++)
                a1[r] = _mm256_fmadd_ps(g1, KERN_SDW_LOAD(p1 + roff[r]), a1[r]);
        }
        for (int r = 0; r < nr; r++)
            acc0[r] = a0[r], acc1[r] = a1[r];
    }
#undef KERN_SDW_LOAD
}

/* filters per pass of kern_sdw_block: their accumulators wait in a 16 * 2 * 5 * 32 B = 5 KiB
 * stack block between images */
enum { KERN_SDW_FILTERS = 16 };

/* Patch rows r0 .. r0+NR-1 (row r = (c, i)) of filters f0 .. f1-1 (at most KERN_SDW_FILTERS)
 * over the whole batch. Images outside, filters inside: an image (and its gradient planes) is
 * read from cache once for all the filters; each filter's accumulators are reloaded from and
 * saved to acc around its image, which leaves its sums exactly as one unbroken chain. */
KERN_TARGET_AVX2 KERN_INLINE void kern_sdw_block(float *dw, const float *dout, const int32_t *argmax,
                                                 const int32_t *xoff, const float *x, const kern_pool_geom *g,
                                                 int f0, int f1, int r0, int nr, const uint32_t lut[256][2])
{
    __m256 acc[KERN_SDW_FILTERS][2][KERN_SDW_ROWS];
    size_t roff[KERN_SDW_ROWS];
    const size_t hw = (size_t)g->h * (size_t)g->w, xsz = (size_t)g->c * hw;
    const size_t o = (size_t)g->o, osz = (size_t)g->f * o;
    for (int r = 0; r < nr; r++) {
        const int c = (r0 + r) / g->k, i = (r0 + r) % g->k;
        roff[r] = (size_t)c * hw + (size_t)i * (size_t)g->w;
    }
    for (int fi = f0; fi < f1; fi++)
        for (int r = 0; r < nr; r++)
            acc[fi - f0][0][r] = acc[fi - f0][1][r] = _mm256_setzero_ps();
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(g->k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (int b = 0; b < g->batch; b++) {
        const float *xb = x + (size_t)b * xsz;
        for (int fi = f0; fi < f1; fi++) {
            __m256 a0[KERN_SDW_ROWS], a1[KERN_SDW_ROWS];
            for (int r = 0; r < nr; r++)
                a0[r] = acc[fi - f0][0][r], a1[r] = acc[fi - f0][1][r];
            const size_t go = (size_t)b * osz + (size_t)fi * o;
            if (b + 1 < g->batch)
                kern_sdw_image(a0, a1, nr, roff, xb, dout + go, argmax + go, xoff, g->o, false, mask, lut);
            else
                kern_sdw_image(a0, a1, nr, roff, xb, dout + go, argmax + go, xoff, g->o, true, mask, lut);
            for (int r = 0; r < nr; r++)
                acc[fi - f0][0][r] = a0[r], acc[fi - f0][1][r] = a1[r];
        }
    }
    for (int fi = f0; fi < f1; fi++)
        for (int r = 0; r < nr; r++) {
            float t[8];
            _mm256_storeu_ps(t, _mm256_add_ps(acc[fi - f0][0][r], acc[fi - f0][1][r]));
            float *d = dw + (size_t)fi * (size_t)(g->c * g->k * g->k) + (size_t)(r0 + r) * (size_t)g->k;
            for (int j = 0; j < g->k; j++)
                d[j] = d[j] + t[j];
        }
}

KERN_TARGET_AVX2 void kern_conv_dw_sparse_avx2(float *dw, const float *dout, const int32_t *argmax,
                                               const int32_t *xoff, const float *x, const kern_pool_geom *g,
                                               int f0, int f1)
{
    assert(dw && dout && argmax && xoff && x && g && g->batch >= 1 && 0 <= f0 && f0 <= f1 && f1 <= g->f);
    assert(g->k >= 1 && g->k <= 8 && g->o >= 1);
    assert(kern_cpu_avx2());
    const int rows = g->c * g->k;
    uint32_t lut[256][2];
    kern_sdw_lut(lut);
    for (int fa = f0; fa < f1; fa += KERN_SDW_FILTERS) {
        const int fb = f1 - fa < KERN_SDW_FILTERS ? f1 : fa + KERN_SDW_FILTERS;
        for (int r0 = 0; r0 < rows; r0 += KERN_SDW_ROWS) {
            /* constant block heights, so that the accumulators stay in registers */
            switch (rows - r0 < KERN_SDW_ROWS ? rows - r0 : KERN_SDW_ROWS) {
            case 5: kern_sdw_block(dw, dout, argmax, xoff, x, g, fa, fb, r0, 5, lut); break;
            case 4: kern_sdw_block(dw, dout, argmax, xoff, x, g, fa, fb, r0, 4, lut); break;
            case 3: kern_sdw_block(dw, dout, argmax, xoff, x, g, fa, fb, r0, 3, lut); break;
            case 2: kern_sdw_block(dw, dout, argmax, xoff, x, g, fa, fb, r0, 2, lut); break;
            default: kern_sdw_block(dw, dout, argmax, xoff, x, g, fa, fb, r0, 1, lut); break;
            }
        }
    }
}

KERN_TARGET_AVX2 double kern_sum8_avx2(const float *a, size_t n)
{
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd(); /* partials 0..3, 4..7 */
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm_loadu_ps(a + i)));
        hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm_loadu_ps(a + i + 4)));
    }
    double s[8];
    _mm256_storeu_pd(s, lo);
    _mm256_storeu_pd(s + 4, hi);
    for (; i < n; i++)
        s[i % 8] += a[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* ---- batch normalization of one channel (kern.h): the 8 partials are two 4-lane double
 * vectors, lo (l = 0..3) and hi (l = 4..7); a segment's tail (s mod 8 values) goes to the
 * stored partials one value at a time, in the same lanes. ---- */

KERN_TARGET_AVX2 void kern_bn_sum8_avx2(double acc[8], const float *a, size_t stride, int segs, int s, bool sq,
                                        double mu)
{
    assert(kern_cpu_avx2());
    const int s8 = s - s % 8;
    const __m256d m = _mm256_set1_pd(mu);
    for (int b = 0; b < segs; b++) {
        const float *p = a + (size_t)b * stride;
        __m256d lo = _mm256_loadu_pd(acc), hi = _mm256_loadu_pd(acc + 4);
        if (sq) {
            for (int i = 0; i < s8; i += 8) {
                const __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(p + i)), m);
                const __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(p + i + 4)), m);
                lo = _mm256_add_pd(lo, _mm256_mul_pd(d0, d0));
                hi = _mm256_add_pd(hi, _mm256_mul_pd(d1, d1));
            }
        } else {
            for (int i = 0; i < s8; i += 8) {
                lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm_loadu_ps(p + i)));
                hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm_loadu_ps(p + i + 4)));
            }
        }
        _mm256_storeu_pd(acc, lo);
        _mm256_storeu_pd(acc + 4, hi);
        for (int i = s8; i < s; i++) {
            const double d = (double)p[i] - mu;
            acc[i % 8] += sq ? d * d : (double)p[i];
        }
    }
}

KERN_TARGET_AVX2 void kern_bn_dot8_avx2(double sdy[8], double sdyx[8], const float *dy, const float *xh,
                                        size_t stride, int segs, int s)
{
    assert(kern_cpu_avx2());
    const int s8 = s - s % 8;
    for (int b = 0; b < segs; b++) {
        const float *g = dy + (size_t)b * stride, *h = xh + (size_t)b * stride;
        __m256d a0 = _mm256_loadu_pd(sdy), a1 = _mm256_loadu_pd(sdy + 4);
        __m256d p0 = _mm256_loadu_pd(sdyx), p1 = _mm256_loadu_pd(sdyx + 4);
        for (int i = 0; i < s8; i += 8) {
            const __m256d g0 = _mm256_cvtps_pd(_mm_loadu_ps(g + i)), g1 = _mm256_cvtps_pd(_mm_loadu_ps(g + i + 4));
            const __m256d h0 = _mm256_cvtps_pd(_mm_loadu_ps(h + i)), h1 = _mm256_cvtps_pd(_mm_loadu_ps(h + i + 4));
            a0 = _mm256_add_pd(a0, g0);
            a1 = _mm256_add_pd(a1, g1);
            p0 = _mm256_add_pd(p0, _mm256_mul_pd(g0, h0));
            p1 = _mm256_add_pd(p1, _mm256_mul_pd(g1, h1));
        }
        _mm256_storeu_pd(sdy, a0);
        _mm256_storeu_pd(sdy + 4, a1);
        _mm256_storeu_pd(sdyx, p0);
        _mm256_storeu_pd(sdyx + 4, p1);
        for (int i = s8; i < s; i++) {
            sdy[i % 8] += (double)g[i];
            sdyx[i % 8] += (double)g[i] * (double)h[i];
        }
    }
}

KERN_TARGET_AVX2 void kern_bn_norm_avx2(float *y, float *xhat, const float *x, size_t stride, int segs, int s,
                                        double mu, double istd, float g, float bt)
{
    assert(kern_cpu_avx2());
    const int s8 = s - s % 8;
    const __m256d m = _mm256_set1_pd(mu), is = _mm256_set1_pd(istd);
    const __m256 gv = _mm256_set1_ps(g), bv = _mm256_set1_ps(bt);
    for (int b = 0; b < segs; b++) {
        const size_t o = (size_t)b * stride;
        for (int i = 0; i < s8; i += 8) {
            const __m256d d0 = _mm256_mul_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + o + i)), m), is);
            const __m256d d1 = _mm256_mul_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + o + i + 4)), m), is);
            const __m256 xh = _mm256_set_m128(_mm256_cvtpd_ps(d1), _mm256_cvtpd_ps(d0));
            _mm256_storeu_ps(xhat + o + i, xh);
            _mm256_storeu_ps(y + o + i, _mm256_add_ps(_mm256_mul_ps(gv, xh), bv));
        }
        for (int i = s8; i < s; i++) {
            const float xh = (float)(((double)x[o + i] - mu) * istd);
            xhat[o + i] = xh;
            y[o + i] = g * xh + bt;
        }
    }
}

KERN_TARGET_AVX2 void kern_bn_dx_avx2(float *dx, const float *dy, const float *xh, size_t stride, int segs, int s,
                                      double k, double mdy, double mdyx)
{
    assert(kern_cpu_avx2());
    const int s8 = s - s % 8;
    const __m256d kv = _mm256_set1_pd(k), mv = _mm256_set1_pd(mdy), mx = _mm256_set1_pd(mdyx);
    for (int b = 0; b < segs; b++) {
        const size_t o = (size_t)b * stride;
        for (int i = 0; i < s8; i += 8) {
            __m256d r[2];
            for (int h = 0; h < 2; h++) {
                const __m256d g = _mm256_cvtps_pd(_mm_loadu_ps(dy + o + i + 4 * h));
                const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(xh + o + i + 4 * h));
                r[h] = _mm256_mul_pd(kv, _mm256_sub_pd(_mm256_sub_pd(g, mv), _mm256_mul_pd(v, mx)));
            }
            _mm256_storeu_ps(dx + o + i, _mm256_set_m128(_mm256_cvtpd_ps(r[1]), _mm256_cvtpd_ps(r[0])));
        }
        for (int i = s8; i < s; i++)
            dx[o + i] = (float)(k * (((double)dy[o + i] - mdy) - (double)xh[o + i] * mdyx));
    }
}

/* ---- AVX-512: the convolution fused with its 2x2 max-pool ---- */

#define KERN_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))

/* Wide forward tile: NF <= 6 filters x NV <= 4 vectors of 16 positions p = p0 + ... of the
 * "wide" convolution output, where position p = oy*W + ox stands for output (oy, ox) and its
 * taps are x(c, i, p + i*W + j): every tap is one contiguous load. Columns ox >= OW of a wide
 * row are junk (their taps wrap into the next row) and are never pooled. Positions >= len
 * (past the last output) are masked out of loads and stores. Accumulators start at the bias
 * and take the taps in the order of kern_conv_fwd_direct_avx2, so the valid positions hold
 * its bits. */
KERN_TARGET_AVX512 KERN_INLINE void kern_wfwd_tile512(float *y, size_t ys, const float *w, const float *b,
                                                      const float *x, int p0, int len, int c, int h, int wd, int k,
                                                      const int NF, const int NV)
{
    __m512 acc[24];
    __mmask16 mk[4];
    const int q = c * k * k;
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
        const int left = len - p0 - 16 * v;
        mk[v] = (__mmask16)(left >= 16 ? 0xffffu : left > 0 ? (1u << left) - 1 : 0u);
    }
#pragma GCC unroll 6
    for (int f = 0; f < NF; f++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[f * NV + v] = _mm512_set1_ps(b[f]);
    for (int ci = 0; ci < c; ci++)
        for (int i = 0; i < k; i++) {
            const float *xr = x + ((size_t)ci * (size_t)h + (size_t)i) * (size_t)wd + (size_t)p0;
            const int t0 = (ci * k + i) * k;
            for (int j = 0; j < k; j++) {
                __m512 xv[4];
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++)
                    xv[v] = _mm512_maskz_loadu_ps(mk[v], xr + j + 16 * v);
#pragma GCC unroll 6
                for (int f = 0; f < NF; f++) {
                    const __m512 wv = _mm512_set1_ps(w[(size_t)f * (size_t)q + (size_t)(t0 + j)]);
#pragma GCC unroll 4
                    for (int v = 0; v < NV; v++)
                        acc[f * NV + v] = _mm512_fmadd_ps(wv, xv[v], acc[f * NV + v]);
                }
            }
        }
#pragma GCC unroll 6
    for (int f = 0; f < NF; f++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            _mm512_mask_storeu_ps(y + (size_t)f * ys + (size_t)(p0 + 16 * v), mk[v], acc[f * NV + v]);
}

/* kern_wfwd_tile512 with constant NF and NV (so that the accumulators stay in registers) */
KERN_TARGET_AVX512 static void kern_wfwd_any512(float *y, size_t ys, const float *w, const float *b, const float *x,
                                                int p0, int len, int c, int h, int wd, int k, int nf, int nv)
{
#define KERN_WF(NF, NV)                                                                                 \
    case (NF) * 8 + (NV):                                                                               \
        kern_wfwd_tile512(y, ys, w, b, x, p0, len, c, h, wd, k, NF, NV);                                \
        break;
    switch (nf * 8 + nv) {
        KERN_WF(6, 4) KERN_WF(6, 3) KERN_WF(6, 2) KERN_WF(6, 1) KERN_WF(5, 4) KERN_WF(5, 3) KERN_WF(5, 2)
        KERN_WF(5, 1) KERN_WF(4, 4) KERN_WF(4, 3) KERN_WF(4, 2) KERN_WF(4, 1) KERN_WF(3, 4) KERN_WF(3, 3)
        KERN_WF(3, 2) KERN_WF(3, 1) KERN_WF(2, 4) KERN_WF(2, 3) KERN_WF(2, 2) KERN_WF(2, 1) KERN_WF(1, 4)
        KERN_WF(1, 3) KERN_WF(1, 2) KERN_WF(1, 1)
    default: assert(!"unreachable tile shape");
    }
#undef KERN_WF
}

/* The 2x2 windows of up to 16 pooled outputs whose four candidates are e00 (row 0, even
 * column), e01 (row 0, odd), e10 and e11 (row 1): the rules of kern_maxpool2_avx2 (window order
 * (0,0), (0,1), (1,0), (1,1), strictly greater replaces; ReLU after), stored under mout to out
 * and, with argmax, the index i00 + {0, 1, OW, OW + 1} of each winner (i00: of its (0,0)). */
KERN_TARGET_AVX512 KERN_INLINE void kern_pool4_512(float *out, int32_t *argmax, __m512 e00, __m512 e01, __m512 e10,
                                                   __m512 e11, __mmask16 mout, __m512i i00, int ow, bool relu)
{
    __m512 best = e00;
    const __mmask16 g1 = _mm512_cmp_ps_mask(e01, best, _CMP_GT_OQ);
    best = _mm512_mask_blend_ps(g1, best, e01);
    const __mmask16 g2 = _mm512_cmp_ps_mask(e10, best, _CMP_GT_OQ);
    best = _mm512_mask_blend_ps(g2, best, e10);
    const __mmask16 g3 = _mm512_cmp_ps_mask(e11, best, _CMP_GT_OQ);
    best = _mm512_mask_blend_ps(g3, best, e11);
    if (relu)
        best = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(best, _mm512_setzero_ps(), _CMP_GT_OQ), best);
    _mm512_mask_storeu_ps(out, mout, best);
    if (argmax) {
        __m512i bi = i00;
        bi = _mm512_mask_add_epi32(bi, g1, i00, _mm512_set1_epi32(1));
        bi = _mm512_mask_add_epi32(bi, g2, i00, _mm512_set1_epi32(ow));
        bi = _mm512_mask_add_epi32(bi, g3, i00, _mm512_set1_epi32(ow + 1));
        _mm512_mask_storeu_epi32(argmax, mout, bi);
    }
}

/* 2x2 stride-2 max-pool (+ ReLU) of one wide conv plane y (OH rows of stride W, OW valid
 * columns) into out (OH/2, OW/2) with argmax iy*OW + ix, 16 outputs at a time; even and odd
 * columns are split by a two-source permutation. */
KERN_TARGET_AVX512 static void kern_pool2_wide512(float *out, int32_t *argmax, const float *y, int oh, int ow,
                                                  int wd, bool relu)
{
    const int ph = oh / 2, pw = ow / 2;
    const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i io = _mm512_add_epi32(ie, _mm512_set1_epi32(1));
    for (int py = 0; py < ph; py++) {
        const float *r0 = y + (size_t)(2 * py) * (size_t)wd, *r1 = r0 + wd;
        for (int cb = 0; cb < pw; cb += 16) {
            const int n = pw - cb < 16 ? pw - cb : 16, cols = 2 * n;
            const __mmask16 mlo = (__mmask16)(cols >= 16 ? 0xffffu : (1u << cols) - 1);
            const __mmask16 mhi = (__mmask16)(cols >= 32 ? 0xffffu : cols > 16 ? (1u << (cols - 16)) - 1 : 0u);
            const __mmask16 mout = (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1);
            const __m512 a0 = _mm512_maskz_loadu_ps(mlo, r0 + 2 * cb), a1 = _mm512_maskz_loadu_ps(mhi, r0 + 2 * cb + 16);
            const __m512 b0 = _mm512_maskz_loadu_ps(mlo, r1 + 2 * cb), b1 = _mm512_maskz_loadu_ps(mhi, r1 + 2 * cb + 16);
            kern_pool4_512(out + (size_t)py * (size_t)pw + (size_t)cb,
                           argmax ? argmax + (size_t)py * (size_t)pw + (size_t)cb : NULL,
                           _mm512_permutex2var_ps(a0, ie, a1), _mm512_permutex2var_ps(a0, io, a1),
                           _mm512_permutex2var_ps(b0, ie, b1), _mm512_permutex2var_ps(b0, io, b1), mout,
                           _mm512_add_epi32(_mm512_set1_epi32(2 * py * ow + 2 * cb), ie), ow, relu);
        }
    }
}

/* Row-pair tile, for OW in {16, 24, 32}: NF <= 6 filters x conv rows 2py and 2py+1 (2*OW
 * outputs = NV vectors, lane q of the pair at row q / OW, column q % OW; for OW = 24 the middle
 * vector holds the end of the first row and the start of the second, loaded as two halves),
 * accumulated as kern_conv_fwd_direct_avx2 does each output, then pooled in registers into
 * pooled row py (no conv output is stored). */
KERN_TARGET_AVX512 KERN_INLINE void kern_rows2_tile512(float *out, int32_t *argmax, size_t pp, const float *w,
                                                       const float *b, const float *x, int py, int c, int h, int wd,
                                                       int k, bool relu, const int NF, const int NV)
{
    const int ow = 8 * NV; /* 2*OW = 16*NV */
    __m512 acc[6][4];
    const int q = c * k * k;
#pragma GCC unroll 6
    for (int f = 0; f < NF; f++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[f][v] = _mm512_set1_ps(b[f]);
    for (int ci = 0; ci < c; ci++)
        for (int i = 0; i < k; i++) {
            /* rows 2py + i and 2py + 1 + i of channel ci */
            const float *r0 = x + ((size_t)ci * (size_t)h + (size_t)(2 * py + i)) * (size_t)wd, *r1 = r0 + wd;
            const int t0 = (ci * k + i) * k;
            for (int j = 0; j < k; j++) {
                __m512 xv[4];
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) {
                    const int q0 = 16 * v; /* first lane's position in the pair */
                    if (q0 + 16 <= ow)
                        xv[v] = _mm512_loadu_ps(r0 + q0 + j);
                    else if (q0 >= ow)
                        xv[v] = _mm512_loadu_ps(r1 + (q0 - ow) + j);
                    else /* the first row's last 8 columns, then the second row's first 8 */
                        xv[v] = _mm512_castpd_ps(_mm512_insertf64x4(
                            _mm512_castps_pd(_mm512_castps256_ps512(_mm256_loadu_ps(r0 + q0 + j))),
                            _mm256_castps_pd(_mm256_loadu_ps(r1 + j)), 1));
                }
#pragma GCC unroll 6
                for (int f = 0; f < NF; f++) {
                    const __m512 wv = _mm512_set1_ps(w[(size_t)f * (size_t)q + (size_t)(t0 + j)]);
#pragma GCC unroll 4
                    for (int v = 0; v < NV; v++)
                        acc[f][v] = _mm512_fmadd_ps(wv, xv[v], acc[f][v]);
                }
            }
        }
    /* pooled column u takes row r's columns 2u, 2u+1 at pair positions r*OW + 2u (+1): from the
     * two vectors starting at row r's first lane */
    const __m512i two = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const int v1 = ow / 16, s1 = ow % 16; /* row 1 starts in vector v1 at lane s1 */
    const __m512i ie0 = two, io0 = _mm512_add_epi32(two, _mm512_set1_epi32(1));
    const __m512i ie1 = _mm512_add_epi32(two, _mm512_set1_epi32(s1)), io1 = _mm512_add_epi32(ie1, _mm512_set1_epi32(1));
    const __mmask16 mout = (__mmask16)((1u << (ow / 2)) - 1);
    const __m512i i00 = _mm512_add_epi32(_mm512_set1_epi32(2 * py * ow), two);
#pragma GCC unroll 6
    for (int f = 0; f < NF; f++) {
        const __m512 r0a = acc[f][0], r0b = acc[f][NV > 1 ? 1 : 0];
        const __m512 r1a = acc[f][v1 < NV ? v1 : NV - 1], r1b = acc[f][v1 + 1 < NV ? v1 + 1 : NV - 1];
        kern_pool4_512(out + (size_t)f * pp + (size_t)py * (size_t)(ow / 2),
                       argmax ? argmax + (size_t)f * pp + (size_t)py * (size_t)(ow / 2) : NULL,
                       _mm512_permutex2var_ps(r0a, ie0, r0b), _mm512_permutex2var_ps(r0a, io0, r0b),
                       _mm512_permutex2var_ps(r1a, ie1, r1b), _mm512_permutex2var_ps(r1a, io1, r1b), mout, i00, ow,
                       relu);
    }
}

/* kern_rows2_tile512 with constant NF and NV */
KERN_TARGET_AVX512 static void kern_rows2_any512(float *out, int32_t *argmax, size_t pp, const float *w,
                                                 const float *b, const float *x, int py, int c, int h, int wd, int k,
                                                 bool relu, int nf, int nv)
{
#define KERN_R2(NF, NV)                                                                                 \
    case (NF) * 8 + (NV):                                                                               \
        kern_rows2_tile512(out, argmax, pp, w, b, x, py, c, h, wd, k, relu, NF, NV);                    \
        break;
    switch (nf * 8 + nv) {
        KERN_R2(6, 4) KERN_R2(6, 3) KERN_R2(6, 2) KERN_R2(5, 4) KERN_R2(5, 3) KERN_R2(5, 2) KERN_R2(4, 4)
        KERN_R2(4, 3) KERN_R2(4, 2) KERN_R2(3, 4) KERN_R2(3, 3) KERN_R2(3, 2) KERN_R2(2, 4) KERN_R2(2, 3)
        KERN_R2(2, 2) KERN_R2(1, 4) KERN_R2(1, 3) KERN_R2(1, 2)
    default: assert(!"unreachable tile shape");
    }
#undef KERN_R2
}

KERN_TARGET_AVX512 void kern_conv_pool_avx512(float *out, int32_t *argmax, float *tmp, const float *w,
                                              const float *b, const float *x, int f, int c, int h, int wd, int k,
                                              bool relu)
{
    assert(out && tmp && w && b && x && f >= 1 && c >= 1 && k >= 1 && k <= h && k <= wd);
    assert(kern_cpu_avx512());
    const int oh = h - k + 1, ow = wd - k + 1, q = c * k * k;
    const int len = (oh - 1) * wd + ow; /* wide positions up to the last output */
    const size_t ys = (size_t)oh * (size_t)wd, pp = (size_t)(oh / 2) * (size_t)(ow / 2);
    if (ow == 16 || ow == 24 || ow == 32) {
        /* two conv rows a tile, pooled in registers: no junk columns, no conv output stored */
        for (int f0 = 0; f0 < f; f0 += KERN_WIDE_FILTERS) {
            const int nf = f - f0 < KERN_WIDE_FILTERS ? f - f0 : KERN_WIDE_FILTERS;
            for (int py = 0; py < oh / 2; py++)
                kern_rows2_any512(out + (size_t)f0 * pp, argmax ? argmax + (size_t)f0 * pp : NULL, pp,
                                  w + (size_t)f0 * (size_t)q, b + f0, x, py, c, h, wd, k, relu, nf, ow / 8);
        }
        return;
    }
    for (int f0 = 0; f0 < f; f0 += KERN_WIDE_FILTERS) {
        const int nf = f - f0 < KERN_WIDE_FILTERS ? f - f0 : KERN_WIDE_FILTERS;
        const float *wf = w + (size_t)f0 * (size_t)q, *bf = b + f0;
        for (int p0 = 0; p0 < len; p0 += 64) {
            const int nv = len - p0 >= 64 ? 4 : (len - p0 + 15) / 16;
            kern_wfwd_any512(tmp, ys, wf, bf, x, p0, len, c, h, wd, k, nf, nv);
        }
        /* the planes are pooled while still in L1 */
        for (int j = 0; j < nf; j++)
            kern_pool2_wide512(out + (size_t)(f0 + j) * pp, argmax ? argmax + (size_t)(f0 + j) * pp : NULL,
                               tmp + (size_t)j * ys, oh, ow, wd, relu);
    }
}

/* ---- the physical peak (kern.h) ---- */

/* independent accumulators: 2 FMA pipes x a latency of up to 6 cycles, in the registers */
enum { KERN_PEAK_AVX512 = 12, KERN_PEAK_AVX2 = 12, KERN_PEAK_SSE = 12 };

/* The loop of kern_fma_peak for one vector type: N accumulators a[i] = a[i] * m + c, fused. */
#define KERN_PEAK_LOOP(VEC, SET1, FMADD, ADD, N)                                                       \
    VEC a[N];                                                                                          \
    for (int i = 0; i < (N); i++)                                                                      \
        a[i] = SET1(0.001f * (float)i);                                                                \
    const VEC m = SET1(0.999f), c = SET1(1e-3f);                                                       \
    for (long n = 0; n < iters; n++) {                                                                 \
        _Pragma("GCC unroll 16") for (int i = 0; i < (N); i++) a[i] = FMADD(a[i], m, c);               \
    }                                                                                                  \
    VEC s = a[0];                                                                                      \
    for (int i = 1; i < (N); i++)                                                                      \
        s = ADD(s, a[i]);

KERN_TARGET_AVX512 static float kern_peak512(long iters)
{
    KERN_PEAK_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, KERN_PEAK_AVX512)
    return _mm512_reduce_add_ps(s);
}

KERN_TARGET_AVX2 static float kern_peak256(long iters)
{
    KERN_PEAK_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, KERN_PEAK_AVX2)
    float t[8];
    _mm256_storeu_ps(t, s);
    return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
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

void kern_conv_fwd_direct_avx2(float *y, const float *w, const float *b, const float *x, int f, int c, int h,
                               int wd, int k)
{
    (void)y, (void)w, (void)b, (void)x, (void)f, (void)c, (void)h, (void)wd, (void)k;
    assert(!"kern_conv_fwd_direct_avx2 called in a build without AVX2 kernels");
}

void kern_maxpool2_avx2(float *y, int32_t *argmax, const float *x, int h, int w, bool relu)
{
    (void)y, (void)argmax, (void)x, (void)h, (void)w, (void)relu;
    assert(!"kern_maxpool2_avx2 called in a build without AVX2 kernels");
}

void kern_conv_dw_sparse_avx2(float *dw, const float *dout, const int32_t *argmax, const int32_t *xoff,
                              const float *x, const kern_pool_geom *g, int f0, int f1)
{
    (void)dw, (void)dout, (void)argmax, (void)xoff, (void)x, (void)g, (void)f0, (void)f1;
    assert(!"kern_conv_dw_sparse_avx2 called in a build without AVX2 kernels");
}

double kern_sum8_avx2(const float *a, size_t n)
{
    (void)a, (void)n;
    assert(!"kern_sum8_avx2 called in a build without AVX2 kernels");
    return 0.0;
}

void kern_bn_sum8_avx2(double acc[8], const float *a, size_t stride, int segs, int s, bool sq, double mu)
{
    (void)acc, (void)a, (void)stride, (void)segs, (void)s, (void)sq, (void)mu;
    assert(!"kern_bn_sum8_avx2 called in a build without AVX2 kernels");
}

void kern_bn_dot8_avx2(double sdy[8], double sdyx[8], const float *dy, const float *xh, size_t stride, int segs,
                       int s)
{
    (void)sdy, (void)sdyx, (void)dy, (void)xh, (void)stride, (void)segs, (void)s;
    assert(!"kern_bn_dot8_avx2 called in a build without AVX2 kernels");
}

void kern_bn_norm_avx2(float *y, float *xhat, const float *x, size_t stride, int segs, int s, double mu,
                       double istd, float g, float bt)
{
    (void)y, (void)xhat, (void)x, (void)stride, (void)segs, (void)s, (void)mu, (void)istd, (void)g, (void)bt;
    assert(!"kern_bn_norm_avx2 called in a build without AVX2 kernels");
}

void kern_bn_dx_avx2(float *dx, const float *dy, const float *xh, size_t stride, int segs, int s, double k,
                     double mdy, double mdyx)
{
    (void)dx, (void)dy, (void)xh, (void)stride, (void)segs, (void)s, (void)k, (void)mdy, (void)mdyx;
    assert(!"kern_bn_dx_avx2 called in a build without AVX2 kernels");
}

void kern_conv_pool_avx512(float *out, int32_t *argmax, float *tmp, const float *w, const float *b, const float *x,
                           int f, int c, int h, int wd, int k, bool relu)
{
    (void)out, (void)argmax, (void)tmp, (void)w, (void)b, (void)x, (void)f, (void)c, (void)h, (void)wd, (void)k;
    (void)relu;
    assert(!"kern_conv_pool_avx512 called in a build without AVX-512 kernels");
}

#endif

/* The baseline set: SSE multiply then add on x86-64 (no FMA there), plain C elsewhere. */
#if KERN_HAVE_AVX2
/* SSE has no fused multiply-add: multiply, then add */
static inline __m128 kern_mul_add_sse(__m128 a, __m128 m, __m128 c) { return _mm_add_ps(_mm_mul_ps(a, m), c); }

static float kern_peak_sse(long iters)
{
    KERN_PEAK_LOOP(__m128, _mm_set1_ps, kern_mul_add_sse, _mm_add_ps, KERN_PEAK_SSE)
    float t[4];
    _mm_storeu_ps(t, s);
    return t[0] + t[1] + t[2] + t[3];
}
#define KERN_PEAK_LANES_GENERIC 4
#else
enum { KERN_PEAK_SSE = 12 };
static float kern_peak_sse(long iters)
{
    float a[KERN_PEAK_SSE];
    for (int i = 0; i < KERN_PEAK_SSE; i++)
        a[i] = 0.001f * (float)i;
    for (long n = 0; n < iters; n++)
        for (int i = 0; i < KERN_PEAK_SSE; i++)
            a[i] = a[i] * 0.999f + 1e-3f;
    float s = 0.0f;
    for (int i = 0; i < KERN_PEAK_SSE; i++)
        s += a[i];
    return s;
}
#define KERN_PEAK_LANES_GENERIC 1
#endif

float kern_fma_peak(kern_isa isa, long iters)
{
    assert(isa != KERN_AUTO && kern_resolve(isa) == isa && iters >= 0);
#if KERN_HAVE_AVX2
    if (isa == KERN_AVX512)
        return kern_peak512(iters);
    if (isa == KERN_AVX2)
        return kern_peak256(iters);
#endif
    return kern_peak_sse(iters);
}

double kern_peak_flops(kern_isa isa, long iters)
{
    const double per_round = isa == KERN_AVX512 ? 2.0 * 16 * KERN_PEAK_AVX512
                             : isa == KERN_AVX2 ? 2.0 * 8 * KERN_PEAK_AVX2
                                                : 2.0 * KERN_PEAK_LANES_GENERIC * KERN_PEAK_SSE;
    return per_round * (double)iters;
}
