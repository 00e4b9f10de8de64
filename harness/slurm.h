/* slurm: an experiment's sweep as a Slurm job array, and what became of it.
 *
 * bench does not schedule: Slurm does. `bench slurm submit` plans the sweep once, at submit
 * time, into a directory D outside the source tree, and submits
 *   - one job array (split into several when the sweep has more tasks than the cluster's
 *     MaxArraySize), whose task T runs `bench run D/experiment/FILE --shard T/N --plan
 *     D/plan.tsv --db D/db/task-T.db`: one SQLite database per task, since WAL databases must
 *     not be shared across nodes (their -shm index is shared memory);
 *   - a merge job, dependent on every task with afterany (it runs even when tasks failed),
 *     that merges the task databases into D/bench.db and reports what is missing.
 * The directory holds:
 *   plan.tsv         the plan: experiment, build identity, the bench binary, and each run's
 *                    task, index and run key; `bench run --plan` refuses a shard whose keys
 *                    differ (the source tree, the build or the data changed since submit)
 *   experiment/FILE  a copy of the experiment file, so that later edits do not change a task
 *   task.sh, merge.sh  the batch scripts; jobs.tsv  the job ids submitted
 *   db/task-T.db     task T's results; bench.db  the merged results
 *   logs/            every job's output (--open-mode=append: a requeued task adds to its log)
 *   state/task-T     one line per start and end of each attempt of task T, with exit status
 * Nothing is written into the source tree: a log there would make it dirty and change the
 * run keys of the tasks that start after it.
 *
 * Requeue-safety: the task script runs bench in the background and forwards SIGUSR1 (sent
 * --signal=B:USR1@120, before the time limit) and SIGTERM (preemption, scancel) to it; bench
 * stops its runs cleanly (INTERRUPTED) and exits 3 (unfinished); after the warning the script
 * requeues its own task, whose next attempt skips the runs COMPLETED in its database and
 * takes over at once the runs its killed attempt left RUNNING (store.h: owners). */
#ifndef BENCH_SLURM_H
#define BENCH_SLURM_H

#include <stdbool.h>
#include <stdio.h>

#include "err.h"
#include "exp.h"

/* One planned run. */
typedef struct slurm_plan_run {
    int task;        /* 1-based task (= shard) that runs it */
    int index;       /* 0-based index in the experiment's sweep */
    char key[65];    /* its run key */
    char *summary;   /* exp_run_summary(), for people */
} slurm_plan_run;

/* The plan saved in D/plan.tsv. Strings are heap-owned (slurm_plan_release). */
typedef struct slurm_plan {
    char *dir;         /* D, absolute */
    char *experiment;  /* the experiment's name */
    char *source;      /* the experiment file as submitted, absolute */
    char *file;        /* D/experiment/<base name>: the copy the tasks run */
    char *spec_sha256; /* of the file's text */
    char *bench;       /* absolute path of the bench binary the tasks run */
    char *data_dir;    /* --data-dir given to submit (absolute), or NULL */
    char *identity;    /* the build identity (prov_build_identity), lines */
    char *describe;    /* git describe of the build, for people */
    int tasks;         /* N */
    int n_runs;
    slurm_plan_run *runs; /* (n_runs) in sweep order */
} slurm_plan;

/* Read D/plan.tsv (path: the file itself). ERR_IO when it cannot be read, ERR_FORMAT naming
 * path:line when it is not a plan this bench wrote. */
int slurm_plan_load(slurm_plan *p, const char *path, err_info *e);
void slurm_plan_release(slurm_plan *p);

/* keys[0..*n) <- pointers to the keys of task `task` (1-based) in run order, into p; keys
 * must have room for p->n_runs. */
void slurm_plan_task_keys(const char **keys, int *n, const slurm_plan *p, int task);

/* What `bench slurm submit` was asked. */
typedef struct slurm_submit_options {
    const char *file;        /* the experiment file */
    const char *dir;         /* D; NULL: $HOME/bench-slurm/<name>-<UTC time> */
    const char *data_dir;    /* --data-dir, may be NULL */
    int tasks;               /* N tasks; 0 = one per run (--per-run) */
    int max_parallel;        /* at most P tasks at once (%P); 0 = no limit */
    const char *const *sbatch_args; /* extra sbatch options (after --), applied to every job */
    int n_sbatch_args;
    bool dry_run;            /* write D, print the sbatch commands, submit nothing */
    FILE *out;               /* what was done and what to type next */
} slurm_submit_options;

/* Plan x (loaded from o->file) and submit it as above. When D already holds a plan, it must
 * be the same plan (same keys and tasks): submitting again resubmits the tasks, which skip
 * what their databases hold COMPLETED; any other plan is refused. Usage mistakes (an sbatch
 * option the scripts set themselves, more tasks than runs, D inside the source tree) are
 * ERR_INVALID; sbatch failures ERR_IO with its message, after cancelling what was submitted. */
int slurm_submit(const experiment *x, const slurm_submit_options *o, err_info *e);

/* Where a sweep stands. */
typedef struct slurm_status_summary {
    int runs, completed;     /* planned runs; COMPLETED in the task databases */
    int unfinished;          /* not started, queued, running or interrupted */
    int failed;              /* FAILED or DIVERGED */
    int tasks_failed;        /* tasks whose last attempt exited non-zero and that Slurm
                              * does not run or hold pending any more */
} slurm_status_summary;

/* Print each task's state (from D/state, and squeue when it answers; no accounting database
 * needed) and its runs' states (from D/db/task-T.db), the runs not COMPLETED, and the merged
 * database's count, to out. Fills *sum. ERR_IO when D holds no plan. */
int slurm_status(slurm_status_summary *sum, const char *dir, FILE *out, err_info *e);

#endif
