/* gemm: the one matrix-multiply entry point of the core.
 *
 * Row-major single precision: op(A) is (m,k), op(B) is (k,n), C is (m,n); lda, ldb, ldc are
 * the row strides of the matrices as stored (trans_a: A is stored (k,m) and op(A) = A^T;
 * trans_b: B is stored (n,k)).
 *   accumulate == false:  C = op(A) . op(B)
 *   accumulate == true:   C = C + op(A) . op(B)
 *
 * Numerics. With the core's own kernels (a kernel set with kern_has_avx2(): the AVX-512 and
 * AVX2 micro-kernels below) every element is one fused multiply-add chain over k in
 * increasing order, started at the old value of C or at +0:
 *   C(i,j) = fma(A(i,k-1), B(k-1,j), ... fma(A(i,1), B(1,j), fma(A(i,0), B(0,j), c0)))
 * whatever the blocking, the tile or task an element falls in, the thread that computes it
 * and the instruction set: the AVX-512 and AVX2 kernels give the same bits, and so does a
 * scalar loop of fmaf (which is how the tests check them). With KERN_GENERIC the product goes
 * to BLIS on one thread, in BLIS's own order of additions (a different rounding).
 *
 * Threads: the product is cut into tasks that each own a block of C (k is never split) and
 * run on ctx->team (par.h), so C does not depend on the team's size. */
#ifndef BENCH_GEMM_H
#define BENCH_GEMM_H

#include <stdbool.h>
#include <stddef.h>

#include "kern.h"
#include "par.h"

/* The compute context of a layer: the thread team that runs its products and loops, and which
 * kernel set (kern.h) it uses. The zero isa, KERN_AUTO, picks the best one this CPU supports;
 * tests ask for KERN_GENERIC to compare against the BLAS path. */
typedef struct gemm_ctx {
    int threads;    /* threads a network asks for: net_new() makes its team that size; >= 1 */
    kern_isa isa;   /* KERN_AUTO (0) unless a caller forces a kernel set */
    par_team *team; /* runs the loops; NULL: the calling thread alone. Not owned by the ctx */
} gemm_ctx;

#define GEMM_CTX_DEFAULT ((gemm_ctx){.threads = 1, .isa = KERN_AUTO, .team = NULL})

void gemm(const gemm_ctx *ctx, bool trans_a, bool trans_b, int m, int n, int k, const float *a, int lda,
          const float *b, int ldb, bool accumulate, float *c, int ldc);

/* gemm() for an A with many zeros (a ReLU's output): a micro-tile of the AVX-512 kernels leaves
 * out the steps p at which A(i,p) is zero (+0 or -0) in all of its rows. A left-out term is a
 * product of a zero and a finite B, a signed zero, and adding a signed zero to a chain leaves
 * it as it was unless the chain's value is -0 (RN: -0 + +0 = +0); a chain reaches -0 only from
 * a start c0 = -0 (x + (-x) rounds to +0). So the result is bitwise gemm()'s whenever B is
 * finite and no start value is -0; the caller guarantees both. Which steps a tile skips then
 * does not matter, and the AVX2 kernels (which skip none) give the same bits. */
void gemm_skip(const gemm_ctx *ctx, bool trans_a, bool trans_b, int m, int n, int k, const float *a, int lda,
               const float *b, int ldb, bool accumulate, float *c, int ldc);

/* out[0..cap) <- what computes the products of kernel set `isa` (resolved), for provenance:
 * "avx512-10x32" or "avx2-6x16" (the core's micro-kernel and its tile, rows x columns of C),
 * or for KERN_GENERIC "blis-" and the kernel set BLIS chose for this CPU ("blis-zen3"). */
void gemm_backend(char *out, size_t cap, kern_isa isa);

/* out[0..cap) <- the numerics of the core's kernels under kernel set `isa` (resolved): what
 * fixes the bits of a result, for the run key. "fma-chains" for KERN_AVX2 and KERN_AVX512,
 * which compute the same chains (this header, kern.h), so a choice between them never changes
 * a result; "generic+" and gemm_backend() for KERN_GENERIC. */
void gemm_numerics(char *out, size_t cap, kern_isa isa);

#endif
