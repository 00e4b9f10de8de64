/* blis.h uses pthread_barrier_t, which strict C11 hides without POSIX 2008. */
#define _POSIX_C_SOURCE 200809L

#include "gemm.h"

#include <assert.h>
#include <blis.h>
#include <stdio.h>

/* products below this many multiply-adds run single-threaded */
#define GEMM_SMALL_MACS 4e6

/* One product on row-major operands with nt BLIS threads; sup off: see gemm(). */
static void gemm_blis(int nt, bool sup, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                      const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    rntm_t rntm = BLIS_RNTM_INITIALIZER;
    bli_rntm_set_num_threads(nt, &rntm);
    if (!sup)
        bli_rntm_disable_l3_sup(&rntm);
    /* Row-major storage is BLIS's general stride with column stride 1; a transposed
     * operand is expressed through the trans flag on the stored matrix. */
    bli_sgemm_ex(trans_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, trans_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, m,
                 n, k, &alpha, (float *)a, lda, 1, (float *)b, ldb, 1, &beta, c, ldc, 1, NULL, &rntm);
}

void gemm(const gemm_ctx *ctx, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
          const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    assert(ctx && ctx->threads >= 1);
    assert(m >= 0 && n >= 0 && k >= 0);
    if (m == 0 || n == 0)
        return;
    /* Small products run on one thread: below ~4M multiply-adds the threads' start-up and
     * barriers cost more than they save (the paper's 100x10x100 affine, BN-sized layers). BLIS
     * never splits k, so the result does not depend on this choice. */
    const double macs = (double)m * (double)n * (double)k;
    const int nt = macs < GEMM_SMALL_MACS ? 1 : ctx->threads;
    if (!trans_b) {
        gemm_blis(nt, true, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    /* B transposed: BLIS's "sup" path (unpacked kernels for skinny products) takes 1.65 ms for
     * the paper's input gradient dy(100,100) . W(4320,100)^T against 1.2 ms on the packed path
     * (best of 300, one Zen3 core), so sup is off here (for x . W and x^T . dy sup is the
     * faster one and stays on). The packed path's threads meet at a barrier around every
     * packed block, which stalls for a whole time slice whenever a core is shared; so the
     * threads instead own contiguous column ranges of C (whole 16-column micro-tiles) and run
     * one single-threaded product each: one fork and join. Every element of C is the same
     * fused multiply-add chain over k on the packed path whichever range holds it, so C does
     * not depend on the thread count (test_kern checks it on the paper's network). */
    const int tiles = (n + 15) / 16, parts = nt < tiles ? nt : tiles;
    if (parts <= 1) {
        gemm_blis(1, false, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(parts)
    for (int t = 0; t < parts; t++) {
        const int lo = (int)((long)t * tiles / parts) * 16;
        int hi = (int)((long)(t + 1) * tiles / parts) * 16;
        hi = hi < n ? hi : n;
        gemm_blis(1, false, trans_a, trans_b, m, hi - lo, k, alpha, a, lda, b + (size_t)lo * (size_t)ldb, ldb,
                  beta, c + lo, ldc);
    }
}

const char *gemm_backend(void)
{
    return bli_arch_string(bli_arch_query_id());
}
