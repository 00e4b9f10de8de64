/* Tests of harness/store: schema and migrations, upserts, the run lifecycle, epoch rows,
 * reruns, stale heartbeats and the owners of runs (issue 18.2; Slurm requeues), bench perf
 * measurements (read back whole, written atomically),
 * verbatim storage of hostile strings, read-only files and two connections on one file. Each test works in its own temporary directory. The tests read
 * the file back with SQLite directly where the store's API would hide what they check. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, nftw */
#define _XOPEN_SOURCE 700

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "report_fixture.h"
#include "sha256.h"
#include "store.h"

/* |a - b| <= eps, with both values in the failure message. */

typedef struct fixture {
    char dir[256];
    char db[320];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/test_store.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    /* results/ does not exist yet: store_open must create it. */
    snprintf(f->db, sizeof f->db, "%s/results/bench.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cli_rm_tree(f->dir);
    free(f);
    return 0;
}

/* ---- raw SQLite helpers, to look under the store ---------------------------------------- */

static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("sql failed: %s: %s", sql, msg ? msg : "?");
}

/* The single integer that sql (with an optional text parameter ?1) returns. */
static int64_t raw_int(sqlite3 *db, const char *sql, const char *param)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (param)
        sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int64_t count_for(const char *db_path, const char *sql, const char *param)
{
    sqlite3 *db = raw_open(db_path);
    int64_t v = raw_int(db, sql, param);
    sqlite3_close(db);
    return v;
}

/* ---- record builders ---------------------------------------------------------------------- */

static store_run make_run(const char *key, int64_t experiment_id)
{
    return (store_run){
        .run_key = key,
        .experiment_id = experiment_id,
        .config_json = "{\"optimizer\":\"momentum\",\"lr\":0.1}",
        .model = "paper",
        .optimizer = "momentum",
        .lr = 0.1,
        .bn = 1,
        .seed = 42,
        .batch = 100,
        .epochs = 20,
        .sampling = "with-replacement",
        .threads = 2,
        .eval_n = 1000,
    };
}

static store *open_ok(const char *path)
{
    store *s = NULL;
    err_info e = {0};
    int rc = store_open(&s, path, &e);
    if (rc)
        fail_msg("store_open: %s", e.msg);
    return s;
}

static int64_t put_experiment(store *s, const char *name, const char *sha)
{
    err_info e = {0};
    int64_t id = 0;
    store_experiment x = {.name = name, .file = "experiments/x.toml", .spec_sha256 = sha,
                          .spec_text = "[train]\nepochs = 20\n"};
    assert_int_equal(store_experiment_put(s, &id, &x, &e), 0);
    assert_true(id > 0);
    return id;
}

static void queue_ok(store *s, const char *key, int expect_prev)
{
    err_info e = {0};
    int prev = -99;
    store_run r = make_run(key, 0);
    assert_int_equal(store_run_queue(s, &prev, &r, false, &e), 0);
    assert_int_equal(prev, expect_prev);
}

/* A 3-class epoch whose numbers are derived from epoch so that two epochs differ. */
typedef struct epoch3 {
    double precision[3], recall[3], f1[3];
    int64_t support[3], confusion[9];
    store_epoch ep;
} epoch3;

static void make_epoch3(epoch3 *x, const char *key, int epoch)
{
    for (int c = 0; c < 3; c++) {
        x->precision[c] = 0.9 + 0.01 * c + 0.001 * epoch;
        x->recall[c] = 0.8 + 0.01 * c;
        x->f1[c] = 0.85 + 0.01 * c;
        x->support[c] = 100 + c;
    }
    for (int i = 0; i < 9; i++)
        x->confusion[i] = (i % 4 == 0) ? 90 + i + epoch : i;
    x->ep = (store_epoch){
        .run_key = key, .epoch = epoch, .train_loss = 0.5 / epoch, .train_acc = 0.9,
        .test_loss = 0.6 / epoch, .test_acc = 0.95 + 0.001 * epoch, .precision_macro = 0.91,
        .recall_macro = 0.81, .f1_macro = 0.86, .auroc_macro = NAN, .f1_weighted = 0.87,
        .wall_s = 1.5, .cpu_s = 2.5, .images_per_s = 40000.0, .k = 3,
        .precision = x->precision, .recall = x->recall, .f1 = x->f1, .support = x->support,
        .confusion = x->confusion,
    };
}

static void put_epoch_ok(store *s, const char *key, int epoch)
{
    epoch3 x;
    err_info e = {0};
    make_epoch3(&x, key, epoch);
    int rc = store_epoch_put(s, &x.ep, &e);
    if (rc)
        fail_msg("store_epoch_put: %s", e.msg);
}

/* store_run_start of a run the caller queued: it must be claimed. */
static int run_start(store *s, const char *key, err_info *e)
{
    bool claimed = false;
    int rc = store_run_start(s, key, &claimed, e);
    if (rc == 0 && !claimed)
        fail_msg("run '%s' was not claimed", key);
    return rc;
}

static int status_of(store *s, const char *key)
{
    err_info e = {0};
    int st = -99;
    assert_int_equal(store_run_status(s, &st, key, &e), 0);
    return st;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_status_names(void **state)
{
    (void)state;
    err_info e = {0};
    for (int i = 0; i < RUN_STATUS_COUNT; i++) {
        int back = -1;
        assert_int_equal(run_status_parse(&back, run_status_name(i), &e), 0);
        assert_int_equal(back, i);
    }
    assert_string_equal(run_status_name(RUN_DIVERGED), "DIVERGED");
    assert_string_equal(run_status_name(STORE_ABSENT), "ABSENT");
    int out;
    assert_int_equal(run_status_parse(&out, "DONE", &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "'DONE'"));
    assert_non_null(strstr(e.msg, "INTERRUPTED"));
}

static void test_schema_created(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    assert_string_equal(store_path(s), f->db);
    store_close(s);

    sqlite3 *db = raw_open(f->db);
    assert_int_equal(raw_int(db, "PRAGMA user_version", NULL), store_schema_version());
    assert_true(store_schema_version() >= 2);
    static const char *const tables[] = {"experiments",   "builds",          "hosts",
                                         "datasets",      "runs",            "epochs",
                                         "class_metrics", "confusion",       "experiment_runs",
                                         "perf_measurements", "perf_steps", "perf_sgemm"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                                     " AND name = ?1",
                                 tables[i]),
                         1);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);

    /* Opening again is a no-op on the schema. */
    s = open_ok(f->db);
    store_close(s);
    assert_int_equal(count_for(f->db, "PRAGMA user_version", NULL), store_schema_version());
}

/* The schema of version 1 as it was released: a frozen copy, because the point
 * is to migrate a file written by an older bench. */
static const char v1_schema[] =
    "CREATE TABLE experiments(id INTEGER PRIMARY KEY, name TEXT NOT NULL, file TEXT,"
    " spec_sha256 TEXT NOT NULL, spec_text TEXT, created_at TEXT NOT NULL,"
    " UNIQUE(name, spec_sha256));"
    "CREATE TABLE builds(id INTEGER PRIMARY KEY, ident TEXT NOT NULL UNIQUE, git_sha TEXT,"
    " git_branch TEXT, git_dirty INTEGER, git_diff TEXT, compiler TEXT, compiler_version TEXT,"
    " cflags TEXT, blas TEXT, binary_sha256 TEXT);"
    "CREATE TABLE hosts(id INTEGER PRIMARY KEY, ident TEXT NOT NULL UNIQUE, hostname TEXT,"
    " cpu_model TEXT, cpu_flags TEXT, cores INTEGER, ram_bytes INTEGER, os TEXT, kernel TEXT);"
    "CREATE TABLE datasets(id INTEGER PRIMARY KEY, ident TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL, file TEXT, sha256 TEXT NOT NULL, n_images INTEGER);"
    "CREATE TABLE runs(run_key TEXT PRIMARY KEY, experiment_id INTEGER REFERENCES"
    " experiments(id), build_id INTEGER REFERENCES builds(id), host_id INTEGER REFERENCES"
    " hosts(id), dataset_id INTEGER REFERENCES datasets(id), config_json TEXT NOT NULL,"
    " model TEXT, optimizer TEXT, lr REAL, bn INTEGER, seed INTEGER, batch INTEGER,"
    " epochs INTEGER, sampling TEXT, threads INTEGER, status TEXT NOT NULL CHECK(status IN"
    " ('QUEUED','RUNNING','COMPLETED','FAILED','DIVERGED','INTERRUPTED')),"
    " heartbeat_at TEXT, started_at TEXT, finished_at TEXT, wall_s REAL, cpu_s REAL,"
    " peak_rss_bytes INTEGER, params_sha256 TEXT, error TEXT);"
    "CREATE TABLE epochs(run_key TEXT NOT NULL REFERENCES runs(run_key) ON DELETE CASCADE,"
    " epoch INTEGER NOT NULL, train_loss REAL, train_acc REAL, test_loss REAL, test_acc REAL,"
    " precision_macro REAL, recall_macro REAL, f1_macro REAL, auroc_macro REAL, wall_s REAL,"
    " cpu_s REAL, images_per_s REAL, PRIMARY KEY(run_key, epoch));"
    "CREATE TABLE class_metrics(run_key TEXT NOT NULL, epoch INTEGER NOT NULL,"
    " class INTEGER NOT NULL, precision REAL, recall REAL, f1 REAL, support INTEGER,"
    " PRIMARY KEY(run_key, epoch, class), FOREIGN KEY(run_key, epoch) REFERENCES"
    " epochs(run_key, epoch) ON DELETE CASCADE);"
    "CREATE TABLE confusion(run_key TEXT NOT NULL, epoch INTEGER NOT NULL,"
    " true_class INTEGER NOT NULL, pred_class INTEGER NOT NULL, count INTEGER NOT NULL,"
    " PRIMARY KEY(run_key, epoch, true_class, pred_class), FOREIGN KEY(run_key, epoch)"
    " REFERENCES epochs(run_key, epoch) ON DELETE CASCADE);";

typedef struct collect {
    int n;
    char keys[8][64];
    char experiment[8][64];
    int status[8];
    int epochs_done[8];
    double last_acc[8];
    char config[512];
    char error[256];
} collect;

static int collect_run(void *ctx, const store_run_row *r)
{
    collect *c = ctx;
    if (c->n >= 8)
        return 1;
    snprintf(c->keys[c->n], sizeof c->keys[0], "%s", r->run_key);
    snprintf(c->experiment[c->n], sizeof c->experiment[0], "%s",
             r->experiment_name ? r->experiment_name : "(none)");
    c->status[c->n] = r->status;
    c->epochs_done[c->n] = r->epochs_done;
    c->last_acc[c->n] = r->last_test_acc;
    snprintf(c->config, sizeof c->config, "%s", r->config_json ? r->config_json : "");
    snprintf(c->error, sizeof c->error, "%s", r->error ? r->error : "");
    c->n++;
    return 0;
}

static void test_migrate_from_v1(void **state)
{
    fixture *f = *state;
    char path[400];
    snprintf(path, sizeof path, "%s/old.db", f->dir);
    sqlite3 *db = raw_open(path);
    raw_exec(db, v1_schema);
    raw_exec(db, "INSERT INTO experiments(id, name, spec_sha256, created_at)"
                 " VALUES(7, 'old-exp', 'abc', '2024-01-01T00:00:00.000Z');"
                 "INSERT INTO runs(run_key, experiment_id, config_json, status)"
                 " VALUES('oldrun1', 7, '{}', 'COMPLETED');"
                 "INSERT INTO epochs(run_key, epoch, test_acc) VALUES('oldrun1', 1, 0.97);"
                 "PRAGMA user_version = 1;");
    sqlite3_close(db);

    store *s = open_ok(path);
    assert_int_equal(count_for(path, "PRAGMA user_version", NULL), store_schema_version());
    assert_int_equal(status_of(s, "oldrun1"), RUN_COMPLETED);
    /* Version 2 links existing runs to their experiment... */
    collect c = {0};
    err_info e = {0};
    assert_int_equal(store_runs(s, "old-exp", -1, collect_run, &c, &e), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.keys[0], "oldrun1");
    assert_int_equal(c.epochs_done[0], 1);
    assert_close(c.last_acc[0], 0.97, 1e-12);
    /* ...and its new columns are writable (by a run this process runs). */
    queue_ok(s, "newrun", STORE_ABSENT);
    assert_int_equal(run_start(s, "newrun", &e), 0);
    put_epoch_ok(s, "newrun", 2);
    assert_int_equal(count_for(path,
                               "SELECT CAST(round(f1_weighted * 100) AS INTEGER) FROM epochs"
                               " WHERE epoch = 2",
                               NULL),
                     87);
    /* Version 4's perf tables take measurements. */
    store_perf_step step = {.step = 0, .layers = "conv", .fwd_ms = 1.0, .bwd_ms = 2.0};
    store_perf m = {.data = "synthetic", .threads = 1, .iterations = 2, .batch = 8,
                    .kernel_set = "auto", .iter_ms = 3.0, .n_steps = 1, .steps = &step};
    assert_int_equal(store_perf_put(s, NULL, &m, &e), 0);
    store_close(s);
    assert_int_equal(count_for(path, "SELECT count(*) FROM perf_steps", NULL), 1);
}

/* SQL that undoes migration 9 (a current file's schema back to version 8), 8 (the view goes
 * first, since it reads the columns), 7, 6 and 5; each undoes the later ones first. */
#define V8_DROP                                                                                \
    V9_DROP                                                                                    \
    "DROP VIEW runs_flat; DROP TABLE run_tags;"                                                \
    "ALTER TABLE runs DROP COLUMN archived_at; ALTER TABLE runs DROP COLUMN note;"             \
    "ALTER TABLE experiments DROP COLUMN description;"
#define V7_DROP                                                                                \
    V8_DROP                                                                                    \
    "ALTER TABLE epochs DROP COLUMN wait_s; ALTER TABLE epochs DROP COLUMN nivcsw;"            \
    "ALTER TABLE perf_measurements DROP COLUMN cpu_s;"                                         \
    "ALTER TABLE perf_measurements DROP COLUMN wait_s;"                                        \
    "ALTER TABLE perf_measurements DROP COLUMN nivcsw;"                                        \
    "ALTER TABLE runs DROP COLUMN train_cpu_s; ALTER TABLE runs DROP COLUMN quiet_train_s;"    \
    "ALTER TABLE runs DROP COLUMN contended_epochs;"
#define V10_DROP "ALTER TABLE experiment_runs DROP COLUMN selection;"
#define V9_DROP                                                                                \
    V10_DROP                                                                                   \
    "DROP TABLE perf_sgemm;"                                                                   \
    "ALTER TABLE perf_measurements DROP COLUMN peak_kind;"                                     \
    "ALTER TABLE perf_measurements DROP COLUMN peak_core_gflops;"                              \
    "ALTER TABLE perf_measurements DROP COLUMN kernel_choice;"                                 \
    "ALTER TABLE perf_measurements DROP COLUMN reps;"                                          \
    "ALTER TABLE perf_measurements DROP COLUMN epoch_s_median;"                                \
    "ALTER TABLE perf_measurements DROP COLUMN epoch_s_max;"                                   \
    "ALTER TABLE perf_measurements DROP COLUMN torch_epoch_s_median;"                          \
    "ALTER TABLE perf_measurements DROP COLUMN torch_epoch_s_max;"                             \
    "ALTER TABLE perf_measurements DROP COLUMN torch_setting;"
#define V6_DROP                                                                                \
    "ALTER TABLE experiments DROP COLUMN swept;"                                               \
    "ALTER TABLE experiments DROP COLUMN budget_minutes;"                                      \
    "ALTER TABLE experiments DROP COLUMN target_accuracy;"                                     \
    "ALTER TABLE experiment_runs DROP COLUMN position;"                                        \
    "ALTER TABLE experiment_runs DROP COLUMN swept_values;"                                   \
    "ALTER TABLE runs DROP COLUMN train_s;"
#define V5_DROP                                                                                \
    "ALTER TABLE runs DROP COLUMN owner_proc; ALTER TABLE runs DROP COLUMN owner_task;"        \
    "ALTER TABLE runs DROP COLUMN owner_attempt;"

/* Issue 15, defect 6: a file of version 5 holds runs.lr as the float the optimizer used,
 * widened (0.0500000007450581 for the file's 0.05), so that `WHERE lr = 0.05` found nothing.
 * Migrating takes the lr of the run's configuration JSON, the file's decimal; a new run stores
 * the file's double. Versions queued before have no stored sweep (NULL), and say so. */
static void test_migrate_lr_from_v5(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    int64_t xid = put_experiment(s, "lr-scan", "sha-v4");
    store_run r = make_run("run-v6", xid);
    r.config_json = "{\"optimizer\":{\"kind\":\"momentum\",\"lr\":0.05},\"seed\":1}";
    r.lr = (double)0.05f;
    err_info e = {0};
    assert_int_equal(store_run_queue(s, NULL, &r, false, &e), 0);
    store_close(s);
    sqlite3 *db = raw_open(f->db);
    raw_exec(db, V7_DROP V6_DROP "PRAGMA user_version = 5;");
    sqlite3_close(db);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM runs WHERE lr = 0.05", NULL), 0);
    s = open_ok(f->db);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM runs WHERE lr = 0.05", NULL), 1);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM experiments WHERE swept IS NULL",
                               NULL),
                     1);
    /* a run queued now: the caller's double, as given */
    store_run n = make_run("run-v6", xid);
    n.lr = 0.1;
    assert_int_equal(store_run_queue(s, NULL, &n, false, &e), 0);
    store_close(s);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM runs WHERE lr = 0.1", NULL), 1);
}

/* Version 5 keeps what reports need of a sweep: the experiment's swept keys and budget (filled
 * in for a version recorded without them, kept otherwise), each link's position and values. */
static void test_sweep_columns(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    err_info e = {0};
    int64_t id = 0, id2 = 0;
    store_experiment x = {.name = "opt", .spec_sha256 = "s1", .spec_text = "x"};
    assert_int_equal(store_experiment_put(s, &id, &x, &e), 0);
    x.swept = "[\"optimizer\",\"seed\"]";
    x.budget_minutes = 20;
    x.target_accuracy = NAN;
    assert_int_equal(store_experiment_put(s, &id2, &x, &e), 0);
    assert_int_equal(id2, id);
    x.swept = "[\"bn\"]";
    assert_int_equal(store_experiment_put(s, &id2, &x, &e), 0);
    store_run r = make_run("k-pos", id);
    r.position = 3;
    r.swept_values = "[\"adam\",2]";
    assert_int_equal(store_run_queue(s, NULL, &r, false, &e), 0);
    store_close(s);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM experiments WHERE swept ="
                                      " '[\"optimizer\",\"seed\"]' AND budget_minutes = 20"
                                      " AND target_accuracy IS NULL",
                               NULL),
                     1);
    assert_int_equal(count_for(f->db, "SELECT position FROM experiment_runs WHERE run_key = ?1",
                               "k-pos"),
                     3);
    assert_int_equal(count_for(f->db, "SELECT json_extract(swept_values, '$[1]')"
                                      " FROM experiment_runs WHERE run_key = ?1",
                               "k-pos"),
                     2);
}

/* A file of version 3 (the last before the perf tables), with a run: reading it (when the
 * file may be written) or opening it for writing adds the tables and keeps the run. */
static void test_migrate_from_v3(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    queue_ok(s, "run-v3", STORE_ABSENT);
    store_close(s);
    sqlite3 *db = raw_open(f->db);
    raw_exec(db, V7_DROP "DROP TABLE perf_steps; DROP TABLE perf_measurements;" V6_DROP
                 V5_DROP "PRAGMA user_version = 3;");
    sqlite3_close(db);
    err_info e = {0};
    assert_int_equal(store_open_readonly(&s, f->db, &e), 0);
    assert_int_equal(status_of(s, "run-v3"), RUN_QUEUED);
    store_close(s);
    assert_int_equal(count_for(f->db, "PRAGMA user_version", NULL), store_schema_version());
    s = open_ok(f->db);
    assert_int_equal(status_of(s, "run-v3"), RUN_QUEUED);
    store_perf m = {.data = "synthetic", .threads = 2, .iterations = 1, .batch = 4,
                    .kernel_set = "generic", .unfused = 1, .iter_ms = 1.0};
    assert_int_equal(store_perf_put(s, NULL, &m, &e), 0);
    store_close(s);
    assert_int_equal(count_for(f->db, "PRAGMA user_version", NULL), store_schema_version());
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM perf_measurements WHERE unfused = 1"
                                      " AND kernel_set = 'generic'",
                               NULL),
                     1);
}

/* Timings read back from an epoch. */
typedef struct epoch_times {
    int n;
    double wall_s[4], cpu_s[4], wait_s[4];
    int64_t nivcsw[4];
} epoch_times;

static int read_times(void *ctx, const store_epoch *ep)
{
    epoch_times *w = ctx;
    if (w->n < 4) {
        w->wall_s[w->n] = ep->wall_s;
        w->cpu_s[w->n] = ep->cpu_s;
        w->wait_s[w->n] = ep->wait_s;
        w->nivcsw[w->n] = ep->nivcsw;
    }
    w->n++;
    return 0;
}

/* A file of version 6 with an epoch: opening it adds the contention columns; the old epoch
 * reads them as unknown (NAN, -1), a new one keeps what it was given; the run's sums for the
 * gate time are filled in for the old epoch (not contended: its wait is unknown) and kept with
 * each epoch written (the second is contended: 0.75 s of wait for 2.5 s of CPU time). */
/* Version 9 -> 10: links gain the [select] decision, NULL for those made before; a link
 * written after the migration keeps its decision, and relinking without one keeps it. */
static void test_migrate_from_v9(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    int64_t xid = put_experiment(s, "chosen", "sha-v9");
    err_info e = {0};
    store_run r = make_run("run-v9", xid);
    assert_int_equal(store_run_queue(s, NULL, &r, false, &e), 0);
    store_close(s);
    sqlite3 *db = raw_open(f->db);
    raw_exec(db, V10_DROP "PRAGMA user_version = 9;");
    sqlite3_close(db);
    s = open_ok(f->db);
    assert_int_equal(count_for(f->db, "PRAGMA user_version", NULL), store_schema_version());
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM experiment_runs WHERE run_key = ?1"
                                      " AND selection IS NULL", "run-v9"), 1);
    assert_int_equal(store_run_link(s, xid, "run-v9", 0, NULL, "{\"winner\":0}", &e), 0);
    assert_int_equal(store_run_link(s, xid, "run-v9", 0, NULL, NULL, &e), 0);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM experiment_runs WHERE run_key = ?1"
                                      " AND selection = '{\"winner\":0}'", "run-v9"), 1);
    store_close(s);
}

static void test_migrate_from_v6(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    err_info e = {0};
    queue_ok(s, "run-v6", STORE_ABSENT);
    assert_int_equal(run_start(s, "run-v6", &e), 0);
    put_epoch_ok(s, "run-v6", 1);
    store_close(s);
    sqlite3 *db = raw_open(f->db);
    raw_exec(db, V7_DROP "PRAGMA user_version = 6;");
    sqlite3_close(db);

    s = open_ok(f->db);
    assert_int_equal(count_for(f->db, "PRAGMA user_version", NULL), store_schema_version());
    const char *sums = "SELECT CAST(round(train_s * 10) AS INTEGER) * 1000000"
                       " + CAST(round(train_cpu_s * 10) AS INTEGER) * 10000"
                       " + CAST(round(quiet_train_s * 10) AS INTEGER) * 10 + contended_epochs"
                       " FROM runs WHERE run_key = ?1";
    assert_int_equal(count_for(f->db, sums, "run-v6"), 15 * 1000000 + 25 * 10000 + 15 * 10 + 0);
    epoch3 x;
    make_epoch3(&x, "run-v6", 2);
    x.ep.wait_s = 0.75;
    x.ep.nivcsw = 42;
    assert_int_equal(store_epoch_put(s, &x.ep, &e), 0);
    epoch_times w = {0};
    assert_int_equal(store_epochs(s, "run-v6", false, read_times, &w, &e), 0);
    assert_int_equal(w.n, 2);
    assert_close(w.wall_s[0], 1.5, 0);
    assert_close(w.cpu_s[0], 2.5, 0);
    assert_true(isnan(w.wait_s[0]));
    assert_int_equal(w.nivcsw[0], -1);
    assert_close(w.wait_s[1], 0.75, 0);
    assert_int_equal(w.nivcsw[1], 42);
    assert_int_equal(count_for(f->db, sums, "run-v6"), 30 * 1000000 + 50 * 10000 + 15 * 10 + 1);
    /* an unknown wait and count are stored as NULL */
    make_epoch3(&x, "run-v6", 3);
    x.ep.wait_s = NAN;
    x.ep.nivcsw = -1;
    assert_int_equal(store_epoch_put(s, &x.ep, &e), 0);
    store_close(s);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM epochs WHERE wait_s IS NULL AND"
                                      " nivcsw IS NULL",
                               NULL),
                     2);
    assert_int_equal(count_for(f->db, sums, "run-v6"), 45 * 1000000 + 75 * 10000 + 30 * 10 + 1);
}

/* A file of version 8: its measurements' peak was an SGEMM; opening it marks them so
 * (peak_kind 'sgemm'), and adds the columns and the SGEMM table, which take a new measurement
 * and read back. */
static int see_kind(void *ctx, const store_perf_row *r)
{
    char *kinds = ctx;
    const size_t used = strlen(kinds);
    snprintf(kinds + used, 64 - used, "%s;", r->m.peak_kind ? r->m.peak_kind : "null");
    return 0;
}

static int see_sgemm(void *ctx, const store_perf_sgemm *g)
{
    char *seen = ctx;
    const size_t used = strlen(seen);
    snprintf(seen + used, 128 - used, "%s %s %dx%dx%d %d%d %.1f;", g->library, g->shape, g->m, g->n, g->k,
             g->trans_a, g->trans_b, g->ms);
    return 0;
}

static void test_migrate_from_v8(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    store_close(s);
    sqlite3 *db = raw_open(f->db);
    raw_exec(db, V9_DROP
                 "INSERT INTO perf_measurements(created_at, data, threads, iterations, batch, kernel_set,"
                 " unfused, peak_gflops, epoch_s) VALUES('2024-01-01T00:00:00.000Z', 'synthetic', 2, 100,"
                 " 100, 'auto', 0, 82.1, 3.0);"
                 "PRAGMA user_version = 8;");
    sqlite3_close(db);
    s = open_ok(f->db);
    assert_int_equal(count_for(f->db, "PRAGMA user_version", NULL), store_schema_version());
    const store_perf_sgemm rows[2] = {
        {.library = "bench avx512-6x64", .shape = "2000^3", .m = 2000, .n = 2000, .k = 2000, .ms = 40.0, .gflops = 400},
        {.library = "blis-generic", .shape = "4320->100 dx", .m = 100, .n = 4320, .k = 100, .trans_b = 1, .ms = 2.5},
    };
    store_perf m = {.data = "synthetic", .threads = 2, .iterations = 1, .batch = 4, .kernel_set = "auto",
                    .peak_kind = "fma-avx512", .peak_gflops = 536.0, .peak_core_gflops = 269.0, .reps = 3,
                    .epoch_s = 1.0, .epoch_s_median = 1.1, .epoch_s_max = 1.3, .torch_epoch_s = 6.0,
                    .torch_epoch_s_median = 7.0, .torch_epoch_s_max = 9.0, .torch_setting = "torch 1.13, 1 thread",
                    .kernel_choice = "avx512: faster", .n_sgemm = 2, .sgemm = rows};
    err_info e = {0};
    int64_t id = 0;
    assert_int_equal(store_perf_put(s, &id, &m, &e), 0);
    char kinds[64] = "", seen[128] = "";
    assert_int_equal(store_perfs(s, see_kind, kinds, &e), 0);
    assert_string_equal(kinds, "sgemm;fma-avx512;");
    assert_int_equal(store_perf_sgemms(s, id, see_sgemm, seen, &e), 0);
    assert_string_equal(seen, "bench avx512-6x64 2000^3 2000x2000x2000 00 40.0;blis-generic 4320->100 dx "
                              "100x4320x100 01 2.5;");
    fix_perfs w = fix_perfs_read(s);
    store_close(s);
    assert_int_equal(w.n, 2);
    assert_int_equal(w.v[1].m.n_sgemm, 2);
    assert_int_equal(w.v[1].m.reps, 3);
    assert_true(w.v[1].m.peak_core_gflops == 269.0 && w.v[1].m.epoch_s_max == 1.3);
    assert_true(w.v[1].m.torch_epoch_s_median == 7.0 && w.v[1].m.torch_epoch_s_max == 9.0);
    assert_true(isnan(w.v[0].m.peak_core_gflops) && w.v[0].m.peak_gflops == 82.1);
}

static void test_newer_schema_rejected(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    store_close(s);
    sqlite3 *db = raw_open(f->db);
    raw_exec(db, "PRAGMA user_version = 99");
    sqlite3_close(db);
    err_info e = {0};
    s = (store *)1;
    assert_int_equal(store_open(&s, f->db, &e), ERR_FORMAT);
    assert_null(s);
    assert_non_null(strstr(e.msg, "newer"));
    assert_non_null(strstr(e.msg, f->db));
}

static void test_not_a_database(void **state)
{
    fixture *f = *state;
    char path[400];
    snprintf(path, sizeof path, "%s/junk.db", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("this is not an SQLite file, just text long enough to have a header ........\n", fp);
    fclose(fp);
    store *s = NULL;
    err_info e = {0};
    assert_int_equal(store_open(&s, path, &e), ERR_FORMAT);
    assert_null(s);
    assert_non_null(strstr(e.msg, path));
}

static void test_upsert_dedupe(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    err_info e = {0};
    int64_t a = put_experiment(s, "optimizers", "sha-1");
    assert_int_equal(put_experiment(s, "optimizers", "sha-1"), a);
    int64_t b = put_experiment(s, "optimizers", "sha-2");
    assert_true(b != a);
    assert_true(put_experiment(s, "bn", "sha-1") != a);

    store_build bu = {.git_sha = "0123456789012345678901234567890123456789",
                      .git_branch = "main", .compiler = "GNU", .compiler_version = "12.2.0",
                      .cflags = "-O2", .build_type = "Release", .blas = "BLIS",
                      .binary_sha256 = "ff"};
    int64_t b1 = 0, b2 = 0, b3 = 0, b4 = 0;
    assert_int_equal(store_build_put(s, &b1, &bu, &e), 0);
    assert_int_equal(store_build_put(s, &b2, &bu, &e), 0);
    assert_true(b1 > 0);
    assert_int_equal(b1, b2);
    bu.git_dirty = 1;
    bu.git_diff = "diff --git a/x b/x\n";
    assert_int_equal(store_build_put(s, &b3, &bu, &e), 0);
    assert_true(b3 != b1);
    /* NULL and "" are different values, and so are field boundaries. */
    bu.git_diff = NULL;
    assert_int_equal(store_build_put(s, &b4, &bu, &e), 0);
    int64_t b5 = 0;
    bu.git_diff = "";
    assert_int_equal(store_build_put(s, &b5, &bu, &e), 0);
    assert_true(b4 != b3 && b5 != b4 && b5 != b3);

    store_host h = {.hostname = "box", .cpu_model = "cpu", .cpu_flags = "avx512f", .cores = 2,
                    .ram_bytes = 1 << 30, .os = "Debian", .kernel = "Linux 6"};
    int64_t h1 = 0, h2 = 0, h3 = 0;
    assert_int_equal(store_host_put(s, &h1, &h, &e), 0);
    assert_int_equal(store_host_put(s, &h2, &h, &e), 0);
    assert_int_equal(h1, h2);
    h.cores = 4;
    assert_int_equal(store_host_put(s, &h3, &h, &e), 0);
    assert_true(h3 != h1);

    store_dataset d = {.name = "mnist", .file = "data/mnist", .sha256 = "aa", .n_images = 70000};
    int64_t d1 = 0, d2 = 0, d3 = 0;
    assert_int_equal(store_dataset_put(s, &d1, &d, &e), 0);
    assert_int_equal(store_dataset_put(s, &d2, &d, &e), 0);
    assert_int_equal(d1, d2);
    d.sha256 = "bb";
    assert_int_equal(store_dataset_put(s, &d3, &d, &e), 0);
    assert_true(d3 != d1);
    store_close(s);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM builds", NULL), 4);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM hosts", NULL), 2);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM datasets", NULL), 2);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM experiments", NULL), 3);
}

static void test_run_lifecycle(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    err_info e = {0};
    int64_t x = put_experiment(s, "paper", "sha");
    store_host h = {.hostname = "box", .cores = 2};
    int64_t hid = 0;
    assert_int_equal(store_host_put(s, &hid, &h, &e), 0);
    store_run r = make_run("run-a", x);
    r.host_id = hid;
    int prev = -99;
    assert_int_equal(store_run_status(s, &prev, "run-a", &e), 0);
    assert_int_equal(prev, STORE_ABSENT);
    assert_int_equal(store_run_queue(s, &prev, &r, false, &e), 0);
    assert_int_equal(prev, STORE_ABSENT);
    assert_int_equal(status_of(s, "run-a"), RUN_QUEUED);

    assert_int_equal(run_start(s, "run-a", &e), 0);
    assert_int_equal(status_of(s, "run-a"), RUN_RUNNING);
    assert_int_equal(store_run_heartbeat(s, "run-a", &e), 0);
    put_epoch_ok(s, "run-a", 1);
    put_epoch_ok(s, "run-a", 2);
    store_run_end end = {.status = RUN_COMPLETED, .wall_s = 12.5, .cpu_s = 20.0,
                         .peak_rss_bytes = 123456789, .params_sha256 = "beef"};
    assert_int_equal(store_run_finish(s, "run-a", &end, &e), 0);
    assert_int_equal(status_of(s, "run-a"), RUN_COMPLETED);

    collect c = {0};
    assert_int_equal(store_runs(s, NULL, RUN_COMPLETED, collect_run, &c, &e), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.experiment[0], "paper");
    assert_int_equal(c.epochs_done[0], 2);
    assert_close(c.last_acc[0], 0.952, 1e-12);
    memset(&c, 0, sizeof c);
    assert_int_equal(store_runs(s, NULL, RUN_FAILED, collect_run, &c, &e), 0);
    assert_int_equal(c.n, 0);

    /* Timestamps: UTC ISO-8601 with milliseconds. */
    sqlite3 *db = raw_open(f->db);
    assert_int_equal(raw_int(db,
                             "SELECT count(*) FROM runs WHERE finished_at GLOB"
                             " '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:"
                             "[0-9][0-9].[0-9][0-9][0-9]Z' AND started_at <= finished_at"
                             " AND run_key = ?1",
                             "run-a"),
                     1);
    assert_int_equal(raw_int(db, "SELECT peak_rss_bytes FROM runs WHERE run_key = ?1", "run-a"),
                     123456789);
    sqlite3_close(db);

    /* A COMPLETED run is left alone unless forced; queueing it from a second experiment
     * links it there too. */
    int64_t y = put_experiment(s, "optimizers", "sha");
    r.experiment_id = y;
    assert_int_equal(store_run_queue(s, &prev, &r, false, &e), 0);
    assert_int_equal(prev, RUN_COMPLETED);
    assert_int_equal(status_of(s, "run-a"), RUN_COMPLETED);
    memset(&c, 0, sizeof c);
    assert_int_equal(store_runs(s, "optimizers", -1, collect_run, &c, &e), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.epochs_done[0], 2);
    assert_int_equal(store_run_queue(s, &prev, &r, true, &e), 0);
    assert_int_equal(prev, RUN_COMPLETED);
    assert_int_equal(status_of(s, "run-a"), RUN_QUEUED);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM epochs WHERE run_key = ?1", "run-a"),
                     0);

    /* Misuse is reported, not ignored. */
    assert_int_equal(run_start(s, "no-such-run", &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "'no-such-run'"));
    end.status = RUN_RUNNING;
    assert_int_equal(store_run_finish(s, "run-a", &end, &e), ERR_INVALID);
    store_close(s);
}

typedef struct epochs_seen {
    int n;
    int epoch[4];
    double test_acc[4];
    bool auroc_nan[4];
    bool classes_ok[4];
} epochs_seen;

static int check_epoch(void *ctx, const store_epoch *ep)
{
    epochs_seen *w = ctx;
    epoch3 want;
    make_epoch3(&want, ep->run_key, ep->epoch);
    int i = w->n++;
    w->epoch[i] = ep->epoch;
    w->test_acc[i] = ep->test_acc;
    w->auroc_nan[i] = isnan(ep->auroc_macro);
    bool ok = ep->k == 3;
    for (int c = 0; ok && c < 3; c++)
        ok = ep->precision[c] == want.precision[c] && ep->recall[c] == want.recall[c] &&
             ep->f1[c] == want.f1[c] && ep->support[c] == want.support[c];
    for (int j = 0; ok && j < 9; j++)
        ok = ep->confusion[j] == want.confusion[j];
    w->classes_ok[i] = ok;
    return 0;
}

static void test_epoch_rows(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    err_info e = {0};
    queue_ok(s, "run-e", STORE_ABSENT);
    assert_int_equal(run_start(s, "run-e", &e), 0);
    put_epoch_ok(s, "run-e", 1);
    put_epoch_ok(s, "run-e", 2);
    put_epoch_ok(s, "run-e", 2); /* recording an epoch again replaces it */
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM epochs", NULL), 2);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM class_metrics", NULL), 6);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM confusion", NULL), 18);
    assert_int_equal(count_for(f->db,
                               "SELECT count FROM confusion WHERE epoch = 2 AND true_class = 2"
                               " AND pred_class = 2 AND run_key = ?1",
                               "run-e"),
                     100);

    epochs_seen w = {0};
    assert_int_equal(store_epochs(s, "run-e", true, check_epoch, &w, &e), 0);
    assert_int_equal(w.n, 2);
    assert_int_equal(w.epoch[0], 1);
    assert_int_equal(w.epoch[1], 2);
    assert_close(w.test_acc[1], 0.952, 1e-12);
    assert_true(w.auroc_nan[0]); /* NaN is stored as NULL and read back as NaN */
    assert_true(w.classes_ok[0] && w.classes_ok[1]);

    /* An epoch of an unknown run violates the foreign key and is rejected whole. */
    epoch3 x;
    make_epoch3(&x, "ghost", 1);
    assert_int_equal(store_epoch_put(s, &x.ep, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, f->db));
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM class_metrics WHERE run_key = ?1",
                               "ghost"),
                     0);
    store_close(s);
}

static void test_rerun_resets_failed(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    err_info e = {0};
    queue_ok(s, "run-f", STORE_ABSENT);
    queue_ok(s, "run-keep", STORE_ABSENT);
    assert_int_equal(run_start(s, "run-f", &e), 0);
    put_epoch_ok(s, "run-f", 1);
    put_epoch_ok(s, "run-f", 2);
    assert_int_equal(run_start(s, "run-keep", &e), 0);
    put_epoch_ok(s, "run-keep", 1);
    store_run_end end = {.status = RUN_FAILED, .wall_s = NAN, .cpu_s = 1, .error = "boom"};
    assert_int_equal(store_run_finish(s, "run-f", &end, &e), 0);
    assert_int_equal(status_of(s, "run-f"), RUN_FAILED);

    queue_ok(s, "run-f", RUN_FAILED);
    assert_int_equal(status_of(s, "run-f"), RUN_QUEUED);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM epochs WHERE run_key = ?1", "run-f"),
                     0);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM class_metrics WHERE run_key = ?1",
                               "run-f"),
                     0);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM confusion WHERE run_key = ?1",
                               "run-f"),
                     0);
    assert_int_equal(count_for(f->db,
                               "SELECT count(*) FROM runs WHERE run_key = ?1 AND error IS NULL"
                               " AND finished_at IS NULL AND started_at IS NULL",
                               "run-f"),
                     1);
    /* The other run's rows are untouched. */
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM confusion WHERE run_key = ?1",
                               "run-keep"),
                     9);
    store_close(s);
}

/* Queueing a run that another process has claimed since the caller planned it leaves it
 * RUNNING with its epochs, even with force: otherwise the caller could claim it again and both
 * would train it (test_run's two coordinators hit this race now and then). */
static void test_queue_leaves_running(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    err_info e = {0};
    queue_ok(s, "run-r", STORE_ABSENT);
    assert_int_equal(run_start(s, "run-r", &e), 0);
    put_epoch_ok(s, "run-r", 1);
    for (int force = 0; force <= 1; force++) {
        int prev = -99;
        store_run r = make_run("run-r", 0);
        assert_int_equal(store_run_queue(s, &prev, &r, force, &e), 0);
        assert_int_equal(prev, RUN_RUNNING);
        assert_int_equal(status_of(s, "run-r"), RUN_RUNNING);
        assert_int_equal(count_for(f->db, "SELECT count(*) FROM epochs WHERE run_key = ?1", "run-r"),
                         1);
        /* and a second claim fails without error */
        bool claimed = true;
        assert_int_equal(store_run_start(s, "run-r", &claimed, &e), 0);
        assert_false(claimed);
    }
    store_close(s);
}

/* store_owner_self(), as another process would be: another host or pid, or another attempt
 * of a Slurm task. */
static store_owner other_owner(const char *host, int64_t pid, const char *task, int attempt)
{
    store_owner o;
    store_owner_self(&o);
    snprintf(o.host, sizeof o.host, "%s", host);
    o.pid = pid;
    o.proc[0] = '\0';
    snprintf(o.task, sizeof o.task, "%s", task);
    o.attempt = attempt;
    return o;
}

static void test_stale_heartbeat(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db), *far = open_ok(f->db);
    err_info e = {0};
    store_owner away = other_owner("another-host", 4242, "", 0);
    store_set_owner(far, &away);
    /* "old" and "fresh" run on another host; "paused" here, by this live process; "done" and
     * "done-far" finished; "queued" never started. */
    const char *keys[] = {"old", "fresh", "paused", "done", "done-far", "queued"};
    for (int i = 0; i < 6; i++)
        queue_ok(s, keys[i], STORE_ABSENT);
    store *by[] = {far, far, s, s, far};
    for (int i = 0; i < 5; i++)
        assert_int_equal(run_start(by[i], keys[i], &e), 0);
    store_run_end end = {.status = RUN_COMPLETED, .wall_s = 1, .cpu_s = 1,
                         .params_sha256 = "beef"};
    assert_int_equal(store_run_finish(s, "done", &end, &e), 0);
    assert_int_equal(store_run_finish(far, "done-far", &end, &e), 0);

    /* Nothing was heard of them for ages: the other host's RUNNING run is retired; a run
     * whose owner is alive on this host (stopped with Ctrl-Z, say) is never stale; finished
     * runs are not touched whatever their heartbeat. */
    sqlite3 *db = raw_open(f->db);
    raw_exec(db, "UPDATE runs SET heartbeat_at = '2000-01-01T00:00:00.000Z'"
                 " WHERE run_key IN ('old', 'paused', 'done', 'done-far')");
    sqlite3_close(db);

    int n = -1;
    assert_int_equal(store_mark_stale(s, &n, 3600.0, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(status_of(s, "old"), RUN_INTERRUPTED);
    assert_int_equal(status_of(s, "fresh"), RUN_RUNNING);
    assert_int_equal(status_of(s, "paused"), RUN_RUNNING);
    assert_int_equal(status_of(s, "done"), RUN_COMPLETED);
    assert_int_equal(status_of(s, "done-far"), RUN_COMPLETED);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM runs WHERE params_sha256 = 'beef'",
                               NULL), 2);
    assert_int_equal(store_mark_stale(s, &n, 3600.0, &e), 0);
    assert_int_equal(n, 0);

    /* Ctrl-C: the coordinator interrupts what it was running and what it queued; finished
     * runs and another process's run stay. */
    const char *const mine[] = {"paused", "done", "queued", "fresh", "absent"};
    assert_int_equal(store_interrupt_running(s, &n, mine, 5, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(status_of(s, "paused"), RUN_INTERRUPTED);
    assert_int_equal(status_of(s, "queued"), RUN_INTERRUPTED);
    assert_int_equal(status_of(s, "done"), RUN_COMPLETED);
    assert_int_equal(status_of(s, "fresh"), RUN_RUNNING);
    /* An interrupted run is requeued on the next invocation. */
    queue_ok(s, "paused", RUN_INTERRUPTED);
    assert_int_equal(status_of(s, "paused"), RUN_QUEUED);
    store_close(s);
    store_close(far);
}

/* Issue 18.2: a run taken over by another process (its owner was stopped for long, on
 * another host) is that process's: the old owner's epoch, heartbeat and finish writes fail
 * with ERR_CONFLICT and change nothing, so its Ctrl-C cannot turn the other's COMPLETED
 * result into INTERRUPTED or clear its parameter hash. */
static void test_owner_checks(void **state)
{
    fixture *f = *state;
    store *a = open_ok(f->db), *b = open_ok(f->db);
    err_info e = {0};
    store_owner other = other_owner("another-host", 4242, "", 0);
    store_set_owner(b, &other);
    queue_ok(a, "run-t", STORE_ABSENT);
    assert_int_equal(run_start(a, "run-t", &e), 0);
    put_epoch_ok(a, "run-t", 1);

    /* b takes it over (as after a stale heartbeat) and completes it */
    sqlite3 *db = raw_open(f->db);
    raw_exec(db, "UPDATE runs SET status = 'QUEUED' WHERE run_key = 'run-t'");
    sqlite3_close(db);
    assert_int_equal(run_start(b, "run-t", &e), 0);
    put_epoch_ok(b, "run-t", 1);
    /* a's writes while b runs it */
    epoch3 x;
    make_epoch3(&x, "run-t", 2);
    assert_int_equal(store_epoch_put(a, &x.ep, &e), ERR_CONFLICT);
    assert_non_null(strstr(e.msg, "taken over"));
    assert_non_null(strstr(e.msg, "another-host"));
    assert_int_equal(store_run_heartbeat(a, "run-t", &e), ERR_CONFLICT);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM epochs WHERE run_key = ?1", "run-t"),
                     1);
    store_run_end done = {.status = RUN_COMPLETED, .wall_s = 2, .cpu_s = 2,
                          .params_sha256 = "cafe"};
    assert_int_equal(store_run_finish(b, "run-t", &done, &e), 0);

    /* a resumes and is stopped: nothing of b's result changes */
    store_run_end stop = {.status = RUN_INTERRUPTED, .error = "interrupted"};
    assert_int_equal(store_run_finish(a, "run-t", &stop, &e), ERR_CONFLICT);
    assert_non_null(strstr(e.msg, "COMPLETED"));
    assert_int_equal(store_epoch_put(a, &x.ep, &e), ERR_CONFLICT);
    const char *const keys[] = {"run-t"};
    int n = -1;
    assert_int_equal(store_interrupt_running(a, &n, keys, 1, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(status_of(a, "run-t"), RUN_COMPLETED);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM runs WHERE run_key = ?1 AND"
                               " params_sha256 = 'cafe' AND error IS NULL", "run-t"), 1);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM epochs WHERE run_key = ?1", "run-t"),
                     1);
    /* and the owner's own writes still work: a run b never had */
    queue_ok(a, "run-u", STORE_ABSENT);
    assert_int_equal(run_start(a, "run-u", &e), 0);
    assert_int_equal(store_run_heartbeat(a, "run-u", &e), 0);
    assert_int_equal(store_run_heartbeat(b, "run-u", &e), ERR_CONFLICT);
    assert_int_equal(store_run_heartbeat(a, "ghost", &e), ERR_INVALID);
    store_close(a);
    store_close(b);
}

typedef struct prov_seen {
    char name[128], spec[128], diff[128], host[64];
    bool has_build, has_host, has_dataset;
} prov_seen;


/* A coordinator killed with SIGKILL leaves RUNNING runs owned by a pid that no longer
 * exists: the next coordinator on the same host reclaims them at once. So does a run whose
 * pid now belongs to another process (its recorded start differs), and a run of an earlier
 * attempt of the same Slurm task (requeued, perhaps onto another node). */
static void test_reclaim_orphans(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    err_info e = {0};
    const char *keys[] = {"mine", "dead", "elsewhere", "reused"};
    for (int i = 0; i < 4; i++) {
        queue_ok(s, keys[i], STORE_ABSENT);
        assert_int_equal(run_start(s, keys[i], &e), 0);
    }
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child); /* child's pid is now free */
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE runs SET owner_pid = %d WHERE run_key = 'dead'", (int)child);
    sqlite3 *db = raw_open(f->db);
    raw_exec(db, sql);
    raw_exec(db, "UPDATE runs SET owner_host = 'another-host', owner_pid = 1"
                 " WHERE run_key = 'elsewhere'");
    /* our pid, but recorded for a process that started at another time: the pid was reused */
    raw_exec(db, "UPDATE runs SET owner_proc = 'another-boot/12345' WHERE run_key = 'reused'");
    assert_int_equal(raw_int(db, "SELECT owner_pid FROM runs WHERE run_key = ?1", "mine"),
                     (int64_t)getpid());
    assert_int_equal(raw_int(db, "SELECT count(*) FROM runs WHERE run_key = ?1 AND"
                             " owner_proc LIKE '%/%'", "mine"), 1);
    sqlite3_close(db);

    int n = -1;
    assert_int_equal(store_reclaim_orphans(s, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(status_of(s, "dead"), RUN_INTERRUPTED);
    assert_int_equal(status_of(s, "reused"), RUN_INTERRUPTED);
    assert_int_equal(status_of(s, "mine"), RUN_RUNNING);      /* this process is alive */
    assert_int_equal(status_of(s, "elsewhere"), RUN_RUNNING); /* not ours to judge */
    assert_int_equal(store_reclaim_orphans(s, &n, &e), 0);
    assert_int_equal(n, 0);
    store_close(s);
}

/* Issue 17: a Slurm task requeued onto another node finds its run RUNNING under its killed
 * attempt, on a host where the pid means nothing and whose heartbeat is fresh: it takes the
 * run over at once. Another task's run, and a run of the same attempt, are left alone. */
static void test_reclaim_requeued_task(void **state)
{
    fixture *f = *state;
    store *a0 = open_ok(f->db), *other = open_ok(f->db), *a1 = open_ok(f->db),
          *same = open_ok(f->db);
    err_info e = {0};
    store_owner first = other_owner("node-1", 100, "cluster/12_3", 0);
    store_owner neighbour = other_owner("node-1", 101, "cluster/12_4", 0);
    store_owner again = other_owner("node-2", 200, "cluster/12_3", 1);
    store_owner twin = other_owner("node-2", 201, "cluster/12_3", 0);
    store_set_owner(a0, &first);
    store_set_owner(other, &neighbour);
    store_set_owner(a1, &again);
    store_set_owner(same, &twin);
    queue_ok(a0, "task3-run", STORE_ABSENT);
    queue_ok(a0, "task4-run", STORE_ABSENT);
    assert_int_equal(run_start(a0, "task3-run", &e), 0);
    assert_int_equal(run_start(other, "task4-run", &e), 0);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM runs WHERE owner_task ="
                               " 'cluster/12_3' AND owner_attempt = 0 AND run_key = ?1",
                               "task3-run"), 1);
    int n = -1;
    assert_int_equal(store_reclaim_orphans(same, &n, &e), 0); /* the same attempt: no */
    assert_int_equal(n, 0);
    assert_int_equal(store_reclaim_orphans(a1, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(status_of(a1, "task3-run"), RUN_INTERRUPTED);
    assert_int_equal(status_of(a1, "task4-run"), RUN_RUNNING);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM runs WHERE error LIKE"
                               " '%Slurm task cluster/12_3 was requeued%' AND run_key = ?1",
                               "task3-run"), 1);
    /* the new attempt queues and claims it like any rerun */
    queue_ok(a1, "task3-run", RUN_INTERRUPTED);
    assert_int_equal(run_start(a1, "task3-run", &e), 0);
    store_close(a0);
    store_close(other);
    store_close(a1);
    store_close(same);
}

/* store_owner_self reads the Slurm task from the environment of a batch job. */
static void test_owner_from_slurm_env(void **state)
{
    (void)state;
    store_owner o;
    unsetenv("SLURM_JOB_ID");
    store_owner_self(&o);
    assert_string_equal(o.task, "");
    assert_int_equal(o.pid, (int64_t)getpid());
    setenv("SLURM_JOB_ID", "57", 1);
    setenv("SLURM_ARRAY_JOB_ID", "50", 1);
    setenv("SLURM_ARRAY_TASK_ID", "7", 1);
    setenv("SLURM_CLUSTER_NAME", "hpc", 1);
    setenv("SLURM_RESTART_COUNT", "2", 1);
    store_owner_self(&o);
    assert_string_equal(o.task, "hpc/50_7");
    assert_int_equal(o.attempt, 2);
    unsetenv("SLURM_ARRAY_JOB_ID");
    unsetenv("SLURM_RESTART_COUNT");
    store_owner_self(&o);
    assert_string_equal(o.task, "hpc/57");
    assert_int_equal(o.attempt, 0);
    unsetenv("SLURM_JOB_ID");
    unsetenv("SLURM_ARRAY_TASK_ID");
    unsetenv("SLURM_CLUSTER_NAME");
}

static int see_prov(void *ctx, const store_provenance *p)
{
    prov_seen *w = ctx;
    snprintf(w->name, sizeof w->name, "%s", p->experiment_name ? p->experiment_name : "");
    w->has_build = p->build != NULL;
    w->has_host = p->host != NULL;
    w->has_dataset = p->dataset != NULL;
    if (p->build)
        snprintf(w->diff, sizeof w->diff, "%s", p->build->git_diff ? p->build->git_diff : "");
    if (p->host)
        snprintf(w->host, sizeof w->host, "%s", p->host->hostname);
    return 0;
}

static void test_injection_verbatim(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    err_info e = {0};
    static const char evil[] = "x'); DROP TABLE runs;--";
    static const char quotes[] = "it's \"quoted\"; -- not a comment /* nor this */ %s %d \\";
    store_experiment x = {.name = evil, .file = quotes, .spec_sha256 = quotes,
                          .spec_text = evil};
    int64_t xid = 0;
    assert_int_equal(store_experiment_put(s, &xid, &x, &e), 0);
    store_build b = {.git_sha = "none", .git_diff = evil};
    store_host h = {.hostname = quotes};
    int64_t bid = 0, hid = 0;
    assert_int_equal(store_build_put(s, &bid, &b, &e), 0);
    assert_int_equal(store_host_put(s, &hid, &h, &e), 0);
    store_run r = make_run(evil, xid);
    r.config_json = quotes;
    r.build_id = bid;
    r.host_id = hid;
    assert_int_equal(store_run_queue(s, NULL, &r, false, &e), 0);
    assert_int_equal(run_start(s, evil, &e), 0);
    put_epoch_ok(s, evil, 1);
    store_run_end end = {.status = RUN_FAILED, .error = quotes};
    assert_int_equal(store_run_finish(s, evil, &end, &e), 0);

    collect c = {0};
    assert_int_equal(store_runs(s, evil, -1, collect_run, &c, &e), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.keys[0], evil);
    assert_string_equal(c.experiment[0], evil);
    assert_string_equal(c.config, quotes);
    assert_string_equal(c.error, quotes);
    prov_seen w = {0};
    assert_int_equal(store_run_provenance(s, evil, see_prov, &w, &e), 0);
    assert_string_equal(w.name, evil);
    assert_true(w.has_build && w.has_host && !w.has_dataset);
    assert_string_equal(w.diff, evil);
    assert_string_equal(w.host, quotes);
    char key[STORE_KEY_MAX];
    assert_int_equal(store_run_resolve(s, key, evil, &e), 0);
    assert_string_equal(key, evil);
    store_close(s);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM sqlite_master WHERE name = 'runs'",
                               NULL),
                     1);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM runs", NULL), 1);
}

/* ---- bench perf measurements ---- */

/* A measurement with two steps; figures derived from threads so that two differ. */
typedef struct perf2 {
    store_perf_step steps[2];
    store_perf m;
} perf2;

static void make_perf2(perf2 *x, int threads, int64_t build_id, int64_t dataset_id)
{
    x->steps[0] = (store_perf_step){.step = 0, .layers = "conv+relu+maxpool", .fwd_ms = 1.25,
                                    .bwd_ms = 2.5, .fwd_gflops = 10.0, .bwd_gflops = 8.0,
                                    .fwd_pct_peak = 20.0, .bwd_pct_peak = 16.0};
    x->steps[1] = (store_perf_step){.step = 7, .layers = "softmax-xent", .fwd_ms = 0.5,
                                    .bwd_ms = 0.25, .fwd_gflops = NAN, .bwd_gflops = NAN,
                                    .fwd_pct_peak = NAN, .bwd_pct_peak = NAN};
    x->m = (store_perf){
        .build_id = build_id, .dataset_id = dataset_id, .data = dataset_id ? "mnist" : "synthetic",
        .threads = threads, .iterations = 100, .batch = 100, .kernel_set = "auto", .unfused = 0,
        .kernels = "conv:direct-avx2 gemm:blis-zen3", .peak_size = 2000, .peak_gflops = 50.0,
        .iter_ms = 10.0 / threads, .gflops = 5.0 * threads, .pct_peak = 10.0 * threads,
        .images_per_s = 10000.0 * threads, .epoch_s = 6.0 / threads, .eval_s = 0.5,
        .peak_rss_bytes = 123456789, .load_before = 0.5, .load_after = 1.5,
        .torch_epoch_s = NAN, .cpu_s = 2.0 * threads, .wait_s = 0.25, .nivcsw = 17,
        .n_steps = 2, .steps = x->steps,
    };
}

static void test_perf_rows(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    err_info e = {0};
    store_build b = {.git_sha = "0123456789012345678901234567890123456789", .git_dirty = 1};
    store_dataset d = {.name = "mnist", .sha256 = "abcdef", .n_images = 70000};
    int64_t bid = 0, did = 0, id1 = 0, id2 = 0;
    assert_int_equal(store_build_put(s, &bid, &b, &e), 0);
    assert_int_equal(store_dataset_put(s, &did, &d, &e), 0);
    perf2 a, c;
    make_perf2(&a, 2, bid, 0);
    make_perf2(&c, 1, 0, did);
    c.m.n_steps = 0;
    c.m.steps = NULL;
    c.m.peak_gflops = NAN;
    c.m.torch_epoch_s = 7.5;
    assert_int_equal(store_perf_put(s, &id1, &a.m, &e), 0);
    assert_int_equal(store_perf_put(s, &id2, &c.m, &e), 0);
    assert_true(id1 > 0 && id2 > id1);

    fix_perfs w = fix_perfs_read(s);
    assert_int_equal(w.n, 2);
    const fix_perf_copy *p = &w.v[0];
    assert_int_equal(p->id, id1);
    assert_int_equal(p->m.threads, 2);
    assert_int_equal(p->m.n_steps, 2);
    assert_string_equal(p->git_sha, b.git_sha);
    assert_int_equal(p->git_dirty, 1);
    assert_string_equal(p->data, "synthetic");
    assert_string_equal(p->dataset_sha256, "(null)");
    assert_string_equal(p->kernels, "conv:direct-avx2 gemm:blis-zen3");
    assert_close(p->m.epoch_s, 3.0, 0);
    assert_close(p->m.peak_gflops, 50.0, 0);
    assert_true(isnan(p->m.torch_epoch_s));
    assert_close(p->m.load_after, 1.5, 0);
    assert_int_equal(p->m.peak_rss_bytes, 123456789);
    assert_close(p->m.cpu_s, 4.0, 0);
    assert_close(p->m.wait_s, 0.25, 0);
    assert_int_equal(p->m.nivcsw, 17);
    /* no build: no revision; a data set: its checksum; NULL figures read back as NAN */
    p = &w.v[1];
    assert_string_equal(p->git_sha, "(null)");
    assert_string_equal(p->data, "mnist");
    assert_string_equal(p->dataset_sha256, "abcdef");
    assert_int_equal(p->m.n_steps, 0);
    assert_true(isnan(p->m.peak_gflops));
    assert_close(p->m.torch_epoch_s, 7.5, 0);

    fix_steps q = fix_steps_read(s, id1);
    assert_int_equal(q.n, 2);
    assert_int_equal(q.v[0].step, 0);
    assert_string_equal(q.layers[0], "conv+relu+maxpool");
    assert_close(q.v[0].fwd_ms, 1.25, 0);
    assert_close(q.v[0].bwd_gflops, 8.0, 0);
    assert_int_equal(q.v[1].step, 7);
    assert_string_equal(q.layers[1], "softmax-xent");
    assert_true(isnan(q.v[1].bwd_gflops));
    assert_int_equal(fix_steps_read(s, id2).n, 0);
    store_close(s);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM perf_steps WHERE fwd_gflops IS NULL",
                               NULL),
                     1);
}

/* A step that cannot be written (a repeated step index) leaves nothing of its measurement;
 * inside the caller's transaction, rolling back removes the measurements before it too. */
static void test_perf_atomic(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    err_info e = {0};
    perf2 good, bad;
    make_perf2(&good, 2, 0, 0);
    make_perf2(&bad, 1, 0, 0);
    bad.steps[1].step = bad.steps[0].step;
    assert_int_equal(store_perf_put(s, NULL, &bad.m, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, f->db));
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM perf_measurements", NULL), 0);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM perf_steps", NULL), 0);

    assert_int_equal(store_begin(s, &e), 0);
    assert_int_equal(store_perf_put(s, NULL, &good.m, &e), 0);
    assert_int_equal(store_perf_put(s, NULL, &bad.m, &e), ERR_INVALID);
    assert_int_equal(store_rollback(s, &e), 0);
    assert_int_equal(fix_perfs_read(s).n, 0);
    /* and a good one alone is written whole */
    assert_int_equal(store_perf_put(s, NULL, &good.m, &e), 0);
    store_close(s);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM perf_measurements", NULL), 1);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM perf_steps", NULL), 2);
}

static void test_resolve_prefix(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    err_info e = {0};
    const char *keys[] = {"abcd1234", "abcd5678", "ffff0000", "ab%_"};
    for (int i = 0; i < 4; i++)
        queue_ok(s, keys[i], STORE_ABSENT);
    char out[STORE_KEY_MAX];
    assert_int_equal(store_run_resolve(s, out, "ffff", &e), 0);
    assert_string_equal(out, "ffff0000");
    assert_int_equal(store_run_resolve(s, out, "abcd1234", &e), 0);
    assert_string_equal(out, "abcd1234");
    assert_int_equal(store_run_resolve(s, out, "ab%_", &e), 0); /* exact, no wildcards */
    assert_string_equal(out, "ab%_");
    assert_int_equal(store_run_resolve(s, out, "abcd", &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "ambiguous"));
    assert_int_equal(store_run_resolve(s, out, "ab", &e), ERR_INVALID);
    assert_int_equal(store_run_resolve(s, out, "zzzz", &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "'zzzz'"));
    store_close(s);
}

/* Opening a file the process may not write must fail with a clear message. root writes
 * through file permissions, so as root the check runs in a child that drops to "nobody". */
static int try_open_readonly_file(const char *path)
{
    store *s = NULL;
    err_info e = {0};
    int rc = store_open(&s, path, &e);
    if (rc == 0) {
        store_close(s);
        fprintf(stderr, "store_open succeeded on a read-only file\n");
        return 1;
    }
    if (rc != ERR_IO || !strstr(e.msg, "read-only") || !strstr(e.msg, path)) {
        fprintf(stderr, "unexpected error %d: %s\n", rc, e.msg);
        return 1;
    }
    /* Reading still works. */
    rc = store_open_readonly(&s, path, &e);
    if (rc) {
        fprintf(stderr, "store_open_readonly: %s\n", e.msg);
        return 1;
    }
    int st = -1;
    rc = store_run_status(s, &st, "r1", &e);
    store_close(s);
    if (rc || st != RUN_QUEUED) {
        fprintf(stderr, "status read back %d (%s)\n", st, e.msg);
        return 1;
    }
    return 0;
}

static void test_readonly_db(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    queue_ok(s, "r1", STORE_ABSENT);
    store_close(s);
    char results[400];
    snprintf(results, sizeof results, "%s/results", f->dir);
    assert_int_equal(chmod(f->db, 0444), 0);
    assert_int_equal(chmod(results, 0555), 0);
    assert_int_equal(chmod(f->dir, 0755), 0);
    if (geteuid() != 0) {
        assert_int_equal(try_open_readonly_file(f->db), 0);
    } else {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0)
                _exit(3);
            _exit(try_open_readonly_file(f->db));
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    chmod(results, 0755);
    chmod(f->db, 0644);

    /* A parent "directory" that is a file cannot hold a database. */
    char bad[400];
    snprintf(bad, sizeof bad, "%s/results/bench.db/inner/x.db", f->dir);
    err_info e = {0};
    s = NULL;
    assert_int_equal(store_open(&s, bad, &e), ERR_IO);
    assert_null(s);
    assert_non_null(strstr(e.msg, "not a directory"));
    assert_non_null(strstr(e.msg, bad));

    /* Read-only open does not create files. */
    snprintf(bad, sizeof bad, "%s/missing.db", f->dir);
    assert_int_not_equal(store_open_readonly(&s, bad, &e), 0);
    assert_non_null(strstr(e.msg, bad));
    assert_int_not_equal(access(bad, F_OK), 0);
}

static void test_two_connections(void **state)
{
    fixture *f = *state;
    store *a = open_ok(f->db);
    store *b = open_ok(f->db);
    err_info e = {0};
    for (int i = 0; i < 20; i++) {
        char key[32];
        snprintf(key, sizeof key, "run-%02d", i);
        store *w1 = (i % 2) ? a : b, *w2 = (i % 2) ? b : a;
        queue_ok(w1, key, STORE_ABSENT);
        assert_int_equal(run_start(w2, key, &e), 0);
        put_epoch_ok(w1, key, 1);
        store_run_end end = {.status = RUN_COMPLETED, .wall_s = 1, .cpu_s = 1};
        int rc = store_run_finish(w2, key, &end, &e);
        if (rc)
            fail_msg("store_run_finish: %s", e.msg);
        assert_int_equal(status_of(w1, key), RUN_COMPLETED);
    }
    /* Two coordinators that planned the same run: the first claim wins, the second is told
     * so and changes nothing, and neither may claim a finished run. */
    queue_ok(a, "run-shared", STORE_ABSENT);
    bool ca = false, cb = true;
    assert_int_equal(store_run_start(a, "run-shared", &ca, &e), 0);
    assert_int_equal(store_run_start(b, "run-shared", &cb, &e), 0);
    assert_true(ca);
    assert_false(cb);
    assert_int_equal(status_of(b, "run-shared"), RUN_RUNNING);
    assert_int_equal(count_for(f->db, "SELECT owner_pid FROM runs WHERE run_key = ?1", "run-shared"),
                     (int64_t)getpid());
    store_run_end done = {.status = RUN_COMPLETED, .wall_s = 1, .cpu_s = 1};
    assert_int_equal(store_run_finish(a, "run-shared", &done, &e), 0);
    assert_int_equal(store_run_start(b, "run-shared", &cb, &e), 0);
    assert_false(cb);
    assert_int_equal(status_of(a, "run-shared"), RUN_COMPLETED);
    /* A reader is not blocked by the other connection's open write transaction (WAL). */
    assert_int_equal(store_begin(a, &e), 0);
    queue_ok(a, "inside-tx", STORE_ABSENT);
    assert_int_equal(status_of(b, "inside-tx"), STORE_ABSENT);
    assert_int_equal(status_of(b, "run-05"), RUN_COMPLETED);
    assert_int_equal(store_commit(a, &e), 0);
    assert_int_equal(status_of(b, "inside-tx"), RUN_QUEUED);
    /* Rolled back work leaves nothing. */
    assert_int_equal(store_begin(b, &e), 0);
    queue_ok(b, "rolled-back", STORE_ABSENT);
    assert_int_equal(store_rollback(b, &e), 0);
    assert_int_equal(status_of(a, "rolled-back"), STORE_ABSENT);
    store_close(a);
    store_close(b);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM runs", NULL), 22); /* 20 + shared + inside */
    sqlite3 *db = raw_open(f->db);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* ---- run management (schema 7) ---- */

static int count_row(void *ctx, const store_run_row *r)
{
    (void)r;
    ++*(int *)ctx;
    return 0;
}

static int count_export(void *ctx, const store_export_row *r)
{
    (void)r;
    ++*(int *)ctx;
    return 0;
}

static int runs_seen(store *s, const char *experiment)
{
    err_info e = {0};
    int n = 0;
    assert_int_equal(store_runs(s, experiment, -1, count_row, &n, &e), 0);
    return n;
}

/* The filter hides archived runs from the many-run queries (never from a run's own), selects
 * by tags; removing a run takes its epochs, class rows and tags, and unlinks a shared run
 * from one experiment only; an emptied experiment version goes. */
static void test_manage_runs(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f->db);
    err_info e = {0};
    int64_t xa = put_experiment(s, "a", "sha-a"), xb = put_experiment(s, "b", "sha-b");
    const char *const keys[] = {"k-one", "k-two", "k-shared"};
    for (int i = 0; i < 3; i++) {
        store_run r = make_run(keys[i], i == 1 ? xb : xa);
        assert_int_equal(store_run_queue(s, NULL, &r, false, &e), 0);
        assert_int_equal(run_start(s, keys[i], &e), 0);
        put_epoch_ok(s, keys[i], 1);
        put_epoch_ok(s, keys[i], 2);
        store_run_end end = {.status = RUN_COMPLETED, .wall_s = 1, .cpu_s = 1};
        assert_int_equal(store_run_finish(s, keys[i], &end, &e), 0);
    }
    assert_int_equal(store_run_link(s, xb, "k-shared", 1, NULL, NULL, &e), 0);
    assert_int_equal(runs_seen(s, NULL), 4); /* k-shared under both */

    /* archive: hidden from store_runs and store_export, still there for store_run_get */
    assert_int_equal(store_run_archive(s, "k-one", true, &e), 0);
    assert_int_equal(runs_seen(s, "a"), 1);
    int n = 0;
    assert_int_equal(store_export(s, NULL, -1, count_export, &n, &e), 0);
    assert_int_equal(n, 4); /* two runs, two epochs each */
    n = 0;
    assert_int_equal(store_run_get(s, "k-one", count_row, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_set_filter(s, &(store_filter){.archived = true}, &e), 0);
    assert_int_equal(runs_seen(s, "a"), 2);
    assert_int_equal(store_run_archive(s, "nope", true, &e), ERR_INVALID);

    /* tags: one value a key; the filter wants every tag asked for */
    assert_int_equal(store_tag_set(s, "k-two", "paper", "fig3", &e), 0);
    assert_int_equal(store_tag_set(s, "k-two", "paper", "fig4", &e), 0);
    assert_int_equal(store_tag_set(s, "k-one", "paper", "fig4", &e), 0);
    assert_int_equal(store_tag_set(s, "k-one", "owner", "ana", &e), 0);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM run_tags", NULL), 3);
    store_tag want[] = {{"paper", "fig4"}, {"owner", NULL}};
    assert_int_equal(store_set_filter(s, &(store_filter){.archived = true, .n_tags = 1,
                                                        .tags = want}, &e), 0);
    assert_int_equal(runs_seen(s, NULL), 2);
    assert_int_equal(store_set_filter(s, &(store_filter){.archived = true, .n_tags = 2,
                                                        .tags = want}, &e), 0);
    assert_int_equal(runs_seen(s, NULL), 1);
    assert_int_equal(store_set_filter(s, NULL, &e), 0);
    assert_int_equal(store_note_set(s, "k-two", "look again", &e), 0);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM runs WHERE note = 'look again'",
                               NULL), 1);

    /* a shared run removed from one experiment stays for the other, credited to it */
    bool deleted = true;
    assert_int_equal(store_run_remove(s, &deleted, "k-shared", "a", 30.0, &e), 0);
    assert_false(deleted);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM epochs WHERE run_key = 'k-shared'",
                               NULL), 2);
    assert_int_equal(count_for(f->db, "SELECT experiment_id FROM runs WHERE run_key ="
                                      " 'k-shared'", NULL), xb);
    assert_int_equal(store_run_remove(s, NULL, "k-two", "a", 30.0, &e), ERR_INVALID);
    /* a run removed for good: its rows all go; experiment a, now empty, goes too */
    assert_int_equal(store_run_remove(s, &deleted, "k-one", NULL, 30.0, &e), 0);
    assert_true(deleted);
    static const char *const tables[] = {"runs", "epochs", "class_metrics", "confusion",
                                         "run_tags", "experiment_runs"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE run_key = 'k-one'", tables[i]);
        assert_int_equal(count_for(f->db, sql, NULL), 0);
    }
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM experiments WHERE name = 'a'",
                               NULL), 0);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM class_metrics", NULL), 12);
    /* a RUNNING run whose process lives (this one) is refused, nothing changed */
    queue_ok(s, "k-live", STORE_ABSENT);
    assert_int_equal(run_start(s, "k-live", &e), 0);
    assert_int_equal(store_run_remove(s, NULL, "k-live", NULL, 30.0, &e), ERR_CONFLICT);
    assert_int_equal(count_for(f->db, "SELECT count(*) FROM runs", NULL), 3);
    store_close(s);
}

/* ---- whose database ------------------------------------------------------------------ */

/* Issue 18.10: --db naming another program's SQLite file added bench's tables to it and
 * switched it to WAL for good. bench marks its databases (PRAGMA application_id) and opens
 * neither a file marked by another program nor an unmarked one holding other tables, for
 * writing or reading: both are left byte-identical, journal mode included. What it takes: a
 * new file (marked), an empty SQLite file, and a bench database from before the mark (marked
 * when opened for writing). A directory is named as one, not "disk I/O error" (issue 18.11). */
static void test_foreign_database(void **state)
{
    fixture *f = *state;
    char path[400], sum[65], now[65];
    err_info e = {0};
    store *s = NULL;
    const char *setup_sql[] = {
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES "
        "(1, 'mine'); PRAGMA application_id = 1179404354", /* "FLHB" */
        "CREATE TABLE runs (id INTEGER); INSERT INTO runs VALUES (7)", /* unmarked */
    };
    const char *want[] = {"belongs to another program (SQLite application_id 0x464c4842",
                          "is not a bench database (it holds 1 schema objects but not"};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/other%d.sqlite", f->dir, k);
        sqlite3 *db = raw_open(path);
        raw_exec(db, setup_sql[k]);
        sqlite3_close(db);
        assert_int_equal(sha256_file(sum, path, &e), 0);
        assert_int_equal(store_open(&s, path, &e), ERR_FORMAT);
        assert_null(s);
        if (!strstr(e.msg, want[k]))
            fail_msg("%s", e.msg);
        assert_non_null(strstr(e.msg, path));
        assert_int_equal(store_open_readonly(&s, path, &e), ERR_FORMAT);
        if (!strstr(e.msg, want[k]))
            fail_msg("%s", e.msg);
        assert_int_equal(sha256_file(now, path, &e), 0);
        assert_string_equal(now, sum);
        char wal[420];
        snprintf(wal, sizeof wal, "%s-wal", path);
        assert_int_not_equal(access(wal, F_OK), 0);
        db = raw_open(path);
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "delete");
        sqlite3_finalize(st);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master", NULL), 1);
        sqlite3_close(db);
    }

    /* a new file is marked; so is an empty SQLite file */
    assert_int_equal(store_open(&s, f->db, &e), 0);
    store_close(s);
    sqlite3 *db = raw_open(f->db);
    assert_int_equal(raw_int(db, "PRAGMA application_id", NULL), 0x424e4348);
    /* a bench database from before the mark is taken, and marked when opened for writing */
    raw_exec(db, "PRAGMA application_id = 0");
    sqlite3_close(db);
    assert_int_equal(store_open_readonly(&s, f->db, &e), 0);
    store_close(s);
    assert_int_equal(store_open(&s, f->db, &e), 0);
    store_close(s);
    db = raw_open(f->db);
    assert_int_equal(raw_int(db, "PRAGMA application_id", NULL), 0x424e4348);
    sqlite3_close(db);
    snprintf(path, sizeof path, "%s/empty.db", f->dir);
    cli_write_text(path, "");
    assert_int_equal(store_open(&s, path, &e), 0);
    store_close(s);

    /* a directory, for writing and for reading */
    assert_int_equal(store_open(&s, f->dir, &e), ERR_IO);
    snprintf(path, sizeof path, "database '%s' is a directory, not a file", f->dir);
    assert_string_equal(e.msg, path);
    assert_int_equal(store_open_readonly(&s, f->dir, &e), ERR_IO);
    assert_string_equal(e.msg, path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names),
        cmocka_unit_test_setup_teardown(test_schema_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_v3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_lr_from_v5, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_v9, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_v6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_v8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upsert_dedupe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_epoch_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rerun_resets_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_leaves_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_heartbeat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reclaim_orphans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reclaim_requeued_task, setup, teardown),
        cmocka_unit_test(test_owner_from_slurm_env),
        cmocka_unit_test_setup_teardown(test_injection_verbatim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_perf_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_perf_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_db, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manage_runs, setup, teardown),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
