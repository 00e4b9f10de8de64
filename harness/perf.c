/* perf: the measurements behind `bench perf` and the kernel choice of a training run (see
 * perf.h). */
#define _GNU_SOURCE /* RTLD_DEEPBIND */

#include "perf.h"

#include <assert.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "clock.h"
#include "gemm.h"
#include "optim.h"
#include "par.h"
#include "rng.h"
#include "table.h"
#include "training.h"

/* ---- the physical peak ---- */

/* The threads of one peak run wait at this gate until all are started (go) or one could not be
 * (abort). */
typedef struct perf_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state; /* 0 waiting, 1 go, 2 abort */
} perf_gate;

typedef struct perf_peak_thread {
    pthread_t tid;
    perf_gate *gate;
    kern_isa isa;
    long iters;
    double done_at; /* clock_wall() when its loop ended */
    float sink;     /* the loop's result, so that it cannot be dropped */
} perf_peak_thread;

static void *perf_peak_main(void *arg)
{
    perf_peak_thread *p = arg;
    pthread_mutex_lock(&p->gate->mu);
    while (p->gate->state == 0)
        pthread_cond_wait(&p->gate->cv, &p->gate->mu);
    const bool go = p->gate->state == 1;
    pthread_mutex_unlock(&p->gate->mu);
    if (go)
        p->sink = kern_fma_peak(p->isa, p->iters);
    p->done_at = clock_wall();
    return NULL;
}

static void perf_gate_open(perf_gate *g, int state)
{
    pthread_mutex_lock(&g->mu);
    g->state = state;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* GFLOP/s of `threads` threads each running kern_fma_peak(isa, iters) at once, from their
 * common start to the last one's end; 0 with an error in e when a thread cannot start. */
static double perf_peak_once(kern_isa isa, int threads, long iters, err_info *e)
{
    perf_peak_thread *t = calloc((size_t)threads, sizeof *t);
    if (!t) {
        err_set(e, ERR_NOMEM, "out of memory for %d peak threads", threads);
        return 0.0;
    }
    perf_gate gate = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    int started = 0;
    for (; started < threads; started++) {
        t[started] = (perf_peak_thread){.gate = &gate, .isa = isa, .iters = iters};
        const int rc = pthread_create(&t[started].tid, NULL, perf_peak_main, &t[started]);
        if (rc) {
            err_set(e, ERR_INVALID, "cannot start peak thread %d: %s", started + 1, strerror(rc));
            break;
        }
    }
    const double t0 = clock_wall();
    perf_gate_open(&gate, started == threads ? 1 : 2);
    double end = t0;
    for (int i = 0; i < started; i++) {
        pthread_join(t[i].tid, NULL);
        end = t[i].done_at > end ? t[i].done_at : end;
    }
    free(t);
    return started == threads && end > t0 ? threads * kern_peak_flops(isa, iters) / (end - t0) * 1e-9 : 0.0;
}

/* The best of 3 runs of about `seconds` each. */
static double perf_peak_best(kern_isa isa, int threads, double seconds, err_info *e)
{
    /* calibrate: iterations of about `seconds` on one thread */
    long iters = 1 << 16;
    for (;;) {
        const double t0 = clock_wall();
        volatile float sink = kern_fma_peak(isa, iters);
        (void)sink;
        const double dt = clock_wall() - t0;
        if (dt > seconds / 8 || iters > (1L << 40))
            break;
        iters *= 4;
    }
    const double t0 = clock_wall();
    volatile float sink = kern_fma_peak(isa, iters);
    (void)sink;
    const double dt = clock_wall() - t0;
    iters = (long)((double)iters * seconds / (dt > 0 ? dt : 1e-6));
    iters = iters < 1 ? 1 : iters;
    double best = 0.0;
    for (int rep = 0; rep < 3; rep++) {
        const double g = perf_peak_once(isa, threads, iters, e);
        if (g <= 0.0)
            return 0.0;
        best = g > best ? g : best;
    }
    return best;
}

int perf_peak_measure(perf_peak *out, int threads, err_info *e)
{
    assert(out && threads >= 1);
    *out = (perf_peak){.isa = kern_resolve(KERN_AUTO), .threads = threads};
    out->core_gflops = perf_peak_best(out->isa, 1, 0.1, e);
    if (out->core_gflops <= 0.0)
        return e && e->code ? e->code : ERR_INVALID;
    out->gflops = threads == 1 ? out->core_gflops : perf_peak_best(out->isa, threads, 0.1, e);
    return out->gflops > 0.0 ? 0 : (e && e->code ? e->code : ERR_INVALID);
}

int perf_peak_again(perf_peak *p, err_info *e)
{
    perf_peak q;
    int rc = perf_peak_measure(&q, p->threads, e);
    if (rc)
        return rc;
    p->core_gflops = q.core_gflops > p->core_gflops ? q.core_gflops : p->core_gflops;
    p->gflops = q.gflops > p->gflops ? q.gflops : p->gflops;
    return 0;
}

/* The peak's name as recorded: "fma-avx512", "fma-avx2", "sse". */
static const char *perf_peak_kind(kern_isa isa)
{
    return isa == KERN_AVX512 ? "fma-avx512" : isa == KERN_AVX2 ? "fma-avx2" : "sse";
}

/* ---- the SGEMM of each library ---- */

/* RTLD_DEEPBIND makes a loaded BLAS call its own functions rather than the linked BLIS's of the
 * same name; AddressSanitizer refuses it, and without it the libraries still time apart. */
#if defined(__SANITIZE_ADDRESS__)
#define PERF_DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PERF_DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL)
#endif
#endif
#ifndef PERF_DLOPEN_FLAGS
#define PERF_DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND)
#endif

/* cblas_sgemm, as OpenBLAS and BLIS both export it */
typedef void (*perf_cblas_sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                                    const float *a, int lda, const float *b, int ldb, float beta, float *c,
                                    int ldc);
enum { PERF_CBLAS_ROW_MAJOR = 101, PERF_CBLAS_NO_TRANS = 111, PERF_CBLAS_TRANS = 112 };

/* Load the BLAS in `file` (dlopen: the build does not depend on it) with `threads` threads:
 * *fn <- its cblas_sgemm, name <- "openblas-<core>" or "blis-<arch>" (the kernels it picked for
 * this CPU). false with a note when it is not installed or lacks a symbol. The library stays
 * loaded (unloading a BLAS with live threads is not safe). */
static bool perf_blas_open(perf_cblas_sgemm_fn *fn, char *name, size_t n_name, char *note, size_t n_note,
                           const char *file, bool openblas, int threads)
{
    void *dl = dlopen(file, PERF_DLOPEN_FLAGS);
    if (!dl) {
        snprintf(note, n_note, "not installed (%s)", file);
        return false;
    }
    /* the POSIX way to read a function pointer from dlsym */
    *(void **)fn = dlsym(dl, "cblas_sgemm");
    if (openblas) {
        void (*set)(int) = NULL;
        char *(*core)(void) = NULL;
        *(void **)&set = dlsym(dl, "openblas_set_num_threads");
        *(void **)&core = dlsym(dl, "openblas_get_corename");
        if (*fn && set && core) {
            set(threads);
            snprintf(name, n_name, "openblas-%s", core());
            return true;
        }
    } else {
        void (*set)(long) = NULL;
        int (*query)(void) = NULL;
        const char *(*arch)(int) = NULL;
        *(void **)&set = dlsym(dl, "bli_thread_set_num_threads");
        *(void **)&query = dlsym(dl, "bli_arch_query_id");
        *(void **)&arch = dlsym(dl, "bli_arch_string");
        if (*fn && set && query && arch) {
            set(threads);
            snprintf(name, n_name, "blis-%s", arch(query()));
            return true;
        }
    }
    snprintf(note, n_note, "no cblas_sgemm or thread control in %s", file);
    return false;
}

/* One candidate of the table: the core's gemm() with a kernel set, or a loaded cblas_sgemm. */
typedef struct perf_sgemm_lib {
    kern_isa isa;             /* own kernels, when cblas is NULL */
    perf_cblas_sgemm_fn cblas;
    par_team *team;
} perf_sgemm_lib;

static void perf_sgemm_run(const perf_sgemm_lib *l, const perf_shape *s, const float *a, const float *b, float *c)
{
    const int lda = s->trans_a ? s->m : s->k, ldb = s->trans_b ? s->k : s->n;
    if (l->cblas) {
        l->cblas(PERF_CBLAS_ROW_MAJOR, s->trans_a ? PERF_CBLAS_TRANS : PERF_CBLAS_NO_TRANS,
                 s->trans_b ? PERF_CBLAS_TRANS : PERF_CBLAS_NO_TRANS, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 0.0f,
                 c, s->n);
        return;
    }
    const gemm_ctx g = {.threads = par_threads(l->team), .isa = l->isa, .team = l->team};
    gemm(&g, s->trans_a, s->trans_b, s->m, s->n, s->k, a, lda, b, ldb, false, c, s->n);
}

/* The shapes: the n^3 product, then forward, weight gradient and (past the first layer) input
 * gradient of every affine layer of the model. */
static int perf_shapes(perf_shape *out, const net_config *cfg, const layer_spec *specs, int n_specs, int batch,
                       int size, err_info *e)
{
    int n = 0;
    out[n++] = (perf_shape){.m = size, .n = size, .k = size};
    snprintf(out[0].name, sizeof out[0].name, "%d^3", size);
    net_config c = *cfg;
    c.gemm.threads = 1;
    c.max_batch = batch;
    net *nt = NULL;
    int rc = net_new(&nt, &c, specs, n_specs, e);
    if (rc)
        return -1;
    for (int i = 0; i < n_specs && n + 3 <= PERF_MAX_SHAPES; i++) {
        if (specs[i].kind != LAYER_AFFINE)
            continue;
        int ic = c.c, ih = c.h, iw = c.w, oc, oh, ow;
        if (i > 0)
            net_layer_shape(nt, i - 1, &ic, &ih, &iw);
        net_layer_shape(nt, i, &oc, &oh, &ow);
        const int d = ic * ih * iw;
        out[n] = (perf_shape){.m = batch, .n = oc, .k = d};
        snprintf(out[n++].name, sizeof out[0].name, "%d->%d fwd", d, oc);
        out[n] = (perf_shape){.trans_a = true, .m = d, .n = oc, .k = batch};
        snprintf(out[n++].name, sizeof out[0].name, "%d->%d dW", d, oc);
        if (i > 0) {
            out[n] = (perf_shape){.trans_b = true, .m = batch, .n = d, .k = oc};
            snprintf(out[n++].name, sizeof out[0].name, "%d->%d dx", d, oc);
        }
    }
    net_free(nt);
    return n;
}

int perf_sgemm_measure(perf_sgemm *out, const net_config *cfg, const layer_spec *specs, int n_specs, int batch,
                       int threads, int size, err_info *e)
{
    memset(out, 0, sizeof *out);
    out->threads = threads;
    out->n_shapes = perf_shapes(out->shapes, cfg, specs, n_specs, batch, size, e);
    if (out->n_shapes < 0)
        return e->code;
    perf_sgemm_lib libs[PERF_MAX_LIBS] = {{0}};
    par_team *team = NULL;
    int rc = par_new(&team, threads, e);
    if (rc)
        return rc;
    /* the core's own kernels, per instruction set, then BLIS and OpenBLAS */
    const kern_isa best = kern_resolve(KERN_AUTO);
    const kern_isa own[] = {KERN_AVX512, KERN_AVX2};
    for (int i = 0; i < 2; i++) {
        perf_lib *l = &out->libs[out->n_libs];
        char gb[48];
        gemm_backend(gb, sizeof gb, own[i]);
        snprintf(l->name, sizeof l->name, "bench %s", gb);
        l->ok = kern_has_avx2(best) && own[i] <= best;
        if (!l->ok)
            snprintf(l->note, sizeof l->note, "this CPU has no %s", own[i] == KERN_AVX512 ? "AVX-512F" : "AVX2+FMA");
        libs[out->n_libs++] = (perf_sgemm_lib){.isa = own[i], .team = team};
    }
    static const struct {
        const char *file;
        bool openblas;
    } blas[] = {{"libblis.so.4", false}, {"libopenblas.so.0", true}};
    for (int i = 0; i < 2; i++) {
        perf_lib *l = &out->libs[out->n_libs];
        perf_sgemm_lib *x = &libs[out->n_libs++];
        snprintf(l->name, sizeof l->name, "%s", blas[i].openblas ? "openblas" : "blis");
        l->ok = perf_blas_open(&x->cblas, l->name, sizeof l->name, l->note, sizeof l->note, blas[i].file,
                               blas[i].openblas, threads);
    }
    size_t na = 0, nb = 0, nc = 0;
    for (int s = 0; s < out->n_shapes; s++) {
        const perf_shape *p = &out->shapes[s];
        na = (size_t)p->m * (size_t)p->k > na ? (size_t)p->m * (size_t)p->k : na;
        nb = (size_t)p->k * (size_t)p->n > nb ? (size_t)p->k * (size_t)p->n : nb;
        nc = (size_t)p->m * (size_t)p->n > nc ? (size_t)p->m * (size_t)p->n : nc;
    }
    float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *c = malloc(nc * sizeof *c);
    if (!a || !b || !c) {
        rc = err_set(e, ERR_NOMEM, "out of memory for the SGEMM operands");
        goto done;
    }
    for (size_t i = 0; i < na; i++)
        a[i] = (float)(i % 7) * 0.25f;
    for (size_t i = 0; i < nb; i++)
        b[i] = (float)(i % 5) * 0.5f;
    /* shapes outside, libraries inside: each shape's libraries are timed side by side */
    for (int s = 0; s < out->n_shapes; s++) {
        const perf_shape *p = &out->shapes[s];
        const double flops = 2.0 * p->m * (double)p->n * p->k;
        const int reps = flops > 1e9 ? 3 : 20;
        for (int l = 0; l < out->n_libs; l++)
            out->libs[l].ms[s] = INFINITY;
        for (int rep = 0; rep < reps; rep++)
            for (int l = 0; l < out->n_libs; l++) {
                if (!out->libs[l].ok)
                    continue;
                const double t0 = clock_wall();
                perf_sgemm_run(&libs[l], p, a, b, c);
                const double ms = (clock_wall() - t0) * 1e3;
                out->libs[l].ms[s] = ms < out->libs[l].ms[s] ? ms : out->libs[l].ms[s];
            }
    }
done:
    free(a);
    free(b);
    free(c);
    par_free(team);
    return rc;
}

/* ---- timing training steps ---- */

/* A network with its optimizer (Momentum, lr 0.1) and one batch buffer. */
typedef struct perf_net {
    net *net;
    optim *opt;
    float *x;   /* (B,C,H,W) */
    uint8_t *y; /* (B) */
    int batch;
    size_t img; /* floats per image */
} perf_net;

static void perf_net_free(perf_net *r)
{
    net_free(r->net);
    optim_free(r->opt);
    free(r->x);
    free(r->y);
    memset(r, 0, sizeof *r);
}

static int perf_net_new(perf_net *r, const net_config *cfg, const layer_spec *specs, int n_specs, err_info *e)
{
    memset(r, 0, sizeof *r);
    r->batch = cfg->max_batch;
    r->img = (size_t)cfg->c * (size_t)cfg->h * (size_t)cfg->w;
    int rc = net_new(&r->net, cfg, specs, n_specs, e);
    if (rc)
        return rc;
    net_init_params(r->net, 1);
    optim_config oc = optim_defaults(OPTIM_MOMENTUM);
    oc.lr = 0.1f;
    if ((rc = optim_new(&r->opt, &oc, net_param_count(r->net), e)) != 0)
        goto fail;
    r->x = malloc((size_t)r->batch * r->img * sizeof *r->x);
    r->y = malloc((size_t)r->batch);
    if (r->x && r->y)
        return 0;
    rc = err_set(e, ERR_NOMEM, "out of memory for the benchmark batch");
fail:
    perf_net_free(r);
    return rc;
}

/* Fill the batch: uniform pixels in [0,1) and labels, or images of d drawn with replacement. */
static void perf_fill(perf_net *r, const dataset *d, rng *g, int classes)
{
    if (d) {
        uint32_t idx[256];
        for (int start = 0; start < r->batch; start += 256) {
            const int k = r->batch - start < 256 ? r->batch - start : 256;
            for (int b = 0; b < k; b++)
                idx[b] = rng_below(g, (uint32_t)d->n);
            dataset_gather(r->x + (size_t)start * r->img, r->y + start, d, idx, 0, k);
        }
        return;
    }
    for (size_t i = 0; i < (size_t)r->batch * r->img; i++)
        r->x[i] = (float)rng_uniform(g);
    for (int b = 0; b < r->batch; b++)
        r->y[b] = (uint8_t)rng_below(g, (uint32_t)classes);
}

/* One training iteration on the batch; with optim_s, the optimizer's step alone is timed and
 * its seconds added there (the layers are timed by the net's hook). */
static void perf_step_once(perf_net *r, double *optim_s)
{
    net_forward(r->net, r->x, r->y, r->batch, true);
    net_backward(r->net, r->y, r->batch);
    const double t0 = optim_s ? clock_wall() : 0.0;
    optim_step_par(r->opt, net_params(r->net), net_grads(r->net), net_decay_mask(r->net), net_param_count(r->net),
                   net_get_config(r->net)->gemm.team);
    if (optim_s)
        *optim_s += clock_wall() - t0;
}

/* Seconds per iteration over `iters` iterations, each on a fresh batch filled outside the
 * timed region. With cost, what they cost this process (timing.h), refills included, is added
 * there. */
static double perf_time(perf_net *r, const dataset *d, rng *g, int classes, int iters, timing_span *cost)
{
    double total = 0.0;
    timing_mark a, b;
    if (cost)
        timing_mark_now(&a);
    for (int i = 0; i < iters; i++) {
        perf_fill(r, d, g, classes);
        const double t0 = clock_wall();
        perf_step_once(r, NULL);
        total += clock_wall() - t0;
    }
    if (cost) {
        timing_mark_now(&b);
        const timing_span s = timing_span_between(&a, &b);
        timing_span_add(cost, &s);
    }
    return total / iters;
}

/* ---- the kernel choice ---- */

int perf_choose(perf_choice *out, kern_isa want, const net_config *cfg, const layer_spec *specs, int n_specs,
                err_info *e)
{
    memset(out, 0, sizeof *out);
    const kern_isa best = kern_resolve(KERN_AUTO);
    if (want != KERN_AUTO) {
        out->isa = kern_resolve(want);
        snprintf(out->why, sizeof out->why, "%s: forced (asked for %s)", kern_isa_name(out->isa), kern_isa_name(want));
        return 0;
    }
    if (!kern_has_avx2(best)) {
        out->isa = KERN_GENERIC;
        char gb[48];
        gemm_backend(gb, sizeof gb, KERN_GENERIC);
        snprintf(out->why, sizeof out->why, "generic: this CPU has no AVX2+FMA (portable C, %s)", gb);
        return 0;
    }
    if (best == KERN_AVX2) {
        out->isa = KERN_AVX2;
        snprintf(out->why, sizeof out->why, "avx2: no AVX-512F on this CPU, the only set of own kernels it runs");
        return 0;
    }
    /* AVX-512 and AVX2 compute the same fma chains (the same bits): time both on the model */
    out->n = 2;
    out->cand[0] = KERN_AVX512;
    out->cand[1] = KERN_AVX2;
    perf_net r[PERF_MAX_ISAS];
    memset(r, 0, sizeof r);
    int rc = 0;
    for (int i = 0; i < out->n && rc == 0; i++) {
        net_config c = *cfg;
        c.gemm.isa = out->cand[i];
        rc = perf_net_new(&r[i], &c, specs, n_specs, e);
    }
    if (rc == 0) {
        rng g;
        rng_init(&g, 11, RNG_STREAM_SAMPLE);
        for (int i = 0; i < out->n; i++) {
            out->ms[i] = INFINITY;
            perf_time(&r[i], NULL, &g, cfg->classes, 2, NULL); /* warm-up */
        }
        for (int round = 0; round < 3; round++)
            for (int i = 0; i < out->n; i++) {
                const double ms = perf_time(&r[i], NULL, &g, cfg->classes, 3, NULL) * 1e3;
                out->ms[i] = ms < out->ms[i] ? ms : out->ms[i];
            }
        const int w = out->ms[1] < out->ms[0] ? 1 : 0;
        out->isa = out->cand[w];
        snprintf(out->why, sizeof out->why, "%s: a training step in %.2f ms against %.2f ms with %s (best of 3, timed here)",
                 kern_isa_name(out->isa), out->ms[w], out->ms[1 - w], kern_isa_name(out->cand[1 - w]));
    }
    for (int i = 0; i < out->n; i++)
        perf_net_free(&r[i]);
    return rc;
}

/* ---- the per-layer profile ---- */

/* Accumulated time of every step, indexed by its first layer (the loss is n_layers, the
 * optimizer's step n_layers + 1, its time added by perf_step_once). */
typedef struct perf_prof {
    double started[2][PERF_MAX_STEPS]; /* [backward][first] */
    double total[2][PERF_MAX_STEPS];
    int last[PERF_MAX_STEPS];          /* last layer of the step starting at first */
    bool seen[PERF_MAX_STEPS];
} perf_prof;

static void perf_hook(void *ctx, int first, int last, bool backward, bool after)
{
    perf_prof *p = ctx;
    if (first < 0 || first >= PERF_MAX_STEPS)
        return;
    const double now = clock_wall();
    if (!after) {
        p->started[backward][first] = now;
        return;
    }
    p->total[backward][first] += now - p->started[backward][first];
    p->last[first] = last;
    p->seen[first] = true;
}

/* best takes each step's time from p where p's is lower, or where best has not seen it. */
static void perf_prof_keep_fastest(perf_prof *best, const perf_prof *p)
{
    for (int i = 0; i < PERF_MAX_STEPS; i++) {
        if (!p->seen[i])
            continue;
        for (int b = 0; b < 2; b++)
            if (!best->seen[i] || p->total[b][i] < best->total[b][i])
                best->total[b][i] = p->total[b][i];
        best->last[i] = p->last[i];
        best->seen[i] = true;
    }
}

/* Flops of one image through layer i: forward, and backward (parameter plus input gradients;
 * the first layer computes no input gradient). 0 for the memory-bound layers. */
static void perf_layer_flops(double *fwd, double *bwd, const net *n, const layer_spec *specs, int i)
{
    const net_config *cfg = net_get_config(n);
    int ic = cfg->c, ih = cfg->h, iw = cfg->w, oc, oh, ow;
    if (i > 0)
        net_layer_shape(n, i - 1, &ic, &ih, &iw);
    net_layer_shape(n, i, &oc, &oh, &ow);
    double macs = 0.0;
    if (specs[i].kind == LAYER_CONV)
        macs = (double)oc * oh * ow * ic * specs[i].size * specs[i].size;
    else if (specs[i].kind == LAYER_AFFINE)
        macs = (double)ic * ih * iw * oc;
    *fwd = 2.0 * macs;
    *bwd = 2.0 * macs * (i > 0 ? 2.0 : 1.0);
}

/* out's steps from the hook's totals over iters iterations of batch B. */
static void perf_steps_from(perf_result *out, const perf_prof *p, const net *nt, const layer_spec *specs,
                            int n_specs, double iters)
{
    const double B = (double)net_get_config(nt)->max_batch;
    out->n_steps = 0;
    out->flops = 0.0;
    for (int i = 0; i <= n_specs + 1 && i < PERF_MAX_STEPS; i++) {
        if (!p->seen[i])
            continue;
        perf_step *s = &out->steps[out->n_steps++];
        memset(s, 0, sizeof *s);
        s->step = i;
        if (i == n_specs) {
            snprintf(s->layers, sizeof s->layers, "softmax-xent");
        } else if (i == n_specs + 1) {
            snprintf(s->layers, sizeof s->layers, "momentum-step");
        } else {
            for (int j = i; j <= p->last[i]; j++) {
                const size_t len = strlen(s->layers);
                snprintf(s->layers + len, sizeof s->layers - len, "%s%s", j > i ? "+" : "",
                         layer_kind_name(specs[j].kind));
                double f, b;
                perf_layer_flops(&f, &b, nt, specs, j);
                s->fwd_flops += f * B;
                s->bwd_flops += b * B;
            }
        }
        s->fwd_ms = p->total[0][i] / iters * 1e3;
        s->bwd_ms = p->total[1][i] / iters * 1e3;
        out->flops += s->fwd_flops + s->bwd_flops;
    }
}

/* ---- PyTorch ---- */

const char *perf_torch_python(void)
{
    static const char *const pythons[] = {"python3", "/usr/bin/python3"};
    for (size_t i = 0; i < sizeof pythons / sizeof pythons[0]; i++) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "%s -c 'import torch' >/dev/null 2>&1", pythons[i]);
        if (system(cmd) == 0)
            return pythons[i];
    }
    return NULL;
}

/* One repetition of scripts/torch_bench.py over its thread settings (1 and N): the seconds per
 * epoch of its fastest setting (NAN when it reported none), that setting's header line into
 * setting. Its output goes to log as it comes. */
static double perf_torch_rep(const perf_options *o, char *setting, size_t n_setting, FILE *log, err_info *e)
{
    char cmd[8192], threads[32];
    if (o->threads > 1)
        snprintf(threads, sizeof threads, "1,%d", o->threads);
    else
        snprintf(threads, sizeof threads, "1");
    snprintf(cmd, sizeof cmd, "%s '%s/scripts/torch_bench.py' --threads %s --batch %d --iters %d", o->python,
             BENCH_SOURCE_DIR, threads, o->batch, o->iters);
    if (log) {
        fprintf(log, "%s\n", cmd);
        fflush(log);
    }
    FILE *p = popen(cmd, "r");
    if (!p) {
        err_set(e, ERR_IO, "cannot run scripts/torch_bench.py: %s", strerror(errno));
        return NAN;
    }
    /* a setting's header "torch 1.13.1, 2 threads, ..." then "  seconds per epoch (600
     * iterations): 1.23 s" */
    double best = NAN;
    char line[1024], head[256] = "";
    while (fgets(line, sizeof line, p)) {
        if (log)
            fputs(line, log);
        if (strncmp(line, "torch ", 6) == 0) {
            const char *cut = strstr(line, ", batch");
            snprintf(head, sizeof head, "%.*s", cut ? (int)(cut - line) : (int)strcspn(line, "\n"), line);
        }
        const char *k = strstr(line, "seconds per epoch (");
        const char *colon = k ? strstr(k, "): ") : NULL;
        char *end;
        const double v = colon ? strtod(colon + 3, &end) : NAN;
        if (colon && end != colon + 3 && (isnan(best) || v < best)) {
            best = v;
            snprintf(setting, n_setting, "%s", head);
        }
    }
    if (log)
        fflush(log);
    if (pclose(p) != 0) {
        err_set(e, ERR_IO, "scripts/torch_bench.py failed");
        return NAN;
    }
    return best;
}

/* ---- the whole measurement ---- */

static int perf_cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* min, median and max of v[0..n) (finite values only); all NAN when there is none. */
static perf_spread perf_spread_of(const double *v, int n)
{
    double s[PERF_MAX_REPS];
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i]))
            s[k++] = v[i];
    if (k == 0)
        return (perf_spread){NAN, NAN, NAN};
    qsort(s, (size_t)k, sizeof s[0], perf_cmp_double);
    return (perf_spread){s[0], k % 2 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2, s[k - 1]};
}

int perf_measure(perf_result *out, const perf_options *o, FILE *log, err_info *e)
{
    assert(out && o && o->threads >= 1 && o->iters >= 1 && o->batch >= 1 && o->reps >= 1);
    assert(o->run && o->run->train.batch == o->batch);
    memset(out, 0, sizeof *out);
    const layer_spec *specs = o->run->layers;
    const int n_specs = o->run->n_layers, classes = o->run->classes;
    /* the run's network as training builds it; the kernel set chosen as every run's is
     * (training_choose_kernels), unless --kernels forces one */
    net_config cfg = training_net_config(o->run, o->threads, KERN_AUTO);
    cfg.unfused = o->unfused;
    int rc = perf_choose(&out->choice, o->isa, &cfg, specs, n_specs, e);
    if (rc)
        return rc;
    cfg.gemm.isa = out->choice.isa;
    perf_net par = {0}, one = {0};
    if ((rc = perf_net_new(&par, &cfg, specs, n_specs, e)) != 0)
        return rc;
    snprintf(out->kernels, sizeof out->kernels, "%s", net_kernels(par.net));
    if (o->threads > 1) {
        net_config c1 = cfg;
        c1.gemm.threads = 1;
        if ((rc = perf_net_new(&one, &c1, specs, n_specs, e)) != 0)
            goto done;
    }
    const int64_t per_epoch = o->epoch_images / o->batch;
    out->iters_per_epoch = (double)(per_epoch > 0 ? per_epoch : 1);
    out->reps = o->reps < PERF_MAX_REPS ? o->reps : PERF_MAX_REPS;
    rng g;
    rng_init(&g, 7, RNG_STREAM_SAMPLE);
    perf_time(&par, o->train, &g, classes, 5, NULL); /* warm-up */
    if (one.net)
        perf_time(&one, o->train, &g, classes, 5, NULL);
    /* the repetitions: N threads, 1 thread, PyTorch, in turn */
    double torch_best = INFINITY;
    /* the per-layer profile, one pass of iterations of its own per repetition (the hook's clock
     * reads stay out of the whole-step figures); each step keeps its fastest pass, as the whole
     * step keeps its fastest repetition. The optimizer's step, outside the net, is the last row. */
    const int opt_step = n_specs + 1;
    perf_prof best;
    memset(&best, 0, sizeof best);
    for (int rep = 0; rep < out->reps; rep++) {
        out->iter_s[rep] = perf_time(&par, o->train, &g, classes, o->iters, &out->time);
        perf_prof prof;
        memset(&prof, 0, sizeof prof);
        net_set_hook(par.net, perf_hook, &prof);
        for (int i = 0; i < o->iters; i++) {
            perf_fill(&par, o->train, &g, classes);
            perf_step_once(&par, &prof.total[1][opt_step]);
        }
        net_set_hook(par.net, NULL, NULL);
        prof.last[opt_step] = opt_step;
        prof.seen[opt_step] = true;
        perf_prof_keep_fastest(&best, &prof);
        out->iter1_s[rep] =
            one.net ? perf_time(&one, o->train, &g, classes, o->iters, &out->time1) : out->iter_s[rep];
        if (o->torch) {
            char setting[64] = "";
            out->torch_s[rep] = perf_torch_rep(o, setting, sizeof setting, log, e);
            if (e->code) {
                rc = e->code;
                goto done;
            }
            out->torch_reps++;
            if (out->torch_s[rep] < torch_best) { /* false for NAN */
                torch_best = out->torch_s[rep];
                snprintf(out->torch_setting, sizeof out->torch_setting, "%s", setting);
            }
        }
    }
    double epoch[PERF_MAX_REPS], epoch1[PERF_MAX_REPS];
    for (int rep = 0; rep < out->reps; rep++) {
        epoch[rep] = out->iter_s[rep] * out->iters_per_epoch;
        epoch1[rep] = out->iter1_s[rep] * out->iters_per_epoch;
    }
    out->epoch = perf_spread_of(epoch, out->reps);
    out->epoch1 = perf_spread_of(epoch1, out->reps);
    out->torch = perf_spread_of(out->torch_s, out->torch_reps);
    if (!one.net)
        out->time1 = out->time;

    perf_steps_from(out, &best, par.net, specs, n_specs, (double)o->iters);

    /* evaluation of 10,000 images in inference mode, in batches of B */
    const double t0 = clock_wall();
    for (int start = 0; start < 10000; start += o->batch) {
        const int b = 10000 - start < o->batch ? 10000 - start : o->batch;
        if (o->test && start + b <= o->test->n)
            dataset_gather(par.x, par.y, o->test, NULL, start, b);
        net_forward(par.net, par.x, NULL, b, false);
    }
    out->eval_s = clock_wall() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    out->peak_rss_bytes = (int64_t)ru.ru_maxrss * 1024;
done:
    perf_net_free(&par);
    perf_net_free(&one);
    return rc;
}

/* ---- output ---- */

/* GFLOP/s of a product of flops in ms; NAN when there is nothing to count. */
static double perf_gflops(double flops, double ms) { return flops > 0 && ms > 0 ? flops / (ms * 1e-3) * 1e-9 : NAN; }

static double perf_shape_flops(const perf_shape *p) { return 2.0 * p->m * (double)p->n * p->k; }

/* The per-step profile as records: step, layers, fwd/bwd ms, GFLOP/s and % of the peak. */
static const char *const perf_step_cols[] = {"step", "layers", "fwd_ms", "bwd_ms", "fwd_gflops", "bwd_gflops",
                                             "fwd_pct_peak", "bwd_pct_peak"};
enum { PERF_STEP_COLS = sizeof perf_step_cols / sizeof perf_step_cols[0] };

static json_t *perf_step_records(const perf_result *r, double peak)
{
    json_t *a = json_array();
    for (int k = 0; a && k < r->n_steps; k++) {
        const perf_step *v = &r->steps[k];
        const double gf = perf_gflops(v->fwd_flops, v->fwd_ms), gb = perf_gflops(v->bwd_flops, v->bwd_ms);
        json_array_append_new(a, json_pack("{s:i, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "step", v->step, "layers",
                                           v->layers, "fwd_ms", table_json_num(v->fwd_ms), "bwd_ms",
                                           table_json_num(v->bwd_ms), "fwd_gflops", table_json_num(gf),
                                           "bwd_gflops", table_json_num(gb), "fwd_pct_peak",
                                           table_json_num(100.0 * gf / peak), "bwd_pct_peak",
                                           table_json_num(100.0 * gb / peak)));
    }
    return a;
}

/* What timed iterations cost (timing.h), with the contended verdict. */
static json_t *perf_cost_json(const timing_span *s)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:b}", "wall_s", table_json_num(s->wall_s), "cpu_s",
                     table_json_num(s->cpu_s), "wait_s", table_json_num(s->wait_s), "nivcsw",
                     s->nivcsw < 0 ? json_null() : json_integer(s->nivcsw), "contended", timing_contended(s));
}

static json_t *perf_spread_json(const perf_spread *s)
{
    return json_pack("{s:o, s:o, s:o}", "min", table_json_num(s->min), "median", table_json_num(s->median), "max",
                     table_json_num(s->max));
}

/* The whole report as one JSON document (bench perf --format json). */
static json_t *perf_json(const perf_options *o, const perf_peak *peak, const perf_sgemm *sg, const perf_result *r)
{
    json_t *libs = json_array(), *shapes = json_array();
    for (int l = 0; sg && libs && l < sg->n_libs; l++)
        json_array_append_new(libs, json_pack("{s:s, s:b, s:o}", "name", sg->libs[l].name, "measured",
                                              sg->libs[l].ok, "note", table_json_text(sg->libs[l].note)));
    for (int k = 0; sg && shapes && k < sg->n_shapes; k++) {
        const perf_shape *p = &sg->shapes[k];
        json_t *ms = json_object();
        for (int l = 0; ms && l < sg->n_libs; l++)
            json_object_set_new(ms, sg->libs[l].name, table_json_num(sg->libs[l].ok ? sg->libs[l].ms[k] : NAN));
        json_array_append_new(shapes, json_pack("{s:s, s:i, s:i, s:i, s:b, s:b, s:o}", "shape", p->name, "m", p->m,
                                                "n", p->n, "k", p->k, "trans_a", p->trans_a, "trans_b", p->trans_b,
                                                "ms", ms));
    }
    const double it = r->epoch.min / r->iters_per_epoch, it1 = r->epoch1.min / r->iters_per_epoch;
    const bool torch = o->torch && r->torch_reps > 0 && !isnan(r->torch.min);
    const double best = r->epoch.min < r->epoch1.min || o->threads == 1 ? r->epoch.min : r->epoch1.min;
    return json_pack("{s:i, s:s, s:i, s:i, s:i, s:i, s:{s:s, s:o, s:o}, s:s, s:s, s:{s:o, s:o}, s:o, s:{s:o, "
                     "s:o, s:o, s:o}, s:{s:o, s:o, s:o}, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                     "format", 1, "model", o->model, "threads", o->threads, "batch", o->batch, "iterations", o->iters,
                     "reps", r->reps, "peak", "kind", perf_peak_kind(peak->isa), "gflops_1_thread",
                     table_json_num(peak->core_gflops), "gflops", table_json_num(peak->gflops), "kernels",
                     r->kernels, "kernel_choice", r->choice.why, "sgemm", "libraries", libs, "shapes", shapes,
                     "steps", perf_step_records(r, peak->gflops), "iteration", "ms", table_json_num(it * 1e3),
                     "gflops", table_json_num(r->flops / it * 1e-9), "pct_peak",
                     table_json_num(100.0 * r->flops / it * 1e-9 / peak->gflops), "images_per_s",
                     table_json_num(o->batch / it), "iteration_1_thread", "ms",
                     table_json_num(o->threads > 1 ? it1 * 1e3 : NAN), "gflops",
                     table_json_num(o->threads > 1 ? r->flops / it1 * 1e-9 : NAN), "pct_peak",
                     table_json_num(o->threads > 1 ? 100.0 * r->flops / it1 * 1e-9 / peak->core_gflops : NAN),
                     "timed_iterations", perf_cost_json(&r->time), "timed_iterations_1_thread",
                     o->threads > 1 ? perf_cost_json(&r->time1) : json_null(),
                     "epoch_s", perf_spread_json(&r->epoch), "epoch_s_1_thread",
                     o->threads > 1 ? perf_spread_json(&r->epoch1) : json_null(), "torch_epoch_s",
                     torch ? json_pack("{s:o, s:o, s:o, s:s}", "min", table_json_num(r->torch.min), "median",
                                       table_json_num(r->torch.median), "max", table_json_num(r->torch.max),
                                       "setting", r->torch_setting)
                           : json_null(),
                     "bench_over_torch", table_json_num(torch ? best / r->torch.min : NAN), "eval_s",
                     table_json_num(r->eval_s), "peak_rss_bytes", json_integer(r->peak_rss_bytes));
}

/* The SGEMM table: a row per product, a column per library, "ms (% of the peak)". */
static int perf_sgemm_table(FILE *f, table_format fmt, const perf_peak *peak, const perf_sgemm *sg, err_info *e)
{
    const char *cols[1 + PERF_MAX_LIBS];
    char heads[PERF_MAX_LIBS][72];
    cols[0] = "<shape";
    for (int l = 0; l < sg->n_libs; l++) {
        snprintf(heads[l], sizeof heads[l], ">%s", sg->libs[l].name);
        cols[1 + l] = heads[l];
    }
    table t;
    table_init(&t, cols, 1 + sg->n_libs);
    int rc = 0;
    for (int k = 0; k < sg->n_shapes && rc == 0; k++) {
        const perf_shape *p = &sg->shapes[k];
        char cells[1 + PERF_MAX_LIBS][48];
        const char *row[1 + PERF_MAX_LIBS];
        snprintf(cells[0], sizeof cells[0], "%s", p->name);
        for (int l = 0; l < sg->n_libs; l++) {
            const perf_lib *lib = &sg->libs[l];
            if (lib->ok)
                snprintf(cells[1 + l], sizeof cells[1 + l], "%.3f (%.0f%%)", lib->ms[k],
                         100.0 * perf_gflops(perf_shape_flops(p), lib->ms[k]) / peak->gflops);
            else
                snprintf(cells[1 + l], sizeof cells[1 + l], "-");
        }
        for (int c = 0; c <= sg->n_libs; c++)
            row[c] = cells[c];
        rc = table_row(&t, row, e);
    }
    return table_finish(f, &t, fmt, "  ", rc);
}

/* The per-step table against the peak. */
static int perf_step_table(FILE *f, table_format fmt, const perf_peak *peak, const perf_result *r, err_info *e)
{
    static const char *const cols[] = {">step", "<layers", ">fwd ms", ">bwd ms", ">fwd GFLOP/s", ">bwd GFLOP/s",
                                       ">fwd % peak", ">bwd % peak"};
    table t;
    table_init(&t, cols, PERF_STEP_COLS);
    int rc = 0;
    for (int k = 0; k < r->n_steps && rc == 0; k++) {
        const perf_step *v = &r->steps[k];
        const double gf = perf_gflops(v->fwd_flops, v->fwd_ms), gb = perf_gflops(v->bwd_flops, v->bwd_ms);
        char c[PERF_STEP_COLS][64];
        snprintf(c[0], sizeof c[0], "%d", v->step);
        snprintf(c[1], sizeof c[1], "%s", v->layers);
        table_cell_num(c[2], sizeof c[2], "%.3f", v->fwd_ms);
        table_cell_num(c[3], sizeof c[3], "%.3f", v->bwd_ms);
        table_cell_num(c[4], sizeof c[4], "%.1f", gf);
        table_cell_num(c[5], sizeof c[5], "%.1f", gb);
        table_cell_num(c[6], sizeof c[6], "%.1f%%", 100.0 * gf / peak->gflops);
        table_cell_num(c[7], sizeof c[7], "%.1f%%", 100.0 * gb / peak->gflops);
        const char *row[PERF_STEP_COLS];
        for (int i = 0; i < PERF_STEP_COLS; i++)
            row[i] = c[i];
        rc = table_row(&t, row, e);
    }
    return table_finish(f, &t, fmt, "", rc);
}

/* One line on what the timed iterations at `threads` threads cost and how contended they were
 * (timing.h). */
static void perf_print_cost(FILE *f, int threads, const timing_span *s, const char *par)
{
    fprintf(f,
            "timed iterations, %d thread%s: %.2f s cpu, run-queue wait %.0f%% of it, %lld involuntary "
            "switches%s\n%s",
            threads, threads > 1 ? "s" : "", s->cpu_s, 100.0 * timing_wait_share(s), (long long)s->nivcsw,
            timing_contended(s) ? ": CONTENDED, other processes held the CPUs (not the code's speed)" : "", par);
}

int perf_print(FILE *f, table_format fmt, const perf_options *o, const perf_peak *peak, const perf_sgemm *sg,
               const perf_result *r, err_info *e)
{
    if (fmt == TABLE_JSON)
        return table_json_write(f, perf_json(o, peak, sg, r), e);
    if (fmt == TABLE_CSV) {
        json_t *recs = perf_step_records(r, peak->gflops);
        if (!recs)
            return err_set(e, ERR_NOMEM, "out of memory");
        table_records_csv(f, perf_step_cols, PERF_STEP_COLS, recs);
        json_decref(recs);
        return 0;
    }
    const int nt = o->threads;
    const char *par = fmt == TABLE_MD ? "\n" : ""; /* Markdown: each line its own paragraph */
    fprintf(f,
            "physical peak (%s loop, kern_fma_peak, best before and after): %.1f GFLOP/s on 1 thread, %.1f "
            "GFLOP/s on %d thread%s\n%s",
            perf_peak_kind(peak->isa), peak->core_gflops, peak->gflops, nt, nt > 1 ? "s" : "", par);
    fprintf(f, "kernels: %s\n%s", r->kernels, par);
    fprintf(f, "kernel choice: %s\n", r->choice.why);
    int rc = 0;
    if (sg && sg->n_shapes > 0) {
        fprintf(f, "\nSGEMM on %d thread%s, ms (%% of the physical peak); each library picks its own kernels:\n%s", nt,
                nt > 1 ? "s" : "", par);
        if ((rc = perf_sgemm_table(f, fmt, peak, sg, e)))
            return rc;
        for (int l = 0; l < sg->n_libs; l++)
            if (!sg->libs[l].ok)
                fprintf(f, "%s  %s: %s\n", par, sg->libs[l].name, sg->libs[l].note);
    }
    fprintf(f, "\nper step on %d thread%s, the fastest of %d profile passes of %d iterations each (timed through the "
               "net's hook, apart from the whole iterations below):\n%s",
            nt, nt > 1 ? "s" : "", r->reps, o->iters, par);
    if ((rc = perf_step_table(f, fmt, peak, r, e)))
        return rc;
    const double it = r->epoch.min / r->iters_per_epoch, gflops = r->flops / it * 1e-9;
    fprintf(f, "\nwhole iteration: %.3f ms (forward, backward, Momentum step; fastest repetition)\n%s", it * 1e3,
            par);
    fprintf(f, "overall: %.1f GFLOP/s = %.1f%% of the physical peak on %d thread%s, %.0f images/s\n%s", gflops,
            100.0 * gflops / peak->gflops, nt, nt > 1 ? "s" : "", o->batch / it, par);
    if (nt > 1) {
        const double it1 = r->epoch1.min / r->iters_per_epoch, g1 = r->flops / it1 * 1e-9;
        fprintf(f, "1 thread: %.1f GFLOP/s = %.1f%% of the physical peak on 1 thread\n%s", g1,
                100.0 * g1 / peak->core_gflops, par);
    }
    fprintf(f, "\nseconds per epoch (%.0f iterations of %d), min / median / max of %d alternated repetition%s:\n%s",
            r->iters_per_epoch, o->batch, r->reps, r->reps > 1 ? "s" : "", par);
    const char *item = fmt == TABLE_MD ? "- " : "  ";
    fprintf(f, "%s%d thread%s: %.2f / %.2f / %.2f s\n", item, nt, nt > 1 ? "s" : "", r->epoch.min, r->epoch.median,
            r->epoch.max);
    if (nt > 1)
        fprintf(f, "%s1 thread: %.2f / %.2f / %.2f s\n", item, r->epoch1.min, r->epoch1.median, r->epoch1.max);
    if (o->torch) {
        if (r->torch_reps > 0 && !isnan(r->torch.min)) {
            fprintf(f, "%sPyTorch, its fastest setting (%s): %.2f / %.2f / %.2f s\n", item, r->torch_setting,
                    r->torch.min, r->torch.median, r->torch.max);
            const double best = r->epoch.min < r->epoch1.min || nt == 1 ? r->epoch.min : r->epoch1.min;
            fprintf(f, "%sbench / PyTorch, fastest of each: %.3f (%.2f s against %.2f s)\n", item,
                    best / r->torch.min, best, r->torch.min);
        } else {
            fprintf(f, "%sPyTorch: no figure (see its output above)\n", item);
        }
    }
    fputc('\n', f);
    perf_print_cost(f, nt, &r->time, par);
    if (nt > 1)
        perf_print_cost(f, 1, &r->time1, par);
    fprintf(f, "\nevaluation of 10,000 images: %.3f s (%d thread%s)\n%s", r->eval_s, nt, nt > 1 ? "s" : "", par);
    fprintf(f, "peak RSS: %.0f MiB%s\n", (double)r->peak_rss_bytes / (1024.0 * 1024.0),
            o->train ? " (the data set loaded)" : "");
    return 0;
}

/* ---- the record ---- */

int perf_record(store *s, int64_t ids[2], int *n_ids, const perf_options *o, const perf_peak *peak,
                const perf_sgemm *sg, const perf_result *r, const data_source *src, const prov_build_info *build,
                const prov_host_info *host, const double load[2], err_info *e)
{
    store_perf_step steps[PERF_MAX_STEPS];
    for (int k = 0; k < r->n_steps; k++) {
        const perf_step *v = &r->steps[k];
        const double gf = v->fwd_flops > 0 ? v->fwd_flops / (v->fwd_ms * 1e-3) * 1e-9 : NAN;
        const double gb = v->fwd_flops > 0 && v->bwd_ms > 0 ? v->bwd_flops / (v->bwd_ms * 1e-3) * 1e-9 : NAN;
        steps[k] = (store_perf_step){
            .step = v->step, .layers = v->layers, .fwd_ms = v->fwd_ms, .bwd_ms = v->bwd_ms, .fwd_gflops = gf,
            .bwd_gflops = gb, .fwd_pct_peak = 100.0 * gf / peak->gflops, .bwd_pct_peak = 100.0 * gb / peak->gflops,
        };
    }
    store_perf_sgemm rows[PERF_MAX_SHAPES * PERF_MAX_LIBS];
    int n_rows = 0;
    for (int l = 0; sg && l < sg->n_libs; l++)
        for (int k = 0; k < sg->n_shapes && sg->libs[l].ok; k++) {
            const perf_shape *p = &sg->shapes[k];
            rows[n_rows++] = (store_perf_sgemm){
                .library = sg->libs[l].name, .shape = p->name, .m = p->m, .n = p->n, .k = p->k,
                .trans_a = p->trans_a, .trans_b = p->trans_b, .ms = sg->libs[l].ms[k],
                .gflops = 2.0 * p->m * (double)p->n * p->k / (sg->libs[l].ms[k] * 1e-3) * 1e-9,
            };
        }
    const double it = r->epoch.min / r->iters_per_epoch, gflops = r->flops / it * 1e-9;
    char kernel_set[16];
    snprintf(kernel_set, sizeof kernel_set, "%s", kern_isa_name(o->isa));
    store_perf m[2];
    m[0] = (store_perf){
        .data = src ? src->name : "synthetic", .threads = o->threads, .iterations = o->iters, .batch = o->batch,
        .kernel_set = kernel_set, .unfused = o->unfused, .kernels = r->kernels,
        .peak_size = sg && sg->n_shapes ? sg->shapes[0].m : 0, .peak_kind = perf_peak_kind(peak->isa),
        .peak_gflops = peak->gflops, .peak_core_gflops = peak->core_gflops, .kernel_choice = r->choice.why,
        .iter_ms = it * 1e3, .gflops = gflops, .pct_peak = 100.0 * gflops / peak->gflops,
        .images_per_s = o->batch / it, .epoch_s = r->epoch.min, .reps = r->reps, .epoch_s_median = r->epoch.median,
        .epoch_s_max = r->epoch.max, .eval_s = r->eval_s, .peak_rss_bytes = r->peak_rss_bytes,
        .load_before = load[0], .load_after = load[1], .torch_epoch_s = o->torch ? r->torch.min : NAN,
        .torch_epoch_s_median = o->torch ? r->torch.median : NAN, .torch_epoch_s_max = o->torch ? r->torch.max : NAN,
        .torch_setting = o->torch && r->torch_setting[0] ? r->torch_setting : NULL, .cpu_s = r->time.cpu_s,
        .wait_s = r->time.wait_s, .nivcsw = r->time.nivcsw, .n_steps = r->n_steps, .steps = steps,
        .n_sgemm = n_rows, .sgemm = rows,
    };
    *n_ids = o->threads > 1 ? 2 : 1;
    if (o->threads > 1) {
        /* the 1-thread timing of the same repetitions: the whole iteration only */
        const double it1 = r->epoch1.min / r->iters_per_epoch, g1 = r->flops / it1 * 1e-9;
        m[1] = m[0];
        m[1].threads = 1;
        m[1].peak_gflops = peak->core_gflops;
        m[1].iter_ms = it1 * 1e3;
        m[1].gflops = g1;
        m[1].pct_peak = 100.0 * g1 / peak->core_gflops;
        m[1].images_per_s = o->batch / it1;
        m[1].epoch_s = r->epoch1.min;
        m[1].epoch_s_median = r->epoch1.median;
        m[1].epoch_s_max = r->epoch1.max;
        m[1].cpu_s = r->time1.cpu_s;
        m[1].wait_s = r->time1.wait_s;
        m[1].nivcsw = r->time1.nivcsw;
        m[1].eval_s = NAN;
        m[1].torch_epoch_s = m[1].torch_epoch_s_median = m[1].torch_epoch_s_max = NAN;
        m[1].torch_setting = NULL;
        m[1].n_steps = m[1].n_sgemm = 0;
        m[1].steps = NULL;
        m[1].sgemm = NULL;
    }
    int64_t bid = 0, hid = 0, did = 0;
    int rc = store_begin(s, e);
    if (rc)
        return rc;
    rc = prov_store(s, &bid, &hid, build, host, e);
    if (rc == 0 && src) {
        store_dataset sd = {src->name, src->dir, src->id, 0};
        rc = store_dataset_put(s, &did, &sd, e);
    }
    for (int i = 0; i < *n_ids && rc == 0; i++) {
        m[i].build_id = bid;
        m[i].host_id = hid;
        m[i].dataset_id = did;
        rc = store_perf_put(s, &ids[i], &m[i], e);
    }
    if (rc == 0)
        return store_commit(s, e);
    store_rollback(s, NULL);
    return rc;
}
