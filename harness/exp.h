/* exp: experiment files. A TOML file becomes a validated experiment and a flat, printable list
 * of fully resolved runs before anything trains (README.md "Conventions" rule 9).
 *
 * The schema is documented in experiments/README.md. In short: tables [experiment], [data],
 * [model], [training], [evaluation], [budget], [sweep] and [optimizer.NAME]; every key of
 * [sweep] is an array, and the runs are the cartesian product of those arrays (the first key
 * varies slowest, the last fastest), each applied over the base configuration. [optimizer.NAME]
 * tables hold parameters that apply only when that optimizer is selected (e.g. Adam's lr);
 * a value swept explicitly wins over them. A [select] table names keys whose values come from
 * the winner among another experiment's runs (select.h decides, exp_apply_select applies).
 *
 * Errors are one line, "FILE:LINE:COL: message" for TOML syntax (from toml.h) and
 * "FILE:LINE: key 'training.lr': message (valid: ...)" for schema errors: unknown keys, wrong
 * types, impossible values, unknown names (listing the valid ones), an empty sweep, a sweep of
 * more than EXP_MAX_RUNS runs. */
#ifndef BENCH_EXP_H
#define BENCH_EXP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "init.h"
#include "models.h"
#include "net.h"
#include "train.h"

#include <jansson.h>

#define EXP_MAX_RUNS 10000
#define EXP_FILE_MAX (4 << 20) /* bytes of an experiment file (the shipped ones: a few KiB) */
#define EXP_NAME_MAX 128
#define EXP_TEXT_MAX 512
#define EXP_MAX_SWEPT 16

/* The numbers of a run as the file wrote them (or, for defaults, the shortest decimal of the
 * float the optimizer uses): what reports print and the store's columns hold. Training uses
 * their float roundings (run_spec.init_std, run_spec.train.optim). */
typedef struct run_numbers {
    double init_std, lr, momentum, beta1, beta2, decay_rate, weight_decay;
} run_numbers;

/* One fully resolved run: everything that determines its result except the build and the
 * data's bytes (those enter the run key separately). */
typedef struct run_spec {
    int index;                       /* 0-based position in the experiment's run list */
    char label[EXP_TEXT_MAX];        /* the swept values, "optimizer=adam bn=false seed=3";
                                      * "" when nothing is swept */
    /* data */
    char dataset[EXP_TEXT_MAX];      /* "mnist", "fashion-mnist" or "idx:DIR" */
    int64_t validation;              /* > 0: hold out the last N training images and evaluate
                                      * on them instead of the test set */
    int classes;                     /* labels 0..classes-1 (the registry's, or [data] classes
                                      * for idx:); the runner checks the loaded data against it */
    int channels, height, width;     /* image shape the layers were checked against (1x28x28
                                      * unless [data] says otherwise for idx:) */
    /* model */
    char model[EXP_NAME_MAX];        /* preset name, or "custom" for an explicit layer list */
    bool bn;                         /* false: batch-norm layers removed */
    layer_spec layers[MODELS_MAX_LAYERS]; /* resolved, with the final affine sized to the
                                           * data set's classes (10 unless idx: says) */
    int n_layers;
    init_kind init;
    float init_std;
    /* training */
    int epochs;
    train_config train;              /* batch, sampling, iters_per_epoch, optim, seed */
    int threads;                     /* 0: decided by the runner (cores / workers) */
    /* evaluation */
    int64_t eval_train_n;            /* training-accuracy sample: first N images, 0 = all */
    int64_t eval_test_n;             /* test images evaluated per epoch, 0 = all */
    run_numbers num;                 /* the file's doubles of the float parameters above */
} run_spec;

/* The metric a [select] table maximises: a run's final-epoch accuracy or macro F1. */
typedef enum exp_select_metric { EXP_METRIC_ACCURACY, EXP_METRIC_F1, EXP_METRIC_COUNT } exp_select_metric;

/* "accuracy", "f1". */
const char *exp_select_metric_name(exp_select_metric m);

/* "validation" for runs that evaluate on a held-out part of the training set (run_spec
 * validation > 0), else "test": the word every report and figure puts before "accuracy". */
const char *exp_heldout_name(bool validation);

struct exp_vocab_key;

/* A [select] table: the values of `keys` are not written in the file but taken from the
 * winner among the runs of experiment `from` (select.h decides; exp_apply_select applies).
 * exp_parse checks the table on its own: known keys, each key sweepable, not the seed, not
 * given twice, and neither set nor swept by this file. */
typedef struct exp_select {
    bool on;                          /* the file has a [select] table */
    bool applied;                     /* the winner's values are in the runs (exp_apply_select) */
    char from[EXP_NAME_MAX];          /* the deciding experiment's [experiment] name */
    int n_keys;
    const struct exp_vocab_key *keys[EXP_MAX_SWEPT]; /* in the file's order */
    exp_select_metric metric;         /* default accuracy */
    double margin;                    /* >= 0, default 0 */
    int line, from_line, keys_line;   /* of the [select] header, of from, of keys */
} exp_select;

typedef struct experiment {
    char name[EXP_NAME_MAX];         /* [experiment] name; defaults to the file's base name */
    char description[EXP_TEXT_MAX];  /* [experiment] description */
    char file[4096];                 /* the path it was read from */
    char *text;                      /* the file's bytes, NUL-terminated (stored with runs) */
    size_t text_len;
    char sha256[65];                 /* of text */
    double budget_minutes;           /* [budget] minutes, 0 = none */
    double target_accuracy;          /* [budget] target_accuracy, 0 = none */
    int n_swept;
    char swept[EXP_MAX_SWEPT][64];   /* the swept keys' labels ("optimizer", "bn", ...), in the
                                      * file's order (the first varies slowest) */
    int n_runs;
    run_spec *runs;                  /* (n_runs) */
    exp_select select;               /* on: a [select] table (the runs lack its values until
                                      * exp_apply_select) */
} experiment;

/* Read, parse, validate and expand the file at path; a file (or device) longer than
 * EXP_FILE_MAX bytes is refused after reading one byte more than that. */
int exp_load(experiment *out, const char *path, err_info *e);

/* The same from a buffer; filename is used in messages and as the default name. */
int exp_parse(experiment *out, const char *text, size_t len, const char *filename, err_info *e);

void exp_release(experiment *x);

struct exp_value;

/* *out <- x parsed again from its own text with the values of x->select.keys taken from
 * values[0..x->select.n_keys) as if the file's [training] (or [data], [model]) table wrote
 * them: each goes through the TOML reader and its key's setter, so it is checked, typed and
 * given precedence exactly as a written value. out->select.applied is true. Errors are the
 * setters', at the line of select.keys. */
int exp_apply_select(experiment *out, const experiment *x, const struct exp_value *values,
                     err_info *e);

/* The canonical JSON of a resolved run (sorted keys, compact, every field that determines the
 * result, the layer list included). Returns a malloc'd string or NULL when out of memory. */
char *exp_run_json(const run_spec *r);

/* The run key: SHA-256 hex of exp_run_json(r), the data set's content id and the build
 * identity (prov_build_identity), separated by newlines. */
int exp_run_key(char out[65], const run_spec *r, const char *dataset_id, const char *build_identity,
                err_info *e);

/* The run key of a configuration stored as JSON (exactly exp_run_json's text): what
 * exp_run_key computes, so that a stored run's key can be checked against a build identity. */
int exp_json_key(char out[65], const char *config_json, const char *dataset_id,
                   const char *build_identity, err_info *e);

/* One-line summary of a run in the vocabulary's spelling: "model=paper bn=true
 * optimizer=momentum lr=0.1 batch=100 epochs=20 seed=1", then weight_decay, lr_schedule,
 * augment_shift and dataset when they are not the paper's. */
void exp_run_summary(char *buf, size_t n, const run_spec *r);

/* ---- the vocabulary ----------------------------------------------------------------------
 * Every key of a run's configuration is named once, here, for every command and format:
 *   TOML path      training.lr          where an experiment file sets it
 *   label          lr                   its short name: the [sweep] name of sweepable keys, the
 *                                       KEY of "KEY=VALUE" group labels, --group-by, the field
 *                                       name in CSV and JSON outputs
 *   display name   learning rate        for people: headings and figure titles
 *   JSON path      optimizer.lr         its field in the run's configuration JSON
 * and its values print one way (exp_value_format): integers in decimal, numbers as the
 * shortest decimal that reads back to the same double (0.05, 1e-05, 20), booleans as true
 * or false, strings as they are, a layer list as "conv30x5-relu-maxpool2-affine100-...";
 * JSON carries them typed (exp_value_json), CSV as that text. */

typedef enum exp_type { EXP_NONE, EXP_INT, EXP_NUM, EXP_BOOL, EXP_STR, EXP_LAYERS } exp_type;

/* One key of the vocabulary. The TOML path is table.name. */
typedef struct exp_vocab_key {
    const char *table, *name; /* "training", "lr" */
    const char *label;        /* "lr" */
    const char *display;      /* "learning rate" */
    const char *json;         /* "optimizer.lr"; an array element is "input.0" */
    exp_type type;
    bool sweepable;           /* accepted in [sweep] under its label or TOML path */
} exp_vocab_key;

/* The configuration keys in display order (data, model, training, evaluation); i in
 * 0..exp_vocab_count()-1. */
int exp_vocab_count(void);
const exp_vocab_key *exp_vocab_at(int i);

/* The configuration key called name: its label ("lr"), TOML path ("training.lr") or JSON
 * path ("optimizer.lr"); NULL when there is none. */
const exp_vocab_key *exp_vocab_find(const char *name);

/* buf <- "dataset, validation, ..., test_samples": the labels, for "(valid: ...)" messages. */
void exp_vocab_labels(char *buf, size_t n);

/* A value of a key. Strings (and a layer list's summary) are copied into s. */
typedef struct exp_value {
    exp_type type;            /* EXP_NONE: the key is absent */
    int64_t i;                /* EXP_INT */
    double d;                 /* EXP_NUM */
    bool b;                   /* EXP_BOOL */
    char s[EXP_TEXT_MAX];     /* EXP_STR, EXP_LAYERS */
} exp_value;

/* buf <- the shortest decimal that reads back (strtod) as d; integers whole ("20"), "nan",
 * "inf" and "-inf" spelled so. The one number format of the vocabulary and of every
 * machine-readable output. */
void exp_format_number(char *buf, size_t n, double d);

/* buf <- v as text (see above); "-" for EXP_NONE. */
void exp_value_format(char *buf, size_t n, const exp_value *v);

/* Append " label=value" (no leading space on an empty buffer) to the label in buf; a label
 * longer than the buffer ends in "...". */
void exp_label_append(char *buf, size_t n, const char *label, const exp_value *v);

/* v as a JSON value: integer, real, true/false, string; null for EXP_NONE. New reference,
 * NULL when out of memory. */
json_t *exp_value_json(const exp_value *v);

/* Whether a and b are the same value (an integer and a number compare by value). */
bool exp_value_equal(const exp_value *a, const exp_value *b);

/* *out <- key k's value in a run's configuration JSON (exp_run_json), typed as the key is:
 * EXP_NONE when cfg lacks it. */
void exp_value_from_json(exp_value *out, const exp_vocab_key *k, const json_t *cfg);

/* *out <- a JSON value as stored by a reader of exp_value_json (a swept value): integer,
 * real, boolean or string; EXP_NONE for anything else. */
void exp_value_from_stored(exp_value *out, const json_t *v);

/* out[i] <- run r's value of keys[i], for i < n: the file's double for float parameters
 * (run_numbers), else as in its configuration JSON. ERR_NOMEM when out of memory. */
int exp_run_values(exp_value *out, const run_spec *r, const exp_vocab_key *const *keys, int n,
                   err_info *e);

/* buf <- the label of a stored run, "optimizer=adam seed=3", from what the store keeps of its
 * sweep (exp_swept_json, exp_run_swept_json); "" when either is NULL or unreadable. */
void exp_label_from_stored(char *buf, size_t n, const char *swept_json, const char *values_json);

/* *out <- text as a value of key k, typed as k is: a decimal number for EXP_INT and EXP_NUM,
 * true/false (any case) for EXP_BOOL, the text itself for strings and layer lists. ERR_INVALID
 * naming the key and the text when it is not such a value. */
int exp_value_parse(exp_value *out, const exp_vocab_key *k, const char *text, err_info *e);

/* Whether a run's value v matches a value typed on the command line (exp_value_parse):
 * exp_value_equal, except that strings compare case-insensitively and numbers also match
 * when their float roundings are equal (a configuration holds the float an optimizer used,
 * 0.0500000007 for the file's 0.05). */
bool exp_value_matches(const exp_value *v, const exp_value *want);

/* A condition KEY=VALUE on a run's configuration (--where of ls and export). */
typedef struct exp_where {
    const exp_vocab_key *key;
    exp_value value;
} exp_where;

/* *out <- the condition text "KEY=VALUE": KEY a label, TOML path or JSON path of the
 * vocabulary, VALUE typed as the key is (exp_value_parse). ERR_INVALID naming the text and
 * listing the valid keys when the key is unknown. */
int exp_where_parse(exp_where *out, const char *text, err_info *e);

/* Whether the run whose configuration JSON is cfg meets every one of w[0..n). */
bool exp_where_match(const exp_where *w, int n, const json_t *cfg);

/* What the store keeps of a sweep when its runs are queued, as compact JSON (malloc'd, NULL
 * when out of memory): the swept keys' labels in the file's order ('["optimizer","seed"]'),
 * and run r's value of each, typed, numbers the shortest decimal ('["adam",3]'). */
char *exp_swept_json(const experiment *x);
char *exp_run_swept_json(const experiment *x, const run_spec *r);

#endif
