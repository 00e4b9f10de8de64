/* bench check: the CI gate. Reads the runs of an experiment built from the current git
 * revision, judges them by gate.h's rules and exits 0 only when they reach the accuracy and
 * stay within the time budget; renders every condition in the format asked. */
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
#include "table.h"

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
    "  - each completed run's training time is <= TIME. The time compared is the mean wall\n"
    "    time of the run's uncontended epochs times its epochs; an epoch is contended when\n"
    "    its threads waited for a CPU longer than 10% of the CPU time they got (another\n"
    "    process held the CPUs). When every epoch was contended: its CPU time over its\n"
    "    threads. Load does not fail a run; twice the work does.\n"
    "Otherwise it exits 1 with one line per failed condition on stderr, figures included.\n"
    "\n"
    "  -e, --experiment NAME  the experiment (default ci)\n"
    "  --min-accuracy A       a fraction (0.99) or a percentage (99%); default: the\n"
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

/* What the gate read and decided. */
typedef struct check_state {
    const char *experiment;
    char revision[48];
    double min_acc, budget_s;   /* from the options; NAN: the experiment's [budget] */
    gate_result g;
} check_state;

/* A count, null when unknown (negative). */
static json_t *check_json_count(int v) { return v < 0 ? json_null() : json_integer(v); }

/* One condition as a record (names in check_render). */
static json_t *check_record(const gate_condition *k)
{
    return json_pack("{s:s, s:o, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s}", "condition",
                     k->name, "subject", table_json_text(k->subject), "passed", k->passed,
                     "measured", table_json_num(k->measured), "limit",
                     table_json_num(k->limit), "wall_s", table_json_num(k->wall_s), "cpu_s",
                     table_json_num(k->cpu_s), "epochs", check_json_count(k->epochs),
                     "contended_epochs", check_json_count(k->contended), "threads",
                     check_json_count(k->epochs < 0 ? -1 : k->threads), "message",
                     k->message);
}

/* The conditions in fmt: table, the lines ("ok: ..." on stdout, failures on stderr); the
 * other formats, every condition on stdout (failures on stderr as well); md without the
 * run's times, which its message says. */
static int check_render(const check_state *c, table_format fmt, err_info *e)
{
    const gate_result *g = &c->g;
    static const char *const cols[] = {"<condition", "<subject", "<passed", ">measured",
                                       ">limit", "<message"};
    static const char *const names[] = {"condition", "subject",  "passed", "measured",
                                        "limit",     "wall_s",   "cpu_s",  "epochs",
                                        "contended_epochs", "threads", "message"};
    static const int md_names[] = {0, 1, 2, 3, 4, 10};
    json_t *recs = json_array();
    for (int i = 0; recs && i < g->n; i++) {
        const gate_condition *k = &g->v[i];
        if (!k->passed)
            cmd_error("check: %s", k->message);
        else if (fmt == TABLE_TEXT)
            printf("ok: %s\n", k->message);
        json_array_append_new(recs, check_record(k));
    }
    if (!recs)
        return err_set(e, ERR_NOMEM, "out of memory");
    int rc = 0;
    bool passed = gate_failed(g) == 0;
    if (fmt == TABLE_TEXT && passed)
        printf("check passed\n");
    if (fmt == TABLE_CSV)
        table_records_csv(stdout, names, (int)(sizeof names / sizeof names[0]), recs);
    if (fmt == TABLE_MD) {
        table t;
        table_init(&t, cols, 6);
        for (size_t i = 0; i < json_array_size(recs) && !rc; i++) {
            char cell[6][1024];
            const char *row[6];
            for (int j = 0; j < 6; j++) {
                table_csv_value(cell[j], sizeof cell[j],
                                json_object_get(json_array_get(recs, i), names[md_names[j]]));
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
                                "min_accuracy", table_json_num(g->min_accuracy), "budget_s",
                                table_json_num(g->budget_s), "passed", passed, "runs", g->n_runs,
                                "conditions", recs);
        rc = table_json_write(stdout, doc, e);
    }
    json_decref(recs);
    return rc;
}

/* Read the runs of the current revision and decide (check_state.g); exit code or -1 to go on. */
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
    if ((rc = gate_evaluate(&c->g, &r->sections[0], c->experiment, c->revision, c->min_acc,
                            c->budget_s, e)) != 0)
        /* ERR_INVALID: no minimum accuracy, neither from the options nor from the file */
        return rc == ERR_INVALID ? cmd_usage_error("check", "%s", e->msg) : cmd_fail(e);
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
    report r = {0}; /* released also when check_load fails before loading it */
    int rc = check_load(&c, &r, db, &e);
    if (rc < 0)
        rc = check_render(&c, fmt, &e) ? cmd_fail(&e) : gate_failed(&c.g) ? CMD_FAIL : CMD_OK;
    report_release(&r);
    gate_release(&c.g);
    return rc;
}
