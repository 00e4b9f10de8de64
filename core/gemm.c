/* blis.h uses pthread_barrier_t, which strict C11 hides without POSIX 2008. */
#define _POSIX_C_SOURCE 200809L

#include "gemm.h"

#include <assert.h>
#include <blis.h>
#include <stdio.h>

void gemm(const gemm_ctx *ctx, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
          const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    assert(ctx && ctx->threads >= 1);
    assert(m >= 0 && n >= 0 && k >= 0);
    if (m == 0 || n == 0)
        return;
    rntm_t rntm = BLIS_RNTM_INITIALIZER;
    bli_rntm_set_num_threads(ctx->threads, &rntm);
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
