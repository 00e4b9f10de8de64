/* pool: max and average pooling kernels (see pool.h). */
#include "pool.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "act.h"
#include "kern.h"

int pool_geom_init(pool_geom *g, int c, int h, int w, int k, int stride, err_info *e)
{
    assert(g);
    if (c < 1 || h < 1 || w < 1 || k < 1 || stride < 1)
        return err_set(e, ERR_INVALID, "pool sizes must be positive (c=%d h=%d w=%d window=%d stride=%d)", c, h,
                       w, k, stride);
    if (k > h || k > w)
        return err_set(e, ERR_INVALID, "pool window %d does not fit the input %dx%d", k, h, w);
    *g = (pool_geom){.c = c, .h = h, .w = w, .k = k, .stride = stride};
    g->oh = (h - k) / stride + 1;
    g->ow = (w - k) / stride + 1;
    return 0;
}

/* The paper's 2x2 stride-2 case for one plane: the same first-maximum rule as the general loop,
 * written with selects over the four candidates in window order so the compiler can vectorize. */
static void pool_max_2x2(float *yp /*(OH,OW)*/, int32_t *ap /*(OH,OW) or NULL*/, const float *xp /*(H,W)*/,
                         const pool_geom *g)
{
    const int w = g->w, ow = g->ow;
    for (int oy = 0; oy < g->oh; oy++) {
        const float *r0 = xp + 2 * oy * w, *r1 = r0 + w;
        float *yr = yp + oy * ow;
        const int base = 2 * oy * w;
        if (ap) {
            int32_t *ar = ap + oy * ow;
            for (int ox = 0; ox < ow; ox++) {
                float best = r0[2 * ox];
                int32_t bi = base + 2 * ox;
                const float b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
                bi = b > best ? base + 2 * ox + 1 : bi;
                best = b > best ? b : best;
                bi = c > best ? base + w + 2 * ox : bi;
                best = c > best ? c : best;
                bi = d > best ? base + w + 2 * ox + 1 : bi;
                best = d > best ? d : best;
                yr[ox] = best;
                ar[ox] = bi;
            }
        } else {
            for (int ox = 0; ox < ow; ox++) {
                float best = r0[2 * ox];
                const float b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
                best = b > best ? b : best;
                best = c > best ? c : best;
                best = d > best ? d : best;
                yr[ox] = best;
            }
        }
    }
}

/* pool_max_forward of planes [pl0, pl1) of a (B,C,H,W) batch. */
static void pool_max_planes(float *y, int32_t *argmax, const float *x, const pool_geom *g, size_t pl0, size_t pl1)
{
    const size_t hw = (size_t)g->h * (size_t)g->w, ohw = (size_t)g->oh * (size_t)g->ow;
    if (g->k == 2 && g->stride == 2) {
        for (size_t pl = pl0; pl < pl1; pl++)
            pool_max_2x2(y + pl * ohw, argmax ? argmax + pl * ohw : NULL, x + pl * hw, g);
        return;
    }
    const int k = g->k, s = g->stride, w = g->w;
    for (size_t pl = pl0; pl < pl1; pl++) {
        const float *xp = x + pl * hw;
        float *yp = y + pl * ohw;
        int32_t *ap = argmax ? argmax + pl * ohw : NULL;
        for (int oy = 0; oy < g->oh; oy++) {
            for (int ox = 0; ox < g->ow; ox++) {
                int best_i = oy * s * w + ox * s; /* the window's first element */
                float best = xp[best_i];
                for (int i = 0; i < k; i++) {
                    const int row = (oy * s + i) * w + ox * s;
                    for (int j = 0; j < k; j++) {
                        if (xp[row + j] > best) { /* strictly: ties keep the first */
                            best = xp[row + j];
                            best_i = row + j;
                        }
                    }
                }
                yp[oy * g->ow + ox] = best;
                if (ap)
                    ap[oy * g->ow + ox] = best_i;
            }
        }
    }
}

void pool_max_forward(float *y, int32_t *argmax, const float *x, const pool_geom *g, int batch)
{
    assert(y && x && g && batch >= 0);
    pool_max_planes(y, argmax, x, g, 0, (size_t)batch * (size_t)g->c);
}

/* pool_max_backward of planes [pl0, pl1). */
static void pool_max_back_planes(float *dx, const float *dy, const int32_t *argmax, const pool_geom *g, size_t pl0,
                                 size_t pl1)
{
    const size_t hw = (size_t)g->h * (size_t)g->w, ohw = (size_t)g->oh * (size_t)g->ow;
    memset(dx + pl0 * hw, 0, (pl1 - pl0) * hw * sizeof *dx);
    for (size_t pl = pl0; pl < pl1; pl++) {
        float *dxp = dx + pl * hw;
        const float *dyp = dy + pl * ohw;
        const int32_t *ap = argmax + pl * ohw;
        for (size_t o = 0; o < ohw; o++) {
            assert(ap[o] >= 0 && (size_t)ap[o] < hw);
            dxp[ap[o]] += dyp[o];
        }
    }
}

void pool_max_backward(float *dx, const float *dy, const int32_t *argmax, const pool_geom *g, int batch)
{
    if (!dx)
        return;
    assert(dy && argmax && g && batch >= 0);
    pool_max_back_planes(dx, dy, argmax, g, 0, (size_t)batch * (size_t)g->c);
}

/* ---- a whole batch on a thread team ---- */

/* Below POOL_PAR_MIN input values one thread does it (a task switch costs more than it
 * saves); above, the planes go in POOL_PARTS contiguous ranges. */
#define POOL_PAR_MIN 65536
enum { POOL_PARTS = 16 };

typedef struct pool_job {
    const pool_geom *g;
    float *y, *dx;
    int32_t *argmax;
    const int32_t *cargmax;
    const float *x, *dy;
    size_t planes;
    bool relu, avx2;
} pool_job;

static void pool_fwd_task(void *ctx, int task, int thread)
{
    (void)thread;
    const pool_job *j = ctx;
    const pool_geom *g = j->g;
    size_t lo, hi;
    par_split(&lo, &hi, j->planes, task, POOL_PARTS, 1);
    const size_t hw = (size_t)g->h * (size_t)g->w, ohw = (size_t)g->oh * (size_t)g->ow;
    if (j->avx2 && g->k == 2 && g->stride == 2 && g->w >= 16) {
        for (size_t pl = lo; pl < hi; pl++) /* the same bits as the two calls below (kern.h) */
            kern_maxpool2_avx2(j->y + pl * ohw, j->argmax ? j->argmax + pl * ohw : NULL, j->x + pl * hw, g->h,
                               g->w, j->relu);
        return;
    }
    pool_max_planes(j->y, j->argmax, j->x, g, lo, hi);
    if (j->relu)
        act_relu_forward(j->y + lo * ohw, j->y + lo * ohw, (hi - lo) * ohw);
}

static void pool_back_task(void *ctx, int task, int thread)
{
    (void)thread;
    const pool_job *j = ctx;
    size_t lo, hi;
    par_split(&lo, &hi, j->planes, task, POOL_PARTS, 1);
    pool_max_back_planes(j->dx, j->dy, j->cargmax, j->g, lo, hi);
}

static par_team *pool_team(const gemm_ctx *ctx, const pool_geom *g, size_t planes)
{
    return planes * (size_t)g->h * (size_t)g->w < POOL_PAR_MIN ? NULL : ctx->team;
}

void pool_max_forward_team(const gemm_ctx *ctx, float *y, int32_t *argmax, const float *x, const pool_geom *g,
                           int batch, bool relu)
{
    assert(ctx && y && x && g && batch >= 0);
    pool_job j = {.g = g, .y = y, .argmax = argmax, .x = x, .planes = (size_t)batch * (size_t)g->c,
                  .relu = relu, .avx2 = kern_has_avx2(kern_resolve(ctx->isa))};
    par_run(pool_team(ctx, g, j.planes), POOL_PARTS, pool_fwd_task, &j);
}

void pool_max_backward_team(const gemm_ctx *ctx, float *dx, const float *dy, const int32_t *argmax,
                            const pool_geom *g, int batch)
{
    if (!dx)
        return;
    assert(ctx && dy && argmax && g && batch >= 0);
    pool_job j = {.g = g, .dx = dx, .dy = dy, .cargmax = argmax, .planes = (size_t)batch * (size_t)g->c};
    par_run(pool_team(ctx, g, j.planes), POOL_PARTS, pool_back_task, &j);
}

void pool_avg_forward(float *y, const float *x, const pool_geom *g, int batch)
{
    assert(y && x && g && batch >= 0);
    const int k = g->k, s = g->stride, w = g->w;
    const size_t planes = (size_t)batch * (size_t)g->c, hw = (size_t)g->h * (size_t)w;
    const size_t ohw = (size_t)g->oh * (size_t)g->ow;
    const float scale = 1.0f / (float)(k * k);
    for (size_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * hw;
        float *yp = y + pl * ohw;
        for (int oy = 0; oy < g->oh; oy++) {
            for (int ox = 0; ox < g->ow; ox++) {
                float acc = 0.0f; /* k*k terms in row-major window order */
                for (int i = 0; i < k; i++) {
                    const float *row = xp + (oy * s + i) * w + ox * s;
                    for (int j = 0; j < k; j++)
                        acc += row[j];
                }
                yp[oy * g->ow + ox] = acc * scale;
            }
        }
    }
}

void pool_avg_backward(float *dx, const float *dy, const pool_geom *g, int batch)
{
    if (!dx)
        return;
    assert(dy && g && batch >= 0);
    const int k = g->k, s = g->stride, w = g->w;
    const size_t planes = (size_t)batch * (size_t)g->c, hw = (size_t)g->h * (size_t)w;
    const size_t ohw = (size_t)g->oh * (size_t)g->ow;
    const float scale = 1.0f / (float)(k * k);
    memset(dx, 0, planes * hw * sizeof *dx);
    for (size_t pl = 0; pl < planes; pl++) {
        float *dxp = dx + pl * hw;
        const float *dyp = dy + pl * ohw;
        for (int oy = 0; oy < g->oh; oy++) {
            for (int ox = 0; ox < g->ow; ox++) {
                const float v = dyp[oy * g->ow + ox] * scale;
                for (int i = 0; i < k; i++) {
                    float *row = dxp + (oy * s + i) * w + ox * s;
                    for (int j = 0; j < k; j++)
                        row[j] += v;
                }
            }
        }
    }
}
