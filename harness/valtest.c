/* valtest: how validation predicted test. See valtest.h for the contract. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "valtest.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"

/* An experiment as its runs stream by: its first decision and its test figures. */
typedef struct vt_pending {
    int64_t version_id;
    char experiment[128];
    char *selection;           /* the first run's decision (owned) */
    char dataset[64];
    char from_dataset[64];
    double *acc, *f1;          /* (n) of its COMPLETED runs */
    int n, cap;
} vt_pending;

typedef struct vt_collect {
    vt_pending *p;
    int n, cap;
    err_info *e;
} vt_collect;

static void copy_text(char *out, size_t n, const char *s)
{
    snprintf(out, n, "%s", s ? s : "");
}

static int vt_add_run(vt_pending *p, const store_selection_row *r, err_info *e)
{
    if (r->status != RUN_COMPLETED)
        return 0;
    int cap = p->cap;
    if (!vec_grow((void **)&p->acc, p->n, &cap, sizeof *p->acc) ||
        !vec_grow((void **)&p->f1, p->n, &p->cap, sizeof *p->f1))
        return err_set(e, ERR_NOMEM, "out of memory reading the selections");
    p->acc[p->n] = r->acc;
    p->f1[p->n++] = r->f1;
    return 0;
}

/* store_selection_fn: runs on the test set, grouped by experiment version. */
static int vt_collect_run(void *ctx, const store_selection_row *r)
{
    vt_collect *c = ctx;
    if (r->validation != 0)
        return 0;
    vt_pending *p = c->n ? &c->p[c->n - 1] : NULL;
    if (!p || p->version_id != r->version_id) {
        if (!vec_grow((void **)&c->p, c->n, &c->cap, sizeof *c->p))
            return err_set(c->e, ERR_NOMEM, "out of memory reading the selections");
        p = &c->p[c->n++];
        memset(p, 0, sizeof *p);
        p->version_id = r->version_id;
        copy_text(p->experiment, sizeof p->experiment, r->experiment);
        copy_text(p->dataset, sizeof p->dataset, r->dataset);
        copy_text(p->from_dataset, sizeof p->from_dataset, r->from_dataset);
        p->selection = strdup(r->selection);
        if (!p->selection)
            return err_set(c->e, ERR_NOMEM, "out of memory reading the selections");
    }
    return vt_add_run(p, r, c->e);
}

/* row->winner and row->val from the decision doc; ERR_FORMAT when it has no winner. */
static int vt_winner(valtest_row *row, const json_t *doc, err_info *e)
{
    const json_t *keys = json_object_get(doc, "keys");
    const json_t *win = json_object_get(doc, "winner_values");
    const json_t *c = json_array_get(json_object_get(doc, "candidates"),
                                     (size_t)json_integer_value(json_object_get(doc, "winner")));
    const json_t *runs = json_object_get(c, "runs");
    if (!json_is_integer(json_object_get(doc, "winner")) || !json_is_array(runs) ||
        !json_is_object(win))
        return err_set(e, ERR_FORMAT, "the [select] decision stored with '%s' names no winner",
                       row->experiment);
    for (size_t k = 0; k < json_array_size(keys); k++) {
        const char *label = json_string_value(json_array_get(keys, k));
        exp_value v;
        exp_value_from_stored(&v, json_object_get(win, label ? label : ""));
        exp_label_append(row->winner, sizeof row->winner, label ? label : "?", &v);
    }
    size_t n = json_array_size(runs);
    double *x = malloc((n ? n : 1) * sizeof *x);
    if (!x)
        return err_set(e, ERR_NOMEM, "out of memory reading the selections");
    for (size_t j = 0; j < n; j++)
        x[j] = json_number_value(json_object_get(json_array_get(runs, j), "value"));
    stats_summarize(&row->val, x, (int)n);
    free(x);
    return 0;
}

/* *row <- the pending experiment p, its decision read. */
static int vt_finish(valtest_row *row, const vt_pending *p, err_info *e)
{
    memset(row, 0, sizeof *row);
    copy_text(row->experiment, sizeof row->experiment, p->experiment);
    copy_text(row->dataset, sizeof row->dataset, p->dataset);
    copy_text(row->from_dataset, sizeof row->from_dataset, p->from_dataset);
    row->same_data = p->dataset[0] && strcmp(p->dataset, p->from_dataset) == 0;
    json_t *doc = json_loads(p->selection, 0, NULL);
    if (!doc)
        return err_set(e, ERR_FORMAT, "the [select] decision stored with '%s' is not JSON",
                       p->experiment);
    copy_text(row->from, sizeof row->from, json_string_value(json_object_get(doc, "from")));
    const char *metric = json_string_value(json_object_get(doc, "metric"));
    copy_text(row->metric, sizeof row->metric, metric ? metric : "accuracy");
    int rc = vt_winner(row, doc, e);
    json_decref(doc);
    stats_summarize(&row->test, strcmp(row->metric, "f1") == 0 ? p->f1 : p->acc, p->n);
    row->diff_pp = 100.0 * (row->test.mean - row->val.mean);
    return rc;
}

static void vt_collect_free(vt_collect *c)
{
    for (int i = 0; i < c->n; i++) {
        free(c->p[i].selection);
        free(c->p[i].acc);
        free(c->p[i].f1);
    }
    free(c->p);
}

int valtest_load(valtest_set *out, store *s, err_info *e)
{
    memset(out, 0, sizeof *out);
    vt_collect c = {.e = e};
    int rc = store_selection_runs(s, vt_collect_run, &c, e);
    if (rc == 0 && c.n == 0)
        rc = err_set(e, ERR_INVALID, "no experiment in '%s' runs on the test set a recipe "
                     "chosen on validation by a [select] table yet", store_path(s));
    if (rc == 0 && !(out->v = calloc((size_t)c.n, sizeof *out->v)))
        rc = err_set(e, ERR_NOMEM, "out of memory reading the selections");
    for (int i = 0; rc == 0 && i < c.n; i++)
        rc = vt_finish(&out->v[out->n++], &c.p[i], e);
    out->cap = out->n;
    vt_collect_free(&c);
    return rc;
}

void valtest_release(valtest_set *v)
{
    free(v->v);
    memset(v, 0, sizeof *v);
}

/* ---- the table ---------------------------------------------------------------------------- */

static const char *const vt_cols[] = {
    "<experiment", "<from", "<winner", "<metric", ">n val", ">validation (mean ± sd)",
    ">n test", ">test (mean ± sd)", ">test − validation (pp)", "<same data",
};
static const char *const vt_cols_csv[] = {
    "experiment", "from", "winner", "metric", "n_validation", "validation_mean",
    "validation_sd", "n_test", "test_mean", "test_sd", "test_minus_validation_pp",
    "same_data", "dataset", "from_dataset",
};
#define VT_NCOLS(a) ((int)(sizeof a / sizeof *a))

static json_t *vt_record(const valtest_row *r)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:i, s:o, s:o, s:o, s:b, s:o, s:o}",
                     "experiment", r->experiment, "from", r->from, "winner", r->winner,
                     "metric", r->metric, "n_validation", r->val.n, "validation_mean",
                     table_json_num(r->val.mean), "validation_sd", table_json_num(r->val.sd),
                     "n_test", r->test.n, "test_mean", table_json_num(r->test.mean), "test_sd",
                     table_json_num(r->test.sd), "test_minus_validation_pp",
                     table_json_num(r->diff_pp), "same_data", r->same_data, "dataset",
                     table_json_text(r->dataset), "from_dataset",
                     table_json_text(r->from_dataset));
}

static int vt_table_row(table *t, const valtest_row *r, err_info *e)
{
    /* accuracies in percent, F1 as a fraction (as bench report prints them) */
    bool pct = strcmp(r->metric, "f1") != 0;
    char nv[16], nt[16], val[64], test[64], diff[32];
    snprintf(nv, sizeof nv, "%d", r->val.n);
    snprintf(nt, sizeof nt, "%d", r->test.n);
    table_cell_pm(val, sizeof val, &r->val, pct ? 100.0 : 1.0, pct ? 2 : 4);
    table_cell_pm(test, sizeof test, &r->test, pct ? 100.0 : 1.0, pct ? 2 : 4);
    table_cell_num(diff, sizeof diff, "%+.2f", r->diff_pp);
    const char *cells[] = {r->experiment, r->from, r->winner, r->metric, nv, val, nt, test,
                           diff, r->same_data ? "yes" : "no"};
    return table_row(t, cells, e);
}

int valtest_render(FILE *f, const valtest_set *v, table_format fmt, err_info *e)
{
    if (fmt == TABLE_JSON || fmt == TABLE_CSV) {
        json_t *arr = json_array();
        for (int i = 0; arr && i < v->n; i++)
            json_array_append_new(arr, vt_record(&v->v[i]));
        if (fmt == TABLE_JSON)
            return table_json_write(f, json_pack("{s:i, s:o}", "format", 1, "selections", arr),
                                    e);
        if (arr)
            table_records_csv(f, vt_cols_csv, VT_NCOLS(vt_cols_csv), arr);
        json_decref(arr);
        return arr ? 0 : err_set(e, ERR_NOMEM, "out of memory writing the selections");
    }
    table t;
    table_init(&t, vt_cols, VT_NCOLS(vt_cols));
    table_heading(f, fmt, 1, "validation against test of the selected recipes");
    int rc = 0;
    for (int i = 0; rc == 0 && i < v->n; i++)
        rc = vt_table_row(&t, &v->v[i], e);
    rc = table_finish(f, &t, fmt, "  ", rc);
    if (rc == 0)
        table_notes(f,
                    "accuracies in %, F1 as a fraction; test - validation in percentage points\n"
                    "validation: the winner's figures over its seeds, as its decision recorded "
                    "them\ntest: the experiment's COMPLETED runs at their final epoch, in the "
                    "decision's metric\nsame data: whether the test runs use the data set the "
                    "recipe was chosen on; a row\nmarked no predicts nothing about its own data "
                    "set and is not drawn (bench plot --selections)",
                    fmt);
    return rc;
}

/* ---- the figure --------------------------------------------------------------------------- */

int valtest_plot(const valtest_set *v, const plot_options *o, plot_file_fn fn, void *ctx,
                 err_info *e)
{
    plot_point *p = calloc((size_t)(v->n ? v->n : 1), sizeof *p);
    if (!p)
        return err_set(e, ERR_NOMEM, "out of memory drawing the selections");
    int n = 0;
    for (int i = 0; i < v->n; i++) {
        const valtest_row *r = &v->v[i];
        if (r->same_data && isfinite(r->val.mean) && isfinite(r->test.mean))
            p[n++] = (plot_point){.label = r->experiment, .x = r->val.mean, .x_sd = r->val.sd,
                                  .y = r->test.mean, .y_sd = r->test.sd, .nx = r->val.n,
                                  .ny = r->test.n};
    }
    char footer[128];
    snprintf(footer, sizeof footer, "bench plot --selections: %d recipe%s chosen on validation",
             n, n == 1 ? "" : "s");
    int rc = n ? plot_selections(p, n, footer, o, fn, ctx, e)
               : err_set(e, ERR_INVALID, "none of the %d selected recipes on the test set was "
                         "chosen on the same data set: nothing to draw", v->n);
    free(p);
    return rc;
}
