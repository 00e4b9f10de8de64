/* exp: experiment files. A TOML file becomes a validated experiment and a flat, printable list
 * of fully resolved runs before anything trains (STYLE.md rule 9).
 *
 * The schema is documented in experiments/README.md. In short: tables [experiment], [data],
 * [model], [training], [evaluation], [budget], [sweep] and [optimizer.NAME]; every key of
 * [sweep] is an array, and the runs are the cartesian product of those arrays (the first key
 * varies slowest, the last fastest), each applied over the base configuration. [optimizer.NAME]
 * tables hold parameters that apply only when that optimizer is selected (e.g. Adam's lr);
 * a value swept explicitly wins over them.
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

#define EXP_MAX_RUNS 10000
#define EXP_NAME_MAX 128
#define EXP_TEXT_MAX 512
#define EXP_MAX_SWEPT 16

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
} run_spec;

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
    char swept[EXP_MAX_SWEPT][64];   /* the swept keys, short names ("optimizer", "bn", ...) */
    int n_runs;
    run_spec *runs;                  /* (n_runs) */
} experiment;

/* Read, parse, validate and expand the file at path. */
int exp_load(experiment *out, const char *path, err_info *e);

/* The same from a buffer; filename is used in messages and as the default name. */
int exp_parse(experiment *out, const char *text, size_t len, const char *filename, err_info *e);

void exp_release(experiment *x);

/* The canonical JSON of a resolved run (sorted keys, compact, every field that determines the
 * result, the layer list included). Returns a malloc'd string or NULL when out of memory. */
char *exp_run_json(const run_spec *r);

/* The run key: SHA-256 hex of exp_run_json(r), the data set's content id and the build
 * identity (prov_build_identity), separated by newlines. */
int exp_run_key(char out[65], const run_spec *r, const char *dataset_id, const char *build_identity,
                err_info *e);

/* Print-friendly one-line summary of a run: "paper bn=on momentum lr=0.1 batch=100 epochs=20 seed=1". */
void exp_run_summary(char *buf, size_t n, const run_spec *r);

#endif
