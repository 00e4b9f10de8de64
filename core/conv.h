/* conv: 2-D convolution layer (cross-correlation, as the textbook's im2col Convolution).
 *
 * Owns the geometry of one convolution and its forward and backward kernels. Layout is NCHW,
 * batch-major, flat float arrays. Per image b, with P = OH*OW output pixels:
 *   col_b(C*K*K, P)   = im2col(x_b)                       (zero padding outside the image)
 *   y_b(F, P)         = W(F, C*K*K) . col_b + bias         (one GEMM, written straight into y)
 * and backward
 *   dW(F, C*K*K)     += sum_b dy_b(F, P) . col_b^T
 *   db(F)            += sum over b and p of dy
 *   dcol_b(C*K*K, P)  = W^T . dy_b,   dx_b = col2im(dcol_b)   (only when dx != NULL)
 * where q = (c*K + i)*K + j and an output pixel p = oy*OW + ox reads
 * x(b, c, oy*stride + i - pad, ox*stride + j - pad).
 *
 * Threads: the images of a batch are split into fixed chunks that the threads of ctx->team
 * take (par.h), each running single-threaded GEMMs; the parameter gradients are summed over
 * the fixed chunks and then across chunks in order, so every output is bitwise the same for
 * any thread count.
 *
 * Workspace (caller-allocated, conv_ws_floats() floats): conv_forward leaves the im2col blocks
 * of its input in ws and conv_backward reads them, so the caller keeps ws untouched between a
 * forward and its matching backward, with the same batch (one ws per conv layer in a network).
 * conv_backward uses the rest of ws as scratch and destroys the cached blocks when dx != NULL.
 * Nothing is allocated here.
 *
 * Kernels: ctx->isa selects the direct AVX2 products (kern.h, fused bias, no packing; also
 * under KERN_AVX512) or the BLAS im2col GEMMs (KERN_GENERIC); the input gradient always goes
 * through gemm(). From Q = C*K*K >= 64 taps on, the forward product under KERN_AVX512 goes to
 * gemm()'s AVX-512 micro-kernel (the same fma chains, the same bits as the direct product), and
 * the weight gradient under either own set to gemm() (one fma chain per element over the
 * pixels of a chunk's images in order) instead of kern_conv_dw_avx2's 8-lane sums: the choice
 * depends on the shape only, so KERN_AVX2 and KERN_AVX512 still agree bitwise. The fused conv+maxpool layers add AVX2 paths (no im2col, sparse dW) and an
 * AVX-512 conv+pool kernel (see below); conv_kernel_name() says which runs. */
#ifndef BENCH_CONV_H
#define BENCH_CONV_H

#include <stddef.h>

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "gemm.h"
#include "pool.h"

typedef struct conv_geom {
    int c, h, w;           /* input channels, height, width */
    int f, k, stride, pad; /* filters, square kernel size, stride, zero padding on each side */
    int oh, ow;            /* output height and width: (h + 2*pad - k) / stride + 1 */
} conv_geom;

/* Fill g for an input (c,h,w) and f filters of k x k with the given stride and padding, and
 * compute oh, ow. Returns 0, or ERR_INVALID with a message in e when a size is not positive,
 * pad is negative, pad >= k, or the kernel does not fit the padded input (k > h + 2*pad). */
int conv_geom_init(conv_geom *g, int c, int h, int w, int f, int k, int stride, int pad, err_info *e);

/* Floats of workspace conv_forward + conv_backward need for a batch of up to `batch` images:
 * B*C*K*K*OH*OW for the im2col blocks plus 16*(F*C*K*K + F) for partial parameter gradients. */
size_t conv_ws_floats(const conv_geom *g, int batch);

/* y = conv(x, w) + b. Leaves im2col(x) in ws for conv_backward. */
void conv_forward(const gemm_ctx *ctx, float *y /*(B,F,OH,OW)*/, float *ws, const float *x /*(B,C,H,W)*/,
                  const float *w /*(F,C,K,K)*/, const float *b /*(F)*/, const conv_geom *g, int batch);

/* Gradients of conv_forward: dw and db accumulate (+=); dx is overwritten, or skipped when
 * NULL (first layer). ws must still hold what the matching conv_forward left there; x is that
 * forward's input (not read: ws holds its im2col; kept for the contract). */
void conv_backward(const gemm_ctx *ctx, float *dx /*(B,C,H,W) or NULL*/, float *dw /*(F,C,K,K) +=*/,
                   float *db /*(F) +=*/, float *ws, const float *dy /*(B,F,OH,OW)*/, const float *x,
                   const float *w, const conv_geom *g, int batch);

/* ---- a convolution fused with the max-pool (optionally preceded by ReLU) that follows it ----
 * out = maxpool(relu(conv(x))) (relu when `relu`), computed as relu(maxpool(conv(x))), which is
 * the same value and gradient routing (proof in conv.c); the (B,F,OH,OW) convolution output
 * is never stored. pg describes the pool over the conv output (pg->c, h, w == F, OH, OW).
 * Results agree bitwise with the unfused layers (but for the sparse dW of conv_pool_backward).
 * ws holds conv_pool_ws_floats() floats. With the AVX2 kernels, stride 1 and no padding the
 * forward convolves straight from x (kern_conv_fwd_direct_avx2, the same bits) and leaves no
 * im2col blocks, which the sparse backward does not need. */
size_t conv_pool_ws_floats(const conv_geom *g, int batch);

void conv_pool_forward(const gemm_ctx *ctx, float *out /*(B,F,PH,PW)*/, int32_t *argmax /*(B,F,PH,PW) or NULL*/,
                       float *ws, const float *x /*(B,C,H,W)*/, const float *w /*(F,C,K,K)*/,
                       const float *b /*(F)*/, const conv_geom *g, const pool_geom *pg, bool relu, int batch);

/* Backward of conv_pool_forward given dout, the gradient of `out` already multiplied by the
 * ReLU mask [out > 0] when the forward applied ReLU (act_relu_backward). dw, db accumulate; dx
 * is overwritten or skipped when NULL. ws and argmax as the matching forward left them; x is
 * the forward's input.
 * When conv_pool_sparse_dw() holds, dW is computed from the argmax and x (kern.h,
 * kern_conv_dw_sparse_avx2: only the conv outputs the pool routed a gradient to), each filter
 * by one thread, and db per filter in double over the images in order: a different summation
 * order from the dense path, so dw and db then agree with the unfused layers to rounding, not
 * bitwise (dx, computed densely, still agrees bitwise). */
void conv_pool_backward(const gemm_ctx *ctx, float *dx /*(B,C,H,W) or NULL*/, float *dw /*(F,C,K,K) +=*/,
                        float *db /*(F) +=*/, float *ws, const float *dout /*(B,F,PH,PW)*/,
                        const int32_t *argmax /*(B,F,PH,PW)*/, const float *x /*(B,C,H,W)*/,
                        const float *w /*(F,C,K,K)*/, const conv_geom *g, const pool_geom *pg, int batch);

/* Whether conv_pool_backward takes the sparse weight gradient for kernel set `isa` (as
 * resolved), kernel size k and padding pad: AVX2 (or AVX-512), no padding, k <= 8. */
bool conv_pool_sparse_dw(kern_isa isa, int k, int pad);

/* The forward kernel of a convolution (c input channels, kernel k, stride, pad) under kernel
 * set `isa` (as resolved), for provenance; fused: it is fused with the max-pool (window pk,
 * stride ps) after it (conv_pool_forward). "direct-avx512" (kern_conv_pool_avx512: AVX-512,
 * stride 1, no padding, k <= 8, a 2x2 stride-2 pool), "direct-avx2" (kern_conv_fwd_direct_avx2
 * then the pool: the same without AVX-512 or with another pool), "im2col-avx512" (im2col and
 * gemm()'s AVX-512 micro-kernel, from C*K*K = 64 taps on), "im2col-avx2" (im2col and
 * kern_conv_fwd_avx2) or "im2col-blas" (KERN_GENERIC). The two im2col products give the same
 * bits. */
const char *conv_kernel_name(kern_isa isa, int c, int k, int stride, int pad, bool fused, int pk, int ps);

#endif
