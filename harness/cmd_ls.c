/* bench ls: the experiments in the results database and their runs, with status; a block per
 * version of an experiment's file, labelled when there are several. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "exp.h"
#include "store.h"
#include "table.h"
#include "vec.h"

static const char ls_usage[] =
    "usage: bench ls [--db PATH] [--experiment NAME] [--status STATUS] [--format FORMAT]\n"
    "\n"
    "List the runs of the results database, grouped by experiment and, when its file changed,\n"
    "by version: run key, status, epochs done, last test accuracy, wall time and the main\n"
    "configuration keys (model, optimizer, lr, bn, seed). A '*' after the wall time (CSV and\n"
    "JSON: contended_epochs > 0) marks a run trained on a contended machine: in some epoch\n"
    "its threads waited for a CPU longer than 10%% of the CPU time they got.\n"
    "\n"
    "  --db PATH            results database (default results/bench.db)\n"
    "  -e, --experiment N   only runs of experiment N\n"
    "  --status STATUS      only runs in STATUS (QUEUED, RUNNING, COMPLETED, FAILED,\n"
    "                       DIVERGED, INTERRUPTED)\n"
    "  --format FORMAT      table (default), md, csv or json\n"
    "  -h, --help           this help\n";

enum { OPT_DB = 256, OPT_STATUS, OPT_FORMAT };

static const struct option ls_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"experiment", required_argument, NULL, 'e'},
    {"status", required_argument, NULL, OPT_STATUS},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The configuration keys ls shows, by their vocabulary labels. */
static const char *const ls_keys[] = {"model", "optimizer", "lr", "bn", "seed"};
enum { LS_KEYS = sizeof ls_keys / sizeof ls_keys[0] };

/* A block of the listing: the runs of one experiment version. */
typedef struct ls_block {
    int64_t experiment_id;
    json_t *version;            /* {"number", "of", "file", "spec_sha256", "created_at"} */
    json_t *runs;               /* array of run records */
} ls_block;

typedef struct ls_ctx {
    ls_block *v;
    int n, cap;
    json_t *versions;           /* id (as text) -> version object, from store_experiments */
    err_info *e;
} ls_ctx;

static int collect_version(void *ctx, const store_experiment_row *x)
{
    ls_ctx *c = ctx;
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)x->id);
    json_t *v = json_pack("{s:s, s:i, s:i, s:o, s:o, s:o}", "experiment", x->name, "number",
                          x->version, "of", x->n_versions, "file", table_json_text(x->file),
                          "spec_sha256", table_json_text(x->spec_sha256), "created_at",
                          table_json_text(x->created_at));
    if (!v || json_object_set_new(c->versions, id, v))
        return err_set(c->e, ERR_NOMEM, "out of memory listing experiments");
    return 0;
}

/* A run's values of ls_keys, typed as the vocabulary says, from the run's columns. */
static void run_values(exp_value *v, const store_run_row *r)
{
    v[0] = (exp_value){.type = r->model ? EXP_STR : EXP_NONE};
    snprintf(v[0].s, sizeof v[0].s, "%s", r->model ? r->model : "");
    v[1] = (exp_value){.type = r->optimizer ? EXP_STR : EXP_NONE};
    snprintf(v[1].s, sizeof v[1].s, "%s", r->optimizer ? r->optimizer : "");
    v[2] = (exp_value){.type = isnan(r->lr) ? EXP_NONE : EXP_NUM, .d = r->lr};
    v[3] = (exp_value){.type = EXP_BOOL, .b = r->bn != 0};
    v[4] = (exp_value){.type = EXP_INT, .i = r->seed};
}

/* One run as a record: run, status, epochs_done, epochs, acc, wall_s, contended_epochs, then
 * ls_keys. */
static json_t *run_record(const store_run_row *r)
{
    exp_value v[LS_KEYS];
    run_values(v, r);
    json_t *j = json_pack("{s:s, s:s, s:i, s:i, s:o, s:o, s:i}", "run", r->run_key, "status",
                          run_status_name(r->status), "epochs_done", r->epochs_done, "epochs",
                          r->epochs, "acc", table_json_num(r->last_test_acc), "wall_s",
                          table_json_num(r->wall_s), "contended_epochs", r->contended_epochs);
    for (int k = 0; j && k < LS_KEYS; k++)
        json_object_set_new(j, exp_vocab_find(ls_keys[k])->label, exp_value_json(&v[k]));
    return j;
}

static int collect_run(void *ctx, const store_run_row *r)
{
    ls_ctx *c = ctx;
    if (c->n == 0 || c->v[c->n - 1].experiment_id != r->experiment_id) {
        if (!vec_grow((void **)&c->v, c->n, &c->cap, sizeof *c->v))
            return err_set(c->e, ERR_NOMEM, "out of memory listing runs");
        char id[32];
        snprintf(id, sizeof id, "%lld", (long long)r->experiment_id);
        json_t *ver = json_object_get(c->versions, id);
        c->v[c->n++] = (ls_block){.experiment_id = r->experiment_id,
                                  .version = ver ? json_incref(ver) : json_object(),
                                  .runs = json_array()};
    }
    json_t *rec = run_record(r);
    if (!rec || json_array_append_new(c->v[c->n - 1].runs, rec))
        return err_set(c->e, ERR_NOMEM, "out of memory listing runs");
    return 0;
}

/* "experiment NAME" and, for a file with several versions, ", version V of N (FILE, sha
 * 1a2b3c4d)": never two blocks that read the same. */
static void block_title(char *buf, size_t n, const ls_block *b)
{
    const char *name = json_string_value(json_object_get(b->version, "experiment"));
    int number = (int)json_integer_value(json_object_get(b->version, "number"));
    int of = (int)json_integer_value(json_object_get(b->version, "of"));
    const char *file = json_string_value(json_object_get(b->version, "file"));
    const char *sha = json_string_value(json_object_get(b->version, "spec_sha256"));
    if (of < 2)
        snprintf(buf, n, "experiment %s", name ? name : "(none)");
    else
        snprintf(buf, n, "experiment %s, version %d of %d (%s, sha %.8s)", name, number, of,
                 file ? file : "-", sha ? sha : "-");
}

/* The blocks for people: a title and a table each. */
static int ls_tables(const ls_ctx *c, table_format fmt, err_info *e)
{
    /* columns: the run's figures, then each key under its label, numbers right-aligned */
    char heads[LS_KEYS][64];
    const char *cols[5 + LS_KEYS] = {"<run", "<status", ">epochs", ">test", ">wall"};
    for (int k = 0; k < LS_KEYS; k++) {
        const exp_vocab_key *key = exp_vocab_find(ls_keys[k]);
        bool num = key->type == EXP_INT || key->type == EXP_NUM;
        snprintf(heads[k], sizeof heads[k], "%c%s", num ? '>' : '<', key->label);
        cols[5 + k] = heads[k];
    }
    int rc = 0, contended = 0;
    for (int b = 0; b < c->n && !rc; b++) {
        char title[512];
        block_title(title, sizeof title, &c->v[b]);
        printf("%s%s%s\n", b ? "\n" : "", fmt == TABLE_MD ? "## " : "", title);
        if (fmt == TABLE_MD)
            putchar('\n');
        table t;
        table_init(&t, cols, 5 + LS_KEYS);
        for (size_t i = 0; i < json_array_size(c->v[b].runs) && !rc; i++) {
            const json_t *r = json_array_get(c->v[b].runs, i);
            static const char *const fields[] = {"run", "status", NULL, "acc", "wall_s"};
            char cell[5 + LS_KEYS][EXP_TEXT_MAX];
            const char *row[5 + LS_KEYS];
            for (int k = 0; k < 5 + LS_KEYS; k++) {
                const char *f = k < 5 ? fields[k] : ls_keys[k - 5];
                table_csv_value(cell[k], sizeof cell[k], f ? json_object_get(r, f) : NULL);
                row[k] = cell[k][0] ? cell[k] : "-";
            }
            snprintf(cell[0], sizeof cell[0], "%.12s",
                     json_string_value(json_object_get(r, "run")));
            snprintf(cell[2], sizeof cell[2], "%lld/%lld",
                     (long long)json_integer_value(json_object_get(r, "epochs_done")),
                     (long long)json_integer_value(json_object_get(r, "epochs")));
            table_cell_num(cell[3], sizeof cell[3], "%.4f",
                           json_is_number(json_object_get(r, "acc"))
                               ? json_number_value(json_object_get(r, "acc")) : NAN);
            table_cell_num(cell[4], sizeof cell[4], "%.1fs",
                           json_is_number(json_object_get(r, "wall_s"))
                               ? json_number_value(json_object_get(r, "wall_s")) : NAN);
            if (json_integer_value(json_object_get(r, "contended_epochs")) > 0 && cell[4][0]) {
                strcat(cell[4], "*"); /* contended (timing.h) */
                contended++;
            }
            row[0] = cell[0], row[2] = cell[2], row[3] = cell[3], row[4] = cell[4];
            rc = table_row(&t, row, e);
        }
        rc = table_finish(stdout, &t, fmt, "  ", rc);
    }
    if (!rc && contended)
        printf("\n*: contended, %d run%s: in some epoch other processes held the CPUs, so the "
               "wall time is not the code's alone (bench show RUN: which epochs)\n",
               contended, contended == 1 ? "" : "s");
    return rc;
}

/* Write the listing in fmt. */
static int ls_render(const ls_ctx *c, table_format fmt, err_info *e)
{
    if (fmt == TABLE_TEXT || fmt == TABLE_MD)
        return ls_tables(c, fmt, e);
    json_t *all = json_array(), *exps = json_array();
    for (int b = 0; all && exps && b < c->n; b++) {
        const json_t *ver = c->v[b].version;
        for (size_t i = 0; i < json_array_size(c->v[b].runs); i++) {
            json_t *rec = json_deep_copy(json_array_get(c->v[b].runs, i));
            json_object_set(rec, "experiment", json_object_get(ver, "experiment"));
            json_object_set(rec, "version", json_object_get(ver, "number"));
            json_array_append_new(all, rec);
        }
        json_t *v = json_deep_copy(ver);
        json_object_del(v, "experiment");
        json_array_append_new(exps, json_pack("{s:O, s:o, s:O}", "experiment",
                                              json_object_get(ver, "experiment"), "version", v,
                                              "runs", c->v[b].runs));
    }
    int rc = all && exps ? 0 : err_set(e, ERR_NOMEM, "out of memory listing runs");
    static const char *const names[] = {"experiment", "version", "run", "status",
                                        "epochs_done", "epochs", "acc", "wall_s",
                                        "contended_epochs", "model", "optimizer", "lr", "bn",
                                        "seed"};
    if (!rc && fmt == TABLE_CSV)
        table_records_csv(stdout, names, (int)(sizeof names / sizeof names[0]), all);
    if (!rc && fmt == TABLE_JSON)
        rc = table_json_write(stdout, json_pack("{s:i, s:O}", "format", 1, "experiments", exps), e);
    json_decref(all);
    json_decref(exps);
    return rc;
}

int cmd_ls(int argc, char **argv)
{
    const char *db = "results/bench.db", *experiment = NULL;
    int status = -1;
    table_format fmt = TABLE_TEXT;
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
        case OPT_FORMAT:
            if (table_format_parse(&fmt, optarg, &e))
                return cmd_usage_error("ls", "--format: %s", e.msg);
            break;
        default: return cmd_bad_option("ls", argv);
        }
    }
    if (optind < argc)
        return cmd_usage_error("ls", "unexpected argument '%s'", argv[optind]);
    store *s = NULL;
    if (store_open_readonly(&s, db, &e))
        return cmd_fail(&e);
    ls_ctx ctx = {.versions = json_object(), .e = &e};
    int rc = ctx.versions ? 0 : err_set(&e, ERR_NOMEM, "out of memory");
    if (!rc)
        rc = store_experiments(s, experiment, collect_version, &ctx, &e);
    if (!rc)
        rc = store_runs(s, experiment, status, collect_run, &ctx, &e);
    store_close(s);
    if (!rc && ctx.n == 0 && experiment)
        rc = err_set(&e, ERR_INVALID, "no runs of experiment '%s' in '%s'", experiment, db);
    if (!rc && ctx.n == 0 && fmt == TABLE_TEXT)
        printf("no runs in '%s' yet (bench run FILE.toml adds some)\n", db);
    else if (!rc)
        rc = ls_render(&ctx, fmt, &e);
    for (int b = 0; b < ctx.n; b++) {
        json_decref(ctx.v[b].version);
        json_decref(ctx.v[b].runs);
    }
    free(ctx.v);
    json_decref(ctx.versions);
    return rc ? cmd_fail(&e) : CMD_OK;
}
