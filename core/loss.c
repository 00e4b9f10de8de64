/* loss: softmax with cross-entropy (see loss.h). */
#include "loss.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>

double loss_softmax_xent_forward(float *prob, const float *logits, const uint8_t *labels, int batch, int k)
{
    assert(prob && logits && labels && batch >= 1 && k >= 1);
    double total = 0.0;
    for (int b = 0; b < batch; b++) {
        const float *z = logits + (size_t)b * (size_t)k;
        float *p = prob + (size_t)b * (size_t)k;
        assert(labels[b] < k);
        float m = z[0];
        for (int j = 1; j < k; j++)
            m = z[j] > m ? z[j] : m;
        /* exp(z - max) <= 1, and the maximum contributes exactly 1, so the sum lies in [1, k]
         * and nothing overflows however large the logits. */
        double sum = 0.0;
        for (int j = 0; j < k; j++)
            sum += exp((double)z[j] - (double)m);
        double p_label = 0.0;
        for (int j = 0; j < k; j++) {
            const double pj = exp((double)z[j] - (double)m) / sum;
            p[j] = (float)pj;
            if (j == labels[b])
                p_label = pj;
        }
        total -= log(p_label + 1e-7);
    }
    return total / batch;
}

void loss_softmax_xent_backward(float *dlogits, const float *prob, const uint8_t *labels, int batch, int k)
{
    assert(dlogits && prob && labels && batch >= 1 && k >= 1);
    for (int b = 0; b < batch; b++) {
        const float *p = prob + (size_t)b * (size_t)k;
        float *d = dlogits + (size_t)b * (size_t)k;
        for (int j = 0; j < k; j++)
            d[j] = (p[j] - (j == labels[b] ? 1.0f : 0.0f)) / (float)batch;
    }
}
