/* Tests of harness/merge (and store_merge under it), issue 17's `bench merge`: the union of
 * results databases by run key, no duplicates; a COMPLETED copy wins over an unfinished one
 * whichever file it is in; two COMPLETED copies of one key with different parameter hashes
 * are refused as a determinism failure and nothing is written; merging is idempotent and
 * gives the same contents in any order; experiments, builds, hosts, data sets and perf
 * measurements are carried once; other schema versions, foreign files and the destination as
 * a source are refused. The contents are compared through a dump that names every row by its
 * natural key (ids differ between files). `bench merge` itself is run at the end. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#define _XOPEN_SOURCE 700

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "merge.h"
#include "store.h"

typedef struct fixture {
    char dir[256];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_merge.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
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

static const char *path_in(char *buf, size_t n, const fixture *f, const char *name)
{
    snprintf(buf, n, "%s/%s", f->dir, name);
    return buf;
}

/* ---- building databases ---- */

/* A run as one file holds it: its status, epochs stored, parameter hash. */
typedef struct run_copy {
    const char *key;
    int status;          /* RUN_* the copy ends in (RUN_RUNNING: left running) */
    int epochs;          /* epochs stored */
    const char *params;  /* params_sha256 of a COMPLETED copy */
    double acc;          /* test accuracy of its epochs, to tell copies apart */
} run_copy;

/* A database at path with experiment `experiment` and the given runs, run by a made-up owner
 * on host `host`, with one perf measurement when perf_iter_ms > 0. */
static void make_db(const char *path, const char *experiment, const char *host,
                    const run_copy *runs, int n, double perf_iter_ms)
{
    store *s = NULL;
    err_info e = {0};
    if (store_open(&s, path, &e))
        fail_msg("%s", e.msg);
    store_owner o;
    store_owner_self(&o);
    snprintf(o.host, sizeof o.host, "%s", host);
    store_set_owner(s, &o);
    int64_t xid = 0, bid = 0, hid = 0, did = 0;
    /* node-a's bench stored the sweep and budget, node-b's did not (an older bench) */
    bool old = strcmp(host, "node-a") != 0;
    store_experiment x = {.name = experiment, .file = "x.toml", .spec_sha256 = "spec",
                          .spec_text = "[training]\nepochs = 2\n",
                          .swept = old ? NULL : "[\"seed\"]", .budget_minutes = old ? 0 : 20};
    store_build b = {.git_sha = "0123456789012345678901234567890123456789", .compiler = "GNU"};
    store_host h = {.hostname = host, .cores = 2};
    store_dataset d = {.name = "mnist", .file = "data/mnist", .sha256 = "dd", .n_images = 70000};
    if (store_experiment_put(s, &xid, &x, &e) || store_build_put(s, &bid, &b, &e) ||
        store_host_put(s, &hid, &h, &e) || store_dataset_put(s, &did, &d, &e))
        fail_msg("%s", e.msg);
    for (int i = 0; i < n; i++) {
        const run_copy *c = &runs[i];
        store_run r = {.run_key = c->key, .experiment_id = xid, .build_id = bid, .host_id = hid,
                       .dataset_id = did, .config_json = "{\"seed\":1}", .model = "paper",
                       .optimizer = "momentum", .lr = 0.1, .bn = 1, .seed = 1, .batch = 100,
                       .epochs = 2, .sampling = "with-replacement", .threads = 1,
                       .position = atoi(c->key + 1), .swept_values = old ? NULL : "[1]"};
        bool claimed = false;
        if (store_run_queue(s, NULL, &r, false, &e) || store_run_start(s, c->key, &claimed, &e))
            fail_msg("%s", e.msg);
        for (int ep = 1; ep <= c->epochs; ep++) {
            double prec[2] = {c->acc, c->acc}, rec[2] = {c->acc, c->acc}, f1[2] = {c->acc, c->acc};
            int64_t sup[2] = {5, 5}, conf[4] = {4, 1, 1, 4};
            /* times: epoch 2 waited 0.5 s for a CPU for its 2 s of CPU time, contended */
            store_epoch row = {.run_key = c->key, .epoch = ep, .test_acc = c->acc + 0.001 * ep,
                               .auroc_macro = NAN, .wall_s = 2.0 + ep, .cpu_s = 2.0,
                               .wait_s = ep == 2 ? 0.5 : 0.0, .nivcsw = 7 * ep, .k = 2,
                               .precision = prec, .recall = rec, .f1 = f1, .support = sup,
                               .confusion = conf};
            if (store_epoch_put(s, &row, &e))
                fail_msg("%s", e.msg);
        }
        if (c->status != RUN_RUNNING) {
            store_run_end end = {.status = c->status, .wall_s = 1, .cpu_s = 1,
                                 .params_sha256 = c->status == RUN_COMPLETED ? c->params : NULL,
                                 .error = c->status == RUN_COMPLETED ? NULL : "stopped"};
            if (store_run_finish(s, c->key, &end, &e))
                fail_msg("%s", e.msg);
        }
    }
    if (perf_iter_ms > 0) {
        store_perf_step steps[2] = {{.step = 0, .layers = "conv", .fwd_ms = 1, .bwd_ms = 2},
                                    {.step = 1, .layers = "affine", .fwd_ms = 3, .bwd_ms = 4}};
        store_perf_sgemm sgemm = {.library = "bench avx2-6x16", .shape = "2000^3", .m = 2000,
                                  .n = 2000, .k = 2000, .ms = perf_iter_ms, .gflops = 100};
        store_perf m = {.build_id = bid, .host_id = hid, .data = "synthetic", .threads = 2,
                        .iterations = 10, .batch = 100, .kernel_set = "auto", .iter_ms = perf_iter_ms,
                        .peak_gflops = NAN, .gflops = NAN, .pct_peak = NAN, .images_per_s = NAN,
                        .epoch_s = NAN, .eval_s = NAN, .load_before = NAN, .load_after = NAN,
                        .torch_epoch_s = NAN, .cpu_s = 3.0, .wait_s = 0.25, .nivcsw = 11,
                        .n_steps = 2, .steps = steps, .peak_kind = "fma-avx2",
                        .peak_core_gflops = NAN, .epoch_s_median = NAN, .epoch_s_max = NAN,
                        .torch_epoch_s_median = NAN, .torch_epoch_s_max = NAN, .n_sgemm = 1,
                        .sgemm = &sgemm};
        if (store_perf_put(s, NULL, &m, &e))
            fail_msg("%s", e.msg);
    }
    store_close(s);
}

/* ---- reading them back ---- */

/* Every row of the file as text, rows named by natural keys instead of ids, in a fixed order:
 * two files with the same dump hold the same results. Caller frees. */
static char *dump(const char *path)
{
    static const char *const queries[] = {
        "SELECT 'experiment', name, spec_sha256, file, created_at, swept, budget_minutes"
        " FROM experiments ORDER BY name, spec_sha256",
        "SELECT 'build', ident FROM builds ORDER BY ident",
        "SELECT 'host', ident, hostname FROM hosts ORDER BY ident",
        "SELECT 'dataset', ident FROM datasets ORDER BY ident",
        "SELECT 'run', r.run_key, r.status, r.params_sha256, r.error, x.name, b.ident, h.hostname,"
        " d.ident, r.owner_host, r.finished_at, r.train_s, r.train_cpu_s, r.quiet_train_s,"
        " r.contended_epochs FROM runs r LEFT JOIN experiments x"
        " ON x.id = r.experiment_id LEFT JOIN builds b ON b.id = r.build_id LEFT JOIN hosts h"
        " ON h.id = r.host_id LEFT JOIN datasets d ON d.id = r.dataset_id ORDER BY r.run_key",
        "SELECT 'link', x.name, l.run_key, l.position, l.swept_values FROM experiment_runs l"
        " JOIN experiments x ON x.id = l.experiment_id ORDER BY x.name, l.run_key",
        "SELECT 'epoch', run_key, epoch, printf('%.17g', test_acc), wall_s, cpu_s, wait_s,"
        " nivcsw FROM epochs"
        " ORDER BY run_key, epoch",
        "SELECT 'class', run_key, epoch, class, precision, support FROM class_metrics"
        " ORDER BY run_key, epoch, class",
        "SELECT 'cell', run_key, epoch, true_class, pred_class, count FROM confusion"
        " ORDER BY run_key, epoch, true_class, pred_class",
        "SELECT 'perf', m.created_at, m.iter_ms, m.cpu_s, m.wait_s, m.nivcsw, b.ident, h.ident,"
        " (SELECT group_concat(layers"
        " || ':' || fwd_ms, ',') FROM (SELECT * FROM perf_steps s WHERE s.measurement_id = m.id"
        " ORDER BY step)), m.peak_kind, (SELECT group_concat(library || ':' || shape || ':' || ms)"
        " FROM perf_sgemm g WHERE g.measurement_id = m.id)"
        " FROM perf_measurements m LEFT JOIN builds b ON b.id = m.build_id"
        " LEFT JOIN hosts h ON h.id = m.host_id ORDER BY m.created_at, m.iter_ms",
    };
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, queries[q], -1, &st, NULL) != SQLITE_OK)
            fail_msg("%s: %s", queries[q], sqlite3_errmsg(db));
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                const char *v = (const char *)sqlite3_column_text(st, c);
                size_t n = strlen(v ? v : "NULL") + 2;
                while (len + n + 1 > cap)
                    out = realloc(out, cap *= 2);
                len += (size_t)snprintf(out + len, cap - len, "%s%c", v ? v : "NULL",
                                        c + 1 < sqlite3_column_count(st) ? '|' : '\n');
            }
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return out;
}

static void merge_ok(store_merge_counts *c, const char *into, const char *const *srcs, int n)
{
    err_info e = {0};
    if (merge_databases(c, into, srcs, n, NULL, &e))
        fail_msg("merge into %s: %s", into, e.msg);
}

/* ---- the fixture's databases: two shards that overlap ---- */

/* a.db: k1 COMPLETED, k2 INTERRUPTED after 1 epoch, k4 left RUNNING; a perf measurement.
 * b.db: k2 COMPLETED (2 epochs), k3 FAILED, k4 COMPLETED; the same perf measurement is not in
 * b, another one is. Same experiment, build and data set; another host. */
static void make_shards(const fixture *f, char a[300], char b[300])
{
    path_in(a, 300, f, "a.db");
    path_in(b, 300, f, "b.db");
    const run_copy ra[] = {{"k1", RUN_COMPLETED, 2, "p1", 0.90},
                           {"k2", RUN_INTERRUPTED, 1, NULL, 0.50},
                           {"k4", RUN_RUNNING, 1, NULL, 0.40}};
    const run_copy rb[] = {{"k2", RUN_COMPLETED, 2, "p2", 0.92},
                           {"k3", RUN_FAILED, 1, NULL, 0.30},
                           {"k4", RUN_COMPLETED, 2, "p4", 0.94}};
    make_db(a, "sweep", "node-a", ra, 3, 5.0);
    make_db(b, "sweep", "node-b", rb, 3, 6.0);
}

static void test_union_by_key(void **state)
{
    fixture *f = *state;
    char a[300], b[300], x[300];
    make_shards(f, a, b);
    path_in(x, sizeof x, f, "x.db");
    store_merge_counts c;
    merge_ok(&c, x, (const char *const[]){a, b}, 2);
    assert_int_equal(c.runs_added, 4);    /* k1, k2, k4 from a; k3 from b */
    assert_int_equal(c.runs_replaced, 2); /* k2 and k4: b's COMPLETED copies win */
    assert_int_equal(c.runs_kept, 0);     /* every copy was added or won */
    assert_int_equal(c.perf_added, 2);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM runs"), 4);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM runs WHERE status = 'COMPLETED'"), 3);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM runs WHERE run_key = 'k2' AND"
                                  " status = 'COMPLETED' AND params_sha256 = 'p2'"), 1);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM runs WHERE run_key = 'k4' AND"
                                  " status = 'COMPLETED' AND params_sha256 = 'p4'"), 1);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM runs WHERE run_key = 'k3' AND"
                                  " status = 'FAILED'"), 1);
    /* the winner's epochs, class rows and cells, and no others */
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM epochs"), 2 + 2 + 1 + 2);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM epochs WHERE run_key = 'k2' AND"
                                  " abs(test_acc - 0.921) < 1e-12"), 1);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM class_metrics"), 2 * 7);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM confusion"), 4 * 7);
    /* one experiment, build and data set; the two hosts; every run linked to the experiment */
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM experiments"), 1);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM builds"), 1);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM datasets"), 1);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM hosts"), 2);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM experiment_runs"), 4);
    /* what reports read of a sweep comes along: the stored sweep and budget of the version
     * (from a, b had none), each link's position and swept values (k3 only b knew) */
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM experiments WHERE swept = '[\"seed\"]'"
                                  " AND budget_minutes = 20"), 1);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM experiment_runs"
                                  " WHERE position = CAST(substr(run_key, 2) AS INTEGER)"), 4);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM experiment_runs"
                                  " WHERE swept_values = '[1]'"), 3);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM runs WHERE train_s IS NOT NULL"), 4);
    /* and the times of schema 7: each epoch's wait and switches, each run's gate sums (the
     * winner's: k2 and k4 have two epochs in b, the second contended), each measurement's */
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM epochs WHERE cpu_s = 2 AND"
                                  " wait_s = (CASE epoch WHEN 2 THEN 0.5 ELSE 0 END) AND"
                                  " nivcsw = 7 * epoch"), 7);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM runs WHERE run_key IN ('k2', 'k4') AND"
                                  " train_s = 7 AND train_cpu_s = 4 AND quiet_train_s = 3 AND"
                                  " contended_epochs = 1"), 2);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM perf_measurements WHERE cpu_s = 3 AND"
                                  " wait_s = 0.25 AND nivcsw = 11"), 2);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM runs r JOIN hosts h ON h.id = r.host_id"
                                  " WHERE r.run_key = 'k2' AND h.hostname = 'node-b'"), 1);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM perf_measurements"), 2);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM perf_steps"), 4);
    /* each measurement's SGEMM table and physical-peak columns (schema 9) come with it */
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM perf_sgemm g JOIN perf_measurements m"
                                  " ON m.id = g.measurement_id WHERE g.ms = m.iter_ms"), 2);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM perf_measurements"
                                  " WHERE peak_kind = 'fma-avx2'"), 2);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM perf_measurements m JOIN builds b"
                                  " ON b.id = m.build_id"), 2);
    assert_int_equal(cli_db_int(x, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
}

/* Merging again changes nothing; merging in the other order, or one file at a time, or into
 * a copy of a source, gives the same contents. */
static void test_idempotent_any_order(void **state)
{
    fixture *f = *state;
    char a[300], b[300], x[300], y[300], z[300];
    make_shards(f, a, b);
    path_in(x, sizeof x, f, "x.db");
    path_in(y, sizeof y, f, "y.db");
    path_in(z, sizeof z, f, "z.db");
    store_merge_counts c;
    merge_ok(&c, x, (const char *const[]){a, b}, 2);
    char *dx = dump(x);
    merge_ok(&c, x, (const char *const[]){b, a, b}, 3);
    assert_int_equal(c.runs_added + c.runs_replaced, 0);
    assert_int_equal(c.perf_added, 0);
    char *dx2 = dump(x);
    assert_string_equal(dx, dx2);
    merge_ok(&c, y, (const char *const[]){b, a}, 2);
    char *dy = dump(y);
    assert_string_equal(dx, dy);
    merge_ok(&c, z, (const char *const[]){b}, 1);
    merge_ok(&c, z, (const char *const[]){a}, 1);
    char *dz = dump(z);
    assert_string_equal(dx, dz);
    free(dx);
    free(dx2);
    free(dy);
    free(dz);
}

/* Two COMPLETED copies of one key with different parameter hashes: the same run key gave two
 * results. Refused, naming the key and both files; nothing written, and a destination the
 * merge would have created is not left behind. The same hash twice is fine. */
static void test_determinism_failure(void **state)
{
    fixture *f = *state;
    char a[300], b[300], c[300], x[300], fresh[300];
    make_shards(f, a, b);
    path_in(c, sizeof c, f, "c.db");
    path_in(x, sizeof x, f, "x.db");
    path_in(fresh, sizeof fresh, f, "fresh.db");
    const run_copy rc[] = {{"k1", RUN_COMPLETED, 2, "p1-other", 0.90}};
    make_db(c, "sweep", "node-c", rc, 1, 0);
    store_merge_counts n;
    merge_ok(&n, x, (const char *const[]){a}, 1);
    char *before = dump(x);
    err_info e = {0};
    assert_int_equal(merge_databases(&n, x, (const char *const[]){b, c}, 2, NULL, &e),
                     ERR_INVALID);
    assert_non_null(strstr(e.msg, "determinism failure"));
    assert_non_null(strstr(e.msg, "'k1'"));
    assert_non_null(strstr(e.msg, "c.db"));
    char *after = dump(x);
    assert_string_equal(before, after); /* b's runs were not merged either */
    assert_int_equal(merge_databases(&n, fresh, (const char *const[]){a, c}, 2, NULL, &e),
                     ERR_INVALID);
    assert_int_not_equal(access(fresh, F_OK), 0);
    /* the same hash in two files is agreement, not a conflict */
    const run_copy same[] = {{"k1", RUN_COMPLETED, 2, "p1", 0.90}};
    path_in(c, sizeof c, f, "same.db");
    make_db(c, "sweep", "node-c", same, 1, 0);
    merge_ok(&n, x, (const char *const[]){c}, 1);
    assert_int_equal(n.runs_replaced, 0); /* a's copy finished first and stays */
    assert_int_equal(n.runs_kept, 1);
    free(before);
    free(after);
}

/* Files that are not this schema's bench databases, and the destination as a source. */
static void test_refusals(void **state)
{
    fixture *f = *state;
    char a[300], b[300], x[300], old[300], foreign[300], text[300], missing[300];
    make_shards(f, a, b);
    path_in(x, sizeof x, f, "x.db");
    path_in(old, sizeof old, f, "old.db");
    path_in(foreign, sizeof foreign, f, "foreign.db");
    path_in(text, sizeof text, f, "notes.txt");
    path_in(missing, sizeof missing, f, "missing.db");
    const run_copy r[] = {{"k9", RUN_COMPLETED, 1, "p9", 0.8}};
    make_db(old, "sweep", "node-o", r, 1, 0);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 3", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(sqlite3_open(foreign, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(a)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    FILE *t = fopen(text, "w");
    fputs("not a database\n", t);
    fclose(t);
    store_merge_counts n;
    merge_ok(&n, x, (const char *const[]){a}, 1);
    char *before = dump(x);
    const struct {
        const char *src;
        int code;
        const char *says;
    } cases[] = {
        {old, ERR_FORMAT, "schema version is 3"},
        {foreign, ERR_FORMAT, "not a bench database"},
        {text, ERR_FORMAT, "notes.txt"},
        {missing, ERR_IO, "missing.db"},
        {x, ERR_INVALID, "merged into"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err_info e = {0};
        int rc = merge_databases(&n, x, (const char *const[]){b, cases[i].src}, 2, NULL, &e);
        if (rc != cases[i].code || !strstr(e.msg, cases[i].says))
            fail_msg("%s: %d %s", cases[i].src, rc, e.msg);
    }
    assert_int_not_equal(access(missing, F_OK), 0); /* not created by ATTACH */
    /* a bench database with a table merge does not know (a newer feature's) */
    assert_int_equal(sqlite3_open(b, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE tags(run_key TEXT, tag TEXT)", NULL, NULL,
                                  NULL), SQLITE_OK);
    sqlite3_close(db);
    err_info e = {0};
    assert_int_equal(merge_databases(&n, x, (const char *const[]){b}, 1, NULL, &e), ERR_FORMAT);
    assert_non_null(strstr(e.msg, "'tags'"));
    char *after = dump(x);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* bench merge on the command line. */
static void test_cli(void **state)
{
    fixture *f = *state;
    char a[300], b[300], x[300];
    make_shards(f, a, b);
    path_in(x, sizeof x, f, "cli.db");
    static cli_result r;
    cli_run_bench(&r, NULL, (const char *const[]){"merge", a, b, "--into", x, NULL});
    if (r.status != 0)
        fail_msg("%s%s", r.out, r.err);
    assert_non_null(strstr(r.out, "a.db: 3 runs added"));
    assert_non_null(strstr(r.out, "merged 2 databases into"));
    cli_run_bench(&r, NULL, (const char *const[]){"ls", "--db", x, NULL});
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "experiment sweep"));
    cli_run_bench(&r, NULL, (const char *const[]){"merge", a, NULL});
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--into"));
    cli_run_bench(&r, NULL, (const char *const[]){"merge", "--into", x, NULL});
    assert_int_equal(r.status, 2);
    cli_run_bench(&r, NULL, (const char *const[]){"merge", x, "--into", x, NULL});
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "leave it out"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_union_by_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_any_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_determinism_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli, setup, teardown),
    };
    return cmocka_run_group_tests_name("merge", tests, NULL, NULL);
}
