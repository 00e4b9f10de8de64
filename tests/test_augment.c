/* Tests of core/augment: the configuration's ranges, known answers of the affine map and the
 * bilinear sampler on tiny images, the Gaussian and the elastic field, the documented draw
 * order, the value range, and bitwise repeatability across runs and thread counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "augment.h"
#include "dataset.h"

/* Room for augment_warp's scratch on the small images here. */
#define SCRATCH 4096

/* n values uniform in [0, 1] from (seed, stream 99), with a few exact 0s and 1s. */
static void fill_image(float *x, size_t n, uint64_t seed)
{
    rng r;
    rng_init(&r, seed, 99);
    for (size_t k = 0; k < n; k++) {
        const double u = rng_uniform(&r);
        x[k] = u < 0.1 ? 0.0f : u > 0.9 ? 1.0f : (float)u;
    }
}

/* The distortions with these values, each a field of augment_config. */
static augment_config distortions(float rotate_deg, float scale, float shear, float alpha,
                                  float sigma)
{
    return (augment_config){.rotate_deg = rotate_deg, .scale = scale, .shear = shear,
                            .elastic_alpha = alpha, .elastic_sigma = sigma};
}

/* a(i, j) of an (h, w) array, 0 outside it */
static float at(const float *a, int i, int j, int h, int w)
{
    return i >= 0 && i < h && j >= 0 && j < w ? a[i * w + j] : 0.0f;
}

static void test_config(void **state)
{
    (void)state;
    augment_config c = augment_config_default();
    err_info e = {0};
    assert_false(augment_config_distorts(&c));
    assert_int_equal(augment_config_check(&c, &e), 0);
    assert_true(c.elastic_sigma == 4.0f);
    c.rotate_deg = 10.0f;
    assert_true(augment_config_distorts(&c));
    c.rotate_deg = 181.0f;
    assert_int_equal(augment_config_check(&c, &e), ERR_INVALID);
    assert_string_equal(e.msg, "augmentation rotate_deg 181 must be in [0, 180]");
    c = augment_config_default();
    c.scale = 1.0f; /* a factor of 0 would be singular */
    assert_int_equal(augment_config_check(&c, &e), ERR_INVALID);
    assert_string_equal(e.msg, "augmentation scale 1 must be in [0, 1)");
    c = augment_config_default();
    c.shear = NAN;
    assert_int_equal(augment_config_check(&c, &e), ERR_INVALID);
    c = augment_config_default();
    c.elastic_alpha = -1.0f;
    assert_int_equal(augment_config_check(&c, &e), ERR_INVALID);
    c.elastic_alpha = 34.0f;
    assert_true(augment_config_distorts(&c));
    assert_int_equal(augment_config_check(&c, &e), 0);
    c.elastic_sigma = 0.0f;
    assert_int_equal(augment_config_check(&c, &e), ERR_INVALID);
    assert_string_equal(e.msg, "augmentation elastic_sigma must be > 0 when elastic_alpha is on "
                               "(34)");
    /* sigma is not used while alpha is 0 */
    c.elastic_alpha = 0.0f;
    assert_int_equal(augment_config_check(&c, &e), 0);

    /* the augmenter checks the configuration and the shift */
    augment *a = NULL;
    c.shear = 2.0f;
    assert_int_equal(augment_new(&a, &c, 0, 1, 8, 8, 4, NULL, 1, &e), ERR_INVALID);
    assert_null(a);
    c = augment_config_default();
    assert_int_equal(augment_new(&a, &c, 8, 1, 8, 8, 4, NULL, 1, &e), ERR_INVALID);
    assert_string_equal(e.msg, "augmentation shift 8 must be in 0..7 for 8x8 images");
    assert_int_equal(augment_new(&a, &c, 0, 1, 8, 8, 4, NULL, 1, &e), 0);
    assert_false(augment_active(a));
    augment_free(a);
}

/* The identity map, with or without an all-zero displacement field, gives the input back bit
 * for bit, on a 2-channel 5x7 image (a non-square one, so rows and columns cannot be mixed up). */
static void test_identity(void **state)
{
    (void)state;
    enum { C = 2, H = 5, W = 7 };
    float x[C * H * W], y[C * H * W], zero[H * W] = {0}, scratch[SCRATCH];
    assert_true(augment_warp_scratch(H, W) <= SCRATCH);
    fill_image(x, C * H * W, 1);
    const augment_map id = augment_map_make(0, 1, 1, 0, 0, 0, H, W);
    assert_true(id.xx == 1.0f && id.xy == 0.0f && id.yx == 0.0f && id.yy == 1.0f);
    assert_true(id.x0 == 0.0f && id.y0 == 0.0f);
    augment_warp(y, x, &id, NULL, NULL, C, H, W, scratch);
    assert_memory_equal(y, x, sizeof x);
    memset(y, 0, sizeof y);
    augment_warp(y, x, &id, zero, zero, C, H, W, scratch);
    assert_memory_equal(y, x, sizeof x);
}

/* Rotation about the centre, clockwise as displayed for theta > 0:
 *   1 2 3        7 4 1
 *   4 5 6  -->   8 5 2
 *   7 8 9        9 6 3
 * and on a 4x4 image, whose centre (1.5, 1.5) lies between pixels, the same permutation of
 * pixels. cos(90 degrees) is not exactly 0 in floating point, hence the tolerance. */
static void test_rotate_90(void **state)
{
    (void)state;
    static float scratch[SCRATCH];
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const float cw[9] = {7, 4, 1, 8, 5, 2, 9, 6, 3}, ccw[9] = {3, 6, 9, 2, 5, 8, 1, 4, 7};
    float y[9];
    augment_map m = augment_map_make(90, 1, 1, 0, 0, 0, 3, 3);
    augment_warp(y, x, &m, NULL, NULL, 1, 3, 3, scratch);
    for (int k = 0; k < 9; k++)
        assert_float_equal(y[k], cw[k], 1e-5);
    m = augment_map_make(-90, 1, 1, 0, 0, 0, 3, 3);
    augment_warp(y, x, &m, NULL, NULL, 1, 3, 3, scratch);
    for (int k = 0; k < 9; k++)
        assert_float_equal(y[k], ccw[k], 1e-5);

    float x4[16], y4[16];
    for (int k = 0; k < 16; k++)
        x4[k] = (float)(k + 1);
    m = augment_map_make(90, 1, 1, 0, 0, 0, 4, 4);
    augment_warp(y4, x4, &m, NULL, NULL, 1, 4, 4, scratch);
    /* out(i, j) = in(3 - j, i) */
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            assert_float_equal(y4[i * 4 + j], x4[(3 - j) * 4 + i], 1e-5);
}

/* x(i, j) = 10 i + j on a 5x5 image: a linear image, which bilinear sampling reproduces
 * exactly wherever all four neighbours are inside. */
static void fill_linear(float *x /*(5,5)*/)
{
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
            x[i * 5 + j] = (float)(10 * i + j);
}

/* Scaling by 2 about the centre of a 5x5 image pulls output pixel p from q = c + (p - c) / 2,
 * which stays inside. Bilinear interpolation reproduces a linear image exactly, so for
 * in(i, j) = 10 i + j:  out(i, j) = 10 (i + 2) / 2 + (j + 2) / 2 = 5 i + j / 2 + 11, exactly
 * (every value is a multiple of 1/2). Then sx = 2, sy = 1 (only widening): 10 i + (j + 2) / 2. */
static void test_scale_2(void **state)
{
    (void)state;
    static float scratch[SCRATCH];
    float x[25], y[25];
    fill_linear(x);
    augment_map m = augment_map_make(0, 2, 2, 0, 0, 0, 5, 5);
    augment_warp(y, x, &m, NULL, NULL, 1, 5, 5, scratch);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
            assert_true(y[i * 5 + j] == 5.0f * i + 0.5f * j + 11.0f);
    m = augment_map_make(0, 2, 1, 0, 0, 0, 5, 5);
    augment_warp(y, x, &m, NULL, NULL, 1, 5, 5, scratch);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
            assert_true(y[i * 5 + j] == 10.0f * i + 0.5f * (j + 2));
}

/* Shear k = 0.5 on the same linear 5x5 image: x += k (y - cy), so the output pulls from
 * qx = j - 0.5 (i - 2), qy = i. Inside: 10 i + qx; half a pixel outside on the left (qx = -0.5)
 * the zero fill weighs in: 0.5 * in(i, 0); a whole pixel or more outside: 0. */
static void test_shear(void **state)
{
    (void)state;
    static float scratch[SCRATCH];
    float x[25], y[25];
    fill_linear(x);
    const augment_map m = augment_map_make(0, 1, 1, 0.5, 0, 0, 5, 5);
    augment_warp(y, x, &m, NULL, NULL, 1, 5, 5, scratch);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) {
            const float qx = (float)j - 0.5f * (float)(i - 2);
            const float want = qx >= 0.0f && qx <= 4.0f ? 10.0f * i + qx
                               : qx == -0.5f           ? 0.5f * (10.0f * i)
                               : qx == 4.5f            ? 0.5f * (10.0f * i + 4.0f)
                                                       : 0.0f;
            assert_true(y[i * 5 + j] == want);
        }
}

/* An affine map that is a pure integer translation gives dataset_translate's image bit for
 * bit, for shifts inside, at the edge of and beyond the image. */
static void test_shift_matches_translate(void **state)
{
    (void)state;
    static float scratch[SCRATCH];
    enum { C = 2, H = 6, W = 5 };
    const int shifts[][2] = {{0, 0}, {1, 0}, {0, -1}, {2, -3}, {-4, 5}, {5, 0}, {-7, 9}};
    for (size_t s = 0; s < sizeof shifts / sizeof shifts[0]; s++) {
        const int dx = shifts[s][0], dy = shifts[s][1];
        float x[C * H * W], want[C * H * W], y[C * H * W], tmp[H * W];
        fill_image(x, C * H * W, 10 + s);
        memcpy(want, x, sizeof x);
        dataset_translate(want, C, H, W, dx, dy, tmp);
        const augment_map m = augment_map_make(0, 1, 1, 0, dx, dy, H, W);
        augment_warp(y, x, &m, NULL, NULL, C, H, W, scratch);
        assert_memory_equal(y, want, sizeof want);
    }
}

/* augment_warp as its header writes it, pixel by pixel: q = (xx x + xy y) + (x0 + 1) in the
 * coordinates of the zero-bordered copy (and likewise y), clamped to [0, w+1] x [0, h+1],
 * floor, fractions, three lerps, zeros outside. */
static void warp_reference(float *out, const float *in, const augment_map *m, const float *fx,
                           const float *fy, int c, int h, int w)
{
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                const float x = fx ? (float)j + fx[i * w + j] : (float)j;
                const float y = fy ? (float)i + fy[i * w + j] : (float)i;
                float qx = (m->xx * x + m->xy * y) + (m->x0 + 1.0f);
                float qy = (m->yx * x + m->yy * y) + (m->y0 + 1.0f);
                qx = qx > 0.0f ? (qx < (float)w + 1.0f ? qx : (float)w + 1.0f) : 0.0f;
                qy = qy > 0.0f ? (qy < (float)h + 1.0f ? qy : (float)h + 1.0f) : 0.0f;
                const float fjx = floorf(qx), fiy = floorf(qy), ax = qx - fjx, ay = qy - fiy;
                const int jx = (int)fjx - 1, iy = (int)fiy - 1; /* back to the image's pixels */
                const float *v = in + (size_t)ch * (size_t)(h * w);
                const float v00 = at(v, iy, jx, h, w), v01 = at(v, iy, jx + 1, h, w);
                const float v10 = at(v, iy + 1, jx, h, w), v11 = at(v, iy + 1, jx + 1, h, w);
                const float top = v00 + ax * (v01 - v00), bot = v10 + ax * (v11 - v10);
                out[(size_t)ch * (size_t)(h * w) + (size_t)(i * w + j)] = top + ay * (bot - top);
            }
}

/* augment_warp computes its header's formula bit for bit (whatever vector width runs it), for
 * random maps, with and without random displacement fields, on an image that is not square,
 * including points far outside and a NaN displacement (clamped into the zero border: 0). */
static void test_warp_is_formula(void **state)
{
    (void)state;
    static float scratch[SCRATCH];
    enum { C = 2, H = 9, W = 13 };
    float x[C * H * W], y[C * H * W], want[C * H * W], fx[H * W], fy[H * W];
    rng r;
    rng_init(&r, 77, 99);
    for (int rep = 0; rep < 200; rep++) {
        fill_image(x, C * H * W, 100 + (uint64_t)rep);
        const augment_map m = augment_map_make(360.0 * rng_uniform(&r) - 180.0,
                                               0.3 + 1.5 * rng_uniform(&r),
                                               0.3 + 1.5 * rng_uniform(&r),
                                               2.0 * rng_uniform(&r) - 1.0,
                                               (double)rng_below(&r, 31) - 15.0,
                                               (double)rng_below(&r, 31) - 15.0, H, W);
        const bool field = rep % 2;
        for (int k = 0; k < H * W; k++) {
            fx[k] = (float)(6.0 * rng_uniform(&r) - 3.0);
            fy[k] = (float)(6.0 * rng_uniform(&r) - 3.0);
        }
        if (rep == 1)
            fx[5] = NAN;
        augment_warp(y, x, &m, field ? fx : NULL, field ? fy : NULL, C, H, W, scratch);
        warp_reference(want, x, &m, field ? fx : NULL, field ? fy : NULL, C, H, W);
        assert_memory_equal(y, want, sizeof y);
    }
}

/* The Gaussian: sigma = 1 has radius floor(4.5) = 4 and g(k) = exp(-k^2/2) / S with
 * S = 1 + 2 (e^-1/2 + e^-2 + e^-9/2 + e^-8); the radius is capped by the image. */
static void test_gauss(void **state)
{
    (void)state;
    assert_int_equal(augment_gauss_radius(1.0f, 28, 28), 4);
    assert_int_equal(augment_gauss_radius(4.0f, 28, 28), 16);
    assert_int_equal(augment_gauss_radius(6.0f, 28, 28), 24);
    assert_int_equal(augment_gauss_radius(10.0f, 28, 28), 27);
    assert_int_equal(augment_gauss_radius(10.0f, 5, 30), 29);
    float g[5];
    augment_gauss_kernel(g, 1.0f, 1.0f, 4);
    const double s = 1.0 + 2.0 * (exp(-0.5) + exp(-2.0) + exp(-4.5) + exp(-8.0));
    for (int k = 0; k <= 4; k++)
        assert_float_equal(g[k], exp(-0.5 * k * k) / s, 1e-7);
    /* a scaled kernel is the same times the scale; a truncated one keeps the full normaliser */
    float g2[5], g3[3];
    augment_gauss_kernel(g2, 1.0f, 34.0f, 4);
    augment_gauss_kernel(g3, 1.0f, 1.0f, 2);
    for (int k = 0; k <= 4; k++)
        assert_float_equal(g2[k], 34.0 * exp(-0.5 * k * k) / s, 1e-5);
    for (int k = 0; k <= 2; k++)
        assert_true(g3[k] == g[k]);
}

/* The sums of augment_smooth as its header writes them, plainly: in and tmp are 0 outside,
 * each output starts from the centre tap and adds the pairs d = 1..r in order. */
static void smooth_reference(float *out, const float *in, const float *gv, const float *gh, int r,
                             int h, int w)
{
    float *tmp = calloc((size_t)h * (size_t)w, sizeof *tmp);
    assert_non_null(tmp);
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            float acc = gv[0] * in[i * w + j];
            for (int d = 1; d <= r; d++)
                acc += gv[d] * (at(in, i - d, j, h, w) + at(in, i + d, j, h, w));
            tmp[i * w + j] = acc;
        }
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            float acc = gh[0] * tmp[i * w + j];
            for (int d = 1; d <= r; d++)
                acc += gh[d] * (at(tmp, i, j - d, h, w) + at(tmp, i, j + d, h, w));
            out[i * w + j] = acc;
        }
    free(tmp);
}

/* augment_smooth computes the sums of its header bit for bit (== equates the two zeros, which
 * the header allows to differ), on fields whose widths exercise the blocks of 8, of 4 and
 * single columns, with radii below and beyond the image. */
static void test_smooth_is_banded_sum(void **state)
{
    (void)state;
    const int sizes[][2] = {{28, 28}, {13, 31}, {9, 3}, {1, 7}};
    const float sigmas[] = {0.7f, 2.0f, 4.0f, 9.0f};
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++)
        for (size_t q = 0; q < sizeof sigmas / sizeof sigmas[0]; q++) {
            const int h = sizes[z][0], w = sizes[z][1];
            const int r = augment_gauss_radius(sigmas[q], h, w);
            float gv[64], gh[64];
            float *in = malloc(sizeof(float) * (size_t)(h * w));
            float *out = malloc(sizeof(float) * (size_t)(h * w));
            float *want = malloc(sizeof(float) * (size_t)(h * w));
            float *scratch = malloc(sizeof(float) * augment_smooth_scratch(h, w, r));
            assert_true(in && out && want && scratch && r < 64);
            augment_gauss_kernel(gv, sigmas[q], 1.0f, r);
            augment_gauss_kernel(gh, sigmas[q], 20.0f, r);
            fill_image(in, (size_t)(h * w), 40 + z);
            for (int k = 0; k < h * w; k++)
                in[k] = 2.0f * in[k] - 1.0f;
            /* garbage in the scratch: the margins are the function's business */
            memset(scratch, 0xff, sizeof(float) * augment_smooth_scratch(h, w, r));
            augment_smooth(out, in, gv, gh, r, h, w, scratch);
            smooth_reference(want, in, gv, gh, r, h, w);
            for (int k = 0; k < h * w; k++)
                assert_true(out[k] == want[k]);
            free(in);
            free(out);
            free(want);
            free(scratch);
        }
}

/* Smoothing a single 1 in the middle of an 11x11 field gives the outer product of the two
 * kernels exactly (one product per value); a 1 in a corner gives the kernels' tails cut by the
 * zero padding; alpha = 0 gives no displacement at all, and so the identity image. */
static void test_smooth(void **state)
{
    (void)state;
    static float scratch[SCRATCH];
    enum { N = 11 };
    float in[N * N] = {0}, out[N * N], sm[SCRATCH];
    float gv[5], gh[5];
    assert_true(augment_smooth_scratch(N, N, 4) <= SCRATCH);
    augment_gauss_kernel(gv, 1.0f, 1.0f, 4);
    augment_gauss_kernel(gh, 1.0f, 3.0f, 4);
    in[5 * N + 5] = 1.0f;
    augment_smooth(out, in, gv, gh, 4, N, N, sm);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            const int di = abs(i - 5), dj = abs(j - 5);
            const float want = di <= 4 && dj <= 4 ? gh[dj] * gv[di] : 0.0f;
            assert_true(out[i * N + j] == want);
        }
    in[5 * N + 5] = 0.0f;
    in[0] = 1.0f;
    augment_smooth(out, in, gv, gh, 4, N, N, sm);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            assert_true(out[i * N + j] == (i <= 4 && j <= 4 ? gh[j] * gv[i] : 0.0f));

    /* alpha = 0: any uniforms give a zero field, and the warp gives the image back */
    float zero[5];
    augment_gauss_kernel(zero, 1.0f, 0.0f, 4);
    float u[N * N], fx[N * N], fy[N * N], x[N * N], y[N * N];
    fill_image(u, N * N, 3);
    fill_image(x, N * N, 4);
    augment_smooth(fx, u, gv, zero, 4, N, N, sm);
    augment_smooth(fy, u, gv, zero, 4, N, N, sm);
    const augment_map id = augment_map_make(0, 1, 1, 0, 0, 0, N, N);
    augment_warp(y, x, &id, fx, fy, 1, N, N, scratch);
    assert_memory_equal(y, x, sizeof x);
}

/* Simard's field has the expected size: away from the border, each component of
 * alpha (G * U) with U ~ U[-1, 1) has variance alpha^2 (1/3) (sum_k g_k^2)^2. For alpha = 34,
 * sigma = 4 that is an sd of 34 * 0.577 * 0.0705 = 1.38 pixels. Measured by augment_field at
 * the 2x2 centre of 4000 fields of 34x34 (radius 16: the centre sees no padding), it is within
 * 5% (the estimate's own sd is about 1.5%; the seeds are fixed, so the outcome is too). */
static void test_field_size(void **state)
{
    (void)state;
    enum { N = 34, R = 16 };
    const augment_config c = distortions(0, 0, 0, 34, 4);
    augment *a = NULL;
    err_info e = {0};
    assert_int_equal(augment_new(&a, &c, 0, 1, N, N, 1, NULL, 1, &e), 0);
    float gv[R + 1], fx[N * N], fy[N * N];
    assert_int_equal(augment_gauss_radius(4.0f, N, N), R);
    augment_gauss_kernel(gv, 4.0f, 1.0f, R);
    double g2 = 0.0;
    for (int k = -R; k <= R; k++)
        g2 += (double)gv[abs(k)] * gv[abs(k)];
    const double want = 34.0 * sqrt(1.0 / 3.0) * g2;
    double ss = 0.0;
    long n = 0;
    for (uint64_t seed = 1; seed <= 4000; seed++) {
        augment_field(a, fx, fy, seed);
        for (int i = 16; i < 18; i++)
            for (int j = 16; j < 18; j++, n += 2)
                ss += (double)fx[i * N + j] * fx[i * N + j] + (double)fy[i * N + j] * fy[i * N + j];
    }
    augment_free(a);
    const double sd = sqrt(ss / (double)n);
    print_message("elastic field sd %.3f px (expected %.3f)\n", sd, want);
    assert_true(want > 1.3 && want < 1.45);
    assert_true(fabs(sd - want) < 0.05 * want);
}

/* Strong distortions of images in [0, 1] never leave [0, 1]; an all-ones image stays 1 where
 * every neighbour is inside. */
static void test_value_range(void **state)
{
    (void)state;
    enum { B = 16, H = 28, W = 28 };
    const augment_config c = distortions(180, 0.9f, 1, 300, 3);
    augment *a = NULL;
    err_info e = {0};
    assert_int_equal(augment_new(&a, &c, 3, 1, H, W, B, NULL, 7, &e), 0);
    static float x[B * H * W];
    for (int rep = 0; rep < 4; rep++) {
        fill_image(x, B * H * W, 20 + rep);
        if (rep == 3)
            for (int k = 0; k < B * H * W; k++)
                x[k] = 1.0f;
        augment_batch(a, x, B);
        int ones = 0;
        for (int k = 0; k < B * H * W; k++) {
            assert_true(x[k] >= 0.0f && x[k] <= 1.0f);
            ones += x[k] == 1.0f;
        }
        if (rep == 3)
            assert_true(ones > 0);
    }
    augment_free(a);
}

/* The draws follow the header: the shift is rng_below on RNG_STREAM_AUGMENT as before; the
 * affine parameters are four uniforms an image on RNG_STREAM_AFFINE, in their ranges; the field
 * seeds are rng_next on RNG_STREAM_ELASTIC; and no transform's draws move when another one is
 * turned on or changes its range. */
static void test_draw_order(void **state)
{
    (void)state;
    enum { B = 50 };
    const uint64_t seed = 17;
    err_info e = {0};
    const augment_config all = distortions(15, 0.2f, 0.3f, 34, 4);
    augment *a = NULL;
    assert_int_equal(augment_new(&a, &all, 2, 1, 28, 28, B, NULL, seed, &e), 0);
    augment_params p[B];
    augment_draw(a, p, 20);
    augment_draw(a, p + 20, 30); /* the streams carry on from batch to batch */
    augment_free(a);

    rng rs, ra, re;
    rng_init(&rs, seed, RNG_STREAM_AUGMENT);
    rng_init(&ra, seed, RNG_STREAM_AFFINE);
    rng_init(&re, seed, RNG_STREAM_ELASTIC);
    for (int b = 0; b < B; b++) {
        assert_int_equal(p[b].dx, (int)rng_below(&rs, 5) - 2);
        assert_int_equal(p[b].dy, (int)rng_below(&rs, 5) - 2);
        const double u1 = rng_uniform(&ra), u2 = rng_uniform(&ra), u3 = rng_uniform(&ra),
                     u4 = rng_uniform(&ra);
        assert_true(p[b].theta_deg == 15.0 * (2.0 * u1 - 1.0));
        assert_true(p[b].sx == 1.0 + (double)0.2f * (2.0 * u2 - 1.0));
        assert_true(p[b].sy == 1.0 + (double)0.2f * (2.0 * u3 - 1.0));
        assert_true(p[b].shear == (double)0.3f * (2.0 * u4 - 1.0));
        assert_true(fabs(p[b].theta_deg) <= 15.0 && p[b].sx >= 0.8 && p[b].sx <= 1.2);
        assert_true(p[b].field_seed == rng_next(&re));
    }

    /* one transform at a time, and another rotation range: each draws what it drew above */
    augment_config only = distortions(5, 0.2f, 0.3f, 0, 4);
    augment_params q[B];
    assert_int_equal(augment_new(&a, &only, 0, 1, 28, 28, B, NULL, seed, &e), 0);
    augment_draw(a, q, B);
    augment_free(a);
    for (int b = 0; b < B; b++) {
        assert_int_equal(q[b].dx, 0);
        assert_true(q[b].sx == p[b].sx && q[b].sy == p[b].sy && q[b].shear == p[b].shear);
        assert_float_equal(q[b].theta_deg, p[b].theta_deg / 3.0, 1e-12);
        assert_true(q[b].field_seed == 0);
    }
    only = distortions(0, 0, 0, 1, 4);
    assert_int_equal(augment_new(&a, &only, 0, 1, 28, 28, B, NULL, seed, &e), 0);
    augment_draw(a, q, B);
    augment_free(a);
    for (int b = 0; b < B; b++) {
        assert_true(q[b].theta_deg == 0.0 && q[b].sx == 1.0 && q[b].sy == 1.0);
        assert_true(q[b].field_seed == p[b].field_seed);
    }
}

/* augment_apply does what the header says with the drawn parameters: image b is
 * augment_warp(map(theta, sx, sy, k, dx, dy), fields from the documented uniforms of its seed),
 * rebuilt here from the public pieces, bit for bit; and with only the shift it is
 * dataset_translate. */
static void test_apply_follows_recipe(void **state)
{
    (void)state;
    static float scratch[SCRATCH];
    enum { B = 6, C = 2, H = 12, W = 10, R = 9 };
    const size_t img = (size_t)C * H * W;
    augment_config c = distortions(20, 0.15f, 0.2f, 8, 2); /* sigma 2: radius 8 */
    err_info e = {0};
    augment *a = NULL;
    assert_int_equal(augment_new(&a, &c, 1, C, H, W, B, NULL, 3, &e), 0);
    static float x[B * C * H * W], y[B * C * H * W];
    fill_image(x, B * img, 8);
    memcpy(y, x, sizeof x);
    augment_params p[B];
    augment_draw(a, p, B);
    augment_apply(a, y, p, B);

    float gv[R], gh[R], ux[H * W], uy[H * W], fx[H * W], fy[H * W], tmp[H * W], sm[SCRATCH];
    float want[C * H * W], fa[H * W], fb[H * W];
    const int r = augment_gauss_radius(2.0f, H, W);
    assert_int_equal(r, 8);
    assert_true(augment_smooth_scratch(H, W, r) <= SCRATCH);
    augment_gauss_kernel(gv, 2.0f, 1.0f, r);
    augment_gauss_kernel(gh, 2.0f, 8.0f, r);
    for (int b = 0; b < B; b++) {
        rng g;
        rng_init(&g, p[b].field_seed, RNG_STREAM_ELASTIC);
        for (int m = 0; m < H * W; m++) {
            const uint64_t v = rng_next(&g);
            ux[m] = (float)(v >> 40) * 0x1p-23f - 1.0f;
            uy[m] = (float)((v >> 8) & 0xFFFFFF) * 0x1p-23f - 1.0f;
        }
        augment_smooth(fx, ux, gv, gh, r, H, W, sm);
        augment_smooth(fy, uy, gv, gh, r, H, W, sm);
        augment_field(a, fa, fb, p[b].field_seed);
        assert_memory_equal(fa, fx, sizeof fx);
        assert_memory_equal(fb, fy, sizeof fy);
        const augment_map m = augment_map_make(p[b].theta_deg, p[b].sx, p[b].sy, p[b].shear,
                                               p[b].dx, p[b].dy, H, W);
        augment_warp(want, x + b * img, &m, fx, fy, C, H, W, scratch);
        assert_memory_equal(y + b * img, want, sizeof want);
    }
    augment_free(a);

    /* the shift alone */
    c = augment_config_default();
    assert_int_equal(augment_new(&a, &c, 2, C, H, W, B, NULL, 3, &e), 0);
    assert_true(augment_active(a));
    memcpy(y, x, sizeof x);
    augment_batch(a, y, B);
    augment_free(a);
    rng rs;
    rng_init(&rs, 3, RNG_STREAM_AUGMENT);
    for (int b = 0; b < B; b++) {
        memcpy(want, x + b * img, sizeof want);
        const int dx = (int)rng_below(&rs, 5) - 2, dy = (int)rng_below(&rs, 5) - 2;
        dataset_translate(want, C, H, W, dx, dy, tmp);
        assert_memory_equal(y + b * img, want, sizeof want);
    }
}

/* Fill n 28x28 images and augment them, with every transform on, in batches of `batch` by an
 * augmenter of `threads` threads and the given seed. */
static void augment_images(float *x /*(n,1,28,28)*/, int n, int batch, int threads,
                           uint64_t seed)
{
    const augment_config c = distortions(12, 0.15f, 0.1f, 34, 4);
    augment *a = NULL;
    par_team *team = NULL;
    err_info e = {0};
    assert_int_equal(par_new(&team, threads, &e), 0);
    assert_int_equal(augment_new(&a, &c, 2, 1, 28, 28, batch, team, seed, &e), 0);
    fill_image(x, (size_t)n * 784, 30);
    for (int b = 0; b < n; b += batch)
        augment_batch(a, x + (size_t)b * 784, n - b < batch ? n - b : batch);
    augment_free(a);
    par_free(team);
}

/* Same seed: the same bits, whatever the number of threads (including more threads than
 * images, and batches that do not split evenly) and however the images are cut into batches
 * (the streams carry on from one batch to the next); another seed: other images. */
static void test_bitwise_and_threads(void **state)
{
    (void)state;
    enum { N = 14, P = N * 784 };
    static float a[P], b[P], t2[P], t3[P], t9[P], whole[P], other[P], orig[P];
    augment_images(t9, N, 7, 9, 4);
    augment_images(t3, N, 5, 3, 4);
    augment_images(t2, N, 7, 2, 4);
    augment_images(whole, N, N, 2, 4);
    augment_images(a, N, 7, 1, 4);
    augment_images(b, N, 7, 1, 4);
    augment_images(other, N, 7, 1, 5);
    fill_image(orig, P, 30);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_equal(a, t2, sizeof a);
    assert_memory_equal(a, t3, sizeof a);
    assert_memory_equal(a, t9, sizeof a);
    assert_memory_equal(a, whole, sizeof a);
    assert_memory_not_equal(a, other, sizeof a);
    for (int k = 0; k < N; k++) /* every image was distorted */
        assert_memory_not_equal(a + k * 784, orig + k * 784, 784 * sizeof(float));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_rotate_90),
        cmocka_unit_test(test_scale_2),
        cmocka_unit_test(test_shear),
        cmocka_unit_test(test_shift_matches_translate),
        cmocka_unit_test(test_warp_is_formula),
        cmocka_unit_test(test_gauss),
        cmocka_unit_test(test_smooth_is_banded_sum),
        cmocka_unit_test(test_smooth),
        cmocka_unit_test(test_field_size),
        cmocka_unit_test(test_value_range),
        cmocka_unit_test(test_draw_order),
        cmocka_unit_test(test_apply_follows_recipe),
        cmocka_unit_test(test_bitwise_and_threads),
    };
    return cmocka_run_group_tests_name("augment", tests, NULL, NULL);
}
