/* Tests of harness/gate, bench check's rules, on runs stored with made-up epochs (two each) and
 * read back by report_load, without the CLI:
 *   - defect 8: identical runs, one trained on a quiet machine and one whose epochs other
 *     processes stretched, both pass a budget the quiet one meets with room to spare, although
 *     the loaded one's wall time is well over it (the old gate compared wall time and failed);
 *   - twice the work fails that budget, on a quiet machine and on a loaded one;
 *   - one contended epoch: the run is judged on its uncontended epoch's wall time;
 *   - every epoch contended with 2 threads: CPU time over the threads;
 *   - the other conditions: diverged and failed runs, low accuracy, no runs, the defaults from
 *     [budget], and no target accuracy anywhere (ERR_INVALID). */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "gate.h"
#include "report_fixture.h"

typedef struct fixture {
    char dir[256];
    char db[320];
    store *s;
    int64_t ci, build;
} fixture;

static const char ci_spec[] = "[experiment]\nname = \"ci\"\n"
                              "[budget]\nminutes = 5\ntarget_accuracy = 0.99\n";

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    fix_mkdtemp(f->dir, sizeof f->dir, "test_gate");
    snprintf(f->db, sizeof f->db, "%s/bench.db", f->dir);
    err_info e = {0};
    if (store_open(&f->s, f->db, &e))
        fail_msg("%s", e.msg);
    f->ci = fix_experiment(f->s, "ci", ci_spec);
    f->build = fix_build(f->s, "0123456789012345678901234567890123456789");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    store_close(f->s);
    fix_rmdir(f->dir);
    free(f);
    return 0;
}

/* A completed run of two epochs: wall, CPU and run-queue wait of each, its threads. */
typedef struct timed_run {
    const char *key;
    double wall[2], cpu[2], wait[2];
    int threads;
} timed_run;

static void add_timed(fixture *f, const timed_run *t, int seed, double acc)
{
    const fix_run r = {t->key, "momentum", 1, seed, RUN_COMPLETED, acc, t->wall[0], t->wall[1],
                       f->build, NULL};
    const fix_prov p = {.threads = t->threads};
    fix_add_prov(f->s, f->ci, &r, &p);
    /* the fixture stores wall times only: CPU time and wait set on the file directly */
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open(f->db, &db) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "UPDATE epochs SET cpu_s = ?1, wait_s = ?2 WHERE run_key = ?3"
                               " AND epoch = ?4", -1, &st, NULL) != SQLITE_OK)
        fail_msg("sqlite: %s", sqlite3_errmsg(db));
    for (int ep = 0; ep < 2; ep++) {
        sqlite3_reset(st);
        sqlite3_bind_double(st, 1, t->cpu[ep]);
        sqlite3_bind_double(st, 2, t->wait[ep]);
        sqlite3_bind_text(st, 3, t->key, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, ep + 1);
        if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(db) != 1)
            fail_msg("sqlite: epoch %d of '%s' not changed", ep + 1, t->key);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* gate_evaluate over experiment ci; the report is returned in *r for the run indices. */
static void judge(gate_result *g, report *r, fixture *f, double min_acc, double budget_s)
{
    err_info e = {0};
    report_options o = report_options_default();
    o.experiment = "ci";
    o.group_by = "";
    o.compare = 0;
    if (report_load(r, f->s, &o, &e))
        fail_msg("report_load: %s", e.msg);
    if (gate_evaluate(g, &r->sections[0], min_acc, budget_s, &e))
        fail_msg("gate_evaluate: %s", e.msg);
}

/* Quiet: 100 s of work per epoch, 200 s a run. */
static const timed_run quiet = {"q01aaaa", {100, 100}, {100, 100}, {1, 2}, 1};
/* The same work beside other processes: each epoch waited 150 s for a CPU. */
static const timed_run loaded = {"l01aaaa", {250, 250}, {100, 100}, {150, 150}, 1};
/* Twice the work, quiet and loaded. */
static const timed_run twice = {"t01aaaa", {200, 200}, {200, 200}, {2, 2}, 1};
static const timed_run twice_loaded = {"t02aaaa", {500, 500}, {200, 200}, {300, 300}, 1};

static void test_load_alone_passes(void **state)
{
    fixture *f = *state;
    add_timed(f, &quiet, 1, 0.992);
    add_timed(f, &loaded, 2, 0.992);
    gate_result g;
    report r;
    judge(&g, &r, f, NAN, 300); /* 1.5 times the quiet run's 200 s */
    assert_true(gate_passed(&g));
    assert_int_equal(g.n, 2);
    const report_run *l = &r.sections[0].runs[1];
    assert_string_equal(l->key, "l01aaaa");
    assert_true(l->train_s > 300); /* 500 s of wall time: the old gate failed here */
    assert_int_equal(l->time.contended, 2);
    assert_float_equal(gate_run_time(l), 200.0, 1e-9);
    assert_float_equal(gate_run_time(&r.sections[0].runs[0]), 200.0, 1e-9);
    assert_float_equal(g.slowest_s, 200.0, 1e-9);
    gate_release(&g);
    report_release(&r);
}

static void test_twice_the_work_fails(void **state)
{
    fixture *f = *state;
    add_timed(f, &quiet, 1, 0.992);
    add_timed(f, &twice, 2, 0.992);
    add_timed(f, &twice_loaded, 3, 0.992);
    gate_result g;
    report r;
    judge(&g, &r, f, NAN, 300);
    assert_false(gate_passed(&g));
    assert_int_equal(g.n_findings, 2);
    for (int i = 0; i < 2; i++) {
        const gate_finding *x = &g.findings[i];
        assert_int_equal(x->kind, GATE_OVER_BUDGET);
        assert_int_equal(x->run, i + 1);
        assert_float_equal(x->value, 400.0, 1e-9);
        assert_float_equal(x->limit, 300.0, 0);
    }
    assert_int_equal(g.slowest, 1);
    gate_release(&g);
    report_release(&r);
}

static void test_partly_and_fully_contended(void **state)
{
    fixture *f = *state;
    /* epoch 2 contended: the run is judged on epoch 1's 90 s, twice */
    const timed_run partly = {"p01aaaa", {90, 400}, {90, 95}, {0, 305}, 1};
    /* every epoch contended, 2 threads: (150 + 170) / 2 */
    const timed_run two = {"w01aaaa", {900, 700}, {150, 170}, {600, 400}, 2};
    add_timed(f, &partly, 1, 0.992);
    add_timed(f, &two, 2, 0.992);
    gate_result g;
    report r;
    judge(&g, &r, f, NAN, 170);
    assert_float_equal(gate_run_time(&r.sections[0].runs[0]), 180.0, 1e-9);
    assert_int_equal(r.sections[0].runs[0].time.contended, 1);
    assert_float_equal(gate_run_time(&r.sections[0].runs[1]), 160.0, 1e-9);
    assert_int_equal(g.n_findings, 1);
    assert_int_equal(g.findings[0].run, 0);
    gate_release(&g);
    report_release(&r);
}

static void test_other_conditions(void **state)
{
    fixture *f = *state;
    gate_result g;
    report r;
    /* no runs at all */
    judge(&g, &r, f, 0.99, NAN);
    assert_int_equal(g.n_findings, 1);
    assert_int_equal(g.findings[0].kind, GATE_NO_RUNS);
    assert_true(isnan(g.accuracy));
    gate_release(&g);
    report_release(&r);

    add_timed(f, &quiet, 1, 0.985);
    const fix_run d = {"d01aaaa", "momentum", 1, 2, RUN_DIVERGED, 0.1, 10, 10, f->build, NULL};
    const fix_run x = {"f01aaaa", "momentum", 1, 3, RUN_FAILED, 0.1, 10, 10, f->build, NULL};
    fix_add(f->s, f->ci, &d);
    fix_add(f->s, f->ci, &x);
    judge(&g, &r, f, NAN, NAN); /* [budget]: 0.99 and 5 minutes */
    assert_float_equal(g.min_accuracy, 0.99, 1e-12);
    assert_float_equal(g.budget_s, 300.0, 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.n_findings, 3);
    assert_int_equal(g.findings[0].kind, GATE_RUN_BROKEN);
    assert_float_equal(g.findings[0].value, 2, 0); /* diverged in epoch 2 */
    assert_int_equal(g.findings[1].kind, GATE_RUN_BROKEN);
    assert_int_equal(g.findings[2].kind, GATE_LOW_ACCURACY);
    assert_float_equal(g.findings[2].value, 0.985, 1e-9);
    gate_release(&g);
    /* what passes: the accuracy reached, the budget met, broken runs aside */
    report_release(&r);
    judge(&g, &r, f, 0.98, 200);
    assert_int_equal(g.n_findings, 2);
    gate_release(&g);
    report_release(&r);

    /* no target accuracy in the flags or the file */
    fix_experiment(f->s, "bare", "[experiment]\nname = \"bare\"\n");
    err_info e = {0};
    report_options o = report_options_default();
    o.experiment = "bare";
    o.group_by = "";
    assert_int_equal(report_load(&r, f->s, &o, &e), 0);
    assert_int_equal(gate_evaluate(&g, &r.sections[0], NAN, NAN, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "--min-accuracy is required: experiment 'bare'"));
    report_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_alone_passes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_twice_the_work_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partly_and_fully_contended, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_conditions, setup, teardown),
    };
    return cmocka_run_group_tests_name("gate", tests, NULL, NULL);
}
