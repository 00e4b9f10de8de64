/* act: elementwise activation functions over n floats (any shape).
 *
 * Backward passes are written in terms of the forward OUTPUT y, so a network keeps only y.
 * dx is overwritten and may alias dy (in-place backward); y may alias x in the forwards. */
#ifndef BENCH_ACT_H
#define BENCH_ACT_H

#include <stddef.h>

/* y = max(x, 0) */
void act_relu_forward(float *y /*(n)*/, const float *x /*(n)*/, size_t n);

/* dx = dy where y > 0, else 0 (the subgradient at 0 is 0, as the textbook's mask x <= 0). */
void act_relu_backward(float *dx /*(n)*/, const float *dy /*(n)*/, const float *y /*(n)*/, size_t n);

/* y = tanh(x) */
void act_tanh_forward(float *y /*(n)*/, const float *x /*(n)*/, size_t n);

/* dx = dy * (1 - y^2) */
void act_tanh_backward(float *dx /*(n)*/, const float *dy /*(n)*/, const float *y /*(n)*/, size_t n);

#endif
