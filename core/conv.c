/* conv: 2-D convolution through a batched im2col and one GEMM (see conv.h for the math). */
#include "conv.h"

#include <assert.h>
#include <string.h>

int conv_geom_init(conv_geom *g, int c, int h, int w, int f, int k, int stride, int pad, err_info *e)
{
    assert(g);
    if (c < 1 || h < 1 || w < 1 || f < 1 || k < 1 || stride < 1)
        return err_set(e, ERR_INVALID,
                       "conv sizes must be positive (c=%d h=%d w=%d filters=%d kernel=%d stride=%d)", c, h, w,
                       f, k, stride);
    if (pad < 0 || pad >= k)
        return err_set(e, ERR_INVALID, "conv padding %d must be in [0, kernel %d)", pad, k);
    if (k > h + 2 * pad || k > w + 2 * pad)
        return err_set(e, ERR_INVALID, "conv kernel %d does not fit the padded input %dx%d (pad %d)", k, h, w,
                       pad);
    *g = (conv_geom){.c = c, .h = h, .w = w, .f = f, .k = k, .stride = stride, .pad = pad};
    g->oh = (h + 2 * pad - k) / stride + 1;
    g->ow = (w + 2 * pad - k) / stride + 1;
    return 0;
}

size_t conv_ws_floats(const conv_geom *g, int batch)
{
    assert(g && batch >= 0);
    size_t cols = (size_t)batch * (size_t)g->oh * (size_t)g->ow;
    return ((size_t)g->c * (size_t)g->k * (size_t)g->k + (size_t)g->f) * cols;
}

/* The range [*lo, *hi) of output positions o whose input coordinate o*stride + off lies inside
 * [0, n); off = kernel offset - pad. Outside that range im2col reads zero padding. */
static void conv_valid_range(int *lo, int *hi, int off, int n, int stride, int on)
{
    /* o*stride + off >= 0  <=>  o >= ceil(-off / stride) */
    int l = off >= 0 ? 0 : (-off + stride - 1) / stride;
    /* o*stride + off <= n-1  <=>  o <= floor((n-1-off) / stride) */
    int h = n - 1 - off < 0 ? 0 : (n - 1 - off) / stride + 1;
    if (l > on)
        l = on;
    if (h > on)
        h = on;
    if (h < l)
        h = l;
    *lo = l;
    *hi = h;
}

/* Sum of a[0..n) in double with 8 interleaved partial sums combined in a fixed order: as
 * deterministic as one running sum, but without its serial add latency (and vectorizable). */
static double conv_sum(const float *a, size_t n)
{
    double acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++)
            acc[l] += a[i + l];
    for (; i < n; i++)
        acc[i % 8] += a[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* col(q, b*P + oy*OW + ox) = x(b, c, oy*s + i - pad, ox*s + j - pad), or 0 in the padding, with
 * q = (c*K + i)*K + j and P = OH*OW. Each (q, b) block of P floats is written by one thread. */
static void conv_im2col(int threads, float *col /*(C*K*K, B*OH*OW)*/, const float *x /*(B,C,H,W)*/,
                        const conv_geom *g, int batch)
{
    const int k = g->k, s = g->stride, oh = g->oh, ow = g->ow, ckk = g->c * k * k;
    const size_t p = (size_t)oh * (size_t)ow, hw = (size_t)g->h * (size_t)g->w;
#pragma omp parallel for collapse(2) schedule(static) num_threads(threads) if (threads > 1)
    for (int q = 0; q < ckk; q++) {
        for (int b = 0; b < batch; b++) {
            const int c = q / (k * k), i = (q / k) % k, j = q % k;
            const float *xp = x + ((size_t)b * (size_t)g->c + (size_t)c) * hw;
            float *dst = col + (size_t)q * (size_t)batch * p + (size_t)b * p;
            int xlo, xhi;
            conv_valid_range(&xlo, &xhi, j - g->pad, g->w, s, ow);
            for (int oy = 0; oy < oh; oy++) {
                const int iy = oy * s + i - g->pad;
                float *d = dst + (size_t)oy * (size_t)ow;
                if (iy < 0 || iy >= g->h) {
                    memset(d, 0, (size_t)ow * sizeof *d);
                    continue;
                }
                /* input column of ox is ox*s + j - pad, inside [0, W) for ox in [xlo, xhi) */
                const float *src = xp + (size_t)iy * (size_t)g->w;
                const int off = j - g->pad;
                for (int ox = 0; ox < xlo; ox++)
                    d[ox] = 0.0f;
                if (s == 1) {
                    if (xhi > xlo)
                        memcpy(d + xlo, src + xlo + off, (size_t)(xhi - xlo) * sizeof *d);
                } else {
                    for (int ox = xlo; ox < xhi; ox++)
                        d[ox] = src[ox * s + off];
                }
                for (int ox = xhi; ox < ow; ox++)
                    d[ox] = 0.0f;
            }
        }
    }
}

/* The adjoint of conv_im2col: dx(b, c, iy, ix) = sum of dcol over the (q, p) that read it.
 * One thread owns a whole (b, c) plane of dx and adds in the fixed order (i, j, oy, ox), so the
 * result does not depend on the thread count. */
static void conv_col2im(int threads, float *dx /*(B,C,H,W)*/, const float *dcol /*(C*K*K, B*OH*OW)*/,
                        const conv_geom *g, int batch)
{
    const int k = g->k, s = g->stride, oh = g->oh, ow = g->ow;
    const size_t p = (size_t)oh * (size_t)ow, hw = (size_t)g->h * (size_t)g->w;
#pragma omp parallel for collapse(2) schedule(static) num_threads(threads) if (threads > 1)
    for (int b = 0; b < batch; b++) {
        for (int c = 0; c < g->c; c++) {
            float *xp = dx + ((size_t)b * (size_t)g->c + (size_t)c) * hw;
            memset(xp, 0, hw * sizeof *xp);
            for (int i = 0; i < k; i++) {
                for (int j = 0; j < k; j++) {
                    const int q = (c * k + i) * k + j;
                    const float *src = dcol + (size_t)q * (size_t)batch * p + (size_t)b * p;
                    int xlo, xhi;
                    conv_valid_range(&xlo, &xhi, j - g->pad, g->w, s, ow);
                    for (int oy = 0; oy < oh; oy++) {
                        const int iy = oy * s + i - g->pad;
                        if (iy < 0 || iy >= g->h)
                            continue;
                        float *d = xp + (size_t)iy * (size_t)g->w;
                        const float *sr = src + (size_t)oy * (size_t)ow;
                        const int off = j - g->pad;
                        for (int ox = xlo; ox < xhi; ox++)
                            d[ox * s + off] += sr[ox];
                    }
                }
            }
        }
    }
}

void conv_forward(const gemm_ctx *ctx, float *y, float *ws, const float *x, const float *w, const float *b,
                  const conv_geom *g, int batch)
{
    assert(ctx && y && ws && x && w && b && g && batch >= 1);
    const int ckk = g->c * g->k * g->k, f = g->f;
    const size_t p = (size_t)g->oh * (size_t)g->ow, bp = (size_t)batch * p;
    float *col = ws;             /* (C*K*K, B*P), kept for conv_backward */
    float *out = ws + ckk * bp;  /* (F, B*P) staging */
    conv_im2col(ctx->threads, col, x, g, batch);
    /* out(F, B*P) = W(F, C*K*K) . col(C*K*K, B*P): one product for the whole batch. */
    gemm(ctx, false, false, f, (int)bp, ckk, 1.0f, w, ckk, col, (int)bp, 0.0f, out, (int)bp);
    /* y(b, f, p) = out(f, b*P + p) + bias(f): a block transpose from (F, B, P) to (B, F, P). */
    const int nt = ctx->threads;
#pragma omp parallel for collapse(2) schedule(static) num_threads(nt) if (nt > 1)
    for (int bi = 0; bi < batch; bi++) {
        for (int fi = 0; fi < f; fi++) {
            const float *src = out + (size_t)fi * bp + (size_t)bi * p;
            float *dst = y + ((size_t)bi * (size_t)f + (size_t)fi) * p;
            const float bias = b[fi];
            for (size_t i = 0; i < p; i++)
                dst[i] = src[i] + bias;
        }
    }
}

void conv_backward(const gemm_ctx *ctx, float *dx, float *dw, float *db, float *ws, const float *dy,
                   const float *x, const float *w, const conv_geom *g, int batch)
{
    assert(ctx && dw && db && ws && dy && x && w && g && batch >= 1);
    (void)x; /* its im2col is in ws */
    const int ckk = g->c * g->k * g->k, f = g->f, nt = ctx->threads;
    const size_t p = (size_t)g->oh * (size_t)g->ow, bp = (size_t)batch * p;
    float *col = ws;
    float *dyt = ws + ckk * bp; /* (F, B*P) */
    /* dyt(f, b*P + p) = dy(b, f, p), the inverse of the forward's block transpose. */
#pragma omp parallel for collapse(2) schedule(static) num_threads(nt) if (nt > 1)
    for (int fi = 0; fi < f; fi++) {
        for (int bi = 0; bi < batch; bi++)
            memcpy(dyt + (size_t)fi * bp + (size_t)bi * p, dy + ((size_t)bi * (size_t)f + (size_t)fi) * p,
                   p * sizeof *dyt);
    }
    /* db(f) += sum over the batch and the output pixels, in double, in a fixed order. */
    for (int fi = 0; fi < f; fi++)
        db[fi] += (float)conv_sum(dyt + (size_t)fi * bp, bp);
    /* dW(F, C*K*K) += dyt(F, B*P) . col(C*K*K, B*P)^T */
    gemm(ctx, false, true, f, ckk, (int)bp, 1.0f, dyt, (int)bp, col, (int)bp, 1.0f, dw, ckk);
    if (!dx)
        return;
    /* dcol(C*K*K, B*P) = W(F, C*K*K)^T . dyt(F, B*P), written over col (no longer needed). */
    gemm(ctx, true, false, ckk, (int)bp, f, 1.0f, w, ckk, dyt, (int)bp, 0.0f, col, (int)bp);
    conv_col2im(nt, dx, col, g, batch);
}
