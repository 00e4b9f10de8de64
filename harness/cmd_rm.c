/* bench rm: delete runs from the results database, by key or by experiment (and status), all
 * or nothing: a run that a live process is executing stops the whole command before anything
 * is deleted. --dry-run says what would go. The work is store_run_remove's. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "exp.h"
#include "runner.h"
#include "store.h"
#include "vec.h"

static const char rm_usage[] =
    "usage: bench rm RUN... [--db PATH] [--experiment NAME] [--dry-run]\n"
    "       bench rm --experiment NAME [--status STATUS] [--db PATH] [--dry-run]\n"
    "\n"
    "Delete runs with everything recorded of them (epochs, per-class metrics, confusion\n"
    "matrices, tags, note). RUN is a run key or a unique prefix of one (at least 4\n"
    "characters). With --experiment, the runs are taken out of that experiment: a run that\n"
    "another experiment file also planned stays for that one. An experiment version left\n"
    "without runs goes too. Archived runs are included. Nothing is deleted when a run is\n"
    "RUNNING under a live process (exit 1); stop that bench run first.\n"
    "\n"
    "  --db PATH            results database (default results/bench.db)\n"
    "  -e, --experiment N   the runs of experiment N (all of them when no RUN is given)\n"
    "  --status STATUS      only runs in STATUS (QUEUED, RUNNING, COMPLETED, FAILED,\n"
    "                       DIVERGED, INTERRUPTED; any case)\n"
    "  -n, --dry-run        print what would be removed, change nothing\n"
    "  -h, --help           this help\n";

enum { OPT_DB = 256, OPT_STATUS };

static const struct option rm_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"experiment", required_argument, NULL, 'e'},
    {"status", required_argument, NULL, OPT_STATUS},
    {"dry-run", no_argument, NULL, 'n'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* A run to remove, as the listing shows it. */
typedef struct rm_run {
    char key[STORE_KEY_MAX];
    char line[EXP_TEXT_MAX + 160]; /* "experiment STATUS label" */
    int status;
} rm_run;

typedef struct rm_ctx {
    rm_run *v;
    int n, cap;
    int status;          /* -1: any */
    err_info *e;
} rm_ctx;

/* Add the run in r (once, in the status asked for). */
static int rm_collect(void *ctx, const store_run_row *r)
{
    rm_ctx *c = ctx;
    if (c->status >= 0 && r->status != c->status)
        return 0;
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->v[i].key, r->run_key) == 0)
            return 0;
    if (!vec_grow((void **)&c->v, c->n, &c->cap, sizeof *c->v))
        return err_set(c->e, ERR_NOMEM, "out of memory");
    rm_run *w = &c->v[c->n++];
    char label[EXP_TEXT_MAX];
    exp_label_from_stored(label, sizeof label, r->swept, r->swept_values);
    snprintf(w->key, sizeof w->key, "%s", r->run_key);
    snprintf(w->line, sizeof w->line, "%s %s%s%s", r->experiment_name ? r->experiment_name : "-",
             run_status_name(r->status), label[0] ? " " : "", label);
    w->status = r->status;
    return 0;
}

/* Counts the experiments other than *ctx's name (a run's others, for a dry run). */
typedef struct rm_others {
    const char *experiment;
    int n;
} rm_others;

static int rm_count_other(void *ctx, const char *name)
{
    rm_others *o = ctx;
    o->n += strcmp(name, o->experiment) != 0;
    return 0;
}

/* The runs the command line names: RUN arguments, else the experiment's. */
static int rm_select(store *s, rm_ctx *c, char **runs, int n_runs, const char *experiment,
                     err_info *e)
{
    if (n_runs == 0)
        return store_runs(s, experiment, c->status, rm_collect, c, e);
    int rc = 0;
    for (int i = 0; i < n_runs && !rc; i++) {
        char key[STORE_KEY_MAX];
        rc = store_run_resolve(s, key, runs[i], e);
        if (!rc)
            rc = store_run_get(s, key, rm_collect, c, e);
    }
    return rc;
}

int cmd_rm(int argc, char **argv)
{
    const char *db = "results/bench.db", *experiment = NULL;
    bool dry_run = false;
    err_info e = {0};
    rm_ctx c = {.status = -1, .e = &e};
    optind = 0;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "e:nh", rm_options, NULL)) != -1) {
        switch (opt) {
        case 'h': fputs(rm_usage, stdout); return CMD_OK;
        case OPT_DB: db = optarg; break;
        case 'e': experiment = optarg; break;
        case 'n': dry_run = true; break;
        case OPT_STATUS:
            if (run_status_parse(&c.status, optarg, &e))
                return cmd_usage_error("rm", "--status: %s", e.msg);
            break;
        default: return cmd_bad_option("rm", argv);
        }
    }
    const double stale_s = runner_options_default().stale_after_s;
    if (optind == argc && !experiment)
        return cmd_usage_error("rm", "name the runs (RUN...) or --experiment NAME");
    store *s = NULL;
    if (cmd_open_existing(&s, db, &e))
        return cmd_fail(&e);
    /* archived runs are runs like the others here */
    int rc = store_set_filter(s, &(store_filter){.archived = true}, &e);
    if (!rc)
        rc = rm_select(s, &c, argv + optind, argc - optind, experiment, &e);
    if (!rc && c.n == 0 && experiment)
        rc = err_set(&e, ERR_INVALID, "no runs of experiment '%s'%s%s in '%s'", experiment,
                     c.status >= 0 ? " in status " : "",
                     c.status >= 0 ? run_status_name(c.status) : "", db);
    /* all or nothing: every run is checked before the first goes */
    for (int i = 0; i < c.n && !rc; i++) {
        bool live = false;
        char who[320];
        rc = store_run_live(s, &live, who, sizeof who, c.v[i].key,
                            stale_s, &e);
        if (!rc && live)
            rc = err_set(&e, ERR_CONFLICT, "run '%.12s' is RUNNING in %s: stop that bench run "
                         "first (nothing removed)", c.v[i].key, who);
    }
    bool began = !rc && !dry_run && c.n > 0;
    if (began)
        rc = store_begin(s, &e);
    int n_deleted = 0, n_unlinked = 0;
    for (int i = 0; i < c.n && !rc; i++) {
        bool deleted = true;
        if (dry_run && experiment) {
            rm_others o = {.experiment = experiment};
            rc = store_run_experiments(s, c.v[i].key, rm_count_other, &o, &e);
            deleted = o.n == 0;
        } else if (!dry_run)
            rc = store_run_remove(s, &deleted, c.v[i].key, experiment,
                                  stale_s, &e);
        if (!rc) {
            printf("%s%s %.12s %s%s\n", dry_run ? "would " : "",
                   deleted ? (dry_run ? "remove" : "removed") : (dry_run ? "unlink" : "unlinked"),
                   c.v[i].key, c.v[i].line,
                   deleted ? "" : " (kept: another experiment planned it too)");
            n_deleted += deleted;
            n_unlinked += !deleted;
        }
    }
    if (began && rc)
        store_rollback(s, NULL);
    else if (began)
        rc = store_commit(s, &e);
    store_close(s);
    free(c.v);
    if (rc)
        return cmd_fail(&e);
    if (!dry_run)
        printf("%d run%s removed, %d unlinked\n", n_deleted, n_deleted == 1 ? "" : "s",
               n_unlinked);
    return CMD_OK;
}
