/* dropout: the textbook's (non-inverted) dropout.
 *
 * Training: mask_i = (u_i > ratio) with u_i ~ U[0,1) drawn from r in element order (one
 * rng_uniform per element), y = x * mask. Inference: y = x * (1 - ratio), the expected value of
 * the training output. Backward: dx = dy * mask. */
#ifndef BENCH_DROPOUT_H
#define BENCH_DROPOUT_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

void dropout_forward_train(float *y /*(n)*/, uint8_t *mask /*(n) 0 or 1, cache*/, const float *x /*(n)*/, size_t n,
                           float ratio, rng *r);

void dropout_forward_infer(float *y /*(n)*/, const float *x /*(n)*/, size_t n, float ratio);

/* dx = dy * mask; dx is overwritten and may alias dy. */
void dropout_backward(float *dx /*(n)*/, const float *dy /*(n)*/, const uint8_t *mask /*(n)*/, size_t n);

#endif
