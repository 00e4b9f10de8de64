/* runner: executes an experiment's runs in worker processes and records them in the store.
 *
 * The coordinator (the bench run process) is the database's only writer. It forks one worker
 * process per run, at most `jobs` at a time; a worker loads its data set, trains, and sends
 * the coordinator a message after every epoch and when it ends, over a pipe. The coordinator
 * commits each epoch when its message arrives, so a crash loses at most the epochs in flight.
 *
 * Workers die with the coordinator (PR_SET_PDEATHSIG); a worker that dies on its own marks its
 * run FAILED with the signal or exit status. SIGINT, SIGTERM, SIGHUP, SIGPIPE and SIGUSR1 (a
 * batch system's warning before its time limit) stop the sweep: workers finish their current
 * iteration, their runs become INTERRUPTED, the database stays consistent, and runner_execute
 * returns ERR_INTERRUPTED. Running the experiment again resumes: runs COMPLETED under the same
 * run key are skipped, everything else is rerun from scratch.
 *
 * Several bench runs may share a database. A run belongs to the process that claimed it
 * (store.h: owners) until it ends; another process leaves it alone ("running elsewhere")
 * while that owner lives, and takes it over once the owner is gone. A coordinator whose run
 * was taken over meanwhile (it was stopped for long on another host) stops its worker and
 * records nothing more of it.
 *
 * Worker and thread counts follow the CPUs the process may use (its affinity mask), so that a
 * batch job bound to 2 CPUs trains with 2 threads whatever the node has. */
#ifndef BENCH_RUNNER_H
#define BENCH_RUNNER_H

#include <stdbool.h>
#include <stdio.h>

#include "err.h"
#include "exp.h"

/* Room for a build identity (prov_build_identity) with its terminating NUL. */
#define RUNNER_IDENTITY_MAX 2048

/* The run keys a shard must have: the plan `bench slurm submit` saved (bench run --plan). */
typedef struct runner_expect {
    const char *source;            /* names the plan in messages (its path) */
    const char *identity;          /* the build identity the plan was made with, may be NULL */
    const char *const *keys;       /* (n) the shard's keys in run order */
    int n;
} runner_expect;

typedef struct runner_options {
    const char *db_path;   /* results database */
    const char *data_dir;  /* --data-dir, may be NULL */
    int jobs;              /* worker processes at once; 0 = decide from cores and memory */
    bool force;            /* rerun COMPLETED runs too */
    bool dry_run;          /* print the plan only */
    int shard_index;       /* 0-based shard of shard_count: runs with index % count == index */
    int shard_count;       /* 1 = no sharding */
    double stale_after_s;  /* RUNNING runs silent this long belong to a dead process (unless
                            * their owner is alive on this host) */
    const runner_expect *expect; /* NULL, or keys to check the plan against: a difference is
                                  * an error before the database is touched */
    FILE *out;             /* plan, progress and summary */
} runner_options;

runner_options runner_options_default(void);

/* Summary of what an execution did. */
typedef struct runner_summary {
    int planned;     /* runs in this shard */
    int skipped;     /* already COMPLETED */
    int busy;        /* RUNNING in another live process, left alone (at planning, or taken
                      * over by another process while this one trained it) */
    int completed, failed, diverged, interrupted;
} runner_summary;

/* Plan and (unless dry_run) execute x. A [select] file (x->select.on) is first given the
 * values of its winner among its `from`'s runs of this build in o->db_path (select.h), and
 * the decision is printed to o->out and stored with each run. Returns 0 when every planned run is COMPLETED (now or
 * before); ERR_INTERRUPTED when runs of the shard are left unfinished, INTERRUPTED by a signal
 * (to the coordinator or to a worker) or running in another process (the summary says how
 * many); another negative code on setup errors (data missing, database unwritable, keys that
 * differ from o->expect) or when some run FAILED or DIVERGED. */
int runner_execute(runner_summary *sum, const experiment *x, const runner_options *o,
                   err_info *e);

/* What `bench run --dry-run` computes: keys[i] <- the run key of x->runs[i] for every run (no
 * shard), identity <- the build identity the keys include. Fails as runner_execute does on
 * data that is missing, corrupt or does not fit a run, and when the binary was built from
 * another commit than the source tree's. db_path is read only for a [select] file (the
 * database holding its `from`'s runs), whose winner is applied first, as runner_execute does. */
int runner_plan_keys(char (*keys)[65], char identity[RUNNER_IDENTITY_MAX], const experiment *x,
                     const char *data_dir, const char *db_path, err_info *e);

#endif
