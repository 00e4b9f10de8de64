/* Tests of the bench command line, by running the built binary (BENCH_BINARY): the top-level
 * help, version and exit codes (0 ok, 1 failure, 2 usage), every numeric option of every
 * command against values that do not fit or are not plain decimal numbers (issue 18.9), and
 * `bench data status`. */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"

typedef cli_result run_result;

/* Run bench with args (NULL-terminated), in directory cwd (NULL: ours), with the environment
 * variable BENCH_DATA_DIR set to data_env (NULL: unset). */
static void run(run_result *r, const char *cwd, const char *data_env, const char *const *args)
{
    cli_run_bench(r, &(cli_opts){.cwd = cwd, .data_dir = data_env}, args);
}

#define RUN(r, ...) run(r, NULL, NULL, (const char *const[]){__VA_ARGS__, NULL})


static void test_help(void **state)
{
    (void)state;
    static run_result r;
    RUN(&r, "--help");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: bench"));
    assert_non_null(strstr(r.out, "\n  data "));
    assert_string_equal(r.err, "");
    RUN(&r, "help", "data");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: bench data"));
}

/* Every command that `bench --help` lists answers `--help` with its own usage, and no text
 * shows a printf escape: help texts are written with fputs, so "%%" would print as such. */
static void test_every_help(void **state)
{
    (void)state;
    static run_result top, r;
    RUN(&top, "--help");
    assert_int_equal(top.status, 0);
    assert_null(strstr(top.out, "%%"));
    const char *at = strstr(top.out, "commands:\n");
    assert_non_null(at);
    int n = 0;
    for (at = strchr(at, '\n') + 1; strncmp(at, "  ", 2) == 0; at = strchr(at, '\n') + 1) {
        char name[32], want[64];
        assert_int_equal(sscanf(at, "%31s", name), 1);
        RUN(&r, name, "--help");
        if (r.status != 0)
            fail_msg("bench %s --help exited %d: %s", name, r.status, r.err);
        snprintf(want, sizeof want, "usage: bench %s", name);
        if (!strstr(r.out, want))
            fail_msg("bench %s --help lacks '%s':\n%s", name, want, r.out);
        if (strstr(r.out, "%%"))
            fail_msg("bench %s --help prints a literal %%%%:\n%s", name, r.out);
        n++;
    }
    assert_true(n >= 18);
}

static void test_version(void **state)
{
    (void)state;
    static run_result r;
    RUN(&r, "--version");
    assert_int_equal(r.status, 0);
    assert_true(strncmp(r.out, "bench ", 6) == 0);
    assert_non_null(strstr(r.out, "(git "));
}

static void test_usage_errors(void **state)
{
    (void)state;
    static run_result r;
    run(&r, NULL, NULL, (const char *const[]){NULL});
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "usage: bench"));
    RUN(&r, "frobnicate");
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "bench: unknown command 'frobnicate' (see 'bench --help')\n");
    RUN(&r, "--frobnicate");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "bench: unknown option '--frobnicate'"));
    RUN(&r, "data", "--frobnicate");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "bench: data: unknown option or missing argument '--frobnicate'"));
    RUN(&r, "data", "status", "--data-dir");
    assert_int_equal(r.status, 2);
    RUN(&r, "data", "status", "kmnist");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown data set 'kmnist'"));
}

/* Issue 18.9: `--shard 1/99999999999` was read as 1/1215752191. Every numeric option is
 * parsed by one strict parser: a value that overflows, has trailing or leading junk, is hex,
 * infinite or NaN, or lies outside the option's range is a usage error (exit 2) on one line
 * naming the option. They come before any file is read, so the files need not exist. */
static void test_numeric_options(void **state)
{
    (void)state;
    static run_result r;
    static const struct {
        const char *args[8];
        const char *option; /* named in the message */
    } cases[] = {
        {{"run", "x.toml", "--shard", "1/99999999999"}, "--shard"},
        {{"run", "x.toml", "--shard", "1/4294967297"}, "--shard"},
        {{"run", "x.toml", "--shard", "99999999999/2"}, "--shard"},
        {{"run", "x.toml", "--shard", "0/2"}, "--shard"},
        {{"run", "x.toml", "--shard", "3/2"}, "--shard"},
        {{"run", "x.toml", "--shard", "1/2x"}, "--shard"},
        {{"run", "x.toml", "--shard", " 1/2"}, "--shard"},
        {{"run", "x.toml", "--shard", "+1/2"}, "--shard"},
        {{"run", "x.toml", "--shard", "1/"}, "--shard"},
        {{"run", "x.toml", "-j", "99999999999999999999"}, "--jobs"},
        {{"run", "x.toml", "-j", "4294967298"}, "--jobs"},
        {{"run", "x.toml", "-j", "0x10"}, "--jobs"},
        {{"run", "x.toml", "-j", " 2"}, "--jobs"},
        {{"run", "x.toml", "-j", "2 "}, "--jobs"},
        {{"run", "x.toml", "-j", ""}, "--jobs"},
        {{"train", "--epochs", "99999999999999999999"}, "--epochs"},
        {{"train", "--batch", "1.5"}, "--batch"},
        {{"train", "--seed", "2147483648"}, "--seed"},
        {{"train", "--threads", "-1"}, "--threads"},
        {{"train", "--lr", "inf"}, "--lr"},
        {{"train", "--lr", "nan"}, "--lr"},
        {{"train", "--lr", "0x1p-3"}, "--lr"},
        {{"train", "--lr", "1e999"}, "--lr"},
        {{"train", "--lr", " 0.1"}, "--lr"},
        {{"train", "--momentum", "0.9x"}, "--momentum"},
        {{"perf", "--threads", "9999999999999999999"}, "--threads"},
        {{"perf", "--iters", "1e3"}, "--iters"},
        {{"perf", "--peak-size", "+100"}, "--peak-size"},
        {{"report", "--epoch", "0"}, "--epoch"},
        {{"report", "--epoch", "4294967297"}, "--epoch"},
        {{"report", "--epoch", "2.0"}, "--epoch"},
        {{"check", "--min-accuracy", "0x1p-1"}, "--min-accuracy"},
        {{"check", "--min-accuracy", "nan"}, "--min-accuracy"},
        {{"check", "--budget", "inf"}, "--budget"},
        {{"check", "--budget", "1e308h"}, "--budget"},
        {{"check", "--budget", " 20m"}, "--budget"},
        {{"slurm", "submit", "x.toml", "--tasks", "0"}, "--tasks"},
        {{"slurm", "submit", "x.toml", "--tasks", "99999999999"}, "--tasks"},
        {{"slurm", "submit", "x.toml", "--max-parallel", "1O"}, "--max-parallel"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run(&r, NULL, NULL, cases[i].args);
        const char *nl = strchr(r.err, '\n');
        if (r.status != 2 || !strstr(r.err, cases[i].option) || !nl || nl[1] != '\0')
            fail_msg("bench %s %s '%s': exit %d, stderr: %s", cases[i].args[0], cases[i].option,
                     cases[i].args[3] ? cases[i].args[3] : cases[i].args[2], r.status, r.err);
    }
    /* what the parser lets through */
    run(&r, NULL, NULL, (const char *const[]){"run", "x.toml", "--shard", "2/2", "-j", "256",
                                              "--dry-run", NULL});
    assert_int_equal(r.status, 1); /* past the options: the file is missing */
    assert_non_null(strstr(r.err, "x.toml"));
    run(&r, NULL, NULL, (const char *const[]){"check", "--db", "/nonexistent/x.db",
                                              "--min-accuracy", "99%", "--budget", "1.5h", NULL});
    assert_int_equal(r.status, 1);
    print_message("%zu bad numeric option values refused\n", sizeof cases / sizeof cases[0]);
}

static void test_data_help(void **state)
{
    (void)state;
    static run_result r;
    RUN(&r, "data", "--help");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "bench data fetch"));
    assert_non_null(strstr(r.out, "--data-dir DIR"));
}

/* An empty data directory: every registered data set is missing (--data-dir and
 * BENCH_DATA_DIR confine the search), exit 1. */
static void test_data_status_missing(void **state)
{
    (void)state;
    static run_result r;
    char dir[] = "/tmp/bench-test-cli-XXXXXX";
    assert_non_null(mkdtemp(dir));
    RUN(&r, "data", "status", "--data-dir", dir);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "mnist           missing"));
    assert_non_null(strstr(r.out, "fashion-mnist   missing"));
    assert_non_null(strstr(r.out, "run 'bench data fetch mnist'"));
    run(&r, NULL, dir, (const char *const[]){"data", "status", "mnist", NULL});
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "mnist           missing"));
    assert_null(strstr(r.out, "fashion-mnist"));
    cli_rm_tree(dir);
}

/* A directory of IDX files without known checksums: found and reported unverified, exit 0. */
static void test_data_status_idx(void **state)
{
    (void)state;
    static run_result r;
    RUN(&r, "data", "idx:" TEST_DATA_DIR "/tiny");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "unverified"));
    assert_non_null(strstr(r.out, TEST_DATA_DIR "/tiny"));
}

/* A corrupt copy under DIR/mnist is refused, naming the file and both checksums. */
static void test_data_status_corrupt(void **state)
{
    (void)state;
    static run_result r;
    char dir[] = "/tmp/bench-test-cli-XXXXXX", sub[64], src[512], dst[512];
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/mnist", dir);
    assert_int_equal(mkdir(sub, 0777), 0);
    static const char *const names[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte"};
    for (int i = 0; i < 4; i++) {
        snprintf(src, sizeof src, "%s/tiny/%s", TEST_DATA_DIR, names[i]);
        snprintf(dst, sizeof dst, "%s/%s", sub, names[i]);
        assert_int_equal(symlink(src, dst), 0);
    }
    run(&r, NULL, dir, (const char *const[]){"data", "status", "mnist", NULL});
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "CORRUPT"));
    assert_non_null(strstr(r.out, "checksum mismatch for '"));
    assert_non_null(strstr(r.out, "/mnist/train-images-idx3-ubyte': expected sha-256 "
                                  "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db, got "));
    cli_rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_every_help),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_numeric_options),
        cmocka_unit_test(test_data_help),
        cmocka_unit_test(test_data_status_missing),
        cmocka_unit_test(test_data_status_idx),
        cmocka_unit_test(test_data_status_corrupt),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
