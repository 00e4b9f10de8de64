/* gemm: the core's own blocked SGEMM (AVX-512 and AVX2 micro-kernels) and the BLIS fallback;
 * see gemm.h for the contract.
 *
 * The own path follows the usual blocking, without packing A: a task owns a block of C and
 * walks k in slices of GEMM_KC; for each slice and each panel of NR columns of op(B) it reads
 * the panel in place (B not transposed: rows of B are contiguous) or packs it transposed into
 * a stack buffer (trans_b), then runs the micro-kernel over every MR-row tile of its block:
 * MR x NR accumulators in registers, loaded from C (or +0) and stored back once per slice, so
 * each element stays one unbroken fma chain in increasing k. A is read where it lies: MR
 * broadcasts per step of k, from MR rows (A row-major) or from one row of A stored (k,m)
 * (trans_a). Edges: rows past m repeat the last row's loads and are not stored; columns past
 * n are masked (AVX-512) or go through a zero-padded panel and a stack tile (AVX2). */
#define _POSIX_C_SOURCE 200809L /* blis.h uses pthread_barrier_t */

#include "gemm.h"

#include <assert.h>
#include <blis.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GEMM_HAVE_X86 1
#include <immintrin.h>
#else
#define GEMM_HAVE_X86 0
#endif

/* k per slice: an NR-column panel of it (up to GEMM_KC * 64 floats = 48 KiB for AVX-512, 12
 * KiB for AVX2) stays near the core while the MR-row tiles of a block pass over it */
enum { GEMM_KC = 192 };

/* the micro-tiles, rows x columns of C: AVX-512 6 x 64 (GEMM_NV512 = 4 vectors of B; 24 zmm
 * accumulators, 4 for B, 1 broadcast) with narrower edge panels (gemm_mr512), AVX2 6 x 16 (12
 * ymm accumulators, 2 for B, 1 broadcast). For the paper's N = 100 the AVX-512 panels are 64
 * and 36 columns: 7 vectors a row, against 8 with panels of 32 (whose 4-column edge ran at
 * half speed). */
enum { GEMM_NV512 = 4, GEMM_MR512 = 6, GEMM_NR512 = 16 * GEMM_NV512, GEMM_MR256 = 6, GEMM_NR256 = 16 };

/* products below this many multiply-adds run on the calling thread (a task switch costs more) */
#define GEMM_PAR_MACS 2e6

/* ---- BLIS (KERN_GENERIC) ---- */

static void gemm_blis(bool trans_a, bool trans_b, int m, int n, int k, const float *a, int lda, const float *b,
                      int ldb, bool accumulate, float *c, int ldc)
{
    rntm_t rntm = BLIS_RNTM_INITIALIZER;
    bli_rntm_set_num_threads(1, &rntm);
    /* B transposed: BLIS's "sup" path (unpacked kernels for skinny products) took 1.65 ms for
     * the paper's input gradient dy(100,100) . W(4320,100)^T against 1.2 ms on the packed
     * path (one Zen3 core, BLIS's zen3 kernels), so sup is off there */
    if (trans_b)
        bli_rntm_disable_l3_sup(&rntm);
    float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    /* Row-major storage is BLIS's general stride with column stride 1; a transposed operand is
     * expressed through the trans flag on the stored matrix. */
    bli_sgemm_ex(trans_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, trans_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, m, n,
                 k, &one, (float *)a, lda, 1, (float *)b, ldb, 1, &beta, c, ldc, 1, NULL, &rntm);
}

/* ---- the own kernels ---- */

/* One product as the tasks see it: C cut into tasks_m x tasks_n tasks, the micro-tile rows
 * (of mr) and panels (of nr) spread as evenly as they go; task t is row part t / tasks_n and
 * column part t % tasks_n. */
typedef struct gemm_job {
    bool trans_a, trans_b, accumulate;
    bool skip;       /* gemm_skip: leave out the steps where a tile's rows of A are all zero */
    int m, n, k;
    const float *a, *b;
    float *c;
    size_t lda, ldb, ldc;
    int mr, nr;      /* the split's units: whole micro-tiles */
    int tasks_m, tasks_n;
} gemm_job;

#if GEMM_HAVE_X86

#define GEMM_INLINE static inline __attribute__((always_inline))
#define GEMM_AVX512 __attribute__((target("avx512f,avx2,fma")))
#define GEMM_AVX2 __attribute__((target("avx2,fma")))

/* ---- AVX-512 ---- */

/* C(mr x nr) (+)= A(mr x kc) . B(kc x nr) with nr <= NV*16: the lanes of B and C past nr are
 * neither read nor written (masks). A(i,p) = a[i*rsa + p*csa]; COLA means rsa == 1 (A stored
 * (k,m)), FULL means mr == MR (no clamped rows). load_c: the chains start at C, else at +0.
 * kidx: NULL for every step p = 0 .. kc-1, else only the kc steps kidx[0 .. kc) (gemm_skip).
 * MR*NV accumulators, NV vectors of B and a broadcast: MR*NV + NV + 1 <= 32 registers. */
GEMM_AVX512 GEMM_INLINE void gemm_tile512(float *c, size_t ldc, const float *a, size_t rsa, size_t csa,
                                          const float *b, size_t ldb, int kc, const int32_t *kidx, int mr, int nr,
                                          bool load_c, const int MR, const int NV, const bool cola, const bool full)
{
    __m512 acc[28];
    __mmask16 mk[4];
    size_t ro[28]; /* offset of row r in a; rows past mr read row mr-1 */
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
        const int left = nr - 16 * v;
        mk[v] = (__mmask16)(left >= 16 ? 0xffffu : left > 0 ? (1u << left) - 1 : 0u);
    }
#pragma GCC unroll 28
    for (int r = 0; r < MR; r++)
        ro[r] = (size_t)(full ? r : (r < mr ? r : mr - 1)) * (cola ? 1 : rsa);
#pragma GCC unroll 28
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[r * NV + v] = load_c && (full || r < mr) ? _mm512_maskz_loadu_ps(mk[v], c + (size_t)r * ldc + 16 * v)
                                                         : _mm512_setzero_ps();
    for (int t = 0; t < kc; t++) {
        const int p = kidx ? kidx[t] : t; /* the loop is unswitched: no test per step */
        const float *bp = b + (size_t)p * ldb;
        const float *ap = a + (size_t)p * (cola ? csa : 1);
        __m512 bv[4];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            bv[v] = _mm512_maskz_loadu_ps(mk[v], bp + 16 * v);
#pragma GCC unroll 28
        for (int r = 0; r < MR; r++) {
            const __m512 av = _mm512_set1_ps(ap[ro[r]]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                acc[r * NV + v] = _mm512_fmadd_ps(av, bv[v], acc[r * NV + v]);
        }
    }
#pragma GCC unroll 28
    for (int r = 0; r < MR; r++) {
        if (!full && r >= mr)
            break;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16 * v, mk[v], acc[r * NV + v]);
    }
}

/* The tile shapes, by vectors of B (index NV): rows MR = gemm_mr512[NV], 24 to 28 accumulators */
static const int gemm_mr512[5] = {0, 28, 14, 9, 6};

/* gemm_tile512 with constant shape, cola and full, so that its accumulators live in registers */
GEMM_AVX512 static void gemm_tile512_any(float *c, size_t ldc, const float *a, size_t rsa, size_t csa,
                                         const float *b, size_t ldb, int kc, const int32_t *kidx, int mr, int nr,
                                         bool load_c, int nv, bool cola)
{
    const bool full = mr == gemm_mr512[nv];
#define GEMM_T512(NV, COLA, FULL)                                                                       \
    case (NV) * 4 + (COLA) * 2 + (FULL):                                                                \
        gemm_tile512(c, ldc, a, rsa, csa, b, ldb, kc, kidx, mr, nr, load_c, gemm_mr512_##NV, NV, COLA,  \
                     FULL);                                                                             \
        break;
    enum { gemm_mr512_1 = 28, gemm_mr512_2 = 14, gemm_mr512_3 = 9, gemm_mr512_4 = 6 };
    switch (nv * 4 + (int)cola * 2 + (int)full) {
        GEMM_T512(1, 0, 0) GEMM_T512(1, 0, 1) GEMM_T512(1, 1, 0) GEMM_T512(1, 1, 1)
        GEMM_T512(2, 0, 0) GEMM_T512(2, 0, 1) GEMM_T512(2, 1, 0) GEMM_T512(2, 1, 1)
        GEMM_T512(3, 0, 0) GEMM_T512(3, 0, 1) GEMM_T512(3, 1, 0) GEMM_T512(3, 1, 1)
        GEMM_T512(4, 0, 0) GEMM_T512(4, 0, 1) GEMM_T512(4, 1, 0) GEMM_T512(4, 1, 1)
    default: assert(!"unreachable tile shape");
    }
#undef GEMM_T512
}

/* Transpose the 16 x 16 block of rows r[0..15] in place (r[i] lane j <- r[j] lane i). */
GEMM_AVX512 GEMM_INLINE void gemm_transpose16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
#define GEMM_PD(x) _mm512_castps_pd(x)
#define GEMM_PS(x) _mm512_castpd_ps(x)
    for (int i = 0; i < 16; i += 4) {
        r[i] = GEMM_PS(_mm512_unpacklo_pd(GEMM_PD(t[i]), GEMM_PD(t[i + 2])));
        r[i + 1] = GEMM_PS(_mm512_unpackhi_pd(GEMM_PD(t[i]), GEMM_PD(t[i + 2])));
        r[i + 2] = GEMM_PS(_mm512_unpacklo_pd(GEMM_PD(t[i + 1]), GEMM_PD(t[i + 3])));
        r[i + 3] = GEMM_PS(_mm512_unpackhi_pd(GEMM_PD(t[i + 1]), GEMM_PD(t[i + 3])));
    }
#undef GEMM_PD
#undef GEMM_PS
    /* r[4q + s] now holds, in 128-bit lane l, elements 4l + s of rows 4q .. 4q+3 */
    for (int i = 0; i < 8; i++) {
        const int q = i / 4 * 8 + i % 4; /* 0 1 2 3 8 9 10 11 */
        t[i] = _mm512_shuffle_f32x4(r[q], r[q + 4], 0x88);
        t[i + 8] = _mm512_shuffle_f32x4(r[q], r[q + 4], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 4], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 4], 0xdd);
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 8], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 8], t[i + 12], 0xdd);
    }
}

/* pack(kc, w) <- op(B) rows [0, kc) and columns [0, nr) of B stored (n,k) at b (the column j
 * of op(B) is the row j of b), columns nr .. w-1 zero (w a multiple of 16): 16 x 16 blocks
 * transposed in registers. */
GEMM_AVX512 static void gemm_pack_bt512(float *pack, const float *b, size_t ldb, int kc, int nr, int w)
{
    for (int jb = 0; jb < w; jb += 16)
        for (int p0 = 0; p0 < kc; p0 += 16) {
            const int np = kc - p0 < 16 ? kc - p0 : 16;
            const __mmask16 mk = (__mmask16)((1u << np) - 1);
            __m512 r[16];
            for (int i = 0; i < 16; i++)
                r[i] = jb + i < nr ? _mm512_maskz_loadu_ps(mk, b + (size_t)(jb + i) * ldb + (size_t)p0)
                                   : _mm512_setzero_ps();
            gemm_transpose16(r);
            for (int i = 0; i < np; i++)
                _mm512_store_ps(pack + (size_t)(p0 + i) * (size_t)w + (size_t)jb, r[i]);
        }
}

/* kidx[0 .. return) <- the steps p < kc, in increasing order, at which some of the mr rows of
 * A (as gemm_tile512 reads it) is not zero: 16 steps at a time (A row-major), or the mr values
 * of one step at a time (A stored (k,m): they are contiguous). */
GEMM_AVX512 static int gemm_steps512(int32_t *kidx, const float *a, size_t rsa, size_t csa, int mr, int kc,
                                     bool cola)
{
    const __m512 zero = _mm512_setzero_ps();
    int nk = 0;
    if (cola) {
        /* mr <= 28: two vectors of rows at most */
        const __mmask16 r0 = (__mmask16)(mr >= 16 ? 0xffffu : (1u << mr) - 1);
        const __mmask16 r1 = (__mmask16)(mr > 16 ? (1u << (mr - 16)) - 1 : 0u);
        for (int p = 0; p < kc; p++) {
            const float *ap = a + (size_t)p * csa;
            const __mmask16 nz = _mm512_mask_cmp_ps_mask(r0, _mm512_maskz_loadu_ps(r0, ap), zero, _CMP_NEQ_UQ) |
                                 _mm512_mask_cmp_ps_mask(r1, _mm512_maskz_loadu_ps(r1, ap + 16), zero, _CMP_NEQ_UQ);
            kidx[nk] = p;
            nk += nz != 0;
        }
        return nk;
    }
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int p0 = 0; p0 < kc; p0 += 16) {
        const __mmask16 in = (__mmask16)(kc - p0 >= 16 ? 0xffffu : (1u << (kc - p0)) - 1);
        __mmask16 nz = 0;
        for (int r = 0; r < mr; r++)
            nz |= _mm512_mask_cmp_ps_mask(in, _mm512_maskz_loadu_ps(in, a + (size_t)r * rsa + (size_t)p0), zero,
                                          _CMP_NEQ_UQ);
        _mm512_storeu_si512(kidx + nk, _mm512_maskz_compress_epi32(nz, _mm512_add_epi32(lane, _mm512_set1_epi32(p0))));
        nk += __builtin_popcount(nz);
    }
    return nk;
}

/* Rows [i0, i1) and columns [j0, j1) of C, every slice of k: panels of GEMM_NV512 vectors,
 * the last one of as many as the columns left need (each with its own tile height). With
 * g->skip, each tile runs only the steps of its slice at which its rows of A are not all zero. */
GEMM_AVX512 static void gemm_block512(const gemm_job *g, int i0, int i1, int j0, int j1)
{
    float pack[GEMM_KC * GEMM_NR512] __attribute__((aligned(64)));
    int32_t kidx[GEMM_KC + 16]; /* gemm_steps512 writes whole vectors */
    const size_t rsa = g->trans_a ? 1 : g->lda, csa = g->trans_a ? g->lda : 1;
    for (int pc = 0; pc < g->k; pc += GEMM_KC) {
        const int kc = g->k - pc < GEMM_KC ? g->k - pc : GEMM_KC;
        const bool load_c = g->accumulate || pc > 0;
        for (int j = j0; j < j1;) {
            const int left = j1 - j, nv = left >= 16 * GEMM_NV512 ? GEMM_NV512 : (left + 15) / 16;
            const int nr = left < 16 * nv ? left : 16 * nv, mrt = gemm_mr512[nv];
            const float *bp = g->b + (size_t)pc * g->ldb + (size_t)j;
            size_t ldbp = g->ldb;
            if (g->trans_b) {
                gemm_pack_bt512(pack, g->b + (size_t)j * g->ldb + (size_t)pc, g->ldb, kc, nr, 16 * nv);
                bp = pack;
                ldbp = (size_t)(16 * nv);
            }
            for (int i = i0; i < i1; i += mrt) {
                const int mr = i1 - i < mrt ? i1 - i : mrt;
                const float *ap = g->a + (size_t)i * rsa + (size_t)pc * csa;
                const int nk = g->skip ? gemm_steps512(kidx, ap, rsa, csa, mr, kc, g->trans_a) : kc;
                gemm_tile512_any(g->c + (size_t)i * g->ldc + (size_t)j, g->ldc, ap, rsa, csa, bp, ldbp, nk,
                                 g->skip ? kidx : NULL, mr, nr, load_c, nv, g->trans_a);
            }
            j += nr;
        }
    }
}

/* ---- AVX2 ---- */

/* C(mr x nv*8) (+)= A(mr x kc) . B(kc x nv*8), all nv*8 columns of b and c readable and
 * writable (the caller pads the edges). Otherwise as gemm_tile512. */
GEMM_AVX2 GEMM_INLINE void gemm_tile256(float *c, size_t ldc, const float *a, size_t rsa, size_t csa,
                                        const float *b, size_t ldb, int kc, int mr, bool load_c, const int nv,
                                        const bool cola, const bool full)
{
    enum { MR = GEMM_MR256 };
    __m256 c0[MR], c1[MR];
    size_t ro[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++)
        ro[r] = (size_t)(full ? r : (r < mr ? r : mr - 1)) * (cola ? 1 : rsa);
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        const bool live = full || r < mr;
        c0[r] = load_c && live ? _mm256_loadu_ps(c + (size_t)r * ldc) : _mm256_setzero_ps();
        if (nv == 2)
            c1[r] = load_c && live ? _mm256_loadu_ps(c + (size_t)r * ldc + 8) : _mm256_setzero_ps();
    }
    for (int p = 0; p < kc; p++) {
        const float *bp = b + (size_t)p * ldb;
        const float *ap = a + (size_t)p * (cola ? csa : 1);
        const __m256 b0 = _mm256_loadu_ps(bp);
        const __m256 b1 = nv == 2 ? _mm256_loadu_ps(bp + 8) : _mm256_setzero_ps();
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            const __m256 av = _mm256_broadcast_ss(ap + ro[r]);
            c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
            if (nv == 2)
                c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        if (!full && r >= mr)
            break;
        _mm256_storeu_ps(c + (size_t)r * ldc, c0[r]);
        if (nv == 2)
            _mm256_storeu_ps(c + (size_t)r * ldc + 8, c1[r]);
    }
}

GEMM_AVX2 static void gemm_tile256_any(float *c, size_t ldc, const float *a, size_t rsa, size_t csa,
                                       const float *b, size_t ldb, int kc, int mr, bool load_c, int nv, bool cola)
{
    const bool full = mr == GEMM_MR256;
#define GEMM_T256(NV, COLA, FULL)                                                                       \
    case (NV) * 4 + (COLA) * 2 + (FULL):                                                                \
        gemm_tile256(c, ldc, a, rsa, csa, b, ldb, kc, mr, load_c, NV, COLA, FULL);                      \
        break;
    switch (nv * 4 + (int)cola * 2 + (int)full) {
        GEMM_T256(1, 0, 0) GEMM_T256(1, 0, 1) GEMM_T256(1, 1, 0) GEMM_T256(1, 1, 1)
        GEMM_T256(2, 0, 0) GEMM_T256(2, 0, 1) GEMM_T256(2, 1, 0) GEMM_T256(2, 1, 1)
    default: assert(!"unreachable tile shape");
    }
#undef GEMM_T256
}

/* Transpose the 8 x 8 block of rows r[0..7] in place. */
GEMM_AVX2 GEMM_INLINE void gemm_transpose8(__m256 r[8])
{
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

/* pack(kc, 16) <- op(B) rows [0, kc), columns [0, nr) (zero past nr) of B stored (n,k) (trans_b)
 * or (k,n) (not): 8 x 8 blocks transposed in registers where whole, else element by element. */
GEMM_AVX2 static void gemm_pack256(float *pack, const float *b, size_t ldb, int kc, int nr, bool trans_b)
{
    if (!trans_b) {
        for (int p = 0; p < kc; p++)
            for (int j = 0; j < GEMM_NR256; j++)
                pack[(size_t)p * GEMM_NR256 + (size_t)j] = j < nr ? b[(size_t)p * ldb + (size_t)j] : 0.0f;
        return;
    }
    for (int jb = 0; jb < GEMM_NR256; jb += 8) {
        int p0 = 0;
        if (jb + 8 <= nr)
            for (; p0 + 8 <= kc; p0 += 8) {
                __m256 r[8];
                for (int i = 0; i < 8; i++)
                    r[i] = _mm256_loadu_ps(b + (size_t)(jb + i) * ldb + (size_t)p0);
                gemm_transpose8(r);
                for (int i = 0; i < 8; i++)
                    _mm256_storeu_ps(pack + (size_t)(p0 + i) * GEMM_NR256 + (size_t)jb, r[i]);
            }
        for (int p = p0; p < kc; p++)
            for (int j = jb; j < jb + 8; j++)
                pack[(size_t)p * GEMM_NR256 + (size_t)j] = j < nr ? b[(size_t)j * ldb + (size_t)p] : 0.0f;
    }
}

GEMM_AVX2 static void gemm_block256(const gemm_job *g, int i0, int i1, int j0, int j1)
{
    float pack[GEMM_KC * GEMM_NR256] __attribute__((aligned(32)));
    float tile[GEMM_MR256 * GEMM_NR256]; /* an edge tile of C */
    const size_t rsa = g->trans_a ? 1 : g->lda, csa = g->trans_a ? g->lda : 1;
    for (int pc = 0; pc < g->k; pc += GEMM_KC) {
        const int kc = g->k - pc < GEMM_KC ? g->k - pc : GEMM_KC;
        const bool load_c = g->accumulate || pc > 0;
        for (int j = j0; j < j1; j += GEMM_NR256) {
            const int nr = j1 - j < GEMM_NR256 ? j1 - j : GEMM_NR256;
            const int nv = nr > 8 ? 2 : 1;
            const bool edge = nr != 8 * nv;
            const float *bp = g->b + (size_t)pc * g->ldb + (size_t)j;
            size_t ldbp = g->ldb;
            if (g->trans_b || edge) {
                gemm_pack256(pack, g->trans_b ? g->b + (size_t)j * g->ldb + (size_t)pc : bp, g->ldb, kc, nr,
                             g->trans_b);
                bp = pack;
                ldbp = GEMM_NR256;
            }
            for (int i = i0; i < i1; i += GEMM_MR256) {
                const int mr = i1 - i < GEMM_MR256 ? i1 - i : GEMM_MR256;
                const float *ap = g->a + (size_t)i * rsa + (size_t)pc * csa;
                float *cp = g->c + (size_t)i * g->ldc + (size_t)j;
                if (!edge) {
                    gemm_tile256_any(cp, g->ldc, ap, rsa, csa, bp, ldbp, kc, mr, load_c, nv, g->trans_a);
                    continue;
                }
                for (int r = 0; r < mr; r++)
                    for (int q = 0; q < GEMM_NR256; q++)
                        tile[r * GEMM_NR256 + q] = load_c && q < nr ? cp[(size_t)r * g->ldc + (size_t)q] : 0.0f;
                gemm_tile256_any(tile, GEMM_NR256, ap, rsa, csa, bp, ldbp, kc, mr, load_c, nv, g->trans_a);
                for (int r = 0; r < mr; r++)
                    memcpy(cp + (size_t)r * g->ldc, tile + r * GEMM_NR256, (size_t)nr * sizeof(float));
            }
        }
    }
}

#endif /* GEMM_HAVE_X86 */

typedef struct gemm_task_ctx {
    const gemm_job *job;
    kern_isa isa;
} gemm_task_ctx;

static void gemm_task(void *ctx, int task, int thread)
{
    (void)thread;
    const gemm_task_ctx *t = ctx;
    const gemm_job *g = t->job;
    const int tm = task / g->tasks_n, tn = task % g->tasks_n;
    size_t i0, i1, j0, j1;
    par_split(&i0, &i1, (size_t)g->m, tm, g->tasks_m, (size_t)g->mr);
    par_split(&j0, &j1, (size_t)g->n, tn, g->tasks_n, (size_t)g->nr);
#if GEMM_HAVE_X86
    if (t->isa == KERN_AVX512)
        gemm_block512(g, (int)i0, (int)i1, (int)j0, (int)j1);
    else
        gemm_block256(g, (int)i0, (int)i1, (int)j0, (int)j1);
#else
    (void)i1, (void)j1;
    assert(!"own gemm kernels called in a build without them");
#endif
}

/* How the product is cut into tasks for `threads` threads: *tm row parts by *tn column parts
 * (of whole micro-tiles, spread evenly by gemm_task), twice as many as threads: few enough
 * that a task keeps its operands in cache (splitting m makes every task read all of B,
 * splitting n all of A), enough that a thread that is descheduled leaves the others at most
 * half its share to wait on. n first when B is packed (trans_b: each task then packs its own
 * panels only), m first otherwise. (On the shared 2-core machine this was written on, 1, 2
 * and 4 tasks a thread could not be told apart in the noise; the even spread matters: whole
 * tiles rounded up gave the paper's forward tasks of 18, 18, ..., 10 rows.) */
static void gemm_plan(int *tm, int *tn, int m, int n, int mr, int nr, bool trans_b, int threads, double macs)
{
    *tm = *tn = 1;
    if (threads <= 1 || macs < GEMM_PAR_MACS)
        return;
    const int want = 2 * threads, tiles = (m + mr - 1) / mr, panels = (n + nr - 1) / nr;
    if (trans_b) {
        *tn = panels < want ? panels : want;
        *tm = want / *tn < tiles ? want / *tn : tiles;
    } else {
        *tm = tiles < want ? tiles : want;
        *tn = want / *tm < panels ? want / *tm : panels;
    }
    *tm = *tm < 1 ? 1 : *tm;
    *tn = *tn < 1 ? 1 : *tn;
}

static void gemm_run(const gemm_ctx *ctx, bool skip, bool trans_a, bool trans_b, int m, int n, int k, const float *a,
                     int lda, const float *b, int ldb, bool accumulate, float *c, int ldc)
{
    assert(ctx && m >= 0 && n >= 0 && k >= 0);
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        for (int i = 0; i < m && !accumulate; i++)
            memset(c + (size_t)i * (size_t)ldc, 0, (size_t)n * sizeof *c);
        return;
    }
    const kern_isa isa = kern_resolve(ctx->isa);
    if (!kern_has_avx2(isa) || !GEMM_HAVE_X86) {
        gemm_blis(trans_a, trans_b, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
        return;
    }
    const bool wide = isa == KERN_AVX512;
    /* the AVX2 kernels compute every step: the same bits (gemm.h), only slower */
    gemm_job g = {.trans_a = trans_a, .trans_b = trans_b, .accumulate = accumulate, .skip = skip && wide, .m = m,
                  .n = n, .k = k, .a = a, .b = b, .c = c, .lda = (size_t)lda, .ldb = (size_t)ldb, .ldc = (size_t)ldc};
    const double macs = (double)m * (double)n * (double)k;
    g.mr = wide ? GEMM_MR512 : GEMM_MR256;
    g.nr = wide ? GEMM_NR512 : GEMM_NR256;
    gemm_plan(&g.tasks_m, &g.tasks_n, m, n, g.mr, g.nr, trans_b, par_threads(ctx->team), macs);
    const int tasks = g.tasks_m * g.tasks_n;
    gemm_task_ctx t = {&g, isa};
    par_run(macs < GEMM_PAR_MACS ? NULL : ctx->team, tasks, gemm_task, &t);
}

void gemm(const gemm_ctx *ctx, bool trans_a, bool trans_b, int m, int n, int k, const float *a, int lda,
          const float *b, int ldb, bool accumulate, float *c, int ldc)
{
    gemm_run(ctx, false, trans_a, trans_b, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
}

void gemm_skip(const gemm_ctx *ctx, bool trans_a, bool trans_b, int m, int n, int k, const float *a, int lda,
               const float *b, int ldb, bool accumulate, float *c, int ldc)
{
    gemm_run(ctx, true, trans_a, trans_b, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
}

void gemm_backend(char *out, size_t cap, kern_isa isa)
{
    if (isa == KERN_AVX512)
        snprintf(out, cap, "avx512-%dx%d", GEMM_MR512, GEMM_NR512);
    else if (isa == KERN_AVX2)
        snprintf(out, cap, "avx2-%dx%d", GEMM_MR256, GEMM_NR256);
    else
        snprintf(out, cap, "blis-%s", bli_arch_string(bli_arch_query_id()));
}

void gemm_numerics(char *out, size_t cap, kern_isa isa)
{
    if (kern_has_avx2(isa)) {
        snprintf(out, cap, "fma-chains");
        return;
    }
    char gb[64];
    gemm_backend(gb, sizeof gb, isa);
    snprintf(out, cap, "generic+%s", gb);
}
