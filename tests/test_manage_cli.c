/* Issue 19's run management, each a test of the built bench on runs it really trains (the
 * tiny synthetic IDX data set, two epochs of 6 iterations). Two experiment files share a run:
 * alpha sweeps optimizer = [sgd, adam], beta optimizer = [sgd, momentum], so the sgd run is
 * planned by both. The group trains them once into base.db; every test works on its own copy.
 *   rm        deletes a run with everything of it, unlinks a shared one, prunes an emptied
 *             experiment, changes nothing with --dry-run or when a run is live (and goes
 *             ahead when its owner is dead), never creates a database;
 *   archive   hides a run from ls, export and report without deleting it; --unarchive;
 *   tag/note  shown by show and ls, selected by ls --tag / --note; bad keys refused; the
 *             experiment's description in ls, show and report;
 *   ls        date order by default, --sort, date/revision/label columns, --where on any
 *             vocabulary key (label or TOML path, any case), unknown keys listed;
 *   diff      only differing configuration keys, build/data differences, B - A of results;
 *   export    a row per run and epoch, every vocabulary key a typed column;
 *   runs_flat every vocabulary key a typed column and the last epoch's metrics;
 *   merge     carries tags, notes and archive marks; the destination's words win;
 *   enums     statuses, formats and data set names in any case;
 *   install   cmake --install puts bench, bench.1 (from --help) and a working bash completion. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "exp.h"

typedef struct group {
    char dir[256];  /* data/synth, alpha.toml, beta.toml, base.db */
    char base[320];
    char sgd[80], adam[80], momentum[80]; /* the run keys */
    char sgd12[16], adam12[16];           /* as ls prints them */
} group;

typedef struct fixture {
    const group *g;
    char db[320];   /* this test's copy of base.db */
} fixture;

/* Run bench in the group's directory; r is static storage (outputs are large). */
#define BENCH(r, f, ...)                                                                       \
    cli_run_bench(r, &(cli_opts){.cwd = (f)->g->dir}, (const char *const[]){__VA_ARGS__, NULL})

/* out <- the first column of the first row of sql, "" when none. */
static void sql_text(char *out, size_t n, const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    out[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void sql_exec(const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
    sqlite3_close(db);
}

static json_t *json_out(const cli_result *r)
{
    json_error_t je;
    json_t *j = json_loads(r->out, 0, &je);
    if (!j)
        fail_msg("not JSON (%s, exit %d): %.500s%s", je.text, r->status, r->out, r->err);
    return j;
}

/* The number of lines of text. */
static int lines(const char *text)
{
    int n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

static void key_of(char *out, const char *db, const char *optimizer)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT run_key FROM runs WHERE optimizer = '%s'", optimizer);
    sql_text(out, 80, db, sql);
    assert_int_equal(strlen(out), 64);
}

static int group_setup(void **state)
{
    group *g = calloc(1, sizeof *g);
    snprintf(g->dir, sizeof g->dir, "/tmp/bench-test-manage-cli-XXXXXX");
    if (!mkdtemp(g->dir))
        return -1;
    snprintf(g->base, sizeof g->base, "%s/base.db", g->dir);
    cli_synth_dir(g->dir);
    static const char *const files[][3] = {
        {"alpha", "two optimizers on synthetic data", "\"sgd\", \"adam\""},
        {"beta", "sgd against momentum", "\"sgd\", \"momentum\""},
    };
    for (int i = 0; i < 2; i++) {
        char path[512], text[1024];
        snprintf(path, sizeof path, "%s/%s.toml", g->dir, files[i][0]);
        snprintf(text, sizeof text,
                 "[experiment]\nname = \"%s\"\ndescription = \"%s\"\n"
                 "[data]\ndataset = \"idx:data/synth\"\n[evaluation]\ntrain_samples = 100\n"
                 "[training]\nepochs = 2\nbatch = 50\nthreads = 1\n[sweep]\noptimizer = [%s]\n",
                 files[i][0], files[i][1], files[i][2]);
        cli_write_text(path, text);
        snprintf(path, sizeof path, "%s.toml", files[i][0]);
        static cli_result r;
        cli_run_bench(&r, &(cli_opts){.cwd = g->dir},
                      (const char *const[]){"run", path, "--db", g->base, "-j", "1", NULL});
        if (r.status != 0) {
            fprintf(stderr, "bench run %s: exit %d\n%s%s", path, r.status, r.out, r.err);
            return -1;
        }
    }
    key_of(g->sgd, g->base, "sgd");
    key_of(g->adam, g->base, "adam");
    key_of(g->momentum, g->base, "momentum");
    snprintf(g->sgd12, sizeof g->sgd12, "%.12s", g->sgd);
    snprintf(g->adam12, sizeof g->adam12, "%.12s", g->adam);
    *state = g;
    return 0;
}

static int group_teardown(void **state)
{
    group *g = *state;
    cli_rm_tree(g->dir);
    free(g);
    return 0;
}

static int setup(void **state)
{
    static int n;
    const group *g = *state;
    fixture *f = g ? calloc(1, sizeof *f) : NULL;
    if (!f)
        return -1; /* the group's runs could not be made (its setup said why) */
    f->g = g;
    snprintf(f->db, sizeof f->db, "%s/t%d.db", g->dir, n++);
    char sql[512];
    snprintf(sql, sizeof sql, "VACUUM INTO '%s'", f->db);
    sql_exec(g->base, sql);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    const group *g = f->g;
    remove(f->db);
    free(f);
    *state = (void *)g;
    return 0;
}

static int64_t count_of(const char *db, const char *table, const char *key)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE run_key = '%s'", table, key);
    return cli_db_int(db, sql);
}

/* ---- rm ------------------------------------------------------------------------------------ */

static void test_rm(void **state)
{
    fixture *f = *state;
    const group *g = f->g;
    static cli_result r;
    BENCH(&r, f, "rm", "--db", f->db);
    assert_int_equal(r.status, 2);
    /* a mistyped database is an error, not a new empty file */
    BENCH(&r, f, "rm", "--db", "nope.db", "abcd");
    assert_int_equal(r.status, 1);
    struct stat st;
    char nope[512];
    snprintf(nope, sizeof nope, "%s/nope.db", g->dir);
    assert_int_not_equal(stat(nope, &st), 0);

    /* a dry run names what would go and changes nothing */
    BENCH(&r, f, "rm", "--db", f->db, "--experiment", "alpha", "--dry-run");
    assert_int_equal(r.status, 0);
    char want[160];
    snprintf(want, sizeof want, "would remove %.12s alpha COMPLETED optimizer=adam", g->adam);
    if (!strstr(r.out, want) || !strstr(r.out, "would unlink"))
        fail_msg("dry run:\n%s", r.out);
    assert_int_equal(cli_db_int(f->db, "SELECT count(*) FROM runs"), 3);

    /* by experiment: adam goes with its epochs and class rows; sgd stays for beta */
    assert_true(count_of(f->db, "class_metrics", g->adam) > 0);
    BENCH(&r, f, "rm", "--db", f->db, "-e", "alpha");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "1 run removed, 1 unlinked"));
    assert_int_equal(count_of(f->db, "runs", g->adam), 0);
    assert_int_equal(count_of(f->db, "epochs", g->adam), 0);
    assert_int_equal(count_of(f->db, "class_metrics", g->adam), 0);
    assert_int_equal(count_of(f->db, "confusion", g->adam), 0);
    assert_int_equal(count_of(f->db, "runs", g->sgd), 1);
    assert_int_equal(count_of(f->db, "epochs", g->sgd), 2);
    assert_int_equal(cli_db_int(f->db, "SELECT count(*) FROM experiments WHERE name = 'alpha'"), 0);
    BENCH(&r, f, "ls", "--db", f->db);
    assert_null(strstr(r.out, "experiment alpha"));
    assert_non_null(strstr(r.out, "experiment beta"));

    /* --status selects (in any case); none in a status is an error */
    BENCH(&r, f, "rm", "--db", f->db, "-e", "beta", "--status", "failed");
    assert_int_equal(r.status, 1);
    assert_int_equal(cli_db_int(f->db, "SELECT count(*) FROM runs"), 2);

    /* a live RUNNING run stops the whole command, nothing removed... */
    char host[256] = "", sql[1024];
    gethostname(host, sizeof host - 1);
    snprintf(sql, sizeof sql,
             "UPDATE runs SET status = 'RUNNING', owner_host = '%s', owner_pid = %d,"
             " owner_proc = NULL, heartbeat_at = strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now')"
             " WHERE run_key = '%s'",
             host, (int)getpid(), g->momentum);
    sql_exec(f->db, sql);
    char sgd4[8], mom4[8];
    snprintf(sgd4, sizeof sgd4, "%.6s", g->sgd);
    snprintf(mom4, sizeof mom4, "%.6s", g->momentum);
    BENCH(&r, f, "rm", "--db", f->db, sgd4, mom4);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "RUNNING"));
    assert_int_equal(cli_db_int(f->db, "SELECT count(*) FROM runs"), 2);
    /* ...but one whose process is gone is removed */
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0);
    snprintf(sql, sizeof sql, "UPDATE runs SET owner_pid = %d WHERE run_key = '%s'", (int)child,
             g->momentum);
    sql_exec(f->db, sql);
    BENCH(&r, f, "rm", "--db", f->db, sgd4, mom4);
    assert_int_equal(r.status, 0);
    assert_int_equal(cli_db_int(f->db, "SELECT count(*) FROM runs"), 0);
    assert_int_equal(cli_db_int(f->db, "SELECT count(*) FROM epochs"), 0);
    assert_int_equal(cli_db_int(f->db, "SELECT count(*) FROM experiments"), 0);
}

/* ---- archive, tag, note -------------------------------------------------------------------- */

static void test_archive(void **state)
{
    fixture *f = *state;
    const group *g = f->g;
    static cli_result r;
    const char *adam = g->adam12;
    BENCH(&r, f, "archive", "--db", f->db, adam);
    assert_int_equal(r.status, 0);
    BENCH(&r, f, "ls", "--db", f->db);
    assert_null(strstr(r.out, adam));
    BENCH(&r, f, "ls", "--db", f->db, "--archived");
    assert_non_null(strstr(r.out, adam));
    BENCH(&r, f, "export", "--db", f->db);
    assert_null(strstr(r.out, g->adam));
    /* report sees alpha's sgd run only */
    BENCH(&r, f, "report", "--db", f->db, "-e", "alpha", "--format", "csv");
    assert_int_equal(r.status, 0);
    assert_null(strstr(r.out, "adam"));
    assert_non_null(strstr(r.out, "sgd"));
    /* still in the database: rerunning alpha trains nothing */
    assert_int_equal(count_of(f->db, "epochs", g->adam), 2);
    BENCH(&r, f, "run", "alpha.toml", "--db", f->db, "-j", "1");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "0 completed now"));
    /* unarchive; a bad key changes nothing, even for the good keys before it */
    BENCH(&r, f, "archive", "--db", f->db, "--unarchive", adam, "zzzzzzzz");
    assert_int_equal(r.status, 1);
    assert_int_equal(cli_db_int(f->db, "SELECT count(*) FROM runs WHERE archived_at IS NOT NULL"),
                     1);
    BENCH(&r, f, "archive", "--db", f->db, "--unarchive", adam);
    assert_int_equal(r.status, 0);
    BENCH(&r, f, "ls", "--db", f->db);
    assert_non_null(strstr(r.out, adam));
}

static void test_tag_note(void **state)
{
    fixture *f = *state;
    const group *g = f->g;
    static cli_result r;
    const char *adam = g->adam12, *sgd = g->sgd12;
    BENCH(&r, f, "tag", "--db", f->db, adam, "paper=fig4", "owner=ana");
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "owner=ana\npaper=fig4\n");
    BENCH(&r, f, "tag", "--db", f->db, sgd, "paper=fig3");
    BENCH(&r, f, "tag", "--db", f->db, adam, "bad key=1");
    assert_int_equal(r.status, 2);
    BENCH(&r, f, "tag", "--db", f->db, adam, "--remove", "owner");
    assert_string_equal(r.out, "paper=fig4\n");
    BENCH(&r, f, "note", "--db", f->db, adam, "lr looks too low");
    assert_int_equal(r.status, 0);
    BENCH(&r, f, "note", "--db", f->db, adam);
    assert_string_equal(r.out, "lr looks too low\n");

    BENCH(&r, f, "show", "--db", f->db, adam);
    if (!strstr(r.out, "lr looks too low") || !strstr(r.out, "paper=fig4") ||
        !strstr(r.out, "two optimizers on synthetic data"))
        fail_msg("show lacks the note, tags or description:\n%s", r.out);
    BENCH(&r, f, "ls", "--db", f->db);
    if (!strstr(r.out, "lr looks too low") || !strstr(r.out, "paper=fig4") ||
        !strstr(r.out, "experiment alpha: two optimizers on synthetic data"))
        fail_msg("ls lacks the note, tags or description:\n%s", r.out);
    BENCH(&r, f, "report", "--db", f->db, "-e", "alpha");
    if (!strstr(r.out, "experiment alpha") || !strstr(r.out, "two optimizers on synthetic data"))
        fail_msg("report lacks the description:\n%s", r.out);

    /* --tag KEY=VALUE and --tag KEY select; --note searches */
    BENCH(&r, f, "ls", "--db", f->db, "--tag", "paper=fig4", "--format", "csv");
    assert_int_equal(lines(r.out), 2);
    assert_non_null(strstr(r.out, g->adam));
    BENCH(&r, f, "ls", "--db", f->db, "--tag", "paper", "--format", "csv");
    assert_int_equal(lines(r.out), 4); /* adam, and sgd under both experiments */
    BENCH(&r, f, "ls", "--db", f->db, "--note", "too low", "--format", "csv");
    assert_int_equal(lines(r.out), 2);
    BENCH(&r, f, "note", "--db", f->db, adam, "--clear");
    BENCH(&r, f, "ls", "--db", f->db, "--note", "too low", "--format", "csv");
    assert_int_equal(lines(r.out), 1);
    /* deleting the run takes its tags */
    BENCH(&r, f, "rm", "--db", f->db, adam);
    assert_int_equal(r.status, 0);
    assert_int_equal(cli_db_int(f->db, "SELECT count(*) FROM run_tags"), 1);
}

/* ---- ls -------------------------------------------------------------------------------------- */

/* The position of needle in haystack, or a failure. */
static long pos_of(const char *haystack, const char *needle)
{
    const char *p = strstr(haystack, needle);
    if (!p)
        fail_msg("'%s' not in:\n%s", needle, haystack);
    return p - haystack;
}

static void test_ls(void **state)
{
    fixture *f = *state;
    const group *g = f->g;
    static cli_result r;
    const char *adam = g->adam12, *sgd = g->sgd12;
    char sql[512];
    /* adam started a year before sgd: date order puts it first, whatever the key order */
    snprintf(sql, sizeof sql, "UPDATE runs SET started_at = '2025-01-02T03:04:05.000Z'"
             " WHERE run_key = '%s'", g->adam);
    sql_exec(f->db, sql);
    snprintf(sql, sizeof sql, "UPDATE runs SET started_at = '2026-01-02T03:04:05.000Z'"
             " WHERE run_key = '%s'", g->sgd);
    sql_exec(f->db, sql);
    BENCH(&r, f, "ls", "--db", f->db, "-e", "alpha");
    assert_int_equal(r.status, 0);
    assert_true(pos_of(r.out, adam) < pos_of(r.out, sgd));
    pos_of(r.out, "2025-01-02 03:04");
    char rev[16];
    sql_text(rev, sizeof rev, f->db, "SELECT substr(git_sha, 1, 8) FROM builds");
    pos_of(r.out, rev);
    pos_of(r.out, "optimizer=adam");
    const char *head = r.out + pos_of(r.out, "run ");
    assert_true(strstr(head, "date") && strstr(head, "revision") && strstr(head, "label"));
    /* the other way round, and by accuracy (best first, the key breaking ties) */
    snprintf(sql, sizeof sql, "UPDATE runs SET started_at = '2027-01-02T03:04:05.000Z'"
             " WHERE run_key = '%s'", g->adam);
    sql_exec(f->db, sql);
    BENCH(&r, f, "ls", "--db", f->db, "-e", "alpha");
    assert_true(pos_of(r.out, sgd) < pos_of(r.out, adam));
    BENCH(&r, f, "ls", "--db", f->db, "-e", "alpha", "--sort", "ACC", "--format", "json");
    json_t *doc = json_out(&r);
    json_t *runs = json_object_get(json_array_get(json_object_get(doc, "experiments"), 0), "runs");
    assert_int_equal(json_array_size(runs), 2);
    assert_true(json_number_value(json_object_get(json_array_get(runs, 0), "acc")) >=
                json_number_value(json_object_get(json_array_get(runs, 1), "acc")));
    json_decref(doc);

    /* --where on any key of the vocabulary, by label or TOML path, values in any case */
    BENCH(&r, f, "ls", "--db", f->db, "--where", "optimizer=ADAM", "--format", "csv");
    assert_int_equal(lines(r.out), 2);
    assert_non_null(strstr(r.out, g->adam));
    BENCH(&r, f, "ls", "--db", f->db, "-w", "training.lr=0.001", "--format", "csv");
    assert_int_equal(lines(r.out), 2);
    assert_non_null(strstr(r.out, g->adam));
    BENCH(&r, f, "ls", "--db", f->db, "-w", "batch=50", "-w", "bn=true", "--format", "csv");
    assert_int_equal(lines(r.out), 5); /* every run, sgd under both experiments */
    BENCH(&r, f, "ls", "--db", f->db, "-w", "batch=51");
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "match"));
    BENCH(&r, f, "ls", "--db", f->db, "-w", "lrr=1");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown configuration key 'lrr' (valid: dataset"));
    BENCH(&r, f, "ls", "--db", f->db, "-w", "batch=many");
    assert_int_equal(r.status, 2);
    BENCH(&r, f, "ls", "--db", f->db, "--sort", "size");
    assert_int_equal(r.status, 2);
}

/* ---- diff ------------------------------------------------------------------------------------ */

static void test_diff(void **state)
{
    fixture *f = *state;
    const group *g = f->g;
    static cli_result r;
    const char *adam = g->adam12, *sgd = g->sgd12;
    BENCH(&r, f, "diff", "--db", f->db, sgd, adam, "--format", "json");
    assert_int_equal(r.status, 0);
    json_t *doc = json_out(&r);
    /* only the keys that differ: optimizer, lr, momentum, beta1, beta2 */
    json_t *cfg = json_object_get(doc, "configuration");
    bool optimizer = false, batch = false;
    size_t i;
    json_t *row;
    json_array_foreach(cfg, i, row) {
        const char *k = json_string_value(json_object_get(row, "key"));
        optimizer |= strcmp(k, "optimizer") == 0;
        batch |= strcmp(k, "batch") == 0;
        assert_false(json_equal(json_object_get(row, "a"), json_object_get(row, "b")));
    }
    assert_true(optimizer);
    assert_false(batch);
    assert_int_equal(json_array_size(json_object_get(doc, "provenance")), 0);
    /* every result, with B - A */
    char sql[512], a_acc[64], b_acc[64];
    snprintf(sql, sizeof sql, "SELECT test_acc FROM epochs WHERE run_key = '%s' AND epoch = 2",
             g->sgd);
    sql_text(a_acc, sizeof a_acc, f->db, sql);
    snprintf(sql, sizeof sql, "SELECT test_acc FROM epochs WHERE run_key = '%s' AND epoch = 2",
             g->adam);
    sql_text(b_acc, sizeof b_acc, f->db, sql);
    bool seen = false;
    json_array_foreach(json_object_get(doc, "metrics"), i, row) {
        if (strcmp(json_string_value(json_object_get(row, "key")), "test_acc") != 0)
            continue;
        seen = true;
        assert_true(fabs(json_number_value(json_object_get(row, "delta")) -
                         (strtod(b_acc, NULL) - strtod(a_acc, NULL))) < 1e-12);
    }
    assert_true(seen);
    json_decref(doc);

    /* a run of another data set and build: the differences are named */
    sql_exec(f->db, "INSERT INTO datasets(ident, name, file, sha256, n_images)"
                    " SELECT 'other', name, file, 'feedbeef', n_images FROM datasets;"
                    "INSERT INTO builds(ident, git_sha, git_branch, git_dirty, compiler,"
                    " compiler_version, cflags, build_type, blas, binary_sha256)"
                    " SELECT 'other', 'abcdef0123456789', git_branch, 0, compiler,"
                    " compiler_version, cflags, build_type, blas, binary_sha256 FROM builds;");
    snprintf(sql, sizeof sql,
             "UPDATE runs SET dataset_id = (SELECT id FROM datasets WHERE ident = 'other'),"
             " build_id = (SELECT id FROM builds WHERE ident = 'other') WHERE run_key = '%s'",
             g->adam);
    sql_exec(f->db, sql);
    BENCH(&r, f, "diff", "--db", f->db, sgd, adam);
    assert_int_equal(r.status, 0);
    if (!strstr(r.out, "data sha256") || !strstr(r.out, "feedbeef") ||
        !strstr(r.out, "abcdef0123456789") || strstr(r.out, "same build"))
        fail_msg("diff misses the build and data differences:\n%s", r.out);
    /* a run against itself: nothing differs, the results are all there */
    BENCH(&r, f, "diff", "--db", f->db, sgd, sgd);
    assert_non_null(strstr(r.out, "same configuration"));
    assert_non_null(strstr(r.out, "same build, host and data"));
    assert_non_null(strstr(r.out, "test_acc"));
    BENCH(&r, f, "diff", "--db", f->db, sgd);
    assert_int_equal(r.status, 2);
}

/* ---- export and runs_flat -------------------------------------------------------------------- */

static void test_export(void **state)
{
    fixture *f = *state;
    const group *g = f->g;
    static cli_result r;
    BENCH(&r, f, "export", "--db", f->db);
    assert_int_equal(r.status, 0);
    assert_int_equal(lines(r.out), 1 + 3 * 2); /* a row per run and epoch */
    /* every key of the vocabulary is a column */
    char header[4096];
    snprintf(header, sizeof header, ",%.*s,", (int)strcspn(r.out, "\n"), r.out);
    for (int k = 0; k < exp_vocab_count(); k++) {
        char col[80];
        snprintf(col, sizeof col, ",%s,", exp_vocab_at(k)->label);
        if (!strstr(header, col))
            fail_msg("export lacks the column '%s': %s", exp_vocab_at(k)->label, header);
    }
    BENCH(&r, f, "export", "--db", f->db, "-e", "beta", "--format", "json");
    json_t *doc = json_out(&r);
    json_t *rows = json_object_get(doc, "rows");
    assert_int_equal(json_array_size(rows), 4);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        assert_string_equal(json_string_value(json_object_get(row, "experiment")), "beta");
        assert_true(json_is_boolean(json_object_get(row, "bn")));
        assert_true(json_is_integer(json_object_get(row, "batch")));
        assert_true(json_is_number(json_object_get(row, "lr")));
        assert_true(json_is_integer(json_object_get(row, "epoch")));
        assert_true(json_is_number(json_object_get(row, "test_acc")));
        assert_int_equal(json_integer_value(json_object_get(row, "epoch")), (json_int_t)(i % 2 + 1));
    }
    json_decref(doc);
    BENCH(&r, f, "export", "--db", f->db, "-w", "optimizer=momentum", "--format", "csv");
    assert_int_equal(lines(r.out), 3);
    assert_non_null(strstr(r.out, g->momentum));
    BENCH(&r, f, "export", "--db", f->db, "--format", "md");
    assert_int_equal(r.status, 2);
}

static void test_runs_flat(void **state)
{
    fixture *f = *state;
    const group *g = f->g;
    char sql[512], text[256];
    /* every vocabulary key is a column */
    for (int k = 0; k < exp_vocab_count(); k++) {
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM pragma_table_info('runs_flat') WHERE name = '%s'",
                 exp_vocab_at(k)->label);
        if (cli_db_int(f->db, sql) != 1)
            fail_msg("runs_flat lacks the column '%s'", exp_vocab_at(k)->label);
    }
    /* typed: pandas gets numbers and booleans, not text */
    snprintf(sql, sizeof sql,
             "SELECT typeof(lr) || ' ' || typeof(batch) || ' ' || typeof(bn) || ' ' ||"
             " optimizer || ' ' || lr || ' ' || bn || ' ' || layers FROM runs_flat"
             " WHERE run_key = '%s'", g->adam);
    sql_text(text, sizeof text, f->db, sql);
    assert_string_equal(text, "real integer integer adam 0.001 1 "
                              "conv30x5-relu-maxpool2-affine100-bn-relu-affine10");
    /* the final epoch's metrics */
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM runs_flat v JOIN epochs e ON e.run_key = v.run_key"
             " AND e.epoch = 2 WHERE v.epoch = 2 AND v.test_acc = e.test_acc"
             " AND v.f1_macro = e.f1_macro AND v.run_key = '%s'", g->sgd);
    assert_int_equal(cli_db_int(f->db, sql), 1);
    assert_int_equal(cli_db_int(f->db, "SELECT count(*) FROM runs_flat"), 3);
}

/* ---- merge carries what researchers wrote ---------------------------------------------------- */

static void test_merge_carries(void **state)
{
    fixture *f = *state;
    const group *g = f->g;
    static cli_result r;
    const char *adam = g->adam12, *sgd = g->sgd12;
    char other[400], into[400];
    snprintf(other, sizeof other, "%s.other", f->db);
    snprintf(into, sizeof into, "%s.into", f->db);
    char sql[1024];
    snprintf(sql, sizeof sql, "VACUUM INTO '%s'", other);
    sql_exec(g->base, sql);
    /* the source: a tag, a note and an archive mark; the destination its own note on sgd */
    BENCH(&r, f, "tag", "--db", other, adam, "paper=fig4");
    BENCH(&r, f, "note", "--db", other, adam, "from the other file");
    BENCH(&r, f, "note", "--db", other, sgd, "theirs");
    BENCH(&r, f, "archive", "--db", other, sgd);
    BENCH(&r, f, "note", "--db", f->db, sgd, "ours");
    BENCH(&r, f, "tag", "--db", f->db, sgd, "paper=fig3");
    BENCH(&r, f, "tag", "--db", other, sgd, "paper=other", "seen=yes");
    BENCH(&r, f, "merge", f->db, other, "--into", into);
    if (r.status != 0)
        fail_msg("merge: %s%s", r.out, r.err);
    snprintf(sql, sizeof sql, "SELECT note FROM runs WHERE run_key = '%s'", g->adam);
    char text[128];
    sql_text(text, sizeof text, into, sql);
    assert_string_equal(text, "from the other file");
    snprintf(sql, sizeof sql, "SELECT note FROM runs WHERE run_key = '%s'", g->sgd);
    sql_text(text, sizeof text, into, sql);
    assert_string_equal(text, "ours");
    snprintf(sql, sizeof sql, "SELECT archived_at IS NOT NULL FROM runs WHERE run_key = '%s'",
             g->sgd);
    assert_int_equal(cli_db_int(into, sql), 1);
    snprintf(sql, sizeof sql, "SELECT group_concat(key || '=' || value, ' ') FROM (SELECT *"
             " FROM run_tags WHERE run_key = '%s' ORDER BY key)", g->sgd);
    sql_text(text, sizeof text, into, sql);
    assert_string_equal(text, "paper=fig3 seen=yes");
    snprintf(sql, sizeof sql, "SELECT value FROM run_tags WHERE run_key = '%s'", g->adam);
    sql_text(text, sizeof text, into, sql);
    assert_string_equal(text, "fig4");
    remove(other);
    remove(into);
}

/* ---- enums in any case ----------------------------------------------------------------------- */

static void test_enums_any_case(void **state)
{
    fixture *f = *state;
    static cli_result r;
    BENCH(&r, f, "ls", "--db", f->db, "--status", "Completed", "--format", "JSON");
    assert_int_equal(r.status, 0);
    json_decref(json_out(&r));
    BENCH(&r, f, "ls", "--db", f->db, "--status", "DONE");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "valid: QUEUED"));
    /* a data set name in capitals is that data set (absent here: 1), not unknown (2) */
    BENCH(&r, f, "data", "status", "MNIST", "--data-dir", f->g->dir);
    assert_int_equal(r.status, 1);
    BENCH(&r, f, "data", "status", "MNISTX", "--data-dir", f->g->dir);
    assert_int_equal(r.status, 2);
}

/* ---- install: bench, the man page from --help, the bash completion --------------------------- */

static void test_install(void **state)
{
    fixture *f = *state;
    static cli_result r;
    char prefix[400], path[600];
    snprintf(prefix, sizeof prefix, "%s/prefix", f->g->dir);
    const char *build = BENCH_BINARY_DIR;
    cli_run(&r, NULL, (const char *const[]){"cmake", "--install", build, "--prefix", prefix,
                                            NULL});
    if (r.status != 0)
        fail_msg("cmake --install: %s%s", r.out, r.err);
    snprintf(path, sizeof path, "%s/bin/bench", prefix);
    assert_int_equal(access(path, X_OK), 0);
    /* the man page holds every command's --help text */
    snprintf(path, sizeof path, "%s/share/man/man1/bench.1", prefix);
    char *man = cli_read_file(path, NULL);
    assert_non_null(strstr(man, ".TH BENCH 1"));
    static const char *const cmds[] = {"rm", "archive", "tag", "note", "diff", "export", "ls",
                                       "run", "report"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        BENCH(&r, f, cmds[i], "--help");
        char first[256];
        snprintf(first, sizeof first, "%.*s", (int)strcspn(r.out, "\n"), r.out);
        if (!strstr(man, first + strlen("usage: ")))
            fail_msg("bench.1 lacks '%s'", first);
    }
    free(man);
    /* the completion completes commands and a command's options */
    snprintf(path, sizeof path, "%s/share/bash-completion/completions/bench", prefix);
    char script[1400];
    snprintf(script, sizeof script,
             "source '%s'; COMP_WORDS=(bench d); COMP_CWORD=1; _bench; echo \"${COMPREPLY[*]}\";"
             " COMP_WORDS=(bench rm --dr); COMP_CWORD=2; _bench; echo \"${COMPREPLY[*]}\";"
             " COMP_WORDS=(bench ls --format ''); COMP_CWORD=3; _bench;"
             " echo \"${COMPREPLY[*]}\"",
             path);
    cli_run(&r, NULL, (const char *const[]){"bash", "-c", script, NULL});
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "data diff\n--dry-run\ntable md csv json\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tag_note, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runs_flat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_carries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enums_any_case, setup, teardown),
        cmocka_unit_test_setup_teardown(test_install, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
