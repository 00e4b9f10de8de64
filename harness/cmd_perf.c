/* bench perf: how fast the training core runs a model on this machine, against the machine's
 * physical peak (the measuring is harness/perf.c, on the model's run built as training builds
 * it, harness/training.h; this file parses, prints and records).
 *
 * Every invocation is recorded in the results database (--db, unless --no-store), like a run:
 * one measurement per thread count (the N-thread one with its per-step rows and SGEMM table,
 * and with N > 1 a 1-thread one holding the whole-iteration figures timed at 1 thread), with
 * the build, host and data set, in one transaction. `bench history --perf` reads them back per
 * git revision. */
#define _POSIX_C_SOURCE 200809L

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "data.h"
#include "perf.h"
#include "prov.h"
#include "revision.h" /* generated at build time: BENCH_GIT_HEAD */
#include "store.h"
#include "table.h"
#include "training.h"

static const char perf_usage[] =
    "usage: bench perf [options]\n"
    "\n"
    "Time a model's training (default: the paper's network, Lee & Rhee 2024) against this\n"
    "machine's physical peak: an FMA loop of the widest instruction set on 1 and N threads;\n"
    "the SGEMM of each library available (bench's own kernels, BLIS, OpenBLAS) on an n^3\n"
    "product and on the model's own products; which kernels train it and why; per-layer\n"
    "forward/backward milliseconds and % of the peak (each layer its fastest of one profile\n"
    "pass a repetition); seconds per epoch on N threads and on 1 (min / median / max of\n"
    "alternated repetitions); evaluation of 10,000 images; peak RSS.\n"
    "\n"
    "  --model NAME      paper (default), lenet5, ji2018\n"
    "  --threads N       threads of the run (default: the CPUs it may use)\n"
    "  --iters N         timed iterations per repetition (default 100)\n"
    "  --reps N          alternated repetitions (default 3)\n"
    "  --batch N         mini-batch size (default 100)\n"
    "  --data            time on the data set's batches instead of synthetic data\n"
    "  --dataset NAME    data set for --data (default mnist)\n"
    "  --data-dir DIR    where the data sets are (default: $BENCH_DATA_DIR, then ./data)\n"
    "  --kernels NAME    auto (default: chosen by timing, see \"kernel choice\"), avx512, avx2\n"
    "                    or generic (BLIS and portable C)\n"
    "  --unfused         run every layer on its own (no conv+relu+maxpool fusion)\n"
    "  --peak-size N     n of the n^3 SGEMM of the library table (default 2000)\n"
    "  --torch           alternate scripts/torch_bench.py (PyTorch, 1 and N threads) with the\n"
    "                    repetitions, when python3 can import torch (paper model only)\n"
    "  --db PATH         record the measurements in this results database\n"
    "                    (default results/bench.db; `bench history --perf` shows them)\n"
    "  --no-store        only print, record nothing\n"
    "  --format FORMAT   table (default), md, csv (the per-layer profile) or json (every\n"
    "                    figure); with csv and json the progress lines go to stderr\n"
    "  -h, --help        this help\n"
    "\n"
    "Each thread count measured is recorded as one measurement (with N > 1 threads, the\n"
    "1-thread one holds only its whole-iteration figures), with the build and host, like a\n"
    "run; like `bench run`, recording refuses a bench built from another commit than HEAD.\n";

enum { OPT_THREADS = 256, OPT_ITERS, OPT_REPS, OPT_BATCH, OPT_DATA, OPT_DATASET, OPT_DATA_DIR, OPT_KERNELS,
       OPT_UNFUSED, OPT_TORCH, OPT_PEAK_SIZE, OPT_DB, OPT_NO_STORE, OPT_MODEL, OPT_FORMAT };

static const struct option perf_options_table[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"iters", required_argument, NULL, OPT_ITERS},
    {"reps", required_argument, NULL, OPT_REPS},
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
    {"format", required_argument, NULL, OPT_FORMAT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct perf_cli {
    perf_options o;
    long peak_size;
    bool data, no_store, db_given;
    const char *dataset, *data_dir, *db;
    table_format fmt;
} perf_cli;

static int perf_parse(perf_cli *c, int argc, char **argv, bool *help)
{
    *c = (perf_cli){.o = {.model = "paper", .threads = prov_cpus_usable(), .iters = 100, .batch = 100,
                          .reps = 3, .isa = KERN_AUTO},
                    .peak_size = 2000, .dataset = "mnist", .db = "results/bench.db", .fmt = TABLE_TEXT};
    optind = 0;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", perf_options_table, NULL)) != -1) {
        int rc = 0;
        switch (ch) {
        case 'h': *help = true; return 0;
        case OPT_MODEL: c->o.model = cmd_enum_arg(optarg); break;
        case OPT_THREADS: rc = cmd_parse_int(&c->o.threads, "perf", "threads", optarg, 1, 256); break;
        case OPT_ITERS: rc = cmd_parse_int(&c->o.iters, "perf", "iters", optarg, 1, 1000000); break;
        case OPT_REPS: rc = cmd_parse_int(&c->o.reps, "perf", "reps", optarg, 1, PERF_MAX_REPS); break;
        case OPT_BATCH: rc = cmd_parse_int(&c->o.batch, "perf", "batch", optarg, 1, 65536); break;
        case OPT_DATA: c->data = true; break;
        case OPT_DATASET: c->dataset = cmd_enum_arg(optarg); c->data = true; break;
        case OPT_DATA_DIR: c->data_dir = optarg; break;
        case OPT_UNFUSED: c->o.unfused = true; break;
        case OPT_TORCH: c->o.torch = true; break;
        case OPT_PEAK_SIZE: rc = cmd_parse_long(&c->peak_size, "perf", "peak-size", optarg, 16, 20000); break;
        case OPT_DB: c->db = optarg; c->db_given = true; break;
        case OPT_NO_STORE: c->no_store = true; break;
        case OPT_FORMAT: {
            err_info e = {0};
            if (table_format_parse(&c->fmt, optarg, &e))
                return cmd_usage_error("perf", "--format: %s", e.msg);
            break;
        }
        case OPT_KERNELS:
            if (!kern_isa_from_name(&c->o.isa, cmd_enum_arg(optarg)))
                return cmd_usage_error("perf", "--kernels: unknown kernel set '%s' (valid: auto, avx512, avx2, generic)",
                                       optarg);
            break;
        default: return cmd_bad_option("perf", argv);
        }
        if (rc)
            return rc;
    }
    if (optind < argc)
        return cmd_usage_error("perf", "unexpected argument '%s'", argv[optind]);
    if (c->no_store && c->db_given)
        return cmd_usage_error("perf", "--no-store records nothing: drop --db '%s' or --no-store", c->db);
    return 0;
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

int cmd_perf(int argc, char **argv)
{
    perf_cli c;
    bool help = false;
    int rc = perf_parse(&c, argc, argv, &help);
    if (rc)
        return rc;
    if (help) {
        fputs(perf_usage, stdout);
        return CMD_OK;
    }
    perf_options *o = &c.o;
    /* what is not the report: on stdout for people, on stderr beside a machine format */
    FILE *log = c.fmt == TABLE_CSV || c.fmt == TABLE_JSON ? stderr : stdout;
    err_info e = {0};
    int status = CMD_FAIL;
    data_source src;
    experiment x = {0};
    training_data td = {0};
    store *db = NULL;
    prov_build_info build = {0};
    prov_host_info host;
    bool have_prov = false;
    /* Recording needs the provenance and a writable database: both are checked before
     * minutes of measuring. */
    if (!c.no_store) {
        if (prov_collect(&build, &host, BENCH_GIT_HEAD, &e)) {
            err_prefix(&e, "cannot record the measurements (--no-store only prints them)");
            goto fail;
        }
        have_prov = true;
        if (store_open(&db, c.db, &e))
            goto fail;
    }
    /* The model's run (an experiment file of defaults) at the batch asked for, on the data set
     * with --data: its network and data are built as training builds them (training.h). */
    char spec_text[512];
    snprintf(spec_text, sizeof spec_text, "[model]\npreset = \"%s\"\n[training]\nbatch = %d\n%s%s%s", o->model,
             o->batch, c.data ? "[data]\ndataset = \"" : "", c.data ? c.dataset : "", c.data ? "\"\n" : "");
    if (exp_parse(&x, spec_text, strlen(spec_text), "perf", &e))
        goto fail;
    o->run = &x.runs[0];
    o->epoch_images = 60000; /* synthetic: an epoch of the paper's data */
    if (c.data) {
        if (data_open(&src, c.dataset, c.data_dir, &e) || training_data_load(&td, o->run, &src, &e))
            goto fail;
        o->train = &td.train;
        o->test = &td.test;
        o->epoch_images = td.train.n;
    }
    if (o->torch) {
        o->python = perf_torch_python();
        if (!o->python || strcmp(o->model, "paper") != 0) {
            fprintf(log, "PyTorch: %s\n",
                    !o->python ? "no python3 here can import torch (scripts/setup --torch installs python3-torch)"
                               : "scripts/torch_bench.py has the paper's network only");
            o->torch = false;
        }
    }
    double load[3], load_ba[2];
    load_ba[0] = perf_load(load);
    fprintf(log, "bench perf: model %s, batch %d, %d timed iterations x %d repetitions, %s data\n", o->model, o->batch,
           o->iters, o->reps, c.data ? c.dataset : "synthetic");
    if (isnan(load_ba[0]))
        load[0] = load[1] = load[2] = -1.0;
    fprintf(log, "load average before: %.2f %.2f %.2f (figures are only meaningful on a quiet machine)\n", load[0],
           load[1], load[2]);
    fflush(log);
    perf_peak peak;
    perf_sgemm sg;
    perf_result r;
    const net_config nc = training_net_config(o->run, o->threads, KERN_AUTO);
    if (perf_peak_measure(&peak, o->threads, &e) ||
        perf_sgemm_measure(&sg, &nc, o->run->layers, o->run->n_layers, o->batch, o->threads, (int)c.peak_size, &e) ||
        perf_measure(&r, o, log, &e) || perf_peak_again(&peak, &e) ||
        perf_print(stdout, c.fmt, o, &peak, &sg, &r, &e))
        goto fail;
    load_ba[1] = perf_load(load);
    if (!isnan(load_ba[1]))
        fprintf(log, "load average after: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    if (db) {
        int64_t ids[2] = {0, 0};
        int n_ids = 0;
        if (perf_record(db, ids, &n_ids, o, &peak, &sg, &r, c.data ? &src : NULL, &build, &host, load_ba, &e))
            goto fail;
        fprintf(log, "\nrecorded in %s: measurement %lld (%d thread%s)", c.db, (long long)ids[0], o->threads,
               o->threads > 1 ? "s" : "");
        if (n_ids > 1)
            fprintf(log, ", measurement %lld (1 thread)", (long long)ids[1]);
        fprintf(log, "; bench history --perf shows them\n");
    }
    status = CMD_OK;
    goto done;
fail:
    cmd_fail(&e);
done:
    store_close(db);
    if (have_prov)
        prov_build_release(&build);
    training_data_release(&td);
    exp_release(&x);
    return status;
}
