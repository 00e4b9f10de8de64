/* plot: the paper's figures as gnuplot scripts and data files, rendered when gnuplot exists.
 *
 * The module owns three steps, used in order by `bench plot` (cmd_plot.c):
 *   1. plot_load: read runs and their epochs from the results database and gather them into
 *      experiments and groups. A group is the set of runs of one experiment whose resolved
 *      configurations (runs.config_json) are equal except for the seed and whose build is the
 *      same; the group's label names the keys that differ between the experiment's groups in
 *      the vocabulary's spelling (exp.h): "optimizer=adam bn=true", "revision=1a2b3c4" when
 *      builds differ, so it is the sweep minus the seed whatever the experiment file swept.
 *   2. plot_write: per experiment, one `.dat` file per group (per-epoch mean and sample sd over
 *      the group's runs) and one confusion matrix per group, plus `.gp` scripts that load the
 *      shared style file and draw (GROUP is the group's slug; an experiment with a single
 *      group drops the suffix: fig4.gp, confusion.gp; with --run it is "run-KEY"):
 *        fig4_GROUP.gp    the paper's Fig. 4: train and test accuracy per epoch, lines titled
 *                         exactly "train" and "test", mean over seeds with a +/-1 sd band;
 *        optimizers*.gp   test accuracy per epoch, one line per optimizer (when it varies),
 *                         one figure per combination of the other keys (optimizers_bn-true.gp),
 *                         lines titled by the compared keys ("optimizer=adam");
 *        bn*.gp           test accuracy per epoch by batch norm (when bn varies), likewise;
 *        loss.gp          training loss per epoch, one line per group;
 *        time.gp          training seconds per epoch, one line per group;
 *        confusion_GROUP.gp  heat map of the last epoch's confusion matrix with its counts.
 *      Data: GROUP.dat (columns: epoch, n, then mean and sd of train_acc, test_acc,
 *      train_loss, test_loss, wall_s) and confusion_GROUP.dat (a k x k matrix of counts).
 *      Every figure carries a footer: experiment name, git revision of the runs' build (short
 *      SHA, "mixed" when they differ) and the date of the newest run.
 *   3. plot_render: run gnuplot (fork/execvp, no shell) on a script.
 *
 * Scripts are independent of the working directory: each finds its own directory from ARG0
 * (`gnuplot plots/quick/fig4.gp` from anywhere), reads its data and writes its image there,
 * so that a directory of figures can be moved as a whole. A script loads no file but the data
 * files bench wrote beside it: the style (plots/style.gp in the repository, embedded in the
 * program as plot_style_text()) is copied into every script, so that nothing planted near an
 * output directory runs when a figure is drawn. The style picks the terminal: pngcairo when
 * the gnuplot at hand has it, else png; or svg, or pdf (pdfcairo).
 *
 * Names reach scripts only as gnuplot single-quoted strings (a quote is concatenated as "'",
 * never doubled), and reach the file system only through plot_dir_name, so that any
 * experiment name is plotted and names never share or escape a directory. */
#ifndef BENCH_PLOT_H
#define BENCH_PLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "claims.h"
#include "err.h"
#include "store.h"

#define PLOT_NAME_MAX 128   /* experiment names, group labels' parts */
#define PLOT_LABEL_MAX 256  /* a group label */
#define PLOT_PATH_MAX 4096
#define PLOT_MAX_CLASSES 256 /* confusion matrices larger than this are not drawn */
#define PLOT_MAX_SWEPT 16
#define PLOT_DIR_NAME_MAX 208 /* plot_dir_name's output, its NUL included */

typedef enum plot_format { PLOT_PNG, PLOT_SVG, PLOT_PDF, PLOT_FORMAT_COUNT } plot_format;

/* "png", "svg", "pdf" (also the image file extension). */
const char *plot_format_name(plot_format f);
/* *out <- the format named name; ERR_INVALID listing the valid names. */
int plot_format_parse(plot_format *out, const char *name, err_info *e);

/* Per-epoch statistics of a group, the columns of its .dat file after epoch and n. */
enum {
    PLOT_TRAIN_ACC,
    PLOT_TEST_ACC,
    PLOT_TRAIN_LOSS,
    PLOT_TEST_LOSS,
    PLOT_WALL_S,      /* training wall seconds of the epoch */
    PLOT_CPU_S,       /* training CPU seconds of the epoch (all threads) */
    PLOT_CONTENDED,   /* 1 when the epoch was contended (timing.h's rule), 0 when not; the
                       * group's mean is the share of its runs contended at that epoch */
    PLOT_STAT_COUNT
};

/* One run as plotted: its per-epoch series and the confusion matrix of its last epoch. */
typedef struct plot_run {
    char *run_key;
    int64_t seed;
    int n_epochs;           /* epochs stored (1..n_epochs, consecutive from 1) */
    double *series;         /* (n_epochs, PLOT_STAT_COUNT), NAN where not stored */
    int k;                  /* classes of the confusion matrix, 0 when none was stored */
    int64_t *confusion;     /* (k,k) row = true class, column = predicted, last epoch */
    int confusion_epoch;    /* the epoch it is of */
    int group;              /* index into plot_experiment.groups */
    int position;           /* its place in the plan of the newest version of its experiment
                             * file that plans it; -1 when not recorded */
} plot_run;

/* Runs equal in every configuration key but the seed. */
typedef struct plot_group {
    char label[PLOT_LABEL_MAX]; /* "optimizer=adam bn=true"; "" when the experiment has one group */
    char slug[PLOT_LABEL_MAX];  /* the label as a file-name part, "optimizer-adam_bn-true";
                                 * unique within the experiment; "all" for the only group */
    char **values;              /* (n_keys of the experiment) this group's value of each key
                                 * that varies between groups, as the vocabulary prints it
                                 * ("true", "adam", "0.05") */
    int n_runs;
    int n_epochs;               /* the longest of its runs */
    int *n;                     /* (n_epochs) runs with a finite test accuracy at each epoch */
    double *mean, *sd;          /* (n_epochs, PLOT_STAT_COUNT) over the runs that have the
                                 * value; sd is the sample sd (n-1), 0 for a single run */
    int k;                      /* classes of the summed confusion matrix (0: none) */
    int64_t *confusion;         /* (k,k) summed over the group's runs' last epochs */
} plot_group;

/* The keys that vary between groups, in label order: the experiment's swept keys in its
 * file's order, then the vocabulary's (exp.h) with a layer list last, then "revision". */
typedef struct plot_key {
    char *path;     /* the key's vocabulary label ("optimizer", "bn", "layers"), or
                     * "revision" (the runs' build) */
    char *name;     /* as labels show it: the same label */
    int rank;       /* its place in label order */
    bool implied;   /* follows from another varying key (layers from bn, beta1 from the
                     * optimizer): part of the grouping, left out of labels */
} plot_key;

typedef struct plot_experiment {
    char name[PLOT_NAME_MAX];       /* as stored; "(none)" for runs without an experiment */
    char dir_name[PLOT_DIR_NAME_MAX]; /* the name as one safe path component (plot_dir_name) */
    char revision[64];              /* short git SHA of the runs' builds ("0123abc", "0123abc-dirty"
                                     * when a build had uncommitted changes), "mixed", "unknown" */
    char newest[32];                /* YYYY-MM-DD of the newest run, "unknown" */
    char model[64];                 /* the runs' model preset ("paper"), "mixed" when they
                                     * differ, "" when not recorded */
    char dataset[128];              /* likewise their data set ("mnist", "fashion-mnist") */
    bool validation;                /* some run evaluates on a validation split: its "test"
                                     * figures are validation figures and say so */
    char *only_run;                 /* with plot_query.run_key: that run's key, else NULL */
    int n_runs;
    plot_run *runs;                 /* (n_runs) */
    double target_accuracy;         /* [budget] target_accuracy of the newest version of its
                                     * file (a fraction), 0 when none */
    int n_swept;                    /* the swept keys of the newest version of its file */
    char swept[PLOT_MAX_SWEPT][64]; /* (n_swept) labels, in the file's order */
    int n_keys;
    plot_key *keys;                 /* (n_keys) */
    int n_groups;
    plot_group *groups;             /* (n_groups) in the order the experiment file plans them
                                     * (its sweep's order: legends list them so), groups
                                     * without a recorded plan after, by first appearance */
} plot_experiment;

typedef struct plot_set {
    int n;
    plot_experiment *x;             /* (n) in database order */
} plot_set;

/* What to load. */
typedef struct plot_query {
    const char *experiment;  /* only this experiment (by name); NULL for all */
    const char *run_key;     /* only this run (a key or unique prefix, as bench show takes) */
    bool partial;            /* also runs that are not COMPLETED, with the epochs they stored */
} plot_query;

/* Load the runs q asks for from s into *out (released with plot_set_release, also on
 * failure). Errors (ERR_INVALID): no runs in the database, no runs of the named experiment, no
 * such run; the messages name the database and say what was looked for. */
int plot_load(plot_set *out, store *s, const plot_query *q, err_info *e);
void plot_set_release(plot_set *p);

/* Where and how to write. */
typedef struct plot_options {
    const char *dir;         /* the directory of this experiment's files (created) */
    plot_format format;
    const claims *claims;    /* accuracy claims drawn on the experiments they name; NULL:
                              * none */
} plot_options;

/* Called for every file plot_write wrote, kind "data" or "script"; a non-zero return stops plot_write with that value. */
typedef int (*plot_file_fn)(void *ctx, const char *path, const char *kind);

/* The scripts plot_write wrote, to render afterwards: plot_scripts_note is a plot_file_fn
 * whose ctx is a plot_scripts (zeroed first); it keeps a copy of each "script" path (ERR_NOMEM
 * when out of memory). Free with plot_scripts_free. */
typedef struct plot_scripts {
    char **v;    /* (n) paths, in the order written */
    int n, cap;
} plot_scripts;
int plot_scripts_note(void *ctx, const char *path, const char *kind);
void plot_scripts_free(plot_scripts *l);

/* Write x's data files and scripts into o->dir (made with its parents when missing).
 * Errors: ERR_IO naming the directory or file that could not be made or written. */
int plot_write(const plot_experiment *x, const plot_options *o, plot_file_fn fn, void *ctx,
               err_info *e);

/* One point of the validation-versus-test figure: a recipe chosen on validation. */
typedef struct plot_point {
    const char *label;       /* the experiment's name, drawn beside the point */
    double x, x_sd;          /* validation mean and sample sd (fractions); sd NAN: no bar */
    double y, y_sd;          /* test mean and sample sd (fractions); likewise */
    int nx, ny;              /* seeds of each: a bar only where n >= 2 */
} plot_point;

/* Write validation_vs_test.dat (columns: validation mean, sd, test mean, sd in %, then n
 * validation, n test; one line per point, in order) and validation_vs_test.gp into o->dir
 * (made when missing): the points with +/-1 sd bars both ways, each labelled with its name,
 * the diagonal "test = validation", both axes in % over one range fitted to the points, the
 * given footer. n > 0. Errors: ERR_IO naming the directory or file. */
int plot_selections(const plot_point *p, int n, const char *footer, const plot_options *o,
                    plot_file_fn fn, void *ctx, err_info *e);

/* The footer every figure of x carries:
 * "experiment quick | git 1a2b3c4 | newest run 2024-05-01". */
void plot_footer(char *buf, int n, const plot_experiment *x);

/* out[0..n) <- name as one safe, distinct path component: bytes A-Z a-z 0-9 '-' '_' kept,
 * '.' kept but as the first byte, every other byte (and '%') as %XX (upper-case hex), so
 * "a/b" -> "a%2Fb" and "a-b" stay apart, "." -> "%2E", ".." -> "%2E.", "../../x" ->
 * "%2E.%2F..%2Fx"; "" -> "%". The map is one-to-one; an encoding longer than 200 bytes is cut
 * to 183 and ends in "~" and 16 hex digits of the name's SHA-256 (distinct but for a hash
 * collision). n must be at least PLOT_DIR_NAME_MAX. */
void plot_dir_name(char *out, size_t n, const char *name);

/* The embedded copy of plots/style.gp (the test keeps the two equal). */
const char *plot_style_text(void);

/* Whether an executable `gnuplot` is on PATH (what plot_render would run). */
bool plot_gnuplot_available(void);

/* Run `gnuplot script` (execvp, so found on PATH; no shell) and wait. gnuplot's stderr is
 * captured: a non-zero exit or a signal is ERR_IO whose message names the script and quotes
 * gnuplot's last line of output. */
int plot_render(const char *script, err_info *e);

#endif
