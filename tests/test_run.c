/* Integration tests of bench run / ls / show, by running the built binary (BENCH_BINARY) on a
 * small synthetic IDX data set made in a temporary directory:
 *   - bad experiment files: exit 1 or 2, one line naming the file and line, no database made;
 *   - a sweep completes, and a second invocation trains nothing;
 *   - SIGKILL of the coordinator at several points, then a rerun: the sweep completes, every
 *     epoch recorded before a kill is still there exactly once with the same values (training
 *     is deterministic), PRAGMA integrity_check is ok, nothing stays RUNNING;
 *   - SIGKILL of a worker: its run FAILED, the others complete, the rerun redoes it;
 *   - SIGINT: runs left INTERRUPTED, exit 3 (unfinished), the next invocation resumes;
 *   - issue 18: SIGTERM to a worker, SIGHUP, SIGPIPE (a closed output pipe) and SIGUSR1: exit 3
 *     and nothing left RUNNING; a run whose owner is stopped (Ctrl-Z) is not taken over. */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cli.h"

typedef struct fixture {
    char dir[256];   /* temporary working directory */
    char db[300];    /* dir/results/bench.db */
} fixture;

typedef cli_result result;

/* Start bench with args in cwd; output to the given files. */
static pid_t spawn(const char *cwd, const char *const *args, FILE *out, FILE *err)
{
    return cli_spawn_bench(&(cli_opts){.cwd = cwd}, args, out, err);
}

#define RUN(r, f, ...) \
    cli_run_bench(r, &(cli_opts){.cwd = (f)->dir}, (const char *const[]){__VA_ARGS__, NULL})

/* 4 runs (bn x 2 seeds), 12 epochs of 6 iterations each on 300 images: about a second in a
 * Release build, a minute or two under sanitizers. */
static const char sweep_toml[] =
    "[experiment]\nname = \"synthetic\"\n"
    "[data]\ndataset = \"idx:data/synth\"\n"
    "[model]\npreset = \"paper\"\n"
    "[training]\nepochs = 12\nbatch = 50\nthreads = 1\n"
    "[evaluation]\ntrain_samples = 100\n"
    "[sweep]\nbn = [true, false]\nseed = [1, 2]\n";

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/bench-test-run-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/results/bench.db", f->dir);
    cli_synth_dir(f->dir);
    char p[512];
    snprintf(p, sizeof p, "%s/sweep.toml", f->dir);
    cli_write_text(p, sweep_toml);
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

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int64_t query_int(const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void integrity_ok(const char *db_path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* Every bad experiment of the corpus: exit 1 or 2, one line on stderr naming the file (and a
 * line number), nothing on the database. */
static void test_bad_experiments(void **state)
{
    fixture *f = *state;
    const char *dir = TEST_DATA_DIR "/exp/bad";
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int files = 0;
    static result r;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".toml") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        RUN(&r, f, "run", path, "--db", f->db);
        if (r.status != 1 && r.status != 2)
            fail_msg("%s: exit %d", de->d_name, r.status);
        char *nl = strchr(r.err, '\n');
        if (!nl || nl[1] != '\0')
            fail_msg("%s: not one line: %s", de->d_name, r.err);
        if (!strstr(r.err, de->d_name))
            fail_msg("%s: message does not name the file: %s", de->d_name, r.err);
        char needle[1100];
        snprintf(needle, sizeof needle, "%s:", de->d_name);
        const char *at = strstr(r.err, needle);
        if (!at || at[strlen(needle)] < '1' || at[strlen(needle)] > '9')
            fail_msg("%s: message has no line number: %s", de->d_name, r.err);
        assert_false(exists(f->db));
        files++;
    }
    closedir(d);
    assert_true(files >= 25);
    print_message("%d bad experiment files refused\n", files);
}

/* Specific messages the issue names: unknown key, wrong type, unknown optimizer, empty sweep,
 * syntax error, missing data set. */
static void test_bad_experiment_messages(void **state)
{
    fixture *f = *state;
    static result r;
    struct { const char *toml, *expect; int status; } cases[] = {
        {"[training]\nlrr = 0.1\n", "unknown key 'training.lrr'", 1},
        {"[training]\nepochs = \"ten\"\n", "training.epochs", 1},
        {"[training]\noptimizer = \"adamw\"\n", "adamw", 1},
        {"[sweep]\nseed = []\n", "empty", 1},
        {"[training\nepochs = 1\n", "bad.toml:1:", 1},
        {"[data]\ndataset = \"idx:data/nowhere\"\n", "nowhere", 1},
    };
    char path[512];
    snprintf(path, sizeof path, "%s/bad.toml", f->dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cli_write_text(path, cases[i].toml);
        RUN(&r, f, "run", "bad.toml");
        if (r.status != cases[i].status || !strstr(r.err, cases[i].expect))
            fail_msg("case %zu: exit %d, stderr: %s", i, r.status, r.err);
        assert_false(exists(f->db));
    }
    RUN(&r, f, "run");
    assert_int_equal(r.status, 2);
    RUN(&r, f, "run", "sweep.toml", "--jobs", "0");
    assert_int_equal(r.status, 2);
    RUN(&r, f, "run", "missing.toml");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "missing.toml"));
}

/* out <- every run's parameter SHA-256 in run key order, each followed by a space. */
static void params_snapshot(char *out, size_t n, const char *db_path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT params_sha256 FROM runs ORDER BY run_key", -1,
                                        &st, NULL),
                     SQLITE_OK);
    size_t len = 0;
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW && len < n)
        len += (size_t)snprintf(out + len, n - len, "%s ", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_sweep_resume_ls_show(void **state)
{
    fixture *f = *state;
    static result r;
    RUN(&r, f, "run", "sweep.toml", "--dry-run");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "4 runs, 4 to run"));
    assert_false(exists(f->db));

    RUN(&r, f, "run", "sweep.toml", "-j", "2");
    if (r.status != 0)
        fail_msg("bench run failed: %s%s", r.out, r.err);
    assert_true(exists(f->db));
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM runs WHERE status = 'COMPLETED'"), 4);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM epochs"), 48);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM class_metrics"), 480);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM confusion WHERE epoch = 12"), 400);
    /* it learned the synthetic task (chance is 0.1) */
    assert_int_equal(query_int(f->db, "SELECT min(test_acc) > 0.8 FROM epochs WHERE epoch = 12"), 1);
    integrity_ok(f->db);

    /* again: nothing to train */
    RUN(&r, f, "run", "sweep.toml");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "0 to run, 4 already complete"));
    assert_null(strstr(r.out, "epoch 1/"));
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM epochs"), 48);

    RUN(&r, f, "ls");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "experiment synthetic"));
    assert_non_null(strstr(r.out, "COMPLETED"));
    char key[16];
    const char *row = strstr(r.out, "\n  ");
    row = strchr(row + 3, '\n'); /* skip the column header */
    assert_non_null(row);
    snprintf(key, sizeof key, "%.12s", row + 3);
    RUN(&r, f, "show", key, "--classes");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "configuration"));
    assert_non_null(strstr(r.out, "provenance"));
    assert_non_null(strstr(r.out, "\n  optimizer      momentum"));
    assert_non_null(strstr(r.out, "      12 "));
    RUN(&r, f, "show", "zzzz");
    assert_int_equal(r.status, 1);

    /* --force reruns everything, bitwise the same (deterministic training): the same
     * parameter hashes */
    char before[400], after[400];
    params_snapshot(before, sizeof before, f->db);
    assert_int_equal(strlen(before), 4 * 65);
    RUN(&r, f, "run", "sweep.toml", "--force", "-j", "2");
    assert_int_equal(r.status, 0);
    params_snapshot(after, sizeof after, f->db);
    assert_string_equal(after, before);
}

/* Snapshot of the epoch rows as text "key epoch test_acc train_loss". */
static char *epoch_snapshot(const char *db_path, int *rows)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                     "SELECT run_key || ' ' || epoch || ' ' || printf('%.17g %.17g', test_acc,"
                     " train_loss) FROM epochs ORDER BY run_key, epoch", -1, &st, NULL),
                     SQLITE_OK);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    buf[0] = '\0';
    *rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        size_t n = strlen(t);
        if (len + n + 2 > cap)
            buf = realloc(buf, cap *= 2);
        memcpy(buf + len, t, n);
        len += n;
        buf[len++] = '\n';
        buf[len] = '\0';
        (*rows)++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return buf;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Epoch rows committed so far (0 while the database does not exist or is being created). */
static int64_t epochs_now(const char *db_path)
{
    if (!exists(db_path))
        return 0;
    sqlite3 *db = NULL;
    int64_t n = 0;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 1000);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, "SELECT count(*) FROM epochs", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

/* Wait until at least `rows` epochs are committed or the process ends; true if still running. */
static bool wait_for_epochs(pid_t pid, const char *db_path, int64_t rows)
{
    for (;;) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return false;
        if (epochs_now(db_path) >= rows)
            return true;
        sleep_s(0.005);
    }
}

/* Rerun the sweep after a kill and check the resume: it completes all 48 epochs, and every
 * row of `before` (the snapshot taken after the kill) is still there exactly once with the same
 * values. Returns the number of rows checked; frees before. */
static int rerun_and_check_rows(fixture *f, char *before, const char *what, size_t i)
{
    static result r;
    RUN(&r, f, "run", "sweep.toml", "-j", "2");
    if (r.status != 0)
        fail_msg("rerun after %s %zu failed: %s%s", what, i, r.out, r.err);
    int n_after, checked = 0;
    char *after = epoch_snapshot(f->db, &n_after);
    assert_int_equal(n_after, 48);
    for (char *line = strtok(before, "\n"); line; line = strtok(NULL, "\n")) {
        char needle[512];
        snprintf(needle, sizeof needle, "%s\n", line);
        char *hit = strstr(after, needle);
        if (!hit)
            fail_msg("epoch row lost or changed after %s %zu: %s", what, i, line);
        assert_null(strstr(hit + 1, needle)); /* exactly once */
        checked++;
    }
    free(before);
    free(after);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM runs WHERE status <> 'COMPLETED'"), 0);
    integrity_ok(f->db);
    return checked;
}

/* Remove the database (and its WAL files) to start the next kill point afresh. */
static void remove_db(const fixture *f)
{
    char p[400];
    unlink(f->db);
    snprintf(p, sizeof p, "%s-wal", f->db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", f->db);
    unlink(p);
}

/* Kill points are counted in committed epochs, not seconds, so that they fall inside the
 * sweep on any machine and build (sanitizers included): before the first epoch, after 1, in
 * the middle and near the end of the 48. */
static void test_sigkill_and_resume(void **state)
{
    fixture *f = *state;
    const int64_t kill_at[] = {0, 1, 17, 40};
    int kills = 0, rows_checked = 0;
    for (size_t i = 0; i < sizeof kill_at / sizeof kill_at[0]; i++) {
        FILE *out = tmpfile(), *err = tmpfile();
        pid_t pid = spawn(f->dir, (const char *const[]){"run", "sweep.toml", "-j", "2", NULL},
                          out, err);
        bool running = kill_at[i] == 0 ? (sleep_s(0.05), true)
                                       : wait_for_epochs(pid, f->db, kill_at[i]);
        if (running)
            kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        fclose(out);
        fclose(err);
        if (WIFSIGNALED(st))
            kills++;
        if (!exists(f->db))
            continue;
        sleep_s(0.2); /* the workers die with the coordinator (PDEATHSIG) */
        integrity_ok(f->db);
        int n_before;
        char *before = epoch_snapshot(f->db, &n_before);

        /* the next invocation resumes: every row recorded before the kill survives, once,
         * with the same values, and nothing stays RUNNING */
        rows_checked += rerun_and_check_rows(f, before, "kill", i);
        remove_db(f);
    }
    assert_int_equal(kills, 4);
    print_message("%d kill points, %d epoch rows checked after resume\n", kills, rows_checked);
}


/* True when pid is a live process (not a zombie waiting to be reaped). */
static bool alive(pid_t pid)
{
    char st = cli_proc_state(pid);
    return st && st != 'Z' && st != 'X';
}

/* The pid of a live child of `parent` (a worker of the coordinator), or 0 when none. A worker
 * that has just finished its run is a zombie until the coordinator reaps it: skip those. */
static pid_t child_of(pid_t parent)
{
    pid_t child = 0;
    return cli_children(&child, 1, parent) ? child : 0;
}

/* SIGKILL of a worker at several points: its run is recorded FAILED with the signal, the sweep
 * carries on with the other runs, bench run exits 1, and the next invocation redoes the failed
 * run and completes the sweep with every earlier row kept once. */
static void test_worker_kill(void **state)
{
    fixture *f = *state;
    static result r;
    const int64_t kill_at[] = {1, 17, 31}; /* inside runs 1-2 and 3-4, away from their ends */
    int killed = 0, rows_checked = 0;
    for (size_t i = 0; i < sizeof kill_at / sizeof kill_at[0]; i++) {
        FILE *out = tmpfile(), *err = tmpfile();
        pid_t pid = spawn(f->dir, (const char *const[]){"run", "sweep.toml", "-j", "2", NULL},
                          out, err);
        pid_t worker = 0;
        if (wait_for_epochs(pid, f->db, kill_at[i]) && (worker = child_of(pid)) > 0 &&
            kill(worker, SIGKILL) == 0)
            killed++;
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        cli_slurp(r.out, out);
        cli_slurp(r.err, err);
        if (worker > 0) {
            assert_true(WIFEXITED(st));
            if (WEXITSTATUS(st) != 1 || !strstr(r.out, "worker killed by signal 9"))
                fail_msg("kill %zu of worker %d: exit %d\n%s%s", i, (int)worker,
                         WEXITSTATUS(st), r.out, r.err);
            assert_int_equal(query_int(f->db, "SELECT count(*) FROM runs WHERE status = 'FAILED'"), 1);
            /* the others carried on to the end */
            assert_int_equal(query_int(f->db, "SELECT count(*) FROM runs WHERE status = 'COMPLETED'"), 3);
        }
        integrity_ok(f->db);
        int n_before;
        char *before = epoch_snapshot(f->db, &n_before);
        rows_checked += rerun_and_check_rows(f, before, "worker kill", i);
        remove_db(f);
    }
    assert_int_equal(killed, 3);
    print_message("%d worker kills, %d epoch rows checked after resume\n", killed, rows_checked);
}

static void test_sigint_interrupts(void **state)
{
    fixture *f = *state;
    static result r;
    FILE *out = tmpfile(), *err = tmpfile();
    pid_t pid = spawn(f->dir, (const char *const[]){"run", "sweep.toml", "-j", "2", NULL}, out,
                      err);
    assert_true(wait_for_epochs(pid, f->db, 3));
    kill(pid, SIGINT);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    cli_slurp(r.out, out);
    cli_slurp(r.err, err);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 3);
    assert_non_null(strstr(r.err, "interrupted"));
    integrity_ok(f->db);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM runs WHERE status = 'RUNNING'"), 0);
    assert_true(query_int(f->db, "SELECT count(*) FROM runs WHERE status = 'INTERRUPTED'") >= 1);
    RUN(&r, f, "run", "sweep.toml");
    assert_int_equal(r.status, 0);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM runs WHERE status = 'COMPLETED'"), 4);
}

/* Issue 18.5: SIGTERM to one worker leaves its run INTERRUPTED: bench run carries on with the
 * others, then says the sweep is unfinished and exits 3 (it said "done" and exited 0). */
static void test_worker_sigterm(void **state)
{
    fixture *f = *state;
    static result r;
    FILE *out = tmpfile(), *err = tmpfile();
    pid_t pid = spawn(f->dir, (const char *const[]){"run", "sweep.toml", "-j", "2", NULL}, out,
                      err);
    pid_t worker = 0;
    assert_true(wait_for_epochs(pid, f->db, 1));
    while (worker == 0 && alive(pid))
        worker = child_of(pid);
    assert_int_equal(kill(worker, SIGTERM), 0);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    cli_slurp(r.out, out);
    cli_slurp(r.err, err);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 3 || !strstr(r.err, "1 interrupted") ||
        strstr(r.out, "done:"))
        fail_msg("SIGTERM to worker %d: exit %d\n%s%s", (int)worker,
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1, r.out, r.err);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM runs WHERE status = 'INTERRUPTED'"), 1);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM runs WHERE status = 'COMPLETED'"), 3);
    RUN(&r, f, "run", "sweep.toml");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "done: 1 completed now, 3 already complete"));
}

/* Issue 18.6 and Slurm's warning: SIGHUP (the terminal closed) and SIGUSR1 stop the sweep as
 * SIGTERM does: runs INTERRUPTED, none left RUNNING, exit 3; the next invocation resumes. */
static void test_stop_signals(void **state)
{
    fixture *f = *state;
    static result r;
    const int sigs[] = {SIGHUP, SIGUSR1};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        FILE *out = tmpfile(), *err = tmpfile();
        pid_t pid = spawn(f->dir, (const char *const[]){"run", "sweep.toml", "-j", "2", NULL},
                          out, err);
        assert_true(wait_for_epochs(pid, f->db, 1));
        kill(pid, sigs[i]);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        cli_slurp(r.out, out);
        cli_slurp(r.err, err);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 3 || !strstr(r.err, "interrupted by signal"))
            fail_msg("signal %d: %s\n%s%s", sigs[i],
                     WIFEXITED(st) ? "exited" : "killed by it", r.out, r.err);
        assert_int_equal(query_int(f->db, "SELECT count(*) FROM runs WHERE status = 'RUNNING'"),
                         0);
        assert_true(query_int(f->db, "SELECT count(*) FROM runs WHERE status = 'INTERRUPTED'") >=
                    1);
        integrity_ok(f->db);
        remove_db(f);
    }
}

/* Issue 18.6: `bench run ... | head`: the reader goes away, the next write raises SIGPIPE,
 * and bench stops like on SIGTERM (it died of it, leaving its runs RUNNING). */
static void test_sigpipe(void **state)
{
    fixture *f = *state;
    static result r;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    /* only bench's stdout may hold the write end, and nobody but us the read end */
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    FILE *out = fdopen(fds[1], "w"), *err = tmpfile();
    pid_t pid = spawn(f->dir, (const char *const[]){"run", "sweep.toml", "-j", "2", NULL}, out,
                      err);
    fclose(out);
    char buf[256];
    assert_true(read(fds[0], buf, sizeof buf) > 0); /* the plan's first bytes, then: gone */
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    cli_slurp(r.err, err);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 3 || !strstr(r.err, "signal 13"))
        fail_msg("closed pipe: %s %d\n%s", WIFEXITED(st) ? "exit" : "killed by signal",
                 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), r.err);
    if (exists(f->db)) {
        assert_int_equal(query_int(f->db, "SELECT count(*) FROM runs WHERE status = 'RUNNING'"),
                         0);
        integrity_ok(f->db);
    }
    RUN(&r, f, "run", "sweep.toml", "-j", "2");
    assert_int_equal(r.status, 0);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM runs WHERE status = 'COMPLETED'"), 4);
}

/* Issue 18.2: a bench run stopped with Ctrl-Z (SIGSTOP to it and its worker) writes no
 * heartbeat; a second bench run on the same database must leave its run alone however old the
 * heartbeat (the owner is alive on this host), train the rest, and exit 3 for the run it left.
 * Resumed, the first finishes its run: every run trained once, all COMPLETED. */
static void test_paused_owner_keeps_run(void **state)
{
    fixture *f = *state;
    static result a, b;
    FILE *out = tmpfile(), *err = tmpfile();
    pid_t pid = spawn(f->dir, (const char *const[]){"run", "sweep.toml", "-j", "1", NULL}, out,
                      err);
    assert_true(wait_for_epochs(pid, f->db, 1));
    /* Ctrl-Z, at a moment when it holds no write lock (a pause inside a transaction would
     * block every other writer), and as if it had lasted longer than the 30 s after which
     * silence means death */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    pid_t kids[4];
    int n_kids = 0;
    for (;;) {
        n_kids = cli_stop_tree(kids, 4, pid);
        int rc = sqlite3_exec(db, "UPDATE runs SET heartbeat_at = '2000-01-01T00:00:00.000Z'"
                                  " WHERE status = 'RUNNING'", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            break;
        assert_int_equal(rc & 0xff, SQLITE_BUSY);
        cli_cont_tree(pid, kids, n_kids);
        cli_sleep_ms(2);
    }
    sqlite3_close(db);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM runs WHERE status = 'RUNNING'"), 1);
    char paused[80];
    sqlite3 *rd = NULL;
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &rd, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(rd, "SELECT run_key FROM runs WHERE status = 'RUNNING'",
                                        -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    snprintf(paused, sizeof paused, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(rd);

    RUN(&b, f, "run", "sweep.toml", "-j", "1");
    cli_cont_tree(pid, kids, n_kids);
    cli_wait(&a, pid, out, err);
    if (b.status != 3 || !strstr(b.out, "1 running elsewhere") ||
        !strstr(b.err, "1 running in another bench run"))
        fail_msg("second bench run: exit %d\n%s%s", b.status, b.out, b.err);
    char needle[64];
    snprintf(needle, sizeof needle, "%.12s  RUNNING", paused);
    assert_non_null(strstr(b.out, needle));
    /* the first one finished the run it owned, and found the others done by the second */
    if (a.status != 3 || !strstr(a.out, ": COMPLETED"))
        fail_msg("first bench run: exit %d\n%s%s", a.status, a.out, a.err);
    int trained = 0;
    for (const char *p = a.out; (p = strstr(p, ": COMPLETED, test")); p++)
        trained++;
    for (const char *p = b.out; (p = strstr(p, ": COMPLETED, test")); p++)
        trained++;
    assert_int_equal(trained, 4);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM runs WHERE status = 'COMPLETED'"
                               " AND params_sha256 IS NOT NULL"), 4);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM epochs"), 48);
    integrity_ok(f->db);
}

/* Two files that share every run, started together on one database: each run is trained by
 * exactly one of them (the claim is atomic), both experiments list all 4, and each exits 0, or
 * 3 when it left runs to the other ("running in another bench run": not finished by it). */
static void test_two_coordinators(void **state)
{
    fixture *f = *state;
    char p[512];
    snprintf(p, sizeof p, "%s/twin.toml", f->dir);
    char twin[sizeof sweep_toml + 16];
    snprintf(twin, sizeof twin, "%s", sweep_toml);
    memcpy(strstr(twin, "synthetic"), "twin-file", 9); /* another name, the same runs */
    cli_write_text(p, twin);
    static result a, b;
    FILE *ao = tmpfile(), *ae = tmpfile(), *bo = tmpfile(), *be = tmpfile();
    pid_t pa = spawn(f->dir, (const char *const[]){"run", "sweep.toml", "-j", "2", NULL}, ao, ae);
    pid_t pb = spawn(f->dir, (const char *const[]){"run", "twin.toml", "-j", "2", NULL}, bo, be);
    cli_wait(&a, pa, ao, ae);
    cli_wait(&b, pb, bo, be);
    result *both[] = {&a, &b};
    for (int i = 0; i < 2; i++)
        if (!(both[i]->status == 0 ||
              (both[i]->status == 3 && strstr(both[i]->err, "running in another bench run"))))
            fail_msg("exit %d / %d:\n%s\n%s", a.status, b.status, a.err, b.err);
    integrity_ok(f->db);
    /* every run was trained once: by one coordinator or the other, never by both */
    int trained = 0;
    for (const char *q = a.out; (q = strstr(q, ": COMPLETED, test")); q++)
        trained++;
    for (const char *q = b.out; (q = strstr(q, ": COMPLETED, test")); q++)
        trained++;
    if (trained != 4)
        fail_msg("%d runs trained, 4 expected:\n%s\n%s", trained, a.out, b.out);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM runs WHERE status = 'COMPLETED'"), 4);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM runs"), 4);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM epochs"), 4 * 12);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM experiment_runs"), 8);
    /* whichever ran a run, it is done: a rerun of either file trains nothing */
    result r;
    RUN(&r, f, "run", "twin.toml");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "4 already complete"));
    /* a third file whose runs are all done already is still recorded with them */
    memcpy(strstr(twin, "twin-file"), "alias-run", 9);
    snprintf(p, sizeof p, "%s/alias.toml", f->dir);
    cli_write_text(p, twin);
    RUN(&r, f, "run", "alias.toml");
    assert_int_equal(r.status, 0);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM experiment_runs"), 12);
    RUN(&r, f, "report", "--experiment", "alias-run");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "experiment alias-run: 4 runs"));
}

/* Issue 18.11: runs.eval_n went through an (int) cast, so test_samples = 2^32 + 100 was stored
 * as 100. It is stored as given (the evaluation itself uses the whole test set). */
static void test_eval_n_stored_whole(void **state)
{
    fixture *f = *state;
    char p[512];
    snprintf(p, sizeof p, "%s/evaln.toml", f->dir);
    cli_write_text(p, "[experiment]\nname = \"evaln\"\n[data]\ndataset = \"idx:data/synth\"\n"
                      "[model]\npreset = \"lenet5\"\n[training]\nepochs = 1\nbatch = 50\n"
                      "threads = 1\n[evaluation]\ntrain_samples = 100\n"
                      "test_samples = 4294967396\n");
    static result r;
    RUN(&r, f, "run", "evaln.toml");
    if (r.status != 0)
        fail_msg("bench run: exit %d: %s", r.status, r.err);
    assert_int_equal(query_int(f->db, "SELECT eval_n FROM runs"), 4294967396LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_experiments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_experiment_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_resume_ls_show, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigkill_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigint_interrupts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_coordinators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_sigterm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_signals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigpipe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paused_owner_keeps_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eval_n_stored_whole, setup, teardown),
    };
    return cmocka_run_group_tests_name("run", tests, NULL, NULL);
}
