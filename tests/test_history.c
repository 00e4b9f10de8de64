/* Tests of harness/history on databases filled through the store API with fabricated runs
 * and bench perf measurements: the noise rule, revisions oldest first with their marks, one
 * history per configuration (never pooled), and the speed history of bench perf
 * measurements (history --perf), each rendered in every format. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, nftw, open_memstream */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>

#include "history.h"
#include "report_fixture.h"


typedef fix_db fixture;

static int setup(void **state)
{
    *state = fix_db_new("test_history");
    return 0;
}

static int teardown(void **state)
{
    fix_db_free(*state);
    return 0;
}

static void test_moved_rule(void **state)
{
    (void)state;
    stats_summary a, b, c;
    const double x[] = {0.990, 0.992}, y[] = {0.991, 0.993}, z[] = {0.980, 0.982};
    stats_summarize(&a, x, 2); /* sd 0.001414 */
    stats_summarize(&b, y, 2); /* moved 0.001 < 2 * 0.001414 */
    stats_summarize(&c, z, 2); /* moved 0.01 */
    assert_false(history_moved(&a, &b, NAN));
    assert_true(history_moved(&a, &c, NAN));
    /* single runs on both sides: the fallback sd decides, none known: no mark */
    stats_summary p, q;
    stats_summarize(&p, x, 1);
    stats_summarize(&q, z, 1);
    assert_false(history_moved(&p, &q, NAN));
    assert_true(history_moved(&p, &q, 0.001));
    assert_false(history_moved(&p, &q, 0.01));
    /* one side with a spread: pooled sd is that side's */
    assert_true(history_moved(&a, &q, NAN));
}

static void test_history(void **state)
{
    fixture *f = *state;
    int64_t x = fix_experiment(f->s, "ci", "[experiment]\nname = \"ci\"\n");
    int64_t b1 = fix_build(f->s, "1111111111111111111111111111111111111111");
    int64_t b2 = fix_build(f->s, "2222222222222222222222222222222222222222");
    int64_t b3 = fix_build(f->s, "3333333333333333333333333333333333333333");
    /* queued in the order b3, b1, b2; started b1 < b2 < b3 */
    const fix_run runs[] = {
        {"h31aaaa", "momentum", 1, 1, RUN_COMPLETED, 0.9800, 600, 600, b3, NULL},
        {"h32aaaa", "momentum", 1, 2, RUN_COMPLETED, 0.9820, 600, 600, b3, NULL},
        {"h11aaaa", "momentum", 1, 1, RUN_COMPLETED, 0.9920, 500, 500, b1, NULL},
        {"h12aaaa", "momentum", 1, 2, RUN_COMPLETED, 0.9940, 500, 520, b1, NULL},
        {"h21aaaa", "momentum", 1, 1, RUN_COMPLETED, 0.9930, 500, 500, b2, NULL},
        {"h22aaaa", "momentum", 1, 2, RUN_COMPLETED, 0.9950, 500, 520, b2, NULL},
        {"h23aaaa", "momentum", 1, 3, RUN_FAILED, 0.5, 500, 500, b2, NULL},
    };
    const char *when[] = {"2024-03-01T00:00:00.000Z", "2024-03-01T01:00:00.000Z",
                          "2024-01-01T00:00:00.000Z", "2024-01-01T01:00:00.000Z",
                          "2024-02-01T00:00:00.000Z", "2024-02-01T01:00:00.000Z",
                          "2024-02-01T02:00:00.000Z"};
    for (int i = 0; i < 7; i++) {
        fix_add(f->s, x, &runs[i]);
        fix_started(f->db, runs[i].key, when[i]);
    }
    history_set hs;
    err_info e = {0};
    assert_int_equal(history_load(&hs, f->s, "ci", &e), 0);
    assert_int_equal(hs.n, 1); /* one configuration */
    assert_string_equal(hs.configs[0].label, "all");
    const history_row *h = hs.configs[0].rows;
    assert_int_equal(hs.configs[0].n, 3);
    assert_string_equal(h[0].git_sha, "1111111111111111111111111111111111111111");
    assert_string_equal(h[1].git_sha, "2222222222222222222222222222222222222222");
    assert_string_equal(h[2].git_sha, "3333333333333333333333333333333333333333");
    assert_string_equal(h[0].date, "2024-01-01T00:00:00.000Z");
    assert_int_equal(h[1].acc.n, 2); /* the failed run is not counted */
    assert_close(h[1].acc.mean, 0.994, 1e-12);
    assert_false(h[0].acc_moved || h[0].time_moved);
    assert_false(h[1].acc_moved);  /* +0.001 against a pooled sd of 0.0014 */
    assert_false(h[1].time_moved); /* 1010 s both */
    assert_true(h[2].acc_moved);   /* -0.012 against a pooled sd of 0.0014 */
    assert_true(h[2].time_moved);  /* 1200 s against 1010 s, pooled sd 10 s */
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_int_equal(history_render(m, &hs, 1, TABLE_TEXT, &e), 0);
    fclose(m);
    assert_non_null(strstr(buf, "2024-01-01 00:00  1111111111"));
    assert_non_null(strstr(buf, "acc+time"));
    assert_non_null(strstr(buf, "more\n  than twice the pooled sd"));
    free(buf);
    m = open_memstream(&buf, &len);
    assert_int_equal(history_render(m, &hs, 1, TABLE_CSV, &e), 0);
    fclose(m);
    assert_non_null(strstr(buf, "experiment,config,date,git_sha,git_dirty,n,acc_mean,acc_sd,"
                                "train_s_mean,train_s_sd,mark\n"
                                "ci,all,2024-01-01T00:00:00.000Z,"
                                "1111111111111111111111111111111111111111,false,2,0.993,"));
    free(buf);
    history_release(&hs);
}

/* Configurations are never pooled: runs of two learning rates in one experiment are two
 * histories, each labelled by the key that tells them apart. */
static void test_history_configs(void **state)
{
    fixture *f = *state;
    int64_t x = fix_experiment(f->s, "opt", "[sweep]\noptimizer = [\"momentum\", \"adam\"]\n"
                                            "seed = [1, 2]\n");
    int64_t b1 = fix_build(f->s, "1111111111111111111111111111111111111111");
    const fix_run runs[] = {
        {"m1aaaaa", "momentum", 1, 1, RUN_COMPLETED, 0.99, 10, 10, b1, NULL},
        {"m2aaaaa", "momentum", 1, 2, RUN_COMPLETED, 0.98, 10, 10, b1, NULL},
        {"a1aaaaa", "adam", 1, 1, RUN_COMPLETED, 0.80, 10, 10, b1, NULL},
        {"a2aaaaa", "adam", 1, 2, RUN_COMPLETED, 0.82, 10, 10, b1, NULL},
    };
    for (int i = 0; i < 4; i++)
        fix_add(f->s, x, &runs[i]);
    history_set hs;
    err_info e = {0};
    assert_int_equal(history_load(&hs, f->s, "opt", &e), 0);
    assert_int_equal(hs.n, 2);
    assert_string_equal(hs.configs[0].label, "optimizer=momentum");
    assert_string_equal(hs.configs[1].label, "optimizer=adam");
    assert_close(hs.configs[0].rows[0].acc.mean, 0.985, 1e-12);
    assert_close(hs.configs[1].rows[0].acc.mean, 0.81, 1e-12);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_int_equal(history_render(m, &hs, 1, TABLE_JSON, &e), 0);
    fclose(m);
    json_t *j = json_loads(buf, 0, NULL);
    assert_non_null(j);
    json_t *cfgs = json_object_get(json_array_get(json_object_get(j, "experiments"), 0),
                                   "configurations");
    assert_int_equal(json_array_size(cfgs), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(cfgs, 1), "values"), "optimizer")),
                        "adam");
    json_decref(j);
    free(buf);
    history_release(&hs);
}

/* The speed history: setups apart, revisions (dirty apart from clean) oldest first, n, mean,
 * sd, best, images/s, % of peak, and the marks in both directions, rendered in every format.
 *   2 threads: 1111 (clean) 10.0, 10.2 s/epoch    n=2, mean 10.1, sd 0.1414, 40 and 42 % of peak
 *              2222 (clean) 10.1, 10.3            n=2, mean 10.2: +0.1 < 2 * 0.1414, no mark
 *              2222-dirty   8.0                   vs 2222's sd: faster
 *              3333         9.0                   single vs single: the earlier noise 0.1414,
 *                                                 slower
 *   1 thread:  1111 20.0, no peak
 *   2 threads, kernels generic, unfused: 1111 30.0 */
static void test_perf_history(void **state)
{
    fixture *f = *state;
    err_info e = {0};
    int64_t b1 = fix_build(f->s, "1111111111111111111111111111111111111111");
    int64_t b2 = fix_build(f->s, "2222222222222222222222222222222222222222");
    int64_t b3 = fix_build(f->s, "3333333333333333333333333333333333333333");
    store_build dirty = {.git_sha = "2222222222222222222222222222222222222222", .git_dirty = 1,
                         .git_branch = "main", .compiler = "GNU", .git_diff = "x"};
    int64_t b2d = 0;
    assert_int_equal(store_build_put(f->s, &b2d, &dirty, &e), 0);
    /* written out of date order: the history orders by created_at */
    const fix_perf_row rows[] = {
        /* measured against an SGEMM "peak" (before schema 9): its % is not shown */
        {b3, 2, 9.0, 99.0, "2024-03-01T00:00:00.000Z", NULL, 0, "sgemm"},
        {b1, 2, 10.0, 40.0, "2024-01-01T00:00:00.000Z", NULL, 0, NULL},
        {b1, 2, 10.2, 42.0, "2024-01-01T01:00:00.000Z", NULL, 0, NULL},
        {b1, 1, 20.0, NAN, "2024-01-01T00:00:00.000Z", NULL, 0, NULL},
        {b2, 2, 10.1, 41.0, "2024-02-01T00:00:00.000Z", NULL, 0, NULL},
        {b2, 2, 10.3, 41.0, "2024-02-01T01:00:00.000Z", NULL, 0, NULL},
        {b2d, 2, 8.0, 50.0, "2024-02-02T00:00:00.000Z", NULL, 0, NULL},
        {b1, 2, 30.0, 10.0, "2024-01-02T00:00:00.000Z", "generic", 1, NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        fix_perf(f->s, f->db, &rows[i]);
    history_perf_setup *v = NULL;
    int n = 0;
    assert_int_equal(history_perf_load(&v, &n, f->s, &e), 0);
    assert_int_equal(n, 3);
    assert_int_equal(v[0].threads, 1);
    assert_int_equal(v[0].n, 1);
    assert_true(isnan(v[0].rows[0].pct_peak.mean));
    assert_int_equal(v[1].threads, 2);
    assert_string_equal(v[1].kernel_set, "auto");
    assert_int_equal(v[2].threads, 2);
    assert_string_equal(v[2].kernel_set, "generic");
    assert_true(v[2].unfused);
    const history_perf_revision *h = v[1].rows;
    assert_int_equal(v[1].n, 4);
    assert_string_equal(h[0].git_sha, "1111111111111111111111111111111111111111");
    assert_string_equal(h[0].date, "2024-01-01T00:00:00.000Z");
    assert_int_equal(h[0].n, 2);
    assert_close(h[0].epoch_s.mean, 10.1, 1e-12);
    assert_close(h[0].epoch_s.sd, sqrt(0.02), 1e-12);
    assert_close(h[0].epoch_s.min, 10.0, 0);
    assert_close(h[0].images_per_s.mean, (6000.0 + 60000.0 / 10.2) / 2, 1e-9);
    assert_close(h[0].pct_peak.mean, 41.0, 1e-12);
    assert_false(h[1].git_dirty);
    assert_int_equal(h[1].moved, 0);
    assert_true(h[2].git_dirty);
    assert_string_equal(h[2].git_sha, h[1].git_sha);
    assert_int_equal(h[2].moved, -1);
    assert_string_equal(h[3].git_sha, "3333333333333333333333333333333333333333");
    assert_int_equal(h[3].moved, 1);
    assert_int_equal(h[3].pct_peak.n, 0);

    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_int_equal(history_perf_render(m, v, n, TABLE_TEXT, &e), 0);
    fclose(m);
    static const char *const want_table[] = {
        "== speed history: 1 thread, batch 100, synthetic data; bench perf per git revision",
        "\n\n== speed history: 2 threads, batch 100, synthetic data; bench perf",
        "== speed history: 2 threads, batch 100, synthetic data, kernels generic, unfused;",
        "  2024-01-01 00:00  1111111111        2         10.10 ± 0.14         10.00      5941       41.0\n",
        "  2024-02-02 00:00  2222222222-dirty  1             8.00 ± -          8.00      7500       50.0  faster\n",
        "  2024-03-01 00:00  3333333333        1             9.00 ± -          9.00      6667          -  slower\n",
        "  mark: 'slower' or 'faster' where the mean s/epoch moved",
    };
    for (size_t i = 0; i < sizeof want_table / sizeof want_table[0]; i++)
        if (!strstr(buf, want_table[i]))
            fail_msg("missing '%s' in:\n%s", want_table[i], buf);
    free(buf);

    m = open_memstream(&buf, &len);
    assert_int_equal(history_perf_render(m, v, n, TABLE_MD, &e), 0);
    fclose(m);
    assert_non_null(strstr(buf, "## speed history: 2 threads"));
    assert_non_null(strstr(buf, "| date | revision | n | s/epoch (mean ± sd) | best s/epoch | "
                                "images/s | % of peak | mark |\n|---|---|---:|---:|---:|---:|---:|---|\n"));
    assert_non_null(strstr(buf, "| 2024-02-02 00:00 | 2222222222-dirty | 1 | 8.00 ± - | 8.00 | 7500 | "
                                "50.0 | faster |\n"));
    free(buf);

    m = open_memstream(&buf, &len);
    assert_int_equal(history_perf_render(m, v, n, TABLE_CSV, &e), 0);
    fclose(m);
    assert_non_null(strstr(buf, "threads,batch,data,kernel_set,unfused,date,git_sha,git_dirty,n,"
                                "epoch_s_mean,epoch_s_sd,epoch_s_best,images_per_s_mean,"
                                "pct_peak_mean,mark\n"));
    assert_non_null(strstr(buf, "\n1,100,synthetic,auto,false,2024-01-01T00:00:00.000Z,"
                                "1111111111111111111111111111111111111111,false,1,20,,20,3000,,\n"));
    assert_non_null(strstr(buf, "\n2,100,synthetic,auto,false,2024-02-02T00:00:00.000Z,"
                                "2222222222222222222222222222222222222222,true,1,8,,8,7500,50,"
                                "faster\n"));
    assert_non_null(strstr(buf, "\n2,100,synthetic,generic,true,2024-01-02T00:00:00.000Z,"));
    int lines = 0;
    for (const char *p = buf; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + 1 + 4 + 1);
    free(buf);

    m = open_memstream(&buf, &len);
    assert_int_equal(history_perf_render(m, v, n, TABLE_JSON, &e), 0);
    fclose(m);
    json_t *j = json_loads(buf, 0, NULL);
    assert_non_null(j);
    json_t *setups = json_object_get(j, "setups");
    assert_int_equal(json_array_size(setups), 3);
    json_t *s1 = json_array_get(setups, 1);
    assert_int_equal(json_integer_value(json_object_get(s1, "threads")), 2);
    json_t *revs = json_object_get(s1, "revisions");
    assert_int_equal(json_array_size(revs), 4);
    json_t *r0 = json_array_get(revs, 0), *r2 = json_array_get(revs, 2);
    assert_close(json_real_value(json_object_get(r0, "epoch_s_mean")), 10.1, 1e-9);
    assert_close(json_real_value(json_object_get(r0, "epoch_s_best")), 10.0, 0);
    assert_true(json_is_null(json_object_get(r0, "mark")));
    assert_true(json_is_true(json_object_get(r2, "git_dirty")));
    assert_string_equal(json_string_value(json_object_get(r2, "mark")), "faster");
    assert_true(json_is_null(json_object_get(r2, "epoch_s_sd")));
    json_decref(j);
    free(buf);
    history_perf_free(v, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moved_rule),
        cmocka_unit_test_setup_teardown(test_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_configs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_perf_history, setup, teardown),
    };
    return cmocka_run_group_tests_name("history", tests, NULL, NULL);
}
