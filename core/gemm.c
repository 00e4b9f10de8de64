/* blis.h uses pthread_barrier_t, which strict C11 hides without POSIX 2008. */
#define _POSIX_C_SOURCE 200809L

#include "gemm.h"

#include <assert.h>
#include <blis.h>
#include <stdio.h>

/* products below this many multiply-adds run single-threaded */
#define GEMM_SMALL_MACS 4e6

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
    rntm_t rntm = BLIS_RNTM_INITIALIZER;
    bli_rntm_set_num_threads(macs < GEMM_SMALL_MACS ? 1 : ctx->threads, &rntm);
    /* BLIS's "sup" path (unpacked kernels for skinny products) is turned off when B is
     * transposed: for the paper's input gradient dy(100,100) . W(4320,100)^T it takes 1.65 ms
     * against 1.2 ms on the packed path (best of 300, one Zen3 core), while for x . W and
     * x^T . dy sup is the faster one (1.07 vs 1.35 ms, 1.04 vs 1.22 ms) and stays on. */
    if (trans_b)
        bli_rntm_disable_l3_sup(&rntm);
    /* Row-major storage is BLIS's general stride with column stride 1; a transposed
     * operand is expressed through the trans flag on the stored matrix. */
    bli_sgemm_ex(trans_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
                 trans_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, m, n, k, &alpha, (float *)a, lda, 1,
                 (float *)b, ldb, 1, &beta, c, ldc, 1, NULL, &rntm);
}

const char *gemm_backend(void)
{
    return bli_arch_string(bli_arch_query_id());
}
