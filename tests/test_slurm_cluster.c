/* Issue 17 against a real Slurm: a private single-node cluster from the Debian packages
 * (tests/slurm/cluster: its own munge key and socket, free ports, MaxArraySize 3), started
 * and stopped by this test. CTest label "slurm"; exit 77 (skipped, with the reason) where it
 * cannot run: not root, or slurmctld slurmd slurm-client munge not installed.
 *
 * A sweep of 5 runs goes out as `bench slurm submit --tasks 4 -- --cpus-per-task=1`: 4 tasks,
 * split into two arrays by MaxArraySize 3, each bound to one CPU, plus the merge job. While
 * task 1 trains the first of its two runs, Slurm's warning (USR1 to the batch shell, as
 * --signal=B:USR1 sends it) arrives: bench stops cleanly, the task requeues itself and its
 * second attempt finishes. The merged database then holds every planned key COMPLETED once,
 * with the parameter hashes of one `bench run` of the whole sweep in one process, trained with
 * one thread; the logs are under the sweep's directory and the run keys are the plan's. A
 * second sweep has a run that diverges: its task fails, the merge job runs all the same, and
 * `bench slurm status` says which task and run.
 *
 * Nothing here asserts a duration: the waits are for states (a run RUNNING, a signal pending,
 * a job ended), bounded only so that a hang fails instead of blocking CI. */
#define _GNU_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cli.h"
#include "slurm.h"

#define CLUSTER_SCRIPT BENCH_SOURCE_DIR "/tests/slurm/cluster"

typedef struct world {
    char dir[256];     /* everything of the test: cluster/, data/, the sweeps' directories */
    char cluster[300];
    bool started;
} world;

/* 5 runs of 2 epochs; no thread count: the runner takes what the task is bound to. */
static const char grid_toml[] =
    "[experiment]\nname = \"grid\"\n"
    "[data]\ndataset = \"idx:data/synth\"\n"
    "[model]\npreset = \"paper\"\nbn = false\n"
    "[training]\nepochs = 2\nbatch = 20\niterations = 12\n"
    "[evaluation]\ntrain_samples = 50\n"
    "[sweep]\nseed = [1, 2, 3, 4, 5]\n";

/* 2 runs, the second diverges at once (SGD at lr 1e30). */
static const char bad_toml[] =
    "[experiment]\nname = \"bad\"\n"
    "[data]\ndataset = \"idx:data/synth\"\n"
    "[model]\npreset = \"paper\"\nbn = false\n"
    "[training]\nepochs = 1\nbatch = 20\niterations = 4\noptimizer = \"sgd\"\n"
    "[evaluation]\ntrain_samples = 50\n"
    "[sweep]\nlr = [0.05, 1e30]\n";

/* Polls are bounded so that a hang fails the test; the bound is no expectation of speed. */
enum { POLL_MS = 20, POLL_MAX = 30000 }; /* 10 minutes */

static int group_setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    snprintf(w->dir, sizeof w->dir, "/tmp/bench-test-slurmcluster-XXXXXX");
    if (!mkdtemp(w->dir))
        return -1;
    chmod(w->dir, 0755); /* munged wants every directory above its socket searchable */
    snprintf(w->cluster, sizeof w->cluster, "%s/cluster", w->dir);
    static cli_result r;
    cli_run(&r, NULL, (const char *const[]){CLUSTER_SCRIPT, "start", w->cluster,
                                            "--max-array-size", "3", NULL});
    if (r.status != 0) {
        print_error("cannot start the test cluster: %s%s\n", r.out, r.err);
        return -1;
    }
    w->started = true;
    char conf[400];
    snprintf(conf, sizeof conf, "%s/slurm.conf", w->cluster);
    setenv("SLURM_CONF", conf, 1);
    char p[400];
    snprintf(p, sizeof p, "%s/data", w->dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/data/synth", w->dir);
    mkdir(p, 0755);
    cli_write_synth(p, "train", 300, 1);
    cli_write_synth(p, "t10k", 100, 2);
    snprintf(p, sizeof p, "%s/grid.toml", w->dir);
    cli_write_text(p, grid_toml);
    snprintf(p, sizeof p, "%s/bad.toml", w->dir);
    cli_write_text(p, bad_toml);
    *state = w;
    return 0;
}

static int group_teardown(void **state)
{
    world *w = *state;
    if (w->started) {
        static cli_result r;
        cli_run(&r, NULL, (const char *const[]){CLUSTER_SCRIPT, "stop", w->cluster, NULL});
        if (r.status != 0)
            print_error("stopping the test cluster: %s%s\n", r.out, r.err);
    }
    cli_rm_tree(w->dir);
    free(w);
    return 0;
}

#define BENCH(r, w, ...) \
    cli_run_bench(r, &(cli_opts){.cwd = (w)->dir}, (const char *const[]){__VA_ARGS__, NULL})

/* The params_sha256 of run key in db, into out ("" when absent or not COMPLETED once). */
static void params_of(char out[65], const char *db_path, const char *key)
{
    out[0] = '\0';
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT params_sha256 FROM runs WHERE run_key = ?1"
                                            " AND status = 'COMPLETED'", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, 65, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* The job ids `bench slurm submit` saved in D/jobs.tsv: the arrays in order, then the merge. */
static int read_jobs(char arrays[4][32], char merge[32], const char *d)
{
    char path[400], line[256];
    snprintf(path, sizeof path, "%s/jobs.tsv", d);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char kind[16], job[32];
        if (sscanf(line, "%15s %31s", kind, job) != 2)
            continue;
        if (strcmp(kind, "merge") == 0)
            snprintf(merge, 32, "%s", job);
        else if (n < 4)
            snprintf(arrays[n++], 32, "%s", job);
    }
    fclose(f);
    return n;
}

/* squeue's state of a job ("" when squeue does not list it). */
static void job_state(char *out, size_t n, const char *job)
{
    static cli_result r;
    cli_run(&r, NULL, (const char *const[]){"squeue", "-h", "-t", "all", "-j", job, "-o", "%T",
                                            NULL});
    snprintf(out, n, "%.*s", (int)strcspn(r.out, "\n"), r.out);
}

/* Wait until the merge job has ended (it waits for every task, afterany). */
static void wait_merged(const char *merge)
{
    char state[64] = "";
    for (int tries = 0;; tries++) {
        job_state(state, sizeof state, merge);
        if (strcmp(state, "COMPLETED") == 0 || strcmp(state, "FAILED") == 0 ||
            strcmp(state, "CANCELLED") == 0 || strcmp(state, "TIMEOUT") == 0)
            return;
        if (tries > POLL_MAX)
            fail_msg("merge job %s did not end (state '%s')", merge, state);
        cli_sleep_ms(POLL_MS);
    }
}

/* Slurm's warning to array task `job`, at a known point: bench of that task (owner of the
 * RUNNING run of its database) and its workers are stopped, USR1 goes to the batch shell the
 * way --signal=B:USR1 sends it, and once the shell's trap has passed it on to bench, bench and
 * its workers continue. */
static void warn_mid_run(const char *db, const char *job)
{
    int64_t owner = -1;
    for (int tries = 0; (owner = cli_db_int(db, "SELECT owner_pid FROM runs WHERE status ="
                                               " 'RUNNING'")) <= 0; tries++) {
        if (tries > POLL_MAX)
            fail_msg("no run of '%s' started", db);
        cli_sleep_ms(POLL_MS);
    }
    pid_t bench = (pid_t)owner, workers[8];
    int n = cli_stop_tree(workers, 8, bench);
    static cli_result r;
    cli_run(&r, NULL, (const char *const[]){"scancel", "--batch", "--signal=USR1", job, NULL});
    if (r.status != 0)
        fail_msg("scancel --batch --signal=USR1 %s: %s%s", job, r.out, r.err);
    for (int tries = 0; !cli_signal_pending(bench, SIGUSR1); tries++) {
        if (tries > POLL_MAX)
            fail_msg("the batch shell of %s did not pass USR1 on to bench %d", job, (int)bench);
        cli_sleep_ms(POLL_MS);
    }
    cli_cont_tree(bench, workers, n);
}

static bool file_contains(const char *path, const char *needle)
{
    char *text = cli_read_file(path, NULL);
    bool yes = strstr(text, needle) != NULL;
    free(text);
    return yes;
}

static void test_sweep_array_requeue_merge(void **state)
{
    world *w = *state;
    static cli_result r;
    char ref[400], d[400], merged[500], p[600];
    snprintf(ref, sizeof ref, "%s/ref.db", w->dir);
    snprintf(d, sizeof d, "%s/grid", w->dir);
    snprintf(merged, sizeof merged, "%s/bench.db", d);
    /* the reference: one process runs the whole sweep */
    BENCH(&r, w, "run", "grid.toml", "--db", ref, "-j", "1");
    if (r.status != 0)
        fail_msg("reference run: %s%s", r.out, r.err);

    BENCH(&r, w, "slurm", "submit", "grid.toml", "--tasks", "4", "--dir", d, "--",
          "--cpus-per-task=1");
    if (r.status != 0)
        fail_msg("submit: %s%s", r.out, r.err);
    assert_non_null(strstr(r.out, "5 runs in 4 tasks, 2 job arrays (MaxArraySize 3)"));
    char arrays[4][32], merge[32] = "";
    assert_int_equal(read_jobs(arrays, merge, d), 2);
    assert_true(merge[0] != '\0');

    /* task 1 (array task 0 of the first array) runs seeds 1 and 5: warn it during the first */
    char db1[500], job1[64];
    snprintf(db1, sizeof db1, "%s/db/task-1.db", d);
    snprintf(job1, sizeof job1, "%s_0", arrays[0]);
    warn_mid_run(db1, job1);
    wait_merged(merge);

    BENCH(&r, w, "slurm", "status", d);
    if (r.status != 0)
        fail_msg("status: exit %d\n%s%s", r.status, r.out, r.err);
    assert_non_null(strstr(r.out, "merged: 5 of 5 planned runs COMPLETED"));

    /* task 1: warned, stopped cleanly (exit 3), requeued itself, finished at attempt 1 */
    snprintf(p, sizeof p, "%s/state/task-1", d);
    char *states = cli_read_file(p, NULL);
    if (!strstr(states, "end attempt 0 exit 3 warned USR1") ||
        !strstr(states, "requeued attempt 0") || !strstr(states, "start attempt 1") ||
        !strstr(states, "end attempt 1 exit 0"))
        fail_msg("task 1's attempts:\n%s", states);
    free(states);
    snprintf(p, sizeof p, "%s/logs/task-%s_0.out", d, arrays[0]);
    assert_true(file_contains(p, "interrupted by signal 10"));
    assert_true(file_contains(p, "done: "));
    /* the second array holds task 4, and every task wrote its own log under D */
    snprintf(p, sizeof p, "%s/logs/task-%s_0.out", d, arrays[1]);
    assert_true(file_contains(p, "shard 4/4"));
    for (int t = 1; t <= 2; t++) {
        snprintf(p, sizeof p, "%s/logs/task-%s_%d.out", d, arrays[0], t);
        assert_true(file_contains(p, "done: "));
    }
    snprintf(p, sizeof p, "%s/logs/merge-%s.out", d, merge);
    assert_true(file_contains(p, "merged 4 databases"));

    /* the merged database against the plan: every planned key COMPLETED once, with the
     * reference's parameters, trained with one thread (each task was bound to one CPU) */
    slurm_plan plan;
    err_info e = {0};
    snprintf(p, sizeof p, "%s/plan.tsv", d);
    if (slurm_plan_load(&plan, p, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(plan.n_runs, 5);
    assert_int_equal(cli_db_int(merged, "SELECT count(*) FROM runs"), 5);
    assert_int_equal(cli_db_int(merged, "SELECT count(*) FROM runs WHERE status = 'COMPLETED'"), 5);
    assert_int_equal(cli_db_int(merged, "SELECT count(*) FROM runs WHERE threads = 1"), 5);
    assert_int_equal(cli_db_int(merged, "SELECT count(*) FROM epochs"), 5 * 2);
    assert_int_equal(cli_db_int(merged, "SELECT count(DISTINCT run_key) FROM epochs"), 5);
    for (int i = 0; i < plan.n_runs; i++) {
        char got[65], want[65];
        params_of(got, merged, plan.runs[i].key);
        params_of(want, ref, plan.runs[i].key); /* absent: the keys differ (a dirty tree) */
        if (!want[0] || strcmp(got, want) != 0)
            fail_msg("run %d (%.12s): parameters %s merged, %s in one process", i + 1,
                     plan.runs[i].key, got, want[0] ? want : "(no such key)");
    }
    slurm_plan_release(&plan);
    /* no Slurm log landed in the submit directory */
    snprintf(p, sizeof p, "%s/slurm-%s_0.out", w->dir, arrays[0]);
    assert_int_not_equal(access(p, F_OK), 0);
}

static void test_failed_task_still_merged(void **state)
{
    world *w = *state;
    static cli_result r;
    char d[400], merged[500];
    snprintf(d, sizeof d, "%s/bad", w->dir);
    snprintf(merged, sizeof merged, "%s/bench.db", d);
    BENCH(&r, w, "slurm", "submit", "bad.toml", "--per-run", "--dir", d, "--",
          "--cpus-per-task=1");
    if (r.status != 0)
        fail_msg("submit: %s%s", r.out, r.err);
    char arrays[4][32], merge[32] = "";
    assert_int_equal(read_jobs(arrays, merge, d), 1);
    wait_merged(merge);
    BENCH(&r, w, "slurm", "status", d);
    if (r.status != 1 || !strstr(r.out, "FAILED (exit 1)") || !strstr(r.out, "DIVERGED") ||
        !strstr(r.out, "1 task failed"))
        fail_msg("status: exit %d\n%s%s", r.status, r.out, r.err);
    assert_int_equal(cli_db_int(merged, "SELECT count(*) FROM runs WHERE status = 'COMPLETED'"), 1);
    assert_int_equal(cli_db_int(merged, "SELECT count(*) FROM runs WHERE status = 'DIVERGED'"), 1);
    char state_[64];
    char job[64];
    snprintf(job, sizeof job, "%s_1", arrays[0]);
    job_state(state_, sizeof state_, job);
    assert_string_equal(state_, "FAILED");
}

int main(void)
{
    static cli_result r;
    cli_run(&r, NULL, (const char *const[]){CLUSTER_SCRIPT, "check", NULL});
    if (r.status == 77) {
        printf("skipped: cannot run a test Slurm cluster here: %s", r.out);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep_array_requeue_merge),
        cmocka_unit_test(test_failed_task_still_merged),
    };
    return cmocka_run_group_tests_name("slurm_cluster", tests, group_setup, group_teardown);
}
