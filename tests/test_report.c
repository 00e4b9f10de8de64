/* Tests of harness/report on databases filled through the store API with fabricated runs:
 * grouping by the swept keys (seed excluded) and by --group-by (with what it pools),
 * n/mean/sd/CI/best/worst and times against hand-computed numbers, diverged and failed runs
 * counted apart, --epoch, comparisons and Holm (within one table), per-class means, every
 * output format parsed back (CSV, JSON) or checked for its shape (table, Markdown), the
 * paper's verdict rules and claims table, the confusion matrix, and the runs (--runs: planned
 * order, exact Markdown rows) and provenance (--provenance: builds per kernel set, hosts, data
 * sets) views in every format. The defects of issue 15 have their own tests at the end:
 * configurations and builds never pooled, versions of a changed file apart, Holm per table,
 * a comparison's direction fixed by the file, intervals inside [0, 100]%, reproducible p; and
 * runs trained on a contended machine marked from their stored sums (at an epoch, up to it). */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, nftw, fmemopen */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>

#include "report.h"
#include "report_fixture.h"


static const char spec_opt[] = "[experiment]\nname = \"opt\"\n"
                               "[sweep]\noptimizer = [\"momentum\", \"adam\"]\n"
                               "bn = [true, false]\nseed = [1, 2, 3]\n";

typedef fix_db fixture;

/* Experiment "opt": four groups.
 *   momentum bn=true : 0.99 0.98 0.97            n=3, mean 0.98, sd 0.01
 *   adam bn=true     : 0.95 0.96 + 1 DIVERGED   n=2, mean 0.955
 *   momentum bn=false: 0.90 0.92                 n=2, mean 0.91
 *   adam bn=false    : 0.80 + 1 FAILED + 1 RUNNING  n=1
 * Every completed run trains 10 s + 12 s. */
static const fix_run opt_runs[] = {
    {"k01aaaa", "momentum", 1, 1, RUN_COMPLETED, 0.99, 10, 12, 0, NULL},
    {"k02aaaa", "momentum", 1, 2, RUN_COMPLETED, 0.98, 10, 12, 0, NULL},
    {"k03aaaa", "momentum", 1, 3, RUN_COMPLETED, 0.97, 10, 12, 0, NULL},
    {"k04aaaa", "adam", 1, 1, RUN_COMPLETED, 0.95, 10, 12, 0, NULL},
    {"k05aaaa", "adam", 1, 2, RUN_COMPLETED, 0.96, 10, 12, 0, NULL},
    {"k06aaaa", "adam", 1, 3, RUN_DIVERGED, 0.10, 10, 12, 0, NULL},
    {"k07aaaa", "momentum", 0, 1, RUN_COMPLETED, 0.90, 10, 12, 0, NULL},
    {"k08aaaa", "momentum", 0, 2, RUN_COMPLETED, 0.92, 10, 12, 0, NULL},
    {"k09aaaa", "adam", 0, 1, RUN_COMPLETED, 0.80, 10, 12, 0, NULL},
    {"k10aaaa", "adam", 0, 2, RUN_FAILED, 0.10, 10, 12, 0, NULL},
    {"k11aaaa", "adam", 0, 3, RUN_RUNNING, 0.10, 10, 12, 0, NULL},
};

static int setup(void **state)
{
    fixture *f = fix_db_new("test_report");
    int64_t x = fix_experiment(f->s, "opt", spec_opt);
    for (size_t i = 0; i < sizeof opt_runs / sizeof opt_runs[0]; i++)
        fix_add(f->s, x, &opt_runs[i]);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix_db_free(*state);
    return 0;
}

static void load(report *r, fixture *f, const report_options *o)
{
    err_info e = {0};
    if (report_load(r, f->s, o, &e))
        fail_msg("report_load: %s", e.msg);
}

static void test_grouping(void **state)
{
    fixture *f = *state;
    report_options o = report_options_default();
    report r;
    load(&r, f, &o);
    assert_int_equal(r.n_sections, 1);
    const report_section *sec = &r.sections[0];
    assert_string_equal(sec->experiment, "opt");
    assert_int_equal(sec->n_keys, 2); /* optimizer, bn: seed is not a grouping key */
    assert_string_equal(sec->keys[0], "optimizer");
    assert_string_equal(sec->keys[1], "bn");
    assert_int_equal(sec->n_total, 11);
    assert_int_equal(sec->n_runs, 0); /* runs are not kept unless asked: memory is per group */
    assert_int_equal(sec->n_groups, 4);
    const report_group *g = sec->groups;
    assert_string_equal(g[0].label, "optimizer=momentum bn=true");
    /* the sweep's order (optimizer slowest), not the order the runs were stored in */
    assert_string_equal(g[1].label, "optimizer=momentum bn=false");
    assert_string_equal(g[2].label, "optimizer=adam bn=true");
    assert_string_equal(g[3].label, "optimizer=adam bn=false");
    /* group 0: 0.99 0.98 0.97 */
    assert_int_equal(g[0].n, 3);
    assert_close(g[0].acc.mean, 0.98, 1e-12);
    assert_close(g[0].acc.sd, 0.01, 1e-12);
    assert_close(g[0].acc.ci_lo, 0.98 - 4.302653 * 0.01 / sqrt(3.0), 1e-7);
    /* 0.98 + 4.302653 * 0.01 / sqrt(3) = 1.0048: an accuracy's mean cannot pass 100% */
    assert_close(g[0].acc.ci_hi, 1.0, 0);
    assert_close(g[0].acc.max, 0.99, 0);
    assert_close(g[0].acc.min, 0.97, 0);
    assert_close(g[0].f1.mean, 0.977, 1e-12);
    assert_close(g[0].train_s.mean, 22.0, 1e-12);
    assert_close(g[0].epoch_s, 11.0, 1e-12);
    /* diverged and failed runs are counted, never averaged in */
    assert_int_equal(g[2].n, 2);
    assert_int_equal(g[2].n_diverged, 1);
    assert_close(g[2].acc.mean, 0.955, 1e-12);
    assert_close(g[1].acc.mean, 0.91, 1e-12);
    assert_int_equal(g[3].n, 1);
    assert_int_equal(g[3].n_failed, 1);
    assert_int_equal(g[3].n_unfinished, 1);
    assert_close(g[3].acc.mean, 0.80, 0);
    assert_true(isnan(g[3].acc.sd) && isnan(g[3].acc.ci_lo));
    assert_false(sec->validation);
    report_release(&r);
}


static void test_group_by_and_epoch(void **state)
{
    fixture *f = *state;
    report_options o = report_options_default();
    o.group_by = "bn";
    o.epoch = 1;
    report r;
    load(&r, f, &o);
    const report_section *sec = &r.sections[0];
    assert_int_equal(sec->n_groups, 2);
    assert_string_equal(sec->groups[0].label, "bn=true");
    /* coarser than the configurations: what it averages over is named */
    assert_string_equal(sec->pooled, "optimizer");
    assert_int_equal(sec->groups[0].n_cells, 2);
    /* epoch 1: each completed accuracy - 0.01; time 10 s */
    assert_int_equal(sec->groups[0].n, 5);
    assert_close(sec->groups[0].acc.mean, (0.99 + 0.98 + 0.97 + 0.95 + 0.96) / 5 - 0.01, 1e-12);
    assert_close(sec->groups[0].train_s.mean, 10.0, 1e-12);
    report_release(&r);

    /* an epoch no run reached: completed runs counted as short, none aggregated */
    o.epoch = 3;
    load(&r, f, &o);
    assert_int_equal(r.sections[0].groups[0].n, 0);
    assert_int_equal(r.sections[0].groups[0].n_short, 5);
    report_release(&r);

    /* "" = one group of everything; a dotted path works as a key */
    o = report_options_default();
    o.group_by = "";
    load(&r, f, &o);
    assert_int_equal(r.sections[0].n_groups, 1);
    assert_string_equal(r.sections[0].groups[0].label, "all");
    assert_int_equal(r.sections[0].groups[0].n, 8);
    report_release(&r);
    o.group_by = "optimizer.lr, model"; /* a key by its JSON path, or its label */
    load(&r, f, &o);
    assert_int_equal(r.sections[0].n_groups, 1);
    assert_string_equal(r.sections[0].groups[0].label, "lr=0.1 model=paper");
    assert_string_equal(r.sections[0].pooled, "bn, optimizer");
    report_release(&r);

    /* unknown key, unknown experiment */
    err_info e = {0};
    o.group_by = "colour";
    assert_int_equal(report_load(&r, f->s, &o, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "unknown grouping key 'colour' (valid: dataset, validation,"));
    report_release(&r);
    o = report_options_default();
    o.experiment = "nope";
    assert_int_equal(report_load(&r, f->s, &o, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "no experiment 'nope'"));
    report_release(&r);
}

static void test_comparisons(void **state)
{
    fixture *f = *state;
    report_options o = report_options_default();
    report r;
    load(&r, f, &o);
    const report_section *sec = &r.sections[0];
    /* only pairs differing in one key with n >= 2 on both sides: (0,1) bn, (0,2) optimizer */
    assert_int_equal(sec->n_cmp, 2);
    const report_comparison *c0 = &sec->cmp[0], *c1 = &sec->cmp[1];
    assert_int_equal(c0->a, 0);
    assert_int_equal(c0->b, 1);
    assert_string_equal(sec->keys[c0->key], "bn");
    assert_close(c0->w.diff, 0.98 - 0.91, 1e-12);
    assert_int_equal(c1->b, 2);
    assert_string_equal(sec->keys[c1->key], "optimizer");
    assert_close(c1->w.diff, 0.98 - 0.955, 1e-12);
    /* Holm over 2: the smaller p doubled, the larger at least that and at least itself */
    double lo = fmin(c0->w.p, c1->w.p), hi = fmax(c0->w.p, c1->w.p);
    double hlo = c0->w.p < c1->w.p ? c0->p_holm : c1->p_holm;
    double hhi = c0->w.p < c1->w.p ? c1->p_holm : c0->p_holm;
    assert_close(hlo, fmin(1.0, 2 * lo), 1e-15);
    assert_close(hhi, fmax(fmin(1.0, 2 * lo), hi), 1e-15);
    report_release(&r);
    o.compare = 0;
    load(&r, f, &o);
    assert_int_equal(r.sections[0].n_cmp, 0);
    report_release(&r);
}

static void test_sort_f1_and_classes(void **state)
{
    fixture *f = *state;
    report_options o = report_options_default();
    o.sort_f1 = true;
    o.per_class = true;
    report r;
    load(&r, f, &o);
    const report_section *sec = &r.sections[0];
    for (int g = 1; g < sec->n_groups; g++)
        assert_true(sec->groups[g - 1].f1.mean >= sec->groups[g].f1.mean);
    assert_string_equal(sec->groups[3].label, "optimizer=adam bn=false");
    /* the runs follow their groups after sorting */
    for (int i = 0; i < sec->n_runs; i++)
        if (strcmp(sec->runs[i].key, "k09aaaa") == 0)
            assert_int_equal(sec->runs[i].group, 3);
    /* per-class means of group momentum/true: precision = acc, recall of class 1 = acc - 0.1 */
    const report_group *g = &sec->groups[0];
    assert_string_equal(g->label, "optimizer=momentum bn=true");
    assert_int_equal(g->k, 3);
    assert_close(g->cls[0], 0.98, 1e-12);
    assert_close(g->cls[3 + 1], 0.88, 1e-12);
    assert_close(g->cls[6 + 2], 0.78, 1e-12);
    assert_close(g->cls[9 + 2], 30.0, 1e-12);
    report_release(&r);
}

/* Render r in fmt into a malloc'd string. */
static char *render(const report *r, table_format fmt)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    err_info e = {0};
    if (report_render(m, NULL, r, fmt, &e))
        fail_msg("render: %s", e.msg);
    fclose(m);
    return buf;
}

/* An experiment evaluated on a validation split says so: its accuracies are not test ones. */
static void test_validation_heading(void **state)
{
    fixture *f = *state;
    int64_t x = fix_experiment(f->s, "sel",
                               "[sweep]\noptimizer = [\"momentum\", \"sgd\"]\nseed = [1, 2]\n");
    const fix_run v[] = {
        {"val-1", "momentum", 1, 1, RUN_COMPLETED, 0.995, 10, 10, 0, NULL},
        {"val-2", "momentum", 1, 2, RUN_COMPLETED, 0.996, 10, 10, 0, NULL},
        {"val-3", "sgd", 1, 1, RUN_COMPLETED, 0.990, 10, 10, 0, NULL},
        {"val-4", "sgd", 1, 2, RUN_COMPLETED, 0.991, 10, 10, 0, NULL},
    };
    fix_prov p = {.threads = 1, .validation = 5000};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        fix_add_prov(f->s, x, &v[i], &p);
    report_options o = report_options_default();
    o.experiment = "sel";
    report r;
    load(&r, f, &o);
    assert_true(r.sections[0].validation);
    assert_int_equal(r.sections[0].n_cmp, 1);
    char *out = render(&r, TABLE_MD);
    assert_non_null(strstr(out, "## experiment sel: 4 runs, validation (held-out training images) "
                                "accuracy at the last epoch\n"));
    assert_non_null(strstr(out, "the test set is not read"));
    /* the comparisons are of validation accuracy too, and nothing calls it test accuracy */
    assert_non_null(strstr(out, "Welch's t-test of mean validation accuracy"));
    assert_null(strstr(out, "test accuracy"));
    free(out);
    report_release(&r);
}

/* A section knows its data set when all its runs share one (per-class rows name the classes
 * of a data set that has names), and none when they differ or do not say. */
static void test_section_dataset(void **state)
{
    fixture *f = *state;
    int64_t one = fix_experiment(f->s, "one", "[sweep]\nseed = [1, 2]\n");
    int64_t mixed = fix_experiment(f->s, "mixed", "[sweep]\nseed = [1, 2, 3]\n");
    fix_prov fashion = {.threads = 1, .dataset = "fashion-mnist"};
    fix_prov mnist = {.threads = 1, .dataset = "mnist"};
    const fix_run runs[] = {
        {"one-1", "momentum", 1, 1, RUN_COMPLETED, 0.9, 10, 10, 0, NULL},
        {"one-2", "momentum", 1, 2, RUN_COMPLETED, 0.9, 10, 10, 0, NULL},
        {"mix-1", "momentum", 1, 1, RUN_COMPLETED, 0.9, 10, 10, 0, NULL},
        {"mix-2", "momentum", 1, 2, RUN_COMPLETED, 0.9, 10, 10, 0, NULL},
        {"mix-3", "momentum", 1, 3, RUN_COMPLETED, 0.9, 10, 10, 0, NULL},
    };
    const fix_prov *where[] = {&fashion, &fashion, &fashion, &mnist, &fashion};
    for (int i = 0; i < 5; i++)
        fix_add_prov(f->s, i < 2 ? one : mixed, &runs[i], where[i]);
    report_options o = report_options_default();
    report r;
    o.experiment = "one";
    load(&r, f, &o);
    assert_string_equal(r.sections[0].dataset, "fashion-mnist");
    report_release(&r);
    o.experiment = "mixed";
    load(&r, f, &o);
    assert_string_equal(r.sections[0].dataset, "");
    report_release(&r);
    o.experiment = NULL; /* the fixture's own experiment says no data set */
    load(&r, f, &o);
    for (int s = 0; s < r.n_sections; s++)
        if (strcmp(r.sections[s].experiment, "opt") == 0)
            assert_string_equal(r.sections[s].dataset, "");
    report_release(&r);
}

/* Split a CSV line without quotes into fields (the fixture's labels have no commas). */
static int csv_fields(char *line, char **out, int max)
{
    int n = 0;
    for (char *p = line; n < max;) {
        out[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static void test_formats(void **state)
{
    fixture *f = *state;
    report_options o = report_options_default();
    o.keep_runs = true; /* as bench report does for JSON, which lists each group's runs */
    report r;
    load(&r, f, &o);

    char *csv = render(&r, TABLE_CSV);
    char *save = NULL, *line = strtok_r(csv, "\n", &save);
    char *fld[32];
    assert_int_equal(csv_fields(line, fld, 32), 23);
    assert_string_equal(fld[0], "experiment");
    assert_string_equal(fld[1], "version");
    assert_string_equal(fld[7], "acc_mean");
    int rows = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        assert_int_equal(csv_fields(line, fld, 32), 23);
        assert_string_equal(fld[1], "1");
        if (rows == 0) {
            assert_string_equal(fld[2], "optimizer=momentum bn=true");
            assert_int_equal(atoi(fld[3]), 3);
            assert_close(strtod(fld[7], NULL), 0.98, 1e-9);
            assert_close(strtod(fld[8], NULL), 0.01, 1e-9);
            assert_close(strtod(fld[19], NULL), 22.0, 1e-9);
            assert_string_equal(fld[20], "0"); /* every run 22 s: sd 0, min 22 */
            assert_close(strtod(fld[21], NULL), 22.0, 1e-9);
        }
        if (rows == 3) {
            assert_string_equal(fld[5], "1"); /* failed */
            assert_string_equal(fld[8], "");  /* sd of one run: empty */
        }
        rows++;
    }
    assert_int_equal(rows, 4);
    free(csv);

    char *js = render(&r, TABLE_JSON);
    json_error_t je;
    json_t *root = json_loads(js, 0, &je);
    if (!root)
        fail_msg("json: %s", je.text);
    json_t *groups = json_object_get(json_array_get(json_object_get(root, "experiments"), 0),
                                     "groups");
    assert_int_equal(json_array_size(groups), 4);
    json_t *g0 = json_array_get(groups, 0);
    assert_int_equal(json_integer_value(json_object_get(g0, "n")), 3);
    assert_close(json_real_value(json_object_get(json_object_get(g0, "accuracy"), "mean")), 0.98,
                 1e-9);
    assert_int_equal(json_array_size(json_object_get(g0, "runs")), 3);
    /* values typed: a boolean is a boolean */
    assert_true(json_is_true(json_object_get(json_object_get(g0, "values"), "bn")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(g0, "values"),
                                                          "optimizer")),
                        "momentum");
    json_t *g3 = json_array_get(groups, 3);
    assert_true(json_is_null(json_object_get(json_object_get(g3, "accuracy"), "sd")));
    json_t *cmps = json_object_get(json_array_get(json_object_get(root, "experiments"), 0),
                                   "comparisons");
    assert_int_equal(json_array_size(cmps), 2);
    json_decref(root);
    free(js);

    char *t = render(&r, TABLE_TEXT);
    assert_non_null(strstr(t, "== experiment opt"));
    assert_non_null(strstr(t, "98.00 ± 1.00"));
    assert_non_null(strstr(t, "22.0 ± 0.0  22.0"));
    assert_non_null(strstr(t, "80.00 ± -"));
    assert_non_null(strstr(t, "comparisons (Welch"));
    assert_non_null(strstr(t, "1 run unfinished"));
    free(t);
    char *md = render(&r, TABLE_MD);
    assert_non_null(strstr(md, "## experiment opt"));
    assert_non_null(strstr(md, "| group | n |"));
    assert_non_null(strstr(md, "|---|---:|"));
    free(md);
    report_release(&r);

    /* per-class CSV: one row per group and class */
    o.per_class = true;
    load(&r, f, &o);
    csv = render(&r, TABLE_CSV);
    int lines = 0;
    for (char *p = csv; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + 4 * 3);
    assert_non_null(strstr(csv, "experiment,version,group,class,precision,recall,f1,support\n"));
    free(csv);
    report_release(&r);
}

/* Experiment "prov": seeds 1..3 queued out of order, two builds of one commit (clean and
 * dirty), one host, one data set; run 3 used other kernels and failed after epoch 1. */
#define PROV_SHA "abcdef0123456789abcdef0123456789abcdef01"
#define PROV_KEY1 "2222222222222222222222222222222222222222222222222222222222222222"
#define PROV_KEY2 "1111111111111111111111111111111111111111111111111111111111111111"
#define PROV_KEY3 "0000000000000000000000000000000000000000000000000000000000000000"

static void add_prov_experiment(fixture *f)
{
    err_info e = {0};
    int64_t x = fix_experiment(f->s, "prov", "[experiment]\nname = \"prov\"\n"
                                             "[sweep]\nseed = [1, 2, 3]\n");
    int64_t clean = 0, dirty = 0, host = 0, data = 0;
    store_build b = {.git_sha = PROV_SHA, .git_branch = "main", .git_describe = "v1.0-3-gabcdef0",
                     .compiler = "GNU", .compiler_version = "12.2.0",
                     .cflags = "-O2 -march=native", .build_type = "Release", .blas = "none",
                     .binary_sha256 = "0123456789abcdef0123456789abcdef"
                                      "0123456789abcdef0123456789abcdef"};
    store_build bd = b;
    bd.git_dirty = 1;
    bd.git_diff = "--- a\n+++ b\n";
    bd.git_describe = "v1.0-3-gabcdef0-dirty";
    store_host h = {.hostname = "lab1", .cpu_model = "Test CPU 9000", .cores = 8,
                    .ram_bytes = 16LL << 30, .os = "Debian GNU/Linux 12", .kernel = "Linux 6.1"};
    store_dataset d = {.name = "mnist", .file = "data/mnist",
                       .sha256 = "c65580678af93f1ea48c2c0d01d543ec"
                                 "89307c6b8a0eb7ca542d7c18c5f4c681",
                       .n_images = 70000};
    if (store_build_put(f->s, &clean, &b, &e) || store_build_put(f->s, &dirty, &bd, &e) ||
        store_host_put(f->s, &host, &h, &e) || store_dataset_put(f->s, &data, &d, &e))
        fail_msg("put: %s", e.msg);
    const fix_run runs[] = {
        {PROV_KEY2, "momentum", 1, 2, RUN_COMPLETED, 0.991, 10, 12, clean, NULL},
        {PROV_KEY1, "momentum", 1, 1, RUN_COMPLETED, 0.985, 10, 12, dirty, NULL},
        {PROV_KEY3, "momentum", 1, 3, RUN_FAILED, 0.500, 10, 12, clean, NULL},
    };
    const fix_prov prov[] = {
        {host, data, "conv:direct gemm:naive", 2, 100LL << 20, 0, NULL},
        {host, data, "conv:direct gemm:naive", 2, 100LL << 20, 0, NULL},
        {host, data, "conv:im2col gemm:naive", 2, 50LL << 20, 0, NULL},
    };
    for (int i = 0; i < 3; i++)
        fix_add_prov(f->s, x, &runs[i], &prov[i]);
}

static void test_runs(void **state)
{
    fixture *f = *state;
    add_prov_experiment(f);
    report_options o = report_options_default();
    o.runs = true;
    report r;
    load(&r, f, &o);
    assert_int_equal(r.n_sections, 2);
    /* "opt" in the sweep's order (optimizer, then bn, then seed), not the store's: the two
     * momentum/bn=false runs come before the adam runs although queued after them */
    char *md = render(&r, TABLE_MD);
    assert_non_null(strstr(md, "## runs of experiment opt: 11 runs in planned order, test "
                               "accuracy at the last epoch\n\n"
                               "| run | revision | config | status | acc % | F1 | epochs | "
                               "train s | threads | peak RSS MiB |\n"
                               "|---|---|---|---|---:|---:|---:|---:|---:|---:|\n"
                               "| k01aaaa | - | optimizer=momentum bn=true seed=1 | COMPLETED | "
                               "99.00 | 0.9870 | 2 | 22.0 | 1 | - |\n"));
    const char *order[] = {"| k01aaaa |", "| k02aaaa |", "| k03aaaa |", "| k07aaaa |",
                           "| k08aaaa |", "| k04aaaa |", "| k05aaaa |", "| k06aaaa |",
                           "| k09aaaa |", "| k10aaaa |", "| k11aaaa |"};
    const char *at = md;
    for (int i = 0; i < 11; i++) {
        const char *next = strstr(at, order[i]);
        if (!next)
            fail_msg("%s missing or out of order", order[i]);
        at = next;
    }
    /* not COMPLETED: the figures of the last stored epoch (epoch 1 here), as stored */
    assert_non_null(strstr(md, "| k06aaaa | - | optimizer=adam bn=true seed=3 | DIVERGED | "
                               "9.00 | 0.0870 | 1 | 10.0 | 1 | - |\n"));
    assert_non_null(strstr(md, "| k11aaaa | - | optimizer=adam bn=false seed=3 | RUNNING | "
                               "9.00 | 0.0870 | 1 | 10.0 | 1 | - |\n"));
    /* "prov": key prefix, revision with -dirty, seeds in the file's order although queued 2,
     * 1, 3; nothing but the seed is swept, yet two builds made the runs: they are two groups,
     * labelled by the revision */
    assert_non_null(strstr(md, "## runs of experiment prov: 3 runs in planned order"));
    assert_non_null(strstr(md, "| 222222222222 | abcdef0-dirty | revision=abcdef0-dirty seed=1 | "
                               "COMPLETED | 98.50 | 0.9820 | 2 | 22.0 | 2 | 100 |\n"
                               "| 111111111111 | abcdef0 | revision=abcdef0 seed=2 | COMPLETED | "
                               "99.10 | 0.9880 | 2 | 22.0 | 2 | 100 |\n"
                               "| 000000000000 | abcdef0 | revision=abcdef0 seed=3 | FAILED | "
                               "49.00 | 0.4870 | 1 | 10.0 | 2 | 50 |\n"));
    free(md);
    char *t = render(&r, TABLE_TEXT);
    assert_non_null(strstr(t, "== runs of experiment prov"));
    assert_non_null(strstr(t, "  222222222222  abcdef0-dirty  revision=abcdef0-dirty seed=1  "
                              "COMPLETED  98.50"));
    free(t);

    /* CSV: one table for both sections, full keys and full precision */
    char *csv = render(&r, TABLE_CSV);
    char *save = NULL, *line = strtok_r(csv, "\n", &save);
    char *fld[32];
    assert_int_equal(csv_fields(line, fld, 32), 16);
    assert_string_equal(fld[2], "run");
    assert_string_equal(fld[14], "peak_rss_bytes");
    assert_string_equal(fld[15], "contended_epochs");
    int rows = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        assert_int_equal(csv_fields(line, fld, 32), 16);
        if (rows == 11) { /* the first run of prov */
            assert_string_equal(fld[0], "prov");
            assert_string_equal(fld[2], PROV_KEY1);
            assert_string_equal(fld[3], PROV_SHA);
            assert_string_equal(fld[4], "true");
            assert_string_equal(fld[5], "revision=abcdef0-dirty");
            assert_string_equal(fld[6], "1");
            assert_string_equal(fld[7], "COMPLETED");
            assert_close(strtod(fld[10], NULL), 0.985, 1e-9);
            assert_close(strtod(fld[12], NULL), 22.0, 1e-9);
            assert_string_equal(fld[14], "104857600");
            assert_string_equal(fld[15], "0"); /* no wait recorded: not contended */
        }
        if (rows == 0) {
            assert_string_equal(fld[3], ""); /* no build recorded */
            assert_string_equal(fld[4], "");
            assert_string_equal(fld[14], "");
        }
        rows++;
    }
    assert_int_equal(rows, 11 + 3);
    free(csv);

    /* JSON: the runs per experiment in the same order */
    char *js = render(&r, TABLE_JSON);
    json_t *root = json_loads(js, 0, NULL);
    assert_non_null(root);
    json_t *xs = json_object_get(root, "experiments");
    assert_int_equal(json_array_size(xs), 2);
    json_t *runs = json_object_get(json_array_get(xs, 1), "runs");
    assert_int_equal(json_array_size(runs), 3);
    json_t *r0 = json_array_get(runs, 0);
    assert_string_equal(json_string_value(json_object_get(r0, "run")), PROV_KEY1);
    assert_true(json_is_true(json_object_get(r0, "git_dirty")));
    assert_int_equal(json_integer_value(json_object_get(r0, "seed")), 1);
    assert_int_equal(json_integer_value(json_object_get(r0, "epochs_done")), 2);
    assert_close(json_real_value(json_object_get(r0, "acc")), 0.985, 1e-9);
    assert_int_equal(json_integer_value(json_object_get(r0, "peak_rss_bytes")), 100 << 20);
    json_t *opt0 = json_array_get(json_object_get(json_array_get(xs, 0), "runs"), 0);
    assert_true(json_is_null(json_object_get(opt0, "git_sha")));
    assert_string_equal(json_string_value(json_object_get(opt0, "group")),
                        "optimizer=momentum bn=true");
    json_decref(root);
    free(js);
    report_release(&r);

    /* --epoch: the figures at that epoch */
    o.experiment = "prov";
    o.epoch = 1;
    load(&r, f, &o);
    md = render(&r, TABLE_MD);
    assert_non_null(strstr(md, "test accuracy at epoch 1"));
    assert_non_null(strstr(md, "| 222222222222 | abcdef0-dirty | revision=abcdef0-dirty seed=1 | "
                               "COMPLETED | 97.50 | 0.9720 | 2 | 10.0 | 2 | 100 |\n"));
    free(md);
    report_release(&r);
}

static void test_provenance(void **state)
{
    fixture *f = *state;
    add_prov_experiment(f);
    report_options o = report_options_default();
    o.provenance = true;
    o.experiment = "prov";
    report r;
    load(&r, f, &o);
    const report_section *sec = &r.sections[0];
    /* a build per kernel set: clean/direct (run 2), dirty/direct (run 1), clean/im2col (run 3) */
    assert_int_equal(sec->n_builds, 3);
    assert_int_equal(sec->n_hosts, 1);
    assert_int_equal(sec->n_datasets, 1);
    assert_int_equal(sec->hosts[0].n_runs, 3);
    int sum = 0;
    for (int i = 0; i < sec->n_builds; i++)
        sum += sec->builds[i].n_runs;
    assert_int_equal(sum, 3);

    char *md = render(&r, TABLE_MD);
    assert_non_null(strstr(md, "## provenance of experiment prov: 3 runs\n\n### builds\n\n"));
    assert_non_null(strstr(md, "| " PROV_SHA " | abcdef0 | main | false | v1.0-3-gabcdef0 | "
                               "GNU 12.2.0 | -O2 -march=native | Release | none | "
                               "conv:direct gemm:naive | 0123456789ab | 1 |\n"));
    assert_non_null(strstr(md, "| " PROV_SHA " | abcdef0 | main | true | v1.0-3-gabcdef0-dirty |"));
    assert_non_null(strstr(md, "### hosts\n\n"));
    assert_non_null(strstr(md, "| lab1 | Test CPU 9000 | 8 | 16.0 | Debian GNU/Linux 12 | "
                               "Linux 6.1 | 3 |\n"));
    assert_non_null(strstr(md, "### data sets\n\n"));
    assert_non_null(strstr(md, "| mnist | c65580678af9 | 70000 | 3 |\n"));
    free(md);

    char *csv = render(&r, TABLE_CSV);
    char *save = NULL, *line = strtok_r(csv, "\n", &save);
    char *fld[32];
    assert_int_equal(csv_fields(line, fld, 32), 24);
    assert_string_equal(fld[2], "kind");
    assert_string_equal(fld[23], "n_images");
    int n_build = 0, n_host = 0, n_data = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        assert_int_equal(csv_fields(line, fld, 32), 24);
        assert_string_equal(fld[0], "prov");
        if (strcmp(fld[2], "build") == 0) {
            n_build++;
            assert_string_equal(fld[4], PROV_SHA);
            assert_string_equal(fld[8], "GNU");
            assert_string_equal(fld[15], ""); /* host fields empty */
        } else if (strcmp(fld[2], "host") == 0) {
            n_host++;
            assert_string_equal(fld[16], "Test CPU 9000");
            assert_string_equal(fld[18], "17179869184");
            assert_string_equal(fld[4], "");
        } else {
            assert_string_equal(fld[2], "dataset");
            n_data++;
            assert_string_equal(fld[21], "mnist");
            assert_string_equal(fld[23], "70000");
        }
    }
    assert_int_equal(n_build, 3);
    assert_int_equal(n_host, 1);
    assert_int_equal(n_data, 1);
    free(csv);

    char *js = render(&r, TABLE_JSON);
    json_t *root = json_loads(js, 0, NULL);
    assert_non_null(root);
    json_t *x = json_array_get(json_object_get(root, "experiments"), 0);
    assert_string_equal(json_string_value(json_object_get(x, "experiment")), "prov");
    assert_int_equal(json_array_size(json_object_get(x, "builds")), 3);
    json_t *h = json_array_get(json_object_get(x, "hosts"), 0);
    assert_string_equal(json_string_value(json_object_get(h, "cpu_model")), "Test CPU 9000");
    assert_int_equal(json_integer_value(json_object_get(h, "runs")), 3);
    json_t *d = json_array_get(json_object_get(x, "datasets"), 0);
    assert_int_equal(json_integer_value(json_object_get(d, "n_images")), 70000);
    json_decref(root);
    free(js);
    report_release(&r);

    /* runs without a recorded build, host or data set: one row of "-" each */
    o.experiment = "opt";
    load(&r, f, &o);
    assert_int_equal(r.sections[0].n_builds, 1);
    assert_int_equal(r.sections[0].builds[0].n_runs, 11);
    md = render(&r, TABLE_MD);
    assert_non_null(strstr(md, "| - | - | - | - | - | - | - | - | - | - | - | 11 |\n"));
    assert_non_null(strstr(md, "### hosts\n\n| hostname | CPU | cores | RAM GiB | OS | kernel "
                               "| runs |\n|---|---|---:|---:|---|---|---:|\n"
                               "| - | - | - | - | - | - | 11 |\n"));
    assert_non_null(strstr(md, "| - | - | - | 11 |\n"));
    free(md);
    report_release(&r);

    /* an unknown experiment: the same error as the groups */
    err_info e = {0};
    o.experiment = "nope";
    assert_int_equal(report_load(&r, f->s, &o, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "no experiment 'nope'"));
    report_release(&r);
}

static void test_verdicts(void **state)
{
    (void)state;
    stats_summary m;
    const double in[] = {0.9920, 0.9925, 0.9915}; /* CI around 0.992 contains 0.9922 */
    stats_summarize(&m, in, 3);
    assert_int_equal(report_verdict_accuracy(0.9922, &m), VERDICT_REPRODUCED);
    const double above[] = {0.995, 0.996};        /* mean above the claim */
    stats_summarize(&m, above, 2);
    assert_int_equal(report_verdict_accuracy(0.9922, &m), VERDICT_REPRODUCED);
    const double below[] = {0.9870, 0.9871, 0.9872}; /* whole CI below */
    stats_summarize(&m, below, 3);
    assert_int_equal(report_verdict_accuracy(0.9922, &m), VERDICT_NOT_REPRODUCED);
    stats_summarize(&m, above, 1);                /* one run */
    assert_int_equal(report_verdict_accuracy(0.9922, &m), VERDICT_INCONCLUSIVE);
    stats_summarize(&m, NULL, 0);                 /* missing */
    assert_int_equal(report_verdict_accuracy(0.9922, &m), VERDICT_INCONCLUSIVE);
    assert_int_equal(report_verdict_time(1200, &m), VERDICT_INCONCLUSIVE);
    const double t[] = {900, 1100};
    stats_summarize(&m, t, 2);
    assert_int_equal(report_verdict_time(1200, &m), VERDICT_REPRODUCED);
    assert_int_equal(report_verdict_time(900, &m), VERDICT_NOT_REPRODUCED);
    assert_string_equal(report_verdict_name(VERDICT_NOT_REPRODUCED), "not reproduced");
}

static void test_paper(void **state)
{
    fixture *f = *state;
    /* "paper" absent: the claims fall back to "ci"; "lenet5" has one run; "ji2018" none */
    int64_t ci = fix_experiment(f->s, "ci", "[experiment]\nname = \"ci\"\n");
    int64_t le = fix_experiment(f->s, "lenet5", "[experiment]\nname = \"lenet5\"\n");
    const fix_run runs[] = {
        {"c01aaaa", "momentum", 1, 1, RUN_COMPLETED, 0.9921, 500, 600, 0, NULL},
        {"c02aaaa", "momentum", 1, 2, RUN_COMPLETED, 0.9923, 500, 700, 0, NULL},
        {"c03aaaa", "momentum", 1, 3, RUN_COMPLETED, 0.9925, 500, 800, 0, NULL},
        {"l01aaaa", "sgd", 0, 1, RUN_COMPLETED, 0.9910, 100, 100, 0, NULL},
    };
    for (int i = 0; i < 3; i++)
        fix_add(f->s, ci, &runs[i]);
    fix_add(f->s, le, &runs[3]);
    report_claim *c = NULL;
    int n = 0;
    err_info e = {0};
    claims cl = {0};
    if (claims_load(&cl, BENCH_SOURCE_DIR "/experiments/claims.toml", &e))
        fail_msg("%s", e.msg);
    assert_int_equal(report_paper(&c, &n, f->s, &cl, NULL, 0, &e), 0);
    assert_int_equal(n, 5); /* one configuration each: a row per claim */
    assert_string_equal(c[0].group, "all");
    assert_string_equal(c[0].experiment, "ci");
    assert_int_equal(c[0].m.n, 3);
    assert_close(c[0].m.mean, 0.9923, 1e-12);
    assert_int_equal(c[0].verdict, VERDICT_REPRODUCED);
    /* macro F1 = acc - 0.003 = 0.9893: CI [0.9888, 0.9898] below 0.9919 */
    assert_int_equal(c[1].verdict, VERDICT_NOT_REPRODUCED);
    assert_close(c[2].m.mean, 1200.0, 1e-9); /* 1100, 1200, 1300 s */
    assert_int_equal(c[2].verdict, VERDICT_REPRODUCED);
    assert_string_equal(c[3].experiment, "lenet5");
    assert_int_equal(c[3].verdict, VERDICT_INCONCLUSIVE);
    assert_string_equal(c[4].experiment, "");
    assert_int_equal(c[4].verdict, VERDICT_INCONCLUSIVE);

    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_int_equal(report_paper_render(m, c, n, TABLE_CSV, &e), 0);
    fclose(m);
    assert_non_null(strstr(buf, "claim,claimed,experiment,group,n,mean,sd,ci_low,ci_high,"
                                "verdict,source\n"));
    assert_non_null(strstr(buf, "CNN with BN test accuracy (Ji 2018),99%,,,0,,,,,inconclusive,"
                                "\"Lee & Rhee (2024), Table 1, quoting Ji, Chun & Kim (2018)\"\n"));
    free(buf);
    m = open_memstream(&buf, &len);
    assert_int_equal(report_paper_render(m, c, n, TABLE_TEXT, &e), 0);
    fclose(m);
    assert_non_null(strstr(buf, "99.23 ± 0.02"));
    assert_non_null(strstr(buf, "20.0 ± 1.7 min"));
    assert_non_null(strstr(buf, "reproduced when the claim lies inside the 95% CI"));
    /* each claim's source once, under the rules */
    assert_non_null(strstr(buf, "  - training time per run: Lee & Rhee (2024): about 20 minutes "
                                "on an Intel i7-13700K"));
    free(buf);
    /* HTML: the same table as elements, the text escaped */
    m = open_memstream(&buf, &len);
    assert_int_equal(report_paper_render(m, c, n, TABLE_HTML, &e), 0);
    fclose(m);
    assert_non_null(strstr(buf, "<h3>claimed versus measured</h3>\n<div class=\"wide\"><table>\n<thead><tr>"
                                "<th class=\"l\">claim</th><th class=\"r\">claimed</th>"));
    assert_non_null(strstr(buf, "<td class=\"l\">test accuracy (Lee &amp; Rhee 2024)</td>"
                                "<td class=\"r\">99.22%</td><td class=\"l\">ci</td>"));
    assert_null(strstr(buf, "Lee & Rhee"));
    free(buf);
    free(c);

    /* one experiment: only the claims that name it, measured on it even where the claim
     * would try another first */
    assert_int_equal(report_paper(&c, &n, f->s, &cl, "lenet5", 0, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(c[0].what, "LeNet-5 test accuracy (LeCun 1998)");
    assert_string_equal(c[0].experiment, "lenet5");
    free(c);
    assert_int_equal(report_paper(&c, &n, f->s, &cl, "ci", 0, &e), 0);
    assert_int_equal(n, 3);
    assert_string_equal(c[2].experiment, "ci");
    free(c);
    claims_release(&cl);
}

static void test_confusion(void **state)
{
    fixture *f = *state;
    char *buf = NULL;
    size_t len = 0;
    err_info e = {0};
    FILE *m = open_memstream(&buf, &len);
    assert_int_equal(report_confusion(m, f->s, "k01a", 0, TABLE_CSV, &e), 0);
    fclose(m);
    assert_string_equal(buf, "true\\pred,0,1,2\n0,9,1,0\n1,0,18,2\n2,1,0,29\n");
    free(buf);
    m = open_memstream(&buf, &len);
    assert_int_equal(report_confusion(m, f->s, "k01aaaa", 1, TABLE_JSON, &e), 0);
    fclose(m);
    json_t *j = json_loads(buf, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "epoch")), 1);
    assert_int_equal(json_integer_value(json_array_get(
                         json_array_get(json_object_get(j, "matrix"), 2), 2)),
                     29);
    json_decref(j);
    free(buf);
    m = open_memstream(&buf, &len);
    assert_int_equal(report_confusion(m, f->s, "zzzz", 0, TABLE_TEXT, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "no run 'zzzz'"));
    assert_int_equal(report_confusion(m, f->s, "k01aaaa", 7, TABLE_TEXT, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "no epoch 7"));
    fclose(m);
    free(buf);
}

/* Whether a line of text contains key and, after it, part. */
static bool line_has(const char *text, const char *key, const char *part)
{
    char *copy = strdup(text), *save = NULL;
    bool found = false;
    for (char *line = strtok_r(copy, "\n", &save); line && !found;
         line = strtok_r(NULL, "\n", &save)) {
        const char *at = strstr(line, key);
        found = at && strstr(at, part);
    }
    free(copy);
    return found;
}

/* Runs trained on a contended machine are marked (timing.h: an epoch whose threads waited
 * for a CPU longer than 10% of their CPU time), from the run's sums store_epoch_put keeps: a
 * line under the groups, '*' on its train s in --runs, contended_epochs in CSV; at an epoch
 * before the contended one, nothing is marked. The quiet run beside it never is. */
static void test_contended_marked(void **state)
{
    fixture *f = *state;
    int64_t x = fix_experiment(f->s, "busy", "[experiment]\nname = \"busy\"\n"
                                             "[sweep]\nseed = [1, 2]\n");
    const fix_run quiet = {"b01aaaa", "momentum", 1, 1, RUN_COMPLETED, 0.99, 10, 12, 0, NULL};
    const fix_run busy = {"b02aaaa", "momentum", 1, 2, RUN_COMPLETED, 0.99, 10, 30, 0, NULL};
    const fix_times quiet_t = {{10, 12}, {0.1, 0.2}}, busy_t = {{10, 12}, {0.1, 18}};
    fix_add_timed(f->s, x, &quiet, NULL, &quiet_t);
    fix_add_timed(f->s, x, &busy, NULL, &busy_t);
    report_options o = report_options_default();
    o.experiment = "busy";
    report r;
    load(&r, f, &o);
    assert_int_equal(r.sections[0].groups[0].n, 2);
    assert_int_equal(r.sections[0].groups[0].n_contended, 1);
    char *t = render(&r, TABLE_TEXT);
    assert_non_null(strstr(t, "  1 completed run trained on a contended machine"));
    free(t);
    report_release(&r);

    o.runs = true;
    load(&r, f, &o);
    char *md = render(&r, TABLE_MD);
    assert_non_null(strstr(md, "| b01aaaa | - | seed=1 | COMPLETED | 99.00 | 0.9870 | 2 | 22.0 |"));
    assert_non_null(strstr(md, "| b02aaaa | - | seed=2 | COMPLETED | 99.00 | 0.9870 | 2 | 40.0* |"));
    free(md);
    /* CSV: the last field, contended_epochs */
    char *csv = render(&r, TABLE_CSV);
    assert_true(line_has(csv, ",b01aaaa,", ",22,1,,0"));
    assert_true(line_has(csv, ",b02aaaa,", ",40,1,,1"));
    free(csv);
    report_release(&r);

    /* at epoch 1 the busy run had not been contended yet */
    o.epoch = 1;
    load(&r, f, &o);
    md = render(&r, TABLE_MD);
    assert_true(line_has(md, "| b02aaaa |", " | 10.0 |"));
    free(md);
    report_release(&r);
    o.runs = false;
    load(&r, f, &o);
    assert_int_equal(r.sections[0].groups[0].n_contended, 0);
    t = render(&r, TABLE_TEXT);
    assert_null(strstr(t, "contended machine"));
    free(t);
    report_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_validation_heading, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grouping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_by_and_epoch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comparisons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sort_f1_and_classes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provenance, setup, teardown),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test_setup_teardown(test_paper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confusion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_section_dataset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contended_marked, setup, teardown),
    };
    return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
