#include "gate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"

double gate_run_time(const report_run *r) { return timing_run_gate_s(&r->time, r->threads); }

/* Append a finding; runs hold at most one of each kind, so n_runs + 2 slots suffice. */
static void gate_add(gate_result *g, gate_finding_kind kind, int run, double value, double limit)
{
    g->findings[g->n_findings++] = (gate_finding){kind, run, value, limit};
}

int gate_evaluate(gate_result *out, const report_section *sec, double min_accuracy,
                  double budget_s, err_info *e)
{
    memset(out, 0, sizeof *out);
    out->slowest = -1;
    out->accuracy = out->slowest_s = NAN;
    if (isnan(min_accuracy) && sec->target_accuracy > 0)
        min_accuracy = sec->target_accuracy;
    if (isnan(budget_s) && sec->budget_minutes > 0)
        budget_s = sec->budget_minutes * 60.0;
    if (isnan(min_accuracy))
        return err_set(e, ERR_INVALID, "--min-accuracy is required: experiment '%s' has no "
                       "[budget] target_accuracy", sec->experiment);
    out->min_accuracy = min_accuracy;
    out->budget_s = budget_s;
    /* a run is broken or over budget, never both; plus the two experiment findings */
    out->findings = calloc((size_t)sec->n_runs + 2, sizeof *out->findings);
    if (!out->findings)
        return err_set(e, ERR_NOMEM, "out of memory");
    double sum = 0.0;
    for (int i = 0; i < sec->n_runs; i++) {
        const report_run *run = &sec->runs[i];
        if (run->status == RUN_DIVERGED || run->status == RUN_FAILED)
            gate_add(out, GATE_RUN_BROKEN, i, run->diverged_epoch, NAN);
        if (run->status != RUN_COMPLETED || run->epoch == 0)
            continue;
        out->n++;
        sum += run->acc;
        const double t = gate_run_time(run);
        if (out->slowest < 0 || t > out->slowest_s) {
            out->slowest = i;
            out->slowest_s = t;
        }
        if (t > budget_s) /* false without a budget (NAN) */
            gate_add(out, GATE_OVER_BUDGET, i, t, budget_s);
    }
    if (out->n == 0) {
        gate_add(out, GATE_NO_RUNS, -1, NAN, NAN);
    } else {
        out->accuracy = sum / out->n;
        if (!(out->accuracy >= min_accuracy))
            gate_add(out, GATE_LOW_ACCURACY, -1, out->accuracy, min_accuracy);
    }
    return 0;
}

bool gate_passed(const gate_result *g) { return g->n_findings == 0; }

void gate_release(gate_result *g)
{
    free(g->findings);
    memset(g, 0, sizeof *g);
}
