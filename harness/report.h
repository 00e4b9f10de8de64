/* report: what `bench report`, `bench check` and `bench history` read out of the results
 * database, aggregated over seeds and rendered for people and for scripts.
 *
 * Loading (report_load): the runs of each experiment are read through the store, each at one
 * epoch (the last stored, or --epoch N), and grouped by configuration. The grouping keys are
 * by default the keys the experiment's file swept, except the seed (the experiment's TOML text
 * is stored with it and re-parsed with exp_parse); --group-by overrides them. A key is a short
 * sweep name (optimizer, bn, lr, batch, ...; see report_key_names) mapped to a field of the
 * run's resolved configuration JSON (optimizer -> optimizer.kind, lr -> optimizer.lr, ...), or
 * a dotted path into that JSON ("optimizer.beta1").
 *
 * Per group only COMPLETED runs that reached the reported epoch are aggregated: test accuracy
 * (n, mean, sd, Student-t 95% CI, best, worst), macro precision, recall and F1, training time
 * per run (the sum of the epochs' wall_s up to the reported epoch, evaluation excluded) and
 * per epoch. DIVERGED and FAILED runs are counted separately and never averaged in; QUEUED,
 * RUNNING and INTERRUPTED runs are counted as unfinished.
 *
 * Comparisons: two groups are compared when they differ in exactly one grouping key and both
 * have n >= 2: the difference of mean test accuracy (first minus second, in group order) with
 * Welch's 95% CI and p-value, Holm-corrected across every comparison of the report.
 *
 * Two other views of the same load replace the groups when asked: the runs one per row
 * (opt.runs: run key, revision, configuration, status, accuracy, F1, epochs, training time,
 * threads, peak RSS) in the order the experiment's file plans them, and their provenance
 * (opt.provenance: the distinct builds, hosts and data sets the runs used, with run counts).
 *
 * Formats (documented with their columns in README.md, "Report formats"): an aligned table for
 * terminals, Markdown, CSV (one header line, one row per group, numbers in full precision,
 * empty field for a missing value; fractions, not percentages) and JSON (one document, null
 * for a missing value). Table and Markdown show accuracies in percent. */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "stats.h"
#include "store.h"
#include "timing.h"

#define REPORT_MAX_KEYS 16
#define REPORT_KEY_MAX 64
#define REPORT_VALUE_MAX 64
#define REPORT_MAX_CLASSES 1024

typedef enum report_format { REPORT_TABLE, REPORT_MD, REPORT_CSV, REPORT_JSON } report_format;

/* *out <- the format called name ("table", "md", "csv", "json"); ERR_INVALID listing them. */
int report_format_parse(report_format *out, const char *name, err_info *e);

/* "dataset, validation, model, bn, ...": the short key names --group-by accepts. */
const char *report_key_names(void);

typedef struct report_options {
    const char *experiment; /* NULL: every experiment in the database, one section each */
    const char *group_by;   /* comma list of keys; NULL: the swept keys but seed; "": one group */
    int epoch;              /* report at this epoch (1-based); 0: each run's last stored epoch */
    bool per_class;         /* load per-class precision/recall/F1/support and average them */
    bool sort_f1;           /* order groups by mean macro F1, highest first (--f1) */
    int compare;            /* -1: comparisons when >= 2 groups have n >= 2; 0: never; 1: always */
    const char *git_sha;    /* non-NULL: only runs whose build has this git_sha ("none" matches
                             * builds made outside git) */
    bool runs;              /* render the runs one per row instead of the groups (--runs) */
    bool provenance;        /* render the builds, hosts and data sets instead (--provenance) */
} report_options;

/* Defaults: every experiment, swept keys, last epoch, comparisons automatic. */
report_options report_options_default(void);

/* One run as the report sees it, at the reported epoch. */
typedef struct report_run {
    char key[65];
    int status;                 /* run_status */
    int epoch;                  /* the epoch reported; 0 when the run has not stored it */
    double acc, precision, recall, f1; /* macro metrics at that epoch; NAN without it */
    double train_s;             /* sum of epoch wall_s over 1..epoch (NAN without epochs) */
    timing_run time;            /* epochs 1..epoch folded (timing.h): contended epochs, the
                                 * gate time */
    int diverged_epoch;
    char git_sha[48];           /* of its build, "" when unknown */
    bool git_dirty;             /* its build had uncommitted changes */
    char started_at[32];        /* "" when it never started */
    char seed[REPORT_VALUE_MAX];/* its configuration's seed as text, "-" if none */
    int epochs_done;            /* epoch rows stored (whatever the reported epoch) */
    int threads;                /* 0 when unknown */
    int64_t peak_rss_bytes;     /* 0 when unknown */
    int64_t build_id, host_id, dataset_id; /* store ids, 0 when unknown */
    char kernels[256];          /* runs.kernels, "" when unknown */
    int group;                  /* index into the section's groups */
    char values[REPORT_MAX_KEYS][REPORT_VALUE_MAX]; /* its value of each grouping key, "-" if none */
    int k;                      /* classes in the per-class arrays (0 unless per_class) */
    double *cls;                /* (4,k): precision, recall, f1, support rows; owned */
} report_run;

typedef struct report_group {
    char label[512];            /* "optimizer=adam bn=true"; "all" without grouping keys */
    const char *values[REPORT_MAX_KEYS]; /* views of the first run's values */
    int n;                      /* COMPLETED runs at the reported epoch (aggregated) */
    int n_diverged, n_failed, n_unfinished;
    int n_short;                /* COMPLETED runs without the requested epoch (not aggregated) */
    stats_summary acc, precision, recall, f1, train_s;
    double epoch_s;             /* mean training time per epoch: sum(train_s) / sum(epochs) */
    double *accs;               /* (n) accuracies, for comparisons; owned */
    int k;                      /* classes in cls (0 unless per_class) */
    double *cls;                /* (4,k): mean precision, recall, f1, support per class; owned */
} report_group;

typedef struct report_comparison {
    int key;                    /* the grouping key the two groups differ in */
    int a, b;                   /* group indices, a < b in the section's order */
    stats_welch w;              /* mean acc(a) - mean acc(b), fractions */
    double p_holm;              /* Holm-corrected over every comparison of the report */
} report_comparison;

/* A distinct build among a section's runs, split by the kernels its runs used (the same
 * binary picks its kernels from the CPU and the threads). Strings are "" when unknown. */
typedef struct report_build {
    int64_t id;                 /* builds.id, 0 for runs without a build */
    char git_sha[48], git_branch[128], git_describe[128];
    bool git_dirty;
    char compiler[64], compiler_version[64], cflags[1024], build_type[32], blas[64];
    char binary_sha256[65];
    char kernels[256];          /* runs.kernels */
    int n_runs;
} report_build;

/* A distinct host among a section's runs. */
typedef struct report_host {
    int64_t id;                 /* hosts.id, 0 for runs without a host */
    char hostname[256], cpu_model[256], os[128], kernel[128];
    int cores;
    int64_t ram_bytes;
    int n_runs;
} report_host;

/* A distinct data set among a section's runs. */
typedef struct report_dataset {
    int64_t id;                 /* datasets.id, 0 for runs without one */
    char name[256], sha256[65];
    int64_t n_images;           /* 0 when not recorded */
    int n_runs;
} report_dataset;

typedef struct report_section {
    char experiment[128];
    double budget_minutes;      /* [budget] of the newest stored version of its file, 0 none */
    double target_accuracy;
    int n_keys;
    char keys[REPORT_MAX_KEYS][REPORT_KEY_MAX];
    int n_runs;
    report_run *runs;           /* (n_runs), in the store's order (queue time) */
    int *order;                 /* (n_runs) indices into runs in planned order: the first
                                 * entry of the file's sweep (any stored version) with the
                                 * run's swept values and seed; runs it does not plan follow
                                 * by group, then seed; ties in the store's order */
    int n_groups;
    report_group *groups;       /* (n_groups), first appearance or by F1 with sort_f1 */
    int n_cmp;
    report_comparison *cmp;     /* (n_cmp) */
    bool validation;            /* its runs evaluate on a held-out part of the training set
                                 * (configuration "validation" > 0), not on the test set */
    int n_builds, n_hosts, n_datasets;
    report_build *builds;       /* (n_builds) in order of first use in the store's order */
    report_host *hosts;         /* (n_hosts) */
    report_dataset *datasets;   /* (n_datasets) */
} report_section;

typedef struct report {
    report_options opt;
    int n_sections;
    report_section *sections;   /* (n_sections) */
} report;

/* *out <- the runs of o->experiment (or every experiment) read from s, grouped and
 * aggregated. Errors: ERR_INVALID "no experiment 'x' in 'db'" / "no experiments in 'db'",
 * an unknown grouping key (listing the valid ones); store errors. A section with no runs
 * is kept (n_runs = 0). Release with report_release() (also after a failure). */
int report_load(report *out, store *s, const report_options *o, err_info *e);
void report_release(report *r);

/* Write the groups (and per-class tables with opt.per_class, comparisons when enabled) of
 * every section in fmt. CSV holds one table: the group rows, or with per_class the per-class
 * rows; comparisons appear in table, Markdown and JSON. With opt.runs the runs of every
 * section instead, one per row in planned order; with opt.provenance the builds, hosts and
 * data sets (CSV: one table, a `kind` column, the fields of the other kinds empty). */
int report_render(FILE *f, const report *r, report_format fmt, err_info *e);

/* ---- the paper's claims ----------------------------------------------------------------- */

typedef enum report_verdict {
    VERDICT_REPRODUCED,
    VERDICT_NOT_REPRODUCED,
    VERDICT_INCONCLUSIVE,
} report_verdict;

/* "reproduced", "not reproduced", "inconclusive". */
const char *report_verdict_name(report_verdict v);

/* An accuracy (or F1) claim against measured values m: inconclusive when m->n < 2;
 * reproduced when the claim lies inside the 95% CI or the mean is >= the claim; not
 * reproduced when the whole CI lies below the claim. */
report_verdict report_verdict_accuracy(double claim, const stats_summary *m);

/* A time claim (seconds per run): inconclusive when m->n == 0; reproduced when the mean time
 * is <= the claim, else not reproduced. */
report_verdict report_verdict_time(double claim_s, const stats_summary *m);

#define REPORT_N_CLAIMS 5

/* One row of the claimed-versus-measured table. */
typedef struct report_claim {
    const char *what;           /* "test accuracy", "macro F1", ... */
    const char *claimed;        /* the claim as the paper states it: "99.22%" */
    double claim;               /* as a fraction, or seconds for the time claim */
    bool is_time;
    char experiment[128];       /* where the measurements came from, "" when nowhere */
    stats_summary m;            /* over the COMPLETED runs at the reported epoch */
    report_verdict verdict;
} report_claim;

/* out <- the paper's claims measured in s: test accuracy 99.22% and macro F1 0.9919 on
 * experiment "paper" (else "ci"), training time ~20 min per run (same), LeNet-5 99.05%
 * ("lenet5"), Ji et al. 2018 99% ("ji2018"); at epoch (0 = last). */
int report_paper(report_claim out[REPORT_N_CLAIMS], store *s, int epoch, err_info *e);

/* Write the claims table and the verdict rules under it. */
int report_paper_render(FILE *f, const report_claim *c, int n, report_format fmt, err_info *e);

/* ---- one run's confusion matrix --------------------------------------------------------- */

/* Write the confusion matrix (rows: true class, columns: predicted) of the run whose key is
 * or starts with run (store_run_resolve) at epoch (0 = last). ERR_INVALID for an unknown run,
 * an epoch it has not stored, or a run without per-class rows. */
int report_confusion(FILE *f, store *s, const char *run, int epoch, report_format fmt,
                     err_info *e);

/* ---- history per git revision ----------------------------------------------------------- */

typedef struct report_revision {
    char git_sha[48];
    char date[32];              /* started_at of its first run */
    stats_summary acc, train_s; /* COMPLETED runs at their last epoch */
    bool acc_moved, time_moved; /* beyond the noise relative to the previous revision */
} report_revision;

/* The noise rule of history, exposed for tests: a mean moved between revisions p and c when
 * |mean_c - mean_p| > 2 * pooled sd, pooled = sqrt(((n_p-1) sd_p^2 + (n_c-1) sd_c^2) /
 * (n_p + n_c - 2)); when both have one run, fallback_sd (the pooled sd of every earlier
 * revision, NAN when none) replaces it; no mark when no spread is known at all. */
bool report_moved(const stats_summary *prev, const stats_summary *cur, double fallback_sd);

/* *out (malloc'd, *n entries) <- one row per git revision of experiment's COMPLETED runs,
 * oldest first by the first run's started_at, marks set by report_moved. */
int report_history(report_revision **out, int *n, store *s, const char *experiment,
                   err_info *e);

/* The history of one experiment, for rendering. */
typedef struct report_history_set {
    const char *experiment;
    const report_revision *rows; /* (n) */
    int n;
} report_history_set;

/* Write the histories of n_sets experiments (one section each; CSV: one table with an
 * experiment column; JSON: one document) and the rule for the marks. */
int report_history_render(FILE *f, const report_history_set *sets, int n_sets,
                          report_format fmt, err_info *e);

/* ---- speed history per git revision (bench history --perf) ------------------------------ */

/* The `bench perf` measurements of one setup made by one revision. A revision is a commit
 * and whether its tree was dirty: "abc1234-dirty" is not the code of "abc1234". */
typedef struct report_perf_revision {
    char git_sha[48];           /* "none" without a recorded build */
    bool git_dirty;
    char date[32];              /* created_at of its first measurement */
    int n;                      /* measurements */
    stats_summary epoch_s;      /* seconds per epoch; .min is the best */
    stats_summary images_per_s;
    stats_summary pct_peak;     /* whole iteration, percent of the measured peak; over the
                                 * measurements that have a peak (n may be smaller) */
    int moved;                  /* +1 slower, -1 faster than the previous revision
                                 * (report_moved on epoch_s), 0 no mark */
} report_perf_revision;

/* Measurements that compare: same thread count, batch, data and kernel options. */
typedef struct report_perf_setup {
    int threads, batch;
    char data[128];             /* "synthetic" or the data set's name */
    char kernel_set[16];        /* "auto" or "generic" (bench perf --kernels) */
    bool unfused;
    int n;
    report_perf_revision *rows; /* (n), oldest first; owned */
} report_perf_setup;

/* *out (malloc'd, *n setups ordered by threads, batch, data, kernel set, unfused) <- every
 * measurement of s, grouped by setup, then by revision in order of first measurement, with
 * the marks of report_moved (fallback: the pooled sd of the setup's earlier revisions). No
 * measurement is *n = 0, not an error. Free with report_perf_history_free. */
int report_perf_history(report_perf_setup **out, int *n, store *s, err_info *e);
void report_perf_history_free(report_perf_setup *v, int n);

/* Write the setups (one section each; CSV: one table with the setup's columns; JSON: one
 * document) and the rule for the marks. */
int report_perf_history_render(FILE *f, const report_perf_setup *v, int n, report_format fmt,
                               err_info *e);

#endif
