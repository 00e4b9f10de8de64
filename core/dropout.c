/* dropout: the textbook's non-inverted dropout (see dropout.h). */
#include "dropout.h"

#include <assert.h>

void dropout_forward_train(float *y, uint8_t *mask, const float *x, size_t n, float ratio, rng *r)
{
    assert(y && mask && x && r && ratio >= 0.0f && ratio < 1.0f);
    for (size_t i = 0; i < n; i++) {
        mask[i] = rng_uniform(r) > (double)ratio;
        y[i] = mask[i] ? x[i] : 0.0f;
    }
}

void dropout_forward_infer(float *y, const float *x, size_t n, float ratio)
{
    assert(y && x && ratio >= 0.0f && ratio < 1.0f);
    const float keep = 1.0f - ratio;
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * keep;
}

void dropout_backward(float *dx, const float *dy, const uint8_t *mask, size_t n)
{
    if (!dx)
        return;
    assert(dy && mask);
    for (size_t i = 0; i < n; i++)
        dx[i] = mask[i] ? dy[i] : 0.0f;
}
