/* select: the decision of a [select] table (see select.h). */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "select.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "vec.h"

void select_choose(int *winner, const double *means, int n, double margin)
{
    assert(n > 0 && margin >= 0.0);
    double best = means[0];
    for (int i = 1; i < n; i++)
        if (means[i] > best)
            best = means[i];
    int w = 0;
    while (w < n - 1 && !(means[w] >= best - margin))
        w++;
    *winner = w;
}

/* ---- reading `from`'s runs ---------------------------------------------------------------- */

/* A stored run of `from` at this identity, as far as the decision needs it. */
typedef struct select_row {
    int64_t version;
    int position, status;
    char run_key[65];
    int64_t seed, validation;
    double value;
    char *swept, *values, *file; /* owned */
    json_t *config;              /* owned: the parsed configuration (NULL if unreadable) */
} select_row;

typedef struct select_rows {
    const experiment *x;
    const char *identity;
    select_row *r;
    int n, cap;
    int seen;           /* rows of any build */
    char any_file[4096]; /* the file of the newest version seen, "" when none */
    err_info *e;
} select_rows;

/* *out <- the integer of key label in a configuration, or dflt when absent. */
static int64_t config_int(const json_t *cfg, const char *label, int64_t dflt)
{
    exp_value v;
    exp_value_from_json(&v, exp_vocab_find(label), cfg);
    return v.type == EXP_INT ? v.i : dflt;
}

static int collect_row(void *ctx, const store_select_row *w)
{
    select_rows *rs = ctx;
    char key[65];
    rs->seen++;
    snprintf(rs->any_file, sizeof rs->any_file, "%s", w->file ? w->file : "");
    if (!w->config_json ||
        exp_json_key(key, w->config_json, w->dataset_sha256, rs->identity, rs->e) != 0)
        return w->config_json ? rs->e->code : 0;
    if (strcmp(key, w->run_key) != 0)
        return 0; /* queued under another build identity */
    if (!vec_grow((void **)&rs->r, rs->n, &rs->cap, sizeof *rs->r))
        return err_set(rs->e, ERR_NOMEM, "out of memory");
    json_t *cfg = json_loads(w->config_json, 0, NULL);
    select_row *r = &rs->r[rs->n];
    *r = (select_row){.version = w->version_id, .position = w->position, .status = w->status,
                      .seed = config_int(cfg, "seed", 0),
                      .validation = config_int(cfg, "validation", 0),
                      .value = rs->x->select.metric == EXP_METRIC_F1 ? w->f1 : w->acc};
    r->config = cfg; /* kept for the rule's keys (row_values): parsed once */
    snprintf(r->run_key, sizeof r->run_key, "%s", w->run_key);
    r->swept = strdup(w->swept ? w->swept : "[]");
    r->values = strdup(w->swept_values ? w->swept_values : "[]");
    r->file = strdup(w->file ? w->file : "?");
    rs->n++;
    if (!r->swept || !r->values || !r->file)
        return err_set(rs->e, ERR_NOMEM, "out of memory");
    return 0;
}

static void row_release(select_row *r)
{
    free(r->swept);
    free(r->values);
    free(r->file);
    json_decref(r->config);
}

static void rows_release(select_rows *rs)
{
    for (int i = 0; i < rs->n; i++)
        row_release(&rs->r[i]);
    free(rs->r);
}

/* "FILE:LINE: key 'select.KEY': " + message, as ERR_INVALID. */
static int rule_err(const experiment *x, bool keys, err_info *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static int rule_err(const experiment *x, bool keys, err_info *e, const char *fmt, ...)
{
    char what[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return err_set(e, ERR_INVALID, "%s:%d: key 'select.%s': %.400s", x->file,
                   keys ? x->select.keys_line : x->select.from_line, keys ? "keys" : "from",
                   what);
}

/* Keep the newest version of `from` with runs at this identity; refuse when there are none,
 * when some are not COMPLETED, or when they were evaluated on the test set. */
static int check_rows(select_rows *rs, select_decision *d, const char *db)
{
    const experiment *x = rs->x;
    const char *from = x->select.from;
    if (rs->seen == 0)
        return rule_err(x, false, rs->e, "no experiment '%s' in '%s': run it first: bench run "
                        "experiments/<its file>", from, db);
    if (rs->n == 0)
        return rule_err(x, false, rs->e, "experiment '%s' has no runs of this build in '%s' "
                        "(%d of other builds): run it first: bench run %s", from, db, rs->seen,
                        rs->any_file[0] ? rs->any_file : "experiments/<its file>");
    int64_t newest = rs->r[rs->n - 1].version; /* rows come by version, oldest first */
    int keep = 0, done = 0, test = 0;
    for (int i = 0; i < rs->n; i++) {
        if (rs->r[i].version != newest) {
            row_release(&rs->r[i]);
            continue;
        }
        rs->r[keep++] = rs->r[i];
        done += rs->r[keep - 1].status == RUN_COMPLETED;
        test += rs->r[keep - 1].validation == 0;
    }
    rs->n = keep;
    snprintf(d->from_file, sizeof d->from_file, "%s", rs->r[0].file);
    if (done < keep)
        return rule_err(x, false, rs->e, "%d of the %d runs of '%s' of this build are not "
                        "COMPLETED: finish them first: bench run %s", keep - done, keep, from,
                        d->from_file);
    if (test > 0)
        return rule_err(x, false, rs->e, "%d of the %d runs of '%s' were evaluated on the test "
                        "set (data.validation = 0): a choice is made on a validation split, "
                        "never on the test set", test, keep, from);
    return 0;
}

/* col[i] <- the index of rule key i among `from`'s swept keys (swept, a JSON array of labels),
 * -1 when `from` does not sweep it (its one value is then read from each run's configuration);
 * refused when `from` sweeps a key that is neither a rule key nor the seed. */
static int match_swept(int col[EXP_MAX_SWEPT], const experiment *x, const char *swept,
                       err_info *e)
{
    json_t *arr = json_loads(swept, 0, NULL);
    const exp_select *sel = &x->select;
    int rc = 0;
    for (int k = 0; k < sel->n_keys; k++)
        col[k] = -1;
    for (size_t j = 0; rc == 0 && j < json_array_size(arr); j++) {
        const char *label = json_string_value(json_array_get(arr, j));
        int k = 0;
        while (k < sel->n_keys && strcmp(sel->keys[k]->label, label ? label : "") != 0)
            k++;
        if (k < sel->n_keys)
            col[k] = (int)j;
        else if (!label || strcmp(label, "seed") != 0)
            rc = rule_err(x, true, e, "'%s' sweeps '%s' too: a rule compares candidates that "
                          "differ only in its keys (and the seed); add '%s' to keys or fix it "
                          "in '%s'", sel->from, label ? label : "?", label ? label : "?",
                          sel->from);
    }
    json_decref(arr);
    return rc;
}

/* ---- candidates --------------------------------------------------------------------------- */

/* The candidate of d whose values are v (n_keys of them), added at the end when new. */
static select_candidate *candidate_of(select_decision *d, const exp_value *v, int position,
                                      err_info *e)
{
    int nk = d->rule->n_keys;
    for (int i = 0; i < d->n; i++) {
        int k = 0;
        while (k < nk && exp_value_equal(&d->c[i].values[k], &v[k]))
            k++;
        if (k == nk)
            return &d->c[i];
    }
    if (!vec_grow((void **)&d->c, d->n, &d->cap, sizeof *d->c)) {
        err_set(e, ERR_NOMEM, "out of memory");
        return NULL;
    }
    select_candidate *c = &d->c[d->n++];
    memset(c, 0, sizeof *c);
    memcpy(c->values, v, (size_t)nk * sizeof *v);
    c->position = position;
    return c;
}

/* v <- run r's values of the rule's keys: a swept key's from its swept values, another's from
 * its configuration (the value `from` ran with, written in its file or taken by its own
 * [select]); refused when the configuration has none (a key that is not part of it). */
static int row_values(exp_value v[EXP_MAX_SWEPT], const select_decision *d, const select_row *r,
                      const int *col, const experiment *x, err_info *e)
{
    json_t *vals = json_loads(r->values, 0, NULL);
    int rc = 0;
    for (int k = 0; rc == 0 && k < d->rule->n_keys; k++) {
        if (col[k] >= 0)
            exp_value_from_stored(&v[k], json_array_get(vals, (size_t)col[k]));
        else
            exp_value_from_json(&v[k], d->rule->keys[k], r->config);
        if (v[k].type == EXP_NONE)
            rc = rule_err(x, true, e, "run %.12s of '%s' has no value of '%s' (a key that is "
                          "not part of its configuration cannot be taken from it)", r->run_key,
                          d->rule->from, d->rule->keys[k]->label);
    }
    json_decref(vals);
    return rc;
}

/* d->c <- the rows (in plan order) grouped by their values of the rule's keys. */
static int group_rows(select_decision *d, const select_rows *rs, const int *col,
                      const experiment *x, err_info *e)
{
    for (int i = 0; i < rs->n; i++) {
        const select_row *r = &rs->r[i];
        exp_value v[EXP_MAX_SWEPT];
        int rc = row_values(v, d, r, col, x, e);
        if (rc)
            return rc;
        select_candidate *c = candidate_of(d, v, r->position, e);
        if (!c)
            return e->code;
        if (!vec_grow((void **)&c->runs, c->n_runs, &c->cap, sizeof *c->runs))
            return err_set(e, ERR_NOMEM, "out of memory");
        select_run *run = &c->runs[c->n_runs++];
        memcpy(run->run_key, r->run_key, sizeof run->run_key);
        run->seed = r->seed;
        run->value = r->value;
    }
    return 0;
}

/* Every candidate's mean; refused when their numbers of runs differ or a figure is missing. */
static int score(select_decision *d, const experiment *x, err_info *e)
{
    for (int i = 0; i < d->n; i++) {
        select_candidate *c = &d->c[i];
        if (c->n_runs != d->c[0].n_runs)
            return rule_err(x, false, e, "the candidates of '%s' have different numbers of "
                            "seeds (%d for the first, %d for candidate %d): a mean compares "
                            "only over the same seeds", x->select.from, d->c[0].n_runs,
                            c->n_runs, i + 1);
        double sum = 0.0;
        for (int j = 0; j < c->n_runs; j++) {
            if (isnan(c->runs[j].value))
                return rule_err(x, false, e, "run %.12s of '%s' has no final-epoch %s",
                                c->runs[j].run_key, x->select.from,
                                exp_select_metric_name(x->select.metric));
            sum += c->runs[j].value; /* in plan order: the same sum every time */
        }
        c->mean = sum / c->n_runs;
    }
    return 0;
}

int select_decide(select_decision *d, store *s, const experiment *x, const char *identity,
                  err_info *e)
{
    assert(x->select.on);
    memset(d, 0, sizeof *d);
    d->rule = &x->select;
    select_rows rs = {.x = x, .identity = identity, .e = e};
    int col[EXP_MAX_SWEPT];
    int rc = store_select_runs(s, x->select.from, collect_row, &rs, e);
    if (rc == 0)
        rc = check_rows(&rs, d, store_path(s));
    if (rc == 0)
        rc = match_swept(col, x, rs.r[0].swept, e);
    if (rc == 0)
        rc = group_rows(d, &rs, col, x, e);
    if (rc == 0)
        rc = score(d, x, e);
    rows_release(&rs);
    if (rc) {
        select_decision_release(d);
        return rc;
    }
    double *means = malloc((size_t)d->n * sizeof *means);
    if (!means) {
        select_decision_release(d);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < d->n; i++)
        means[i] = d->c[i].mean;
    select_choose(&d->winner, means, d->n, x->select.margin);
    free(means);
    return 0;
}

void select_decision_release(select_decision *d)
{
    for (int i = 0; d && i < d->n; i++)
        free(d->c[i].runs);
    if (d) {
        free(d->c);
        memset(d, 0, sizeof *d);
    }
}

/* ---- the record --------------------------------------------------------------------------- */

static json_t *candidate_json(const select_decision *d, const select_candidate *c)
{
    json_t *vals = json_array(), *runs = json_array();
    for (int k = 0; k < d->rule->n_keys; k++)
        json_array_append_new(vals, exp_value_json(&c->values[k]));
    for (int j = 0; j < c->n_runs; j++)
        json_array_append_new(runs, json_pack("{s:s, s:I, s:f}", "run", c->runs[j].run_key,
                                              "seed", (json_int_t)c->runs[j].seed, "value",
                                              c->runs[j].value));
    return json_pack("{s:o, s:o, s:f}", "values", vals, "runs", runs, "mean", c->mean);
}

char *select_decision_json(const select_decision *d)
{
    const exp_select *r = d->rule;
    json_t *keys = json_array(), *cands = json_array(), *win = json_object();
    for (int k = 0; k < r->n_keys; k++) {
        json_array_append_new(keys, json_string(r->keys[k]->label));
        json_object_set_new(win, r->keys[k]->label, exp_value_json(&d->c[d->winner].values[k]));
    }
    for (int i = 0; i < d->n; i++)
        json_array_append_new(cands, candidate_json(d, &d->c[i]));
    json_t *doc = json_pack("{s:s, s:s, s:s, s:f, s:o, s:o, s:i, s:o}", "from", r->from, "file",
                            d->from_file, "metric", exp_select_metric_name(r->metric), "margin",
                            r->margin, "keys", keys, "candidates", cands, "winner", d->winner,
                            "winner_values", win);
    char *s = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(doc);
    return s;
}

/* One row of the candidates table: its number, its values, each run's figure, its mean. */
static int print_row(table *t, const json_t *doc, size_t i, err_info *e)
{
    const json_t *c = json_array_get(json_object_get(doc, "candidates"), i);
    const json_t *vals = json_object_get(c, "values"), *runs = json_object_get(c, "runs");
    char num[32], values[EXP_TEXT_MAX] = "", seeds[EXP_TEXT_MAX] = "", mean[32];
    snprintf(num, sizeof num, "%zu%s", i + 1,
             (json_int_t)i == json_integer_value(json_object_get(doc, "winner")) ? " *" : "");
    const json_t *keys = json_object_get(doc, "keys");
    for (size_t k = 0; k < json_array_size(keys); k++) {
        exp_value v;
        exp_value_from_stored(&v, json_array_get(vals, k));
        exp_label_append(values, sizeof values, json_string_value(json_array_get(keys, k)), &v);
    }
    for (size_t j = 0; j < json_array_size(runs); j++) {
        const json_t *r = json_array_get(runs, j);
        size_t at = strlen(seeds);
        snprintf(seeds + at, sizeof seeds - at, "%s%lld: %.4f", j ? ", " : "",
                 (long long)json_integer_value(json_object_get(r, "seed")),
                 json_real_value(json_object_get(r, "value")));
    }
    snprintf(mean, sizeof mean, "%.6f", json_real_value(json_object_get(c, "mean")));
    const char *row[] = {num, values, seeds, mean};
    return table_row(t, row, e);
}

int select_print(FILE *out, const char *json, table_format fmt, err_info *e)
{
    json_t *doc = json_loads(json, 0, NULL);
    if (!doc)
        return err_set(e, ERR_FORMAT, "a stored [select] decision is not JSON");
    char margin[32];
    exp_format_number(margin, sizeof margin, json_real_value(json_object_get(doc, "margin")));
    fprintf(out, "%sselection: the highest mean final %s of '%s' (%s) over its seeds; an earlier "
            "candidate within %s of the best wins\n\n", fmt == TABLE_MD ? "\n" : "",
            json_string_value(json_object_get(doc, "metric")),
            json_string_value(json_object_get(doc, "from")),
            json_string_value(json_object_get(doc, "file")), margin);
    static const char *const cols[] = {">candidate", "<values", "<seed: figure", ">mean"};
    table t;
    table_init(&t, cols, 4);
    int rc = 0;
    size_t n = json_array_size(json_object_get(doc, "candidates"));
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = print_row(&t, doc, i, e);
    rc = table_finish(out, &t, fmt, "  ", rc);
    char win[EXP_TEXT_MAX] = "";
    const char *label;
    json_t *v;
    json_object_foreach(json_object_get(doc, "winner_values"), label, v)
    {
        exp_value x;
        exp_value_from_stored(&x, v);
        exp_label_append(win, sizeof win, label, &x);
    }
    if (rc == 0)
        fprintf(out, "%swinner: candidate %lld, %s\n", fmt == TABLE_MD ? "\n" : "  ",
                (long long)json_integer_value(json_object_get(doc, "winner")) + 1, win);
    json_decref(doc);
    return rc;
}

int select_resolve(experiment *out, char **json, const experiment *x, const char *db_path,
                   const char *identity, FILE *print, err_info *e)
{
    memset(out, 0, sizeof *out);
    *json = NULL;
    if (!db_path)
        return rule_err(x, false, e, "a [select] file is planned against the database holding "
                        "the runs of '%s', and none was given", x->select.from);
    if (access(db_path, F_OK) != 0)
        return rule_err(x, false, e, "no experiment '%s' in '%s' (no such database): run it "
                        "first: bench run experiments/<its file>", x->select.from, db_path);
    store *s = NULL;
    select_decision d;
    int rc = store_open_readonly(&s, db_path, e);
    if (rc)
        return rc;
    rc = select_decide(&d, s, x, identity, e);
    store_close(s);
    if (rc)
        return rc;
    *json = select_decision_json(&d);
    if (!*json)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    if (rc == 0 && print)
        rc = select_print(print, *json, TABLE_TEXT, e);
    if (rc == 0)
        rc = exp_apply_select(out, x, d.c[d.winner].values, e);
    select_decision_release(&d);
    if (rc) {
        free(*json);
        *json = NULL;
    }
    return rc;
}
