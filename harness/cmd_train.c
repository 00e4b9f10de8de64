/* bench train: one training run from command-line flags, per-epoch metrics on the terminal,
 * no database. The quickest way to try a configuration, and the reference the sweep runner
 * (bench run) must agree with for the same settings. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "cmd.h"
#include "data.h"
#include "models.h"
#include "perf.h"
#include "prov.h"
#include "sha256.h"
#include "train.h"

static const char train_usage[] =
    "usage: bench train [options]\n"
    "\n"
    "Train one network and print its metrics after every epoch (nothing is stored).\n"
    "Defaults are the paper's configuration (Lee & Rhee 2024).\n"
    "\n"
    "model:\n"
    "  --model NAME        paper (default), lenet5, ji2018\n"
    "  --no-bn             remove the model's batch-normalization layers\n"
    "  --init NAME         normal (default, std 0.01), he, xavier\n"
    "  --init-std X        std of the normal init (default 0.01)\n"
    "data:\n"
    "  --dataset NAME      mnist (default), fashion-mnist, idx:DIR\n"
    "  --data-dir DIR      where the data sets are (default: $BENCH_DATA_DIR, then ./data)\n"
    "  --validation N      hold out the last N training images and evaluate on them\n"
    "                      instead of the test set (for choosing hyperparameters)\n"
    "training:\n"
    "  --optimizer NAME    momentum (default), sgd, nesterov, adagrad, rmsprop, adam\n"
    "  --lr X              learning rate (default 0.1 for momentum, else the optimizer's)\n"
    "  --momentum X        momentum of momentum/nesterov (default 0.9)\n"
    "  --weight-decay X    L2 on conv/affine weights (default 0)\n"
    "  --batch N           mini-batch size (default 100)\n"
    "  --epochs N          epochs (default 20)\n"
    "  --iters N           cap the iterations of an epoch (default: the protocol's own)\n"
    "  --sampling NAME     with-replacement (default, the textbook's) or shuffle\n"
    "  --lr-schedule NAME  constant (default, the paper's) or cosine (to 0 over the epochs)\n"
    "  --augment-shift N   translate each training image by up to N pixels (default 0: off)\n"
    "  --seed N            seed of weights, sampling and dropout (default 1)\n"
    "  --threads N         threads of the matrix products (default: the CPUs this\n"
    "                      process may use)\n"
    "output:\n"
    "  --eval-train N      training accuracy on the first N training images (default 10000,\n"
    "                      0 = all)\n"
    "  --save FILE         write the trained parameters (bench parameter file)\n"
    "  -h, --help          this help\n";

enum {
    OPT_MODEL = 256, OPT_NO_BN, OPT_INIT, OPT_INIT_STD, OPT_DATASET, OPT_DATA_DIR, OPT_VALIDATION,
    OPT_OPTIMIZER, OPT_LR, OPT_MOMENTUM, OPT_WEIGHT_DECAY, OPT_BATCH, OPT_EPOCHS, OPT_ITERS,
    OPT_SAMPLING, OPT_SEED, OPT_THREADS, OPT_EVAL_TRAIN, OPT_SAVE, OPT_LR_SCHEDULE,
    OPT_AUGMENT_SHIFT,
};

static const struct option train_options[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"no-bn", no_argument, NULL, OPT_NO_BN},
    {"init", required_argument, NULL, OPT_INIT},
    {"init-std", required_argument, NULL, OPT_INIT_STD},
    {"dataset", required_argument, NULL, OPT_DATASET},
    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
    {"validation", required_argument, NULL, OPT_VALIDATION},
    {"optimizer", required_argument, NULL, OPT_OPTIMIZER},
    {"lr", required_argument, NULL, OPT_LR},
    {"momentum", required_argument, NULL, OPT_MOMENTUM},
    {"weight-decay", required_argument, NULL, OPT_WEIGHT_DECAY},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"epochs", required_argument, NULL, OPT_EPOCHS},
    {"iters", required_argument, NULL, OPT_ITERS},
    {"sampling", required_argument, NULL, OPT_SAMPLING},
    {"lr-schedule", required_argument, NULL, OPT_LR_SCHEDULE},
    {"augment-shift", required_argument, NULL, OPT_AUGMENT_SHIFT},
    {"seed", required_argument, NULL, OPT_SEED},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"eval-train", required_argument, NULL, OPT_EVAL_TRAIN},
    {"save", required_argument, NULL, OPT_SAVE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct train_opts {
    const char *model, *dataset, *data_dir, *save, *optimizer;
    bool bn;
    init_kind init;
    float init_std;
    int64_t validation, eval_train;
    double lr, momentum, weight_decay; /* NAN: not given */
    long batch, epochs, iters, threads;
    uint64_t seed;
    sampling_kind sampling;
    lr_schedule schedule;
    long augment_shift;
} train_opts;

static int parse_train_opts(train_opts *o, int argc, char **argv, bool *help)
{
    long v = 0;
    err_info e = {0};
    *o = (train_opts){
        .model = "paper", .dataset = "mnist", .optimizer = "momentum", .bn = true,
        .init = INIT_NORMAL, .init_std = 0.01f, .eval_train = 10000,
        .lr = NAN, .momentum = NAN, .weight_decay = 0.0,
        .batch = 100, .epochs = 20, .iters = 0, .threads = 0, .seed = 1,
        .sampling = SAMPLING_WITH_REPLACEMENT,
    };
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", train_options, NULL)) != -1) {
        int rc = 0;
        double d = 0.0;
        switch (c) {
        case 'h': *help = true; return 0;
        case OPT_MODEL: o->model = optarg; break;
        case OPT_NO_BN: o->bn = false; break;
        case OPT_INIT:
            if (init_kind_from_name(&o->init, optarg, &e))
                return cmd_usage_error("train", "--init: %s", e.msg);
            break;
        case OPT_INIT_STD: rc = cmd_parse_double(&d, "train", "init-std", optarg, 0.0, false); o->init_std = (float)d; break;
        case OPT_DATASET: o->dataset = optarg; break;
        case OPT_DATA_DIR: o->data_dir = optarg; break;
        case OPT_VALIDATION: rc = cmd_parse_long(&v, "train", "validation", optarg, 1, 100000000); o->validation = v; break;
        case OPT_OPTIMIZER: o->optimizer = optarg; break;
        case OPT_LR: rc = cmd_parse_double(&o->lr, "train", "lr", optarg, 0.0, false); break;
        case OPT_MOMENTUM: rc = cmd_parse_double(&o->momentum, "train", "momentum", optarg, 0.0, true); break;
        case OPT_WEIGHT_DECAY: rc = cmd_parse_double(&o->weight_decay, "train", "weight-decay", optarg, 0.0, true); break;
        case OPT_BATCH: rc = cmd_parse_long(&o->batch, "train", "batch", optarg, 1, 65536); break;
        case OPT_EPOCHS: rc = cmd_parse_long(&o->epochs, "train", "epochs", optarg, 1, 100000); break;
        case OPT_ITERS: rc = cmd_parse_long(&o->iters, "train", "iters", optarg, 1, 100000000); break;
        case OPT_SAMPLING:
            if (sampling_kind_from_name(&o->sampling, optarg, &e))
                return cmd_usage_error("train", "--sampling: %s", e.msg);
            break;
        case OPT_LR_SCHEDULE:
            if (lr_schedule_from_name(&o->schedule, optarg, &e))
                return cmd_usage_error("train", "--lr-schedule: %s", e.msg);
            break;
        case OPT_AUGMENT_SHIFT: rc = cmd_parse_long(&o->augment_shift, "train", "augment-shift", optarg, 0, 64); break;
        case OPT_SEED: rc = cmd_parse_long(&v, "train", "seed", optarg, 0, 2147483647L); o->seed = (uint64_t)v; break;
        case OPT_THREADS: rc = cmd_parse_long(&o->threads, "train", "threads", optarg, 1, 256); break;
        case OPT_EVAL_TRAIN: rc = cmd_parse_long(&v, "train", "eval-train", optarg, 0, 100000000); o->eval_train = v; break;
        case OPT_SAVE: o->save = optarg; break;
        default: return cmd_bad_option("train", argv);
        }
        if (rc)
            return rc;
    }
    if (optind < argc)
        return cmd_usage_error("train", "unexpected argument '%s'", argv[optind]);
    if (o->momentum >= 1.0)
        return cmd_usage_error("train", "--momentum must be below 1");
    return 0;
}

/* SIGINT/SIGTERM ask the current epoch to stop at the next iteration. A signal flag is the
 * one piece of process state a handler may touch (async-signal-safe). */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

typedef struct progress_ctx {
    bool tty;
    int epochs;
    double started;
} progress_ctx;

static int on_progress(void *ctx, int epoch, int iter, int iters, double loss)
{
    progress_ctx *p = ctx;
    if (p->tty && (iter % 20 == 0 || iter == iters)) {
        double el = clock_wall() - p->started;
        fprintf(stderr, "\r  epoch %d/%d  %5.1f%%  loss %.4f  %.0f img/s   ", epoch, p->epochs,
                100.0 * iter / iters, loss, el > 0 ? iter * 1.0 / el : 0.0);
        if (iter == iters)
            fprintf(stderr, "\r%*s\r", 60, "");
    }
    return stop_requested ? 1 : 0;
}

static int save_params(const net *n, const char *path, char sha[65], err_info *e)
{
    size_t len = net_save_size(n);
    uint8_t *buf = malloc(len);
    if (!buf)
        return err_set(e, ERR_NOMEM, "out of memory saving parameters");
    net_save(n, buf);
    sha256_hex(sha, buf, len);
    int rc = 0;
    if (path) {
        /* write to a temporary name, then rename: never a half-written parameter file */
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        FILE *f = fopen(tmp, "wb");
        if (!f) {
            rc = err_set(e, ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
        } else {
            bool ok = fwrite(buf, 1, len, f) == len;
            ok = (fclose(f) == 0) && ok;
            if (!ok || rename(tmp, path) != 0) {
                rc = err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
                remove(tmp);
            }
        }
    }
    free(buf);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    train_opts o;
    bool help = false;
    int rc = parse_train_opts(&o, argc, argv, &help);
    if (rc)
        return rc;
    if (help) {
        fputs(train_usage, stdout);
        return CMD_OK;
    }

    err_info e = {0};
    const model_preset *preset;
    optim_kind ok;
    if (models_find(&preset, o.model, &e) || optim_kind_from_name(&ok, o.optimizer, &e))
        return cmd_usage_error("train", "%s", e.msg);

    data_source src;
    dataset train_all = {0}, test = {0}, train, val;
    net *n = NULL;
    trainer *t = NULL;
    int status = CMD_FAIL;
    if (data_open(&src, o.dataset, o.data_dir, &e) || data_load(&train_all, &test, &src, &e))
        goto fail;
    train = train_all;
    const dataset *eval = &test;
    if (o.validation) {
        if (dataset_split(&train, &val, &train_all, o.validation, &e))
            goto fail;
        eval = &val;
    }

    layer_spec specs[MODELS_MAX_LAYERS];
    int n_specs = models_layers(specs, MODELS_MAX_LAYERS, preset, src.classes, o.bn);
    net_config nc = net_config_default();
    nc.c = train.c;
    nc.h = train.h;
    nc.w = train.w;
    nc.classes = src.classes;
    nc.max_batch = (int)o.batch;
    nc.init = o.init;
    nc.init_std = o.init_std;
    nc.gemm.threads = o.threads > 0 ? (int)o.threads : prov_cpus_usable();
    /* the kernel set: by the CPU's features and by timing the candidates on this network */
    perf_choice choice;
    if (perf_choose(&choice, KERN_AUTO, &nc, specs, n_specs, &e))
        goto fail;
    nc.gemm.isa = choice.isa;
    if (net_new(&n, &nc, specs, n_specs, &e))
        goto fail;

    train_config tc = train_config_default();
    tc.batch = (int)o.batch;
    tc.sampling = o.sampling;
    tc.iters_per_epoch = (int)o.iters;
    tc.schedule = o.schedule;
    tc.epochs = (int)o.epochs;
    tc.augment_shift = (int)o.augment_shift;
    tc.seed = o.seed;
    tc.optim = optim_defaults(ok);
    if (ok == OPTIM_MOMENTUM)
        tc.optim.lr = 0.1f; /* the paper's choice */
    if (!isnan(o.lr))
        tc.optim.lr = (float)o.lr;
    if (!isnan(o.momentum))
        tc.optim.momentum = (float)o.momentum;
    tc.optim.weight_decay = (float)o.weight_decay;
    if (trainer_new(&t, n, &train, &tc, true, &e))
        goto fail;

    printf("model %s%s (%zu parameters), %s %s, %lld training / %lld %s images\n", o.model,
           o.bn ? "" : " without BN", net_param_count(n), src.name,
           src.verified ? "verified" : "unverified", (long long)train.n, (long long)eval->n,
           o.validation ? "validation" : "test");
    printf("%s lr %g (%s), batch %ld, %s sampling, augment shift %ld, %ld epochs, seed %llu, "
           "%d threads, kernels %s\n",
           optim_kind_name(ok), (double)tc.optim.lr, lr_schedule_name(o.schedule), o.batch,
           sampling_kind_name(o.sampling), o.augment_shift,
           o.epochs, (unsigned long long)o.seed, nc.gemm.threads, net_kernels(n));
    printf("kernel choice: %s\n", choice.why);
    printf("%5s %9s %9s %9s %9s %9s %9s %8s\n", "epoch", "loss", "train", o.validation ? "val" : "test",
           "f1", "train_s", "img/s", "eval_s");

    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    stop_requested = 0;

    progress_ctx pc = {.tty = isatty(STDERR_FILENO), .epochs = (int)o.epochs};
    double train_wall = 0.0, train_cpu = 0.0;
    metrics m = {0};
    for (long ep = 1; ep <= o.epochs; ep++) {
        train_stats st;
        pc.started = clock_wall();
        double w0 = clock_wall(), c0 = clock_cpu();
        rc = trainer_train_epoch(t, &st, on_progress, &pc, &e);
        double w1 = clock_wall(), c1 = clock_cpu();
        train_wall += w1 - w0;
        train_cpu += c1 - c0;
        if (rc == ERR_DIVERGED) {
            printf("%5ld diverged at iteration %d (loss not finite)\n", ep, st.diverged_iter);
            goto restore;
        }
        if (rc)
            goto restore;
        metrics tm;
        if (trainer_evaluate(t, &tm, &train, o.eval_train, &e) ||
            trainer_evaluate(t, &m, eval, 0, &e)) {
            rc = e.code;
            goto restore;
        }
        double w2 = clock_wall();
        printf("%5ld %9.4f %9.4f %9.4f %9.4f %9.2f %9.0f %8.2f\n", ep, st.loss, tm.accuracy,
               m.accuracy, m.f1_macro, w1 - w0, (double)st.images / (w1 - w0), w2 - w1);
        fflush(stdout);
    }
    char sha[65];
    if ((rc = save_params(n, o.save, sha, &e)) != 0)
        goto restore;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("final %s accuracy %.4f, macro precision %.4f recall %.4f F1 %.4f, AUROC %.5f\n",
           o.validation ? "validation" : "test", m.accuracy, m.precision_macro, m.recall_macro,
           m.f1_macro, m.auroc_macro);
    printf("training %.1f s wall (%.2f s/epoch), %.1f s cpu, peak RSS %.0f MiB\n", train_wall,
           train_wall / (double)o.epochs, train_cpu, ru.ru_maxrss / 1024.0);
    printf("parameters sha256 %s%s%s\n", sha, o.save ? ", saved to " : "", o.save ? o.save : "");
    status = CMD_OK;

restore:
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc && status != CMD_OK)
        cmd_fail(&e);
    goto done;
fail:
    cmd_fail(&e);
done:
    trainer_free(t);
    net_free(n);
    dataset_release(&train_all);
    dataset_release(&test);
    return status;
}
