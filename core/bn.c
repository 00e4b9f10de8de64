/* bn: batch normalization kernels (see bn.h for the formulas and the order of the sums). */
#include "bn.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>

#include "kern.h"

/* Below BN_PAR_MIN values a layer runs on the caller alone (a task switch costs more than it
 * saves); which thread runs a task never changes its result. With S = 1 a task takes
 * BN_BLOCK channels. */
#define BN_PAR_MIN 65536
enum { BN_BLOCK = 64 };

/* ((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7)): the partial sums' fixed tree (bn.h). */
static double bn_combine8(const double p[8])
{
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

/* ---- portable C of kern.h's kern_bn_*_avx2 (the same operations in the same order) ---- */

static void bn_sum8_c(double acc[8], const float *a, size_t stride, int segs, int s, bool sq, double mu)
{
    for (int b = 0; b < segs; b++) {
        const float *p = a + (size_t)b * stride;
        for (int i = 0; i < s; i++) {
            const double d = (double)p[i] - mu;
            acc[i % 8] += sq ? d * d : (double)p[i];
        }
    }
}

static void bn_dot8_c(double sdy[8], double sdyx[8], const float *dy, const float *xh, size_t stride, int segs,
                      int s)
{
    for (int b = 0; b < segs; b++) {
        const float *g = dy + (size_t)b * stride, *h = xh + (size_t)b * stride;
        for (int i = 0; i < s; i++) {
            sdy[i % 8] += (double)g[i];
            sdyx[i % 8] += (double)g[i] * (double)h[i];
        }
    }
}

static void bn_norm_c(float *y, float *xhat, const float *x, size_t stride, int segs, int s, double mu,
                      double istd, float g, float bt)
{
    for (int b = 0; b < segs; b++) {
        const size_t o = (size_t)b * stride;
        for (int i = 0; i < s; i++) {
            const float xh = (float)(((double)x[o + i] - mu) * istd);
            xhat[o + i] = xh;
            y[o + i] = g * xh + bt;
        }
    }
}

static void bn_dx_c(float *dx, const float *dy, const float *xh, size_t stride, int segs, int s, double k,
                    double mdy, double mdyx)
{
    for (int b = 0; b < segs; b++) {
        const size_t o = (size_t)b * stride;
        for (int i = 0; i < s; i++)
            dx[o + i] = (float)(k * (((double)dy[o + i] - mdy) - (double)xh[o + i] * mdyx));
    }
}

/* One layer call: the arguments of bn_forward_train, bn_forward_infer or bn_backward, and
 * the resolved kernel set. */
typedef struct bn_job {
    bool avx2;
    float *y, *xhat, *inv_std, *run_mean, *run_var; /* forward outputs */
    float *dx, *dgamma, *dbeta;                     /* backward outputs */
    const float *x, *dy, *xh, *gamma, *beta, *rmean, *rvar, *istd;
    int batch, c, s;
    float momentum, eps;
} bn_job;

/* Tasks of a layer: one per channel when S > 1, blocks of BN_BLOCK channels when S = 1; task
 * t covers channels [*c0, *c1). A function of the shape only. */
static int bn_tasks(int c, int s) { return s > 1 ? c : (c + BN_BLOCK - 1) / BN_BLOCK; }

static void bn_task_range(int *c0, int *c1, int task, int c, int s)
{
    const int per = s > 1 ? 1 : BN_BLOCK;
    *c0 = task * per;
    *c1 = *c0 + per < c ? *c0 + per : c;
}

static void bn_run(const gemm_ctx *ctx, par_fn fn, bn_job *j)
{
    const size_t n = (size_t)j->batch * (size_t)j->c * (size_t)j->s;
    par_run(n < BN_PAR_MIN ? NULL : ctx->team, bn_tasks(j->c, j->s), fn, j);
}

/* S = 1: the first channel *c0 of block `task`, and the block's channel count. */
static int bn_block(int *c0, const bn_job *j, int task)
{
    int c1;
    bn_task_range(c0, &c1, task, j->c, 1);
    return c1 - *c0;
}

/* inv_std and the running statistics of channel ch from its batch mean and variance; returns
 * the inverse standard deviation in double (what xhat uses). */
static double bn_finish_stats(const bn_job *j, int ch, double mu, double var)
{
    const double istd = 1.0 / sqrt(var + (double)j->eps);
    j->inv_std[ch] = (float)istd;
    j->run_mean[ch] = j->momentum * j->run_mean[ch] + (1.0f - j->momentum) * (float)mu;
    j->run_var[ch] = j->momentum * j->run_var[ch] + (1.0f - j->momentum) * (float)var;
    return istd;
}

/* S > 1: channel `task`, whole: the two statistics passes, then xhat and y. */
static void bn_train_channel_task(void *ctx, int task, int thread)
{
    (void)thread;
    const bn_job *j = ctx;
    const int ch = task, s = j->s;
    const size_t stride = (size_t)j->c * (size_t)s, off = (size_t)ch * (size_t)s;
    const double n = (double)j->batch * (double)s;
    double acc[8] = {0};
    (j->avx2 ? kern_bn_sum8_avx2 : bn_sum8_c)(acc, j->x + off, stride, j->batch, s, false, 0.0);
    const double mu = bn_combine8(acc) / n;
    double ss[8] = {0};
    (j->avx2 ? kern_bn_sum8_avx2 : bn_sum8_c)(ss, j->x + off, stride, j->batch, s, true, mu);
    const double istd = bn_finish_stats(j, ch, mu, bn_combine8(ss) / n);
    (j->avx2 ? kern_bn_norm_avx2 : bn_norm_c)(j->y + off, j->xhat + off, j->x + off, stride, j->batch, s, mu, istd,
                                              j->gamma[ch], j->beta[ch]);
}

/* S = 1: a block of channels, each summed in its partial 0 in increasing b (the rule of bn.h
 * with one value per segment), the batch swept row by row. */
static void bn_train_block_task(void *ctx, int task, int thread)
{
    (void)thread;
    const bn_job *j = ctx;
    int c0;
    const int m = bn_block(&c0, j, task);
    const double n = (double)j->batch;
    double sum[BN_BLOCK] = {0}, ss[BN_BLOCK] = {0}, mu[BN_BLOCK], istd[BN_BLOCK];
    for (int b = 0; b < j->batch; b++) {
        const float *xr = j->x + (size_t)b * (size_t)j->c + c0;
        for (int k = 0; k < m; k++)
            sum[k] += (double)xr[k];
    }
    for (int k = 0; k < m; k++)
        mu[k] = bn_combine8((const double[8]){sum[k]}) / n;
    for (int b = 0; b < j->batch; b++) {
        const float *xr = j->x + (size_t)b * (size_t)j->c + c0;
        for (int k = 0; k < m; k++) {
            const double d = (double)xr[k] - mu[k];
            ss[k] += d * d;
        }
    }
    for (int k = 0; k < m; k++)
        istd[k] = bn_finish_stats(j, c0 + k, mu[k], bn_combine8((const double[8]){ss[k]}) / n);
    for (int b = 0; b < j->batch; b++) {
        const size_t o = (size_t)b * (size_t)j->c + (size_t)c0;
        for (int k = 0; k < m; k++) {
            const float xh = (float)(((double)j->x[o + k] - mu[k]) * istd[k]);
            j->xhat[o + k] = xh;
            j->y[o + k] = j->gamma[c0 + k] * xh + j->beta[c0 + k];
        }
    }
}

void bn_forward_train(const gemm_ctx *ctx, float *y, float *xhat, float *inv_std, float *run_mean, float *run_var,
                      const float *x, const float *gamma, const float *beta, int batch, int c, int s,
                      float momentum, float eps)
{
    assert(ctx && y && xhat && inv_std && run_mean && run_var && x && gamma && beta);
    assert(batch >= 1 && c >= 1 && s >= 1 && eps > 0.0f);
    bn_job j = {.avx2 = kern_has_avx2(kern_resolve(ctx->isa)), .y = y, .xhat = xhat, .inv_std = inv_std,
                .run_mean = run_mean, .run_var = run_var, .x = x, .gamma = gamma, .beta = beta,
                .batch = batch, .c = c, .s = s, .momentum = momentum, .eps = eps};
    bn_run(ctx, s > 1 ? bn_train_channel_task : bn_train_block_task, &j);
}

/* The channels of a task at inference: y = scale*(x - mean) + beta with scale =
 * gamma/sqrt(var+eps), computed as scale*(x - mean) + beta to stay close to the training
 * formula. Each value is computed alone, so any split gives the same bits. */
static void bn_infer_task(void *ctx, int task, int thread)
{
    (void)thread;
    const bn_job *j = ctx;
    int c0, c1;
    bn_task_range(&c0, &c1, task, j->c, j->s);
    for (int b = 0; b < j->batch; b++)
        for (int ch = c0; ch < c1; ch++) {
            const float scale = (float)((double)j->gamma[ch] / sqrt((double)j->rvar[ch] + (double)j->eps));
            const float mean = j->rmean[ch], bt = j->beta[ch];
            const size_t o = ((size_t)b * (size_t)j->c + (size_t)ch) * (size_t)j->s;
            for (int i = 0; i < j->s; i++)
                j->y[o + i] = scale * (j->x[o + i] - mean) + bt;
        }
}

void bn_forward_infer(const gemm_ctx *ctx, float *y, const float *x, const float *gamma, const float *beta,
                      const float *run_mean, const float *run_var, int batch, int c, int s, float eps)
{
    assert(ctx && y && x && gamma && beta && run_mean && run_var);
    assert(batch >= 0 && c >= 1 && s >= 1 && eps > 0.0f);
    bn_job j = {.y = y, .x = x, .gamma = gamma, .beta = beta, .rmean = run_mean, .rvar = run_var,
                .batch = batch, .c = c, .s = s, .eps = eps};
    bn_run(ctx, bn_infer_task, &j);
}

/* S > 1: channel `task`, whole. */
static void bn_back_channel_task(void *ctx, int task, int thread)
{
    (void)thread;
    const bn_job *j = ctx;
    const int ch = task, s = j->s;
    const size_t stride = (size_t)j->c * (size_t)s, off = (size_t)ch * (size_t)s;
    const double n = (double)j->batch * (double)s;
    double a[8] = {0}, p[8] = {0};
    (j->avx2 ? kern_bn_dot8_avx2 : bn_dot8_c)(a, p, j->dy + off, j->xh + off, stride, j->batch, s);
    const double sdy = bn_combine8(a), sdyx = bn_combine8(p);
    j->dbeta[ch] += (float)sdy;
    j->dgamma[ch] += (float)sdyx;
    /* dx with k = gamma*inv_std, mean(dy) and mean(dy*xhat): the textbook's chain of dxc,
     * dstd, dvar, dmu folded into one line */
    if (j->dx)
        (j->avx2 ? kern_bn_dx_avx2 : bn_dx_c)(j->dx + off, j->dy + off, j->xh + off, stride, j->batch, s,
                                              (double)j->gamma[ch] * (double)j->istd[ch], sdy / n, sdyx / n);
}

/* S = 1: a block of channels (see bn_train_block_task). */
static void bn_back_block_task(void *ctx, int task, int thread)
{
    (void)thread;
    const bn_job *j = ctx;
    int c0;
    const int m = bn_block(&c0, j, task);
    const double n = (double)j->batch;
    double a[BN_BLOCK] = {0}, p[BN_BLOCK] = {0}, k[BN_BLOCK], mdy[BN_BLOCK], mdyx[BN_BLOCK];
    for (int b = 0; b < j->batch; b++) {
        const size_t o = (size_t)b * (size_t)j->c + (size_t)c0;
        for (int i = 0; i < m; i++) {
            a[i] += (double)j->dy[o + i];
            p[i] += (double)j->dy[o + i] * (double)j->xh[o + i];
        }
    }
    for (int i = 0; i < m; i++) {
        const double sdy = bn_combine8((const double[8]){a[i]}), sdyx = bn_combine8((const double[8]){p[i]});
        j->dbeta[c0 + i] += (float)sdy;
        j->dgamma[c0 + i] += (float)sdyx;
        k[i] = (double)j->gamma[c0 + i] * (double)j->istd[c0 + i];
        mdy[i] = sdy / n;
        mdyx[i] = sdyx / n;
    }
    if (!j->dx)
        return;
    for (int b = 0; b < j->batch; b++) {
        const size_t o = (size_t)b * (size_t)j->c + (size_t)c0;
        for (int i = 0; i < m; i++)
            j->dx[o + i] = (float)(k[i] * (((double)j->dy[o + i] - mdy[i]) - (double)j->xh[o + i] * mdyx[i]));
    }
}

void bn_backward(const gemm_ctx *ctx, float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat,
                 const float *inv_std, const float *gamma, int batch, int c, int s)
{
    assert(ctx && dgamma && dbeta && dy && xhat && inv_std && gamma && batch >= 1 && c >= 1 && s >= 1);
    bn_job j = {.avx2 = kern_has_avx2(kern_resolve(ctx->isa)), .dx = dx, .dgamma = dgamma, .dbeta = dbeta,
                .dy = dy, .xh = xhat, .istd = inv_std, .gamma = gamma, .batch = batch, .c = c, .s = s};
    bn_run(ctx, s > 1 ? bn_back_channel_task : bn_back_block_task, &j);
}
