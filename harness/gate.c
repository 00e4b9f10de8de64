#include "gate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"
#include "vec.h"

double gate_run_time(const report_run *r) { return timing_run_gate_s(&r->time, r->threads); }

static gate_condition *gate_add(gate_result *g, const char *name, const char *subject,
                                bool passed, double measured, double limit)
{
    if (!vec_grow((void **)&g->v, g->n, &g->cap, sizeof *g->v))
        return NULL;
    gate_condition *k = &g->v[g->n++];
    *k = (gate_condition){.passed = passed, .measured = measured, .limit = limit,
                          .wall_s = NAN, .cpu_s = NAN, .epochs = -1, .contended = -1};
    snprintf(k->name, sizeof k->name, "%s", name);
    snprintf(k->subject, sizeof k->subject, "%s", subject);
    return k;
}

/* Seconds for messages: whole seconds from 100 s on, 3 significant digits below. */
typedef struct secs {
    char s[32];
} secs;

static secs gate_secs(double v)
{
    secs out;
    snprintf(out.s, sizeof out.s, v >= 100.0 ? "%.0f s" : "%.3g s", v);
    return out;
}

/* k (a budget condition) <- the times of run r it judged. */
static void gate_times(gate_condition *k, const report_run *r)
{
    k->wall_s = r->time.wall_s;
    k->cpu_s = r->time.cpu_s;
    k->epochs = r->time.epochs;
    k->contended = r->time.contended;
    k->threads = r->threads;
}

/* buf <- how run r's gate time was measured. */
static void gate_time_basis(char *buf, size_t n, const report_run *r)
{
    const timing_run *t = &r->time;
    const int quiet = t->epochs - t->contended;
    if (t->contended == 0)
        snprintf(buf, n, "sum of its %d epochs' wall time", t->epochs);
    else if (quiet > 0)
        snprintf(buf, n, "wall time of its %d uncontended epoch%s scaled to %d; %d contended "
                 "epoch%s took %s", quiet, quiet == 1 ? "" : "s", t->epochs, t->contended,
                 t->contended == 1 ? "" : "s", gate_secs(t->wall_s - t->quiet_wall_s).s);
    else if (r->threads > 1)
        snprintf(buf, n, "every epoch contended: CPU time over %d threads, which load inflates "
                 "when threads wait for each other; gate with threads = 1", r->threads);
    else
        snprintf(buf, n, "every epoch contended: its CPU time; wall %s", gate_secs(t->wall_s).s);
}

/* The conditions on the runs of sec: none failed or diverged, each within the budget. */
static bool gate_runs(gate_result *g, const report_section *sec)
{
    const report_run *slowest = NULL;
    double slowest_s = 0.0;
    char basis[300];
    for (int i = 0; i < sec->n_runs; i++) {
        const report_run *run = &sec->runs[i];
        gate_condition *k;
        if (run->status == RUN_DIVERGED || run->status == RUN_FAILED) {
            if (!(k = gate_add(g, "run", run->key, false, NAN, NAN)))
                return false;
            if (run->diverged_epoch)
                snprintf(k->message, sizeof k->message, "run %.12s: %s in epoch %d", run->key,
                         run_status_name(run->status), run->diverged_epoch);
            else
                snprintf(k->message, sizeof k->message, "run %.12s: %s", run->key,
                         run_status_name(run->status));
        }
        if (run->status != RUN_COMPLETED || run->epoch == 0)
            continue;
        g->n_runs++;
        const double t = gate_run_time(run);
        if (!slowest || t > slowest_s) {
            slowest = run;
            slowest_s = t;
        }
        if (t > g->budget_s) { /* false without a budget (NAN) */
            if (!(k = gate_add(g, "budget", run->key, false, t, g->budget_s)))
                return false;
            gate_times(k, run);
            gate_time_basis(basis, sizeof basis, run);
            snprintf(k->message, sizeof k->message, "run %.12s: training %s > budget %s (%s)",
                     run->key, gate_secs(t).s, gate_secs(g->budget_s).s, basis);
        }
    }
    if (slowest && slowest_s <= g->budget_s) {
        gate_condition *k = gate_add(g, "budget", "", true, slowest_s, g->budget_s);
        if (!k)
            return false;
        gate_times(k, slowest);
        gate_time_basis(basis, sizeof basis, slowest);
        snprintf(k->message, sizeof k->message, "slowest run trained in %s <= budget %s (%s)",
                 gate_secs(slowest_s).s, gate_secs(g->budget_s).s, basis);
    }
    return true;
}

/* The conditions on accuracy: each group's mean at least the minimum; runs at all. */
static bool gate_groups(gate_result *g, const report_section *sec, const char *experiment,
                        const char *revision)
{
    gate_condition *k;
    if (g->n_runs == 0) {
        if (!(k = gate_add(g, "runs", "", false, 0, 1)))
            return false;
        snprintf(k->message, sizeof k->message,
                 "no completed runs of experiment '%s' at revision %.12s", experiment, revision);
        return true;
    }
    for (int i = 0; i < sec->n_groups; i++) {
        const report_group *gr = &sec->groups[i];
        if (gr->n == 0)
            continue;
        bool ok = gr->acc.mean >= g->min_accuracy;
        const char *label = sec->n_groups > 1 ? gr->label : "";
        if (!(k = gate_add(g, "accuracy", label, ok, gr->acc.mean, g->min_accuracy)))
            return false;
        snprintf(k->message, sizeof k->message, "accuracy %.4f %s %.4f over %d run%s%s%s%s",
                 gr->acc.mean, ok ? ">=" : "<", g->min_accuracy, gr->n, gr->n == 1 ? "" : "s",
                 ok ? " of experiment '" : "", ok ? experiment : "", ok ? "'" : "");
        if (ok)
            snprintf(k->message + strlen(k->message), sizeof k->message - strlen(k->message),
                     " at revision %.12s", revision);
        if (label[0])
            snprintf(k->message + strlen(k->message), sizeof k->message - strlen(k->message),
                     " (%s)", label);
    }
    if (isnan(g->budget_s) && (k = gate_add(g, "budget", "", true, NAN, NAN)))
        snprintf(k->message, sizeof k->message,
                 "no time budget (no --budget and no [budget] minutes)");
    return true;
}

int gate_evaluate(gate_result *out, const report_section *sec, const char *experiment,
                  const char *revision, double min_accuracy, double budget_s, err_info *e)
{
    *out = (gate_result){.min_accuracy = min_accuracy, .budget_s = budget_s};
    if (isnan(out->min_accuracy) && sec->target_accuracy > 0)
        out->min_accuracy = sec->target_accuracy;
    if (isnan(out->budget_s) && sec->budget_minutes > 0)
        out->budget_s = sec->budget_minutes * 60.0;
    if (isnan(out->min_accuracy) && !sec->sweep_stored)
        return err_set(e, ERR_INVALID, "--min-accuracy is required: experiment '%s' was queued "
                       "by an older bench, which did not store its [budget] (bench run its file "
                       "again to store it: complete runs are skipped)", experiment);
    if (isnan(out->min_accuracy))
        return err_set(e, ERR_INVALID, "--min-accuracy is required: experiment '%s' has no "
                       "[budget] target_accuracy", experiment);
    if (!gate_runs(out, sec) || !gate_groups(out, sec, experiment, revision))
        return err_set(e, ERR_NOMEM, "out of memory");
    return 0;
}

int gate_failed(const gate_result *g)
{
    int n = 0;
    for (int i = 0; i < g->n; i++)
        n += !g->v[i].passed;
    return n;
}

void gate_release(gate_result *g)
{
    free(g->v);
    *g = (gate_result){0};
}
