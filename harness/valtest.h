/* valtest: how validation predicted test, across the recipes a study chose on validation.
 *
 * An experiment whose file has a [select] table (select.h) stores its decision on the link of
 * every run it configures. For each experiment whose runs carry a decision and evaluate on the
 * test set (data.validation = 0), of the newest version of its file that has such runs, this
 * module puts side by side:
 *   - the winner of the decision: its values (labelled as everywhere, exp.h) and its mean
 *     validation figure over its seeds with the sample sd, read from the decision itself (the
 *     per-seed figures it recorded when it was made);
 *   - the experiment's own figure on the test set: mean and sample sd over its COMPLETED runs
 *     at their final epoch, in the decision's metric (accuracy, or macro F1 for a rule on f1),
 *     so that like is compared with like;
 *   - test - validation in percentage points;
 *   - whether both are on the same data set: the test runs' data set against that of the
 *     decision's winner's runs (a recipe chosen on MNIST validation and run on Fashion-MNIST
 *     is listed, marked "same data: no", and not drawn: its gap is not a prediction error).
 * When the runs of one version carry different decisions (not made by one bench run), the
 * first run's in plan order is the one reported.
 *
 * Outputs: `bench report --selections` (valtest_render: table, md, csv or json through the
 * one table writer) and `bench plot --selections` (valtest_plot: validation_vs_test.gp and
 * .dat drawn by plot.c, one point per same-data row). A database with no such experiment is
 * ERR_INVALID naming it, as every report of nothing is. */
#ifndef BENCH_VALTEST_H
#define BENCH_VALTEST_H

#include <stdbool.h>
#include <stdio.h>

#include "err.h"
#include "exp.h"
#include "plot.h"
#include "stats.h"
#include "store.h"
#include "table.h"

/* One experiment on the test set with the decision that chose its recipe. */
typedef struct valtest_row {
    char experiment[128];      /* its name */
    char from[128];            /* the experiment whose runs decided */
    char metric[16];           /* "accuracy" or "f1" */
    char winner[EXP_TEXT_MAX]; /* the winner's values, "augment_rotate=12 epochs=40" */
    char dataset[64];          /* its runs' data set ("" when unknown) */
    char from_dataset[64];     /* the winner's runs' data set ("" when unknown) */
    bool same_data;            /* both known and equal */
    stats_summary val;         /* the winner's per-seed validation figures */
    stats_summary test;        /* its COMPLETED runs' final figures on the test set */
    double diff_pp;            /* 100 * (test.mean - val.mean); NAN when either is */
} valtest_row;

typedef struct valtest_set {
    valtest_row *v;            /* (n) in the order of the experiments' first versions */
    int n, cap;
} valtest_set;

/* *out <- the rows of s (see above). ERR_INVALID naming the database when there is none;
 * ERR_FORMAT when a stored decision is not the JSON select.h writes. Release with
 * valtest_release (also on failure). */
int valtest_load(valtest_set *out, store *s, err_info *e);

void valtest_release(valtest_set *v);

/* Write the rows in fmt: for people accuracies in percent (F1 as a fraction), "mean ± sd";
 * in CSV and JSON fractions as numbers (json: {"format": 1, "selections": [...]}). */
int valtest_render(FILE *f, const valtest_set *v, table_format fmt, err_info *e);

/* Write validation_vs_test.dat and .gp into o->dir (plot_selections): one point per row with
 * same_data. ERR_INVALID when no row has it (nothing to draw). */
int valtest_plot(const valtest_set *v, const plot_options *o, plot_file_fn fn, void *ctx,
                 err_info *e);

#endif
