/* select: the executable decision rule of an experiment file's [select] table.
 *
 * A [select] table (experiments/README.md, "[select]") names an experiment `from` whose runs
 * decide, the swept `keys` to take from its winner, the `metric` to maximise (final-epoch
 * accuracy or macro F1) and a `margin`. When `bench run` (or --dry-run) plans such a file, this
 * module reads `from`'s runs from the same database, keeping only those queued under the build
 * identity of this invocation (a stored run counts when its run key is what exp_json_key gives
 * for its configuration, its data set and today's identity: the runner's own notion, so a study
 * regenerated at one revision selects only from that revision's runs), and decides:
 *   - candidates are `from`'s configurations grouped by their values of `keys`, in the order
 *     of `from`'s sweep (the first plan position of each); `from` must sweep nothing but
 *     rule keys and `seed`; a rule key it does not sweep has one value in all its runs, read
 *     from their configurations (the value `from` ran with: written in its file or taken by
 *     its own [select], which is how a chain of steps hands every choice on); every run must
 *     be COMPLETED, evaluated on a validation split, and every candidate must have as many
 *     runs (seeds) as the others;
 *   - the winner is the earliest candidate whose mean metric is at least the best mean minus
 *     `margin` (select_choose): ties, and differences smaller than the margin, go to the
 *     candidate earlier in the sweep. Deterministic: the same runs give the same winner.
 * The winner's values are then applied to the file as if it had written them
 * (exp_apply_select), and the decision, as JSON, is stored with each run it configures
 * (runs.selection) and printed by bench run and bench show.
 *
 * Refusals are one line naming the file, the line and the key of the [select] table. */
#ifndef BENCH_SELECT_H
#define BENCH_SELECT_H

#include <stdio.h>

#include "err.h"
#include "exp.h"
#include "store.h"
#include "table.h"

/* One run of a candidate. */
typedef struct select_run {
    char run_key[65];
    int64_t seed;
    double value;       /* its final-epoch metric */
} select_run;

/* One candidate: a configuration of `from` up to the seed. */
typedef struct select_candidate {
    exp_value values[EXP_MAX_SWEPT]; /* of the rule's keys, typed as stored */
    int position;                    /* the first plan position of its runs (sweep order) */
    select_run *runs;                /* (n_runs), in plan order */
    int n_runs, cap;
    double mean;                     /* of the runs' values */
} select_candidate;

typedef struct select_decision {
    const exp_select *rule;          /* view of the selecting experiment's table */
    char from_file[4096];            /* the file `from`'s runs were queued from */
    select_candidate *c;             /* (n) in sweep order */
    int n, cap;
    int winner;                      /* index into c */
} select_decision;

/* *winner <- the index of the earliest of means[0..n) (n > 0, in sweep order) that is at least
 * max(means) - margin (margin >= 0). Pure: the whole rule on exact numbers. */
void select_choose(int *winner, const double *means, int n, double margin);

/* *d <- the decision of x->select over the runs of x->select.from in s that were queued under
 * build identity. Refusals (ERR_INVALID, one line naming x's file, line and key): no such runs
 * ("run it first"), runs not COMPLETED, runs evaluated on the test set, a swept key of `from`
 * other than the rule's keys and seed, a rule key missing from a run's configuration,
 * candidates with different numbers of runs. Release with select_decision_release. */
int select_decide(select_decision *d, store *s, const experiment *x, const char *identity,
                  err_info *e);

void select_decision_release(select_decision *d);

/* The decision as compact JSON (malloc'd; NULL when out of memory):
 * {"from", "file", "metric", "margin", "keys": [labels], "candidates": [{"values": [...],
 *  "runs": [{"run", "seed", "value"}], "mean"}], "winner": index, "winner_values": {label: v}} */
char *select_decision_json(const select_decision *d);

/* Print a decision's JSON for people: a line naming the rule, the table of candidates (the
 * one table writer, fmt TABLE_TEXT or TABLE_MD) and the winner. */
int select_print(FILE *out, const char *json, table_format fmt, err_info *e);

/* What planning a [select] file does: *out <- x with the winner's values applied, *json <- the
 * decision (caller frees both), the decision printed to print (unless NULL). db_path names the
 * database holding `from`'s runs; a missing file is "run it first". */
int select_resolve(experiment *out, char **json, const experiment *x, const char *db_path,
                   const char *identity, FILE *print, err_info *e);

#endif
