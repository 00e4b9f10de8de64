/* CLI tests of [select] (select.h), by running the built bench on the synthetic IDX data set
 * (300 training images, the last 100 held out for validation, 2 epochs of 4 iterations: each
 * run trains in a fraction of a second). One validation sweep, `sel` (lr 0.001 or 0.1 x seeds
 * 1 and 2), is trained once for the group; then:
 *   - pipeline: a target file selecting lr from `sel` is refused before `sel` ran ("run it
 *     first", no database made); after it, --dry-run prints the candidates and the winner, the
 *     same twice (determinism), and the run trains with the winner's lr, which the test computes
 *     itself from the stored final-epoch accuracies; the decision is stored with the run, shown
 *     by bench show, and carried by bench merge;
 *   - refusals: a run of `sel` not COMPLETED (and, once it is again, the choice goes through),
 *     a validation sweep evaluated on the test set, a key `sel` does not sweep, unequal seeds,
 *     a key the file sets itself: exit 1, one line naming the file, line and key, nothing
 *     written;
 *   - margin: with stored accuracies set so that the later candidate is better by 0.01, a
 *     margin of 0.02 keeps the earlier one and a margin of 0.005 does not;
 *   - chained: a second validation step that itself selects lr from `sel` and sweeps bn, and
 *     a target selecting bn from it: the target runs with both winners. */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct fixture {
    char dir[256];
    char db[300];
} fixture;

#define RUN(r, f, ...) \
    cli_run_bench(r, &(cli_opts){.cwd = (f)->dir}, (const char *const[]){__VA_ARGS__, NULL})

#define COMMON                                                                               \
    "[data]\ndataset = \"idx:data/synth\"\nvalidation = 100\n"                             \
    "[training]\nepochs = 2\nbatch = 50\nthreads = 1\n[evaluation]\ntrain_samples = 100\n"

static const char sel_toml[] =
    "[experiment]\nname = \"sel\"\n" COMMON "[sweep]\nlr = [0.001, 0.1]\nseed = [1, 2]\n";

/* The target: on the test set, lr taken from sel's winner (select.from at line 10). */
static const char tgt_toml[] =
    "[experiment]\nname = \"tgt\"\n"
    "[data]\ndataset = \"idx:data/synth\"\n"
    "[training]\nepochs = 2\nbatch = 50\nthreads = 1\n"
    "[select]\nfrom = \"sel\"\nkeys = [\"lr\"]\n%s"
    "[sweep]\nseed = [1]\n";

static void write_file(const fixture *f, const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", f->dir, name);
    cli_write_text(p, text);
}

/* tgt.toml with extra lines in its [select] table. */
static void write_tgt(const fixture *f, const char *name, const char *extra)
{
    char text[1024];
    snprintf(text, sizeof text, tgt_toml, extra);
    write_file(f, name, text);
}

static int group_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/bench-test-select-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/results/bench.db", f->dir);
    cli_synth_dir(f->dir);
    write_file(f, "sel.toml", sel_toml);
    write_tgt(f, "tgt.toml", "");
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    cli_rm_tree(f->dir);
    free(f);
    return 0;
}

/* Run sql (a write) on the database. */
static void db_exec(const fixture *f, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* The winner's value of the first swept key among experiment exp's runs, computed here: each run's accuracy at its final
 * epoch, the mean per lr in plan order, the earliest mean within margin of the best. */
static double winner_lr(const fixture *f, const char *exp, double margin)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT json_extract(l.swept_values, '$[0]'), e.test_acc FROM"
             " experiment_runs l JOIN experiments x ON x.id = l.experiment_id JOIN runs r ON"
             " r.run_key = l.run_key JOIN epochs e ON e.run_key = r.run_key AND e.epoch ="
             " r.epochs WHERE x.name = '%s' ORDER BY l.position", exp);
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    double val[8], sum[8] = {0};
    int n[8] = {0}, k = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        double v = sqlite3_column_double(st, 0);
        int i = 0;
        while (i < k && val[i] != v)
            i++;
        if (i == k)
            val[k++] = v;
        sum[i] += sqlite3_column_double(st, 1);
        n[i]++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_true(k >= 2);
    double best = -1.0;
    for (int i = 0; i < k; i++)
        best = fmax(best, sum[i] / n[i]);
    int w = 0;
    while (sum[w] / n[w] < best - margin)
        w++;
    return val[w];
}

/* The lr (the file's double) and bn of experiment exp's run of seed 1. */
static double run_lr(const fixture *f, const char *exp, int64_t *bn)
{
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT r.lr * 1000000 FROM runs r JOIN experiment_runs l ON"
             " l.run_key = r.run_key JOIN experiments x ON x.id = l.experiment_id WHERE"
             " x.name = '%s' AND r.seed = 1", exp);
    double lr = (double)cli_db_int(f->db, sql) / 1e6;
    snprintf(sql, sizeof sql, "SELECT r.bn FROM runs r JOIN experiment_runs l ON"
             " l.run_key = r.run_key JOIN experiments x ON x.id = l.experiment_id WHERE"
             " x.name = '%s' AND r.seed = 1", exp);
    if (bn)
        *bn = cli_db_int(f->db, sql);
    return lr;
}

/* A refusal: exit 1, one line starting with prefix and holding needle, nothing written. */
static void refused(const fixture *f, const char *file, const char *prefix, const char *needle)
{
    cli_result *r = calloc(1, sizeof *r);
    int64_t before = cli_db_int(f->db, "SELECT count(*) FROM experiments");
    RUN(r, f, "run", file);
    if (r->status != 1 || strncmp(r->err, prefix, strlen(prefix)) != 0 ||
        !strstr(r->err, needle) || strchr(r->err, '\n') != r->err + strlen(r->err) - 1)
        fail_msg("%s: exit %d, stderr '%s' (want '%s ... %s')", file, r->status, r->err,
                 prefix, needle);
    assert_int_equal(cli_db_int(f->db, "SELECT count(*) FROM experiments"), before);
    free(r);
}

static void test_pipeline(void **state)
{
    fixture *f = *state;
    cli_result *r = calloc(1, sizeof *r), *r2 = calloc(1, sizeof *r2);
    RUN(r, f, "run", "tgt.toml");
    assert_int_equal(r->status, 1);
    assert_non_null(strstr(r->err, "bench: tgt.toml:10: key 'select.from': no experiment 'sel' "
                                   "in 'results/bench.db' (no such database)"));
    assert_non_null(strstr(r->err, "run it first"));
    assert_int_equal(access(f->db, F_OK), -1);
    RUN(r, f, "run", "sel.toml");
    assert_int_equal(r->status, 0);
    double lr = winner_lr(f, "sel", 0.0);
    char want[64];
    snprintf(want, sizeof want, "winner: candidate %d, lr=%g", lr == 0.001 ? 1 : 2, lr);
    RUN(r, f, "run", "tgt.toml", "--dry-run");
    assert_int_equal(r->status, 0);
    assert_non_null(strstr(r->out, "candidate  values"));
    assert_non_null(strstr(r->out, want));
    RUN(r2, f, "run", "tgt.toml", "--dry-run");
    assert_string_equal(r->out, r2->out); /* the same decision and plan */
    RUN(r, f, "run", "tgt.toml");
    assert_int_equal(r->status, 0);
    assert_non_null(strstr(r->out, want));
    assert_true(fabs(run_lr(f, "tgt", NULL) - lr) < 1e-9);
    assert_int_equal(cli_db_int(f->db, "SELECT count(*) FROM experiment_runs WHERE selection"
                                       " LIKE '%\"from\":\"sel\"%'"), 1);
    char key[80] = "";
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT run_key FROM experiment_runs WHERE"
                                        " selection IS NOT NULL", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(key, sizeof key, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    RUN(r, f, "show", key);
    assert_int_equal(r->status, 0);
    assert_non_null(strstr(r->out, "selection: the highest mean final accuracy of 'sel'"));
    assert_non_null(strstr(r->out, want));
    /* bench merge carries the decision */
    RUN(r, f, "merge", "results/bench.db", "--into", "merged.db");
    assert_int_equal(r->status, 0);
    char merged[400];
    snprintf(merged, sizeof merged, "%s/merged.db", f->dir);
    assert_int_equal(cli_db_int(merged, "SELECT count(*) FROM experiment_runs WHERE selection"
                                        " LIKE '%\"winner\":%'"), 1);
    free(r);
    free(r2);
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    db_exec(f, "UPDATE runs SET status = 'FAILED' WHERE run_key = (SELECT l.run_key FROM"
               " experiment_runs l JOIN experiments x ON x.id = l.experiment_id WHERE"
               " x.name = 'sel' AND l.position = 3)");
    refused(f, "tgt.toml", "bench: tgt.toml:10: key 'select.from': ",
            "1 of the 4 runs of 'sel' of this build are not COMPLETED: finish them first: "
            "bench run sel.toml");
    db_exec(f, "UPDATE runs SET status = 'COMPLETED' WHERE status = 'FAILED'");
    cli_result *r = calloc(1, sizeof *r);
    RUN(r, f, "run", "tgt.toml", "--dry-run"); /* what the guard lets through */
    assert_int_equal(r->status, 0);
    free(r);
    write_file(f, "tgt_key.toml",
               "[experiment]\nname = \"tgtk\"\n[data]\ndataset = \"idx:data/synth\"\n"
               "[training]\nepochs = 2\n[select]\nfrom = \"sel\"\nkeys = [\"momentum\"]\n");
    refused(f, "tgt_key.toml", "bench: tgt_key.toml:9: key 'select.keys': ",
            "'sel' sweeps 'lr' too");
    write_file(f, "tgt_set.toml",
               "[experiment]\nname = \"tgts\"\n[training]\nlr = 0.1\n"
               "[select]\nfrom = \"sel\"\nkeys = [\"lr\"]\n");
    refused(f, "tgt_set.toml", "bench: tgt_set.toml:7: key 'select.keys': ",
            "'lr' is also set or swept by this file");
    /* a "validation" sweep that evaluates on the test set */
    write_file(f, "seltest.toml",
               "[experiment]\nname = \"seltest\"\n[data]\ndataset = \"idx:data/synth\"\n"
               "[training]\nepochs = 1\nbatch = 50\nthreads = 1\n"
               "[sweep]\nlr = [0.001, 0.1]\n");
    r = calloc(1, sizeof *r);
    RUN(r, f, "run", "seltest.toml");
    assert_int_equal(r->status, 0);
    free(r);
    write_file(f, "tgt_test.toml",
               "[experiment]\nname = \"tgtt\"\n[select]\nfrom = \"seltest\"\nkeys = [\"lr\"]\n");
    refused(f, "tgt_test.toml", "bench: tgt_test.toml:4: key 'select.from': ",
            "2 of the 2 runs of 'seltest' were evaluated on the test set");
    /* unequal seeds: one of sel's links gone */
    db_exec(f, "CREATE TABLE saved AS SELECT l.* FROM experiment_runs l JOIN experiments x ON"
               " x.id = l.experiment_id WHERE x.name = 'sel' AND l.position = 3;"
               "DELETE FROM experiment_runs WHERE rowid IN (SELECT l.rowid FROM experiment_runs"
               " l JOIN experiments x ON x.id = l.experiment_id WHERE x.name = 'sel' AND"
               " l.position = 3)");
    refused(f, "tgt.toml", "bench: tgt.toml:10: key 'select.from': ",
            "the candidates of 'sel' have different numbers of seeds (2 for the first, 1 for "
            "candidate 2)");
    db_exec(f, "INSERT INTO experiment_runs SELECT * FROM saved; DROP TABLE saved");
}

/* Final accuracies set so that the later candidate (lr 0.1) is better by exactly 0.01. */
static void test_margin(void **state)
{
    fixture *f = *state;
    db_exec(f, "UPDATE epochs SET test_acc = CASE WHEN (SELECT r.lr FROM runs r WHERE"
               " r.run_key = epochs.run_key) < 0.01 THEN 0.5 ELSE 0.51 END WHERE run_key IN"
               " (SELECT l.run_key FROM experiment_runs l JOIN experiments x ON"
               " x.id = l.experiment_id WHERE x.name = 'sel') AND epoch = 2");
    write_tgt(f, "tgt_m1.toml", "margin = 0.02\n");
    write_tgt(f, "tgt_m2.toml", "margin = 0.005\n");
    cli_result *r = calloc(1, sizeof *r);
    RUN(r, f, "run", "tgt_m1.toml", "--dry-run");
    assert_int_equal(r->status, 0);
    assert_non_null(strstr(r->out, "winner: candidate 1, lr=0.001"));
    assert_non_null(strstr(r->out, "within 0.02 of the best"));
    RUN(r, f, "run", "tgt_m2.toml", "--dry-run");
    assert_int_equal(r->status, 0);
    assert_non_null(strstr(r->out, "winner: candidate 2, lr=0.1"));
    assert_true(winner_lr(f, "sel", 0.02) == 0.001);
    assert_true(winner_lr(f, "sel", 0.005) == 0.1);
    free(r);
}

/* sel2 selects lr from sel and sweeps bn on validation; tgt2 takes both from sel2: bn, which
 * sel2 sweeps, and lr, which sel2 does not sweep but ran with (sel's winner). */
static void test_chained(void **state)
{
    fixture *f = *state;
    write_file(f, "sel2.toml", "[experiment]\nname = \"sel2\"\n" COMMON
               "[select]\nfrom = \"sel\"\nkeys = [\"lr\"]\n"
               "[sweep]\nbn = [true, false]\nseed = [1, 2]\n");
    write_file(f, "tgt2.toml", "[experiment]\nname = \"tgt2\"\n"
               "[data]\ndataset = \"idx:data/synth\"\n"
               "[training]\nepochs = 2\nbatch = 50\nthreads = 1\n"
               "[select]\nfrom = \"sel2\"\nkeys = [\"lr\", \"bn\"]\n");
    cli_result *r = calloc(1, sizeof *r);
    refused(f, "tgt2.toml", "bench: tgt2.toml:10: key 'select.from': ", "run it first");
    RUN(r, f, "run", "sel2.toml");
    assert_int_equal(r->status, 0);
    double lr = winner_lr(f, "sel", 0.0);
    assert_true(fabs(run_lr(f, "sel2", NULL) - lr) < 1e-9);
    double bn = winner_lr(f, "sel2", 0.0); /* bn's first swept value, 1 or 0 */
    RUN(r, f, "run", "tgt2.toml");
    assert_int_equal(r->status, 0);
    int64_t got_bn = -1;
    assert_true(fabs(run_lr(f, "tgt2", &got_bn) - lr) < 1e-9);
    assert_int_equal(got_bn, (int64_t)bn);
    assert_int_equal(cli_db_int(f->db, "SELECT count(*) FROM experiment_runs WHERE selection"
                                       " LIKE '%\"from\":\"sel2\"%'"), 1);
    /* sel2's own runs carry sel's decision, those it shares with sel included */
    assert_int_equal(cli_db_int(f->db, "SELECT count(*) FROM experiment_runs l JOIN experiments"
                                       " x ON x.id = l.experiment_id WHERE x.name = 'sel2' AND"
                                       " l.selection LIKE '%\"from\":\"sel\"%'"), 4);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_chained),
        cmocka_unit_test(test_margin),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
