/* CLI tests of `bench report --selections` and `bench plot --selections` (valtest.h), by
 * running the built bench on the database of valtest_fixture.h (written directly, no
 * training):
 *   - report: every format exits 0; json parses with the fixture's numbers, csv has its
 *     header and a line per row, the table and Markdown mark the other data set "no";
 *   - nothing to report: an empty database is exit 1 with one line naming it, nothing on
 *     stdout (as bench report is for a database without experiments);
 *   - options of other reports or figures are usage errors (exit 2), and --format html too;
 *   - plot: validation_vs_test.gp and .dat in --out DIR with the one same-data point, the
 *     image when gnuplot is on PATH (skipped with a message otherwise), and without gnuplot
 *     on PATH the scripts and how to render them. */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "plot.h"
#include "valtest_fixture.h"

typedef struct fixture {
    char dir[256];
    char db[300];
    cli_result r;
} fixture;

#define RUN(f, ...) \
    cli_run_bench(&(f)->r, &(cli_opts){.cwd = (f)->dir}, (const char *const[]){__VA_ARGS__, NULL})

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/bench-test-valtest-cli-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/b.db", f->dir);
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

static void expect_ok(const fixture *f)
{
    if (f->r.status != 0)
        fail_msg("exit %d: %s", f->r.status, f->r.err);
}

static void test_report(void **state)
{
    fixture *f = *state;
    vt_fx_write(f->db);
    RUN(f, "report", "--selections", "--format", "json", "--db", f->db);
    expect_ok(f);
    json_error_t je;
    json_t *doc = json_loads(f->r.out, 0, &je);
    if (!doc)
        fail_msg("not JSON (%s):\n%s", je.text, f->r.out);
    const json_t *rows = json_object_get(doc, "selections");
    assert_int_equal(json_array_size(rows), 2);
    const json_t *t = json_array_get(rows, 0);
    assert_string_equal(json_string_value(json_object_get(t, "experiment")), "target");
    assert_true(json_real_value(json_object_get(t, "validation_mean")) == 0.75);
    assert_true(json_real_value(json_object_get(t, "test_mean")) == 0.875);
    assert_true(json_real_value(json_object_get(t, "test_minus_validation_pp")) == 12.5);
    json_decref(doc);
    RUN(f, "report", "--selections", "--format", "csv", "--db", f->db);
    expect_ok(f);
    assert_true(strncmp(f->r.out, "experiment,from,winner,metric,", 30) == 0);
    assert_non_null(strstr(f->r.out, "\ntarget,from,lr=0.01,accuracy,2,0.75,"));
    assert_non_null(strstr(f->r.out, ",12.5,true,mnist,mnist\n"));
    assert_non_null(strstr(f->r.out, ",-25,false,fashion-mnist,mnist\n"));
    RUN(f, "report", "--selections", "--db", f->db);
    expect_ok(f);
    assert_non_null(strstr(f->r.out, "same data"));
    assert_non_null(strstr(f->r.out, "-25.00  no\n"));
    assert_non_null(strstr(f->r.out, "+12.50  yes\n"));
    RUN(f, "report", "--selections", "--format", "md", "--db", f->db);
    expect_ok(f);
    assert_non_null(strstr(f->r.out, "| transfer | from | lr=0.01 | accuracy |"));
    assert_non_null(strstr(f->r.out, "| -25.00 | no |"));
}

static void test_nothing(void **state)
{
    fixture *f = *state;
    err_info e = {0};
    store *s = NULL;
    assert_int_equal(store_open(&s, f->db, &e), 0);
    store_close(s);
    RUN(f, "report", "--selections", "--db", f->db);
    assert_int_equal(f->r.status, 1);
    assert_string_equal(f->r.out, "");
    assert_non_null(strstr(f->r.err, "bench: no experiment in '"));
    assert_non_null(strstr(f->r.err, f->db));
    assert_ptr_equal(strchr(f->r.err, '\n'), f->r.err + strlen(f->r.err) - 1); /* one line */
    RUN(f, "plot", "--selections", "--out", "figs", "--db", f->db);
    assert_int_equal(f->r.status, 1);
    assert_non_null(strstr(f->r.err, "bench: no experiment in '"));
}

static void test_usage(void **state)
{
    fixture *f = *state;
    vt_fx_write(f->db);
    static const char *const bad[][3] = {
        {"report", "--experiment", "target"}, {"report", "--paper", NULL},
        {"report", "--runs", NULL},           {"report", "--format", "html"},
        {"plot", "--experiment", "target"},   {"plot", "--partial", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        RUN(f, bad[i][0], "--selections", "--db", f->db, bad[i][1], bad[i][2]);
        if (f->r.status != 2)
            fail_msg("%s --selections %s: exit %d: %s", bad[i][0], bad[i][1], f->r.status,
                     f->r.err);
    }
    /* what the guard lets through: --format and --db */
    RUN(f, "report", "--selections", "--db", f->db, "--format", "md");
    expect_ok(f);
}

static void test_plot(void **state)
{
    fixture *f = *state;
    vt_fx_write(f->db);
    char out[400], path[500];
    snprintf(out, sizeof out, "%s/plots/study", f->dir);
    RUN(f, "plot", "--selections", "--out", out, "--format", "svg", "--db", f->db);
    expect_ok(f);
    snprintf(path, sizeof path, "%s/validation_vs_test.dat", out);
    char *dat = cli_read_file(path, NULL);
    const char *line = dat;
    while (*line == '#')
        line = strchr(line, '\n') + 1;
    double v[6];
    assert_int_equal(sscanf(line, "%lf %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4],
                            &v[5]),
                     6);
    assert_true(v[0] == 75 && v[2] == 87.5 && v[3] == 12.5 && v[4] == 2 && v[5] == 3);
    assert_null(strchr(strchr(line, '\n') + 1, '\n')); /* one point: transfer is not drawn */
    free(dat);
    snprintf(path, sizeof path, "%s/validation_vs_test.gp", out);
    char *gp = cli_read_file(path, NULL);
    assert_non_null(strstr(gp, "'target'"));
    assert_non_null(strstr(gp, "'test = validation'"));
    free(gp);
    snprintf(path, sizeof path, "%s/validation_vs_test.svg", out);
    if (!plot_gnuplot_available()) {
        print_message("gnuplot is not on PATH: the figure is not rendered\n");
    } else {
        assert_int_equal(access(path, F_OK), 0);
        assert_non_null(strstr(f->r.out, "validation_vs_test.svg\n"));
    }
    /* without gnuplot: the scripts, and how to render them */
    snprintf(out, sizeof out, "%s/nognuplot", f->dir);
    cli_run_bench(&f->r, &(cli_opts){.cwd = f->dir, .path = "/nonexistent"},
                  (const char *const[]){"plot", "--selections", "--out", out, "--db", f->db,
                                        NULL});
    expect_ok(f);
    assert_non_null(strstr(f->r.out, "gnuplot is not on PATH"));
    assert_non_null(strstr(f->r.out, "/nognuplot/validation_vs_test.gp\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plot, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
