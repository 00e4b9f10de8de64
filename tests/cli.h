/* cli.h: what the command-line tests share, header-only like gradcheck.h. They run a program
 * (the built bench, or gnuplot) in a child process and read its exit status and output, write
 * experiment files and a small synthetic IDX data set, and remove the temporary directories
 * they made. Include after <cmocka.h>, in a file that defines
 * _XOPEN_SOURCE 700 before any include (fork, nftw, setenv). */
#ifndef BENCH_TESTS_CLI_H
#define BENCH_TESTS_CLI_H

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

enum { CLI_OUT_MAX = 1 << 17 };

typedef struct cli_result {
    int status;             /* exit code, -1 when the process did not exit normally */
    char out[CLI_OUT_MAX];  /* standard output (cut at CLI_OUT_MAX - 1 bytes) */
    char err[CLI_OUT_MAX];  /* standard error */
} cli_result;

/* How to start the child; a NULL cli_opts or zeroed fields mean the defaults. */
typedef struct cli_opts {
    const char *cwd;      /* working directory, NULL: ours */
    const char *data_dir; /* BENCH_DATA_DIR for the child, NULL: unset */
    const char *path;     /* PATH for the child, NULL: ours */
    bool as_nobody;       /* run as user nobody (root only; HOME becomes cwd, since nobody cannot
                           * read root's home, where libgit2 looks for ~/.gitconfig) */
} cli_opts;

/* dst <- the whole of f (rewound), NUL-terminated; closes f. */
static inline void cli_slurp(char *dst, FILE *f)
{
    rewind(f);
    size_t n = fread(dst, 1, CLI_OUT_MAX - 1, f);
    dst[n] = '\0';
    fclose(f);
}

/* The whole file at path, NUL-terminated, in a malloc'd buffer the caller frees; its length in
 * *len when len is not NULL. Fails the test when the file cannot be read. */
static inline char *cli_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open '%s'", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

/* Start argv (NULL-terminated; argv[0] a path, or a name looked up in PATH) with standard input
 * from /dev/null and its output into out and err. Returns the child's pid. */
static inline pid_t cli_spawn(const cli_opts *o, const char *const *argv, FILE *out, FILE *err)
{
    static const cli_opts none = {0};
    if (!o)
        o = &none;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(fileno(out), 1);
        dup2(fileno(err), 2);
        if (o->cwd && chdir(o->cwd) != 0)
            _exit(126);
        if (o->as_nobody &&
            (setgid(65534) != 0 || setuid(65534) != 0 || setenv("HOME", o->cwd ? o->cwd : "/", 1)))
            _exit(125);
        if (o->data_dir)
            setenv("BENCH_DATA_DIR", o->data_dir, 1);
        else
            unsetenv("BENCH_DATA_DIR");
        if (o->path)
            setenv("PATH", o->path, 1);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Wait for pid and collect its status and the output written into out and err. */
static inline void cli_wait(cli_result *r, pid_t pid, FILE *out, FILE *err)
{
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    cli_slurp(r->out, out);
    cli_slurp(r->err, err);
}

static inline void cli_run(cli_result *r, const cli_opts *o, const char *const *argv)
{
    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    cli_wait(r, cli_spawn(o, argv, out, err), out, err);
}

/* The same for the built bench: args (NULL-terminated) follow BENCH_BINARY. */
static inline pid_t cli_spawn_bench(const cli_opts *o, const char *const *args, FILE *out,
                                    FILE *err)
{
    const char *argv[32] = {BENCH_BINARY};
    int n = 1;
    for (; args[n - 1]; n++) {
        assert_true(n < 31);
        argv[n] = args[n - 1];
    }
    argv[n] = NULL;
    return cli_spawn(o, argv, out, err);
}

static inline void cli_run_bench(cli_result *r, const cli_opts *o, const char *const *args)
{
    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    cli_wait(r, cli_spawn_bench(o, args, out, err), out, err);
}

/* path <- text (the test fails when it cannot be written). */
static inline void cli_write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static inline void cli_put_be32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    fwrite(b, 1, 4, f);
}

/* dir/PREFIX-images-idx3-ubyte and -labels-idx1-ubyte: n images of a learnable 10-class task
 * on 1x28x28 images, class c lighting a 6x6 patch at a position fixed per class, over noise.
 * Deterministic (LCG from seed): a data set that trains in a fraction of a second. */
static inline void cli_write_synth(const char *dir, const char *prefix, int n, uint32_t seed)
{
    char path[1100]; /* a directory of up to 1023 bytes and the file's name */
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, prefix);
    FILE *fi = fopen(path, "wb");
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, prefix);
    FILE *fl = fopen(path, "wb");
    assert_non_null(fi);
    assert_non_null(fl);
    cli_put_be32(fi, 0x803);
    cli_put_be32(fi, (uint32_t)n);
    cli_put_be32(fi, 28);
    cli_put_be32(fi, 28);
    cli_put_be32(fl, 0x801);
    cli_put_be32(fl, (uint32_t)n);
    uint32_t s = seed;
    unsigned char img[784];
    for (int i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        int c = (int)((s >> 16) % 10);
        for (int p = 0; p < 784; p++) {
            s = s * 1664525u + 1013904223u;
            img[p] = (unsigned char)((s >> 24) & 0x7f);
        }
        int y0 = 2 + (c / 5) * 12, x0 = 2 + (c % 5) * 5;
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 4; x++)
                img[(y0 + y) * 28 + x0 + x] = 250;
        fwrite(img, 1, 784, fi);
        unsigned char lab = (unsigned char)c;
        fwrite(&lab, 1, 1, fl);
    }
    fclose(fi);
    fclose(fl);
}

/* dir/data/synth: the synthetic data set (cli_write_synth), 300 training and 100 test images,
 * for experiment files that say dataset = "idx:data/synth" and run in dir. */
static inline void cli_synth_dir(const char *dir)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/data", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/data/synth", dir);
    mkdir(p, 0755);
    cli_write_synth(p, "train", 300, 1);
    cli_write_synth(p, "t10k", 100, 2);
}

static inline int cli_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* rm -r dir (a temporary directory of the test). */
static inline void cli_rm_tree(const char *dir)
{
    nftw(dir, cli_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- processes and databases, for tests that follow a bench run while it works ---- */

static inline void cli_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* buf[0..n) <- the start of the /proc file "/proc/PID/name", NUL-terminated; false when the
 * process (or the file) does not exist. */
static inline bool cli_proc_file(char *buf, size_t n, pid_t pid, const char *name)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t k = fread(buf, 1, n - 1, f);
    buf[k] = '\0';
    fclose(f);
    return true;
}

/* The state letter of process pid in /proc/PID/stat ('R', 'S', 'T' stopped, 'Z' zombie...),
 * 0 when there is no such process. */
static inline char cli_proc_state(pid_t pid)
{
    char stat[600];
    if (!cli_proc_file(stat, sizeof stat, pid, "stat"))
        return 0;
    const char *close = strrchr(stat, ')'); /* "pid (comm) S ..." */
    return close && close[1] == ' ' ? close[2] : 0;
}

/* out[0..max) <- the live (not zombie) children of pid; returns how many. */
static inline int cli_children(pid_t *out, int max, pid_t pid)
{
    char buf[512], name[64];
    snprintf(name, sizeof name, "task/%d/children", (int)pid);
    if (!cli_proc_file(buf, sizeof buf, pid, name))
        return 0;
    int n = 0;
    for (char *tok = strtok(buf, " \n"); tok && n < max; tok = strtok(NULL, " \n")) {
        pid_t c = (pid_t)atoi(tok);
        char st = cli_proc_state(c);
        if (st && st != 'Z' && st != 'X')
            out[n++] = c;
    }
    return n;
}

/* SIGSTOP pid and wait until it is stopped: a signal sent to it before then (while it is
 * still running) would be delivered instead of left pending. */
static inline void cli_stop(pid_t pid)
{
    kill(pid, SIGSTOP);
    for (char st; (st = cli_proc_state(pid)) && st != 'T' && st != 'Z' && st != 'X';)
        cli_sleep_ms(1);
}

/* Stop pid and then its children, as Ctrl-Z stops a bench run and its workers; kids[0..max)
 * <- the children stopped. Returns how many. cli_cont_tree continues them, pid first. */
static inline int cli_stop_tree(pid_t *kids, int max, pid_t pid)
{
    cli_stop(pid);
    int n = cli_children(kids, max, pid);
    for (int i = 0; i < n; i++)
        cli_stop(kids[i]);
    return n;
}

static inline void cli_cont_tree(pid_t pid, const pid_t *kids, int n)
{
    kill(pid, SIGCONT);
    for (int i = 0; i < n; i++)
        kill(kids[i], SIGCONT);
}

/* Whether signal sig is pending for pid (SigPnd or ShdPnd of /proc/PID/status). */
static inline bool cli_signal_pending(pid_t pid, int sig)
{
    char status[4096];
    if (!cli_proc_file(status, sizeof status, pid, "status"))
        return false;
    for (const char *l = status; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        unsigned long long mask;
        if ((sscanf(l, "SigPnd: %llx", &mask) == 1 || sscanf(l, "ShdPnd: %llx", &mask) == 1) &&
            (mask >> (sig - 1)) & 1)
            return true;
    }
    return false;
}

/* The integer the query sql gives on the database at path (read-only, waiting for a writer),
 * -1 when the file or the query cannot be read (a database being created): fit for polling. */
static inline int64_t cli_db_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

#endif
