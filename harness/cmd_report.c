/* bench report: runs aggregated over seeds, the paper's claims, per-class metrics and
 * confusion matrices, as a table, Markdown, CSV or JSON (report.h, table.h). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "html.h"
#include "report.h"
#include "store.h"
#include "valtest.h"

static const char report_usage[] =
    "usage: bench report [--experiment NAME] [--f1] [--per-class] [--confusion RUN] [--paper]\n"
    "                    [--runs | --provenance] [--group-by KEYS] [--pool-builds] [--epoch N]\n"
    "                    [--no-compare] [--format FORMAT] [--out FILE] [--claims FILE]\n"
    "                    [--db PATH]\n"
    "       bench report --selections [--format table|md|csv|json] [--db PATH]\n"
    "\n"
    "Aggregate the runs of the results database over seeds. Runs are averaged only when their\n"
    "configurations differ in nothing but the seed and one build made them; groups are\n"
    "labelled by the keys the experiment file swept (more when two would read the same). Per\n"
    "group: n completed runs, test accuracy mean, sd and 95% confidence interval (Student t,\n"
    "clipped to [0, 100]%), best and worst, macro F1, training time per run and per epoch, and\n"
    "the diverged/failed runs (counted, never averaged in). Groups that differ in one key are\n"
    "compared (Welch's t-test from the printed n, mean and sd, Holm-corrected within the\n"
    "table). A file that changed is reported one version at a time.\n"
    "\n"
    "  -e, --experiment NAME  only this experiment (default: every experiment, one section each)\n"
    "  --f1                   add macro precision, recall and F1 (mean ± sd), sort by F1\n"
    "  --per-class            precision, recall, F1 and support per class, averaged per group\n"
    "                         (classes named where the data set names them: Fashion-MNIST)\n"
    "  --confusion RUN        the confusion matrix of one run (key or unique prefix)\n"
    "  --paper                the paper's claims against the measurements, with verdicts\n"
    "  --claims FILE          the claims --paper measures (default experiments/claims.toml)\n"
    "  --runs                 the runs one per row, in the order the file plans them: run key,\n"
    "                         git revision, configuration and seed, status, accuracy, F1,\n"
    "                         epochs, training time, threads, peak RSS\n"
    "  --provenance           the builds, hosts and data sets the runs used, with run counts\n"
    "  --selections           how validation predicted test: per experiment that runs on the\n"
    "                         test set a recipe its [select] table chose on validation, the\n"
    "                         winner, its validation mean and sd over its seeds, the test mean\n"
    "                         and sd, test - validation, and whether both used one data set\n"
    "  --group-by KEYS        comma-separated grouping keys instead of the configuration (any\n"
    "                         key of the vocabulary: optimizer, bn, lr, batch, model, ...); runs\n"
    "                         that differ in other keys are then averaged, with a warning\n"
    "  --pool-builds          average runs of different builds (revisions) of a configuration\n"
    "  --epoch N              report at epoch N instead of each run's last\n"
    "  --compare              comparisons even when fewer than 2 groups have n >= 2\n"
    "  --no-compare           no comparisons\n"
    "  --format FORMAT        table (default), md, csv or json (see README 'Report formats');\n"
    "                         html: one self-contained page (verdicts, tables, figures as\n"
    "                         inline SVG, provenance; no network, no JavaScript)\n"
    "  --out FILE             with --format html: write the page to FILE (default stdout)\n"
    "  --db PATH              results database (default results/bench.db)\n"
    "  -h, --help             this help\n";

enum {
    OPT_DB = 256,
    OPT_F1,
    OPT_PER_CLASS,
    OPT_CONFUSION,
    OPT_PAPER,
    OPT_RUNS,
    OPT_PROVENANCE,
    OPT_GROUP_BY,
    OPT_POOL_BUILDS,
    OPT_EPOCH,
    OPT_COMPARE,
    OPT_NO_COMPARE,
    OPT_FORMAT,
    OPT_CLAIMS,
    OPT_OUT,
    OPT_SELECTIONS,
};

static const struct option report_options_table[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"experiment", required_argument, NULL, 'e'},
    {"f1", no_argument, NULL, OPT_F1},
    {"per-class", no_argument, NULL, OPT_PER_CLASS},
    {"confusion", required_argument, NULL, OPT_CONFUSION},
    {"paper", no_argument, NULL, OPT_PAPER},
    {"runs", no_argument, NULL, OPT_RUNS},
    {"provenance", no_argument, NULL, OPT_PROVENANCE},
    {"group-by", required_argument, NULL, OPT_GROUP_BY},
    {"pool-builds", no_argument, NULL, OPT_POOL_BUILDS},
    {"epoch", required_argument, NULL, OPT_EPOCH},
    {"compare", no_argument, NULL, OPT_COMPARE},
    {"no-compare", no_argument, NULL, OPT_NO_COMPARE},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"claims", required_argument, NULL, OPT_CLAIMS},
    {"out", required_argument, NULL, OPT_OUT},
    {"selections", no_argument, NULL, OPT_SELECTIONS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* bench report --selections: a report of its own, shaped by nothing but --format and --db
 * (others: whether an option of another report was given). */
static int report_selections(const char *db, table_format fmt, const report_options *o,
                             bool others)
{
    report_options d = report_options_default();
    if (others || o->experiment || o->runs || o->provenance || o->per_class || o->sort_f1 ||
        o->group_by || o->pool_builds || o->epoch != d.epoch || o->compare != d.compare)
        return cmd_usage_error("report", "--selections is a report of its own: it takes only "
                               "--format and --db");
    if (fmt == TABLE_HTML)
        return cmd_usage_error("report", "--selections: --format is table, md, csv or json");
    err_info e = {0};
    store *s = NULL;
    valtest_set v = {0};
    int rc = store_open_readonly(&s, db, &e);
    if (!rc)
        rc = valtest_load(&v, s, &e);
    if (!rc)
        rc = valtest_render(stdout, &v, fmt, &e);
    valtest_release(&v);
    store_close(s);
    return rc ? cmd_fail(&e) : CMD_OK;
}

int cmd_report(int argc, char **argv)
{
    const char *db = "results/bench.db", *confusion = NULL, *claims_file = NULL, *out = NULL;
    bool paper = false, selections = false;
    table_format fmt = TABLE_TEXT;
    report_options o = report_options_default();
    err_info e = {0};
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "e:h", report_options_table, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(report_usage, stdout); return CMD_OK;
        case OPT_DB: db = optarg; break;
        case 'e': o.experiment = optarg; break;
        case OPT_F1: o.sort_f1 = true; break;
        case OPT_PER_CLASS: o.per_class = true; break;
        case OPT_CONFUSION: confusion = optarg; break;
        case OPT_PAPER: paper = true; break;
        case OPT_CLAIMS: claims_file = optarg; break;
        case OPT_OUT: out = optarg; break;
        case OPT_SELECTIONS: selections = true; break;
        case OPT_RUNS: o.runs = true; break;
        case OPT_PROVENANCE: o.provenance = true; break;
        case OPT_GROUP_BY: o.group_by = optarg; break;
        case OPT_POOL_BUILDS: o.pool_builds = true; break;
        case OPT_EPOCH:
            if (cmd_parse_int(&o.epoch, "report", "epoch", optarg, 1, INT_MAX))
                return CMD_USAGE;
            break;
        case OPT_COMPARE: o.compare = 1; break;
        case OPT_NO_COMPARE: o.compare = 0; break;
        case OPT_FORMAT:
            if (table_format_parse_page(&fmt, optarg, &e))
                return cmd_usage_error("report", "--format: %s", e.msg);
            break;
        default: return cmd_bad_option("report", argv);
        }
    }
    if (optind < argc)
        return cmd_usage_error("report", "unexpected argument '%s'", argv[optind]);
    if (selections)
        return report_selections(db, fmt, &o, paper || confusion || out || claims_file);
    if (paper && confusion)
        return cmd_usage_error("report", "--paper and --confusion are separate reports");
    /* --runs and --provenance replace the groups: what only shapes the groups conflicts */
    const char *view = o.runs ? "--runs" : o.provenance ? "--provenance" : NULL;
    const char *other = o.runs && o.provenance ? "--provenance"
                        : paper                ? "--paper"
                        : confusion            ? "--confusion"
                        : o.per_class          ? "--per-class"
                                               : NULL;
    if (view && other)
        return cmd_usage_error("report", "%s and %s are separate reports", view, other);
    if (out && fmt != TABLE_HTML)
        return cmd_usage_error("report", "--out writes a page: it needs --format html");
    if (fmt == TABLE_HTML && (view || other || o.group_by))
        return cmd_usage_error("report", "--format html is the whole report: not with %s",
                               view ? view : other ? other : "--group-by");
    store *s = NULL;
    if (store_open_readonly(&s, db, &e))
        return cmd_fail(&e);
    int rc;
    if (fmt == TABLE_HTML) {
        claims cl = {0};
        char path[4096];
        rc = claims_locate(path, sizeof path, claims_file, &e);
        if (!rc)
            rc = claims_load(&cl, path, &e);
        html_options h = {.experiment = o.experiment, .db_path = db, .epoch = o.epoch,
                          .claims = &cl};
        if (!rc)
            rc = out ? html_report_file(out, s, &h, &e) : html_report(stdout, s, &h, &e);
        claims_release(&cl);
    } else if (confusion) {
        rc = report_confusion(stdout, s, confusion, o.epoch, fmt, &e);
    } else if (paper) {
        report_claim *rows = NULL;
        claims cl = {0};
        char path[4096];
        int n = 0;
        rc = claims_locate(path, sizeof path, claims_file, &e);
        if (!rc)
            rc = claims_load(&cl, path, &e);
        if (!rc)
            rc = report_paper(&rows, &n, s, &cl, NULL, o.epoch, &e);
        if (!rc)
            rc = report_paper_render(stdout, rows, n, fmt, &e);
        free(rows);
        claims_release(&cl);
    } else {
        report r;
        o.keep_runs = fmt == TABLE_JSON; /* the JSON lists each group's runs */
        rc = report_load(&r, s, &o, &e);
        if (!rc)
            rc = report_render(stdout, stderr, &r, fmt, &e);
        report_release(&r);
    }
    store_close(s);
    return rc ? cmd_fail(&e) : CMD_OK;
}
