/* report: grouping, aggregation and rendering of stored runs (see report.h). */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "report.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exp.h"

/* ---- grouping keys ------------------------------------------------------------------------ */

/* Short sweep names (exp.c's schema) -> the field of the run's configuration JSON
 * (exp_run_json) holding the resolved value. */
static const struct report_key {
    const char *name;
    const char *path;
} report_keys[] = {
    {"dataset", "dataset"},     {"validation", "validation"},
    {"model", "model"},         {"bn", "bn"},
    {"init", "init"},           {"init_std", "init_std"},
    {"epochs", "epochs"},       {"batch", "batch"},
    {"sampling", "sampling"},   {"optimizer", "optimizer.kind"},
    {"lr", "optimizer.lr"},     {"momentum", "optimizer.momentum"},
    {"weight_decay", "optimizer.weight_decay"},
    {"lr_schedule", "lr_schedule"}, {"augment_shift", "augment_shift"},
    {"seed", "seed"},           {"threads", "threads"},
};
#define REPORT_N_KEYS (sizeof report_keys / sizeof report_keys[0])

const char *report_key_names(void)
{
    return "dataset, validation, model, bn, init, init_std, epochs, batch, sampling, optimizer, "
           "lr, momentum, weight_decay, lr_schedule, augment_shift, seed, threads (or a dotted path into the run's "
           "configuration JSON)";
}

/* The JSON path of key: its table entry, or the key itself taken as a dotted path. */
static const char *report_key_path(const char *key)
{
    for (size_t i = 0; i < REPORT_N_KEYS; i++)
        if (strcmp(report_keys[i].name, key) == 0)
            return report_keys[i].path;
    return key;
}

static const char *const report_format_names[] = {
    [REPORT_TABLE] = "table", [REPORT_MD] = "md", [REPORT_CSV] = "csv", [REPORT_JSON] = "json"};

int report_format_parse(report_format *out, const char *name, err_info *e)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, report_format_names[i]) == 0) {
            *out = (report_format)i;
            return 0;
        }
    return err_set(e, ERR_INVALID, "unknown format '%s' (valid: table, md, csv, json)", name);
}

report_options report_options_default(void)
{
    return (report_options){.compare = -1};
}

/* buf <- the shortest "%.Ng" (N <= 17) that reads back as d. */
static void fmt_shortest(char *buf, size_t n, double d)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, n, "%.*g", p, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* buf <- the value at the dotted path of cfg as text; "-" when absent. */
static void json_path_value(char buf[REPORT_VALUE_MAX], json_t *cfg, const char *path)
{
    snprintf(buf, REPORT_VALUE_MAX, "-");
    json_t *v = cfg;
    char part[REPORT_KEY_MAX];
    const char *p = path;
    while (v && *p) {
        size_t len = strcspn(p, ".");
        if (len >= sizeof part)
            return;
        memcpy(part, p, len);
        part[len] = '\0';
        v = json_is_object(v) ? json_object_get(v, part) : NULL;
        p += len + (p[len] == '.');
    }
    if (!v)
        return;
    if (json_is_string(v))
        snprintf(buf, REPORT_VALUE_MAX, "%s", json_string_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, REPORT_VALUE_MAX, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_integer(v))
        snprintf(buf, REPORT_VALUE_MAX, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        fmt_shortest(buf, REPORT_VALUE_MAX, json_real_value(v));
    else if (!json_is_null(v)) {
        char *d = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(buf, REPORT_VALUE_MAX, "%s", d ? d : "?");
        free(d);
    }
}

/* ---- loading -------------------------------------------------------------------------------- */

/* One experiment name as found in the store: its swept keys (union over the stored versions
 * of its file) and the [budget] of the newest version. */
typedef struct exp_info {
    char name[128];
    int n_swept;
    char swept[REPORT_MAX_KEYS][REPORT_KEY_MAX];
    bool parsed;        /* at least one version parsed; else keys are inferred from the runs */
    char **grid;        /* (n_grid) exp_run_json of every run of every version, in sweep
                         * order: groups are listed in the order the sweep first reaches them */
    int n_grid;
    double budget_minutes, target_accuracy;
} exp_info;

typedef struct exp_list {
    exp_info *v;
    int n, cap;
    err_info *e;
} exp_list;

static int collect_experiment(void *ctx, const store_experiment_row *x)
{
    exp_list *l = ctx;
    exp_info *in = NULL;
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, x->name) == 0)
            in = &l->v[i];
    if (!in) {
        if (l->n == l->cap) {
            int cap = l->cap ? 2 * l->cap : 8;
            exp_info *v = realloc(l->v, (size_t)cap * sizeof *v);
            if (!v)
                return err_set(l->e, ERR_NOMEM, "out of memory listing experiments");
            l->v = v;
            l->cap = cap;
        }
        in = &l->v[l->n++];
        memset(in, 0, sizeof *in);
        snprintf(in->name, sizeof in->name, "%s", x->name);
    }
    if (!x->spec_text)
        return 0;
    /* Re-parse the stored file to learn what it swept. A file this build no longer accepts
     * (an older schema) is not an error: the keys are then inferred from the runs. */
    experiment xp;
    err_info pe = {0};
    if (exp_parse(&xp, x->spec_text, strlen(x->spec_text), x->file ? x->file : x->name, &pe))
        return 0;
    in->parsed = true;
    char **grid = realloc(in->grid, (size_t)(in->n_grid + xp.n_runs) * sizeof *grid);
    if (!grid) {
        exp_release(&xp);
        return err_set(l->e, ERR_NOMEM, "out of memory reading experiment '%s'", in->name);
    }
    in->grid = grid;
    for (int i = 0; i < xp.n_runs; i++)
        if ((grid[in->n_grid] = exp_run_json(&xp.runs[i])))
            in->n_grid++;
    in->budget_minutes = xp.budget_minutes; /* versions come oldest first: newest wins */
    in->target_accuracy = xp.target_accuracy;
    for (int i = 0; i < xp.n_swept; i++) {
        bool seen = false;
        for (int j = 0; j < in->n_swept; j++)
            seen = seen || strcmp(in->swept[j], xp.swept[i]) == 0;
        if (!seen && in->n_swept < REPORT_MAX_KEYS)
            snprintf(in->swept[in->n_swept++], REPORT_KEY_MAX, "%s", xp.swept[i]);
    }
    exp_release(&xp);
    return 0;
}

/* Runs of one section as visited by store_runs, before epochs are read. */
typedef struct run_list {
    report_run *v;
    char **config;      /* (n) config_json copies */
    int n, cap;
    err_info *e;
} run_list;

static int collect_run(void *ctx, const store_run_row *r)
{
    run_list *l = ctx;
    /* A run linked to two versions of one experiment file is visited twice: keep one. */
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i].key, r->run_key) == 0)
            return 0;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        report_run *v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v)
            return err_set(l->e, ERR_NOMEM, "out of memory reading runs");
        l->v = v;
        char **c = realloc(l->config, (size_t)cap * sizeof *c);
        if (!c)
            return err_set(l->e, ERR_NOMEM, "out of memory reading runs");
        l->config = c;
        l->cap = cap;
    }
    report_run *w = &l->v[l->n];
    memset(w, 0, sizeof *w);
    snprintf(w->key, sizeof w->key, "%s", r->run_key);
    w->status = r->status;
    w->diverged_epoch = r->diverged_epoch;
    w->acc = w->precision = w->recall = w->f1 = w->train_s = NAN;
    w->epochs_done = r->epochs_done;
    w->threads = r->threads;
    w->peak_rss_bytes = r->peak_rss_bytes;
    w->build_id = r->build_id;
    w->host_id = r->host_id;
    w->dataset_id = r->dataset_id;
    snprintf(w->kernels, sizeof w->kernels, "%s", r->kernels ? r->kernels : "");
    if (r->started_at)
        snprintf(w->started_at, sizeof w->started_at, "%s", r->started_at);
    l->config[l->n] = strdup(r->config_json ? r->config_json : "{}");
    if (!l->config[l->n])
        return err_set(l->e, ERR_NOMEM, "out of memory reading runs");
    l->n++;
    return 0;
}

/* Whether run r belongs in a report restricted to git_sha (NULL: every run; "none" matches
 * runs built outside git or without a recorded build). */
static bool run_wanted(const report_run *r, const char *git_sha)
{
    return !git_sha || strcmp(r->git_sha[0] ? r->git_sha : "none", git_sha) == 0;
}

/* dst <- s, "" for NULL, cut to n - 1 bytes. */
static void copy_text(char *dst, size_t n, const char *s) { snprintf(dst, n, "%s", s ? s : ""); }

/* *v (of *cap elements of size sz) grown to hold n + 1; false when out of memory. */
static bool grow(void **v, int n, int *cap, size_t sz)
{
    if (n < *cap)
        return true;
    int c = *cap ? 2 * *cap : 4;
    void *w = realloc(*v, (size_t)c * sz);
    if (!w)
        return false;
    *v = w;
    *cap = c;
    return true;
}

/* Reads one run's provenance (store_run_provenance): its revision into the run, and, when the
 * run is wanted, one more use of its build (with its kernels), host and data set in the
 * section's distinct lists, each entry added at its first use. */
typedef struct prov_pick {
    report_section *sec;
    report_run *r;          /* the run being read */
    const char *git_sha;    /* report_options.git_sha */
    int cap_builds, cap_hosts, cap_datasets;
    err_info *e;
} prov_pick;

static int read_provenance(void *ctx, const store_provenance *p)
{
    prov_pick *pp = ctx;
    report_section *sec = pp->sec;
    report_run *r = pp->r;
    const store_build *b = p->build;
    const store_host *h = p->host;
    const store_dataset *d = p->dataset;
    if (b) {
        copy_text(r->git_sha, sizeof r->git_sha, b->git_sha);
        r->git_dirty = b->git_dirty != 0;
    }
    if (!run_wanted(r, pp->git_sha))
        return 0;
    int i = 0;
    while (i < sec->n_builds && !(sec->builds[i].id == r->build_id &&
                                  strcmp(sec->builds[i].kernels, r->kernels) == 0))
        i++;
    if (i == sec->n_builds) {
        if (!grow((void **)&sec->builds, sec->n_builds, &pp->cap_builds, sizeof *sec->builds))
            return err_set(pp->e, ERR_NOMEM, "out of memory reading provenance");
        report_build *nb = &sec->builds[sec->n_builds++];
        memset(nb, 0, sizeof *nb);
        nb->id = r->build_id;
        copy_text(nb->kernels, sizeof nb->kernels, r->kernels);
        if (b) {
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
    }
    sec->builds[i].n_runs++;
    for (i = 0; i < sec->n_hosts && sec->hosts[i].id != r->host_id; i++)
        ;
    if (i == sec->n_hosts) {
        if (!grow((void **)&sec->hosts, sec->n_hosts, &pp->cap_hosts, sizeof *sec->hosts))
            return err_set(pp->e, ERR_NOMEM, "out of memory reading provenance");
        report_host *nh = &sec->hosts[sec->n_hosts++];
        memset(nh, 0, sizeof *nh);
        nh->id = r->host_id;
        if (h) {
            copy_text(nh->hostname, sizeof nh->hostname, h->hostname);
            copy_text(nh->cpu_model, sizeof nh->cpu_model, h->cpu_model);
            copy_text(nh->os, sizeof nh->os, h->os);
            copy_text(nh->kernel, sizeof nh->kernel, h->kernel);
            nh->cores = h->cores;
            nh->ram_bytes = h->ram_bytes;
        }
    }
    sec->hosts[i].n_runs++;
    for (i = 0; i < sec->n_datasets && sec->datasets[i].id != r->dataset_id; i++)
        ;
    if (i == sec->n_datasets) {
        if (!grow((void **)&sec->datasets, sec->n_datasets, &pp->cap_datasets,
                  sizeof *sec->datasets))
            return err_set(pp->e, ERR_NOMEM, "out of memory reading provenance");
        report_dataset *nd = &sec->datasets[sec->n_datasets++];
        memset(nd, 0, sizeof *nd);
        nd->id = r->dataset_id;
        if (d) {
            copy_text(nd->name, sizeof nd->name, d->name);
            copy_text(nd->sha256, sizeof nd->sha256, d->sha256);
            nd->n_images = d->n_images;
        }
    }
    sec->datasets[i].n_runs++;
    return 0;
}

/* Picks the reported epoch of one run while store_epochs visits them in order. */
typedef struct epoch_pick {
    report_run *r;
    int want;           /* 0: the last */
    double cum_s;       /* wall_s summed so far */
    err_info *e;
} epoch_pick;

static int pick_epoch(void *ctx, const store_epoch *ep)
{
    epoch_pick *p = ctx;
    if (!isnan(ep->wall_s))
        p->cum_s += ep->wall_s;
    if (p->want && ep->epoch != p->want)
        return 0;
    report_run *r = p->r;
    r->epoch = ep->epoch;
    r->acc = ep->test_acc;
    r->precision = ep->precision_macro;
    r->recall = ep->recall_macro;
    r->f1 = ep->f1_macro;
    r->train_s = p->cum_s;
    if (ep->k > 0 && ep->k <= REPORT_MAX_CLASSES && ep->precision) {
        size_t k = (size_t)ep->k;
        if (r->k != ep->k) {
            free(r->cls);
            r->cls = malloc(4 * k * sizeof *r->cls);
            if (!r->cls) {
                r->k = 0;
                return err_set(p->e, ERR_NOMEM, "out of memory reading per-class metrics");
            }
            r->k = ep->k;
        }
        for (size_t c = 0; c < k; c++) {
            r->cls[c] = ep->precision[c];
            r->cls[k + c] = ep->recall[c];
            r->cls[2 * k + c] = ep->f1[c];
            r->cls[3 * k + c] = (double)ep->support[c];
        }
    }
    return 0;
}

/* Split a comma list of keys into keys[]; "" gives none. */
static int parse_group_by(report_section *sec, const char *list, err_info *e)
{
    sec->n_keys = 0;
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len == 0)
            break;
        if (len >= REPORT_KEY_MAX)
            return err_set(e, ERR_INVALID, "grouping key '%.*s...' is too long", 32, p);
        if (sec->n_keys == REPORT_MAX_KEYS)
            return err_set(e, ERR_INVALID, "more than %d grouping keys", REPORT_MAX_KEYS);
        memcpy(sec->keys[sec->n_keys], p, len);
        sec->keys[sec->n_keys++][len] = '\0';
        p += len;
        while (*p && *p != ',')
            p++;
    }
    return 0;
}

/* Without a parsable file: group by every known key (but seed) whose value varies. */
static void infer_keys(report_section *sec, json_t **cfg)
{
    sec->n_keys = 0;
    for (size_t k = 0; k < REPORT_N_KEYS && sec->n_keys < REPORT_MAX_KEYS; k++) {
        if (strcmp(report_keys[k].name, "seed") == 0)
            continue;
        char first[REPORT_VALUE_MAX], v[REPORT_VALUE_MAX];
        bool varies = false;
        for (int i = 0; i < sec->n_runs && !varies; i++) {
            json_path_value(v, cfg[i], report_keys[k].path);
            if (i == 0)
                memcpy(first, v, sizeof first);
            else
                varies = strcmp(first, v) != 0;
        }
        if (varies)
            snprintf(sec->keys[sec->n_keys++], REPORT_KEY_MAX, "%s", report_keys[k].name);
    }
}

static int cmp_f1_desc(const void *x, const void *y)
{
    const report_group *a = x, *b = y;
    double fa = a->f1.mean, fb = b->f1.mean;
    if (isnan(fa) || isnan(fb))
        return isnan(fa) - isnan(fb); /* NAN last */
    return (fa < fb) - (fa > fb);
}

/* After groups moved: point every run at the group with its values again. */
static void remap_runs(report_section *sec)
{
    for (int i = 0; i < sec->n_runs; i++)
        for (int g = 0; g < sec->n_groups; g++) {
            bool same = true;
            for (int k = 0; k < sec->n_keys && same; k++)
                same = strcmp(sec->groups[g].values[k], sec->runs[i].values[k]) == 0;
            if (same) {
                sec->runs[i].group = g;
                break;
            }
        }
}

/* Order groups as the experiment's sweep first reaches them (its grid order: the first swept
 * key varies slowest), which is stable across invocations; groups the current file does not
 * produce (older versions, --group-by paths) follow in order of first appearance. */
static void order_by_grid(report_section *sec, const exp_info *x)
{
    if (sec->n_groups < 2 || x->n_grid == 0)
        return;
    int *rank = malloc((size_t)sec->n_groups * sizeof *rank);
    if (!rank)
        return; /* out of memory: first-appearance order, still a valid report */
    for (int g = 0; g < sec->n_groups; g++)
        rank[g] = x->n_grid + g;
    for (int i = 0; i < x->n_grid; i++) {
        json_t *cfg = json_loads(x->grid[i], 0, NULL);
        if (!cfg)
            continue;
        char v[REPORT_MAX_KEYS][REPORT_VALUE_MAX];
        for (int k = 0; k < sec->n_keys; k++)
            json_path_value(v[k], cfg, report_key_path(sec->keys[k]));
        json_decref(cfg);
        for (int g = 0; g < sec->n_groups; g++) {
            bool same = rank[g] >= x->n_grid;
            for (int k = 0; k < sec->n_keys && same; k++)
                same = strcmp(sec->groups[g].values[k], v[k]) == 0;
            if (same)
                rank[g] = i;
        }
    }
    /* insertion sort: stable, and groups are few */
    for (int g = 1; g < sec->n_groups; g++) {
        report_group t = sec->groups[g];
        int r = rank[g], j = g - 1;
        for (; j >= 0 && rank[j] > r; j--) {
            sec->groups[j + 1] = sec->groups[j];
            rank[j + 1] = rank[j];
        }
        sec->groups[j + 1] = t;
        rank[j + 1] = r;
    }
    free(rank);
    remap_runs(sec);
}

/* Aggregate the runs of sec into groups (runs already carry their values), listed in the
 * sweep's order (x) or by F1. */
static int build_groups(report_section *sec, const exp_info *x, const report_options *o,
                        err_info *e)
{
    sec->groups = calloc((size_t)(sec->n_runs ? sec->n_runs : 1), sizeof *sec->groups);
    if (!sec->groups)
        return err_set(e, ERR_NOMEM, "out of memory grouping runs");
    for (int i = 0; i < sec->n_runs; i++) {
        report_run *r = &sec->runs[i];
        int g = 0;
        for (; g < sec->n_groups; g++) {
            bool same = true;
            for (int k = 0; k < sec->n_keys && same; k++)
                same = strcmp(sec->groups[g].values[k], r->values[k]) == 0;
            if (same)
                break;
        }
        if (g == sec->n_groups) {
            report_group *ng = &sec->groups[sec->n_groups++];
            size_t used = 0;
            ng->label[0] = '\0';
            for (int k = 0; k < sec->n_keys; k++) {
                ng->values[k] = r->values[k];
                int w = snprintf(ng->label + used, sizeof ng->label - used, "%s%s=%s",
                                 k ? " " : "", sec->keys[k], r->values[k]);
                if (w > 0 && used + (size_t)w < sizeof ng->label)
                    used += (size_t)w;
            }
            if (sec->n_keys == 0)
                snprintf(ng->label, sizeof ng->label, "all");
        }
        r->group = g;
    }
    order_by_grid(sec, x);
    /* Aggregate. Scratch arrays sized for the largest group. */
    size_t n = (size_t)(sec->n_runs ? sec->n_runs : 1);
    double *buf = malloc(5 * n * sizeof *buf);
    if (!buf)
        return err_set(e, ERR_NOMEM, "out of memory aggregating runs");
    int rc = 0;
    for (int g = 0; g < sec->n_groups; g++) {
        report_group *gr = &sec->groups[g];
        double *acc = buf, *pr = buf + n, *re = buf + 2 * n, *f1 = buf + 3 * n, *ts = buf + 4 * n;
        int m = 0, k = -1;
        double sum_s = 0.0, sum_epochs = 0.0;
        for (int i = 0; i < sec->n_runs; i++) {
            const report_run *r = &sec->runs[i];
            if (r->group != g)
                continue;
            switch (r->status) {
            case RUN_COMPLETED:
                if (r->epoch == 0) {
                    gr->n_short++;
                    continue;
                }
                break;
            case RUN_DIVERGED: gr->n_diverged++; continue;
            case RUN_FAILED: gr->n_failed++; continue;
            default: gr->n_unfinished++; continue;
            }
            acc[m] = r->acc;
            pr[m] = r->precision;
            re[m] = r->recall;
            f1[m] = r->f1;
            ts[m] = r->train_s;
            sum_s += r->train_s;
            sum_epochs += r->epoch;
            /* per-class means only when every aggregated run has the same classes */
            if (o->per_class)
                k = (k == -1 || k == r->k) ? r->k : 0;
            m++;
        }
        stats_summarize(&gr->acc, acc, m);
        stats_summarize(&gr->precision, pr, m);
        stats_summarize(&gr->recall, re, m);
        stats_summarize(&gr->f1, f1, m);
        stats_summarize(&gr->train_s, ts, m);
        gr->n = m;
        gr->epoch_s = m ? sum_s / sum_epochs : NAN;
        gr->accs = malloc((size_t)(m ? m : 1) * sizeof *gr->accs);
        if (!gr->accs) {
            rc = err_set(e, ERR_NOMEM, "out of memory aggregating runs");
            break;
        }
        memcpy(gr->accs, acc, (size_t)m * sizeof *acc);
        if (k > 0) {
            gr->cls = calloc(4 * (size_t)k, sizeof *gr->cls);
            if (!gr->cls) {
                rc = err_set(e, ERR_NOMEM, "out of memory aggregating classes");
                break;
            }
            gr->k = k;
            for (int i = 0; i < sec->n_runs; i++) {
                const report_run *r = &sec->runs[i];
                if (r->group == g && r->status == RUN_COMPLETED && r->epoch > 0)
                    for (int c = 0; c < 4 * k; c++)
                        gr->cls[c] += r->cls[c] / m;
            }
        }
    }
    free(buf);
    if (rc)
        return rc;
    if (o->sort_f1) {
        /* qsort moves groups: the runs' indices are remapped through their labels. */
        qsort(sec->groups, (size_t)sec->n_groups, sizeof *sec->groups, cmp_f1_desc);
        remap_runs(sec);
    }
    return 0;
}

/* Pairs of groups that differ in exactly one key, both with n >= 2. */
static int build_comparisons(report_section *sec, err_info *e)
{
    int cap = 0;
    for (int a = 0; a < sec->n_groups; a++)
        for (int b = a + 1; b < sec->n_groups; b++) {
            const report_group *ga = &sec->groups[a], *gb = &sec->groups[b];
            if (ga->n < 2 || gb->n < 2)
                continue;
            int diff = 0, key = -1;
            for (int k = 0; k < sec->n_keys; k++)
                if (strcmp(ga->values[k], gb->values[k]) != 0) {
                    diff++;
                    key = k;
                }
            if (diff != 1)
                continue;
            if (sec->n_cmp == cap) {
                cap = cap ? 2 * cap : 8;
                report_comparison *v = realloc(sec->cmp, (size_t)cap * sizeof *v);
                if (!v)
                    return err_set(e, ERR_NOMEM, "out of memory comparing groups");
                sec->cmp = v;
            }
            report_comparison *c = &sec->cmp[sec->n_cmp++];
            *c = (report_comparison){.key = key, .a = a, .b = b, .p_holm = NAN};
            int rc = stats_welch_test(&c->w, ga->accs, ga->n, gb->accs, gb->n, e);
            if (rc)
                return rc;
        }
    return 0;
}

/* Holm over every comparison of every section. */
static int correct_comparisons(report *r, err_info *e)
{
    int m = 0;
    for (int s = 0; s < r->n_sections; s++)
        m += r->sections[s].n_cmp;
    if (m == 0)
        return 0;
    double *p = malloc((size_t)m * sizeof *p);
    if (!p)
        return err_set(e, ERR_NOMEM, "out of memory correcting p-values");
    int i = 0;
    for (int s = 0; s < r->n_sections; s++)
        for (int c = 0; c < r->sections[s].n_cmp; c++)
            p[i++] = r->sections[s].cmp[c].w.p;
    int rc = stats_holm(p, p, m, e);
    i = 0;
    for (int s = 0; s < r->n_sections && !rc; s++)
        for (int c = 0; c < r->sections[s].n_cmp; c++)
            r->sections[s].cmp[c].p_holm = p[i++];
    free(p);
    return rc;
}

/* Where a run falls in the listing order of --runs (see order_by_plan). */
typedef struct plan_pos {
    int rank;           /* index of the first grid entry planning it; INT_MAX: none */
    int group;
    long long seed;     /* LLONG_MIN when not an integer */
    int idx;            /* in the store's order */
} plan_pos;

static int cmp_plan(const void *x, const void *y)
{
    const plan_pos *a = x, *b = y;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    if (a->group != b->group)
        return a->group < b->group ? -1 : 1;
    if (a->seed != b->seed)
        return a->seed < b->seed ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

/* sec->order <- the runs in the order the experiment's file plans them: a run's rank is the
 * first entry of x's grid (the sweep of every stored version, oldest first; the first swept
 * key varies slowest) with the run's values of every swept key and of the seed. Runs no entry
 * plans (a file that no longer parses, values from an older version's code) follow, by group
 * in the report's order, then seed; runs of equal rank (the same configuration from two
 * builds) keep the store's order (queue time, run key). Needs the groups built. */
static int order_by_plan(report_section *sec, const exp_info *x, json_t **cfg, err_info *e)
{
    int n = sec->n_runs, nk = 0, rc = 0;
    const char *keys[REPORT_MAX_KEYS + 1];
    for (int k = 0; k < x->n_swept; k++)
        if (strcmp(x->swept[k], "seed") != 0)
            keys[nk++] = report_key_path(x->swept[k]);
    keys[nk++] = "seed";
    sec->order = malloc((size_t)(n ? n : 1) * sizeof *sec->order);
    plan_pos *pos = malloc((size_t)(n ? n : 1) * sizeof *pos);
    /* (n_grid, nk) values of the grid's runs, then (n, nk) of the section's */
    char(*gv)[REPORT_VALUE_MAX] =
        malloc(((size_t)x->n_grid + (size_t)n + 1) * (size_t)nk * sizeof *gv);
    if (!sec->order || !pos || !gv) {
        rc = err_set(e, ERR_NOMEM, "out of memory ordering runs");
        goto done;
    }
    for (int g = 0; g < x->n_grid; g++) {
        json_t *c = json_loads(x->grid[g], 0, NULL);
        for (int k = 0; k < nk; k++)
            json_path_value(gv[(size_t)g * (size_t)nk + (size_t)k], c, keys[k]);
        json_decref(c); /* NULL-safe; an unreadable entry reads "-" and plans nothing real */
    }
    char(*rv)[REPORT_VALUE_MAX] = gv + (size_t)x->n_grid * (size_t)nk;
    for (int i = 0; i < n; i++) {
        const report_run *r = &sec->runs[i];
        for (int k = 0; k < nk; k++)
            json_path_value(rv[k], cfg[i], keys[k]);
        pos[i] = (plan_pos){.rank = INT_MAX, .group = r->group, .seed = LLONG_MIN, .idx = i};
        for (int g = 0; g < x->n_grid && pos[i].rank == INT_MAX; g++) {
            bool same = true;
            for (int k = 0; k < nk && same; k++)
                same = strcmp(gv[(size_t)g * (size_t)nk + (size_t)k], rv[k]) == 0;
            if (same)
                pos[i].rank = g;
        }
        char *end;
        long long sd = strtoll(r->seed, &end, 10);
        if (end != r->seed && *end == '\0')
            pos[i].seed = sd;
    }
    qsort(pos, (size_t)n, sizeof *pos, cmp_plan);
    for (int i = 0; i < n; i++)
        sec->order[i] = pos[i].idx;
done:
    free(pos);
    free(gv);
    return rc;
}

/* Read, group and aggregate the runs of one experiment. */
static int load_section(report_section *sec, store *s, const exp_info *x, const report_options *o,
                        err_info *e)
{
    run_list l = {.e = e};
    json_t **cfg = NULL;
    snprintf(sec->experiment, sizeof sec->experiment, "%s", x->name);
    sec->budget_minutes = x->budget_minutes;
    sec->target_accuracy = x->target_accuracy;
    int rc = store_runs(s, x->name, -1, collect_run, &l, e);
    if (rc)
        goto done;
    /* Drop runs of other revisions first when asked (bench check). */
    prov_pick pp = {.sec = sec, .git_sha = o->git_sha, .e = e};
    for (int i = 0; i < l.n; i++) {
        pp.r = &l.v[i];
        if ((rc = store_run_provenance(s, l.v[i].key, read_provenance, &pp, e)))
            goto done;
    }
    int kept = 0;
    for (int i = 0; i < l.n; i++) {
        if (!run_wanted(&l.v[i], o->git_sha)) {
            free(l.config[i]);
            continue;
        }
        l.v[kept] = l.v[i];
        l.config[kept++] = l.config[i];
    }
    l.n = kept;
    sec->runs = l.v;
    sec->n_runs = l.n;
    l.v = NULL;
    cfg = calloc((size_t)(l.n ? l.n : 1), sizeof *cfg);
    if (!cfg) {
        rc = err_set(e, ERR_NOMEM, "out of memory reading configurations");
        goto done;
    }
    for (int i = 0; i < l.n; i++) {
        json_error_t je;
        cfg[i] = json_loads(l.config[i], 0, &je);
        if (!cfg[i])
            cfg[i] = json_object(); /* unreadable configuration: every key reads "-" */
        json_path_value(sec->runs[i].seed, cfg[i], "seed");
        if (json_integer_value(json_object_get(cfg[i], "validation")) > 0)
            sec->validation = true;
        epoch_pick p = {.r = &sec->runs[i], .want = o->epoch, .e = e};
        if ((rc = store_epochs(s, sec->runs[i].key, o->per_class, pick_epoch, &p, e)))
            goto done;
    }
    /* The grouping keys. */
    if (o->group_by) {
        if ((rc = parse_group_by(sec, o->group_by, e)))
            goto done;
        for (int k = 0; k < sec->n_keys; k++) {
            const char *path = report_key_path(sec->keys[k]);
            bool known = path != sec->keys[k];
            for (int i = 0; i < l.n && !known; i++) {
                char v[REPORT_VALUE_MAX];
                json_path_value(v, cfg[i], path);
                known = strcmp(v, "-") != 0;
            }
            if (!known && l.n > 0) {
                rc = err_set(e, ERR_INVALID, "unknown grouping key '%s' (valid: %s)",
                             sec->keys[k], report_key_names());
                goto done;
            }
        }
    } else if (x->parsed) {
        for (int k = 0; k < x->n_swept; k++)
            if (strcmp(x->swept[k], "seed") != 0)
                snprintf(sec->keys[sec->n_keys++], REPORT_KEY_MAX, "%s", x->swept[k]);
    } else {
        infer_keys(sec, cfg);
    }
    for (int i = 0; i < l.n; i++)
        for (int k = 0; k < sec->n_keys; k++)
            json_path_value(sec->runs[i].values[k], cfg[i], report_key_path(sec->keys[k]));
    if ((rc = build_groups(sec, x, o, e)) || (rc = order_by_plan(sec, x, cfg, e)))
        goto done;
    int with_n2 = 0;
    for (int g = 0; g < sec->n_groups; g++)
        with_n2 += sec->groups[g].n >= 2;
    if (o->compare == 1 || (o->compare < 0 && with_n2 >= 2))
        rc = build_comparisons(sec, e);
done:
    if (cfg)
        for (int i = 0; i < l.n; i++)
            json_decref(cfg[i]);
    free(cfg);
    for (int i = 0; i < l.n; i++)
        free(l.config[i]);
    free(l.config);
    if (l.v) { /* failed before the runs were handed over */
        for (int i = 0; i < l.n; i++)
            free(l.v[i].cls);
        free(l.v);
    }
    return rc;
}

int report_load(report *out, store *s, const report_options *o, err_info *e)
{
    memset(out, 0, sizeof *out);
    out->opt = *o;
    exp_list xl = {.e = e};
    int rc = store_experiments(s, o->experiment, collect_experiment, &xl, e);
    if (rc)
        goto done;
    if (xl.n == 0) {
        rc = o->experiment
                 ? err_set(e, ERR_INVALID, "no experiment '%s' in '%s'", o->experiment,
                           store_path(s))
                 : err_set(e, ERR_INVALID,
                           "no experiments in '%s' yet (bench run FILE.toml adds some)",
                           store_path(s));
        goto done;
    }
    out->sections = calloc((size_t)xl.n, sizeof *out->sections);
    if (!out->sections) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < xl.n; i++) {
        out->n_sections++;
        if ((rc = load_section(&out->sections[i], s, &xl.v[i], o, e)))
            goto done;
    }
    rc = correct_comparisons(out, e);
done:
    for (int i = 0; i < xl.n; i++) {
        for (int j = 0; j < xl.v[i].n_grid; j++)
            free(xl.v[i].grid[j]);
        free(xl.v[i].grid);
    }
    free(xl.v);
    return rc;
}

void report_release(report *r)
{
    for (int s = 0; s < r->n_sections; s++) {
        report_section *sec = &r->sections[s];
        for (int i = 0; i < sec->n_runs; i++)
            free(sec->runs[i].cls);
        for (int g = 0; g < sec->n_groups; g++) {
            free(sec->groups[g].accs);
            free(sec->groups[g].cls);
        }
        free(sec->runs);
        free(sec->order);
        free(sec->groups);
        free(sec->cmp);
        free(sec->builds);
        free(sec->hosts);
        free(sec->datasets);
    }
    free(r->sections);
    memset(r, 0, sizeof *r);
}

/* ---- tables: one builder, three text renderers ---------------------------------------------- */

#define TBL_MAX_COLS 24

typedef struct tbl {
    int ncols;
    const char *head[TBL_MAX_COLS];
    bool left[TBL_MAX_COLS];   /* left-aligned (text) rather than right-aligned (numbers) */
    int nrows, cap;
    char **cells;              /* (nrows, ncols), owned */
} tbl;

/* Columns from a spec like "<group|>n|>acc": '<' left, '>' right aligned. */
static void tbl_init(tbl *t, const char *const *cols, int n)
{
    assert(n <= TBL_MAX_COLS);
    memset(t, 0, sizeof *t);
    t->ncols = n;
    for (int i = 0; i < n; i++) {
        t->left[i] = cols[i][0] == '<';
        t->head[i] = cols[i] + 1;
    }
}

static int tbl_row(tbl *t, const char *const *cells, err_info *e)
{
    if (t->nrows == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        char **c = realloc(t->cells, (size_t)cap * (size_t)t->ncols * sizeof *c);
        if (!c)
            return err_set(e, ERR_NOMEM, "out of memory building a table");
        t->cells = c;
        t->cap = cap;
    }
    char **row = t->cells + (size_t)t->nrows * (size_t)t->ncols;
    for (int i = 0; i < t->ncols; i++) {
        row[i] = strdup(cells[i] ? cells[i] : "");
        if (!row[i]) {
            for (int j = 0; j < i; j++)
                free(row[j]);
            return err_set(e, ERR_NOMEM, "out of memory building a table");
        }
    }
    t->nrows++;
    return 0;
}

static void tbl_free(tbl *t)
{
    for (size_t i = 0; i < (size_t)t->nrows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

/* Display width of UTF-8 text: code points, not bytes ("±" is one column). */
static int utf8_width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void csv_cell(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\n\r") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Write t as an aligned table (two spaces between columns, indented by indent), a Markdown
 * pipe table, or CSV (RFC 4180 quoting; header line first). */
static void tbl_print(FILE *f, const tbl *t, report_format fmt, const char *indent)
{
    int w[TBL_MAX_COLS];
    for (int c = 0; c < t->ncols; c++) {
        w[c] = utf8_width(t->head[c]);
        for (int r = 0; r < t->nrows; r++) {
            int cw = utf8_width(t->cells[(size_t)r * (size_t)t->ncols + (size_t)c]);
            w[c] = cw > w[c] ? cw : w[c];
        }
    }
    /* Aligned rows are written to a buffer first so that trailing blanks (of empty last
     * cells) can be cut; the other formats go straight to out. */
    FILE *out = f;
    char *line = NULL;
    size_t line_len = 0;
    for (int r = -1; r < t->nrows; r++) {
        const char *const *row = r < 0 ? t->head : (const char *const *)t->cells +
                                                        (size_t)r * (size_t)t->ncols;
        if (fmt == REPORT_TABLE) {
            f = open_memstream(&line, &line_len);
            if (!f) {
                f = out; /* no memory: write directly, blanks and all */
            }
            fputs(indent, f);
        }
        else if (fmt == REPORT_MD)
            fputs("|", f);
        for (int c = 0; c < t->ncols; c++) {
            const char *s = row[c];
            if (fmt == REPORT_CSV) {
                if (c)
                    fputc(',', f);
                csv_cell(f, s);
                continue;
            }
            int pad = w[c] - utf8_width(s);
            if (fmt == REPORT_MD) {
                /* '|' inside a cell would end it */
                fputc(' ', f);
                for (const char *p = s; *p; p++)
                    fputs(*p == '|' ? "\\|" : (char[]){*p, 0}, f);
                fputs(" |", f);
                continue;
            }
            if (c)
                fputs("  ", f);
            if (!t->left[c])
                fprintf(f, "%*s", pad, "");
            fputs(s, f);
            if (t->left[c] && c + 1 < t->ncols)
                fprintf(f, "%*s", pad, "");
        }
        if (f != out) {
            fclose(f);
            f = out;
            while (line_len > 0 && line[line_len - 1] == ' ')
                line_len--;
            fwrite(line, 1, line_len, f);
            free(line);
            line = NULL;
        }
        fputc('\n', f);
        if (r < 0 && fmt == REPORT_MD) {
            fputs("|", f);
            for (int c = 0; c < t->ncols; c++)
                fputs(t->left[c] ? "---|" : "---:|", f);
            fputc('\n', f);
        }
    }
}

/* The end of a table built with rc as its status: print it when rc is 0, free it; returns rc. */
static int tbl_finish(FILE *f, tbl *t, report_format fmt, const char *indent, int rc)
{
    if (!rc)
        tbl_print(f, t, fmt, indent);
    tbl_free(t);
    return rc;
}

/* ---- number formatting ------------------------------------------------------------------- */

/* Cells for people: NAN prints as "-". */
static void cell_num(char *buf, size_t n, const char *fmt, double v)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, fmt, v);
}

/* "mean ± sd" with scale (100 for percent) and decimals; "mean ± -" for one run. */
static void cell_pm(char *buf, size_t n, const stats_summary *s, double scale, int dec)
{
    if (s->n == 0)
        snprintf(buf, n, "-");
    else if (isnan(s->sd))
        snprintf(buf, n, "%.*f ± -", dec, s->mean * scale);
    else
        snprintf(buf, n, "%.*f ± %.*f", dec, s->mean * scale, dec, s->sd * scale);
}

static void cell_ci(char *buf, size_t n, double lo, double hi, double scale, int dec)
{
    if (isnan(lo) || isnan(hi))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "[%.*f, %.*f]", dec, lo * scale, dec, hi * scale);
}

/* Cells for scripts: full precision, "" for NAN. */
static void cell_raw(char *buf, size_t n, double v)
{
    if (isnan(v))
        buf[0] = '\0';
    else
        snprintf(buf, n, "%.10g", v);
}

static void cell_int(char *buf, size_t n, long long v) { snprintf(buf, n, "%lld", v); }

/* JSON number, null for NAN and infinities. */
static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* ---- rendering the groups ----------------------------------------------------------------- */

enum { CELL = 64 };

static const char *const cols_human[] = {
    "<group", ">n", ">acc % (mean ± sd)", ">95% CI", ">best", ">worst", ">F1",
    ">train s/run", ">s/epoch", ">diverged", ">failed",
};
static const char *const cols_human_f1[] = {
    "<group", ">n", ">acc % (mean ± sd)", ">precision", ">recall", ">F1", ">train s/run",
    ">diverged", ">failed",
};
static const char *const cols_csv[] = {
    "<experiment", "<group", ">n", ">diverged", ">failed", ">unfinished", ">acc_mean",
    ">acc_sd", ">acc_ci_low", ">acc_ci_high", ">acc_best", ">acc_worst", ">precision_mean",
    ">precision_sd", ">recall_mean", ">recall_sd", ">f1_mean", ">f1_sd", ">train_s_per_run",
    ">train_s_per_epoch",
};
static const char *const cols_cls_human[] = {
    "<class", ">precision", ">recall", ">F1", ">support",
};
static const char *const cols_cls_csv[] = {
    "<experiment", "<group", ">class", ">precision", ">recall", ">f1", ">support",
};
static const char *const cols_cmp[] = {
    "<key", "<a", "<b", "<same", ">Δ acc pp (a - b)", ">95% CI", ">p", ">p (Holm)", "<",
};
#define NCOLS(a) ((int)(sizeof a / sizeof a[0]))

static int groups_table(tbl *t, const report_section *sec, bool f1, err_info *e)
{
    char c[TBL_MAX_COLS][CELL];
    const char *row[TBL_MAX_COLS];
    for (int i = 0; i < TBL_MAX_COLS; i++)
        row[i] = c[i];
    for (int g = 0; g < sec->n_groups; g++) {
        const report_group *gr = &sec->groups[g];
        int i = 0;
        row[i++] = gr->label;
        cell_int(c[i++], CELL, gr->n);
        cell_pm(c[i++], CELL, &gr->acc, 100.0, 2);
        if (f1) {
            cell_pm(c[i++], CELL, &gr->precision, 1.0, 4);
            cell_pm(c[i++], CELL, &gr->recall, 1.0, 4);
            cell_pm(c[i++], CELL, &gr->f1, 1.0, 4);
            cell_num(c[i++], CELL, "%.1f", gr->train_s.mean);
        } else {
            cell_ci(c[i++], CELL, gr->acc.ci_lo, gr->acc.ci_hi, 100.0, 2);
            cell_num(c[i++], CELL, "%.2f", gr->acc.max * 100.0);
            cell_num(c[i++], CELL, "%.2f", gr->acc.min * 100.0);
            cell_num(c[i++], CELL, "%.4f", gr->f1.mean);
            cell_num(c[i++], CELL, "%.1f", gr->train_s.mean);
            cell_num(c[i++], CELL, "%.2f", gr->epoch_s);
        }
        cell_int(c[i++], CELL, gr->n_diverged);
        cell_int(c[i++], CELL, gr->n_failed);
        int rc = tbl_row(t, row, e);
        row[0] = c[0];
        if (rc)
            return rc;
    }
    return 0;
}

static int groups_csv(tbl *t, const report_section *sec, err_info *e)
{
    char c[TBL_MAX_COLS][CELL];
    const char *row[TBL_MAX_COLS];
    for (int i = 0; i < TBL_MAX_COLS; i++)
        row[i] = c[i];
    for (int g = 0; g < sec->n_groups; g++) {
        const report_group *gr = &sec->groups[g];
        int i = 0;
        row[i++] = sec->experiment;
        row[i++] = gr->label;
        cell_int(c[i++], CELL, gr->n);
        cell_int(c[i++], CELL, gr->n_diverged);
        cell_int(c[i++], CELL, gr->n_failed);
        cell_int(c[i++], CELL, gr->n_unfinished + gr->n_short);
        const double v[] = {gr->acc.mean, gr->acc.sd, gr->acc.ci_lo, gr->acc.ci_hi,
                            gr->acc.max, gr->acc.min, gr->precision.mean, gr->precision.sd,
                            gr->recall.mean, gr->recall.sd, gr->f1.mean, gr->f1.sd,
                            gr->train_s.mean, gr->epoch_s};
        for (size_t j = 0; j < sizeof v / sizeof v[0]; j++)
            cell_raw(c[i++], CELL, v[j]);
        int rc = tbl_row(t, row, e);
        row[0] = c[0];
        row[1] = c[1];
        if (rc)
            return rc;
    }
    return 0;
}

static int classes_rows(tbl *t, const report_section *sec, const report_group *gr, bool csv,
                        err_info *e)
{
    char c[8][CELL];
    const char *row[8];
    int k = gr->k;
    for (int cl = 0; cl < k; cl++) {
        int i = 0;
        if (csv) {
            row[i++] = sec->experiment;
            row[i++] = gr->label;
        }
        for (int j = i; j < i + 5; j++)
            row[j] = c[j];
        cell_int(c[i++], CELL, cl);
        for (int m = 0; m < 3; m++) {
            double v = gr->cls[(size_t)m * (size_t)k + (size_t)cl];
            if (csv)
                cell_raw(c[i++], CELL, v);
            else
                cell_num(c[i++], CELL, "%.4f", v);
        }
        double sup = gr->cls[3 * (size_t)k + (size_t)cl];
        if (csv)
            cell_raw(c[i++], CELL, sup);
        else
            cell_num(c[i++], CELL, "%.0f", sup);
        int rc = tbl_row(t, row, e);
        if (rc)
            return rc;
    }
    return 0;
}

/* "bn=true" for the keys two compared groups share. */
static void cmp_same(char *buf, size_t n, const report_section *sec, const report_comparison *c)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < sec->n_keys; k++) {
        if (k == c->key)
            continue;
        int w = snprintf(buf + used, n - used, "%s%s=%s", used ? " " : "", sec->keys[k],
                         sec->groups[c->a].values[k]);
        if (w < 0 || used + (size_t)w >= n)
            break;
        used += (size_t)w;
    }
    if (!buf[0])
        snprintf(buf, n, "-");
}

static int cmp_table(tbl *t, const report_section *sec, err_info *e)
{
    char c[TBL_MAX_COLS][256];
    const char *row[TBL_MAX_COLS];
    for (int i = 0; i < TBL_MAX_COLS; i++)
        row[i] = c[i];
    for (int j = 0; j < sec->n_cmp; j++) {
        const report_comparison *x = &sec->cmp[j];
        int i = 0;
        row[i++] = sec->keys[x->key];
        row[i++] = sec->groups[x->a].values[x->key];
        row[i++] = sec->groups[x->b].values[x->key];
        cmp_same(c[i++], 256, sec, x);
        snprintf(c[i++], 256, "%+.3f", x->w.diff * 100.0);
        if (isnan(x->w.ci_lo))
            snprintf(c[i++], 256, "-");
        else
            snprintf(c[i++], 256, "[%+.3f, %+.3f]", x->w.ci_lo * 100.0, x->w.ci_hi * 100.0);
        snprintf(c[i++], 256, "%.4f", x->w.p);
        snprintf(c[i++], 256, "%.4f", x->p_holm);
        snprintf(c[i++], 256, "%s", x->p_holm < 0.05 ? "*" : "");
        int rc = tbl_row(t, row, e);
        row[0] = c[0];
        row[1] = c[1];
        row[2] = c[2];
        if (rc)
            return rc;
    }
    return 0;
}

static json_t *summary_json(const stats_summary *s, bool ci)
{
    json_t *o = json_object();
    json_object_set_new(o, "mean", jnum(s->mean));
    json_object_set_new(o, "sd", jnum(s->sd));
    if (ci) {
        json_object_set_new(o, "ci_low", jnum(s->ci_lo));
        json_object_set_new(o, "ci_high", jnum(s->ci_hi));
        json_object_set_new(o, "best", jnum(s->max));
        json_object_set_new(o, "worst", jnum(s->min));
    }
    return o;
}

static json_t *section_json(const report_section *sec)
{
    json_t *jsec = json_object(), *keys = json_array(), *groups = json_array(),
           *cmps = json_array();
    json_object_set_new(jsec, "experiment", json_string(sec->experiment));
    for (int k = 0; k < sec->n_keys; k++)
        json_array_append_new(keys, json_string(sec->keys[k]));
    json_object_set_new(jsec, "keys", keys);
    for (int g = 0; g < sec->n_groups; g++) {
        const report_group *gr = &sec->groups[g];
        json_t *jg = json_object(), *vals = json_object(), *runs = json_array();
        json_object_set_new(jg, "group", json_string(gr->label));
        for (int k = 0; k < sec->n_keys; k++)
            json_object_set_new(vals, sec->keys[k], json_string(gr->values[k]));
        json_object_set_new(jg, "values", vals);
        json_object_set_new(jg, "n", json_integer(gr->n));
        json_object_set_new(jg, "diverged", json_integer(gr->n_diverged));
        json_object_set_new(jg, "failed", json_integer(gr->n_failed));
        json_object_set_new(jg, "unfinished", json_integer(gr->n_unfinished + gr->n_short));
        json_object_set_new(jg, "accuracy", summary_json(&gr->acc, true));
        json_object_set_new(jg, "precision", summary_json(&gr->precision, false));
        json_object_set_new(jg, "recall", summary_json(&gr->recall, false));
        json_object_set_new(jg, "f1", summary_json(&gr->f1, false));
        json_object_set_new(jg, "train_s_per_run", jnum(gr->train_s.mean));
        json_object_set_new(jg, "train_s_per_epoch", jnum(gr->epoch_s));
        for (int i = 0; i < sec->n_runs; i++)
            if (sec->runs[i].group == g)
                json_array_append_new(runs, json_pack("{s:s, s:s, s:i, s:o, s:o}", "run",
                                                      sec->runs[i].key, "status",
                                                      run_status_name(sec->runs[i].status),
                                                      "epoch", sec->runs[i].epoch, "accuracy",
                                                      jnum(sec->runs[i].acc), "train_s",
                                                      jnum(sec->runs[i].train_s)));
        json_object_set_new(jg, "runs", runs);
        if (gr->k > 0) {
            json_t *pc = json_array();
            size_t k = (size_t)gr->k;
            for (size_t c = 0; c < k; c++)
                json_array_append_new(
                    pc, json_pack("{s:i, s:o, s:o, s:o, s:o}", "class", (int)c, "precision",
                                  jnum(gr->cls[c]), "recall", jnum(gr->cls[k + c]), "f1",
                                  jnum(gr->cls[2 * k + c]), "support",
                                  jnum(gr->cls[3 * k + c])));
            json_object_set_new(jg, "per_class", pc);
        }
        json_array_append_new(groups, jg);
    }
    json_object_set_new(jsec, "groups", groups);
    for (int j = 0; j < sec->n_cmp; j++) {
        const report_comparison *x = &sec->cmp[j];
        json_array_append_new(
            cmps, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "key",
                            sec->keys[x->key], "a", sec->groups[x->a].label, "b",
                            sec->groups[x->b].label, "diff", jnum(x->w.diff), "ci_low",
                            jnum(x->w.ci_lo), "ci_high", jnum(x->w.ci_hi), "dof", jnum(x->w.dof),
                            "p", jnum(x->w.p), "p_holm", jnum(x->p_holm)));
    }
    json_object_set_new(jsec, "comparisons", cmps);
    return jsec;
}

/* Dump j on f, one document and a newline. */
static int json_out(FILE *f, json_t *j, err_info *e)
{
    int rc = 0;
    if (!j || json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)))
        rc = err_set(e, ERR_NOMEM, "cannot write the JSON report");
    else
        fputc('\n', f);
    json_decref(j);
    return rc;
}

/* ---- rendering the runs (--runs) ------------------------------------------------------- */

static const char *const cols_runs_human[] = {
    "<run", "<revision", "<config", "<status", ">acc %", ">F1", ">epochs", ">train s",
    ">threads", ">peak RSS MiB",
};
static const char *const cols_runs_csv[] = {
    "<experiment", "<run", "<git_sha", ">git_dirty", "<group", ">seed", "<status", ">epoch",
    ">epochs_done", ">acc", ">f1", ">train_s", ">threads", ">peak_rss_bytes",
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
 * when the seed is a grouping key, the seed alone when there are no grouping keys. */
static void cell_config(char *buf, size_t n, const report_section *sec, const report_run *r)
{
    bool seed_key = false;
    for (int k = 0; k < sec->n_keys; k++)
        seed_key = seed_key || strcmp(report_key_path(sec->keys[k]), "seed") == 0;
    const char *label = sec->groups[r->group].label;
    if (seed_key || strcmp(r->seed, "-") == 0)
        snprintf(buf, n, "%s", label);
    else if (sec->n_keys == 0)
        snprintf(buf, n, "seed=%s", r->seed);
    else
        snprintf(buf, n, "%s seed=%s", label, r->seed);
}

static int runs_rows(tbl *t, const report_section *sec, bool csv, err_info *e)
{
    char c[TBL_MAX_COLS][CELL], config[sizeof sec->groups[0].label + 80];
    const char *row[TBL_MAX_COLS];
    for (int j = 0; j < sec->n_runs; j++) {
        const report_run *r = &sec->runs[sec->order[j]];
        const bool has_epoch = r->epoch > 0;
        int i = 0;
        for (int k = 0; k < TBL_MAX_COLS; k++)
            row[k] = c[k];
        if (csv) {
            row[i++] = sec->experiment;
            row[i++] = r->key;
            row[i++] = r->git_sha;
            snprintf(c[i++], CELL, "%s", r->git_sha[0] ? (r->git_dirty ? "1" : "0") : "");
            row[i++] = sec->groups[r->group].label;
            snprintf(c[i++], CELL, "%s", strcmp(r->seed, "-") ? r->seed : "");
            row[i++] = run_status_name(r->status);
            if (has_epoch)
                cell_int(c[i++], CELL, r->epoch);
            else
                c[i++][0] = '\0';
            cell_int(c[i++], CELL, r->epochs_done);
            cell_raw(c[i++], CELL, has_epoch ? r->acc : NAN);
            cell_raw(c[i++], CELL, has_epoch ? r->f1 : NAN);
            cell_raw(c[i++], CELL, has_epoch ? r->train_s : NAN);
            cell_raw(c[i++], CELL, r->threads > 0 ? r->threads : NAN);
            cell_raw(c[i++], CELL, r->peak_rss_bytes > 0 ? (double)r->peak_rss_bytes : NAN);
        } else {
            snprintf(c[i++], CELL, "%.12s", r->key);
            cell_revision(c[i++], CELL, r);
            cell_config(config, sizeof config, sec, r);
            row[i++] = config;
            row[i++] = run_status_name(r->status);
            cell_num(c[i++], CELL, "%.2f", has_epoch ? r->acc * 100.0 : NAN);
            cell_num(c[i++], CELL, "%.4f", has_epoch ? r->f1 : NAN);
            cell_int(c[i++], CELL, r->epochs_done);
            cell_num(c[i++], CELL, "%.1f", has_epoch ? r->train_s : NAN);
            cell_num(c[i++], CELL, "%.0f", r->threads > 0 ? r->threads : NAN);
            cell_num(c[i++], CELL, "%.0f",
                     r->peak_rss_bytes > 0 ? (double)r->peak_rss_bytes / (1024.0 * 1024.0)
                                           : NAN);
        }
        int rc = tbl_row(t, row, e);
        if (rc)
            return rc;
    }
    return 0;
}

static json_t *jtext(const char *s) { return s[0] ? json_string(s) : json_null(); }

static json_t *runs_json(const report_section *sec)
{
    json_t *jsec = json_object(), *keys = json_array(), *runs = json_array();
    json_object_set_new(jsec, "experiment", json_string(sec->experiment));
    for (int k = 0; k < sec->n_keys; k++)
        json_array_append_new(keys, json_string(sec->keys[k]));
    json_object_set_new(jsec, "keys", keys);
    for (int j = 0; j < sec->n_runs; j++) {
        const report_run *r = &sec->runs[sec->order[j]];
        const bool has_epoch = r->epoch > 0;
        json_t *jr = json_object(), *vals = json_object();
        json_object_set_new(jr, "run", json_string(r->key));
        json_object_set_new(jr, "git_sha", jtext(r->git_sha));
        json_object_set_new(jr, "git_dirty", r->git_sha[0] ? json_boolean(r->git_dirty)
                                                           : json_null());
        json_object_set_new(jr, "group", json_string(sec->groups[r->group].label));
        for (int k = 0; k < sec->n_keys; k++)
            json_object_set_new(vals, sec->keys[k], json_string(r->values[k]));
        json_object_set_new(jr, "values", vals);
        char *end;
        long long seed = strtoll(r->seed, &end, 10);
        json_object_set_new(jr, "seed", end != r->seed && *end == '\0' ? json_integer(seed)
                                                                      : json_null());
        json_object_set_new(jr, "status", json_string(run_status_name(r->status)));
        json_object_set_new(jr, "epoch", has_epoch ? json_integer(r->epoch) : json_null());
        json_object_set_new(jr, "epochs_done", json_integer(r->epochs_done));
        json_object_set_new(jr, "accuracy", jnum(has_epoch ? r->acc : NAN));
        json_object_set_new(jr, "f1", jnum(has_epoch ? r->f1 : NAN));
        json_object_set_new(jr, "train_s", jnum(has_epoch ? r->train_s : NAN));
        json_object_set_new(jr, "threads", r->threads > 0 ? json_integer(r->threads)
                                                          : json_null());
        json_object_set_new(jr, "peak_rss_bytes", r->peak_rss_bytes > 0
                                                      ? json_integer(r->peak_rss_bytes)
                                                      : json_null());
        json_array_append_new(runs, jr);
    }
    json_object_set_new(jsec, "runs", runs);
    return jsec;
}

/* {"format": 1, "epoch": N or null, "experiments": [one(section)...]} for every section. */
static int sections_json_out(FILE *f, const report *r, json_t *(*one)(const report_section *),
                             err_info *e)
{
    json_t *root = json_object(), *secs = json_array();
    json_object_set_new(root, "format", json_integer(1));
    json_object_set_new(root, "epoch", r->opt.epoch ? json_integer(r->opt.epoch) : json_null());
    for (int s = 0; s < r->n_sections; s++)
        json_array_append_new(secs, one(&r->sections[s]));
    json_object_set_new(root, "experiments", secs);
    return json_out(f, root, e);
}

/* The runs of every section of r, one per row in planned order (report_render, opt.runs). */
static int runs_render(FILE *f, const report *r, report_format fmt, err_info *e)
{
    const report_options *o = &r->opt;
    if (fmt == REPORT_JSON)
        return sections_json_out(f, r, runs_json, e);
    int rc = 0;
    tbl t = {0};
    if (fmt == REPORT_CSV) {
        tbl_init(&t, cols_runs_csv, NCOLS(cols_runs_csv));
        for (int s = 0; s < r->n_sections && !rc; s++)
            rc = runs_rows(&t, &r->sections[s], true, e);
        return tbl_finish(f, &t, fmt, "", rc);
    }
    const bool md = fmt == REPORT_MD;
    const char *ind = md ? "" : "  ";
    char at[64];
    if (o->epoch)
        snprintf(at, sizeof at, "epoch %d", o->epoch);
    else
        snprintf(at, sizeof at, "the last epoch");
    for (int s = 0; s < r->n_sections && !rc; s++) {
        const report_section *sec = &r->sections[s];
        fprintf(f, "%s%s runs of experiment %s: %d run%s in planned order, %s accuracy at "
                   "%s\n\n",
                s ? "\n" : "", md ? "##" : "==", sec->experiment, sec->n_runs,
                sec->n_runs == 1 ? "" : "s", sec->validation ? "validation" : "test", at);
        if (sec->n_runs == 0) {
            fprintf(f, "%sno runs\n", ind);
            continue;
        }
        tbl_init(&t, cols_runs_human, NCOLS(cols_runs_human));
        rc = runs_rows(&t, sec, false, e);
        rc = tbl_finish(f, &t, fmt, "  ", rc);
        if (!rc)
            fprintf(f, "\n%srun: the first 12 hex digits of the run key; revision: the build's "
                       "git commit (-dirty: with uncommitted changes);\n%sF1: macro; epochs: "
                       "epochs stored; train s: training time without evaluation up to the "
                       "reported epoch\n",
                    ind, ind);
    }
    return rc;
}

/* ---- rendering the provenance (--provenance) ------------------------------------------------ */

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
    "<experiment", "<kind", ">runs", "<git_sha", "<git_branch", ">git_dirty", "<git_describe",
    "<compiler", "<compiler_version", "<cflags", "<build_type", "<blas", "<kernels",
    "<binary_sha256", "<hostname", "<cpu_model", ">cores", ">ram_bytes", "<os", "<kernel",
    "<dataset", "<dataset_sha256", ">n_images",
};

/* Text for people: "-" for "". */
static const char *dash(const char *s) { return s[0] ? s : "-"; }

/* The CSV table: one row per build, host and data set (kind "build", "host", "dataset"),
 * with that kind's fields (from column PROV_HOST for hosts, PROV_DATASET for data sets) and
 * the others empty. */
enum { PROV_CSV_COLS = NCOLS(cols_prov_csv), PROV_HOST = 14, PROV_DATASET = 20 };

static int prov_csv_rows(tbl *t, const report_section *sec, err_info *e)
{
    char c[PROV_CSV_COLS][CELL];
    const char *row[PROV_CSV_COLS];
    int rc = 0;
    for (int i = 0; i < sec->n_builds + sec->n_hosts + sec->n_datasets && !rc; i++) {
        for (int k = 0; k < PROV_CSV_COLS; k++) {
            c[k][0] = '\0';
            row[k] = c[k];
        }
        row[0] = sec->experiment;
        if (i < sec->n_builds) {
            const report_build *b = &sec->builds[i];
            row[1] = "build";
            cell_int(c[2], CELL, b->n_runs);
            const char *v[] = {b->git_sha, b->git_branch, "", b->git_describe, b->compiler,
                               b->compiler_version, b->cflags, b->build_type, b->blas,
                               b->kernels, b->binary_sha256};
            for (int k = 0; k < NCOLS(v); k++)
                row[3 + k] = v[k];
            row[5] = c[5]; /* git_dirty: empty without a recorded build */
            if (b->id)
                snprintf(c[5], CELL, "%d", b->git_dirty ? 1 : 0);
        } else if (i < sec->n_builds + sec->n_hosts) {
            const report_host *h = &sec->hosts[i - sec->n_builds];
            row[1] = "host";
            cell_int(c[2], CELL, h->n_runs);
            row[PROV_HOST] = h->hostname;
            row[PROV_HOST + 1] = h->cpu_model;
            if (h->cores > 0)
                cell_int(c[PROV_HOST + 2], CELL, h->cores);
            if (h->ram_bytes > 0)
                cell_int(c[PROV_HOST + 3], CELL, h->ram_bytes);
            row[PROV_HOST + 4] = h->os;
            row[PROV_HOST + 5] = h->kernel;
        } else {
            const report_dataset *d = &sec->datasets[i - sec->n_builds - sec->n_hosts];
            row[1] = "dataset";
            cell_int(c[2], CELL, d->n_runs);
            row[PROV_DATASET] = d->name;
            row[PROV_DATASET + 1] = d->sha256;
            if (d->n_images > 0)
                cell_int(c[PROV_DATASET + 2], CELL, d->n_images);
        }
        rc = tbl_row(t, row, e);
    }
    return rc;
}

static json_t *provenance_json(const report_section *sec)
{
    json_t *jsec = json_object(), *builds = json_array(), *hosts = json_array(),
           *datasets = json_array();
    json_object_set_new(jsec, "experiment", json_string(sec->experiment));
    json_object_set_new(jsec, "n_runs", json_integer(sec->n_runs));
    for (int i = 0; i < sec->n_builds; i++) {
        const report_build *b = &sec->builds[i];
        json_t *j = json_object();
        json_object_set_new(j, "git_sha", jtext(b->git_sha));
        json_object_set_new(j, "git_branch", jtext(b->git_branch));
        json_object_set_new(j, "git_dirty", b->id ? json_boolean(b->git_dirty) : json_null());
        json_object_set_new(j, "git_describe", jtext(b->git_describe));
        json_object_set_new(j, "compiler", jtext(b->compiler));
        json_object_set_new(j, "compiler_version", jtext(b->compiler_version));
        json_object_set_new(j, "cflags", jtext(b->cflags));
        json_object_set_new(j, "build_type", jtext(b->build_type));
        json_object_set_new(j, "blas", jtext(b->blas));
        json_object_set_new(j, "kernels", jtext(b->kernels));
        json_object_set_new(j, "binary_sha256", jtext(b->binary_sha256));
        json_object_set_new(j, "runs", json_integer(b->n_runs));
        json_array_append_new(builds, j);
    }
    for (int i = 0; i < sec->n_hosts; i++) {
        const report_host *h = &sec->hosts[i];
        json_t *j = json_object();
        json_object_set_new(j, "hostname", jtext(h->hostname));
        json_object_set_new(j, "cpu_model", jtext(h->cpu_model));
        json_object_set_new(j, "cores", h->cores > 0 ? json_integer(h->cores) : json_null());
        json_object_set_new(j, "ram_bytes", h->ram_bytes > 0 ? json_integer(h->ram_bytes)
                                                             : json_null());
        json_object_set_new(j, "os", jtext(h->os));
        json_object_set_new(j, "kernel", jtext(h->kernel));
        json_object_set_new(j, "runs", json_integer(h->n_runs));
        json_array_append_new(hosts, j);
    }
    for (int i = 0; i < sec->n_datasets; i++) {
        const report_dataset *d = &sec->datasets[i];
        json_array_append_new(
            datasets, json_pack("{s:o, s:o, s:o, s:i}", "name", jtext(d->name), "sha256",
                                jtext(d->sha256), "n_images",
                                d->n_images > 0 ? json_integer(d->n_images) : json_null(),
                                "runs", d->n_runs));
    }
    json_object_set_new(jsec, "builds", builds);
    json_object_set_new(jsec, "hosts", hosts);
    json_object_set_new(jsec, "datasets", datasets);
    return jsec;
}

/* The three small tables of one section, for people. */
static int provenance_tables(FILE *f, const report_section *sec, report_format fmt,
                             err_info *e)
{
    const bool md = fmt == REPORT_MD;
    char c[4][CELL];
    tbl t;
    int rc = 0;
    fprintf(f, "%sbuilds\n\n", md ? "### " : "  ");
    tbl_init(&t, cols_builds, NCOLS(cols_builds));
    for (int i = 0; i < sec->n_builds && !rc; i++) {
        const report_build *b = &sec->builds[i];
        char compiler[sizeof b->compiler + sizeof b->compiler_version + 1];
        snprintf(compiler, sizeof compiler, "%s%s%s", b->compiler,
                 b->compiler[0] && b->compiler_version[0] ? " " : "", b->compiler_version);
        snprintf(c[0], CELL, "%.7s", b->git_sha);
        snprintf(c[1], CELL, "%s", b->id ? (b->git_dirty ? "yes" : "no") : "");
        snprintf(c[2], CELL, "%.12s", b->binary_sha256);
        cell_int(c[3], CELL, b->n_runs);
        const char *v[] = {dash(b->git_sha), dash(c[0]), dash(b->git_branch), dash(c[1]),
                           dash(b->git_describe), dash(compiler), dash(b->cflags),
                           dash(b->build_type), dash(b->blas), dash(b->kernels), dash(c[2]),
                           c[3]};
        rc = tbl_row(&t, v, e);
    }
    rc = tbl_finish(f, &t, fmt, "  ", rc);
    if (rc)
        return rc;
    fprintf(f, "\n%shosts\n\n", md ? "### " : "  ");
    tbl_init(&t, cols_hosts, NCOLS(cols_hosts));
    for (int i = 0; i < sec->n_hosts && !rc; i++) {
        const report_host *h = &sec->hosts[i];
        cell_num(c[0], CELL, "%.0f", h->cores > 0 ? h->cores : NAN);
        cell_num(c[1], CELL, "%.1f",
                 h->ram_bytes > 0 ? (double)h->ram_bytes / (1024.0 * 1024.0 * 1024.0) : NAN);
        cell_int(c[2], CELL, h->n_runs);
        const char *v[] = {dash(h->hostname), dash(h->cpu_model), c[0], c[1], dash(h->os),
                           dash(h->kernel), c[2]};
        rc = tbl_row(&t, v, e);
    }
    rc = tbl_finish(f, &t, fmt, "  ", rc);
    if (rc)
        return rc;
    fprintf(f, "\n%sdata sets\n\n", md ? "### " : "  ");
    tbl_init(&t, cols_datasets, NCOLS(cols_datasets));
    for (int i = 0; i < sec->n_datasets && !rc; i++) {
        const report_dataset *d = &sec->datasets[i];
        snprintf(c[0], CELL, "%.12s", d->sha256);
        cell_num(c[1], CELL, "%.0f", d->n_images > 0 ? (double)d->n_images : NAN);
        cell_int(c[2], CELL, d->n_runs);
        const char *v[] = {dash(d->name), dash(c[0]), c[1], c[2]};
        rc = tbl_row(&t, v, e);
    }
    return tbl_finish(f, &t, fmt, "  ", rc);
}

/* The builds, hosts and data sets of every section (report_render, opt.provenance). */
static int provenance_render(FILE *f, const report *r, report_format fmt, err_info *e)
{
    if (fmt == REPORT_JSON) {
        json_t *root = json_object(), *secs = json_array();
        json_object_set_new(root, "format", json_integer(1));
        for (int s = 0; s < r->n_sections; s++)
            json_array_append_new(secs, provenance_json(&r->sections[s]));
        json_object_set_new(root, "experiments", secs);
        return json_out(f, root, e);
    }
    int rc = 0;
    if (fmt == REPORT_CSV) {
        tbl t;
        tbl_init(&t, cols_prov_csv, NCOLS(cols_prov_csv));
        for (int s = 0; s < r->n_sections && !rc; s++)
            rc = prov_csv_rows(&t, &r->sections[s], e);
        return tbl_finish(f, &t, fmt, "", rc);
    }
    const bool md = fmt == REPORT_MD;
    const char *ind = md ? "" : "  ";
    for (int s = 0; s < r->n_sections && !rc; s++) {
        const report_section *sec = &r->sections[s];
        fprintf(f, "%s%s provenance of experiment %s: %d run%s\n\n", s ? "\n" : "",
                md ? "##" : "==", sec->experiment, sec->n_runs, sec->n_runs == 1 ? "" : "s");
        if (sec->n_runs == 0) {
            fprintf(f, "%sno runs\n", ind);
            continue;
        }
        rc = provenance_tables(f, sec, fmt, e);
        if (!rc)
            fprintf(f, "\n%sruns: how many of the experiment's runs used each; a build is "
                       "listed once per kernel set its runs used;\n%s\"-\": not recorded\n",
                    ind, ind);
    }
    return rc;
}

int report_render(FILE *f, const report *r, report_format fmt, err_info *e)
{
    const report_options *o = &r->opt;
    if (o->runs)
        return runs_render(f, r, fmt, e);
    if (o->provenance)
        return provenance_render(f, r, fmt, e);
    if (fmt == REPORT_JSON)
        return sections_json_out(f, r, section_json, e);
    int rc = 0;
    tbl t = {0};
    if (fmt == REPORT_CSV) {
        if (o->per_class) {
            tbl_init(&t, cols_cls_csv, NCOLS(cols_cls_csv));
            for (int s = 0; s < r->n_sections && !rc; s++)
                for (int g = 0; g < r->sections[s].n_groups && !rc; g++)
                    rc = classes_rows(&t, &r->sections[s], &r->sections[s].groups[g], true, e);
        } else {
            tbl_init(&t, cols_csv, NCOLS(cols_csv));
            for (int s = 0; s < r->n_sections && !rc; s++)
                rc = groups_csv(&t, &r->sections[s], e);
        }
        return tbl_finish(f, &t, fmt, "", rc);
    }
    const bool md = fmt == REPORT_MD;
    char at[64];
    if (o->epoch)
        snprintf(at, sizeof at, "epoch %d", o->epoch);
    else
        snprintf(at, sizeof at, "last epoch");
    for (int s = 0; s < r->n_sections && !rc; s++) {
        const report_section *sec = &r->sections[s];
        int unfinished = 0, shorter = 0;
        for (int g = 0; g < sec->n_groups; g++) {
            unfinished += sec->groups[g].n_unfinished;
            shorter += sec->groups[g].n_short;
        }
        fprintf(f, "%s%s experiment %s: %d run%s, %s accuracy at the %s%s\n\n",
                s ? "\n" : "", md ? "##" : "==", sec->experiment, sec->n_runs,
                sec->n_runs == 1 ? "" : "s",
                sec->validation ? "validation (held-out training images)" : "test", at,
                o->sort_f1 ? ", sorted by macro F1" : "");
        if (sec->validation)
            fprintf(f, "%s(every accuracy, F1 and comparison of this experiment is on its validation "
                       "split; the test set is not read)\n\n", md ? "" : "  ");
        if (sec->n_groups == 0) {
            fprintf(f, "%sno runs\n", md ? "" : "  ");
            continue;
        }
        if (o->sort_f1)
            tbl_init(&t, cols_human_f1, NCOLS(cols_human_f1));
        else
            tbl_init(&t, cols_human, NCOLS(cols_human));
        rc = groups_table(&t, sec, o->sort_f1, e);
        rc = tbl_finish(f, &t, fmt, "  ", rc);
        if (rc)
            break;
        const char *ind = md ? "" : "  ";
        fprintf(f, "\n%sn: COMPLETED runs averaged; sd and CI need n >= 2 (\"-\" otherwise); "
                   "95%% CI of the mean (Student t, n-1 dof);\n%sF1, precision, recall: macro "
                   "averages over the classes; train s: training time without evaluation\n",
                ind, ind);
        if (unfinished)
            fprintf(f, "%s%d run%s unfinished (queued, running or interrupted), not counted\n",
                    ind, unfinished, unfinished == 1 ? "" : "s");
        if (shorter)
            fprintf(f, "%s%d completed run%s without epoch %d, not counted\n", ind, shorter,
                    shorter == 1 ? "" : "s", o->epoch);
        if (sec->n_cmp > 0) {
            int total = 0;
            for (int j = 0; j < r->n_sections; j++)
                total += r->sections[j].n_cmp;
            fprintf(f, "\n%scomparisons (Welch's t-test of mean test accuracy, a - b in "
                       "percentage points, 95%% CI; p Holm-corrected over the %d comparison%s "
                       "of this report; * = p (Holm) < 0.05)\n\n",
                    md ? "" : "  ", total, total == 1 ? "" : "s");
            tbl_init(&t, cols_cmp, NCOLS(cols_cmp));
            rc = cmp_table(&t, sec, e);
            rc = tbl_finish(f, &t, fmt, "  ", rc);
        }
        if (o->per_class)
            for (int g = 0; g < sec->n_groups && !rc; g++) {
                const report_group *gr = &sec->groups[g];
                fprintf(f, "\n%sper class: %s (mean over %d run%s)\n\n",
                        md ? "### " : "  ", gr->label, gr->n, gr->n == 1 ? "" : "s");
                if (gr->k == 0) {
                    fprintf(f, "%sno per-class metrics stored\n", md ? "" : "  ");
                    continue;
                }
                tbl_init(&t, cols_cls_human, NCOLS(cols_cls_human));
                rc = classes_rows(&t, sec, gr, false, e);
                rc = tbl_finish(f, &t, fmt, "  ", rc);
            }
    }
    return rc;
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

/* The claims (DESIGN.md §2) and where each is measured: the first experiment of the list
 * that has any run. */
enum { CLAIM_ACC, CLAIM_F1, CLAIM_TIME };
static const struct claim_def {
    const char *what, *claimed;
    double claim;
    int metric;
    const char *experiments[2];
} claim_defs[REPORT_N_CLAIMS] = {
    {"test accuracy (Lee & Rhee 2024)", "99.22%", 0.9922, CLAIM_ACC, {"paper", "ci"}},
    {"macro F1 (Lee & Rhee 2024)", "0.9919", 0.9919, CLAIM_F1, {"paper", "ci"}},
    {"training time per run", "~20 min", 1200.0, CLAIM_TIME, {"paper", "ci"}},
    {"LeNet-5 test accuracy (LeCun 1998)", "99.05%", 0.9905, CLAIM_ACC, {"lenet5", NULL}},
    {"CNN with BN test accuracy (Ji 2018)", "99%", 0.99, CLAIM_ACC, {"ji2018", NULL}},
};

int report_paper(report_claim out[REPORT_N_CLAIMS], store *s, int epoch, err_info *e)
{
    int rc = 0;
    for (int i = 0; i < REPORT_N_CLAIMS; i++) {
        const struct claim_def *d = &claim_defs[i];
        report_claim *c = &out[i];
        *c = (report_claim){.what = d->what, .claimed = d->claimed, .claim = d->claim,
                            .is_time = d->metric == CLAIM_TIME};
        stats_summarize(&c->m, NULL, 0);
        for (int x = 0; x < 2 && d->experiments[x] && !c->experiment[0]; x++) {
            report_options o = report_options_default();
            o.experiment = d->experiments[x];
            o.group_by = "";
            o.epoch = epoch;
            o.compare = 0;
            report r;
            err_info le = {0};
            rc = report_load(&r, s, &o, &le);
            if (rc == ERR_INVALID && strncmp(le.msg, "no experiment", 13) == 0) {
                report_release(&r);
                rc = 0;
                continue; /* not run yet: try the next source */
            }
            if (rc) {
                *e = le;
                report_release(&r);
                return rc;
            }
            if (r.n_sections == 1 && r.sections[0].n_groups == 1) {
                const report_group *g = &r.sections[0].groups[0];
                snprintf(c->experiment, sizeof c->experiment, "%s", d->experiments[x]);
                c->m = d->metric == CLAIM_ACC ? g->acc
                       : d->metric == CLAIM_F1 ? g->f1
                                               : g->train_s;
            }
            report_release(&r);
        }
        c->verdict = c->is_time ? report_verdict_time(c->claim, &c->m)
                                : report_verdict_accuracy(c->claim, &c->m);
    }
    return rc;
}

static const char *const cols_paper[] = {
    "<claim", ">claimed", "<experiment", ">n", ">measured (mean ± sd)", ">95% CI", "<verdict",
};
static const char *const cols_paper_csv[] = {
    "<claim", ">claimed", "<experiment", ">n", ">mean", ">sd", ">ci_low", ">ci_high",
    "<verdict",
};

static const char paper_rules[] =
    "accuracy and F1 claims: reproduced when the claim lies inside the 95% CI of the mean or\n"
    "the mean is at least the claim; not reproduced when the whole CI lies below the claim;\n"
    "inconclusive with fewer than 2 completed runs. time claim: reproduced when the mean\n"
    "training time per run is at most the claim (the paper: an i7-13700K, Python, no GPU).\n";

int report_paper_render(FILE *f, const report_claim *cl, int n, report_format fmt, err_info *e)
{
    if (fmt == REPORT_JSON) {
        json_t *arr = json_array();
        for (int i = 0; i < n; i++) {
            const report_claim *c = &cl[i];
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:f, s:s, s:s?, s:i, s:o, s:o, s:o, s:o, s:s}",
                               "claim", c->what, "claimed", c->claimed, "claim_value", c->claim,
                               "unit", c->is_time ? "s" : "fraction", "experiment",
                               c->experiment[0] ? c->experiment : NULL, "n", c->m.n, "mean",
                               jnum(c->m.mean), "sd", jnum(c->m.sd), "ci_low", jnum(c->m.ci_lo),
                               "ci_high", jnum(c->m.ci_hi), "verdict",
                               report_verdict_name(c->verdict)));
        }
        json_t *root = json_pack("{s:i, s:o, s:s}", "format", 1, "claims", arr, "rule",
                                 paper_rules);
        return json_out(f, root, e);
    }
    bool csv = fmt == REPORT_CSV;
    tbl t;
    if (csv)
        tbl_init(&t, cols_paper_csv, NCOLS(cols_paper_csv));
    else
        tbl_init(&t, cols_paper, NCOLS(cols_paper));
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        const report_claim *c = &cl[i];
        char nb[16], a[CELL], b[CELL], ci_l[CELL], ci_h[CELL];
        cell_int(nb, sizeof nb, c->m.n);
        const char *exp_name = c->experiment[0] ? c->experiment : "-";
        if (csv) {
            cell_raw(a, CELL, c->m.mean);
            cell_raw(b, CELL, c->m.sd);
            cell_raw(ci_l, CELL, c->m.ci_lo);
            cell_raw(ci_h, CELL, c->m.ci_hi);
            const char *row[] = {c->what, c->claimed, exp_name, nb, a, b, ci_l, ci_h,
                                 report_verdict_name(c->verdict)};
            rc = tbl_row(&t, row, e);
        } else {
            /* accuracies in percent, F1 as a fraction, time in minutes */
            double scale = c->is_time ? 1.0 / 60.0 : strchr(c->claimed, '%') ? 100.0 : 1.0;
            int dec = c->is_time ? 1 : scale == 100.0 ? 2 : 4;
            cell_pm(a, CELL, &c->m, scale, dec);
            if (c->is_time && c->m.n)
                snprintf(a + strlen(a), CELL - strlen(a), " min");
            cell_ci(b, CELL, c->m.ci_lo, c->m.ci_hi, scale, dec);
            const char *row[] = {c->what, c->claimed, exp_name, nb, a, b,
                                 report_verdict_name(c->verdict)};
            rc = tbl_row(&t, row, e);
        }
    }
    if (!rc) {
        if (!csv)
            fprintf(f, "%s claimed versus measured (Lee & Rhee 2024 and its comparison points)\n\n",
                    fmt == REPORT_MD ? "##" : "==");
        tbl_print(f, &t, fmt, "  ");
        if (!csv) {
            fputc('\n', f);
            for (const char *p = paper_rules; *p;) {
                size_t len = strcspn(p, "\n");
                fprintf(f, "%s%.*s\n", fmt == REPORT_MD ? "" : "  ", (int)len, p);
                p += len + (p[len] == '\n');
            }
        }
    }
    tbl_free(&t);
    return rc;
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

int report_confusion(FILE *f, store *s, const char *run, int epoch, report_format fmt,
                     err_info *e)
{
    char key[STORE_KEY_MAX];
    conf_pick p = {.want = epoch, .e = e};
    tbl t = {0};
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
    if (fmt == REPORT_JSON) {
        json_t *rows = json_array();
        for (size_t i = 0; i < k; i++) {
            json_t *row = json_array();
            for (size_t j = 0; j < k; j++)
                json_array_append_new(row, json_integer(p.m[i * k + j]));
            json_array_append_new(rows, row);
        }
        rc = json_out(f, json_pack("{s:i, s:s, s:i, s:i, s:o}", "format", 1, "run", key,
                                   "epoch", p.epoch, "classes", p.k, "matrix", rows),
                      e);
        goto done;
    }
    /* columns: "true\pred", then one per predicted class */
    static const char *const heads[] = {"<true\\pred", ">0", ">1", ">2", ">3", ">4", ">5",
                                        ">6", ">7", ">8", ">9", ">10", ">11", ">12", ">13",
                                        ">14", ">15", ">16", ">17", ">18", ">19", ">20", ">21",
                                        ">22"};
    if (k + 1 > TBL_MAX_COLS) {
        rc = err_set(e, ERR_INVALID, "run '%.12s' has %zu classes: too many to print (json "
                     "format has no limit)", key, k);
        goto done;
    }
    tbl_init(&t, heads, (int)k + 1);
    char c[TBL_MAX_COLS][24];
    const char *row[TBL_MAX_COLS];
    for (size_t i = 0; i < k && !rc; i++) {
        for (size_t j = 0; j <= k; j++)
            row[j] = c[j];
        snprintf(c[0], sizeof c[0], "%zu", i);
        for (size_t j = 0; j < k; j++)
            snprintf(c[j + 1], sizeof c[j + 1], "%lld", (long long)p.m[i * k + j]);
        rc = tbl_row(&t, row, e);
    }
    if (rc)
        goto done;
    if (fmt != REPORT_CSV)
        fprintf(f, "%s confusion matrix of run %s at epoch %d (rows: true class, columns: "
                   "predicted)\n\n",
                fmt == REPORT_MD ? "##" : "==", key, p.epoch);
    tbl_print(f, &t, fmt, "  ");
done:
    tbl_free(&t);
    free(p.m);
    return rc;
}

/* ---- history -------------------------------------------------------------------------------- */

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

bool report_moved(const stats_summary *prev, const stats_summary *cur, double fallback_sd)
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
 * the fallback sd of report_moved for revisions of a single value. */
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

static int cmp_revision(const void *x, const void *y)
{
    const report_revision *a = x, *b = y;
    return strcmp(a->date, b->date);
}

int report_history(report_revision **out, int *n_out, store *s, const char *experiment,
                   err_info *e)
{
    *out = NULL;
    *n_out = 0;
    report_options o = report_options_default();
    o.experiment = experiment;
    o.group_by = "";
    o.compare = 0;
    report r;
    report_revision *h = NULL;
    double *acc = NULL, *ts = NULL;
    int n = 0;
    int rc = report_load(&r, s, &o, e);
    if (rc)
        goto done;
    const report_section *sec = &r.sections[0];
    size_t cap = (size_t)(sec->n_runs ? sec->n_runs : 1);
    h = calloc(cap, sizeof *h);
    acc = malloc(cap * sizeof *acc);
    ts = malloc(cap * sizeof *ts);
    if (!h || !acc || !ts) {
        rc = err_set(e, ERR_NOMEM, "out of memory building the history");
        goto done;
    }
    /* Revisions in order of first appearance; date = earliest started_at of their runs. */
    for (int i = 0; i < sec->n_runs; i++) {
        const report_run *run = &sec->runs[i];
        if (run->status != RUN_COMPLETED || run->epoch == 0)
            continue;
        const char *sha = run->git_sha[0] ? run->git_sha : "none";
        int j = 0;
        while (j < n && strcmp(h[j].git_sha, sha) != 0)
            j++;
        if (j == n) {
            snprintf(h[n].git_sha, sizeof h[n].git_sha, "%s", sha);
            snprintf(h[n].date, sizeof h[n].date, "%s", run->started_at);
            n++;
        } else if (run->started_at[0] && strcmp(run->started_at, h[j].date) < 0) {
            snprintf(h[j].date, sizeof h[j].date, "%s", run->started_at);
        }
    }
    qsort(h, (size_t)n, sizeof *h, cmp_revision);
    noise noise_acc = {0}, noise_time = {0};
    for (int j = 0; j < n; j++) {
        int m = 0;
        for (int i = 0; i < sec->n_runs; i++) {
            const report_run *run = &sec->runs[i];
            const char *sha = run->git_sha[0] ? run->git_sha : "none";
            if (run->status == RUN_COMPLETED && run->epoch > 0 && strcmp(sha, h[j].git_sha) == 0) {
                acc[m] = run->acc;
                ts[m++] = run->train_s;
            }
        }
        stats_summarize(&h[j].acc, acc, m);
        stats_summarize(&h[j].train_s, ts, m);
        if (j > 0) {
            h[j].acc_moved = report_moved(&h[j - 1].acc, &h[j].acc, noise_sd(&noise_acc));
            h[j].time_moved =
                report_moved(&h[j - 1].train_s, &h[j].train_s, noise_sd(&noise_time));
        }
        noise_add(&noise_acc, &h[j].acc); /* for later single-run revisions */
        noise_add(&noise_time, &h[j].train_s);
    }
    *out = h;
    *n_out = n;
    h = NULL;
done:
    free(h);
    free(acc);
    free(ts);
    report_release(&r);
    return rc;
}

/* buf <- "2024-05-01 12:34" of the stored "2024-05-01T12:34:56.789Z". */
static void cell_date(char *buf, size_t n, const char *iso)
{
    snprintf(buf, n, "%.10s %.5s", iso, strlen(iso) > 11 ? iso + 11 : "");
}

/* The rule under a history's tables: a blank line, then each line indented (table) or not
 * (Markdown). */
static void rule_print(FILE *f, const char *rule, report_format fmt)
{
    fputc('\n', f);
    for (const char *p = rule; *p;) {
        size_t len = strcspn(p, "\n");
        fprintf(f, "%s%.*s\n", fmt == REPORT_MD ? "" : "  ", (int)len, p);
        p += len + (p[len] == '\n');
    }
}

static const char history_rule[] =
    "mark: 'acc', 'time' or 'acc+time' where the mean moved from the previous revision by more\n"
    "than twice the pooled sd of the two revisions' runs (the noise across seeds); when both\n"
    "have a single run, the pooled sd of every earlier revision is the noise; no mark without.\n";

int report_history_render(FILE *f, const report_history_set *sets, int n_sets,
                          report_format fmt, err_info *e)
{
    if (fmt == REPORT_JSON) {
        json_t *exps = json_array();
        for (int x = 0; x < n_sets; x++) {
            const report_revision *h = sets[x].rows;
            json_t *arr = json_array();
            for (int i = 0; i < sets[x].n; i++)
                json_array_append_new(
                    arr, json_pack("{s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:b, s:b}", "date",
                                   h[i].date, "git_sha", h[i].git_sha, "n", h[i].acc.n,
                                   "acc_mean", jnum(h[i].acc.mean), "acc_sd", jnum(h[i].acc.sd),
                                   "train_s_mean", jnum(h[i].train_s.mean), "train_s_sd",
                                   jnum(h[i].train_s.sd), "acc_moved", h[i].acc_moved,
                                   "time_moved", h[i].time_moved));
            json_array_append_new(exps, json_pack("{s:s, s:o}", "experiment",
                                                  sets[x].experiment, "revisions", arr));
        }
        return json_out(f, json_pack("{s:i, s:o, s:s}", "format", 1, "experiments", exps,
                                     "rule", history_rule),
                        e);
    }
    static const char *const cols[] = {"<date", "<revision", ">n", ">acc % (mean ± sd)",
                                       ">train s/run (mean ± sd)", "<mark"};
    static const char *const cols_csv[] = {"<experiment", "<date", "<git_sha", ">n",
                                           ">acc_mean", ">acc_sd", ">train_s_mean",
                                           ">train_s_sd", "<mark"};
    const bool csv = fmt == REPORT_CSV, md = fmt == REPORT_MD;
    tbl t;
    tbl_init(&t, cols_csv, NCOLS(cols_csv));
    int rc = 0;
    for (int x = 0; x < n_sets && !rc; x++) {
        const report_revision *h = sets[x].rows;
        int n = sets[x].n;
        if (!csv) {
            tbl_free(&t);
            tbl_init(&t, cols, NCOLS(cols));
        }
        for (int i = 0; i < n && !rc; i++) {
            char date[32], sha[48], nb[16], a[CELL], b[CELL], c[CELL], d[CELL], mark[16];
            snprintf(mark, sizeof mark, "%s%s%s", h[i].acc_moved ? "acc" : "",
                     h[i].acc_moved && h[i].time_moved ? "+" : "",
                     h[i].time_moved ? "time" : "");
            cell_int(nb, sizeof nb, h[i].acc.n);
            if (csv) {
                cell_raw(a, CELL, h[i].acc.mean);
                cell_raw(b, CELL, h[i].acc.sd);
                cell_raw(c, CELL, h[i].train_s.mean);
                cell_raw(d, CELL, h[i].train_s.sd);
                const char *row[] = {sets[x].experiment, h[i].date, h[i].git_sha, nb, a, b, c,
                                     d, mark};
                rc = tbl_row(&t, row, e);
            } else {
                cell_date(date, sizeof date, h[i].date);
                snprintf(sha, sizeof sha, "%.10s", h[i].git_sha);
                cell_pm(a, CELL, &h[i].acc, 100.0, 2);
                cell_pm(b, CELL, &h[i].train_s, 1.0, 1);
                const char *row[] = {date, sha, nb, a, b, mark};
                rc = tbl_row(&t, row, e);
            }
        }
        if (rc || csv)
            continue;
        fprintf(f, "%s%s history of experiment %s: completed runs per git revision, oldest "
                   "first\n\n",
                x ? "\n" : "", md ? "##" : "==", sets[x].experiment);
        if (n == 0)
            fprintf(f, "%sno completed runs\n", md ? "" : "  ");
        else
            tbl_print(f, &t, fmt, "  ");
    }
    if (!rc && csv)
        tbl_print(f, &t, fmt, "");
    if (!rc && !csv)
        rule_print(f, history_rule, fmt);
    tbl_free(&t);
    return rc;
}

/* ---- speed history (bench history --perf) ----------------------------------------------------- */

/* One stored measurement, as the speed history needs it. */
typedef struct perf_point {
    char git_sha[48];
    bool git_dirty;
    char date[32];
    report_perf_setup setup;    /* its key fields only (n = 0, rows = NULL) */
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
    if (!grow((void **)&l->v, l->n, &l->cap, sizeof *l->v))
        return err_set(l->e, ERR_NOMEM, "out of memory reading the measurements");
    perf_point *p = &l->v[l->n++];
    *p = (perf_point){
        .git_dirty = r->git_sha && r->git_dirty,
        .setup = {.threads = r->m.threads, .batch = r->m.batch, .unfused = r->m.unfused != 0},
        .epoch_s = r->m.epoch_s,
        .images_per_s = r->m.images_per_s,
        /* against the physical peak only: before schema 5 the "peak" was an SGEMM through the
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
    const report_perf_setup *a = x, *b = y;
    if (a->threads != b->threads)
        return a->threads < b->threads ? -1 : 1;
    if (a->batch != b->batch)
        return a->batch < b->batch ? -1 : 1;
    int c = strcmp(a->data, b->data);
    if (!c)
        c = strcmp(a->kernel_set, b->kernel_set);
    return c ? c : (int)a->unfused - (int)b->unfused;
}

static bool same_setup(const report_perf_setup *a, const report_perf_setup *b)
{
    return cmp_setup(a, b) == 0;
}

static bool same_revision(const report_perf_revision *r, const perf_point *p)
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
static int perf_setup_rows(report_perf_setup *u, const perf_points *l, double *scratch,
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
        report_perf_revision *r = &u->rows[u->n++];
        copy_text(r->git_sha, sizeof r->git_sha, p->git_sha);
        r->git_dirty = p->git_dirty;
        copy_text(r->date, sizeof r->date, p->date);
    }
    noise z = {0};
    for (int j = 0; j < u->n; j++) {
        report_perf_revision *r = &u->rows[j];
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
        if (prev && report_moved(prev, &r->epoch_s, noise_sd(&z)))
            r->moved = r->epoch_s.mean > prev->mean ? 1 : -1;
        noise_add(&z, &r->epoch_s); /* for later single-measurement revisions */
    }
    return 0;
}

int report_perf_history(report_perf_setup **out, int *n_out, store *s, err_info *e)
{
    *out = NULL;
    *n_out = 0;
    perf_points l = {.e = e};
    report_perf_setup *v = NULL;
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
    report_perf_history_free(v, n);
    free(scratch);
    free(l.v);
    return rc;
}

void report_perf_history_free(report_perf_setup *v, int n)
{
    for (int k = 0; v && k < n; k++)
        free(v[k].rows);
    free(v);
}

static const char perf_rule[] =
    "mark: 'slower' or 'faster' where the mean s/epoch moved from the previous revision by more\n"
    "than twice the pooled sd of the two revisions' measurements; when both have a single\n"
    "measurement, the pooled sd of the setup's earlier revisions is the noise; no mark without.\n"
    "% of peak: the whole iteration's GFLOP/s against the SGEMM peak measured with it (a\n"
    "1-thread measurement beside an N-thread one has none).\n";

static const char *perf_mark(int moved) { return moved > 0 ? "slower" : moved < 0 ? "faster" : ""; }

int report_perf_history_render(FILE *f, const report_perf_setup *v, int n, report_format fmt,
                               err_info *e)
{
    if (fmt == REPORT_JSON) {
        json_t *setups = json_array();
        for (int k = 0; k < n; k++) {
            json_t *revs = json_array();
            for (int i = 0; i < v[k].n; i++) {
                const report_perf_revision *r = &v[k].rows[i];
                json_array_append_new(
                    revs, json_pack("{s:s, s:s, s:b, s:i, s:o, s:o, s:o, s:o, s:o, s:o}", "date",
                                    r->date, "git_sha", r->git_sha, "git_dirty", r->git_dirty,
                                    "n", r->n, "epoch_s_mean", jnum(r->epoch_s.mean),
                                    "epoch_s_sd", jnum(r->epoch_s.sd), "epoch_s_best",
                                    jnum(r->epoch_s.min), "images_per_s_mean",
                                    jnum(r->images_per_s.mean), "pct_peak_mean",
                                    jnum(r->pct_peak.mean), "mark",
                                    r->moved ? json_string(perf_mark(r->moved)) : json_null()));
            }
            json_array_append_new(setups, json_pack("{s:i, s:i, s:s, s:s, s:b, s:o}", "threads",
                                                    v[k].threads, "batch", v[k].batch, "data",
                                                    v[k].data, "kernel_set", v[k].kernel_set,
                                                    "unfused", v[k].unfused, "revisions", revs));
        }
        return json_out(f, json_pack("{s:i, s:o, s:s}", "format", 1, "setups", setups, "rule",
                                     perf_rule),
                        e);
    }
    static const char *const cols[] = {"<date",     "<revision", ">n",          ">s/epoch (mean ± sd)",
                                       ">best s/epoch", ">images/s", ">% of peak", "<mark"};
    static const char *const cols_csv[] = {
        ">threads",     ">batch",        "<data",        "<kernel_set",        ">unfused",
        "<date",        "<git_sha",      ">git_dirty",   ">n",                 ">epoch_s_mean",
        ">epoch_s_sd",  ">epoch_s_best", ">images_per_s_mean", ">pct_peak_mean", "<mark"};
    const bool csv = fmt == REPORT_CSV;
    tbl t;
    tbl_init(&t, cols_csv, NCOLS(cols_csv));
    int rc = 0;
    for (int k = 0; k < n && !rc; k++) {
        const report_perf_setup *u = &v[k];
        if (!csv) {
            tbl_free(&t);
            tbl_init(&t, cols, NCOLS(cols));
        }
        for (int i = 0; i < u->n && !rc; i++) {
            const report_perf_revision *r = &u->rows[i];
            char c[15][CELL];
            cell_int(c[8], CELL, r->n);
            if (csv) {
                cell_int(c[0], CELL, u->threads);
                cell_int(c[1], CELL, u->batch);
                cell_int(c[4], CELL, u->unfused);
                cell_int(c[7], CELL, r->git_dirty);
                cell_raw(c[9], CELL, r->epoch_s.mean);
                cell_raw(c[10], CELL, r->epoch_s.sd);
                cell_raw(c[11], CELL, r->epoch_s.min);
                cell_raw(c[12], CELL, r->images_per_s.mean);
                cell_raw(c[13], CELL, r->pct_peak.mean);
                const char *row[] = {c[0],    c[1],       u->data, u->kernel_set,       c[4],
                                     r->date, r->git_sha, c[7],    c[8],                c[9],
                                     c[10],   c[11],      c[12],   c[13], perf_mark(r->moved)};
                rc = tbl_row(&t, row, e);
            } else {
                cell_date(c[0], CELL, r->date);
                snprintf(c[1], CELL, "%.10s%s", r->git_sha, r->git_dirty ? "-dirty" : "");
                cell_pm(c[2], CELL, &r->epoch_s, 1.0, 2);
                cell_num(c[3], CELL, "%.2f", r->epoch_s.min);
                cell_num(c[4], CELL, "%.0f", r->images_per_s.mean);
                cell_num(c[5], CELL, "%.1f", r->pct_peak.mean);
                const char *row[] = {c[0], c[1], c[8], c[2], c[3], c[4], c[5], perf_mark(r->moved)};
                rc = tbl_row(&t, row, e);
            }
        }
        if (rc || csv)
            continue;
        fprintf(f, "%s%s speed history: %d thread%s, batch %d, %s data%s%s%s; bench perf per git "
                   "revision, oldest first\n\n",
                k ? "\n" : "", fmt == REPORT_MD ? "##" : "==", u->threads,
                u->threads == 1 ? "" : "s", u->batch, u->data,
                strcmp(u->kernel_set, "auto") ? ", kernels " : "",
                strcmp(u->kernel_set, "auto") ? u->kernel_set : "", u->unfused ? ", unfused" : "");
        tbl_print(f, &t, fmt, "  ");
    }
    if (!rc && csv)
        tbl_print(f, &t, fmt, "");
    if (!rc && !csv)
        rule_print(f, perf_rule, fmt);
    tbl_free(&t);
    return rc;
}
