/* bench merge A.db B.db ... --into X.db: results databases into one (harness/merge.c). */
#include <getopt.h>
#include <stdio.h>

#include "cmd.h"
#include "merge.h"

static const char merge_usage[] =
    "usage: bench merge A.db [B.db...] --into X.db\n"
    "\n"
    "Merge results databases (the task databases of 'bench slurm submit', copies from other\n"
    "machines) into X.db, created when missing: experiments, builds, hosts, data sets, runs\n"
    "with their epochs, and bench perf measurements. Runs are united by run key, never\n"
    "duplicated: of two copies the better wins (COMPLETED over DIVERGED over FAILED over\n"
    "unfinished, then more epochs, then the earlier), whichever file it is in, so merging is\n"
    "idempotent and the order of the files does not matter. Two COMPLETED copies of one key\n"
    "with different parameter hashes are a determinism failure: nothing is merged. Databases\n"
    "of another schema version are refused.\n"
    "\n"
    "  --into X.db        the database merged into\n"
    "  -h, --help         this help\n";

enum { OPT_INTO = 256 };

static const struct option merge_options[] = {
    {"into", required_argument, NULL, OPT_INTO},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int cmd_merge(int argc, char **argv)
{
    const char *into = NULL;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", merge_options, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(merge_usage, stdout); return CMD_OK;
        case OPT_INTO: into = optarg; break;
        default: return cmd_bad_option("merge", argv);
        }
    }
    if (!into)
        return cmd_usage_error("merge", "missing --into X.db");
    if (optind >= argc)
        return cmd_usage_error("merge", "missing the databases to merge");
    err_info e = {0};
    store_merge_counts total;
    if (merge_databases(&total, into, (const char *const *)argv + optind, argc - optind, stdout,
                        &e))
        return cmd_fail(&e);
    printf("merged %d database%s into %s: %d run%s added, %d replaced\n", argc - optind,
           argc - optind == 1 ? "" : "s", into, total.runs_added,
           total.runs_added == 1 ? "" : "s", total.runs_replaced);
    return CMD_OK;
}
