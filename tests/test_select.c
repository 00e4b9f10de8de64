/* Unit tests of select (the decision of a [select] table), without training: the rule on exact
 * numbers (select_choose), and select_decide over a database whose runs, metrics and statuses
 * the test writes itself, so that every candidate's mean and the winner are known exactly:
 *   - the winner is the highest mean; ties and the margin go to the earlier candidate;
 *   - only runs queued under the given build identity count (another build's runs are
 *     invisible, and the newest version of `from` is read);
 *   - the metric f1 reads the F1 column;
 *   - each refusal (no runs, not COMPLETED, test set, an extra swept key, a key not swept,
 *     unequal seeds) names the file, line and key; a guard also lets the good case through;
 *   - the decision's JSON names the winner and every per-seed figure; exp_apply_select types
 *     the winner's values through the vocabulary as if the file wrote them. */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exp.h"
#include "select.h"
#include "store.h"

#define IDENT "git_sha=test\nbuild=one\n"

typedef struct fx {
    char dir[64], db[128];
    store *s;
    int64_t xid, did;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/bench-test-select-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/b.db", f->dir);
    err_info e = {0};
    if (store_open(&f->s, f->db, &e))
        return -1;
    store_dataset d = {"synth", "/x", "d5a7", 10};
    if (store_dataset_put(f->s, &f->did, &d, &e))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    store_close(f->s);
    unlink(f->db);
    char p[160];
    snprintf(p, sizeof p, "%s-wal", f->db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", f->db);
    unlink(p);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* A version of experiment "from" sweeping the labels in swept (a JSON array). */
static void version(fx *f, const char *swept, const char *sha)
{
    err_info e = {0};
    store_experiment x = {.name = "from", .file = "sel.toml", .spec_sha256 = sha,
                          .swept = swept};
    assert_int_equal(store_experiment_put(f->s, &f->xid, &x, &e), 0);
}

/* A run of the current version at position pos with swept values values, its configuration
 * lr, seed, validation, its final (2nd) epoch acc and f1, ending in status, keyed for
 * identity. */
static void run(fx *f, int pos, const char *values, double lr, int seed, int validation,
                double acc, double f1, int status, const char *identity)
{
    err_info e = {0};
    char cfg[256], key[65];
    snprintf(cfg, sizeof cfg, "{\"optimizer\":{\"lr\":%.17g},\"seed\":%d,\"validation\":%d}",
             lr, seed, validation);
    assert_int_equal(exp_json_key(key, cfg, "d5a7", identity, &e), 0);
    store_run r = {.run_key = key, .experiment_id = f->xid, .dataset_id = f->did,
                   .config_json = cfg, .seed = seed, .epochs = 2, .position = pos,
                   .swept_values = values};
    assert_int_equal(store_run_queue(f->s, NULL, &r, false, &e), 0);
    bool claimed = false;
    assert_int_equal(store_run_start(f->s, key, &claimed, &e), 0);
    for (int ep = 1; ep <= 2; ep++) {
        store_epoch m = {.run_key = key, .epoch = ep, .test_acc = ep == 2 ? acc : 0.1,
                         .f1_macro = ep == 2 ? f1 : 0.1, .wait_s = NAN, .nivcsw = -1};
        assert_int_equal(store_epoch_put(f->s, &m, &e), 0);
    }
    store_run_end end = {.status = status};
    assert_int_equal(store_run_finish(f->s, key, &end, &e), 0);
}

/* The grid lr = [0.1, 0.01] x seed = [1, 2] with final accuracies a[4] (and f1 = 1 - acc). */
static void grid(fx *f, const double a[4], const char *identity)
{
    version(f, "[\"lr\",\"seed\"]", "v1");
    static const char *const vals[] = {"[0.1,1]", "[0.1,2]", "[0.01,1]", "[0.01,2]"};
    for (int i = 0; i < 4; i++)
        run(f, i, vals[i], i < 2 ? 0.1 : 0.01, 1 + i % 2, 50, a[i], 1.0 - a[i], RUN_COMPLETED,
            identity);
}

static void parse(experiment *x, const char *text)
{
    err_info e = {0};
    if (exp_parse(x, text, strlen(text), "t.toml", &e))
        fail_msg("%s", e.msg);
}

static const char target[] = "[select]\nfrom = \"from\"\nkeys = [\"lr\"]\n";

static void test_choose(void **state)
{
    (void)state;
    int w = -1;
    const double m[] = {0.5, 0.75, 0.625};
    select_choose(&w, m, 3, 0.0);
    assert_int_equal(w, 1);              /* the best */
    select_choose(&w, m, 3, 0.25);
    assert_int_equal(w, 0);              /* 0.5 >= 0.75 - 0.25: the earliest within the margin */
    select_choose(&w, m, 3, 0.125);
    assert_int_equal(w, 1);              /* 0.625 is within, but 0.75 comes first */
    select_choose(&w, m, 3, 0.24);
    assert_int_equal(w, 1);              /* 0.5 is not within 0.24 */
    const double tie[] = {0.25, 0.5, 0.5};
    select_choose(&w, tie, 3, 0.0);
    assert_int_equal(w, 1);              /* a tie goes to the earlier */
    const double later[] = {0.5, 0.5, 0.625};
    select_choose(&w, later, 3, 0.0625);
    assert_int_equal(w, 2);              /* better by more than the margin: the later wins */
    select_choose(&w, later, 1, 0.0);
    assert_int_equal(w, 0);
}

static void test_decide(void **state)
{
    fx *f = *state;
    const double a[] = {0.5, 0.75, 0.875, 0.625}; /* means 0.625 (lr 0.1), 0.75 (lr 0.01) */
    grid(f, a, IDENT);
    experiment x;
    parse(&x, target);
    select_decision d;
    err_info e = {0};
    assert_int_equal(select_decide(&d, f->s, &x, IDENT, &e), 0);
    assert_int_equal(d.n, 2);
    assert_true(d.c[0].mean == 0.625 && d.c[1].mean == 0.75);
    assert_int_equal(d.winner, 1);
    assert_true(d.c[1].values[0].d == 0.01);
    assert_int_equal(d.c[1].n_runs, 2);
    assert_true(d.c[1].runs[0].seed == 1 && d.c[1].runs[0].value == 0.875);
    assert_string_equal(d.from_file, "sel.toml");
    char *json = select_decision_json(&d);
    assert_non_null(strstr(json, "\"winner\":1"));
    assert_non_null(strstr(json, "\"winner_values\":{\"lr\":0.01}"));
    assert_non_null(strstr(json, "\"value\":0.875"));
    /* applied as if written: the runs' lr is 0.01, their configuration otherwise the file's */
    experiment y;
    assert_int_equal(exp_apply_select(&y, &x, d.c[d.winner].values, &e), 0);
    assert_true(y.select.applied);
    assert_true(y.runs[0].num.lr == 0.01);
    free(json);
    exp_release(&y);
    select_decision_release(&d);
    /* a margin of 0.125 keeps the earlier candidate (0.625 >= 0.75 - 0.125) */
    exp_release(&x);
    parse(&x, "[select]\nfrom = \"from\"\nkeys = [\"lr\"]\nmargin = 0.125\n");
    assert_int_equal(select_decide(&d, f->s, &x, IDENT, &e), 0);
    assert_int_equal(d.winner, 0);
    select_decision_release(&d);
    /* f1 = 1 - acc: the other candidate wins */
    exp_release(&x);
    parse(&x, "[select]\nfrom = \"from\"\nkeys = [\"lr\"]\nmetric = \"f1\"\n");
    assert_int_equal(select_decide(&d, f->s, &x, IDENT, &e), 0);
    assert_int_equal(d.winner, 0);
    assert_true(d.c[0].mean == 0.375);
    select_decision_release(&d);
    exp_release(&x);
}

/* Runs of another build are invisible: with only those, "run it first"; and the same choice
 * is made every time. */
static void test_identity(void **state)
{
    fx *f = *state;
    const double a[] = {0.5, 0.75, 0.875, 0.625};
    grid(f, a, "git_sha=other\n");
    experiment x;
    parse(&x, target);
    select_decision d;
    err_info e = {0};
    assert_int_equal(select_decide(&d, f->s, &x, IDENT, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "t.toml:2: key 'select.from': experiment 'from' has no runs "
                                  "of this build"));
    assert_non_null(strstr(e.msg, "run it first: bench run sel.toml"));
    assert_int_equal(select_decide(&d, f->s, &x, "git_sha=other\n", &e), 0);
    assert_int_equal(d.winner, 1);
    select_decision_release(&d);
    exp_release(&x);
}

static void expect_refusal(fx *f, const char *text, const char *msg)
{
    experiment x;
    parse(&x, text);
    select_decision d;
    err_info e = {0};
    assert_int_equal(select_decide(&d, f->s, &x, IDENT, &e), ERR_INVALID);
    if (!strstr(e.msg, msg))
        fail_msg("got '%s', expected '%s'", e.msg, msg);
    exp_release(&x);
}

static void test_refusals(void **state)
{
    fx *f = *state;
    expect_refusal(f, target, "t.toml:2: key 'select.from': no experiment 'from' in");
    const double a[] = {0.5, 0.75, 0.875, 0.625};
    grid(f, a, IDENT);
    expect_refusal(f, "[select]\nfrom = \"from\"\nkeys = [\"momentum\"]\n",
                   "t.toml:3: key 'select.keys': 'from' sweeps 'lr' too");
    /* a key `from` does not sweep comes from its runs' configurations, which must hold it */
    expect_refusal(f, "[select]\nfrom = \"from\"\nkeys = [\"lr\", \"bn\"]\n",
                   "has no value of 'bn' (a key that is not part of its configuration cannot "
                   "be taken from it)");
    /* an unequal number of seeds: a third seed for lr 0.1 only */
    run(f, 4, "[0.1,3]", 0.1, 3, 50, 0.5, 0.5, RUN_COMPLETED, IDENT);
    expect_refusal(f, target, "different numbers of seeds (3 for the first, 2 for candidate 2)");
    run(f, 5, "[0.01,3]", 0.01, 3, 50, 0.5, 0.5, RUN_FAILED, IDENT);
    expect_refusal(f, target, "1 of the 6 runs of 'from' of this build are not COMPLETED: "
                              "finish them first: bench run sel.toml");
    /* a new version evaluated on the test set: it is the one read, and refused */
    version(f, "[\"lr\",\"seed\"]", "v2");
    run(f, 0, "[0.1,1]", 0.1, 1, 0, 0.5, 0.5, RUN_COMPLETED, IDENT);
    expect_refusal(f, target, "1 of the 1 runs of 'from' were evaluated on the test set");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choose),
        cmocka_unit_test_setup_teardown(test_decide, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
