/* Tests of bench report, bench check and bench history by running the built binary
 * (BENCH_BINARY) on temporary databases filled with fabricated runs (no training):
 *   - check passes on runs of the current git revision (prov_build gives its sha) that reach
 *     the accuracy within the budget, taking the defaults from the experiment's [budget];
 *   - check fails, one line each with the figures, on low accuracy, a run over budget, a
 *     diverged run and on no runs at this revision; malformed flags are usage errors;
 *   - defect 8, on real training: a budget half again as long as a run's CPU time passes the
 *     same run trained again beside one busy process per CPU (and one more), whose wall time
 *     is several times longer, and fails the run that does twice the work;
 *   - report: every format on the command line, --runs and --provenance, the empty database,
 *     an unknown experiment and an unknown run each exit 1 with one line, conflicting views
 *     exit 2;
 *   - history lists revisions oldest first; history --perf the bench perf measurements per
 *     revision in every format, a usage error with --experiment, exit 1 without any. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <sys/wait.h>

#include "prov.h"
#include "report_fixture.h"

#include "cli.h"
#include "hog.h"

typedef cli_result result;

#define BENCH(r, ...) cli_run_bench(r, NULL, (const char *const[]){__VA_ARGS__, NULL})

/* Lines of text (a message per line). */
static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static const char ci_spec[] = "[experiment]\nname = \"ci\"\n"
                              "[budget]\nminutes = 20\ntarget_accuracy = 0.99\n";

typedef struct fixture {
    char dir[256];
    char db[320];
    char head[48];     /* the current revision as bench check sees it */
    store *s;
    int64_t ci, build_head, build_old;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    fix_mkdtemp(f->dir, sizeof f->dir, "test_check_cli");
    snprintf(f->db, sizeof f->db, "%s/bench.db", f->dir);
    err_info e = {0};
    prov_build_info b;
    if (prov_build(&b, NULL, &e))
        fail_msg("prov_build: %s", e.msg);
    snprintf(f->head, sizeof f->head, "%s", b.git_sha);
    prov_build_release(&b);
    if (store_open(&f->s, f->db, &e))
        fail_msg("%s", e.msg);
    f->ci = fix_experiment(f->s, "ci", ci_spec);
    f->build_head = fix_build(f->s, f->head);
    f->build_old = fix_build(f->s, strcmp(f->head, "none") ? "none"
                                                          : "0123456789012345678901234567890123456789");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    store_close(f->s);
    fix_rmdir(f->dir);
    free(f);
    return 0;
}

/* Two runs of ci at HEAD: 0.992 and 0.993, trained in 500 s and 600 s. An old revision's run
 * with a poor accuracy, which check must ignore. */
static void add_good_runs(fixture *f)
{
    const fix_run runs[] = {
        {"a01aaaa", "momentum", 1, 1, RUN_COMPLETED, 0.992, 250, 250, f->build_head, NULL},
        {"a02aaaa", "momentum", 1, 2, RUN_COMPLETED, 0.993, 300, 300, f->build_head, NULL},
        {"o01aaaa", "momentum", 1, 3, RUN_COMPLETED, 0.500, 9000, 9000, f->build_old, NULL},
    };
    for (int i = 0; i < 3; i++)
        fix_add(f->s, f->ci, &runs[i]);
}

static void test_check_pass(void **state)
{
    fixture *f = *state;
    add_good_runs(f);
    result r;
    BENCH(&r, "check", "--db", f->db); /* defaults from [budget]: 0.99, 20 min */
    if (r.status != 0)
        fail_msg("exit %d: %s", r.status, r.err);
    assert_non_null(strstr(r.out, "ok: accuracy 0.9925 >= 0.9900 over 2 runs"));
    assert_non_null(strstr(r.out, "ok: slowest run trained in 600 s <= budget 1200 s"));
    assert_non_null(strstr(r.out, "check passed"));
    BENCH(&r, "check", "--db", f->db, "--experiment", "ci", "--min-accuracy", "99.2%",
          "--budget", "10m");
    assert_int_equal(r.status, 0);
}

static void test_check_fail(void **state)
{
    fixture *f = *state;
    add_good_runs(f);
    result r;
    BENCH(&r, "check", "--db", f->db, "--min-accuracy", "0.995", "--budget", "550");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "bench: check: accuracy 0.9925 < 0.9950 over 2 runs\n"));
    assert_non_null(strstr(r.err, "bench: check: run a02aaaa: training 600 s > budget 550 s "
                                  "(sum of its 2 epochs' wall time)\n"));
    assert_int_equal(count_lines(r.err), 2);
    /* a diverged run at this revision fails the gate */
    const fix_run d = {"a03aaaa", "momentum", 1, 4, RUN_DIVERGED, 0.1, 10, 10, f->build_head,
                       NULL};
    fix_add(f->s, f->ci, &d);
    BENCH(&r, "check", "--db", f->db);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "run a03aaaa: DIVERGED in epoch 2"));
    assert_int_equal(count_lines(r.err), 1);
}

static void test_check_missing(void **state)
{
    fixture *f = *state;
    result r;
    /* only an old revision's run: missing runs are a failure */
    const fix_run old = {"o01aaaa", "momentum", 1, 1, RUN_COMPLETED, 0.995, 1, 1, f->build_old,
                         NULL};
    fix_add(f->s, f->ci, &old);
    BENCH(&r, "check", "--db", f->db);
    assert_int_equal(r.status, 1);
    char want[160];
    snprintf(want, sizeof want, "no completed runs of experiment 'ci' at revision %.12s",
             f->head);
    assert_non_null(strstr(r.err, want));
    BENCH(&r, "check", "--db", f->db, "--experiment", "paper");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "no experiment 'paper'"));
    /* usage errors */
    BENCH(&r, "check", "--db", f->db, "--budget", "20x");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--budget: '20x' is not a duration"));
    BENCH(&r, "check", "--db", f->db, "--min-accuracy", "1.5");
    assert_int_equal(r.status, 2);
    /* no [budget] target and no --min-accuracy */
    fix_experiment(f->s, "bare", "[experiment]\nname = \"bare\"\n");
    BENCH(&r, "check", "--db", f->db, "--experiment", "bare");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--min-accuracy is required"));
    /* a version an older bench queued has no stored [budget]: said so, with the way out */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE experiments SET swept = NULL, budget_minutes = NULL,"
                                      " target_accuracy = NULL WHERE name = 'ci'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    BENCH(&r, "check", "--db", f->db);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "queued by an older bench"));
    BENCH(&r, "check", "--db", f->db, "--min-accuracy", "0.9");
    assert_int_equal(r.status, 1); /* the old revision's run does not count: no runs at HEAD */
}

/* A number the database at path gives for sql (one row, one column). */
static double query_num(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        fail_msg("sqlite '%s': %s", sql, sqlite3_errmsg(db));
    double v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

#define BENCH_IN(r, dir, ...) \
    cli_run_bench(r, &(cli_opts){.cwd = (dir)}, (const char *const[]){__VA_ARGS__, NULL})

/* The experiment of the load test: one single-threaded run of `iterations` iterations an
 * epoch (its CPU time, unlike a multi-threaded run's, does not grow while it waits) on 12000
 * images, 240 iterations of 50 by the protocol (`iterations` caps them). */
static void write_load_toml(const char *dir, int iterations)
{
    char path[400];
    snprintf(path, sizeof path, "%s/load.toml", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "[experiment]\nname = \"load\"\n[data]\ndataset = \"idx:synth\"\n"
                "[training]\nepochs = 3\nbatch = 50\niterations = %d\nthreads = 1\n"
                "[evaluation]\ntrain_samples = 50\ntest_samples = 50\n",
            iterations);
    fclose(fp);
}

/* Defect 8: `check --budget 30s` failed identical runs on a loaded machine. */
static void test_check_budget_under_load(void **state)
{
    fixture *f = *state;
    static result r;
    char data[300], db[320];
    snprintf(data, sizeof data, "%s/synth", f->dir);
    mkdir(data, 0755);
    cli_write_synth(data, "train", 12000, 1);
    cli_write_synth(data, "t10k", 50, 2);
    snprintf(db, sizeof db, "%s/load.db", f->dir);
    const char *sum_wall = "SELECT sum(e.wall_s) FROM epochs e JOIN runs USING(run_key)"
                           " WHERE runs.status = 'COMPLETED'";
    const char *sum_cpu = "SELECT sum(e.cpu_s) FROM epochs e JOIN runs USING(run_key)"
                          " WHERE runs.status = 'COMPLETED'";

    /* The quiet figure is the smaller of two runs (one of them may itself have met a busy
     * moment). The budget leaves 2x: beside busy processes even a single thread's CPU time
     * grows (a sibling hardware thread or the cache is shared: 1.2-1.6x seen here), which no
     * clock can tell from slower code, so the CLI test proves what holds within that margin:
     * the loaded run passes, four times the work fails. (test_gate shows the rule itself on
     * exact figures: load alone never flips it, twice the work always does.) */
    write_load_toml(f->dir, 50);
    double base_wall = INFINITY, base_cpu = INFINITY;
    for (int i = 0; i < 2; i++) {
        BENCH_IN(&r, f->dir, "run", "load.toml", "--db", "load.db", "--force");
        if (r.status != 0)
            fail_msg("bench run: %s%s", r.out, r.err);
        base_wall = fmin(base_wall, query_num(db, sum_wall));
        base_cpu = fmin(base_cpu, query_num(db, sum_cpu));
    }
    const double factor = 2.0;
    char budget[32];
    snprintf(budget, sizeof budget, "%.3fs", factor * base_cpu);

    /* the same run again beside the hogs */
    pid_t pids[HOG_MAX];
    const int n = hog_count();
    hog_start(pids, n);
    BENCH_IN(&r, f->dir, "run", "load.toml", "--db", "load.db", "--force");
    hog_stop(pids, n);
    if (r.status != 0)
        fail_msg("bench run under load: %s%s", r.out, r.err);
    const double load_wall = query_num(db, sum_wall), load_cpu = query_num(db, sum_cpu);
    BENCH_IN(&r, f->dir, "check", "--db", "load.db", "-e", "load", "--min-accuracy", "0.01",
             "--budget", budget);
    printf("quiet: %.2f s wall, %.2f s cpu; %d hogs: %.2f s wall, %.2f s cpu; budget %s\n%s%s",
           base_wall, base_cpu, n, load_wall, load_cpu, budget, r.out, r.err);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "contended"));
    /* ls, show and report mark the run */
    BENCH_IN(&r, f->dir, "ls", "--db", "load.db");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "s*  "));
    assert_non_null(strstr(r.out, "*: contended, 1 run: in some epoch"));
    const char *row = strchr(strstr(r.out, "\n  ") + 3, '\n'); /* past the column header */
    char key[16];
    snprintf(key, sizeof key, "%.12s", row + 3);
    BENCH_IN(&r, f->dir, "show", "--db", "load.db", key, "--format", "json");
    assert_int_equal(r.status, 0);
    json_error_t je;
    json_t *doc = json_loads(r.out, 0, &je);
    assert_non_null(doc);
    /* Not every epoch need be contended: a scheduler may let the fresh run go first for an
     * epoch of 0.1 s (seen once in CI: 2 of 3). What must hold is at least one, and the count
     * agreeing with the epochs' own marks. */
    const json_int_t contended = json_integer_value(json_object_get(doc, "contended_epochs"));
    assert_in_range(contended, 1, 3);
    json_t *epochs = json_object_get(doc, "epochs");
    size_t i_epoch;
    json_t *epoch;
    json_int_t marked = 0;
    json_array_foreach(epochs, i_epoch, epoch)
    {
        marked += json_is_true(json_object_get(epoch, "contended"));
    }
    assert_int_equal(marked, contended);
    assert_true(json_number_value(json_object_get(doc, "gate_s")) <= factor * base_cpu);
    json_decref(doc);
    BENCH_IN(&r, f->dir, "report", "--db", "load.db", "-e", "load");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "1 completed run trained on a contended machine"));
    BENCH_IN(&r, f->dir, "report", "--db", "load.db", "-e", "load", "--runs");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "*  "));
    assert_non_null(strstr(r.out, "(*: contended in some epoch"));

    /* four times the work: the gate fails it, and names it */
    write_load_toml(f->dir, 200);
    BENCH_IN(&r, f->dir, "run", "load.toml", "--db", "load.db");
    if (r.status != 0)
        fail_msg("bench run, twice the work: %s%s", r.out, r.err);
    BENCH_IN(&r, f->dir, "check", "--db", "load.db", "-e", "load", "--min-accuracy", "0.01",
             "--budget", budget);
    printf("four times the work:\n%s%s", r.out, r.err);
    assert_int_equal(r.status, 1);
    assert_int_equal(count_lines(r.err), 1);
    assert_non_null(strstr(r.err, "s > budget "));
}

static void test_report_cli(void **state)
{
    fixture *f = *state;
    result r;
    BENCH(&r, "report", "--db", f->db);
    assert_int_equal(r.status, 0); /* an experiment without runs: a section saying so */
    assert_non_null(strstr(r.out, "no runs"));
    add_good_runs(f);
    BENCH(&r, "report", "--db", f->db, "--format", "csv", "--group-by", "seed");
    assert_int_equal(r.status, 0);
    assert_int_equal(count_lines(r.out), 1 + 3);
    assert_non_null(strstr(r.out, "ci,1,seed=1,1,0,0,0,0.992,,,,0.992,0.992,"));
    assert_non_null(strstr(r.out, ",500,,500,250\n")); /* time: mean, sd, min, per epoch */
    BENCH(&r, "report", "--db", f->db, "--format", "json", "--f1", "--per-class");
    assert_int_equal(r.status, 0);
    json_t *j = json_loads(r.out, 0, NULL);
    assert_non_null(j);
    json_t *g = json_array_get(
        json_object_get(json_array_get(json_object_get(j, "experiments"), 0), "groups"), 0);
    /* runs of two builds are two groups: HEAD's two runs apart from the old one */
    assert_int_equal(json_integer_value(json_object_get(g, "n")), 2);
    assert_int_equal(json_array_size(json_object_get(g, "per_class")), 3);
    json_decref(j);
    BENCH(&r, "report", "--db", f->db, "--format", "md", "--paper");
    assert_int_equal(r.status, 0);
    char row[256];
    snprintf(row, sizeof row, "| test accuracy (Lee & Rhee 2024) | 99.22%% | ci | revision=%.7s | 2 |",
             f->head);
    assert_non_null(strstr(r.out, row));
    BENCH(&r, "report", "--db", f->db, "--confusion", "a01a", "--epoch", "1");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "at epoch 1"));
    /* errors: one line, exit 1 (usage: 2) */
    BENCH(&r, "report", "--db", f->db, "--experiment", "nope");
    assert_int_equal(r.status, 1);
    char want[512];
    snprintf(want, sizeof want, "bench: no experiment 'nope' in '%s'\n", f->db);
    assert_string_equal(r.err, want);
    BENCH(&r, "report", "--db", f->db, "--confusion", "ffffffff");
    assert_int_equal(r.status, 1);
    assert_int_equal(count_lines(r.err), 1);
    assert_non_null(strstr(r.err, "no run 'ffffffff'"));
    BENCH(&r, "report", "--db", f->db, "--format", "xml");
    assert_int_equal(r.status, 2);
    BENCH(&r, "report", "--db", f->db, "--epoch", "0");
    assert_int_equal(r.status, 2);
    /* --runs and --provenance: the runs with their revision, the build they came from */
    BENCH(&r, "report", "--db", f->db, "--runs", "--format", "md");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "## runs of experiment ci: 3 runs in planned order"));
    assert_non_null(strstr(r.out, "| a01aaaa |"));
    BENCH(&r, "report", "--db", f->db, "--provenance", "--experiment", "ci", "--format", "csv");
    assert_int_equal(r.status, 0);
    /* two builds; one host and one data set row for "not recorded" */
    assert_int_equal(count_lines(r.out), 1 + 2 + 1 + 1);
    assert_non_null(strstr(r.out, f->head));
    BENCH(&r, "report", "--db", f->db, "--runs", "--experiment", "nope");
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, want);
    BENCH(&r, "report", "--db", f->db, "--runs", "--provenance");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--runs and --provenance are separate reports"));
    BENCH(&r, "report", "--db", f->db, "--provenance", "--paper");
    assert_int_equal(r.status, 2);
    assert_int_equal(count_lines(r.err), 1);
}

static void test_empty_db(void **state)
{
    fixture *f = *state;
    char db[400];
    snprintf(db, sizeof db, "%s/empty.db", f->dir);
    err_info e = {0};
    store *s = NULL;
    assert_int_equal(store_open(&s, db, &e), 0);
    store_close(s);
    result r;
    BENCH(&r, "report", "--db", db);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "no experiments in"));
    assert_int_equal(count_lines(r.err), 1);
    BENCH(&r, "history", "--db", db);
    assert_int_equal(r.status, 1);
    BENCH(&r, "check", "--db", db);
    assert_int_equal(r.status, 1);
    snprintf(db, sizeof db, "%s/absent.db", f->dir);
    BENCH(&r, "report", "--db", db);
    assert_int_equal(r.status, 1);
}

static void test_history_cli(void **state)
{
    fixture *f = *state;
    add_good_runs(f);
    fix_started(f->db, "o01aaaa", "2020-01-01T00:00:00.000Z");
    result r;
    BENCH(&r, "history", "--db", f->db, "--experiment", "ci", "--format", "csv");
    assert_int_equal(r.status, 0);
    assert_int_equal(count_lines(r.out), 3);
    char *first = strchr(r.out, '\n') + 1;
    if (strncmp(first, "ci,all,2020-01-01T00:00:00.000Z,", 32) != 0)
        fail_msg("history:\n%s", r.out);
    char want[128];
    snprintf(want, sizeof want, ",%s,false,2,", f->head);
    const char *second = strstr(first, want);
    if (!second)
        fail_msg("no '%s' in:\n%s", want, r.out);
    /* (0.992 + 0.993) / 2 is the double 0.9924999999999999, written so that it reads back */
    if (fabs(strtod(second + strlen(want), NULL) - 0.9925) > 1e-12)
        fail_msg("mean accuracy in:\n%s", r.out);
    /* the older revision has no mark; HEAD moved: 0.5 -> 0.9925, 18000 s -> 550 s */
    assert_non_null(strstr(first, ",\n"));
    assert_true(strstr(first, ",\n") < second);
    assert_non_null(strstr(second, ",acc+time\n"));
    BENCH(&r, "history", "--db", f->db);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "== history of experiment ci"));
    assert_non_null(strstr(r.out, "mark: 'acc', 'time' or 'acc+time'"));
}

/* Two measurements at the old revision (10 and 10.2 s/epoch), one at HEAD (8 s: faster). */
static void test_history_perf_cli(void **state)
{
    fixture *f = *state;
    result r;
    BENCH(&r, "history", "--perf", "--db", f->db);
    assert_int_equal(r.status, 1);
    char want[512];
    snprintf(want, sizeof want,
             "bench: no perf measurements in '%s' yet (bench perf adds some)\n", f->db);
    assert_string_equal(r.err, want);
    const fix_perf_row rows[] = {
        {f->build_old, 2, 10.0, 40.0, "2024-01-01T00:00:00.000Z", NULL, 0, NULL},
        {f->build_old, 2, 10.2, 42.0, "2024-01-01T01:00:00.000Z", NULL, 0, NULL},
        {f->build_head, 2, 8.0, 50.0, "2024-02-01T00:00:00.000Z", NULL, 0, NULL},
    };
    for (int i = 0; i < 3; i++)
        fix_perf(f->s, f->db, &rows[i]);
    BENCH(&r, "history", "--perf", "--db", f->db);
    if (r.status != 0)
        fail_msg("exit %d: %s", r.status, r.err);
    assert_non_null(strstr(r.out, "== speed history: 2 threads, batch 100, synthetic data;"));
    assert_non_null(strstr(r.out, "10.10 ± 0.14         10.00      5941       41.0\n"));
    assert_non_null(strstr(r.out, "8.00 ± -          8.00      7500       50.0  faster\n"));
    assert_non_null(strstr(r.out, "mark: 'slower' or 'faster'"));
    BENCH(&r, "history", "--perf", "--db", f->db, "--format", "md");
    assert_int_equal(r.status, 0);
    snprintf(want, sizeof want, "| 2024-02-01 00:00 | %.10s | 1 | 8.00 ± - | 8.00 | 7500 | 50.0 | faster |\n",
             f->head);
    assert_non_null(strstr(r.out, want));
    BENCH(&r, "history", "--perf", "--db", f->db, "--format", "csv");
    assert_int_equal(r.status, 0);
    assert_int_equal(count_lines(r.out), 1 + 2);
    snprintf(want, sizeof want,
             "\n2,100,synthetic,auto,false,2024-02-01T00:00:00.000Z,%s,false,1,8,,8,7500,50,"
             "faster\n",
             f->head);
    assert_non_null(strstr(r.out, want));
    BENCH(&r, "history", "--perf", "--db", f->db, "--format", "json");
    assert_int_equal(r.status, 0);
    json_t *j = json_loads(r.out, 0, NULL);
    assert_non_null(j);
    json_t *revs = json_object_get(json_array_get(json_object_get(j, "setups"), 0), "revisions");
    assert_int_equal(json_array_size(revs), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(revs, 0), "n")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(revs, 1), "git_sha")),
                        f->head);
    json_decref(j);
    /* usage errors: one line, exit 2 */
    BENCH(&r, "history", "--perf", "--experiment", "ci", "--db", f->db);
    assert_int_equal(r.status, 2);
    assert_int_equal(count_lines(r.err), 1);
    assert_non_null(strstr(r.err, "drop --experiment 'ci'"));
    BENCH(&r, "history", "--perf", "--format", "xml", "--db", f->db);
    assert_int_equal(r.status, 2);
    assert_int_equal(count_lines(r.err), 1);
    BENCH(&r, "history", "--perf=1", "--db", f->db);
    assert_int_equal(r.status, 2);
    assert_int_equal(count_lines(r.err), 1);
    BENCH(&r, "history", "--help");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "--perf"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_budget_under_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_cli, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_db, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_cli, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_perf_cli, setup, teardown),
    };
    return cmocka_run_group_tests_name("check_cli", tests, NULL, NULL);
}
