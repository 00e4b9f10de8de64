/* Tests of harness/plot and `bench plot`. A temporary database is filled through the store API
 * with fabricated runs: experiment "grid" sweeps 2 optimizers x BN on/off x 2 seeds (3 epochs,
 * a 10-class confusion matrix per epoch), experiment "solo" has a single run. Then:
 *   - plot_load: groups, labels, implied keys, per-epoch mean and sample sd, summed confusion
 *     counts, revision and date, against values computed by hand;
 *   - the built bench renders PNG and SVG with the real gnuplot: every expected script, data file
 *     and image exists, PNGs have the signature and an IHDR with a positive size, SVGs are
 *     XML-ish; Fig. 4 has lines titled "train" and "test"; every script carries the footer;
 *   - scripts run from any directory after their directory is moved;
 *   - a style.gp planted beside the output directory is never loaded (scripts load only their
 *     own data); experiment names with quotes, '/', '.', '..' each get their own directory and
 *     render; one experiment that cannot be written does not stop the others;
 *   - --run, several experiments, the default plots/NAME directory, no gnuplot on PATH;
 *   - errors: empty database, unknown experiment, unknown run, missing database, unwritable
 *     directory, bad --format: one line on stderr, exit 1 (2 for usage). */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, nftw, setenv */
#define _XOPEN_SOURCE 700

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "plot.h"
#include "store.h"

#define assert_close(a, b, eps)                                                                \
    do {                                                                                       \
        double a_ = (a), b_ = (b);                                                             \
        if (!(fabs(a_ - b_) <= (eps)))                                                         \
            fail_msg("%s = %.17g, expected %.17g", #a, a_, b_);                                \
    } while (0)

enum { N_EPOCHS = 3, K = 10 };

static const char *const optimizers[] = {"sgd", "adam"};
static const char *const opt_lr[] = {"0.1", "0.001"};
static const char *const bn_json[] = {"true", "false"};

typedef struct fixture {
    char dir[256];
    char db[320];     /* dir/bench.db, filled */
    char empty[320];  /* dir/empty.db, schema only */
} fixture;

typedef cli_result result;

/* ---- the fabricated database ---------------------------------------------------------------
 * Run (o, b, seed) at epoch ep (1-based) has
 *   test_acc  = 0.90 + 0.02 ep + 0.01 o - 0.03 b + 0.004 seed
 *   train_acc = test_acc + 0.01,  train_loss = 1 / (ep + seed),  wall_s = 10 + o + seed,
 *   cpu_s = 20, wait_s = 5 (contended) at seed 2's epoch 2, else 0
 * so within a group (fixed o, b) the seeds 1 and 2 differ by 0.004 in accuracy: mean at seed
 * 1.5, sample sd = 0.004 / sqrt(2). The confusion matrix has 90 + seed on the diagonal and
 * (i + j) % 3 elsewhere. */
static double acc_of(int o, int b, int seed, int ep)
{
    return 0.90 + 0.02 * ep + 0.01 * o - 0.03 * b + 0.004 * seed;
}

static int64_t conf_of(int seed, int i, int j) { return i == j ? 90 + seed : (i + j) % 3; }

/* A run with N_EPOCHS epochs that ends as `status`, at plan position `position` (-1: none). */
static void put_run_at(store *s, int64_t xid, int64_t bid, const char *key, const char *json,
                       const char *optimizer, int o, int b, int seed, int status, int position)
{
    err_info e = {0};
    store_run r = {.run_key = key, .experiment_id = xid, .build_id = bid, .config_json = json,
                   .model = "paper", .optimizer = optimizer, .lr = 0.1, .bn = b == 0,
                   .seed = seed, .batch = 100, .epochs = N_EPOCHS, .sampling = "shuffle",
                   .threads = 1, .eval_n = 1000, .position = position};
    bool claimed = false;
    if (store_run_queue(s, NULL, &r, false, &e) || store_run_start(s, key, &claimed, &e) ||
        !claimed)
        fail_msg("%s", e.msg);
    double prec[K], rec[K], f1[K];
    int64_t support[K], conf[K * K];
    for (int i = 0; i < K; i++) {
        prec[i] = rec[i] = f1[i] = 0.9;
        support[i] = 100;
        for (int j = 0; j < K; j++)
            conf[i * K + j] = conf_of(seed, i, j);
    }
    for (int ep = 1; ep <= N_EPOCHS; ep++) {
        double acc = acc_of(o, b, seed, ep);
        store_epoch row = {.run_key = key, .epoch = ep, .train_loss = 1.0 / (ep + seed),
                           .train_acc = acc + 0.01, .test_loss = 0.5 / ep, .test_acc = acc,
                           .precision_macro = acc, .recall_macro = acc, .f1_macro = acc,
                           .auroc_macro = 0.99, .f1_weighted = acc, .wall_s = 10 + o + seed,
                           .cpu_s = 20, .wait_s = seed == 2 && ep == 2 ? 5.0 : 0.0,
                           .images_per_s = 6000, .k = K, .precision = prec,
                           .recall = rec, .f1 = f1, .support = support, .confusion = conf};
        if (store_epoch_put(s, &row, &e))
            fail_msg("%s", e.msg);
    }
    store_run_end end = {.status = status, .wall_s = 33, .cpu_s = 60};
    if (store_run_finish(s, key, &end, &e))
        fail_msg("%s", e.msg);
}

static void put_run_as(store *s, int64_t xid, int64_t bid, const char *key, const char *json,
                       const char *optimizer, int o, int b, int seed, int status)
{
    put_run_at(s, xid, bid, key, json, optimizer, o, b, seed, status, -1);
}

static void put_run(store *s, int64_t xid, int64_t bid, const char *key, const char *json,
                    const char *optimizer, int o, int b, int seed)
{
    put_run_as(s, xid, bid, key, json, optimizer, o, b, seed, RUN_COMPLETED);
}

static void fill_db(const char *path)
{
    store *s = NULL;
    err_info e = {0};
    if (store_open(&s, path, &e))
        fail_msg("%s", e.msg);
    int64_t grid = 0, solo = 0, bid = 0;
    store_experiment xg = {.name = "grid", .file = "grid.toml", .spec_sha256 = "aa",
                           .spec_text = "[sweep]\n",
                           .swept = "[\"optimizer\",\"bn\",\"seed\"]"};
    store_experiment xs = {.name = "solo", .file = "solo.toml", .spec_sha256 = "bb",
                           .target_accuracy = 0.995};
    store_build b = {.git_sha = "0123456789abcdef0123456789abcdef01234567",
                     .git_branch = "main", .compiler = "GNU"};
    if (store_experiment_put(s, &grid, &xg, &e) || store_experiment_put(s, &solo, &xs, &e) ||
        store_build_put(s, &bid, &b, &e))
        fail_msg("%s", e.msg);
    for (int o = 0; o < 2; o++)
        for (int bn = 0; bn < 2; bn++)
            for (int seed = 1; seed <= 2; seed++) {
                char key[64], json[512];
                snprintf(key, sizeof key, "k%d%d%d0000000000000000", o, bn, seed);
                /* like exp_run_json: the layer list follows bn, the lr the optimizer */
                snprintf(json, sizeof json,
                         "{\"bn\":%s,\"epochs\":3,\"layers\":[{\"type\":\"conv\"}%s,"
                         "{\"type\":\"affine\"}],\"model\":\"paper\",\"optimizer\":{\"kind\":"
                         "\"%s\",\"lr\":%s},\"seed\":%d}",
                         bn_json[bn], bn == 0 ? ",{\"type\":\"batchnorm\"}" : "",
                         optimizers[o], opt_lr[o], seed);
                put_run(s, grid, bid, key, json, optimizers[o], o, bn, seed);
            }
    /* experiment "part": one run stopped after its epochs were stored (not COMPLETED) */
    int64_t part = 0;
    store_experiment xp = {.name = "part", .file = "part.toml", .spec_sha256 = "cc"};
    if (store_experiment_put(s, &part, &xp, &e))
        fail_msg("%s", e.msg);
    put_run_as(s, part, bid, "part000000000000", "{\"bn\":true,\"seed\":1}", "momentum", 0, 0, 1,
               RUN_INTERRUPTED);
    put_run(s, solo, bid, "solo000000000000",
            "{\"bn\":true,\"model\":\"paper\",\"optimizer\":{\"kind\":\"momentum\"},\"seed\":7}",
            "momentum", 0, 0, 7);
    store_close(s);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/test_plot.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/bench.db", f->dir);
    snprintf(f->empty, sizeof f->empty, "%s/empty.db", f->dir);
    fill_db(f->db);
    store *s = NULL;
    err_info e = {0};
    if (store_open(&s, f->empty, &e))
        return -1;
    store_close(s);
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

/* ---- helpers -------------------------------------------------------------------------------- */

/* Run argv[0] (an absolute path, or a name looked up in PATH) in cwd; path_env replaces PATH
 * when non-NULL. */
static void run_prog(result *r, const char *cwd, const char *path_env, const char *const *argv)
{
    cli_run(r, &(cli_opts){.cwd = cwd, .path = path_env}, argv);
}

#define BENCH(r, cwd, ...) \
    run_prog(r, cwd, NULL, (const char *const[]){BENCH_BINARY, "plot", __VA_ARGS__, NULL})

static bool have_gnuplot(void) { return plot_gnuplot_available(); }

static bool exists(const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static void assert_exists(const char *dir, const char *name)
{
    if (!exists(dir, name))
        fail_msg("missing '%s/%s'", dir, name);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A real PNG: signature, an IHDR chunk first with positive width and height, not tiny. */
static void assert_png(const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    size_t n = 0;
    unsigned char *b = (unsigned char *)cli_read_file(p, &n);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n < 2000 || memcmp(b, sig, 8) != 0 || memcmp(b + 12, "IHDR", 4) != 0 ||
        be32(b + 16) == 0 || be32(b + 20) == 0)
        fail_msg("'%s' is not a valid non-trivial PNG (%zu bytes)", p, n);
    free(b);
}

static void assert_svg(const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    size_t n = 0;
    char *b = cli_read_file(p, &n);
    if (n < 1000 || (strncmp(b, "<?xml", 5) != 0 && strncmp(b, "<svg", 4) != 0) ||
        !strstr(b, "</svg>"))
        fail_msg("'%s' is not an SVG document (%zu bytes)", p, n);
    free(b);
}

static bool file_has(const char *dir, const char *name, const char *needle)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    char *b = cli_read_file(p, NULL);
    bool has = strstr(b, needle) != NULL;
    free(b);
    return has;
}

/* Exactly one line on stderr, containing want. */
static void assert_one_line_error(const result *r, const char *want)
{
    if (!strstr(r->err, want))
        fail_msg("stderr lacks '%s': %s", want, r->err);
    const char *nl = strchr(r->err, '\n');
    if (!nl || nl[1] != '\0')
        fail_msg("stderr is not one line: %s", r->err);
    assert_int_equal(strncmp(r->err, "bench: ", 7), 0);
}

/* The figures of experiment grid. The group order is that of the runs (o slowest, then bn). */
static const char *const grid_groups[] = {"optimizer-sgd_bn-true", "optimizer-sgd_bn-false",
                                          "optimizer-adam_bn-true", "optimizer-adam_bn-false"};
static const char *const grid_scripts[] = {
    "optimizers_bn-true", "optimizers_bn-false", "bn_optimizer-sgd", "bn_optimizer-adam",
    "loss", "time"};

static void check_grid_dir(const char *dir, const char *ext)
{
    char name[256];
    for (int g = 0; g < 4; g++) {
        const char *stems[] = {"fig4_", "confusion_"};
        snprintf(name, sizeof name, "%s.dat", grid_groups[g]);
        assert_exists(dir, name);
        snprintf(name, sizeof name, "confusion_%s.dat", grid_groups[g]);
        assert_exists(dir, name);
        for (int s = 0; s < 2; s++) {
            snprintf(name, sizeof name, "%s%s.gp", stems[s], grid_groups[g]);
            assert_exists(dir, name);
            if (ext) {
                snprintf(name, sizeof name, "%s%s.%s", stems[s], grid_groups[g], ext);
                strcmp(ext, "png") == 0 ? assert_png(dir, name) : assert_svg(dir, name);
            }
        }
    }
    for (size_t i = 0; i < sizeof grid_scripts / sizeof grid_scripts[0]; i++) {
        snprintf(name, sizeof name, "%s.gp", grid_scripts[i]);
        assert_exists(dir, name);
        assert_true(file_has(dir, name, "experiment grid | git 0123456 | newest run 20"));
        if (ext) {
            snprintf(name, sizeof name, "%s.%s", grid_scripts[i], ext);
            strcmp(ext, "png") == 0 ? assert_png(dir, name) : assert_svg(dir, name);
        }
    }
    /* Fig. 4: the two lines titled exactly train and test, the band, the footer */
    snprintf(name, sizeof name, "fig4_%s.gp", grid_groups[0]);
    assert_true(file_has(dir, name, "title 'train'"));
    assert_true(file_has(dir, name, "title 'test'"));
    assert_true(file_has(dir, name, "filledcurves"));
    assert_true(file_has(dir, name, "bench_footer = 'experiment grid | git 0123456"));
    /* the optimizer comparison has one line per optimizer, titled as the vocabulary spells
     * it (the same "bn=true" as reports, never "BN on") */
    assert_true(file_has(dir, "optimizers_bn-true.gp", "title 'optimizer=sgd'"));
    assert_true(file_has(dir, "optimizers_bn-true.gp", "title 'optimizer=adam'"));
    assert_true(file_has(dir, "optimizers_bn-true.gp", "test accuracy per epoch by optimizer"));
    assert_true(file_has(dir, "bn_optimizer-adam.gp", "title 'bn=true'"));
    assert_true(file_has(dir, "bn_optimizer-adam.gp", "title 'bn=false'"));
    assert_true(file_has(dir, "bn_optimizer-adam.gp", "test accuracy per epoch by batch norm"));
    assert_false(exists(dir, "fig4.gp"));
}

/* ---- plot_load -------------------------------------------------------------------------------- */

static void test_load_groups_and_stats(void **state)
{
    fixture *f = *state;
    store *s = NULL;
    err_info e = {0};
    assert_int_equal(store_open_readonly(&s, f->db, &e), 0);
    plot_set set = {0};
    plot_query q = {.experiment = "grid"};
    if (plot_load(&set, s, &q, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(set.n, 1);
    plot_experiment *x = &set.x[0];
    assert_string_equal(x->name, "grid");
    assert_string_equal(x->revision, "0123456");
    assert_int_equal(strlen(x->newest), 10);
    assert_int_equal(x->newest[4], '-');
    assert_int_equal(x->n_runs, 8);
    assert_int_equal(x->n_groups, 4);
    /* varying keys: the swept optimizer and bn, in the file's order, then lr (implied by the
     * optimizer) and layers (implied by bn); never seed */
    assert_int_equal(x->n_keys, 4);
    assert_string_equal(x->keys[0].name, "optimizer");
    assert_false(x->keys[0].implied);
    assert_string_equal(x->keys[1].name, "bn");
    assert_false(x->keys[1].implied);
    assert_string_equal(x->keys[2].name, "lr");
    assert_true(x->keys[2].implied);
    assert_string_equal(x->keys[3].path, "layers");
    assert_true(x->keys[3].implied);
    static const char *const labels[] = {"optimizer=sgd bn=true", "optimizer=sgd bn=false",
                                         "optimizer=adam bn=true", "optimizer=adam bn=false"};
    for (int g = 0; g < 4; g++) {
        const plot_group *gr = &x->groups[g];
        int o = g / 2, b = g % 2;
        assert_string_equal(gr->label, labels[g]);
        assert_string_equal(gr->slug, grid_groups[g]);
        assert_int_equal(gr->n_runs, 2);
        assert_int_equal(gr->n_epochs, N_EPOCHS);
        for (int ep = 1; ep <= N_EPOCHS; ep++) {
            const double *m = gr->mean + (size_t)(ep - 1) * PLOT_STAT_COUNT;
            const double *sd = gr->sd + (size_t)(ep - 1) * PLOT_STAT_COUNT;
            assert_int_equal(gr->n[ep - 1], 2);
            double mean = (acc_of(o, b, 1, ep) + acc_of(o, b, 2, ep)) / 2;
            assert_close(m[PLOT_TEST_ACC], mean, 1e-12);
            assert_close(sd[PLOT_TEST_ACC], 0.004 / sqrt(2.0), 1e-12);
            assert_close(m[PLOT_TRAIN_ACC], mean + 0.01, 1e-12);
            /* loss 1/(ep+1) and 1/(ep+2): mean and sd = |difference| / sqrt 2 */
            double l1 = 1.0 / (ep + 1), l2 = 1.0 / (ep + 2);
            assert_close(m[PLOT_TRAIN_LOSS], (l1 + l2) / 2, 1e-12);
            assert_close(sd[PLOT_TRAIN_LOSS], (l1 - l2) / sqrt(2.0), 1e-12);
            assert_close(m[PLOT_WALL_S], 10 + o + 1.5, 1e-12);
        }
        /* confusion: both runs' last epochs summed */
        assert_int_equal(gr->k, K);
        assert_int_equal(gr->confusion[0], 91 + 92);
        assert_int_equal(gr->confusion[1 * K + 2], 0);
        assert_int_equal(gr->confusion[0 * K + 2], 4);
    }
    plot_set_release(&set);

    /* one run: its own group, sd 0 */
    q = (plot_query){.run_key = "k1010"};
    if (plot_load(&set, s, &q, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(set.n, 1);
    assert_non_null(set.x[0].only_run);
    assert_int_equal(set.x[0].n_groups, 1);
    assert_int_equal(set.x[0].groups[0].n_runs, 1);
    assert_string_equal(set.x[0].groups[0].slug, "run-k10100000000");
    assert_close(set.x[0].groups[0].sd[PLOT_TEST_ACC], 0.0, 0);
    assert_close(set.x[0].groups[0].mean[PLOT_TEST_ACC], acc_of(1, 0, 1, 1), 1e-12);
    plot_set_release(&set);

    /* everything: two experiments; solo has one unlabelled group */
    q = (plot_query){0};
    if (plot_load(&set, s, &q, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(set.n, 2);
    assert_string_equal(set.x[1].name, "solo");
    assert_int_equal(set.x[1].n_groups, 1);
    assert_string_equal(set.x[1].groups[0].label, "");
    assert_string_equal(set.x[1].groups[0].slug, "all");
    plot_set_release(&set);

    /* errors */
    q = (plot_query){.experiment = "nope"};
    assert_int_equal(plot_load(&set, s, &q, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "no completed runs of experiment 'nope'"));
    assert_int_equal(set.n, 0);
    store_close(s);
}

static void test_format_names(void **state)
{
    (void)state;
    plot_format fmt;
    err_info e = {0};
    assert_int_equal(plot_format_parse(&fmt, "svg", &e), 0);
    assert_int_equal(fmt, PLOT_SVG);
    assert_string_equal(plot_format_name(fmt), "svg");
    assert_int_equal(plot_format_parse(&fmt, "jpeg", &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "valid: png, svg"));
}

/* The built-in style is the committed plots/style.gp. */
static void test_style_matches_file(void **state)
{
    (void)state;
    char *text = cli_read_file(TEST_DATA_DIR "/../../plots/style.gp", NULL);
    assert_string_equal(plot_style_text(), text);
    free(text);
}

/* ---- bench plot ------------------------------------------------------------------------------ */

static void test_png(void **state)
{
    fixture *f = *state;
    if (!have_gnuplot())
        skip();
    char out[512];
    snprintf(out, sizeof out, "%s/figs/png", f->dir);
    result *r = calloc(1, sizeof *r);
    BENCH(r, f->dir, "--db", f->db, "--experiment", "grid", "--out", out);
    if (r->status != 0)
        fail_msg("exit %d: %s", r->status, r->err);
    check_grid_dir(out, "png");
    /* the style is inside each script, no file beside it */
    assert_false(exists(out, "style.gp"));
    assert_true(file_has(out, "fig4_optimizer-sgd_bn-true.gp", "set termoption noenhanced"));
    assert_non_null(strstr(r->out, "/fig4_optimizer-sgd_bn-true.png\n"));
    assert_non_null(strstr(r->out, "/optimizer-sgd_bn-true.dat\n"));
    free(r);
}

static void test_svg(void **state)
{
    fixture *f = *state;
    if (!have_gnuplot())
        skip();
    char out[512];
    snprintf(out, sizeof out, "%s/figs/svg", f->dir);
    result *r = calloc(1, sizeof *r);
    BENCH(r, f->dir, "--db", f->db, "-e", "grid", "-o", out, "--format", "svg");
    if (r->status != 0)
        fail_msg("exit %d: %s", r->status, r->err);
    check_grid_dir(out, "svg");
    assert_false(exists(out, "loss.png"));
    free(r);
}

/* Move a rendered directory; its scripts still render, from any
 * working directory. */
static void test_scripts_are_relocatable(void **state)
{
    fixture *f = *state;
    if (!have_gnuplot())
        skip();
    char out[512], moved[512], script[600];
    snprintf(out, sizeof out, "%s/reloc/a", f->dir);
    result *r = calloc(1, sizeof *r);
    BENCH(r, f->dir, "--db", f->db, "-e", "grid", "-o", out, "--no-render");
    assert_int_equal(r->status, 0);
    assert_false(exists(out, "loss.png"));
    snprintf(moved, sizeof moved, "%s/reloc/b", f->dir);
    assert_int_equal(rename(out, moved), 0);
    snprintf(script, sizeof script, "%s/loss.gp", moved);
    run_prog(r, "/", NULL, (const char *const[]){"gnuplot", script, NULL});
    if (r->status != 0)
        fail_msg("gnuplot exit %d: %s", r->status, r->err);
    assert_png(moved, "loss.png");
    free(r);
}

/* --run: Fig. 4 and the confusion matrix of one run; all experiments: DIR/NAME each; default
 * directory plots/NAME with the shared plots/style.gp. */
static void test_run_and_layouts(void **state)
{
    fixture *f = *state;
    result *r = calloc(1, sizeof *r);
    char out[512], grid[600], solo[600], plots[600];
    snprintf(out, sizeof out, "%s/one", f->dir);
    BENCH(r, f->dir, "--db", f->db, "--run", "k0110", "-o", out, "--no-render");
    if (r->status != 0)
        fail_msg("exit %d: %s", r->status, r->err);
    assert_exists(out, "fig4_run-k01100000000.gp");
    assert_exists(out, "confusion_run-k01100000000.gp");
    assert_exists(out, "run-k01100000000.dat");
    assert_false(exists(out, "loss.gp"));
    assert_false(file_has(out, "fig4_run-k01100000000.gp", "filledcurves"));

    snprintf(out, sizeof out, "%s/all", f->dir);
    BENCH(r, f->dir, "--db", f->db, "-o", out, "--no-render");
    if (r->status != 0)
        fail_msg("exit %d: %s", r->status, r->err);
    snprintf(grid, sizeof grid, "%s/grid", out);
    snprintf(solo, sizeof solo, "%s/solo", out);
    check_grid_dir(grid, NULL);
    assert_false(exists(out, "style.gp"));
    assert_exists(solo, "fig4.gp");
    assert_exists(solo, "confusion.gp");
    assert_exists(solo, "all.dat");
    assert_exists(solo, "loss.gp");
    assert_false(exists(solo, "optimizers.gp"));
    assert_false(exists(solo, "bn.gp"));
    assert_false(file_has(solo, "fig4.gp", "load "));
    assert_true(file_has(solo, "fig4.gp", "experiment solo | git 0123456"));

    /* a run that did not complete is plotted only with --partial */
    snprintf(out, sizeof out, "%s/part", f->dir);
    BENCH(r, f->dir, "--db", f->db, "-e", "part", "-o", out, "--no-render");
    assert_int_equal(r->status, 1);
    assert_one_line_error(r, "no completed runs of experiment 'part'");
    BENCH(r, f->dir, "--db", f->db, "-e", "part", "-o", out, "--no-render", "--partial");
    assert_int_equal(r->status, 0);
    assert_exists(out, "fig4.gp");

    BENCH(r, f->dir, "--db", f->db, "-e", "solo", "--no-render");
    assert_int_equal(r->status, 0);
    snprintf(plots, sizeof plots, "%s/plots", f->dir);
    assert_false(exists(plots, "style.gp"));
    assert_exists(plots, "solo/fig4.gp");
    free(r);
}

/* Without gnuplot on PATH: scripts and data, and how to render them. */
static void test_without_gnuplot(void **state)
{
    fixture *f = *state;
    result *r = calloc(1, sizeof *r);
    char out[512];
    snprintf(out, sizeof out, "%s/nognuplot", f->dir);
    run_prog(r, f->dir, "/nonexistent",
             (const char *const[]){BENCH_BINARY, "plot", "--db", f->db, "-e", "solo", "-o", out,
                                   NULL});
    if (r->status != 0)
        fail_msg("exit %d: %s", r->status, r->err);
    assert_exists(out, "fig4.gp");
    assert_false(exists(out, "fig4.png"));
    assert_non_null(strstr(r->out, "gnuplot is not on PATH"));
    assert_non_null(strstr(r->out, "  gnuplot "));
    assert_non_null(strstr(r->out, "/fig4.gp\n"));
    free(r);
}

/* Issue 18, item 3: a style.gp planted beside the output directory (as any local user can in a
 * world-writable parent) is never loaded: scripts load no file but their own data. With
 * gnuplot the planted file would write a marker; without it the scripts are read. */
static void test_planted_style_is_not_loaded(void **state)
{
    fixture *f = *state;
    char parent[512], out[600], planted[600], marker[600];
    snprintf(parent, sizeof parent, "%s/shared", f->dir);
    snprintf(out, sizeof out, "%s/figs", parent);
    snprintf(planted, sizeof planted, "%s/style.gp", parent);
    snprintf(marker, sizeof marker, "%s/pwned", parent);
    assert_int_equal(mkdir(parent, 0777), 0);
    char text[800];
    snprintf(text, sizeof text, "set print '%s'\nprint 'planted style ran'\nunset print\n",
             marker);
    cli_write_text(planted, text);
    result *r = calloc(1, sizeof *r);
    /* twice: on the tree before the fix, the second call found DIR/../style.gp too */
    for (int i = 0; i < 2; i++) {
        if (have_gnuplot())
            BENCH(r, f->dir, "--db", f->db, "-e", "solo", "-o", out);
        else
            BENCH(r, f->dir, "--db", f->db, "-e", "solo", "-o", out, "--no-render");
        if (r->status != 0)
            fail_msg("exit %d: %s", r->status, r->err);
    }
    assert_false(exists(parent, "pwned"));
    assert_false(exists(out, "style.gp"));
    static const char *const scripts[] = {"fig4.gp", "confusion.gp", "loss.gp", "time.gp"};
    for (size_t i = 0; i < sizeof scripts / sizeof *scripts; i++) {
        assert_false(file_has(out, scripts[i], "load "));
        assert_false(file_has(out, scripts[i], "style.gp'"));
        /* what it lets through: the style itself, inline */
        assert_true(file_has(out, scripts[i], "set linetype 1 lc rgb '#0072B2'"));
    }
    if (have_gnuplot())
        assert_png(out, "fig4.png");
    free(r);
}

/* One safe, distinct directory per name (issue 18, item 8). */
static void test_dir_names(void **state)
{
    (void)state;
    static const char *const names[] = {"a/b", "a-b", "a_b", "a%2Fb", ".", "..", "../../x",
                                        "...", ".x", "x.", "'q", "q'", "", "a b", "\x1b[31m",
                                        "ü", "paper"};
    enum { N = sizeof names / sizeof *names };
    char d[N][PLOT_DIR_NAME_MAX];
    for (int i = 0; i < N; i++) {
        plot_dir_name(d[i], sizeof d[i], names[i]);
        /* one path component, neither "." nor "..", nothing but [A-Za-z0-9._%~-] */
        assert_null(strchr(d[i], '/'));
        assert_true(d[i][0] != '\0' && d[i][0] != '.');
        for (const char *p = d[i]; *p; p++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%~-", *p))
                fail_msg("'%s' -> '%s': unsafe byte 0x%02x", names[i], d[i], (unsigned char)*p);
        for (int j = 0; j < i; j++)
            if (strcmp(d[i], d[j]) == 0)
                fail_msg("'%s' and '%s' share '%s'", names[i], names[j], d[i]);
    }
    assert_string_equal(d[0], "a%2Fb");
    assert_string_equal(d[1], "a-b");
    assert_string_equal(d[3], "a%252Fb");
    assert_string_equal(d[4], "%2E");
    assert_string_equal(d[5], "%2E.");
    assert_string_equal(d[6], "%2E.%2F..%2Fx");
    assert_string_equal(d[12], "%");
    assert_string_equal(d[16], "paper"); /* what it lets through unchanged */
    /* long names: bounded, still distinct when they differ only at the end */
    char a[PLOT_NAME_MAX], b[PLOT_NAME_MAX], da[PLOT_DIR_NAME_MAX], db[PLOT_DIR_NAME_MAX];
    memset(a, '/', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof a);
    b[sizeof b - 2] = '.';
    plot_dir_name(da, sizeof da, a);
    plot_dir_name(db, sizeof db, b);
    assert_true(strlen(da) <= 200 && strlen(db) <= 200);
    assert_string_not_equal(da, db);
}

/* Names that start or end with a quote, or would share or escape a directory: every
 * experiment is written (and rendered, with gnuplot) into its own directory under DIR; one
 * experiment that cannot be written does not stop the others (exit 1). */
static void test_hostile_names(void **state)
{
    fixture *f = *state;
    char db[400];
    snprintf(db, sizeof db, "%s/names.db", f->dir);
    static const char *const names[] = {"'lead", "trail'", "a/b", "a-b", "..", "../../x", "."};
    static const char *const dirs[] = {"%27lead", "trail%27", "a%2Fb", "a-b", "%2E.",
                                       "%2E.%2F..%2Fx", "%2E"};
    enum { N = sizeof names / sizeof *names };
    store *s = NULL;
    err_info e = {0};
    if (store_open(&s, db, &e))
        fail_msg("%s", e.msg);
    for (int i = 0; i < N; i++) {
        int64_t xid = 0;
        char sha[8], key[32];
        snprintf(sha, sizeof sha, "s%d", i);
        store_experiment x = {.name = names[i], .file = "x.toml", .spec_sha256 = sha};
        if (store_experiment_put(s, &xid, &x, &e))
            fail_msg("%s", e.msg);
        snprintf(key, sizeof key, "n%d00000000000000", i);
        put_run(s, xid, 0, key, "{\"bn\":true,\"seed\":1}", "momentum", 0, 0, 1);
    }
    store_close(s);
    char out[512], top[512];
    snprintf(top, sizeof top, "%s/hostile", f->dir);
    snprintf(out, sizeof out, "%s/hostile/figs", f->dir);
    result *r = calloc(1, sizeof *r);
    if (have_gnuplot())
        BENCH(r, f->dir, "--db", db, "-o", out);
    else
        BENCH(r, f->dir, "--db", db, "-o", out, "--no-render");
    if (r->status != 0)
        fail_msg("exit %d: %s\n%s", r->status, r->err, r->out);
    for (int i = 0; i < N; i++) {
        char d[700];
        snprintf(d, sizeof d, "%s/%s", out, dirs[i]);
        assert_exists(d, "fig4.gp");
        if (have_gnuplot()) {
            assert_png(d, "fig4.png");
            assert_png(d, "loss.png");
        }
    }
    /* nothing escaped DIR: its parent holds DIR alone */
    assert_false(exists(top, "x"));
    assert_false(exists(f->dir, "x"));

    /* one experiment's directory blocked by a file: the others are still drawn, exit 1 */
    char again[512], blocked[700];
    snprintf(again, sizeof again, "%s/again", f->dir);
    assert_int_equal(mkdir(again, 0777), 0);
    snprintf(blocked, sizeof blocked, "%s/%s", again, dirs[0]);
    cli_write_text(blocked, "not a directory\n");
    if (have_gnuplot())
        BENCH(r, f->dir, "--db", db, "-o", again);
    else
        BENCH(r, f->dir, "--db", db, "-o", again, "--no-render");
    assert_int_equal(r->status, 1);
    assert_non_null(strstr(r->err, "%27lead"));
    for (int i = 1; i < N; i++) {
        char d[700];
        snprintf(d, sizeof d, "%s/%s", again, dirs[i]);
        assert_exists(d, "fig4.gp");
        if (have_gnuplot())
            assert_png(d, "fig4.png");
    }
    free(r);
}

/* The figures a paper reader expects (issue 19): a non-paper network's Fig. 4 is not titled as
 * the paper's; a validation experiment says "validation", never "test"; claims are labelled
 * lines; comparisons carry +/-1 sd bands; a numeric swept key gets accuracy against it with
 * error bars; the confusion matrix has a row-normalised panel, an opaque image and
 * Fashion-MNIST's class names; the time figure plots CPU seconds beside wall; --format pdf. */
static void test_figure_content(void **state)
{
    fixture *f = *state;
    char db[400], claims_path[400];
    snprintf(db, sizeof db, "%s/figs.db", f->dir);
    snprintf(claims_path, sizeof claims_path, "%s/claims.toml", f->dir);
    cli_write_text(claims_path, "[[claim]]\nclaim = \"val accuracy (someone 2020)\"\n"
                                "value = 93.5\nunit = \"%\"\nmetric = \"accuracy\"\n"
                                "experiment = \"v\"\nsource = \"s\"\n");
    store *s = NULL;
    err_info e = {0};
    if (store_open(&s, db, &e))
        fail_msg("%s", e.msg);
    int64_t xid = 0;
    store_experiment x = {.name = "v", .file = "v.toml", .spec_sha256 = "v1",
                          .swept = "[\"optimizer\",\"lr\",\"seed\"]", .target_accuracy = 0.95};
    if (store_experiment_put(s, &xid, &x, &e))
        fail_msg("%s", e.msg);
    static const char *const lrs[] = {"0.01", "0.1"};
    for (int o = 0; o < 2; o++)
        for (int l = 0; l < 2; l++)
            for (int seed = 1; seed <= 2; seed++) {
                char key[64], json[512];
                snprintf(key, sizeof key, "v%d%d%d0000000000000000", o, l, seed);
                snprintf(json, sizeof json,
                         "{\"dataset\":\"fashion-mnist\",\"model\":\"lenet5\",\"validation\":"
                         "10000,\"optimizer\":{\"kind\":\"%s\",\"lr\":%s},\"seed\":%d}",
                         optimizers[o], lrs[l], seed);
                put_run(s, xid, 0, key, json, optimizers[o], o, l, seed);
            }
    store_close(s);
    char out[512];
    snprintf(out, sizeof out, "%s/content", f->dir);
    result *r = calloc(1, sizeof *r);
    BENCH(r, f->dir, "--db", db, "-o", out, "--no-render", "--claims", claims_path);
    if (r->status != 0)
        fail_msg("exit %d: %s", r->status, r->err);
    const char *fig4 = "fig4_optimizer-sgd_lr-0.01.gp";
    assert_false(file_has(out, fig4, "set title 'Fig. 4"));
    assert_true(file_has(out, fig4, "train and validation accuracy per epoch: model lenet5 on "
                                    "fashion-mnist"));
    assert_true(file_has(out, fig4, "title 'validation'"));
    assert_false(file_has(out, fig4, "title 'test'"));
    assert_false(file_has(out, fig4, "test accuracy"));
    /* the claim: a dashed line and its label */
    assert_true(file_has(out, fig4, "first 0.935 nohead dt 2"));
    assert_true(file_has(out, fig4, "'claimed 93.5%: val accuracy (someone 2020)'"));
    /* a [budget] target is a test target: not drawn over validation accuracies */
    assert_false(file_has(out, fig4, "target 95.00%"));
    /* comparisons: bands under the lines, legend in the sweep's order (sgd before adam) */
    const char *cmp = "optimizers.gp"; /* lr is an optimizer parameter: compared with it */
    assert_true(file_has(out, cmp, "validation accuracy per epoch by optimizer"));
    assert_true(file_has(out, cmp, "with filledcurves lt 1 notitle"));
    assert_true(file_has(out, cmp, "with filledcurves lt 2 notitle"));
    char p[700];
    snprintf(p, sizeof p, "%s/%s", out, cmp);
    char *text = cli_read_file(p, NULL);
    const char *sgd = strstr(text, "title 'optimizer=sgd lr=0.01'");
    const char *adam = strstr(text, "title 'optimizer=adam lr=0.01'");
    assert_true(sgd && adam && sgd < adam);
    free(text);
    assert_true(file_has(out, cmp, "claimed 93.5%"));
    /* accuracy against the numeric key, per optimizer: value, mean, sd, n */
    assert_true(file_has(out, "vs_lr_optimizer-sgd.gp", "with yerrorlines"));
    assert_true(file_has(out, "vs_lr_optimizer-sgd.gp", "set logscale x"));
    char want[128];
    /* sgd (o = 0), last epoch 3: lr 0.01 is b = 0, lr 0.1 is b = 1; seeds 1, 2 */
    snprintf(want, sizeof want, "0.01 %.9g %.9g 2\n0.1 %.9g", (acc_of(0, 0, 1, 3) + acc_of(0, 0, 2, 3)) / 2,
             0.004 / sqrt(2.0), (acc_of(0, 1, 1, 3) + acc_of(0, 1, 2, 3)) / 2);
    if (!file_has(out, "vs_lr_optimizer-sgd.dat", want))
        fail_msg("vs_lr_optimizer-sgd.dat lacks '%s'", want);
    assert_false(exists(out, "vs_seed.gp"));
    /* confusion: counts and rows, opaque, class names */
    const char *conf = "confusion_optimizer-sgd_lr-0.01.gp";
    assert_true(file_has(out, conf, "set style fill solid 1.0 noborder"));
    assert_true(file_has(out, conf, "'T-shirt/top' 0"));
    assert_true(file_has(out, conf, "'Ankle boot' 9"));
    assert_true(file_has(out, conf, "set multiplot layout 1, 2"));
    /* a row of conf_of(seed): 90 + seed on the diagonal, (i + j) % 3 off it, summed over 2 */
    int64_t row0 = 0;
    for (int j = 0; j < K; j++)
        row0 += conf_of(1, 0, j) + conf_of(2, 0, j);
    snprintf(want, sizeof want, "%.6f %.6f", (double)(91 + 92) / (double)row0,
             (double)(conf_of(1, 0, 1) + conf_of(2, 0, 1)) / (double)row0);
    if (!file_has(out, "confusion_optimizer-sgd_lr-0.01_rows.dat", want))
        fail_msg("rows lack '%s'", want);
    /* time: CPU (cpu_s column) solid, wall dashed */
    assert_true(file_has(out, "time.gp", "using 1:13 with linespoints"));
    assert_true(file_has(out, "time.gp", "using 1:11 with lines lt 1 dt 2"));
    assert_true(file_has(out, "optimizer-sgd_lr-0.01.dat", "cpu_s_mean cpu_s_sd"));
    /* contended epochs circled on the wall line: the share of runs contended is column 15,
     * half the group's runs at epoch 2 (seed 2's), none at epoch 1 */
    assert_true(file_has(out, "time.gp", "using 1:($15 > 0 ? $11 : NaN) with points lt 1 pt 6"));
    assert_true(file_has(out, "optimizer-sgd_lr-0.01.dat", "contended_mean contended_sd"));
    /* its subtitle in two lines, each narrower than the plot (one line was cut at both ends) */
    assert_true(file_has(out, "time.gp", "threads'.\"\\n\".'circled: a run"));
    assert_true(file_has(out, "optimizer-sgd_lr-0.01.dat", " 0.5 0.707106781\n"));
    assert_true(file_has(out, "optimizer-sgd_lr-0.01.dat", "\n1 2 "));
    /* what the title rule lets through: the paper's network is the paper's Fig. 4 */
    assert_true(file_has(out, fig4, "set yrange"));
    snprintf(out, sizeof out, "%s/paperfig", f->dir);
    BENCH(r, f->dir, "--db", f->db, "-e", "solo", "-o", out, "--no-render");
    assert_int_equal(r->status, 0);
    assert_true(file_has(out, "fig4.gp", "Fig. 4 (Lee & Rhee 2024): train and test accuracy"));
    assert_true(file_has(out, "fig4.gp", "title 'test'"));
    /* its [budget] target: a labelled dashed line, inside the y range */
    assert_true(file_has(out, "fig4.gp", "first 0.995 nohead dt 2"));
    assert_true(file_has(out, "fig4.gp", "'target 99.50%: [budget] target_accuracy'"));
    if (have_gnuplot()) {
        snprintf(out, sizeof out, "%s/pdf", f->dir);
        BENCH(r, f->dir, "--db", db, "-o", out, "--format", "pdf", "--claims", claims_path);
        if (r->status != 0)
            fail_msg("exit %d: %s", r->status, r->err);
        snprintf(p, sizeof p, "%s/%s", out, "confusion_optimizer-sgd_lr-0.01.pdf");
        char *pdf = cli_read_file(p, NULL);
        assert_int_equal(strncmp(pdf, "%PDF-", 5), 0);
        free(pdf);
        assert_exists(out, "vs_lr_optimizer-adam.pdf");
    }
    free(r);
}

/* Groups (and so legends) in the order the experiment file plans them, not in run-key order:
 * the sweep lists sgd, adam, momentum, whose run keys sort the other way. */
static void test_sweep_order(void **state)
{
    fixture *f = *state;
    char db[400];
    snprintf(db, sizeof db, "%s/order.db", f->dir);
    store *s = NULL;
    err_info e = {0};
    if (store_open(&s, db, &e))
        fail_msg("%s", e.msg);
    int64_t xid = 0;
    store_experiment x = {.name = "order", .file = "o.toml", .spec_sha256 = "o1",
                          .swept = "[\"optimizer\",\"seed\"]"};
    if (store_experiment_put(s, &xid, &x, &e))
        fail_msg("%s", e.msg);
    static const char *const plan[] = {"sgd", "adam", "momentum"};
    static const char *const keys[] = {"z", "m", "a"}; /* key order: momentum, adam, sgd */
    for (int o = 2; o >= 0; o--) /* queued in that order too */
        for (int seed = 1; seed <= 2; seed++) {
            char key[64], json[256];
            snprintf(key, sizeof key, "%s%d000000000000000", keys[o], seed);
            snprintf(json, sizeof json, "{\"optimizer\":{\"kind\":\"%s\"},\"seed\":%d}", plan[o],
                     seed);
            put_run_at(s, xid, 0, key, json, plan[o], 0, 0, seed, RUN_COMPLETED,
                       2 * o + seed - 1);
        }
    plot_set set = {0};
    plot_query q = {.experiment = "order"};
    if (plot_load(&set, s, &q, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(set.x[0].n_groups, 3);
    assert_string_equal(set.x[0].groups[0].label, "optimizer=sgd");
    assert_string_equal(set.x[0].groups[1].label, "optimizer=adam");
    assert_string_equal(set.x[0].groups[2].label, "optimizer=momentum");
    /* each run still points at its own group */
    for (int i = 0; i < set.x[0].n_runs; i++) {
        const plot_run *r = &set.x[0].runs[i];
        const char *want = r->run_key[0] == 'z' ? "optimizer=sgd"
                           : r->run_key[0] == 'm' ? "optimizer=adam"
                                                  : "optimizer=momentum";
        assert_string_equal(set.x[0].groups[r->group].label, want);
        assert_int_equal(set.x[0].groups[r->group].n_runs, 2);
    }
    plot_set_release(&set);
    store_close(s);
}

static void test_errors(void **state)
{
    fixture *f = *state;
    result *r = calloc(1, sizeof *r);
    char out[512], missing[512], blocker[512];
    snprintf(out, sizeof out, "%s/err", f->dir);

    BENCH(r, f->dir, "--db", f->empty, "-o", out);
    assert_int_equal(r->status, 1);
    assert_one_line_error(r, "no completed runs in");

    BENCH(r, f->dir, "--db", f->db, "-e", "nope", "-o", out);
    assert_int_equal(r->status, 1);
    assert_one_line_error(r, "no completed runs of experiment 'nope'");

    BENCH(r, f->dir, "--db", f->db, "--run", "zzzzzz", "-o", out);
    assert_int_equal(r->status, 1);
    assert_one_line_error(r, "no run 'zzzzzz'");

    snprintf(missing, sizeof missing, "%s/none.db", f->dir);
    BENCH(r, f->dir, "--db", missing, "-o", out);
    assert_int_equal(r->status, 1);
    assert_one_line_error(r, "none.db");

    /* a directory that cannot be made: its parent is a regular file */
    snprintf(blocker, sizeof blocker, "%s/blocker", f->dir);
    FILE *b = fopen(blocker, "w");
    assert_non_null(b);
    fclose(b);
    snprintf(out, sizeof out, "%s/blocker/figs", f->dir);
    BENCH(r, f->dir, "--db", f->db, "-e", "solo", "-o", out);
    assert_int_equal(r->status, 1);
    assert_one_line_error(r, "cannot create directory");

    BENCH(r, f->dir, "--db", f->db, "--format", "jpeg");
    assert_int_equal(r->status, 2);
    assert_one_line_error(r, "unknown image format 'jpeg'");

    BENCH(r, f->dir, "--db", f->db, "--out", "");
    assert_int_equal(r->status, 2);
    BENCH(r, f->dir, "--db", f->db, "extra");
    assert_int_equal(r->status, 2);
    assert_one_line_error(r, "unexpected argument 'extra'");
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_names),
        cmocka_unit_test(test_style_matches_file),
        cmocka_unit_test_setup_teardown(test_load_groups_and_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_png, setup, teardown),
        cmocka_unit_test_setup_teardown(test_svg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scripts_are_relocatable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_and_layouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_gnuplot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_planted_style_is_not_loaded, setup, teardown),
        cmocka_unit_test(test_dir_names),
        cmocka_unit_test_setup_teardown(test_sweep_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_figure_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_names, setup, teardown),
    };
    return cmocka_run_group_tests_name("plot", tests, NULL, NULL);
}
