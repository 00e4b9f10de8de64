/* kern: CPU-specific compute kernels of the core, chosen at run time.
 *
 * The default build targets baseline x86-64 (no -march=native); the kernels here are compiled
 * for wider instruction sets through function target attributes and selected by kern_resolve()
 * from what the running CPU reports (__builtin_cpu_supports), so one binary runs everywhere and
 * uses AVX-512 or AVX2+FMA where they exist. No state is cached: what a CPU can run is a pure
 * function of the CPU and of the kern_isa the caller asks for (gemm_ctx.isa); which of those
 * sets trains is the harness's choice (it times them), and callers record it for provenance.
 *
 * Numerics: a kernel set is deterministic (fixed operation order, independent of the thread
 * count). KERN_AVX512 and KERN_AVX2 compute the same operations in the same order (the
 * AVX-512 kernels here reproduce the AVX2 ones' chains, and gemm.h's products are one fma
 * chain per element in either), so they give the same bits; KERN_GENERIC rounds differently
 * (a BLAS's order of additions, no fused multiply-add).
 *
 * The kernels are the two products of a convolution over its im2col matrix col (Q,P), with
 * Q = C*K*K taps and P = OH*OW output pixels (conv.h), written without packing for the small Q
 * of MNIST networks (Q = 25 for the paper), where a BLAS spends its time in call overhead;
 * and, for a convolution fused with the max-pool after it (conv_pool_*), a direct forward
 * that reads the input in place, a vectorised 2x2 max-pool (+ ReLU) epilogue and a sparse
 * weight gradient that visits only the argmax of each pooled window. */
#ifndef BENCH_KERN_H
#define BENCH_KERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum kern_isa {
    KERN_AUTO = 0,    /* the best set this CPU supports */
    KERN_GENERIC = 1, /* portable C and the BLAS (the core's original im2col + GEMM path) */
    KERN_AVX2 = 2,    /* AVX2 + FMA kernels */
    KERN_AVX512 = 3,  /* AVX-512F kernels where the core has them, AVX2 + FMA elsewhere */
} kern_isa;

/* The kernel set that runs when `want` is asked for: KERN_AUTO becomes the best supported set;
 * a set this CPU (or this compiler) cannot run becomes the best one below it that it can
 * (KERN_AVX512 -> KERN_AVX2 -> KERN_GENERIC). */
kern_isa kern_resolve(kern_isa want);

/* Whether a resolved set runs the AVX2 + FMA kernels (KERN_AVX2 and KERN_AVX512 do). */
static inline bool kern_has_avx2(kern_isa isa) { return isa >= KERN_AVX2; }

/* "generic", "avx2", "avx512"; "auto" for KERN_AUTO. */
const char *kern_isa_name(kern_isa isa);

/* *out <- the set called name ("auto", "generic", "avx2", "avx512"); false for another name. */
bool kern_isa_from_name(kern_isa *out, const char *name);

/* Forward product with bias, y(F,P) = b broadcast + W(F,Q) . col(Q,P):
 *   y(f,p) = fma(W(f,Q-1), col(Q-1,p), ... fma(W(f,0), col(0,p), b(f)))
 * one fused multiply-add chain per output, taps in increasing order. Requires kern_has_avx2(). */
void kern_conv_fwd_avx2(float *y /*(F,P)*/, const float *w /*(F,Q)*/, const float *b /*(F)*/,
                        const float *col /*(Q,P)*/, int f, int q, int p);

/* Direct forward of one image for stride 1 and no padding, without an im2col block:
 * y(f, oy, ox) = the fma chain of kern_conv_fwd_avx2 with col(q, p) = x(c, oy + i, ox + j),
 * q = (c*K + i)*K + j, p = oy*OW + ox, so the result is bitwise that of im2col followed by
 * kern_conv_fwd_avx2. OH = H - K + 1, OW = W - K + 1. Reads x only inside (C,H,W).
 * Requires kern_has_avx2(). */
void kern_conv_fwd_direct_avx2(float *y /*(F,OH,OW)*/, const float *w /*(F,C,K,K)*/, const float *b /*(F)*/,
                               const float *x /*(C,H,W)*/, int f, int c, int h, int wd, int k);

/* Weight-gradient product dw(F,Q) (+)= dy(F,P) . col(Q,P)^T. Each dot product over p is summed
 * in 8 lanes (lane l takes p = l mod 8 over the first 8*floor(P/8) pixels, by fused
 * multiply-add in increasing p), the lanes are added in the fixed tree
 * ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), then the remaining pixels follow in order.
 * accumulate: add to dw; else overwrite it. Requires kern_has_avx2(). */
void kern_conv_dw_avx2(float *dw /*(F,Q)*/, const float *dy /*(F,P)*/, const float *col /*(Q,P)*/,
                       int f, int q, int p, bool accumulate);

/* 2x2 stride-2 max-pool of one (H,W) plane into (H/2, W/2), optionally followed by ReLU, with
 * the rules of pool_max_forward (pool.h: argmax = iy*W + ix of the first maximum in window
 * order (0,0), (0,1), (1,0), (1,1), an element replacing the maximum only when strictly
 * greater) and act_relu_forward (y = v > 0 ? v : +0): bitwise the same outputs and argmax.
 * argmax may be NULL. Requires W >= 16 (two vectors of inputs per row) and kern_has_avx2(). */
void kern_maxpool2_avx2(float *y /*(H/2,W/2)*/, int32_t *argmax /*(H/2,W/2) or NULL*/, const float *x /*(H,W)*/,
                        int h, int w, bool relu);

/* The shapes the sparse weight gradient needs: the input (B,C,H,W), F filters of K x K (K <= 8)
 * and O pooled outputs per (image, filter) plane. */
typedef struct kern_pool_geom {
    int batch, c, h, w;
    int f, k, o;
} kern_pool_geom;

/* Weight gradient of filters f0 .. f1-1 of a convolution (pad 0) followed by max-pooling, read
 * from the argmax instead of a dense conv output gradient: a max-pool passes each pooled
 * gradient to one conv output only (its window's argmax), so for each filter f
 *   dw(f,c,i,j) += sum over b, o of dout(b,f,o) * x(b, c, oy*S + i, ox*S + j)
 * with (oy, ox) the conv output argmax(b,f,o) = oy*OW + ox picked for pooled output o. xoff
 * maps such an index to the offset of its patch in a channel plane: xoff(a) = (a / OW)*S*W +
 * (a % OW)*S (S the conv stride). That is a quarter of the multiply-adds of the dense
 * dW(F,Q) = dy(F,P) . col(Q,P)^T for a 2x2 pool, with no im2col.
 * Order: each patch row (c,i) is one 8-lane vector of taps j (lanes j >= K unused); two sums
 * per tap, A0 over the even o and A1 over the odd o of every image, each a fused multiply-add
 * chain in increasing (b, o) started at +0; then dw(f,c,i,j) = dw(f,c,i,j) + (A0 + A1). The
 * terms whose dout is +-0 (where the ReLU was off: more than half of them in training) are
 * left out of the chains: they are exact zeros, which leave such a chain unchanged, so the sums
 * are those of the full chains unless x holds an infinity or NaN. A filter's result
 * depends on nothing else, in particular not on which range [f0, f1) it was computed in, so
 * threads may split the filters any way. Reads lanes past a patch row only inside x (masked
 * on the last image). Requires kern_has_avx2(). */
void kern_conv_dw_sparse_avx2(float *dw /*(F,C,K,K) +=*/, const float *dout /*(B,F,O)*/,
                              const int32_t *argmax /*(B,F,O)*/, const int32_t *xoff /*(OH*OW)*/,
                              const float *x /*(B,C,H,W)*/, const kern_pool_geom *g, int f0, int f1);

/* Sum of a[0..n) in double in 8 partial sums (partial l takes the a[i] with i mod 8 == l, in
 * increasing i), combined as ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)): the partial
 * sums are two 4-lane double vectors. Requires kern_has_avx2(). */
double kern_sum8_avx2(const float *a, size_t n);

/* ---- batch normalization (bn.h) of one channel: `segs` segments of s floats, segment b at
 * a + b*stride (the channel's values in a (B,C,S) tensor: stride C*S, segs B) ----
 * The sums run in 8 double partial sums: partial l takes the values of index i with
 * i mod 8 == l inside each segment, in increasing (b, i); each term is added with one rounding
 * (products are rounded, then added: no fused multiply-add). bn.c has the same loops in
 * portable C, which give the same bits. Require kern_has_avx2(). */

/* acc[l] += (double)a, or with sq: acc[l] += d*d for d = (double)a - mu. acc holds the
 * partials on entry and on exit. */
void kern_bn_sum8_avx2(double acc[8], const float *a, size_t stride, int segs, int s, bool sq, double mu);

/* sdy[l] += (double)dy, sdyx[l] += (double)dy * (double)xh (dy and xh share the layout). */
void kern_bn_dot8_avx2(double sdy[8], double sdyx[8], const float *dy, const float *xh, size_t stride, int segs,
                       int s);

/* xhat = (float)(((double)x - mu) * istd), y = g*xhat + bt (float product, then float sum). */
void kern_bn_norm_avx2(float *y, float *xhat, const float *x, size_t stride, int segs, int s, double mu,
                       double istd, float g, float bt);

/* dx = (float)(k * (((double)dy - mdy) - (double)xh * mdyx)). */
void kern_bn_dx_avx2(float *dx, const float *dy, const float *xh, size_t stride, int segs, int s, double k,
                     double mdy, double mdyx);

/* ---- the machine's physical peak ----
 * kern_fma_peak() runs `iters` rounds of independent vector multiply-adds in registers, for
 * the caller to time: fused multiply-adds on 16 lanes (KERN_AVX512) or 8 lanes (KERN_AVX2),
 * multiply then add on 4 SSE lanes (KERN_GENERIC on x86-64; plain C elsewhere), with enough
 * independent chains to cover the FMA latency on every pipe. No memory is touched, so the
 * time is the core's arithmetic throughput: the ceiling any kernel of that set can reach.
 * Returns a value that depends on every result (so that no work can be dropped). isa must be
 * resolved (kern_resolve). kern_peak_flops() gives the floating-point operations of one call
 * (a fused multiply-add counts 2). */
float kern_fma_peak(kern_isa isa, long iters);
double kern_peak_flops(kern_isa isa, long iters);

/* filters a kern_conv_pool_avx512 tile computes together (its tmp holds that many planes) */
enum { KERN_WIDE_FILTERS = 6 };

/* Convolution (stride 1, no padding) of one image fused with a 2x2 stride-2 max-pool and
 * optionally ReLU: out(f, py, px) and argmax are those of kern_conv_fwd_direct_avx2 followed
 * by kern_maxpool2_avx2, bitwise (the same fma chain per conv output, the same pooling rules),
 * for any W (no W >= 16 requirement). KERN_WIDE_FILTERS filters at a time: for OW = 16, 24
 * or 32 (the paper's 24) a tile holds two conv rows (2*OW outputs, whole vectors) and pools
 * them in registers, tmp unused; otherwise the conv output goes to tmp, KERN_WIDE_FILTERS * OH
 * * W floats, as "wide" rows of the input's width W (each tap one contiguous load; the W - OW
 * junk columns of a row are never pooled), pooled from there while in L1. argmax may be NULL.
 * Requires KERN_AVX512. */
void kern_conv_pool_avx512(float *out /*(F,OH/2,OW/2)*/, int32_t *argmax /*(F,OH/2,OW/2) or NULL*/,
                           float *tmp /*(KERN_WIDE_FILTERS,OH,W)*/, const float *w /*(F,C,K,K)*/,
                           const float *b /*(F)*/, const float *x /*(C,H,W)*/, int f, int c, int h, int wd, int k,
                           bool relu);

#endif
