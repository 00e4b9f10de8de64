/* Tests of `bench perf` (harness/cmd_perf.c), run as the built binary: help, usage errors, and a
 * tiny measurement that prints every figure the command promises (the figures themselves are
 * timings and are never asserted). */
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

#include "cli.h"

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
    assert_non_null(strstr(r.err, "unknown kernel set 'sse9' (valid: auto, generic)"));
    RUN(&r, "perf", "--bogus");
    assert_int_equal(r.status, 2);
    /* --data without a data set: a one-line failure, exit 1 */
    RUN(&r, "perf", "--data", "--data-dir", "/nonexistent-bench-dir", "--iters", "1");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "bench: "));
}

/* Every promised figure appears, for the fused fast path and the generic unfused one. */
static void test_tiny_measurement(void **state)
{
    (void)state;
    static run_result r;
    RUN(&r, "perf", "--iters", "2", "--batch", "8", "--threads", "2", "--peak-size", "64");
    assert_int_equal(r.status, 0);
    const char *want[] = {"kernels: ", "gemm:blis-", "fused:conv+relu+maxpool", "measured peak: ",
                          " 0 conv+relu+maxpool ", " 3 affine ", "softmax-xent", "whole iteration",
                          "images/s", "% of peak", "seconds per epoch (7500 iterations of 8): ",
                          "with 1 thread", "with 2 threads", "evaluation of 10,000 images: ",
                          "peak RSS: ", "load average"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(r.out, want[i]))
            fail_msg("missing '%s' in:\n%s", want[i], r.out);
    RUN(&r, "perf", "--iters", "1", "--batch", "4", "--threads", "1", "--peak-size", "32", "--kernels",
        "generic", "--unfused");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "conv:im2col-blas"));
    assert_null(strstr(r.out, "fused"));
    assert_non_null(strstr(r.out, " 0 conv "));
    assert_non_null(strstr(r.out, " 2 maxpool "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_usage),
        cmocka_unit_test(test_tiny_measurement),
    };
    return cmocka_run_group_tests_name("perf_cli", tests, NULL, NULL);
}
