/* kern: CPU-specific compute kernels of the core, chosen at run time.
 *
 * The default build targets baseline x86-64 (no -march=native); the kernels here are compiled
 * for wider instruction sets through function target attributes and selected by kern_resolve()
 * from what the running CPU reports (__builtin_cpu_supports), so one binary runs everywhere and
 * uses AVX2+FMA where it exists. No state is cached: the choice is a pure function of the CPU
 * and of the kern_isa the caller asks for (gemm_ctx.isa), and callers record it for provenance.
 *
 * Numerics: a kernel set is deterministic (fixed operation order, independent of the thread
 * count), but two kernel sets differ in rounding (fused multiply-add, lane-wise partial sums),
 * so a result is bitwise repeatable for a given kern_isa, not across them.
 *
 * The kernels are the two products of a convolution over its im2col matrix col (Q,P), with
 * Q = C*K*K taps and P = OH*OW output pixels (conv.h), written without packing for the small Q
 * of MNIST networks (Q = 25 for the paper), where a BLAS spends its time in call overhead. */
#ifndef BENCH_KERN_H
#define BENCH_KERN_H

#include <stdbool.h>

typedef enum kern_isa {
    KERN_AUTO = 0,    /* the best set this CPU supports */
    KERN_GENERIC = 1, /* portable C and the BLAS (the core's original im2col + GEMM path) */
    KERN_AVX2 = 2,    /* AVX2 + FMA direct kernels */
} kern_isa;

/* The kernel set that runs when `want` is asked for: KERN_AUTO becomes the best supported set;
 * a set this CPU (or this compiler) cannot run becomes KERN_GENERIC. */
kern_isa kern_resolve(kern_isa want);

/* "generic", "avx2"; "auto" for KERN_AUTO. */
const char *kern_isa_name(kern_isa isa);

/* Forward product with bias, y(F,P) = b broadcast + W(F,Q) . col(Q,P):
 *   y(f,p) = fma(W(f,Q-1), col(Q-1,p), ... fma(W(f,0), col(0,p), b(f)))
 * one fused multiply-add chain per output, taps in increasing order. Requires KERN_AVX2. */
void kern_conv_fwd_avx2(float *y /*(F,P)*/, const float *w /*(F,Q)*/, const float *b /*(F)*/,
                        const float *col /*(Q,P)*/, int f, int q, int p);

/* Weight-gradient product dw(F,Q) (+)= dy(F,P) . col(Q,P)^T. Each dot product over p is summed
 * in 8 lanes (lane l takes p = l mod 8 over the first 8*floor(P/8) pixels, by fused
 * multiply-add in increasing p), the lanes are added in the fixed tree
 * ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), then the remaining pixels follow in order.
 * accumulate: add to dw; else overwrite it. Requires KERN_AVX2. */
void kern_conv_dw_avx2(float *dw /*(F,Q)*/, const float *dy /*(F,P)*/, const float *col /*(Q,P)*/,
                       int f, int q, int p, bool accumulate);

#endif
