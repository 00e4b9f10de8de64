/* gate: the rules of `bench check`, the CI gate, over the runs of one experiment as report_load
 * reads them (the caller restricts them to the current git revision).
 *
 * The experiment passes when every one of these holds:
 *   - at least one run is COMPLETED (with its reported epoch stored);
 *   - none is DIVERGED or FAILED;
 *   - the mean final test accuracy of the completed runs is >= the minimum accuracy;
 *   - each completed run's gate time is <= the budget, when there is a budget. The gate time is
 *     timing.h's: the mean wall time of the run's uncontended epochs times its epochs, or, when
 *     every epoch was contended, its CPU time over its threads; so load from other processes
 *     does not fail a run, and twice the work does.
 * The minimum accuracy and the budget default to the experiment's [budget] target_accuracy and
 * minutes. Each failed condition is one finding, for the caller to print. */
#ifndef BENCH_GATE_H
#define BENCH_GATE_H

#include <stdbool.h>

#include "err.h"
#include "report.h"

typedef enum gate_finding_kind {
    GATE_RUN_BROKEN,   /* run DIVERGED or FAILED (value: its diverged epoch, 0 if none) */
    GATE_OVER_BUDGET,  /* run's gate time (value) > budget (limit) */
    GATE_NO_RUNS,      /* no COMPLETED run */
    GATE_LOW_ACCURACY, /* mean accuracy (value) < minimum (limit) */
} gate_finding_kind;

typedef struct gate_finding {
    gate_finding_kind kind;
    int run;              /* index into the section's runs; -1 for the experiment */
    double value, limit;
} gate_finding;

typedef struct gate_result {
    double min_accuracy;  /* applied */
    double budget_s;      /* applied; NAN: no time check */
    int n;                /* COMPLETED runs judged */
    double accuracy;      /* their mean final accuracy; NAN when n = 0 */
    int slowest;          /* the run with the largest gate time; -1 when n = 0 */
    double slowest_s;     /* its gate time */
    int n_findings;
    gate_finding *findings; /* (n_findings): the failed runs in the section's order, then the
                             * experiment's findings; owned */
} gate_result;

/* *out <- the verdict on sec's runs. min_accuracy (a fraction) and budget_s (seconds) of NAN
 * mean the experiment's [budget] values; without a target accuracy either way it is
 * ERR_INVALID ("--min-accuracy is required: ..."). Release with gate_release. */
int gate_evaluate(gate_result *out, const report_section *sec, double min_accuracy,
                  double budget_s, err_info *e);

/* True when no condition failed. */
bool gate_passed(const gate_result *g);

/* The gate time of one run (timing_run_gate_s of its epochs up to the reported epoch). */
double gate_run_time(const report_run *r);

void gate_release(gate_result *g);

#endif
