/* report: grouping, aggregation, comparison and rendering of stored runs (see report.h).
 *
 * Loading a section takes three steps:
 *   1. cells: every run reported under the version is streamed once (store_report_runs) into
 *      its cell, the runs of one configuration (configuration JSON without the seed) and one
 *      build; a cell keeps running sums (stats_acc), never the runs (unless asked);
 *   2. groups: cells are merged into groups, by configuration (and build unless pool_builds),
 *      or by the values of --group-by's keys; groups are ordered as the file plans them;
 *   3. labels and comparisons: each group is labelled by the grouping keys, extended until no
 *      two groups read the same; groups that differ in one key are compared. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "report.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "exp.h"
#include "vec.h"

report_options report_options_default(void) { return (report_options){.compare = -1}; }

/* dst <- s, "" for NULL, cut to n - 1 bytes. */
static void copy_text(char *dst, size_t n, const char *s) { snprintf(dst, n, "%s", s ? s : ""); }

/* ---- a string -> index map ------------------------------------------------------------------
 * Open addressing over FNV-1a hashes; keys are owned. Cells and groups are found through it, so
 * that streaming 100,000 runs costs one hash per run. */
typedef struct smap {
    char **keys;        /* (cap) NULL where empty */
    int *vals;          /* (cap) */
    int n, cap;         /* cap a power of two, kept at least twice n */
} smap;

static uint64_t smap_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void smap_free(smap *m)
{
    for (int i = 0; i < m->cap; i++)
        free(m->keys ? m->keys[i] : NULL);
    free(m->keys);
    free(m->vals);
    *m = (smap){0};
}

/* Insert key -> val into m's tables (no resize, no copy). */
static void smap_place(smap *m, char *key, int val)
{
    size_t mask = (size_t)m->cap - 1, i = (size_t)smap_hash(key) & mask;
    while (m->keys[i])
        i = (i + 1) & mask;
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
}

static bool smap_grow(smap *m)
{
    smap w = {.cap = m->cap ? 2 * m->cap : 64};
    w.keys = calloc((size_t)w.cap, sizeof *w.keys);
    w.vals = malloc((size_t)w.cap * sizeof *w.vals);
    if (!w.keys || !w.vals) {
        free(w.keys);
        free(w.vals);
        return false;
    }
    for (int i = 0; i < m->cap; i++)
        if (m->keys[i])
            smap_place(&w, m->keys[i], m->vals[i]);
    free(m->keys);
    free(m->vals);
    *m = w;
    return true;
}

/* *val <- the value of key; when absent, key is added with *val = fresh and *added is true.
 * false when out of memory. */
static bool smap_get(smap *m, const char *key, int fresh, int *val, bool *added)
{
    *added = false;
    if (m->cap) {
        size_t mask = (size_t)m->cap - 1, i = (size_t)smap_hash(key) & mask;
        for (; m->keys[i]; i = (i + 1) & mask)
            if (strcmp(m->keys[i], key) == 0) {
                *val = m->vals[i];
                return true;
            }
    }
    if (2 * (m->n + 1) > m->cap && !smap_grow(m))
        return false;
    char *k = strdup(key);
    if (!k)
        return false;
    smap_place(m, k, fresh);
    *val = fresh;
    *added = true;
    return true;
}

/* ---- aggregates ----------------------------------------------------------------------------- */

/* What a cell or a group sums up of its runs. */
typedef struct agg {
    int n_diverged, n_failed, n_unfinished, n_short;
    int n_contended;            /* aggregated runs with a contended epoch (timing.h) */
    stats_acc acc, precision, recall, f1, train_s;
    double sum_epochs;          /* epochs of the aggregated runs, for s/epoch */
    int k;                      /* classes of cls; -1 when runs disagree (no per-class means) */
    double *cls;                /* (4,k) sums of precision, recall, f1, support */
} agg;

/* Add one run's figures: counted by status, aggregated when COMPLETED at the epoch. */
static void agg_run(agg *a, const store_report_row *r)
{
    switch (r->status) {
    case RUN_COMPLETED:
        if (r->epoch == 0) {
            a->n_short++;
            return;
        }
        break;
    case RUN_DIVERGED: a->n_diverged++; return;
    case RUN_FAILED: a->n_failed++; return;
    default: a->n_unfinished++; return;
    }
    stats_acc_add(&a->acc, r->acc);
    stats_acc_add(&a->precision, r->precision);
    stats_acc_add(&a->recall, r->recall);
    stats_acc_add(&a->f1, r->f1);
    stats_acc_add(&a->train_s, r->train_s);
    a->sum_epochs += r->epoch;
    a->n_contended += r->contended_epochs > 0;
}

/* Add per-class sums (k classes, rows as report_group.cls); classes that disagree with what
 * a already holds disable the per-class means. false when out of memory. */
static bool agg_classes(agg *a, const double *cls, int k)
{
    if (a->k < 0 || k <= 0 || (a->cls && a->k != k)) {
        a->k = -1;
        return true;
    }
    if (!a->cls) {
        if (!(a->cls = calloc(4 * (size_t)k, sizeof *a->cls)))
            return false;
        a->k = k;
    }
    for (int c = 0; c < 4 * k; c++)
        a->cls[c] += cls[c];
    return true;
}

static bool agg_merge(agg *a, const agg *b)
{
    a->n_diverged += b->n_diverged;
    a->n_failed += b->n_failed;
    a->n_unfinished += b->n_unfinished;
    a->n_short += b->n_short;
    a->n_contended += b->n_contended;
    stats_acc_merge(&a->acc, &b->acc);
    stats_acc_merge(&a->precision, &b->precision);
    stats_acc_merge(&a->recall, &b->recall);
    stats_acc_merge(&a->f1, &b->f1);
    stats_acc_merge(&a->train_s, &b->train_s);
    a->sum_epochs += b->sum_epochs;
    if (b->k < 0)
        a->k = -1;
    else if (b->cls)
        return agg_classes(a, b->cls, b->k);
    return true;
}

/* g's figures from the aggregate: summaries (accuracy CI clipped to [0, 1]), s/epoch,
 * per-class means. */
static void agg_finish(report_group *g, agg *a)
{
    g->n = a->acc.n;
    g->n_diverged = a->n_diverged;
    g->n_failed = a->n_failed;
    g->n_unfinished = a->n_unfinished;
    g->n_short = a->n_short;
    g->n_contended = a->n_contended;
    stats_acc_summary(&g->acc, &a->acc);
    stats_clip_ci(&g->acc, 0.0, 1.0);
    stats_acc_summary(&g->precision, &a->precision);
    stats_acc_summary(&g->recall, &a->recall);
    stats_acc_summary(&g->f1, &a->f1);
    stats_acc_summary(&g->train_s, &a->train_s);
    g->epoch_s = g->n ? a->train_s.mean * g->n / a->sum_epochs : NAN;
    if (a->k > 0 && a->cls && g->n > 0) {
        for (int c = 0; c < 4 * a->k; c++)
            a->cls[c] /= g->n;
        g->k = a->k;
        g->cls = a->cls;
        a->cls = NULL;
    }
}

/* ---- cells ---------------------------------------------------------------------------------- */

/* The runs of one configuration and one build (and one seed when --group-by names it). */
typedef struct cell {
    char *config;               /* configuration JSON without the seed (with it for seed
                                 * cells); owned */
    char *swept;                /* swept_values of its first run (JSON array); owned, may be NULL */
    int64_t build_id;
    char git_sha[48];
    bool git_dirty;
    int position;               /* smallest plan position of its runs, INT_MAX unknown */
    char queued[32];            /* earliest queue time */
    char started[32];           /* earliest start, "" none */
    agg a;
    int group;
} cell;

/* What loading one section keeps while the runs stream by. */
typedef struct loader {
    report_section *sec;
    const report_options *o;
    store *s;
    char swept[EXP_MAX_SWEPT][64]; /* the version's swept labels (sweep_stored) */
    int n_swept;
    bool seed_cells;            /* group_by names the seed: cells are single seeds */
    cell *cells;
    int n_cells, cap_cells, cap_runs, cap_builds, cap_hosts, cap_datasets;
    smap cell_index;
    char *key;                  /* scratch for a cell's key, reused run after run */
    size_t key_cap;
    err_info *e;
} loader;

/* The cell of r (configuration and build), added when new. NULL when out of memory. */
static cell *cell_of(loader *l, const store_report_row *r)
{
    const char *cfg = l->seed_cells ? r->config_json : r->config_noseed;
    cfg = cfg ? cfg : "{}";
    size_t len = strlen(cfg);
    if (len + 24 > l->key_cap) {
        char *k = realloc(l->key, len + 24);
        if (!k)
            return NULL;
        l->key = k;
        l->key_cap = len + 24;
    }
    memcpy(l->key, cfg, len);
    snprintf(l->key + len, 24, "\x1f%lld", (long long)r->build_id);
    int i;
    bool added;
    if (!smap_get(&l->cell_index, l->key, l->n_cells, &i, &added))
        return NULL;
    if (!added)
        return &l->cells[i];
    if (!vec_grow((void **)&l->cells, l->n_cells, &l->cap_cells, sizeof *l->cells))
        return NULL;
    cell *c = &l->cells[l->n_cells++];
    *c = (cell){.build_id = r->build_id, .git_dirty = r->git_dirty != 0, .position = INT_MAX};
    c->config = strdup(cfg);
    c->swept = r->swept_values ? strdup(r->swept_values) : NULL;
    copy_text(c->git_sha, sizeof c->git_sha, r->git_sha);
    copy_text(c->queued, sizeof c->queued, r->queued_at);
    if (!c->config || (r->swept_values && !c->swept))
        return NULL;
    json_t *cj = json_loads(cfg, 0, NULL);
    if (json_integer_value(json_object_get(cj, "validation")) > 0)
        l->sec->validation = true;
    /* one data set for the section, or none: the first cell names it, and a differing one
     * clears it (for good: no later cell names "") */
    const char *ds = json_string_value(json_object_get(cj, "dataset"));
    if (l->n_cells == 1)
        copy_text(l->sec->dataset, sizeof l->sec->dataset, ds ? ds : "");
    else if (!ds || strcmp(l->sec->dataset, ds) != 0)
        l->sec->dataset[0] = '\0';
    json_decref(cj);
    return c;
}

/* The cell's place in the plan: its first position, else its first queue time. */
static void cell_note_order(cell *c, const store_report_row *r)
{
    if (r->position >= 0 && r->position < c->position)
        c->position = r->position;
    if (r->queued_at && strcmp(r->queued_at, c->queued) < 0)
        copy_text(c->queued, sizeof c->queued, r->queued_at);
    if (r->started_at && (!c->started[0] || strcmp(r->started_at, c->started) < 0))
        copy_text(c->started, sizeof c->started, r->started_at);
}

/* Collects one epoch's per-class rows (store_epoch_get) as report_group.cls rows. */
typedef struct class_pick {
    double *cls;
    int k;
} class_pick;

static int pick_classes(void *ctx, const store_epoch *ep)
{
    class_pick *p = ctx;
    if (ep->k <= 0 || ep->k > REPORT_MAX_CLASSES || !ep->precision)
        return 0;
    size_t k = (size_t)ep->k;
    if (!(p->cls = malloc(4 * k * sizeof *p->cls)))
        return ERR_NOMEM;
    p->k = ep->k;
    for (size_t c = 0; c < k; c++) {
        p->cls[c] = ep->precision[c];
        p->cls[k + c] = ep->recall[c];
        p->cls[2 * k + c] = ep->f1[c];
        p->cls[3 * k + c] = (double)ep->support[c];
    }
    return 0;
}

/* Add r's per-class metrics at its reported epoch to c. */
static int cell_classes(loader *l, cell *c, const store_report_row *r)
{
    class_pick p = {0};
    int rc = store_epoch_get(l->s, r->run_key, r->epoch, true, pick_classes, &p, l->e);
    if (rc == ERR_NOMEM)
        rc = err_set(l->e, ERR_NOMEM, "out of memory reading per-class metrics");
    if (!rc && !agg_classes(&c->a, p.cls, p.k))
        rc = err_set(l->e, ERR_NOMEM, "out of memory reading per-class metrics");
    free(p.cls);
    return rc;
}

/* Keep r as a report_run (report_section.runs). */
static int keep_run(loader *l, const store_report_row *r, int cell_index)
{
    report_section *sec = l->sec;
    if (!vec_grow((void **)&sec->runs, sec->n_runs, &l->cap_runs, sizeof *sec->runs))
        return err_set(l->e, ERR_NOMEM, "out of memory reading runs");
    report_run *w = &sec->runs[sec->n_runs++];
    *w = (report_run){.status = r->status, .epoch = r->epoch, .acc = r->acc,
                      .precision = r->precision, .recall = r->recall, .f1 = r->f1,
                      .train_s = r->train_s, .diverged_epoch = r->diverged_epoch,
                      .git_dirty = r->git_dirty != 0, .epochs_done = r->epochs_done,
                      .threads = r->threads, .peak_rss_bytes = r->peak_rss_bytes,
                      .group = cell_index, .position = r->position,
                      .time = {.epochs = r->epoch, .contended = r->contended_epochs,
                               .wall_s = r->train_s, .quiet_wall_s = r->quiet_train_s,
                               .cpu_s = r->train_cpu_s}};
    copy_text(w->key, sizeof w->key, r->run_key);
    copy_text(w->git_sha, sizeof w->git_sha, r->git_sha);
    copy_text(w->queued_at, sizeof w->queued_at, r->queued_at);
    w->has_seed = r->has_seed;
    w->seed = r->seed;
    return 0;
}

/* Count r's use of its build (split by kernels), host and data set, each entry added at its
 * first use; details are read afterwards (load_provenance). */
static int count_provenance(loader *l, const store_report_row *r)
{
    report_section *sec = l->sec;
    const char *kernels = r->kernels ? r->kernels : "";
    int i = 0;
    while (i < sec->n_builds &&
           !(sec->builds[i].id == r->build_id && strcmp(sec->builds[i].kernels, kernels) == 0))
        i++;
    if (i == sec->n_builds) {
        if (!vec_grow((void **)&sec->builds, sec->n_builds, &l->cap_builds, sizeof *sec->builds))
            return err_set(l->e, ERR_NOMEM, "out of memory reading provenance");
        sec->builds[sec->n_builds++] = (report_build){.id = r->build_id};
        copy_text(sec->builds[i].kernels, sizeof sec->builds[i].kernels, kernels);
        copy_text(sec->builds[i].first_run, sizeof sec->builds[i].first_run, r->run_key);
    }
    sec->builds[i].n_runs++;
    for (i = 0; i < sec->n_hosts && sec->hosts[i].id != r->host_id; i++)
        ;
    if (i == sec->n_hosts) {
        if (!vec_grow((void **)&sec->hosts, sec->n_hosts, &l->cap_hosts, sizeof *sec->hosts))
            return err_set(l->e, ERR_NOMEM, "out of memory reading provenance");
        sec->hosts[sec->n_hosts++] = (report_host){.id = r->host_id};
        copy_text(sec->hosts[i].first_run, sizeof sec->hosts[i].first_run, r->run_key);
    }
    sec->hosts[i].n_runs++;
    for (i = 0; i < sec->n_datasets && sec->datasets[i].id != r->dataset_id; i++)
        ;
    if (i == sec->n_datasets) {
        if (!vec_grow((void **)&sec->datasets, sec->n_datasets, &l->cap_datasets,
                      sizeof *sec->datasets))
            return err_set(l->e, ERR_NOMEM, "out of memory reading provenance");
        sec->datasets[sec->n_datasets++] = (report_dataset){.id = r->dataset_id};
        copy_text(sec->datasets[i].first_run, sizeof sec->datasets[i].first_run, r->run_key);
    }
    sec->datasets[i].n_runs++;
    return 0;
}

/* store_report_runs' callback: one run into its cell (and the kept runs and provenance). */
static int take_run(void *ctx, const store_report_row *r)
{
    loader *l = ctx;
    const report_options *o = l->o;
    if (o->git_sha && strcmp(r->git_sha ? r->git_sha : "none", o->git_sha) != 0)
        return 0;
    l->sec->n_total++;
    cell *c = cell_of(l, r);
    if (!c)
        return err_set(l->e, ERR_NOMEM, "out of memory grouping runs");
    cell_note_order(c, r);
    agg_run(&c->a, r);
    int rc = 0;
    if (o->per_class && r->status == RUN_COMPLETED && r->epoch > 0)
        rc = cell_classes(l, c, r);
    if (!rc && (o->runs || o->keep_runs))
        rc = keep_run(l, r, (int)(c - l->cells));
    if (!rc && o->provenance)
        rc = count_provenance(l, r);
    return rc;
}

/* ---- groups --------------------------------------------------------------------------------- */

/* A group while it forms: its representative (first) cell, its running sums and plan place. */
typedef struct gtmp {
    int rep;
    agg a;
    int position;
    char queued[32];
} gtmp;

/* Split a comma list of keys into sec->keys, each a vocabulary key (stored by its label);
 * "" gives none. ERR_INVALID for an unknown key, listing the valid ones. */
static int parse_group_by(report_section *sec, const char *list, err_info *e)
{
    sec->n_keys = 0;
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len == 0)
            break;
        char name[REPORT_KEY_MAX];
        if (len >= sizeof name)
            return err_set(e, ERR_INVALID, "grouping key '%.32s...' is too long", p);
        memcpy(name, p, len);
        name[len] = '\0';
        const exp_vocab_key *k = exp_vocab_find(name);
        if (!k) {
            char valid[1024];
            exp_vocab_labels(valid, sizeof valid);
            return err_set(e, ERR_INVALID, "unknown grouping key '%s' (valid: %s)", name, valid);
        }
        if (sec->n_keys == REPORT_MAX_KEYS)
            return err_set(e, ERR_INVALID, "more than %d grouping keys", REPORT_MAX_KEYS);
        snprintf(sec->keys[sec->n_keys++], REPORT_KEY_MAX, "%s", k->label);
        p += len;
        while (*p && *p != ',')
            p++;
    }
    return 0;
}

/* *out <- cell c's value of key k: its stored swept value when the version swept k (the
 * file's own value), else the value in its configuration cfg (parsed c->config). */
static void cell_value(exp_value *out, const loader *l, const cell *c, const json_t *cfg,
                       const exp_vocab_key *k)
{
    for (int i = 0; i < l->n_swept && c->swept; i++)
        if (strcmp(l->swept[i], k->label) == 0) {
            json_t *arr = json_loads(c->swept, 0, NULL);
            exp_value_from_stored(out, json_array_get(arr, (size_t)i));
            json_decref(arr);
            if (out->type != EXP_NONE)
                return;
        }
    exp_value_from_json(out, k, cfg);
}

/* buf <- the grouping identity of cell c: its configuration, or its values of the --group-by
 * keys; then its build unless builds are pooled. NULL when out of memory (caller frees). */
static char *group_identity(const loader *l, const cell *c)
{
    const report_section *sec = l->sec;
    size_t n = strlen(c->config) + 32 + (size_t)sec->n_keys * EXP_TEXT_MAX;
    char *buf = malloc(n);
    if (!buf)
        return NULL;
    if (l->o->group_by) {
        json_t *cfg = json_loads(c->config, 0, NULL);
        exp_value *v = malloc(sizeof *v);
        buf[0] = '\0';
        for (int k = 0; k < sec->n_keys && v; k++) {
            cell_value(v, l, c, cfg, exp_vocab_find(sec->keys[k]));
            size_t used = strlen(buf);
            exp_value_format(buf + used, n - used - 1, v);
            strcat(buf, "\x1f");
        }
        free(v);
        json_decref(cfg);
    } else {
        snprintf(buf, n, "%s", c->config);
    }
    if (!l->o->pool_builds)
        snprintf(buf + strlen(buf), 32, "\x1f%lld", (long long)c->build_id);
    return buf;
}

static int cmp_gtmp(const void *x, const void *y)
{
    const gtmp *a = x, *b = y;
    if (a->position != b->position)
        return a->position < b->position ? -1 : 1;
    int c = strcmp(a->queued, b->queued);
    return c ? c : (a->rep > b->rep) - (a->rep < b->rep);
}

/* Note cell c in its group g: the configuration and build while they are the group's only
 * ones (report_group.config, build_id...), the earliest start. false when out of memory. */
static bool group_note_cell(report_group *g, const cell *c, bool first)
{
    if (first) {
        g->config = strdup(c->config);
        g->build_id = c->build_id;
        copy_text(g->git_sha, sizeof g->git_sha, c->git_sha);
        g->git_dirty = c->git_dirty;
        copy_text(g->started, sizeof g->started, c->started);
        return g->config != NULL;
    }
    if (g->config && strcmp(g->config, c->config) != 0) {
        free(g->config);
        g->config = NULL;
    }
    if (g->build_id != c->build_id) {
        g->build_id = -1;
        g->git_sha[0] = '\0';
        g->git_dirty = false;
    }
    if (c->started[0] && (!g->started[0] || strcmp(c->started, g->started) < 0))
        copy_text(g->started, sizeof g->started, c->started);
    return true;
}

/* Sort the groups (and their gtmp) into plan order and point cells at their new index. */
static int order_groups(loader *l, gtmp *t)
{
    report_section *sec = l->sec;
    int n = sec->n_groups;
    int *where = malloc((size_t)(n ? n : 1) * sizeof *where);
    report_group *g = malloc((size_t)(n ? n : 1) * sizeof *g);
    if (!where || !g) {
        free(where);
        free(g);
        return err_set(l->e, ERR_NOMEM, "out of memory ordering groups");
    }
    /* Ties in position and queue time fall back on rep, the cell index: cells are numbered in
     * the order their runs came in. A group's old index is its rep cell's group. */
    qsort(t, (size_t)n, sizeof *t, cmp_gtmp);
    for (int i = 0; i < n; i++) {
        int old = l->cells[t[i].rep].group;
        where[old] = i;
        g[i] = sec->groups[old];
    }
    memcpy(sec->groups, g, (size_t)n * sizeof *g);
    for (int i = 0; i < l->n_cells; i++)
        l->cells[i].group = where[l->cells[i].group];
    free(where);
    free(g);
    return 0;
}

/* Merge the cells into groups (by configuration and build, or as report.h says), in plan
 * order, with their figures. */
static int form_groups(loader *l)
{
    report_section *sec = l->sec;
    smap index = {0};
    int rc = 0, n = 0;
    gtmp *t = calloc((size_t)(l->n_cells ? l->n_cells : 1), sizeof *t);
    sec->groups = calloc((size_t)(l->n_cells ? l->n_cells : 1), sizeof *sec->groups);
    if (!t || !sec->groups) {
        rc = err_set(l->e, ERR_NOMEM, "out of memory grouping runs");
        goto done;
    }
    for (int i = 0; i < l->n_cells && !rc; i++) {
        cell *c = &l->cells[i];
        char *id = group_identity(l, c);
        int g = 0;
        bool added = false, ok = id && smap_get(&index, id, n, &g, &added);
        free(id);
        if (ok && added) {
            t[g] = (gtmp){.rep = i, .position = INT_MAX};
            copy_text(t[g].queued, sizeof t[g].queued, c->queued);
            n++;
        }
        if (!ok || !group_note_cell(&sec->groups[g], c, added) || !agg_merge(&t[g].a, &c->a)) {
            rc = err_set(l->e, ERR_NOMEM, "out of memory grouping runs");
            break;
        }
        c->group = g;
        sec->groups[g].n_cells++;
        if (c->position < t[g].position)
            t[g].position = c->position;
        if (strcmp(c->queued, t[g].queued) < 0)
            copy_text(t[g].queued, sizeof t[g].queued, c->queued);
    }
    sec->n_groups = n;
    if (!rc)
        rc = order_groups(l, t);
    for (int g = 0; g < n && !rc; g++)
        agg_finish(&sec->groups[g], &t[g].a);
done:
    for (int g = 0; t && g < n; g++)
        free(t[g].a.cls);
    free(t);
    smap_free(&index);
    return rc;
}

/* ---- labels --------------------------------------------------------------------------------- */

/* out[i] <- group g's value of keys[i] (read from its first cell). false when out of memory. */
static bool group_values(const loader *l, int g, const exp_vocab_key *const *keys, int nk,
                         exp_value *out)
{
    const cell *c = NULL;
    for (int i = 0; i < l->n_cells && !c; i++)
        if (l->cells[i].group == g)
            c = &l->cells[i];
    json_t *cfg = c ? json_loads(c->config, 0, NULL) : NULL;
    for (int i = 0; i < nk; i++) {
        if (c)
            cell_value(&out[i], l, c, cfg, keys[i]);
        else
            out[i] = (exp_value){.type = EXP_NONE};
    }
    json_decref(cfg);
    return true;
}

/* The vocabulary's keys in the order labels consider them: a layer list last, since it
 * follows from others (model, bn) more often than not. order: (exp_vocab_count()). */
static void label_order(int *order)
{
    int nv = exp_vocab_count(), n = 0;
    assert(nv <= 64); /* the callers' arrays */
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < nv; k++)
            if ((exp_vocab_at(k)->type == EXP_LAYERS) == (pass == 1))
                order[n++] = k;
}

/* A pair of value hashes of one group, for testing whether one key determines another. */
typedef struct hpair {
    uint64_t a, b;
} hpair;

static int cmp_hpair(const void *x, const void *y)
{
    const hpair *p = x, *q = y;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return (p->b > q->b) - (p->b < q->b);
}

/* Whether, over the groups, key a's value determines key b's (h: (G, nv) value hashes). */
static bool determines(const uint64_t *h, int G, int nv, int a, int b, hpair *scratch)
{
    for (int g = 0; g < G; g++)
        scratch[g] = (hpair){h[(size_t)g * (size_t)nv + (size_t)a],
                             h[(size_t)g * (size_t)nv + (size_t)b]};
    qsort(scratch, (size_t)G, sizeof *scratch, cmp_hpair);
    for (int g = 1; g < G; g++)
        if (scratch[g].a == scratch[g - 1].a && scratch[g].b != scratch[g - 1].b)
            return false;
    return true;
}

/* The keys of a version without a stored sweep: the vocabulary's keys but the seed whose
 * value differs between groups, less those another kept key determines (the layer list of
 * a bn sweep, the lr of an optimizer sweep), in label order. */
static int infer_keys(loader *l)
{
    report_section *sec = l->sec;
    int nv = exp_vocab_count(), G = sec->n_groups, order[64], kept[64], nk = 0;
    const exp_vocab_key *keys[64];
    exp_value *v = malloc((size_t)nv * sizeof *v);
    uint64_t *h = malloc((size_t)(G ? G : 1) * (size_t)nv * sizeof *h);
    hpair *scratch = malloc((size_t)(G ? G : 1) * sizeof *scratch);
    if (!v || !h || !scratch || nv > 64) {
        free(v);
        free(h);
        free(scratch);
        return err_set(l->e, ERR_NOMEM, "out of memory labelling groups");
    }
    for (int k = 0; k < nv; k++)
        keys[k] = exp_vocab_at(k);
    for (int g = 0; g < G; g++) {
        group_values(l, g, keys, nv, v);
        for (int k = 0; k < nv; k++) {
            char text[EXP_TEXT_MAX];
            exp_value_format(text, sizeof text, &v[k]);
            h[(size_t)g * (size_t)nv + (size_t)k] = smap_hash(text);
        }
    }
    label_order(order);
    for (int i = 0; i < nv && sec->n_keys < REPORT_MAX_KEYS; i++) {
        int k = order[i];
        bool varies = false, implied = false;
        for (int g = 1; g < G && !varies; g++)
            varies = h[(size_t)g * (size_t)nv + (size_t)k] != h[(size_t)k];
        for (int j = 0; j < nk && varies && !implied; j++)
            implied = determines(h, G, nv, kept[j], k, scratch);
        if (!varies || implied || strcmp(keys[k]->label, "seed") == 0)
            continue;
        kept[nk++] = k;
        snprintf(sec->keys[sec->n_keys++], REPORT_KEY_MAX, "%s", keys[k]->label);
    }
    free(v);
    free(h);
    free(scratch);
    return 0;
}

/* The grouping keys: --group-by's, the version's swept keys but the seed, or inferred. */
static int grouping_keys(loader *l)
{
    report_section *sec = l->sec;
    if (l->o->group_by)
        return parse_group_by(sec, l->o->group_by, l->e);
    if (!sec->sweep_stored)
        return 0; /* inferred once the groups exist (infer_keys) */
    sec->n_keys = 0;
    for (int i = 0; i < l->n_swept; i++)
        if (strcmp(l->swept[i], "seed") != 0 && exp_vocab_find(l->swept[i]))
            snprintf(sec->keys[sec->n_keys++], REPORT_KEY_MAX, "%s", l->swept[i]);
    return 0;
}

/* Set each group's values of the vocabulary keys among sec->keys[from..n_keys). */
static int fill_values(loader *l, int from)
{
    report_section *sec = l->sec;
    const exp_vocab_key *keys[REPORT_MAX_KEYS];
    int nk = 0, at[REPORT_MAX_KEYS];
    for (int k = from; k < sec->n_keys; k++)
        if ((keys[nk] = exp_vocab_find(sec->keys[k])))
            at[nk++] = k;
    exp_value *v = malloc((size_t)(nk ? nk : 1) * sizeof *v);
    if (!v)
        return err_set(l->e, ERR_NOMEM, "out of memory labelling groups");
    int rc = 0;
    for (int g = 0; g < sec->n_groups && !rc; g++) {
        report_group *gr = &sec->groups[g];
        if (!gr->values && !(gr->values = json_object()))
            rc = err_set(l->e, ERR_NOMEM, "out of memory labelling groups");
        group_values(l, g, keys, nk, v);
        for (int i = 0; i < nk && !rc; i++)
            if (json_object_set_new(gr->values, sec->keys[at[i]], exp_value_json(&v[i])))
                rc = err_set(l->e, ERR_NOMEM, "out of memory labelling groups");
    }
    free(v);
    return rc;
}

/* Each group's label from its values, in key order: "optimizer=adam bn=true", "all". */
static int make_labels(report_section *sec, err_info *e)
{
    exp_value *v = malloc(sizeof *v);
    int rc = v ? 0 : err_set(e, ERR_NOMEM, "out of memory labelling groups");
    for (int g = 0; g < sec->n_groups && !rc; g++) {
        report_group *gr = &sec->groups[g];
        char label[1024] = "";
        for (int k = 0; k < sec->n_keys; k++) {
            exp_value_from_stored(v, json_object_get(gr->values, sec->keys[k]));
            exp_label_append(label, sizeof label, sec->keys[k], v);
        }
        free(gr->label);
        if (!(gr->label = strdup(label[0] ? label : "all")))
            rc = err_set(e, ERR_NOMEM, "out of memory labelling groups");
    }
    free(v);
    return rc;
}

/* A text about group g (its label, or its values but one key), for finding groups whose
 * texts are equal by sorting. */
typedef struct lab {
    const char *label;
    int g;
} lab;

static int cmp_lab(const void *x, const void *y)
{
    const lab *a = x, *b = y;
    int c = strcmp(a->label, b->label);
    return c ? c : (a->g > b->g) - (a->g < b->g);
}

/* v[0..n) <- the groups sorted by label; same[g] <- whether group g's label is another's too.
 * Returns how many groups share their label. */
static int same_labels(const report_section *sec, lab *v, bool *same)
{
    int n = sec->n_groups, n_same = 0;
    for (int g = 0; g < n; g++)
        v[g] = (lab){sec->groups[g].label, g};
    qsort(v, (size_t)n, sizeof *v, cmp_lab);
    for (int i = 0; i < n; i++) {
        bool s = (i > 0 && strcmp(v[i].label, v[i - 1].label) == 0) ||
                 (i + 1 < n && strcmp(v[i].label, v[i + 1].label) == 0);
        same[v[i].g] = s;
        n_same += s;
    }
    return n_same;
}

/* Whether key tells apart two groups that read the same (v and same from same_labels);
 * text: scratch of n_groups * EXP_TEXT_MAX. */
static bool key_splits(const loader *l, const exp_vocab_key *key, const lab *v, const bool *same,
                       char (*text)[EXP_TEXT_MAX], exp_value *val)
{
    const report_section *sec = l->sec;
    for (int g = 0; g < sec->n_groups; g++)
        if (same[g]) {
            group_values(l, g, &key, 1, val);
            exp_value_format(text[g], EXP_TEXT_MAX, val);
        }
    for (int i = 1; i < sec->n_groups; i++)
        if (same[v[i].g] && strcmp(v[i].label, v[i - 1].label) == 0 &&
            strcmp(text[v[i].g], text[v[i - 1].g]) != 0)
            return true;
    return false;
}

/* The revision of a group's build, as labels show it: "1a2b3c4", "1a2b3c4-dirty", "none"
 * outside git, "-" without a recorded build; "/bN" (build id) when two builds of the
 * section share the text. */
static void revision_text(char *buf, size_t n, const report_section *sec, int g)
{
    const report_group *gr = &sec->groups[g];
    if (gr->build_id <= 0 || !gr->git_sha[0]) {
        snprintf(buf, n, "%s", gr->build_id == 0 ? "-" : "none");
        return;
    }
    snprintf(buf, n, "%.7s%s", gr->git_sha, gr->git_dirty ? "-dirty" : "");
    for (int h = 0; h < sec->n_groups; h++) {
        const report_group *o = &sec->groups[h];
        if (o->build_id != gr->build_id && o->git_dirty == gr->git_dirty &&
            strncmp(o->git_sha, gr->git_sha, 7) == 0) {
            snprintf(buf + strlen(buf), n - strlen(buf), "/b%lld", (long long)gr->build_id);
            return;
        }
    }
}

/* Add key (a vocabulary label, or "revision") to the label keys and to every group's values.
 * ERR_NOMEM. */
static int add_key(loader *l, const char *key)
{
    report_section *sec = l->sec;
    snprintf(sec->keys[sec->n_keys++], REPORT_KEY_MAX, "%s", key);
    if (strcmp(key, "revision") != 0)
        return fill_values(l, sec->n_keys - 1);
    for (int g = 0; g < sec->n_groups; g++) {
        char rev[80];
        revision_text(rev, sizeof rev, sec, g);
        if (json_object_set_new(sec->groups[g].values, "revision", json_string(rev)))
            return err_set(l->e, ERR_NOMEM, "out of memory labelling groups");
    }
    return 0;
}

/* Until no two groups read the same: add the first vocabulary key that tells some of them
 * apart, then the revision of their builds; what still reads the same (a difference outside
 * the vocabulary) is numbered "(2)", "(3)". */
static int extend_labels(loader *l)
{
    report_section *sec = l->sec;
    int G = sec->n_groups, rc = 0;
    lab *v = malloc((size_t)(G ? G : 1) * sizeof *v);
    bool *same = calloc((size_t)(G ? G : 1), sizeof *same);
    char(*text)[EXP_TEXT_MAX] = malloc((size_t)(G ? G : 1) * sizeof *text);
    exp_value *val = malloc(sizeof *val);
    if (!v || !same || !text || !val) {
        rc = err_set(l->e, ERR_NOMEM, "out of memory labelling groups");
        goto done;
    }
    int n_same = same_labels(sec, v, same), order[64];
    label_order(order);
    for (int i = 0; i < exp_vocab_count() && n_same && !rc; i++) {
        const exp_vocab_key *key = exp_vocab_at(order[i]);
        bool have = strcmp(key->label, "seed") == 0 || sec->n_keys >= REPORT_MAX_KEYS - 1;
        for (int i = 0; i < sec->n_keys && !have; i++)
            have = strcmp(sec->keys[i], key->label) == 0;
        if (have || !key_splits(l, key, v, same, text, val))
            continue;
        if (!(rc = add_key(l, key->label)) && !(rc = make_labels(sec, l->e)))
            n_same = same_labels(sec, v, same);
    }
    if (n_same && !rc && !l->o->pool_builds && sec->n_keys < REPORT_MAX_KEYS) {
        if (!(rc = add_key(l, "revision")) && !(rc = make_labels(sec, l->e)))
            n_same = same_labels(sec, v, same);
    }
    /* numbers from the second of each run of equal labels (v is sorted by label, then group) */
    int *num = n_same && !rc ? calloc((size_t)G, sizeof *num) : NULL;
    for (int i = 1, start = 0; num && i < G; i++) {
        if (strcmp(v[i].label, v[start].label) != 0)
            start = i;
        else
            num[v[i].g] = i - start + 1;
    }
    for (int g = 0; num && g < G && !rc; g++) {
        report_group *gr = &sec->groups[g];
        size_t len = strlen(gr->label) + 16;
        char *w = num[g] ? malloc(len) : NULL;
        if (num[g] && !w)
            rc = err_set(l->e, ERR_NOMEM, "out of memory labelling groups");
        if (w) {
            snprintf(w, len, "%s (%d)", gr->label, num[g]);
            free(gr->label);
            gr->label = w;
        }
    }
    if (n_same && !rc && !num)
        rc = err_set(l->e, ERR_NOMEM, "out of memory labelling groups");
    free(num);
done:
    free(v);
    free(same);
    free(text);
    free(val);
    return rc;
}

/* sec->pooled <- what the groups average over besides seeds: the vocabulary keys whose value
 * differs between the cells of a group, then the builds ("bn, lr; builds 1a2b3c4, 5d6e7f8"). */
static int describe_pooled(loader *l)
{
    report_section *sec = l->sec;
    int nv = exp_vocab_count();
    bool *differs = calloc((size_t)nv + 1, sizeof *differs);
    exp_value *v = malloc(2 * sizeof *v);
    if (!differs || !v) {
        free(differs);
        free(v);
        return err_set(l->e, ERR_NOMEM, "out of memory describing groups");
    }
    for (int i = 0; i < l->n_cells; i++) {
        const cell *c = &l->cells[i], *first = NULL;
        for (int j = 0; j < i && !first; j++)
            if (l->cells[j].group == c->group)
                first = &l->cells[j];
        if (!first)
            continue;
        differs[nv] |= first->build_id != c->build_id;
        if (strcmp(first->config, c->config) == 0)
            continue;
        json_t *a = json_loads(first->config, 0, NULL), *b = json_loads(c->config, 0, NULL);
        for (int k = 0; k < nv; k++) {
            exp_value_from_json(&v[0], exp_vocab_at(k), a);
            exp_value_from_json(&v[1], exp_vocab_at(k), b);
            differs[k] |= strcmp(exp_vocab_at(k)->label, "seed") != 0 &&
                          !exp_value_equal(&v[0], &v[1]);
        }
        json_decref(a);
        json_decref(b);
    }
    char *p = sec->pooled;
    size_t n = sizeof sec->pooled;
    int order[64];
    label_order(order);
    p[0] = '\0';
    for (int i = 0; i < nv; i++)
        if (differs[order[i]])
            snprintf(p + strlen(p), n - strlen(p), "%s%s", p[0] ? ", " : "",
                     exp_vocab_at(order[i])->label);
    if (differs[nv])
        snprintf(p + strlen(p), n - strlen(p), "%sbuilds (several revisions or compilers)",
                 p[0] ? "; " : "");
    free(differs);
    free(v);
    return 0;
}

/* ---- comparisons ------------------------------------------------------------------------------ */

/* Append the comparison of groups a and b (differing in key k) to sec. */
static int add_comparison(report_section *sec, int *cap, int k, int a, int b, err_info *e)
{
    if (!vec_grow((void **)&sec->cmp, sec->n_cmp, cap, sizeof *sec->cmp))
        return err_set(e, ERR_NOMEM, "out of memory comparing groups");
    report_comparison *c = &sec->cmp[sec->n_cmp++];
    *c = (report_comparison){.key = k, .a = a, .b = b, .p_holm = NAN};
    int rc = stats_welch_summary(&c->w, &sec->groups[a].acc, &sec->groups[b].acc, e);
    /* a difference of two accuracies lies in [-1, 1]; so does its interval (as stats_clip_ci) */
    c->w.ci_lo = fmax(c->w.ci_lo, -1.0);
    c->w.ci_hi = fmin(c->w.ci_hi, 1.0);
    return rc;
}

static int cmp_pair(const void *x, const void *y)
{
    const report_comparison *p = x, *q = y;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return (p->b > q->b) - (p->b < q->b);
}

/* Pairs of groups that differ in exactly one label key, both with n >= 2, a planned before b
 * (groups are in plan order here); then Holm over the section's comparisons. */
static int build_comparisons(report_section *sec, err_info *e)
{
    int G = sec->n_groups, cap = 0, rc = 0;
    /* each group's values but key k, as text: groups with equal texts differ only in k */
    lab *v = calloc((size_t)(G ? G : 1), sizeof *v);
    if (!v)
        return err_set(e, ERR_NOMEM, "out of memory comparing groups");
    for (int k = 0; k < sec->n_keys && !rc; k++) {
        int m = 0;
        for (int g = 0; g < G && !rc; g++) {
            if (sec->groups[g].n < 2)
                continue;
            json_t *rest = json_copy(sec->groups[g].values);
            json_object_del(rest, sec->keys[k]);
            v[m] = (lab){json_dumps(rest, JSON_COMPACT | JSON_SORT_KEYS), g};
            json_decref(rest);
            if (!v[m++].label)
                rc = err_set(e, ERR_NOMEM, "out of memory comparing groups");
        }
        if (!rc) /* a NULL text (out of memory) must not reach the comparison */
            qsort(v, (size_t)m, sizeof *v, cmp_lab);
        for (int i = 0; i < m && !rc; i++)
            for (int j = i + 1; j < m && strcmp(v[i].label, v[j].label) == 0 && !rc; j++)
                rc = add_comparison(sec, &cap, k, v[i].g, v[j].g, e);
        for (int i = 0; i < m; i++)
            free((char *)v[i].label);
    }
    free(v);
    if (!rc && sec->n_cmp > 0) /* in table order: by a, then b (cmp is NULL when empty) */
        qsort(sec->cmp, (size_t)sec->n_cmp, sizeof *sec->cmp, cmp_pair);
    double *p = rc ? NULL : malloc((size_t)(sec->n_cmp ? sec->n_cmp : 1) * sizeof *p);
    if (!rc && !p)
        rc = err_set(e, ERR_NOMEM, "out of memory correcting p-values");
    for (int c = 0; p && c < sec->n_cmp; c++)
        p[c] = sec->cmp[c].w.p;
    if (p && !(rc = stats_holm(p, p, sec->n_cmp, e)))
        for (int c = 0; c < sec->n_cmp; c++)
            sec->cmp[c].p_holm = p[c];
    free(p);
    return rc;
}

/* ---- display order ------------------------------------------------------------------------------ */

/* A group's index with its F1, for sorting. */
typedef struct f1_rank {
    double f1;
    int g;
} f1_rank;

static int cmp_f1_desc(const void *x, const void *y)
{
    const f1_rank *a = x, *b = y;
    if (isnan(a->f1) || isnan(b->f1)) {
        if (isnan(a->f1) != isnan(b->f1))
            return isnan(a->f1) - isnan(b->f1); /* NAN last */
    } else if (a->f1 != b->f1) {
        return a->f1 < b->f1 ? 1 : -1;
    }
    return (a->g > b->g) - (a->g < b->g);
}

/* Show the groups by mean F1, highest first. Comparisons keep their direction (a is still
 * the group planned first); their indices and the runs' follow the groups. */
static int sort_by_f1(report_section *sec, err_info *e)
{
    int G = sec->n_groups;
    f1_rank *r = malloc((size_t)(G ? G : 1) * sizeof *r);
    int *where = malloc((size_t)(G ? G : 1) * sizeof *where);
    report_group *g = malloc((size_t)(G ? G : 1) * sizeof *g);
    if (!r || !where || !g) {
        free(r);
        free(where);
        free(g);
        return err_set(e, ERR_NOMEM, "out of memory sorting groups");
    }
    for (int i = 0; i < G; i++)
        r[i] = (f1_rank){sec->groups[i].f1.mean, i};
    qsort(r, (size_t)G, sizeof *r, cmp_f1_desc);
    for (int i = 0; i < G; i++) {
        where[r[i].g] = i;
        g[i] = sec->groups[r[i].g];
    }
    memcpy(sec->groups, g, (size_t)G * sizeof *g);
    for (int c = 0; c < sec->n_cmp; c++) {
        sec->cmp[c].a = where[sec->cmp[c].a];
        sec->cmp[c].b = where[sec->cmp[c].b];
    }
    for (int i = 0; i < sec->n_runs; i++)
        sec->runs[i].group = where[sec->runs[i].group];
    free(r);
    free(where);
    free(g);
    return 0;
}

/* Runs in plan order: position (unknown last), then group, seed, queue time, key. */
static int cmp_run_plan(const void *x, const void *y)
{
    const report_run *a = x, *b = y;
    long pa = a->position < 0 ? LONG_MAX : a->position, pb = b->position < 0 ? LONG_MAX : b->position;
    if (pa != pb)
        return pa < pb ? -1 : 1;
    if (a->group != b->group)
        return a->group < b->group ? -1 : 1;
    if (a->seed != b->seed)
        return a->seed < b->seed ? -1 : 1;
    int c = strcmp(a->queued_at, b->queued_at);
    return c ? c : strcmp(a->key, b->key);
}

/* ---- provenance ------------------------------------------------------------------------------ */

/* Which entry store_run_provenance's answer fills in. */
typedef struct prov_fill {
    report_build *b;
    report_host *h;
    report_dataset *d;
} prov_fill;

static int fill_provenance(void *ctx, const store_provenance *p)
{
    prov_fill *f = ctx;
    const store_build *b = p->build;
    const store_host *h = p->host;
    const store_dataset *d = p->dataset;
    if (f->b && b) {
        report_build *nb = f->b;
        copy_text(nb->git_sha, sizeof nb->git_sha, b->git_sha);
        copy_text(nb->git_branch, sizeof nb->git_branch, b->git_branch);
        copy_text(nb->git_describe, sizeof nb->git_describe, b->git_describe);
        nb->git_dirty = b->git_dirty != 0;
        copy_text(nb->compiler, sizeof nb->compiler, b->compiler);
        copy_text(nb->compiler_version, sizeof nb->compiler_version, b->compiler_version);
        copy_text(nb->cflags, sizeof nb->cflags, b->cflags);
        copy_text(nb->build_type, sizeof nb->build_type, b->build_type);
        copy_text(nb->blas, sizeof nb->blas, b->blas);
        copy_text(nb->binary_sha256, sizeof nb->binary_sha256, b->binary_sha256);
    }
    if (f->h && h) {
        report_host *nh = f->h;
        copy_text(nh->hostname, sizeof nh->hostname, h->hostname);
        copy_text(nh->cpu_model, sizeof nh->cpu_model, h->cpu_model);
        copy_text(nh->os, sizeof nh->os, h->os);
        copy_text(nh->kernel, sizeof nh->kernel, h->kernel);
        nh->cores = h->cores;
        nh->ram_bytes = h->ram_bytes;
    }
    if (f->d && d) {
        copy_text(f->d->name, sizeof f->d->name, d->name);
        copy_text(f->d->sha256, sizeof f->d->sha256, d->sha256);
        f->d->n_images = d->n_images;
    }
    return 0;
}

/* The details of each distinct build, host and data set, read through a run that used it. */
static int load_provenance(report_section *sec, store *s, err_info *e)
{
    int rc = 0;
    for (int i = 0; i < sec->n_builds && !rc; i++)
        rc = store_run_provenance(s, sec->builds[i].first_run, fill_provenance,
                                  &(prov_fill){.b = &sec->builds[i]}, e);
    for (int i = 0; i < sec->n_hosts && !rc; i++)
        rc = store_run_provenance(s, sec->hosts[i].first_run, fill_provenance,
                                  &(prov_fill){.h = &sec->hosts[i]}, e);
    for (int i = 0; i < sec->n_datasets && !rc; i++)
        rc = store_run_provenance(s, sec->datasets[i].first_run, fill_provenance,
                                  &(prov_fill){.d = &sec->datasets[i]}, e);
    return rc;
}

/* ---- sections ---------------------------------------------------------------------------------- */

/* A stored version of an experiment, as store_experiments gave it. */
typedef struct version {
    int64_t id;
    char name[128], file[256], sha256[65], created_at[32], description[512];
    char *swept;                /* JSON array of labels, NULL: not stored; owned */
    double budget_minutes, target_accuracy;
    int version, n_versions, n_own;
} version;

typedef struct version_list {
    version *v;
    int n, cap;
    err_info *e;
} version_list;

static int collect_version(void *ctx, const store_experiment_row *x)
{
    version_list *l = ctx;
    if (!vec_grow((void **)&l->v, l->n, &l->cap, sizeof *l->v))
        return err_set(l->e, ERR_NOMEM, "out of memory listing experiments");
    version *v = &l->v[l->n++];
    *v = (version){.id = x->id, .budget_minutes = x->budget_minutes,
                   .target_accuracy = x->target_accuracy, .version = x->version,
                   .n_versions = x->n_versions, .n_own = x->n_own};
    copy_text(v->name, sizeof v->name, x->name);
    copy_text(v->file, sizeof v->file, x->file);
    copy_text(v->sha256, sizeof v->sha256, x->spec_sha256);
    copy_text(v->created_at, sizeof v->created_at, x->created_at);
    copy_text(v->description, sizeof v->description, x->description);
    if (x->swept && !(v->swept = strdup(x->swept)))
        return err_set(l->e, ERR_NOMEM, "out of memory listing experiments");
    return 0;
}

/* The section's heading facts from its version, and the line about a changed file. */
static void section_from_version(report_section *sec, loader *l, const version *v,
                                 const version_list *all)
{
    copy_text(sec->experiment, sizeof sec->experiment, v->name);
    copy_text(sec->file, sizeof sec->file, v->file);
    copy_text(sec->spec_sha256, sizeof sec->spec_sha256, v->sha256);
    copy_text(sec->created_at, sizeof sec->created_at, v->created_at);
    copy_text(sec->description, sizeof sec->description, v->description);
    sec->version_id = v->id;
    sec->version = v->version;
    sec->n_versions = v->n_versions;
    sec->budget_minutes = v->budget_minutes > 0 ? v->budget_minutes : 0;
    sec->target_accuracy = v->target_accuracy > 0 ? v->target_accuracy : 0;
    json_t *sw = v->swept ? json_loads(v->swept, 0, NULL) : NULL;
    sec->sweep_stored = json_is_array(sw);
    for (size_t i = 0; i < json_array_size(sw) && l->n_swept < EXP_MAX_SWEPT; i++)
        copy_text(l->swept[l->n_swept++], sizeof l->swept[0],
                  json_string_value(json_array_get(sw, i)));
    json_decref(sw);
    if (v->n_versions < 2)
        return;
    char empty[128] = "";
    for (int i = 0; i < all->n; i++)
        if (strcmp(all->v[i].name, v->name) == 0 && all->v[i].n_own == 0 &&
            all->v[i].version != v->n_versions)
            snprintf(empty + strlen(empty), sizeof empty - strlen(empty), "%s%d",
                     empty[0] ? ", " : "", all->v[i].version);
    snprintf(sec->note, sizeof sec->note,
             "the file of experiment %s changed: %d versions, each reported on its own (a run "
             "under the newest version that plans it)%s%s%s",
             v->name, v->n_versions, empty[0] ? "; without runs of their own: version " : "",
             empty, empty[0] ? "" : "");
}

static void loader_release(loader *l)
{
    for (int i = 0; i < l->n_cells; i++) {
        free(l->cells[i].config);
        free(l->cells[i].swept);
        free(l->cells[i].a.cls);
    }
    free(l->cells);
    free(l->key);
    smap_free(&l->cell_index);
}

/* Label the groups: the grouping keys, extended until no two read the same; what is pooled. */
static int label_groups(loader *l)
{
    report_section *sec = l->sec;
    int rc = 0;
    if (!l->o->group_by && !sec->sweep_stored)
        rc = infer_keys(l);
    sec->n_group_keys = sec->n_keys;
    if (!rc)
        rc = fill_values(l, 0);
    if (!rc)
        rc = make_labels(sec, l->e);
    if (!rc)
        rc = extend_labels(l);
    if (!rc && (l->o->group_by || l->o->pool_builds))
        rc = describe_pooled(l);
    return rc;
}

/* Read, group, label and compare the runs of one version. */
static int load_section(report_section *sec, store *s, const version *v,
                        const version_list *all, const report_options *o, err_info *e)
{
    loader l = {.sec = sec, .o = o, .s = s, .e = e};
    section_from_version(sec, &l, v, all);
    int rc = grouping_keys(&l);
    for (int k = 0; k < sec->n_keys && o->group_by; k++)
        l.seed_cells = l.seed_cells || strcmp(sec->keys[k], "seed") == 0;
    if (!rc)
        rc = store_report_runs(s, v->id, o->epoch, take_run, &l, e);
    if (!rc)
        rc = form_groups(&l);
    if (!rc)
        rc = label_groups(&l);
    for (int i = 0; i < sec->n_runs && !rc; i++)
        sec->runs[i].group = l.cells[sec->runs[i].group].group;
    int with_n2 = 0;
    for (int g = 0; g < sec->n_groups; g++)
        with_n2 += sec->groups[g].n >= 2;
    if (!rc && (o->compare == 1 || (o->compare < 0 && with_n2 >= 2)))
        rc = build_comparisons(sec, e);
    if (!rc && o->sort_f1)
        rc = sort_by_f1(sec, e);
    if (!rc && sec->n_runs > 1)
        qsort(sec->runs, (size_t)sec->n_runs, sizeof *sec->runs, cmp_run_plan);
    if (!rc && o->provenance)
        rc = load_provenance(sec, s, e);
    loader_release(&l);
    return rc;
}

int report_load(report *out, store *s, const report_options *o, err_info *e)
{
    memset(out, 0, sizeof *out);
    out->opt = *o;
    version_list vl = {.e = e};
    int rc = store_experiments(s, o->experiment, collect_version, &vl, e);
    if (rc)
        goto done;
    if (vl.n == 0) {
        rc = o->experiment
                 ? err_set(e, ERR_INVALID, "no experiment '%s' in '%s'", o->experiment,
                           store_path(s))
                 : err_set(e, ERR_INVALID,
                           "no experiments in '%s' yet (bench run FILE.toml adds some)",
                           store_path(s));
        goto done;
    }
    out->sections = calloc((size_t)vl.n, sizeof *out->sections);
    if (!out->sections) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < vl.n && !rc; i++) {
        const version *v = &vl.v[i];
        bool newest = v->version == v->n_versions;
        if (!newest && (o->newest_only || v->n_own == 0))
            continue;
        rc = load_section(&out->sections[out->n_sections++], s, v, &vl, o, e);
    }
done:
    for (int i = 0; i < vl.n; i++)
        free(vl.v[i].swept);
    free(vl.v);
    return rc;
}

void report_release(report *r)
{
    for (int s = 0; s < r->n_sections; s++) {
        report_section *sec = &r->sections[s];
        for (int g = 0; g < sec->n_groups; g++) {
            free(sec->groups[g].label);
            free(sec->groups[g].config);
            free(sec->groups[g].cls);
            json_decref(sec->groups[g].values);
        }
        free(sec->runs);
        free(sec->groups);
        free(sec->cmp);
        free(sec->builds);
        free(sec->hosts);
        free(sec->datasets);
    }
    free(r->sections);
    memset(r, 0, sizeof *r);
}

/* ---- rendering: headings ----------------------------------------------------------------------- */

enum { CELL = 64 };
#define NCOLS(a) ((int)(sizeof a / sizeof a[0]))

/* "experiment NAME" and, for a file with several versions, ", version V of N (FILE, sha
 * 1a2b3c4d, first queued DATE)". */
static void section_title(char *buf, size_t n, const report_section *sec)
{
    if (sec->n_versions < 2) {
        snprintf(buf, n, "experiment %s", sec->experiment);
        return;
    }
    char date[32];
    table_cell_date(date, sizeof date, sec->created_at);
    snprintf(buf, n, "experiment %s, version %d of %d (%s, sha %.8s, first queued %s)",
             sec->experiment, sec->version, sec->n_versions, sec->file[0] ? sec->file : "-",
             sec->spec_sha256, date);
}

/* The lines every view prints under a section's heading: the file's versions, a sweep that
 * was not stored, what groups pool. */
static void section_notes(FILE *f, const report_section *sec, const report_options *o,
                          table_format fmt)
{
    if (sec->description[0])
        table_line(f, fmt, "%s", sec->description);
    if (sec->note[0])
        table_line(f, fmt, "%s", sec->note);
    if (!sec->sweep_stored && !o->group_by)
        table_line(f, fmt, "(its sweep was not stored: queued by an older bench; labelled by "
                           "the keys that vary)");
    if (sec->pooled[0])
        table_line(f, fmt, "warning: groups average runs that differ in %s (%s)", sec->pooled,
                   o->group_by ? "--group-by" : "--pool-builds");
    if (sec->description[0] || sec->note[0] || (!sec->sweep_stored && !o->group_by) ||
        sec->pooled[0])
        table_gap(f, fmt);
}

/* For CSV and JSON, where the notes have no place: the pooling warning on warn. */
static void warn_pooled(FILE *warn, const report *r)
{
    for (int s = 0; warn && s < r->n_sections; s++)
        if (r->sections[s].pooled[0])
            fprintf(warn, "bench: warning: experiment %s: groups average runs that differ in "
                          "%s (%s)\n",
                    r->sections[s].experiment, r->sections[s].pooled,
                    r->opt.group_by ? "--group-by" : "--pool-builds");
}

/* The version of a section for CSV and JSON: its number, or 1 for a file never changed. */
static json_t *version_json(const report_section *sec)
{
    return json_pack("{s:i, s:i, s:o, s:o, s:o, s:o}", "number", sec->version, "of",
                     sec->n_versions, "file", table_json_text(sec->file), "spec_sha256",
                     table_json_text(sec->spec_sha256), "created_at",
                     table_json_text(sec->created_at), "description",
                     table_json_text(sec->description));
}

/* ---- rendering: the groups ---------------------------------------------------------------------- */

static const char *const cols_human[] = {
    "<group", ">n", ">acc % (mean ± sd)", ">95% CI", ">best", ">worst", ">F1",
    ">train s/run (mean ± sd)", ">min", ">s/epoch", ">diverged", ">failed",
};
static const char *const cols_human_f1[] = {
    "<group", ">n", ">acc % (mean ± sd)", ">precision", ">recall", ">F1",
    ">train s/run (mean ± sd)",
    ">diverged", ">failed",
};
static const char *const cols_csv[] = {
    "experiment", "version", "group", "n", "diverged", "failed", "unfinished", "acc_mean",
    "acc_sd", "acc_ci_low", "acc_ci_high", "acc_best", "acc_worst", "precision_mean",
    "precision_sd", "recall_mean", "recall_sd", "f1_mean", "f1_sd", "train_s_per_run",
    "train_s_sd", "train_s_min", "train_s_per_epoch",
};
/* cols_csv[CSV_SUMMARIES..CSV_TIMES): the summaries JSON nests (accuracy, precision...) */
enum { CSV_SUMMARIES = 7, CSV_TIMES = 19 };
static const char *const cols_cls_human[] = {
    "<class", ">precision", ">recall", ">F1", ">support",
};
static const char *const cols_cls_csv[] = {
    "experiment", "version", "group", "class", "precision", "recall", "f1", "support",
};
static const char *const cols_cmp[] = {
    "<key", "<a", "<b", "<same", ">n a", ">acc a % (mean ± sd)", ">n b", ">acc b % (mean ± sd)",
    ">Δ acc pp (a - b)", ">95% CI", ">p", ">p (Holm)", "<",
};

static int groups_table(table *t, const report_section *sec, bool f1, err_info *e)
{
    char c[TABLE_MAX_COLS][CELL];
    const char *row[TABLE_MAX_COLS];
    for (int g = 0; g < sec->n_groups; g++) {
        const report_group *gr = &sec->groups[g];
        int i = 1;
        for (int k = 0; k < TABLE_MAX_COLS; k++)
            row[k] = c[k];
        row[0] = gr->label;
        snprintf(c[i++], CELL, "%d", gr->n);
        table_cell_pm(c[i++], CELL, &gr->acc, 100.0, 2);
        if (f1) {
            table_cell_pm(c[i++], CELL, &gr->precision, 1.0, 4);
            table_cell_pm(c[i++], CELL, &gr->recall, 1.0, 4);
            table_cell_pm(c[i++], CELL, &gr->f1, 1.0, 4);
            table_cell_pm(c[i++], CELL, &gr->train_s, 1.0, 1);
        } else {
            table_cell_ci(c[i++], CELL, gr->acc.ci_lo, gr->acc.ci_hi, 100.0, 2);
            table_cell_num(c[i++], CELL, "%.2f", gr->acc.max * 100.0);
            table_cell_num(c[i++], CELL, "%.2f", gr->acc.min * 100.0);
            table_cell_num(c[i++], CELL, "%.4f", gr->f1.mean);
            table_cell_pm(c[i++], CELL, &gr->train_s, 1.0, 1);
            table_cell_num(c[i++], CELL, "%.1f", gr->train_s.min);
            table_cell_num(c[i++], CELL, "%.2f", gr->epoch_s);
        }
        snprintf(c[i++], CELL, "%d", gr->n_diverged);
        snprintf(c[i++], CELL, "%d", gr->n_failed);
        int rc = table_row(t, row, e);
        if (rc)
            return rc;
    }
    return 0;
}

/* A summary as JSON: mean, sd (and with ci the interval, best, worst). */
static json_t *summary_json(const stats_summary *s, bool ci)
{
    json_t *o = json_object();
    json_object_set_new(o, "mean", table_json_num(s->mean));
    json_object_set_new(o, "sd", table_json_num(s->sd));
    if (ci) {
        json_object_set_new(o, "ci_low", table_json_num(s->ci_lo));
        json_object_set_new(o, "ci_high", table_json_num(s->ci_hi));
        json_object_set_new(o, "best", table_json_num(s->max));
        json_object_set_new(o, "worst", table_json_num(s->min));
    }
    return o;
}

/* One CSV record per group (cols_csv): the machine view of the group table. */
static json_t *group_record(const report_section *sec, const report_group *gr)
{
    json_t *r = json_pack("{s:s, s:i, s:s, s:i, s:i, s:i, s:i}", "experiment", sec->experiment,
                          "version", sec->version, "group", gr->label, "n", gr->n, "diverged",
                          gr->n_diverged, "failed", gr->n_failed, "unfinished",
                          gr->n_unfinished + gr->n_short);
    const double v[] = {gr->acc.mean,       gr->acc.sd,     gr->acc.ci_lo,   gr->acc.ci_hi,
                        gr->acc.max,        gr->acc.min,    gr->precision.mean,
                        gr->precision.sd,   gr->recall.mean, gr->recall.sd,  gr->f1.mean,
                        gr->f1.sd,          gr->train_s.mean, gr->train_s.sd, gr->train_s.min,
                        gr->epoch_s};
    for (int i = 0; r && i < NCOLS(v); i++)
        json_object_set_new(r, cols_csv[CSV_SUMMARIES + i], table_json_num(v[i]));
    return r;
}

/* Per-class records (cols_cls_csv) of a group, or table rows for people. */
static int classes_rows(table *t, json_t *recs, const report_section *sec,
                        const report_group *gr, err_info *e)
{
    char c[5][CELL];
    const char *row[5] = {c[0], c[1], c[2], c[3], c[4]};
    size_t k = (size_t)gr->k;
    for (size_t cl = 0; cl < k; cl++) {
        const double *m = gr->cls;
        if (recs) {
            json_t *r = json_pack("{s:s, s:i, s:s, s:i, s:o, s:o, s:o, s:o}", "experiment",
                                  sec->experiment, "version", sec->version, "group", gr->label,
                                  "class", (int)cl, "precision", table_json_num(m[cl]),
                                  "recall", table_json_num(m[k + cl]), "f1",
                                  table_json_num(m[2 * k + cl]), "support",
                                  table_json_num(m[3 * k + cl]));
            if (!r || json_array_append_new(recs, r))
                return err_set(e, ERR_NOMEM, "out of memory writing per-class rows");
            continue;
        }
        const char *name = data_class_name(sec->dataset, gr->k, (int)cl);
        if (name)
            snprintf(c[0], CELL, "%zu %s", cl, name);
        else
            snprintf(c[0], CELL, "%zu", cl);
        for (int j = 0; j < 3; j++)
            table_cell_num(c[1 + j], CELL, "%.4f", m[(size_t)j * k + cl]);
        table_cell_num(c[4], CELL, "%.0f", m[3 * k + cl]);
        int rc = table_row(t, row, e);
        if (rc)
            return rc;
    }
    return 0;
}

/* buf <- "bn=true" for the label keys two compared groups share; "-" when none. */
static void cmp_same(char *buf, size_t n, const report_section *sec, const report_comparison *c)
{
    exp_value v;
    buf[0] = '\0';
    for (int k = 0; k < sec->n_keys; k++)
        if (k != c->key) {
            exp_value_from_stored(&v, json_object_get(sec->groups[c->a].values, sec->keys[k]));
            exp_label_append(buf, n, sec->keys[k], &v);
        }
    if (!buf[0])
        snprintf(buf, n, "-");
}

/* buf <- group g's value of key k as its label shows it. */
static void group_value_text(char *buf, size_t n, const report_section *sec, int g, int k)
{
    exp_value v;
    exp_value_from_stored(&v, json_object_get(sec->groups[g].values, sec->keys[k]));
    exp_value_format(buf, n, &v);
}

/* The comparison rows: with each side's n and mean ± sd (4 decimals of a percent), so that
 * a reader can redo the test from the table. */
static int cmp_table(table *t, const report_section *sec, err_info *e)
{
    char c[TABLE_MAX_COLS][EXP_TEXT_MAX];
    const char *row[TABLE_MAX_COLS];
    for (int j = 0; j < sec->n_cmp; j++) {
        const report_comparison *x = &sec->cmp[j];
        const report_group *a = &sec->groups[x->a], *b = &sec->groups[x->b];
        int i = 0;
        for (int k = 0; k < TABLE_MAX_COLS; k++)
            row[k] = c[k];
        row[i++] = sec->keys[x->key];
        group_value_text(c[i++], EXP_TEXT_MAX, sec, x->a, x->key);
        group_value_text(c[i++], EXP_TEXT_MAX, sec, x->b, x->key);
        cmp_same(c[i++], EXP_TEXT_MAX, sec, x);
        snprintf(c[i++], CELL, "%d", a->acc.n);
        table_cell_pm(c[i++], CELL, &a->acc, 100.0, 4);
        snprintf(c[i++], CELL, "%d", b->acc.n);
        table_cell_pm(c[i++], CELL, &b->acc, 100.0, 4);
        snprintf(c[i++], CELL, "%+.3f", x->w.diff * 100.0);
        if (isnan(x->w.ci_lo))
            snprintf(c[i++], CELL, "-");
        else
            snprintf(c[i++], CELL, "[%+.3f, %+.3f]", x->w.ci_lo * 100.0, x->w.ci_hi * 100.0);
        snprintf(c[i++], CELL, "%.4f", x->w.p);
        snprintf(c[i++], CELL, "%.4f", x->p_holm);
        snprintf(c[i++], CELL, "%s", x->p_holm < 0.05 ? "*" : "");
        int rc = table_row(t, row, e);
        if (rc)
            return rc;
    }
    return 0;
}

static json_t *comparison_json(const report_section *sec, const report_comparison *x)
{
    const report_group *a = &sec->groups[x->a], *b = &sec->groups[x->b];
    return json_pack("{s:s, s:s, s:s, s:i, s:o, s:o, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
                     " s:o, s:o, s:i}",
                     "key", sec->keys[x->key], "a", a->label, "b", b->label, "n_a", a->acc.n,
                     "mean_a", table_json_num(a->acc.mean), "sd_a", table_json_num(a->acc.sd),
                     "n_b", b->acc.n, "mean_b", table_json_num(b->acc.mean), "sd_b",
                     table_json_num(b->acc.sd), "diff", table_json_num(x->w.diff), "ci_low",
                     table_json_num(x->w.ci_lo), "ci_high", table_json_num(x->w.ci_hi), "t",
                     table_json_num(x->w.t), "dof", table_json_num(x->w.dof), "p",
                     table_json_num(x->w.p), "p_holm", table_json_num(x->p_holm), "family",
                     sec->n_cmp);
}

/* The runs of group g as JSON (kept runs only). */
static json_t *group_runs_json(const report_section *sec, int g)
{
    json_t *runs = json_array();
    for (int i = 0; runs && i < sec->n_runs; i++) {
        const report_run *r = &sec->runs[i];
        if (r->group == g)
            json_array_append_new(
                runs, json_pack("{s:s, s:s, s:o, s:o, s:o}", "run", r->key, "status",
                                run_status_name(r->status), "epoch",
                                r->epoch ? json_integer(r->epoch) : json_null(), "accuracy",
                                table_json_num(r->acc), "train_s", table_json_num(r->train_s)));
    }
    return runs;
}

static json_t *section_json(const report_section *sec, const report_options *o)
{
    json_t *jsec = json_object(), *keys = json_array(), *groups = json_array(),
           *cmps = json_array();
    json_object_set_new(jsec, "experiment", json_string(sec->experiment));
    json_object_set_new(jsec, "version", version_json(sec));
    json_object_set_new(jsec, "note", table_json_text(sec->note));
    for (int k = 0; k < sec->n_keys; k++)
        json_array_append_new(keys, json_string(sec->keys[k]));
    json_object_set_new(jsec, "keys", keys);
    json_object_set_new(jsec, "pooled", table_json_text(sec->pooled));
    for (int g = 0; g < sec->n_groups; g++) {
        const report_group *gr = &sec->groups[g];
        json_t *jg = group_record(sec, gr);
        json_object_del(jg, "experiment");
        json_object_del(jg, "version");
        json_object_set(jg, "values", gr->values);
        json_object_set_new(jg, "accuracy", summary_json(&gr->acc, true));
        json_object_set_new(jg, "precision", summary_json(&gr->precision, false));
        json_object_set_new(jg, "recall", summary_json(&gr->recall, false));
        json_object_set_new(jg, "f1", summary_json(&gr->f1, false));
        for (int i = CSV_SUMMARIES; i < CSV_TIMES; i++)
            json_object_del(jg, cols_csv[i]); /* the flat CSV fields, nested above */
        if (o->keep_runs || o->runs)
            json_object_set_new(jg, "runs", group_runs_json(sec, g));
        if (gr->k > 0) {
            json_t *pc = json_array();
            classes_rows(NULL, pc, sec, gr, NULL);
            json_object_set_new(jg, "per_class", pc);
        }
        json_array_append_new(groups, jg);
    }
    json_object_set_new(jsec, "groups", groups);
    for (int j = 0; j < sec->n_cmp; j++)
        json_array_append_new(cmps, comparison_json(sec, &sec->cmp[j]));
    json_object_set_new(jsec, "comparisons", cmps);
    return jsec;
}

/* {"format": 1, "epoch": N or null, "experiments": [one(section)...]} for every section. */
static int sections_json_out(FILE *f, const report *r,
                             json_t *(*one)(const report_section *, const report_options *),
                             err_info *e)
{
    json_t *root = json_object(), *secs = json_array();
    json_object_set_new(root, "format", json_integer(1));
    json_object_set_new(root, "epoch", r->opt.epoch ? json_integer(r->opt.epoch) : json_null());
    for (int s = 0; s < r->n_sections; s++)
        json_array_append_new(secs, one(&r->sections[s], &r->opt));
    json_object_set_new(root, "experiments", secs);
    return table_json_write(f, root, e);
}

/* CSV of the groups (or with per_class their classes) of every section. */
static int groups_csv(FILE *f, const report *r, err_info *e)
{
    json_t *recs = json_array();
    int rc = recs ? 0 : err_set(e, ERR_NOMEM, "out of memory writing CSV");
    for (int s = 0; s < r->n_sections && !rc; s++)
        for (int g = 0; g < r->sections[s].n_groups && !rc; g++) {
            const report_section *sec = &r->sections[s];
            if (r->opt.per_class)
                rc = classes_rows(NULL, recs, sec, &sec->groups[g], e);
            else if (json_array_append_new(recs, group_record(sec, &sec->groups[g])))
                rc = err_set(e, ERR_NOMEM, "out of memory writing CSV");
        }
    if (!rc && r->opt.per_class)
        table_records_csv(f, cols_cls_csv, NCOLS(cols_cls_csv), recs);
    else if (!rc)
        table_records_csv(f, cols_csv, NCOLS(cols_csv), recs);
    json_decref(recs);
    return rc;
}

static const char groups_rule[] =
    "n: COMPLETED runs averaged (runs of one configuration and build, seeds apart, unless the\n"
    "section's heading names what else they pool); sd and CI need n >= 2 (\"-\" otherwise);\n"
    "95% CI of the mean (Student t, n-1 dof), clipped to [0, 100]%; F1, precision, recall:\n"
    "macro averages over the classes; train s: training time without evaluation (mean ± sd,\n"
    "and the fastest run: min)";

/* The notes, comparisons and per-class tables under a section's group table. */
static int section_tail(FILE *f, const report_section *sec, const report_options *o,
                        table_format fmt, err_info *e)
{
    int unfinished = 0, shorter = 0, contended = 0, rc = 0;
    for (int g = 0; g < sec->n_groups; g++) {
        unfinished += sec->groups[g].n_unfinished;
        shorter += sec->groups[g].n_short;
        contended += sec->groups[g].n_contended;
    }
    table_notes(f, groups_rule, fmt);
    if (unfinished)
        table_line(f, fmt, "%d run%s unfinished (queued, running or interrupted), not counted",
                   unfinished, unfinished == 1 ? "" : "s");
    if (shorter)
        table_line(f, fmt, "%d completed run%s without epoch %d, not counted", shorter,
                   shorter == 1 ? "" : "s", o->epoch);
    if (contended)
        table_line(f, fmt, "%d completed run%s trained on a contended machine (other processes "
                           "held the CPUs in some epoch): train s includes their time; --runs "
                           "marks them",
                   contended, contended == 1 ? "" : "s");
    table t;
    if (sec->n_cmp > 0) {
        table_gap(f, fmt);
        table_line(f, fmt, "comparisons (Welch's t-test of mean %s accuracy, a - b in "
                           "percentage points, 95%% CI, a: the group the file plans first; p "
                           "Holm-corrected over the %d comparison%s of this table; * = p (Holm) "
                           "< 0.05)",
                   exp_heldout_name(sec->validation), sec->n_cmp, sec->n_cmp == 1 ? "" : "s");
        table_gap(f, fmt);
        table_init(&t, cols_cmp, NCOLS(cols_cmp));
        rc = table_finish(f, &t, fmt, "  ", cmp_table(&t, sec, e));
    }
    for (int g = 0; g < sec->n_groups && o->per_class && !rc; g++) {
        const report_group *gr = &sec->groups[g];
        table_gap(f, fmt);
        table_heading(f, fmt, 2, "per class: %s (mean over %d run%s)", gr->label, gr->n,
                      gr->n == 1 ? "" : "s");
        if (gr->k == 0) {
            table_line(f, fmt, "no per-class metrics stored");
            continue;
        }
        table_init(&t, cols_cls_human, NCOLS(cols_cls_human));
        rc = table_finish(f, &t, fmt, "  ", classes_rows(&t, NULL, sec, gr, e));
    }
    return rc;
}

/* The group tables of every section, for people. */
static int groups_render(FILE *f, const report *r, table_format fmt, err_info *e)
{
    const report_options *o = &r->opt;
    char at[64], title[512];
    if (o->epoch)
        snprintf(at, sizeof at, "epoch %d", o->epoch);
    else
        snprintf(at, sizeof at, "last epoch");
    int rc = 0;
    for (int s = 0; s < r->n_sections && !rc; s++) {
        const report_section *sec = &r->sections[s];
        section_title(title, sizeof title, sec);
        if (s)
            table_gap(f, fmt);
        table_heading(f, fmt, 1, "%s: %d run%s, %s%s accuracy at the %s%s", title, sec->n_total,
                      sec->n_total == 1 ? "" : "s", exp_heldout_name(sec->validation),
                      sec->validation ? " (held-out training images)" : "", at,
                      o->sort_f1 ? ", sorted by macro F1" : "");
        section_notes(f, sec, o, fmt);
        if (sec->validation) {
            table_line(f, fmt, "(every accuracy, F1 and comparison of this experiment is on "
                               "its validation split; the test set is not read)");
            table_gap(f, fmt);
        }
        if (sec->n_groups == 0) {
            table_line(f, fmt, "no runs");
            continue;
        }
        table t;
        if (o->sort_f1)
            table_init(&t, cols_human_f1, NCOLS(cols_human_f1));
        else
            table_init(&t, cols_human, NCOLS(cols_human));
        rc = table_finish(f, &t, fmt, "  ", groups_table(&t, sec, o->sort_f1, e));
        if (!rc)
            rc = section_tail(f, sec, o, fmt, e);
    }
    return rc;
}

/* ---- rendering: the runs (--runs) ------------------------------------------------------------- */

static const char *const cols_runs_human[] = {
    "<run", "<revision", "<config", "<status", ">acc %", ">F1", ">epochs", ">train s",
    ">threads", ">peak RSS MiB",
};
static const char *const cols_runs_csv[] = {
    "experiment", "version", "run", "git_sha", "git_dirty", "group", "seed", "status", "epoch",
    "epochs_done", "acc", "f1", "train_s", "threads", "peak_rss_bytes", "contended_epochs",
};

/* buf <- "18f866d" or "18f866d-dirty" (7 hex digits of the build's commit), "none" for a
 * build outside git, "-" without a recorded build. */
static void cell_revision(char *buf, size_t n, const report_run *r)
{
    if (!r->git_sha[0])
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.7s%s", r->git_sha, r->git_dirty ? "-dirty" : "");
}

/* buf <- the run's group label and seed: "optimizer=adam bn=true seed=3"; the label alone
 * when the seed is a label key, the seed alone when there are no label keys. */
static void cell_config(char *buf, size_t n, const report_section *sec, const report_run *r)
{
    bool seed_key = false;
    for (int k = 0; k < sec->n_keys; k++)
        seed_key = seed_key || strcmp(sec->keys[k], "seed") == 0;
    const char *label = sec->groups[r->group].label;
    if (seed_key || !r->has_seed)
        snprintf(buf, n, "%s", label);
    else if (sec->n_keys == 0)
        snprintf(buf, n, "seed=%lld", (long long)r->seed);
    else
        snprintf(buf, n, "%s seed=%lld", label, (long long)r->seed);
}

/* One run as a record (cols_runs_csv, and "values" for JSON). */
static json_t *run_record(const report_section *sec, const report_run *r)
{
    const bool has_epoch = r->epoch > 0;
    json_t *j = json_object();
    json_object_set_new(j, "experiment", json_string(sec->experiment));
    json_object_set_new(j, "version", json_integer(sec->version));
    json_object_set_new(j, "run", json_string(r->key));
    json_object_set_new(j, "git_sha", table_json_text(r->git_sha));
    json_object_set_new(j, "git_dirty", r->git_sha[0] ? json_boolean(r->git_dirty) : json_null());
    json_object_set_new(j, "group", json_string(sec->groups[r->group].label));
    json_object_set(j, "values", sec->groups[r->group].values);
    json_object_set_new(j, "seed", r->has_seed ? json_integer(r->seed) : json_null());
    json_object_set_new(j, "status", json_string(run_status_name(r->status)));
    json_object_set_new(j, "epoch", has_epoch ? json_integer(r->epoch) : json_null());
    json_object_set_new(j, "epochs_done", json_integer(r->epochs_done));
    json_object_set_new(j, "acc", table_json_num(has_epoch ? r->acc : NAN));
    json_object_set_new(j, "f1", table_json_num(has_epoch ? r->f1 : NAN));
    json_object_set_new(j, "train_s", table_json_num(has_epoch ? r->train_s : NAN));
    json_object_set_new(j, "threads", r->threads > 0 ? json_integer(r->threads) : json_null());
    json_object_set_new(j, "peak_rss_bytes",
                        r->peak_rss_bytes > 0 ? json_integer(r->peak_rss_bytes) : json_null());
    json_object_set_new(j, "contended_epochs",
                        has_epoch ? json_integer(r->time.contended) : json_null());
    return j;
}

static int runs_rows(table *t, const report_section *sec, err_info *e)
{
    char c[TABLE_MAX_COLS][CELL], config[1200];
    const char *row[TABLE_MAX_COLS];
    for (int j = 0; j < sec->n_runs; j++) {
        const report_run *r = &sec->runs[j];
        const bool has_epoch = r->epoch > 0;
        int i = 0;
        for (int k = 0; k < TABLE_MAX_COLS; k++)
            row[k] = c[k];
        snprintf(c[i++], CELL, "%.12s", r->key);
        cell_revision(c[i++], CELL, r);
        cell_config(config, sizeof config, sec, r);
        row[i++] = config;
        row[i++] = run_status_name(r->status);
        table_cell_num(c[i++], CELL, "%.2f", has_epoch ? r->acc * 100.0 : NAN);
        table_cell_num(c[i++], CELL, "%.4f", has_epoch ? r->f1 : NAN);
        snprintf(c[i++], CELL, "%d", r->epochs_done);
        table_cell_num(c[i++], CELL, "%.1f", has_epoch ? r->train_s : NAN);
        if (has_epoch && r->time.contended > 0) /* contended (timing.h) */
            strcat(c[i - 1], "*");
        table_cell_num(c[i++], CELL, "%.0f", r->threads > 0 ? r->threads : NAN);
        table_cell_num(c[i++], CELL, "%.0f",
                       r->peak_rss_bytes > 0 ? (double)r->peak_rss_bytes / (1024.0 * 1024.0)
                                             : NAN);
        int rc = table_row(t, row, e);
        if (rc)
            return rc;
    }
    return 0;
}

static json_t *runs_json(const report_section *sec, const report_options *o)
{
    (void)o;
    json_t *jsec = json_object(), *keys = json_array(), *runs = json_array();
    json_object_set_new(jsec, "experiment", json_string(sec->experiment));
    json_object_set_new(jsec, "version", version_json(sec));
    for (int k = 0; k < sec->n_keys; k++)
        json_array_append_new(keys, json_string(sec->keys[k]));
    json_object_set_new(jsec, "keys", keys);
    for (int j = 0; j < sec->n_runs; j++) {
        json_t *jr = run_record(sec, &sec->runs[j]);
        json_object_del(jr, "experiment");
        json_object_del(jr, "version");
        json_array_append_new(runs, jr);
    }
    json_object_set_new(jsec, "runs", runs);
    return jsec;
}

static const char runs_rule[] =
    "run: the first 12 hex digits of the run key; revision: the build's git commit (-dirty:\n"
    "with uncommitted changes); F1: macro; epochs: epochs stored; train s: training time\n"
    "without evaluation up to the reported epoch (*: contended in some epoch, other processes\n"
    "held the CPUs: not the code's time)";

/* The runs of every section of r, one per row in planned order (report_render, opt.runs). */
static int runs_render(FILE *f, const report *r, table_format fmt, err_info *e)
{
    const report_options *o = &r->opt;
    if (fmt == TABLE_JSON)
        return sections_json_out(f, r, runs_json, e);
    int rc = 0;
    if (fmt == TABLE_CSV) {
        json_t *recs = json_array();
        for (int s = 0; recs && s < r->n_sections; s++)
            for (int j = 0; j < r->sections[s].n_runs; j++)
                json_array_append_new(recs, run_record(&r->sections[s], &r->sections[s].runs[j]));
        if (!recs)
            return err_set(e, ERR_NOMEM, "out of memory writing CSV");
        table_records_csv(f, cols_runs_csv, NCOLS(cols_runs_csv), recs);
        json_decref(recs);
        return 0;
    }
    char at[64], title[512];
    if (o->epoch)
        snprintf(at, sizeof at, "epoch %d", o->epoch);
    else
        snprintf(at, sizeof at, "the last epoch");
    for (int s = 0; s < r->n_sections && !rc; s++) {
        const report_section *sec = &r->sections[s];
        section_title(title, sizeof title, sec);
        if (s)
            table_gap(f, fmt);
        table_heading(f, fmt, 1, "runs of %s: %d run%s in planned order, %s accuracy at %s",
                      title, sec->n_runs, sec->n_runs == 1 ? "" : "s",
                      exp_heldout_name(sec->validation), at);
        section_notes(f, sec, o, fmt);
        if (sec->n_runs == 0) {
            table_line(f, fmt, "no runs");
            continue;
        }
        table t;
        table_init(&t, cols_runs_human, NCOLS(cols_runs_human));
        rc = table_finish(f, &t, fmt, "  ", runs_rows(&t, sec, e));
        if (!rc)
            table_notes(f, runs_rule, fmt);
    }
    return rc;
}
/* ---- rendering: the provenance (--provenance) ------------------------------------------------ */

static const char *const cols_builds[] = {
    "<git SHA", "<rev", "<branch", "<dirty", "<describe", "<compiler", "<cflags",
    "<build type", "<BLAS", "<kernels", "<binary", ">runs",
};
static const char *const cols_hosts[] = {
    "<hostname", "<CPU", ">cores", ">RAM GiB", "<OS", "<kernel", ">runs",
};
static const char *const cols_datasets[] = {
    "<name", "<sha256", ">images", ">runs",
};
static const char *const cols_prov_csv[] = {
    "experiment", "version", "kind", "runs", "git_sha", "git_branch", "git_dirty",
    "git_describe", "compiler", "compiler_version", "cflags", "build_type", "blas", "kernels",
    "binary_sha256", "hostname", "cpu_model", "cores", "ram_bytes", "os", "kernel", "dataset",
    "dataset_sha256", "n_images",
};

/* Text for people: "-" for "". */
static const char *dash(const char *s) { return s[0] ? s : "-"; }

/* A positive count as JSON, null for 0 (not recorded). */
static json_t *jcount(int64_t v) { return v > 0 ? json_integer(v) : json_null(); }

static json_t *build_json(const report_build *b)
{
    json_t *j = json_object();
    json_object_set_new(j, "git_sha", table_json_text(b->git_sha));
    json_object_set_new(j, "git_branch", table_json_text(b->git_branch));
    json_object_set_new(j, "git_dirty", b->id ? json_boolean(b->git_dirty) : json_null());
    json_object_set_new(j, "git_describe", table_json_text(b->git_describe));
    json_object_set_new(j, "compiler", table_json_text(b->compiler));
    json_object_set_new(j, "compiler_version", table_json_text(b->compiler_version));
    json_object_set_new(j, "cflags", table_json_text(b->cflags));
    json_object_set_new(j, "build_type", table_json_text(b->build_type));
    json_object_set_new(j, "blas", table_json_text(b->blas));
    json_object_set_new(j, "kernels", table_json_text(b->kernels));
    json_object_set_new(j, "binary_sha256", table_json_text(b->binary_sha256));
    json_object_set_new(j, "runs", json_integer(b->n_runs));
    return j;
}

static json_t *host_json(const report_host *h)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:i}", "hostname",
                     table_json_text(h->hostname), "cpu_model", table_json_text(h->cpu_model),
                     "cores", jcount(h->cores), "ram_bytes", jcount(h->ram_bytes), "os",
                     table_json_text(h->os), "kernel", table_json_text(h->kernel), "runs",
                     h->n_runs);
}

static json_t *dataset_json(const report_dataset *d)
{
    return json_pack("{s:o, s:o, s:o, s:i}", "name", table_json_text(d->name), "sha256",
                     table_json_text(d->sha256), "n_images", jcount(d->n_images), "runs",
                     d->n_runs);
}

/* The CSV records of a section: one per build, host and data set (kind "build", "host",
 * "dataset"), with that kind's fields (a data set's name and sha256 as dataset and
 * dataset_sha256) and the others empty. */
static int prov_records(json_t *recs, const report_section *sec, err_info *e)
{
    int n = sec->n_builds + sec->n_hosts + sec->n_datasets;
    for (int i = 0; i < n; i++) {
        json_t *r;
        if (i < sec->n_builds) {
            r = build_json(&sec->builds[i]);
            json_object_set_new(r, "kind", json_string("build"));
        } else if (i < sec->n_builds + sec->n_hosts) {
            r = host_json(&sec->hosts[i - sec->n_builds]);
            json_object_set_new(r, "kind", json_string("host"));
        } else {
            const report_dataset *d = &sec->datasets[i - sec->n_builds - sec->n_hosts];
            r = json_pack("{s:s, s:o, s:o, s:o, s:i}", "kind", "dataset", "dataset",
                          table_json_text(d->name), "dataset_sha256", table_json_text(d->sha256),
                          "n_images", jcount(d->n_images), "runs", d->n_runs);
        }
        if (!r || json_object_set_new(r, "experiment", json_string(sec->experiment)) ||
            json_object_set_new(r, "version", json_integer(sec->version)) ||
            json_array_append_new(recs, r))
            return err_set(e, ERR_NOMEM, "out of memory writing provenance");
    }
    return 0;
}

static json_t *provenance_json(const report_section *sec, const report_options *o)
{
    (void)o;
    json_t *jsec = json_object(), *builds = json_array(), *hosts = json_array(),
           *datasets = json_array();
    json_object_set_new(jsec, "experiment", json_string(sec->experiment));
    json_object_set_new(jsec, "version", version_json(sec));
    json_object_set_new(jsec, "n_runs", json_integer(sec->n_total));
    for (int i = 0; i < sec->n_builds; i++)
        json_array_append_new(builds, build_json(&sec->builds[i]));
    for (int i = 0; i < sec->n_hosts; i++)
        json_array_append_new(hosts, host_json(&sec->hosts[i]));
    for (int i = 0; i < sec->n_datasets; i++)
        json_array_append_new(datasets, dataset_json(&sec->datasets[i]));
    json_object_set_new(jsec, "builds", builds);
    json_object_set_new(jsec, "hosts", hosts);
    json_object_set_new(jsec, "datasets", datasets);
    return jsec;
}

/* The three small tables of one section, for people. */
static int provenance_tables(FILE *f, const report_section *sec, table_format fmt,
                             err_info *e)
{
    char c[4][CELL];
    table t;
    int rc = 0;
    table_heading(f, fmt, 2, "builds");
    table_init(&t, cols_builds, NCOLS(cols_builds));
    for (int i = 0; i < sec->n_builds && !rc; i++) {
        const report_build *b = &sec->builds[i];
        char compiler[sizeof b->compiler + sizeof b->compiler_version + 1];
        snprintf(compiler, sizeof compiler, "%s%s%s", b->compiler,
                 b->compiler[0] && b->compiler_version[0] ? " " : "", b->compiler_version);
        snprintf(c[0], CELL, "%.7s", b->git_sha);
        snprintf(c[1], CELL, "%s", b->id ? (b->git_dirty ? "true" : "false") : "");
        snprintf(c[2], CELL, "%.12s", b->binary_sha256);
        snprintf(c[3], CELL, "%lld", (long long)(b->n_runs));
        const char *v[] = {dash(b->git_sha), dash(c[0]), dash(b->git_branch), dash(c[1]),
                           dash(b->git_describe), dash(compiler), dash(b->cflags),
                           dash(b->build_type), dash(b->blas), dash(b->kernels), dash(c[2]),
                           c[3]};
        rc = table_row(&t, v, e);
    }
    rc = table_finish(f, &t, fmt, "  ", rc);
    if (rc)
        return rc;
    table_gap(f, fmt);
    table_heading(f, fmt, 2, "hosts");
    table_init(&t, cols_hosts, NCOLS(cols_hosts));
    for (int i = 0; i < sec->n_hosts && !rc; i++) {
        const report_host *h = &sec->hosts[i];
        table_cell_num(c[0], CELL, "%.0f", h->cores > 0 ? h->cores : NAN);
        table_cell_num(c[1], CELL, "%.1f",
                 h->ram_bytes > 0 ? (double)h->ram_bytes / (1024.0 * 1024.0 * 1024.0) : NAN);
        snprintf(c[2], CELL, "%lld", (long long)(h->n_runs));
        const char *v[] = {dash(h->hostname), dash(h->cpu_model), c[0], c[1], dash(h->os),
                           dash(h->kernel), c[2]};
        rc = table_row(&t, v, e);
    }
    rc = table_finish(f, &t, fmt, "  ", rc);
    if (rc)
        return rc;
    table_gap(f, fmt);
    table_heading(f, fmt, 2, "data sets");
    table_init(&t, cols_datasets, NCOLS(cols_datasets));
    for (int i = 0; i < sec->n_datasets && !rc; i++) {
        const report_dataset *d = &sec->datasets[i];
        snprintf(c[0], CELL, "%.12s", d->sha256);
        table_cell_num(c[1], CELL, "%.0f", d->n_images > 0 ? (double)d->n_images : NAN);
        snprintf(c[2], CELL, "%lld", (long long)(d->n_runs));
        const char *v[] = {dash(d->name), dash(c[0]), c[1], c[2]};
        rc = table_row(&t, v, e);
    }
    return table_finish(f, &t, fmt, "  ", rc);
}

/* The builds, hosts and data sets of every section (report_render, opt.provenance). */
static int provenance_render(FILE *f, const report *r, table_format fmt, err_info *e)
{
    if (fmt == TABLE_JSON)
        return sections_json_out(f, r, provenance_json, e);
    int rc = 0;
    if (fmt == TABLE_CSV) {
        json_t *recs = json_array();
        rc = recs ? 0 : err_set(e, ERR_NOMEM, "out of memory writing provenance");
        for (int s = 0; s < r->n_sections && !rc; s++)
            rc = prov_records(recs, &r->sections[s], e);
        if (!rc)
            table_records_csv(f, cols_prov_csv, NCOLS(cols_prov_csv), recs);
        json_decref(recs);
        return rc;
    }
    char title[512];
    for (int s = 0; s < r->n_sections && !rc; s++) {
        const report_section *sec = &r->sections[s];
        section_title(title, sizeof title, sec);
        if (s)
            table_gap(f, fmt);
        table_heading(f, fmt, 1, "provenance of %s: %d run%s", title, sec->n_total,
                      sec->n_total == 1 ? "" : "s");
        section_notes(f, sec, &r->opt, fmt);
        if (sec->n_total == 0) {
            table_line(f, fmt, "no runs");
            continue;
        }
        rc = provenance_tables(f, sec, fmt, e);
        if (!rc)
            table_notes(f, "runs: how many of the experiment's runs used each; a build is listed "
                           "once per kernel set its runs used;\n\"-\": not recorded", fmt);
    }
    return rc;
}

int report_render(FILE *f, FILE *warn, const report *r, table_format fmt, err_info *e)
{
    const report_options *o = &r->opt;
    if (fmt == TABLE_CSV || fmt == TABLE_JSON)
        warn_pooled(warn, r);
    if (o->runs)
        return runs_render(f, r, fmt, e);
    if (o->provenance)
        return provenance_render(f, r, fmt, e);
    if (fmt == TABLE_JSON)
        return sections_json_out(f, r, section_json, e);
    if (fmt == TABLE_CSV)
        return groups_csv(f, r, e);
    return groups_render(f, r, fmt, e);
}

/* ---- the paper's claims ----------------------------------------------------------------- */

static const char *const verdict_names[] = {
    [VERDICT_REPRODUCED] = "reproduced",
    [VERDICT_NOT_REPRODUCED] = "not reproduced",
    [VERDICT_INCONCLUSIVE] = "inconclusive",
};

const char *report_verdict_name(report_verdict v) { return verdict_names[v]; }

report_verdict report_verdict_accuracy(double claim, const stats_summary *m)
{
    if (m->n < 2 || isnan(m->ci_lo))
        return VERDICT_INCONCLUSIVE;
    if ((claim >= m->ci_lo && claim <= m->ci_hi) || m->mean >= claim)
        return VERDICT_REPRODUCED;
    return VERDICT_NOT_REPRODUCED; /* the whole CI lies below the claim */
}

report_verdict report_verdict_time(double claim_s, const stats_summary *m)
{
    if (m->n == 0)
        return VERDICT_INCONCLUSIVE;
    return m->mean <= claim_s ? VERDICT_REPRODUCED : VERDICT_NOT_REPRODUCED;
}

/* Append one row for claim d measured on group g of section sec (NULL: nowhere). */
static int claim_row(report_claim **v, int *n, int *cap, const claim *d,
                     const report_section *sec, const report_group *g, err_info *e)
{
    if (!vec_grow((void **)v, *n, cap, sizeof **v))
        return err_set(e, ERR_NOMEM, "out of memory measuring the claims");
    report_claim *c = &(*v)[(*n)++];
    *c = (report_claim){.what = d->what, .claimed = d->stated, .claim = d->value,
                        .is_time = d->metric == CLAIM_TIME, .percent = d->percent,
                        .source = d->source};
    stats_summarize(&c->m, NULL, 0);
    if (g) {
        copy_text(c->experiment, sizeof c->experiment, sec->experiment);
        if (sec->n_versions > 1)
            snprintf(c->group, sizeof c->group, "version %d: %s", sec->version, g->label);
        else
            copy_text(c->group, sizeof c->group, g->label);
        c->m = d->metric == CLAIM_ACCURACY ? g->acc : d->metric == CLAIM_F1 ? g->f1 : g->train_s;
    }
    c->verdict = c->is_time ? report_verdict_time(c->claim, &c->m)
                            : report_verdict_accuracy(c->claim, &c->m);
    return 0;
}

/* The rows of claim d: one per group of the first of its experiments that has runs (of
 * experiment only, when not NULL). */
static int claim_rows(report_claim **v, int *n, int *cap, const claim *d, const char *only,
                      store *s, int epoch, err_info *e)
{
    for (int x = 0; x < (only ? 1 : d->n_experiments); x++) {
        report_options o = report_options_default();
        o.experiment = only ? only : d->experiments[x];
        o.epoch = epoch;
        o.compare = 0;
        report r;
        err_info le = {0};
        int rc = report_load(&r, s, &o, &le), rows = 0;
        if (rc == ERR_INVALID && strncmp(le.msg, "no experiment", 13) == 0)
            rc = 0; /* not run yet: try the next source */
        else if (rc)
            *e = le;
        for (int i = 0; i < r.n_sections && !rc; i++)
            for (int g = 0; g < r.sections[i].n_groups && !rc; g++, rows++)
                rc = claim_row(v, n, cap, d, &r.sections[i], &r.sections[i].groups[g], e);
        report_release(&r);
        if (rc || rows)
            return rc;
    }
    return claim_row(v, n, cap, d, NULL, NULL, e);
}

int report_paper(report_claim **out, int *n, store *s, const claims *cl, const char *experiment,
                 int epoch, err_info *e)
{
    report_claim *v = NULL;
    int cap = 0, rc = 0;
    *n = 0;
    for (int i = 0; i < cl->n && !rc; i++)
        if (!experiment || claim_names(&cl->v[i], experiment))
            rc = claim_rows(&v, n, &cap, &cl->v[i], experiment, s, epoch, e);
    *out = v;
    return rc;
}

static const char *const cols_paper[] = {
    "<claim", ">claimed", "<experiment", "<group", ">n", ">measured (mean ± sd)", ">95% CI",
    "<verdict",
};
static const char *const cols_paper_csv[] = {
    "claim", "claimed", "experiment", "group", "n", "mean", "sd", "ci_low", "ci_high", "verdict",
    "source",
};

static const char paper_rules[] =
    "accuracy and F1 claims: reproduced when the claim lies inside the 95% CI of the mean or\n"
    "the mean is at least the claim; not reproduced when the whole CI lies below the claim;\n"
    "inconclusive with fewer than 2 completed runs. time claim: reproduced when the mean\n"
    "training time per run is at most the claim (measured on this study's machines, not the\n"
    "source's). group: each configuration and build of the experiment is measured on its own.";

static json_t *claim_record(const report_claim *c)
{
    return json_pack("{s:s, s:s, s:f, s:s, s:o, s:o, s:i, s:o, s:o, s:o, s:o, s:s, s:s}",
                     "claim", c->what, "claimed", c->claimed, "claim_value", c->claim, "unit",
                     c->is_time ? "s" : "fraction", "experiment",
                     table_json_text(c->experiment), "group", table_json_text(c->group), "n",
                     c->m.n, "mean", table_json_num(c->m.mean), "sd", table_json_num(c->m.sd),
                     "ci_low", table_json_num(c->m.ci_lo), "ci_high",
                     table_json_num(c->m.ci_hi), "verdict", report_verdict_name(c->verdict),
                     "source", c->source ? c->source : "");
}

/* The claims table for people: accuracies in percent, F1 as a fraction, time in minutes. */
static int paper_table(table *t, const report_claim *cl, int n, err_info *e)
{
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        const report_claim *c = &cl[i];
        char nb[16], a[CELL], b[CELL];
        snprintf(nb, sizeof nb, "%d", c->m.n);
        double scale = c->is_time ? 1.0 / 60.0 : c->percent ? 100.0 : 1.0;
        int dec = c->is_time ? 1 : scale == 100.0 ? 2 : 4;
        table_cell_pm(a, CELL, &c->m, scale, dec);
        if (c->is_time && c->m.n)
            snprintf(a + strlen(a), CELL - strlen(a), " min");
        table_cell_ci(b, CELL, c->m.ci_lo, c->m.ci_hi, scale, dec);
        const char *row[] = {c->what, c->claimed, c->experiment[0] ? c->experiment : "-",
                             c->group[0] ? c->group : "-", nb, a, b,
                             report_verdict_name(c->verdict)};
        rc = table_row(t, row, e);
    }
    return rc;
}

int report_paper_render(FILE *f, const report_claim *cl, int n, table_format fmt, err_info *e)
{
    if (fmt == TABLE_JSON || fmt == TABLE_CSV) {
        json_t *arr = json_array();
        for (int i = 0; arr && i < n; i++)
            json_array_append_new(arr, claim_record(&cl[i]));
        if (fmt == TABLE_JSON)
            return table_json_write(f, json_pack("{s:i, s:o, s:s}", "format", 1, "claims", arr,
                                                 "rule", paper_rules),
                                    e);
        if (arr)
            table_records_csv(f, cols_paper_csv, NCOLS(cols_paper_csv), arr);
        json_decref(arr);
        return arr ? 0 : err_set(e, ERR_NOMEM, "out of memory writing the claims");
    }
    table t;
    table_init(&t, cols_paper, NCOLS(cols_paper));
    table_heading(f, fmt, 1, "claimed versus measured");
    int rc = table_finish(f, &t, fmt, "  ", paper_table(&t, cl, n, e));
    if (rc)
        return rc;
    /* the rules, then where each claim is stated (once per claim, not per group row) */
    size_t len = sizeof paper_rules + 16;
    for (int i = 0; i < n; i++)
        len += strlen(cl[i].what) + (cl[i].source ? strlen(cl[i].source) : 0) + 8;
    char *notes = malloc(len);
    if (!notes)
        return err_set(e, ERR_NOMEM, "out of memory writing the claims");
    size_t at = (size_t)snprintf(notes, len, "%s\nsources:", paper_rules);
    for (int i = 0; i < n; i++)
        if (cl[i].source && (i == 0 || cl[i].what != cl[i - 1].what))
            at += (size_t)snprintf(notes + at, len - at, "\n- %s: %s", cl[i].what, cl[i].source);
    table_notes(f, notes, fmt);
    free(notes);
    return 0;
}

/* ---- confusion ------------------------------------------------------------------------------ */

typedef struct conf_pick {
    int want, epoch, k;
    int64_t *m;       /* (k,k) owned */
    err_info *e;
} conf_pick;

static int pick_confusion(void *ctx, const store_epoch *ep)
{
    conf_pick *p = ctx;
    if (p->want && ep->epoch != p->want)
        return 0;
    p->epoch = ep->epoch;
    free(p->m);
    p->m = NULL;
    p->k = 0;
    if (ep->k <= 0 || ep->k > REPORT_MAX_CLASSES || !ep->confusion)
        return 0;
    size_t kk = (size_t)ep->k * (size_t)ep->k;
    p->m = malloc(kk * sizeof *p->m);
    if (!p->m)
        return err_set(p->e, ERR_NOMEM, "out of memory reading a confusion matrix");
    memcpy(p->m, ep->confusion, kk * sizeof *p->m);
    p->k = ep->k;
    return 0;
}

int report_confusion(FILE *f, store *s, const char *run, int epoch, table_format fmt,
                     err_info *e)
{
    char key[STORE_KEY_MAX];
    conf_pick p = {.want = epoch, .e = e};
    table t = {0};
    int rc = store_run_resolve(s, key, run, e);
    if (!rc)
        rc = store_epochs(s, key, true, pick_confusion, &p, e);
    if (rc)
        goto done;
    if (p.epoch == 0) {
        rc = epoch ? err_set(e, ERR_INVALID, "run '%.12s' has no epoch %d", key, epoch)
                   : err_set(e, ERR_INVALID, "run '%.12s' has no epochs stored", key);
        goto done;
    }
    if (p.k == 0) {
        rc = err_set(e, ERR_INVALID, "run '%.12s' has no confusion matrix at epoch %d", key,
                     p.epoch);
        goto done;
    }
    size_t k = (size_t)p.k;
    if (fmt == TABLE_JSON) {
        json_t *rows = json_array();
        for (size_t i = 0; i < k; i++) {
            json_t *row = json_array();
            for (size_t j = 0; j < k; j++)
                json_array_append_new(row, json_integer(p.m[i * k + j]));
            json_array_append_new(rows, row);
        }
        rc = table_json_write(f, json_pack("{s:i, s:s, s:i, s:i, s:o}", "format", 1, "run", key,
                                   "epoch", p.epoch, "classes", p.k, "matrix", rows),
                      e);
        goto done;
    }
    /* columns: "true\pred", then one per predicted class */
    static const char *const heads[] = {"<true\\pred", ">0", ">1", ">2", ">3", ">4", ">5",
                                        ">6", ">7", ">8", ">9", ">10", ">11", ">12", ">13",
                                        ">14", ">15", ">16", ">17", ">18", ">19", ">20", ">21",
                                        ">22"};
    if (k + 1 > (size_t)NCOLS(heads)) {
        rc = err_set(e, ERR_INVALID, "run '%.12s' has %zu classes: too many to print (json "
                     "format has no limit)", key, k);
        goto done;
    }
    table_init(&t, heads, (int)k + 1);
    char c[TABLE_MAX_COLS][24];
    const char *row[TABLE_MAX_COLS];
    for (size_t i = 0; i < k && !rc; i++) {
        for (size_t j = 0; j <= k; j++)
            row[j] = c[j];
        snprintf(c[0], sizeof c[0], "%zu", i);
        for (size_t j = 0; j < k; j++)
            snprintf(c[j + 1], sizeof c[j + 1], "%lld", (long long)p.m[i * k + j]);
        rc = table_row(&t, row, e);
    }
    if (rc)
        goto done;
    if (fmt != TABLE_CSV)
        table_heading(f, fmt, 1, "confusion matrix of run %s at epoch %d (rows: true class, "
                                 "columns: predicted)",
                      key, p.epoch);
    table_print(f, &t, fmt, "  ");
done:
    table_free(&t);
    free(p.m);
    return rc;
}

