/* bench slurm submit|status: an experiment's sweep as a Slurm job array (harness/slurm.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "exp.h"
#include "slurm.h"

static const char slurm_usage[] =
    "usage: bench slurm submit FILE.toml [--tasks N | --per-run] [--max-parallel P] [--dir D]\n"
    "                          [--data-dir DIR] [--dry-run] [-- SBATCH-OPTIONS...]\n"
    "       bench slurm status D\n"
    "\n"
    "submit: plan the experiment's sweep now (run keys, build, data checked as 'bench run'\n"
    "does), save the plan in D, and submit a Slurm job array whose task T runs shard T/N of\n"
    "the sweep into its own database D/db/task-T.db, then a merge job that runs once every\n"
    "task ended (failed ones too) and merges them into D/bench.db. Logs go to D/logs. A task\n"
    "warned of its time limit (SIGUSR1, 120 s before) stops cleanly and requeues itself; its\n"
    "next attempt resumes the runs not COMPLETED. Submitting again with the same D resubmits\n"
    "the same plan (what is COMPLETED is kept).\n"
    "\n"
    "  --tasks N          N tasks, each running every N-th run (default: one task per run)\n"
    "  --per-run          one task per run\n"
    "  --max-parallel P   at most P tasks at once (default: as Slurm schedules)\n"
    "  --dir D            where the plan, scripts, databases and logs go; outside the source\n"
    "                     tree (default $HOME/bench-slurm/NAME-TIME)\n"
    "  --data-dir DIR     where the tasks find the data sets (default: $BENCH_DATA_DIR, then\n"
    "                     ./data in the submit directory)\n"
    "  -n, --dry-run      write D and print the sbatch commands, submit nothing\n"
    "  -- OPTIONS         passed to every sbatch (--partition, --time, --cpus-per-task, ...)\n"
    "\n"
    "status: each task's state (its state file in D/state, and squeue while Slurm knows the\n"
    "job) and its runs' states (its database), the runs not COMPLETED, the merged database.\n"
    "Exit 0 when every planned run is COMPLETED, 1 when a run or a task failed, 3 while runs\n"
    "are still to do.\n"
    "\n"
    "  -h, --help         this help\n";

enum { OPT_TASKS = 256, OPT_PER_RUN, OPT_MAX_PARALLEL, OPT_DIR, OPT_DATA_DIR };

static const struct option submit_options[] = {
    {"tasks", required_argument, NULL, OPT_TASKS},
    {"per-run", no_argument, NULL, OPT_PER_RUN},
    {"max-parallel", required_argument, NULL, OPT_MAX_PARALLEL},
    {"dir", required_argument, NULL, OPT_DIR},
    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
    {"dry-run", no_argument, NULL, 'n'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int slurm_submit_cmd(int argc, char **argv)
{
    slurm_submit_options o = {.out = stdout};
    bool per_run = false;
    /* everything after "--" is sbatch's; getopt must not see it */
    int end = argc;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            end = i;
            o.sbatch_args = (const char *const *)argv + i + 1;
            o.n_sbatch_args = argc - i - 1;
            break;
        }
    optind = 0;
    opterr = 0;
    int c, rc = 0;
    while ((c = getopt_long(end, argv, "nh", submit_options, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(slurm_usage, stdout); return CMD_OK;
        case OPT_TASKS:
            rc = cmd_parse_int(&o.tasks, "slurm", "tasks", optarg, 1, CMD_SHARDS_MAX);
            break;
        case OPT_PER_RUN: per_run = true; break;
        case OPT_MAX_PARALLEL:
            rc = cmd_parse_int(&o.max_parallel, "slurm", "max-parallel", optarg, 1, 1000000);
            break;
        case OPT_DIR: o.dir = optarg; break;
        case OPT_DATA_DIR: o.data_dir = optarg; break;
        case 'n': o.dry_run = true; break;
        default: return cmd_bad_option("slurm", argv);
        }
        if (rc)
            return rc;
    }
    if (per_run && o.tasks)
        return cmd_usage_error("slurm", "--tasks and --per-run exclude each other");
    if (optind >= end)
        return cmd_usage_error("slurm", "submit: missing the experiment file");
    if (optind + 1 < end)
        return cmd_usage_error("slurm", "submit: unexpected argument '%s'", argv[optind + 1]);
    err_info e = {0};
    experiment x;
    if (exp_load(&x, argv[optind], &e))
        return cmd_fail(&e);
    rc = slurm_submit(&x, &o, &e);
    exp_release(&x);
    return rc ? cmd_fail(&e) : CMD_OK;
}

static int slurm_status_cmd(int argc, char **argv)
{
    static const struct option status_options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", status_options, NULL)) != -1) {
        if (c == 'h') {
            fputs(slurm_usage, stdout);
            return CMD_OK;
        }
        return cmd_bad_option("slurm", argv);
    }
    if (optind >= argc)
        return cmd_usage_error("slurm", "status: missing the directory of 'bench slurm submit'");
    if (optind + 1 < argc)
        return cmd_usage_error("slurm", "status: unexpected argument '%s'", argv[optind + 1]);
    err_info e = {0};
    slurm_status_summary sum;
    if (slurm_status(&sum, argv[optind], stdout, &e))
        return cmd_fail(&e);
    if (sum.completed == sum.runs)
        return CMD_OK;
    return sum.failed || sum.tasks_failed ? CMD_FAIL : CMD_UNFINISHED;
}

/* The subcommands, git style. */
static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
} slurm_subcommands[] = {
    {"submit", slurm_submit_cmd},
    {"status", slurm_status_cmd},
};

int cmd_slurm(int argc, char **argv)
{
    if (argc < 2)
        return cmd_usage_error("slurm", "missing the subcommand (valid: submit, status)");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(slurm_usage, stdout);
        return CMD_OK;
    }
    for (size_t i = 0; i < sizeof slurm_subcommands / sizeof slurm_subcommands[0]; i++)
        if (strcmp(argv[1], slurm_subcommands[i].name) == 0)
            return slurm_subcommands[i].fn(argc - 1, argv + 1);
    return cmd_usage_error("slurm", "unknown subcommand '%s' (valid: submit, status)", argv[1]);
}
