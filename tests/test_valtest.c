/* Unit tests of valtest (how validation predicted test) over the database of
 * valtest_fixture.h, whose figures are exact binary fractions:
 *   - load: one row per experiment on the test set whose runs carry a decision, of its newest
 *     version (the old version's run and the validation step are not rows); the winner's
 *     values, its validation mean and sd over its seeds, the test mean and sd over the
 *     COMPLETED runs only (the FAILED one left out), test - validation in points, each
 *     computed here from the fixture's numbers; "same data" no for the run on another set;
 *   - the metric f1 reads the test runs' F1;
 *   - render: CSV and JSON carry the same numbers and parse; the table marks "same data";
 *   - the figure: validation_vs_test.dat holds the one same-data point (in %), the .gp labels
 *     it, draws the diagonal and leaves the other data set out; rendered with gnuplot when it
 *     is on PATH (skipped with a message otherwise);
 *   - nothing to report: an empty database, or one whose only decisions are on validation,
 *     is ERR_INVALID naming the database. */
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
#include "valtest.h"
#include "valtest_fixture.h"

typedef struct fx {
    char dir[64], db[128];
    store *s;
    valtest_set v;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/bench-test-valtest-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/b.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    valtest_release(&f->v);
    store_close(f->s);
    cli_rm_tree(f->dir);
    free(f);
    return 0;
}

/* The fixture written and loaded into f->v. */
static void load_fixture(fx *f)
{
    vt_fx_write(f->db);
    err_info e = {0};
    assert_int_equal(store_open_readonly(&f->s, f->db, &e), 0);
    if (valtest_load(&f->v, f->s, &e))
        fail_msg("%s", e.msg);
}

static void test_load(void **state)
{
    fx *f = *state;
    load_fixture(f);
    assert_int_equal(f->v.n, 2);
    const valtest_row *t = &f->v.v[0], *x = &f->v.v[1];
    assert_string_equal(t->experiment, "target");
    assert_string_equal(t->from, "from");
    assert_string_equal(t->winner, "lr=0.01");
    assert_string_equal(t->metric, "accuracy");
    /* validation: the winner's seeds 0.875 and 0.625 */
    assert_int_equal(t->val.n, 2);
    assert_true(t->val.mean == (0.875 + 0.625) / 2);
    double dv = 0.875 - 0.75;
    assert_true(fabs(t->val.sd - sqrt(2 * dv * dv / 1)) < 1e-15);
    /* test: the 3 COMPLETED runs of the newest version, 0.75, 0.875, 1 */
    assert_int_equal(t->test.n, 3);
    assert_true(t->test.mean == 0.875);
    assert_true(fabs(t->test.sd - sqrt((0.125 * 0.125 * 2) / 2)) < 1e-15);
    assert_true(fabs(t->diff_pp - 100.0 * (0.875 - 0.75)) < 1e-12);
    assert_true(t->same_data);
    assert_string_equal(t->dataset, "mnist");
    assert_string_equal(t->from_dataset, "mnist");
    /* the recipe run on another data set: kept, marked */
    assert_string_equal(x->experiment, "transfer");
    assert_false(x->same_data);
    assert_string_equal(x->dataset, "fashion-mnist");
    assert_int_equal(x->test.n, 2);
    assert_true(x->test.mean == 0.5 && x->test.sd == 0.0);
    assert_true(fabs(x->diff_pp - 100.0 * (0.5 - 0.75)) < 1e-12);
}

/* A decision on f1: the test side reads the runs' F1 (acc / 2 in the fixture). */
static void test_metric_f1(void **state)
{
    fx *f = *state;
    vt_fx g;
    err_info e = {0};
    vt_fx_open(&g, f->db);
    vt_fx_version(&g, "f1x", "a");
    const char *dec = "{\"from\":\"v\",\"file\":\"v.toml\",\"metric\":\"f1\",\"margin\":0,"
                      "\"keys\":[\"lr\",\"bn\"],\"candidates\":[{\"values\":[0.5,true],"
                      "\"runs\":[{\"run\":\"k\",\"seed\":1,\"value\":0.25}],\"mean\":0.25}],"
                      "\"winner\":0,\"winner_values\":{\"lr\":0.5,\"bn\":true}}";
    vt_fx_run(&g, NULL, 0, "mnist", 0, 0.5, 1, 0.75, RUN_COMPLETED, dec);
    store_close(g.s);
    assert_int_equal(store_open_readonly(&f->s, f->db, &e), 0);
    assert_int_equal(valtest_load(&f->v, f->s, &e), 0);
    assert_int_equal(f->v.n, 1);
    const valtest_row *r = &f->v.v[0];
    assert_string_equal(r->metric, "f1");
    assert_string_equal(r->winner, "lr=0.5 bn=true");
    assert_true(r->val.n == 1 && r->val.mean == 0.25 && isnan(r->val.sd));
    assert_true(r->test.mean == 0.375);
    assert_false(r->same_data); /* the winner's run "k" is not in the database */
}

/* The rendered output of f->v in fmt (malloc'd). */
static char *render(fx *f, table_format fmt)
{
    char path[160];
    snprintf(path, sizeof path, "%s/out.txt", f->dir);
    FILE *m = fopen(path, "w");
    assert_non_null(m);
    err_info e = {0};
    assert_int_equal(valtest_render(m, &f->v, fmt, &e), 0);
    fclose(m);
    return cli_read_file(path, NULL);
}

static void test_render(void **state)
{
    fx *f = *state;
    load_fixture(f);
    char *json = render(f, TABLE_JSON);
    json_error_t je;
    json_t *doc = json_loads(json, 0, &je);
    if (!doc)
        fail_msg("not JSON (%s):\n%s", je.text, json);
    const json_t *rows = json_object_get(doc, "selections");
    assert_int_equal(json_array_size(rows), 2);
    const json_t *t = json_array_get(rows, 0);
    assert_string_equal(json_string_value(json_object_get(t, "winner")), "lr=0.01");
    assert_true(json_real_value(json_object_get(t, "validation_mean")) == 0.75);
    assert_true(json_real_value(json_object_get(t, "test_mean")) == 0.875);
    assert_true(json_real_value(json_object_get(t, "test_sd")) == 0.125);
    assert_int_equal(json_integer_value(json_object_get(t, "n_test")), 3);
    assert_true(json_is_true(json_object_get(t, "same_data")));
    assert_true(json_is_false(json_object_get(json_array_get(rows, 1), "same_data")));
    json_decref(doc);
    free(json);
    /* CSV: a header and one line per row with the same numbers */
    char *csv = render(f, TABLE_CSV);
    assert_non_null(strstr(csv, "experiment,from,winner,metric,n_validation,validation_mean,"
                                "validation_sd,n_test,test_mean,test_sd,"
                                "test_minus_validation_pp,same_data,dataset,from_dataset\n"));
    char exp[32], from[32], win[32], metric[32];
    int nv, nt;
    double vm, tm;
    const char *line = strchr(csv, '\n') + 1;
    assert_int_equal(sscanf(line, "%31[^,],%31[^,],%31[^,],%31[^,],%d,%lf,%*[^,],%d,%lf,", exp,
                            from, win, metric, &nv, &vm, &nt, &tm),
                     8);
    assert_string_equal(exp, "target");
    assert_true(nv == 2 && vm == 0.75 && nt == 3 && tm == 0.875);
    assert_non_null(strstr(line, ",12.5,true,mnist,mnist\n"));
    assert_non_null(strstr(line, "transfer,from,lr=0.01,accuracy,2,0.75,"));
    assert_non_null(strstr(line, ",-25,false,fashion-mnist,mnist\n"));
    free(csv);
    /* the table: percent, the mark */
    char *txt = render(f, TABLE_TEXT);
    assert_non_null(strstr(txt, "75.00 ± 17.68"));
    assert_non_null(strstr(txt, "87.50 ± 12.50"));
    assert_non_null(strstr(txt, "+12.50"));
    const char *tr = strstr(txt, "transfer");
    assert_non_null(tr);
    assert_non_null(strstr(tr, "-25.00  no"));
    free(txt);
}

/* The numbers of line i (from 0) of the .dat, comments skipped. */
static int dat_line(double v[6], const char *dat, int i)
{
    for (const char *l = dat; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (*l == '#' || i-- > 0)
            continue;
        return sscanf(l, "%lf %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]);
    }
    return 0;
}

static void test_plot(void **state)
{
    fx *f = *state;
    load_fixture(f);
    char dir[160], path[200];
    snprintf(dir, sizeof dir, "%s/fig/study", f->dir);
    plot_options o = {.dir = dir, .format = PLOT_SVG};
    plot_scripts sc = {0};
    err_info e = {0};
    if (valtest_plot(&f->v, &o, plot_scripts_note, &sc, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(sc.n, 1);
    snprintf(path, sizeof path, "%s/validation_vs_test.dat", dir);
    char *dat = cli_read_file(path, NULL);
    double v[6];
    assert_int_equal(dat_line(v, dat, 0), 6);
    assert_true(v[0] == 75.0 && fabs(v[1] - 100 * sqrt(0.03125)) < 1e-6);
    assert_true(v[2] == 87.5 && v[3] == 12.5 && v[4] == 2 && v[5] == 3);
    assert_int_equal(dat_line(v, dat, 1), 0); /* transfer is not drawn */
    free(dat);
    char *gp = cli_read_file(sc.v[0], NULL);
    assert_non_null(strstr(gp, "set label 1 'target' at 75, 87.5"));
    assert_null(strstr(gp, "'transfer'"));
    assert_non_null(strstr(gp, "title 'test = validation'"));
    assert_non_null(strstr(gp, "Validation accuracy against test accuracy of the selected "
                               "recipes"));
    free(gp);
    if (!plot_gnuplot_available()) {
        print_message("gnuplot is not on PATH: the figure is not rendered\n");
    } else {
        assert_int_equal(plot_render(sc.v[0], &e), 0);
        snprintf(path, sizeof path, "%s/validation_vs_test.svg", dir);
        char *svg = cli_read_file(path, NULL);
        assert_non_null(strstr(svg, "<svg"));
        assert_non_null(strstr(svg, "target"));
        free(svg);
    }
    plot_scripts_free(&sc);
}

/* Nothing to report: no row, ERR_INVALID naming the database; the figure of rows all on
 * another data set is ERR_INVALID too. */
static void test_nothing(void **state)
{
    fx *f = *state;
    err_info e = {0};
    store *w = NULL;
    assert_int_equal(store_open(&w, f->db, &e), 0);
    store_close(w);
    assert_int_equal(store_open_readonly(&f->s, f->db, &e), 0);
    assert_int_equal(valtest_load(&f->v, f->s, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, f->db));
    assert_non_null(strstr(e.msg, "chosen on validation"));
    valtest_set one = {0};
    valtest_row r = {.same_data = false, .val = {.n = 1, .mean = 0.5},
                     .test = {.n = 1, .mean = 0.5}};
    one.v = &r;
    one.n = 1;
    plot_options o = {.dir = f->dir, .format = PLOT_PNG};
    assert_int_equal(valtest_plot(&one, &o, NULL, NULL, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "nothing to draw"));
}

/* Only a decision on validation (step2 of the fixture without the rest): not a row. */
static void test_validation_only(void **state)
{
    fx *f = *state;
    vt_fx g;
    err_info e = {0};
    vt_fx_open(&g, f->db);
    vt_fx_version(&g, "step2", "s");
    char dec[2048];
    vt_fx_decision(dec, sizeof dec, &g);
    vt_fx_run(&g, NULL, 0, "mnist", 50, 0.01, 1, 0.5, RUN_COMPLETED, dec);
    store_close(g.s);
    assert_int_equal(store_open_readonly(&f->s, f->db, &e), 0);
    assert_int_equal(valtest_load(&f->v, f->s, &e), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metric_f1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation_only, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
