/* affine: the fully connected layer, y = x . W + b, with W stored (D,N) as in the textbook.
 *
 * The input is any (B, ...) tensor viewed as (B,D) rows (a conv output (B,C,H,W) flattens to
 * D = C*H*W without copying). Backward:
 *   dx(B,D)  = dy(B,N) . W^T         (overwritten; skipped when dx is NULL)
 *   dW(D,N) += x^T . dy
 *   db(N)   += sum over the batch of dy  (accumulated in double, in batch order).
 * Order of additions (gemm.h): y(i,j) is the fma chain over d in increasing order started at
 * b(j) + 0, dW(d,j) the chain over the batch started at its old value, dx(i,d) the chain over
 * j started at +0. Terms whose input x is zero may be left out of y's chains (gemm_skip): the
 * same bits as long as W is finite (a network whose weights are not has diverged). */
#ifndef BENCH_AFFINE_H
#define BENCH_AFFINE_H

#include "gemm.h"

void affine_forward(const gemm_ctx *ctx, float *y /*(B,N)*/, const float *x /*(B,D)*/, const float *w /*(D,N)*/,
                    const float *b /*(N)*/, int batch, int d, int n);

void affine_backward(const gemm_ctx *ctx, float *dx /*(B,D) or NULL*/, float *dw /*(D,N) +=*/, float *db /*(N) +=*/,
                     const float *dy /*(B,N)*/, const float *x /*(B,D)*/, const float *w /*(D,N)*/, int batch,
                     int d, int n);

#endif
