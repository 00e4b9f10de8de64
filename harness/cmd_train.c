/* bench train: one training run from command-line flags, per-epoch metrics on the terminal,
 * no database. The quickest way to try a configuration.
 *
 * Each flag stands for a key of the experiment schema (--lr is training.lr; the table below).
 * The flags given are written as the experiment file they stand for and read by exp_parse, so
 * bench train resolves defaults and checks values exactly as bench run does, and trains the
 * resulting run through the same path (training.h): the same configuration and seed give
 * bitwise the same parameters under both commands. */
#define _POSIX_C_SOURCE 200809L

#include <assert.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clock.h"
#include "cmd.h"
#include "data.h"
#include "exp.h"
#include "prov.h"
#include "training.h"

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
    "  --augment-rotate D  rotate each training image by up to D degrees (default 0: off)\n"
    "  --augment-scale S   scale its width and height by factors in [1-S, 1+S] (default 0)\n"
    "  --augment-shear K   shear it horizontally by a factor in [-K, K] (default 0)\n"
    "  --augment-elastic-alpha A  elastic distortion of A pixels (default 0: off)\n"
    "  --augment-elastic-sigma S  its smoothness in pixels (default 4)\n"
    "  --seed N            seed of weights, sampling and dropout (default 1)\n"
    "  --threads N         threads of the matrix products (default: the CPUs this\n"
    "                      process may use)\n"
    "output:\n"
    "  --eval-train N      training accuracy on the first N training images (default 10000,\n"
    "                      0 = all)\n"
    "  --save FILE         write the trained parameters (bench parameter file)\n"
    "  -h, --help          this help\n"
    "\n"
    "Each flag sets a key of the experiment file schema (experiments/README.md): --model\n"
    "model.preset, --iters training.iterations, --eval-train evaluation.train_samples, the\n"
    "others the key of their name (--lr training.lr, --init-std model.init_std); bench run\n"
    "of a file with those keys trains the same run, bit for bit. Per epoch: wall\n"
    "and CPU seconds of training, and the run-queue wait as a share of the CPU time\n"
    "('*': contended, another process held the CPUs; its wall time is not the code's).\n";

/* How a flag's argument becomes a TOML value. */
typedef enum flag_kind {
    FLAG_STR,   /* a string: "momentum" */
    FLAG_NUM,   /* a number, written back as the shortest text that reads as the same double */
    FLAG_FALSE, /* no argument: the key becomes false (--no-bn) */
    FLAG_PLAIN, /* not a key: the argument is the command's own (--data-dir, --save) */
} flag_kind;

/* Every flag, and the experiment file key it sets ("table.key"). */
static const struct train_flag {
    const char *name;
    const char *key;
    flag_kind kind;
} train_flags[] = {
    {"model", "model.preset", FLAG_STR},
    {"no-bn", "model.bn", FLAG_FALSE},
    {"init", "model.init", FLAG_STR},
    {"init-std", "model.init_std", FLAG_NUM},
    {"dataset", "data.dataset", FLAG_STR},
    {"validation", "data.validation", FLAG_NUM},
    {"optimizer", "training.optimizer", FLAG_STR},
    {"lr", "training.lr", FLAG_NUM},
    {"momentum", "training.momentum", FLAG_NUM},
    {"weight-decay", "training.weight_decay", FLAG_NUM},
    {"batch", "training.batch", FLAG_NUM},
    {"epochs", "training.epochs", FLAG_NUM},
    {"iters", "training.iterations", FLAG_NUM},
    {"sampling", "training.sampling", FLAG_STR},
    {"lr-schedule", "training.lr_schedule", FLAG_STR},
    {"augment-shift", "training.augment_shift", FLAG_NUM},
    {"augment-rotate", "training.augment_rotate", FLAG_NUM},
    {"augment-scale", "training.augment_scale", FLAG_NUM},
    {"augment-shear", "training.augment_shear", FLAG_NUM},
    {"augment-elastic-alpha", "training.augment_elastic_alpha", FLAG_NUM},
    {"augment-elastic-sigma", "training.augment_elastic_sigma", FLAG_NUM},
    {"seed", "training.seed", FLAG_NUM},
    {"threads", "training.threads", FLAG_NUM},
    {"eval-train", "evaluation.train_samples", FLAG_NUM},
    {"data-dir", NULL, FLAG_PLAIN},
    {"save", NULL, FLAG_PLAIN},
};
enum { TRAIN_N_FLAGS = sizeof train_flags / sizeof train_flags[0], TRAIN_OPT0 = 256 };

/* The tables the keys live in, in the order they are written. */
static const char *const train_tables[] = {"data", "model", "training", "evaluation"};

/* The flags given: argument text by flag (NULL: not given), and where each was written. */
typedef struct train_args {
    const char *value[TRAIN_N_FLAGS];
    int line[TRAIN_N_FLAGS];
} train_args;

static int train_flag_index(const char *name)
{
    for (int i = 0; i < TRAIN_N_FLAGS; i++)
        if (strcmp(train_flags[i].name, name) == 0)
            return i;
    assert(0 && "unknown flag");
    return -1;
}

static int parse_train_args(train_args *a, int argc, char **argv, bool *help)
{
    struct option opts[TRAIN_N_FLAGS + 2];
    for (int i = 0; i < TRAIN_N_FLAGS; i++)
        opts[i] = (struct option){train_flags[i].name,
                                  train_flags[i].kind == FLAG_FALSE ? no_argument
                                                                    : required_argument,
                                  NULL, TRAIN_OPT0 + i};
    opts[TRAIN_N_FLAGS] = (struct option){"help", no_argument, NULL, 'h'};
    opts[TRAIN_N_FLAGS + 1] = (struct option){NULL, 0, NULL, 0};
    memset(a, 0, sizeof *a);
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            *help = true;
            return 0;
        }
        if (c < TRAIN_OPT0 || c >= TRAIN_OPT0 + TRAIN_N_FLAGS)
            return cmd_bad_option("train", argv);
        /* names (optimizer, model, ...) in any case; experiment files stay exact */
        const int kind = train_flags[c - TRAIN_OPT0].kind;
        a->value[c - TRAIN_OPT0] = kind == FLAG_FALSE ? "false"
                                   : kind == FLAG_STR ? cmd_enum_arg(optarg)
                                                      : optarg;
    }
    if (optind < argc)
        return cmd_usage_error("train", "unexpected argument '%s'", argv[optind]);
    return 0;
}

/* Append the TOML form of flag i's argument v to buf (a basic string, or a number). */
static int train_toml_value(char *buf, size_t cap, int i, const char *v)
{
    size_t len = strlen(buf);
    if (train_flags[i].kind == FLAG_NUM) {
        /* the syntax here (cmd.h's strict numbers); the range is the schema's (exp_parse) */
        double d;
        if (!cmd_strict_double(&d, v, NULL))
            return cmd_usage_error("train", "--%s: '%s' is not a number", train_flags[i].name, v);
        /* a whole number as a TOML integer, else the shortest %g that reads back as d */
        if (d == floor(d) && fabs(d) < 1e15) {
            snprintf(buf + len, cap - len, "%.0f", d);
            return 0;
        }
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf + len, cap - len, "%.*g", prec, d);
            if (strtod(buf + len, NULL) == d)
                break;
        }
        return 0;
    }
    if (train_flags[i].kind == FLAG_FALSE) {
        snprintf(buf + len, cap - len, "false");
        return 0;
    }
    /* a TOML basic string: quotes, backslashes and control characters escaped */
    buf[len++] = '"';
    for (const unsigned char *p = (const unsigned char *)v; *p && len + 8 < cap; p++) {
        if (*p == '"' || *p == '\\')
            len += (size_t)snprintf(buf + len, cap - len, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            len += (size_t)snprintf(buf + len, cap - len, "\\u%04x", *p);
        else
            buf[len++] = (char)*p;
    }
    snprintf(buf + len, cap - len, "\"");
    return 0;
}

/* buf <- the experiment file the flags stand for, one key per line; a->line says where. */
static int train_toml(char *buf, size_t cap, train_args *a)
{
    buf[0] = '\0';
    int line = 0;
    for (size_t t = 0; t < sizeof train_tables / sizeof train_tables[0]; t++) {
        size_t tl = strlen(train_tables[t]);
        bool opened = false;
        for (int i = 0; i < TRAIN_N_FLAGS; i++) {
            const char *key = train_flags[i].key;
            if (!a->value[i] || !key || strncmp(key, train_tables[t], tl) != 0 || key[tl] != '.')
                continue;
            size_t len = strlen(buf);
            if (!opened) {
                snprintf(buf + len, cap - len, "[%s]\n", train_tables[t]);
                line++;
                opened = true;
                len = strlen(buf);
            }
            snprintf(buf + len, cap - len, "%s = ", key + tl + 1);
            int rc = train_toml_value(buf, cap, i, a->value[i]);
            if (rc)
                return rc;
            len = strlen(buf);
            snprintf(buf + len, cap - len, "\n");
            a->line[i] = ++line;
        }
    }
    return 0;
}

/* Report an exp_parse error of the written file as a usage error of the flag on its line:
 * "train:LINE: key 'K': MESSAGE" becomes "--flag: MESSAGE". */
static int train_flag_error(const train_args *a, const err_info *e)
{
    int line = 0, off = 0;
    const char *msg = e->msg;
    if (sscanf(msg, "train:%d:%n", &line, &off) == 1 && off > 0) {
        const char *rest = msg + off;
        const char *key_end = strncmp(rest, " key '", 6) == 0 ? strstr(rest + 6, "': ") : NULL;
        for (int i = 0; i < TRAIN_N_FLAGS; i++)
            if (a->value[i] && a->line[i] == line)
                return cmd_usage_error("train", "--%s: %s", train_flags[i].name,
                                       key_end ? key_end + 3 : rest);
    }
    return cmd_usage_error("train", "%s", msg);
}

/* SIGINT/SIGTERM ask the training to stop at the next iteration. A signal flag is the one
 * piece of process state a handler may touch (async-signal-safe). */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

typedef struct train_ctx {
    bool tty;
    int epochs;
    double started; /* of the epoch in progress */
    metrics last;   /* of the last epoch evaluated */
} train_ctx;

static int on_progress(void *ctx, int epoch, int iter, int iters, double loss)
{
    train_ctx *p = ctx;
    if (iter == 1)
        p->started = clock_wall();
    if (p->tty && (iter % 20 == 0 || iter == iters)) {
        double el = clock_wall() - p->started;
        fprintf(stderr, "\r  epoch %d/%d  %5.1f%%  loss %.4f  %.0f it/s   ", epoch, p->epochs,
                100.0 * iter / iters, loss, el > 0 ? iter / el : 0.0);
        if (iter == iters)
            fprintf(stderr, "\r%*s\r", 60, "");
    }
    return 0;
}

static int on_epoch(void *ctx, const training_epoch *m)
{
    train_ctx *p = ctx;
    p->last = m->test;
    const timing_span *t = &m->time;
    char wait[16] = "-";
    if (!isnan(timing_wait_share(t)))
        snprintf(wait, sizeof wait, "%.0f%%%s", 100.0 * timing_wait_share(t),
                 timing_contended(t) ? "*" : "");
    printf("%5d %9.4f %9.4f %9.4f %9.4f %9.2f %9.2f %6s %9.0f %8.2f\n", m->epoch, m->train.loss,
           m->train_acc, m->test.accuracy, m->test.f1_macro, t->wall_s, t->cpu_s, wait,
           (double)m->train.images / t->wall_s, m->eval_s);
    fflush(stdout);
    return 0;
}

int cmd_train(int argc, char **argv)
{
    train_args a;
    bool help = false;
    int rc = parse_train_args(&a, argc, argv, &help);
    if (rc)
        return rc;
    if (help) {
        fputs(train_usage, stdout);
        return CMD_OK;
    }
    char toml[8192];
    if ((rc = train_toml(toml, sizeof toml, &a)) != 0)
        return rc;

    err_info e = {0};
    experiment x;
    if (exp_parse(&x, toml, strlen(toml), "train", &e))
        return train_flag_error(&a, &e);
    assert(x.n_runs == 1);
    const run_spec *r = &x.runs[0];
    const char *data_dir = a.value[train_flag_index("data-dir")];
    const char *save = a.value[train_flag_index("save")];
    const int threads = r->threads > 0 ? r->threads : prov_cpus_usable();

    int status = CMD_FAIL;
    data_source src;
    training *t = NULL;
    /* the kernel set: by the CPU's features and by timing the candidates on this network */
    perf_choice choice;
    if (data_open(&src, r->dataset, data_dir, &e) || training_choose_kernels(&choice, r, threads, &e) ||
        training_new(&t, r, &src, threads, choice.isa, &e)) {
        cmd_fail(&e);
        goto done;
    }
    const training_data *d = training_data_of(t);
    const bool val = r->validation > 0;
    char summary[EXP_TEXT_MAX];
    exp_run_summary(summary, sizeof summary, r); /* the keys as every report names them */
    printf("%s (%zu parameters), %s %s, %lld training / %lld %s images\n", summary,
           net_param_count(training_net(t)), src.name, src.verified ? "verified" : "unverified",
           (long long)d->train.n, (long long)training_data_eval(d)->n, exp_heldout_name(val));
    printf("%d threads, kernels %s\n", threads, net_kernels(training_net(t)));
    printf("kernel choice: %s\n", choice.why);
    printf("%5s %9s %9s %9s %9s %9s %9s %6s %9s %8s\n", "epoch", "loss", "train",
           val ? "val" : "test", "f1", "train_s", "cpu_s", "wait", "img/s", "eval_s");

    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    stop_requested = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    train_ctx pc = {.tty = isatty(STDERR_FILENO), .epochs = r->epochs};
    training_hooks hooks = {.progress = on_progress, .epoch = on_epoch, .ctx = &pc,
                            .stop = &stop_requested};
    training_result res;
    rc = training_run(&res, t, &hooks, &e);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc == ERR_DIVERGED)
        printf("%5d diverged at iteration %d (loss not finite)\n", res.diverged_epoch,
               res.diverged_iter);
    if (rc || (save && (rc = training_save(t, save, &e)) != 0)) {
        cmd_fail(&e);
        goto done;
    }
    const metrics *m = &pc.last;
    const timing_run *tr = &res.time;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("final %s accuracy %.4f, macro precision %.4f recall %.4f F1 %.4f, AUROC %.5f\n",
           exp_heldout_name(val), m->accuracy, m->precision_macro, m->recall_macro,
           m->f1_macro, m->auroc_macro);
    printf("training %.1f s wall (%.2f s/epoch), %.1f s cpu, peak RSS %.0f MiB\n", tr->wall_s,
           tr->wall_s / r->epochs, tr->cpu_s, ru.ru_maxrss / 1024.0);
    printf("gate time %.1f s (%d of %d epochs contended; bench check's rule)\n",
           timing_run_gate_s(tr, threads), tr->contended, tr->epochs);
    printf("parameters sha256 %s%s%s\n", res.params_sha256, save ? ", saved to " : "",
           save ? save : "");
    status = CMD_OK;
done:
    training_free(t);
    exp_release(&x);
    return status;
}
