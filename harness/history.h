/* history: results over commits. `bench history` shows, per experiment and per configuration
 * of it, the completed runs of each build (git revision) oldest first: test accuracy and
 * training time (mean ± sd), and a mark where either moved beyond the noise across seeds;
 * `bench history --perf` shows the speed `bench perf` recorded per revision and setup.
 *
 * Rows come from report_load, so history never averages what a report would not: one row is
 * the runs of one configuration (configuration JSON without the seed) built by one build; the
 * experiment's versions (its file changed) are merged, since a changed file does not change
 * the runs it shares with the old one. Configurations are labelled as the newest version's
 * report labels them, without the revision.
 *
 * The noise rule (history_moved): a mean moved between revisions p and c when |mean_c -
 * mean_p| > 2 * pooled sd, pooled = sqrt(((n_p-1) sd_p^2 + (n_c-1) sd_c^2) / (n_p + n_c - 2));
 * when both have one run, the pooled sd of every earlier revision of the same configuration
 * (or setup) replaces it; no mark when no spread is known at all. */
#ifndef BENCH_HISTORY_H
#define BENCH_HISTORY_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "err.h"
#include "stats.h"
#include "store.h"
#include "table.h"

/* The runs of one configuration built by one build. */
typedef struct history_row {
    int64_t build_id;           /* 0 for runs without a recorded build */
    char git_sha[48];           /* "none" without one */
    bool git_dirty;
    char date[32];              /* started_at of its first run */
    stats_summary acc, train_s; /* COMPLETED runs at their last epoch */
    bool acc_moved, time_moved; /* beyond the noise relative to the previous row */
} history_row;

/* One configuration of an experiment and its rows, oldest first. */
typedef struct history_config {
    char *label;                /* "optimizer=adam bn=true"; "all" for an only one; owned */
    json_t *values;             /* its label's keys and typed values; owned */
    char *config;               /* configuration JSON without the seed; owned */
    int n, cap;
    history_row *rows;          /* (n); owned */
} history_config;

typedef struct history_set {
    char experiment[128];
    int n, cap;
    history_config *configs;    /* (n) in the newest version's plan order; owned */
} history_set;

/* The noise rule above, exposed for tests; fallback_sd is NAN when no earlier spread exists. */
bool history_moved(const stats_summary *prev, const stats_summary *cur, double fallback_sd);

/* *out <- the history of experiment (by name, every version). ERR_INVALID for an unknown
 * experiment; store errors. Release with history_release (also after a failure). */
int history_load(history_set *out, store *s, const char *experiment, err_info *e);
void history_release(history_set *h);

/* Write the histories of n experiments (a section each, a sub-table per configuration when
 * there are several; CSV: one table; JSON: one document) and the rule for the marks. */
int history_render(FILE *f, const history_set *sets, int n, table_format fmt, err_info *e);

/* ---- speed (bench history --perf) ------------------------------------------------------- */

/* The `bench perf` measurements of one setup made by one revision. A revision is a commit
 * and whether its tree was dirty: "abc1234-dirty" is not the code of "abc1234". */
typedef struct history_perf_revision {
    char git_sha[48];           /* "none" without a recorded build */
    bool git_dirty;
    char date[32];              /* created_at of its first measurement */
    int n;                      /* measurements */
    stats_summary epoch_s;      /* seconds per epoch; .min is the best */
    stats_summary images_per_s;
    stats_summary pct_peak;     /* whole iteration, percent of the measured peak; over the
                                 * measurements that have a peak (n may be smaller) */
    int moved;                  /* +1 slower, -1 faster than the previous revision
                                 * (history_moved on epoch_s), 0 no mark */
} history_perf_revision;

/* Measurements that compare: same thread count, batch, data and kernel options. */
typedef struct history_perf_setup {
    int threads, batch;
    char data[128];             /* "synthetic" or the data set's name */
    char kernel_set[16];        /* "auto" or "generic" (bench perf --kernels) */
    bool unfused;
    int n;
    history_perf_revision *rows; /* (n), oldest first; owned */
} history_perf_setup;

/* *out (malloc'd, *n setups ordered by threads, batch, data, kernel set, unfused) <- every
 * measurement of s, grouped by setup, then by revision in order of first measurement, with
 * the marks of history_moved (fallback: the pooled sd of the setup's earlier revisions). No
 * measurement is *n = 0, not an error. Free with history_perf_free. */
int history_perf_load(history_perf_setup **out, int *n, store *s, err_info *e);
void history_perf_free(history_perf_setup *v, int n);

/* Write the setups (one section each; CSV: one table with the setup's columns; JSON: one
 * document) and the rule for the marks. */
int history_perf_render(FILE *f, const history_perf_setup *v, int n, table_format fmt,
                        err_info *e);

#endif
