/* bench check: the CI gate. Reads the runs of an experiment built from the current git
 * revision, judges them by gate.h's rules and exits 0 only when they reach the accuracy and
 * stay within the time budget; one line per failed condition. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "gate.h"
#include "prov.h"
#include "report.h"
#include "store.h"

static const char check_usage[] =
    "usage: bench check [--experiment NAME] [--min-accuracy A] [--budget TIME] [--db PATH]\n"
    "\n"
    "The CI gate. Takes the runs of experiment NAME whose build has the current git revision\n"
    "of the sources (runs of other revisions do not count) and passes (exit 0) only when:\n"
    "  - at least one run is COMPLETED (missing runs are a failure, not a pass),\n"
    "  - none DIVERGED or FAILED,\n"
    "  - the mean final test accuracy of the completed runs is >= A,\n"
    "  - each completed run's training time is <= TIME. The time compared is the mean wall\n"
    "    time of the run's uncontended epochs times its epochs; an epoch is contended when\n"
    "    its threads waited for a CPU longer than 10%% of the CPU time they got (another\n"
    "    process held the CPUs). When every epoch was contended: its CPU time over its\n"
    "    threads. Load does not fail a run; twice the work does.\n"
    "Otherwise it exits 1 with one line per failed condition, figures included.\n"
    "\n"
    "  -e, --experiment NAME  the experiment (default ci)\n"
    "  --min-accuracy A       a fraction (0.99) or a percentage (99%%); default: the\n"
    "                         experiment's [budget] target_accuracy (required without one)\n"
    "  --budget TIME          per-run training time: 1200, 90s, 20m, 1.5h; default: the\n"
    "                         experiment's [budget] minutes (no time check without one)\n"
    "  --db PATH              results database (default results/bench.db)\n"
    "  -h, --help             this help\n";

enum { OPT_DB = 256, OPT_MIN_ACC, OPT_BUDGET };

static const struct option check_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"experiment", required_argument, NULL, 'e'},
    {"min-accuracy", required_argument, NULL, OPT_MIN_ACC},
    {"budget", required_argument, NULL, OPT_BUDGET},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Unit suffixes of --budget and their length in seconds; no suffix means seconds. */
static const struct {
    const char *suffix;
    double seconds;
} check_units[] = {{"", 1.0}, {"s", 1.0}, {"m", 60.0}, {"min", 60.0}, {"h", 3600.0}};

/* *seconds <- a duration such as "1200", "90s", "20m", "1.5h"; false when malformed. */
static bool parse_duration(double *seconds, const char *text)
{
    const char *end;
    double v;
    if (!cmd_strict_double(&v, text, &end) || v < 0)
        return false;
    for (size_t i = 0; i < sizeof check_units / sizeof check_units[0]; i++)
        if (strcmp(end, check_units[i].suffix) == 0) {
            *seconds = v * check_units[i].seconds;
            return isfinite(*seconds);
        }
    return false;
}

/* *acc <- "0.99" or "99%" as a fraction in (0, 1]; false when malformed or out of range. */
static bool parse_accuracy(double *acc, const char *text)
{
    const char *end;
    double v;
    if (!cmd_strict_double(&v, text, &end))
        return false;
    if (strcmp(end, "%") == 0)
        v /= 100.0;
    else if (*end)
        return false;
    if (!(v > 0.0 && v <= 1.0))
        return false;
    *acc = v;
    return true;
}

/* Seconds for messages: whole seconds from 100 s on, 3 significant digits below. */
typedef struct secs {
    char s[32];
} secs;

static secs check_secs(double v)
{
    secs out;
    snprintf(out.s, sizeof out.s, v >= 100.0 ? "%.0f s" : "%.3g s", v);
    return out;
}

/* buf <- how run r's gate time was measured, for messages. */
static void check_time_basis(char *buf, size_t n, const report_run *r)
{
    const timing_run *t = &r->time;
    const int quiet = t->epochs - t->contended;
    if (t->contended == 0)
        snprintf(buf, n, "sum of its %d epochs' wall time", t->epochs);
    else if (quiet > 0)
        snprintf(buf, n, "wall time of its %d uncontended epoch%s scaled to %d; %d contended "
                 "epoch%s took %s", quiet, quiet == 1 ? "" : "s", t->epochs, t->contended,
                 t->contended == 1 ? "" : "s", check_secs(t->wall_s - t->quiet_wall_s).s);
    else if (r->threads > 1)
        snprintf(buf, n, "every epoch contended: CPU time over %d threads, which load inflates "
                 "when threads wait for each other; gate with threads = 1", r->threads);
    else
        snprintf(buf, n, "every epoch contended: its CPU time; wall %s", check_secs(t->wall_s).s);
}

/* One line on stderr for a failed condition of g. */
static void check_print_finding(const report_section *sec, const gate_result *g,
                                const gate_finding *f, const char *sha)
{
    const report_run *run = f->run >= 0 ? &sec->runs[f->run] : NULL;
    char basis[256];
    switch (f->kind) {
    case GATE_RUN_BROKEN:
        if (f->value > 0)
            cmd_error("check: run %.12s: %s in epoch %.0f", run->key,
                      run_status_name(run->status), f->value);
        else
            cmd_error("check: run %.12s: %s", run->key, run_status_name(run->status));
        break;
    case GATE_OVER_BUDGET:
        check_time_basis(basis, sizeof basis, run);
        cmd_error("check: run %.12s: training %s > budget %s (%s)", run->key,
                  check_secs(f->value).s, check_secs(f->limit).s, basis);
        break;
    case GATE_NO_RUNS:
        cmd_error("check: no completed runs of experiment '%s' at revision %.12s",
                  sec->experiment, sha);
        break;
    case GATE_LOW_ACCURACY:
        cmd_error("check: accuracy %.4f < %.4f over %d run%s", f->value, f->limit, g->n,
                  g->n == 1 ? "" : "s");
        break;
    }
}

int cmd_check(int argc, char **argv)
{
    const char *db = "results/bench.db", *experiment = "ci";
    double min_acc = NAN, budget_s = NAN;
    err_info e = {0};
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "e:h", check_options, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(check_usage, stdout); return CMD_OK;
        case OPT_DB: db = optarg; break;
        case 'e': experiment = optarg; break;
        case OPT_MIN_ACC:
            if (!parse_accuracy(&min_acc, optarg))
                return cmd_usage_error("check",
                                       "--min-accuracy: '%s' is not a fraction in (0, 1] or a "
                                       "percentage",
                                       optarg);
            break;
        case OPT_BUDGET:
            if (!parse_duration(&budget_s, optarg))
                return cmd_usage_error("check",
                                       "--budget: '%s' is not a duration (1200, 90s, 20m, 1h)",
                                       optarg);
            break;
        default: return cmd_bad_option("check", argv);
        }
    }
    if (optind < argc)
        return cmd_usage_error("check", "unexpected argument '%s'", argv[optind]);

    /* The current revision of the sources this binary was built from. */
    prov_build_info b;
    if (prov_build(&b, NULL, &e))
        return cmd_fail(&e);
    char sha[48];
    snprintf(sha, sizeof sha, "%s", b.git_sha);
    prov_build_release(&b);

    store *s = NULL;
    if (store_open_readonly(&s, db, &e))
        return cmd_fail(&e);
    report_options o = report_options_default();
    o.experiment = experiment;
    o.group_by = "";
    o.compare = 0;
    o.git_sha = sha;
    report r;
    int rc = report_load(&r, s, &o, &e);
    store_close(s);
    if (rc) {
        report_release(&r);
        return cmd_fail(&e);
    }
    gate_result g;
    if ((rc = gate_evaluate(&g, &r.sections[0], min_acc, budget_s, &e)) != 0) {
        report_release(&r);
        /* ERR_INVALID: no minimum accuracy, neither from the flags nor from the file */
        return rc == ERR_INVALID ? cmd_usage_error("check", "%s", e.msg) : cmd_fail(&e);
    }
    const report_section *sec = &r.sections[0];
    for (int i = 0; i < g.n_findings; i++)
        check_print_finding(sec, &g, &g.findings[i], sha);
    if (g.n > 0 && g.accuracy >= g.min_accuracy)
        printf("ok: accuracy %.4f >= %.4f over %d run%s of experiment '%s' at revision %.12s\n",
               g.accuracy, g.min_accuracy, g.n, g.n == 1 ? "" : "s", experiment, sha);
    if (g.n > 0 && isnan(g.budget_s)) {
        printf("ok: no time budget (no --budget and no [budget] minutes)\n");
    } else if (g.n > 0 && g.slowest_s <= g.budget_s) {
        char basis[256];
        check_time_basis(basis, sizeof basis, &sec->runs[g.slowest]);
        printf("ok: slowest run trained in %s <= budget %s (%s)\n", check_secs(g.slowest_s).s,
               check_secs(g.budget_s).s, basis);
    }
    const bool passed = gate_passed(&g);
    gate_release(&g);
    report_release(&r);
    if (!passed)
        return CMD_FAIL;
    printf("check passed\n");
    return CMD_OK;
}
