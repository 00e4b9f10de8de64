/* augment: random distortions of training images, drawn per image and applied per batch.
 *
 * The module owns three transforms of a (C,H,W) float image and the randomness behind them:
 *   shift    the integer translation of dataset_translate: (dx, dy) uniform in [-s, s]^2;
 *   affine   rotation, per-axis scaling and horizontal shear about the image centre;
 *   elastic  the elastic distortion of Simard, Steinkraus & Platt (2003, "Best practices for
 *            convolutional neural networks applied to visual document analysis", section 2).
 * Inference never augments: only the trainer calls augment_batch, on training batches.
 *
 * Coordinates. Pixel (row i, column j) sits at the point p = (x, y) = (j, i): x to the right,
 * y downwards, the image centre at c = ((w - 1) / 2, (h - 1) / 2).
 *
 * The affine map (forward: where a source point q lands) is
 *     p = c + A (q - c) + t,    A = R(theta) . Sh(k) . S(sx, sy)
 *     R(theta) = [cos -sin; sin cos]   (with y downwards, theta > 0 turns the image clockwise
 *                                       as displayed)
 *     Sh(k)    = [1 k; 0 1]            (horizontal shear: x += k y)
 *     S        = diag(sx, sy)          (sx > 1 widens, sy > 1 heightens)
 *     t        = (dx, dy), the integer shift when it is on, else 0.
 * Output pixels are pulled from the source through the inverse, q = B p + o with
 *     B = A^-1 = [(cos + k sin)/sx, (sin - k cos)/sx; -sin/sy, cos/sy],   o = c - B (c + t),
 * computed in double and rounded to float once (augment_map_make).
 *
 * The elastic distortion adds a displacement field d(p) = (fx, fy)(i, j) on the output grid
 * before the affine inverse:   q = B (p + d(p)) + o
 * i.e. the image is first mapped by A, then distorted elastically, with one interpolation.
 * Following Simard et al., each component of d is a field of independent uniforms in [-1, 1)
 * convolved with a Gaussian of standard deviation sigma and multiplied by alpha (pixels):
 *     d = alpha * (G_sigma * U),   U(i, j) ~ U[-1, 1)
 * The Gaussian is separable: g(k) = exp(-k^2 / (2 sigma^2)) for |k| <= r = floor(4 sigma + 0.5)
 * (scipy.ndimage's truncation), normalised to sum 1 over [-r, r]; it is applied down the
 * columns, then along the rows (alpha folded into the row kernel), with zero padding (no field
 * outside the image), so that near the border fewer uniforms contribute, as with scipy's mode
 * "constant" (augment_smooth).
 *
 * Sampling (augment_warp) is bilinear with zero fill: with j0 = floor(qx), ax = qx - j0,
 * i0 = floor(qy), ay = qy - i0 and v(i, j) = 0 outside the image,
 *     top = v(i0, j0)     + ax (v(i0, j0+1)     - v(i0, j0))
 *     bot = v(i0+1, j0)   + ax (v(i0+1, j0+1)   - v(i0+1, j0))
 *     out = top + ay (bot - top)
 * In float, q is evaluated as (xx x + xy y) + (x0 + 1) (and likewise for y), the coordinate in
 * a copy of the image with a zero border (one pixel above and left, two below and right) whose
 * floor is a truncation. An integer q gives v(q) exactly (ax = ay = 0), so an identity map
 * returns the input bit for bit, and so does an integer translation (the same values as
 * dataset_translate). Each lerp a + t (b - a) with a, b in [0, 1] and t in [0, 1] stays in
 * [0, 1] in float arithmetic (rounding is monotone, and a + fl(1 - a) rounds to 1), so images
 * in [0, 1] stay there.
 *
 * Draw order, per batch, image by image (b = 0 .. B-1), each stream on its own (rng.h):
 *   RNG_STREAM_AUGMENT (shift s > 0):  dx = rng_below(2s+1) - s, then dy likewise;
 *   RNG_STREAM_AFFINE  (any of rotate_deg, scale, shear > 0): four rng_uniform u1..u4, always
 *       all four:  theta = rotate_deg (2 u1 - 1),  sx = 1 + scale (2 u2 - 1),
 *                  sy = 1 + scale (2 u3 - 1),      k = shear (2 u4 - 1)   (all in double);
 *   RNG_STREAM_ELASTIC (elastic_alpha > 0): one rng_next, the seed of the image's field. The
 *       field's uniforms come from a generator rng_init(seed of the field, RNG_STREAM_ELASTIC):
 *       H*W outputs, output m (pixel m in row-major order) gives fx's uniform from its top 24
 *       bits and fy's from bits 8..31:  U = n * 2^-23 - 1 for the 24-bit integer n (exact).
 * So a transform's draws never depend on whether another one is on, or on its magnitudes: a
 * sweep over rotate_deg sees the same shifts, scales and fields in every run. The parameters
 * and field seeds of a batch are drawn serially before any image is transformed (a field's
 * uniforms then come from its own seed); the transforms run on a thread team (par.h), one
 * task per image, each image alone, so a batch is bitwise the same for every thread count,
 * and the same whether its images come in one batch or several.
 *
 * Choices. Scaling is per axis, independent sx and sy (as Ciresan et al. 2010 distort MNIST):
 * MNIST's digits were size-normalised into a 20x20 box keeping their aspect ratio, so their
 * height is nearly constant while writers differ in width and slant; independent scales and
 * the shear imitate that, while an isotropic scale would mostly make digits of sizes the data
 * does not hold. Every training image is distorted, as Simard et al. and Ciresan et al. do,
 * with no probability of leaving one alone: such a coin would need a stream of its own to
 * leave the draws above in place. */
#ifndef BENCH_AUGMENT_H
#define BENCH_AUGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "par.h"
#include "rng.h"

/* The distortions (the shift is the trainer's augment_shift). Every field 0 means off. */
typedef struct augment_config {
    float rotate_deg;    /* theta_max in [0, 180]: angle uniform in [-theta_max, theta_max] */
    float scale;         /* s in [0, 1): sx and sy independently uniform in [1 - s, 1 + s] */
    float shear;         /* k_max in [0, 1]: shear factor uniform in [-k_max, k_max] */
    float elastic_alpha; /* alpha in [0, 1000] pixels: scale of the displacement field */
    float elastic_sigma; /* sigma in (0, 100] pixels: its smoothness; used when alpha > 0 */
} augment_config;

/* Off: every distortion 0, and elastic_sigma = 4, Simard's choice for MNIST (it has no effect
 * while elastic_alpha is 0). */
augment_config augment_config_default(void);

/* True when any distortion (affine or elastic) is on. */
bool augment_config_distorts(const augment_config *c);

/* 0, or ERR_INVALID naming the first field outside its range (all must be finite). */
int augment_config_check(const augment_config *c, err_info *e);

/* One image's drawn parameters. */
typedef struct augment_params {
    int dx, dy;            /* integer shift; 0 when the shift is off */
    double theta_deg;      /* rotation; 0 when the affine map is off */
    double sx, sy;         /* scales; 1 when off */
    double shear;          /* shear factor; 0 when off */
    uint64_t field_seed;   /* seed of the elastic field; 0 when elastic is off */
} augment_params;

/* The inverse map q = B p + o of the header, as float:
 *   qx = (xx * x + xy * y) + x0,   qy = (yx * x + yy * y) + y0
 * (augment_warp adds x0 + 1 and y0 + 1 instead, in the coordinates of its padded copy). */
typedef struct augment_map {
    float xx, xy, yx, yy;
    float x0, y0;
} augment_map;

/* The inverse of the affine map with rotation theta_deg (degrees), scales sx, sy (> 0), shear
 * k and translation (tx, ty) about the centre of an h x w image (formulas above). */
augment_map augment_map_make(double theta_deg, double sx, double sy, double k, double tx,
                             double ty, int h, int w);

/* out = the bilinear, zero-filled sample of in at q = map(p + d(p)) for every output pixel p
 * and channel; d = (fx, fy), or no displacement when both are NULL. scratch holds
 * augment_warp_scratch(h, w) floats. out must not alias in. */
void augment_warp(float *out /*(C,H,W)*/, const float *in /*(C,H,W)*/, const augment_map *m,
                  const float *fx /*(H,W) or NULL*/, const float *fy /*(H,W) or NULL*/, int c,
                  int h, int w, float *scratch);

/* (h + 3) * (w + 3) + 2 w: the zero-bordered copy of one channel that augment_warp reads, and
 * one row's coordinates. */
size_t augment_warp_scratch(int h, int w);

/* Radius of the truncated Gaussian for sigma, r = floor(4 sigma + 0.5), at most
 * max(h, w) - 1 (beyond that no tap reaches into an h x w field), at least 0. */
int augment_gauss_radius(float sigma, int h, int w);

/* g[k] for k = 0..r: the Gaussian of standard deviation sigma times `scale`, normalised so that
 * the weights over [-floor(4 sigma + 0.5), floor(4 sigma + 0.5)] sum to `scale` (the untruncated
 * radius: r may be smaller for a small image, but that only drops taps that reach nothing). */
void augment_gauss_kernel(float *g /*(r+1)*/, float sigma, float scale, int r);

/* out = the separable zero-padded convolution of in, columns first: with in, tmp = 0 outside
 * the image and the sums added left to right,
 *   tmp(i, j) = gv[0] in(i, j) + sum_{d=1}^{r} gv[d] (in(i-d, j) + in(i+d, j))
 *   out(i, j) = gh[0] tmp(i, j) + sum_{d=1}^{r} gh[d] (tmp(i, j-d) + tmp(i, j+d))
 * (gh usually carries alpha), a product then an addition per term: no fused multiply-add, so
 * the same bits on every CPU whichever vector width runs it. Pairs that lie wholly outside the
 * image for a whole block of outputs are skipped, which can change only the sign of a zero
 * result. scratch holds augment_smooth_scratch(h, w, r) floats. out must not alias in. */
void augment_smooth(float *out /*(H,W)*/, const float *in /*(H,W)*/, const float *gv /*(r+1)*/,
                    const float *gh /*(r+1)*/, int r, int h, int w, float *scratch);

/* (h + 2r) w + h (w + 2r): the input and the column pass, each with r zeros beyond its ends. */
size_t augment_smooth_scratch(int h, int w, int r);

/* The augmenter of one run: its streams, its Gaussian kernel and its scratch. */
typedef struct augment augment;

/* An augmenter for (c,h,w) images in batches of up to max_batch, with the given distortions and
 * integer shift (0..min(h,w)-1; 0 off), transforming on the threads of `team` (par.h; NULL:
 * the calling thread alone; the caller keeps it alive), drawing from the streams of `seed`.
 * Validates cfg (augment_config_check) and the shift. Allocates all its scratch here (one set
 * per thread of the team): augment_batch never allocates. */
int augment_new(augment **out, const augment_config *cfg, int shift, int c, int h, int w,
                int max_batch, par_team *team, uint64_t seed, err_info *e);
void augment_free(augment *a);

/* True when the augmenter changes images at all (a shift or a distortion is on). */
bool augment_active(const augment *a);

/* The elastic displacement field of an image whose parameters carry field_seed: the uniforms
 * of the draw order above, smoothed by augment_smooth with the kernel of elastic_sigma and the
 * row kernel times elastic_alpha. Only when elastic_alpha > 0 (asserted). Uses the augmenter's
 * scratch: not while augment_apply runs. */
void augment_field(augment *a, float *fx /*(H,W)*/, float *fy /*(H,W)*/, uint64_t field_seed);

/* Draw the parameters of the next `batch` images (draw order above). */
void augment_draw(augment *a, augment_params *p /*(B)*/, int batch);

/* Transform the batch x in place with the parameters p (from augment_draw). */
void augment_apply(augment *a, float *x /*(B,C,H,W)*/, const augment_params *p /*(B)*/,
                   int batch);

/* augment_draw then augment_apply on the next `batch` training images, in place. */
void augment_batch(augment *a, float *x /*(B,C,H,W)*/, int batch);

#endif
