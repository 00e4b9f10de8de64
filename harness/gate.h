/* gate: the rules of `bench check`, the CI gate, over the runs of one experiment version as
 * report_load reads them (the caller keeps the runs and restricts them to the current git
 * revision); the command only parses its options, loads and renders.
 *
 * The experiment passes when every one of these holds:
 *   - at least one run is COMPLETED (with its reported epoch stored);
 *   - none is DIVERGED or FAILED;
 *   - the mean final test accuracy of the completed runs of each configuration (report
 *     group) is >= the minimum accuracy;
 *   - each completed run's gate time is <= the budget, when there is a budget. The gate time is
 *     timing.h's: the mean wall time of the run's uncontended epochs times its epochs, or, when
 *     every epoch was contended, its CPU time over its threads; so load from other processes
 *     does not fail a run, and twice the work does.
 * The minimum accuracy and the budget default to the version's [budget] target_accuracy and
 * minutes. Every condition checked, passed or not, is one record with its figures and the
 * line that says it, for every output format. */
#ifndef BENCH_GATE_H
#define BENCH_GATE_H

#include <stdbool.h>

#include "err.h"
#include "report.h"

/* One condition the gate checked. */
typedef struct gate_condition {
    char name[16];              /* "runs", "run", "accuracy", "budget" */
    char subject[600];          /* what it is about: a run key, a group label, "" */
    bool passed;
    double measured, limit;     /* NAN when they do not apply (budget: gate times, seconds) */
    /* budget conditions, of the run judged (the slowest when passed), else NAN / -1: */
    double wall_s, cpu_s;       /* sums of its epochs' wall and CPU time */
    int epochs, contended;      /* its epochs, and how many of them were contended */
    int threads;                /* threads it trained with (0 unknown) */
    char message[700];          /* the line that says it, without "ok: " or "check: " */
} gate_condition;

/* What the gate decided. */
typedef struct gate_result {
    double min_accuracy;        /* applied */
    double budget_s;            /* applied; NAN: no time check */
    int n_runs;                 /* completed runs judged */
    gate_condition *v;          /* (n) in order: the runs' conditions (in the section's order)
                                 * and the slowest run's, then runs at all and accuracy per
                                 * group; owned */
    int n, cap;
} gate_result;

/* *out <- the verdict on sec's runs, experiment `experiment` at `revision` (for messages).
 * min_accuracy (a fraction) and budget_s (seconds) of NAN mean the version's [budget] values;
 * without a target accuracy either way it is ERR_INVALID ("--min-accuracy is required: ...",
 * saying when an older bench queued the version without storing its [budget]). Release with
 * gate_release, also after a failure. */
int gate_evaluate(gate_result *out, const report_section *sec, const char *experiment,
                  const char *revision, double min_accuracy, double budget_s, err_info *e);

/* How many conditions failed (0: the gate passes). */
int gate_failed(const gate_result *g);

/* The gate time of one run (timing_run_gate_s of its epochs up to the reported epoch). */
double gate_run_time(const report_run *r);

void gate_release(gate_result *g);

#endif
