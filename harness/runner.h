/* runner: executes an experiment's runs in worker processes and records them in the store.
 *
 * The coordinator (the bench run process) is the database's only writer. It forks one worker
 * process per run, at most `jobs` at a time; a worker loads its data set, trains, and sends
 * the coordinator a message after every epoch and when it ends, over a pipe. The coordinator
 * commits each epoch when its message arrives, so a crash loses at most the epochs in flight.
 *
 * Workers die with the coordinator (PR_SET_PDEATHSIG); a worker that dies on its own marks its
 * run FAILED with the signal or exit status. SIGINT/SIGTERM stop the sweep: workers finish
 * their current iteration, their runs become INTERRUPTED, the database stays consistent, and
 * runner_execute returns ERR_INTERRUPTED. Running the experiment again resumes: runs COMPLETED
 * under the same run key are skipped, everything else is rerun from scratch. */
#ifndef BENCH_RUNNER_H
#define BENCH_RUNNER_H

#include <stdbool.h>
#include <stdio.h>

#include "err.h"
#include "exp.h"

typedef struct runner_options {
    const char *db_path;   /* results database */
    const char *data_dir;  /* --data-dir, may be NULL */
    int jobs;              /* worker processes at once; 0 = decide from cores and memory */
    bool force;            /* rerun COMPLETED runs too */
    bool dry_run;          /* print the plan only */
    int shard_index;       /* 0-based shard of shard_count: runs with index % count == index */
    int shard_count;       /* 1 = no sharding */
    double stale_after_s;  /* RUNNING runs silent this long belong to a dead process */
    FILE *out;             /* plan, progress and summary */
} runner_options;

runner_options runner_options_default(void);

/* Summary of what an execution did. */
typedef struct runner_summary {
    int planned;     /* runs in this shard */
    int skipped;     /* already COMPLETED */
    int busy;        /* RUNNING in another live process, left alone */
    int completed, failed, diverged, interrupted;
} runner_summary;

/* Plan and (unless dry_run) execute x. Returns 0 when every planned run is COMPLETED (now or
 * before), ERR_INTERRUPTED on a signal, another negative code on setup errors (data missing,
 * database unwritable) or when some run FAILED or DIVERGED (the summary says which). */
int runner_execute(runner_summary *sum, const experiment *x, const runner_options *o,
                   err_info *e);

#endif
