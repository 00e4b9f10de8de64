/* bench perf: how fast the training core runs the paper's network on this machine.
 *
 * Times whole training iterations (forward, backward, Momentum step) and, through the net's
 * profiling hook, every layer (a fused group counts as one step), then prints milliseconds per
 * batch, achieved GFLOP/s against a measured peak (a large SGEMM through the same gemm() and
 * thread count), images per second, seconds per epoch for 1 and N threads, the evaluation time
 * of 10,000 test images and the peak RSS. Synthetic data by default (no MNIST needed); --data
 * times on MNIST batches drawn as in training. --torch runs scripts/torch_bench.py beside it.
 * Figures are measurements, never asserted anywhere: the load of the machine is printed with
 * them. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clock.h"
#include "cmd.h"
#include "data.h"
#include "models.h"
#include "optim.h"
#include "rng.h"

static const char perf_usage[] =
    "usage: bench perf [options]\n"
    "\n"
    "Time the paper's network (Lee & Rhee 2024): per-layer forward/backward milliseconds per\n"
    "batch, GFLOP/s against a measured SGEMM peak, images/s, seconds per 600-iteration epoch\n"
    "for 1 and N threads, evaluation of 10,000 images, peak RSS.\n"
    "\n"
    "  --threads N       threads of the run (default: all cores)\n"
    "  --iters N         timed iterations per measurement (default 100)\n"
    "  --batch N         mini-batch size (default 100)\n"
    "  --data            time on MNIST batches instead of synthetic data\n"
    "  --dataset NAME    data set for --data (default mnist)\n"
    "  --data-dir DIR    where the data sets are (default: $BENCH_DATA_DIR, then ./data)\n"
    "  --kernels NAME    auto (default) or generic (the BLAS im2col path, for comparison)\n"
    "  --unfused         run every layer on its own (no conv+relu+maxpool fusion)\n"
    "  --peak-size N     n of the n^3 SGEMM that measures the peak (default 2000)\n"
    "  --torch           also run scripts/torch_bench.py when python3 can import torch\n"
    "  -h, --help        this help\n";

enum { OPT_THREADS = 256, OPT_ITERS, OPT_BATCH, OPT_DATA, OPT_DATASET, OPT_DATA_DIR, OPT_KERNELS,
       OPT_UNFUSED, OPT_TORCH, OPT_PEAK_SIZE };

static const struct option perf_options[] = {
    {"threads", required_argument, NULL, OPT_THREADS},
    {"iters", required_argument, NULL, OPT_ITERS},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"data", no_argument, NULL, OPT_DATA},
    {"dataset", required_argument, NULL, OPT_DATASET},
    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
    {"kernels", required_argument, NULL, OPT_KERNELS},
    {"unfused", no_argument, NULL, OPT_UNFUSED},
    {"torch", no_argument, NULL, OPT_TORCH},
    {"peak-size", required_argument, NULL, OPT_PEAK_SIZE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct perf_opts {
    long threads, iters, batch, peak_size;
    bool data, unfused, torch;
    const char *dataset, *data_dir;
    kern_isa isa;
} perf_opts;

enum { PERF_MAX_STEPS = MODELS_MAX_LAYERS + 1 };

/* Accumulated time of every step, indexed by its first layer (the loss is n_layers). */
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
    double now = clock_wall();
    if (!after) {
        p->started[backward][first] = now;
        return;
    }
    p->total[backward][first] += now - p->started[backward][first];
    p->last[first] = last;
    p->seen[first] = true;
}

static int perf_parse_long(long *out, const char *opt, const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return cmd_usage_error("perf", "--%s: '%s' is not a whole number in [%ld, %ld]", opt, s, lo, hi);
    *out = v;
    return 0;
}

static int perf_parse(perf_opts *o, int argc, char **argv, bool *help)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (perf_opts){.threads = cores > 0 ? cores : 1, .iters = 100, .batch = 100, .peak_size = 2000, .dataset = "mnist",
                     .isa = KERN_AUTO};
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", perf_options, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'h': *help = true; return 0;
        case OPT_THREADS: rc = perf_parse_long(&o->threads, "threads", optarg, 1, 256); break;
        case OPT_ITERS: rc = perf_parse_long(&o->iters, "iters", optarg, 1, 1000000); break;
        case OPT_BATCH: rc = perf_parse_long(&o->batch, "batch", optarg, 1, 65536); break;
        case OPT_DATA: o->data = true; break;
        case OPT_DATASET: o->dataset = optarg; o->data = true; break;
        case OPT_DATA_DIR: o->data_dir = optarg; break;
        case OPT_UNFUSED: o->unfused = true; break;
        case OPT_TORCH: o->torch = true; break;
        case OPT_PEAK_SIZE: rc = perf_parse_long(&o->peak_size, "peak-size", optarg, 16, 20000); break;
        case OPT_KERNELS:
            if (strcmp(optarg, "auto") == 0)
                o->isa = KERN_AUTO;
            else if (strcmp(optarg, "generic") == 0)
                o->isa = KERN_GENERIC;
            else
                return cmd_usage_error("perf", "--kernels: unknown kernel set '%s' (valid: auto, generic)",
                                       optarg);
            break;
        default: return cmd_bad_option("perf", argv);
        }
        if (rc)
            return rc;
    }
    if (optind < argc)
        return cmd_usage_error("perf", "unexpected argument '%s'", argv[optind]);
    return 0;
}

/* Measured peak: the best of 3 products C(n,n) = A . B (n = 2000 by default) through gemm()
 * (2 n^3 flops each), in GFLOP/s. */
static double perf_peak(int n, int threads, err_info *e)
{
    const size_t nn = (size_t)n * (size_t)n;
    float *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c);
    double best = 0.0;
    if (!a || !b || !c) {
        err_set(e, ERR_NOMEM, "out of memory for the peak measurement");
        goto done;
    }
    for (size_t i = 0; i < nn; i++) {
        a[i] = (float)(i % 7) * 0.25f;
        b[i] = (float)(i % 5) * 0.5f;
    }
    const gemm_ctx g = {.threads = threads};
    for (int rep = 0; rep < 3; rep++) {
        double t0 = clock_wall();
        gemm(&g, false, false, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double dt = clock_wall() - t0;
        double gf = 2.0 * n * (double)n * n / dt * 1e-9;
        if (gf > best)
            best = gf;
    }
done:
    free(a);
    free(b);
    free(c);
    return best;
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

typedef struct perf_run {
    net *net;
    optim *opt;
    float *x;     /* (B,1,28,28) */
    uint8_t *y;   /* (B) */
    perf_prof prof;
} perf_run;

/* One training iteration on the batch in r. */
static void perf_iteration(perf_run *r, int batch)
{
    net_forward(r->net, r->x, r->y, batch, true);
    net_backward(r->net, r->y, batch);
    optim_step_threads(r->opt, net_params(r->net), net_grads(r->net), net_decay_mask(r->net),
                       net_param_count(r->net), net_get_config(r->net)->gemm.threads);
}

/* Fill r's batch: synthetic pixels in [0,1) and labels, or MNIST images drawn with replacement. */
static void perf_fill(perf_run *r, const dataset *d, rng *g, int batch, size_t img)
{
    if (d) {
        uint32_t idx[1024];
        for (int start = 0; start < batch; start += 1024) {
            int k = batch - start < 1024 ? batch - start : 1024;
            for (int b = 0; b < k; b++)
                idx[b] = rng_below(g, (uint32_t)d->n);
            dataset_gather(r->x + (size_t)start * img, r->y + start, d, idx, 0, k);
        }
        return;
    }
    for (size_t i = 0; i < (size_t)batch * img; i++)
        r->x[i] = (float)rng_uniform(g);
    for (int b = 0; b < batch; b++)
        r->y[b] = (uint8_t)rng_below(g, 10);
}

static int perf_run_new(perf_run *r, const perf_opts *o, int threads, const layer_spec *specs, int n_specs,
                        err_info *e)
{
    memset(r, 0, sizeof *r);
    net_config nc = net_config_default();
    nc.max_batch = (int)o->batch;
    nc.gemm.threads = threads;
    nc.gemm.isa = o->isa;
    nc.unfused = o->unfused;
    int rc = net_new(&r->net, &nc, specs, n_specs, e);
    if (rc)
        return rc;
    net_init_params(r->net, 1);
    optim_config oc = optim_defaults(OPTIM_MOMENTUM);
    oc.lr = 0.1f;
    if ((rc = optim_new(&r->opt, &oc, net_param_count(r->net), e)) != 0)
        return rc;
    r->x = malloc((size_t)o->batch * 784 * sizeof *r->x);
    r->y = malloc((size_t)o->batch);
    if (!r->x || !r->y)
        return err_set(e, ERR_NOMEM, "out of memory for the benchmark batch");
    return 0;
}

static void perf_run_free(perf_run *r)
{
    net_free(r->net);
    optim_free(r->opt);
    free(r->x);
    free(r->y);
}

/* Seconds per iteration over o->iters iterations after 5 warm-up ones; batches are refilled
 * outside the timed region. */
static double perf_time_iters(perf_run *r, const perf_opts *o, const dataset *d, rng *g)
{
    const int B = (int)o->batch;
    for (int i = 0; i < 5; i++) {
        perf_fill(r, d, g, B, 784);
        perf_iteration(r, B);
    }
    double total = 0.0;
    for (long i = 0; i < o->iters; i++) {
        perf_fill(r, d, g, B, 784);
        double t0 = clock_wall();
        perf_iteration(r, B);
        total += clock_wall() - t0;
    }
    return total / (double)o->iters;
}

/* Run scripts/torch_bench.py with the first python3 that imports torch. */
static void perf_torch(const perf_opts *o)
{
    static const char *const pythons[] = {"python3", "/usr/bin/python3"};
    for (size_t i = 0; i < sizeof pythons / sizeof pythons[0]; i++) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "%s -c 'import torch' >/dev/null 2>&1", pythons[i]);
        if (system(cmd) != 0)
            continue;
        snprintf(cmd, sizeof cmd, "%s '%s/scripts/torch_bench.py' --threads %ld --batch %ld --iters %ld",
                 pythons[i], BENCH_SOURCE_DIR, o->threads, o->batch, o->iters);
        printf("\nPyTorch (%s):\n", cmd);
        fflush(stdout);
        if (system(cmd) != 0)
            cmd_error("scripts/torch_bench.py failed");
        return;
    }
    printf("\nPyTorch: no python3 here can import torch (Debian: apt-get install python3-torch)\n");
}

int cmd_perf(int argc, char **argv)
{
    perf_opts o;
    bool help = false;
    int rc = perf_parse(&o, argc, argv, &help);
    if (rc)
        return rc;
    if (help) {
        fputs(perf_usage, stdout);
        return CMD_OK;
    }
    err_info e = {0};
    int status = CMD_FAIL;
    data_source src;
    dataset train = {0}, test = {0};
    perf_run par = {0}, one = {0};
    const model_preset *preset;
    if (models_find(&preset, "paper", &e))
        goto fail;
    layer_spec specs[MODELS_MAX_LAYERS];
    const int n_specs = models_layers(specs, MODELS_MAX_LAYERS, preset, 10, true);
    if (o.data) {
        if (data_open(&src, o.dataset, o.data_dir, &e) || data_load(&train, &test, &src, &e))
            goto fail;
        if (train.c != 1 || train.h != 28 || train.w != 28 || src.classes != 10) {
            err_set(&e, ERR_INVALID, "'%s' is not a 1x28x28, 10-class data set", o.dataset);
            goto fail;
        }
    }
    const dataset *d = o.data ? &train : NULL;

    double load[3] = {0};
    FILE *lf = fopen("/proc/loadavg", "r");
    if (lf) {
        if (fscanf(lf, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
            load[0] = load[1] = load[2] = -1.0;
        fclose(lf);
    }
    const int nt = (int)o.threads;
    if (perf_run_new(&par, &o, nt, specs, n_specs, &e))
        goto fail;
    printf("bench perf: the paper's network, batch %ld, %ld timed iterations, %s data\n", o.batch, o.iters,
           o.data ? o.dataset : "synthetic");
    printf("kernels: %s\n", net_kernels(par.net));
    printf("load average before: %.2f %.2f %.2f (figures are only meaningful on a quiet machine)\n", load[0],
           load[1], load[2]);
    const double peak = perf_peak((int)o.peak_size, nt, &e);
    if (peak <= 0.0)
        goto fail;
    printf("measured peak: %.1f GFLOP/s (SGEMM %ld^3 through gemm(), %d thread%s)\n\n", peak, o.peak_size, nt,
           nt > 1 ? "s" : "");

    rng g;
    rng_init(&g, 7, RNG_STREAM_SAMPLE);
    const double it_par = perf_time_iters(&par, &o, d, &g);

    /* per-layer profile, in separate iterations so the hook's clock reads do not bias it_par */
    memset(&par.prof, 0, sizeof par.prof);
    net_set_hook(par.net, perf_hook, &par.prof);
    for (long i = 0; i < o.iters; i++) {
        perf_fill(&par, d, &g, (int)o.batch, 784);
        perf_iteration(&par, (int)o.batch);
    }
    net_set_hook(par.net, NULL, NULL);
    const double B = (double)o.batch, iters = (double)o.iters;
    printf("%-26s %9s %9s %9s %9s %7s %7s\n", "step (layers)", "fwd ms", "bwd ms", "fwd GF/s", "bwd GF/s",
           "fwd %pk", "bwd %pk");
    double flops_total = 0.0;
    for (int i = 0; i <= n_specs; i++) {
        if (!par.prof.seen[i])
            continue;
        char name[64] = "";
        if (i == n_specs) {
            snprintf(name, sizeof name, "softmax-xent");
        } else {
            for (int j = i; j <= par.prof.last[i]; j++) {
                size_t len = strlen(name);
                snprintf(name + len, sizeof name - len, "%s%s", j > i ? "+" : "", layer_kind_name(specs[j].kind));
            }
        }
        double ff = 0.0, fb = 0.0;
        for (int j = i; i < n_specs && j <= par.prof.last[i]; j++) {
            double a, b;
            perf_layer_flops(&a, &b, par.net, specs, j);
            ff += a;
            fb += b;
        }
        ff *= B;
        fb *= B;
        flops_total += ff + fb;
        const double tf = par.prof.total[0][i] / iters, tb = par.prof.total[1][i] / iters;
        if (ff > 0.0)
            printf("%2d %-23s %9.3f %9.3f %9.1f %9.1f %6.1f%% %6.1f%%\n", i, name, tf * 1e3, tb * 1e3,
                   ff / tf * 1e-9, tb > 0 ? fb / tb * 1e-9 : 0.0, 100.0 * ff / tf * 1e-9 / peak,
                   tb > 0 ? 100.0 * fb / tb * 1e-9 / peak : 0.0);
        else
            printf("%2d %-23s %9.3f %9.3f %9s %9s %7s %7s\n", i, name, tf * 1e3, tb * 1e3, "-", "-", "-", "-");
    }
    printf("%-26s %9.3f ms per iteration (forward, backward, Momentum step)\n", "whole iteration",
           it_par * 1e3);
    printf("overall: %.1f GFLOP/s = %.1f%% of peak, %.0f images/s\n\n", flops_total / it_par * 1e-9,
           100.0 * flops_total / it_par * 1e-9 / peak, B / it_par);

    /* 1 thread (when N > 1) */
    double it_one = it_par;
    if (nt > 1) {
        if (perf_run_new(&one, &o, 1, specs, n_specs, &e))
            goto fail;
        it_one = perf_time_iters(&one, &o, d, &g);
    }
    const double iters_epoch = 60000.0 / B;
    if (nt > 1)
        printf("seconds per epoch (%.0f iterations of %ld): %.2f s with 1 thread, %.2f s with %d threads\n",
               iters_epoch, o.batch, it_one * iters_epoch, it_par * iters_epoch, nt);
    else
        printf("seconds per epoch (%.0f iterations of %ld): %.2f s with 1 thread\n", iters_epoch, o.batch,
               it_one * iters_epoch);

    /* evaluation of 10,000 images in inference mode, in batches of B */
    const dataset *ev = o.data ? &test : NULL;
    double t0 = clock_wall();
    for (int start = 0; start < 10000; start += (int)o.batch) {
        int b = 10000 - start < o.batch ? 10000 - start : (int)o.batch;
        if (ev && start + b <= ev->n)
            dataset_gather(par.x, par.y, ev, NULL, start, b);
        net_forward(par.net, par.x, NULL, b, false);
    }
    const double t_eval = clock_wall() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("evaluation of 10,000 images: %.3f s (%d thread%s)\n", t_eval, nt, nt > 1 ? "s" : "");
    printf("peak RSS: %.0f MiB%s\n", ru.ru_maxrss / 1024.0, o.data ? " (MNIST loaded)" : "");
    lf = fopen("/proc/loadavg", "r");
    if (lf) {
        if (fscanf(lf, "%lf %lf %lf", &load[0], &load[1], &load[2]) == 3)
            printf("load average after: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
        fclose(lf);
    }
    fflush(stdout);
    if (o.torch)
        perf_torch(&o);
    status = CMD_OK;
    goto done;
fail:
    cmd_fail(&e);
done:
    perf_run_free(&par);
    perf_run_free(&one);
    dataset_release(&train);
    dataset_release(&test);
    return status;
}
