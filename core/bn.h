/* bn: batch normalization (Ioffe & Szegedy 2015), as the textbook's BatchNormalization.
 *
 * x is viewed as (B,C,S): S = 1 after an affine layer (one statistic per feature), S = H*W after
 * a convolution (one per channel). With N = B*S values per channel c:
 *   training:  mu = (1/N) sum x,  var = (1/N) sum (x - mu)^2  (biased),
 *              inv_std = 1/sqrt(var + eps),  xhat = (x - mu) * inv_std,  y = gamma*xhat + beta,
 *              running = momentum*running + (1 - momentum)*batch  (mean and biased var)
 *   inference: y = gamma * (x - run_mean) / sqrt(run_var + eps) + beta
 * The textbook uses momentum 0.9 and eps 1e-6 (inside the square root). Per-channel sums use
 * double accumulators in a fixed order, so results are deterministic. */
#ifndef BENCH_BN_H
#define BENCH_BN_H

/* Training-mode forward. xhat and inv_std are caches for bn_backward; run_mean and run_var are
 * updated in place. */
void bn_forward_train(float *y /*(B,C,S)*/, float *xhat /*(B,C,S) cache*/, float *inv_std /*(C) cache*/,
                      float *run_mean /*(C) updated*/, float *run_var /*(C) updated*/, const float *x /*(B,C,S)*/,
                      const float *gamma /*(C)*/, const float *beta /*(C)*/, int batch, int c, int s,
                      float momentum, float eps);

/* Inference-mode forward with the running statistics. */
void bn_forward_infer(float *y /*(B,C,S)*/, const float *x /*(B,C,S)*/, const float *gamma /*(C)*/,
                      const float *beta /*(C)*/, const float *run_mean /*(C)*/, const float *run_var /*(C)*/,
                      int batch, int c, int s, float eps);

/* Backward of bn_forward_train (the batch statistics depend on x):
 *   dbeta  += sum dy,   dgamma += sum dy*xhat   (per channel, over the N = B*S values)
 *   dx      = gamma*inv_std/N * (N*dy - sum dy - xhat * sum dy*xhat)
 * dx is overwritten, or skipped when NULL. */
void bn_backward(float *dx /*(B,C,S) or NULL*/, float *dgamma /*(C) +=*/, float *dbeta /*(C) +=*/,
                 const float *dy /*(B,C,S)*/, const float *xhat /*(B,C,S)*/, const float *inv_std /*(C)*/,
                 const float *gamma /*(C)*/, int batch, int c, int s);

#endif
