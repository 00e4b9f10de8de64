/* cli.h: what the command-line tests share, header-only like gradcheck.h. They run a program
 * (the built bench, or gnuplot) in a child process and read its exit status and output, and
 * remove the temporary directories they made. Include after <cmocka.h>, in a file that defines
 * _XOPEN_SOURCE 700 before any include (fork, nftw, setenv). */
#ifndef BENCH_TESTS_CLI_H
#define BENCH_TESTS_CLI_H

#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

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

static inline void cli_put_be32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    fwrite(b, 1, 4, f);
}

/* DIR/PREFIX-images-idx3-ubyte and DIR/PREFIX-labels-idx1-ubyte: n images of a learnable
 * 10-class task on 1x28x28 pixels (class c lights a 6x4 patch at a position fixed per class,
 * over noise), deterministic for a seed (LCG). A data set for `idx:DIR` in tests that run
 * bench. */
static inline void cli_write_idx(const char *dir, const char *prefix, int n, uint32_t seed)
{
    char path[1024];
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

#endif
