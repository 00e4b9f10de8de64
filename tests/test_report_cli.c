/* Issue 15's report defects, each a test of the built bench on runs it really trains (a tiny
 * synthetic IDX data set, one epoch of 6 iterations: a second or so per file):
 *   1. different things are never averaged: a file edited from epochs = 1 to 2 is reported as
 *      two versions and listed as two labelled blocks; runs of two builds are two groups
 *      unless --pool-builds; a --group-by that pools says what it pools;
 *   2. Holm's family is one table of one experiment, not the database;
 *   3. a comparison's direction follows the order of the sweep's values, whatever --f1 shows;
 *   4. intervals stay inside [0, 100]%, and every p-value can be redone from the n, mean and
 *      sd printed beside it;
 *   5. one spelling of every key and value: bn=true in the plan, the report, ls and the
 *      figures; lr_schedule and augment_shift in figures; typed values in JSON;
 *   6. one spelling of 0.05: in show, in ls, and in the runs.lr column (WHERE lr = 0.05);
 *   7. reports do not re-parse stored experiment files: one today's parser rejects is
 *      grouped as it was swept;
 * and ls, show and check --format json parse with jq and carry typed values (skipped with a
 * message when jq is not installed). */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <gsl/gsl_cdf.h>
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

typedef struct fixture {
    char dir[256];   /* working directory: data/synth, the experiment files, bench.db */
    char db[320];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/bench-test-report-cli-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/bench.db", f->dir);
    cli_synth_dir(f->dir);
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

/* Run bench in the fixture's directory; r is static storage (outputs are large). */
#define BENCH(r, f, ...)                                                                       \
    cli_run_bench(r, &(cli_opts){.cwd = (f)->dir}, (const char *const[]){__VA_ARGS__, NULL})

/* The experiment file NAME.toml: a tiny training on the synthetic data, with extra TOML. */
static void write_experiment(const fixture *f, const char *name, const char *extra)
{
    char path[512], text[2048];
    snprintf(path, sizeof path, "%s/%s.toml", f->dir, name);
    snprintf(text, sizeof text,
             "[experiment]\nname = \"%s\"\n[data]\ndataset = \"idx:data/synth\"\n"
             "[evaluation]\ntrain_samples = 100\n%s",
             name, extra);
    cli_write_text(path, text);
}

/* bench run NAME.toml into the fixture's database; the run must succeed. */
static void run_experiment(const fixture *f, const char *name)
{
    static cli_result r;
    char file[160];
    snprintf(file, sizeof file, "%s.toml", name);
    BENCH(&r, f, "run", file, "--db", f->db, "-j", "1");
    if (r.status != 0)
        fail_msg("bench run %s: exit %d\n%s%s", file, r.status, r.out, r.err);
}

/* The training every test uses: 1 epoch of 6 iterations, one thread. */
#define TRAINING "[training]\nepochs = 1\nbatch = 50\nthreads = 1\n"

/* stdout of r as JSON (the test fails when it is not). */
static json_t *json_out(const cli_result *r)
{
    json_error_t je;
    json_t *j = json_loads(r->out, 0, &je);
    if (!j)
        fail_msg("not JSON (%s, exit %d): %.500s%s", je.text, r->status, r->out, r->err);
    return j;
}

static int64_t sql_int(const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    int step = sqlite3_step(st);
    int64_t v = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* The groups of experiment section i of a report document. */
static json_t *groups_of(json_t *doc, size_t i)
{
    return json_object_get(json_array_get(json_object_get(doc, "experiments"), i), "groups");
}

/* ---- 1. nothing different is averaged ----------------------------------------------------- */

/* The case: a file run with epochs = 1, edited to epochs = 2 and run again. */
static void test_changed_file_not_pooled(void **state)
{
    fixture *f = *state;
    static cli_result r;
    write_experiment(f, "grow", "[training]\nepochs = 1\nbatch = 50\nthreads = 1\n");
    run_experiment(f, "grow");
    write_experiment(f, "grow", "[training]\nepochs = 2\nbatch = 50\nthreads = 1\n");
    run_experiment(f, "grow");
    BENCH(&r, f, "report", "--db", f->db, "--format", "json");
    json_t *doc = json_out(&r);
    size_t n_sec = json_array_size(json_object_get(doc, "experiments")), groups = 0;
    for (size_t s = 0; s < n_sec; s++)
        for (size_t g = 0; g < json_array_size(groups_of(doc, s)); g++) {
            json_t *gr = json_array_get(groups_of(doc, s), g);
            if (json_integer_value(json_object_get(gr, "n")) != 1)
                fail_msg("a 1-epoch and a 2-epoch run averaged:\n%s", r.out);
            groups++;
        }
    assert_int_equal(groups, 2);
    json_decref(doc);
    BENCH(&r, f, "report", "--db", f->db);
    assert_int_equal(r.status, 0);
    if (!strstr(r.out, "version 1 of 2") || !strstr(r.out, "version 2 of 2") ||
        !strstr(r.out, "changed"))
        fail_msg("the versions are not labelled, or no line says the file changed:\n%s", r.out);
    /* bench ls: never two blocks under the same title */
    BENCH(&r, f, "ls", "--db", f->db);
    assert_int_equal(r.status, 0);
    char titles[8][256];
    int n = 0;
    for (const char *p = r.out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, "experiment ", 11) == 0 && n < 8) {
            snprintf(titles[n], sizeof titles[n], "%.*s", (int)strcspn(p, "\n"), p);
            for (int i = 0; i < n; i++)
                if (strcmp(titles[i], titles[n]) == 0)
                    fail_msg("two blocks titled '%s':\n%s", titles[n], r.out);
            n++;
        }
    assert_int_equal(n, 2);
}

/* Runs of two builds (one run's build replaced by another commit's) are two groups, labelled
 * by revision; --pool-builds averages them and says so. */
static void test_builds_not_pooled(void **state)
{
    fixture *f = *state;
    static cli_result r;
    write_experiment(f, "seeds", TRAINING "[sweep]\nseed = [1, 2, 3]\n");
    run_experiment(f, "seeds");
    sql_int(f->db, "INSERT INTO builds(ident, git_sha, git_dirty) VALUES"
                   " ('other', 'f00df00df00df00df00df00df00df00df00df00d', 0)");
    sql_int(f->db, "UPDATE runs SET build_id = (SELECT id FROM builds WHERE ident = 'other')"
                   " WHERE run_key = (SELECT min(run_key) FROM runs)");
    BENCH(&r, f, "report", "--db", f->db, "--format", "json");
    json_t *doc = json_out(&r);
    json_t *g = groups_of(doc, 0);
    if (json_array_size(g) != 2)
        fail_msg("runs of two builds averaged:\n%s", r.out);
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(g, 0), "group")),
                           "revision="));
    json_decref(doc);
    BENCH(&r, f, "report", "--db", f->db, "--format", "json", "--pool-builds");
    assert_int_equal(r.status, 0);
    doc = json_out(&r);
    g = groups_of(doc, 0);
    assert_int_equal(json_array_size(g), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(g, 0), "n")), 3);
    assert_non_null(strstr(r.err, "warning"));
    assert_non_null(strstr(r.err, "builds"));
    json_decref(doc);
}

/* --group-by may coarsen, never silently: the keys it pools are named. */
static void test_group_by_warns(void **state)
{
    fixture *f = *state;
    static cli_result r;
    write_experiment(f, "lrs", TRAINING "[sweep]\nlr = [0.05, 0.1]\nseed = [1, 2]\n");
    run_experiment(f, "lrs");
    BENCH(&r, f, "report", "--db", f->db, "--group-by", "seed");
    assert_int_equal(r.status, 0);
    const char *w = strstr(r.out, "warning");
    if (!w || !strstr(w, "lr"))
        fail_msg("--group-by seed pools two learning rates without a warning:\n%s", r.out);
    BENCH(&r, f, "report", "--db", f->db); /* the sweep's own grouping pools nothing */
    assert_null(strstr(r.out, "warning"));
}

/* ---- 2. Holm within one table ---------------------------------------------------------- */

/* The comparisons of the first section of a report document. */
static json_t *comparisons_of(json_t *doc)
{
    return json_object_get(json_array_get(json_object_get(doc, "experiments"), 0),
                           "comparisons");
}

static void test_holm_per_table(void **state)
{
    fixture *f = *state;
    static cli_result r;
    const char *sweep = TRAINING "[sweep]\nlr = [0.05, 0.1]\nseed = [1, 2, 3]\n";
    write_experiment(f, "alpha", sweep);
    run_experiment(f, "alpha");
    BENCH(&r, f, "report", "--db", f->db, "--format", "json", "-e", "alpha");
    json_t *doc = json_out(&r);
    json_t *c = json_array_get(comparisons_of(doc), 0);
    assert_non_null(c);
    double p = json_real_value(json_object_get(c, "p"));
    double holm = json_real_value(json_object_get(c, "p_holm"));
    assert_true(p > 0 && p < 1);
    assert_true(holm == p); /* one comparison in the table */
    json_decref(doc);
    /* an unrelated experiment in the database (the same sweep under another name) */
    write_experiment(f, "beta", sweep);
    run_experiment(f, "beta");
    BENCH(&r, f, "report", "--db", f->db, "--format", "json");
    doc = json_out(&r);
    c = json_array_get(comparisons_of(doc), 0);
    double holm2 = json_real_value(json_object_get(c, "p_holm"));
    if (holm2 != holm)
        fail_msg("p (Holm) of experiment alpha moved from %.6f to %.6f when another experiment "
                 "joined the database", holm, holm2);
    json_decref(doc);
}

/* ---- 3. a comparison's direction ------------------------------------------------------------ */

/* lr = 0.05 is planned first and trains worse here than 0.1, which --f1 lists first: the
 * comparison stays 0.05 - 0.1. */
static void test_direction_fixed_by_file(void **state)
{
    fixture *f = *state;
    static cli_result r;
    write_experiment(f, "dir", TRAINING "[sweep]\nlr = [0.05, 0.1]\nseed = [1, 2, 3]\n");
    run_experiment(f, "dir");
    double diff[2];
    const char *a[2];
    json_t *docs[2];
    for (int i = 0; i < 2; i++) {
        if (i == 0)
            BENCH(&r, f, "report", "--db", f->db, "--format", "json");
        else
            BENCH(&r, f, "report", "--db", f->db, "--format", "json", "--f1");
        docs[i] = json_out(&r);
        json_t *c = json_array_get(comparisons_of(docs[i]), 0);
        assert_non_null(c);
        diff[i] = json_real_value(json_object_get(c, "diff"));
        a[i] = json_string_value(json_object_get(c, "a"));
    }
    /* the F1 order puts lr=0.1 first: the test is meaningful only then */
    assert_string_equal(json_string_value(json_object_get(json_array_get(groups_of(docs[1], 0),
                                                                         0),
                                                          "group")),
                        "lr=0.1");
    assert_string_equal(a[0], "lr=0.05");
    if (strcmp(a[1], "lr=0.05") != 0 || diff[1] != diff[0])
        fail_msg("--f1 turned %s (%+.4f) into %s (%+.4f)", a[0], diff[0], a[1], diff[1]);
    json_decref(docs[0]);
    json_decref(docs[1]);
}

/* ---- 4. intervals and p-values --------------------------------------------------------------- */

/* Welch's two-sided p from n, mean and sd of both sides. */
static double welch_p(double na, double ma, double sa, double nb, double mb, double sb)
{
    double va = sa * sa / na, vb = sb * sb / nb;
    double t = (ma - mb) / sqrt(va + vb);
    double dof = (va + vb) * (va + vb) / (va * va / (na - 1) + vb * vb / (nb - 1));
    return 2.0 * gsl_cdf_tdist_Q(fabs(t), dof);
}

static void test_intervals_and_p(void **state)
{
    fixture *f = *state;
    static cli_result r;
    write_experiment(f, "ci", TRAINING "[sweep]\nlr = [0.05, 0.1]\nseed = [1, 2, 3]\n");
    run_experiment(f, "ci");
    BENCH(&r, f, "report", "--db", f->db, "--format", "json");
    json_t *doc = json_out(&r);
    json_t *g = groups_of(doc, 0);
    bool wide = false;
    for (size_t i = 0; i < json_array_size(g); i++) {
        json_t *acc = json_object_get(json_array_get(g, i), "accuracy");
        double lo = json_real_value(json_object_get(acc, "ci_low"));
        double hi = json_real_value(json_object_get(acc, "ci_high"));
        double mean = json_real_value(json_object_get(acc, "mean"));
        double sd = json_real_value(json_object_get(acc, "sd"));
        wide = wide || mean + 4.3 * sd / sqrt(3.0) > 1.0; /* the t interval would pass 100% */
        if (lo < 0.0 || hi > 1.0)
            fail_msg("interval [%.4f, %.4f] leaves [0, 1]", lo, hi);
    }
    assert_true(wide);
    /* every p from the n, mean and sd the comparison carries */
    json_t *c = json_array_get(comparisons_of(doc), 0);
    double p = welch_p((double)json_integer_value(json_object_get(c, "n_a")),
                       json_real_value(json_object_get(c, "mean_a")),
                       json_real_value(json_object_get(c, "sd_a")),
                       (double)json_integer_value(json_object_get(c, "n_b")),
                       json_real_value(json_object_get(c, "mean_b")),
                       json_real_value(json_object_get(c, "sd_b")));
    if (!(fabs(p - json_real_value(json_object_get(c, "p"))) < 1e-9))
        fail_msg("p %.6f cannot be redone from n, mean, sd (%.6f)",
                 json_real_value(json_object_get(c, "p")), p);
    json_decref(doc);
    /* and in the table: the rounded n, mean ± sd printed on the comparison's row give its p */
    BENCH(&r, f, "report", "--db", f->db);
    const char *row = strstr(r.out, "\n  lr ");
    if (!row)
        fail_msg("no comparison row:\n%s", r.out);
    double na, ma, sa, nb, mb, sb, diff, lo, hi, pp;
    if (sscanf(row, "\n  lr %*s %*s %*s %lf %lf ± %lf %lf %lf ± %lf %lf [%lf, %lf] %lf", &na,
               &ma, &sa, &nb, &mb, &sb, &diff, &lo, &hi, &pp) != 10)
        fail_msg("the comparison row does not show n, mean ± sd of both sides:\n%s", row);
    assert_true(fabs(welch_p(na, ma, sa, nb, mb, sb) - pp) < 2e-3);
    assert_null(strstr(r.out, "100.0") ? strstr(strstr(r.out, "100.0"), "100.01") : NULL);
}

/* ---- 5. one spelling ---------------------------------------------------------------------------- */

/* Whether directory dir holds a file whose name contains part. */
static bool dir_has(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    bool found = false;
    struct dirent *de;
    while (d && (de = readdir(d)))
        found = found || strstr(de->d_name, part);
    if (d)
        closedir(d);
    return found;
}

static void test_one_spelling(void **state)
{
    fixture *f = *state;
    static cli_result r;
    write_experiment(f, "bn", TRAINING "[sweep]\nbn = [true, false]\n");
    BENCH(&r, f, "run", "bn.toml", "--db", f->db, "--dry-run");
    if (!strstr(r.out, "bn=true") || strstr(r.out, "bn=on"))
        fail_msg("the plan spells bn otherwise:\n%s", r.out);
    run_experiment(f, "bn");
    BENCH(&r, f, "report", "--db", f->db);
    assert_non_null(strstr(r.out, "bn=true"));
    assert_non_null(strstr(r.out, "bn=false"));
    BENCH(&r, f, "report", "--db", f->db, "--format", "json");
    json_t *doc = json_out(&r);
    json_t *v = json_object_get(json_array_get(groups_of(doc, 0), 0), "values");
    if (!json_is_boolean(json_object_get(v, "bn")))
        fail_msg("bn is not a JSON boolean:\n%s", r.out);
    json_decref(doc);
    BENCH(&r, f, "ls", "--db", f->db);
    if (!strstr(r.out, " true ") || strstr(r.out, " on ") || strstr(r.out, " off "))
        fail_msg("ls spells bn otherwise:\n%s", r.out);
    char out[512];
    snprintf(out, sizeof out, "%s/figs", f->dir);
    BENCH(&r, f, "plot", "--db", f->db, "--out", out);
    assert_int_equal(r.status, 0);
    if (!dir_has(out, "bn-true") || dir_has(out, "bn-on"))
        fail_msg("figure files spell bn otherwise:\n%s", r.out);
    char *gp = NULL;
    snprintf(out, sizeof out, "%s/figs/bn.gp", f->dir);
    gp = cli_read_file(out, NULL);
    if (!strstr(gp, "title 'bn=true'") || strstr(gp, "BN on"))
        fail_msg("the bn figure spells bn otherwise:\n%s", gp);
    free(gp);
    /* the names of lr_schedule and augment_shift in figures, as in reports and files */
    write_experiment(f, "aug", TRAINING "[sweep]\nlr_schedule = [\"constant\", \"cosine\"]\n"
                                        "augment_shift = [0, 1]\n");
    run_experiment(f, "aug");
    snprintf(out, sizeof out, "%s/aug", f->dir);
    BENCH(&r, f, "plot", "--db", f->db, "--experiment", "aug", "--out", out);
    assert_int_equal(r.status, 0);
    snprintf(out, sizeof out, "%s/aug/loss.gp", f->dir);
    gp = cli_read_file(out, NULL);
    if (!strstr(gp, "title 'lr_schedule=cosine augment_shift=1'") ||
        strstr(gp, "'schedule=") || strstr(gp, " shift="))
        fail_msg("figures name lr_schedule or augment_shift otherwise:\n%s", gp);
    free(gp);
}

/* ---- 6. one spelling of 0.05 ------------------------------------------------------------------ */

static void test_one_number(void **state)
{
    fixture *f = *state;
    static cli_result r;
    write_experiment(f, "lr05", "[training]\nepochs = 1\nbatch = 50\nthreads = 1\nlr = 0.05\n");
    run_experiment(f, "lr05");
    if (sql_int(f->db, "SELECT count(*) FROM runs WHERE lr = 0.05") != 1)
        fail_msg("runs.lr does not hold the file's 0.05");
    BENCH(&r, f, "ls", "--db", f->db);
    assert_non_null(strstr(r.out, " 0.05 "));
    char key[16];
    const char *row = strstr(r.out, "\n  ");
    row = row ? strchr(row + 3, '\n') : NULL; /* past the column header */
    assert_non_null(row);
    snprintf(key, sizeof key, "%.12s", row + 3);
    BENCH(&r, f, "show", key, "--db", f->db);
    assert_int_equal(r.status, 0);
    if (strstr(r.out, "0.0500000") || !strstr(r.out, "0.05"))
        fail_msg("show spells 0.05 otherwise:\n%s", r.out);
}

/* ---- 7. no re-parsing of stored files ------------------------------------------------------------ */

static void test_sweep_not_reparsed(void **state)
{
    fixture *f = *state;
    static cli_result r;
    write_experiment(f, "opt", TRAINING "[sweep]\noptimizer = [\"adam\", \"momentum\"]\n"
                                        "seed = [1, 2]\n");
    run_experiment(f, "opt");
    /* the stored file becomes one today's parser rejects (as an older schema's would be) */
    sql_int(f->db, "UPDATE experiments SET spec_text = '[training]\nretired_key = 1\n'");
    BENCH(&r, f, "report", "--db", f->db, "--format", "json");
    json_t *doc = json_out(&r);
    json_t *g = groups_of(doc, 0);
    assert_int_equal(json_array_size(g), 2);
    const char *l0 = json_string_value(json_object_get(json_array_get(g, 0), "group"));
    const char *l1 = json_string_value(json_object_get(json_array_get(g, 1), "group"));
    if (strcmp(l0, "optimizer=adam") != 0 || strcmp(l1, "optimizer=momentum") != 0)
        fail_msg("grouped otherwise once the file no longer parses: '%s', '%s'", l0, l1);
    json_decref(doc);
}

/* ---- machine output: jq reads it, typed ------------------------------------------------------ */

/* Whether jq is installed (else the caller skips). */
static bool have_jq(void)
{
    static cli_result r;
    const char *argv[] = {"jq", "--version", NULL};
    cli_run(&r, NULL, argv);
    return r.status == 0;
}

/* Write text to dir/name and check it with `jq -e EXPR` (true means the JSON parsed and the
 * expression holds). */
static void jq_true(const fixture *f, const char *name, const char *text, const char *expr)
{
    static cli_result r;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    cli_write_text(path, text);
    const char *argv[] = {"jq", "-e", expr, path, NULL};
    cli_run(&r, NULL, argv);
    if (r.status != 0)
        fail_msg("jq -e '%s' %s: exit %d: %s%s\n%.800s", expr, name, r.status, r.out, r.err,
                 text);
}

static void test_json_with_jq(void **state)
{
    fixture *f = *state;
    if (!have_jq()) {
        print_message("jq is not installed (scripts/setup installs it): test skipped\n");
        skip();
    }
    static cli_result r;
    write_experiment(f, "js", "[training]\nepochs = 1\nbatch = 50\nthreads = 1\nlr = 0.05\n"
                              "[sweep]\nbn = [true, false]\n");
    run_experiment(f, "js");
    BENCH(&r, f, "ls", "--db", f->db, "--format", "json");
    assert_int_equal(r.status, 0);
    jq_true(f, "ls.json", r.out,
            ".experiments[0].runs[0] | (.bn | type == \"boolean\") and .lr == 0.05 and "
            "(.seed | type == \"number\") and (.acc | type == \"number\") and "
            "(.contended_epochs | type == \"number\")");
    char key[80];
    json_t *doc = json_out(&r);
    snprintf(key, sizeof key, "%s",
             json_string_value(json_object_get(
                 json_array_get(json_object_get(json_array_get(json_object_get(doc, "experiments"),
                                                               0),
                                                "runs"),
                                0),
                 "run")));
    json_decref(doc);
    BENCH(&r, f, "show", key, "--db", f->db, "--format", "json");
    assert_int_equal(r.status, 0);
    jq_true(f, "show.json", r.out,
            "(.values.bn | type == \"boolean\") and .values.lr == 0.05 and "
            "(.epochs | length == 1) and (.epochs[0].test_acc | type == \"number\") and "
            "(.epochs[0].cpu_s | type == \"number\") and "
            "(.epochs[0].contended | type == \"boolean\") and (.gate_s | type == \"number\") "
            "and (.contended_epochs | type == \"number\")");
    BENCH(&r, f, "check", "--db", f->db, "-e", "js", "--min-accuracy", "0.01", "--budget", "1h",
          "--format", "json");
    assert_int_equal(r.status, 0);
    jq_true(f, "check.json", r.out,
            ".passed == true and (.min_accuracy | type == \"number\") and .budget_s == 3600 and "
            "(.conditions | length > 0) and (.conditions[0].passed | type == \"boolean\")");
    /* the budget condition carries the slowest run's gate time and CPU time as numbers; on
     * an uncontended epoch the gate time is its wall time */
    jq_true(f, "check-budget.json", r.out,
            "[.conditions[] | select(.condition == \"budget\")] | length == 1 and "
            "(.[0] | .passed == true and (.measured | type == \"number\") and .measured > 0 "
            "and (.cpu_s | type == \"number\") and .cpu_s > 0 and .epochs == 1 and "
            ".threads == 1 and (.contended_epochs | type == \"number\") and "
            "(if .contended_epochs == 0 then .measured == .wall_s else true end))");
    /* a condition without a run has no times: null, not 0 */
    jq_true(f, "check-acc.json", r.out,
            "[.conditions[] | select(.condition == \"accuracy\")] | length == 2 and "
            "all(.cpu_s == null and .epochs == null)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_changed_file_not_pooled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_builds_not_pooled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_by_warns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_holm_per_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direction_fixed_by_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intervals_and_p, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_spelling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_number, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_not_reparsed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_with_jq, setup, teardown),
    };
    return cmocka_run_group_tests_name("report_cli", tests, NULL, NULL);
}
