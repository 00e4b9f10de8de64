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
#include "table.h"
#include "vec.h"

static const char check_usage[] =
    "usage: bench check [--experiment NAME] [--min-accuracy A] [--budget TIME]\n"
    "                   [--format FORMAT] [--db PATH]\n"
    "\n"
    "The CI gate. Takes the runs of the newest version of experiment NAME whose build has\n"
    "the current git revision of the sources (runs of other revisions do not count) and\n"
    "passes (exit 0) only when:\n"
    "  - at least one run is COMPLETED (missing runs are a failure, not a pass),\n"
    "  - none DIVERGED or FAILED,\n"
    "  - the mean final test accuracy of the completed runs of each configuration is >= A,\n"
    "  - each completed run's training time (sum of its epochs' wall time) is <= TIME.\n"
    "Otherwise it exits 1 with one line per failed condition on stderr, figures included.\n"
    "\n"
    "  -e, --experiment NAME  the experiment (default ci)\n"
    "  --min-accuracy A       a fraction (0.99) or a percentage (99%%); default: the\n"
    "                         experiment's [budget] target_accuracy (required without one)\n"
    "  --budget TIME          per-run training time: 1200, 90s, 20m, 1.5h; default: the\n"
    "                         experiment's [budget] minutes (no time check without one)\n"
    "  --format FORMAT        table (default: the lines above), md, csv or json: every\n"
    "                         condition with its figures, whether it passed (stdout)\n"
    "  --db PATH              results database (default results/bench.db)\n"
    "  -h, --help             this help\n";

enum { OPT_DB = 256, OPT_MIN_ACC, OPT_BUDGET, OPT_FORMAT };

static const struct option check_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"experiment", required_argument, NULL, 'e'},
    {"min-accuracy", required_argument, NULL, OPT_MIN_ACC},
    {"budget", required_argument, NULL, OPT_BUDGET},
    {"format", required_argument, NULL, OPT_FORMAT},
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

/* One condition the gate checked. */
typedef struct check_cond {
    char name[16];              /* "runs", "run", "accuracy", "budget" */
    char subject[600];          /* what it is about: a run key, a group label, "" */
    bool passed;
    double measured, limit;     /* NAN when they do not apply */
    char message[700];          /* the line printed for it */
} check_cond;

/* What the gate read and decided. */
typedef struct check_state {
    const char *experiment;
    char revision[48];
    double min_acc, budget_s;   /* NAN: none */
    check_cond *v;
    int n, cap;
    int n_runs;                 /* completed runs counted */
} check_state;

static check_cond *check_add(check_state *c, const char *name, const char *subject, bool passed,
                             double measured, double limit)
{
    if (!vec_grow((void **)&c->v, c->n, &c->cap, sizeof *c->v))
        return NULL;
    check_cond *k = &c->v[c->n++];
    *k = (check_cond){.passed = passed, .measured = measured, .limit = limit};
    snprintf(k->name, sizeof k->name, "%s", name);
    snprintf(k->subject, sizeof k->subject, "%s", subject);
    return k;
}

/* The conditions on the runs of sec: none failed or diverged, each within the budget. */
static bool check_runs(check_state *c, const report_section *sec)
{
    double slowest = 0.0;
    for (int i = 0; i < sec->n_runs; i++) {
        const report_run *run = &sec->runs[i];
        check_cond *k;
        if (run->status == RUN_DIVERGED || run->status == RUN_FAILED) {
            if (!(k = check_add(c, "run", run->key, false, NAN, NAN)))
                return false;
            if (run->diverged_epoch)
                snprintf(k->message, sizeof k->message, "run %.12s: %s in epoch %d", run->key,
                         run_status_name(run->status), run->diverged_epoch);
            else
                snprintf(k->message, sizeof k->message, "run %.12s: %s", run->key,
                         run_status_name(run->status));
        }
        if (run->status != RUN_COMPLETED || run->epoch == 0)
            continue;
        c->n_runs++;
        slowest = fmax(slowest, run->train_s);
        if (!isnan(c->budget_s) && run->train_s > c->budget_s) {
            if (!(k = check_add(c, "budget", run->key, false, run->train_s, c->budget_s)))
                return false;
            snprintf(k->message, sizeof k->message, "run %.12s: training %.0f s > budget %.0f s",
                     run->key, run->train_s, c->budget_s);
        }
    }
    if (c->n_runs && !isnan(c->budget_s) && slowest <= c->budget_s) {
        check_cond *k = check_add(c, "budget", "", true, slowest, c->budget_s);
        if (!k)
            return false;
        snprintf(k->message, sizeof k->message, "slowest run trained in %.0f s <= budget %.0f s",
                 slowest, c->budget_s);
    }
    return true;
}

/* The conditions on accuracy: each group's mean at least min_acc; runs at all. */
static bool check_groups(check_state *c, const report_section *sec)
{
    check_cond *k;
    if (c->n_runs == 0) {
        if (!(k = check_add(c, "runs", "", false, 0, 1)))
            return false;
        snprintf(k->message, sizeof k->message,
                 "no completed runs of experiment '%s' at revision %.12s", c->experiment,
                 c->revision);
        return true;
    }
    for (int g = 0; g < sec->n_groups; g++) {
        const report_group *gr = &sec->groups[g];
        if (gr->n == 0)
            continue;
        bool ok = gr->acc.mean >= c->min_acc;
        const char *label = sec->n_groups > 1 ? gr->label : "";
        if (!(k = check_add(c, "accuracy", label, ok, gr->acc.mean, c->min_acc)))
            return false;
        snprintf(k->message, sizeof k->message, "accuracy %.4f %s %.4f over %d run%s%s%s%s",
                 gr->acc.mean, ok ? ">=" : "<", c->min_acc, gr->n, gr->n == 1 ? "" : "s",
                 ok ? " of experiment '" : "", ok ? c->experiment : "", ok ? "'" : "");
        if (ok)
            snprintf(k->message + strlen(k->message), sizeof k->message - strlen(k->message),
                     " at revision %.12s", c->revision);
        if (label[0])
            snprintf(k->message + strlen(k->message), sizeof k->message - strlen(k->message),
                     " (%s)", label);
    }
    if (isnan(c->budget_s) && (k = check_add(c, "budget", "", true, NAN, NAN)))
        snprintf(k->message, sizeof k->message,
                 "no time budget (no --budget and no [budget] minutes)");
    return true;
}

static int check_failed(const check_state *c)
{
    int n = 0;
    for (int i = 0; i < c->n; i++)
        n += !c->v[i].passed;
    return n;
}

/* The conditions in fmt: table, the lines ("ok: ..." on stdout, failures on stderr); the
 * other formats, every condition on stdout (failures on stderr as well). */
static int check_render(const check_state *c, table_format fmt, err_info *e)
{
    static const char *const cols[] = {"<condition", "<subject", "<passed", ">measured",
                                       ">limit", "<message"};
    static const char *const names[] = {"condition", "subject", "passed", "measured", "limit",
                                        "message"};
    json_t *recs = json_array();
    for (int i = 0; recs && i < c->n; i++) {
        const check_cond *k = &c->v[i];
        if (!k->passed)
            cmd_error("check: %s", k->message);
        else if (fmt == TABLE_TEXT)
            printf("ok: %s\n", k->message);
        json_array_append_new(recs, json_pack("{s:s, s:o, s:b, s:o, s:o, s:s}", "condition",
                                              k->name, "subject", table_json_text(k->subject),
                                              "passed", k->passed, "measured",
                                              table_json_num(k->measured), "limit",
                                              table_json_num(k->limit), "message", k->message));
    }
    if (!recs)
        return err_set(e, ERR_NOMEM, "out of memory");
    int rc = 0;
    bool passed = check_failed(c) == 0;
    if (fmt == TABLE_TEXT && passed)
        printf("check passed\n");
    if (fmt == TABLE_CSV)
        table_records_csv(stdout, names, 6, recs);
    if (fmt == TABLE_MD) {
        table t;
        table_init(&t, cols, 6);
        for (size_t i = 0; i < json_array_size(recs) && !rc; i++) {
            char cell[6][1024];
            const char *row[6];
            for (int j = 0; j < 6; j++) {
                table_csv_value(cell[j], sizeof cell[j],
                                json_object_get(json_array_get(recs, i), names[j]));
                row[j] = cell[j];
            }
            rc = table_row(&t, row, e);
        }
        printf("## check of experiment %s at revision %.12s: %s\n\n", c->experiment, c->revision,
               passed ? "passed" : "failed");
        rc = table_finish(stdout, &t, fmt, "", rc);
    }
    if (fmt == TABLE_JSON) {
        json_t *doc = json_pack("{s:i, s:s, s:s, s:o, s:o, s:b, s:i, s:O}", "format", 1,
                                "experiment", c->experiment, "revision", c->revision,
                                "min_accuracy", table_json_num(c->min_acc), "budget_s",
                                table_json_num(c->budget_s), "passed", passed, "runs", c->n_runs,
                                "conditions", recs);
        rc = table_json_write(stdout, doc, e);
    }
    json_decref(recs);
    return rc;
}

/* Read the runs of the current revision and decide (check_state.v); exit code or -1 to go on. */
static int check_load(check_state *c, report *r, const char *db, err_info *e)
{
    prov_build_info b;
    if (prov_build(&b, NULL, e))
        return cmd_fail(e);
    snprintf(c->revision, sizeof c->revision, "%s", b.git_sha);
    prov_build_release(&b);
    store *s = NULL;
    if (store_open_readonly(&s, db, e))
        return cmd_fail(e);
    report_options o = report_options_default();
    o.experiment = c->experiment;
    o.compare = 0;
    o.git_sha = c->revision;
    o.keep_runs = true;
    o.newest_only = true;
    int rc = report_load(r, s, &o, e);
    store_close(s);
    if (rc)
        return cmd_fail(e);
    const report_section *sec = &r->sections[0];
    if (isnan(c->min_acc) && sec->target_accuracy > 0)
        c->min_acc = sec->target_accuracy;
    if (isnan(c->budget_s) && sec->budget_minutes > 0)
        c->budget_s = sec->budget_minutes * 60.0;
    if (isnan(c->min_acc) && !sec->sweep_stored)
        return cmd_usage_error("check",
                               "--min-accuracy is required: experiment '%s' was queued by an "
                               "older bench, which did not store its [budget] (bench run its "
                               "file again to store it: complete runs are skipped)",
                               c->experiment);
    if (isnan(c->min_acc))
        return cmd_usage_error("check",
                               "--min-accuracy is required: experiment '%s' has no [budget] "
                               "target_accuracy",
                               c->experiment);
    if (!check_runs(c, sec) || !check_groups(c, sec)) {
        err_set(e, ERR_NOMEM, "out of memory");
        return cmd_fail(e);
    }
    return -1;
}

int cmd_check(int argc, char **argv)
{
    const char *db = "results/bench.db";
    check_state c = {.experiment = "ci", .min_acc = NAN, .budget_s = NAN};
    table_format fmt = TABLE_TEXT;
    err_info e = {0};
    optind = 0;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "e:h", check_options, NULL)) != -1) {
        switch (opt) {
        case 'h': fputs(check_usage, stdout); return CMD_OK;
        case OPT_DB: db = optarg; break;
        case 'e': c.experiment = optarg; break;
        case OPT_MIN_ACC:
            if (!parse_accuracy(&c.min_acc, optarg))
                return cmd_usage_error("check",
                                       "--min-accuracy: '%s' is not a fraction in (0, 1] or a "
                                       "percentage",
                                       optarg);
            break;
        case OPT_BUDGET:
            if (!parse_duration(&c.budget_s, optarg))
                return cmd_usage_error("check",
                                       "--budget: '%s' is not a duration (1200, 90s, 20m, 1h)",
                                       optarg);
            break;
        case OPT_FORMAT:
            if (table_format_parse(&fmt, optarg, &e))
                return cmd_usage_error("check", "--format: %s", e.msg);
            break;
        default: return cmd_bad_option("check", argv);
        }
    }
    if (optind < argc)
        return cmd_usage_error("check", "unexpected argument '%s'", argv[optind]);
    report r;
    int rc = check_load(&c, &r, db, &e);
    if (rc < 0)
        rc = check_render(&c, fmt, &e) ? cmd_fail(&e) : check_failed(&c) ? CMD_FAIL : CMD_OK;
    report_release(&r);
    free(c.v);
    return rc;
}
