/* bench archive: hide runs from ls, report, plot, check, history and export without deleting
 * them (runs.archived_at); --unarchive brings them back. The runs stay in the database, so
 * that a rerun of their experiment still finds them complete. */
#include <getopt.h>
#include <stdio.h>

#include "cmd.h"
#include "store.h"

static const char archive_usage[] =
    "usage: bench archive RUN... [--unarchive] [--db PATH]\n"
    "\n"
    "Archive runs: ls, report, plot, check, history and export no longer see them (ls and\n"
    "export --archived show them again), but they stay in the database with everything\n"
    "recorded of them, and bench run still counts them as done. RUN is a run key or a unique\n"
    "prefix of one (at least 4 characters; bench ls --archived lists archived runs).\n"
    "\n"
    "  --unarchive     bring the runs back instead\n"
    "  --db PATH       results database (default results/bench.db)\n"
    "  -h, --help      this help\n";

enum { OPT_DB = 256, OPT_UNARCHIVE };

static const struct option archive_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"unarchive", no_argument, NULL, OPT_UNARCHIVE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int cmd_archive(int argc, char **argv)
{
    const char *db = "results/bench.db";
    bool archived = true;
    err_info e = {0};
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", archive_options, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(archive_usage, stdout); return CMD_OK;
        case OPT_DB: db = optarg; break;
        case OPT_UNARCHIVE: archived = false; break;
        default: return cmd_bad_option("archive", argv);
        }
    }
    if (optind == argc)
        return cmd_usage_error("archive", "missing the run keys");
    store *s = NULL;
    if (cmd_open_existing(&s, db, &e))
        return cmd_fail(&e);
    /* all of them or none: a mistyped key leaves the others as they were */
    int rc = store_begin(s, &e);
    for (int i = optind; i < argc && !rc; i++) {
        char key[STORE_KEY_MAX];
        rc = store_run_resolve(s, key, argv[i], &e);
        if (!rc)
            rc = store_run_archive(s, key, archived, &e);
        if (!rc)
            printf("%s %.12s\n", archived ? "archived" : "unarchived", key);
    }
    if (rc)
        store_rollback(s, NULL);
    else
        rc = store_commit(s, &e);
    store_close(s);
    return rc ? cmd_fail(&e) : CMD_OK;
}
