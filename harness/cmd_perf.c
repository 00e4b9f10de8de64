/* bench perf: how fast the training core runs the paper's network on this machine.
 *
 * Times whole training iterations (forward, backward, Momentum step) and, through the net's
 * profiling hook, every layer (a fused group counts as one step), and the Momentum step on its
 * own (the last row, so that the rows account for the iteration), then prints milliseconds per
 * batch, achieved GFLOP/s against a measured peak (a large SGEMM through the same gemm() and
 * thread count), images per second, seconds per epoch for 1 and N threads, the evaluation time
 * of 10,000 test images and the peak RSS. Synthetic data by default (no MNIST needed); --data
 * times on MNIST batches drawn as in training. --torch runs scripts/torch_bench.py beside it.
 * Figures are measurements, never asserted anywhere: the load of the machine is printed with
 * them.
 *
 * Every invocation is also recorded in the results database (--db, unless --no-store), like
 * a run: one measurement per thread count (the N-thread one with its per-step rows, and with
 * N > 1 a 1-thread one holding the whole-iteration figures that were timed at 1 thread), with
 * the build, host and data set, in one transaction. `bench history --perf` reads them back
 * per git revision. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <math.h>

#include "clock.h"
#include "cmd.h"
#include "data.h"
#include "models.h"
#include "optim.h"
#include "prov.h"
#include "revision.h" /* generated at build time: BENCH_GIT_HEAD */
#include "rng.h"
#include "store.h"
#include "timing.h"
#include "training.h"

static const char perf_usage[] =
    "usage: bench perf [options]\n"
    "\n"
    "Time the paper's network (Lee & Rhee 2024): per-layer forward/backward milliseconds per\n"
    "batch, GFLOP/s against a measured SGEMM peak, images/s, seconds per 600-iteration epoch\n"
    "for 1 and N threads, evaluation of 10,000 images, peak RSS.\n"
    "\n"
    "  --threads N       threads of the run (default: the CPUs it may use)\n"
    "  --iters N         timed iterations per measurement (default 100)\n"
    "  --batch N         mini-batch size (default 100)\n"
    "  --data            time on MNIST batches instead of synthetic data\n"
    "  --dataset NAME    data set for --data (default mnist)\n"
    "  --data-dir DIR    where the data sets are (default: $BENCH_DATA_DIR, then ./data)\n"
    "  --kernels NAME    auto (default) or generic (the BLAS im2col path, for comparison)\n"
    "  --unfused         run every layer on its own (no conv+relu+maxpool fusion)\n"
    "  --peak-size N     n of the n^3 SGEMM that measures the peak (default 2000)\n"
    "  --torch           also run scripts/torch_bench.py when python3 can import torch\n"
    "  --db PATH         record the measurements in this results database\n"
    "                    (default results/bench.db; `bench history --perf` shows them)\n"
    "  --no-store        only print, record nothing\n"
    "  -h, --help        this help\n"
    "\n"
    "Each thread count measured is recorded as one measurement (with N > 1 threads, the\n"
    "1-thread one holds only its whole-iteration figures), with the build and host, like a\n"
    "run; like `bench run`, recording refuses a bench built from another commit than HEAD.\n";

enum { OPT_THREADS = 256, OPT_ITERS, OPT_BATCH, OPT_DATA, OPT_DATASET, OPT_DATA_DIR, OPT_KERNELS,
       OPT_UNFUSED, OPT_TORCH, OPT_PEAK_SIZE, OPT_DB, OPT_NO_STORE };

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
    {"db", required_argument, NULL, OPT_DB},
    {"no-store", no_argument, NULL, OPT_NO_STORE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct perf_opts {
    long threads, iters, batch, peak_size;
    bool data, unfused, torch, no_store, db_given;
    const char *dataset, *data_dir, *db;
    kern_isa isa;
} perf_opts;

/* The kernel sets --kernels accepts, by the name recorded with a measurement. */
static const struct perf_kernel_set {
    const char *name;
    kern_isa isa;
} perf_kernel_sets[] = {{"auto", KERN_AUTO}, {"generic", KERN_GENERIC}};
enum { PERF_N_KERNEL_SETS = sizeof perf_kernel_sets / sizeof perf_kernel_sets[0] };

static const char *perf_kernel_set_name(kern_isa isa)
{
    for (int i = 0; i < PERF_N_KERNEL_SETS; i++)
        if (perf_kernel_sets[i].isa == isa)
            return perf_kernel_sets[i].name;
    return "?";
}

enum { PERF_MAX_STEPS = MODELS_MAX_LAYERS + 2 };

/* Accumulated time of every step, indexed by its first layer (the loss is n_layers; the
 * optimizer's step is n_layers + 1, in total[1], added by perf_iteration). */
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

static int perf_parse(perf_opts *o, int argc, char **argv, bool *help)
{
    *o = (perf_opts){.threads = prov_cpus_usable(), .iters = 100, .batch = 100, .peak_size = 2000, .dataset = "mnist",
                     .db = "results/bench.db", .isa = KERN_AUTO};
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", perf_options, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'h': *help = true; return 0;
        case OPT_THREADS: rc = cmd_parse_long(&o->threads, "perf", "threads", optarg, 1, 256); break;
        case OPT_ITERS: rc = cmd_parse_long(&o->iters, "perf", "iters", optarg, 1, 1000000); break;
        case OPT_BATCH: rc = cmd_parse_long(&o->batch, "perf", "batch", optarg, 1, 65536); break;
        case OPT_DATA: o->data = true; break;
        case OPT_DATASET: o->dataset = optarg; o->data = true; break;
        case OPT_DATA_DIR: o->data_dir = optarg; break;
        case OPT_UNFUSED: o->unfused = true; break;
        case OPT_TORCH: o->torch = true; break;
        case OPT_PEAK_SIZE: rc = cmd_parse_long(&o->peak_size, "perf", "peak-size", optarg, 16, 20000); break;
        case OPT_DB: o->db = optarg; o->db_given = true; break;
        case OPT_NO_STORE: o->no_store = true; break;
        case OPT_KERNELS: {
            int k = 0;
            while (k < PERF_N_KERNEL_SETS && strcmp(optarg, perf_kernel_sets[k].name) != 0)
                k++;
            if (k == PERF_N_KERNEL_SETS)
                return cmd_usage_error("perf", "--kernels: unknown kernel set '%s' (valid: auto, generic)",
                                       optarg);
            o->isa = perf_kernel_sets[k].isa;
            break;
        }
        default: return cmd_bad_option("perf", argv);
        }
        if (rc)
            return rc;
    }
    if (optind < argc)
        return cmd_usage_error("perf", "unexpected argument '%s'", argv[optind]);
    if (o->no_store && o->db_given)
        return cmd_usage_error("perf", "--no-store records nothing: drop --db '%s' or --no-store", o->db);
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

/* One training iteration on the batch in r; with optim_s, the optimizer's step alone is timed
 * and its seconds added there (the net's layers have the profiling hook). */
static void perf_iteration(perf_run *r, int batch, double *optim_s)
{
    net_forward(r->net, r->x, r->y, batch, true);
    net_backward(r->net, r->y, batch);
    const double t0 = optim_s ? clock_wall() : 0.0;
    optim_step_threads(r->opt, net_params(r->net), net_grads(r->net), net_decay_mask(r->net),
                       net_param_count(r->net), net_get_config(r->net)->gemm.threads);
    if (optim_s)
        *optim_s += clock_wall() - t0;
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

/* The network of run spec (the paper's, as training builds it) with threads threads and the
 * kernel options of o, its parameters initialised from the run's seed. */
static int perf_run_new(perf_run *r, const perf_opts *o, int threads, const run_spec *spec, err_info *e)
{
    memset(r, 0, sizeof *r);
    net_config nc = training_net_config(spec, threads);
    nc.gemm.isa = o->isa;
    nc.unfused = o->unfused;
    int rc = net_new(&r->net, &nc, spec->layers, spec->n_layers, e);
    if (rc)
        return rc;
    net_init_params(r->net, spec->train.seed);
    if ((rc = optim_new(&r->opt, &spec->train.optim, net_param_count(r->net), e)) != 0)
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
 * outside the timed region. *span <- what the timed iterations cost this process (timing.h),
 * refills included: whether other processes held the CPUs meanwhile. */
static double perf_time_iters(timing_span *span, perf_run *r, const perf_opts *o, const dataset *d, rng *g)
{
    const int B = (int)o->batch;
    for (int i = 0; i < 5; i++) {
        perf_fill(r, d, g, B, 784);
        perf_iteration(r, B, NULL);
    }
    double total = 0.0;
    timing_mark a, b;
    timing_mark_now(&a);
    for (long i = 0; i < o->iters; i++) {
        perf_fill(r, d, g, B, 784);
        double t0 = clock_wall();
        perf_iteration(r, B, NULL);
        total += clock_wall() - t0;
    }
    timing_mark_now(&b);
    *span = timing_span_between(&a, &b);
    return total / (double)o->iters;
}

/* Run scripts/torch_bench.py with the first python3 that imports torch, echoing its output.
 * Returns the seconds per epoch it reports, NAN when it did not run or report one. */
static double perf_torch(const perf_opts *o)
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
        FILE *p = popen(cmd, "r");
        if (!p) {
            cmd_error("cannot run scripts/torch_bench.py: %s", strerror(errno));
            return NAN;
        }
        /* its line "  seconds per epoch (600 iterations): 1.23 s" */
        double epoch_s = NAN;
        char line[1024];
        while (fgets(line, sizeof line, p)) {
            fputs(line, stdout);
            const char *k = strstr(line, "seconds per epoch (");
            const char *colon = k ? strstr(k, "): ") : NULL;
            char *end;
            double v = colon ? strtod(colon + 3, &end) : NAN;
            if (colon && end != colon + 3)
                epoch_s = v;
        }
        fflush(stdout);
        if (pclose(p) != 0) {
            cmd_error("scripts/torch_bench.py failed");
            return NAN;
        }
        return epoch_s;
    }
    printf("\nPyTorch: no python3 here can import torch (Debian: apt-get install python3-torch)\n");
    return NAN;
}

/* The 1-minute load average, NAN when /proc/loadavg cannot be read; all three into load. */
static double perf_load(double load[3])
{
    load[0] = load[1] = load[2] = NAN;
    FILE *lf = fopen("/proc/loadavg", "r");
    if (!lf)
        return NAN;
    if (fscanf(lf, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
        load[0] = load[1] = load[2] = NAN;
    fclose(lf);
    return load[0];
}

/* One line on how contended the timed iterations at `threads` threads were (timing.h). */
static void perf_print_contention(int threads, const timing_span *s)
{
    printf("timed iterations, %d thread%s: %.2f s cpu, run-queue wait %.0f%% of it, %lld involuntary "
           "switches%s\n", threads, threads > 1 ? "s" : "", s->cpu_s, 100.0 * timing_wait_share(s),
           (long long)s->nivcsw,
           timing_contended(s) ? ": CONTENDED, other processes held the CPUs (not the code's speed)" : "");
}

/* The per-step profile: the hook's totals over iters iterations of batch B. */
typedef struct perf_steps {
    int n;
    char names[PERF_MAX_STEPS][64];
    store_perf_step v[PERF_MAX_STEPS];
    double flops;     /* of one whole iteration, every step */
} perf_steps;

static void perf_profile(perf_steps *out, const perf_run *r, const layer_spec *specs, int n_specs, double B,
                         double iters, double peak)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i <= n_specs + 1; i++) {
        if (!r->prof.seen[i])
            continue;
        char *name = out->names[out->n];
        if (i == n_specs) {
            snprintf(name, sizeof out->names[0], "softmax-xent");
        } else if (i == n_specs + 1) {
            snprintf(name, sizeof out->names[0], "momentum-step");
        } else {
            for (int j = i; j <= r->prof.last[i]; j++) {
                size_t len = strlen(name);
                snprintf(name + len, sizeof out->names[0] - len, "%s%s", j > i ? "+" : "",
                         layer_kind_name(specs[j].kind));
            }
        }
        double ff = 0.0, fb = 0.0;
        for (int j = i; i < n_specs && j <= r->prof.last[i]; j++) {
            double a, b;
            perf_layer_flops(&a, &b, r->net, specs, j);
            ff += a;
            fb += b;
        }
        ff *= B;
        fb *= B;
        out->flops += ff + fb;
        const double tf = r->prof.total[0][i] / iters, tb = r->prof.total[1][i] / iters;
        /* steps without flops (memory-bound) have no GFLOP/s */
        const double gf = ff > 0.0 ? ff / tf * 1e-9 : NAN, gb = ff > 0.0 && tb > 0 ? fb / tb * 1e-9 : NAN;
        out->v[out->n++] = (store_perf_step){
            .step = i, .layers = name, .fwd_ms = tf * 1e3, .bwd_ms = tb * 1e3,
            .fwd_gflops = gf, .bwd_gflops = gb, .fwd_pct_peak = 100.0 * gf / peak, .bwd_pct_peak = 100.0 * gb / peak,
        };
    }
}

static void perf_print_steps(const perf_steps *p)
{
    printf("%-26s %9s %9s %9s %9s %7s %7s\n", "step (layers)", "fwd ms", "bwd ms", "fwd GF/s", "bwd GF/s",
           "fwd %pk", "bwd %pk");
    for (int k = 0; k < p->n; k++) {
        const store_perf_step *v = &p->v[k];
        if (!isnan(v->fwd_gflops))
            printf("%2d %-23s %9.3f %9.3f %9.1f %9.1f %6.1f%% %6.1f%%\n", v->step, v->layers, v->fwd_ms, v->bwd_ms,
                   v->fwd_gflops, isnan(v->bwd_gflops) ? 0.0 : v->bwd_gflops, v->fwd_pct_peak,
                   isnan(v->bwd_pct_peak) ? 0.0 : v->bwd_pct_peak);
        else
            printf("%2d %-23s %9.3f %9.3f %9s %9s %7s %7s\n", v->step, v->layers, v->fwd_ms, v->bwd_ms, "-", "-",
                   "-", "-");
    }
}

/* Record the n measurements m in one transaction with the build, host and data set (src,
 * NULL for synthetic data) they came from; ids[i] <- their rows. Nothing is written on error. */
static int perf_store(store *s, int64_t *ids, store_perf *m, int n, const prov_build_info *b,
                      const prov_host_info *h, const data_source *src, err_info *e)
{
    int64_t bid = 0, hid = 0, did = 0;
    int rc = store_begin(s, e);
    if (rc)
        return rc;
    rc = prov_store(s, &bid, &hid, b, h, e);
    if (rc == 0 && src) {
        store_dataset sd = {src->name, src->dir, src->id, 0};
        rc = store_dataset_put(s, &did, &sd, e);
    }
    for (int i = 0; i < n && rc == 0; i++) {
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
    experiment x = {0};
    training_data td = {0};
    perf_run par = {0}, one = {0};
    store *db = NULL;
    prov_build_info build = {0};
    prov_host_info host;
    bool have_prov = false;
    /* Recording needs the provenance and a writable database: both are checked before
     * minutes of measuring. */
    if (!o.no_store) {
        if (prov_collect(&build, &host, BENCH_GIT_HEAD, &e)) {
            err_prefix(&e, "cannot record the measurements (--no-store only prints them)");
            goto fail;
        }
        have_prov = true;
        if (store_open(&db, o.db, &e))
            goto fail;
    }
    /* The paper's run (an experiment file of defaults) at the batch asked for: its network and
     * data are built as training builds them (training.h). */
    char spec_text[64];
    snprintf(spec_text, sizeof spec_text, "[training]\nbatch = %ld\n", o.batch);
    if (exp_parse(&x, spec_text, strlen(spec_text), "perf", &e))
        goto fail;
    const run_spec *spec = &x.runs[0];
    const layer_spec *specs = spec->layers;
    const int n_specs = spec->n_layers;
    if (o.data && (data_open(&src, o.dataset, o.data_dir, &e) ||
                   training_data_load(&td, spec, &src, &e)))
        goto fail;
    const dataset *d = o.data ? &td.train : NULL;

    double load[3];
    const double load_before = perf_load(load);
    const int nt = (int)o.threads;
    if (perf_run_new(&par, &o, nt, spec, &e))
        goto fail;
    printf("bench perf: the paper's network, batch %ld, %ld timed iterations, %s data\n", o.batch, o.iters,
           o.data ? o.dataset : "synthetic");
    printf("kernels: %s\n", net_kernels(par.net));
    if (isnan(load_before))
        load[0] = load[1] = load[2] = -1.0;
    printf("load average before: %.2f %.2f %.2f (figures are only meaningful on a quiet machine)\n", load[0],
           load[1], load[2]);
    const double peak = perf_peak((int)o.peak_size, nt, &e);
    if (peak <= 0.0)
        goto fail;
    printf("measured peak: %.1f GFLOP/s (SGEMM %ld^3 through gemm(), %d thread%s)\n\n", peak, o.peak_size, nt,
           nt > 1 ? "s" : "");

    rng g;
    rng_init(&g, 7, RNG_STREAM_SAMPLE);
    timing_span span_par, span_one = {.wait_s = NAN, .nivcsw = -1};
    const double it_par = perf_time_iters(&span_par, &par, &o, d, &g);

    /* per-layer profile, in separate iterations so the hook's clock reads do not bias it_par */
    memset(&par.prof, 0, sizeof par.prof);
    net_set_hook(par.net, perf_hook, &par.prof);
    /* the optimizer's step, outside the net, is the last row: step n_specs + 1, backward */
    const int optim_step = n_specs + 1;
    for (long i = 0; i < o.iters; i++) {
        perf_fill(&par, d, &g, (int)o.batch, 784);
        perf_iteration(&par, (int)o.batch, &par.prof.total[1][optim_step]);
    }
    net_set_hook(par.net, NULL, NULL);
    par.prof.last[optim_step] = optim_step;
    par.prof.seen[optim_step] = true;
    const double B = (double)o.batch, iters = (double)o.iters;
    perf_steps steps;
    perf_profile(&steps, &par, specs, n_specs, B, iters, peak);
    perf_print_steps(&steps);
    const double gflops = steps.flops / it_par * 1e-9;
    printf("%-26s %9.3f ms per iteration (forward, backward, Momentum step)\n", "whole iteration",
           it_par * 1e3);
    printf("overall: %.1f GFLOP/s = %.1f%% of peak, %.0f images/s\n\n", gflops, 100.0 * gflops / peak,
           B / it_par);

    /* 1 thread (when N > 1) */
    double it_one = it_par;
    if (nt > 1) {
        if (perf_run_new(&one, &o, 1, spec, &e))
            goto fail;
        it_one = perf_time_iters(&span_one, &one, &o, d, &g);
    }
    const double iters_epoch = 60000.0 / B;
    if (nt > 1)
        printf("seconds per epoch (%.0f iterations of %ld): %.2f s with 1 thread, %.2f s with %d threads\n",
               iters_epoch, o.batch, it_one * iters_epoch, it_par * iters_epoch, nt);
    else
        printf("seconds per epoch (%.0f iterations of %ld): %.2f s with 1 thread\n", iters_epoch, o.batch,
               it_one * iters_epoch);

    perf_print_contention(nt, &span_par);
    if (nt > 1)
        perf_print_contention(1, &span_one);

    /* evaluation of 10,000 images in inference mode, in batches of B */
    const dataset *ev = o.data ? &td.test : NULL;
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
    const double load_after = perf_load(load);
    if (!isnan(load_after))
        printf("load average after: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    fflush(stdout);

    /* m[0]: the N-thread measurement with its profile; m[1]: the 1-thread timing */
    store_perf m[2];
    m[0] = (store_perf){
        .data = o.data ? o.dataset : "synthetic", .threads = nt, .iterations = (int)o.iters,
        .batch = (int)o.batch, .kernel_set = perf_kernel_set_name(o.isa), .unfused = o.unfused,
        .kernels = net_kernels(par.net), .peak_size = (int)o.peak_size, .peak_gflops = peak,
        .iter_ms = it_par * 1e3, .gflops = gflops, .pct_peak = 100.0 * gflops / peak,
        .images_per_s = B / it_par, .epoch_s = it_par * iters_epoch, .eval_s = t_eval,
        .peak_rss_bytes = (int64_t)ru.ru_maxrss * 1024, .load_before = load_before,
        .load_after = load_after, .torch_epoch_s = NAN, .cpu_s = span_par.cpu_s,
        .wait_s = span_par.wait_s, .nivcsw = span_par.nivcsw, .n_steps = steps.n, .steps = steps.v,
    };
    const int n_m = nt > 1 ? 2 : 1;
    if (nt > 1) {
        m[1] = m[0];
        m[1].threads = 1;
        m[1].kernels = net_kernels(one.net);
        m[1].peak_size = 0;
        m[1].peak_gflops = m[1].pct_peak = m[1].eval_s = NAN;
        m[1].iter_ms = it_one * 1e3;
        m[1].gflops = steps.flops / it_one * 1e-9;
        m[1].images_per_s = B / it_one;
        m[1].epoch_s = it_one * iters_epoch;
        m[1].cpu_s = span_one.cpu_s;
        m[1].wait_s = span_one.wait_s;
        m[1].nivcsw = span_one.nivcsw;
        m[1].n_steps = 0;
        m[1].steps = NULL;
    }
    if (o.torch)
        m[0].torch_epoch_s = perf_torch(&o);
    if (db) {
        int64_t ids[2] = {0, 0};
        if (perf_store(db, ids, m, n_m, &build, &host, o.data ? &src : NULL, &e))
            goto fail;
        printf("\nrecorded in %s: measurement %lld (%d thread%s)", o.db, (long long)ids[0], nt,
               nt > 1 ? "s" : "");
        if (n_m > 1)
            printf(", measurement %lld (1 thread)", (long long)ids[1]);
        printf("; bench history --perf shows them\n");
    }
    status = CMD_OK;
    goto done;
fail:
    cmd_fail(&e);
done:
    store_close(db);
    if (have_prov)
        prov_build_release(&build);
    perf_run_free(&par);
    perf_run_free(&one);
    training_data_release(&td);
    exp_release(&x);
    return status;
}
