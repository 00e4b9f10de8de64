/* bn: batch normalization kernels (see bn.h for the formulas). */
#include "bn.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>

/* Element (b, ch, i) of a (B,C,S) tensor. */
static size_t bn_at(int b, int ch, int i, int c, int s)
{
    return ((size_t)b * (size_t)c + (size_t)ch) * (size_t)s + (size_t)i;
}

void bn_forward_train(float *y, float *xhat, float *inv_std, float *run_mean, float *run_var, const float *x,
                      const float *gamma, const float *beta, int batch, int c, int s, float momentum, float eps)
{
    assert(y && xhat && inv_std && run_mean && run_var && x && gamma && beta);
    assert(batch >= 1 && c >= 1 && s >= 1 && eps > 0.0f);
    const double n = (double)batch * (double)s;
    for (int ch = 0; ch < c; ch++) {
        /* Two passes in double: the mean, then the mean squared deviation (biased variance),
         * which is accurate even when |mean| >> std. */
        double sum = 0.0;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < s; i++)
                sum += x[bn_at(b, ch, i, c, s)];
        const double mu = sum / n;
        double ss = 0.0;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < s; i++) {
                const double d = x[bn_at(b, ch, i, c, s)] - mu;
                ss += d * d;
            }
        const double var = ss / n;
        const double istd = 1.0 / sqrt(var + (double)eps);
        inv_std[ch] = (float)istd;
        const float g = gamma[ch], bt = beta[ch];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < s; i++) {
                const size_t at = bn_at(b, ch, i, c, s);
                const float xh = (float)((x[at] - mu) * istd);
                xhat[at] = xh;
                y[at] = g * xh + bt;
            }
        run_mean[ch] = momentum * run_mean[ch] + (1.0f - momentum) * (float)mu;
        run_var[ch] = momentum * run_var[ch] + (1.0f - momentum) * (float)var;
    }
}

void bn_forward_infer(float *y, const float *x, const float *gamma, const float *beta, const float *run_mean,
                      const float *run_var, int batch, int c, int s, float eps)
{
    assert(y && x && gamma && beta && run_mean && run_var);
    assert(batch >= 0 && c >= 1 && s >= 1 && eps > 0.0f);
    for (int ch = 0; ch < c; ch++) {
        /* y = scale*x + shift with scale = gamma/sqrt(var+eps), shift = beta - scale*mean;
         * computed as scale*(x - mean) + beta to stay close to the training formula. */
        const float scale = (float)((double)gamma[ch] / sqrt((double)run_var[ch] + (double)eps));
        const float mean = run_mean[ch], bt = beta[ch];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < s; i++) {
                const size_t at = bn_at(b, ch, i, c, s);
                y[at] = scale * (x[at] - mean) + bt;
            }
    }
}

void bn_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat, const float *inv_std,
                 const float *gamma, int batch, int c, int s)
{
    assert(dgamma && dbeta && dy && xhat && inv_std && gamma && batch >= 1 && c >= 1 && s >= 1);
    const double n = (double)batch * (double)s;
    for (int ch = 0; ch < c; ch++) {
        double sdy = 0.0, sdyx = 0.0;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < s; i++) {
                const size_t at = bn_at(b, ch, i, c, s);
                sdy += dy[at];
                sdyx += (double)dy[at] * xhat[at];
            }
        dbeta[ch] += (float)sdy;
        dgamma[ch] += (float)sdyx;
        if (!dx)
            continue;
        /* dx = gamma*inv_std * (dy - mean(dy) - xhat*mean(dy*xhat)), the textbook's chain of
         * dxc, dstd, dvar, dmu folded into one line. */
        const double k = (double)gamma[ch] * (double)inv_std[ch];
        const double mdy = sdy / n, mdyx = sdyx / n;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < s; i++) {
                const size_t at = bn_at(b, ch, i, c, s);
                dx[at] = (float)(k * ((double)dy[at] - mdy - (double)xhat[at] * mdyx));
            }
    }
}
