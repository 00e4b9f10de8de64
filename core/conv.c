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
 * deterministic as one running sum, but without its serial add latency; kern_sum8_avx2 is the
 * same sum (the same partials, the same tree) in vector registers. */
static double conv_sum(kern_isa isa, const float *a, size_t n)
{
    if (kern_has_avx2(isa))
        return kern_sum8_avx2(a, n);
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

/* From Q = C*K*K taps on (ji2018's second conv: 288), gemm()'s packed, register-blocked
 * micro-kernels beat the unpacked conv kernels of kern.h, which were written for the paper's
 * Q = 25 (measured on an AVX-512 CPU, 100 images of 32x14x14 -> 64 filters 3x3 pad 1: forward
 * 7.1 ms against 16.2, backward 12.4 against 19.2; below Q ~ 64 the conv kernels win). */
enum { CONV_GEMM_Q = 64 };

/* Whether the forward product of kernel set `isa` (resolved) with Q taps goes to gemm()'s
 * AVX-512 kernel: the same bits as kern_conv_fwd_avx2 (conv_product), so only speed decides. */
static bool conv_gemm_fwd(kern_isa isa, int q) { return isa == KERN_AVX512 && q >= CONV_GEMM_Q; }

/* One image's forward product into y_b(F,P) from its im2col block col_b(Q,P): the direct AVX2
 * kernel with the bias fused in, or the bias broadcast then one gemm() (KERN_GENERIC: BLIS;
 * AVX-512 with Q >= CONV_GEMM_Q: the core's own AVX-512 micro-kernel). */
static void conv_product(kern_isa isa, float *yb /*(F,P)*/, const float *col /*(Q,P)*/,
                         const float *w /*(F,Q)*/, const float *b /*(F)*/, const conv_geom *g)
{
    const int ckk = g->c * g->k * g->k, f = g->f, p = g->oh * g->ow;
    if (kern_has_avx2(isa) && p >= 16 && !conv_gemm_fwd(isa, ckk)) {
        kern_conv_fwd_avx2(yb, w, b, col, f, ckk, p);
        return;
    }
    /* y_b(F, P) = bias broadcast along rows, then += W(F, C*K*K) . col_b(C*K*K, P). With the
     * own kernels that is kern_conv_fwd_avx2's chain exactly (both gemm.h and kern.h: the fma
     * chain over the taps from the bias), so the few pixels it would do one by one (P < 16,
     * LeNet-5's 120 filters of one pixel) go through gemm's micro-kernels with the same bits. */
    for (int fi = 0; fi < f; fi++)
        for (int i = 0; i < p; i++)
            yb[(size_t)fi * (size_t)p + (size_t)i] = b[fi];
    const gemm_ctx one = {.threads = 1, .isa = isa};
    gemm(&one, false, false, f, p, ckk, w, ckk, col, p, true, yb, p);
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
    const gemm_ctx one = {.threads = 1, .isa = isa};
    for (int fi = 0; fi < f; fi++) {
        const float s = (float)conv_sum(isa, dyb + (size_t)fi * (size_t)p, (size_t)p);
        pb[fi] = first ? s : pb[fi] + s;
    }
    /* dW: with the own kernels the 8-lane sums of kern_conv_dw_avx2 below CONV_GEMM_Q taps, one
     * fma chain per element over the chunk's pixels (gemm.h) from there: a function of the
     * shape only, so AVX2 and AVX-512 still give the same bits */
    if (kern_has_avx2(isa) && ckk < CONV_GEMM_Q)
        kern_conv_dw_avx2(pw, dyb, col, f, ckk, p, !first);
    else
        gemm(&one, false, true, f, ckk, p, dyb, p, col, p, !first, pw, ckk);
    if (dxb) {
        /* dcol_b(C*K*K, P) = W(F, C*K*K)^T . dy_b(F, P), over col_b (no longer needed) */
        gemm(&one, true, false, ckk, p, f, w, ckk, dyb, p, false, col, p);
        conv_col2im(dxb, col, g);
    }
}

/* The loops of this file as par.h tasks: one context for all of them. */
typedef struct conv_job {
    const conv_geom *g;
    const pool_geom *pg;
    kern_isa isa;
    int batch, chunks;
    float *y, *ws, *dx, *dw, *db;
    int32_t *argmax;
    const float *x, *w, *b, *dy;
    const int32_t *cargmax;
    const int32_t *xoff;
    bool relu, direct, pool2, wide;
    bool dense;      /* conv_pool_back_task: the dense dW path */
} conv_job;

/* Images [*lo, *hi) of chunk ch: floor(ch*B/chunks) .. floor((ch+1)*B/chunks). */
static void conv_chunk(int *lo, int *hi, int ch, int batch, int chunks)
{
    *lo = (int)((long)ch * batch / chunks);
    *hi = (int)((long)(ch + 1) * batch / chunks);
}

/* parts of the reduction over the parameter gradients (any split gives the same sums) */
enum { CONV_REDUCE_PARTS = 8 };

/* dW += sum of the chunk partials, in chunk order (double accumulators), and likewise db, for
 * the elements of part `task`. */
static void conv_reduce_task(void *ctx, int task, int thread)
{
    (void)thread;
    const conv_job *j = ctx;
    const conv_geom *g = j->g;
    const size_t wsz = (size_t)g->f * (size_t)g->c * (size_t)g->k * (size_t)g->k;
    const size_t stride = wsz + (size_t)g->f;
    const float *part = j->ws + (size_t)j->batch * (size_t)g->c * (size_t)g->k * (size_t)g->k *
                                    (size_t)g->oh * (size_t)g->ow;
    size_t lo, hi;
    par_split(&lo, &hi, stride, task, CONV_REDUCE_PARTS, 16);
    for (size_t i = lo; i < hi; i++) {
        double acc = 0.0;
        for (int ch = 0; ch < j->chunks; ch++)
            acc += part[(size_t)ch * stride + i];
        if (i < wsz)
            j->dw[i] += (float)acc;
        else
            j->db[i - wsz] += (float)acc;
    }
}

/* Threading: images are independent, so the batch is split into chunks that ctx->team's
 * threads take (par.h), each running its own single-threaded products. This keeps an image's
 * im2col block in cache between its construction and its product, and makes every output
 * independent of the thread count (the products of one image are the same whoever runs them). */
static void conv_forward_task(void *ctx, int task, int thread)
{
    (void)thread;
    const conv_job *j = ctx;
    const conv_geom *g = j->g;
    const int ckk = g->c * g->k * g->k, p = g->oh * g->ow;
    const size_t xsz = (size_t)g->c * (size_t)g->h * (size_t)g->w, ysz = (size_t)g->f * (size_t)p;
    int lo, hi;
    conv_chunk(&lo, &hi, task, j->batch, j->chunks);
    for (int bi = lo; bi < hi; bi++) {
        float *col = j->ws + (size_t)bi * (size_t)ckk * (size_t)p; /* kept for conv_backward */
        conv_im2col(col, j->x + (size_t)bi * xsz, g);
        conv_product(j->isa, j->y + (size_t)bi * ysz, col, j->w, j->b, g);
    }
}

void conv_forward(const gemm_ctx *ctx, float *y, float *ws, const float *x, const float *w, const float *b,
                  const conv_geom *g, int batch)
{
    assert(ctx && y && ws && x && w && b && g && batch >= 1);
    conv_job j = {.g = g, .isa = kern_resolve(ctx->isa), .batch = batch,
                  .chunks = batch < CONV_CHUNKS ? batch : CONV_CHUNKS, .y = y, .ws = ws, .x = x, .w = w, .b = b};
    par_run(ctx->team, j.chunks, conv_forward_task, &j);
}

/* Chunk `task` of the unfused backward: each image's gradients into the chunk's partial
 * sums (ws after the im2col blocks: (chunks, F*C*K*K + F)). */
static void conv_backward_task(void *ctx, int task, int thread)
{
    (void)thread;
    const conv_job *j = ctx;
    const conv_geom *g = j->g;
    const int ckk = g->c * g->k * g->k, f = g->f, p = g->oh * g->ow;
    const size_t xsz = (size_t)g->c * (size_t)g->h * (size_t)g->w, ysz = (size_t)f * (size_t)p;
    const size_t wsz = (size_t)f * (size_t)ckk;
    float *part = j->ws + (size_t)j->batch * (size_t)ckk * (size_t)p;
    float *pw = part + (size_t)task * (wsz + (size_t)f), *pb = pw + wsz;
    int lo, hi;
    conv_chunk(&lo, &hi, task, j->batch, j->chunks);
    for (int bi = lo; bi < hi; bi++)
        conv_backward_image(j->isa, pw, pb, j->dx ? j->dx + (size_t)bi * xsz : NULL,
                            j->ws + (size_t)bi * (size_t)ckk * (size_t)p, j->dy + (size_t)bi * ysz, j->w, g,
                            bi == lo);
}

void conv_backward(const gemm_ctx *ctx, float *dx, float *dw, float *db, float *ws, const float *dy,
                   const float *x, const float *w, const conv_geom *g, int batch)
{
    assert(ctx && dw && db && ws && dy && x && w && g && batch >= 1);
    (void)x; /* its im2col is in ws */
    conv_job j = {.g = g, .isa = kern_resolve(ctx->isa), .batch = batch,
                  .chunks = batch < CONV_CHUNKS ? batch : CONV_CHUNKS, .ws = ws, .dx = dx, .dw = dw, .db = db,
                  .w = w, .dy = dy};
    par_run(ctx->team, j.chunks, conv_backward_task, &j);
    par_run(ctx->team, CONV_REDUCE_PARTS, conv_reduce_task, &j);
}

/* ---- convolution fused with the max-pool (and ReLU) that follows it ----
 *
 * Per chunk of images, one (F,P) slot of ws holds the convolution output of the image in hand
 * while it is still in cache; the pool reads it from there, so the (B,F,OH,OW) map is never
 * written to memory. Every value is computed by the same code as the unfused path, in the same
 * order, so conv_pool_* agree bitwise with conv_forward + pool_max_forward (+ act_relu_forward)
 * and the matching backward passes. */

/* Floats of one chunk's slot: an (F,P) conv output, or the wide planes of
 * kern_conv_pool_avx512 (KERN_WIDE_FILTERS,OH,W), whichever is larger. */
static size_t conv_slot_floats(const conv_geom *g)
{
    const size_t dense = (size_t)g->f * (size_t)g->oh * (size_t)g->ow;
    const size_t wide = (size_t)KERN_WIDE_FILTERS * (size_t)g->oh * (size_t)g->w;
    return dense > wide ? dense : wide;
}

/* The slot of chunk ch in ws. */
static float *conv_slot(float *ws, const conv_geom *g, int batch, int ch)
{
    return ws + conv_ws_floats(g, batch) + (size_t)ch * conv_slot_floats(g);
}

/* ws: conv_ws_floats, then CONV_CHUNKS slots for conv outputs, then P int32 patch offsets for
 * the sparse dW (kern.h xoff). */
size_t conv_pool_ws_floats(const conv_geom *g, int batch)
{
    const size_t p = (size_t)g->oh * (size_t)g->ow;
    return conv_ws_floats(g, batch) + (size_t)CONV_CHUNKS * conv_slot_floats(g) + p;
}

/* Why the ReLU may run after the pool (relu(maxpool(y)) == maxpool(relu(y)), with the same
 * gradient): relu(v) = max(v, 0) is monotonic (non-decreasing), so for a window v_1..v_n,
 * relu(max v_i) = max relu(v_i). Routing: if the window maximum m = v_a (a the first maximum)
 * is > 0, then relu keeps every v_i > 0 and maps the rest to 0 < m, so the first maximum of
 * relu(v) is the same a; the gradient reaching v_a is dy * [relu(m) > 0] in both orders. If
 * m <= 0, every relu(v_i) is +0 and both orders send 0 to every input (the pooled value is +0
 * either way). The one exception is a NaN input (relu maps NaN to 0, max-pool may propagate it):
 * only a diverged network produces one, and the loss check stops training then. */

bool conv_pool_sparse_dw(kern_isa isa, int k, int pad) { return kern_has_avx2(isa) && pad == 0 && k <= 8; }

/* Whether conv_pool_forward convolves straight from the input (kern_conv_fwd_direct_avx2)
 * instead of through im2col blocks: only when the backward then reads no im2col either (sparse
 * dW, and the dx product writes its dcol without reading col). */
static bool conv_pool_fwd_direct(kern_isa isa, int k, int stride, int pad)
{
    return stride == 1 && conv_pool_sparse_dw(isa, k, pad);
}

/* Whether it then runs the AVX-512 conv+pool kernel (a 2x2 stride-2 pool). */
static bool conv_pool_fwd_wide(kern_isa isa, int k, int stride, int pad, int pk, int ps)
{
    return isa == KERN_AVX512 && conv_pool_fwd_direct(isa, k, stride, pad) && pk == 2 && ps == 2;
}

const char *conv_kernel_name(kern_isa isa, int c, int k, int stride, int pad, bool fused, int pk, int ps)
{
    if (!kern_has_avx2(isa))
        return "im2col-blas";
    if (fused && conv_pool_fwd_wide(isa, k, stride, pad, pk, ps))
        return "direct-avx512";
    if (fused && conv_pool_fwd_direct(isa, k, stride, pad))
        return "direct-avx2";
    return conv_gemm_fwd(isa, c * k * k) ? "im2col-avx512" : "im2col-avx2";
}

/* Chunk `task` of the fused forward: each image convolved into the chunk's slot of ws (an
 * (F,P) conv output), then pooled from there. */
static void conv_pool_forward_task(void *ctx, int task, int thread)
{
    (void)thread;
    const conv_job *j = ctx;
    const conv_geom *g = j->g;
    const pool_geom *pg = j->pg;
    const int ckk = g->c * g->k * g->k, p = g->oh * g->ow;
    const size_t xsz = (size_t)g->c * (size_t)g->h * (size_t)g->w;
    const size_t pp = (size_t)pg->oh * (size_t)pg->ow, osz = (size_t)pg->c * pp;
    float *slot = conv_slot(j->ws, g, j->batch, task);
    int lo, hi;
    conv_chunk(&lo, &hi, task, j->batch, j->chunks);
    for (int bi = lo; bi < hi; bi++) {
        float *yb = j->y + (size_t)bi * osz;
        int32_t *ab = j->argmax ? j->argmax + (size_t)bi * osz : NULL;
        const float *xb = j->x + (size_t)bi * xsz;
        if (j->wide) {
            kern_conv_pool_avx512(yb, ab, slot, j->w, j->b, xb, g->f, g->c, g->h, g->w, g->k, j->relu);
            continue;
        }
        if (j->direct && j->pool2) {
            /* 4 filters at a time (the kernel's tile height, so the same tiles as one call):
             * their conv planes are pooled while still in L1 */
            for (int f0 = 0; f0 < g->f; f0 += 4) {
                const int nf = g->f - f0 < 4 ? g->f - f0 : 4;
                kern_conv_fwd_direct_avx2(slot, j->w + (size_t)f0 * (size_t)ckk, j->b + f0, xb, nf, g->c, g->h,
                                          g->w, g->k);
                for (int q = 0; q < nf; q++)
                    kern_maxpool2_avx2(yb + (size_t)(f0 + q) * pp, ab ? ab + (size_t)(f0 + q) * pp : NULL,
                                       slot + (size_t)q * (size_t)p, g->oh, g->ow, j->relu);
            }
            continue;
        }
        if (j->direct) {
            kern_conv_fwd_direct_avx2(slot, j->w, j->b, xb, g->f, g->c, g->h, g->w, g->k);
        } else {
            float *col = j->ws + (size_t)bi * (size_t)ckk * (size_t)p; /* kept for the backward pass */
            conv_im2col(col, xb, g);
            conv_product(j->isa, slot, col, j->w, j->b, g);
        }
        if (j->pool2) { /* the same bits as the two calls below */
            for (int fi = 0; fi < g->f; fi++)
                kern_maxpool2_avx2(yb + (size_t)fi * pp, ab ? ab + (size_t)fi * pp : NULL,
                                   slot + (size_t)fi * (size_t)p, g->oh, g->ow, j->relu);
            continue;
        }
        pool_max_forward(yb, ab, slot, pg, 1);
        if (j->relu)
            act_relu_forward(yb, yb, osz);
    }
}

void conv_pool_forward(const gemm_ctx *ctx, float *y, int32_t *argmax, float *ws, const float *x,
                       const float *w, const float *b, const conv_geom *g, const pool_geom *pg, bool relu,
                       int batch)
{
    assert(ctx && y && ws && x && w && b && g && pg && batch >= 1);
    assert(pg->c == g->f && pg->h == g->oh && pg->w == g->ow);
    const kern_isa isa = kern_resolve(ctx->isa);
    /* The direct kernel reads the input in place and computes the same bits as im2col + the
     * product; the backward needs no im2col then (conv_pool_fwd_direct() implies sparse dW). */
    conv_job j = {.g = g, .pg = pg, .isa = isa, .batch = batch, .chunks = batch < CONV_CHUNKS ? batch : CONV_CHUNKS,
                  .y = y, .ws = ws, .argmax = argmax, .x = x, .w = w, .b = b, .relu = relu,
                  .direct = conv_pool_fwd_direct(isa, g->k, g->stride, g->pad),
                  .pool2 = kern_has_avx2(isa) && pg->k == 2 && pg->stride == 2 && g->ow >= 16,
                  .wide = conv_pool_fwd_wide(isa, g->k, g->stride, g->pad, pg->k, pg->stride)};
    par_run(ctx->team, j.chunks, conv_pool_forward_task, &j);
}

/* filters per task of the sparse weight gradient (each task reads the whole input once): the
 * paper's 30 filters make 10 tasks, 5 for each of two threads */
enum { CONV_SPARSE_FILTERS = 3 };

/* The sparse parameter gradients of conv_pool_backward for the filters of task `task`: dW from
 * the argmax and the input (kern.h), and db(f) = sum over images in order, in double, of each
 * image's conv_sum of dout (the conv output gradient is dout at the argmax and 0 elsewhere, so
 * this is its sum). Each filter's values are the same whichever task computes it. */
static void conv_sparse_task(void *ctx, int task, int thread)
{
    (void)thread;
    const conv_job *j = ctx;
    const conv_geom *g = j->g;
    const kern_pool_geom kg = {.batch = j->batch, .c = g->c, .h = g->h, .w = g->w, .f = g->f, .k = g->k,
                               .o = j->pg->oh * j->pg->ow};
    const int f0 = task * CONV_SPARSE_FILTERS, f1 = f0 + CONV_SPARSE_FILTERS < g->f ? f0 + CONV_SPARSE_FILTERS : g->f;
    const size_t o = (size_t)kg.o, osz = (size_t)kg.f * o;
    kern_conv_dw_sparse_avx2(j->dw, j->dy, j->cargmax, j->xoff, j->x, &kg, f0, f1);
    for (int fi = f0; fi < f1; fi++) {
        double acc = 0.0;
        for (int bi = 0; bi < kg.batch; bi++)
            acc += conv_sum(j->isa, j->dy + (size_t)bi * osz + (size_t)fi * o, o);
        j->db[fi] += (float)acc;
    }
}

/* Chunk `task` of the fused backward, image by image: the dense conv output gradient rebuilt in
 * the chunk's slot from the argmax, then either (j->dense) conv_backward_image into the
 * chunk's partial sums, or (after a sparse dW) only dx_b = col2im(W^T . dy_b). */
static void conv_pool_back_task(void *ctx, int task, int thread)
{
    (void)thread;
    const conv_job *j = ctx;
    const conv_geom *g = j->g;
    const pool_geom *pg = j->pg;
    const int ckk = g->c * g->k * g->k, f = g->f, p = g->oh * g->ow;
    const size_t xsz = (size_t)g->c * (size_t)g->h * (size_t)g->w;
    const size_t osz = (size_t)pg->c * (size_t)pg->oh * (size_t)pg->ow;
    const size_t wsz = (size_t)f * (size_t)ckk;
    float *part = j->ws + (size_t)j->batch * (size_t)ckk * (size_t)p; /* (chunks, F*C*K*K + F) */
    float *pw = part + (size_t)task * (wsz + (size_t)f), *pb = pw + wsz;
    float *slot = conv_slot(j->ws, g, j->batch, task);
    const gemm_ctx one = {.threads = 1, .isa = j->isa};
    int lo, hi;
    conv_chunk(&lo, &hi, task, j->batch, j->chunks);
    for (int bi = lo; bi < hi; bi++) {
        float *col = j->ws + (size_t)bi * (size_t)ckk * (size_t)p;
        float *dxb = j->dx ? j->dx + (size_t)bi * xsz : NULL;
        pool_max_backward(slot, j->dy + (size_t)bi * osz, j->cargmax + (size_t)bi * osz, pg, 1);
        if (j->dense) {
            conv_backward_image(j->isa, pw, pb, dxb, col, slot, j->w, g, bi == lo);
        } else {
            gemm(&one, true, false, ckk, p, f, j->w, ckk, slot, p, false, col, p);
            conv_col2im(dxb, col, g);
        }
    }
}

void conv_pool_backward(const gemm_ctx *ctx, float *dx, float *dw, float *db, float *ws, const float *dy,
                        const int32_t *argmax, const float *x, const float *w, const conv_geom *g,
                        const pool_geom *pg, int batch)
{
    assert(ctx && dw && db && ws && dy && argmax && x && w && g && pg && batch >= 1);
    assert(pg->c == g->f && pg->h == g->oh && pg->w == g->ow);
    const int p = g->oh * g->ow;
    conv_job j = {.g = g, .pg = pg, .isa = kern_resolve(ctx->isa), .batch = batch,
                  .chunks = batch < CONV_CHUNKS ? batch : CONV_CHUNKS, .ws = ws, .dx = dx, .dw = dw, .db = db,
                  .x = x, .w = w, .dy = dy, .cargmax = argmax};
    if (!conv_pool_sparse_dw(j.isa, g->k, g->pad)) {
        j.dense = true;
        par_run(ctx->team, j.chunks, conv_pool_back_task, &j);
        par_run(ctx->team, CONV_REDUCE_PARTS, conv_reduce_task, &j);
        return;
    }
    /* the patch offset of each conv output a = oy*OW + ox: (a / OW)*S*W + (a % OW)*S */
    int32_t *xoff = (int32_t *)conv_slot(ws, g, batch, CONV_CHUNKS);
    for (int a = 0; a < p; a++)
        xoff[a] = (a / g->ow) * g->stride * g->w + (a % g->ow) * g->stride;
    j.xoff = xoff;
    par_run(ctx->team, (g->f + CONV_SPARSE_FILTERS - 1) / CONV_SPARSE_FILTERS, conv_sparse_task, &j);
    if (dx)
        par_run(ctx->team, j.chunks, conv_pool_back_task, &j);
}
