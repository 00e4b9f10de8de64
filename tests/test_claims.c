/* Tests of harness/claims: the shipped experiments/claims.toml, a file of every key, the one-line
 * "FILE:LINE: key 'claim[N].KEY'" errors of bad files (each also shows what the check lets
 * through), how the default file is found, and `bench report --paper --claims FILE`. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, setenv */
#define _XOPEN_SOURCE 700

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "claims.h"
#include "cli.h"
#include "report_fixture.h"

static void test_shipped(void **state)
{
    (void)state;
    claims c;
    err_info e = {0};
    if (claims_load(&c, BENCH_SOURCE_DIR "/experiments/claims.toml", &e))
        fail_msg("%s", e.msg);
    assert_int_equal(c.n, 5);
    assert_string_equal(c.v[0].what, "test accuracy (Lee & Rhee 2024)");
    assert_string_equal(c.v[0].stated, "99.22%");
    assert_close(c.v[0].value, 0.9922, 1e-15);
    assert_true(c.v[0].percent);
    assert_int_equal(c.v[0].metric, CLAIM_ACCURACY);
    assert_int_equal(c.v[0].n_experiments, 2);
    assert_string_equal(c.v[0].experiments[0], "paper");
    assert_string_equal(c.v[0].experiments[1], "ci");
    assert_string_equal(c.v[1].stated, "0.9919");
    assert_false(c.v[1].percent);
    assert_int_equal(c.v[1].metric, CLAIM_F1);
    assert_string_equal(c.v[2].stated, "~20 min");
    assert_close(c.v[2].value, 1200.0, 0);
    assert_int_equal(c.v[2].metric, CLAIM_TIME);
    assert_string_equal(c.v[3].experiments[0], "lenet5");
    assert_int_equal(c.v[3].n_experiments, 1);
    assert_string_equal(c.v[4].stated, "99%");
    assert_true(claim_names(&c.v[0], "ci"));
    assert_false(claim_names(&c.v[0], "lenet5"));
    claims_release(&c);
}

#define GOOD "[[claim]]\nclaim = \"acc\"\nvalue = 98.5\nunit = \"%\"\nmetric = \"accuracy\"\n" \
             "experiment = \"x\"\nsource = \"somewhere\"\n"

/* A bad file gives exactly want as its message (and the good one parses). */
static void assert_bad(const char *text, const char *want)
{
    claims c;
    err_info e = {0};
    int rc = claims_parse(&c, text, strlen(text), "c.toml", &e);
    if (rc == 0)
        fail_msg("accepted:\n%s", text);
    if (strcmp(e.msg, want) != 0)
        fail_msg("message\n  %s\nexpected\n  %s", e.msg, want);
    assert_int_equal(c.n, 0);
    assert_null(c.v);
    claims_release(&c);
}

static void test_bad_files(void **state)
{
    (void)state;
    claims c;
    err_info e = {0};
    /* what the checks let through: every key, a fraction, minutes, a list of experiments */
    const char *ok = GOOD "\n[[claim]]\nclaim = \"f1\"\nvalue = 1\nunit = \"fraction\"\n"
                          "metric = \"f1\"\nexperiment = [\"a\", \"b\"]\nsource = \"s\"\n"
                          "\n[[claim]]\nclaim = \"t\"\nvalue = 0.5\nunit = \"min\"\n"
                          "approximate = true\nmetric = \"time\"\nexperiment = \"a\"\n"
                          "source = \"s\"\n";
    if (claims_parse(&c, ok, strlen(ok), "c.toml", &e))
        fail_msg("%s", e.msg);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.v[0].stated, "98.5%");
    assert_close(c.v[0].value, 0.985, 1e-15);
    assert_int_equal(c.v[0].line, 1);
    assert_int_equal(c.v[1].line, 9);
    assert_close(c.v[1].value, 1.0, 0);
    assert_string_equal(c.v[2].stated, "~0.5 min");
    assert_close(c.v[2].value, 30.0, 0);
    claims_release(&c);

    assert_bad("", "c.toml:1: no claims (write one [[claim]] table per claim)");
    assert_bad("title = \"x\"\n",
               "c.toml:1: unknown key 'title' (valid: claim, an array of [[claim]] tables)");
    assert_bad("claim = 3\n", "c.toml:1: no claims (write one [[claim]] table per claim)");
    assert_bad("claim = [1]\n", "c.toml:1: key 'claim': must be an array of tables ([[claim]])");
    assert_bad("[[claim]\n", "c.toml:1:8: expected ']]' after table name 'claim', found ']'");
    assert_bad(GOOD "colour = \"red\"\n",
               "c.toml:8: key 'claim[1].colour': unknown key (valid: claim, value, unit, "
               "approximate, metric, experiment, source)");
    assert_bad("[[claim]]\nvalue = 1\nunit = \"%\"\nmetric = \"accuracy\"\nexperiment = \"x\"\n"
               "source = \"s\"\n",
               "c.toml:1: key 'claim[1].claim': missing (every claim needs claim, value, unit, "
               "metric, experiment and source)");
    assert_bad(GOOD "\n[[claim]]\nclaim = \"b\"\nvalue = \"99\"\nunit = \"%\"\n"
                    "metric = \"accuracy\"\nexperiment = \"x\"\nsource = \"s\"\n",
               "c.toml:11: key 'claim[2].value': must be a number in (0, 100] in %");
    assert_bad("[[claim]]\nclaim = \"a\"\nvalue = 101\nunit = \"%\"\nmetric = \"accuracy\"\n"
               "experiment = \"x\"\nsource = \"s\"\n",
               "c.toml:3: key 'claim[1].value': must be a number in (0, 100] in %");
    assert_bad("[[claim]]\nclaim = \"a\"\nvalue = 1.5\nunit = \"fraction\"\nmetric = \"f1\"\n"
               "experiment = \"x\"\nsource = \"s\"\n",
               "c.toml:3: key 'claim[1].value': must be a number in (0, 1] in fraction");
    assert_bad("[[claim]]\nclaim = \"a\"\nvalue = -2\nunit = \"min\"\nmetric = \"time\"\n"
               "experiment = \"x\"\nsource = \"s\"\n",
               "c.toml:3: key 'claim[1].value': must be a finite number > 0 in min");
    assert_bad("[[claim]]\nclaim = \"a\"\nvalue = 99\nunit = \"percent\"\nmetric = \"accuracy\"\n"
               "experiment = \"x\"\nsource = \"s\"\n",
               "c.toml:4: key 'claim[1].unit': unknown unit 'percent' (valid: %, fraction, min)");
    assert_bad("[[claim]]\nclaim = \"a\"\nvalue = 99\nunit = \"%\"\nmetric = \"acc\"\n"
               "experiment = \"x\"\nsource = \"s\"\n",
               "c.toml:5: key 'claim[1].metric': unknown metric 'acc' (valid: accuracy, f1, "
               "time)");
    assert_bad("[[claim]]\nclaim = \"a\"\nvalue = 20\nunit = \"%\"\nmetric = \"time\"\n"
               "experiment = \"x\"\nsource = \"s\"\n",
               "c.toml:4: key 'claim[1].unit': '%' does not measure time (valid: min)");
    assert_bad("[[claim]]\nclaim = \"a\"\nvalue = 99\nunit = \"%\"\nmetric = \"accuracy\"\n"
               "experiment = []\nsource = \"s\"\n",
               "c.toml:6: key 'claim[1].experiment': must name 1 to 8 experiments (got 0)");
    assert_bad("[[claim]]\nclaim = \"a\"\nvalue = 99\nunit = \"%\"\nmetric = \"accuracy\"\n"
               "experiment = [\"a\", 2]\nsource = \"s\"\n",
               "c.toml:6: key 'claim[1].experiment': item 2 must be an experiment name (a "
               "non-empty string of fewer than 128 bytes)");
    assert_bad("[[claim]]\nclaim = \"a\"\nvalue = 99\nunit = \"%\"\nmetric = \"accuracy\"\n"
               "experiment = \"x\"\nsource = \"\"\n",
               "c.toml:7: key 'claim[1].source': must be a non-empty string of fewer than 512 "
               "bytes");
    assert_bad("[[claim]]\nclaim = \"a\"\nvalue = 99\nunit = \"%\"\nmetric = \"accuracy\"\n"
               "experiment = \"x\"\nsource = \"s\"\napproximate = 1\n",
               "c.toml:8: key 'claim[1].approximate': must be true or false (got a integer)");
}

static void test_locate(void **state)
{
    (void)state;
    char path[4096], cwd[4096];
    err_info e = {0};
    /* from a directory without experiments/: the source tree's copy; from the source tree:
     * its experiments/claims.toml */
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir("/"), 0);
    assert_int_equal(claims_locate(path, sizeof path, NULL, &e), 0);
    assert_string_equal(path, BENCH_SOURCE_DIR "/experiments/claims.toml");
    assert_int_equal(chdir(BENCH_SOURCE_DIR), 0);
    assert_int_equal(claims_locate(path, sizeof path, NULL, &e), 0);
    assert_string_equal(path, "experiments/claims.toml");
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(claims_locate(path, sizeof path, "/nonexistent/c.toml", &e), ERR_IO);
    assert_non_null(strstr(e.msg, "cannot read claims file '/nonexistent/c.toml'"));
    claims c;
    assert_int_equal(claims_load(&c, "/nonexistent/c.toml", &e), ERR_IO);
    assert_int_equal(c.n, 0);
}

/* bench report --paper --claims FILE: another paper's claims; a bad file is one line, exit 1. */
static void test_report_with_claims(void **state)
{
    (void)state;
    fix_db *f = fix_db_new("test_claims");
    int64_t x = fix_experiment(f->s, "mine", "[experiment]\nname = \"mine\"\n");
    fix_add(f->s, x, &(fix_run){"m01aaaa", "momentum", 1, 1, RUN_COMPLETED, 0.95, 10, 10, 0, NULL});
    fix_add(f->s, x, &(fix_run){"m02aaaa", "momentum", 1, 2, RUN_COMPLETED, 0.97, 10, 10, 0, NULL});
    char claims_path[400], bad[400];
    snprintf(claims_path, sizeof claims_path, "%s/mine.toml", f->dir);
    snprintf(bad, sizeof bad, "%s/bad.toml", f->dir);
    cli_write_text(claims_path, "[[claim]]\nclaim = \"my accuracy\"\nvalue = 96\nunit = \"%\"\n"
                                "metric = \"accuracy\"\nexperiment = \"mine\"\n"
                                "source = \"my paper, Table 2\"\n");
    cli_write_text(bad, GOOD "value2 = 1\n");
    cli_result *r = malloc(sizeof *r);
    assert_non_null(r);
    cli_run_bench(r, NULL, (const char *const[]){"report", "--db", f->db, "--paper", "--claims",
                                                 claims_path, NULL});
    if (r->status != 0)
        fail_msg("exit %d: %s", r->status, r->err);
    assert_non_null(strstr(r->out, "my accuracy      96%  mine        all    2"));
    assert_non_null(strstr(r->out, "96.00 ± 1.41"));
    assert_non_null(strstr(r->out, "- my accuracy: my paper, Table 2"));
    assert_null(strstr(r->out, "Lee & Rhee"));
    cli_run_bench(r, NULL, (const char *const[]){"report", "--db", f->db, "--paper", "--claims",
                                                 bad, NULL});
    assert_int_equal(r->status, 1);
    char want[600];
    snprintf(want, sizeof want,
             "bench: %s:8: key 'claim[1].value2': unknown key (valid: claim, value, unit, "
             "approximate, metric, experiment, source)\n",
             bad);
    assert_string_equal(r->err, want);
    free(r);
    fix_db_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_locate),
        cmocka_unit_test(test_report_with_claims),
    };
    return cmocka_run_group_tests_name("claims", tests, NULL, NULL);
}
