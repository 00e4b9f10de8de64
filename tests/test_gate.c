/* Tests of harness/gate, bench check's rules, on runs stored with made-up epochs (two each,
 * through store_epoch_put, which keeps each run's sums) and read back by report_load, without
 * the CLI:
 *   - defect 8: identical runs, one trained on a quiet machine and one whose epochs other
 *     processes stretched, both pass a budget the quiet one meets with room to spare, although
 *     the loaded one's wall time is well over it (the old gate compared wall time and failed);
 *   - twice the work fails that budget, on a quiet machine and on a loaded one;
 *   - one contended epoch: the run is judged on its uncontended epoch's wall time;
 *   - every epoch contended with 2 threads: CPU time over the threads; at an earlier
 *     --epoch, the sums stop there;
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
    fix_db *d;
    int64_t ci, build;
} fixture;

static const char ci_spec[] = "[experiment]\nname = \"ci\"\n"
                              "[budget]\nminutes = 5\ntarget_accuracy = 0.99\n";

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->d = fix_db_new("test_gate");
    f->ci = fix_experiment(f->d->s, "ci", ci_spec);
    f->build = fix_build(f->d->s, "0123456789012345678901234567890123456789");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fix_db_free(f->d);
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
    const fix_times times = {{t->cpu[0], t->cpu[1]}, {t->wait[0], t->wait[1]}};
    fix_add_timed(f->d->s, f->ci, &r, &p, &times);
}

/* gate_evaluate over experiment `name` (its runs kept); the report is returned in *r for the
 * run indices. */
static void judge_of(gate_result *g, report *r, fixture *f, const char *name, double min_acc,
                     double budget_s)
{
    err_info e = {0};
    report_options o = report_options_default();
    o.experiment = name;
    o.compare = 0;
    o.keep_runs = true;
    o.newest_only = true;
    if (report_load(r, f->d->s, &o, &e))
        fail_msg("report_load: %s", e.msg);
    if (gate_evaluate(g, &r->sections[0], name, "0123456", min_acc, budget_s, &e))
        fail_msg("gate_evaluate: %s", e.msg);
}

static void judge(gate_result *g, report *r, fixture *f, double min_acc, double budget_s)
{
    judge_of(g, r, f, "ci", min_acc, budget_s);
}

/* The run of r called key. */
static const report_run *run_of(const report *r, const char *key)
{
    for (int i = 0; i < r->sections[0].n_runs; i++)
        if (strcmp(r->sections[0].runs[i].key, key) == 0)
            return &r->sections[0].runs[i];
    fail_msg("no run %s", key);
    return NULL;
}

/* The failed conditions of g named name, in order, into out (at most 8); how many. */
static int failed_of(const gate_condition **out, const gate_result *g, const char *name)
{
    int n = 0;
    for (int i = 0; i < g->n && n < 8; i++)
        if (!g->v[i].passed && strcmp(g->v[i].name, name) == 0)
            out[n++] = &g->v[i];
    return n;
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
    assert_int_equal(gate_failed(&g), 0);
    assert_int_equal(g.n_runs, 2);
    const report_run *l = run_of(&r, "l01aaaa");
    assert_true(l->train_s > 300); /* 500 s of wall time: the old gate failed here */
    assert_int_equal(l->time.contended, 2);
    assert_float_equal(gate_run_time(l), 200.0, 1e-9);
    assert_float_equal(gate_run_time(run_of(&r, "q01aaaa")), 200.0, 1e-9);
    /* the passed budget condition carries the slowest gate time */
    const gate_condition *b = NULL;
    for (int i = 0; i < g.n; i++)
        if (strcmp(g.v[i].name, "budget") == 0)
            b = &g.v[i];
    assert_non_null(b);
    assert_true(b->passed);
    assert_float_equal(b->measured, 200.0, 1e-9);
    assert_non_null(strstr(b->message, "slowest run trained in 200 s <= budget 300 s"));
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
    assert_int_equal(gate_failed(&g), 2);
    const gate_condition *over[8];
    assert_int_equal(failed_of(over, &g, "budget"), 2);
    for (int i = 0; i < 2; i++) {
        assert_float_equal(over[i]->measured, 400.0, 1e-9);
        assert_float_equal(over[i]->limit, 300.0, 0);
    }
    const char *subjects[2] = {over[0]->subject, over[1]->subject};
    if (strcmp(subjects[0], subjects[1]) > 0)
        subjects[0] = over[1]->subject, subjects[1] = over[0]->subject;
    assert_string_equal(subjects[0], "t01aaaa");
    assert_string_equal(subjects[1], "t02aaaa");
    for (int i = 0; i < 2; i++) {
        assert_non_null(strstr(over[i]->message, "training 400 s > budget 300 s ("));
        /* with the run's times: the same CPU time, the loaded one's wall time all contended */
        const bool is_loaded = strcmp(over[i]->subject, "t02aaaa") == 0;
        assert_float_equal(over[i]->cpu_s, 400.0, 1e-9);
        assert_float_equal(over[i]->wall_s, is_loaded ? 1000.0 : 400.0, 1e-9);
        assert_int_equal(over[i]->epochs, 2);
        assert_int_equal(over[i]->contended, is_loaded ? 2 : 0);
        assert_int_equal(over[i]->threads, 1);
    }
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
    const report_run *p = run_of(&r, "p01aaaa"), *w = run_of(&r, "w01aaaa");
    assert_float_equal(gate_run_time(p), 180.0, 1e-9);
    assert_int_equal(p->time.contended, 1);
    assert_float_equal(gate_run_time(w), 160.0, 1e-9);
    const gate_condition *over[8];
    assert_int_equal(failed_of(over, &g, "budget"), 1);
    assert_string_equal(over[0]->subject, "p01aaaa");
    assert_non_null(strstr(over[0]->message, "wall time of its 1 uncontended epoch scaled to 2; "
                                             "1 contended epoch took 400 s"));
    gate_release(&g);
    report_release(&r);
    /* the gate time at an earlier epoch: the sums stop there */
    report_options o = report_options_default();
    o.experiment = "ci";
    o.keep_runs = true;
    o.epoch = 1;
    err_info e = {0};
    assert_int_equal(report_load(&r, f->d->s, &o, &e), 0);
    assert_float_equal(gate_run_time(run_of(&r, "p01aaaa")), 90.0, 1e-9);
    assert_float_equal(gate_run_time(run_of(&r, "w01aaaa")), 75.0, 1e-9);
    report_release(&r);
}

static void test_other_conditions(void **state)
{
    fixture *f = *state;
    gate_result g;
    report r;
    const gate_condition *bad[8];
    /* no runs at all */
    judge(&g, &r, f, 0.99, NAN);
    assert_int_equal(gate_failed(&g), 1);
    assert_int_equal(failed_of(bad, &g, "runs"), 1);
    assert_non_null(strstr(bad[0]->message, "no completed runs of experiment 'ci' at revision"));
    gate_release(&g);
    report_release(&r);

    add_timed(f, &quiet, 1, 0.985);
    const fix_run d = {"d01aaaa", "momentum", 1, 2, RUN_DIVERGED, 0.1, 10, 10, f->build, NULL};
    const fix_run x = {"f01aaaa", "momentum", 1, 3, RUN_FAILED, 0.1, 10, 10, f->build, NULL};
    fix_add(f->d->s, f->ci, &d);
    fix_add(f->d->s, f->ci, &x);
    judge(&g, &r, f, NAN, NAN); /* [budget]: 0.99 and 5 minutes */
    assert_float_equal(g.min_accuracy, 0.99, 1e-12);
    assert_float_equal(g.budget_s, 300.0, 0);
    assert_int_equal(g.n_runs, 1);
    assert_int_equal(gate_failed(&g), 3);
    assert_int_equal(failed_of(bad, &g, "run"), 2);
    assert_int_equal(failed_of(bad, &g, "accuracy"), 1);
    assert_float_equal(bad[0]->measured, 0.985, 1e-9);
    gate_release(&g);
    report_release(&r);
    /* what passes: the accuracy reached, the budget met; the broken runs still fail it */
    judge(&g, &r, f, 0.98, 200);
    assert_int_equal(gate_failed(&g), 2);
    assert_int_equal(failed_of(bad, &g, "run"), 2);
    gate_release(&g);
    report_release(&r);

    /* no target accuracy in the options or the file */
    fix_experiment(f->d->s, "bare", "[experiment]\nname = \"bare\"\n");
    err_info e = {0};
    report_options o = report_options_default();
    o.experiment = "bare";
    assert_int_equal(report_load(&r, f->d->s, &o, &e), 0);
    assert_int_equal(gate_evaluate(&g, &r.sections[0], "bare", "0123456", NAN, NAN, &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "--min-accuracy is required: experiment 'bare'"));
    gate_release(&g);
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
