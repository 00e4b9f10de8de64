/* bench history: test accuracy and training time of an experiment's configurations per git
 * revision, with a mark where they moved beyond the noise across seeds (history_load); with
 * --perf, the speed `bench perf` measured per git revision instead (history_perf_load). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "history.h"
#include "store.h"

static const char history_usage[] =
    "usage: bench history [--experiment NAME | --perf] [--format FORMAT] [--db PATH]\n"
    "\n"
    "Per configuration of the experiment (runs equal but for the seed), one row per build\n"
    "(git revision) that produced completed runs of it, oldest first (by its first run's\n"
    "start): date, revision, n runs, test accuracy mean ± sd, training time per run, and a\n"
    "mark where accuracy or time moved by more than twice the pooled sd of the runs (the rule\n"
    "is printed under the table). Configurations are never pooled.\n"
    "\n"
    "With --perf, the speed `bench perf` recorded instead: one section per thread count (and\n"
    "batch, data, kernel options), one row per git revision (-dirty: uncommitted changes),\n"
    "oldest first: date, revision, n measurements, s/epoch mean ± sd and best, images/s,\n"
    "whole-iteration % of the measured peak, and a mark 'slower' or 'faster' where s/epoch\n"
    "moved by the same rule.\n"
    "\n"
    "  -e, --experiment NAME  the experiment (default: every experiment, one section each)\n"
    "  --perf                 the bench perf measurements instead of the experiments' runs\n"
    "  --format FORMAT        table (default), md, csv or json\n"
    "  --db PATH              results database (default results/bench.db)\n"
    "  -h, --help             this help\n";

enum { OPT_DB = 256, OPT_FORMAT, OPT_PERF };

static const struct option history_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"experiment", required_argument, NULL, 'e'},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"perf", no_argument, NULL, OPT_PERF},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Distinct experiment names in order of first appearance. */
typedef struct names {
    char (*v)[128];
    int n;
    err_info *e;
} names;

static int collect_name(void *ctx, const store_experiment_row *x)
{
    names *l = ctx;
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i], x->name) == 0)
            return 0;
    char (*v)[128] = realloc(l->v, (size_t)(l->n + 1) * sizeof *v);
    if (!v)
        return err_set(l->e, ERR_NOMEM, "out of memory listing experiments");
    l->v = v;
    snprintf(l->v[l->n++], sizeof l->v[0], "%s", x->name);
    return 0;
}

/* The --perf history of the database db, open in s. */
static int history_perf(store *s, const char *db, table_format fmt, err_info *e)
{
    history_perf_setup *v = NULL;
    int n = 0;
    int rc = history_perf_load(&v, &n, s, e);
    if (!rc && n == 0)
        rc = err_set(e, ERR_INVALID, "no perf measurements in '%s' yet (bench perf adds some)", db);
    if (!rc)
        rc = history_perf_render(stdout, v, n, fmt, e);
    history_perf_free(v, n);
    return rc;
}

/* The history of every experiment called experiment (NULL: every one) in s. */
static int history_experiments(store *s, const char *db, const char *experiment,
                               table_format fmt, err_info *e)
{
    names l = {.e = e};
    int rc = store_experiments(s, experiment, collect_name, &l, e);
    if (!rc && l.n == 0)
        rc = experiment ? err_set(e, ERR_INVALID, "no experiment '%s' in '%s'", experiment, db)
                        : err_set(e, ERR_INVALID,
                                  "no experiments in '%s' yet (bench run FILE.toml adds some)",
                                  db);
    history_set *sets = calloc((size_t)(l.n ? l.n : 1), sizeof *sets);
    if (!rc && !sets)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    for (int i = 0; i < l.n && !rc; i++)
        rc = history_load(&sets[i], s, l.v[i], e);
    if (!rc)
        rc = history_render(stdout, sets, l.n, fmt, e);
    for (int i = 0; sets && i < l.n; i++)
        history_release(&sets[i]);
    free(sets);
    free(l.v);
    return rc;
}

int cmd_history(int argc, char **argv)
{
    const char *db = "results/bench.db", *experiment = NULL;
    bool perf = false;
    table_format fmt = TABLE_TEXT;
    err_info e = {0};
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "e:h", history_options, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(history_usage, stdout); return CMD_OK;
        case OPT_DB: db = optarg; break;
        case 'e': experiment = optarg; break;
        case OPT_PERF: perf = true; break;
        case OPT_FORMAT:
            if (table_format_parse(&fmt, optarg, &e))
                return cmd_usage_error("history", "--format: %s", e.msg);
            break;
        default: return cmd_bad_option("history", argv);
        }
    }
    if (optind < argc)
        return cmd_usage_error("history", "unexpected argument '%s'", argv[optind]);
    if (perf && experiment)
        return cmd_usage_error("history", "--perf shows bench perf measurements, which belong to "
                                          "no experiment: drop --experiment '%s'",
                               experiment);
    store *s = NULL;
    if (store_open_readonly(&s, db, &e))
        return cmd_fail(&e);
    int rc = perf ? history_perf(s, db, fmt, &e) : history_experiments(s, db, experiment, fmt, &e);
    store_close(s);
    return rc ? cmd_fail(&e) : CMD_OK;
}
