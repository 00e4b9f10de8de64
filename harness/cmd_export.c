/* bench export: every run at every epoch as flat rows for other programs (pandas, R, a
 * spreadsheet): who made it, every configuration key of the vocabulary as its own column,
 * typed, then the epoch's metrics. The rows come from store_export, the columns from the
 * vocabulary (exp.h), the writing from table.c: CSV and JSON carry the same values. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "exp.h"
#include "store.h"
#include "table.h"

static const char export_usage[] =
    "usage: bench export [--db PATH] [--experiment NAME] [--status STATUS]\n"
    "                    [--where KEY=VALUE]... [--tag KEY[=VALUE]]... [--archived]\n"
    "                    [--format csv|json]\n"
    "\n"
    "Write one row per run and epoch (a run without epochs: one row with empty metrics),\n"
    "ordered by run key and epoch: experiment, run, status, revision, git_dirty,\n"
    "dataset_sha256, archived, note, tags, then every configuration key (the labels of\n"
    "experiments/README.md: dataset ... test_samples) as its own typed column, then the\n"
    "epoch's metrics (epoch, train_loss, train_acc, test_loss, test_acc, precision_macro,\n"
    "recall_macro, f1_macro, auroc_macro, f1_weighted, wall_s, cpu_s, images_per_s).\n"
    "The database also holds the view runs_flat: a row per run with the same columns and its\n"
    "last epoch's metrics, for SQL (pandas.read_sql(\"select * from runs_flat\", con)).\n"
    "\n"
    "  --db PATH            results database (default results/bench.db)\n"
    "  -e, --experiment N   only runs of experiment N (its name is the experiment column)\n"
    "  --status STATUS      only runs in STATUS (any case)\n"
    "  -w, --where KEY=VAL  only runs whose configuration key KEY is VAL; repeatable\n"
    "  -t, --tag KEY[=VAL]  only runs tagged KEY (with value VAL); repeatable\n"
    "  --archived           archived runs too\n"
    "  --format FORMAT      csv (default) or json\n"
    "  -h, --help           this help\n";

enum { OPT_DB = 256, OPT_STATUS, OPT_FORMAT, OPT_ARCHIVED };
enum { EXPORT_MAX_CONDS = 32 };

static const struct option export_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"experiment", required_argument, NULL, 'e'},
    {"status", required_argument, NULL, OPT_STATUS},
    {"where", required_argument, NULL, 'w'},
    {"tag", required_argument, NULL, 't'},
    {"archived", no_argument, NULL, OPT_ARCHIVED},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The columns before the configuration keys, and the epoch's after them. */
static const char *const export_head[] = {"experiment", "run", "status", "revision",
                                          "git_dirty", "dataset_sha256", "archived", "note",
                                          "tags"};
static const char *const export_epoch[] = {"epoch", "train_loss", "train_acc", "test_loss",
                                           "test_acc", "precision_macro", "recall_macro",
                                           "f1_macro", "auroc_macro", "f1_weighted", "wall_s",
                                           "cpu_s", "images_per_s"};
enum {
    EXPORT_HEAD = sizeof export_head / sizeof export_head[0],
    EXPORT_EPOCH = sizeof export_epoch / sizeof export_epoch[0],
};

typedef struct export_ctx {
    json_t *rows;
    const exp_where *where;
    int n_where;
    err_info *e;
} export_ctx;

static int export_row(void *ctx, const store_export_row *r)
{
    export_ctx *c = ctx;
    char tags[2048];
    cmd_tags_text(tags, sizeof tags, r->tags);
    json_t *cfg = r->config_json ? json_loads(r->config_json, 0, NULL) : NULL;
    if (c->n_where && !(cfg && exp_where_match(c->where, c->n_where, cfg))) {
        json_decref(cfg);
        return 0;
    }
    json_t *rec = json_pack("{s:o, s:s, s:s, s:o, s:b, s:o, s:b, s:o, s:o}", "experiment",
                            table_json_text(r->experiment), "run", r->run_key, "status",
                            run_status_name(r->status), "revision", table_json_text(r->git_sha),
                            "git_dirty", r->git_dirty != 0, "dataset_sha256",
                            table_json_text(r->dataset_sha256), "archived",
                            r->archived_at != NULL, "note", table_json_text(r->note), "tags",
                            table_json_text(tags));
    for (int k = 0; rec && k < exp_vocab_count(); k++) {
        exp_value v = {.type = EXP_NONE};
        if (cfg)
            exp_value_from_json(&v, exp_vocab_at(k), cfg);
        json_object_set_new(rec, exp_vocab_at(k)->label, exp_value_json(&v));
    }
    json_decref(cfg);
    const store_epoch *ep = r->epoch;
    const double m[EXPORT_EPOCH - 1] = {
        ep ? ep->train_loss : NAN, ep ? ep->train_acc : NAN, ep ? ep->test_loss : NAN,
        ep ? ep->test_acc : NAN, ep ? ep->precision_macro : NAN, ep ? ep->recall_macro : NAN,
        ep ? ep->f1_macro : NAN, ep ? ep->auroc_macro : NAN, ep ? ep->f1_weighted : NAN,
        ep ? ep->wall_s : NAN, ep ? ep->cpu_s : NAN, ep ? ep->images_per_s : NAN};
    if (rec)
        json_object_set_new(rec, "epoch", ep ? json_integer(ep->epoch) : json_null());
    for (int i = 1; rec && i < EXPORT_EPOCH; i++)
        json_object_set_new(rec, export_epoch[i], table_json_num(m[i - 1]));
    if (!rec || json_array_append_new(c->rows, rec))
        return err_set(c->e, ERR_NOMEM, "out of memory exporting runs");
    return 0;
}

int cmd_export(int argc, char **argv)
{
    const char *db = "results/bench.db", *experiment = NULL;
    int status = -1, n_where = 0;
    table_format fmt = TABLE_CSV;
    exp_where where[EXPORT_MAX_CONDS];
    store_tag tags[EXPORT_MAX_CONDS];
    store_filter filter = {.tags = tags};
    err_info e = {0};
    int rc = 0;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "e:w:t:h", export_options, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(export_usage, stdout); return CMD_OK;
        case OPT_DB: db = optarg; break;
        case 'e': experiment = optarg; break;
        case OPT_ARCHIVED: filter.archived = true; break;
        case OPT_STATUS:
            if (run_status_parse(&status, optarg, &e))
                return cmd_usage_error("export", "--status: %s", e.msg);
            break;
        case OPT_FORMAT:
            if (table_format_parse(&fmt, optarg, &e) || fmt == TABLE_TEXT || fmt == TABLE_MD)
                return cmd_usage_error("export", "--format: '%s' is not csv or json", optarg);
            break;
        case 'w':
            if ((rc = cmd_parse_where(where, &n_where, EXPORT_MAX_CONDS, "export", optarg)))
                return rc;
            break;
        case 't':
            if ((rc = cmd_parse_tag(tags, &filter.n_tags, EXPORT_MAX_CONDS, "export", optarg)))
                return rc;
            break;
        default: return cmd_bad_option("export", argv);
        }
    }
    if (optind < argc)
        return cmd_usage_error("export", "unexpected argument '%s'", argv[optind]);
    store *s = NULL;
    if (store_open_readonly(&s, db, &e))
        return cmd_fail(&e);
    export_ctx ctx = {.rows = json_array(), .where = where, .n_where = n_where, .e = &e};
    rc = ctx.rows ? store_set_filter(s, &filter, &e) : err_set(&e, ERR_NOMEM, "out of memory");
    if (!rc)
        rc = store_export(s, experiment, status, export_row, &ctx, &e);
    store_close(s);
    if (!rc && experiment && json_array_size(ctx.rows) == 0 && !n_where && !filter.n_tags &&
        status < 0)
        rc = err_set(&e, ERR_INVALID, "no runs of experiment '%s' in '%s'", experiment, db);
    if (!rc && fmt == TABLE_CSV) {
        const char *names[EXPORT_HEAD + 64 + EXPORT_EPOCH];
        int n = 0;
        for (int i = 0; i < EXPORT_HEAD; i++)
            names[n++] = export_head[i];
        for (int k = 0; k < exp_vocab_count() && k < 64; k++)
            names[n++] = exp_vocab_at(k)->label;
        for (int i = 0; i < EXPORT_EPOCH; i++)
            names[n++] = export_epoch[i];
        table_records_csv(stdout, names, n, ctx.rows);
    } else if (!rc) {
        rc = table_json_write(stdout, json_pack("{s:i, s:O}", "format", 1, "rows", ctx.rows),
                              &e);
    }
    json_decref(ctx.rows);
    return rc ? cmd_fail(&e) : CMD_OK;
}
