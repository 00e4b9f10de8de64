/* init: weight initialisation schemes of the textbook "Deep Learning from Scratch" (Saitoh).
 *
 * The module owns the mapping from scheme names to standard deviations and fills weight arrays
 * with zero-mean normal draws from a caller-supplied rng (use RNG_STREAM_INIT). Biases are not
 * this module's business: callers set them to 0 (and BN's gamma to 1, beta to 0).
 *
 *   scheme   name      std of N(0, std^2)     fan_in = inputs feeding one output unit
 *   normal   "normal"  the caller's std       (the paper: weight_init_std = 0.01)
 *   He       "he"      sqrt(2 / fan_in)       (He et al. 2015, for ReLU)
 *   Xavier   "xavier"  sqrt(1 / fan_in)       the textbook's Xavier: 1/sqrt(n) with n the
 *                                             number of nodes of the previous layer. Glorot &
 *                                             Bengio's original sqrt(2 / (fan_in + fan_out)) is
 *                                             NOT used; the textbook's variant is, to match it.
 * For a convolution with C input channels and an FHxFW kernel, fan_in = C * FH * FW; for an
 * affine layer with D inputs, fan_in = D. */
#ifndef BENCH_INIT_H
#define BENCH_INIT_H

#include <stddef.h>

#include "err.h"
#include "rng.h"

typedef enum init_kind {
    INIT_NORMAL, /* N(0, std^2) with the given std */
    INIT_HE,     /* N(0, 2/fan_in) */
    INIT_XAVIER, /* N(0, 1/fan_in) */
} init_kind;

#define INIT_KIND_COUNT 3

/* *out = the scheme called name ("normal", "he", "xavier"; exact, lowercase). An unknown name
 * is ERR_INVALID with a message listing the valid names; *out is then untouched. */
int init_kind_from_name(init_kind *out, const char *name, err_info *e);

/* The name of k as accepted by init_kind_from_name, or "?" for an out-of-range value. */
const char *init_kind_name(init_kind k);

/* The standard deviation scheme `kind` uses: std itself for INIT_NORMAL, else computed from
 * fan_in (which must then be >= 1, asserted). */
double init_std(init_kind kind, float std, int fan_in);

/* w (n) = init_std(kind, std, fan_in) * z_i with z_i = rng_normal(r), i = 0..n-1 in order,
 * rounded to float. Consumes exactly n normal draws (2n rng outputs). std is only read for
 * INIT_NORMAL; fan_in only for INIT_HE and INIT_XAVIER. */
void init_fill(float *w, size_t n, init_kind kind, float std, int fan_in, rng *r);

#endif
