/* pool: max and average pooling over k x k windows with a stride, no padding.
 *
 * Layout NCHW; every (image, channel) plane is pooled independently:
 *   y(b, c, oy, ox) = max / mean of x(b, c, oy*stride + i, ox*stride + j), 0 <= i, j < k.
 * Windows may overlap (stride < k); the backward passes then add the contributions.
 * Input gradients dx are overwritten; a NULL dx skips the work. */
#ifndef BENCH_POOL_H
#define BENCH_POOL_H

#include <stdint.h>

#include "err.h"
#include "gemm.h"

typedef struct pool_geom {
    int c, h, w;   /* input channels, height, width */
    int k, stride; /* square window, stride */
    int oh, ow;    /* output size: (h - k) / stride + 1 */
} pool_geom;

/* Fill g and compute oh, ow. Returns 0, or ERR_INVALID with a message in e when a size is not
 * positive or the window does not fit (k > h or k > w). Trailing rows/columns that no window
 * reaches are ignored (floor), as in the textbook. */
int pool_geom_init(pool_geom *g, int c, int h, int w, int k, int stride, err_info *e);

/* Max pooling. argmax, when not NULL, receives for each output the index (iy*W + ix) of the
 * winning input inside its (b, c) plane, which pool_max_backward needs; ties go to the first
 * maximum in row-major window order (an element replaces the running maximum only when strictly
 * greater, so a NaN in a window's first position propagates and elsewhere is skipped). */
void pool_max_forward(float *y /*(B,C,OH,OW)*/, int32_t *argmax /*(B,C,OH,OW) or NULL at inference*/,
                      const float *x /*(B,C,H,W)*/, const pool_geom *g, int batch);

/* dx = 0 except dx at each window's argmax, which receives that output's dy (summed over the
 * windows that chose it). */
void pool_max_backward(float *dx /*(B,C,H,W) or NULL*/, const float *dy /*(B,C,OH,OW)*/,
                       const int32_t *argmax /*(B,C,OH,OW)*/, const pool_geom *g, int batch);

/* pool_max_forward of a whole batch on ctx's team, then with relu y = max(y, 0) as
 * act_relu_forward (the ReLU that follows a max-pool commutes with it: max-pool then ReLU is
 * exact and 4x less work for 2x2). The (image, channel) planes go in tasks, and the 2x2
 * stride-2 window runs kern_maxpool2_avx2 where the kernel set has AVX2 and W >= 16: each
 * plane is computed alone by the same rules, so y and argmax are bitwise those of
 * pool_max_forward (+ act_relu_forward) for any team and kernel set. Not from inside a task. */
void pool_max_forward_team(const gemm_ctx *ctx, float *y /*(B,C,OH,OW)*/, int32_t *argmax /*(B,C,OH,OW) or NULL*/,
                           const float *x /*(B,C,H,W)*/, const pool_geom *g, int batch, bool relu);

/* pool_max_backward on ctx's team, the planes in tasks: bitwise the same dx. */
void pool_max_backward_team(const gemm_ctx *ctx, float *dx /*(B,C,H,W) or NULL*/, const float *dy /*(B,C,OH,OW)*/,
                            const int32_t *argmax /*(B,C,OH,OW)*/, const pool_geom *g, int batch);

/* Average pooling: y = (1/k^2) * window sum. */
void pool_avg_forward(float *y /*(B,C,OH,OW)*/, const float *x /*(B,C,H,W)*/, const pool_geom *g, int batch);

/* dx(b,c,iy,ix) = (1/k^2) * sum of dy over the windows containing (iy, ix). */
void pool_avg_backward(float *dx /*(B,C,H,W) or NULL*/, const float *dy /*(B,C,OH,OW)*/, const pool_geom *g,
                       int batch);

#endif
