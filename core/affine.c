/* affine: the fully connected layer over gemm (see affine.h). */
#include "affine.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

void affine_forward(const gemm_ctx *ctx, float *y, const float *x, const float *w, const float *b, int batch,
                    int d, int n)
{
    assert(ctx && y && x && w && b && batch >= 0 && d >= 1 && n >= 1);
    /* y starts as the bias broadcast over rows, then y += x(B,D) . W(D,N). */
    for (int i = 0; i < batch; i++)
        memcpy(y + (size_t)i * (size_t)n, b, (size_t)n * sizeof *y);
    gemm(ctx, false, false, batch, n, d, x, d, w, n, true, y, n);
}

void affine_backward(const gemm_ctx *ctx, float *dx, float *dw, float *db, const float *dy, const float *x,
                     const float *w, int batch, int d, int n)
{
    assert(ctx && dw && db && dy && x && w && batch >= 0 && d >= 1 && n >= 1);
    /* db(N) += column sums of dy, each in double and in batch order. */
    for (int j = 0; j < n; j++) {
        double acc = 0.0;
        for (int i = 0; i < batch; i++)
            acc += dy[(size_t)i * (size_t)n + (size_t)j];
        db[j] += (float)acc;
    }
    /* dW(D,N) += x(B,D)^T . dy(B,N) */
    gemm(ctx, true, false, d, n, batch, x, d, dy, n, true, dw, n);
    /* dx(B,D) = dy(B,N) . W(D,N)^T */
    if (dx)
        gemm(ctx, false, true, batch, d, n, dy, n, w, n, false, dx, d);
}
