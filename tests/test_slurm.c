/* Tests of harness/slurm without a cluster (test_slurm_cluster runs a real one), by running the
 * built bench and the task scripts it writes on a small synthetic data set:
 *   - `bench slurm submit --dry-run`: the directory (plan, scripts, experiment copy), the plan's
 *     keys equal to `bench run --dry-run`'s, the sbatch commands (array, logs under D, the
 *     merge job afterany), splitting is by task count;
 *   - what submit refuses: sbatch options it sets itself, a warning signal not to the batch
 *     shell, more tasks than runs, a directory inside the source tree, another plan in D;
 *   - `bench run --plan`: a shard whose keys differ from the plan is refused before anything
 *     is written, naming what changed;
 *   - task.sh run by hand as Slurm would: the warning signal (USR1) stops bench cleanly (exit
 *     3) and the script requeues its task (a fake scontrol records it); the next attempt
 *     finishes; an attempt killed outright on another node is taken over at once by the
 *     next; a task bound to 1 CPU trains with 1 thread;
 *   - merge.sh and `bench slurm status`: every task's and run's state, exit 0/1/3. */
#define _GNU_SOURCE /* sched_setaffinity */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sched.h>
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

typedef struct fixture {
    char dir[256];   /* working directory: data/synth, grid.toml */
    char d[320];     /* dir/D: the sweep's directory */
    char fake[320];  /* dir/fake: a fake scontrol */
} fixture;

/* 3 runs (seeds), 2 epochs of 4 iterations of batch 20; threads left to the runner. */
static const char grid_toml[] =
    "[experiment]\nname = \"grid\"\n"
    "[data]\ndataset = \"idx:data/synth\"\n"
    "[model]\npreset = \"paper\"\nbn = false\n"
    "[training]\nepochs = 2\nbatch = 20\niterations = 4\n"
    "[evaluation]\ntrain_samples = 50\n"
    "[sweep]\nseed = [1, 2, 3]\n";

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/bench-test-slurm-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char p[512];
    snprintf(p, sizeof p, "%s/data", f->dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/data/synth", f->dir);
    mkdir(p, 0755);
    cli_write_synth(p, "train", 200, 1);
    cli_write_synth(p, "t10k", 100, 2);
    snprintf(p, sizeof p, "%s/grid.toml", f->dir);
    cli_write_text(p, grid_toml);
    snprintf(f->d, sizeof f->d, "%s/D", f->dir);
    /* a fake scontrol that records its arguments */
    snprintf(f->fake, sizeof f->fake, "%s/fake", f->dir);
    mkdir(f->fake, 0755);
    snprintf(p, sizeof p, "%s/scontrol", f->fake);
    cli_write_text(p, "#!/bin/sh\necho \"$@\" >>\"$(dirname \"$0\")/scontrol.log\"\n");
    chmod(p, 0755);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cli_rm_tree(f->dir);
    free(f);
    return 0;
}

#define RUN(r, f, ...) \
    cli_run_bench(r, &(cli_opts){.cwd = (f)->dir}, (const char *const[]){__VA_ARGS__, NULL})

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void submit_dry(fixture *f, int tasks)
{
    static cli_result r;
    char t[16];
    snprintf(t, sizeof t, "%d", tasks);
    RUN(&r, f, "slurm", "submit", "grid.toml", "--dir", f->d, "--tasks", t, "--dry-run");
    if (r.status != 0)
        fail_msg("submit --dry-run: %s%s", r.out, r.err);
}

/* ---- submit ---- */

static void test_submit_dry_run(void **state)
{
    fixture *f = *state;
    static cli_result r, plan_out;
    RUN(&r, f, "slurm", "submit", "grid.toml", "--dir", f->d, "--tasks", "2", "--max-parallel",
        "1", "--dry-run", "--", "--partition=debug", "--signal=B:USR1@300");
    if (r.status != 0)
        fail_msg("%s%s", r.out, r.err);
    assert_non_null(strstr(r.out, "3 runs in 2 tasks"));
    assert_non_null(strstr(r.out, "'--array=0-1%1'"));
    assert_non_null(strstr(r.out, "'--partition=debug' '--signal=B:USR1@300'"));
    assert_non_null(strstr(r.out, "/D/logs/task-%A_%a.out'"));
    assert_non_null(strstr(r.out, "/D/task.sh' '0'"));
    assert_non_null(strstr(r.out, "'--dependency=afterany:"));
    assert_non_null(strstr(r.out, "'--kill-on-invalid-dep=no'"));
    assert_non_null(strstr(r.out, "/D/merge.sh'"));
    const char *files[] = {"plan.tsv", "task.sh", "merge.sh", "experiment/grid.toml", "db",
                           "logs", "state"};
    char p[600];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", f->d, files[i]);
        if (!exists(p))
            fail_msg("missing %s", p);
    }
    snprintf(p, sizeof p, "%s/jobs.tsv", f->d);
    assert_false(exists(p)); /* nothing was submitted */
    /* the copy is the file, byte for byte */
    snprintf(p, sizeof p, "%s/experiment/grid.toml", f->d);
    char *copy = cli_read_file(p, NULL);
    assert_string_equal(copy, grid_toml);
    free(copy);
    /* the plan: tasks interleaved, keys as bench run computes them */
    slurm_plan plan;
    err_info e = {0};
    snprintf(p, sizeof p, "%s/plan.tsv", f->d);
    if (slurm_plan_load(&plan, p, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(plan.tasks, 2);
    assert_int_equal(plan.n_runs, 3);
    assert_string_equal(plan.experiment, "grid");
    assert_string_equal(plan.dir, f->d);
    assert_non_null(strstr(plan.identity, "git_sha="));
    assert_true(plan.bench[0] == '/');
    RUN(&plan_out, f, "run", "grid.toml", "--dry-run");
    assert_int_equal(plan_out.status, 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(plan.runs[i].task, i % 2 + 1);
        assert_int_equal(plan.runs[i].index, i);
        char needle[32];
        snprintf(needle, sizeof needle, "%4d  %.12s", i + 1, plan.runs[i].key);
        if (!strstr(plan_out.out, needle))
            fail_msg("run %d key %.12s not in the dry run:\n%s", i + 1, plan.runs[i].key,
                     plan_out.out);
    }
    const char *keys[3];
    int n = 0;
    slurm_plan_task_keys(keys, &n, &plan, 1);
    assert_int_equal(n, 2);
    assert_string_equal(keys[1], plan.runs[2].key);
    slurm_plan_release(&plan);

    /* the same plan again: resubmitted; --per-run: one task per run, in one array */
    RUN(&r, f, "slurm", "submit", "grid.toml", "--dir", f->d, "--tasks", "2", "--dry-run");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "resubmitting grid"));
    char d2[400];
    snprintf(d2, sizeof d2, "%s/per-run", f->dir);
    RUN(&r, f, "slurm", "submit", "grid.toml", "--dir", d2, "--per-run", "--dry-run");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "3 runs in 3 tasks"));
    assert_non_null(strstr(r.out, "'--array=0-2'"));
}

static void test_submit_refusals(void **state)
{
    fixture *f = *state;
    static cli_result r;
    static const struct {
        const char *option, *says;
    } sbatch[] = {
        {"--array=1-2", "--array=1-2"},         {"-a1-2", "-a1-2"},
        {"--output=x.out", "logs"},             {"-o", "logs"},
        {"--error=x", "logs"},                  {"--dependency=afterok:1", "merge"},
        {"--wrap=true", "task script"},         {"--open-mode=truncate", "appends"},
        {"--no-requeue", "requeues"},           {"--signal=USR1@60", "B:USR1@SECONDS"},
        {"--signal=B:TERM@60", "B:USR1@SECONDS"}, {"--chdir=/", "relative"},
        {"--parsable", "job ids"},
    };
    for (size_t i = 0; i < sizeof sbatch / sizeof sbatch[0]; i++) {
        RUN(&r, f, "slurm", "submit", "grid.toml", "--dir", f->d, "--dry-run", "--",
            sbatch[i].option, "x");
        if (r.status != 1 || !strstr(r.err, sbatch[i].says) || strchr(r.err, '\n')[1])
            fail_msg("sbatch %s: exit %d: %s", sbatch[i].option, r.status, r.err);
    }
    RUN(&r, f, "slurm", "submit", "grid.toml", "--dir", f->d, "--tasks", "4", "--dry-run");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "only 3 runs"));
    RUN(&r, f, "slurm", "submit", "grid.toml", "--tasks", "2", "--per-run");
    assert_int_equal(r.status, 2);
    RUN(&r, f, "slurm", "frobnicate");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "valid: submit, status"));
    assert_false(exists(f->d)); /* nothing refused left a directory */

    /* inside the source tree: refused, and not created there */
    char inside[600];
    snprintf(inside, sizeof inside, "%s/slurm-test-out-%d", BENCH_SOURCE_DIR, (int)getpid());
    RUN(&r, f, "slurm", "submit", "grid.toml", "--dir", inside, "--dry-run");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "inside the source tree"));
    assert_false(exists(inside));

    /* a bad experiment or missing data: an error, no directory */
    char p[400];
    snprintf(p, sizeof p, "%s/nodata.toml", f->dir);
    cli_write_text(p, "[data]\ndataset = \"idx:data/nowhere\"\n");
    RUN(&r, f, "slurm", "submit", "nodata.toml", "--dir", f->d, "--dry-run");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "nowhere"));
    assert_false(exists(f->d));

    /* D holds another plan */
    submit_dry(f, 2);
    snprintf(p, sizeof p, "%s/other.toml", f->dir);
    cli_write_text(p, "[experiment]\nname = \"grid\"\n[data]\ndataset = \"idx:data/synth\"\n"
                  "[training]\nepochs = 1\nbatch = 20\niterations = 2\n"
                  "[evaluation]\ntrain_samples = 50\n");
    RUN(&r, f, "slurm", "submit", "other.toml", "--dir", f->d, "--dry-run");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "holds another plan"));
}

/* ---- bench run --plan ---- */

/* Replace the first occurrence of from by to in the file at path. */
static void edit_file(const char *path, const char *from, const char *to)
{
    char *text = cli_read_file(path, NULL);
    char *at = strstr(text, from);
    assert_non_null(at);
    FILE *f = fopen(path, "w");
    fwrite(text, 1, (size_t)(at - text), f);
    fputs(to, f);
    fputs(at + strlen(from), f);
    fclose(f);
    free(text);
}

static void test_run_checks_plan(void **state)
{
    fixture *f = *state;
    static cli_result r;
    submit_dry(f, 2);
    char plan[400], file[400], db[400];
    snprintf(plan, sizeof plan, "%s/plan.tsv", f->d);
    snprintf(file, sizeof file, "%s/experiment/grid.toml", f->d);
    snprintf(db, sizeof db, "%s/db/task-2.db", f->d);
    /* the wrong number of tasks */
    RUN(&r, f, "run", file, "--shard", "2/3", "--plan", plan, "--db", db);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "has 2 tasks"));
    /* the file edited after submit: other keys */
    char *orig = cli_read_file(file, NULL);
    edit_file(file, "seed = [1, 2, 3]", "seed = [1, 7, 3]");
    RUN(&r, f, "run", file, "--shard", "2/2", "--plan", plan, "--db", db);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "run 2 of shard 2/2 has key"));
    assert_non_null(strstr(r.err, "configuration or data changed"));
    assert_false(exists(db));
    cli_write_text(file, orig);
    free(orig);
    /* a plan made by another build: the message names what differs */
    slurm_plan p;
    err_info e = {0};
    assert_int_equal(slurm_plan_load(&p, plan, &e), 0);
    char key[70], changed[70];
    snprintf(key, sizeof key, "%s", p.runs[1].key);
    snprintf(changed, sizeof changed, "%s", key);
    changed[0] = changed[0] == '0' ? '1' : '0';
    slurm_plan_release(&p);
    char *saved = cli_read_file(plan, NULL);
    edit_file(plan, key, changed);
    edit_file(plan, "git_sha=", "git_sha=0000000");
    RUN(&r, f, "run", file, "--shard", "2/2", "--plan", plan, "--db", db);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "the build changed since the plan was made: git_sha=0000000"));
    assert_false(exists(db));
    cli_write_text(plan, saved);
    free(saved);
    /* the plan's own keys: runs */
    RUN(&r, f, "run", file, "--shard", "2/2", "--plan", plan, "--db", db);
    if (r.status != 0)
        fail_msg("%s%s", r.out, r.err);
    assert_int_equal(cli_db_int(db, "SELECT count(*) FROM runs WHERE status = 'COMPLETED'"), 1);
    /* a file that is not a plan */
    RUN(&r, f, "run", file, "--plan", file);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "grid.toml:1: not a plan"));
}

/* ---- the task script, run as Slurm would ---- */

/* Start `bash D/task.sh 0` as array task `task` (0-based) of job 77, attempt `attempt`, bound
 * to one CPU, with the fake scontrol first on PATH; output into out. */
static pid_t start_task(const fixture *f, int task, int attempt, FILE *out)
{
    char script[400];
    snprintf(script, sizeof script, "%s/task.sh", f->d);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
        sched_setaffinity(0, sizeof one, &one);
        char t[16], a[16], path[4096];
        snprintf(t, sizeof t, "%d", task);
        snprintf(a, sizeof a, "%d", attempt);
        snprintf(path, sizeof path, "%s:%s", f->fake, getenv("PATH"));
        setenv("PATH", path, 1);
        setenv("SLURM_JOB_ID", "78", 1);
        setenv("SLURM_ARRAY_JOB_ID", "77", 1);
        setenv("SLURM_ARRAY_TASK_ID", t, 1);
        setenv("SLURM_CLUSTER_NAME", "test", 1);
        setenv("SLURM_RESTART_COUNT", a, 1);
        unsetenv("BENCH_DATA_DIR");
        if (chdir(f->dir) != 0)
            _exit(126);
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(fileno(out), 1);
        dup2(fileno(out), 2);
        execlp("bash", "bash", script, "0", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Wait until the database has a RUNNING run (the bound only turns a hang into a failure). */
static void wait_running(const char *db)
{
    for (int tries = 0;
         cli_db_int(db, "SELECT count(*) FROM runs WHERE status = 'RUNNING'") < 1; tries++) {
        if (tries > 20000)
            fail_msg("no run of '%s' started", db);
        cli_sleep_ms(5);
    }
}

/* The Slurm warning, deterministically: with the task's bench (and its worker) stopped while
 * a run is RUNNING, USR1 goes to the batch shell, whose trap forwards it; once bench has it
 * pending, bench and its worker go on, and bench must stop the sweep cleanly. */
static void warn_task_mid_run(pid_t script, const char *db)
{
    wait_running(db);
    pid_t bench = (pid_t)cli_db_int(db, "SELECT owner_pid FROM runs WHERE status = 'RUNNING'");
    assert_true(bench > 0);
    pid_t workers[8];
    int n = cli_stop_tree(workers, 8, bench);
    kill(script, SIGUSR1);
    /* no timing is asserted: the bound only turns a hang into a failure */
    for (int tries = 0; !cli_signal_pending(bench, SIGUSR1); tries++) {
        if (tries > 20000)
            fail_msg("the task script did not forward USR1 to bench %d", (int)bench);
        cli_sleep_ms(5);
    }
    cli_cont_tree(bench, workers, n);
}

static void test_task_warning_requeues(void **state)
{
    fixture *f = *state;
    submit_dry(f, 2);
    char db[400], st[400], log[400];
    snprintf(db, sizeof db, "%s/db/task-1.db", f->d);
    snprintf(st, sizeof st, "%s/state/task-1", f->d);
    snprintf(log, sizeof log, "%s/scontrol.log", f->fake);
    FILE *out = tmpfile();
    pid_t script = start_task(f, 0, 0, out);
    warn_task_mid_run(script, db);
    int rc = wait_exit(script);
    static char text[CLI_OUT_MAX];
    cli_slurp(text, out);
    if (rc != 3)
        fail_msg("attempt 0: exit %d\n%s", rc, text);
    assert_non_null(strstr(text, "interrupted by signal 10"));
    assert_int_equal(cli_db_int(db, "SELECT count(*) FROM runs WHERE status = 'RUNNING'"), 0);
    assert_true(cli_db_int(db, "SELECT count(*) FROM runs WHERE status = 'INTERRUPTED'") >= 1);
    char *states = cli_read_file(st, NULL);
    assert_non_null(strstr(states, "start attempt 0 job 77_0 host "));
    assert_non_null(strstr(states, "end attempt 0 exit 3 warned USR1"));
    assert_non_null(strstr(states, "requeued attempt 0"));
    free(states);
    char *calls = cli_read_file(log, NULL);
    assert_string_equal(calls, "requeue 77_0\n");
    free(calls);

    /* the requeued attempt resumes and finishes: both runs COMPLETED, one thread each (the
     * task is bound to one CPU), no second requeue */
    out = tmpfile();
    rc = wait_exit(start_task(f, 0, 1, out));
    cli_slurp(text, out);
    if (rc != 0)
        fail_msg("attempt 1: exit %d\n%s", rc, text);
    assert_int_equal(cli_db_int(db, "SELECT count(*) FROM runs WHERE status = 'COMPLETED'"), 2);
    assert_int_equal(cli_db_int(db, "SELECT count(*) FROM runs WHERE threads = 1"), 2);
    assert_non_null(strstr(text, "with 1 worker of 1 thread"));
    states = cli_read_file(st, NULL);
    assert_non_null(strstr(states, "end attempt 1 exit 0"));
    free(states);
    calls = cli_read_file(log, NULL);
    assert_string_equal(calls, "requeue 77_0\n");
    free(calls);
}

/* An attempt killed outright (node failure) leaves its run RUNNING with a fresh heartbeat,
 * owned by a host where its pid means nothing: the next attempt of the task takes it over at
 * once instead of leaving it as "running elsewhere". */
static void test_task_reclaims_killed_attempt(void **state)
{
    fixture *f = *state;
    submit_dry(f, 2);
    char db[400];
    snprintf(db, sizeof db, "%s/db/task-1.db", f->d);
    FILE *out = tmpfile();
    pid_t script = start_task(f, 0, 0, out);
    wait_running(db);
    /* the whole attempt dies at once: bash, bench, its worker (PDEATHSIG) */
    pid_t kids[8];
    int n = cli_children(kids, 8, script);
    kill(script, SIGKILL);
    for (int i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    wait_exit(script);
    fclose(out);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    assert_int_equal(sqlite3_exec(h, "UPDATE runs SET owner_host = 'node-gone',"
                                     " heartbeat_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
                                     " WHERE status = 'RUNNING'", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(cli_db_int(db, "SELECT count(*) FROM runs WHERE status = 'RUNNING' AND"
                                   " owner_task = 'test/77_0' AND owner_attempt = 0"), 1);
    out = tmpfile();
    int rc = wait_exit(start_task(f, 0, 1, out));
    static char text[CLI_OUT_MAX];
    cli_slurp(text, out);
    if (rc != 0)
        fail_msg("attempt 1 after a kill: exit %d\n%s", rc, text);
    assert_int_equal(cli_db_int(db, "SELECT count(*) FROM runs WHERE status = 'COMPLETED'"), 2);
}

/* ---- merge.sh and status ---- */

static void test_status_and_merge(void **state)
{
    fixture *f = *state;
    static cli_result r;
    submit_dry(f, 2);
    RUN(&r, f, "slurm", "status", f->d);
    assert_int_equal(r.status, 3);
    assert_non_null(strstr(r.out, "no jobs submitted"));
    assert_non_null(strstr(r.out, "not started"));
    assert_non_null(strstr(r.out, "0 of 3 runs COMPLETED, 3 unfinished"));
    /* task 2 runs; task 1's last attempt failed */
    FILE *out = tmpfile();
    assert_int_equal(wait_exit(start_task(f, 1, 0, out)), 0);
    fclose(out);
    char st[400];
    snprintf(st, sizeof st, "%s/state/task-1", f->d);
    cli_write_text(st, "start attempt 0 job 77_0 host n1 2024-01-01T00:00:00Z\n"
                   "end attempt 0 exit 1 2024-01-01T00:00:01Z\n");
    RUN(&r, f, "slurm", "status", f->d);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "FAILED (exit 1)"));
    assert_non_null(strstr(r.out, "1 task failed"));
    assert_non_null(strstr(r.out, "runs not COMPLETED"));
    /* task 1 again, then the merge job's script */
    out = tmpfile();
    assert_int_equal(wait_exit(start_task(f, 0, 1, out)), 0);
    fclose(out);
    char merge[400];
    snprintf(merge, sizeof merge, "%s/merge.sh", f->d);
    cli_run(&r, &(cli_opts){.cwd = f->dir}, (const char *const[]){"bash", merge, NULL});
    if (r.status != 0)
        fail_msg("merge.sh: %s%s", r.out, r.err);
    assert_non_null(strstr(r.out, "merged 2 databases"));
    assert_non_null(strstr(r.out, "merged: 3 of 3 planned runs COMPLETED"));
    RUN(&r, f, "slurm", "status", f->d);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "3 of 3 runs COMPLETED, 0 unfinished"));
    RUN(&r, f, "slurm", "status", f->dir);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "plan.tsv"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_submit_dry_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_checks_plan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_warning_requeues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_reclaims_killed_attempt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_and_merge, setup, teardown),
    };
    return cmocka_run_group_tests_name("slurm", tests, NULL, NULL);
}
