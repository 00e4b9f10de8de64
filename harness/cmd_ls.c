#define _POSIX_C_SOURCE 200809L /* strcasecmp */
/* bench ls: the experiments in the results database and their runs, with status; a block per
 * version of an experiment's file, labelled when there are several. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "exp.h"
#include "store.h"
#include "table.h"
#include "vec.h"

static const char ls_usage[] =
    "usage: bench ls [--db PATH] [--experiment NAME] [--status STATUS] [--where KEY=VALUE]...\n"
    "                [--tag KEY[=VALUE]]... [--note TEXT] [--archived] [--sort ORDER]\n"
    "                [--format FORMAT]\n"
    "\n"
    "List the runs of the results database, grouped by experiment (with its description) and,\n"
    "when its file changed, by version; in each, oldest first: run key, date (started, else\n"
    "queued), git revision ('*' when the build had uncommitted changes), status, epochs done,\n"
    "last test accuracy, wall time, the main configuration keys (model, optimizer, lr, bn,\n"
    "seed), the run's label (its swept values), its tags and its note. Archived runs (bench\n"
    "archive) are left out unless --archived. A '*' after the wall time (CSV and JSON:\n"
    "contended_epochs > 0) marks a run trained on a contended machine: in some epoch its\n"
    "threads waited for a CPU longer than 10% of the CPU time they got.\n"
    "\n"
    "  --db PATH            results database (default results/bench.db)\n"
    "  -e, --experiment N   only runs of experiment N\n"
    "  --status STATUS      only runs in STATUS (QUEUED, RUNNING, COMPLETED, FAILED,\n"
    "                       DIVERGED, INTERRUPTED; any case)\n"
    "  -w, --where KEY=VAL  only runs whose configuration key KEY (any key of experiments/\n"
    "                       README.md: lr, optimizer, training.batch...) is VAL; repeatable\n"
    "  -t, --tag KEY[=VAL]  only runs tagged KEY (with value VAL); repeatable\n"
    "  --note TEXT          only runs whose note contains TEXT\n"
    "  --archived           archived runs too\n"
    "  --sort ORDER         date (default), acc (best first), status or run\n"
    "  --format FORMAT      table (default), md, csv or json\n"
    "  -h, --help           this help\n";

enum { OPT_DB = 256, OPT_STATUS, OPT_FORMAT, OPT_NOTE, OPT_ARCHIVED, OPT_SORT };

enum { LS_MAX_CONDS = 32 };

static const struct option ls_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"experiment", required_argument, NULL, 'e'},
    {"status", required_argument, NULL, OPT_STATUS},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"where", required_argument, NULL, 'w'},
    {"tag", required_argument, NULL, 't'},
    {"note", required_argument, NULL, OPT_NOTE},
    {"archived", no_argument, NULL, OPT_ARCHIVED},
    {"sort", required_argument, NULL, OPT_SORT},
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
    const exp_where *where;     /* (n_where) conditions on the configuration */
    int n_where;
    const char *note;           /* NULL, or text the note must contain */
    err_info *e;
} ls_ctx;

/* The orders of --sort: a record field, and which way. */
static const struct ls_sort {
    const char *name, *field;
    bool descending;
} ls_sorts[] = {
    {"date", "date", false},
    {"acc", "acc", true},
    {"status", "status", false},
    {"run", "run", false},
};
enum { LS_N_SORTS = sizeof ls_sorts / sizeof ls_sorts[0] };

static int collect_version(void *ctx, const store_experiment_row *x)
{
    ls_ctx *c = ctx;
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)x->id);
    json_t *v = json_pack("{s:s, s:i, s:i, s:o, s:o, s:o, s:o}", "experiment", x->name,
                          "number", x->version, "of", x->n_versions, "file",
                          table_json_text(x->file), "spec_sha256",
                          table_json_text(x->spec_sha256), "created_at",
                          table_json_text(x->created_at), "description",
                          table_json_text(x->description));
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

/* One run as a record: run, date, revision, status, epochs_done, epochs, acc, wall_s,
 * contended_epochs, then ls_keys, label, tags, note, archived. */
static json_t *run_record(const store_run_row *r)
{
    exp_value v[LS_KEYS];
    run_values(v, r);
    char rev[48] = "", label[EXP_TEXT_MAX], tags[1024];
    if (r->git_sha)
        snprintf(rev, sizeof rev, "%.8s%s", r->git_sha, r->git_dirty ? "*" : "");
    exp_label_from_stored(label, sizeof label, r->swept, r->swept_values);
    cmd_tags_text(tags, sizeof tags, r->tags);
    json_t *j = json_pack("{s:s, s:o, s:o, s:s, s:i, s:i, s:o, s:o, s:i}", "run", r->run_key,
                          "date", table_json_text(r->started_at ? r->started_at : r->queued_at),
                          "revision", table_json_text(rev), "status",
                          run_status_name(r->status), "epochs_done", r->epochs_done, "epochs",
                          r->epochs, "acc", table_json_num(r->last_test_acc), "wall_s",
                          table_json_num(r->wall_s), "contended_epochs", r->contended_epochs);
    for (int k = 0; j && k < LS_KEYS; k++)
        json_object_set_new(j, exp_vocab_find(ls_keys[k])->label, exp_value_json(&v[k]));
    if (j) {
        json_object_set_new(j, "label", table_json_text(label));
        json_object_set_new(j, "tags", table_json_text(tags));
        json_object_set_new(j, "note", table_json_text(r->note));
        json_object_set_new(j, "archived", json_boolean(r->archived_at != NULL));
    }
    return j;
}

/* Whether run r passes the conditions of the command line that the store does not apply. */
static bool ls_wanted(const ls_ctx *c, const store_run_row *r)
{
    if (c->note && !(r->note && strstr(r->note, c->note)))
        return false;
    if (c->n_where == 0)
        return true;
    json_t *cfg = r->config_json ? json_loads(r->config_json, 0, NULL) : NULL;
    bool ok = cfg && exp_where_match(c->where, c->n_where, cfg);
    json_decref(cfg);
    return ok;
}

static int collect_run(void *ctx, const store_run_row *r)
{
    ls_ctx *c = ctx;
    if (!ls_wanted(c, r))
        return 0;
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
    const char *desc = json_string_value(json_object_get(b->version, "description"));
    int w = of < 2 ? snprintf(buf, n, "experiment %s", name ? name : "(none)")
                   : snprintf(buf, n, "experiment %s, version %d of %d (%s, sha %.8s)", name,
                              number, of, file ? file : "-", sha ? sha : "-");
    if (desc && w > 0 && (size_t)w < n)
        snprintf(buf + w, n - (size_t)w, ": %s", desc);
}

/* The columns of the tables for people: the record field each shows ("" for epochs), then
 * ls_keys, then LS_TAIL. */
static const char *const ls_head_fields[] = {"run", "date", "revision", "status", "",
                                             "acc", "wall_s"};
static const char *const ls_head_cols[] = {"<run", "<date", "<revision", "<status",
                                           ">epochs", ">test", ">wall"};
enum { LS_HEAD = sizeof ls_head_fields / sizeof ls_head_fields[0] };
static const char *const ls_tail[] = {"label", "tags", "note"};
enum { LS_TAIL = sizeof ls_tail / sizeof ls_tail[0], LS_COLS = LS_HEAD + LS_KEYS + LS_TAIL };

/* The cells of record r in the columns above. */
static void ls_cells(char cell[LS_COLS][EXP_TEXT_MAX], const json_t *r)
{
    for (int k = 0; k < LS_COLS; k++) {
        const char *f = k < LS_HEAD             ? ls_head_fields[k]
                        : k < LS_HEAD + LS_KEYS ? ls_keys[k - LS_HEAD]
                                                : ls_tail[k - LS_HEAD - LS_KEYS];
        table_csv_value(cell[k], sizeof cell[k], f[0] ? json_object_get(r, f) : NULL);
    }
    snprintf(cell[0], sizeof cell[0], "%.12s", json_string_value(json_object_get(r, "run")));
    table_cell_date(cell[1], sizeof cell[1], json_string_value(json_object_get(r, "date")));
    snprintf(cell[4], sizeof cell[4], "%lld/%lld",
             (long long)json_integer_value(json_object_get(r, "epochs_done")),
             (long long)json_integer_value(json_object_get(r, "epochs")));
    const json_t *acc = json_object_get(r, "acc"), *wall = json_object_get(r, "wall_s");
    table_cell_num(cell[5], sizeof cell[5], "%.4f", json_is_number(acc) ? json_number_value(acc)
                                                                         : NAN);
    table_cell_num(cell[6], sizeof cell[6], "%.1fs",
                   json_is_number(wall) ? json_number_value(wall) : NAN);
}

/* The blocks for people: a title and a table each. */
static int ls_tables(const ls_ctx *c, table_format fmt, err_info *e)
{
    /* columns: the run's figures, then each key under its label, numbers right-aligned */
    char heads[LS_KEYS][64];
    const char *cols[LS_COLS];
    memcpy(cols, ls_head_cols, sizeof ls_head_cols);
    for (int k = 0; k < LS_KEYS; k++) {
        const exp_vocab_key *key = exp_vocab_find(ls_keys[k]);
        bool num = key->type == EXP_INT || key->type == EXP_NUM;
        snprintf(heads[k], sizeof heads[k], "%c%s", num ? '>' : '<', key->label);
        cols[LS_HEAD + k] = heads[k];
    }
    static const char *const tail_cols[] = {"<label", "<tags", "<note"};
    memcpy(cols + LS_HEAD + LS_KEYS, tail_cols, sizeof tail_cols);
    int rc = 0, contended = 0;
    for (int b = 0; b < c->n && !rc; b++) {
        char title[1024];
        block_title(title, sizeof title, &c->v[b]);
        printf("%s%s%s\n", b ? "\n" : "", fmt == TABLE_MD ? "## " : "", title);
        if (fmt == TABLE_MD)
            putchar('\n');
        table t;
        table_init(&t, cols, LS_COLS);
        for (size_t i = 0; i < json_array_size(c->v[b].runs) && !rc; i++) {
            static char cell[LS_COLS][EXP_TEXT_MAX];
            const char *row[LS_COLS];
            ls_cells(cell, json_array_get(c->v[b].runs, i));
            for (int k = 0; k < LS_COLS; k++)
                row[k] = cell[k][0] ? cell[k] : "-";
            const json_t *r = json_array_get(c->v[b].runs, i);
            if (json_integer_value(json_object_get(r, "contended_epochs")) > 0 && cell[6][0]) {
                strcat(cell[6], "*"); /* contended (timing.h) */
                contended++;
            }
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

/* <0, 0, >0 as run record a goes before, with or after b in order o: by o's field, missing
 * values last whichever the direction, the run key breaking ties. */
static int ls_compare(const json_t *a, const json_t *b, const struct ls_sort *o)
{
    const json_t *x = json_object_get(a, o->field), *y = json_object_get(b, o->field);
    bool nx = !x || json_is_null(x), ny = !y || json_is_null(y);
    int d = 0;
    if (nx || ny)
        d = nx - ny;
    else if (json_is_number(x))
        d = (json_number_value(x) > json_number_value(y)) -
            (json_number_value(x) < json_number_value(y));
    else
        d = strcmp(json_string_value(x), json_string_value(y));
    if (o->descending && !nx && !ny)
        d = -d;
    if (d == 0)
        d = strcmp(json_string_value(json_object_get(a, "run")),
                   json_string_value(json_object_get(b, "run")));
    return d;
}

/* Sort the run records of a block in order o (insertion sort: a block is an experiment's
 * runs, and jansson arrays have no sort of their own). ERR_NOMEM when out of memory. */
static int ls_sort_runs(json_t *runs, const struct ls_sort *o, err_info *e)
{
    size_t n = json_array_size(runs);
    json_t **v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return err_set(e, ERR_NOMEM, "out of memory sorting runs");
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_incref(json_array_get(runs, i));
        size_t j = i;
        for (; j > 0 && ls_compare(v[j - 1], r, o) > 0; j--)
            v[j] = v[j - 1];
        v[j] = r;
    }
    json_array_clear(runs);
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(runs, v[i]))
            rc = err_set(e, ERR_NOMEM, "out of memory sorting runs");
    free(v);
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
    static const char *const names[] = {"experiment", "version", "run", "date", "revision",
                                        "status", "epochs_done", "epochs", "acc", "wall_s",
                                        "contended_epochs",
                                        "model", "optimizer", "lr", "bn", "seed", "label",
                                        "tags", "note", "archived"};
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
    const char *db = "results/bench.db", *experiment = NULL, *note = NULL;
    int status = -1, n_where = 0;
    table_format fmt = TABLE_TEXT;
    exp_where where[LS_MAX_CONDS];
    store_tag tags[LS_MAX_CONDS];
    store_filter filter = {.tags = tags};
    const struct ls_sort *order = &ls_sorts[0];
    err_info e = {0};
    int rc = 0;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "e:w:t:h", ls_options, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(ls_usage, stdout); return CMD_OK;
        case OPT_DB: db = optarg; break;
        case 'e': experiment = optarg; break;
        case OPT_NOTE: note = optarg; break;
        case OPT_ARCHIVED: filter.archived = true; break;
        case 'w':
            if ((rc = cmd_parse_where(where, &n_where, LS_MAX_CONDS, "ls", optarg)))
                return rc;
            break;
        case 't':
            if ((rc = cmd_parse_tag(tags, &filter.n_tags, LS_MAX_CONDS, "ls", optarg)))
                return rc;
            break;
        case OPT_SORT: {
            int k = 0;
            while (k < LS_N_SORTS && strcasecmp(optarg, ls_sorts[k].name) != 0)
                k++;
            if (k == LS_N_SORTS)
                return cmd_usage_error("ls", "--sort: unknown order '%s' (valid: date, acc, "
                                       "status, run)", optarg);
            order = &ls_sorts[k];
            break;
        }
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
    ls_ctx ctx = {.versions = json_object(), .where = where, .n_where = n_where, .note = note,
                  .e = &e};
    rc = ctx.versions ? 0 : err_set(&e, ERR_NOMEM, "out of memory");
    if (!rc)
        rc = store_set_filter(s, &filter, &e);
    if (!rc)
        rc = store_experiments(s, experiment, collect_version, &ctx, &e);
    if (!rc)
        rc = store_runs(s, experiment, status, collect_run, &ctx, &e);
    store_close(s);
    for (int b = 0; b < ctx.n && !rc; b++)
        rc = ls_sort_runs(ctx.v[b].runs, order, &e);
    bool filtered = status >= 0 || n_where || filter.n_tags || note;
    if (!rc && ctx.n == 0 && experiment && !filtered)
        rc = err_set(&e, ERR_INVALID, "no runs of experiment '%s' in '%s'", experiment, db);
    if (!rc && ctx.n == 0 && fmt == TABLE_TEXT && filtered)
        printf("no runs in '%s' match\n", db);
    else if (!rc && ctx.n == 0 && fmt == TABLE_TEXT)
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
