/* bench show RUN: one run's configuration, provenance and per-epoch metrics. Everything is
 * gathered into one JSON document first (the json format), which the other formats render:
 * table and md as a run sheet with the epochs' table, csv as the epochs' rows. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "exp.h"
#include "select.h"
#include "store.h"
#include "table.h"
#include "timing.h"

static const char show_usage[] =
    "usage: bench show RUN [--db PATH] [--classes] [--format FORMAT]\n"
    "\n"
    "Show one run: status, timing, the resolved configuration (every key of the vocabulary\n"
    "with its value), its provenance (git revision, build, host, data set) and every epoch's\n"
    "metrics. RUN is a run key or a unique prefix of one (at least 4 characters), as printed\n"
    "by bench ls. Per epoch the training's wall and CPU seconds, its threads' run-queue wait\n"
    "and whether it was contended (the wait above 10% of the CPU time: other processes held\n"
    "the CPUs); for the run, its contended epochs and the gate time bench check compares.\n"
    "The sheet also holds the experiment's description and what bench archive,\n"
    "bench note and bench tag recorded of the run.\n"
    "\n"
    "  --db PATH       results database (default results/bench.db)\n"
    "  --classes       also per-class precision, recall and F1 of the last epoch\n"
    "  --format FORMAT table (default), md, csv (the epochs' rows) or json (all of it)\n"
    "  -h, --help      this help\n";

enum { OPT_DB = 256, OPT_CLASSES, OPT_FORMAT };

static const struct option show_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"classes", no_argument, NULL, OPT_CLASSES},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The fields of an epoch record, in order (CSV columns after "run"). */
static const char *const epoch_fields[] = {"epoch",     "train_loss",   "train_acc", "test_loss",
                                           "test_acc",  "precision",    "recall",    "f1",
                                           "auroc",     "train_s",      "cpu_s",     "images_per_s",
                                           "wait_s",    "contended"};
enum { N_EPOCH_FIELDS = sizeof epoch_fields / sizeof epoch_fields[0] };

/* The run's row: status, times, the configuration as stored and its vocabulary values. */
static int add_run(void *ctx, const store_run_row *r)
{
    json_t *doc = ctx;
    json_t *cfg = r->config_json ? json_loads(r->config_json, 0, NULL) : NULL;
    json_t *values = json_object();
    for (int k = 0; cfg && k < exp_vocab_count(); k++) {
        exp_value v;
        exp_value_from_json(&v, exp_vocab_at(k), cfg);
        if (v.type != EXP_NONE)
            json_object_set_new(values, exp_vocab_at(k)->label, exp_value_json(&v));
    }
    /* the file's own lr (the configuration holds the float the optimizer used) */
    if (!isnan(r->lr) && json_object_get(values, "lr"))
        json_object_set_new(values, "lr", json_real(r->lr));
    json_t *run = json_pack(
        "{s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:i, s:o, s:o}", "run",
        r->run_key, "experiment", table_json_text(r->experiment_name), "status",
        run_status_name(r->status), "diverged_epoch",
        r->diverged_epoch ? json_integer(r->diverged_epoch) : json_null(), "error",
        table_json_text(r->error), "queued_at", table_json_text(r->queued_at), "started_at",
        table_json_text(r->started_at), "finished_at", table_json_text(r->finished_at),
        "wall_s", table_json_num(r->wall_s), "cpu_s", table_json_num(r->cpu_s),
        "peak_rss_bytes", r->peak_rss_bytes ? json_integer(r->peak_rss_bytes) : json_null(),
        "threads", r->threads, "kernels", table_json_text(r->kernels), "params_sha256",
        table_json_text(r->params_sha256));
    json_object_update(doc, run);
    json_decref(run);
    /* what the researcher keeps about it (bench archive, note, tag) */
    json_t *tags = r->tags ? json_loads(r->tags, 0, NULL) : NULL;
    json_object_set_new(doc, "archived_at", table_json_text(r->archived_at));
    json_object_set_new(doc, "note", table_json_text(r->note));
    json_object_set_new(doc, "tags", tags ? tags : json_object());
    json_object_set_new(doc, "experiment_description",
                        table_json_text(r->experiment_description));
    /* the [select] decision that chose its configuration (select.h) */
    json_t *sel = r->selection ? json_loads(r->selection, 0, NULL) : NULL;
    json_object_set_new(doc, "selection", sel ? sel : json_null());
    json_object_set_new(doc, "values", values);
    json_object_set_new(doc, "configuration", cfg ? cfg : json_null());
    return 0;
}

static int add_provenance(void *ctx, const store_provenance *p)
{
    json_t *doc = ctx, *prov = json_object();
    json_object_set_new(prov, "experiment",
                        p->experiment_name
                            ? json_pack("{s:s, s:o, s:o, s:o}", "name", p->experiment_name, "file",
                                        table_json_text(p->experiment_file), "spec_sha256",
                                        table_json_text(p->experiment_sha256), "created_at",
                                        table_json_text(p->experiment_created_at))
                            : json_null());
    const store_build *b = p->build;
    json_object_set_new(
        prov, "build",
        b ? json_pack("{s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:o}", "git_sha",
                      table_json_text(b->git_sha), "git_branch", table_json_text(b->git_branch),
                      "git_dirty", b->git_dirty != 0, "compiler", table_json_text(b->compiler),
                      "compiler_version", table_json_text(b->compiler_version), "cflags",
                      table_json_text(b->cflags), "blas", table_json_text(b->blas),
                      "binary_sha256", table_json_text(b->binary_sha256))
          : json_null());
    const store_host *h = p->host;
    json_object_set_new(prov, "host",
                        h ? json_pack("{s:o, s:o, s:i, s:I, s:o, s:o}", "hostname",
                                      table_json_text(h->hostname), "cpu_model",
                                      table_json_text(h->cpu_model), "cores", h->cores,
                                      "ram_bytes", (json_int_t)h->ram_bytes, "os",
                                      table_json_text(h->os), "kernel", table_json_text(h->kernel))
                          : json_null());
    const store_dataset *d = p->dataset;
    json_object_set_new(prov, "dataset",
                        d ? json_pack("{s:o, s:o, s:o}", "name", table_json_text(d->name), "file",
                                      table_json_text(d->file), "sha256",
                                      table_json_text(d->sha256))
                          : json_null());
    json_object_set_new(doc, "provenance", prov);
    return 0;
}

/* Each epoch as a record; with classes, the last epoch's per-class rows as "classes". */
static int add_epoch(void *ctx, const store_epoch *ep)
{
    json_t *doc = ctx;
    const double v[] = {ep->train_loss, ep->train_acc, ep->test_loss, ep->test_acc,
                        ep->precision_macro, ep->recall_macro, ep->f1_macro, ep->auroc_macro,
                        ep->wall_s, ep->cpu_s, ep->images_per_s, ep->wait_s};
    json_t *rec = json_object();
    json_object_set_new(rec, "epoch", json_integer(ep->epoch));
    for (int i = 1; i < N_EPOCH_FIELDS - 1; i++)
        json_object_set_new(rec, epoch_fields[i], table_json_num(v[i - 1]));
    const timing_span t = timing_span_of(ep);
    json_object_set_new(rec, "contended", json_boolean(timing_contended(&t)));
    json_array_append_new(json_object_get(doc, "epochs"), rec);
    if (ep->k > 0 && ep->precision) {
        json_t *cls = json_array();
        for (int c = 0; c < ep->k; c++)
            json_array_append_new(cls, json_pack("{s:i, s:o, s:o, s:o, s:I}", "class", c,
                                                 "precision", table_json_num(ep->precision[c]),
                                                 "recall", table_json_num(ep->recall[c]), "f1",
                                                 table_json_num(ep->f1[c]), "support",
                                                 (json_int_t)ep->support[c]));
        json_object_set_new(doc, "classes", cls);
    }
    return 0;
}

/* "key   value" lines of an object's fields (strings and numbers as CSV cells), "-" for null. */
static void print_fields(const json_t *o, const char *const *names, int n, const char *ind)
{
    char cell[4096];
    for (int i = 0; i < n; i++) {
        table_csv_value(cell, sizeof cell, json_object_get(o, names[i]));
        printf("%s%-14s %s\n", ind, names[i], cell[0] ? cell : "-");
    }
}

/* o's field name as text, "-" when absent or null. */
static const char *field(const json_t *o, const char *name)
{
    const char *s = json_string_value(json_object_get(o, name));
    return s && *s ? s : "-";
}

/* The provenance lines of the run sheet. */
static void show_provenance(const json_t *prov, const char *ind)
{
    const json_t *x = json_object_get(prov, "experiment"), *b = json_object_get(prov, "build"),
                 *h = json_object_get(prov, "host"), *d = json_object_get(prov, "dataset");
    if (json_is_object(x))
        printf("%s%-14s %s (%s, sha256 %.16s, created %s)\n", ind, "experiment",
               field(x, "name"), field(x, "file"), field(x, "spec_sha256"),
               field(x, "created_at"));
    if (json_is_object(b)) {
        printf("%s%-14s %s on %s%s\n", ind, "git", field(b, "git_sha"), field(b, "git_branch"),
               json_is_true(json_object_get(b, "git_dirty")) ? " (dirty)" : "");
        printf("%s%-14s %s %s, %s\n", ind, "compiler", field(b, "compiler"),
               field(b, "compiler_version"), field(b, "cflags"));
        printf("%s%-14s %s\n%s%-14s sha256 %s\n", ind, "blas", field(b, "blas"), ind, "binary",
               field(b, "binary_sha256"));
    }
    if (json_is_object(h))
        printf("%s%-14s %s: %s, %lld cores, %.1f GiB, %s, %s\n", ind, "host",
               field(h, "hostname"), field(h, "cpu_model"),
               (long long)json_integer_value(json_object_get(h, "cores")),
               (double)json_integer_value(json_object_get(h, "ram_bytes")) / 1073741824.0,
               field(h, "os"), field(h, "kernel"));
    if (json_is_object(d))
        printf("%s%-14s %s at %s (content sha256 %.16s)\n", ind, "data", field(d, "name"),
               field(d, "file"), field(d, "sha256"));
}

/* The run sheet for people (table or Markdown). */
static void show_sheet(const json_t *doc, table_format fmt)
{
    const bool md = fmt == TABLE_MD;
    const char *ind = md ? "    " : "  ";
    static const char *const run_fields[] = {"experiment", "experiment_description", "status",
                                             "archived_at", "note", "diverged_epoch", "error",
                                             "queued_at", "started_at", "finished_at", "wall_s",
                                             "cpu_s", "peak_rss_bytes", "threads", "kernels",
                                             "params_sha256", "contended_epochs", "gate_s"};
    printf("%srun %s\n%s", md ? "## " : "", json_string_value(json_object_get(doc, "run")),
           md ? "\n" : "");
    print_fields(doc, run_fields, (int)(sizeof run_fields / sizeof run_fields[0]), ind);
    char tags[2048];
    char *tags_json = json_dumps(json_object_get(doc, "tags"), JSON_COMPACT);
    cmd_tags_text(tags, sizeof tags, tags_json);
    free(tags_json);
    printf("%s%-14s %s\n", ind, "tags", tags[0] ? tags : "-");
    printf("%s%sconfiguration (key, value, where an experiment file sets it)\n%s",
           md ? "\n" : "", md ? "### " : "", md ? "\n" : "");
    const json_t *values = json_object_get(doc, "values");
    for (int k = 0; k < exp_vocab_count(); k++) {
        const exp_vocab_key *key = exp_vocab_at(k);
        char cell[4096];
        if (!json_object_get(values, key->label))
            continue;
        table_csv_value(cell, sizeof cell, json_object_get(values, key->label));
        printf("%s%-14s %-24s %s.%s\n", ind, key->label, cell, key->table, key->name);
    }
    printf("%s%sprovenance\n%s", md ? "\n" : "", md ? "### " : "", md ? "\n" : "");
    show_provenance(json_object_get(doc, "provenance"), ind);
}

/* The [select] decision that chose the run's configuration, when one did. */
static int show_selection(const json_t *doc, table_format fmt, err_info *e)
{
    const json_t *sel = json_object_get(doc, "selection");
    if (!json_is_object(sel))
        return 0;
    char *text = json_dumps(sel, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!text)
        return err_set(e, ERR_NOMEM, "out of memory");
    printf("%s", fmt == TABLE_MD ? "\n### " : "\n");
    int rc = select_print(stdout, text, fmt, e);
    free(text);
    return rc;
}

/* A table of records (epochs or classes) under a heading. */
static int show_records(const json_t *recs, const char *const *names, int n, const char *title,
                        table_format fmt, err_info *e)
{
    printf("%s%s%s\n\n", fmt == TABLE_MD ? "\n### " : "\n", title,
           json_array_size(recs) ? "" : ": none recorded");
    if (json_array_size(recs) == 0)
        return 0;
    char heads[16][32];
    const char *cols[16];
    for (int i = 0; i < n; i++) {
        snprintf(heads[i], sizeof heads[i], ">%s", names[i]);
        cols[i] = heads[i];
    }
    table t;
    table_init(&t, cols, n);
    int rc = 0;
    for (size_t r = 0; r < json_array_size(recs) && !rc; r++) {
        char cell[16][64];
        const char *row[16];
        for (int i = 0; i < n; i++) {
            const json_t *v = json_object_get(json_array_get(recs, r), names[i]);
            if (json_is_real(v))
                snprintf(cell[i], sizeof cell[i], "%.4f", json_real_value(v));
            else
                table_csv_value(cell[i], sizeof cell[i], v);
            row[i] = cell[i][0] ? cell[i] : "-";
        }
        rc = table_row(&t, row, e);
    }
    return table_finish(stdout, &t, fmt, "  ", rc);
}

int cmd_show(int argc, char **argv)
{
    const char *db = "results/bench.db";
    bool classes = false;
    table_format fmt = TABLE_TEXT;
    err_info e = {0};
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", show_options, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(show_usage, stdout); return CMD_OK;
        case OPT_DB: db = optarg; break;
        case OPT_CLASSES: classes = true; break;
        case OPT_FORMAT:
            if (table_format_parse(&fmt, optarg, &e))
                return cmd_usage_error("show", "--format: %s", e.msg);
            break;
        default: return cmd_bad_option("show", argv);
        }
    }
    if (optind >= argc)
        return cmd_usage_error("show", "missing the run key");
    if (optind + 1 < argc)
        return cmd_usage_error("show", "unexpected argument '%s'", argv[optind + 1]);
    store *s = NULL;
    if (store_open_readonly(&s, db, &e))
        return cmd_fail(&e);
    char key[STORE_KEY_MAX];
    json_t *doc = json_pack("{s:i, s:[]}", "format", 1, "epochs");
    int rc = doc ? store_run_resolve(s, key, argv[optind], &e)
                 : err_set(&e, ERR_NOMEM, "out of memory");
    if (!rc)
        rc = store_run_get(s, key, add_run, doc, &e);
    if (!rc)
        rc = store_run_provenance(s, key, add_provenance, doc, &e);
    if (!rc)
        rc = store_epochs(s, key, classes, add_epoch, doc, &e);
    timing_run t;
    if (!rc && !(rc = timing_run_load(&t, s, key, &e))) {
        /* the epochs folded as bench check folds them */
        json_object_set_new(doc, "contended_epochs", json_integer(t.contended));
        json_object_set_new(doc, "gate_s", table_json_num(timing_run_gate_s(
                                               &t, (int)json_integer_value(
                                                       json_object_get(doc, "threads")))));
    }
    store_close(s);
    const json_t *epochs = json_object_get(doc, "epochs");
    static const char *const cls_fields[] = {"class", "precision", "recall", "f1", "support"};
    if (!rc && fmt == TABLE_JSON) {
        rc = table_json_write(stdout, doc, &e);
        doc = NULL;
    } else if (!rc && fmt == TABLE_CSV) {
        for (size_t i = 0; i < json_array_size(epochs); i++)
            json_object_set_new(json_array_get(epochs, i), "run", json_string(key));
        const char *names[1 + N_EPOCH_FIELDS] = {"run"};
        memcpy(names + 1, epoch_fields, sizeof epoch_fields);
        table_records_csv(stdout, names, 1 + N_EPOCH_FIELDS, epochs);
    } else if (!rc) {
        show_sheet(doc, fmt);
        rc = show_selection(doc, fmt, &e);
        if (!rc)
            rc = show_records(epochs, epoch_fields, N_EPOCH_FIELDS, "epochs", fmt, &e);
        if (!rc && classes)
            rc = show_records(json_object_get(doc, "classes"), cls_fields, 5,
                              "classes (last epoch)", fmt, &e);
    }
    json_decref(doc);
    return rc ? cmd_fail(&e) : CMD_OK;
}
