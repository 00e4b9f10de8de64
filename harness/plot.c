/* plot: the paper's figures as gnuplot scripts and data. See plot.h for the contract. */
#define _POSIX_C_SOURCE 200809L /* strdup, fork, mkdir */
#include "plot.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data.h"
#include "exp.h"
#include "proc.h"
#include "sha256.h"
#include "timing.h"
#include "vec.h"

static const char *const plot_format_names[PLOT_FORMAT_COUNT] = {
    [PLOT_PNG] = "png",
    [PLOT_SVG] = "svg",
    [PLOT_PDF] = "pdf",
};

const char *plot_format_name(plot_format f)
{
    return f >= 0 && f < PLOT_FORMAT_COUNT ? plot_format_names[f] : "?";
}

int plot_format_parse(plot_format *out, const char *name, err_info *e)
{
    for (int i = 0; i < PLOT_FORMAT_COUNT; i++)
        if (name && strcasecmp(name, plot_format_names[i]) == 0) {
            *out = (plot_format)i;
            return 0;
        }
    return err_set(e, ERR_INVALID, "unknown image format '%s' (valid: png, svg, pdf)",
                   name ? name : "");
}

/* ---- the style file -----------------------------------------------------------------------
 * A verbatim copy of plots/style.gp, so that `bench plot` works outside the repository too.
 * After editing plots/style.gp, copy it here line by line as C strings: tests/test_plot.c
 * fails until the two agree. */
static const char plot_style[] = /* BEGIN plots/style.gp */
    "# plots/style.gp: the shared look of every figure `bench plot` writes.\n"
    "#\n"
    "# bench copies this file into every figure script it writes, after a few variables:\n"
    "#   bench_format  'png' (default), 'svg' or 'pdf'\n"
    "#   bench_width, bench_height   image size in pixels (default 800 x 500)\n"
    "#   bench_footer  one line of provenance drawn at the bottom left (optional)\n"
    "# A script loads no file but its own data, so no file planted beside a figure directory can\n"
    "# run code when the figure is drawn. To restyle every figure, edit this file and rebuild (the\n"
    "# program's built-in copy, harness/plot.c, must stay equal: tests/test_plot.c checks it).\n"
    "# PNG uses the cairo terminal when this gnuplot has it, else the libgd png terminal.\n"
    "\n"
    "if (!exists(\"bench_format\")) bench_format = 'png'\n"
    "if (!exists(\"bench_width\")) bench_width = 800\n"
    "if (!exists(\"bench_height\")) bench_height = 500\n"
    "\n"
    "# pdfcairo measures in inches: 100 pixels an inch keeps the proportions.\n"
    "if (bench_format eq 'svg') {\n"
    "    set terminal svg size bench_width, bench_height dynamic font 'Sans,12' background rgb 'white'\n"
    "}\n"
    "if (bench_format eq 'pdf') {\n"
    "    set terminal pdfcairo size bench_width / 100.0, bench_height / 100.0 font 'Sans,7'\n"
    "}\n"
    "if (bench_format ne 'svg' && bench_format ne 'pdf') {\n"
    "    if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
    "        set terminal pngcairo size bench_width, bench_height font 'Sans,10' background rgb 'white'\n"
    "    } else {\n"
    "        set terminal png size bench_width, bench_height background rgb 'white'\n"
    "    }\n"
    "}\n"
    "# Titles and keys are run labels such as \"eval_test_n=1000\": no enhanced-text markup.\n"
    "set termoption noenhanced\n"
    "\n"
    "# Colour-blind-safe lines (Okabe-Ito); line style 1 is \"train\", 2 is \"test\" in Fig. 4.\n"
    "set linetype 1 lc rgb '#0072B2' lw 2 pt 7 ps 0.6\n"
    "set linetype 2 lc rgb '#D55E00' lw 2 pt 5 ps 0.6\n"
    "set linetype 3 lc rgb '#009E73' lw 2 pt 9 ps 0.7\n"
    "set linetype 4 lc rgb '#CC79A7' lw 2 pt 11 ps 0.7\n"
    "set linetype 5 lc rgb '#E69F00' lw 2 pt 13 ps 0.7\n"
    "set linetype 6 lc rgb '#56B4E9' lw 2 pt 7 ps 0.6\n"
    "set linetype 7 lc rgb '#000000' lw 2 pt 5 ps 0.6\n"
    "set linetype 8 lc rgb '#999999' lw 2 pt 9 ps 0.7\n"
    "set linetype cycle 8\n"
    "\n"
    "# The +/-1 sd band around a mean: translucent, no outline.\n"
    "set style fill transparent solid 0.20 noborder\n"
    "\n"
    "set border 3 lc rgb '#444444'\n"
    "set tics out nomirror\n"
    "set grid xtics ytics lc rgb '#e5e5e5' lw 1 dt 1\n"
    "set key opaque box lc rgb '#cccccc' samplen 2 spacing 1.2\n"
    "\n"
    "# Confusion matrices: white (0) to dark blue (largest count).\n"
    "set palette defined (0 '#ffffff', 0.15 '#c6dbef', 0.5 '#4292c6', 1 '#08306b')\n"
    "\n"
    "# Room for the footer under the x axis label.\n"
    "set bmargin 5\n"
    "if (exists(\"bench_footer\")) {\n"
    "    set label 1000 bench_footer at screen 0.01, screen 0.02 left font ',8' tc rgb '#666666'\n"
    "}\n"
    /* END plots/style.gp */;

const char *plot_style_text(void) { return plot_style; }

/* ---- loading ------------------------------------------------------------------------------ */

/* A run as first read, before it is sorted into an experiment. */
typedef struct raw_run {
    char *experiment;  /* name, "(none)" when the run has no experiment */
    char *run_key;
    char *config_json;
    int64_t seed;
    char date[32];     /* finished_at, else started_at, else queued_at ("" when none) */
    int64_t build_id;  /* 0 without a recorded build */
    char revision[48]; /* "1a2b3c4", "1a2b3c4-dirty", "none" outside git, "-" without a build */
} raw_run;

typedef struct raw_list {
    raw_run *v;
    int n, cap;
    int status_filter; /* RUN_COMPLETED, or -1 for all */
    int nomem;
} raw_list;

static void raw_list_free(raw_list *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->v[i].experiment);
        free(l->v[i].run_key);
        free(l->v[i].config_json);
    }
    free(l->v);
    *l = (raw_list){0};
}

static int raw_collect(void *ctx, const store_run_row *r)
{
    raw_list *l = ctx;
    if (l->status_filter >= 0 && r->status != l->status_filter)
        return 0;
    if (r->epochs_done == 0)
        return 0;
    const char *xname = r->experiment_name ? r->experiment_name : "(none)";
    /* A run linked twice to experiments of the same name (two versions of one file) is
     * plotted once. */
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i].run_key, r->run_key) == 0 && strcmp(l->v[i].experiment, xname) == 0)
            return 0;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        raw_run *v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v)
            return l->nomem = ERR_NOMEM;
        l->v = v;
        l->cap = cap;
    }
    raw_run *w = &l->v[l->n];
    *w = (raw_run){.seed = r->seed, .build_id = r->build_id};
    if (!r->build_id)
        snprintf(w->revision, sizeof w->revision, "-");
    else
        snprintf(w->revision, sizeof w->revision, "%.7s%s", r->git_sha ? r->git_sha : "none",
                 r->git_dirty ? "-dirty" : "");
    w->experiment = strdup(xname);
    w->run_key = strdup(r->run_key);
    w->config_json = strdup(r->config_json ? r->config_json : "{}");
    const char *date = r->finished_at ? r->finished_at
                       : r->started_at ? r->started_at
                       : r->queued_at  ? r->queued_at
                                       : "";
    snprintf(w->date, sizeof w->date, "%s", date);
    l->n++;
    if (!w->experiment || !w->run_key || !w->config_json)
        return l->nomem = ERR_NOMEM;
    return 0;
}

/* A run's values as the vocabulary prints them, label -> text (exp_value_format), and its
 * build's revision as "revision". Keys absent from the configuration are absent. */
static int vocab_values(json_t *flat, const json_t *cfg, const char *revision)
{
    exp_value v;
    for (int k = 0; k < exp_vocab_count(); k++) {
        const exp_vocab_key *key = exp_vocab_at(k);
        exp_value_from_json(&v, key, cfg);
        if (v.type == EXP_NONE)
            continue;
        char text[EXP_TEXT_MAX];
        exp_value_format(text, sizeof text, &v);
        if (json_object_set_new(flat, key->label, json_string(text)))
            return -1;
    }
    return json_object_set_new(flat, "revision", json_string(revision));
}

/* Where key label sits in a label: the experiment's swept keys first, in its file's order,
 * then the vocabulary's order with a layer list last, then the revision. */
static int key_rank(const plot_experiment *x, const char *label)
{
    for (int i = 0; i < x->n_swept; i++)
        if (strcmp(x->swept[i], label) == 0)
            return i;
    const exp_vocab_key *k = exp_vocab_find(label);
    if (!k)
        return 10000;
    for (int i = 0; i < exp_vocab_count(); i++)
        if (exp_vocab_at(i) == k)
            return 1000 + i + (k->type == EXP_LAYERS ? 500 : 0);
    return 10000;
}

/* qsort's context-free comparison: keys carry their rank. */
static int key_cmp(const void *a, const void *b)
{
    const plot_key *x = a, *y = b;
    return x->rank != y->rank ? (x->rank < y->rank ? -1 : 1) : strcmp(x->path, y->path);
}

/* A run's value of path, "" when its configuration lacks the key. */
static const char *flat_get(json_t *flat, const char *path)
{
    const char *s = json_string_value(json_object_get(flat, path));
    return s ? s : "";
}

/* Does the value of key a determine the value of key b over these runs (b is a function of
 * a)? Then b is implied by a: the layer list by bn, Adam's lr by the optimizer. */
static bool key_determines(json_t **flat, int n, const char *a, const char *b)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(flat_get(flat[i], a), flat_get(flat[j], a)) == 0 &&
                strcmp(flat_get(flat[i], b), flat_get(flat[j], b)) != 0)
                return false;
    return true;
}

/* The file-name form of a label: letters, digits, '.', '-' kept; '=' becomes '-', a space
 * '_', anything else '-'. */
static void slugify(char *out, size_t n, const char *label)
{
    size_t j = 0;
    for (const char *p = label; *p && j + 1 < n; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '-')
            out[j++] = (char)c;
        else
            out[j++] = c == ' ' ? '_' : '-';
    }
    out[j] = '\0';
    if (j == 0 || out[0] == '.')
        snprintf(out, n, "%s", j == 0 ? "all" : "_");
}

void plot_dir_name(char *out, size_t n, const char *name)
{
    assert(n >= PLOT_DIR_NAME_MAX);
    enum { LONGEST = 200, CUT = 183 };
    static const char hex[] = "0123456789ABCDEF";
    char buf[3 * PLOT_NAME_MAX + 3 * LONGEST];
    size_t j = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && j + 4 < sizeof buf; p++) {
        unsigned char c = *p;
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || (c == '.' && p != (const unsigned char *)name);
        if (keep) {
            buf[j++] = (char)c;
        } else {
            buf[j++] = '%';
            buf[j++] = hex[c >> 4];
            buf[j++] = hex[c & 15];
        }
    }
    buf[j] = '\0';
    if (j == 0) {
        snprintf(out, n, "%%");
        return;
    }
    if (j <= LONGEST) {
        snprintf(out, n, "%s", buf);
        return;
    }
    char sum[65];
    sha256_hex(sum, name, strlen(name));
    snprintf(out, n, "%.*s~%.16s", CUT, buf, sum);
}

/* Append " name=value" (or "value" for the optimizer) to a label. */
static void label_add(char *label, size_t n, const char *name, const char *value)
{
    size_t used = strlen(label);
    if (used + 1 >= n)
        return;
    snprintf(label + used, n - used, "%s%s=%s", used ? " " : "", name, value);
}

/* One run's epochs, gathered by store_epochs. */
typedef struct epoch_acc {
    plot_run *run;
    int nomem;
} epoch_acc;

static int epoch_collect(void *ctx, const store_epoch *ep)
{
    epoch_acc *a = ctx;
    plot_run *r = a->run;
    if (ep->epoch < 1 || ep->epoch > 1000000)
        return 0;
    if (ep->epoch > r->n_epochs) {
        double *s = realloc(r->series, (size_t)ep->epoch * PLOT_STAT_COUNT * sizeof *s);
        if (!s)
            return a->nomem = ERR_NOMEM;
        for (size_t i = (size_t)r->n_epochs * PLOT_STAT_COUNT;
             i < (size_t)ep->epoch * PLOT_STAT_COUNT; i++)
            s[i] = NAN;
        r->series = s;
        r->n_epochs = ep->epoch;
    }
    double *row = r->series + (size_t)(ep->epoch - 1) * PLOT_STAT_COUNT;
    row[PLOT_TRAIN_ACC] = ep->train_acc;
    row[PLOT_TEST_ACC] = ep->test_acc;
    row[PLOT_TRAIN_LOSS] = ep->train_loss;
    row[PLOT_TEST_LOSS] = ep->test_loss;
    row[PLOT_WALL_S] = ep->wall_s;
    row[PLOT_CPU_S] = ep->cpu_s;
    const timing_span span = timing_span_of(ep);
    row[PLOT_CONTENDED] = isnan(span.wait_s) ? NAN : timing_contended(&span) ? 1.0 : 0.0;
    if (ep->k > 0 && ep->k <= PLOT_MAX_CLASSES && ep->confusion && ep->epoch >= r->confusion_epoch) {
        size_t kk = (size_t)ep->k * (size_t)ep->k;
        if (ep->k != r->k) {
            int64_t *c = realloc(r->confusion, kk * sizeof *c);
            if (!c)
                return a->nomem = ERR_NOMEM;
            r->confusion = c;
            r->k = ep->k;
        }
        memcpy(r->confusion, ep->confusion, kk * sizeof *r->confusion);
        r->confusion_epoch = ep->epoch;
    }
    return 0;
}

typedef struct prov_acc {
    char sha[16];      /* short SHA of the first run with a build, "" before */
    bool mixed, dirty, known;
} prov_acc;

static int prov_collect(void *ctx, const store_provenance *p)
{
    prov_acc *a = ctx;
    if (!p->build || !p->build->git_sha)
        return 0;
    char sha[16];
    snprintf(sha, sizeof sha, "%.7s", p->build->git_sha);
    if (!a->known) {
        memcpy(a->sha, sha, sizeof sha);
        a->known = true;
    } else if (strcmp(a->sha, sha) != 0)
        a->mixed = true;
    if (p->build->git_dirty)
        a->dirty = true;
    return 0;
}

static void group_release(plot_group *g, int n_keys)
{
    if (g->values)
        for (int i = 0; i < n_keys; i++)
            free(g->values[i]);
    free(g->values);
    free(g->n);
    free(g->mean);
    free(g->sd);
    free(g->confusion);
}

static void experiment_release(plot_experiment *x)
{
    for (int i = 0; i < x->n_runs; i++) {
        free(x->runs[i].run_key);
        free(x->runs[i].series);
        free(x->runs[i].confusion);
    }
    free(x->runs);
    for (int i = 0; i < x->n_groups; i++)
        group_release(&x->groups[i], x->n_keys);
    free(x->groups);
    for (int i = 0; i < x->n_keys; i++) {
        free(x->keys[i].path);
        free(x->keys[i].name);
    }
    free(x->keys);
    free(x->only_run);
    *x = (plot_experiment){0};
}

void plot_set_release(plot_set *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++)
        experiment_release(&p->x[i]);
    free(p->x);
    *p = (plot_set){0};
}

/* The keys whose values differ between runs (the seed excepted), sorted for display, each
 * marked implied when an earlier non-implied key determines it. */
static int find_keys(plot_experiment *x, json_t **flat, int n, err_info *e)
{
    json_t *all = json_object();
    if (!all)
        return err_set(e, ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const char *k;
        json_t *v;
        json_object_foreach(flat[i], k, v) json_object_set(all, k, json_true());
    }
    int cap = (int)json_object_size(all), rc = 0;
    x->keys = calloc((size_t)(cap ? cap : 1), sizeof *x->keys);
    if (!x->keys) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    const char *k;
    json_t *v;
    json_object_foreach(all, k, v) {
        if (strcmp(k, "seed") == 0)
            continue;
        bool varies = false;
        for (int i = 1; i < n && !varies; i++)
            varies = strcmp(flat_get(flat[i], k), flat_get(flat[0], k)) != 0 ||
                     !json_object_get(flat[i], k) != !json_object_get(flat[0], k);
        if (!varies)
            continue;
        plot_key *pk = &x->keys[x->n_keys++];
        pk->path = strdup(k);
        pk->name = strdup(k);
        pk->rank = key_rank(x, k);
        if (!pk->path || !pk->name) {
            rc = err_set(e, ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    qsort(x->keys, (size_t)x->n_keys, sizeof *x->keys, key_cmp);
    for (int i = 0; i < x->n_keys; i++)
        for (int j = 0; j < i && !x->keys[i].implied; j++)
            if (!x->keys[j].implied && key_determines(flat, n, x->keys[j].path, x->keys[i].path))
                x->keys[i].implied = true;
done:
    json_decref(all);
    return rc;
}

/* Mean and sample sd (n-1 denominator) of the finite values among x[0], x[stride], ...;
 * sd is 0 for one value and both are NAN for none. Returns how many were finite. */
static int mean_sd(double *mean, double *sd, const double *const *x, int n_x)
{
    int n = 0;
    double s = 0;
    for (int i = 0; i < n_x; i++)
        if (isfinite(*x[i])) {
            s += *x[i];
            n++;
        }
    if (n == 0) {
        *mean = *sd = NAN;
        return 0;
    }
    double m = s / n, ss = 0;
    for (int i = 0; i < n_x; i++)
        if (isfinite(*x[i]))
            ss += (*x[i] - m) * (*x[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(ss / (n - 1)) : 0.0;
    return n;
}

/* Per-epoch mean/sd and the summed confusion matrix of group g of x. */
static int group_stats(plot_experiment *x, int g, err_info *e)
{
    plot_group *gr = &x->groups[g];
    int n_ep = 0, n_runs = 0;
    for (int i = 0; i < x->n_runs; i++)
        if (x->runs[i].group == g) {
            n_runs++;
            if (x->runs[i].n_epochs > n_ep)
                n_ep = x->runs[i].n_epochs;
            if (!gr->k && x->runs[i].k)
                gr->k = x->runs[i].k;
        }
    gr->n_runs = n_runs;
    gr->n_epochs = n_ep;
    size_t cells = (size_t)(n_ep ? n_ep : 1) * PLOT_STAT_COUNT;
    gr->n = calloc((size_t)(n_ep ? n_ep : 1), sizeof *gr->n);
    gr->mean = calloc(cells, sizeof *gr->mean);
    gr->sd = calloc(cells, sizeof *gr->sd);
    const double **col = calloc((size_t)(n_runs ? n_runs : 1), sizeof *col);
    if (gr->k)
        gr->confusion = calloc((size_t)gr->k * (size_t)gr->k, sizeof *gr->confusion);
    if (!gr->n || !gr->mean || !gr->sd || !col || (gr->k && !gr->confusion)) {
        free(col);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    for (int ep = 0; ep < n_ep; ep++)
        for (int s = 0; s < PLOT_STAT_COUNT; s++) {
            int m = 0;
            for (int i = 0; i < x->n_runs; i++) {
                const plot_run *r = &x->runs[i];
                if (r->group == g && ep < r->n_epochs)
                    col[m++] = &r->series[(size_t)ep * PLOT_STAT_COUNT + (size_t)s];
            }
            size_t at = (size_t)ep * PLOT_STAT_COUNT + (size_t)s;
            int n = mean_sd(&gr->mean[at], &gr->sd[at], col, m);
            if (s == PLOT_TEST_ACC)
                gr->n[ep] = n;
        }
    free(col);
    /* Each run contributes its own last epoch's matrix; runs with another class count
     * (not expected within one group) are left out rather than mixed in. */
    for (int i = 0; i < x->n_runs; i++) {
        const plot_run *r = &x->runs[i];
        if (r->group != g || r->k != gr->k || !r->confusion)
            continue;
        for (size_t c = 0; c < (size_t)gr->k * (size_t)gr->k; c++)
            gr->confusion[c] += r->confusion[c];
    }
    return 0;
}

/* x->swept <- the swept keys of the newest version of x's file (versions come oldest first);
 * none when it was not stored. */
static int read_sweep(void *ctx, const store_experiment_row *row)
{
    plot_experiment *x = ctx;
    json_t *sw = row->swept ? json_loads(row->swept, 0, NULL) : NULL;
    x->n_swept = 0;
    for (size_t i = 0; i < json_array_size(sw) && x->n_swept < PLOT_MAX_SWEPT; i++)
        snprintf(x->swept[x->n_swept++], sizeof x->swept[0], "%s",
                 json_string_value(json_array_get(sw, i)) ? json_string_value(json_array_get(sw, i))
                                                          : "");
    json_decref(sw);
    x->target_accuracy = isfinite(row->target_accuracy) ? row->target_accuracy : 0.0;
    return 0;
}

/* rev <- the revision of run idx[i] among the runs idx[0..n) of an experiment: its build's
 * ("1a2b3c4-dirty"), with "/bN" (build id) when another build of them reads the same, so
 * that runs of two builds are never one group. */
static void revision_of(char *rev, size_t n_rev, const raw_list *l, const int *idx, int n, int i)
{
    const raw_run *w = &l->v[idx[i]];
    snprintf(rev, n_rev, "%s", w->revision);
    for (int j = 0; j < n; j++) {
        const raw_run *o = &l->v[idx[j]];
        if (o->build_id != w->build_id && strcmp(o->revision, w->revision) == 0) {
            snprintf(rev, n_rev, "%s/b%lld", w->revision, (long long)w->build_id);
            return;
        }
    }
}

/* Each group's slug from its label, unique: a label cut to size or made of unsafe characters
 * may collide, and gets "-2", "-3". */
static void unique_slugs(plot_experiment *x)
{
    for (int g = 0; g < x->n_groups; g++) {
        plot_group *gr = &x->groups[g];
        char base[200];
        slugify(base, sizeof base, gr->label);
        snprintf(gr->slug, sizeof gr->slug, "%s", base);
        for (int dup = 2, clash = 1; clash; dup++) {
            clash = 0;
            for (int h = 0; h < g; h++)
                clash |= strcmp(x->groups[h].slug, gr->slug) == 0;
            if (clash)
                snprintf(gr->slug, sizeof gr->slug, "%s-%d", base, dup);
        }
    }
}

/* Every run's epochs (series and confusion), the revision of the runs' builds and the date of
 * the newest run (idx: the runs' places in l). */
static int read_series(plot_experiment *x, store *s, const raw_list *l, const int *idx,
                       err_info *e)
{
    prov_acc prov = {0};
    char newest[32] = "";
    for (int i = 0; i < x->n_runs; i++) {
        epoch_acc acc = {.run = &x->runs[i]};
        int rc = store_epochs(s, x->runs[i].run_key, true, epoch_collect, &acc, e);
        if (rc == 0)
            rc = store_run_provenance(s, x->runs[i].run_key, prov_collect, &prov, e);
        if (rc)
            return acc.nomem ? err_set(e, ERR_NOMEM, "out of memory") : rc;
        if (strcmp(l->v[idx[i]].date, newest) > 0)
            snprintf(newest, sizeof newest, "%s", l->v[idx[i]].date);
    }
    snprintf(x->revision, sizeof x->revision, "%s%s",
             !prov.known ? "unknown" : prov.mixed ? "mixed" : prov.sha,
             prov.known && !prov.mixed && prov.dirty ? "-dirty" : "");
    snprintf(x->newest, sizeof x->newest, "%.10s", newest[0] ? newest : "unknown");
    return 0;
}

/* gr <- a new group of x with the values of a run's flattened values flat: its value of each
 * varying key, its label from the non-implied ones. */
static int new_group(plot_group *gr, const plot_experiment *x, json_t *flat, err_info *e)
{
    gr->values = calloc((size_t)(x->n_keys ? x->n_keys : 1), sizeof *gr->values);
    if (!gr->values)
        return err_set(e, ERR_NOMEM, "out of memory");
    for (int k = 0; k < x->n_keys; k++) {
        const char *v = flat_get(flat, x->keys[k].path);
        if (!(gr->values[k] = strdup(*v ? v : "-")))
            return err_set(e, ERR_NOMEM, "out of memory");
        if (!x->keys[k].implied)
            label_add(gr->label, sizeof gr->label, x->keys[k].name, gr->values[k]);
    }
    return 0;
}

/* out <- the runs' common value of path: "mixed" when they differ. */
static void common_value(char *out, size_t size, json_t **flat, int n, const char *path)
{
    snprintf(out, size, "%s", n ? flat_get(flat[0], path) : "");
    for (int i = 1; i < n; i++)
        if (strcmp(flat_get(flat[i], path), out) != 0) {
            snprintf(out, size, "mixed");
            return;
        }
}

/* ---- the plan's order ---------------------------------------------------------------------
 * Runs are read in run-key order; legends list groups in the order the experiment file sweeps
 * them, which is the plan position each version of the file recorded for its runs. */
typedef struct keyed_run {
    const char *key;
    int run;            /* index into x->runs */
} keyed_run;

typedef struct plan_ctx {
    plot_experiment *x;
    keyed_run *by_key;  /* (x->n_runs) sorted by run key */
    int64_t *ids;       /* (n) version ids, oldest first */
    int n, cap;
    int nomem;
} plan_ctx;

static int plan_version(void *ctx, const store_experiment_row *row)
{
    plan_ctx *p = ctx;
    if (!vec_grow((void **)&p->ids, p->n, &p->cap, sizeof *p->ids))
        return p->nomem = ERR_NOMEM;
    p->ids[p->n++] = row->id;
    return 0;
}

static int keyed_cmp(const void *a, const void *b)
{
    return strcmp(((const keyed_run *)a)->key, ((const keyed_run *)b)->key);
}

/* A newer version's position replaces an older one's. */
static int plan_run(void *ctx, const store_report_row *row)
{
    plan_ctx *p = ctx;
    keyed_run want = {.key = row->run_key};
    const keyed_run *hit =
        bsearch(&want, p->by_key, (size_t)p->x->n_runs, sizeof *p->by_key, keyed_cmp);
    if (hit && row->position >= 0)
        p->x->runs[hit->run].position = row->position;
    return 0;
}

/* Reorder x's groups by the smallest plan position of their runs (stable: groups without
 * one keep their order, after the others). */
static int plan_order(plot_experiment *x, store *s, err_info *e)
{
    plan_ctx p = {.x = x};
    int rc = 0;
    int *order = NULL, *minpos = NULL, *where = NULL;
    plot_group *sorted = NULL;
    for (int i = 0; i < x->n_runs; i++)
        x->runs[i].position = -1;
    p.by_key = malloc((size_t)x->n_runs * sizeof *p.by_key);
    order = malloc((size_t)x->n_groups * sizeof *order);
    minpos = malloc((size_t)x->n_groups * sizeof *minpos);
    where = malloc((size_t)x->n_groups * sizeof *where);
    sorted = malloc((size_t)x->n_groups * sizeof *sorted);
    if (!p.by_key || !order || !minpos || !where || !sorted) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < x->n_runs; i++)
        p.by_key[i] = (keyed_run){.key = x->runs[i].run_key, .run = i};
    qsort(p.by_key, (size_t)x->n_runs, sizeof *p.by_key, keyed_cmp);
    if ((rc = store_experiments(s, x->name, plan_version, &p, e)))
        goto done;
    for (int v = 0; v < p.n && !rc; v++)
        rc = store_report_runs(s, p.ids[v], 0, plan_run, &p, e);
    if (rc || (rc = p.nomem ? err_set(e, ERR_NOMEM, "out of memory") : 0))
        goto done;
    for (int g = 0; g < x->n_groups; g++) {
        minpos[g] = INT_MAX;
        order[g] = g;
    }
    for (int i = 0; i < x->n_runs; i++)
        if (x->runs[i].position >= 0 && x->runs[i].position < minpos[x->runs[i].group])
            minpos[x->runs[i].group] = x->runs[i].position;
    for (int i = 1; i < x->n_groups; i++) /* insertion sort: stable */
        for (int j = i; j > 0 && minpos[order[j - 1]] > minpos[order[j]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int g = 0; g < x->n_groups; g++) {
        sorted[g] = x->groups[order[g]];
        where[order[g]] = g;
    }
    memcpy(x->groups, sorted, (size_t)x->n_groups * sizeof *sorted);
    for (int i = 0; i < x->n_runs; i++)
        x->runs[i].group = where[x->runs[i].group];
done:
    free(p.by_key);
    free(p.ids);
    free(order);
    free(minpos);
    free(where);
    free(sorted);
    return rc;
}

/* Build experiment x from the raw runs idx[0..n) (all of one experiment). */
static int build_experiment(plot_experiment *x, store *s, const raw_list *l, const int *idx,
                            int n, const char *only_run, err_info *e)
{
    int rc = 0;
    json_t **flat = calloc((size_t)n, sizeof *flat);
    char **gkeys = calloc((size_t)n, sizeof *gkeys);
    x->runs = calloc((size_t)n, sizeof *x->runs);
    x->groups = calloc((size_t)n, sizeof *x->groups);
    if (!flat || !gkeys || !x->runs || !x->groups) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    const raw_run *first = &l->v[idx[0]];
    snprintf(x->name, sizeof x->name, "%s", first->experiment);
    plot_dir_name(x->dir_name, sizeof x->dir_name, x->name);
    if (only_run && !(x->only_run = strdup(only_run))) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const raw_run *w = &l->v[idx[i]];
        json_error_t je;
        json_t *cfg = json_loads(w->config_json, 0, &je);
        char rev[64];
        revision_of(rev, sizeof rev, l, idx, n, i);
        flat[i] = json_object();
        if (!flat[i] || (cfg && vocab_values(flat[i], cfg, rev))) {
            json_decref(cfg);
            rc = err_set(e, ERR_NOMEM, "out of memory");
            goto done;
        }
        json_decref(cfg);
    }
    common_value(x->model, sizeof x->model, flat, n, "model");
    common_value(x->dataset, sizeof x->dataset, flat, n, "dataset");
    for (int i = 0; i < n; i++) {
        const char *v = flat_get(flat[i], "validation");
        x->validation |= *v && strcmp(v, "0") != 0;
    }
    if ((rc = store_experiments(s, x->name, read_sweep, x, e)) || (rc = find_keys(x, flat, n, e)))
        goto done;
    /* Group runs by the values of every varying key (implied ones included). */
    for (int i = 0; i < n; i++) {
        size_t len = 1;
        for (int k = 0; k < x->n_keys; k++)
            len += strlen(flat_get(flat[i], x->keys[k].path)) + 1;
        if (!(gkeys[i] = malloc(len))) {
            rc = err_set(e, ERR_NOMEM, "out of memory");
            goto done;
        }
        gkeys[i][0] = '\0';
        for (int k = 0; k < x->n_keys; k++) {
            strcat(gkeys[i], flat_get(flat[i], x->keys[k].path));
            strcat(gkeys[i], "\x1f"); /* unit separator: never in a configuration value */
        }
        int g = 0;
        while (g < i && strcmp(gkeys[g], gkeys[i]) != 0)
            g++;
        plot_run *r = &x->runs[x->n_runs++];
        r->seed = l->v[idx[i]].seed;
        if (!(r->run_key = strdup(l->v[idx[i]].run_key))) {
            rc = err_set(e, ERR_NOMEM, "out of memory");
            goto done;
        }
        if (g < i) {
            r->group = x->runs[g].group;
            continue;
        }
        r->group = x->n_groups++;
        if ((rc = new_group(&x->groups[r->group], x, flat[i], e)))
            goto done;
    }
    if (only_run) {
        /* one run: its own label, and the group is the run */
        snprintf(x->groups[0].label, sizeof x->groups[0].label, "run %.12s (seed %lld)",
                 x->runs[0].run_key, (long long)x->runs[0].seed);
        snprintf(x->groups[0].slug, sizeof x->groups[0].slug, "run-%.12s", x->runs[0].run_key);
    }
    if (!only_run && (rc = plan_order(x, s, e)))
        goto done;
    if (!only_run)
        unique_slugs(x);
    if ((rc = read_series(x, s, l, idx, e)))
        goto done;
    for (int g = 0; g < x->n_groups; g++)
        if ((rc = group_stats(x, g, e)))
            goto done;
done:
    for (int i = 0; i < n; i++) {
        json_decref(flat ? flat[i] : NULL);
        free(gkeys ? gkeys[i] : NULL);
    }
    free(flat);
    free(gkeys);
    return rc;
}

int plot_load(plot_set *out, store *s, const plot_query *q, err_info *e)
{
    assert(out && s && q);
    *out = (plot_set){0};
    raw_list l = {.status_filter = q->partial || q->run_key ? -1 : RUN_COMPLETED};
    int *idx = NULL;
    char key[STORE_KEY_MAX];
    int rc;
    if (q->run_key) {
        if ((rc = store_run_resolve(s, key, q->run_key, e)) ||
            (rc = store_run_get(s, key, raw_collect, &l, e)))
            goto done;
        if (l.n == 0 && !l.nomem) {
            rc = err_set(e, ERR_INVALID, "run '%.16s' has no epochs to plot", key);
            goto done;
        }
    } else if ((rc = store_runs(s, q->experiment, -1, raw_collect, &l, e)))
        goto done;
    if (l.nomem) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    if (l.n == 0) {
        const char *what = q->partial ? "runs with epochs" : "completed runs";
        if (q->experiment)
            rc = err_set(e, ERR_INVALID, "no %s of experiment '%s' in '%s'", what, q->experiment,
                         store_path(s));
        else
            rc = err_set(e, ERR_INVALID, "no %s in '%s' (bench run FILE.toml adds some)", what,
                         store_path(s));
        goto done;
    }
    idx = malloc((size_t)l.n * sizeof *idx);
    out->x = calloc((size_t)l.n, sizeof *out->x);
    if (!idx || !out->x) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    /* One experiment per name, in the order the database lists them. */
    for (int i = 0; i < l.n; i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(l.v[j].experiment, l.v[i].experiment) == 0;
        if (seen)
            continue;
        int n = 0;
        for (int j = i; j < l.n; j++)
            if (strcmp(l.v[j].experiment, l.v[i].experiment) == 0)
                idx[n++] = j;
        rc = build_experiment(&out->x[out->n++], s, &l, idx, n, q->run_key ? key : NULL, e);
        if (rc)
            goto done;
    }
done:
    free(idx);
    raw_list_free(&l);
    if (rc)
        plot_set_release(out);
    return rc;
}

/* ---- writing ------------------------------------------------------------------------------ */

void plot_footer(char *buf, int n, const plot_experiment *x)
{
    snprintf(buf, (size_t)n, "experiment %s | git %s | newest run %s", x->name, x->revision,
             x->newest);
}

/* mkdir -p */
static int make_dirs(const char *dir, err_info *e)
{
    char p[PLOT_PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
        return err_set(e, ERR_INVALID, "path '%.64s...' is too long", dir);
    for (char *c = p + 1;; c++) {
        if (*c != '/' && *c != '\0')
            continue;
        char saved = *c;
        *c = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            return err_set(e, ERR_IO, "cannot create directory '%s': %s", p, strerror(errno));
        *c = saved;
        if (!saved)
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return err_set(e, ERR_IO, "cannot create directory '%s': not a directory", dir);
    return 0;
}

/* An open output file, its path kept for messages. */
typedef struct out_file {
    FILE *f;
    char path[PLOT_PATH_MAX];
    const char *kind;
} out_file;

static int out_open(out_file *o, const char *dir, const char *name, const char *kind,
                    err_info *e)
{
    if (snprintf(o->path, sizeof o->path, "%s/%s", dir, name) >= (int)sizeof o->path)
        return err_set(e, ERR_INVALID, "path '%.64s...' is too long", dir);
    o->kind = kind;
    o->f = fopen(o->path, "w");
    if (!o->f)
        return err_set(e, ERR_IO, "cannot write '%s': %s", o->path, strerror(errno));
    return 0;
}

/* Close, check that every byte reached the file, and report it. */
static int out_close(out_file *o, plot_file_fn fn, void *ctx, err_info *e)
{
    if (!o->f)
        return 0;
    int bad = ferror(o->f);
    bad |= fclose(o->f) != 0;
    o->f = NULL;
    if (bad)
        return err_set(e, ERR_IO, "cannot write '%s': %s", o->path, strerror(errno));
    return fn ? fn(ctx, o->path, o->kind) : 0;
}

/* A gnuplot string expression. Single quotes: no escapes, no backquote command substitution,
 * no macro expansion. A quote inside is not doubled (gnuplot 5.4 misreads '''x' and 'a''''b')
 * but closed and concatenated as "'": 'it'."'".'s'. Control characters become spaces. */
static void gp_strn(FILE *f, const char *s, size_t n)
{
    fputc('\'', f);
    for (size_t i = 0; i < n && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\'')
            fputs("'.\"'\".'", f);
        else
            fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
    }
    fputc('\'', f);
}

/* gp_strn of the whole of s. */
static void gp_str(FILE *f, const char *s) { gp_strn(f, s, strlen(s)); }

/* Text for a comment line: no newlines. */
static void comment_str(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
}

/* A value in a .dat file; gnuplot reads NaN as a missing point. */
static void dat_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, " %.9g", v);
    else
        fputs(" NaN", f);
}

static const char *const stat_names[PLOT_STAT_COUNT] = {
    [PLOT_TRAIN_ACC] = "train_acc", [PLOT_TEST_ACC] = "test_acc",
    [PLOT_TRAIN_LOSS] = "train_loss", [PLOT_TEST_LOSS] = "test_loss",
    [PLOT_WALL_S] = "wall_s", [PLOT_CPU_S] = "cpu_s", [PLOT_CONTENDED] = "contended",
};

/* gnuplot column of the mean of stat s in a group .dat file (sd is the next one). */
static int dat_col(int s) { return 3 + 2 * s; }

static int write_group_dat(const plot_experiment *x, const plot_group *g, const char *dir,
                           plot_file_fn fn, void *ctx, err_info *e)
{
    out_file o = {0};
    char name[PLOT_LABEL_MAX + 16];
    snprintf(name, sizeof name, "%s.dat", g->slug);
    int rc = out_open(&o, dir, name, "data", e);
    if (rc)
        return rc;
    FILE *f = o.f;
    fputs("# bench plot: experiment '", f);
    comment_str(f, x->name);
    fprintf(f, "', group '");
    comment_str(f, g->label[0] ? g->label : "all runs");
    fprintf(f, "', %d run%s, seeds", g->n_runs, g->n_runs == 1 ? "" : "s");
    for (int i = 0; i < x->n_runs; i++)
        if (x->runs[i].group == g - x->groups)
            fprintf(f, " %lld", (long long)x->runs[i].seed);
    fputs("\n# per epoch: n = runs with a test accuracy at that epoch; mean and sample sd (n-1)"
          " over them\n# (sd 0 for a single run). wall_s, cpu_s = training wall and CPU seconds of"
          " the epoch;\n# contended = share of the runs whose epoch was contended (run-queue wait over 10%"
          " of its CPU time).\n"
          "# epoch n",
          f);
    for (int s = 0; s < PLOT_STAT_COUNT; s++)
        fprintf(f, " %s_mean %s_sd", stat_names[s], stat_names[s]);
    fputc('\n', f);
    for (int ep = 0; ep < g->n_epochs; ep++) {
        fprintf(f, "%d %d", ep + 1, g->n[ep]);
        for (int s = 0; s < PLOT_STAT_COUNT; s++) {
            size_t at = (size_t)ep * PLOT_STAT_COUNT + (size_t)s;
            dat_num(f, g->mean[at]);
            dat_num(f, g->sd[at]);
        }
        fputc('\n', f);
    }
    return out_close(&o, fn, ctx, e);
}

static int write_confusion_dat(const plot_experiment *x, const plot_group *g, const char *dir,
                               plot_file_fn fn, void *ctx, err_info *e)
{
    out_file o = {0};
    char name[PLOT_LABEL_MAX + 32];
    snprintf(name, sizeof name, "confusion_%s.dat", g->slug);
    int rc = out_open(&o, dir, name, "data", e);
    if (rc)
        return rc;
    FILE *f = o.f;
    fputs("# bench plot: experiment '", f);
    comment_str(f, x->name);
    fputs("', group '", f);
    comment_str(f, g->label[0] ? g->label : "all runs");
    fprintf(f, "'\n# confusion matrix of the last epoch, summed over %d run%s: row = true class,"
               " column = predicted class (0..%d)\n",
            g->n_runs, g->n_runs == 1 ? "" : "s", g->k - 1);
    for (int i = 0; i < g->k; i++) {
        for (int j = 0; j < g->k; j++)
            fprintf(f, "%s%lld", j ? " " : "", (long long)g->confusion[(size_t)i * (size_t)g->k + (size_t)j]);
        fputc('\n', f);
    }
    if ((rc = out_close(&o, fn, ctx, e)))
        return rc;
    /* the row-normalised matrix: each true class's counts over its row total (its recall on
     * the diagonal), so that classes of different sizes compare */
    snprintf(name, sizeof name, "confusion_%s_rows.dat", g->slug);
    if ((rc = out_open(&o, dir, name, "data", e)))
        return rc;
    f = o.f;
    fputs("# bench plot: the matrix of ", f);
    comment_str(f, name);
    fputs(" with each row divided by its total (0 for an empty row)\n", f);
    for (int i = 0; i < g->k; i++) {
        int64_t total = 0;
        for (int j = 0; j < g->k; j++)
            total += g->confusion[(size_t)i * (size_t)g->k + (size_t)j];
        for (int j = 0; j < g->k; j++)
            fprintf(f, "%s%.6f", j ? " " : "",
                    total ? (double)g->confusion[(size_t)i * (size_t)g->k + (size_t)j] /
                                (double)total
                          : 0.0);
        fputc('\n', f);
    }
    return out_close(&o, fn, ctx, e);
}

/* What every script starts with: what it draws, how to render it, where it is (from ARG0, so
 * that it runs from any working directory), the style, the footer and its output. */
static int script_open_footer(out_file *o, const char *footer, const plot_options *opt,
                              const char *base, const char *what, int width, int height,
                              err_info *e)
{
    char name[PLOT_LABEL_MAX + 32];
    snprintf(name, sizeof name, "%s.gp", base);
    int rc = out_open(o, opt->dir, name, "script", e);
    if (rc)
        return rc;
    FILE *f = o->f;
    fputs("# ", f);
    comment_str(f, what);
    fputs("\n# written by bench plot; render with: gnuplot ", f);
    comment_str(f, o->path);
    fputs("\n# (the image is written next to this script; data and style are found relative to"
          " it)\n",
          f);
    fputs("bench_dir = ARG0\n"
          "bench_i = strlen(bench_dir)\n"
          "while (bench_i > 0 && bench_dir[bench_i:bench_i] ne '/') { bench_i = bench_i - 1 }\n"
          "bench_dir = bench_i > 0 ? bench_dir[1:bench_i] : ''\n",
          f);
    fprintf(f, "bench_format = '%s'\nbench_width = %d\nbench_height = %d\nbench_footer = ",
            plot_format_name(opt->format), width, height);
    gp_str(f, footer);
    /* The style, inline: a script loads no file but its own data (a style file looked up
     * beside the directory would run whatever someone planted there). */
    fputs("\n", f);
    fputs(plot_style, f);
    fputs("set output bench_dir.", f);
    char image[PLOT_LABEL_MAX + 32];
    snprintf(image, sizeof image, "%s.%s", base, plot_format_name(opt->format));
    gp_str(f, image);
    fputc('\n', f);
    return 0;
}

/* A figure of experiment x: its footer. */
static int script_open(out_file *o, const plot_experiment *x, const plot_options *opt,
                       const char *base, const char *what, int width, int height, err_info *e)
{
    char footer[512];
    plot_footer(footer, sizeof footer, x);
    return script_open_footer(o, footer, opt, base, what, width, height, e);
}

/* A title of two lines: gnuplot joins '...'."\n".'...' (no escapes in single quotes). */
static void gp_title(FILE *f, const char *cmd, const char *line1, const char *line2)
{
    fprintf(f, "%s ", cmd);
    gp_str(f, line1);
    /* line2 may hold '\n's of its own: each part is a line of the title (a subtitle wider
     * than the plot is cut at both ends, as a figure with a key at the side showed) */
    for (const char *p = line2; p && *p;) {
        size_t n = strcspn(p, "\n");
        fputs(".\"\\n\".", f);
        gp_strn(f, p, n);
        p += n + (p[n] == '\n');
    }
    fputc('\n', f);
}

/* x axis over epochs 1..n with about ten tics. */
static void gp_epoch_axis(FILE *f, int n)
{
    int step = n <= 10 ? 1 : (n + 9) / 10;
    if (n > 1)
        fprintf(f, "set xrange [1:%d]\n", n);
    else
        fputs("set xrange [0.5:1.5]\n", f);
    fprintf(f, "set xtics %d\nset xlabel 'epoch'\n", step);
}

static void gp_data_var(FILE *f, const char *var, const plot_group *g)
{
    char name[PLOT_LABEL_MAX + 16];
    snprintf(name, sizeof name, "%s.dat", g->slug);
    fprintf(f, "%s = bench_dir.", var);
    gp_str(f, name);
    fputc('\n', f);
}

static void group_runs_text(char *buf, size_t n, const plot_experiment *x, const plot_group *g)
{
    if (x->only_run)
        snprintf(buf, n, "one run, seed %lld", (long long)x->runs[0].seed);
    else if (g->n_runs == 1)
        snprintf(buf, n, "1 run");
    else
        snprintf(buf, n, "mean over %d seeds, band = +/-1 sd", g->n_runs);
}

/* "test", or "validation" for an experiment evaluated on a validation split: the word its
 * figures use for the held-out accuracy. */
static const char *heldout(const plot_experiment *x) { return exp_heldout_name(x->validation); }

/* Horizontal reference line number n at value, dashed across the plot, with its label above
 * it at the left. */
static void ref_line(FILE *f, int n, double value, const char *label)
{
    fprintf(f, "set arrow %d from graph 0, first %.9g to graph 1, first %.9g nohead dt 2 "
               "lw 1.5 lc rgb '#333333' front\nset label %d ",
            100 + n, value, value, 100 + n);
    gp_str(f, label);
    fprintf(f, " at graph 0.02, first %.9g offset 0, 0.7 left font ',9' tc rgb '#333333' front\n",
            value);
}

/* The accuracy claims (claims.h) naming experiment x, and its [budget] target accuracy when
 * its accuracies are test ones, drawn as dashed horizontal lines with their label, on a y
 * range [lo, hi] of the data widened to show them. Writes "set yrange". */
static void claim_lines(FILE *f, const plot_experiment *x, const plot_options *opt, double lo,
                        double hi)
{
    int n = 0;
    for (int i = 0; opt->claims && i < opt->claims->n; i++) {
        const claim *cl = &opt->claims->v[i];
        if (cl->metric != CLAIM_ACCURACY || !claim_names(cl, x->name))
            continue;
        char label[CLAIMS_TEXT_MAX + 80];
        snprintf(label, sizeof label, "claimed %s: %s", cl->stated, cl->what);
        ref_line(f, n++, cl->value, label);
        lo = fmin(lo, cl->value);
        hi = fmax(hi, cl->value);
    }
    if (x->target_accuracy > 0 && !x->validation) {
        char label[96];
        snprintf(label, sizeof label, "target %.2f%%: [budget] target_accuracy",
                 100.0 * x->target_accuracy);
        ref_line(f, n++, x->target_accuracy, label);
        lo = fmin(lo, x->target_accuracy);
        hi = fmax(hi, x->target_accuracy);
    }
    if (n == 0 || !isfinite(lo) || !isfinite(hi) || lo > hi)
        return;
    /* room for the label above the highest line; an accuracy axis stops at 1 */
    double pad = (hi - lo) * 0.08 + 1e-3, top = hi + 1.5 * pad;
    fprintf(f, "set yrange [%.9g:%.9g]\n", lo - pad, hi <= 1 ? fmin(top, 1.0) : top);
}

/* The range of mean +/- sd of stat s over groups[0..n). */
static void stat_range(double *lo, double *hi, const plot_experiment *x, const int *groups, int n,
                       int s)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        const plot_group *g = &x->groups[groups[i]];
        for (int ep = 0; ep < g->n_epochs; ep++) {
            size_t at = (size_t)ep * PLOT_STAT_COUNT + (size_t)s;
            double m = g->mean[at], sd = isfinite(g->sd[at]) ? g->sd[at] : 0;
            if (!isfinite(m))
                continue;
            *lo = fmin(*lo, m - sd);
            *hi = fmax(*hi, m + sd);
        }
    }
}

/* Fig. 4 of the paper: train and test accuracy per epoch of one group (or run). Titled as the
 * paper's figure only for the paper's network; otherwise by model and data set. */
static int write_fig4(const plot_experiment *x, const plot_group *g, const plot_options *opt,
                      bool single, plot_file_fn fn, void *ctx, err_info *e)
{
    char base[PLOT_LABEL_MAX + 16], what[PLOT_LABEL_MAX + 320], sub[PLOT_LABEL_MAX + 64];
    snprintf(base, sizeof base, single ? "fig4" : "fig4_%s", g->slug);
    const char *ho = heldout(x);
    if (strcmp(x->model, "paper") == 0)
        snprintf(what, sizeof what, "Fig. 4 (Lee & Rhee 2024): train and %s accuracy per epoch%s%s",
                 ho, g->label[0] ? ", " : "", g->label);
    else
        snprintf(what, sizeof what, "train and %s accuracy per epoch: model %s on %s%s%s", ho,
                 x->model[0] ? x->model : "unknown", x->dataset[0] ? x->dataset : "unknown",
                 g->label[0] ? ", " : "", g->label);
    group_runs_text(sub, sizeof sub, x, g);
    out_file o = {0};
    int rc = script_open(&o, x, opt, base, what, 800, 500, e);
    if (rc)
        return rc;
    FILE *f = o.f;
    gp_data_var(f, "dat", g);
    gp_title(f, "set title", what, sub);
    gp_epoch_axis(f, g->n_epochs);
    fputs("set ylabel 'accuracy'\nset yrange [*:1]\nset key bottom right\n", f);
    int gi = (int)(g - x->groups);
    double lo, hi, lo2, hi2;
    stat_range(&lo, &hi, x, &gi, 1, PLOT_TRAIN_ACC);
    stat_range(&lo2, &hi2, x, &gi, 1, PLOT_TEST_ACC);
    claim_lines(f, x, opt, fmin(lo, lo2), fmax(hi, hi2));
    int tr = dat_col(PLOT_TRAIN_ACC), te = dat_col(PLOT_TEST_ACC);
    fputs("plot \\\n", f);
    if (g->n_runs > 1)
        fprintf(f,
                "  dat using 1:($%d-$%d):($%d+$%d) with filledcurves lt 1 notitle, \\\n"
                "  dat using 1:($%d-$%d):($%d+$%d) with filledcurves lt 2 notitle, \\\n",
                tr, tr + 1, tr, tr + 1, te, te + 1, te, te + 1);
    fprintf(f,
            "  dat using 1:%d with linespoints lt 1 title 'train', \\\n"
            "  dat using 1:%d with linespoints lt 2 title '%s'\n",
            tr, te, ho);
    return out_close(&o, fn, ctx, e);
}

/* A figure of one statistic per epoch, one line per group in groups[0..n). */
typedef struct line_fig {
    const char *base;      /* file name without extension */
    const char *what;      /* title line 1 */
    const char *sub;       /* title line 2, may be "" */
    const char *ylabel;
    int stat;              /* PLOT_* column */
    const char *key_pos;   /* "bottom right" */
    bool logy;             /* log scale when every value is positive */
    bool from_zero;        /* y axis starts at 0 */
    bool bands;            /* a +/-1 sd band around each line of more than one run */
    bool claims;           /* draw the accuracy claims of the experiment */
    int stat2;             /* > 0: a second statistic, drawn dashed in the same colour */
    const char *stat2_title; /* its suffix in the key: " (wall)" */
    bool mark_contended;     /* circle the second statistic where a run's epoch was contended */
    const char *stat_title;  /* the first one's, "" when there is no second */
} line_fig;

static int write_lines(const plot_experiment *x, const line_fig *lf, const int *groups,
                       const char *const *titles, int n, const plot_options *opt,
                       plot_file_fn fn, void *ctx, err_info *e)
{
    /* Beyond four lines the key goes to the right of the plot, which widens to keep it. */
    bool key_outside = n > 4;
    out_file o = {0};
    int rc = script_open(&o, x, opt, lf->base, lf->what, key_outside ? 1050 : 800, 500, e);
    if (rc)
        return rc;
    FILE *f = o.f;
    gp_title(f, "set title", lf->what, lf->sub);
    int n_ep = 0;
    bool positive = true;
    for (int i = 0; i < n; i++) {
        const plot_group *g = &x->groups[groups[i]];
        if (g->n_epochs > n_ep)
            n_ep = g->n_epochs;
        for (int ep = 0; ep < g->n_epochs; ep++) {
            double v = g->mean[(size_t)ep * PLOT_STAT_COUNT + (size_t)lf->stat];
            if (isfinite(v) && v <= 0)
                positive = false;
        }
    }
    gp_epoch_axis(f, n_ep);
    fputs("set ylabel ", f);
    gp_str(f, lf->ylabel);
    fprintf(f, "\nset key %s\n", key_outside ? "outside right top vertical" : lf->key_pos);
    if (lf->logy && positive)
        fputs("set logscale y\n", f);
    if (lf->from_zero)
        fputs("set yrange [0:*]\n", f);
    if (lf->claims) {
        double lo, hi;
        stat_range(&lo, &hi, x, groups, n, lf->stat);
        claim_lines(f, x, opt, lo, hi);
    }
    fputs("plot \\\n", f);
    int col = dat_col(lf->stat);
    /* the bands first, under every line; eight colours, then the same colours dashed */
    for (int i = 0; i < n && lf->bands; i++) {
        if (x->groups[groups[i]].n_runs < 2)
            continue;
        char name[PLOT_LABEL_MAX + 16];
        snprintf(name, sizeof name, "%s.dat", x->groups[groups[i]].slug);
        fputs("  bench_dir.", f);
        gp_str(f, name);
        fprintf(f, " using 1:($%d-$%d):($%d+$%d) with filledcurves lt %d notitle, \\\n", col,
                col + 1, col, col + 1, i % 8 + 1);
    }
    for (int i = 0; i < n; i++) {
        char name[PLOT_LABEL_MAX + 16];
        snprintf(name, sizeof name, "%s.dat", x->groups[groups[i]].slug);
        fputs("  bench_dir.", f);
        gp_str(f, name);
        fprintf(f, " using 1:%d with linespoints lt %d dt %d title ", col, i % 8 + 1,
                i / 8 % 4 + 1);
        gp_str(f, titles[i]);
        if (lf->stat2 > 0) {
            fputs(".", f);
            gp_str(f, lf->stat_title);
            fputs(", \\\n  bench_dir.", f);
            gp_str(f, name);
            fprintf(f, " using 1:%d with lines lt %d dt 2 lw 1 title ", dat_col(lf->stat2),
                    i % 8 + 1);
            gp_str(f, titles[i]);
            fputs(".", f);
            gp_str(f, lf->stat2_title);
            if (lf->mark_contended) {
                fputs(", \\\n  bench_dir.", f);
                gp_str(f, name);
                fprintf(f, " using 1:($%d > 0 ? $%d : NaN) with points lt %d pt 6 ps 2 notitle",
                        dat_col(PLOT_CONTENDED), dat_col(lf->stat2), i % 8 + 1);
            }
        }
        fputs(i + 1 < n ? ", \\\n" : "\n", f);
    }
    return out_close(&o, fn, ctx, e);
}

/* One panel of the confusion figure: the matrix in gnuplot variable dat as an image with each cell's value written
 * in it (white on the darker half of the palette). */
static void confusion_panel(FILE *f, const char *dat, const char *title, const char *cblabel,
                            const char *cell_fmt, const char *range_max)
{
    fputs("set title ", f);
    gp_str(f, title);
    fprintf(f, "\nset cblabel '%s'\nset cbrange [0:%s]\n", cblabel, range_max);
    fprintf(f, "plot %s matrix with image, \\\n  %s", dat, dat);
    fprintf(f, " matrix using 1:2:(sprintf('%s', $3)):($3 > %s / 2.0 ? 0xffffff : 0x000000)"
               " with labels tc rgb variable font ',7'\n",
            cell_fmt, range_max);
}

/* The confusion matrix of a group: counts (left) and each row divided by its total (right),
 * class names on the axes where the data set has them. The image is drawn opaque (the
 * style's translucent fill would wash out the colour box). */
static int write_confusion(const plot_experiment *x, const plot_group *g,
                           const plot_options *opt, bool single, plot_file_fn fn, void *ctx,
                           err_info *e)
{
    char base[PLOT_LABEL_MAX + 16], what[PLOT_LABEL_MAX + 64], sub[PLOT_LABEL_MAX + 64];
    char dat[PLOT_LABEL_MAX + 32], rows[PLOT_LABEL_MAX + 40];
    snprintf(base, sizeof base, single ? "confusion" : "confusion_%s", g->slug);
    snprintf(dat, sizeof dat, "confusion_%s.dat", g->slug);
    snprintf(rows, sizeof rows, "confusion_%s_rows.dat", g->slug);
    snprintf(what, sizeof what, "confusion matrix of the last epoch%s%s",
             g->label[0] ? ", " : "", g->label);
    if (x->only_run)
        snprintf(sub, sizeof sub, "one run, seed %lld", (long long)x->runs[0].seed);
    else
        snprintf(sub, sizeof sub, "counts summed over %d run%s", g->n_runs,
                 g->n_runs == 1 ? "" : "s");
    const bool named = data_class_name(x->dataset, g->k, 0) != NULL;
    out_file o = {0};
    int rc = script_open(&o, x, opt, base, what, 1400, named ? 760 : 700, e);
    if (rc)
        return rc;
    FILE *f = o.f;
    fputs("dat = bench_dir.", f);
    gp_str(f, dat);
    fputs("\nrows = bench_dir.", f);
    gp_str(f, rows);
    fputc('\n', f);
    fprintf(f,
            "stats dat matrix using 3 nooutput\n"
            "bench_max = STATS_max > 0 ? STATS_max : 1\n"
            "set style fill solid 1.0 noborder\n"
            "set xrange [-0.5:%d.5]\nset yrange [%d.5:-0.5]\n"
            "unset grid\nset tics scale 0\nset size ratio -1\nunset key\n"
            "set xlabel 'predicted class'\nset ylabel 'true class'\n",
            g->k - 1, g->k - 1);
    if (named) {
        const int last = g->k - 1;
        fputs("set xtics rotate by 45 right (", f);
        for (int i = 0; i <= last; i++) {
            gp_str(f, data_class_name(x->dataset, g->k, i));
            fprintf(f, " %d%s", i, i < last ? ", " : ")\nset ytics (");
        }
        for (int i = 0; i <= last; i++) {
            gp_str(f, data_class_name(x->dataset, g->k, i));
            fprintf(f, " %d%s", i, i < last ? ", " : ")\n");
        }
    } else {
        fputs("set xtics 1\nset ytics 1\n", f);
    }
    fputs("set multiplot layout 1, 2 title ", f);
    gp_str(f, what);
    fputs(".\"\\n\".", f);
    gp_str(f, sub);
    fputc('\n', f);
    confusion_panel(f, "dat", "counts", "count", "%d", "bench_max");
    confusion_panel(f, "rows", "each row / its total (recall on the diagonal)",
                    "fraction of the true class", "%.2f", "1");
    fputs("unset multiplot\n", f);
    return out_close(&o, fn, ctx, e);
}

/* Does groups a and b agree on every non-implied varying key except those skip() names? */
typedef bool (*key_skip_fn)(const plot_key *k);

static bool same_partition(const plot_experiment *x, int a, int b, key_skip_fn skip)
{
    for (int k = 0; k < x->n_keys; k++)
        if (!x->keys[k].implied && !skip(&x->keys[k]) &&
            strcmp(x->groups[a].values[k], x->groups[b].values[k]) != 0)
            return false;
    return true;
}

/* The optimizer and its parameters (their configuration fields are optimizer.*). */
static bool is_optimizer_key(const plot_key *k)
{
    const exp_vocab_key *v = exp_vocab_find(k->path);
    return v && strncmp(v->json, "optimizer.", 10) == 0;
}
static bool is_bn_key(const plot_key *k) { return strcmp(k->path, "bn") == 0; }

/* One comparison figure per combination of the other keys: test accuracy per epoch with one
 * line per value of the compared key (optimizer, or bn). */
static int write_comparisons(const plot_experiment *x, const plot_options *opt,
                             const char *stem, const char *what, key_skip_fn compared,
                             plot_file_fn fn, void *ctx, err_info *e)
{
    int *members = malloc((size_t)x->n_groups * sizeof *members);
    char (*titles)[PLOT_LABEL_MAX] = malloc((size_t)x->n_groups * sizeof *titles);
    const char **tp = malloc((size_t)x->n_groups * sizeof *tp);
    bool *done = calloc((size_t)x->n_groups, sizeof *done);
    int rc = 0;
    if (!members || !titles || !tp || !done) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int g = 0; g < x->n_groups && rc == 0; g++) {
        if (done[g])
            continue;
        int n = 0;
        char part[PLOT_LABEL_MAX] = "";
        for (int k = 0; k < x->n_keys; k++)
            if (!x->keys[k].implied && !compared(&x->keys[k]))
                label_add(part, sizeof part, x->keys[k].name, x->groups[g].values[k]);
        for (int h = g; h < x->n_groups; h++) {
            if (done[h] || !same_partition(x, g, h, compared))
                continue;
            done[h] = true;
            members[n] = h;
            titles[n][0] = '\0';
            for (int k = 0; k < x->n_keys; k++)
                if (!x->keys[k].implied && compared(&x->keys[k]))
                    label_add(titles[n], PLOT_LABEL_MAX, x->keys[k].name, x->groups[h].values[k]);
            tp[n] = titles[n];
            n++;
        }
        char base[PLOT_LABEL_MAX + 32], slug[PLOT_LABEL_MAX], sub[PLOT_LABEL_MAX + 64];
        slugify(slug, sizeof slug, part);
        if (part[0])
            snprintf(base, sizeof base, "%s_%s", stem, slug);
        else
            snprintf(base, sizeof base, "%s", stem);
        snprintf(sub, sizeof sub, "%s%smean over seeds", part, part[0] ? "; " : "");
        char ylabel[64];
        snprintf(ylabel, sizeof ylabel, "%s accuracy", heldout(x));
        snprintf(sub, sizeof sub, "%s%smean over seeds, band = +/-1 sd", part,
                 part[0] ? "; " : "");
        line_fig lf = {.base = base, .what = what, .sub = sub, .ylabel = ylabel,
                       .stat = PLOT_TEST_ACC, .key_pos = "bottom right", .bands = true,
                       .claims = true};
        rc = write_lines(x, &lf, members, tp, n, opt, fn, ctx, e);
    }
out:
    free(members);
    free(titles);
    free(tp);
    free(done);
    return rc;
}

/* Whether every group's value of key k is a finite number, and they are not all equal. */
static bool numeric_key(const plot_experiment *x, int k)
{
    if (x->keys[k].implied || strcmp(x->keys[k].path, "revision") == 0 || x->n_groups < 2)
        return false;
    bool varies = false;
    for (int g = 0; g < x->n_groups; g++) {
        char *end;
        double v = strtod(x->groups[g].values[k], &end);
        if (end == x->groups[g].values[k] || *end || !isfinite(v))
            return false;
        varies |= strcmp(x->groups[g].values[k], x->groups[0].values[k]) != 0;
    }
    return varies;
}

/* The value of key k of group g, as a number (numeric_key holds). */
static double key_value(const plot_experiment *x, int g, int k)
{
    return strtod(x->groups[g].values[k], NULL);
}

/* For a numeric swept key k: final held-out accuracy (mean +/- 1 sd over seeds, at each
 * group's last epoch) against the key's value, one figure per combination of the other keys:
 * vs_KEY[_OTHERS].dat (columns: value, mean, sd, n) and .gp, log x when the values span a
 * factor of 10 or more. */
static int write_vs_key(const plot_experiment *x, int k, const plot_options *opt,
                        plot_file_fn fn, void *ctx, err_info *e)
{
    int *members = malloc((size_t)x->n_groups * sizeof *members);
    bool *done = calloc((size_t)x->n_groups, sizeof *done);
    int rc = 0;
    if (!members || !done) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto out;
    }
    const char *key = x->keys[k].name, *ho = heldout(x);
    for (int g = 0; g < x->n_groups && rc == 0; g++) {
        if (done[g])
            continue;
        int n = 0;
        char part[PLOT_LABEL_MAX] = "";
        for (int j = 0; j < x->n_keys; j++)
            if (j != k && !x->keys[j].implied)
                label_add(part, sizeof part, x->keys[j].name, x->groups[g].values[j]);
        for (int h = g; h < x->n_groups; h++) {
            bool same = !done[h];
            for (int j = 0; j < x->n_keys && same; j++)
                same = j == k || x->keys[j].implied ||
                       strcmp(x->groups[g].values[j], x->groups[h].values[j]) == 0;
            if (!same)
                continue;
            done[h] = true;
            /* sorted by value */
            int at = n++;
            while (at > 0 && key_value(x, members[at - 1], k) > key_value(x, h, k)) {
                members[at] = members[at - 1];
                at--;
            }
            members[at] = h;
        }
        if (n < 2)
            continue;
        char base[PLOT_LABEL_MAX + 16], slug[PLOT_LABEL_MAX], kslug[PLOT_LABEL_MAX];
        char name[PLOT_LABEL_MAX * 2 + 32], what[PLOT_LABEL_MAX + 64], sub[PLOT_LABEL_MAX + 64];
        slugify(kslug, sizeof kslug, key);
        slugify(slug, sizeof slug, part);
        snprintf(base, sizeof base, part[0] ? "vs_%.60s_%.180s" : "vs_%.60s", kslug, slug);
        snprintf(name, sizeof name, "%s.dat", base);
        out_file o = {0};
        if ((rc = out_open(&o, opt->dir, name, "data", e)))
            break;
        fprintf(o.f, "# bench plot: final %s accuracy against %s", ho, key);
        if (part[0]) {
            fputs(", ", o.f);
            comment_str(o.f, part);
        }
        fputs("\n# value mean sd n (mean and sample sd over seeds at each group's last epoch)\n",
              o.f);
        double lo = INFINITY, hi = -INFINITY, vmin = INFINITY, vmax = -INFINITY;
        for (int i = 0; i < n; i++) {
            const plot_group *gr = &x->groups[members[i]];
            size_t at = (size_t)(gr->n_epochs - 1) * PLOT_STAT_COUNT + PLOT_TEST_ACC;
            double v = key_value(x, members[i], k);
            fprintf(o.f, "%.9g", v);
            dat_num(o.f, gr->n_epochs ? gr->mean[at] : NAN);
            dat_num(o.f, gr->n_epochs ? gr->sd[at] : NAN);
            fprintf(o.f, " %d\n", gr->n_epochs ? gr->n[gr->n_epochs - 1] : 0);
            if (gr->n_epochs && isfinite(gr->mean[at])) {
                lo = fmin(lo, gr->mean[at] - gr->sd[at]);
                hi = fmax(hi, gr->mean[at] + gr->sd[at]);
            }
            vmin = fmin(vmin, v);
            vmax = fmax(vmax, v);
        }
        if ((rc = out_close(&o, fn, ctx, e)))
            break;
        snprintf(what, sizeof what, "final %s accuracy by %s", ho, key);
        snprintf(sub, sizeof sub, "%s%smean over seeds, bars = +/-1 sd", part,
                 part[0] ? "; " : "");
        if ((rc = script_open(&o, x, opt, base, what, 800, 500, e)))
            break;
        FILE *f = o.f;
        fputs("dat = bench_dir.", f);
        gp_str(f, name);
        fputc('\n', f);
        gp_title(f, "set title", what, sub);
        fputs("set xlabel ", f);
        gp_str(f, key);
        fprintf(f, "\nset ylabel '%s accuracy'\nunset key\n", ho);
        if (vmin > 0 && vmax / vmin >= 10)
            fprintf(f, "set logscale x\nset xrange [%.9g:%.9g]\n", vmin / 1.5, vmax * 1.5);
        else {
            double pad = (vmax - vmin) * 0.08;
            fprintf(f, "set xrange [%.9g:%.9g]\n", vmin - pad, vmax + pad);
        }
        claim_lines(f, x, opt, lo, hi);
        fputs("plot dat using 1:2:3 with yerrorlines lt 1 pt 7 ps 1 notitle\n", f);
        rc = out_close(&o, fn, ctx, e);
    }
out:
    free(members);
    free(done);
    return rc;
}

int plot_write(const plot_experiment *x, const plot_options *opt, plot_file_fn fn, void *ctx,
               err_info *e)
{
    assert(x && opt && opt->dir);
    int rc = make_dirs(opt->dir, e);
    bool single = x->n_groups == 1 && !x->only_run;
    for (int g = 0; g < x->n_groups && rc == 0; g++) {
        const plot_group *gr = &x->groups[g];
        rc = write_group_dat(x, gr, opt->dir, fn, ctx, e);
        if (rc == 0)
            rc = write_fig4(x, gr, opt, single, fn, ctx, e);
        if (rc == 0 && gr->k > 0) {
            rc = write_confusion_dat(x, gr, opt->dir, fn, ctx, e);
            if (rc == 0)
                rc = write_confusion(x, gr, opt, single, fn, ctx, e);
        }
    }
    if (rc || x->only_run)
        return rc;
    bool opt_varies = false, bn_varies = false;
    for (int k = 0; k < x->n_keys; k++) {
        opt_varies |= !x->keys[k].implied && strcmp(x->keys[k].path, "optimizer") == 0;
        bn_varies |= !x->keys[k].implied && is_bn_key(&x->keys[k]);
    }
    /* "test accuracy per epoch by optimizer", "... by batch norm": the display names */
    char what[128];
    snprintf(what, sizeof what, "%s accuracy per epoch by %s", heldout(x),
             exp_vocab_find("optimizer")->display);
    if (opt_varies)
        rc = write_comparisons(x, opt, "optimizers", what, is_optimizer_key, fn, ctx, e);
    snprintf(what, sizeof what, "%s accuracy per epoch by %s", heldout(x),
             exp_vocab_find("bn")->display);
    if (rc == 0 && bn_varies)
        rc = write_comparisons(x, opt, "bn", what, is_bn_key, fn, ctx, e);
    for (int k = 0; k < x->n_keys && rc == 0; k++)
        if (numeric_key(x, k))
            rc = write_vs_key(x, k, opt, fn, ctx, e);
    if (rc)
        return rc;
    /* loss and time: every group */
    int *all = malloc((size_t)x->n_groups * sizeof *all);
    const char **titles = malloc((size_t)x->n_groups * sizeof *titles);
    if (!all || !titles) {
        free(all);
        free(titles);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    for (int g = 0; g < x->n_groups; g++) {
        all[g] = g;
        titles[g] = x->groups[g].label[0] ? x->groups[g].label : "all runs";
    }
    line_fig loss = {.base = "loss", .what = "training loss per epoch",
                     .sub = "mean over seeds", .ylabel = "training loss (cross-entropy)",
                     .stat = PLOT_TRAIN_LOSS, .key_pos = "top right", .logy = true};
    /* CPU time is the code's speed; wall time beside it shows what the machine's load
     * added (a wall line far above its CPU line: the epoch waited for a core) */
    line_fig time = {.base = "time", .what = "training time per epoch: CPU (solid), wall clock "
                                             "(dashed)",
                     .sub = "mean over seeds; CPU time summed over the run's threads\n"
                            "circled: a run's epoch contended (its wall time is the machine's "
                            "load)",
                     .ylabel = "seconds per epoch", .stat = PLOT_CPU_S,
                     .key_pos = "top left", .from_zero = true, .stat2 = PLOT_WALL_S,
                     .stat_title = " (CPU)", .stat2_title = " (wall)",
                     .mark_contended = true};
    rc = write_lines(x, &loss, all, titles, x->n_groups, opt, fn, ctx, e);
    if (rc == 0)
        rc = write_lines(x, &time, all, titles, x->n_groups, opt, fn, ctx, e);
    free(all);
    free(titles);
    return rc;
}

/* ---- validation against test ------------------------------------------------------------- */

/* A point's sd where it draws a bar (n >= 2), else 0. */
static double bar_sd(double sd, int n) { return n >= 2 && isfinite(sd) ? sd : 0.0; }

/* *lo, *hi <- one axis range (in %) holding every point with its bars, both coordinates, and
 * a margin; at least 0.2 points wide. */
static void selections_range(double *lo, double *hi, const plot_point *p, int n)
{
    double a = INFINITY, b = -INFINITY;
    for (int i = 0; i < n; i++) {
        double sx = bar_sd(p[i].x_sd, p[i].nx), sy = bar_sd(p[i].y_sd, p[i].ny);
        a = fmin(a, fmin(p[i].x - sx, p[i].y - sy));
        b = fmax(b, fmax(p[i].x + sx, p[i].y + sy));
    }
    double pad = fmax((b - a) * 0.15, 0.001);
    *lo = 100.0 * fmax(a - pad, 0.0);
    *hi = 100.0 * fmin(b + pad, 1.0);
}

static int write_selections_dat(const plot_point *p, int n, const char *dir, plot_file_fn fn,
                                void *ctx, err_info *e)
{
    out_file o = {0};
    int rc = out_open(&o, dir, "validation_vs_test.dat", "data", e);
    if (rc)
        return rc;
    fputs("# bench plot --selections: the recipes chosen on validation, run on the test set\n"
          "# val_mean val_sd test_mean test_sd n_val n_test (in %; sd 0 where n < 2)\n"
          "# experiment names, in order, are the labels of the .gp script\n", o.f);
    for (int i = 0; i < n; i++) {
        fprintf(o.f, "%.9g", 100.0 * p[i].x);
        dat_num(o.f, 100.0 * bar_sd(p[i].x_sd, p[i].nx));
        dat_num(o.f, 100.0 * p[i].y);
        dat_num(o.f, 100.0 * bar_sd(p[i].y_sd, p[i].ny));
        fprintf(o.f, " %d %d\n", p[i].nx, p[i].ny);
    }
    return out_close(&o, fn, ctx, e);
}

int plot_selections(const plot_point *p, int n, const char *footer, const plot_options *o,
                    plot_file_fn fn, void *ctx, err_info *e)
{
    assert(p && n > 0 && o && o->dir);
    int rc = make_dirs(o->dir, e);
    if (rc == 0)
        rc = write_selections_dat(p, n, o->dir, fn, ctx, e);
    out_file s = {0};
    static const char title[] = "Validation accuracy against test accuracy of the selected "
                                "recipes";
    if (rc || (rc = script_open_footer(&s, footer, o, "validation_vs_test", title, 800, 800, e)))
        return rc;
    FILE *f = s.f;
    double lo, hi;
    selections_range(&lo, &hi, p, n);
    fputs("dat = bench_dir.'validation_vs_test.dat'\n", f);
    gp_title(f, "set title", title, "mean over seeds, bars = +/-1 sd (where n >= 2)");
    fprintf(f, "set size ratio -1\nset xrange [%.9g:%.9g]\nset yrange [%.9g:%.9g]\n", lo, hi,
            lo, hi);
    fputs("set xlabel 'validation accuracy (%)'\nset ylabel 'test accuracy (%)'\n"
          "set key top left\n", f);
    for (int i = 0; i < n; i++) {
        fprintf(f, "set label %d ", i + 1);
        gp_str(f, p[i].label);
        fprintf(f, " at %.9g, %.9g offset 1, 0.6 font ',9'\n", 100.0 * p[i].x, 100.0 * p[i].y);
    }
    fputs("plot x with lines lt 8 dt 2 lw 1 title 'test = validation', \\\n"
          "     dat using 1:3:2:4 with xyerrorbars lt 1 pt 7 ps 1.2 "
          "title 'selected recipe (mean +/- 1 sd)'\n", f);
    return out_close(&s, fn, ctx, e);
}

int plot_scripts_note(void *ctx, const char *path, const char *kind)
{
    plot_scripts *l = ctx;
    if (strcmp(kind, "script") != 0)
        return 0;
    if (!vec_grow((void **)&l->v, l->n, &l->cap, sizeof *l->v) || !(l->v[l->n] = strdup(path)))
        return ERR_NOMEM;
    l->n++;
    return 0;
}

void plot_scripts_free(plot_scripts *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    *l = (plot_scripts){0};
}

/* ---- rendering ---------------------------------------------------------------------------- */

bool plot_gnuplot_available(void)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin"; /* what execvp searches without PATH */
    char dir[PLOT_PATH_MAX];
    while (*path) {
        size_t len = strcspn(path, ":");
        if (len == 0)
            snprintf(dir, sizeof dir, "./gnuplot");
        else
            snprintf(dir, sizeof dir, "%.*s/gnuplot", (int)(len < 4000 ? len : 4000), path);
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISREG(st.st_mode) && access(dir, X_OK) == 0)
            return true;
        path += len;
        if (*path == ':')
            path++;
    }
    return false;
}

int plot_render(const char *script, err_info *e)
{
    assert(script);
    /* the last 4 KiB of what gnuplot says, for the message */
    char buf[4096];
    int st = 0;
    const char *const argv[] = {"gnuplot", script, NULL};
    if (proc_run(buf, sizeof buf, &st, argv, e))
        return err_prefix(e, "gnuplot on '%s'", script);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    const char *last = proc_last_line(buf);
    if (WIFEXITED(st))
        return err_set(e, ERR_IO, "gnuplot failed on '%s' (exit %d)%s%s", script,
                       WEXITSTATUS(st), *last ? ": " : "", last);
    return err_set(e, ERR_IO, "gnuplot on '%s' was killed by signal %d", script, WTERMSIG(st));
}
