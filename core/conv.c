/* conv: 2-D convolution through a batched im2col and one GEMM (see conv.h for the math). */
#include "conv.h"

#include <assert.h>
#include <string.h>

#include "act.h"
#include "kern.h"

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

/* Images are split into CONV_CHUNKS fixed contiguous ranges (a function of the batch size only,
 * never of the thread count); conv_backward sums each range's parameter gradients into its own
 * slot of ws and then adds the slots in order, so the result is the same for any thread count. */
enum { CONV_CHUNKS = 16 };

size_t conv_ws_floats(const conv_geom *g, int batch)
{
    assert(g && batch >= 0);
    const size_t ckk = (size_t)g->c * (size_t)g->k * (size_t)g->k;
    const size_t p = (size_t)g->oh * (size_t)g->ow;
    return (size_t)batch * ckk * p + (size_t)CONV_CHUNKS * ((size_t)g->f * ckk + (size_t)g->f);
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

/* col(q, p) = x(c, oy*s + i - pad, ox*s + j - pad) for one image, or 0 in the padding, with
 * q = (c*K + i)*K + j and p = oy*OW + ox. */
static void conv_im2col(float *col /*(C*K*K, OH*OW)*/, const float *x /*(C,H,W)*/, const conv_geom *g)
{
    const int k = g->k, s = g->stride, oh = g->oh, ow = g->ow, ckk = g->c * k * k;
    const size_t p = (size_t)oh * (size_t)ow, hw = (size_t)g->h * (size_t)g->w;
    for (int q = 0; q < ckk; q++) {
        const int c = q / (k * k), i = (q / k) % k, j = q % k;
        const float *xp = x + (size_t)c * hw;
        float *dst = col + (size_t)q * p;
        const int off = j - g->pad; /* input column of ox is ox*s + off */
        int xlo, xhi;
        conv_valid_range(&xlo, &xhi, off, g->w, s, ow);
        for (int oy = 0; oy < oh; oy++) {
            const int iy = oy * s + i - g->pad;
            float *d = dst + (size_t)oy * (size_t)ow;
            if (iy < 0 || iy >= g->h) {
                memset(d, 0, (size_t)ow * sizeof *d);
                continue;
            }
            const float *src = xp + (size_t)iy * (size_t)g->w;
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

/* The adjoint of conv_im2col for one image: dx(c, iy, ix) = sum of dcol over the (q, p) that
 * read x(c, iy, ix), added in the fixed order (q, p). */
static void conv_col2im(float *dx /*(C,H,W)*/, const float *dcol /*(C*K*K, OH*OW)*/, const conv_geom *g)
{
    const int k = g->k, s = g->stride, oh = g->oh, ow = g->ow, ckk = g->c * k * k;
    const size_t p = (size_t)oh * (size_t)ow, hw = (size_t)g->h * (size_t)g->w;
    memset(dx, 0, (size_t)g->c * hw * sizeof *dx);
    for (int q = 0; q < ckk; q++) {
        const int c = q / (k * k), i = (q / k) % k, j = q % k;
        float *xp = dx + (size_t)c * hw;
        const float *src = dcol + (size_t)q * p;
        const int off = j - g->pad;
        int xlo, xhi;
        conv_valid_range(&xlo, &xhi, off, g->w, s, ow);
        for (int oy = 0; oy < oh; oy++) {
            const int iy = oy * s + i - g->pad;
            if (iy < 0 || iy >= g->h)
                continue;
            float *d = xp + (size_t)iy * (size_t)g->w;
            const float *sr = src + (size_t)oy * (size_t)ow;
            for (int ox = xlo; ox < xhi; ox++)
                d[ox * s + off] += sr[ox];
        }
    }
}

/* One image's forward product into y_b(F,P) from its im2col block col_b(Q,P): the direct AVX2
 * kernel with the bias fused in, or (KERN_GENERIC) the bias broadcast then one BLAS GEMM. */
static void conv_product(kern_isa isa, float *yb /*(F,P)*/, const float *col /*(Q,P)*/,
                         const float *w /*(F,Q)*/, const float *b /*(F)*/, const conv_geom *g)
{
    const int ckk = g->c * g->k * g->k, f = g->f, p = g->oh * g->ow;
    if (isa == KERN_AVX2) {
        kern_conv_fwd_avx2(yb, w, b, col, f, ckk, p);
        return;
    }
    /* y_b(F, P) = bias broadcast along rows, then += W(F, C*K*K) . col_b(C*K*K, P) */
    for (int fi = 0; fi < f; fi++)
        for (int i = 0; i < p; i++)
            yb[(size_t)fi * (size_t)p + (size_t)i] = b[fi];
    const gemm_ctx one = GEMM_CTX_DEFAULT;
    gemm(&one, false, false, f, p, ckk, 1.0f, w, ckk, col, p, 1.0f, yb, p);
}

/* One image's share of the backward pass, given its output gradient dyb(F,P) and its im2col
 * block col(Q,P): pw(F,Q) (+)= dyb . col^T (overwritten when first), pb(F) += per-filter sums
 * of dyb (each a conv_sum in double, rounded once), and, when dxb is not NULL,
 * dcol = W^T . dyb written over col and dxb = col2im(dcol). */
static void conv_backward_image(kern_isa isa, float *pw /*(F,Q)*/, float *pb /*(F)*/,
                                float *dxb /*(C,H,W) or NULL*/, float *col /*(Q,P)*/,
                                const float *dyb /*(F,P)*/, const float *w /*(F,Q)*/,
                                const conv_geom *g, bool first)
{
    const int ckk = g->c * g->k * g->k, f = g->f, p = g->oh * g->ow;
    const gemm_ctx one = GEMM_CTX_DEFAULT;
    for (int fi = 0; fi < f; fi++) {
        const float s = (float)conv_sum(dyb + (size_t)fi * (size_t)p, (size_t)p);
        pb[fi] = first ? s : pb[fi] + s;
    }
    if (isa == KERN_AVX2)
        kern_conv_dw_avx2(pw, dyb, col, f, ckk, p, !first);
    else
        gemm(&one, false, true, f, ckk, p, 1.0f, dyb, p, col, p, first ? 0.0f : 1.0f, pw, ckk);
    if (dxb) {
        /* dcol_b(C*K*K, P) = W(F, C*K*K)^T . dy_b(F, P), over col_b (no longer needed) */
        gemm(&one, true, false, ckk, p, f, 1.0f, w, ckk, dyb, p, 0.0f, col, p);
        conv_col2im(dxb, col, g);
    }
}

/* dW += sum of the chunk partials, in chunk order (double accumulators), and likewise db. */
static void conv_reduce_partials(const gemm_ctx *ctx, float *dw, float *db, const float *part,
                                 const conv_geom *g, int chunks)
{
    const size_t wsz = (size_t)g->f * (size_t)g->c * (size_t)g->k * (size_t)g->k;
    const size_t stride = wsz + (size_t)g->f;
    const int nt = ctx->threads;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (size_t i = 0; i < stride; i++) {
        double acc = 0.0;
        for (int ch = 0; ch < chunks; ch++)
            acc += part[(size_t)ch * stride + i];
        if (i < wsz)
            dw[i] += (float)acc;
        else
            db[i - wsz] += (float)acc;
    }
}

/* Threading: images are independent, so the batch is split over ctx->threads OpenMP threads and
 * each thread runs its own single-threaded products. This keeps an image's im2col block in
 * cache between its construction and its product, and makes every output independent of the
 * thread count (the products of one image are the same whoever runs them). */
void conv_forward(const gemm_ctx *ctx, float *y, float *ws, const float *x, const float *w, const float *b,
                  const conv_geom *g, int batch)
{
    assert(ctx && y && ws && x && w && b && g && batch >= 1);
    const int ckk = g->c * g->k * g->k, nt = ctx->threads;
    const int p = g->oh * g->ow;
    const size_t xsz = (size_t)g->c * (size_t)g->h * (size_t)g->w, ysz = (size_t)g->f * (size_t)p;
    const kern_isa isa = kern_resolve(ctx->isa);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int bi = 0; bi < batch; bi++) {
        float *col = ws + (size_t)bi * (size_t)ckk * (size_t)p; /* kept for conv_backward */
        conv_im2col(col, x + (size_t)bi * xsz, g);
        conv_product(isa, y + (size_t)bi * ysz, col, w, b, g);
    }
}

void conv_backward(const gemm_ctx *ctx, float *dx, float *dw, float *db, float *ws, const float *dy,
                   const float *x, const float *w, const conv_geom *g, int batch)
{
    assert(ctx && dw && db && ws && dy && x && w && g && batch >= 1);
    (void)x; /* its im2col is in ws */
    const int ckk = g->c * g->k * g->k, f = g->f, nt = ctx->threads;
    const int p = g->oh * g->ow;
    const size_t xsz = (size_t)g->c * (size_t)g->h * (size_t)g->w, ysz = (size_t)f * (size_t)p;
    const size_t wsz = (size_t)f * (size_t)ckk;
    const int chunks = batch < CONV_CHUNKS ? batch : CONV_CHUNKS;
    float *part = ws + (size_t)batch * (size_t)ckk * (size_t)p; /* (chunks, F*C*K*K + F) */
    const kern_isa isa = kern_resolve(ctx->isa);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int ch = 0; ch < chunks; ch++) {
        /* chunk ch holds images [lo, hi): floor(ch*B/chunks) .. floor((ch+1)*B/chunks) */
        const int lo = (int)((long)ch * batch / chunks), hi = (int)((long)(ch + 1) * batch / chunks);
        float *pw = part + (size_t)ch * (wsz + (size_t)f), *pb = pw + wsz;
        for (int bi = lo; bi < hi; bi++)
            conv_backward_image(isa, pw, pb, dx ? dx + (size_t)bi * xsz : NULL,
                                ws + (size_t)bi * (size_t)ckk * (size_t)p, dy + (size_t)bi * ysz, w, g,
                                bi == lo);
    }
    conv_reduce_partials(ctx, dw, db, part, g, chunks);
}

/* ---- convolution fused with the max-pool (and ReLU) that follows it ----
 *
 * Per chunk of images, one (F,P) slot of ws holds the convolution output of the image in hand
 * while it is still in cache; the pool reads it from there, so the (B,F,OH,OW) map is never
 * written to memory. Every value is computed by the same code as the unfused path, in the same
 * order, so conv_pool_* agree bitwise with conv_forward + pool_max_forward (+ act_relu_forward)
 * and the matching backward passes. */

/* ws: conv_ws_floats, then CONV_CHUNKS (F,P) slots for conv outputs, then P int32 patch offsets
 * for the sparse dW (kern.h xoff). */
size_t conv_pool_ws_floats(const conv_geom *g, int batch)
{
    const size_t p = (size_t)g->oh * (size_t)g->ow;
    return conv_ws_floats(g, batch) + (size_t)CONV_CHUNKS * (size_t)g->f * p + p;
}

/* Why the ReLU may run after the pool (relu(maxpool(y)) == maxpool(relu(y)), with the same
 * gradient): relu(v) = max(v, 0) is monotonic (non-decreasing), so for a window v_1..v_n,
 * relu(max v_i) = max relu(v_i). Routing: if the window maximum m = v_a (a the first maximum)
 * is > 0, then relu keeps every v_i > 0 and maps the rest to 0 < m, so the first maximum of
 * relu(v) is the same a; the gradient reaching v_a is dy * [relu(m) > 0] in both orders. If
 * m <= 0, every relu(v_i) is +0 and both orders send 0 to every input (the pooled value is +0
 * either way). The one exception is a NaN input (relu maps NaN to 0, max-pool may propagate it):
 * only a diverged network produces one, and the loss check stops training then. */

bool conv_pool_sparse_dw(kern_isa isa, int k, int pad) { return isa == KERN_AVX2 && pad == 0 && k <= 8; }

/* Whether conv_pool_forward convolves straight from the input (kern_conv_fwd_direct_avx2)
 * instead of through im2col blocks: only when the backward then reads no im2col either (sparse
 * dW, and the dx product writes its dcol without reading col). */
static bool conv_pool_fwd_direct(kern_isa isa, const conv_geom *g)
{
    return g->stride == 1 && conv_pool_sparse_dw(isa, g->k, g->pad);
}

void conv_pool_forward(const gemm_ctx *ctx, float *y, int32_t *argmax, float *ws, const float *x,
                       const float *w, const float *b, const conv_geom *g, const pool_geom *pg, bool relu,
                       int batch)
{
    assert(ctx && y && ws && x && w && b && g && pg && batch >= 1);
    assert(pg->c == g->f && pg->h == g->oh && pg->w == g->ow);
    const int ckk = g->c * g->k * g->k, nt = ctx->threads;
    const int p = g->oh * g->ow;
    const size_t xsz = (size_t)g->c * (size_t)g->h * (size_t)g->w, ysz = (size_t)g->f * (size_t)p;
    const size_t osz = (size_t)pg->c * (size_t)pg->oh * (size_t)pg->ow;
    const int chunks = batch < CONV_CHUNKS ? batch : CONV_CHUNKS;
    float *slots = ws + conv_ws_floats(g, batch); /* (CONV_CHUNKS, F, P) */
    const kern_isa isa = kern_resolve(ctx->isa);
    /* The direct kernel reads the input in place and computes the same bits as im2col + the
     * product; the backward needs no im2col then (conv_pool_fwd_direct() implies sparse dW). */
    const bool direct = conv_pool_fwd_direct(isa, g);
    const bool pool2 = isa == KERN_AVX2 && pg->k == 2 && pg->stride == 2 && g->ow >= 16;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int ch = 0; ch < chunks; ch++) {
        const int lo = (int)((long)ch * batch / chunks), hi = (int)((long)(ch + 1) * batch / chunks);
        float *slot = slots + (size_t)ch * ysz;
        for (int bi = lo; bi < hi; bi++) {
            float *yb = y + (size_t)bi * osz;
            int32_t *ab = argmax ? argmax + (size_t)bi * osz : NULL;
            if (direct && pool2) {
                /* 4 filters at a time (the kernel's tile height, so the same tiles as one call):
                 * their conv planes are pooled while still in L1 */
                const size_t pp = (size_t)pg->oh * (size_t)pg->ow;
                for (int f0 = 0; f0 < g->f; f0 += 4) {
                    const int nf = g->f - f0 < 4 ? g->f - f0 : 4;
                    kern_conv_fwd_direct_avx2(slot, w + (size_t)f0 * (size_t)ckk, b + f0, x + (size_t)bi * xsz, nf,
                                              g->c, g->h, g->w, g->k);
                    for (int j = 0; j < nf; j++)
                        kern_maxpool2_avx2(yb + (size_t)(f0 + j) * pp, ab ? ab + (size_t)(f0 + j) * pp : NULL,
                                           slot + (size_t)j * (size_t)p, g->oh, g->ow, relu);
                }
                continue;
            }
            if (direct) {
                kern_conv_fwd_direct_avx2(slot, w, b, x + (size_t)bi * xsz, g->f, g->c, g->h, g->w, g->k);
            } else {
                float *col = ws + (size_t)bi * (size_t)ckk * (size_t)p; /* kept for the backward pass */
                conv_im2col(col, x + (size_t)bi * xsz, g);
                conv_product(isa, slot, col, w, b, g);
            }
            if (pool2) { /* the same bits as the two calls below */
                const size_t pp = (size_t)pg->oh * (size_t)pg->ow;
                for (int fi = 0; fi < g->f; fi++)
                    kern_maxpool2_avx2(yb + (size_t)fi * pp, ab ? ab + (size_t)fi * pp : NULL,
                                       slot + (size_t)fi * (size_t)p, g->oh, g->ow, relu);
                continue;
            }
            pool_max_forward(yb, ab, slot, pg, 1);
            if (relu)
                act_relu_forward(yb, yb, osz);
        }
    }
}

/* The sparse parameter gradients of conv_pool_backward for filters [f0, f1): dW from the
 * argmax and the input (kern.h), and db(f) = sum over images in order, in double, of each
 * image's conv_sum of dout (the conv output gradient is dout at the argmax and 0 elsewhere, so
 * this is its sum). Each filter's values are the same whichever range computes it. */
static void conv_pool_sparse_filters(float *dw /*(F,C,K,K) +=*/, float *db /*(F) +=*/, const float *dout,
                                     const int32_t *argmax, const int32_t *xoff, const float *x,
                                     const kern_pool_geom *kg, int f0, int f1)
{
    const size_t o = (size_t)kg->o, osz = (size_t)kg->f * o;
    kern_conv_dw_sparse_avx2(dw, dout, argmax, xoff, x, kg, f0, f1);
    for (int fi = f0; fi < f1; fi++) {
        double acc = 0.0;
        for (int bi = 0; bi < kg->batch; bi++)
            acc += conv_sum(dout + (size_t)bi * osz + (size_t)fi * o, o);
        db[fi] += (float)acc;
    }
}

void conv_pool_backward(const gemm_ctx *ctx, float *dx, float *dw, float *db, float *ws, const float *dy,
                        const int32_t *argmax, const float *x, const float *w, const conv_geom *g,
                        const pool_geom *pg, int batch)
{
    assert(ctx && dw && db && ws && dy && argmax && x && w && g && pg && batch >= 1);
    assert(pg->c == g->f && pg->h == g->oh && pg->w == g->ow);
    const int ckk = g->c * g->k * g->k, f = g->f, nt = ctx->threads;
    const int p = g->oh * g->ow;
    const size_t xsz = (size_t)g->c * (size_t)g->h * (size_t)g->w, ysz = (size_t)f * (size_t)p;
    const size_t osz = (size_t)pg->c * (size_t)pg->oh * (size_t)pg->ow;
    const size_t wsz = (size_t)f * (size_t)ckk;
    const int chunks = batch < CONV_CHUNKS ? batch : CONV_CHUNKS;
    float *part = ws + (size_t)batch * (size_t)ckk * (size_t)p; /* (chunks, F*C*K*K + F) */
    float *slots = ws + conv_ws_floats(g, batch);               /* (CONV_CHUNKS, F, P) */
    const kern_isa isa = kern_resolve(ctx->isa);
    if (conv_pool_sparse_dw(isa, g->k, g->pad)) {
        const kern_pool_geom kg = {.batch = batch, .c = g->c, .h = g->h, .w = g->w, .f = f, .k = g->k,
                                   .o = pg->oh * pg->ow};
        /* the patch offset of each conv output a = oy*OW + ox: (a / OW)*S*W + (a % OW)*S */
        int32_t *xoff = (int32_t *)(slots + (size_t)CONV_CHUNKS * ysz);
        for (int a = 0; a < p; a++)
            xoff[a] = (a / g->ow) * g->stride * g->w + (a % g->ow) * g->stride;
        /* each thread takes a contiguous range of filters; a filter's gradients are computed by
         * one thread the same way whatever the ranges */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int t = 0; t < nt; t++)
            conv_pool_sparse_filters(dw, db, dy, argmax, xoff, x, &kg, (int)((long)t * f / nt),
                                     (int)((long)(t + 1) * f / nt));
        if (!dx)
            return;
        /* dx_b = col2im(W^T . dy_b) of the dense conv output gradient, per image */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int ch = 0; ch < chunks; ch++) {
            const int lo = (int)((long)ch * batch / chunks), hi = (int)((long)(ch + 1) * batch / chunks);
            float *slot = slots + (size_t)ch * ysz;
            const gemm_ctx one = GEMM_CTX_DEFAULT;
            for (int bi = lo; bi < hi; bi++) {
                float *col = ws + (size_t)bi * (size_t)ckk * (size_t)p;
                pool_max_backward(slot, dy + (size_t)bi * osz, argmax + (size_t)bi * osz, pg, 1);
                gemm(&one, true, false, ckk, p, f, 1.0f, w, ckk, slot, p, 0.0f, col, p);
                conv_col2im(dx + (size_t)bi * xsz, col, g);
            }
        }
        return;
    }
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int ch = 0; ch < chunks; ch++) {
        const int lo = (int)((long)ch * batch / chunks), hi = (int)((long)(ch + 1) * batch / chunks);
        float *pw = part + (size_t)ch * (wsz + (size_t)f), *pb = pw + wsz;
        float *slot = slots + (size_t)ch * ysz;
        for (int bi = lo; bi < hi; bi++) {
            /* the conv output gradient of image bi: the pooled gradient routed to the argmax */
            pool_max_backward(slot, dy + (size_t)bi * osz, argmax + (size_t)bi * osz, pg, 1);
            conv_backward_image(isa, pw, pb, dx ? dx + (size_t)bi * xsz : NULL,
                                ws + (size_t)bi * (size_t)ckk * (size_t)p, slot, w, g, bi == lo);
        }
    }
    conv_reduce_partials(ctx, dw, db, part, g, chunks);
}
