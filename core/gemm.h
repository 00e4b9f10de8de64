/* gemm: the one matrix-multiply entry point of the core, over BLIS.
 *
 * Row-major single precision: C(m,n) = alpha * op(A) * op(B) + beta * C, where op(A) is
 * (m,k) and op(B) is (k,n); lda/ldb/ldc are row strides of the matrices as stored.
 * The thread count travels in a gemm_ctx (no global BLIS state is touched), and BLIS never
 * splits the k dimension across threads, so a product is bitwise identical for a given
 * thread count and, in practice, across thread counts too. */
#ifndef BENCH_GEMM_H
#define BENCH_GEMM_H

#include <stdbool.h>

#include "kern.h"

/* The compute context of a layer: threads for its products and loops, and which kernel set
 * (kern.h) the core's own kernels use. The zero isa, KERN_AUTO, picks the best one this CPU
 * supports; tests ask for KERN_GENERIC to compare against the BLAS path. */
typedef struct gemm_ctx {
    int threads;  /* BLIS threads for one product, OpenMP threads for a layer's loops; >= 1 */
    kern_isa isa; /* KERN_AUTO (0) unless a caller forces a kernel set */
} gemm_ctx;

#define GEMM_CTX_DEFAULT ((gemm_ctx){.threads = 1, .isa = KERN_AUTO})

void gemm(const gemm_ctx *ctx, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
          const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

/* A short description of the BLAS in use (e.g. "BLIS 0.9.0 (zen3)"), for provenance. */
const char *gemm_backend(void);

#endif
