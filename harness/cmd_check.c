/* bench check: the CI gate. Reads the runs of an experiment built from the current git
 * revision and exits 0 only when they reach the accuracy and stay within the time budget. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
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
    "  - each completed run's training time (sum of its epochs' wall time) is <= TIME.\n"
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
    const report_section *sec = &r.sections[0];
    if (isnan(min_acc) && sec->target_accuracy > 0)
        min_acc = sec->target_accuracy;
    if (isnan(budget_s) && sec->budget_minutes > 0)
        budget_s = sec->budget_minutes * 60.0;
    if (isnan(min_acc)) {
        report_release(&r);
        return cmd_usage_error("check",
                               "--min-accuracy is required: experiment '%s' has no [budget] "
                               "target_accuracy",
                               experiment);
    }

    int failed = 0, n = 0;
    double sum = 0.0, slowest = 0.0;
    for (int i = 0; i < sec->n_runs; i++) {
        const report_run *run = &sec->runs[i];
        if (run->status == RUN_DIVERGED || run->status == RUN_FAILED) {
            if (run->diverged_epoch)
                cmd_error("check: run %.12s: %s in epoch %d", run->key,
                          run_status_name(run->status), run->diverged_epoch);
            else
                cmd_error("check: run %.12s: %s", run->key, run_status_name(run->status));
            failed++;
        }
        if (run->status != RUN_COMPLETED || run->epoch == 0)
            continue;
        n++;
        sum += run->acc;
        slowest = fmax(slowest, run->train_s);
        if (!isnan(budget_s) && run->train_s > budget_s) {
            cmd_error("check: run %.12s: training %.0f s > budget %.0f s", run->key,
                      run->train_s, budget_s);
            failed++;
        }
    }
    if (n == 0) {
        cmd_error("check: no completed runs of experiment '%s' at revision %.12s", experiment,
                  sha);
        failed++;
    } else {
        double mean = sum / n;
        if (!(mean >= min_acc)) {
            cmd_error("check: accuracy %.4f < %.4f over %d run%s", mean, min_acc, n,
                      n == 1 ? "" : "s");
            failed++;
        } else {
            printf("ok: accuracy %.4f >= %.4f over %d run%s of experiment '%s' at revision "
                   "%.12s\n",
                   mean, min_acc, n, n == 1 ? "" : "s", experiment, sha);
        }
        if (isnan(budget_s))
            printf("ok: no time budget (no --budget and no [budget] minutes)\n");
        else if (slowest <= budget_s)
            printf("ok: slowest run trained in %.0f s <= budget %.0f s\n", slowest, budget_s);
    }
    report_release(&r);
    if (failed)
        return CMD_FAIL;
    printf("check passed\n");
    return CMD_OK;
}
