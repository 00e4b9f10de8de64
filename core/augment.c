/* augment: random distortions of training images (see augment.h for the maps, the sampling,
 * the field and the draw order). */
#include "augment.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"

/* The bodies of the kernels are inlined into a generic and an AVX2 function each. */
#if defined(__GNUC__)
#define AUGMENT_INLINE inline __attribute__((always_inline))
#else
#define AUGMENT_INLINE inline
#endif

augment_config augment_config_default(void)
{
    return (augment_config){
        .rotate_deg = 0.0f,
        .scale = 0.0f,
        .shear = 0.0f,
        .elastic_alpha = 0.0f,
        .elastic_sigma = 4.0f,
    };
}

static bool affine_on(const augment_config *c)
{
    return c->rotate_deg > 0.0f || c->scale > 0.0f || c->shear > 0.0f;
}

bool augment_config_distorts(const augment_config *c)
{
    return affine_on(c) || c->elastic_alpha > 0.0f;
}

/* ERR_INVALID unless lo <= v <= hi (v < hi when hi_open), v finite. */
static int check_range(float v, float lo, float hi, bool hi_open, const char *name, err_info *e)
{
    if (isfinite(v) && v >= lo && (hi_open ? v < hi : v <= hi))
        return 0;
    return err_set(e, ERR_INVALID, "augmentation %s %g must be in [%g, %g%c", name, (double)v,
                   (double)lo, (double)hi, hi_open ? ')' : ']');
}

int augment_config_check(const augment_config *c, err_info *e)
{
    int rc;
    if ((rc = check_range(c->rotate_deg, 0.0f, 180.0f, false, "rotate_deg", e)) ||
        (rc = check_range(c->scale, 0.0f, 1.0f, true, "scale", e)) ||
        (rc = check_range(c->shear, 0.0f, 1.0f, false, "shear", e)) ||
        (rc = check_range(c->elastic_alpha, 0.0f, 1000.0f, false, "elastic_alpha", e)) ||
        (rc = check_range(c->elastic_sigma, 0.0f, 100.0f, false, "elastic_sigma", e)))
        return rc;
    if (c->elastic_alpha > 0.0f && !(c->elastic_sigma > 0.0f))
        return err_set(e, ERR_INVALID, "augmentation elastic_sigma must be > 0 when elastic_alpha "
                       "is on (%g)", (double)c->elastic_alpha);
    return 0;
}

augment_map augment_map_make(double theta_deg, double sx, double sy, double k, double tx,
                             double ty, int h, int w)
{
    assert(sx > 0.0 && sy > 0.0);
    const double pi = 3.14159265358979323846;
    const double a = theta_deg * (pi / 180.0), cs = cos(a), sn = sin(a);
    /* B = A^-1 = S^-1 . Sh(k)^-1 . R^-1 = diag(1/sx, 1/sy) . [1 -k; 0 1] . [cos sin; -sin cos] */
    const double bxx = (cs + k * sn) / sx, bxy = (sn - k * cs) / sx;
    const double byx = -sn / sy, byy = cs / sy;
    /* q = c + B (p - c - t) = B p + o, o = c - B (c + t) */
    const double cx = 0.5 * (w - 1), cy = 0.5 * (h - 1);
    const double ux = cx + tx, uy = cy + ty;
    return (augment_map){
        .xx = (float)bxx, .xy = (float)bxy, .yx = (float)byx, .yy = (float)byy,
        .x0 = (float)(cx - (bxx * ux + bxy * uy)),
        .y0 = (float)(cy - (byx * ux + byy * uy)),
    };
}

size_t augment_warp_scratch(int h, int w)
{
    return (size_t)(h + 3) * (size_t)(w + 3) + 2 * (size_t)w;
}

/* The body of augment_warp, inlined into a generic and an AVX2 function (the same operations in
 * the same order: the same bits). The scratch holds pad (H+3,W+3), each channel with a zero
 * border (row and column 0 and the last two of each are zero, pixel (i, j) sits at
 * (i + 1, j + 1)), then a row's clamped coordinates qx (W) and qy (W). Each row takes two
 * loops: the coordinates (branch-free arithmetic, which vectorizes), then the four reads and
 * three lerps. */
static AUGMENT_INLINE void
warp_body(float *out, const float *in, const augment_map *m, const float *fx, const float *fy,
          int c, int h, int w, float *scratch)
{
    const int pw = w + 3;
    const size_t plane = (size_t)h * (size_t)w;
    const float xx = m->xx, xy = m->xy, yx = m->yx, yy = m->yy;
    const float x0 = m->x0 + 1.0f, y0 = m->y0 + 1.0f; /* padded coordinates */
    const float xmax = (float)w + 1.0f, ymax = (float)h + 1.0f;
    float *pad = scratch, *qxs = pad + (size_t)(h + 3) * (size_t)pw, *qys = qxs + w;
    memset(pad, 0, (size_t)pw * sizeof *pad);
    for (int i = 1; i <= h; i++) {
        float *row = pad + (size_t)i * (size_t)pw;
        row[0] = 0.0f;
        row[w + 1] = 0.0f;
        row[w + 2] = 0.0f;
    }
    memset(pad + (size_t)(h + 1) * (size_t)pw, 0, 2 * (size_t)pw * sizeof *pad);
    for (int ch = 0; ch < c; ch++) {
        const float *src = in + (size_t)ch * plane;
        float *dst = out + (size_t)ch * plane;
        for (int i = 0; i < h; i++)
            memcpy(pad + (size_t)(i + 1) * (size_t)pw + 1, src + (size_t)i * (size_t)w,
                   (size_t)w * sizeof *pad);
        for (int i = 0; i < h; i++) {
            const float *dx = fx ? fx + (size_t)i * (size_t)w : NULL;
            const float *dy = fy ? fy + (size_t)i * (size_t)w : NULL;
            for (int j = 0; j < w; j++) {
                const float x = dx ? (float)j + dx[j] : (float)j;
                const float y = dy ? (float)i + dy[j] : (float)i;
                float qx = (xx * x + xy * y) + x0, qy = (yx * x + yy * y) + y0;
                /* clamped to [0, w+1] x [0, h+1] (NaN goes to 0): a point further out has only
                 * zero neighbours, and so has its clamp, whose fraction is 0. Comparisons, not
                 * fminf/fmaxf, which are calls under strict IEEE semantics */
                qx = qx > 0.0f ? qx : 0.0f;
                qy = qy > 0.0f ? qy : 0.0f;
                qxs[j] = qx < xmax ? qx : xmax;
                qys[j] = qy < ymax ? qy : ymax;
            }
            float *o = dst + (size_t)i * (size_t)w;
            for (int j = 0; j < w; j++) {
                const int jx = (int)qxs[j], iy = (int)qys[j]; /* floor: q >= 0 */
                const float ax = qxs[j] - (float)jx, ay = qys[j] - (float)iy; /* exact */
                const float *v = pad + (size_t)iy * (size_t)pw + (size_t)jx;
                const float top = v[0] + ax * (v[1] - v[0]);
                const float bot = v[pw] + ax * (v[pw + 1] - v[pw]);
                o[j] = top + ay * (bot - top);
            }
        }
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#define AUGMENT_X86 1
/* The same body compiled for AVX2 without FMA (fused multiply-adds would round differently;
 * and ISO C mode, -std=c11, keeps GCC from contracting a * b + c on its own). */
__attribute__((target("avx2"))) static void
warp_avx2(float *out, const float *in, const augment_map *m, const float *fx, const float *fy,
          int c, int h, int w, float *scratch)
{
    warp_body(out, in, m, fx, fy, c, h, w, scratch);
}
#endif

static bool have_avx2(void)
{
#ifdef AUGMENT_X86
    return __builtin_cpu_supports("avx2");
#else
    return false;
#endif
}

void augment_warp(float *out, const float *in, const augment_map *m, const float *fx,
                  const float *fy, int c, int h, int w, float *scratch)
{
    assert(out && in && m && scratch && c >= 1 && h >= 1 && w >= 1 && out != in);
    assert((fx == NULL) == (fy == NULL));
#ifdef AUGMENT_X86
    if (have_avx2()) {
        warp_avx2(out, in, m, fx, fy, c, h, w, scratch);
        return;
    }
#endif
    warp_body(out, in, m, fx, fy, c, h, w, scratch);
}

/* floor(4 sigma + 0.5), scipy.ndimage's radius for its default truncation at 4 sigma. */
static int gauss_full_radius(float sigma)
{
    return (int)floor(4.0 * (double)sigma + 0.5);
}

int augment_gauss_radius(float sigma, int h, int w)
{
    assert(sigma >= 0.0f && sigma <= 100.0f && h >= 1 && w >= 1);
    const int r = gauss_full_radius(sigma), reach = (h > w ? h : w) - 1;
    return r < reach ? r : reach;
}

void augment_gauss_kernel(float *g, float sigma, float scale, int r)
{
    assert(g && sigma > 0.0f && r >= 0 && r <= gauss_full_radius(sigma));
    const double s2 = 2.0 * (double)sigma * (double)sigma;
    const int full = gauss_full_radius(sigma);
    double sum = 1.0; /* k = 0 */
    for (int k = 1; k <= full; k++)
        sum += 2.0 * exp(-(double)k * k / s2);
    for (int k = 0; k <= r; k++)
        g[k] = (float)((double)scale * exp(-(double)k * k / s2) / sum);
}

size_t augment_smooth_scratch(int h, int w, int r)
{
    return (size_t)(h + 2 * r) * (size_t)w + (size_t)h * (size_t)(w + 2 * r);
}

/* One pass of augment_smooth over nb = 8, 4 or 1 adjacent columns (a constant after inlining)
 * of `rows` output rows: with c the source at the output's own position (row i of src, stride
 * src_ld) and `step` the distance between two taps (a source row down the columns, 1 along a
 * row),
 *   dst = g[0] c[0] + g[1] (c[-step] + c[step]) + ... + g[dmax] (c[-dmax step] + c[dmax step]),
 * added left to right. The source has r zeros beyond each end, so there is no branch, and the
 * pairs beyond dmax <= r, which lie wholly in those zeros for every output of the block, are
 * left out (a pair d reaches data from position p of a pass of length n when
 * d <= max(p, n-1-p); leaving out zeros changes at most the sign of a zero result). pos0 is
 * the block's first position along the pass when rows_are_pos is false (along a row), else
 * each row is its own position (down the columns).
 *
 * A block's sums live in a vector of GCC's vector extension, lowered to what the target has
 * (SSE or AVX registers) with the same element-wise IEEE operations as scalar code. */
#if defined(__GNUC__)
typedef float augment_v8 __attribute__((vector_size(32)));
typedef float augment_v4 __attribute__((vector_size(16)));
#define SMOOTH_BLOCK(V)                                                                    \
    do {                                                                                    \
        V acc, lo, hi;                                                                      \
        memcpy(&acc, c, sizeof acc);                                                        \
        acc *= g[0];                                                                        \
        for (int d = 1; d <= dmax; d++) {                                                   \
            memcpy(&lo, c - d * step, sizeof lo);                                           \
            memcpy(&hi, c + d * step, sizeof hi);                                           \
            acc += g[d] * (lo + hi);                                                        \
        }                                                                                   \
        memcpy(o, &acc, sizeof acc);                                                        \
    } while (0)
#endif

static AUGMENT_INLINE void
smooth_pass(float *dst, size_t dst_ld, const float *src, size_t src_ld, ptrdiff_t step,
            const float *g, int r, int rows, int nb, bool rows_are_pos, int pos0, int n)
{
    for (int i = 0; i < rows; i++) {
        const float *c = src + (size_t)i * src_ld;
        float *o = dst + (size_t)i * dst_ld;
        const int p0 = rows_are_pos ? i : pos0, p1 = rows_are_pos ? i : pos0 + nb - 1;
        const int reach = p1 > n - 1 - p0 ? p1 : n - 1 - p0;
        const int dmax = r < reach ? r : reach;
#if defined(__GNUC__)
        if (nb == 8) {
            SMOOTH_BLOCK(augment_v8);
            continue;
        }
        if (nb == 4) {
            SMOOTH_BLOCK(augment_v4);
            continue;
        }
#endif
        float acc[8];
        for (int v = 0; v < nb; v++)
            acc[v] = g[0] * c[v];
        for (int d = 1; d <= dmax; d++) {
            const float *lo = c - d * step, *hi = c + d * step;
            for (int v = 0; v < nb; v++)
                acc[v] += g[d] * (lo[v] + hi[v]);
        }
        memcpy(o, acc, (size_t)nb * sizeof *acc);
    }
}

/* Both passes, on a scratch whose margins are zero: u (h + 2r, w) holds the input in rows
 * r .. r + h - 1, t (h, w + 2r) receives the column pass in columns r .. r + w - 1. Column
 * blocks of 8, then 4, then 1 (the sums do not depend on the blocking). */
static AUGMENT_INLINE void
smooth_body(float *out, const float *gv, const float *gh, int r, int h, int w, float *scratch)
{
    const size_t tw = (size_t)w + 2 * (size_t)r;
    const float *u = scratch + (size_t)r * (size_t)w; /* row 0 of the input */
    float *t = scratch + (size_t)(h + 2 * r) * (size_t)w + (size_t)r; /* (0, 0) of the middle */
    int j = 0;
    for (; j + 8 <= w; j += 8)
        smooth_pass(t + j, tw, u + j, (size_t)w, w, gv, r, h, 8, true, 0, h);
    for (; j + 4 <= w; j += 4)
        smooth_pass(t + j, tw, u + j, (size_t)w, w, gv, r, h, 4, true, 0, h);
    for (; j < w; j++)
        smooth_pass(t + j, tw, u + j, (size_t)w, w, gv, r, h, 1, true, 0, h);
    for (j = 0; j + 8 <= w; j += 8)
        smooth_pass(out + j, (size_t)w, t + j, tw, 1, gh, r, h, 8, false, j, w);
    for (; j + 4 <= w; j += 4)
        smooth_pass(out + j, (size_t)w, t + j, tw, 1, gh, r, h, 4, false, j, w);
    for (; j < w; j++)
        smooth_pass(out + j, (size_t)w, t + j, tw, 1, gh, r, h, 1, false, j, w);
}

#ifdef AUGMENT_X86
__attribute__((target("avx2"))) static void
smooth_avx2(float *out, const float *gv, const float *gh, int r, int h, int w, float *scratch)
{
    smooth_body(out, gv, gh, r, h, w, scratch);
}
#endif

/* augment_smooth on a scratch already holding the input, with zero margins. */
static void smooth_prepared(float *out, const float *gv, const float *gh, int r, int h, int w,
                            float *scratch)
{
#ifdef AUGMENT_X86
    if (have_avx2()) {
        smooth_avx2(out, gv, gh, r, h, w, scratch);
        return;
    }
#endif
    smooth_body(out, gv, gh, r, h, w, scratch);
}

/* Zero the margins of a smoothing scratch (see smooth_body). */
static void smooth_margins(float *scratch, int h, int w, int r)
{
    const size_t rw = (size_t)r * (size_t)w, tw = (size_t)w + 2 * (size_t)r;
    memset(scratch, 0, rw * sizeof *scratch);
    memset(scratch + (size_t)(h + r) * (size_t)w, 0, rw * sizeof *scratch);
    float *t = scratch + (size_t)(h + 2 * r) * (size_t)w;
    for (int i = 0; i < h; i++) {
        memset(t + (size_t)i * tw, 0, (size_t)r * sizeof *t);
        memset(t + (size_t)i * tw + (size_t)r + (size_t)w, 0, (size_t)r * sizeof *t);
    }
}

void augment_smooth(float *out, const float *in, const float *gv, const float *gh, int r, int h,
                    int w, float *scratch)
{
    assert(out && in && gv && gh && scratch && r >= 0 && h >= 1 && w >= 1);
    smooth_margins(scratch, h, w, r);
    memcpy(scratch + (size_t)r * (size_t)w, in, (size_t)h * (size_t)w * sizeof *in);
    smooth_prepared(out, gv, gh, r, h, w, scratch);
}

/* Scratch of one thread's range of images. */
typedef struct augment_scratch {
    float *img;     /* (C,H,W) the warped image, copied back */
    float *warp;    /* augment_warp_scratch(H, W) floats */
    float *smooth;  /* augment_smooth_scratch(H, W, radius) floats, margins kept zero */
    float *f;       /* (2,H,W) the displacement fields fx then fy */
    float *tmp;     /* (H,W) dataset_translate's */
    uint64_t *bits; /* (H*W) the field generator's outputs */
} augment_scratch;

struct augment {
    augment_config cfg;
    int shift;
    int c, h, w;
    int max_batch;
    int threads;     /* of the team: one scratch set each */
    par_team *team;  /* runs augment_apply's images; may be NULL */
    bool affine, elastic;
    rng shift_rng;   /* RNG_STREAM_AUGMENT */
    rng affine_rng;  /* RNG_STREAM_AFFINE */
    rng elastic_rng; /* RNG_STREAM_ELASTIC */
    int radius;      /* of the Gaussian */
    float *gv;       /* (radius+1) the Gaussian, down the columns */
    float *gh;       /* (radius+1) alpha times the Gaussian, along the rows */
    augment_params *params;   /* (max_batch) for augment_batch */
    augment_scratch *scratch; /* (threads) */
    float *block;             /* every float buffer above, one allocation */
    uint64_t *bits;           /* (threads, H*W) */
};

int augment_new(augment **out, const augment_config *cfg, int shift, int c, int h, int w,
                int max_batch, par_team *team, uint64_t seed, err_info *e)
{
    *out = NULL;
    assert(c >= 1 && h >= 1 && w >= 1 && max_batch >= 1);
    int rc = augment_config_check(cfg, e);
    if (rc)
        return rc;
    if (shift < 0 || shift >= h || shift >= w)
        return err_set(e, ERR_INVALID, "augmentation shift %d must be in 0..%d for %dx%d images",
                       shift, (h < w ? h : w) - 1, h, w);
    augment *a = calloc(1, sizeof *a);
    if (!a)
        return err_set(e, ERR_NOMEM, "out of memory creating the augmenter");
    a->cfg = *cfg;
    a->shift = shift;
    a->c = c;
    a->h = h;
    a->w = w;
    a->max_batch = max_batch;
    a->threads = par_threads(team);
    a->team = team;
    a->affine = affine_on(cfg);
    a->elastic = cfg->elastic_alpha > 0.0f;
    a->radius = a->elastic ? augment_gauss_radius(cfg->elastic_sigma, h, w) : 0;
    rng_init(&a->shift_rng, seed, RNG_STREAM_AUGMENT);
    rng_init(&a->affine_rng, seed, RNG_STREAM_AFFINE);
    rng_init(&a->elastic_rng, seed, RNG_STREAM_ELASTIC);

    const size_t plane = (size_t)h * (size_t)w, img = (size_t)c * plane;
    const size_t taps = (size_t)a->radius + 1;
    const size_t warp = augment_warp_scratch(h, w);
    const size_t smooth = a->elastic ? augment_smooth_scratch(h, w, a->radius) : 0;
    const size_t per_thread = img + warp + smooth + 3 * plane; /* img, warp, smooth, f (2), tmp */
    a->params = malloc((size_t)max_batch * sizeof *a->params);
    a->scratch = malloc((size_t)a->threads * sizeof *a->scratch);
    /* calloc: the margins of the smoothing scratch must be zero, and stay so */
    a->block = calloc(2 * taps + (size_t)a->threads * per_thread, sizeof(float));
    a->bits = malloc((size_t)a->threads * plane * sizeof *a->bits);
    if (!a->params || !a->scratch || !a->block || !a->bits) {
        augment_free(a);
        return err_set(e, ERR_NOMEM, "out of memory creating the augmenter");
    }
    a->gv = a->block;
    a->gh = a->gv + taps;
    if (a->elastic) {
        augment_gauss_kernel(a->gv, cfg->elastic_sigma, 1.0f, a->radius);
        augment_gauss_kernel(a->gh, cfg->elastic_sigma, cfg->elastic_alpha, a->radius);
    }
    float *s = a->gh + taps;
    for (int t = 0; t < a->threads; t++, s += per_thread)
        a->scratch[t] = (augment_scratch){
            .img = s, .warp = s + img, .smooth = s + img + warp, .f = s + img + warp + smooth,
            .tmp = s + img + warp + smooth + 2 * plane, .bits = a->bits + (size_t)t * plane};
    *out = a;
    return 0;
}

void augment_free(augment *a)
{
    if (!a)
        return;
    free(a->params);
    free(a->scratch);
    free(a->block);
    free(a->bits);
    free(a);
}

bool augment_active(const augment *a)
{
    return a->shift > 0 || a->affine || a->elastic;
}

void augment_draw(augment *a, augment_params *p, int batch)
{
    assert(batch >= 0 && batch <= a->max_batch);
    const uint32_t shifts = 2u * (uint32_t)a->shift + 1u;
    for (int b = 0; b < batch; b++) {
        augment_params q = {.sx = 1.0, .sy = 1.0};
        if (a->shift > 0) {
            q.dx = (int)rng_below(&a->shift_rng, shifts) - a->shift;
            q.dy = (int)rng_below(&a->shift_rng, shifts) - a->shift;
        }
        if (a->affine) {
            /* all four, whichever ranges are 0, so that each keeps its place in the stream */
            const double u1 = rng_uniform(&a->affine_rng), u2 = rng_uniform(&a->affine_rng);
            const double u3 = rng_uniform(&a->affine_rng), u4 = rng_uniform(&a->affine_rng);
            q.theta_deg = (double)a->cfg.rotate_deg * (2.0 * u1 - 1.0);
            q.sx = 1.0 + (double)a->cfg.scale * (2.0 * u2 - 1.0);
            q.sy = 1.0 + (double)a->cfg.scale * (2.0 * u3 - 1.0);
            q.shear = (double)a->cfg.shear * (2.0 * u4 - 1.0);
        }
        if (a->elastic)
            q.field_seed = rng_next(&a->elastic_rng);
        p[b] = q;
    }
}

/* fx, fy of the image with field_seed, with scratch s (see augment_field). The uniforms go
 * straight into the rows of the smoothing scratch, whose margins are zero since augment_new. */
static void elastic_field(const augment *a, float *fx, float *fy, uint64_t field_seed,
                          const augment_scratch *s)
{
    const size_t plane = (size_t)a->h * (size_t)a->w;
    rng g;
    rng_init(&g, field_seed, RNG_STREAM_ELASTIC);
    rng_fill(&g, s->bits, plane);
    float *u = s->smooth + (size_t)a->radius * (size_t)a->w;
    /* top 24 bits for fx, bits 8..31 for fy: n * 2^-23 - 1 in [-1, 1), exact in float */
    for (size_t m = 0; m < plane; m++)
        u[m] = (float)(uint32_t)(s->bits[m] >> 40) * 0x1p-23f - 1.0f;
    smooth_prepared(fx, a->gv, a->gh, a->radius, a->h, a->w, s->smooth);
    for (size_t m = 0; m < plane; m++)
        u[m] = (float)(uint32_t)((s->bits[m] >> 8) & 0xFFFFFFu) * 0x1p-23f - 1.0f;
    smooth_prepared(fy, a->gv, a->gh, a->radius, a->h, a->w, s->smooth);
}

void augment_field(augment *a, float *fx, float *fy, uint64_t field_seed)
{
    assert(a->elastic);
    elastic_field(a, fx, fy, field_seed, &a->scratch[0]);
}

/* Transform image x (C,H,W) in place with parameters p, using scratch s. */
static void augment_image(const augment *a, float *x, const augment_params *p,
                          const augment_scratch *s)
{
    const int h = a->h, w = a->w;
    if (!a->affine && !a->elastic) {
        /* the shift alone: today's translation, bit for bit */
        dataset_translate(x, a->c, h, w, p->dx, p->dy, s->tmp);
        return;
    }
    const size_t plane = (size_t)h * (size_t)w;
    const augment_map m = augment_map_make(p->theta_deg, p->sx, p->sy, p->shear, p->dx, p->dy,
                                           h, w);
    const float *fx = NULL, *fy = NULL;
    if (a->elastic) {
        elastic_field(a, s->f, s->f + plane, p->field_seed, s);
        fx = s->f;
        fy = s->f + plane;
    }
    augment_warp(s->img, x, &m, fx, fy, a->c, h, w, s->warp);
    memcpy(x, s->img, (size_t)a->c * plane * sizeof *x);
}

typedef struct augment_job {
    augment *a;
    float *x;
    const augment_params *p;
} augment_job;

/* Image `task` of the batch, with the scratch of the thread that runs it: an image's result
 * depends only on its parameters, so not on the thread or the order. */
static void augment_task(void *ctx, int task, int thread)
{
    const augment_job *j = ctx;
    const size_t img = (size_t)j->a->c * (size_t)j->a->h * (size_t)j->a->w;
    augment_image(j->a, j->x + (size_t)task * img, j->p + task, &j->a->scratch[thread]);
}

void augment_apply(augment *a, float *x, const augment_params *p, int batch)
{
    assert(batch >= 0 && batch <= a->max_batch);
    if (!augment_active(a) || batch == 0)
        return;
    augment_job j = {a, x, p};
    par_run(a->team, batch, augment_task, &j);
}

void augment_batch(augment *a, float *x, int batch)
{
    if (!augment_active(a))
        return;
    augment_draw(a, a->params, batch);
    augment_apply(a, x, a->params, batch);
}
