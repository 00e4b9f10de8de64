/* pool: max and average pooling kernels (see pool.h). */
#include "pool.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

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

void pool_max_forward(float *y, int32_t *argmax, const float *x, const pool_geom *g, int batch)
{
    assert(y && x && g && batch >= 0);
    if (g->k == 2 && g->stride == 2) {
        const size_t planes = (size_t)batch * (size_t)g->c, hw = (size_t)g->h * (size_t)g->w;
        const size_t ohw = (size_t)g->oh * (size_t)g->ow;
        for (size_t pl = 0; pl < planes; pl++)
            pool_max_2x2(y + pl * ohw, argmax ? argmax + pl * ohw : NULL, x + pl * hw, g);
        return;
    }
    const int k = g->k, s = g->stride, w = g->w;
    const size_t planes = (size_t)batch * (size_t)g->c, hw = (size_t)g->h * (size_t)w;
    const size_t ohw = (size_t)g->oh * (size_t)g->ow;
    for (size_t pl = 0; pl < planes; pl++) {
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

void pool_max_backward(float *dx, const float *dy, const int32_t *argmax, const pool_geom *g, int batch)
{
    if (!dx)
        return;
    assert(dy && argmax && g && batch >= 0);
    const size_t planes = (size_t)batch * (size_t)g->c, hw = (size_t)g->h * (size_t)g->w;
    const size_t ohw = (size_t)g->oh * (size_t)g->ow;
    memset(dx, 0, planes * hw * sizeof *dx);
    for (size_t pl = 0; pl < planes; pl++) {
        float *dxp = dx + pl * hw;
        const float *dyp = dy + pl * ohw;
        const int32_t *ap = argmax + pl * ohw;
        for (size_t o = 0; o < ohw; o++) {
            assert(ap[o] >= 0 && (size_t)ap[o] < hw);
            dxp[ap[o]] += dyp[o];
        }
    }
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
