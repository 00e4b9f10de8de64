/* Tests of `bench perf` (harness/cmd_perf.c), run as the built binary: help, usage errors, a
 * tiny measurement that prints every figure the command promises, and its record in the
 * results database: one measurement per thread count with its per-step rows and the build's
 * revision, PyTorch's s/epoch from --torch (a stand-in python3), nothing with --no-store. The
 * figures themselves are timings and are never asserted. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* nftw, in tests/cli.h */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <math.h>

#include "cli.h"
#include "kern.h"
#include "prov.h"
#include "report_fixture.h"

typedef cli_result run_result;

#define RUN(r, ...) cli_run_bench(r, NULL, (const char *const[]){__VA_ARGS__, NULL})

static void test_help_and_usage(void **state)
{
    (void)state;
    static run_result r;
    RUN(&r, "perf", "--help");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: bench perf"));
    RUN(&r, "--help");
    assert_non_null(strstr(r.out, "\n  perf "));
    RUN(&r, "perf", "--threads", "0");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--threads: '0'"));
    RUN(&r, "perf", "--kernels", "sse9");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown kernel set 'sse9' (valid: auto, avx512, avx2, generic)"));
    RUN(&r, "perf", "--bogus");
    assert_int_equal(r.status, 2);
    RUN(&r, "perf", "--help");
    assert_non_null(strstr(r.out, "--db PATH"));
    assert_non_null(strstr(r.out, "--no-store"));
    RUN(&r, "perf", "--no-store", "--db", "x.db");
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "bench: perf: --no-store records nothing: drop --db 'x.db' or "
                               "--no-store (see 'bench perf --help')\n");
    RUN(&r, "perf", "--db");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "'--db'"));
    /* --data without a data set: a one-line failure, exit 1 */
    RUN(&r, "perf", "--data", "--data-dir", "/nonexistent-bench-dir", "--iters", "1", "--no-store");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "bench: "));
    /* an unwritable database fails before anything is measured */
    RUN(&r, "perf", "--db", "/proc/bench-test/bench.db", "--iters", "1");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "/proc/bench-test"));
    assert_null(strstr(r.out, "physical peak"));
}

/* Every promised figure appears, for the fused fast path and the generic unfused one: the
 * physical peak, the kernels and why, the SGEMM of each library on the n^3 product and the
 * model's own products (every library named, measured or with the reason it is not), the
 * per-layer table, seconds per epoch min / median / max on both thread counts. */
static void test_tiny_measurement(void **state)
{
    (void)state;
    static run_result r;
    RUN(&r, "perf", "--iters", "2", "--reps", "2", "--batch", "8", "--threads", "2", "--peak-size", "64",
        "--no-store");
    assert_int_equal(r.status, 0);
    const bool own = kern_has_avx2(kern_resolve(KERN_AUTO));
    const char *want[] = {"kernels: ", own ? "gemm:avx" : "gemm:blis-", "fused:conv+relu+maxpool",
                          "physical peak (", " GFLOP/s on 1 thread, ", " GFLOP/s on 2 threads",
                          "kernel choice: ", "SGEMM on 2 threads", "64^3 ", "4320->100 fwd ", "4320->100 dW ",
                          "100->10 dW ", "bench avx512-6x64", "bench avx2-6x16", "blis", "openblas",
                          "per step on 2 threads, the fastest of 2 profile passes of 2 iterations each",
                          "0  conv+relu+maxpool ", "3  affine ", "softmax-xent", "whole iteration",
                          "images/s", "% of the physical peak on 2 threads", "% of the physical peak on 1 thread",
                          "seconds per epoch (7500 iterations of 8), min / median / max of 2 alternated",
                          "  2 threads: ", "  1 thread: ", "evaluation of 10,000 images: ", "peak RSS: ",
                          "load average"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(r.out, want[i]))
            fail_msg("missing '%s' in:\n%s", want[i], r.out);
    assert_non_null(strstr(r.out, "4320->100 dx "));
    assert_null(strstr(r.out, "recorded in"));
    RUN(&r, "perf", "--iters", "1", "--reps", "1", "--batch", "4", "--threads", "1", "--peak-size", "32",
        "--kernels", "generic", "--unfused", "--no-store");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "conv:im2col-blas"));
    assert_non_null(strstr(r.out, "kernel choice: generic: forced"));
    assert_null(strstr(r.out, "fused"));
    assert_non_null(strstr(r.out, "0  conv "));
    assert_non_null(strstr(r.out, "2  maxpool "));
}

/* ---- the record in the database ---- */

/* The measurements of the database at db. */
static fix_perfs read_back(const char *db)
{
    store *s = NULL;
    err_info e = {0};
    if (store_open_readonly(&s, db, &e))
        fail_msg("%s", e.msg);
    fix_perfs l = fix_perfs_read(s);
    store_close(s);
    return l;
}

/* A run at 1 thread is one measurement, with its steps and the build's revision; one at 2
 * threads adds two: the 2-thread one with its profile, the 1-thread timing without. --torch
 * records what scripts/torch_bench.py reports (here a stand-in python3 on PATH). */
static void test_records(void **state)
{
    (void)state;
    char dir[256], db[320], py[320];
    fix_mkdtemp(dir, sizeof dir, "test_perf_cli");
    snprintf(db, sizeof db, "%s/results/bench.db", dir);
    snprintf(py, sizeof py, "%s/python3", dir);
    FILE *fp = fopen(py, "w");
    assert_non_null(fp);
    fputs("#!/bin/sh\n"
          "[ \"$1\" = -c ] && exit 0\n"
          "echo 'torch 0.0 (stand-in), 1 threads'\n"
          "echo '  seconds per epoch (600 iterations): 12.34 s'\n",
          fp);
    fclose(fp);
    assert_int_equal(chmod(py, 0755), 0);
    char path[400];
    snprintf(path, sizeof path, "%s:/usr/bin:/bin", dir);
    const cli_opts with_py = {.path = path};

    static run_result r;
    cli_run_bench(&r, &with_py,
                  (const char *const[]){"perf", "--iters", "2", "--reps", "3", "--peak-size", "200",
                                        "--threads", "1", "--torch", "--db", db, NULL});
    if (r.status != 0)
        fail_msg("exit %d: %s", r.status, r.err);
    assert_non_null(strstr(r.out, "seconds per epoch (600 iterations): 12.34 s"));
    assert_non_null(strstr(r.out, "measurement 1 (1 thread)"));
    fix_perfs w = read_back(db);
    assert_int_equal(w.n, 1);
    const store_perf *m = &w.v[0].m;
    assert_int_equal(m->threads, 1);
    assert_int_equal(m->batch, 100);
    assert_string_equal(w.v[0].data, "synthetic");
    assert_string_equal(w.v[0].kernel_set, "auto");
    assert_true(m->peak_gflops > 0 && m->epoch_s > 0 && m->eval_s > 0);
    assert_true(fabs(m->torch_epoch_s - 12.34) < 1e-12);
    assert_true(m->torch_epoch_s_median == m->torch_epoch_s && m->torch_epoch_s_max == m->torch_epoch_s);
    assert_string_equal(w.v[0].torch_setting, "torch 0.0 (stand-in), 1 threads");
    assert_int_equal(m->reps, 3);
    assert_true(m->epoch_s <= m->epoch_s_median && m->epoch_s_median <= m->epoch_s_max);
    assert_true(m->peak_core_gflops > 0 && m->peak_gflops == m->peak_core_gflops);
    assert_non_null(strstr(w.v[0].peak_kind, kern_has_avx2(kern_resolve(KERN_AUTO)) ? "fma-avx" : "sse"));
    assert_true(strlen(w.v[0].kernel_choice) > 0);
    assert_true(m->n_sgemm >= 3); /* 200^3 and the 4320 -> 100 layer's two products, per library */
    assert_non_null(strstr(r.out, "PyTorch, its fastest setting (torch 0.0 (stand-in), 1 threads): 12.34 / 12.34"));
    assert_non_null(strstr(r.out, "bench / PyTorch, fastest of each: "));
    /* the revision of the build that measured */
    prov_build_info b;
    err_info e = {0};
    assert_int_equal(prov_build(&b, NULL, &e), 0);
    assert_string_equal(w.v[0].git_sha, b.git_sha);
    assert_int_equal(w.v[0].git_dirty, b.git_dirty);
    prov_build_release(&b);
    /* its steps, as printed: the fused conv group first, then the loss, then the optimizer's
     * update (time in the backward column only) */
    assert_int_equal(m->n_steps, 7);
    store *s = NULL;
    assert_int_equal(store_open_readonly(&s, db, &e), 0);
    fix_steps q = fix_steps_read(s, w.v[0].id);
    store_close(s);
    assert_int_equal(q.n, 7);
    assert_string_equal(q.layers[0], "conv+relu+maxpool");
    assert_string_equal(q.layers[5], "softmax-xent");
    assert_string_equal(q.layers[6], "momentum-step");
    assert_true(q.v[6].fwd_ms == 0.0 && q.v[6].bwd_ms > 0.0);
    assert_true(isnan(q.v[6].fwd_gflops));

    RUN(&r, "perf", "--iters", "2", "--reps", "1", "--peak-size", "64", "--threads", "2", "--db", db);
    if (r.status != 0)
        fail_msg("exit %d: %s", r.status, r.err);
    assert_non_null(strstr(r.out, "measurement 2 (2 threads), measurement 3 (1 thread)"));
    w = read_back(db);
    assert_int_equal(w.n, 3);
    const store_perf *par = &w.v[1].m, *one = &w.v[2].m;
    assert_int_equal(par->threads, 2);
    assert_int_equal(par->n_steps, 7);
    assert_true(par->peak_gflops > 0);
    assert_true(isnan(par->torch_epoch_s));
    assert_int_equal(one->threads, 1);
    assert_int_equal(one->n_steps, 0);
    assert_true(one->peak_gflops > 0 && isnan(one->eval_s)); /* its peak: one thread's */
    assert_int_equal(one->n_sgemm, 0);
    assert_true(one->epoch_s > 0);
    /* history --perf shows both thread counts */
    RUN(&r, "history", "--perf", "--db", db, "--format", "csv");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "\n1,100,synthetic,auto,false,"));
    assert_non_null(strstr(r.out, "\n2,100,synthetic,auto,false,"));
    cli_rm_tree(dir);
}

/* --no-store measures and prints, and writes no database (not even the default one). */
static void test_no_store(void **state)
{
    (void)state;
    char dir[256], results[300];
    fix_mkdtemp(dir, sizeof dir, "test_perf_cli");
    snprintf(results, sizeof results, "%s/results", dir);
    const cli_opts in_dir = {.cwd = dir};
    static run_result r;
    cli_run_bench(&r, &in_dir,
                  (const char *const[]){"perf", "--iters", "1", "--reps", "1", "--batch", "8", "--peak-size",
                                        "32", "--threads", "1", "--no-store", NULL});
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "whole iteration"));
    assert_null(strstr(r.out, "recorded in"));
    assert_int_equal(access(results, F_OK), -1);
    cli_rm_tree(dir);
}

/* --format: md writes the tables as pipe tables; json one document with every figure on stdout
 * (the progress on stderr); csv the per-layer profile, one record per step, the same values;
 * an unknown format is a usage error listing the valid ones. */
static void test_formats(void **state)
{
    (void)state;
    static run_result r;
    RUN(&r, "perf", "--format", "xml");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--format: "));
    assert_non_null(strstr(r.err, "json"));
    RUN(&r, "perf", "--iters", "1", "--reps", "1", "--batch", "8", "--threads", "2", "--peak-size", "32",
        "--no-store", "--format", "md");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "| step | layers | fwd ms | bwd ms |"));
    assert_non_null(strstr(r.out, "| 0 | conv+relu+maxpool | "));
    assert_non_null(strstr(r.out, "| 32^3 | "));
    RUN(&r, "perf", "--iters", "1", "--reps", "1", "--batch", "8", "--threads", "2", "--peak-size", "32",
        "--no-store", "--format", "json");
    if (r.status != 0)
        fail_msg("exit %d: %s", r.status, r.err);
    assert_non_null(strstr(r.err, "load average before"));
    json_error_t je;
    json_t *j = json_loads(r.out, 0, &je);
    if (!j)
        fail_msg("not JSON (%s): %s", je.text, r.out);
    assert_int_equal(json_integer_value(json_object_get(j, "threads")), 2);
    assert_true(json_real_value(json_object_get(json_object_get(j, "peak"), "gflops")) > 0);
    assert_true(json_is_string(json_object_get(json_object_get(j, "peak"), "kind")));
    json_t *steps = json_object_get(j, "steps");
    assert_int_equal(json_array_size(steps), 7);
    assert_string_equal(json_string_value(json_object_get(json_array_get(steps, 0), "layers")),
                        "conv+relu+maxpool");
    assert_true(json_array_size(json_object_get(json_object_get(j, "sgemm"), "shapes")) >= 3);
    assert_true(json_is_object(json_object_get(j, "epoch_s_1_thread")));
    assert_true(json_is_null(json_object_get(j, "torch_epoch_s")));
    json_decref(j);
    RUN(&r, "perf", "--iters", "1", "--reps", "1", "--batch", "8", "--threads", "1", "--peak-size", "32",
        "--no-store", "--format", "csv");
    assert_int_equal(r.status, 0);
    assert_int_equal(strncmp(r.out, "step,layers,fwd_ms,bwd_ms,fwd_gflops,bwd_gflops,fwd_pct_peak,bwd_pct_peak\n"
                                    "0,conv+relu+maxpool,", 94),
                     0);
    assert_non_null(strstr(r.out, "\n8,momentum-step,0,"));
    assert_null(strstr(r.out, "load average"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_usage),
        cmocka_unit_test(test_tiny_measurement),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_no_store),
        cmocka_unit_test(test_formats),
    };
    return cmocka_run_group_tests_name("perf_cli", tests, NULL, NULL);
}
