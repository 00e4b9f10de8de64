/* bn: batch normalization (Ioffe & Szegedy 2015), as the textbook's BatchNormalization.
 *
 * x is viewed as (B,C,S): S = 1 after an affine layer (one statistic per feature), S = H*W after
 * a convolution (one per channel). With N = B*S values per channel c:
 *   training:  mu = (1/N) sum x,  var = (1/N) sum (x - mu)^2  (biased),
 *              inv_std = 1/sqrt(var + eps),  xhat = (x - mu) * inv_std,  y = gamma*xhat + beta,
 *              running = momentum*running + (1 - momentum)*batch  (mean and biased var)
 *   inference: y = gamma * (x - run_mean) / sqrt(run_var + eps) + beta
 * The textbook uses momentum 0.9 and eps 1e-6 (inside the square root).
 *
 * Numerics. The statistics are two passes in double (the mean, then the mean squared
 * deviation, accurate even when |mean| >> std); sum dy and sum dy*xhat likewise. Every such
 * per-channel sum runs in 8 double partial sums: partial l takes the values x(b, c, i) with
 * i mod 8 == l, in increasing (b, i), each term rounded once (products rounded, then added: no
 * fused multiply-add), and the partials are combined as ((p0 + p1) + (p2 + p3)) + ((p4 + p5) +
 * (p6 + p7)). xhat = (float)((x - mu) * inv_std) in double; y = gamma*xhat + beta in float;
 * dx = (float)(k * ((dy - mean dy) - xhat * mean(dy*xhat))) in double, k = gamma*inv_std.
 * That order is fixed by the shape alone: the AVX2 kernels (kern.h; also under KERN_AVX512)
 * and the portable C loops (KERN_GENERIC, or a CPU without AVX2) give the same bits, and so
 * does any thread count.
 *
 * Threads: ctx->team (gemm.h) runs the channels as tasks: one channel per task when S > 1,
 * blocks of channels when S = 1 (the values of a channel are then strided by C, so a task
 * sweeps the batch once for all of its channels). A channel is always summed whole by one task. */
#ifndef BENCH_BN_H
#define BENCH_BN_H

#include "gemm.h"

/* Training-mode forward on ctx's team and kernel set. xhat and inv_std are caches for
 * bn_backward; run_mean and run_var are updated in place. */
void bn_forward_train(const gemm_ctx *ctx, float *y /*(B,C,S)*/, float *xhat /*(B,C,S) cache*/,
                      float *inv_std /*(C) cache*/, float *run_mean /*(C) updated*/, float *run_var /*(C) updated*/,
                      const float *x /*(B,C,S)*/, const float *gamma /*(C)*/, const float *beta /*(C)*/, int batch,
                      int c, int s, float momentum, float eps);

/* Inference-mode forward with the running statistics (each value computed alone). */
void bn_forward_infer(const gemm_ctx *ctx, float *y /*(B,C,S)*/, const float *x /*(B,C,S)*/,
                      const float *gamma /*(C)*/, const float *beta /*(C)*/, const float *run_mean /*(C)*/,
                      const float *run_var /*(C)*/, int batch, int c, int s, float eps);

/* Backward of bn_forward_train (the batch statistics depend on x):
 *   dbeta  += sum dy,   dgamma += sum dy*xhat   (per channel, over the N = B*S values)
 *   dx      = gamma*inv_std/N * (N*dy - sum dy - xhat * sum dy*xhat)
 * dx is overwritten, or skipped when NULL. */
void bn_backward(const gemm_ctx *ctx, float *dx /*(B,C,S) or NULL*/, float *dgamma /*(C) +=*/,
                 float *dbeta /*(C) +=*/, const float *dy /*(B,C,S)*/, const float *xhat /*(B,C,S)*/,
                 const float *inv_std /*(C)*/, const float *gamma /*(C)*/, int batch, int c, int s);

#endif
