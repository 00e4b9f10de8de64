/* report: what `bench report` and `bench check` read out of the results database: the runs of
 * each experiment, grouped so that different things are never averaged, aggregated over
 * seeds, compared, and rendered for people and for scripts (through table.h).
 *
 * Sections. An experiment is a name; each time its file changed, the store kept a new version.
 * A run is reported under the newest version of its experiment that planned it, and each
 * version with runs is a section of its own, labelled "version 2 of 2" when there are several
 * (with a line saying the file changed). Runs are read in one streamed query per section
 * (store_report_runs): a report's memory grows with its groups, not with its runs.
 *
 * Groups. Runs are averaged only when their resolved configurations (the configuration JSON)
 * differ in nothing but the seed, and only when they were built by the same build, unless
 * pool_builds asks to average over builds. Groups are labelled by the keys the version's file
 * swept (stored with the version when it was queued: reports never parse an experiment file),
 * except the seed, in the vocabulary's spelling (exp.h): "optimizer=adam bn=true". When two
 * groups would read the same, the label grows by the first key (in the vocabulary's order)
 * that tells them apart ("epochs=2"), then by the build's revision ("revision=1a2b3c4"). A
 * version whose sweep was not stored (written by an older bench) is labelled by the keys
 * that vary among its runs. group_by (--group-by) names the grouping keys instead and may
 * coarsen: then runs of different configurations are averaged, and the section says which
 * keys were pooled (report_section.pooled; the renderers print it as a warning).
 *
 * Per group only COMPLETED runs that reached the reported epoch are aggregated: test accuracy
 * (n, mean, sd, Student-t 95% CI clipped to [0, 1], best, worst), macro precision, recall and
 * F1, training time per run (the sum of the epochs' wall_s up to the reported epoch,
 * evaluation excluded) and per epoch. DIVERGED and FAILED runs are counted separately and
 * never averaged in; QUEUED, RUNNING and INTERRUPTED runs are counted as unfinished.
 *
 * Order and comparisons. Groups are listed in the order the version's file plans them (the
 * first run's position in its sweep; runs without one in queue order), or by mean F1 with
 * sort_f1. Two groups are compared when they differ in exactly one label key and both have
 * n >= 2: the difference of mean test accuracy, a - b, where a is the group the file plans
 * first (whatever the display order), with Welch's 95% CI and p-value computed from the two
 * groups' n, mean and sd, and Holm's correction over the comparisons of that section's table.
 *
 * Two other views of the same load replace the groups when asked: the runs one per row
 * (opt.runs) in plan order, and their provenance (opt.provenance: the distinct builds, hosts
 * and data sets the runs used, with run counts).
 *
 * Formats (documented with their columns in README.md, "Report formats"): an aligned table for
 * terminals, Markdown, CSV (one header line, one row per group, fractions, not percentages)
 * and JSON (one document, typed values, null for a missing value). */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "claims.h"
#include "err.h"
#include "stats.h"
#include "store.h"
#include "table.h"
#include "timing.h"

#define REPORT_MAX_KEYS 24
#define REPORT_KEY_MAX 64
#define REPORT_MAX_CLASSES 1024

typedef struct report_options {
    const char *experiment; /* NULL: every experiment in the database, one section each */
    const char *group_by;   /* NULL: one group per configuration; else a comma list of
                             * vocabulary keys ("" = one group of everything) */
    bool pool_builds;       /* average runs of different builds (--pool-builds) */
    int epoch;              /* report at this epoch (1-based); 0: each run's last stored epoch */
    bool per_class;         /* load per-class precision/recall/F1/support and average them */
    bool sort_f1;           /* order groups by mean macro F1, highest first (--f1) */
    int compare;            /* -1: comparisons when >= 2 groups have n >= 2; 0: never; 1: always */
    const char *git_sha;    /* non-NULL: only runs whose build has this git_sha ("none" matches
                             * builds made outside git and runs without a build) */
    bool runs;              /* render the runs one per row instead of the groups (--runs) */
    bool provenance;        /* render the builds, hosts and data sets instead (--provenance) */
    bool keep_runs;         /* keep every run in report_section.runs even without runs */
    bool newest_only;       /* only the newest version of each experiment (bench check) */
} report_options;

/* Defaults: every experiment, one group per configuration and build, last epoch,
 * comparisons automatic. */
report_options report_options_default(void);

/* One run as the report sees it, at the reported epoch (kept with runs or keep_runs). */
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
    int64_t seed;               /* its configuration's seed */
    bool has_seed;
    int epochs_done;            /* epoch rows stored (whatever the reported epoch) */
    int threads;                /* 0 when unknown */
    int64_t peak_rss_bytes;     /* 0 when unknown */
    int group;                  /* index into the section's groups */
    int position;               /* in the plan, -1 unknown */
    char queued_at[32];
} report_run;

typedef struct report_group {
    char *label;                /* "optimizer=adam bn=true"; "all" without label keys; owned */
    json_t *values;             /* {key: typed value} for each label key, in key order; owned */
    int n;                      /* COMPLETED runs at the reported epoch (aggregated) */
    int n_diverged, n_failed, n_unfinished;
    int n_short;                /* COMPLETED runs without the requested epoch (not aggregated) */
    int n_contended;            /* of the n, runs with a contended epoch (timing.h) */
    stats_summary acc, precision, recall, f1, train_s;
    double epoch_s;             /* mean training time per epoch: sum(train_s) / sum(epochs) */
    int n_cells;                /* configurations x builds averaged into it (1 unless pooled) */
    char *config;               /* its configuration JSON without the seed when it has one
                                 * configuration, else NULL; owned */
    int64_t build_id;           /* its build when it has one, else -1 (0: runs without one) */
    char git_sha[48];           /* that build's commit, "" when none */
    bool git_dirty;
    char started[32];           /* the earliest start of its runs, "" when none started */
    int k;                      /* classes in cls (0 unless per_class) */
    double *cls;                /* (4,k): mean precision, recall, f1, support per class; owned */
} report_group;

typedef struct report_comparison {
    int key;                    /* the label key the two groups differ in */
    int a, b;                   /* group indices: a is planned first by the file */
    stats_welch w;              /* mean acc(a) - mean acc(b), fractions; CI within [-1, 1] */
    double p_holm;              /* Holm-corrected over the comparisons of the section */
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
    char first_run[65];         /* a run that used it, to read its details */
} report_build;

/* A distinct host among a section's runs. */
typedef struct report_host {
    int64_t id;                 /* hosts.id, 0 for runs without a host */
    char hostname[256], cpu_model[256], os[128], kernel[128];
    int cores;
    int64_t ram_bytes;
    int n_runs;
    char first_run[65];
} report_host;

/* A distinct data set among a section's runs. */
typedef struct report_dataset {
    int64_t id;                 /* datasets.id, 0 for runs without one */
    char name[256], sha256[65];
    int64_t n_images;           /* 0 when not recorded */
    int n_runs;
    char first_run[65];
} report_dataset;

typedef struct report_section {
    char experiment[128];
    int64_t version_id;         /* experiments.id of the version */
    int version, n_versions;    /* its number among its name's versions, and how many */
    char file[256], spec_sha256[65], created_at[32];
    char description[512];      /* [experiment] description, "" none: printed under the title */
    bool sweep_stored;          /* the version stored its swept keys when queued */
    double budget_minutes;      /* [budget] of the version, 0 none */
    double target_accuracy;
    char note[512];             /* "" or a line about the versions of the file */
    int n_keys;                 /* label keys: the grouping keys, then the keys added to tell
                                 * groups apart (incl. "revision") */
    int n_group_keys;           /* the first n_group_keys of keys group (swept or --group-by) */
    char keys[REPORT_MAX_KEYS][REPORT_KEY_MAX];
    char pooled[512];           /* what groups average over besides seeds ("bn, lr"; "builds
                                 * 1a2b3c4, 5d6e7f8"), "" when nothing */
    int n_total;                /* runs reported under the section */
    int n_runs;
    report_run *runs;           /* (n_runs) with runs or keep_runs, in plan order: position,
                                 * then group, then seed; else NULL */
    int n_groups;
    report_group *groups;       /* (n_groups) in plan order, or by F1 with sort_f1 */
    int n_cmp;
    report_comparison *cmp;     /* (n_cmp) */
    bool validation;            /* its runs evaluate on a held-out part of the training set
                                 * (configuration "validation" > 0), not on the test set */
    char dataset[64];           /* the data set of all its runs (configuration "dataset"); ""
                                 * when they differ or do not say: per-class rows then number
                                 * the classes without names */
    int n_builds, n_hosts, n_datasets;
    report_build *builds;       /* (n_builds) with provenance, in order of first use */
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
 * an unknown grouping key (listing the valid ones); store errors. A version with no runs of
 * its own has no section (the newest version of a name always has one, maybe empty). Release
 * with report_release() (also after a failure). */
int report_load(report *out, store *s, const report_options *o, err_info *e);
void report_release(report *r);

/* Write the groups (and per-class tables with opt.per_class, comparisons when enabled) of
 * every section in fmt. CSV holds one table: the group rows, or with per_class the per-class
 * rows; comparisons appear in table, Markdown and JSON. With opt.runs the runs of every
 * section instead, one per row in planned order; with opt.provenance the builds, hosts and
 * data sets (CSV: one table, a `kind` column, the fields of the other kinds empty). Warnings
 * (groups that pool configurations) are part of table and Markdown output and, for CSV and
 * JSON, also written to warn (may be NULL) as "warning: ..." lines. */
int report_render(FILE *f, FILE *warn, const report *r, table_format fmt, err_info *e);

/* ---- the paper's claims (claims.h: the claims file) ----------------------------------- */

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

/* One row of the claimed-versus-measured table. */
typedef struct report_claim {
    const char *what;           /* "test accuracy", "macro F1", ... (the claims file's text) */
    const char *claimed;        /* the claim as the source states it: "99.22%" */
    const char *source;         /* where it is stated */
    double claim;               /* as a fraction, or seconds for the time claim */
    bool is_time;
    bool percent;               /* stated in percent: measured values print so too */
    char experiment[128];       /* where the measurements came from, "" when nowhere */
    char group[512];            /* the group of that experiment's report: "all" for its only
                                 * configuration, else its label (and version) */
    stats_summary m;            /* over the COMPLETED runs at the reported epoch */
    report_verdict verdict;
} report_claim;

/* *out (malloc'd, *n rows) <- the claims of cl measured in s at epoch (0 = last): each on the
 * first of its experiments that has runs, one row per group of that experiment's report
 * (configurations and builds are never pooled), or one inconclusive row when none of them
 * has runs. With experiment non-NULL, only the claims that name it, measured on it. The rows
 * point into cl (keep it until they are freed). Free *out. */
int report_paper(report_claim **out, int *n, store *s, const claims *cl, const char *experiment,
                 int epoch, err_info *e);

/* Write the claims table and the verdict rules under it. */
int report_paper_render(FILE *f, const report_claim *c, int n, table_format fmt, err_info *e);

/* ---- one run's confusion matrix --------------------------------------------------------- */

/* Write the confusion matrix (rows: true class, columns: predicted) of the run whose key is
 * or starts with run (store_run_resolve) at epoch (0 = last). ERR_INVALID for an unknown run,
 * an epoch it has not stored, or a run without per-class rows. */
int report_confusion(FILE *f, store *s, const char *run, int epoch, table_format fmt,
                     err_info *e);

#endif
