/* store: the SQLite results database. See store.h for the contract and the tables. */
#define _POSIX_C_SOURCE 200809L /* strdup, mkdir */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "exp.h"
#include "path.h"
#include "sha256.h"
#include "vec.h"
#include "timing.h"

struct store {
    sqlite3 *db;
    char *path; /* as given to store_open, for messages */
    store_owner self; /* who this connection claims runs as (store_owner_self at open) */
    bool filter_archived; /* the queries of store_set_filter see archived runs too */
    char *filter_tags;    /* JSON array of [key, value|null] a run must carry, NULL: none */
};

/* Several processes may hold the file (the coordinator, `bench ls` in another terminal, a
 * second shard): a writer waits this long for another's transaction before failing. */
#define STORE_BUSY_TIMEOUT_MS 30000

/* The current time as stored everywhere: UTC ISO-8601 with milliseconds. */
#define NOW_SQL "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

static const char *const run_status_names[RUN_STATUS_COUNT] = {
    [RUN_QUEUED] = "QUEUED",       [RUN_RUNNING] = "RUNNING", [RUN_COMPLETED] = "COMPLETED",
    [RUN_FAILED] = "FAILED",       [RUN_DIVERGED] = "DIVERGED",
    [RUN_INTERRUPTED] = "INTERRUPTED",
};

/* ---- schema ------------------------------------------------------------------------------
 * migrations[v] takes a database from user_version v to v+1. A new file starts at 0 and runs
 * them all; never edit a released entry, append a new one. Version 1 is the schema as first
 * written; version 2 adds what running sweeps showed was missing (build type and `git
 * describe`, evaluation size and kernels of a run, weighted F1, the experiment<->run link
 * table so that two experiment files may share a run, indexes); version 3 records the owner
 * process of a RUNNING run; version 4 stores `bench perf` measurements; version 5 identifies
 * the owner of a RUNNING run beyond its pid (the process instance, and the Slurm task);
 * version 6 stores what a report needs from an experiment file when its runs are queued (its
 * swept keys and budget, each run's plan position and swept values), so that reports never
 * re-parse old files, and each run's summed training time; version 7 stores how contended
 * each epoch and measurement was, and each run's sums for the budget gate; version 8 adds what
 * a researcher keeps about runs (an archive mark, a note, tags) and an experiment's
 * description; version 9 measures `bench perf` against the physical peak and keeps each
 * library's SGEMM and the spread of the alternated repetitions beside it; version 10 keeps
 * the decision of a [select] table with the link of each run it configured. After the steps, the
 * runs_flat view is (re)made from the vocabulary (flat_view_refresh); a future step that drops
 * or renames a column the view reads starts with DROP VIEW IF EXISTS runs_flat (SQLite refuses
 * to drop a column a view uses), and the view comes back after it. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE experiments("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  file TEXT,"
    "  spec_sha256 TEXT NOT NULL,"
    "  spec_text TEXT,"
    "  created_at TEXT NOT NULL,"
    "  UNIQUE(name, spec_sha256));"
    /* ident: SHA-256 of a canonical serialisation of every other column (see ident_*),
     * so that dedupe on all fields costs one short unique index, not one over the diff. */
    "CREATE TABLE builds("
    "  id INTEGER PRIMARY KEY,"
    "  ident TEXT NOT NULL UNIQUE,"
    "  git_sha TEXT, git_branch TEXT, git_dirty INTEGER, git_diff TEXT,"
    "  compiler TEXT, compiler_version TEXT, cflags TEXT, blas TEXT, binary_sha256 TEXT);"
    "CREATE TABLE hosts("
    "  id INTEGER PRIMARY KEY,"
    "  ident TEXT NOT NULL UNIQUE,"
    "  hostname TEXT, cpu_model TEXT, cpu_flags TEXT, cores INTEGER, ram_bytes INTEGER,"
    "  os TEXT, kernel TEXT);"
    "CREATE TABLE datasets("
    "  id INTEGER PRIMARY KEY,"
    "  ident TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL, file TEXT, sha256 TEXT NOT NULL, n_images INTEGER);"
    "CREATE TABLE runs("
    "  run_key TEXT PRIMARY KEY,"
    "  experiment_id INTEGER REFERENCES experiments(id),"
    "  build_id INTEGER REFERENCES builds(id),"
    "  host_id INTEGER REFERENCES hosts(id),"
    "  dataset_id INTEGER REFERENCES datasets(id),"
    "  config_json TEXT NOT NULL,"
    "  model TEXT, optimizer TEXT, lr REAL, bn INTEGER, seed INTEGER, batch INTEGER,"
    "  epochs INTEGER, sampling TEXT, threads INTEGER,"
    "  status TEXT NOT NULL CHECK(status IN"
    "    ('QUEUED','RUNNING','COMPLETED','FAILED','DIVERGED','INTERRUPTED')),"
    "  heartbeat_at TEXT, started_at TEXT, finished_at TEXT,"
    "  wall_s REAL, cpu_s REAL, peak_rss_bytes INTEGER, params_sha256 TEXT, error TEXT);"
    "CREATE TABLE epochs("
    "  run_key TEXT NOT NULL REFERENCES runs(run_key) ON DELETE CASCADE,"
    "  epoch INTEGER NOT NULL,"
    "  train_loss REAL, train_acc REAL, test_loss REAL, test_acc REAL,"
    "  precision_macro REAL, recall_macro REAL, f1_macro REAL, auroc_macro REAL,"
    "  wall_s REAL, cpu_s REAL, images_per_s REAL,"
    "  PRIMARY KEY(run_key, epoch));"
    "CREATE TABLE class_metrics("
    "  run_key TEXT NOT NULL, epoch INTEGER NOT NULL, class INTEGER NOT NULL,"
    "  precision REAL, recall REAL, f1 REAL, support INTEGER,"
    "  PRIMARY KEY(run_key, epoch, class),"
    "  FOREIGN KEY(run_key, epoch) REFERENCES epochs(run_key, epoch) ON DELETE CASCADE);"
    "CREATE TABLE confusion("
    "  run_key TEXT NOT NULL, epoch INTEGER NOT NULL,"
    "  true_class INTEGER NOT NULL, pred_class INTEGER NOT NULL, count INTEGER NOT NULL,"
    "  PRIMARY KEY(run_key, epoch, true_class, pred_class),"
    "  FOREIGN KEY(run_key, epoch) REFERENCES epochs(run_key, epoch) ON DELETE CASCADE);",
    /* 1 -> 2 */
    "ALTER TABLE builds ADD COLUMN git_describe TEXT;"
    "ALTER TABLE builds ADD COLUMN build_type TEXT;"
    "ALTER TABLE runs ADD COLUMN eval_n INTEGER;"
    "ALTER TABLE runs ADD COLUMN kernels TEXT;"
    "ALTER TABLE runs ADD COLUMN queued_at TEXT;"
    "ALTER TABLE runs ADD COLUMN diverged_epoch INTEGER;"
    "ALTER TABLE epochs ADD COLUMN f1_weighted REAL;"
    "CREATE TABLE experiment_runs("
    "  experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,"
    "  run_key TEXT NOT NULL REFERENCES runs(run_key) ON DELETE CASCADE,"
    "  PRIMARY KEY(experiment_id, run_key));"
    "INSERT OR IGNORE INTO experiment_runs(experiment_id, run_key)"
    "  SELECT experiment_id, run_key FROM runs WHERE experiment_id IS NOT NULL;"
    "CREATE INDEX experiment_runs_key ON experiment_runs(run_key);"
    "CREATE INDEX runs_status ON runs(status);",
    /* 2 -> 3: the process that runs a RUNNING run, so that a coordinator killed outright
     * (SIGKILL) is recognised at once by the next `bench run` on the same host instead of
     * after the heartbeat goes stale. */
    /* parenthesised: one migration of two statements, which clang's -Wstring-concatenation
     * would otherwise take for a missing comma (and -Werror would fail the build) */
    ("ALTER TABLE runs ADD COLUMN owner_host TEXT;"
     "ALTER TABLE runs ADD COLUMN owner_pid INTEGER;"),
    /* 3 -> 4: speed over commits. A measurement refers to the same builds, hosts and datasets
     * rows as the runs (dataset NULL for synthetic data); pct columns are percent. */
    ("CREATE TABLE perf_measurements("
     "  id INTEGER PRIMARY KEY,"
     "  created_at TEXT NOT NULL,"
     "  build_id INTEGER REFERENCES builds(id),"
     "  host_id INTEGER REFERENCES hosts(id),"
     "  dataset_id INTEGER REFERENCES datasets(id),"
     "  data TEXT NOT NULL,"
     "  threads INTEGER NOT NULL CHECK(threads > 0),"
     "  iterations INTEGER NOT NULL, batch INTEGER NOT NULL,"
     "  kernel_set TEXT NOT NULL, unfused INTEGER NOT NULL, kernels TEXT,"
     "  peak_size INTEGER, peak_gflops REAL,"
     "  iter_ms REAL, gflops REAL, pct_peak REAL, images_per_s REAL, epoch_s REAL,"
     "  eval_s REAL, peak_rss_bytes INTEGER, load_before REAL, load_after REAL,"
     "  torch_epoch_s REAL);"
     "CREATE TABLE perf_steps("
     "  measurement_id INTEGER NOT NULL REFERENCES perf_measurements(id) ON DELETE CASCADE,"
     "  step INTEGER NOT NULL,"
     "  layers TEXT NOT NULL,"
     "  fwd_ms REAL, bwd_ms REAL, fwd_gflops REAL, bwd_gflops REAL,"
     "  fwd_pct_peak REAL, bwd_pct_peak REAL,"
     "  PRIMARY KEY(measurement_id, step));"
     "CREATE INDEX perf_measurements_build ON perf_measurements(build_id);"),
    /* 4 -> 5: a pid alone does not identify the owner of a run: pids are reused (a container
     * restarted on the same database), and a Slurm task requeued onto another node is the
     * same owner under another host and pid. owner_proc = "<boot id>/<start time>" of the
     * process; owner_task = "<cluster>/<job>" of the Slurm task, owner_attempt its
     * SLURM_RESTART_COUNT. */
    ("ALTER TABLE runs ADD COLUMN owner_proc TEXT;"
     "ALTER TABLE runs ADD COLUMN owner_task TEXT;"
     "ALTER TABLE runs ADD COLUMN owner_attempt INTEGER;"),
    /* 5 -> 6: the vocabulary's view of a sweep, stored when a run is queued (NULL in rows
     * written before: a report then groups by configuration and labels by what varies). And
     * runs.lr becomes the double of the file, not the float the optimizer used widened to a
     * double (0.0500000007450581 for 0.05): for old rows, the configuration JSON's decimal. */
    ("ALTER TABLE experiments ADD COLUMN swept TEXT;"
     "ALTER TABLE experiments ADD COLUMN budget_minutes REAL;"
     "ALTER TABLE experiments ADD COLUMN target_accuracy REAL;"
     "ALTER TABLE experiment_runs ADD COLUMN position INTEGER;"
     "ALTER TABLE experiment_runs ADD COLUMN swept_values TEXT;"
     "UPDATE runs SET lr = json_extract(config_json, '$.optimizer.lr')"
     "  WHERE json_valid(config_json)"
     "  AND json_type(config_json, '$.optimizer.lr') IN ('integer', 'real');"
     /* the sum of the epochs' training wall time, kept with each epoch written, so that a
      * report over 100,000 runs reads one row per run rather than twenty */
     "ALTER TABLE runs ADD COLUMN train_s REAL;"
     "UPDATE runs SET train_s = (SELECT sum(e.wall_s) FROM epochs e"
     "  WHERE e.run_key = runs.run_key);"),
    /* 6 -> 7: time you can trust. Beside an epoch's wall and CPU time, the run-queue wait of
     * its threads (seconds they were ready but had no CPU) and its involuntary context
     * switches (timing.h); the same for the timed iterations of a perf measurement, with
     * their CPU time. NULL where not measured (rows written before). And, kept with each
     * epoch written like train_s, a run's sums for the gate time (timing_run_gate_s): the CPU
     * time of its epochs, the wall time of those not contended, how many were contended
     * (none before: an unknown wait is not contention). */
    ("ALTER TABLE epochs ADD COLUMN wait_s REAL;"
     "ALTER TABLE epochs ADD COLUMN nivcsw INTEGER;"
     "ALTER TABLE perf_measurements ADD COLUMN cpu_s REAL;"
     "ALTER TABLE perf_measurements ADD COLUMN wait_s REAL;"
     "ALTER TABLE perf_measurements ADD COLUMN nivcsw INTEGER;"
     "ALTER TABLE runs ADD COLUMN train_cpu_s REAL;"
     "ALTER TABLE runs ADD COLUMN quiet_train_s REAL;"
     "ALTER TABLE runs ADD COLUMN contended_epochs INTEGER;"
     "UPDATE runs SET train_cpu_s = (SELECT sum(e.cpu_s) FROM epochs e"
     "  WHERE e.run_key = runs.run_key), quiet_train_s = train_s,"
     "  contended_epochs = CASE WHEN train_s IS NULL THEN NULL ELSE 0 END;"),
    /* 7 -> 8: run management. archived_at (NULL: not archived) hides a run from reports
     * without deleting it; note is free text; run_tags holds KEY=VALUE labels, one value per
     * key, deleted with the run; an experiment version keeps its file's description. */
    ("ALTER TABLE runs ADD COLUMN archived_at TEXT;"
     "ALTER TABLE runs ADD COLUMN note TEXT;"
     "ALTER TABLE experiments ADD COLUMN description TEXT;"
     "CREATE TABLE run_tags("
     "  run_key TEXT NOT NULL REFERENCES runs(run_key) ON DELETE CASCADE,"
     "  key TEXT NOT NULL, value TEXT NOT NULL,"
     "  PRIMARY KEY(run_key, key));"
     "CREATE INDEX run_tags_key ON run_tags(key, value);"),
    /* 8 -> 9: until now peak_gflops was an SGEMM through the linked BLAS (peak_kind 'sgemm');
     * from now on it is the physical FMA peak, and the SGEMMs of the libraries are a table. */
    ("ALTER TABLE perf_measurements ADD COLUMN peak_kind TEXT;"
     "ALTER TABLE perf_measurements ADD COLUMN peak_core_gflops REAL;"
     "ALTER TABLE perf_measurements ADD COLUMN kernel_choice TEXT;"
     "ALTER TABLE perf_measurements ADD COLUMN reps INTEGER;"
     "ALTER TABLE perf_measurements ADD COLUMN epoch_s_median REAL;"
     "ALTER TABLE perf_measurements ADD COLUMN epoch_s_max REAL;"
     "ALTER TABLE perf_measurements ADD COLUMN torch_epoch_s_median REAL;"
     "ALTER TABLE perf_measurements ADD COLUMN torch_epoch_s_max REAL;"
     "ALTER TABLE perf_measurements ADD COLUMN torch_setting TEXT;"
     "UPDATE perf_measurements SET peak_kind = 'sgemm' WHERE peak_gflops IS NOT NULL;"
     "CREATE TABLE perf_sgemm("
     "  measurement_id INTEGER NOT NULL REFERENCES perf_measurements(id) ON DELETE CASCADE,"
     "  library TEXT NOT NULL, shape TEXT NOT NULL,"
     "  m INTEGER, n INTEGER, k INTEGER, trans_a INTEGER, trans_b INTEGER, ms REAL, gflops REAL,"
     "  PRIMARY KEY(measurement_id, library, shape));"),
    /* 9 -> 10: the decision of an experiment's [select] table (select.h), as JSON, kept with
     * the link of each run it configured (a run may be shared with an experiment that chose
     * nothing): which experiment's runs decided, by what metric and margin, each candidate's
     * per-seed figures and mean, and the winner. NULL where no rule chose. */
    "ALTER TABLE experiment_runs ADD COLUMN selection TEXT;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

int store_schema_version(void) { return SCHEMA_VERSION; }

const char *run_status_name(int status)
{
    if (status == STORE_ABSENT)
        return "ABSENT";
    if (status < 0 || status >= RUN_STATUS_COUNT)
        return "?";
    return run_status_names[status];
}

int run_status_parse(int *out, const char *name, err_info *e)
{
    for (int i = 0; i < RUN_STATUS_COUNT; i++)
        if (name && strcasecmp(name, run_status_names[i]) == 0) {
            *out = i;
            return 0;
        }
    return err_set(e, ERR_INVALID,
                   "unknown run status '%s' (valid: QUEUED, RUNNING, COMPLETED, FAILED, "
                   "DIVERGED, INTERRUPTED)",
                   name ? name : "");
}

/* ---- small helpers ------------------------------------------------------------------------ */

/* Map SQLite's result code to ours: a file that is not a database is a format error,
 * everything else (locks, permissions, disk) is I/O. */
static int db_code(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: return ERR_FORMAT;
    case SQLITE_NOMEM: return ERR_NOMEM;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE: return ERR_INVALID;
    default: return ERR_IO;
    }
}

/* e <- "database 'path': <SQLite's message for the last failure on s>". */
static int db_fail(store *s, err_info *e)
{
    int rc = sqlite3_extended_errcode(s->db);
    return err_set(e, db_code(rc), "database '%s': %s", s->path, sqlite3_errmsg(s->db));
}

/* Run fixed SQL with no parameters (schema, PRAGMAs, transaction control). User data never
 * goes through here. */
static int exec_sql(store *s, const char *sql, err_info *e)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(s, e);
    return 0;
}

static int prepare(store *s, sqlite3_stmt **st, const char *sql, err_info *e)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return db_fail(s, e);
    }
    return 0;
}

/* NULL strings bind as SQL NULL; SQLITE_TRANSIENT makes SQLite copy, so callers keep theirs. */
static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* Ids and counts where 0 means "unknown" bind as NULL. */
static void bind_id(sqlite3_stmt *st, int i, int64_t v)
{
    if (v)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

/* NaN binds as NULL (SQLite does this itself; written out for the reader). */
static void bind_real(sqlite3_stmt *st, int i, double v)
{
    if (isnan(v))
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_double(st, i, v);
}

/* The store's run filter (store_set_filter) as a condition on the runs row called r: a query
 * that applies it ends its WHERE with FILTER_SQL("r") and calls bind_filter. Its parameters
 * have fixed numbers above any statement's own. */
#define FILTER_SQL(r)                                                                          \
    " AND (?30 OR " r ".archived_at IS NULL) AND (?31 IS NULL OR NOT EXISTS (SELECT 1"          \
    " FROM json_each(?31) t WHERE NOT EXISTS (SELECT 1 FROM run_tags g"                        \
    " WHERE g.run_key = " r ".run_key AND g.key = json_extract(t.value, '$[0]')"               \
    " AND (json_extract(t.value, '$[1]') IS NULL OR g.value = json_extract(t.value, '$[1]')))))"

static void bind_filter(const store *s, sqlite3_stmt *st)
{
    sqlite3_bind_int(st, 30, s->filter_archived);
    bind_text(st, 31, s->filter_tags);
}

/* A count that may be unknown (negative): NULL then. */
static void bind_count(sqlite3_stmt *st, int i, int64_t v)
{
    if (v < 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

/* A count read back: -1 for NULL. */
static int64_t col_count(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, i);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static double col_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* Step a statement that returns no rows. */
static int step_done(store *s, sqlite3_stmt *st, err_info *e)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return db_fail(s, e);
    return 0;
}

/* Status name in a column -> enum; an unknown name (a newer bench wrote it) reads as FAILED
 * would hide it, so it is RUN_STATUS_COUNT and prints as "?". */
static int col_status(sqlite3_stmt *st, int i)
{
    const char *t = col_text(st, i);
    for (int k = 0; k < RUN_STATUS_COUNT; k++)
        if (t && strcmp(t, run_status_names[k]) == 0)
            return k;
    return RUN_STATUS_COUNT;
}

/* A write of several statements is atomic: BEGIN IMMEDIATE when the caller has no
 * transaction open (IMMEDIATE takes the write lock up front, so the busy timeout applies
 * instead of a deadlock between two deferred readers upgrading), a savepoint inside one. */
typedef struct tx {
    bool own; /* we began the transaction (else a savepoint) */
} tx;

static int tx_enter(store *s, tx *t, err_info *e)
{
    t->own = sqlite3_get_autocommit(s->db) != 0;
    return exec_sql(s, t->own ? "BEGIN IMMEDIATE" : "SAVEPOINT store_op", e);
}

/* Commit when ok, else undo; returns rc (or the commit's failure). */
static int tx_leave(store *s, tx *t, int rc, err_info *e)
{
    if (rc == 0) {
        rc = exec_sql(s, t->own ? "COMMIT" : "RELEASE store_op", e);
        if (rc == 0)
            return 0;
    }
    /* Keep the first error message: the rollback's own failure would only obscure it. */
    if (t->own)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    else
        sqlite3_exec(s->db, "ROLLBACK TO store_op; RELEASE store_op", NULL, NULL, NULL);
    return rc;
}

/* mkdir -p of the directory part of path ("results/bench.db" -> "results"). */
static int make_parent_dirs(const char *path, err_info *e)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    size_t n = (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (!dir)
        return err_set(e, ERR_NOMEM, "out of memory");
    memcpy(dir, path, n);
    dir[n] = '\0';
    int rc = path_mkdirs(dir, e);
    if (rc)
        err_prefix(e, "database '%s'", path);
    free(dir);
    return rc;
}

/* One integer from a query of one row. */
static int query_int1(store *s, const char *sql, int *out, err_info *e)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st, sql, e);
    if (rc)
        return rc;
    if (sqlite3_step(st) != SQLITE_ROW)
        rc = db_fail(s, e);
    else
        *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc;
}

static int flat_view_refresh(store *s, err_info *e);

static int read_user_version(store *s, int *version, err_info *e)
{
    return query_int1(s, "PRAGMA user_version", version, e);
}

/* PRAGMA application_id of every bench database: "BNCH". Set by migrate; a file without it
 * is taken only when it holds no schema at all (new or empty) or bench's own tables (a
 * database written before the mark). */
#define STORE_APPLICATION_ID 0x424e4348

/* Refuse, untouched, a database that another program made: ERR_FORMAT unless it carries
 * STORE_APPLICATION_ID, or carries no application id and has no schema or bench's tables. */
static int check_application(store *s, err_info *e)
{
    int app = 0, objects = 0, ours = 0;
    int rc = query_int1(s, "PRAGMA application_id", &app, e);
    if (rc == 0 && app == 0)
        rc = query_int1(s, "SELECT count(*) FROM sqlite_master", &objects, e);
    if (rc == 0 && app == 0 && objects > 0)
        rc = query_int1(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                           "('runs', 'epochs', 'experiments')", &ours, e);
    if (rc)
        return rc;
    if (app == STORE_APPLICATION_ID || (app == 0 && (objects == 0 || ours == 3)))
        return 0;
    if (app != 0)
        return err_set(e, ERR_FORMAT,
                       "database '%s' belongs to another program (SQLite application_id "
                       "0x%08x, bench's is 0x%08x): not opened",
                       s->path, (unsigned)app, (unsigned)STORE_APPLICATION_ID);
    return err_set(e, ERR_FORMAT,
                   "database '%s' is not a bench database (it holds %d schema objects but not "
                   "bench's tables): not opened",
                   s->path, objects);
}

/* Bring the schema to SCHEMA_VERSION inside one IMMEDIATE transaction, so that two processes
 * opening a new file at once do not both create the tables; then the runs_flat view. */
static int migrate(store *s, err_info *e)
{
    int version = 0;
    int rc = exec_sql(s, "BEGIN IMMEDIATE", e);
    if (rc)
        return rc;
    rc = read_user_version(s, &version, e);
    if (rc)
        goto done;
    if (version > SCHEMA_VERSION) {
        rc = err_set(e, ERR_FORMAT,
                     "database '%s' has schema version %d, newer than this bench (%d)", s->path,
                     version, SCHEMA_VERSION);
        goto done;
    }
    for (int v = version; v < SCHEMA_VERSION; v++) {
        rc = exec_sql(s, migrations[v], e);
        if (rc) {
            err_prefix(e, "migrating to schema version %d", v + 1);
            goto done;
        }
    }
    int app = 0;
    if (rc == 0)
        rc = query_int1(s, "PRAGMA application_id", &app, e);
    if (rc == 0 && (version < SCHEMA_VERSION || app != STORE_APPLICATION_ID)) {
        /* PRAGMA takes no bound parameters; the values are our own integer constants. */
        char sql[96];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d; PRAGMA application_id = %d",
                 SCHEMA_VERSION, STORE_APPLICATION_ID);
        rc = exec_sql(s, sql, e);
    }
    if (rc == 0)
        rc = flat_view_refresh(s, e);
done:
    if (rc == 0)
        return exec_sql(s, "COMMIT", e);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ---- owners of runs ------------------------------------------------------------------------
 * A RUNNING run names the process that executes it, so that another bench run can tell a live
 * owner (leave the run alone, however old its heartbeat: it may be stopped with Ctrl-Z) from a
 * dead one (take the run over at once), and so that every later write by the owner can check
 * that the run is still its own. */

/* buf <- "<boot id>/<start time>" of process pid: the boot (/proc/sys/kernel/random/boot_id)
 * and the process's start in clock ticks since boot (field 22 of /proc/PID/stat). Together
 * they name one process on one host, even after its pid is reused. "" when /proc cannot
 * tell. */
static void proc_identity(char *buf, size_t n, pid_t pid)
{
    buf[0] = '\0';
    char boot[64] = "", stat[1024], path[64];
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!f)
        return;
    bool ok = fgets(boot, sizeof boot, f) != NULL;
    fclose(f);
    boot[strcspn(boot, "\n")] = '\0';
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    if (!ok || !boot[0] || !(f = fopen(path, "r")))
        return;
    size_t got = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[got] = '\0';
    /* "pid (comm) state ppid ...": comm may hold spaces and parentheses, so count the
     * fields from the last ')'; the start time is the 20th after it. */
    const char *p = strrchr(stat, ')');
    for (int field = 0; p && field < 20; field++)
        p = strchr(p + 1, ' ');
    unsigned long long start = 0;
    if (p && sscanf(p + 1, "%llu", &start) == 1)
        snprintf(buf, n, "%s/%llu", boot, start);
}

void store_owner_self(store_owner *o)
{
    memset(o, 0, sizeof *o);
    if (gethostname(o->host, sizeof o->host - 1) != 0)
        o->host[0] = '\0';
    o->pid = (int64_t)getpid();
    proc_identity(o->proc, sizeof o->proc, getpid());
    /* Slurm: a task of an array is "<array job>_<task>", another job its id; the cluster
     * name keeps two clusters' job ids apart. SLURM_RESTART_COUNT counts requeues. */
    const char *job = getenv("SLURM_JOB_ID"), *array = getenv("SLURM_ARRAY_JOB_ID"),
               *task = getenv("SLURM_ARRAY_TASK_ID"), *cluster = getenv("SLURM_CLUSTER_NAME"),
               *restarts = getenv("SLURM_RESTART_COUNT");
    if (!job || !job[0])
        return;
    if (!cluster || !cluster[0])
        cluster = "slurm";
    if (array && array[0] && task && task[0])
        snprintf(o->task, sizeof o->task, "%s/%s_%s", cluster, array, task);
    else
        snprintf(o->task, sizeof o->task, "%s/%s", cluster, job);
    long attempt = 0;
    if (restarts && sscanf(restarts, "%ld", &attempt) == 1 && attempt > 0 && attempt < INT32_MAX)
        o->attempt = (int)attempt;
}

void store_set_owner(store *s, const store_owner *o) { s->self = *o; }

/* Whether the owner recorded in a run (host, pid, proc) is alive, as seen from this host:
 * 1 alive, 0 gone, -1 cannot tell (another host, or no pid recorded). A pid that exists but
 * is another process than the recorded one (its start differs) is gone. */
static int owner_alive(const store *s, const char *host, int64_t pid, const char *proc)
{
    if (!host || strcmp(host, s->self.host) != 0 || pid <= 0)
        return -1;
    /* kill(pid, 0) fails with ESRCH only when no such process exists (EPERM: it exists) */
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return 0;
    if (proc && proc[0]) {
        char now[sizeof s->self.proc];
        proc_identity(now, sizeof now, (pid_t)pid);
        if (now[0] && strcmp(now, proc) != 0)
            return 0;
    }
    return 1;
}

/* Shared by both opens: the connection and the store around it. */
/* SQL bench_contended(wait_s, cpu_s): 1 when an epoch of those times was contended, by
 * timing.h's rule (the one place it is written), else 0; NULL arguments are unknown, 0. */
static void sql_contended(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    double v[2];
    for (int i = 0; i < 2; i++)
        v[i] = sqlite3_value_type(argv[i]) == SQLITE_NULL ? NAN : sqlite3_value_double(argv[i]);
    const timing_span span = {.wall_s = NAN, .cpu_s = v[1], .wait_s = v[0], .nivcsw = -1};
    sqlite3_result_int(cx, timing_contended(&span));
}

static int open_conn(store **out, const char *path, int flags, err_info *e)
{
    *out = NULL;
    store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return err_set(e, ERR_NOMEM, "out of memory");
    }
    store_owner_self(&s->self);
    struct stat sb;
    if (!(flags & SQLITE_OPEN_URI) && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        store_close(s);
        return err_set(e, ERR_IO, "database '%s' is a directory, not a file", path);
    }
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        int rc = s->db ? db_fail(s, e) : err_set(e, ERR_NOMEM, "out of memory");
        store_close(s);
        return rc;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    if (sqlite3_create_function_v2(s->db, "bench_contended", 2,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                   sql_contended, NULL, NULL, NULL) != SQLITE_OK) {
        int rc = db_fail(s, e);
        store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* Switch the file to WAL, which lets readers (bench ls, report) run beside the writer. WAL is
 * a property of the file: once set, nothing is done. Converting needs exclusive access and
 * SQLite does not call the busy handler for it, so two processes creating the same new
 * database at once would see "database is locked"; retry with a short back-off within the
 * store's busy timeout instead. */
static int ensure_wal(store *s, err_info *e)
{
    for (int waited_ms = 0;; waited_ms += 10) {
        sqlite3_stmt *st = NULL;
        int rc = prepare(s, &st, "PRAGMA journal_mode = WAL", e);
        if (rc)
            return rc;
        int step = sqlite3_step(st);
        bool wal = step == SQLITE_ROW &&
                   strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
        int code = sqlite3_errcode(s->db);
        sqlite3_finalize(st);
        if (wal)
            return 0;
        if ((step == SQLITE_ROW || (code & 0xff) == SQLITE_BUSY) &&
            waited_ms < STORE_BUSY_TIMEOUT_MS) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (step != SQLITE_ROW)
            return db_fail(s, e);
        return err_set(e, ERR_IO, "database '%s': cannot switch to WAL mode", s->path);
    }
}

int store_open(store **out, const char *path, err_info *e)
{
    assert(out && path);
    *out = NULL;
    store *s = NULL;
    int rc = make_parent_dirs(path, e);
    if (rc)
        return rc;
    rc = open_conn(&s, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, e);
    if (rc)
        return rc;
    /* SQLite silently falls back to read-only when the OS refuses write access. */
    if (sqlite3_db_readonly(s->db, "main") == 1) {
        rc = err_set(e, ERR_IO, "database '%s' is read-only (check its permissions)", path);
        goto done;
    }
    /* Before anything is written: a foreign file is left exactly as it was (not even WAL). */
    rc = check_application(s, e);
    if (rc)
        goto done;
    rc = ensure_wal(s, e);
    if (rc)
        goto done;
    rc = exec_sql(s, "PRAGMA foreign_keys = ON", e);
    if (rc)
        goto done;
    rc = migrate(s, e);
done:
    if (rc) {
        if (e && e->code == ERR_IO && strstr(e->msg, "readonly"))
            err_set(e, ERR_IO, "database '%s' is read-only or its directory is not writable",
                    path);
        store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* "file:<path percent-encoded>?immutable=1", for reading a WAL database whose directory we
 * may not write (SQLite could not create the -shm index there). Caller frees. */
static char *immutable_uri(const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path);
    char *uri = malloc(3 * n + 32);
    if (!uri)
        return NULL;
    char *w = uri;
    w += sprintf(w, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr("/-_.~", *p);
        if (plain) {
            *w++ = (char)*p;
        } else {
            *w++ = '%';
            *w++ = hex[*p >> 4];
            *w++ = hex[*p & 15];
        }
    }
    strcpy(w, "?immutable=1");
    return uri;
}

int store_open_readonly(store **out, const char *path, err_info *e)
{
    assert(out && path);
    *out = NULL;
    store *s = NULL;
    int version = 0;
    int rc = open_conn(&s, path, SQLITE_OPEN_READONLY, e);
    if (rc)
        return rc;
    rc = read_user_version(s, &version, e);
    if (rc) {
        /* A WAL file needs its -shm index, which a reader that may not write the directory
         * cannot create. With no -wal file there is nothing un-checkpointed, so reading the
         * main file as immutable sees exactly what a normal reader would. */
        char wal[4096];
        snprintf(wal, sizeof wal, "%s-wal", path);
        struct stat sb;
        char *uri = immutable_uri(path);
        if (!uri || stat(wal, &sb) == 0 || stat(path, &sb) != 0) {
            free(uri);
            goto done;
        }
        store_close(s);
        s = NULL;
        rc = open_conn(&s, uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, e);
        free(uri);
        if (rc)
            return rc;
        free(s->path);
        if (!(s->path = strdup(path))) {
            rc = err_set(e, ERR_NOMEM, "out of memory");
            goto done;
        }
        rc = read_user_version(s, &version, e);
        if (rc)
            goto done;
    }
    rc = check_application(s, e);
    if (rc)
        goto done;
    if (version > 0 && version < SCHEMA_VERSION && access(path, W_OK) == 0) {
        /* An older file we may write: bring it up to date as any writing command would (the
         * migrations only add tables and columns, so nothing an older bench reads changes),
         * then read it. A file we may not write keeps the message below. */
        store_close(s);
        s = NULL;
        store *w = NULL;
        rc = store_open(&w, path, e);
        store_close(w);
        return rc ? rc : store_open_readonly(out, path, e);
    }
    if (version != SCHEMA_VERSION)
        rc = err_set(e, ERR_FORMAT,
                     version > SCHEMA_VERSION
                         ? "database '%s' has schema version %d, newer than this bench (%d)"
                         : "database '%s' has schema version %d, older than this bench (%d); "
                           "a writing command (bench run) migrates it",
                     path, version, SCHEMA_VERSION);
done:
    if (rc) {
        store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void store_close(store *s)
{
    if (!s)
        return;
    if (s->db && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close_v2(s->db);
    free(s->path);
    free(s->filter_tags);
    free(s);
}

const char *store_path(const store *s) { return s->path; }

int store_begin(store *s, err_info *e) { return exec_sql(s, "BEGIN IMMEDIATE", e); }
int store_commit(store *s, err_info *e) { return exec_sql(s, "COMMIT", e); }
int store_rollback(store *s, err_info *e) { return exec_sql(s, "ROLLBACK", e); }

/* ---- identities of builds, hosts, data sets ------------------------------------------------
 * ident = SHA-256 of the record's fields in a fixed order, each written as "<len>:<bytes>;"
 * or "-;" for NULL, so that no two different records serialise alike (a length prefix makes
 * "ab"+"c" differ from "a"+"bc", and NULL differ from ""). */
/* A growable string: the serialisations behind idents, and SQL built from our own
 * identifiers (never from user data). A failed allocation sets oom and ignores what follows. */
typedef struct strbuf {
    char *p;
    size_t len, cap;
    bool oom;
} strbuf;

static void strbuf_addf(strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void strbuf_addf(strbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

typedef strbuf ident;

static void ident_add(ident *d, const char *v)
{
    if (v)
        strbuf_addf(d, "%zu:%s;", strlen(v), v);
    else
        strbuf_addf(d, "-;");
}

static void ident_add_int(ident *d, int64_t v)
{
    char t[32];
    snprintf(t, sizeof t, "%lld", (long long)v);
    ident_add(d, t);
}

/* out <- hex digest of d; frees d. */
static int ident_finish(char out[65], ident *d, err_info *e)
{
    int rc = 0;
    if (d->oom)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    else
        sha256_hex(out, d->p ? d->p : "", d->len);
    free(d->p);
    *d = (ident){0};
    return rc;
}

/* Shared tail of the upserts: st1 inserts (ignoring a duplicate), st2 selects the id. */
static int put_and_get_id(store *s, int64_t *id, sqlite3_stmt *ins, sqlite3_stmt *sel,
                          err_info *e)
{
    int rc = step_done(s, ins, e);
    if (rc)
        return rc;
    if (sqlite3_step(sel) != SQLITE_ROW)
        return db_fail(s, e);
    *id = sqlite3_column_int64(sel, 0);
    return 0;
}

/* v as a bound REAL, NULL when it is not a positive number ("none"). */
static void bind_positive(sqlite3_stmt *st, int i, double v)
{
    if (v > 0.0)
        sqlite3_bind_double(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

int store_experiment_put(store *s, int64_t *id, const store_experiment *x, err_info *e)
{
    assert(s && id && x && x->name && x->spec_sha256);
    sqlite3_stmt *ins = NULL, *sel = NULL;
    int rc = prepare(s, &ins,
                     "INSERT INTO experiments(name, file, spec_sha256, spec_text, created_at,"
                     " swept, budget_minutes, target_accuracy, description)"
                     " VALUES(?1, ?2, ?3, ?4, " NOW_SQL ", ?5, ?6, ?7, ?8)"
                     " ON CONFLICT(name, spec_sha256) DO UPDATE SET"
                     " swept = coalesce(swept, excluded.swept),"
                     " budget_minutes = coalesce(budget_minutes, excluded.budget_minutes),"
                     " target_accuracy = coalesce(target_accuracy, excluded.target_accuracy),"
                     " description = coalesce(description, excluded.description)",
                     e);
    if (rc)
        goto done;
    rc = prepare(s, &sel, "SELECT id FROM experiments WHERE name = ?1 AND spec_sha256 = ?2", e);
    if (rc)
        goto done;
    bind_text(ins, 1, x->name);
    bind_text(ins, 2, x->file);
    bind_text(ins, 3, x->spec_sha256);
    bind_text(ins, 4, x->spec_text);
    bind_text(ins, 5, x->swept);
    bind_positive(ins, 6, x->budget_minutes);
    bind_positive(ins, 7, x->target_accuracy);
    bind_text(ins, 8, x->description && x->description[0] ? x->description : NULL);
    bind_text(sel, 1, x->name);
    bind_text(sel, 2, x->spec_sha256);
    rc = put_and_get_id(s, id, ins, sel, e);
done:
    sqlite3_finalize(ins);
    sqlite3_finalize(sel);
    return rc;
}

int store_build_put(store *s, int64_t *id, const store_build *b, err_info *e)
{
    assert(s && id && b);
    sqlite3_stmt *ins = NULL, *sel = NULL;
    char hex[65];
    ident d = {0};
    const char *fields[] = {b->git_sha,  b->git_branch,       b->git_diff, b->git_describe,
                            b->compiler, b->compiler_version, b->cflags,   b->build_type,
                            b->blas,     b->binary_sha256};
    ident_add_int(&d, b->git_dirty);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        ident_add(&d, fields[i]);
    int rc = ident_finish(hex, &d, e);
    if (rc)
        return rc;
    rc = prepare(s, &ins,
                 "INSERT INTO builds(ident, git_sha, git_branch, git_dirty, git_diff,"
                 " git_describe, compiler, compiler_version, cflags, build_type, blas,"
                 " binary_sha256) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
                 " ON CONFLICT(ident) DO NOTHING",
                 e);
    if (rc)
        goto done;
    rc = prepare(s, &sel, "SELECT id FROM builds WHERE ident = ?1", e);
    if (rc)
        goto done;
    bind_text(ins, 1, hex);
    bind_text(ins, 2, b->git_sha);
    bind_text(ins, 3, b->git_branch);
    sqlite3_bind_int(ins, 4, b->git_dirty);
    bind_text(ins, 5, b->git_diff);
    bind_text(ins, 6, b->git_describe);
    bind_text(ins, 7, b->compiler);
    bind_text(ins, 8, b->compiler_version);
    bind_text(ins, 9, b->cflags);
    bind_text(ins, 10, b->build_type);
    bind_text(ins, 11, b->blas);
    bind_text(ins, 12, b->binary_sha256);
    bind_text(sel, 1, hex);
    rc = put_and_get_id(s, id, ins, sel, e);
done:
    sqlite3_finalize(ins);
    sqlite3_finalize(sel);
    return rc;
}

int store_host_put(store *s, int64_t *id, const store_host *h, err_info *e)
{
    assert(s && id && h);
    sqlite3_stmt *ins = NULL, *sel = NULL;
    char hex[65];
    ident d = {0};
    ident_add(&d, h->hostname);
    ident_add(&d, h->cpu_model);
    ident_add(&d, h->cpu_flags);
    ident_add_int(&d, h->cores);
    ident_add_int(&d, h->ram_bytes);
    ident_add(&d, h->os);
    ident_add(&d, h->kernel);
    int rc = ident_finish(hex, &d, e);
    if (rc)
        return rc;
    rc = prepare(s, &ins,
                 "INSERT INTO hosts(ident, hostname, cpu_model, cpu_flags, cores, ram_bytes,"
                 " os, kernel) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                 " ON CONFLICT(ident) DO NOTHING",
                 e);
    if (rc)
        goto done;
    rc = prepare(s, &sel, "SELECT id FROM hosts WHERE ident = ?1", e);
    if (rc)
        goto done;
    bind_text(ins, 1, hex);
    bind_text(ins, 2, h->hostname);
    bind_text(ins, 3, h->cpu_model);
    bind_text(ins, 4, h->cpu_flags);
    sqlite3_bind_int(ins, 5, h->cores);
    sqlite3_bind_int64(ins, 6, h->ram_bytes);
    bind_text(ins, 7, h->os);
    bind_text(ins, 8, h->kernel);
    bind_text(sel, 1, hex);
    rc = put_and_get_id(s, id, ins, sel, e);
done:
    sqlite3_finalize(ins);
    sqlite3_finalize(sel);
    return rc;
}

int store_dataset_put(store *s, int64_t *id, const store_dataset *dset, err_info *e)
{
    assert(s && id && dset && dset->name && dset->sha256);
    sqlite3_stmt *ins = NULL, *sel = NULL;
    char hex[65];
    ident d = {0};
    ident_add(&d, dset->name);
    ident_add(&d, dset->file);
    ident_add(&d, dset->sha256);
    ident_add_int(&d, dset->n_images);
    int rc = ident_finish(hex, &d, e);
    if (rc)
        return rc;
    rc = prepare(s, &ins,
                 "INSERT INTO datasets(ident, name, file, sha256, n_images)"
                 " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(ident) DO NOTHING",
                 e);
    if (rc)
        goto done;
    rc = prepare(s, &sel, "SELECT id FROM datasets WHERE ident = ?1", e);
    if (rc)
        goto done;
    bind_text(ins, 1, hex);
    bind_text(ins, 2, dset->name);
    bind_text(ins, 3, dset->file);
    bind_text(ins, 4, dset->sha256);
    sqlite3_bind_int64(ins, 5, dset->n_images);
    bind_text(sel, 1, hex);
    rc = put_and_get_id(s, id, ins, sel, e);
done:
    sqlite3_finalize(ins);
    sqlite3_finalize(sel);
    return rc;
}

/* ---- runs ----------------------------------------------------------------------------------- */

int store_run_status(store *s, int *status, const char *run_key, err_info *e)
{
    assert(s && status && run_key);
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st, "SELECT status FROM runs WHERE run_key = ?1", e);
    if (rc)
        return rc;
    bind_text(st, 1, run_key);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *status = col_status(st, 0);
    else if (step == SQLITE_DONE)
        *status = STORE_ABSENT;
    else
        rc = db_fail(s, e);
    sqlite3_finalize(st);
    return rc;
}

/* Bind r's descriptive fields to ?1..?17 in the order of the INSERT/UPDATE below. */
static void bind_run(sqlite3_stmt *st, const store_run *r)
{
    bind_text(st, 1, r->run_key);
    bind_id(st, 2, r->experiment_id);
    bind_id(st, 3, r->build_id);
    bind_id(st, 4, r->host_id);
    bind_id(st, 5, r->dataset_id);
    bind_text(st, 6, r->config_json);
    bind_text(st, 7, r->model);
    bind_text(st, 8, r->optimizer);
    bind_real(st, 9, r->lr);
    sqlite3_bind_int(st, 10, r->bn);
    sqlite3_bind_int64(st, 11, r->seed);
    sqlite3_bind_int(st, 12, r->batch);
    sqlite3_bind_int(st, 13, r->epochs);
    bind_text(st, 14, r->sampling);
    sqlite3_bind_int(st, 15, r->threads);
    sqlite3_bind_int64(st, 16, r->eval_n);
    bind_text(st, 17, r->kernels);
}

int store_run_link(store *s, int64_t experiment_id, const char *run_key, int position,
                   const char *swept_values, const char *selection, err_info *e)
{
    assert(s && experiment_id > 0 && run_key);
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st,
                     "INSERT INTO experiment_runs(experiment_id, run_key, position, swept_values,"
                     " selection) VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(experiment_id, run_key)"
                     " DO UPDATE SET position = excluded.position,"
                     " swept_values = coalesce(excluded.swept_values, swept_values),"
                     " selection = coalesce(excluded.selection, selection)",
                     e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, experiment_id);
    bind_text(st, 2, run_key);
    sqlite3_bind_int(st, 3, position);
    bind_text(st, 4, swept_values);
    bind_text(st, 5, selection);
    rc = step_done(s, st, e);
    sqlite3_finalize(st);
    return rc;
}

int store_run_queue(store *s, int *prev_status, const store_run *r, bool force, err_info *e)
{
    assert(s && r && r->run_key && r->config_json);
    sqlite3_stmt *st = NULL;
    int prev = STORE_ABSENT;
    tx t;
    int rc = tx_enter(s, &t, e);
    if (rc)
        return rc;
    rc = store_run_status(s, &prev, r->run_key, e);
    if (rc)
        goto done;
    if (prev == STORE_ABSENT) {
        rc = prepare(s, &st,
                     "INSERT INTO runs(run_key, experiment_id, build_id, host_id, dataset_id,"
                     " config_json, model, optimizer, lr, bn, seed, batch, epochs, sampling,"
                     " threads, eval_n, kernels, status, queued_at) VALUES(?1, ?2, ?3, ?4, ?5,"
                     " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, 'QUEUED', " NOW_SQL
                     ")",
                     e);
        if (rc)
            goto done;
        bind_run(st, r);
        rc = step_done(s, st, e);
    } else if (prev == RUN_RUNNING) {
        /* Another process claimed the run after the caller last read its status (two bench
         * runs planning the same runs together): it is that process's to finish. Resetting it
         * here would let this caller claim and train it a second time, over the other's rows.
         * Only the link below is added; the caller's claim then fails and it moves on. */
    } else if (prev != RUN_COMPLETED || force) {
        /* A rerun starts clean: its old epochs (and, by cascade, their class and confusion
         * rows) go, and every result column is cleared. */
        rc = prepare(s, &st, "DELETE FROM epochs WHERE run_key = ?1", e);
        if (rc)
            goto done;
        bind_text(st, 1, r->run_key);
        rc = step_done(s, st, e);
        if (rc)
            goto done;
        sqlite3_finalize(st);
        rc = prepare(s, &st,
                     "UPDATE runs SET experiment_id = COALESCE(?2, experiment_id),"
                     " build_id = ?3, host_id = ?4, dataset_id = ?5, config_json = ?6,"
                     " model = ?7, optimizer = ?8, lr = ?9, bn = ?10, seed = ?11, batch = ?12,"
                     " epochs = ?13, sampling = ?14, threads = ?15, eval_n = ?16, kernels = ?17,"
                     " status = 'QUEUED', queued_at = " NOW_SQL ", started_at = NULL,"
                     " heartbeat_at = NULL, finished_at = NULL, wall_s = NULL, cpu_s = NULL,"
                     " peak_rss_bytes = NULL, params_sha256 = NULL, error = NULL,"
                     " diverged_epoch = NULL, train_s = NULL, train_cpu_s = NULL,"
                     " quiet_train_s = NULL, contended_epochs = NULL WHERE run_key = ?1",
                     e);
        if (rc)
            goto done;
        bind_run(st, r);
        rc = step_done(s, st, e);
    }
    if (rc || !r->experiment_id)
        goto done;
    rc = store_run_link(s, r->experiment_id, r->run_key, r->position, r->swept_values,
                        r->selection, e);
done:
    sqlite3_finalize(st);
    rc = tx_leave(s, &t, rc, e);
    if (rc == 0 && prev_status)
        *prev_status = prev;
    return rc;
}

/* The owner's parameters have fixed numbers above those of any statement's own (?1..?17),
 * so that they may appear anywhere in its text (a named parameter before ?1 would take
 * number 1). bind_self fills those a statement has. */
#define OWNER_HOST "?20"
#define OWNER_PID "?21"
#define OWNER_PROC "?22"
#define OWNER_TASK "?23"
#define OWNER_ATTEMPT "?24"

/* The condition "run is RUNNING and owned by this store's owner". */
#define OWNED_BY_SELF                                                                        \
    "status = 'RUNNING' AND owner_host IS " OWNER_HOST " AND owner_pid IS " OWNER_PID       \
    " AND owner_proc IS " OWNER_PROC

/* Bind the owner parameters the statement has to this store's owner; "" binds as NULL. */
static void bind_self(const store *s, sqlite3_stmt *st)
{
    int n = sqlite3_bind_parameter_count(st);
    const char *texts[] = {s->self.host, NULL, s->self.proc, s->self.task};
    for (int i = 0; i < 4; i++)
        if (20 + i <= n && texts[i])
            bind_text(st, 20 + i, texts[i][0] ? texts[i] : NULL);
    if (21 <= n)
        sqlite3_bind_int64(st, 21, s->self.pid);
    if (24 <= n)
        sqlite3_bind_int(st, 24, s->self.attempt);
}

/* A write meant for a run of this owner changed nothing: ERR_INVALID when the run does not
 * exist, else ERR_CONFLICT naming who has it now. */
static int not_owned(store *s, const char *run_key, err_info *e)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st, "SELECT status, owner_host, owner_pid FROM runs WHERE run_key = ?1",
                     e);
    if (rc)
        return rc;
    bind_text(st, 1, run_key);
    int step = sqlite3_step(st);
    if (step == SQLITE_DONE)
        rc = err_set(e, ERR_INVALID, "database '%s': no run '%s'", s->path, run_key);
    else if (step != SQLITE_ROW)
        rc = db_fail(s, e);
    else if (col_status(st, 0) == RUN_RUNNING)
        rc = err_set(e, ERR_CONFLICT, "database '%s': run '%s' was taken over by process %lld on "
                     "'%s'; this process's result of it is not recorded", s->path, run_key,
                     (long long)sqlite3_column_int64(st, 2),
                     col_text(st, 1) ? col_text(st, 1) : "?");
    else
        rc = err_set(e, ERR_CONFLICT, "database '%s': run '%s' is %s, no longer this process's "
                     "to write", s->path, run_key, run_status_name(col_status(st, 0)));
    sqlite3_finalize(st);
    return rc;
}

/* Run an UPDATE of one run (?1 = run_key) that must be RUNNING under this owner (its WHERE
 * ends in OWNED_BY_SELF). */
static int update_owned(store *s, const char *sql, const char *run_key, err_info *e)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st, sql, e);
    if (rc)
        return rc;
    bind_text(st, 1, run_key);
    bind_self(s, st);
    rc = step_done(s, st, e);
    int changed = sqlite3_changes(s->db);
    sqlite3_finalize(st);
    if (rc == 0 && changed == 0)
        rc = not_owned(s, run_key, e);
    return rc;
}

int store_run_start(store *s, const char *run_key, bool *claimed, err_info *e)
{
    assert(s && run_key && claimed);
    *claimed = false;
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st,
                     "UPDATE runs SET status = 'RUNNING', started_at = " NOW_SQL
                     ", heartbeat_at = " NOW_SQL ", finished_at = NULL, error = NULL,"
                     " owner_host = " OWNER_HOST ", owner_pid = " OWNER_PID ", owner_proc = "
                     OWNER_PROC ", owner_task = " OWNER_TASK ", owner_attempt = " OWNER_ATTEMPT
                     " WHERE run_key = ?1 AND status = 'QUEUED'",
                     e);
    if (rc)
        return rc;
    bind_text(st, 1, run_key);
    bind_self(s, st);
    rc = step_done(s, st, e);
    sqlite3_finalize(st);
    if (rc)
        return rc;
    if (sqlite3_changes(s->db) == 1) {
        *claimed = true;
        return 0;
    }
    int status = STORE_ABSENT;
    if ((rc = store_run_status(s, &status, run_key, e)))
        return rc;
    if (status == STORE_ABSENT)
        return err_set(e, ERR_INVALID, "database '%s': no run '%s'", s->path, run_key);
    return 0;
}

/* Why a RUNNING run with this owner may be taken over now, or NULL when it may not: its
 * process is gone from this host, or it was an earlier attempt of this very Slurm task (a
 * requeued task restarts, possibly on another node, while its run still names the attempt
 * that was killed). Written into buf. */
static const char *orphan_reason(char *buf, size_t n, const store *s, sqlite3_stmt *row)
{
    const char *host = col_text(row, 1), *proc = col_text(row, 3), *task = col_text(row, 4);
    int64_t pid = sqlite3_column_int64(row, 2);
    int attempt = sqlite3_column_int(row, 5);
    if (task && s->self.task[0] && strcmp(task, s->self.task) == 0 &&
        attempt != s->self.attempt) {
        snprintf(buf, n, "its Slurm task %s was requeued (attempt %d, now %d)", task, attempt,
                 s->self.attempt);
        return buf;
    }
    if (owner_alive(s, host, pid, proc) == 0) {
        snprintf(buf, n, "its process %lld on %s is gone", (long long)pid, host);
        return buf;
    }
    return NULL;
}

/* Mark the RUNNING runs that `sel` (columns run_key, owner_host, owner_pid, owner_proc,
 * owner_task, owner_attempt) returns INTERRUPTED where judge says why; *marked += how many. */
static int retire_runs(store *s, sqlite3_stmt *sel,
                       const char *(*judge)(char *, size_t, const store *, sqlite3_stmt *),
                       int *marked, err_info *e)
{
    sqlite3_stmt *upd = NULL;
    int rc = prepare(s, &upd,
                     "UPDATE runs SET status = 'INTERRUPTED', finished_at = " NOW_SQL ","
                     " error = ?2 WHERE run_key = ?1 AND status = 'RUNNING'",
                     e);
    if (rc)
        return rc;
    int step;
    while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
        char why[ERR_MSG_MAX];
        if (!judge(why, sizeof why, s, sel))
            continue;
        sqlite3_reset(upd);
        bind_text(upd, 1, col_text(sel, 0));
        bind_text(upd, 2, why);
        if ((rc = step_done(s, upd, e)) != 0)
            break;
        *marked += sqlite3_changes(s->db);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = db_fail(s, e);
    sqlite3_finalize(upd);
    return rc;
}

#define OWNER_COLUMNS "run_key, owner_host, owner_pid, owner_proc, owner_task, owner_attempt"

int store_reclaim_orphans(store *s, int *n_marked, err_info *e)
{
    assert(s);
    sqlite3_stmt *sel = NULL;
    int marked = 0;
    tx t;
    int rc = tx_enter(s, &t, e);
    if (rc)
        return rc;
    rc = prepare(s, &sel,
                 "SELECT " OWNER_COLUMNS " FROM runs WHERE status = 'RUNNING' AND"
                 " (owner_host IS " OWNER_HOST " OR (" OWNER_TASK " IS NOT NULL AND owner_task IS "
                 OWNER_TASK "))",
                 e);
    if (rc == 0) {
        bind_self(s, sel);
        rc = retire_runs(s, sel, orphan_reason, &marked, e);
    }
    sqlite3_finalize(sel);
    rc = tx_leave(s, &t, rc, e);
    if (rc == 0 && n_marked)
        *n_marked = marked;
    return rc;
}

int store_run_heartbeat(store *s, const char *run_key, err_info *e)
{
    assert(s && run_key);
    return update_owned(s, "UPDATE runs SET heartbeat_at = " NOW_SQL " WHERE run_key = ?1 AND "
                        OWNED_BY_SELF, run_key, e);
}

int store_epoch_put(store *s, const store_epoch *ep, err_info *e)
{
    assert(s && ep && ep->run_key && ep->k >= 0);
    assert(ep->k == 0 || (ep->precision && ep->recall && ep->f1 && ep->support && ep->confusion));
    sqlite3_stmt *st = NULL;
    tx t;
    int rc = tx_enter(s, &t, e);
    if (rc)
        return rc;
    /* Only the run's owner writes its epochs (the heartbeat below checks it, and undoes all
     * of this when the run is not ours). Replace an earlier record of this epoch; the cascade
     * removes its class rows. */
    rc = prepare(s, &st, "DELETE FROM epochs WHERE run_key = ?1 AND epoch = ?2", e);
    if (rc)
        goto done;
    bind_text(st, 1, ep->run_key);
    sqlite3_bind_int(st, 2, ep->epoch);
    rc = step_done(s, st, e);
    if (rc)
        goto done;
    sqlite3_finalize(st);
    rc = prepare(s, &st,
                 "INSERT INTO epochs(run_key, epoch, train_loss, train_acc, test_loss, test_acc,"
                 " precision_macro, recall_macro, f1_macro, auroc_macro, f1_weighted, wall_s,"
                 " cpu_s, images_per_s, wait_s, nivcsw) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                 " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                 e);
    if (rc)
        goto done;
    bind_text(st, 1, ep->run_key);
    sqlite3_bind_int(st, 2, ep->epoch);
    const double vals[] = {ep->train_loss,      ep->train_acc,    ep->test_loss,
                           ep->test_acc,        ep->precision_macro, ep->recall_macro,
                           ep->f1_macro,        ep->auroc_macro,  ep->f1_weighted,
                           ep->wall_s,          ep->cpu_s,        ep->images_per_s,
                           ep->wait_s};
    for (int i = 0; i < (int)(sizeof vals / sizeof vals[0]); i++)
        bind_real(st, 3 + i, vals[i]);
    bind_count(st, 16, ep->nivcsw);
    rc = step_done(s, st, e);
    if (rc)
        goto done;
    sqlite3_finalize(st);
    rc = prepare(s, &st,
                 "INSERT INTO class_metrics(run_key, epoch, class, precision, recall, f1,"
                 " support) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                 e);
    if (rc)
        goto done;
    for (int c = 0; c < ep->k && rc == 0; c++) {
        sqlite3_reset(st);
        bind_text(st, 1, ep->run_key);
        sqlite3_bind_int(st, 2, ep->epoch);
        sqlite3_bind_int(st, 3, c);
        bind_real(st, 4, ep->precision[c]);
        bind_real(st, 5, ep->recall[c]);
        bind_real(st, 6, ep->f1[c]);
        sqlite3_bind_int64(st, 7, ep->support[c]);
        rc = step_done(s, st, e);
    }
    if (rc)
        goto done;
    sqlite3_finalize(st);
    /* Every cell, zeros included: a report can then read the matrix without filling gaps. */
    rc = prepare(s, &st,
                 "INSERT INTO confusion(run_key, epoch, true_class, pred_class, count)"
                 " VALUES(?1, ?2, ?3, ?4, ?5)",
                 e);
    if (rc)
        goto done;
    for (int i = 0; i < ep->k && rc == 0; i++)
        for (int j = 0; j < ep->k && rc == 0; j++) {
            sqlite3_reset(st);
            bind_text(st, 1, ep->run_key);
            sqlite3_bind_int(st, 2, ep->epoch);
            sqlite3_bind_int(st, 3, i);
            sqlite3_bind_int(st, 4, j);
            sqlite3_bind_int64(st, 5, ep->confusion[(size_t)i * (size_t)ep->k + (size_t)j]);
            rc = step_done(s, st, e);
        }
    if (rc)
        goto done;
    sqlite3_finalize(st);
    st = NULL;
    /* the run's sums over its epochs, for reports and the gate time (timing.h) */
    rc = update_owned(s,
                      "UPDATE runs SET heartbeat_at = " NOW_SQL ", (train_s, train_cpu_s,"
                      " quiet_train_s, contended_epochs) = (SELECT sum(wall_s), sum(cpu_s),"
                      " total(CASE WHEN bench_contended(wait_s, cpu_s) THEN 0 ELSE wall_s END),"
                      " sum(bench_contended(wait_s, cpu_s)) FROM epochs WHERE run_key = ?1)"
                      " WHERE run_key = ?1 AND " OWNED_BY_SELF,
                      ep->run_key, e);
done:
    sqlite3_finalize(st);
    return tx_leave(s, &t, rc, e);
}

int store_run_finish(store *s, const char *run_key, const store_run_end *end, err_info *e)
{
    assert(s && run_key && end);
    if (end->status != RUN_COMPLETED && end->status != RUN_FAILED &&
        end->status != RUN_DIVERGED && end->status != RUN_INTERRUPTED)
        return err_set(e, ERR_INVALID, "run '%s' cannot finish as %s", run_key,
                       run_status_name(end->status));
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st,
                     "UPDATE runs SET status = ?2, finished_at = " NOW_SQL ", wall_s = ?3,"
                     " cpu_s = ?4, peak_rss_bytes = ?5, params_sha256 = ?6, error = ?7,"
                     " diverged_epoch = ?8 WHERE run_key = ?1 AND " OWNED_BY_SELF,
                     e);
    if (rc)
        return rc;
    bind_text(st, 1, run_key);
    bind_text(st, 2, run_status_names[end->status]);
    bind_real(st, 3, end->wall_s);
    bind_real(st, 4, end->cpu_s);
    bind_id(st, 5, end->peak_rss_bytes);
    bind_text(st, 6, end->params_sha256);
    bind_text(st, 7, end->error);
    bind_id(st, 8, end->diverged_epoch);
    bind_self(s, st);
    rc = step_done(s, st, e);
    int changed = sqlite3_changes(s->db);
    sqlite3_finalize(st);
    if (rc == 0 && changed == 0)
        rc = not_owned(s, run_key, e);
    return rc;
}

/* A run silent for longer than the limit (the query's condition) may be taken over unless its
 * owner is alive on this host: a process stopped with Ctrl-Z, or starved, writes no heartbeat
 * yet will go on and write its result. */
static const char *stale_reason(char *buf, size_t n, const store *s, sqlite3_stmt *row)
{
    if (owner_alive(s, col_text(row, 1), sqlite3_column_int64(row, 2), col_text(row, 3)) == 1)
        return NULL;
    const char *beat = col_text(row, 6);
    snprintf(buf, n, "no heartbeat since %s", beat ? beat : "start");
    return buf;
}

int store_mark_stale(store *s, int *n_marked, double stale_after_s, err_info *e)
{
    assert(s);
    sqlite3_stmt *sel = NULL;
    int marked = 0;
    tx t;
    int rc = tx_enter(s, &t, e);
    if (rc)
        return rc;
    /* julianday() differences are in days; 86400 s per day. */
    rc = prepare(s, &sel,
                 "SELECT " OWNER_COLUMNS ", heartbeat_at FROM runs WHERE status = 'RUNNING' AND"
                 " (heartbeat_at IS NULL OR"
                 " (julianday('now') - julianday(heartbeat_at)) * 86400.0 > ?1)",
                 e);
    if (rc == 0) {
        sqlite3_bind_double(sel, 1, stale_after_s);
        rc = retire_runs(s, sel, stale_reason, &marked, e);
    }
    sqlite3_finalize(sel);
    rc = tx_leave(s, &t, rc, e);
    if (rc == 0 && n_marked)
        *n_marked = marked;
    return rc;
}

int store_interrupt_running(store *s, int *n_marked, const char *const *keys, int n,
                            err_info *e)
{
    assert(s && (keys || n == 0));
    sqlite3_stmt *st = NULL;
    int marked = 0;
    tx t;
    int rc = tx_enter(s, &t, e);
    if (rc)
        return rc;
    rc = prepare(s, &st,
                 "UPDATE runs SET status = 'INTERRUPTED', finished_at = " NOW_SQL ","
                 " error = COALESCE(error, 'interrupted')"
                 " WHERE run_key = ?1 AND (status = 'QUEUED' OR (" OWNED_BY_SELF "))",
                 e);
    for (int i = 0; i < n && rc == 0; i++) {
        sqlite3_reset(st);
        bind_text(st, 1, keys[i]);
        bind_self(s, st);
        rc = step_done(s, st, e);
        marked += rc == 0 ? sqlite3_changes(s->db) : 0;
    }
    sqlite3_finalize(st);
    rc = tx_leave(s, &t, rc, e);
    if (rc == 0 && n_marked)
        *n_marked = marked;
    return rc;
}

/* ---- speed measurements -------------------------------------------------------------------- */

int store_perf_put(store *s, int64_t *id, const store_perf *p, err_info *e)
{
    assert(s && p && p->data && p->kernel_set && p->threads > 0);
    assert(p->n_steps == 0 || p->steps);
    sqlite3_stmt *st = NULL;
    tx t;
    int rc = tx_enter(s, &t, e);
    if (rc)
        return rc;
    rc = prepare(s, &st,
                 "INSERT INTO perf_measurements(created_at, build_id, host_id, dataset_id, data,"
                 " threads, iterations, batch, kernel_set, unfused, kernels, peak_size,"
                 " peak_gflops, iter_ms, gflops, pct_peak, images_per_s, epoch_s, eval_s,"
                 " peak_rss_bytes, load_before, load_after, torch_epoch_s, cpu_s, wait_s,"
                 " nivcsw, peak_kind, peak_core_gflops, kernel_choice, reps, epoch_s_median,"
                 " epoch_s_max, torch_epoch_s_median, torch_epoch_s_max, torch_setting) VALUES("
                 NOW_SQL ", ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
                 " ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32,"
                 " ?33, ?34)",
                 e);
    if (rc)
        goto done;
    bind_id(st, 1, p->build_id);
    bind_id(st, 2, p->host_id);
    bind_id(st, 3, p->dataset_id);
    bind_text(st, 4, p->data);
    sqlite3_bind_int(st, 5, p->threads);
    sqlite3_bind_int(st, 6, p->iterations);
    sqlite3_bind_int(st, 7, p->batch);
    bind_text(st, 8, p->kernel_set);
    sqlite3_bind_int(st, 9, p->unfused);
    bind_text(st, 10, p->kernels);
    bind_id(st, 11, p->peak_size);
    const double vals[] = {p->peak_gflops,  p->iter_ms, p->gflops, p->pct_peak,
                           p->images_per_s, p->epoch_s, p->eval_s};
    for (int i = 0; i < (int)(sizeof vals / sizeof vals[0]); i++)
        bind_real(st, 12 + i, vals[i]);
    bind_id(st, 19, p->peak_rss_bytes);
    bind_real(st, 20, p->load_before);
    bind_real(st, 21, p->load_after);
    bind_real(st, 22, p->torch_epoch_s);
    bind_real(st, 23, p->cpu_s);
    bind_real(st, 24, p->wait_s);
    bind_count(st, 25, p->nivcsw);
    bind_text(st, 26, p->peak_kind);
    bind_real(st, 27, p->peak_core_gflops);
    bind_text(st, 28, p->kernel_choice);
    bind_id(st, 29, p->reps);
    bind_real(st, 30, p->epoch_s_median);
    bind_real(st, 31, p->epoch_s_max);
    bind_real(st, 32, p->torch_epoch_s_median);
    bind_real(st, 33, p->torch_epoch_s_max);
    bind_text(st, 34, p->torch_setting);
    if ((rc = step_done(s, st, e)) != 0)
        goto done;
    const int64_t mid = sqlite3_last_insert_rowid(s->db);
    sqlite3_finalize(st);
    rc = prepare(s, &st,
                 "INSERT INTO perf_steps(measurement_id, step, layers, fwd_ms, bwd_ms, fwd_gflops,"
                 " bwd_gflops, fwd_pct_peak, bwd_pct_peak) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                 " ?9)",
                 e);
    for (int i = 0; i < p->n_steps && rc == 0; i++) {
        const store_perf_step *q = &p->steps[i];
        assert(q->layers);
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, mid);
        sqlite3_bind_int(st, 2, q->step);
        bind_text(st, 3, q->layers);
        const double sv[] = {q->fwd_ms,       q->bwd_ms,       q->fwd_gflops,
                             q->bwd_gflops,   q->fwd_pct_peak, q->bwd_pct_peak};
        for (int k = 0; k < (int)(sizeof sv / sizeof sv[0]); k++)
            bind_real(st, 4 + k, sv[k]);
        rc = step_done(s, st, e);
    }
    if (rc == 0 && p->n_sgemm > 0) {
        assert(p->sgemm);
        sqlite3_finalize(st);
        rc = prepare(s, &st,
                     "INSERT INTO perf_sgemm(measurement_id, library, shape, m, n, k, trans_a, trans_b, ms,"
                     " gflops) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                     e);
    }
    for (int i = 0; i < p->n_sgemm && rc == 0; i++) {
        const store_perf_sgemm *g = &p->sgemm[i];
        assert(g->library && g->shape);
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, mid);
        bind_text(st, 2, g->library);
        bind_text(st, 3, g->shape);
        const int iv[] = {g->m, g->n, g->k, g->trans_a, g->trans_b};
        for (int k = 0; k < 5; k++)
            sqlite3_bind_int(st, 4 + k, iv[k]);
        bind_real(st, 9, g->ms);
        bind_real(st, 10, g->gflops);
        rc = step_done(s, st, e);
    }
    if (rc == 0 && id)
        *id = mid;
done:
    sqlite3_finalize(st);
    return tx_leave(s, &t, rc, e);
}

/* Step st to its end, handing each row to one(st, arg); stops at one's non-zero return. */
static int visit_rows(store *s, sqlite3_stmt *st, int (*one)(sqlite3_stmt *st, void *arg),
                      void *arg, err_info *e)
{
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int rc = one(st, arg);
        if (rc)
            return rc;
    }
    return step == SQLITE_DONE ? 0 : db_fail(s, e);
}

/* The caller's callback and context, for the row readers of visit_rows. */
typedef struct perf_visit {
    store_perf_fn fn;
    void *ctx;
} perf_visit;

static int perf_row(sqlite3_stmt *st, void *arg)
{
    const perf_visit *v = arg;
    store_perf_row r = {
        .id = sqlite3_column_int64(st, 0),
        .created_at = col_text(st, 1),
        .git_sha = col_text(st, 2),
        .git_dirty = sqlite3_column_int(st, 3),
        .dataset_sha256 = col_text(st, 4),
        .m = {
            .build_id = sqlite3_column_int64(st, 5),
            .host_id = sqlite3_column_int64(st, 6),
            .dataset_id = sqlite3_column_int64(st, 7),
            .data = col_text(st, 8),
            .threads = sqlite3_column_int(st, 9),
            .iterations = sqlite3_column_int(st, 10),
            .batch = sqlite3_column_int(st, 11),
            .kernel_set = col_text(st, 12),
            .unfused = sqlite3_column_int(st, 13),
            .kernels = col_text(st, 14),
            .peak_size = sqlite3_column_int(st, 15),
            .peak_gflops = col_real(st, 16),
            .iter_ms = col_real(st, 17),
            .gflops = col_real(st, 18),
            .pct_peak = col_real(st, 19),
            .images_per_s = col_real(st, 20),
            .epoch_s = col_real(st, 21),
            .eval_s = col_real(st, 22),
            .peak_rss_bytes = sqlite3_column_int64(st, 23),
            .load_before = col_real(st, 24),
            .load_after = col_real(st, 25),
            .torch_epoch_s = col_real(st, 26),
            .n_steps = sqlite3_column_int(st, 27),
            .cpu_s = col_real(st, 28),
            .wait_s = col_real(st, 29),
            .nivcsw = col_count(st, 30),
            .peak_kind = col_text(st, 31),
            .peak_core_gflops = col_real(st, 32),
            .kernel_choice = col_text(st, 33),
            .reps = sqlite3_column_int(st, 34),
            .epoch_s_median = col_real(st, 35),
            .epoch_s_max = col_real(st, 36),
            .torch_epoch_s_median = col_real(st, 37),
            .torch_epoch_s_max = col_real(st, 38),
            .torch_setting = col_text(st, 39),
            .n_sgemm = sqlite3_column_int(st, 40),
        },
    };
    return v->fn(v->ctx, &r);
}

int store_perfs(store *s, store_perf_fn fn, void *ctx, err_info *e)
{
    assert(s && fn);
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st,
                     "SELECT p.id, p.created_at, b.git_sha, b.git_dirty, d.sha256, p.build_id,"
                     " p.host_id, p.dataset_id, p.data, p.threads, p.iterations, p.batch,"
                     " p.kernel_set, p.unfused, p.kernels, p.peak_size, p.peak_gflops, p.iter_ms,"
                     " p.gflops, p.pct_peak, p.images_per_s, p.epoch_s, p.eval_s,"
                     " p.peak_rss_bytes, p.load_before, p.load_after, p.torch_epoch_s,"
                     " (SELECT count(*) FROM perf_steps q WHERE q.measurement_id = p.id),"
                     " p.cpu_s, p.wait_s, p.nivcsw,"
                     " p.peak_kind, p.peak_core_gflops, p.kernel_choice, p.reps, p.epoch_s_median,"
                     " p.epoch_s_max, p.torch_epoch_s_median, p.torch_epoch_s_max, p.torch_setting,"
                     " (SELECT count(*) FROM perf_sgemm g WHERE g.measurement_id = p.id)"
                     " FROM perf_measurements p LEFT JOIN builds b ON b.id = p.build_id"
                     " LEFT JOIN datasets d ON d.id = p.dataset_id"
                     " ORDER BY p.created_at, p.id",
                     e);
    if (rc)
        return rc;
    rc = visit_rows(s, st, perf_row, &(perf_visit){fn, ctx}, e);
    sqlite3_finalize(st);
    return rc;
}

typedef struct perf_step_visit {
    store_perf_step_fn fn;
    void *ctx;
} perf_step_visit;

static int perf_step_row(sqlite3_stmt *st, void *arg)
{
    const perf_step_visit *v = arg;
    store_perf_step q = {
        .step = sqlite3_column_int(st, 0),
        .layers = col_text(st, 1),
        .fwd_ms = col_real(st, 2),
        .bwd_ms = col_real(st, 3),
        .fwd_gflops = col_real(st, 4),
        .bwd_gflops = col_real(st, 5),
        .fwd_pct_peak = col_real(st, 6),
        .bwd_pct_peak = col_real(st, 7),
    };
    return v->fn(v->ctx, &q);
}

int store_perf_steps(store *s, int64_t id, store_perf_step_fn fn, void *ctx, err_info *e)
{
    assert(s && fn);
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st,
                     "SELECT step, layers, fwd_ms, bwd_ms, fwd_gflops, bwd_gflops, fwd_pct_peak,"
                     " bwd_pct_peak FROM perf_steps WHERE measurement_id = ?1 ORDER BY step",
                     e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = visit_rows(s, st, perf_step_row, &(perf_step_visit){fn, ctx}, e);
    sqlite3_finalize(st);
    return rc;
}

typedef struct perf_sgemm_visit {
    store_perf_sgemm_fn fn;
    void *ctx;
} perf_sgemm_visit;

static int perf_sgemm_row(sqlite3_stmt *st, void *arg)
{
    const perf_sgemm_visit *v = arg;
    store_perf_sgemm g = {
        .library = col_text(st, 0),
        .shape = col_text(st, 1),
        .m = sqlite3_column_int(st, 2),
        .n = sqlite3_column_int(st, 3),
        .k = sqlite3_column_int(st, 4),
        .trans_a = sqlite3_column_int(st, 5),
        .trans_b = sqlite3_column_int(st, 6),
        .ms = col_real(st, 7),
        .gflops = col_real(st, 8),
    };
    return v->fn(v->ctx, &g);
}

int store_perf_sgemms(store *s, int64_t id, store_perf_sgemm_fn fn, void *ctx, err_info *e)
{
    assert(s && fn);
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st,
                     "SELECT library, shape, m, n, k, trans_a, trans_b, ms, gflops FROM perf_sgemm"
                     " WHERE measurement_id = ?1 ORDER BY rowid",
                     e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = visit_rows(s, st, perf_sgemm_row, &(perf_sgemm_visit){fn, ctx}, e);
    sqlite3_finalize(st);
    return rc;
}

/* ---- queries ---------------------------------------------------------------------------- */

/* Columns of a run row, read by run_row_from(); the FROM clause binds r, x (experiment). */
/* A run's tags as the JSON object {"key": "value", ...}, NULL without tags. */
#define TAGS_SQL(r)                                                                            \
    "(SELECT json_group_object(g.key, g.value) FROM run_tags g"                                \
    " WHERE g.run_key = " r ".run_key HAVING count(*) > 0)"

#define RUN_COLUMNS                                                                            \
    "SELECT r.run_key, x.id, x.name, r.config_json, r.model, r.optimizer, r.sampling,"        \
    " r.kernels, r.lr, r.bn, r.batch, r.epochs, r.threads, r.eval_n, r.seed, r.status,"       \
    " r.queued_at, r.started_at, r.heartbeat_at, r.finished_at, r.wall_s, r.cpu_s,"           \
    " r.peak_rss_bytes, r.params_sha256, r.error, r.diverged_epoch,"                          \
    " (SELECT count(*) FROM epochs ep WHERE ep.run_key = r.run_key),"                         \
    " (SELECT ep.test_acc FROM epochs ep WHERE ep.run_key = r.run_key"                        \
    "  ORDER BY ep.epoch DESC LIMIT 1),"                                                      \
    " r.build_id, r.host_id, r.dataset_id,"                                                   \
    " (SELECT b.git_sha FROM builds b WHERE b.id = r.build_id),"                              \
    " (SELECT b.git_dirty FROM builds b WHERE b.id = r.build_id), r.contended_epochs,"        \
    " r.archived_at, r.note, x.description,"                                                  \
    " (SELECT m.swept_values FROM experiment_runs m WHERE m.run_key = r.run_key"               \
    "  AND m.experiment_id = x.id), x.swept, " TAGS_SQL("r") ","                             \
    " coalesce((SELECT m.selection FROM experiment_runs m WHERE m.run_key = r.run_key"         \
    "  AND m.experiment_id = x.id), (SELECT m.selection FROM experiment_runs m"                \
    "  WHERE m.run_key = r.run_key AND m.selection IS NOT NULL"                               \
    "  ORDER BY m.experiment_id DESC LIMIT 1))"

static void run_row_from(store_run_row *w, sqlite3_stmt *st)
{
    *w = (store_run_row){
        .run_key = col_text(st, 0),
        .experiment_id = sqlite3_column_int64(st, 1),
        .experiment_name = col_text(st, 2),
        .config_json = col_text(st, 3),
        .model = col_text(st, 4),
        .optimizer = col_text(st, 5),
        .sampling = col_text(st, 6),
        .kernels = col_text(st, 7),
        .lr = col_real(st, 8),
        .bn = sqlite3_column_int(st, 9),
        .batch = sqlite3_column_int(st, 10),
        .epochs = sqlite3_column_int(st, 11),
        .threads = sqlite3_column_int(st, 12),
        .eval_n = sqlite3_column_int64(st, 13),
        .seed = sqlite3_column_int64(st, 14),
        .status = col_status(st, 15),
        .queued_at = col_text(st, 16),
        .started_at = col_text(st, 17),
        .heartbeat_at = col_text(st, 18),
        .finished_at = col_text(st, 19),
        .wall_s = col_real(st, 20),
        .cpu_s = col_real(st, 21),
        .peak_rss_bytes = sqlite3_column_int64(st, 22),
        .params_sha256 = col_text(st, 23),
        .error = col_text(st, 24),
        .diverged_epoch = sqlite3_column_int(st, 25),
        .epochs_done = sqlite3_column_int(st, 26),
        .last_test_acc = col_real(st, 27),
        .build_id = sqlite3_column_int64(st, 28),
        .host_id = sqlite3_column_int64(st, 29),
        .dataset_id = sqlite3_column_int64(st, 30),
        .git_sha = col_text(st, 31),
        .git_dirty = sqlite3_column_int(st, 32),
        .contended_epochs = sqlite3_column_int(st, 33),
        .archived_at = col_text(st, 34),
        .note = col_text(st, 35),
        .experiment_description = col_text(st, 36),
        .swept_values = col_text(st, 37),
        .swept = col_text(st, 38),
        .tags = col_text(st, 39),
        .selection = col_text(st, 40),
    };
}

/* Step st to the end, handing each row to fn; stops early on fn's non-zero return. */
static int visit_runs(store *s, sqlite3_stmt *st, store_run_fn fn, void *ctx, int *n_rows,
                      err_info *e)
{
    int step, n = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        store_run_row row;
        run_row_from(&row, st);
        n++;
        int rc = fn(ctx, &row);
        if (rc)
            return rc;
    }
    if (n_rows)
        *n_rows = n;
    return step == SQLITE_DONE ? 0 : db_fail(s, e);
}

int store_runs(store *s, const char *experiment, int status_filter, store_run_fn fn, void *ctx,
               err_info *e)
{
    assert(s && fn);
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st,
                     RUN_COLUMNS " FROM runs r"
                                 " LEFT JOIN experiment_runs l ON l.run_key = r.run_key"
                                 " LEFT JOIN experiments x ON x.id = l.experiment_id"
                                 " WHERE (?1 IS NULL OR x.name = ?1)"
                                 " AND (?2 IS NULL OR r.status = ?2)" FILTER_SQL("r")
                                 " ORDER BY x.id, r.queued_at, r.run_key",
                     e);
    if (rc)
        return rc;
    bind_text(st, 1, experiment);
    bind_text(st, 2,
              status_filter >= 0 && status_filter < RUN_STATUS_COUNT
                  ? run_status_names[status_filter]
                  : NULL);
    bind_filter(s, st);
    rc = visit_runs(s, st, fn, ctx, NULL, e);
    sqlite3_finalize(st);
    return rc;
}

int store_run_get(store *s, const char *run_key, store_run_fn fn, void *ctx, err_info *e)
{
    assert(s && run_key && fn);
    sqlite3_stmt *st = NULL;
    int n = 0;
    int rc = prepare(s, &st,
                     RUN_COLUMNS " FROM runs r LEFT JOIN experiments x ON x.id = r.experiment_id"
                                 " WHERE r.run_key = ?1",
                     e);
    if (rc)
        return rc;
    bind_text(st, 1, run_key);
    rc = visit_runs(s, st, fn, ctx, &n, e);
    if (rc == 0 && n == 0)
        rc = err_set(e, ERR_INVALID, "database '%s': no run '%s'", s->path, run_key);
    sqlite3_finalize(st);
    return rc;
}

int store_run_resolve(store *s, char run_key_out[STORE_KEY_MAX], const char *prefix,
                      err_info *e)
{
    assert(s && run_key_out && prefix);
    sqlite3_stmt *st = NULL;
    size_t plen = strlen(prefix);
    int n = 0, rc;
    run_key_out[0] = '\0';
    /* Exact key first; then a prefix, compared with substr() rather than LIKE so that '%'
     * and '_' in what the user typed are plain characters. */
    rc = prepare(s, &st,
                 "SELECT run_key FROM runs WHERE run_key = ?1 UNION ALL"
                 " SELECT run_key FROM (SELECT run_key FROM runs"
                 "  WHERE length(?1) >= 4 AND substr(run_key, 1, length(?1)) = ?1"
                 "  AND run_key <> ?1 ORDER BY run_key LIMIT 2)",
                 e);
    if (rc)
        return rc;
    bind_text(st, 1, prefix);
    int step;
    bool exact = false;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = col_text(st, 0);
        if (n == 0) {
            exact = strcmp(k, prefix) == 0;
            if (strlen(k) >= STORE_KEY_MAX) {
                rc = err_set(e, ERR_INVALID, "run key '%.32s...' is too long", k);
                goto done;
            }
            memcpy(run_key_out, k, strlen(k) + 1);
        }
        n++;
        if (exact)
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = db_fail(s, e);
        goto done;
    }
    if (n == 0)
        rc = plen < 4 && plen > 0
                 ? err_set(e, ERR_INVALID, "no run '%s' (give at least 4 characters of a key)",
                           prefix)
                 : err_set(e, ERR_INVALID, "database '%s': no run '%s'", s->path, prefix);
    else if (n > 1 && !exact)
        rc = err_set(e, ERR_INVALID, "run key prefix '%s' is ambiguous (give more characters)",
                     prefix);
done:
    if (rc)
        run_key_out[0] = '\0';
    sqlite3_finalize(st);
    return rc;
}

int store_run_provenance(store *s, const char *run_key, store_provenance_fn fn, void *ctx,
                         err_info *e)
{
    assert(s && run_key && fn);
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st,
                     "SELECT b.id, b.git_sha, b.git_branch, b.git_dirty, b.git_diff,"
                     " b.git_describe, b.compiler, b.compiler_version, b.cflags, b.build_type,"
                     " b.blas, b.binary_sha256,"
                     " h.id, h.hostname, h.cpu_model, h.cpu_flags, h.cores, h.ram_bytes, h.os,"
                     " h.kernel,"
                     " d.id, d.name, d.file, d.sha256, d.n_images,"
                     " x.name, x.file, x.spec_sha256, x.created_at"
                     " FROM runs r LEFT JOIN builds b ON b.id = r.build_id"
                     " LEFT JOIN hosts h ON h.id = r.host_id"
                     " LEFT JOIN datasets d ON d.id = r.dataset_id"
                     " LEFT JOIN experiments x ON x.id = r.experiment_id"
                     " WHERE r.run_key = ?1",
                     e);
    if (rc)
        return rc;
    bind_text(st, 1, run_key);
    int step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        rc = err_set(e, ERR_INVALID, "database '%s': no run '%s'", s->path, run_key);
        goto done;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(s, e);
        goto done;
    }
    store_build b = {
        .git_sha = col_text(st, 1),
        .git_branch = col_text(st, 2),
        .git_dirty = sqlite3_column_int(st, 3),
        .git_diff = col_text(st, 4),
        .git_describe = col_text(st, 5),
        .compiler = col_text(st, 6),
        .compiler_version = col_text(st, 7),
        .cflags = col_text(st, 8),
        .build_type = col_text(st, 9),
        .blas = col_text(st, 10),
        .binary_sha256 = col_text(st, 11),
    };
    store_host h = {
        .hostname = col_text(st, 13),
        .cpu_model = col_text(st, 14),
        .cpu_flags = col_text(st, 15),
        .cores = sqlite3_column_int(st, 16),
        .ram_bytes = sqlite3_column_int64(st, 17),
        .os = col_text(st, 18),
        .kernel = col_text(st, 19),
    };
    store_dataset d = {
        .name = col_text(st, 21),
        .file = col_text(st, 22),
        .sha256 = col_text(st, 23),
        .n_images = sqlite3_column_int64(st, 24),
    };
    store_provenance p = {
        .build = sqlite3_column_type(st, 0) == SQLITE_NULL ? NULL : &b,
        .host = sqlite3_column_type(st, 12) == SQLITE_NULL ? NULL : &h,
        .dataset = sqlite3_column_type(st, 20) == SQLITE_NULL ? NULL : &d,
        .experiment_name = col_text(st, 25),
        .experiment_file = col_text(st, 26),
        .experiment_sha256 = col_text(st, 27),
        .experiment_created_at = col_text(st, 28),
    };
    rc = fn(ctx, &p);
done:
    sqlite3_finalize(st);
    return rc;
}

/* Per-class arrays of one epoch, all in one allocation: precision, recall, f1 (k doubles
 * each), then support (k) and confusion (k*k) as int64. */
typedef struct epoch_classes {
    void *block;
    int k;
} epoch_classes;

static int load_classes(store *s, store_epoch *ep, epoch_classes *c, err_info *e)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st,
                     "SELECT coalesce(max(class) + 1, 0) FROM class_metrics"
                     " WHERE run_key = ?1 AND epoch = ?2",
                     e);
    if (rc)
        return rc;
    bind_text(st, 1, ep->run_key);
    sqlite3_bind_int(st, 2, ep->epoch);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = db_fail(s, e);
        goto done;
    }
    int k = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    c->k = k;
    ep->k = k;
    if (k == 0)
        goto done;
    size_t kk = (size_t)k;
    c->block = calloc(1, 3 * kk * sizeof(double) + (kk + kk * kk) * sizeof(int64_t));
    if (!c->block) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    double *prec = c->block, *rec = prec + kk, *f1 = rec + kk;
    int64_t *support = (int64_t *)(f1 + kk), *conf = support + kk;
    for (size_t i = 0; i < kk; i++)
        prec[i] = rec[i] = f1[i] = NAN;
    ep->precision = prec;
    ep->recall = rec;
    ep->f1 = f1;
    ep->support = support;
    ep->confusion = conf;
    rc = prepare(s, &st,
                 "SELECT class, precision, recall, f1, support FROM class_metrics"
                 " WHERE run_key = ?1 AND epoch = ?2",
                 e);
    if (rc)
        goto done;
    bind_text(st, 1, ep->run_key);
    sqlite3_bind_int(st, 2, ep->epoch);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int cl = sqlite3_column_int(st, 0);
        if (cl < 0 || cl >= k)
            continue;
        prec[cl] = col_real(st, 1);
        rec[cl] = col_real(st, 2);
        f1[cl] = col_real(st, 3);
        support[cl] = sqlite3_column_int64(st, 4);
    }
    if (step != SQLITE_DONE) {
        rc = db_fail(s, e);
        goto done;
    }
    sqlite3_finalize(st);
    rc = prepare(s, &st,
                 "SELECT true_class, pred_class, count FROM confusion"
                 " WHERE run_key = ?1 AND epoch = ?2",
                 e);
    if (rc)
        goto done;
    bind_text(st, 1, ep->run_key);
    sqlite3_bind_int(st, 2, ep->epoch);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int i = sqlite3_column_int(st, 0), j = sqlite3_column_int(st, 1);
        if (i >= 0 && i < k && j >= 0 && j < k)
            conf[(size_t)i * kk + (size_t)j] = sqlite3_column_int64(st, 2);
    }
    if (step != SQLITE_DONE)
        rc = db_fail(s, e);
done:
    sqlite3_finalize(st);
    return rc;
}

/* The columns of an epoch, read by epoch_from; EPOCH_FIELDS(a) of a table called a. */
#define EPOCH_FIELDS(a)                                                                        \
    a ".run_key, " a ".epoch, " a ".train_loss, " a ".train_acc, " a ".test_loss, "           \
    a ".test_acc, " a ".precision_macro, " a ".recall_macro, " a ".f1_macro, "                 \
    a ".auroc_macro, " a ".f1_weighted, " a ".wall_s, " a ".cpu_s, " a ".images_per_s, "      \
    a ".wait_s, " a ".nivcsw"
#define EPOCH_COLUMNS "SELECT " EPOCH_FIELDS("epochs") " FROM epochs"

/* *ep <- the epoch in the columns of EPOCH_COLUMNS, from column `at` of st on (no classes). */
static void epoch_from(store_epoch *ep, sqlite3_stmt *st, int at)
{
    *ep = (store_epoch){
        .run_key = col_text(st, at),
        .epoch = sqlite3_column_int(st, at + 1),
        .train_loss = col_real(st, at + 2),
        .train_acc = col_real(st, at + 3),
        .test_loss = col_real(st, at + 4),
        .test_acc = col_real(st, at + 5),
        .precision_macro = col_real(st, at + 6),
        .recall_macro = col_real(st, at + 7),
        .f1_macro = col_real(st, at + 8),
        .auroc_macro = col_real(st, at + 9),
        .f1_weighted = col_real(st, at + 10),
        .wall_s = col_real(st, at + 11),
        .cpu_s = col_real(st, at + 12),
        .images_per_s = col_real(st, at + 13),
        .wait_s = col_real(st, at + 14),
        .nivcsw = col_count(st, at + 15),
    };
}

/* Step st (EPOCH_COLUMNS) to its end, handing each epoch (with its classes when asked) to fn. */
static int visit_epochs(store *s, sqlite3_stmt *st, bool with_classes, store_epoch_fn fn,
                        void *ctx, err_info *e)
{
    int step, rc = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        store_epoch ep;
        epoch_from(&ep, st, 0);
        epoch_classes c = {0};
        if (with_classes)
            rc = load_classes(s, &ep, &c, e);
        if (rc == 0)
            rc = fn(ctx, &ep);
        free(c.block);
        if (rc)
            return rc;
    }
    return step == SQLITE_DONE ? 0 : db_fail(s, e);
}

int store_epochs(store *s, const char *run_key, bool with_classes, store_epoch_fn fn, void *ctx,
                 err_info *e)
{
    assert(s && run_key && fn);
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st, EPOCH_COLUMNS " WHERE run_key = ?1 ORDER BY epoch", e);
    if (rc)
        return rc;
    bind_text(st, 1, run_key);
    rc = visit_epochs(s, st, with_classes, fn, ctx, e);
    sqlite3_finalize(st);
    return rc;
}

int store_epoch_get(store *s, const char *run_key, int epoch, bool with_classes,
                    store_epoch_fn fn, void *ctx, err_info *e)
{
    assert(s && run_key && fn);
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st, EPOCH_COLUMNS " WHERE run_key = ?1 AND epoch = ?2", e);
    if (rc)
        return rc;
    bind_text(st, 1, run_key);
    sqlite3_bind_int(st, 2, epoch);
    rc = visit_epochs(s, st, with_classes, fn, ctx, e);
    sqlite3_finalize(st);
    return rc;
}

/* The caller's callback and context, for experiment_row. */
typedef struct experiment_visit {
    store_experiment_fn fn;
    void *ctx;
} experiment_visit;

static int experiment_row(sqlite3_stmt *st, void *arg)
{
    const experiment_visit *v = arg;
    store_experiment_row x = {
        .id = sqlite3_column_int64(st, 0),
        .name = col_text(st, 1),
        .file = col_text(st, 2),
        .spec_sha256 = col_text(st, 3),
        .spec_text = col_text(st, 4),
        .created_at = col_text(st, 5),
        .swept = col_text(st, 6),
        .budget_minutes = col_real(st, 7),
        .target_accuracy = col_real(st, 8),
        .version = sqlite3_column_int(st, 9),
        .n_versions = sqlite3_column_int(st, 10),
        .n_runs = sqlite3_column_int(st, 11),
        .n_own = sqlite3_column_int(st, 12),
        .description = col_text(st, 13),
    };
    return v->fn(v->ctx, &x);
}

/* Versions of one name sort together, in the order of the name's first version. */
int store_experiments(store *s, const char *name, store_experiment_fn fn, void *ctx,
                      err_info *e)
{
    assert(s && fn);
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st,
                     "SELECT x.id, x.name, x.file, x.spec_sha256, x.spec_text, x.created_at,"
                     " x.swept, x.budget_minutes, x.target_accuracy,"
                     " (SELECT count(*) FROM experiments y WHERE y.name = x.name AND y.id <= x.id),"
                     " (SELECT count(*) FROM experiments y WHERE y.name = x.name),"
                     " (SELECT count(*) FROM experiment_runs l JOIN runs r"
                     "  ON r.run_key = l.run_key WHERE l.experiment_id = x.id" FILTER_SQL("r") "),"
                     " (SELECT count(*) FROM experiment_runs l JOIN runs r"
                     "  ON r.run_key = l.run_key WHERE l.experiment_id = x.id" FILTER_SQL("r")
                     "  AND NOT EXISTS (SELECT 1 FROM experiment_runs m"
                     "   JOIN experiments y ON y.id = m.experiment_id"
                     "   WHERE m.run_key = l.run_key AND y.name = x.name AND y.id > x.id)),"
                     " x.description"
                     " FROM experiments x WHERE (?1 IS NULL OR x.name = ?1)"
                     " ORDER BY (SELECT min(y.id) FROM experiments y WHERE y.name = x.name), x.id",
                     e);
    if (rc)
        return rc;
    bind_text(st, 1, name);
    bind_filter(s, st);
    rc = visit_rows(s, st, experiment_row, &(experiment_visit){fn, ctx}, e);
    sqlite3_finalize(st);
    return rc;
}

/* The caller's callback and context, for report_row. */
typedef struct report_visit {
    store_report_fn fn;
    void *ctx;
} report_visit;

static int report_row(sqlite3_stmt *st, void *arg)
{
    const report_visit *v = arg;
    bool has_epoch = sqlite3_column_type(st, 17) != SQLITE_NULL;
    store_report_row r = {
        .run_key = col_text(st, 0),
        .position = sqlite3_column_int(st, 1),
        .swept_values = col_text(st, 2),
        .config_json = col_text(st, 3),
        .config_noseed = col_text(st, 4),
        .status = col_status(st, 5),
        .build_id = sqlite3_column_int64(st, 6),
        .host_id = sqlite3_column_int64(st, 7),
        .dataset_id = sqlite3_column_int64(st, 8),
        .git_sha = col_text(st, 9),
        .git_dirty = sqlite3_column_int(st, 10),
        .kernels = col_text(st, 11),
        .started_at = col_text(st, 12),
        .threads = sqlite3_column_int(st, 13),
        .diverged_epoch = sqlite3_column_int(st, 14),
        .peak_rss_bytes = sqlite3_column_int64(st, 15),
        .epochs_done = sqlite3_column_int(st, 16),
        .epoch = has_epoch ? sqlite3_column_int(st, 17) : 0,
        .acc = has_epoch ? col_real(st, 18) : NAN,
        .precision = has_epoch ? col_real(st, 19) : NAN,
        .recall = has_epoch ? col_real(st, 20) : NAN,
        .f1 = has_epoch ? col_real(st, 21) : NAN,
        .train_s = has_epoch ? col_real(st, 22) : NAN,
        .queued_at = col_text(st, 23),
        .seed = sqlite3_column_int64(st, 24),
        .has_seed = sqlite3_column_type(st, 24) == SQLITE_INTEGER,
        .train_cpu_s = has_epoch ? col_real(st, 25) : NAN,
        .quiet_train_s = has_epoch ? col_real(st, 26) : NAN,
        .contended_epochs = has_epoch ? sqlite3_column_int(st, 27) : 0,
    };
    return v->fn(v->ctx, &r);
}

int store_select_runs(store *s, const char *name, store_select_fn fn, void *ctx, err_info *e)
{
    assert(s && name && fn);
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st,
                     "SELECT x.id, x.swept, coalesce(l.position, -1), l.swept_values, r.run_key,"
                     " r.config_json, d.sha256, r.status, ep.test_acc, ep.f1_macro, x.file"
                     " FROM experiments x JOIN experiment_runs l ON l.experiment_id = x.id"
                     " JOIN runs r ON r.run_key = l.run_key"
                     " LEFT JOIN datasets d ON d.id = r.dataset_id"
                     " LEFT JOIN epochs ep ON ep.run_key = r.run_key AND ep.epoch = r.epochs"
                     " WHERE x.name = ?1 ORDER BY x.id, coalesce(l.position, -1), r.run_key",
                     e);
    if (rc)
        return rc;
    bind_text(st, 1, name);
    int step;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        store_select_row w = {
            .version_id = sqlite3_column_int64(st, 0),
            .swept = col_text(st, 1),
            .position = sqlite3_column_int(st, 2),
            .swept_values = col_text(st, 3),
            .run_key = col_text(st, 4),
            .config_json = col_text(st, 5),
            .dataset_sha256 = col_text(st, 6),
            .status = col_status(st, 7),
            .acc = col_real(st, 8),
            .f1 = col_real(st, 9),
            .file = col_text(st, 10),
        };
        rc = fn(ctx, &w);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = db_fail(s, e);
    sqlite3_finalize(st);
    return rc;
}

typedef struct selection_visit {
    store_selection_fn fn;
    void *ctx;
} selection_visit;

static int selection_row(sqlite3_stmt *st, void *arg)
{
    const selection_visit *v = arg;
    store_selection_row w = {
        .version_id = sqlite3_column_int64(st, 0),
        .experiment = col_text(st, 1),
        .selection = col_text(st, 2),
        .run_key = col_text(st, 3),
        .status = col_status(st, 4),
        .seed = sqlite3_column_int64(st, 5),
        .validation = sqlite3_column_int64(st, 6),
        .dataset = col_text(st, 7),
        .from_dataset = col_text(st, 8),
        .acc = col_real(st, 9),
        .f1 = col_real(st, 10),
    };
    return v->fn(v->ctx, &w);
}

int store_selection_runs(store *s, store_selection_fn fn, void *ctx, err_info *e)
{
    assert(s && fn);
    sqlite3_stmt *st = NULL;
    /* The winner's first run names the data set the decision was made on: its runs all share
     * the data set (select_decide keys them by it). */
    int rc = prepare(s, &st,
                     "SELECT x.id, x.name, l.selection, r.run_key, r.status, r.seed,"
                     " coalesce(json_extract(r.config_json, '$.validation'), 0),"
                     " json_extract(r.config_json, '$.dataset'),"
                     " (SELECT json_extract(w.config_json, '$.dataset') FROM runs w"
                     "  WHERE w.run_key = json_extract(l.selection, '$.candidates['"
                     "  || json_extract(l.selection, '$.winner') || '].runs[0].run')),"
                     " ep.test_acc, ep.f1_macro"
                     " FROM experiments x JOIN experiment_runs l ON l.experiment_id = x.id"
                     " JOIN runs r ON r.run_key = l.run_key"
                     " LEFT JOIN epochs ep ON ep.run_key = r.run_key AND ep.epoch = r.epochs"
                     " WHERE l.selection IS NOT NULL AND json_valid(l.selection)"
                     " AND x.id = (SELECT max(y.id) FROM experiments y JOIN experiment_runs k"
                     "  ON k.experiment_id = y.id WHERE y.name = x.name"
                     "  AND k.selection IS NOT NULL)" FILTER_SQL("r")
                     " ORDER BY (SELECT min(f.id) FROM experiments f WHERE f.name = x.name),"
                     " coalesce(l.position, -1), r.run_key",
                     e);
    if (rc)
        return rc;
    bind_filter(s, st);
    rc = visit_rows(s, st, selection_row, &(selection_visit){fn, ctx}, e);
    sqlite3_finalize(st);
    return rc;
}

int store_report_runs(store *s, int64_t version_id, int epoch, store_report_fn fn, void *ctx,
                      err_info *e)
{
    assert(s && fn);
    sqlite3_stmt *st = NULL;
    /* Every per-run figure is an index lookup on epochs(run_key, epoch), the training time
     * of all epochs is runs.train_s (summed only for an earlier --epoch); no ORDER BY, so that
     * SQLite never sorts (or holds) the whole result: the caller orders by position. */
    int rc = prepare(s, &st,
                     "SELECT r.run_key, coalesce(l.position, -1), l.swept_values, r.config_json,"
                     " json_remove(r.config_json, '$.seed'), r.status, r.build_id, r.host_id,"
                     " r.dataset_id, b.git_sha, b.git_dirty, r.kernels, r.started_at, r.threads,"
                     " r.diverged_epoch, r.peak_rss_bytes,"
                     " (SELECT count(*) FROM epochs c WHERE c.run_key = r.run_key),"
                     " ep.epoch, ep.test_acc, ep.precision_macro, ep.recall_macro, ep.f1_macro,"
                     " CASE WHEN ?2 > 0 THEN (SELECT sum(w.wall_s) FROM epochs w"
                     "  WHERE w.run_key = r.run_key AND w.epoch <= ep.epoch) ELSE r.train_s END,"
                     " r.queued_at, r.seed,"
                     " CASE WHEN ?2 > 0 THEN (SELECT sum(w.cpu_s) FROM epochs w"
                     "  WHERE w.run_key = r.run_key AND w.epoch <= ep.epoch) ELSE r.train_cpu_s END,"
                     " CASE WHEN ?2 > 0 THEN (SELECT total(CASE WHEN"
                     "  bench_contended(w.wait_s, w.cpu_s) THEN 0 ELSE w.wall_s END) FROM epochs w"
                     "  WHERE w.run_key = r.run_key AND w.epoch <= ep.epoch) ELSE r.quiet_train_s"
                     "  END,"
                     " CASE WHEN ?2 > 0 THEN (SELECT sum(bench_contended(w.wait_s, w.cpu_s))"
                     "  FROM epochs w WHERE w.run_key = r.run_key AND w.epoch <= ep.epoch)"
                     "  ELSE r.contended_epochs END"
                     " FROM experiment_runs l JOIN experiments x ON x.id = l.experiment_id"
                     " JOIN runs r ON r.run_key = l.run_key"
                     " LEFT JOIN builds b ON b.id = r.build_id"
                     " LEFT JOIN epochs ep ON ep.run_key = r.run_key AND ep.epoch = CASE"
                     "  WHEN ?2 > 0 THEN ?2"
                     "  ELSE (SELECT max(m.epoch) FROM epochs m WHERE m.run_key = r.run_key) END"
                     " WHERE l.experiment_id = ?1 AND NOT EXISTS (SELECT 1 FROM experiment_runs n"
                     "  JOIN experiments y ON y.id = n.experiment_id"
                     "  WHERE n.run_key = l.run_key AND y.name = x.name AND y.id > x.id)"
                     FILTER_SQL("r"),
                     e);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, version_id);
    sqlite3_bind_int(st, 2, epoch);
    bind_filter(s, st);
    rc = visit_rows(s, st, report_row, &(report_visit){fn, ctx}, e);
    sqlite3_finalize(st);
    return rc;
}

/* ---- merging databases ----------------------------------------------------------------------
 * A source database is ATTACHed as "src" and copied with INSERT ... SELECT. Column lists come
 * from the schema itself (PRAGMA table_info), so that a column a migration adds is carried
 * without a change here; the tables are listed below, each with how it merges, and a database
 * with a table not listed is refused rather than merged in part. Row ids of experiments,
 * builds, hosts and data sets differ between files: temp.merge_map maps the source's to the
 * destination's, by the rows' natural keys. */

/* How each table merges. ref_* name the columns that hold another table's id. */
typedef struct merge_table {
    const char *name;
    const char *natural_key; /* the columns that identify a row across files, NULL: by parent */
} merge_table;

static const merge_table merge_tables[] = {
    {"experiments", "name, spec_sha256"},
    {"builds", "ident"},
    {"hosts", "ident"},
    {"datasets", "ident"},
    {"runs", "run_key"},
    {"experiment_runs", NULL},  /* links: union, through the experiments' map */
    {"epochs", NULL},           /* with the run they belong to */
    {"class_metrics", NULL},
    {"confusion", NULL},
    {"run_tags", NULL},          /* union per run; the destination's value of a key wins */
    {"perf_measurements", NULL}, /* a measurement is its content: union */
    {"perf_steps", NULL},        /* with their measurement */
    {"perf_sgemm", NULL},        /* likewise */
};

/* Columns that refer to the rows of another table by id, and that table. */
static const struct {
    const char *table, *column, *refers_to;
} merge_refs[] = {
    {"runs", "experiment_id", "experiments"},
    {"runs", "build_id", "builds"},
    {"runs", "host_id", "hosts"},
    {"runs", "dataset_id", "datasets"},
    {"experiment_runs", "experiment_id", "experiments"},
    {"perf_measurements", "build_id", "builds"},
    {"perf_measurements", "host_id", "hosts"},
    {"perf_measurements", "dataset_id", "datasets"},
};

/* Run the SQL built in b (then free it). */
static int sql_run(store *s, strbuf *b, err_info *e)
{
    int rc = b->oom ? err_set(e, ERR_NOMEM, "out of memory") : exec_sql(s, b->p, e);
    free(b->p);
    *b = (strbuf){0};
    return rc;
}

static const char *merge_ref(const char *table, const char *column)
{
    for (size_t i = 0; i < sizeof merge_refs / sizeof merge_refs[0]; i++)
        if (strcmp(merge_refs[i].table, table) == 0 && strcmp(merge_refs[i].column, column) == 0)
            return merge_refs[i].refers_to;
    return NULL;
}

/* Append to cols the column list of main.table (without "id" unless keep_id) and to vals the
 * matching values from alias (a row of src.table): ids of other tables mapped, and the value
 * of column `bound` (may be NULL) replaced by the parameter ?2. same (may be NULL) gets
 * "d.COLUMN IS VALUE AND ...": the condition that a row d of main.table equals it. */
static int merge_columns(store *s, strbuf *cols, strbuf *vals, strbuf *same, const char *table,
                         const char *alias, bool keep_id, const char *bound, err_info *e)
{
    sqlite3_stmt *st = NULL;
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA main.table_info(%s)", table);
    int rc = prepare(s, &st, sql, e);
    if (rc)
        return rc;
    int n = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *c = col_text(st, 1);
        if (!keep_id && strcmp(c, "id") == 0)
            continue;
        const char *ref = merge_ref(table, c);
        char val[256];
        if (bound && strcmp(c, bound) == 0)
            snprintf(val, sizeof val, "?2");
        else if (ref)
            snprintf(val, sizeof val, "(SELECT dst_id FROM temp.merge_map WHERE kind = '%s' AND"
                     " src_id = %s.%s)", ref, alias, c);
        else
            snprintf(val, sizeof val, "%s.%s", alias, c);
        strbuf_addf(cols, "%s%s", n ? ", " : "", c);
        strbuf_addf(vals, "%s%s", n ? ", " : "", val);
        if (same)
            strbuf_addf(same, "%sd.%s IS %s", n ? " AND " : "", c, val);
        n++;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(s, e);
    sqlite3_finalize(st);
    if (rc == 0 && (cols->oom || vals->oom || (same && same->oom)))
        rc = err_set(e, ERR_NOMEM, "out of memory");
    return rc;
}

/* ATTACH path AS src, refusing a file that is missing (ATTACH would create it) or that is
 * not a bench database of this schema version, or has tables merge does not know. */
static int merge_attach(store *s, const char *path, err_info *e)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return err_set(e, ERR_IO, "cannot merge '%s': %s", path,
                       errno && stat(path, &sb) != 0 ? strerror(errno) : "not a regular file");
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st, "ATTACH ?1 AS src", e);
    if (rc)
        return rc;
    bind_text(st, 1, path);
    rc = step_done(s, st, e);
    sqlite3_finalize(st);
    if (rc)
        return err_prefix(e, "cannot merge '%s'", path);
    int version = -1;
    if ((rc = prepare(s, &st, "PRAGMA src.user_version", e)) == 0) {
        if (sqlite3_step(st) == SQLITE_ROW)
            version = sqlite3_column_int(st, 0);
        else
            rc = err_set(e, ERR_FORMAT, "cannot merge '%s': %s", path, sqlite3_errmsg(s->db));
        sqlite3_finalize(st);
    }
    if (rc == 0 && version != SCHEMA_VERSION)
        rc = err_set(e, ERR_FORMAT, version == 0
                         ? "cannot merge '%s': not a bench database (schema version %d, this "
                           "bench writes %d)"
                         : "cannot merge '%s': its schema version is %d, this bench writes %d "
                           "(open it with this bench first, e.g. 'bench ls --db', which "
                           "migrates an older one)", path, version, SCHEMA_VERSION);
    /* every table must be one merge knows, in both files */
    for (int pass = 0; rc == 0 && pass < 2; pass++) {
        const char *schema = pass ? "src" : "main";
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT name FROM %s.sqlite_schema WHERE type = 'table' AND "
                 "name NOT LIKE 'sqlite_%%'", schema);
        if ((rc = prepare(s, &st, sql, e)))
            break;
        int step;
        while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
            const char *t = col_text(st, 0);
            size_t k = 0;
            while (k < sizeof merge_tables / sizeof merge_tables[0] &&
                   strcmp(merge_tables[k].name, t) != 0)
                k++;
            if (k == sizeof merge_tables / sizeof merge_tables[0])
                rc = err_set(e, ERR_FORMAT, "cannot merge '%s': table '%s' is not one bench "
                             "merge knows how to merge", pass ? path : s->path, t);
        }
        sqlite3_finalize(st);
    }
    if (rc)
        sqlite3_exec(s->db, "DETACH src", NULL, NULL, NULL);
    return rc;
}

int store_merge_check(store *s, const char *const *paths, int n, err_info *e)
{
    assert(s && (paths || n == 0));
    int rc = exec_sql(s, "CREATE TEMP TABLE IF NOT EXISTS merge_seen(run_key TEXT, params TEXT,"
                      " db TEXT); DELETE FROM temp.merge_seen", e);
    for (int i = 0; rc == 0 && i < n; i++) {
        if ((rc = merge_attach(s, paths[i], e)))
            break;
        sqlite3_stmt *st = NULL;
        rc = prepare(s, &st, "INSERT INTO temp.merge_seen SELECT run_key, params_sha256, ?1"
                     " FROM src.runs WHERE status = 'COMPLETED' AND params_sha256 IS NOT NULL", e);
        if (rc == 0) {
            bind_text(st, 1, paths[i]);
            rc = step_done(s, st, e);
        }
        sqlite3_finalize(st);
        sqlite3_exec(s->db, "DETACH src", NULL, NULL, NULL);
    }
    if (rc)
        return rc;
    /* two COMPLETED copies of one key, from any two files, with different parameters */
    sqlite3_stmt *st = NULL;
    rc = prepare(s, &st,
                 "WITH seen AS (SELECT run_key, params_sha256 AS params, ?1 AS db FROM main.runs"
                 "  WHERE status = 'COMPLETED' AND params_sha256 IS NOT NULL"
                 "  UNION ALL SELECT run_key, params, db FROM temp.merge_seen)"
                 " SELECT a.run_key, a.params, a.db, b.params, b.db FROM seen a JOIN seen b"
                 " ON a.run_key = b.run_key AND a.params < b.params LIMIT 1",
                 e);
    if (rc)
        return rc;
    bind_text(st, 1, s->path);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        rc = err_set(e, ERR_INVALID, "run '%s' is COMPLETED with parameters %.12s in '%s' and "
                     "%.12s in '%s': one run key gave two results, a determinism failure; "
                     "nothing merged", col_text(st, 0), col_text(st, 1), col_text(st, 2),
                     col_text(st, 3), col_text(st, 4));
    else if (step != SQLITE_DONE)
        rc = db_fail(s, e);
    sqlite3_finalize(st);
    return rc;
}

/* The order of run copies: a better copy replaces a worse one, whichever file it comes from.
 * COMPLETED > DIVERGED > FAILED > unfinished (QUEUED, RUNNING, INTERRUPTED); then more stored
 * epochs; then the earlier (finished, else last heard of) copy, so that of two equal results
 * the first one stays. RANK_SQL(alias) is the status's rank, higher = better. */
#define RANK_SQL(a)                                                                         \
    "(CASE " a ".status WHEN 'COMPLETED' THEN 4 WHEN 'DIVERGED' THEN 3 WHEN 'FAILED' THEN 2" \
    " ELSE 1 END)"

static int merge_runs(store *s, store_merge_counts *c, err_info *e)
{
    /* temp.merge_win: the source's runs to copy, replaced = 1 when the destination has the key */
    int rc = exec_sql(s,
        "DROP TABLE IF EXISTS temp.merge_win;"
        "CREATE TEMP TABLE merge_win AS"
        " SELECT s.run_key, d.run_key IS NOT NULL AS replaced FROM src.runs s"
        " LEFT JOIN main.runs d ON d.run_key = s.run_key"
        " WHERE d.run_key IS NULL"
        "  OR " RANK_SQL("s") " > " RANK_SQL("d")
        "  OR (" RANK_SQL("s") " = " RANK_SQL("d") " AND ("
        "   (SELECT count(*) FROM src.epochs x WHERE x.run_key = s.run_key) >"
        "   (SELECT count(*) FROM main.epochs x WHERE x.run_key = d.run_key)"
        "   OR ((SELECT count(*) FROM src.epochs x WHERE x.run_key = s.run_key) ="
        "    (SELECT count(*) FROM main.epochs x WHERE x.run_key = d.run_key) AND"
        "    COALESCE(s.finished_at, s.heartbeat_at, s.started_at, s.queued_at, '') <"
        "    COALESCE(d.finished_at, d.heartbeat_at, d.started_at, d.queued_at, ''))));"
        /* keep the destination's links, tags, note and archive mark of the runs both files
         * have: deleting a replaced run cascades, and a researcher's words are never lost */
        "DROP TABLE IF EXISTS temp.merge_kept;"
        "CREATE TEMP TABLE merge_kept AS SELECT run_key, note, archived_at FROM main.runs"
        " WHERE run_key IN (SELECT run_key FROM src.runs);"
        "DROP TABLE IF EXISTS temp.merge_tags;"
        "CREATE TEMP TABLE merge_tags AS SELECT run_key, key, value FROM main.run_tags"
        " WHERE run_key IN (SELECT run_key FROM temp.merge_win WHERE replaced);"
        "DROP TABLE IF EXISTS temp.merge_links;"
        "CREATE TEMP TABLE merge_links AS SELECT experiment_id, run_key, position, swept_values,"
        " selection"
        " FROM main.experiment_runs"
        " WHERE run_key IN (SELECT run_key FROM temp.merge_win WHERE replaced);"
        "DELETE FROM main.runs WHERE run_key IN (SELECT run_key FROM temp.merge_win"
        " WHERE replaced);",
        e);
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    if ((rc = prepare(s, &st, "SELECT count(*), total(replaced) FROM temp.merge_win", e)))
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW) {
        c->runs_replaced += (int)sqlite3_column_int64(st, 1);
        c->runs_added += (int)(sqlite3_column_int64(st, 0) - sqlite3_column_int64(st, 1));
    }
    sqlite3_finalize(st);
    if ((rc = prepare(s, &st, "SELECT count(*) FROM src.runs", e)))
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        c->runs_kept += (int)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    /* the winners and their epochs, class rows and confusion cells */
    static const char *const with_run[] = {"runs", "epochs", "class_metrics", "confusion"};
    for (size_t i = 0; rc == 0 && i < sizeof with_run / sizeof with_run[0]; i++) {
        strbuf cols = {0}, vals = {0}, sql = {0};
        rc = merge_columns(s, &cols, &vals, NULL, with_run[i], "x", true, NULL, e);
        if (rc == 0) {
            strbuf_addf(&sql, "INSERT INTO main.%s(%s) SELECT %s FROM src.%s x WHERE x.run_key IN"
                    " (SELECT run_key FROM temp.merge_win)", with_run[i], cols.p, vals.p,
                    with_run[i]);
            rc = sql_run(s, &sql, e);
        }
        free(cols.p);
        free(vals.p);
    }
    if (rc)
        return rc;
    /* links keep their plan position and swept values (the destination's when both have
     * them); a run both files have keeps the destination's note and archive mark, else takes
     * the source's, and the union of their tags (the destination's value of a key first) */
    return exec_sql(s,
        "UPDATE main.runs SET"
        " note = coalesce((SELECT k.note FROM temp.merge_kept k WHERE k.run_key = runs.run_key),"
        "  (SELECT x.note FROM src.runs x WHERE x.run_key = runs.run_key)),"
        " archived_at = coalesce((SELECT k.archived_at FROM temp.merge_kept k"
        "  WHERE k.run_key = runs.run_key),"
        "  (SELECT x.archived_at FROM src.runs x WHERE x.run_key = runs.run_key))"
        " WHERE run_key IN (SELECT run_key FROM temp.merge_kept);"
        "INSERT OR IGNORE INTO main.run_tags(run_key, key, value)"
        " SELECT run_key, key, value FROM temp.merge_tags;"
        "INSERT OR IGNORE INTO main.run_tags(run_key, key, value)"
        " SELECT run_key, key, value FROM src.run_tags"
        " WHERE run_key IN (SELECT run_key FROM main.runs);"
        "INSERT OR IGNORE INTO main.experiment_runs(experiment_id, run_key, position,"
        " swept_values, selection) SELECT experiment_id, run_key, position, swept_values,"
        " selection FROM temp.merge_links;"
        "INSERT INTO main.experiment_runs(experiment_id, run_key, position, swept_values,"
        " selection) SELECT m.dst_id, l.run_key, l.position, l.swept_values, l.selection"
        " FROM src.experiment_runs l"
        " JOIN temp.merge_map m ON m.kind = 'experiments' AND m.src_id = l.experiment_id"
        " WHERE true ON CONFLICT(experiment_id, run_key) DO UPDATE SET"
        " position = coalesce(position, excluded.position),"
        " swept_values = coalesce(swept_values, excluded.swept_values),"
        " selection = coalesce(selection, excluded.selection);",
        e);
}

/* The source's rows of experiments, builds, hosts and data sets that the destination lacks,
 * and temp.merge_map from the source's ids to the destination's. Of two versions of one
 * experiment the earlier created (and its file name) is kept. */
static int merge_parents(store *s, err_info *e)
{
    int rc = exec_sql(s, "CREATE TEMP TABLE IF NOT EXISTS merge_map(kind TEXT, src_id INTEGER,"
                      " dst_id INTEGER, PRIMARY KEY(kind, src_id)); DELETE FROM temp.merge_map",
                      e);
    for (size_t i = 0; rc == 0 && i < 4; i++) {
        const merge_table *t = &merge_tables[i];
        strbuf cols = {0}, vals = {0}, sql = {0};
        rc = merge_columns(s, &cols, &vals, NULL, t->name, "x", false, NULL, e);
        if (rc == 0) {
            strbuf_addf(&sql, "INSERT INTO main.%s(%s) SELECT %s FROM src.%s x WHERE true"
                    " ON CONFLICT(%s) DO ", t->name, cols.p, vals.p, t->name, t->natural_key);
            if (strcmp(t->name, "experiments") == 0) /* and what one of them did not store */
                strbuf_addf(&sql, "UPDATE SET created_at = min(created_at, excluded.created_at),"
                        " file = CASE WHEN excluded.created_at < created_at THEN excluded.file"
                        " ELSE file END, swept = coalesce(swept, excluded.swept),"
                        " description = coalesce(description, excluded.description),"
                        " budget_minutes = coalesce(budget_minutes, excluded.budget_minutes),"
                        " target_accuracy = coalesce(target_accuracy, excluded.target_accuracy);");
            else
                strbuf_addf(&sql, "NOTHING;");
            strbuf_addf(&sql, "INSERT INTO temp.merge_map SELECT '%s', x.id, d.id FROM src.%s x"
                    " JOIN main.%s d ON ", t->name, t->name, t->name);
            /* natural key "a, b" -> d.a = x.a AND d.b = x.b */
            char key[64];
            snprintf(key, sizeof key, "%s", t->natural_key);
            int k = 0;
            for (char *c = strtok(key, ", "); c; c = strtok(NULL, ", "))
                strbuf_addf(&sql, "%sd.%s = x.%s", k++ ? " AND " : "", c, c);
            rc = sql_run(s, &sql, e);
        }
        free(cols.p);
        free(vals.p);
    }
    return rc;
}

/* The tables that hang off a measurement by measurement_id, copied with it. */
static const char *const merge_perf_children[] = {"perf_steps", "perf_sgemm"};
enum { MERGE_PERF_CHILDREN = sizeof merge_perf_children / sizeof merge_perf_children[0] };

/* The source's measurements the destination lacks (equal in every column but the id), each
 * with its steps and SGEMM timings. */
static int merge_perf(store *s, store_merge_counts *c, err_info *e)
{
    strbuf cols = {0}, vals = {0}, same = {0}, q = {0}, insert = {0};
    strbuf child_cols[MERGE_PERF_CHILDREN] = {{0}}, child_vals[MERGE_PERF_CHILDREN] = {{0}},
           child_insert[MERGE_PERF_CHILDREN] = {{0}};
    sqlite3_stmt *sel = NULL, *ins = NULL, *child[MERGE_PERF_CHILDREN] = {NULL};
    int rc = merge_columns(s, &cols, &vals, &same, "perf_measurements", "x", false, NULL, e);
    for (int i = 0; i < MERGE_PERF_CHILDREN && rc == 0; i++) {
        rc = merge_columns(s, &child_cols[i], &child_vals[i], NULL, merge_perf_children[i], "x", true,
                           "measurement_id", e);
        strbuf_addf(&child_insert[i], "INSERT INTO main.%s(%s) SELECT %s FROM src.%s x"
                    " WHERE x.measurement_id = ?1", merge_perf_children[i], child_cols[i].p,
                    child_vals[i].p, merge_perf_children[i]);
        if (rc == 0 && child_insert[i].oom)
            rc = err_set(e, ERR_NOMEM, "out of memory");
        if (rc == 0)
            rc = prepare(s, &child[i], child_insert[i].p, e);
    }
    if (rc)
        goto done;
    strbuf_addf(&q, "SELECT x.id FROM src.perf_measurements x WHERE NOT EXISTS (SELECT 1 FROM"
            " main.perf_measurements d WHERE %s) ORDER BY x.id", same.p);
    strbuf_addf(&insert, "INSERT INTO main.perf_measurements(%s) SELECT %s FROM"
            " src.perf_measurements x WHERE x.id = ?1", cols.p, vals.p);
    if (q.oom || insert.oom) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = prepare(s, &sel, q.p, e)) || (rc = prepare(s, &ins, insert.p, e)))
        goto done;
    int step;
    while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
        int64_t old = sqlite3_column_int64(sel, 0);
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, old);
        if ((rc = step_done(s, ins, e)))
            goto done;
        int64_t mid = sqlite3_last_insert_rowid(s->db);
        for (int i = 0; i < MERGE_PERF_CHILDREN; i++) {
            sqlite3_reset(child[i]);
            sqlite3_bind_int64(child[i], 1, old);
            sqlite3_bind_int64(child[i], 2, mid);
            if ((rc = step_done(s, child[i], e)))
                goto done;
        }
        c->perf_added++;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(s, e);
done:
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    for (int i = 0; i < MERGE_PERF_CHILDREN; i++) {
        sqlite3_finalize(child[i]);
        free(child_cols[i].p);
        free(child_vals[i].p);
        free(child_insert[i].p);
    }
    strbuf *bufs[] = {&cols, &vals, &same, &q, &insert};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]->p);
    return rc;
}

int store_merge(store *s, store_merge_counts *c, const char *path, err_info *e)
{
    assert(s && c && path);
    int rc = merge_attach(s, path, e);
    if (rc)
        return rc;
    tx t;
    if ((rc = tx_enter(s, &t, e)) == 0) {
        store_merge_counts mine = {0};
        rc = merge_parents(s, e);
        if (rc == 0)
            rc = merge_runs(s, &mine, e);
        if (rc == 0)
            rc = merge_perf(s, &mine, e);
        rc = tx_leave(s, &t, rc, e);
        if (rc == 0) {
            mine.runs_kept -= mine.runs_added + mine.runs_replaced;
            c->runs_added += mine.runs_added;
            c->runs_replaced += mine.runs_replaced;
            c->runs_kept += mine.runs_kept;
            c->perf_added += mine.perf_added;
        }
    }
    sqlite3_exec(s->db, "DETACH src", NULL, NULL, NULL);
    if (rc)
        err_prefix(e, "merging '%s'", path);
    return rc;
}

/* ---- what the queries see --------------------------------------------------------------------
 * The filter travels with the connection: the commands set it once, after opening, and the
 * modules they call (report, plot, history, check) read through it unchanged. */

int store_set_filter(store *s, const store_filter *f, err_info *e)
{
    assert(s);
    free(s->filter_tags);
    s->filter_tags = NULL;
    s->filter_archived = f && f->archived;
    if (!f || f->n_tags == 0)
        return 0;
    /* [[key, value|null], ...]: read by FILTER_SQL through json_each */
    json_t *all = json_array();
    for (int i = 0; all && i < f->n_tags; i++) {
        json_t *pair = json_pack("[s, o]", f->tags[i].key,
                                 f->tags[i].value ? json_string(f->tags[i].value) : json_null());
        if (!pair || json_array_append_new(all, pair)) {
            json_decref(all);
            all = NULL;
        }
    }
    s->filter_tags = all ? json_dumps(all, JSON_COMPACT) : NULL;
    json_decref(all);
    return s->filter_tags ? 0 : err_set(e, ERR_NOMEM, "out of memory");
}

/* ---- managing runs ------------------------------------------------------------------------- */

int store_run_live(store *s, bool *live, char *who, size_t n, const char *run_key,
                   double stale_after_s, err_info *e)
{
    assert(s && live && run_key);
    *live = false;
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st,
                     "SELECT status, owner_host, owner_pid, owner_proc,"
                     " (julianday('now') - julianday(heartbeat_at)) * 86400.0"
                     " FROM runs WHERE run_key = ?1",
                     e);
    if (rc)
        return rc;
    bind_text(st, 1, run_key);
    int step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        rc = err_set(e, ERR_INVALID, "database '%s': no run '%s'", s->path, run_key);
    } else if (step != SQLITE_ROW) {
        rc = db_fail(s, e);
    } else if (col_status(st, 0) == RUN_RUNNING) {
        const char *host = col_text(st, 1);
        int64_t pid = sqlite3_column_int64(st, 2);
        double age = col_real(st, 4);
        int alive = owner_alive(s, host, pid, col_text(st, 3));
        /* another host: alive while it keeps its heartbeat, as bench run judges it */
        *live = alive == 1 || (alive < 0 && !(age > stale_after_s));
        if (who)
            snprintf(who, n, "process %lld on '%s'", (long long)pid, host ? host : "?");
    }
    sqlite3_finalize(st);
    return rc;
}

/* Run sql with ?1 = run_key (and ?2 = text2 when the statement has it). */
static int run_exec(store *s, const char *sql, const char *run_key, const char *text2,
                    err_info *e)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st, sql, e);
    if (rc)
        return rc;
    bind_text(st, 1, run_key);
    if (sqlite3_bind_parameter_count(st) >= 2)
        bind_text(st, 2, text2);
    rc = step_done(s, st, e);
    sqlite3_finalize(st);
    return rc;
}

/* ERR_INVALID unless run_key exists. */
static int run_exists(store *s, const char *run_key, err_info *e)
{
    int status = STORE_ABSENT;
    int rc = store_run_status(s, &status, run_key, e);
    if (rc == 0 && status == STORE_ABSENT)
        rc = err_set(e, ERR_INVALID, "database '%s': no run '%s'", s->path, run_key);
    return rc;
}

int store_run_remove(store *s, bool *deleted, const char *run_key, const char *experiment,
                     double stale_after_s, err_info *e)
{
    assert(s && run_key);
    sqlite3_stmt *st = NULL;
    int64_t *ids = NULL;
    int n_ids = 0, cap = 0;
    bool live = false, gone = false;
    char who[320];
    tx t;
    int rc = tx_enter(s, &t, e);
    if (rc)
        return rc;
    if ((rc = store_run_live(s, &live, who, sizeof who, run_key, stale_after_s, e)))
        goto done;
    if (live) {
        rc = err_set(e, ERR_CONFLICT, "run '%.12s' is RUNNING in %s: stop that bench run first",
                     run_key, who);
        goto done;
    }
    /* the experiment versions concerned: those the run leaves, pruned when left empty */
    rc = prepare(s, &st,
                 "SELECT l.experiment_id FROM experiment_runs l JOIN experiments x"
                 " ON x.id = l.experiment_id WHERE l.run_key = ?1 AND (?2 IS NULL OR x.name = ?2)"
                 " UNION SELECT experiment_id FROM runs WHERE run_key = ?1 AND ?2 IS NULL"
                 " AND experiment_id IS NOT NULL",
                 e);
    if (rc)
        goto done;
    bind_text(st, 1, run_key);
    bind_text(st, 2, experiment);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (!vec_grow((void **)&ids, n_ids, &cap, sizeof *ids)) {
            rc = err_set(e, ERR_NOMEM, "out of memory");
            goto done;
        }
        ids[n_ids++] = sqlite3_column_int64(st, 0);
    }
    if (step != SQLITE_DONE) {
        rc = db_fail(s, e);
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (experiment && n_ids == 0) {
        rc = err_set(e, ERR_INVALID, "run '%.12s' is not a run of experiment '%s'", run_key,
                     experiment);
        goto done;
    }
    if (experiment) {
        rc = run_exec(s, "DELETE FROM experiment_runs WHERE run_key = ?1 AND experiment_id IN"
                      " (SELECT id FROM experiments WHERE name = ?2)", run_key, experiment, e);
        if (rc)
            goto done;
        if ((rc = prepare(s, &st, "SELECT count(*) FROM experiment_runs WHERE run_key = ?1", e)))
            goto done;
        bind_text(st, 1, run_key);
        if (sqlite3_step(st) != SQLITE_ROW) {
            rc = db_fail(s, e);
            goto done;
        }
        gone = sqlite3_column_int64(st, 0) == 0;
        sqlite3_finalize(st);
        st = NULL;
        /* still shared: credit it to an experiment that keeps it */
        if (!gone)
            rc = run_exec(s, "UPDATE runs SET experiment_id = (SELECT min(experiment_id) FROM"
                          " experiment_runs WHERE run_key = ?1) WHERE run_key = ?1 AND"
                          " (experiment_id IS NULL OR experiment_id NOT IN (SELECT experiment_id"
                          " FROM experiment_runs WHERE run_key = ?1))", run_key, NULL, e);
    } else {
        gone = true;
    }
    /* the cascade takes its links, tags and epochs, and theirs */
    if (rc == 0 && gone)
        rc = run_exec(s, "DELETE FROM runs WHERE run_key = ?1", run_key, NULL, e);
    if (rc == 0)
        rc = prepare(s, &st,
                     "DELETE FROM experiments WHERE id = ?1"
                     " AND NOT EXISTS (SELECT 1 FROM experiment_runs WHERE experiment_id = ?1)"
                     " AND NOT EXISTS (SELECT 1 FROM runs WHERE experiment_id = ?1)",
                     e);
    for (int i = 0; rc == 0 && i < n_ids; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, ids[i]);
        rc = step_done(s, st, e);
    }
done:
    sqlite3_finalize(st);
    free(ids);
    rc = tx_leave(s, &t, rc, e);
    if (rc == 0 && deleted)
        *deleted = gone;
    return rc;
}

int store_run_archive(store *s, const char *run_key, bool archived, err_info *e)
{
    assert(s && run_key);
    int rc = run_exists(s, run_key, e);
    if (rc == 0)
        rc = run_exec(s, archived ? "UPDATE runs SET archived_at = coalesce(archived_at, "
                                    NOW_SQL ") WHERE run_key = ?1"
                                  : "UPDATE runs SET archived_at = NULL WHERE run_key = ?1",
                      run_key, NULL, e);
    return rc;
}

int store_tag_set(store *s, const char *run_key, const char *key, const char *value,
                  err_info *e)
{
    assert(s && run_key && key);
    int rc = run_exists(s, run_key, e);
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    rc = prepare(s, &st,
                 value ? "INSERT INTO run_tags(run_key, key, value) VALUES(?1, ?2, ?3)"
                         " ON CONFLICT(run_key, key) DO UPDATE SET value = excluded.value"
                       : "DELETE FROM run_tags WHERE run_key = ?1 AND key = ?2",
                 e);
    if (rc)
        return rc;
    bind_text(st, 1, run_key);
    bind_text(st, 2, key);
    if (value)
        bind_text(st, 3, value);
    rc = step_done(s, st, e);
    sqlite3_finalize(st);
    return rc;
}

/* The caller's callback and context, for tag_row. */
typedef struct tag_visit {
    store_tag_fn fn;
    void *ctx;
} tag_visit;

static int tag_row(sqlite3_stmt *st, void *arg)
{
    const tag_visit *v = arg;
    store_tag t = {.key = col_text(st, 0), .value = col_text(st, 1)};
    return v->fn(v->ctx, &t);
}

int store_tags(store *s, const char *run_key, store_tag_fn fn, void *ctx, err_info *e)
{
    assert(s && run_key && fn);
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st, "SELECT key, value FROM run_tags WHERE run_key = ?1 ORDER BY key", e);
    if (rc)
        return rc;
    bind_text(st, 1, run_key);
    rc = visit_rows(s, st, tag_row, &(tag_visit){fn, ctx}, e);
    sqlite3_finalize(st);
    return rc;
}

int store_note_set(store *s, const char *run_key, const char *note, err_info *e)
{
    assert(s && run_key);
    int rc = run_exists(s, run_key, e);
    if (rc == 0)
        rc = run_exec(s, "UPDATE runs SET note = ?2 WHERE run_key = ?1", run_key,
                      note && note[0] ? note : NULL, e);
    return rc;
}

/* The caller's callback and context, for name_row. */
typedef struct name_visit {
    store_name_fn fn;
    void *ctx;
} name_visit;

static int name_row(sqlite3_stmt *st, void *arg)
{
    const name_visit *v = arg;
    return v->fn(v->ctx, col_text(st, 0));
}

int store_run_experiments(store *s, const char *run_key, store_name_fn fn, void *ctx,
                          err_info *e)
{
    assert(s && run_key && fn);
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st,
                     "SELECT x.name FROM experiment_runs l JOIN experiments x"
                     " ON x.id = l.experiment_id WHERE l.run_key = ?1"
                     " GROUP BY x.name ORDER BY min(x.id)",
                     e);
    if (rc)
        return rc;
    bind_text(st, 1, run_key);
    rc = visit_rows(s, st, name_row, &(name_visit){fn, ctx}, e);
    sqlite3_finalize(st);
    return rc;
}

/* ---- export ---------------------------------------------------------------------------------- */

/* The caller's callback and context, for export_row. */
typedef struct export_visit {
    store_export_fn fn;
    void *ctx;
} export_visit;

static int export_row(sqlite3_stmt *st, void *arg)
{
    const export_visit *v = arg;
    store_epoch ep;
    bool has_epoch = sqlite3_column_type(st, 11) != SQLITE_NULL;
    if (has_epoch)
        epoch_from(&ep, st, 10);
    store_export_row r = {
        .run_key = col_text(st, 0),
        .experiment = col_text(st, 1),
        .config_json = col_text(st, 2),
        .status = col_status(st, 3),
        .git_sha = col_text(st, 4),
        .git_dirty = sqlite3_column_int(st, 5),
        .dataset_sha256 = col_text(st, 6),
        .archived_at = col_text(st, 7),
        .note = col_text(st, 8),
        .tags = col_text(st, 9),
        .epoch = has_epoch ? &ep : NULL,
    };
    return v->fn(v->ctx, &r);
}

int store_export(store *s, const char *experiment, int status, store_export_fn fn, void *ctx,
                 err_info *e)
{
    assert(s && fn);
    sqlite3_stmt *st = NULL;
    /* runs in key order, each with its epochs in order: both come from the tables' primary
     * keys, so that SQLite streams the rows without sorting (or holding) them */
    int rc = prepare(s, &st,
                     "SELECT r.run_key, coalesce(?1, x.name), r.config_json, r.status, b.git_sha,"
                     " b.git_dirty, d.sha256, r.archived_at, r.note,"
                     " " TAGS_SQL("r") ", "
                     EPOCH_FIELDS("ep")
                     " FROM runs r LEFT JOIN experiments x ON x.id = r.experiment_id"
                     " LEFT JOIN builds b ON b.id = r.build_id"
                     " LEFT JOIN datasets d ON d.id = r.dataset_id"
                     " LEFT JOIN epochs ep ON ep.run_key = r.run_key"
                     " WHERE (?1 IS NULL OR EXISTS (SELECT 1 FROM experiment_runs l"
                     "  JOIN experiments y ON y.id = l.experiment_id"
                     "  WHERE l.run_key = r.run_key AND y.name = ?1))"
                     " AND (?2 IS NULL OR r.status = ?2)" FILTER_SQL("r")
                     " ORDER BY r.run_key, ep.epoch",
                     e);
    if (rc)
        return rc;
    bind_text(st, 1, experiment);
    bind_text(st, 2, status >= 0 && status < RUN_STATUS_COUNT ? run_status_names[status] : NULL);
    bind_filter(s, st);
    rc = visit_rows(s, st, export_row, &(export_visit){fn, ctx}, e);
    sqlite3_finalize(st);
    return rc;
}

/* ---- the runs_flat view ------------------------------------------------------------------------
 * A row per run: who and what made it, every configuration key of the vocabulary as a column
 * of its type (INTEGER, REAL, 0/1 for booleans, TEXT; a layer list as the vocabulary's summary
 * "conv30x5-relu-maxpool2-..."), then the metrics of its last stored epoch, every column of
 * the epochs table. Built from the vocabulary and PRAGMA table_info(epochs), so that a key or
 * an epoch column added later appears without a change here. */

/* b += the SQL of key k's value in r.config_json, typed as the key is. */
static void flat_key_sql(strbuf *b, const exp_vocab_key *k)
{
    /* JSON path "input.0" -> '$.input[0]' */
    char path[128] = "$";
    size_t used = 1;
    for (const char *p = k->json; *p && used + 8 < sizeof path;) {
        size_t len = strcspn(p, ".");
        bool index = p[0] >= '0' && p[0] <= '9';
        int w = snprintf(path + used, sizeof path - used, index ? "[%.*s]" : ".%.*s", (int)len, p);
        used += w > 0 ? (size_t)w : 0;
        p += len + (p[len] == '.');
    }
    switch (k->type) {
    case EXP_INT:
    case EXP_BOOL:
        strbuf_addf(b, "CAST(json_extract(r.config_json, '%s') AS INTEGER)", path);
        break;
    case EXP_NUM: strbuf_addf(b, "CAST(json_extract(r.config_json, '%s') AS REAL)", path); break;
    case EXP_LAYERS:
        /* exp_layer_summary in SQL: "conv30x5" (+"sS" when the stride is not 1, "pP" when
         * padded), "maxpool2" (+"sS" when the stride is not the size), "affine100",
         * "dropout0.5", else the type; joined by '-' in the list's order */
        strbuf_addf(b,
            "(SELECT group_concat(part, '-') FROM (SELECT CASE"
            " WHEN t = 'conv' THEN 'conv' || f || 'x' || z"
            "  || CASE WHEN st <> 1 THEN 's' || st ELSE '' END"
            "  || CASE WHEN pd <> 0 THEN 'p' || pd ELSE '' END"
            " WHEN t IN ('maxpool', 'avgpool') THEN t || z"
            "  || CASE WHEN st <> z THEN 's' || st ELSE '' END"
            " WHEN t = 'affine' THEN 'affine' || u"
            " WHEN t = 'dropout' THEN 'dropout' || ra"
            " ELSE t END AS part FROM (SELECT json_extract(l.value, '$.type') AS t,"
            " json_extract(l.value, '$.filters') AS f, json_extract(l.value, '$.size') AS z,"
            " json_extract(l.value, '$.stride') AS st, json_extract(l.value, '$.pad') AS pd,"
            " json_extract(l.value, '$.units') AS u, json_extract(l.value, '$.ratio') AS ra"
            " FROM json_each(r.config_json, '%s') l ORDER BY l.key)))", path);
        break;
    default: strbuf_addf(b, "json_extract(r.config_json, '%s')", path); break;
    }
}

/* b <- the CREATE VIEW statement of runs_flat for this schema. */
static int flat_view_sql(store *s, strbuf *b, err_info *e)
{
    strbuf_addf(b,
        "CREATE VIEW runs_flat AS SELECT r.run_key AS run_key, x.name AS experiment,"
        " x.description AS experiment_description, r.status AS status,"
        " r.archived_at IS NOT NULL AS archived, r.archived_at AS archived_at, r.note AS note,"
        " " TAGS_SQL("r") " AS tags,"
        " b.git_sha AS git_sha, b.git_dirty AS git_dirty, d.sha256 AS dataset_sha256,"
        " h.hostname AS hostname, r.queued_at AS queued_at, r.started_at AS started_at,"
        " r.finished_at AS finished_at, r.wall_s AS run_wall_s, r.cpu_s AS run_cpu_s,"
        " r.train_s AS train_s, r.peak_rss_bytes AS peak_rss_bytes,"
        " r.threads AS threads_used, r.params_sha256 AS params_sha256, r.error AS error,"
        " (SELECT count(*) FROM epochs c WHERE c.run_key = r.run_key) AS epochs_done");
    for (int i = 0; i < exp_vocab_count(); i++) {
        strbuf_addf(b, ", ");
        flat_key_sql(b, exp_vocab_at(i));
        strbuf_addf(b, " AS \"%s\"", exp_vocab_at(i)->label);
    }
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, &st, "PRAGMA main.table_info(epochs)", e);
    if (rc)
        return rc;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *c = col_text(st, 1);
        if (strcmp(c, "run_key") != 0)
            strbuf_addf(b, ", ep.\"%s\" AS \"%s\"", c, c);
    }
    if (step != SQLITE_DONE)
        rc = db_fail(s, e);
    sqlite3_finalize(st);
    strbuf_addf(b,
        " FROM runs r LEFT JOIN experiments x ON x.id = r.experiment_id"
        " LEFT JOIN builds b ON b.id = r.build_id LEFT JOIN hosts h ON h.id = r.host_id"
        " LEFT JOIN datasets d ON d.id = r.dataset_id"
        " LEFT JOIN epochs ep ON ep.run_key = r.run_key"
        " AND ep.epoch = (SELECT max(m.epoch) FROM epochs m WHERE m.run_key = r.run_key)");
    if (rc == 0 && b->oom)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    return rc;
}

/* Make runs_flat as flat_view_sql says, unless it is so already (inside migrate's
 * transaction). */
static int flat_view_refresh(store *s, err_info *e)
{
    strbuf want = {0};
    sqlite3_stmt *st = NULL;
    int rc = flat_view_sql(s, &want, e);
    if (rc == 0)
        rc = prepare(s, &st, "SELECT sql FROM sqlite_schema WHERE type = 'view'"
                     " AND name = 'runs_flat'", e);
    if (rc == 0) {
        int step = sqlite3_step(st);
        const char *have = step == SQLITE_ROW ? col_text(st, 0) : NULL;
        bool same = have && strcmp(have, want.p) == 0;
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            rc = db_fail(s, e);
        sqlite3_finalize(st);
        if (rc == 0 && !same)
            rc = exec_sql(s, "DROP VIEW IF EXISTS runs_flat", e);
        if (rc == 0 && !same)
            rc = exec_sql(s, want.p, e);
        if (rc)
            err_prefix(e, "making the view runs_flat");
    }
    free(want.p);
    return rc;
}
