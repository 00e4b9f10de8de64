/* history: results per git revision (see history.h). */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "history.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exp.h"
#include "report.h"
#include "vec.h"

/* dst <- s, "" for NULL, cut to n - 1 bytes. */
static void copy_text(char *dst, size_t n, const char *s) { snprintf(dst, n, "%s", s ? s : ""); }

/* ---- the noise rule ------------------------------------------------------------------------ */

/* Pooled sd of two samples; NAN when neither has a spread (n1 + n2 - 2 <= 0). */
static double pooled_sd(const stats_summary *a, const stats_summary *b)
{
    double ss = 0.0;
    int dof = 0;
    const stats_summary *v[2] = {a, b};
    for (int i = 0; i < 2; i++)
        if (v[i]->n >= 2) {
            ss += (v[i]->n - 1) * v[i]->sd * v[i]->sd;
            dof += v[i]->n - 1;
        }
    return dof > 0 ? sqrt(ss / dof) : NAN;
}

bool history_moved(const stats_summary *prev, const stats_summary *cur, double fallback_sd)
{
    if (prev->n == 0 || cur->n == 0)
        return false;
    double sd = pooled_sd(prev, cur);
    if (isnan(sd))
        sd = fallback_sd;
    if (isnan(sd))
        return false;
    return fabs(cur->mean - prev->mean) > 2.0 * sd;
}

/* The noise of a sequence of revisions so far, pooled over those with two or more values:
 * the fallback sd of history_moved for revisions of a single value. */
typedef struct noise {
    double ss;
    int dof;
} noise;

static double noise_sd(const noise *z) { return z->dof ? sqrt(z->ss / z->dof) : NAN; }

static void noise_add(noise *z, const stats_summary *s)
{
    if (s->n >= 2) {
        z->ss += (s->n - 1) * s->sd * s->sd;
        z->dof += s->n - 1;
    }
}

/* ---- loading ------------------------------------------------------------------------------- */

void history_release(history_set *h)
{
    for (int i = 0; i < h->n; i++) {
        free(h->configs[i].label);
        free(h->configs[i].config);
        free(h->configs[i].rows);
        json_decref(h->configs[i].values);
    }
    free(h->configs);
    memset(h, 0, sizeof *h);
}

/* A report group's label without its revision: the configuration, "all" when nothing else. */
static char *config_label(const json_t *values)
{
    char label[1024] = "";
    const char *key;
    json_t *v;
    exp_value x;
    json_object_foreach((json_t *)values, key, v) {
        if (strcmp(key, "revision") == 0)
            continue;
        exp_value_from_stored(&x, v);
        exp_label_append(label, sizeof label, key, &x);
    }
    return strdup(label[0] ? label : "all");
}

/* The configuration of group g in h, added (labelled as g) when new. NULL when out of memory. */
static history_config *config_of(history_set *h, const report_group *g)
{
    for (int i = 0; i < h->n; i++)
        if (strcmp(h->configs[i].config, g->config) == 0)
            return &h->configs[i];
    if (!vec_grow((void **)&h->configs, h->n, &h->cap, sizeof *h->configs))
        return NULL;
    history_config *c = &h->configs[h->n++];
    *c = (history_config){.label = config_label(g->values), .config = strdup(g->config),
                          .values = json_deep_copy(g->values)};
    if (c->values)
        json_object_del(c->values, "revision");
    return c->label && c->config && c->values ? c : NULL;
}

/* Add group g (one configuration, one build) as a row of c; a build already there (its runs
 * split over two versions of the file) has the two merged. false when out of memory. */
static bool add_row(history_config *c, const report_group *g)
{
    history_row *r = NULL;
    for (int i = 0; i < c->n && !r; i++)
        if (c->rows[i].build_id == g->build_id)
            r = &c->rows[i];
    if (r) {
        stats_acc a, b;
        stats_acc_of(&a, &r->acc);
        stats_acc_of(&b, &g->acc);
        stats_acc_merge(&a, &b);
        stats_acc_summary(&r->acc, &a);
        stats_acc_of(&a, &r->train_s);
        stats_acc_of(&b, &g->train_s);
        stats_acc_merge(&a, &b);
        stats_acc_summary(&r->train_s, &a);
        if (g->started[0] && strcmp(g->started, r->date) < 0)
            copy_text(r->date, sizeof r->date, g->started);
        return true;
    }
    if (!vec_grow((void **)&c->rows, c->n, &c->cap, sizeof *c->rows))
        return false;
    r = &c->rows[c->n++];
    *r = (history_row){.build_id = g->build_id, .git_dirty = g->git_dirty, .acc = g->acc,
                       .train_s = g->train_s};
    copy_text(r->git_sha, sizeof r->git_sha, g->git_sha[0] ? g->git_sha : "none");
    copy_text(r->date, sizeof r->date, g->started);
    return true;
}

static int cmp_row_date(const void *x, const void *y)
{
    const history_row *a = x, *b = y;
    int c = strcmp(a->date, b->date);
    return c ? c : (a->build_id > b->build_id) - (a->build_id < b->build_id);
}

/* Rows oldest first, each marked against the one before. */
static void mark_rows(history_config *c)
{
    qsort(c->rows, (size_t)c->n, sizeof *c->rows, cmp_row_date);
    noise acc = {0}, time = {0};
    for (int j = 0; j < c->n; j++) {
        history_row *r = &c->rows[j];
        if (j > 0) {
            r->acc_moved = history_moved(&c->rows[j - 1].acc, &r->acc, noise_sd(&acc));
            r->time_moved = history_moved(&c->rows[j - 1].train_s, &r->train_s, noise_sd(&time));
        }
        noise_add(&acc, &r->acc); /* for later single-run revisions */
        noise_add(&time, &r->train_s);
    }
}

int history_load(history_set *out, store *s, const char *experiment, err_info *e)
{
    memset(out, 0, sizeof *out);
    copy_text(out->experiment, sizeof out->experiment, experiment);
    report_options o = report_options_default();
    o.experiment = experiment;
    o.compare = 0;
    report r;
    int rc = report_load(&r, s, &o, e);
    /* newest version first: its plan orders and labels the configurations */
    for (int i = r.n_sections - 1; i >= 0 && !rc; i--)
        for (int g = 0; g < r.sections[i].n_groups && !rc; g++) {
            const report_group *gr = &r.sections[i].groups[g];
            if (!gr->config || gr->n == 0)
                continue;
            history_config *c = config_of(out, gr);
            if (!c || !add_row(c, gr))
                rc = err_set(e, ERR_NOMEM, "out of memory building the history");
        }
    for (int i = 0; i < out->n && !rc; i++)
        mark_rows(&out->configs[i]);
    report_release(&r);
    return rc;
}

/* ---- rendering ------------------------------------------------------------------------------ */

#define NCOLS(a) ((int)(sizeof a / sizeof a[0]))
enum { CELL = 64 };

static const char history_rule[] =
    "mark: 'acc', 'time' or 'acc+time' where the mean moved from the previous revision by more\n"
    "than twice the pooled sd of the two revisions' runs (the noise across seeds); when both\n"
    "have a single run, the pooled sd of every earlier revision is the noise; no mark without.\n"
    "a row: the runs of one configuration built by one build (seeds apart); configurations\n"
    "are never pooled.";

static const char *const history_cols[] = {"<date", "<revision", ">n", ">acc % (mean ± sd)",
                                           ">train s/run (mean ± sd)", "<mark"};
static const char *const history_cols_csv[] = {
    "experiment", "config", "date", "git_sha", "git_dirty", "n", "acc_mean", "acc_sd",
    "train_s_mean", "train_s_sd", "mark"};

static void mark_text(char *buf, size_t n, const history_row *r)
{
    snprintf(buf, n, "%s%s%s", r->acc_moved ? "acc" : "",
             r->acc_moved && r->time_moved ? "+" : "", r->time_moved ? "time" : "");
}

static json_t *row_record(const history_set *h, const history_config *c, const history_row *r)
{
    char mark[16];
    mark_text(mark, sizeof mark, r);
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:i, s:o, s:o, s:o, s:o, s:s, s:b, s:b}",
                     "experiment", h->experiment, "config", c->label, "date", r->date,
                     "git_sha", r->git_sha, "git_dirty", r->git_dirty, "n", r->acc.n,
                     "acc_mean", table_json_num(r->acc.mean), "acc_sd",
                     table_json_num(r->acc.sd), "train_s_mean", table_json_num(r->train_s.mean),
                     "train_s_sd", table_json_num(r->train_s.sd), "mark", mark, "acc_moved",
                     r->acc_moved, "time_moved", r->time_moved);
}

/* The JSON document of every history. */
static json_t *history_json(const history_set *sets, int n)
{
    json_t *exps = json_array();
    for (int x = 0; exps && x < n; x++) {
        json_t *cfgs = json_array();
        for (int i = 0; cfgs && i < sets[x].n; i++) {
            const history_config *c = &sets[x].configs[i];
            json_t *revs = json_array();
            for (int j = 0; revs && j < c->n; j++) {
                json_t *r = row_record(&sets[x], c, &c->rows[j]);
                json_object_del(r, "experiment");
                json_object_del(r, "config");
                json_array_append_new(revs, r);
            }
            json_array_append_new(cfgs, json_pack("{s:s, s:O, s:o}", "config", c->label,
                                                  "values", c->values, "revisions", revs));
        }
        json_array_append_new(exps, json_pack("{s:s, s:o}", "experiment", sets[x].experiment,
                                              "configurations", cfgs));
    }
    return json_pack("{s:i, s:o, s:s}", "format", 1, "experiments", exps, "rule", history_rule);
}

/* One configuration's table, for people. */
static int config_table(FILE *f, const history_config *c, table_format fmt, err_info *e)
{
    table t;
    table_init(&t, history_cols, NCOLS(history_cols));
    int rc = 0;
    for (int j = 0; j < c->n && !rc; j++) {
        const history_row *r = &c->rows[j];
        char date[32], sha[64], nb[16], a[CELL], b[CELL], mark[16];
        table_cell_date(date, sizeof date, r->date);
        snprintf(sha, sizeof sha, "%.10s%s", r->git_sha, r->git_dirty ? "-dirty" : "");
        snprintf(nb, sizeof nb, "%d", r->acc.n);
        table_cell_pm(a, CELL, &r->acc, 100.0, 2);
        table_cell_pm(b, CELL, &r->train_s, 1.0, 1);
        mark_text(mark, sizeof mark, r);
        const char *row[] = {date, sha, nb, a, b, mark};
        rc = table_row(&t, row, e);
    }
    return table_finish(f, &t, fmt, "  ", rc);
}

int history_render(FILE *f, const history_set *sets, int n, table_format fmt, err_info *e)
{
    if (fmt == TABLE_JSON)
        return table_json_write(f, history_json(sets, n), e);
    if (fmt == TABLE_CSV) {
        json_t *recs = json_array();
        for (int x = 0; recs && x < n; x++)
            for (int i = 0; i < sets[x].n; i++)
                for (int j = 0; j < sets[x].configs[i].n; j++)
                    json_array_append_new(recs, row_record(&sets[x], &sets[x].configs[i],
                                                           &sets[x].configs[i].rows[j]));
        if (!recs)
            return err_set(e, ERR_NOMEM, "out of memory writing CSV");
        table_records_csv(f, history_cols_csv, NCOLS(history_cols_csv), recs);
        json_decref(recs);
        return 0;
    }
    const bool md = fmt == TABLE_MD;
    int rc = 0;
    for (int x = 0; x < n && !rc; x++) {
        fprintf(f, "%s%s history of experiment %s: completed runs per git revision, oldest "
                   "first\n\n",
                x ? "\n" : "", md ? "##" : "==", sets[x].experiment);
        if (sets[x].n == 0)
            fprintf(f, "%sno completed runs\n", md ? "" : "  ");
        for (int i = 0; i < sets[x].n && !rc; i++) {
            const history_config *c = &sets[x].configs[i];
            if (sets[x].n > 1 || strcmp(c->label, "all") != 0)
                fprintf(f, "%s%sconfiguration %s\n\n", i ? "\n" : "", md ? "### " : "  ",
                        c->label);
            rc = config_table(f, c, fmt, e);
        }
    }
    if (!rc)
        table_notes(f, history_rule, fmt);
    return rc;
}

/* ---- speed history (bench history --perf) ----------------------------------------------------- */

/* One stored measurement, as the speed history needs it. */
typedef struct perf_point {
    char git_sha[48];
    bool git_dirty;
    char date[32];
    history_perf_setup setup;    /* its key fields only (n = 0, rows = NULL) */
    double epoch_s, images_per_s, pct_peak;
} perf_point;

typedef struct perf_points {
    perf_point *v;
    int n, cap;
    err_info *e;
} perf_points;

static int collect_perf(void *ctx, const store_perf_row *r)
{
    perf_points *l = ctx;
    if (!vec_grow((void **)&l->v, l->n, &l->cap, sizeof *l->v))
        return err_set(l->e, ERR_NOMEM, "out of memory reading the measurements");
    perf_point *p = &l->v[l->n++];
    *p = (perf_point){
        .git_dirty = r->git_sha && r->git_dirty,
        .setup = {.threads = r->m.threads, .batch = r->m.batch, .unfused = r->m.unfused != 0},
        .epoch_s = r->m.epoch_s,
        .images_per_s = r->m.images_per_s,
        /* against the physical peak only: before schema 9 the "peak" was an SGEMM through the
         * linked BLAS (peak_kind 'sgemm'), a ceiling of another kind */
        .pct_peak = r->m.peak_kind && strcmp(r->m.peak_kind, "sgemm") != 0 ? r->m.pct_peak : NAN,
    };
    copy_text(p->git_sha, sizeof p->git_sha, r->git_sha ? r->git_sha : "none");
    copy_text(p->date, sizeof p->date, r->created_at);
    copy_text(p->setup.data, sizeof p->setup.data, r->m.data);
    copy_text(p->setup.kernel_set, sizeof p->setup.kernel_set, r->m.kernel_set);
    return 0;
}

/* Setups in order of threads, batch, data, kernel set, then fused before unfused. */
static int cmp_setup(const void *x, const void *y)
{
    const history_perf_setup *a = x, *b = y;
    if (a->threads != b->threads)
        return a->threads < b->threads ? -1 : 1;
    if (a->batch != b->batch)
        return a->batch < b->batch ? -1 : 1;
    int c = strcmp(a->data, b->data);
    if (!c)
        c = strcmp(a->kernel_set, b->kernel_set);
    return c ? c : (int)a->unfused - (int)b->unfused;
}

static bool same_setup(const history_perf_setup *a, const history_perf_setup *b)
{
    return cmp_setup(a, b) == 0;
}

static bool same_revision(const history_perf_revision *r, const perf_point *p)
{
    return strcmp(r->git_sha, p->git_sha) == 0 && r->git_dirty == p->git_dirty;
}

/* *out <- the summary of the finite values among x[0..n) (x is compacted in place). */
static void summarize_finite(stats_summary *out, double *x, int n)
{
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i]))
            x[m++] = x[i];
    stats_summarize(out, x, m);
}

/* u->rows <- the revisions of setup u among the points (in created_at order, so the order of
 * first measurement is the revisions' date order), summarised and marked. scratch: (3 n). */
static int perf_setup_rows(history_perf_setup *u, const perf_points *l, double *scratch,
                           err_info *e)
{
    u->rows = calloc((size_t)l->n, sizeof *u->rows);
    if (!u->rows)
        return err_set(e, ERR_NOMEM, "out of memory building the speed history");
    for (int i = 0; i < l->n; i++) {
        const perf_point *p = &l->v[i];
        if (!same_setup(u, &p->setup))
            continue;
        int j = 0;
        while (j < u->n && !same_revision(&u->rows[j], p))
            j++;
        if (j < u->n)
            continue;
        history_perf_revision *r = &u->rows[u->n++];
        copy_text(r->git_sha, sizeof r->git_sha, p->git_sha);
        r->git_dirty = p->git_dirty;
        copy_text(r->date, sizeof r->date, p->date);
    }
    noise z = {0};
    for (int j = 0; j < u->n; j++) {
        history_perf_revision *r = &u->rows[j];
        double *es = scratch, *ips = scratch + l->n, *pct = scratch + 2 * l->n;
        for (int i = 0; i < l->n; i++) {
            const perf_point *p = &l->v[i];
            if (same_setup(u, &p->setup) && same_revision(r, p)) {
                es[r->n] = p->epoch_s;
                ips[r->n] = p->images_per_s;
                pct[r->n++] = p->pct_peak;
            }
        }
        summarize_finite(&r->epoch_s, es, r->n);
        summarize_finite(&r->images_per_s, ips, r->n);
        summarize_finite(&r->pct_peak, pct, r->n);
        const stats_summary *prev = j > 0 ? &u->rows[j - 1].epoch_s : NULL;
        if (prev && history_moved(prev, &r->epoch_s, noise_sd(&z)))
            r->moved = r->epoch_s.mean > prev->mean ? 1 : -1;
        noise_add(&z, &r->epoch_s); /* for later single-measurement revisions */
    }
    return 0;
}

int history_perf_load(history_perf_setup **out, int *n_out, store *s, err_info *e)
{
    *out = NULL;
    *n_out = 0;
    perf_points l = {.e = e};
    history_perf_setup *v = NULL;
    double *scratch = NULL;
    int n = 0;
    int rc = store_perfs(s, collect_perf, &l, e);
    if (rc || l.n == 0)
        goto done;
    v = calloc((size_t)l.n, sizeof *v);
    scratch = malloc(3 * (size_t)l.n * sizeof *scratch);
    if (!v || !scratch) {
        rc = err_set(e, ERR_NOMEM, "out of memory building the speed history");
        goto done;
    }
    for (int i = 0; i < l.n; i++) {
        int k = 0;
        while (k < n && !same_setup(&v[k], &l.v[i].setup))
            k++;
        if (k == n)
            v[n++] = l.v[i].setup;
    }
    qsort(v, (size_t)n, sizeof *v, cmp_setup);
    for (int k = 0; k < n && !rc; k++)
        rc = perf_setup_rows(&v[k], &l, scratch, e);
    if (!rc) {
        *out = v;
        *n_out = n;
        v = NULL;
    }
done:
    history_perf_free(v, n);
    free(scratch);
    free(l.v);
    return rc;
}

void history_perf_free(history_perf_setup *v, int n)
{
    for (int k = 0; v && k < n; k++)
        free(v[k].rows);
    free(v);
}

static const char perf_rule[] =
    "mark: 'slower' or 'faster' where the mean s/epoch moved from the previous revision by more\n"
    "than twice the pooled sd of the two revisions' measurements; when both have a single\n"
    "measurement, the pooled sd of the setup's earlier revisions is the noise; no mark without.\n"
    "% of peak: the whole iteration's GFLOP/s against the physical peak measured with it (an\n"
    "FMA loop on as many threads); measurements against an SGEMM \"peak\" (before schema 9)\n"
    "show none.\n";

static const char *perf_mark(int moved) { return moved > 0 ? "slower" : moved < 0 ? "faster" : ""; }

static const char *const perf_cols[] = {"<date", "<revision", ">n", ">s/epoch (mean ± sd)",
                                        ">best s/epoch", ">images/s", ">% of peak", "<mark"};
static const char *const perf_cols_csv[] = {
    "threads",     "batch",        "data",        "kernel_set",   "unfused",
    "date",        "git_sha",      "git_dirty",   "n",            "epoch_s_mean",
    "epoch_s_sd",  "epoch_s_best", "images_per_s_mean", "pct_peak_mean", "mark"};

/* One revision of a setup as a record (perf_cols_csv). */
static json_t *perf_record(const history_perf_setup *u, const history_perf_revision *r)
{
    return json_pack("{s:i, s:i, s:s, s:s, s:b, s:s, s:s, s:b, s:i, s:o, s:o, s:o, s:o, s:o,"
                     " s:o}",
                     "threads", u->threads, "batch", u->batch, "data", u->data, "kernel_set",
                     u->kernel_set, "unfused", u->unfused, "date", r->date, "git_sha",
                     r->git_sha, "git_dirty", r->git_dirty, "n", r->n, "epoch_s_mean",
                     table_json_num(r->epoch_s.mean), "epoch_s_sd",
                     table_json_num(r->epoch_s.sd), "epoch_s_best",
                     table_json_num(r->epoch_s.min), "images_per_s_mean",
                     table_json_num(r->images_per_s.mean), "pct_peak_mean",
                     table_json_num(r->pct_peak.mean), "mark",
                     r->moved ? json_string(perf_mark(r->moved)) : json_null());
}

/* The JSON document: setups, each with its revisions. */
static json_t *perf_json(const history_perf_setup *v, int n)
{
    json_t *setups = json_array();
    for (int k = 0; setups && k < n; k++) {
        json_t *revs = json_array();
        for (int i = 0; revs && i < v[k].n; i++) {
            json_t *r = perf_record(&v[k], &v[k].rows[i]);
            for (int c = 0; c < 5; c++)
                json_object_del(r, perf_cols_csv[c]); /* the setup's, given once above */
            json_array_append_new(revs, r);
        }
        json_array_append_new(setups, json_pack("{s:i, s:i, s:s, s:s, s:b, s:o}", "threads",
                                                v[k].threads, "batch", v[k].batch, "data",
                                                v[k].data, "kernel_set", v[k].kernel_set,
                                                "unfused", v[k].unfused, "revisions", revs));
    }
    return json_pack("{s:i, s:o, s:s}", "format", 1, "setups", setups, "rule", perf_rule);
}

/* One setup's table, for people. */
static int perf_table(FILE *f, const history_perf_setup *u, table_format fmt, err_info *e)
{
    table t;
    table_init(&t, perf_cols, NCOLS(perf_cols));
    int rc = 0;
    for (int i = 0; i < u->n && !rc; i++) {
        const history_perf_revision *r = &u->rows[i];
        char c[7][CELL];
        table_cell_date(c[0], CELL, r->date);
        snprintf(c[1], CELL, "%.10s%s", r->git_sha, r->git_dirty ? "-dirty" : "");
        snprintf(c[2], CELL, "%d", r->n);
        table_cell_pm(c[3], CELL, &r->epoch_s, 1.0, 2);
        table_cell_num(c[4], CELL, "%.2f", r->epoch_s.min);
        table_cell_num(c[5], CELL, "%.0f", r->images_per_s.mean);
        table_cell_num(c[6], CELL, "%.1f", r->pct_peak.mean);
        const char *row[] = {c[0], c[1], c[2], c[3], c[4], c[5], c[6], perf_mark(r->moved)};
        rc = table_row(&t, row, e);
    }
    return table_finish(f, &t, fmt, "  ", rc);
}

int history_perf_render(FILE *f, const history_perf_setup *v, int n, table_format fmt,
                        err_info *e)
{
    if (fmt == TABLE_JSON)
        return table_json_write(f, perf_json(v, n), e);
    if (fmt == TABLE_CSV) {
        json_t *recs = json_array();
        for (int k = 0; recs && k < n; k++)
            for (int i = 0; i < v[k].n; i++)
                json_array_append_new(recs, perf_record(&v[k], &v[k].rows[i]));
        if (!recs)
            return err_set(e, ERR_NOMEM, "out of memory writing CSV");
        table_records_csv(f, perf_cols_csv, NCOLS(perf_cols_csv), recs);
        json_decref(recs);
        return 0;
    }
    int rc = 0;
    for (int k = 0; k < n && !rc; k++) {
        const history_perf_setup *u = &v[k];
        fprintf(f, "%s%s speed history: %d thread%s, batch %d, %s data%s%s%s; bench perf per git "
                   "revision, oldest first\n\n",
                k ? "\n" : "", fmt == TABLE_MD ? "##" : "==", u->threads,
                u->threads == 1 ? "" : "s", u->batch, u->data,
                strcmp(u->kernel_set, "auto") ? ", kernels " : "",
                strcmp(u->kernel_set, "auto") ? u->kernel_set : "", u->unfused ? ", unfused" : "");
        rc = perf_table(f, u, fmt, e);
    }
    if (!rc)
        table_notes(f, perf_rule, fmt);
    return rc;
}
