/* bench run FILE.toml: expand an experiment into runs, execute them in worker processes and
 * record every epoch in the results database (resumable). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "exp.h"
#include "runner.h"
#include "slurm.h"

static const char run_usage[] =
    "usage: bench run FILE.toml [options]\n"
    "\n"
    "Expand the experiment's sweep, print the plan, train every run not yet COMPLETED under\n"
    "the same run key, and store per-epoch metrics with full provenance in SQLite.\n"
    "Ctrl-C leaves a consistent database; running the same command again resumes.\n"
    "A file with a [select] table first takes the values of its selected keys from the\n"
    "winner among the runs of its 'from' experiment in the same database, queued by this\n"
    "build, and prints the candidates and the winner (experiments/README.md, \"[select]\").\n"
    "\n"
    "  --db PATH          results database (default results/bench.db)\n"
    "  --data-dir DIR     where the data sets are (default: $BENCH_DATA_DIR, then ./data)\n"
    "  -j, --jobs N       worker processes at once (default: what cores and memory allow)\n"
    "  -n, --dry-run      print the plan and stop\n"
    "  -f, --force        rerun runs that are already COMPLETED\n"
    "  --shard I/N        run only the I-th of N interleaved shards (1 <= I <= N)\n"
    "  --plan FILE        the plan of 'bench slurm submit': refuse to run when the shard's run\n"
    "                     keys differ from it (the tree, build or data changed since)\n"
    "  -h, --help         this help\n"
    "\n"
    "Exit status: 0 every run of the shard is COMPLETED; 1 a run failed or diverged, or an\n"
    "error; 2 usage; 3 runs left unfinished (interrupted by a signal, or running in another\n"
    "bench run): running the same command again finishes them.\n";

enum { OPT_DB = 256, OPT_DATA_DIR, OPT_SHARD, OPT_PLAN };

static const struct option run_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
    {"jobs", required_argument, NULL, 'j'},
    {"dry-run", no_argument, NULL, 'n'},
    {"force", no_argument, NULL, 'f'},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"plan", required_argument, NULL, OPT_PLAN},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The keys the plan gives this shard, for runner_options.expect. */
static int load_expect(runner_expect *x, slurm_plan *plan, const char ***keys, const char *path,
                       const runner_options *o, err_info *e)
{
    int rc = slurm_plan_load(plan, path, e);
    if (rc)
        return rc;
    if (plan->tasks != o->shard_count)
        return err_set(e, ERR_INVALID, "the plan '%s' has %d task%s: run it with --shard I/%d, "
                       "not %d/%d", path, plan->tasks, plan->tasks == 1 ? "" : "s", plan->tasks,
                       o->shard_index + 1, o->shard_count);
    *keys = calloc((size_t)plan->n_runs, sizeof **keys);
    if (!*keys)
        return err_set(e, ERR_NOMEM, "out of memory");
    *x = (runner_expect){.source = path, .identity = plan->identity, .keys = *keys};
    slurm_plan_task_keys(*keys, &x->n, plan, o->shard_index + 1);
    return 0;
}

int cmd_run(int argc, char **argv)
{
    runner_options o = runner_options_default();
    const char *plan_path = NULL;
    optind = 0;
    opterr = 0;
    int c, rc = 0;
    while ((c = getopt_long(argc, argv, "j:nfh", run_options, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(run_usage, stdout);
            return CMD_OK;
        case OPT_DB:
            o.db_path = optarg;
            break;
        case OPT_DATA_DIR:
            o.data_dir = optarg;
            break;
        case 'j':
            rc = cmd_parse_int(&o.jobs, "run", "jobs", optarg, 1, 256);
            break;
        case 'n':
            o.dry_run = true;
            break;
        case 'f':
            o.force = true;
            break;
        case OPT_SHARD:
            if ((rc = cmd_parse_shard(&o.shard_index, &o.shard_count, "run", "shard", optarg)) ==
                CMD_OK)
                o.shard_index--;
            break;
        case OPT_PLAN:
            plan_path = optarg;
            break;
        default:
            return cmd_bad_option("run", argv);
        }
        if (rc)
            return rc;
    }
    if (optind >= argc)
        return cmd_usage_error("run", "missing the experiment file");
    if (optind + 1 < argc)
        return cmd_usage_error("run", "unexpected argument '%s'", argv[optind + 1]);

    err_info e = {0};
    experiment x;
    if (exp_load(&x, argv[optind], &e))
        return cmd_fail(&e);
    slurm_plan plan = {0};
    runner_expect expect;
    const char **keys = NULL;
    if (plan_path && (rc = load_expect(&expect, &plan, &keys, plan_path, &o, &e)) == 0)
        o.expect = &expect;
    runner_summary sum;
    if (rc == 0)
        rc = runner_execute(&sum, &x, &o, &e);
    exp_release(&x);
    free(keys);
    slurm_plan_release(&plan);
    if (!o.dry_run && rc == 0)
        printf("done: %d completed now, %d already complete\n", sum.completed, sum.skipped);
    if (rc == ERR_INTERRUPTED) {
        cmd_fail(&e);
        return CMD_UNFINISHED;
    }
    if (rc)
        return cmd_fail(&e);
    return CMD_OK;
}
