/* bench show RUN: one run's configuration, provenance and per-epoch metrics. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "store.h"
#include "timing.h"

static const char show_usage[] =
    "usage: bench show RUN [--db PATH] [--classes]\n"
    "\n"
    "Show one run: status, timing, the resolved configuration, its provenance (git revision,\n"
    "build, host, data set) and every epoch's metrics. RUN is a run key or a unique prefix of\n"
    "one (at least 4 characters), as printed by bench ls. Per epoch, the training's wall and\n"
    "CPU seconds and its threads' run-queue wait as a share of the CPU time ('*': contended,\n"
    "above 10%%: other processes held the CPUs).\n"
    "\n"
    "  --db PATH       results database (default results/bench.db)\n"
    "  --classes       also per-class precision, recall and F1 of the last epoch\n"
    "  -h, --help      this help\n";

enum { OPT_DB = 256, OPT_CLASSES };

static const struct option show_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"classes", no_argument, NULL, OPT_CLASSES},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *or_dash(const char *s) { return s && *s ? s : "-"; }

typedef struct epochs_ctx {
    int rows;
    int threads;       /* of the run */
    timing_run time;   /* the epochs folded */
    bool classes;
    int last_k;
    double prec[64], rec[64], f1[64];
    int64_t support[64];
} epochs_ctx;

static int print_run(void *ctx, const store_run_row *r)
{
    ((epochs_ctx *)ctx)->threads = r->threads;
    printf("run %s\n", r->run_key);
    printf("  experiment   %s\n", or_dash(r->experiment_name));
    printf("  status       %s", run_status_name(r->status));
    if (r->diverged_epoch)
        printf(" (diverged in epoch %d)", r->diverged_epoch);
    printf("\n");
    if (r->error)
        printf("  error        %s\n", r->error);
    printf("  queued       %s\n  started      %s\n  finished     %s\n", or_dash(r->queued_at),
           or_dash(r->started_at), or_dash(r->finished_at));
    if (!isnan(r->wall_s))
        printf("  time         %.1f s wall, %.1f s cpu, peak RSS %.0f MiB\n", r->wall_s, r->cpu_s,
               (double)r->peak_rss_bytes / 1048576.0);
    printf("  threads      %d\n  kernels      %s\n", r->threads, or_dash(r->kernels));
    printf("  parameters   sha256 %s\n", or_dash(r->params_sha256));
    /* the resolved configuration, indented JSON */
    json_error_t je;
    json_t *cfg = r->config_json ? json_loads(r->config_json, 0, &je) : NULL;
    char *pretty = cfg ? json_dumps(cfg, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    printf("configuration\n");
    if (pretty) {
        for (char *line = strtok(pretty, "\n"); line; line = strtok(NULL, "\n"))
            printf("  %s\n", line);
    } else {
        printf("  %s\n", or_dash(r->config_json));
    }
    free(pretty);
    json_decref(cfg);
    return 0;
}

static int print_provenance(void *ctx, const store_provenance *p)
{
    (void)ctx;
    printf("provenance\n");
    if (p->experiment_name)
        printf("  experiment   %s (%s, sha256 %.16s, created %s)\n", p->experiment_name,
               or_dash(p->experiment_file), or_dash(p->experiment_sha256),
               or_dash(p->experiment_created_at));
    if (p->build) {
        const store_build *b = p->build;
        printf("  git          %s on %s%s\n", or_dash(b->git_sha), or_dash(b->git_branch),
               b->git_dirty ? " (dirty)" : "");
        printf("  compiler     %s %s, %s\n", or_dash(b->compiler), or_dash(b->compiler_version),
               or_dash(b->cflags));
        printf("  blas         %s\n  binary       sha256 %s\n", or_dash(b->blas),
               or_dash(b->binary_sha256));
    }
    if (p->host) {
        const store_host *h = p->host;
        printf("  host         %s: %s, %d cores, %.1f GiB, %s, %s\n", or_dash(h->hostname),
               or_dash(h->cpu_model), h->cores, (double)h->ram_bytes / 1073741824.0,
               or_dash(h->os), or_dash(h->kernel));
    }
    if (p->dataset)
        printf("  data         %s at %s (content sha256 %.16s)\n", or_dash(p->dataset->name),
               or_dash(p->dataset->file), or_dash(p->dataset->sha256));
    return 0;
}


static int print_epoch(void *ctx, const store_epoch *ep)
{
    epochs_ctx *c = ctx;
    if (c->rows++ == 0)
        printf("epochs\n  %5s %9s %9s %9s %9s %9s %9s %9s %8s %8s %6s %9s\n", "epoch", "loss",
               "train", "test", "precision", "recall", "f1", "auroc", "train_s", "cpu_s", "wait",
               "img/s");
    const timing_span t = timing_span_of(ep);
    timing_run_add(&c->time, &t);
    char wait[16] = "-";
    if (!isnan(timing_wait_share(&t)))
        snprintf(wait, sizeof wait, "%.0f%%%s", 100.0 * timing_wait_share(&t),
                 timing_contended(&t) ? "*" : "");
    printf("  %5d %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f %9.5f %8.2f %8.2f %6s %9.0f\n", ep->epoch,
           ep->train_loss, ep->train_acc, ep->test_acc, ep->precision_macro, ep->recall_macro,
           ep->f1_macro, ep->auroc_macro, ep->wall_s, ep->cpu_s, wait, ep->images_per_s);
    if (c->classes && ep->k > 0 && ep->k <= 64 && ep->precision) {
        c->last_k = ep->k;
        memcpy(c->prec, ep->precision, (size_t)ep->k * sizeof(double));
        memcpy(c->rec, ep->recall, (size_t)ep->k * sizeof(double));
        memcpy(c->f1, ep->f1, (size_t)ep->k * sizeof(double));
        memcpy(c->support, ep->support, (size_t)ep->k * sizeof(int64_t));
    }
    return 0;
}

int cmd_show(int argc, char **argv)
{
    const char *db = "results/bench.db";
    bool classes = false;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", show_options, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(show_usage, stdout); return CMD_OK;
        case OPT_DB: db = optarg; break;
        case OPT_CLASSES: classes = true; break;
        default: return cmd_bad_option("show", argv);
        }
    }
    if (optind >= argc)
        return cmd_usage_error("show", "missing the run key");
    if (optind + 1 < argc)
        return cmd_usage_error("show", "unexpected argument '%s'", argv[optind + 1]);
    err_info e = {0};
    store *s = NULL;
    if (store_open_readonly(&s, db, &e))
        return cmd_fail(&e);
    char key[STORE_KEY_MAX];
    epochs_ctx ec = {.classes = classes};
    int rc = store_run_resolve(s, key, argv[optind], &e);
    if (!rc)
        rc = store_run_get(s, key, print_run, &ec, &e);
    if (!rc)
        rc = store_run_provenance(s, key, print_provenance, NULL, &e);
    if (!rc)
        rc = store_epochs(s, key, classes, print_epoch, &ec, &e);
    store_close(s);
    if (rc)
        return cmd_fail(&e);
    if (ec.rows == 0)
        printf("epochs\n  none recorded\n");
    else if (ec.time.contended > 0)
        printf("  *: contended, %d of %d epochs (run-queue wait > 10%% of CPU time: other "
               "processes held the CPUs); gate time %.1f s\n", ec.time.contended,
               ec.time.epochs, timing_run_gate_s(&ec.time, ec.threads));
    if (ec.last_k) {
        printf("classes (last epoch)\n  %5s %9s %9s %9s %8s\n", "class", "precision", "recall",
               "f1", "support");
        for (int i = 0; i < ec.last_k; i++)
            printf("  %5d %9.4f %9.4f %9.4f %8lld\n", i, ec.prec[i], ec.rec[i], ec.f1[i],
                   (long long)ec.support[i]);
    }
    return CMD_OK;
}
