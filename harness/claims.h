/* claims: the published figures a study is checked against, read from a TOML file
 * (experiments/claims.toml), so that what the paper claims is data beside the experiments and
 * not code. `bench report --paper` measures each claim on its experiment's runs; `bench plot`
 * draws each accuracy claim as a labelled line on the accuracy figures of its experiment.
 *
 * The file is an array of tables, one [[claim]] per figure, every key required but
 * `approximate`:
 *
 *   [[claim]]
 *   claim = "test accuracy (Lee & Rhee 2024)"   # what is claimed, as a report row names it
 *   value = 99.22                                # the figure as the source states it, in unit
 *   unit = "%"                                   # "%", "fraction" or "min"
 *   approximate = false                          # true: the source says "about" ("~20 min")
 *   metric = "accuracy"                          # what measures it (see below)
 *   experiment = ["paper", "ci"]                 # a name, or names tried in order: the first
 *                                                # with runs is measured
 *   source = "Lee & Rhee (2024), abstract"       # where the figure is stated
 *
 * Metrics and the units they take: "accuracy" (final test accuracy of each run; "%" or
 * "fraction"), "f1" (final macro F1; "%" or "fraction"), "time" (training time per run, the sum
 * of its epochs' training time; "min"). Values in percent lie in (0, 100], fractions in (0, 1],
 * minutes are > 0.
 *
 * Errors are one line, "FILE:LINE:COL: message" for TOML syntax (toml.h) and
 * "FILE:LINE: key 'claim[2].unit': message (valid: ...)" for the schema: unknown or missing
 * keys, wrong types, values out of range, unknown metric or unit names, a unit that does not
 * fit the metric, no claims at all. */
#ifndef BENCH_CLAIMS_H
#define BENCH_CLAIMS_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define CLAIMS_MAX 256            /* claims in a file */
#define CLAIMS_MAX_EXPERIMENTS 8  /* experiments a claim may name */
#define CLAIMS_NAME_MAX 128       /* an experiment name (as experiment files limit it) */
#define CLAIMS_TEXT_MAX 512       /* a claim's text and its source */

/* The default file, relative to the working directory (a checkout's root). */
#define CLAIMS_DEFAULT_PATH "experiments/claims.toml"

typedef enum claim_metric { CLAIM_ACCURACY, CLAIM_F1, CLAIM_TIME, CLAIM_METRIC_COUNT } claim_metric;

/* "accuracy", "f1", "time". */
const char *claim_metric_name(claim_metric m);

typedef struct claim {
    char what[CLAIMS_TEXT_MAX];     /* the claim key: "test accuracy (Lee & Rhee 2024)" */
    char stated[64];                /* the figure as stated: "99.22%", "0.9919", "~20 min" */
    double value;                   /* as measured: a fraction (accuracy, f1) or seconds (time) */
    bool percent;                   /* stated in percent: reports print it so */
    claim_metric metric;
    int n_experiments;
    char experiments[CLAIMS_MAX_EXPERIMENTS][CLAIMS_NAME_MAX]; /* (n_experiments) in order */
    char source[CLAIMS_TEXT_MAX];
    int line;                       /* where its [[claim]] starts in the file */
} claim;

typedef struct claims {
    char path[4096];                /* the file read, for messages */
    int n;
    claim *v;                       /* (n) in the file's order */
} claims;

/* Read and validate the claims file at path. On failure *out is empty (n = 0, v = NULL) and
 * e holds the one-line message; ERR_IO when the file cannot be read. Release with
 * claims_release (also after a failure). */
int claims_load(claims *out, const char *path, err_info *e);

/* The same from a buffer; filename is used in messages. */
int claims_parse(claims *out, const char *text, size_t len, const char *filename, err_info *e);

void claims_release(claims *c);

/* out[0..n) <- the claims file to read: given when not NULL; else CLAIMS_DEFAULT_PATH when it
 * exists under the working directory; else the copy in the source tree bench was built from.
 * ERR_IO naming the places looked at when none exists (given: when it does not exist). */
int claims_locate(char *out, size_t n, const char *given, err_info *e);

/* Whether claim c is measured on experiment name (one of its experiments). */
bool claim_names(const claim *c, const char *name);

#endif
