/* bench ls: the experiments in the results database and their runs, with status. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "store.h"
#include "timing.h"

static const char ls_usage[] =
    "usage: bench ls [--db PATH] [--experiment NAME] [--status STATUS]\n"
    "\n"
    "List the runs of the results database, grouped by experiment: run key, status, epochs\n"
    "done, last test accuracy, wall time and the main configuration keys. A '*' after the\n"
    "wall time marks a run trained on a contended machine (in some epoch its threads waited\n"
    "for a CPU longer than 10%% of the CPU time they got).\n"
    "\n"
    "  --db PATH            results database (default results/bench.db)\n"
    "  -e, --experiment N   only runs of experiment N\n"
    "  --status STATUS      only runs in STATUS (QUEUED, RUNNING, COMPLETED, FAILED,\n"
    "                       DIVERGED, INTERRUPTED)\n"
    "  -h, --help           this help\n";

enum { OPT_DB = 256, OPT_STATUS };

static const struct option ls_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"experiment", required_argument, NULL, 'e'},
    {"status", required_argument, NULL, OPT_STATUS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct ls_ctx {
    store *s;
    err_info *e;
    int64_t experiment_id;
    int rows;
    int contended;     /* runs marked */
} ls_ctx;

static int print_row(void *ctx, const store_run_row *r)
{
    ls_ctx *c = ctx;
    if (c->rows == 0 || r->experiment_id != c->experiment_id) {
        printf("%sexperiment %s\n", c->rows ? "\n" : "",
               r->experiment_name ? r->experiment_name : "(none)");
        printf("  %-12s  %-11s  %6s  %7s  %8s  %-7s  %-9s  %8s  %-3s  %4s\n", "run", "status",
               "epochs", "test", "wall", "model", "optimizer", "lr", "bn", "seed");
        c->experiment_id = r->experiment_id;
    }
    timing_run t;
    int rc = timing_run_load(&t, c->s, r->run_key, c->e);
    if (rc)
        return rc;
    c->contended += t.contended > 0;
    char acc[16] = "-", wall[16] = "-";
    if (!isnan(r->last_test_acc))
        snprintf(acc, sizeof acc, "%.4f", r->last_test_acc);
    if (!isnan(r->wall_s))
        snprintf(wall, sizeof wall, "%.1fs%s", r->wall_s, t.contended > 0 ? "*" : "");
    char ep[16];
    snprintf(ep, sizeof ep, "%d/%d", r->epochs_done, r->epochs);
    printf("  %-12.12s  %-11s  %6s  %7s  %8s  %-7.7s  %-9.9s  %8g  %-3s  %4lld\n", r->run_key,
           run_status_name(r->status), ep, acc, wall, r->model ? r->model : "?",
           r->optimizer ? r->optimizer : "?", r->lr, r->bn ? "on" : "off", (long long)r->seed);
    c->rows++;
    return 0;
}

int cmd_ls(int argc, char **argv)
{
    const char *db = "results/bench.db", *experiment = NULL;
    int status = -1;
    err_info e = {0};
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "e:h", ls_options, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(ls_usage, stdout); return CMD_OK;
        case OPT_DB: db = optarg; break;
        case 'e': experiment = optarg; break;
        case OPT_STATUS:
            if (run_status_parse(&status, optarg, &e))
                return cmd_usage_error("ls", "--status: %s", e.msg);
            break;
        default: return cmd_bad_option("ls", argv);
        }
    }
    if (optind < argc)
        return cmd_usage_error("ls", "unexpected argument '%s'", argv[optind]);
    store *s = NULL;
    if (store_open_readonly(&s, db, &e))
        return cmd_fail(&e);
    ls_ctx ctx = {.s = s, .e = &e};
    int rc = store_runs(s, experiment, status, print_row, &ctx, &e);
    store_close(s);
    if (rc)
        return cmd_fail(&e);
    if (ctx.rows == 0) {
        if (experiment) {
            cmd_error("no runs of experiment '%s' in '%s'", experiment, db);
            return CMD_FAIL;
        }
        printf("no runs in '%s' yet (bench run FILE.toml adds some)\n", db);
    }
    if (ctx.contended)
        printf("\n*: %d run%s trained on a contended machine: other processes held the CPUs in "
               "some epoch, so the wall time is not the code's (bench show RUN: which epochs)\n",
               ctx.contended, ctx.contended == 1 ? "" : "s");
    return CMD_OK;
}
