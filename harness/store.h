/* store: the results database (SQLite), and the only module of bench that touches SQLite.
 *
 * One file (results/bench.db by default) holds experiments, builds, hosts, data sets, runs and
 * their per-epoch metrics. The store owns one connection in WAL mode with foreign
 * keys on and a busy timeout, so that several processes may open the same file; the schema
 * version lives in `PRAGMA user_version` and older files are migrated forward on open. Every
 * statement is prepared with bound parameters: text from users (experiment names, configuration
 * JSON, error messages) is stored verbatim and never becomes SQL.
 *
 * Tables (see the migrations in store.c for the exact columns):
 *   experiments(id, name, file, spec_sha256, spec_text, created_at, swept, budget_minutes,
 *          target_accuracy, description)   unique (name, spec_sha256): one row per version of
 *          a file; swept is the JSON array of its swept keys' labels, in the file's order
 *   builds(id, ident, git_sha, git_branch, git_dirty, git_diff, git_describe, compiler,
 *          compiler_version, cflags, build_type, blas, binary_sha256) ident = hash of all fields
 *   hosts(id, ident, hostname, cpu_model, cpu_flags, cores, ram_bytes, os, kernel)
 *   datasets(id, ident, name, file, sha256, n_images)
 *   runs(run_key PRIMARY KEY, experiment_id, build_id, host_id, dataset_id, config_json, model,
 *        optimizer, lr (the file's double), bn, seed, batch, epochs, sampling, threads, eval_n,
 *        kernels, status, train_s (the sum of its epochs' wall_s, kept by store_epoch_put),
 *        train_cpu_s, quiet_train_s, contended_epochs (likewise: the sums of its epochs' CPU
 *        time and of the wall time of those not contended, and how many were, by timing.h's
 *        rule, which the store's connections know as the SQL function bench_contended),
 *        queued_at, started_at, heartbeat_at, finished_at, wall_s, cpu_s, peak_rss_bytes,
 *        params_sha256, error, diverged_epoch, owner_host, owner_pid, owner_proc,
 *        owner_task, owner_attempt, archived_at, note)   the owner_* columns name who executes
 *        a RUNNING run; archived_at (NULL: not archived) hides a run from the queries below
 *        (store_set_filter), note is the researcher's free text about it
 *   experiment_runs(experiment_id, run_key, position, swept_values, selection)   which
 *        experiments asked for a run: two experiment files that resolve to the same
 *        configuration share one run (same run_key); position is the run's index in that
 *        version's plan, swept_values its value of each swept key (a JSON array in the order
 *        of experiments.swept), selection the decision of the [select] table that chose its
 *        configuration for that experiment (JSON, select.h; NULL: none)
 *   epochs(run_key, epoch, train_loss, train_acc, test_loss, test_acc, precision_macro,
 *          recall_macro, f1_macro, auroc_macro, f1_weighted, wall_s, cpu_s, images_per_s,
 *          wait_s, nivcsw)   times of the training iterations (timing.h)
 *   class_metrics(run_key, epoch, class, precision, recall, f1, support)
 *   confusion(run_key, epoch, true_class, pred_class, count)
 *   run_tags(run_key, key, value)   the researcher's KEY=VALUE labels of a run, one value a key
 *   perf_measurements(id, created_at, build_id, host_id, dataset_id, data, threads,
 *        iterations, batch, kernel_set, unfused, kernels, peak_size, peak_gflops, iter_ms,
 *        gflops, pct_peak, images_per_s, epoch_s, eval_s, peak_rss_bytes, load_before,
 *        load_after, torch_epoch_s, cpu_s, wait_s, nivcsw)   one `bench perf` figure set at
 *        one thread count (cpu_s, wait_s, nivcsw: schema 7)
 *        + peak_kind, peak_core_gflops, kernel_choice, reps, epoch_s_median, epoch_s_max,
 *        torch_epoch_s_median, torch_epoch_s_max, torch_setting (schema 9)
 *   perf_steps(measurement_id, step, layers, fwd_ms, bwd_ms, fwd_gflops, bwd_gflops,
 *        fwd_pct_peak, bwd_pct_peak)   its per-layer profile, one row per step
 *   perf_sgemm(measurement_id, library, shape, m, n, k, trans_a, trans_b, ms, gflops)   the
 *        SGEMM of each library beside it (schema 9)
 * Deleting a run cascades to its links, tags and epochs, and a run's epochs to their
 * class_metrics and confusion rows; deleting a measurement to its steps.
 *
 * One view for other programs: runs_flat, a row per run with every configuration key of the
 * vocabulary (exp.h) as a typed column and the metrics of its last stored epoch, so that
 * `SELECT * FROM runs_flat` (pandas.read_sql) is the whole study. Its SQL is made from the
 * vocabulary and the epochs table's columns (flat_view_sql in store.c) and refreshed whenever a
 * writing open finds it different.
 *
 * Timestamps are UTC ISO-8601 text with milliseconds ("2024-05-01T12:34:56.789Z"), taken from
 * SQLite's clock when the row is written. Statuses are stored as their names (QUEUED, ...), so
 * that the file reads well in the sqlite3 shell.
 *
 * Errors: every failing function returns a negative ERR_* code and fills err_info with one line
 * naming the database path and SQLite's message, e.g.
 *   "database 'results/bench.db': attempt to write a readonly database".
 *
 * Not thread-safe: one store per thread (a store is cheap to open). */
#ifndef BENCH_STORE_H
#define BENCH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct store store;

/* The lifecycle of a run. QUEUED -> RUNNING -> COMPLETED | FAILED | DIVERGED | INTERRUPTED;
 * queueing again resets anything but COMPLETED (and COMPLETED too when forced). */
typedef enum run_status {
    RUN_QUEUED,
    RUN_RUNNING,
    RUN_COMPLETED,
    RUN_FAILED,
    RUN_DIVERGED,
    RUN_INTERRUPTED,
    RUN_STATUS_COUNT
} run_status;

/* store_run_status() result for a run_key that is not in the database. */
#define STORE_ABSENT (-1)

/* The schema version this build writes (PRAGMA user_version after store_open). */
int store_schema_version(void);

/* "QUEUED", "RUNNING", ...; "ABSENT" for STORE_ABSENT; "?" for anything else. */
const char *run_status_name(int status);
/* *out <- the status named name (exact, upper case); ERR_INVALID listing the valid names. */
int run_status_parse(int *out, const char *name, err_info *e);

/* Rows to insert. Strings may be NULL (stored as NULL) unless marked required; the store
 * copies what it needs, the caller keeps ownership. */
typedef struct store_experiment {
    const char *name;        /* required */
    const char *file;        /* the TOML path as given */
    const char *spec_sha256; /* required: hash of spec_text */
    const char *spec_text;   /* the file's contents */
    const char *swept;       /* JSON array of the swept keys' labels in the file's order
                              * ("[\"optimizer\",\"seed\"]"); NULL: not known */
    double budget_minutes;   /* [budget] minutes, <= 0 or NAN: none */
    double target_accuracy;  /* [budget] target_accuracy, <= 0 or NAN: none */
    const char *description; /* [experiment] description, NULL or "": none */
} store_experiment;

typedef struct store_build {
    const char *git_sha;      /* 40 hex digits, or "none" outside a work tree */
    const char *git_branch;   /* branch name or "detached" */
    int git_dirty;            /* 1 when tracked files differ from HEAD */
    const char *git_diff;     /* the diff against HEAD when dirty, else NULL */
    const char *git_describe; /* `git describe --always --dirty` style name, may be NULL */
    const char *compiler;     /* "GNU" */
    const char *compiler_version; /* "12.2.0" */
    const char *cflags;
    const char *build_type;   /* "Release", "Debug", ... */
    const char *blas;         /* gemm_backend() */
    const char *binary_sha256;
} store_build;

typedef struct store_host {
    const char *hostname;
    const char *cpu_model;
    const char *cpu_flags;
    int cores;
    int64_t ram_bytes;
    const char *os;
    const char *kernel;
} store_host;

typedef struct store_dataset {
    const char *name;   /* required: "mnist", "fashion-mnist", "idx:<dir>" */
    const char *file;   /* directory or file the data came from */
    const char *sha256; /* required: a digest over the data set's files */
    int64_t n_images;
} store_dataset;

/* One run as queued. Ids come from the *_put functions (0 = unknown, stored as NULL). */
typedef struct store_run {
    const char *run_key;     /* required: hash of everything that determines the result */
    int64_t experiment_id;
    int64_t build_id;
    int64_t host_id;
    int64_t dataset_id;
    const char *config_json; /* required: the full resolved configuration */
    const char *model;       /* preset name or "custom" */
    const char *optimizer;
    double lr;
    int bn;                  /* 0/1 */
    int64_t seed;
    int batch;
    int epochs;
    const char *sampling;    /* "with-replacement" or "shuffle" */
    int threads;
    int64_t eval_n;          /* test images evaluated after each epoch (0 = all) */
    const char *kernels;     /* which conv/gemm kernels the core used, may be NULL */
    int position;            /* its index in the experiment's plan (with experiment_id) */
    const char *swept_values; /* JSON array of its value of each swept key, typed, in the order
                               * of the experiment's swept keys; NULL: not known */
    const char *selection;   /* JSON of the experiment's [select] decision that chose its
                              * configuration (select.h), kept with the link; NULL: none */
} store_run;

/* One epoch's metrics, with k per-class rows and a k×k confusion matrix. The arrays may be
 * NULL when k == 0. */
typedef struct store_epoch {
    const char *run_key;
    int epoch;               /* 1-based */
    double train_loss, train_acc, test_loss, test_acc;
    double precision_macro, recall_macro, f1_macro, auroc_macro, f1_weighted;
    double wall_s, cpu_s, images_per_s; /* of the training iterations (evaluation excluded):
                              * elapsed, CPU of all threads (user + system) */
    double wait_s;           /* run-queue wait of its threads (timing.h); NAN unknown (NULL) */
    int64_t nivcsw;          /* involuntary context switches; -1 unknown (NULL) */
    int k;                   /* number of classes */
    const double *precision; /* (k) */
    const double *recall;    /* (k) */
    const double *f1;        /* (k) */
    const int64_t *support;  /* (k) true examples per class */
    const int64_t *confusion; /* (k,k) row = true class, column = predicted class */
} store_epoch;

/* How a run ended, for store_run_finish. */
typedef struct store_run_end {
    int status;              /* RUN_COMPLETED, RUN_FAILED, RUN_DIVERGED or RUN_INTERRUPTED */
    double wall_s, cpu_s;
    int64_t peak_rss_bytes;
    const char *params_sha256; /* checksum of the trained parameter block, may be NULL */
    const char *error;        /* one-line message for FAILED/DIVERGED, else NULL */
    int diverged_epoch;       /* epoch whose loss became non-finite, 0 if none */
} store_run_end;

/* One step of a `bench perf` profile: a layer, or a fused group of layers run as one. */
typedef struct store_perf_step {
    int step;               /* index of its first layer; the layer count for the loss */
    const char *layers;     /* required: "conv+relu+maxpool", "affine", "softmax-xent" */
    double fwd_ms, bwd_ms;  /* milliseconds per iteration */
    double fwd_gflops, bwd_gflops;     /* NAN for steps without flops (memory-bound) */
    double fwd_pct_peak, bwd_pct_peak; /* percent of the measured peak, NAN likewise */
} store_perf_step;

/* One SGEMM timing beside a `bench perf` measurement. */
typedef struct store_perf_sgemm {
    const char *library;    /* required: "bench avx512-6x64", "blis-zen3", "openblas-..." */
    const char *shape;      /* required: "2000^3", "4320->100 fwd", ... */
    int m, n, k;
    int trans_a, trans_b;
    double ms, gflops;
} store_perf_sgemm;

/* One `bench perf` measurement at one thread count. Figures that were not measured are NAN
 * (stored as NULL): a 1-thread measurement taken beside an N-thread one has no peak, per-step
 * profile or evaluation time of its own. Measurements before schema 9 have peak_kind "sgemm"
 * (peak_gflops was an SGEMM through the linked BLAS); since, the peak is physical. */
typedef struct store_perf {
    int64_t build_id, host_id;  /* 0 = unknown (NULL) */
    int64_t dataset_id;         /* 0 for synthetic data */
    const char *data;           /* required: "synthetic" or the data set's name */
    int threads, iterations, batch;
    const char *kernel_set;     /* required: the --kernels choice, "auto" or "generic" */
    int unfused;                /* 1 when every layer ran on its own (--unfused) */
    const char *kernels;        /* net_kernels(): the kernels the network ran, may be NULL */
    int peak_size;              /* n of the n^3 SGEMM of the library table, 0 when none */
    const char *peak_kind;      /* "fma-avx512", "fma-avx2", "sse" (physical: kern_fma_peak),
                                 * "sgemm" (old rows); NULL when no peak was measured */
    double peak_gflops;         /* the peak at this thread count */
    double peak_core_gflops;    /* the physical peak of one thread */
    const char *kernel_choice;  /* why the kernel set was chosen (perf_choose), may be NULL */
    double iter_ms;             /* one whole training iteration (forward, backward, step) */
    double gflops, pct_peak;    /* achieved by the whole iteration; percent of peak_gflops */
    double images_per_s, epoch_s; /* epoch = the training set; epoch_s the fastest repetition */
    int reps;                   /* alternated repetitions behind epoch_s, 0 = unknown */
    double epoch_s_median, epoch_s_max;
    double eval_s;              /* inference over 10,000 images */
    int64_t peak_rss_bytes;     /* of the measuring process, 0 = unknown */
    double load_before, load_after; /* 1-minute load average around the measurement */
    double torch_epoch_s;       /* PyTorch's s/epoch (bench perf --torch): fastest repetition,
                                 * else NAN */
    double torch_epoch_s_median, torch_epoch_s_max;
    const char *torch_setting;  /* its fastest setting, e.g. "torch 1.13.1, 1 thread" */
    double cpu_s, wait_s;       /* CPU time and run-queue wait of its timed iterations
                                 * (timing.h: contended when wait > 10% of CPU); NAN unknown */
    int64_t nivcsw;             /* their involuntary context switches; -1 unknown */
    int n_steps;
    const store_perf_step *steps; /* (n_steps), may be NULL when n_steps == 0 */
    int n_sgemm;
    const store_perf_sgemm *sgemm; /* (n_sgemm), may be NULL when n_sgemm == 0 */
} store_perf;

/* Who executes a RUNNING run. A store writes as the process that opened it; every write to a
 * run after its claim (epochs, heartbeats, the end) checks that the run is still RUNNING under
 * the same host, pid and process instance, and fails with ERR_CONFLICT, writing nothing, when
 * another process has taken it over. */
typedef struct store_owner {
    char host[256];  /* gethostname() */
    int64_t pid;
    char proc[96];   /* "<boot id>/<start time in ticks>": this process instance, even after
                      * its pid is reused; "" when /proc cannot tell */
    char task[192];  /* the Slurm task: "<cluster>/<array job>_<array task>", or
                      * "<cluster>/<job>" outside an array; "" outside Slurm */
    int attempt;     /* SLURM_RESTART_COUNT: how often that task was requeued */
} store_owner;

/* *o <- this process, from gethostname, getpid, /proc and the SLURM_* environment variables. */
void store_owner_self(store_owner *o);

/* Write as owner o instead of the process (store_owner_self() at open). For tests that play
 * another process, host or Slurm attempt. */
void store_set_owner(store *s, const store_owner *o);

/* ---- opening ---------------------------------------------------------------------------- */

/* Open (creating if missing, with its parent directory) the database at path for writing,
 * switch it to WAL, turn foreign keys on, set a busy timeout and migrate its schema to
 * store_schema_version(). Errors: ERR_IO when the file or directory cannot be created or the
 * file is read-only ("database 'p' is read-only"), ERR_FORMAT when it is not a database or
 * its schema is newer than this build. *out is NULL on failure. */
int store_open(store **out, const char *path, err_info *e);

/* Open an existing database read-only (for ls/show/report). Does not create or migrate:
 * a missing file is ERR_IO, a schema other than the current one ERR_FORMAT. */
int store_open_readonly(store **out, const char *path, err_info *e);

/* Close the connection (rolling back an open transaction); NULL is a no-op. */
void store_close(store *s);

/* The path given to store_open (owned by the store). */
const char *store_path(const store *s);

/* Explicit transactions around several calls (BEGIN IMMEDIATE / COMMIT / ROLLBACK). The
 * store's own multi-statement writes nest inside them as savepoints. */
int store_begin(store *s, err_info *e);
int store_commit(store *s, err_info *e);
int store_rollback(store *s, err_info *e);

/* ---- upserts ---------------------------------------------------------------------------- */

/* *id <- the row of an equal record, inserting it first when absent. Experiments are equal
 * when name and spec_sha256 are (a version recorded by an older bench gets its swept keys and
 * budget filled in); builds, hosts and data sets when every field is. */
int store_experiment_put(store *s, int64_t *id, const store_experiment *x, err_info *e);
int store_build_put(store *s, int64_t *id, const store_build *b, err_info *e);
int store_host_put(store *s, int64_t *id, const store_host *h, err_info *e);
int store_dataset_put(store *s, int64_t *id, const store_dataset *d, err_info *e);

/* ---- run lifecycle ---------------------------------------------------------------------- */

/* *status <- the run's status, or STORE_ABSENT. */
int store_run_status(store *s, int *status, const char *run_key, err_info *e);

/* Queue a run. *prev_status (may be NULL) <- its status before the call, or STORE_ABSENT.
 * - absent: inserted as QUEUED;
 * - COMPLETED and !force: left untouched (the caller skips it);
 * - otherwise: reset to QUEUED with r's fields, timing/result columns cleared and all its
 *   epochs (with their class and confusion rows) deleted, so that the rerun starts clean.
 * In every case r->experiment_id (when non-zero) is linked to the run in experiment_runs, with
 * its position, swept values and selection (store_run_link).
 * A RUNNING run is reset like the others: the caller first retires runs of dead processes with
 * store_mark_stale() and must not queue a run that another live process is executing (shards
 * of one sweep are disjoint, so this holds for `bench run --shard`). */
int store_run_queue(store *s, int *prev_status, const store_run *r, bool force, err_info *e);

/* List an existing run under an experiment (experiment_runs) at position with swept_values
 * and selection (each may be NULL: an earlier link's is kept), changing nothing else: for a
 * run another process is executing, which the experiment shares but must not queue. */
int store_run_link(store *s, int64_t experiment_id, const char *run_key, int position,
                   const char *swept_values, const char *selection, err_info *e);

/* Claim a QUEUED run: RUNNING, started_at = heartbeat_at = now, owned by the store's owner
 * (the coordinator process that calls it), and *claimed = true. The claim is one conditional
 * UPDATE, so of two coordinators that planned the same run (two experiment files sharing it,
 * started at the same time) exactly one gets it; a run no longer QUEUED is left alone with
 * *claimed = false. ERR_INVALID when the run is absent. */
int store_run_start(store *s, const char *run_key, bool *claimed, err_info *e);

/* heartbeat_at = now, for a run this store's owner executes. ERR_INVALID when the run is
 * absent, ERR_CONFLICT (nothing written) when it is not RUNNING under this owner any more. */
int store_run_heartbeat(store *s, const char *run_key, err_info *e);

/* Record one epoch atomically: the epoch row, its k class_metrics rows and its k*k confusion
 * rows (replacing an earlier record of the same epoch), the run's heartbeat and its sums
 * (train_s, train_cpu_s, quiet_train_s, contended_epochs). Only for a run RUNNING under this
 * store's owner: else
 * ERR_CONFLICT and nothing is written. */
int store_epoch_put(store *s, const store_epoch *ep, err_info *e);

/* The run ends: status, finished_at = now, timings, checksum and error text. Only for a run
 * RUNNING under this store's owner: a process that lost its run (taken over while it was
 * stopped, say) gets ERR_CONFLICT and cannot overwrite the result the other one recorded. */
int store_run_finish(store *s, const char *run_key, const store_run_end *end, err_info *e);

/* RUNNING runs whose heartbeat is older than stale_after_s seconds become INTERRUPTED
 * (their process died without saying so, on another host), except runs whose owner is alive
 * on this host: a process stopped with Ctrl-Z writes no heartbeat but is not dead, and never
 * stale. *n_marked (may be NULL) <- how many. */
int store_mark_stale(store *s, int *n_marked, double stale_after_s, err_info *e);

/* RUNNING runs whose owner is certainly gone become INTERRUPTED at once: a process of this
 * host that no longer exists (a coordinator killed with SIGKILL; a pid now used by another
 * process counts as gone), or an earlier attempt of this store's Slurm task (the task was
 * requeued, perhaps onto another node). *n_marked (may be NULL) <- how many. */
int store_reclaim_orphans(store *s, int *n_marked, err_info *e);

/* The given runs, where QUEUED or RUNNING under this store's owner, become INTERRUPTED
 * (Ctrl-C of the coordinator); runs another process took over are left alone.
 * *n_marked (may be NULL) <- how many changed. */
int store_interrupt_running(store *s, int *n_marked, const char *const *keys, int n,
                            err_info *e);

/* ---- speed measurements ---------------------------------------------------------------- */

/* Record one measurement and its steps atomically (inside the caller's transaction, when one
 * is open, as a savepoint): on any error nothing of it remains. *id (may be NULL) <- its row. */
int store_perf_put(store *s, int64_t *id, const store_perf *p, err_info *e);

/* A measurement as read back, with the revision of its build. Strings are valid during the
 * callback only; m.steps is NULL (see store_perf_steps) and m.n_steps the stored count. */
typedef struct store_perf_row {
    int64_t id;
    const char *created_at;
    const char *git_sha;        /* NULL without a recorded build */
    int git_dirty;
    const char *dataset_sha256; /* NULL for synthetic data */
    store_perf m;
} store_perf_row;
typedef int (*store_perf_fn)(void *ctx, const store_perf_row *row);

/* Visit every measurement, oldest first (created_at, then id). */
int store_perfs(store *s, store_perf_fn fn, void *ctx, err_info *e);

/* Visit the steps of measurement id in step order (none is not an error). */
typedef int (*store_perf_step_fn)(void *ctx, const store_perf_step *step);
int store_perf_steps(store *s, int64_t id, store_perf_step_fn fn, void *ctx, err_info *e);

/* Visit the SGEMM timings of measurement id in the order they were recorded. */
typedef int (*store_perf_sgemm_fn)(void *ctx, const store_perf_sgemm *g);
int store_perf_sgemms(store *s, int64_t id, store_perf_sgemm_fn fn, void *ctx, err_info *e);

/* ---- merging databases (bench merge) ------------------------------------------------------ */

/* What store_merge did with a source's runs. */
typedef struct store_merge_counts {
    int runs_added;    /* keys the destination did not have */
    int runs_replaced; /* the destination's copy replaced by the source's better one */
    int runs_kept;     /* the destination's copy kept: as good or better */
    int perf_added;    /* bench perf measurements the destination did not have */
} store_merge_counts;

/* Check, reading only, that the databases paths[0..n) can be merged into s: each exists, is a
 * bench database of this schema version and has only tables merge knows, and no run key is
 * COMPLETED with two different parameter hashes anywhere among s and them (a determinism
 * failure: the same key gave two results; the message names the key and both files).
 * ERR_IO, ERR_FORMAT or ERR_INVALID otherwise. s must have no transaction open. */
int store_merge_check(store *s, const char *const *paths, int n, err_info *e);

/* Merge the database at path into s, in one transaction (ATTACH, so s must have no
 * transaction open): experiments, builds, hosts and data sets by their natural keys (of two
 * versions of an experiment the earlier created stays); runs by run key, where the better
 * copy wins whichever file holds it: COMPLETED over DIVERGED over FAILED over unfinished,
 * then more stored epochs, then the earlier one; a run copied comes with its epochs, class
 * metrics and confusion cells, and experiment links are united; perf measurements (with their
 * steps and SGEMM timings) are added unless an equal one exists. Merging is idempotent and gives the same
 * contents in any order of the sources. Call store_merge_check first: store_merge itself
 * does not refuse two different COMPLETED copies (the first one stays). c accumulates. */
int store_merge(store *s, store_merge_counts *c, const char *path, err_info *e);

/* ---- what the queries see ------------------------------------------------------------------ */

/* A tag of a run (run_tags), or a condition on one. */
typedef struct store_tag {
    const char *key;   /* required */
    const char *value; /* as a condition, NULL: any value */
} store_tag;

/* Which runs the queries over many runs see. */
typedef struct store_filter {
    bool archived;         /* archived runs too (--archived); by default they are hidden */
    int n_tags;
    const store_tag *tags; /* (n_tags) a run must carry every one (--tag KEY=VALUE) */
} store_filter;

/* From now on store_runs, store_report_runs, store_experiments' run counts and store_export
 * see only the runs f lets through; f NULL restores the default: every run that is not
 * archived. What one run key names (store_run_get, store_run_resolve, store_epochs...) is
 * always seen. The store copies f. ERR_NOMEM when out of memory. */
int store_set_filter(store *s, const store_filter *f, err_info *e);

/* ---- managing runs (bench rm, archive, tag, note) ------------------------------------------ */

/* *live <- whether run_key is RUNNING under a process that may still write it: on this host
 * a process that exists (the same test as a takeover's), on another host one whose
 * heartbeat is younger than stale_after_s; who (n bytes, may be NULL) <- "process 123 on
 * 'host'". ERR_INVALID when the run is absent. */
int store_run_live(store *s, bool *live, char *who, size_t n, const char *run_key,
                   double stale_after_s, err_info *e);

/* Remove run_key, atomically. With experiment NULL the run is deleted with everything of it
 * (links, tags, epochs, class rows, confusion cells). With an experiment name, the run is
 * unlinked from that experiment's versions and deleted only when no other experiment links it
 * (a run two experiment files share stays with the other); a run whose creating experiment
 * was unlinked is credited to one that still links it. Experiment versions left without runs
 * are deleted too. *deleted (may be NULL) <- whether the run itself went. ERR_CONFLICT,
 * nothing changed, when the run is live (store_run_live with stale_after_s); ERR_INVALID when
 * it is absent or experiment does not link it. */
int store_run_remove(store *s, bool *deleted, const char *run_key, const char *experiment,
                     double stale_after_s, err_info *e);

/* Archive run_key (archived_at = now; an archived run keeps its date) or bring it back.
 * ERR_INVALID when absent. */
int store_run_archive(store *s, const char *run_key, bool archived, err_info *e);

/* Set tag key of run_key to value (replacing its value), or remove it (value NULL; removing
 * an absent tag is no error). ERR_INVALID when the run is absent. */
int store_tag_set(store *s, const char *run_key, const char *key, const char *value,
                  err_info *e);

/* Visit the tags of run_key in key order (strings valid during the callback). */
typedef int (*store_tag_fn)(void *ctx, const store_tag *t);
int store_tags(store *s, const char *run_key, store_tag_fn fn, void *ctx, err_info *e);

/* Set the note of run_key (NULL or "": no note). ERR_INVALID when the run is absent. */
int store_note_set(store *s, const char *run_key, const char *note, err_info *e);

/* Visit the names of the experiments that link run_key (one per name, in order of their
 * first version). */
typedef int (*store_name_fn)(void *ctx, const char *name);
int store_run_experiments(store *s, const char *run_key, store_name_fn fn, void *ctx,
                          err_info *e);

/* ---- export --------------------------------------------------------------------------------- */

/* One row of store_export: a run at one of its epochs. Strings valid during the callback. */
typedef struct store_export_row {
    const char *run_key;
    const char *experiment;     /* the experiment asked for, else the run's creating one */
    const char *config_json;
    int status;
    const char *git_sha;        /* of its build, NULL without one */
    int git_dirty;
    const char *dataset_sha256; /* of its data set, NULL without one */
    const char *archived_at, *note; /* NULL when not archived / no note */
    const char *tags;           /* JSON object {"key": "value"} of its tags, NULL without */
    const store_epoch *epoch;   /* the epoch's metrics (no per-class arrays), NULL for a run
                                 * without epochs (one row) */
} store_export_row;
typedef int (*store_export_fn)(void *ctx, const store_export_row *row);

/* Visit every run the filter lets through (linked to experiment when not NULL, in status when
 * status >= 0) at each of its epochs, ordered by run key and epoch. One query, streamed in
 * the order of the tables' keys: memory does not grow with the runs. */
int store_export(store *s, const char *experiment, int status, store_export_fn fn, void *ctx,
                 err_info *e);

/* ---- queries (for ls, show and reports) ------------------------------------------------- */

/* A run as read back. Strings point into the store's statement and are valid only during
 * the callback; copy what you keep. Absent values are NULL / 0 / NAN as noted. */
typedef struct store_run_row {
    const char *run_key;
    int64_t experiment_id;        /* the experiment the row was visited through (or created by) */
    const char *experiment_name;  /* NULL when the run has no experiment */
    const char *config_json;
    const char *model, *optimizer, *sampling, *kernels;
    double lr;
    int bn, batch, epochs, threads;
    int64_t eval_n, seed;
    int status;
    const char *queued_at, *started_at, *heartbeat_at, *finished_at; /* NULL when unset */
    double wall_s, cpu_s;         /* NAN when unset */
    int64_t peak_rss_bytes;       /* 0 when unset */
    const char *params_sha256, *error;
    int diverged_epoch;
    int epochs_done;              /* epoch rows stored */
    double last_test_acc;         /* test_acc of the highest stored epoch, NAN if none */
    int64_t build_id, host_id, dataset_id; /* 0 when unset */
    const char *git_sha;          /* its build's commit, NULL without a build */
    int git_dirty;                /* its build had uncommitted changes */
    int contended_epochs;         /* epochs contended (timing.h), 0 when none or unknown */
    const char *archived_at;      /* when it was archived, NULL when it is not */
    const char *note;             /* the researcher's note, NULL when none */
    const char *experiment_description; /* of the experiment version, NULL when none */
    const char *swept_values;     /* its link's swept values (JSON array), NULL when unknown */
    const char *swept;            /* the version's swept keys (JSON array), NULL when unknown */
    const char *tags;             /* JSON object {"key": "value"} of its tags, NULL without */
    const char *selection;        /* the [select] decision that chose it (JSON): this experiment's
                                   * link's, else the newest link's; NULL when none */
} store_run_row;

/* Called once per row; a non-zero return stops the iteration and is returned by the caller. */
typedef int (*store_run_fn)(void *ctx, const store_run_row *row);

/* Visit runs ordered by experiment (id), then queue time and run_key. With experiment
 * non-NULL, only runs linked to experiments of that name; a run linked to several experiments
 * is visited once per experiment. status_filter = -1 for all statuses. */
int store_runs(store *s, const char *experiment, int status_filter, store_run_fn fn, void *ctx,
               err_info *e);

/* run_key_out <- the run whose key equals prefix, else the unique run whose key starts with
 * prefix (at least 4 characters, like an abbreviated git SHA). ERR_INVALID when none or
 * several match (the message says which). Keys longer than STORE_KEY_MAX-1 are ERR_INVALID. */
#define STORE_KEY_MAX 128
int store_run_resolve(store *s, char run_key_out[STORE_KEY_MAX], const char *prefix,
                      err_info *e);

/* Visit one run (exact key); ERR_INVALID when absent. */
int store_run_get(store *s, const char *run_key, store_run_fn fn, void *ctx, err_info *e);

/* Provenance of a run: the build, host and data set rows it refers to. Strings are valid
 * during the callback only; a missing row leaves that pointer NULL. */
typedef struct store_provenance {
    const store_build *build;     /* NULL when the run has no build */
    const store_host *host;
    const store_dataset *dataset;
    const char *experiment_name, *experiment_file, *experiment_sha256, *experiment_created_at;
} store_provenance;
typedef int (*store_provenance_fn)(void *ctx, const store_provenance *p);
int store_run_provenance(store *s, const char *run_key, store_provenance_fn fn, void *ctx,
                         err_info *e);

/* Visit a run's epochs in order. Per-class arrays are filled (k > 0) only when
 * with_classes is true; the arrays live until the callback returns. */
typedef int (*store_epoch_fn)(void *ctx, const store_epoch *ep);
int store_epochs(store *s, const char *run_key, bool with_classes, store_epoch_fn fn, void *ctx,
                 err_info *e);

/* One version of an experiment (a name with one spec text) as read back. Strings are valid
 * during the callback only. */
typedef struct store_experiment_row {
    int64_t id;
    const char *name, *file, *spec_sha256, *spec_text, *created_at; /* NULL when unset */
    const char *swept;            /* JSON array of the swept keys' labels; NULL: the version
                                   * was recorded by a bench that did not store them */
    double budget_minutes, target_accuracy; /* NAN when none */
    int version, n_versions;      /* its number among the versions of its name (1 = oldest) */
    int n_runs;                   /* runs linked to this version (experiment_runs) */
    int n_own;                    /* of those, the runs no newer version of the name links:
                                   * a run is reported under the newest version planning it
                                   * (both counts see only the runs store_set_filter lets
                                   * through) */
    const char *description;      /* [experiment] description, NULL when none was stored */
} store_experiment_row;
typedef int (*store_experiment_fn)(void *ctx, const store_experiment_row *x);

/* Visit experiment versions, the versions of one name together in id order (the order they
 * were first run), names in the order of their first version; all of them when name is NULL,
 * else those called name (none is not an error: the callback is not called). */
int store_experiments(store *s, const char *name, store_experiment_fn fn, void *ctx,
                      err_info *e);

/* One run of an experiment version as a report reads it, with its figures at one epoch.
 * Strings are valid during the callback only. */
typedef struct store_report_row {
    const char *run_key;
    int position;                 /* in the version's plan; -1 when not recorded */
    const char *swept_values;     /* JSON array (experiment_runs.swept_values), may be NULL */
    const char *config_json;
    const char *config_noseed;    /* config_json without its "seed": equal for the runs of one
                                   * configuration */
    int status;
    int64_t build_id, host_id, dataset_id; /* 0 when unset */
    const char *git_sha;          /* of its build, NULL without one */
    int git_dirty;
    const char *kernels, *started_at; /* NULL when unset */
    int threads, diverged_epoch;
    int64_t peak_rss_bytes;       /* 0 when unset */
    int epochs_done;              /* epoch rows stored */
    int epoch;                    /* the reported epoch, 0 when the run has not stored it */
    double acc, precision, recall, f1; /* at that epoch; NAN without it */
    double train_s;               /* sum of wall_s over epochs 1..epoch (NAN without it) */
    const char *queued_at;        /* with position, the plan order */
    int64_t seed;                 /* runs.seed, when has_seed */
    bool has_seed;
    /* over epochs 1..epoch, for the gate time (timing.h); NAN / 0 without it */
    double train_cpu_s;           /* sum of cpu_s */
    double quiet_train_s;         /* sum of wall_s of the epochs not contended */
    int contended_epochs;         /* epochs contended */
} store_report_row;
typedef int (*store_report_fn)(void *ctx, const store_report_row *row);

/* Visit the runs reported under experiment version version_id: those it links that no newer
 * version of the same name links, each at epoch (0: its last stored epoch), in no particular
 * order (position, then queued_at, is the plan's). One query, streamed: neither SQLite nor
 * the store holds the rows, so memory does not grow with the runs. */
int store_report_runs(store *s, int64_t version_id, int epoch, store_report_fn fn, void *ctx,
                      err_info *e);

/* One run of an experiment as a [select] table reads it (select.h). Strings are valid during
 * the callback only. */
typedef struct store_select_row {
    int64_t version_id;           /* the experiment version that links it */
    const char *file;             /* that version's file, as given to bench run */
    const char *swept;            /* that version's swept keys (JSON array), NULL: unknown */
    int position;                 /* in that version's plan, -1 when not recorded */
    const char *swept_values;     /* its value of each swept key (JSON array), may be NULL */
    const char *run_key, *config_json;
    const char *dataset_sha256;   /* of its data set, NULL without one */
    int status;
    double acc, f1;               /* test (or validation) accuracy and macro F1 at its final
                                   * epoch (runs.epochs), NAN when that epoch is not stored */
} store_select_row;
typedef int (*store_select_fn)(void *ctx, const store_select_row *row);

/* Visit every run linked to a version of the experiment called name, by version (oldest
 * first), then plan position, then run key. None is not an error. */
int store_select_runs(store *s, const char *name, store_select_fn fn, void *ctx, err_info *e);

/* One run that an experiment's [select] decision configured, as `bench report --selections`
 * reads it (valtest.h). Strings are valid during the callback only. */
typedef struct store_selection_row {
    int64_t version_id;           /* the experiment version that links it */
    const char *experiment;       /* that version's name */
    const char *selection;        /* the decision on its link (JSON, select.h) */
    const char *run_key;
    int status;
    int64_t seed;
    int64_t validation;           /* its configuration's data.validation (0: the test set) */
    const char *dataset;          /* its configuration's data set name, NULL when absent */
    const char *from_dataset;     /* the data set name of the decision's winner's first run,
                                   * NULL when that run is not in the database */
    double acc, f1;               /* accuracy and macro F1 at its final epoch (runs.epochs),
                                   * NAN when that epoch is not stored */
} store_selection_row;
typedef int (*store_selection_fn)(void *ctx, const store_selection_row *row);

/* Visit the runs whose link carries a [select] decision, of the newest version of each
 * experiment name that has such links: names in the order of their first version, then plan
 * position, then run key. Runs hidden by store_set_filter are left out. None is not an
 * error. */
int store_selection_runs(store *s, store_selection_fn fn, void *ctx, err_info *e);

/* Visit epoch `epoch` of a run, with its per-class rows when with_classes; a run without that
 * epoch is not an error (fn is not called). */
int store_epoch_get(store *s, const char *run_key, int epoch, bool with_classes,
                    store_epoch_fn fn, void *ctx, err_info *e);

#endif
