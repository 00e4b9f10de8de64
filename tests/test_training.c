/* Tests of harness/training, the one run path, on a synthetic IDX data set:
 *   - the same run twice, and with 1 and 2 threads, gives bitwise the same parameters (their
 *     SHA-256), another seed other parameters;
 *   - every epoch reaches the callback, timed (wall, CPU, a known run-queue wait) and evaluated
 *     on the validation split when the run holds one out;
 *   - the stop flag (set by a caller's signal handler) stops the run within an epoch, and
 *     after an epoch before the next; no parameter hash then;
 *   - data whose images are not the shape the run was built for is an error naming both;
 *   - training_memory_plan sizes the run as training_new builds it, and training_memory_check
 *     refuses a run one byte over the limit with both figures;
 *   - training_save writes a parameter file whose bytes hash to the run's SHA-256;
 *   - `bench train` and `bench run` of the same configuration and seed give the same parameter
 *     SHA-256 (the former prints it, the latter stores it), bench train's flag errors name
 *     the flag, and a diverging bench train fails with one line. */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sha256.h"
#include "training.h"

typedef struct fixture {
    char dir[256];     /* temporary working directory */
    char data[300];    /* dir/data/synth: 300 training, 100 test images */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/bench-test-training-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char p[300];
    snprintf(p, sizeof p, "%s/data", f->dir);
    mkdir(p, 0755);
    snprintf(f->data, sizeof f->data, "%s/data/synth", f->dir);
    mkdir(f->data, 0755);
    cli_write_synth(f->data, "train", 300, 1);
    cli_write_synth(f->data, "t10k", 100, 2);
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

/* The run of an experiment file on f's data: [data] dataset plus data_lines, then tables. */
typedef struct one_run {
    experiment x;
    data_source src;
} one_run;

static void make_run(one_run *o, const fixture *f, const char *data_lines, const char *tables)
{
    char text[2048];
    snprintf(text, sizeof text,
             "[data]\ndataset = \"idx:%s\"\n%s[evaluation]\ntrain_samples = 100\n%s", f->data,
             data_lines, tables);
    err_info e = {0};
    if (exp_parse(&o->x, text, strlen(text), "test.toml", &e))
        fail_msg("exp_parse: %s", e.msg);
    assert_int_equal(o->x.n_runs, 1);
    if (data_open(&o->src, o->x.runs[0].dataset, NULL, &e))
        fail_msg("data_open: %s", e.msg);
}

/* What the callback saw. */
typedef struct seen {
    int epochs;
    int64_t eval_n;
    bool timed;              /* every epoch had wall, CPU and a known wait */
    volatile sig_atomic_t *stop_after; /* set after this many epochs when stop_at > 0 */
    int stop_at;
} seen;

static int see_epoch(void *ctx, const training_epoch *ep)
{
    seen *s = ctx;
    s->epochs++;
    assert_int_equal(ep->epoch, s->epochs);
    s->eval_n = ep->test.n;
    s->timed = (s->epochs == 1 || s->timed) && ep->time.wall_s > 0 && ep->time.cpu_s > 0 &&
               !isnan(ep->time.wait_s) && ep->eval_s >= 0;
    if (s->stop_at && s->epochs == s->stop_at)
        *s->stop_after = 1;
    return 0;
}

/* Train run o with threads threads; returns training_run's code, *out its result. */
static int train(training_result *out, const one_run *o, int threads, seen *s,
                 volatile sig_atomic_t *stop)
{
    training *t = NULL;
    err_info e = {0};
    if (training_new(&t, &o->x.runs[0], &o->src, threads, KERN_AUTO, &e))
        fail_msg("training_new: %s", e.msg);
    training_hooks h = {.epoch = see_epoch, .ctx = s, .stop = stop};
    int rc = training_run(out, t, &h, &e);
    training_free(t);
    return rc;
}

static const char small[] = "[training]\nepochs = 3\nbatch = 50\niterations = 4\nseed = 5\n";

/* training_memory_plan: what net_new builds (the same parameter count as the network
 * training_new makes), the data set's bytes, the sum; training_memory_check refuses one byte
 * over the limit with both figures and lets the limit itself (and an unknown limit) through. */
static void test_memory_plan(void **state)
{
    fixture *f = *state;
    one_run o;
    make_run(&o, f, "", small);
    training *t = NULL;
    err_info e = {0};
    if (training_new(&t, &o.x.runs[0], &o.src, 1, KERN_AUTO, &e))
        fail_msg("training_new: %s", e.msg);
    const training_data *d = training_data_of(t);
    training_memory m;
    assert_int_equal(training_memory_plan(&m, &o.x.runs[0], 1, &d->all, &d->test, &e), 0);
    const net *n = training_net(t);
    assert_int_equal(m.run.params, (net_param_count(n) + net_state_count(n)) * sizeof(float));
    assert_int_equal(m.run.activations, net_arena_bytes(n));
    assert_int_equal(m.data, (300 + 100) * (28 * 28 + 1));
    assert_int_equal(m.total, m.run.total + m.data);
    training_free(t);

    assert_int_equal(training_memory_check(&m, (int64_t)m.total, &e), 0);
    assert_int_equal(training_memory_check(&m, 0, &e), 0);
    assert_int_equal(training_memory_check(&m, (int64_t)m.total - 1, &e), ERR_INVALID);
    char want[200];
    snprintf(want, sizeof want, "needs %d MiB (network and training %d MiB, data 1 MiB), more "
             "than the %d MiB this machine has", (int)((m.total + (1 << 20) - 1) >> 20),
             (int)((m.run.total + (1 << 20) - 1) >> 20), (int)((m.total - 1) >> 20));
    assert_string_equal(e.msg, want);
    exp_release(&o.x);
}

static void test_bitwise_and_threads(void **state)
{
    fixture *f = *state;
    one_run o;
    make_run(&o, f, "", small);
    training_result a, b, c;
    seen s1 = {0}, s2 = {0}, s3 = {0};
    assert_int_equal(train(&a, &o, 1, &s1, NULL), 0);
    assert_int_equal(train(&b, &o, 1, &s2, NULL), 0);
    assert_int_equal(train(&c, &o, 2, &s3, NULL), 0);
    assert_int_equal(strlen(a.params_sha256), 64);
    assert_string_equal(a.params_sha256, b.params_sha256);
    assert_string_equal(a.params_sha256, c.params_sha256);
    assert_int_equal(a.epochs_done, 3);
    assert_int_equal(a.time.epochs, 3);
    assert_int_equal(s1.epochs, 3);
    assert_true(s1.timed);
    assert_int_equal(s1.eval_n, 100); /* the test set */
    exp_release(&o.x);

    make_run(&o, f, "", "[training]\nepochs = 3\nbatch = 50\niterations = 4\nseed = 6\n");
    seen s4 = {0};
    assert_int_equal(train(&b, &o, 1, &s4, NULL), 0);
    assert_string_not_equal(a.params_sha256, b.params_sha256);
    exp_release(&o.x);
}

/* The kernel set a run trains with is chosen in one place, for the run's own network: a set
 * this CPU runs, with the reason; a network built with it runs those kernels, and training
 * with it gives the same bits as with the set the CPU offers first (the candidates compute the
 * same chains). */
static void test_kernel_choice(void **state)
{
    fixture *f = *state;
    one_run o;
    make_run(&o, f, "", small);
    const run_spec *r = &o.x.runs[0];
    perf_choice ch;
    err_info e = {0};
    assert_int_equal(training_choose_kernels(&ch, r, 2, &e), 0);
    assert_int_equal(kern_resolve(ch.isa), ch.isa);
    assert_non_null(strstr(ch.why, kern_isa_name(ch.isa)));
    const net_config nc = training_net_config(r, 2, ch.isa);
    assert_int_equal(nc.gemm.isa, ch.isa);
    assert_int_equal(nc.gemm.threads, 2);
    assert_int_equal(nc.max_batch, 50);
    training *t = NULL;
    assert_int_equal(training_new(&t, r, &o.src, 2, ch.isa, &e), 0);
    assert_int_equal(net_get_config(training_net(t))->gemm.isa, ch.isa);
    training_result a, b;
    assert_int_equal(training_run(&a, t, NULL, &e), 0);
    training_free(t);
    seen s = {0};
    assert_int_equal(train(&b, &o, 1, &s, NULL), 0);
    assert_string_equal(a.params_sha256, b.params_sha256);
    exp_release(&o.x);
}

static void test_validation_split(void **state)
{
    fixture *f = *state;
    one_run o;
    make_run(&o, f, "validation = 60\n", "[training]\nepochs = 1\nbatch = 50\n");
    err_info e = {0};
    training *t = NULL;
    assert_int_equal(training_new(&t, &o.x.runs[0], &o.src, 1, KERN_AUTO, &e), 0);
    const training_data *d = training_data_of(t);
    assert_int_equal(d->train.n, 240);
    assert_int_equal(d->val.n, 60);
    assert_ptr_equal(training_data_eval(d), &d->val);
    training_result r;
    seen s = {0};
    training_hooks h = {.epoch = see_epoch, .ctx = &s};
    assert_int_equal(training_run(&r, t, &h, &e), 0);
    assert_int_equal(s.eval_n, 60);
    /* an epoch of the protocol: 240 images / 50 = 4 iterations */
    assert_int_equal(r.epochs_done, 1);
    training_free(t);
    exp_release(&o.x);
}

/* The progress callback sets the stop flag in iteration 2, as a signal handler would. */
static int stop_in_iteration_2(void *ctx, int epoch, int iter, int iters, double loss)
{
    (void)epoch, (void)iters, (void)loss;
    if (iter == 2)
        *(volatile sig_atomic_t *)ctx = 1;
    return 0;
}

static void test_stop(void **state)
{
    fixture *f = *state;
    one_run o;
    make_run(&o, f, "", small);
    err_info e = {0};
    volatile sig_atomic_t stop = 0;
    training_result r;
    seen s = {.stop_after = &stop, .stop_at = 1};
    assert_int_equal(train(&r, &o, 1, &s, &stop), ERR_INTERRUPTED);
    assert_int_equal(r.epochs_done, 1);
    assert_int_equal(s.epochs, 1);
    assert_string_equal(r.params_sha256, "");

    /* within an epoch: the trainer stops at the next iteration */
    stop = 0;
    training *t = NULL;
    assert_int_equal(training_new(&t, &o.x.runs[0], &o.src, 1, KERN_AUTO, &e), 0);
    training_hooks h = {.progress = stop_in_iteration_2, .ctx = (void *)&stop, .stop = &stop};
    assert_int_equal(training_run(&r, t, &h, &e), ERR_INTERRUPTED);
    assert_int_equal(r.epochs_done, 0);
    training_free(t);

    /* a stop after the last epoch is too late to matter: the run is complete */
    stop = 0;
    seen last = {.stop_after = &stop, .stop_at = 3};
    assert_int_equal(train(&r, &o, 1, &last, &stop), 0);
    assert_int_equal(strlen(r.params_sha256), 64);
    exp_release(&o.x);
}

static void test_shape_mismatch(void **state)
{
    fixture *f = *state;
    one_run o;
    make_run(&o, f, "height = 32\nwidth = 32\n", "[training]\nepochs = 1\n");
    err_info e = {0};
    training *t = (training *)1;
    assert_int_equal(training_new(&t, &o.x.runs[0], &o.src, 1, KERN_AUTO, &e), ERR_INVALID);
    assert_null(t);
    assert_non_null(strstr(e.msg, "has 1x28x28 images but the model was built for 1x32x32"));
    exp_release(&o.x);
}

static void test_save(void **state)
{
    fixture *f = *state;
    one_run o;
    make_run(&o, f, "", small);
    err_info e = {0};
    training *t = NULL;
    assert_int_equal(training_new(&t, &o.x.runs[0], &o.src, 1, KERN_AUTO, &e), 0);
    training_result r;
    assert_int_equal(training_run(&r, t, NULL, &e), 0);
    char path[400], sha[65];
    snprintf(path, sizeof path, "%s/params.bin", f->dir);
    assert_int_equal(training_save(t, path, &e), 0);
    assert_int_equal(sha256_file(sha, path, &e), 0);
    assert_string_equal(sha, r.params_sha256);
    snprintf(path, sizeof path, "%s/no/such/dir/params.bin", f->dir);
    assert_int_equal(training_save(t, path, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "cannot write"));
    training_free(t);
    exp_release(&o.x);
}

/* The value of column 0 of the first row of sql on the database at path, as text. */
static void query_text(char *out, size_t n, const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

#define BENCH_IN(r, f, ...) \
    cli_run_bench(r, &(cli_opts){.cwd = (f)->dir}, (const char *const[]){__VA_ARGS__, NULL})

/* One configuration under both commands: bench train from flags, bench run from a file. */
static void test_train_and_run_agree(void **state)
{
    fixture *f = *state;
    static cli_result r;
    BENCH_IN(&r, f, "train", "--dataset", "idx:data/synth", "--epochs", "2", "--batch", "50",
             "--iters", "5", "--lr", "0.05", "--optimizer", "nesterov", "--augment-shift", "2",
             "--augment-rotate", "8", "--augment-elastic-alpha", "20", "--seed", "7",
             "--eval-train", "100", "--threads", "2");
    if (r.status != 0)
        fail_msg("bench train: %s%s", r.out, r.err);
    const char *line = strstr(r.out, "parameters sha256 ");
    assert_non_null(line);
    char from_train[65];
    snprintf(from_train, sizeof from_train, "%.64s", line + strlen("parameters sha256 "));
    assert_non_null(strstr(r.out, "gate time"));

    char path[400];
    snprintf(path, sizeof path, "%s/same.toml", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("[experiment]\nname = \"same\"\n[data]\ndataset = \"idx:data/synth\"\n"
          "[training]\nepochs = 2\nbatch = 50\niterations = 5\nlr = 0.05\n"
          "optimizer = \"nesterov\"\naugment_shift = 2\naugment_rotate = 8\n"
          "augment_elastic_alpha = 20\nseed = 7\nthreads = 1\n"
          "[evaluation]\ntrain_samples = 100\n",
          fp);
    fclose(fp);
    BENCH_IN(&r, f, "run", "same.toml", "--db", "same.db");
    if (r.status != 0)
        fail_msg("bench run: %s%s", r.out, r.err);
    char from_run[80], db[420];
    snprintf(db, sizeof db, "%s/same.db", f->dir);
    query_text(from_run, sizeof from_run, db, "SELECT params_sha256 FROM runs");
    assert_string_equal(from_train, from_run);
    /* the worker stored each epoch's contention measures */
    query_text(from_run, sizeof from_run, db,
               "SELECT count(*) FROM epochs WHERE wait_s IS NOT NULL AND nivcsw IS NOT NULL"
               " AND cpu_s > 0");
    assert_string_equal(from_run, "2");
}

static void test_train_flag_errors(void **state)
{
    fixture *f = *state;
    static cli_result r;
    BENCH_IN(&r, f, "train", "--batch", "2.5");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "bench: train: --batch: must be an integer"));
    BENCH_IN(&r, f, "train", "--lr", "fast");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "bench: train: --lr: 'fast' is not a number"));
    BENCH_IN(&r, f, "train", "--optimizer", "lion");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "bench: train: --optimizer: "));
    assert_non_null(strstr(r.err, "momentum"));
    BENCH_IN(&r, f, "train", "--augment-shift", "30");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--augment-shift: must be less than the 28x28 image"));
    BENCH_IN(&r, f, "train", "--augment-scale", "1");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--augment-scale: must be a number in [0, 1) (got 1)"));
    /* a data set path with quotes and backslashes reaches the data registry verbatim */
    BENCH_IN(&r, f, "train", "--dataset", "idx:no\"such\\dir");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "'no\"such\\dir' is not a directory"));
}

/* A diverging bench train says where on stdout and fails with one line on stderr. */
static void test_train_diverges(void **state)
{
    fixture *f = *state;
    static cli_result r;
    BENCH_IN(&r, f, "train", "--dataset", "idx:data/synth", "--lr", "1e30", "--no-bn", "--init",
             "he", "--epochs", "2", "--batch", "50", "--threads", "1");
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "    1 diverged at iteration "));
    assert_null(strstr(r.out, "parameters sha256"));
    assert_non_null(strstr(r.err, "bench: loss is "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bitwise_and_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_plan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kernel_choice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shape_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save, setup, teardown),
        cmocka_unit_test_setup_teardown(test_train_and_run_agree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_train_flag_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_train_diverges, setup, teardown),
    };
    return cmocka_run_group_tests_name("training", tests, NULL, NULL);
}
