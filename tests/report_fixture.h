/* Fabricated results databases for the report, check and history tests: runs, epochs and
 * bench perf measurements are written through the store API (no training), timestamps and
 * revisions set explicitly; and the measurements read back (fix_perfs_read, fix_steps_read)
 * for the store and perf tests. An experiment is stored as bench run stores it: with its
 * swept keys and [budget] (from parsing its spec), each run with its plan position and swept
 * values (the planned run of the spec with the fixture run's optimizer, bn and seed). */
#ifndef BENCH_TEST_REPORT_FIXTURE_H
#define BENCH_TEST_REPORT_FIXTURE_H

#include <ftw.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exp.h"
#include "store.h"

typedef struct fix_run {
    const char *key;
    const char *optimizer;
    int bn;
    int seed;
    int status;            /* RUN_COMPLETED, ... */
    double acc;            /* final test accuracy (epoch 2); epoch 1 is acc - 0.01 */
    double wall1, wall2;   /* epoch training times */
    int64_t build_id;
    const char *started_at; /* NULL: leave as written by the store */
} fix_run;

static inline int fix_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static inline void fix_rmdir(const char *dir) { nftw(dir, fix_rm, 16, FTW_DEPTH | FTW_PHYS); }

/* A fresh temporary directory under $TMPDIR. */
static inline void fix_mkdtemp(char *dir, size_t n, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, n, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    if (!mkdtemp(dir))
        fail_msg("mkdtemp %s", dir);
}

/* a and b within eps, else the test fails naming the expression and both values. */
#define assert_close(a, b, eps)                                                                \
    do {                                                                                       \
        double a_ = (a), b_ = (b);                                                             \
        if (!(fabs(a_ - b_) <= (eps)))                                                         \
            fail_msg("%s = %.17g, expected %.17g", #a, a_, b_);                                 \
    } while (0)

/* A results database in a fresh temporary directory, open for writing. */
typedef struct fix_db {
    char dir[256];
    char db[320];
    store *s;
} fix_db;

/* A new fix_db (test name: the directory's prefix); free it with fix_db_free. */
static inline fix_db *fix_db_new(const char *name)
{
    fix_db *f = calloc(1, sizeof *f);
    err_info e = {0};
    fix_mkdtemp(f->dir, sizeof f->dir, name);
    snprintf(f->db, sizeof f->db, "%s/bench.db", f->dir);
    if (store_open(&f->s, f->db, &e))
        fail_msg("%s", e.msg);
    return f;
}

static inline void fix_db_free(fix_db *f)
{
    store_close(f->s);
    fix_rmdir(f->dir);
    free(f);
}

static inline int64_t fix_experiment(store *s, const char *name, const char *spec)
{
    err_info e = {0};
    int64_t id = 0;
    char sha[65];
    snprintf(sha, sizeof sha, "%064zx", strlen(spec) * 31 + strlen(name));
    experiment xp;
    bool parsed = exp_parse(&xp, spec, strlen(spec), "x.toml", &e) == 0;
    char *swept = parsed ? exp_swept_json(&xp) : NULL;
    store_experiment x = {.name = name, .file = "x.toml", .spec_sha256 = sha, .spec_text = spec,
                          .swept = swept,
                          .budget_minutes = parsed ? xp.budget_minutes : 0,
                          .target_accuracy = parsed ? xp.target_accuracy : 0};
    if (store_experiment_put(s, &id, &x, &e))
        fail_msg("experiment_put: %s", e.msg);
    free(swept);
    if (parsed)
        exp_release(&xp);
    return id;
}

/* The spec of experiment version id, read back (fix_spec_of). */
typedef struct fix_spec {
    int64_t id;
    char *text;
} fix_spec;

static inline int fix_spec_see(void *ctx, const store_experiment_row *x)
{
    fix_spec *f = ctx;
    if (x->id == f->id && x->spec_text)
        f->text = strdup(x->spec_text);
    return 0;
}

/* *position, *values (malloc'd JSON, NULL when the spec does not parse) <- where the spec of
 * experiment exp_id plans the run with this optimizer, bn and seed (-1: nowhere). */
static inline void fix_plan(store *s, int64_t exp_id, const char *optimizer, int bn, int seed,
                            int *position, char **values)
{
    err_info e = {0};
    fix_spec f = {.id = exp_id};
    experiment xp;
    *position = -1;
    *values = NULL;
    if (store_experiments(s, NULL, fix_spec_see, &f, &e) || !f.text ||
        exp_parse(&xp, f.text, strlen(f.text), "x.toml", &e)) {
        free(f.text);
        return;
    }
    for (int i = 0; i < xp.n_runs && *position < 0; i++) {
        const run_spec *r = &xp.runs[i];
        if (strcmp(optim_kind_name(r->train.optim.kind), optimizer) == 0 &&
            r->bn == (bn != 0) && (int64_t)r->train.seed == seed) {
            *position = r->index;
            *values = exp_run_swept_json(&xp, r);
        }
    }
    exp_release(&xp);
    free(f.text);
}

static inline int64_t fix_build(store *s, const char *git_sha)
{
    err_info e = {0};
    int64_t id = 0;
    store_build b = {.git_sha = git_sha, .git_branch = "main", .compiler = "GNU"};
    if (store_build_put(s, &id, &b, &e))
        fail_msg("build_put: %s", e.msg);
    return id;
}

/* Where and how a run ran, for the provenance tests (fix_add_prov); fix_add leaves these
 * unset but threads = 1. */
typedef struct fix_prov {
    int64_t host_id, dataset_id;
    const char *kernels;
    int threads;
    int64_t peak_rss_bytes;  /* recorded when the run finishes */
    int validation;          /* the configuration's held-out training images (0: test set) */
    const char *dataset;     /* the configuration's "dataset", NULL: none */
} fix_prov;

/* Each epoch's CPU time and run-queue wait (timing.h), for the gate tests (fix_add_timed). */
typedef struct fix_times {
    double cpu[2], wait[2];
} fix_times;

/* Queue, start, record two epochs (k = 3 classes, every class precision = acc) and finish;
 * with p, on its host and data set, kernels, threads and peak RSS; with t, the epochs' CPU
 * time and wait (else 0). */
static inline void fix_add_timed(store *s, int64_t exp_id, const fix_run *f, const fix_prov *p,
                                 const fix_times *t)
{
    err_info e = {0};
    char cfg[320], dataset[80] = "";
    if (p && p->dataset)
        snprintf(dataset, sizeof dataset, "\"dataset\":\"%s\",", p->dataset);
    snprintf(cfg, sizeof cfg,
             "{\"bn\":%s,%s\"epochs\":2,\"model\":\"paper\",\"optimizer\":{\"kind\":\"%s\","
             "\"lr\":0.1},\"seed\":%d,\"validation\":%d}",
             f->bn ? "true" : "false", dataset, f->optimizer, f->seed, p ? p->validation : 0);
    char *values = NULL;
    int position = -1;
    fix_plan(s, exp_id, f->optimizer, f->bn, f->seed, &position, &values);
    store_run r = {.run_key = f->key, .experiment_id = exp_id, .build_id = f->build_id,
                   .config_json = cfg, .model = "paper", .optimizer = f->optimizer, .lr = 0.1,
                   .bn = f->bn, .seed = f->seed, .batch = 100, .epochs = 2,
                   .sampling = "with-replacement", .threads = 1, .position = position,
                   .swept_values = values};
    if (p) {
        r.host_id = p->host_id;
        r.dataset_id = p->dataset_id;
        r.kernels = p->kernels;
        r.threads = p->threads;
    }
    int prev;
    bool claimed = false;
    if (store_run_queue(s, &prev, &r, false, &e) || store_run_start(s, f->key, &claimed, &e) ||
        !claimed)
        fail_msg("queue/start %s: %s", f->key, e.msg);
    free(values);
    int n_epochs = f->status == RUN_COMPLETED ? 2 : 1;
    for (int ep = 1; ep <= n_epochs; ep++) {
        double acc = ep == 2 ? f->acc : f->acc - 0.01;
        double prec[3] = {acc, acc, acc}, rec[3] = {acc, acc - 0.1, acc},
               f1[3] = {acc, acc, acc - 0.2};
        int64_t sup[3] = {10, 20, 30};
        int64_t conf[9] = {9, 1, 0, 0, 18, 2, 1, 0, 29};
        store_epoch x = {.run_key = f->key, .epoch = ep, .test_acc = acc,
                         .precision_macro = acc - 0.001, .recall_macro = acc - 0.002,
                         .f1_macro = acc - 0.003, .wall_s = ep == 1 ? f->wall1 : f->wall2,
                         .cpu_s = t ? t->cpu[ep - 1] : 0.0, .wait_s = t ? t->wait[ep - 1] : 0.0,
                         .k = 3, .precision = prec, .recall = rec, .f1 = f1, .support = sup,
                         .confusion = conf};
        if (store_epoch_put(s, &x, &e))
            fail_msg("epoch_put %s: %s", f->key, e.msg);
    }
    store_run_end end = {.status = f->status, .wall_s = f->wall1 + f->wall2,
                         .diverged_epoch = f->status == RUN_DIVERGED ? 2 : 0,
                         .error = f->status == RUN_COMPLETED ? NULL : "broke",
                         .peak_rss_bytes = p ? p->peak_rss_bytes : 0};
    if (f->status != RUN_RUNNING && store_run_finish(s, f->key, &end, &e))
        fail_msg("finish %s: %s", f->key, e.msg);
}

static inline void fix_add_prov(store *s, int64_t exp_id, const fix_run *f, const fix_prov *p)
{
    fix_add_timed(s, exp_id, f, p, NULL);
}

static inline void fix_add(store *s, int64_t exp_id, const fix_run *f)
{
    fix_add_prov(s, exp_id, f, NULL);
}

/* Run sql (an UPDATE of ?1 = when where ?2 = key) on the file directly: the store takes
 * timestamps from the clock. */
static inline void fix_set_time(const char *db_path, const char *sql, const char *when,
                                const char *key)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open(db_path, &db) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("sqlite: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, when, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(db) != 1)
        fail_msg("sqlite: no row '%s' changed: %s", key, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* started_at of a run set directly. */
static inline void fix_started(const char *db_path, const char *key, const char *when)
{
    fix_set_time(db_path, "UPDATE runs SET started_at = ?1 WHERE run_key = ?2", when, key);
}

/* A bench perf measurement without steps: threads, batch 100, synthetic data, kernel set
 * ("auto" when NULL), s/epoch epoch_s (images/s = 60000 / epoch_s), pct of peak (NAN: none),
 * by build_id, created at when. Returns its id. */
typedef struct fix_perf_row {
    int64_t build_id;
    int threads;
    double epoch_s, pct_peak;
    const char *when;
    const char *kernel_set;
    int unfused;
    const char *peak_kind; /* NULL: "fma-avx512" when pct_peak is a number */
} fix_perf_row;

static inline int64_t fix_perf(store *s, const char *db_path, const fix_perf_row *f)
{
    err_info e = {0};
    int64_t id = 0;
    store_perf m = {.build_id = f->build_id, .data = "synthetic", .threads = f->threads,
                    .iterations = 100, .batch = 100,
                    .kernel_set = f->kernel_set ? f->kernel_set : "auto", .unfused = f->unfused,
                    .peak_kind = f->peak_kind ? f->peak_kind : isnan(f->pct_peak) ? NULL : "fma-avx512",
                    .peak_gflops = NAN, .iter_ms = f->epoch_s / 600 * 1e3, .gflops = NAN,
                    .pct_peak = f->pct_peak, .images_per_s = 60000.0 / f->epoch_s,
                    .epoch_s = f->epoch_s, .eval_s = NAN, .load_before = NAN,
                    .load_after = NAN, .torch_epoch_s = NAN};
    if (store_perf_put(s, &id, &m, &e))
        fail_msg("perf_put: %s", e.msg);
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)id);
    fix_set_time(db_path, "UPDATE perf_measurements SET created_at = ?1"
                          " WHERE id = CAST(?2 AS INTEGER)", f->when, key);
    return id;
}

/* ---- bench perf measurements read back ---- */

/* A stored measurement copied out of its store_perfs callback, where its strings live. */
typedef struct fix_perf_copy {
    int64_t id;
    store_perf m;           /* its strings and steps NULL: the copies are below */
    int git_dirty;
    char git_sha[48];       /* "(null)" without a build */
    char dataset_sha256[72]; /* "(null)" for synthetic data */
    char data[64], kernel_set[16], kernels[160];
    char peak_kind[16], kernel_choice[192], torch_setting[64];
} fix_perf_copy;

enum { FIX_MAX_PERFS = 8 };

typedef struct fix_perfs {
    int n;
    fix_perf_copy v[FIX_MAX_PERFS];
} fix_perfs;

static inline int fix_perf_see(void *ctx, const store_perf_row *r)
{
    fix_perfs *l = ctx;
    if (l->n == FIX_MAX_PERFS)
        fail_msg("more than %d measurements", FIX_MAX_PERFS);
    fix_perf_copy *c = &l->v[l->n++];
    c->id = r->id;
    c->m = r->m;
    c->git_dirty = r->git_dirty;
    snprintf(c->git_sha, sizeof c->git_sha, "%s", r->git_sha ? r->git_sha : "(null)");
    snprintf(c->dataset_sha256, sizeof c->dataset_sha256, "%s",
             r->dataset_sha256 ? r->dataset_sha256 : "(null)");
    snprintf(c->data, sizeof c->data, "%s", r->m.data ? r->m.data : "");
    snprintf(c->kernel_set, sizeof c->kernel_set, "%s", r->m.kernel_set ? r->m.kernel_set : "");
    snprintf(c->kernels, sizeof c->kernels, "%s", r->m.kernels ? r->m.kernels : "");
    snprintf(c->peak_kind, sizeof c->peak_kind, "%s", r->m.peak_kind ? r->m.peak_kind : "");
    snprintf(c->kernel_choice, sizeof c->kernel_choice, "%s", r->m.kernel_choice ? r->m.kernel_choice : "");
    snprintf(c->torch_setting, sizeof c->torch_setting, "%s", r->m.torch_setting ? r->m.torch_setting : "");
    c->m.data = c->m.kernel_set = c->m.kernels = c->m.peak_kind = c->m.kernel_choice = c->m.torch_setting = NULL;
    return 0;
}

/* Every measurement of s, oldest first. */
static inline fix_perfs fix_perfs_read(store *s)
{
    fix_perfs l = {0};
    err_info e = {0};
    if (store_perfs(s, fix_perf_see, &l, &e))
        fail_msg("store_perfs: %s", e.msg);
    return l;
}

/* The steps of one measurement, copied likewise (v[i].layers NULL: see layers[i]). */
typedef struct fix_steps {
    int n;
    store_perf_step v[FIX_MAX_PERFS];
    char layers[FIX_MAX_PERFS][32];
} fix_steps;

static inline int fix_step_see(void *ctx, const store_perf_step *q)
{
    fix_steps *l = ctx;
    if (l->n == FIX_MAX_PERFS)
        fail_msg("more than %d steps", FIX_MAX_PERFS);
    snprintf(l->layers[l->n], sizeof l->layers[0], "%s", q->layers);
    l->v[l->n] = *q;
    l->v[l->n++].layers = NULL;
    return 0;
}

static inline fix_steps fix_steps_read(store *s, int64_t id)
{
    fix_steps l = {0};
    err_info e = {0};
    if (store_perf_steps(s, id, fix_step_see, &l, &e))
        fail_msg("store_perf_steps: %s", e.msg);
    return l;
}

#endif
