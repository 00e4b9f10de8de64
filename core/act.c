/* act: elementwise activations (see act.h). */
#include "act.h"

#include <assert.h>
#include <math.h>

void act_relu_forward(float *y, const float *x, size_t n)
{
    assert(y && x);
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void act_relu_backward(float *dx, const float *dy, const float *y, size_t n)
{
    if (!dx)
        return;
    assert(dy && y);
    /* dy is read unconditionally so that the select vectorizes (a conditional load does not) */
    for (size_t i = 0; i < n; i++) {
        const float d = dy[i];
        dx[i] = y[i] > 0.0f ? d : 0.0f;
    }
}

void act_tanh_forward(float *y, const float *x, size_t n)
{
    assert(y && x);
    for (size_t i = 0; i < n; i++)
        y[i] = tanhf(x[i]);
}

void act_tanh_backward(float *dx, const float *dy, const float *y, size_t n)
{
    if (!dx)
        return;
    assert(dy && y);
    for (size_t i = 0; i < n; i++)
        dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}
