/* Tests of core/train: learning on a synthetic task, bitwise determinism, seeds, both sampling
 * protocols, the augmentation's distortions, divergence, interruption, and the paper's
 * configuration end to end on MNIST. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "models.h"
#include "rng.h"
#include "train.h"

/* A synthetic 3-class task on 1x8x8 images: class c brightens band c of the image (rows
 * 0-2, 3-5 or 6-7) over uniform noise. Learnable, not trivial at 1 epoch. */
static void make_synthetic(dataset *d, int64_t n, uint64_t seed)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    d->c = 1;
    d->h = 8;
    d->w = 8;
    d->classes = 3;
    d->pixels = malloc((size_t)n * 64);
    d->labels = malloc((size_t)n);
    d->owns = true;
    rng r;
    rng_init(&r, seed, 42);
    for (int64_t i = 0; i < n; i++) {
        int c = (int)rng_below(&r, 3);
        d->labels[i] = (uint8_t)c;
        for (int p = 0; p < 64; p++) {
            int row = p / 8, band = row < 3 ? 0 : row < 6 ? 1 : 2;
            double v = rng_uniform(&r) * 160.0 + (band == c ? 90.0 : 0.0);
            d->pixels[i * 64 + p] = (uint8_t)v;
        }
    }
}

static const layer_spec small_specs[] = {
    {.kind = LAYER_CONV, .filters = 4, .size = 3, .stride = 1, .pad = 1},
    {.kind = LAYER_RELU},
    {.kind = LAYER_MAXPOOL, .size = 2},
    {.kind = LAYER_AFFINE, .units = 16},
    {.kind = LAYER_BN},
    {.kind = LAYER_RELU},
    {.kind = LAYER_DROPOUT, .ratio = 0.1f},
    {.kind = LAYER_AFFINE, .units = 3},
};

/* The paper's training configuration at the small net's batch of 20, with the given seed. */
static train_config small_config(uint64_t seed)
{
    train_config tc = train_config_default();
    tc.batch = 20;
    tc.seed = seed;
    return tc;
}

typedef struct run_result {
    float *params;
    size_t n_params;
    train_stats last;
    metrics test;
} run_result;

/* Train the small net with tc (batch 20) for `epochs` epochs and evaluate it on test. */
static void train_small_cfg(run_result *out, const dataset *train, const dataset *test,
                            const train_config *tc, int epochs)
{
    net_config nc = net_config_default();
    nc.c = 1; nc.h = 8; nc.w = 8; nc.classes = 3; nc.max_batch = 20;
    err_info e = {0};
    net *n = NULL;
    assert_int_equal(net_new(&n, &nc, small_specs, 8, &e), 0);
    trainer *t = NULL;
    assert_int_equal(trainer_new(&t, n, train, tc, true, &e), 0);
    for (int ep = 0; ep < epochs; ep++)
        assert_int_equal(trainer_train_epoch(t, &out->last, NULL, NULL, &e), 0);
    assert_int_equal(trainer_evaluate(t, &out->test, test, 0, &e), 0);
    out->n_params = net_param_count(n);
    out->params = malloc(out->n_params * sizeof(float));
    memcpy(out->params, net_params(n), out->n_params * sizeof(float));
    trainer_free(t);
    net_free(n);
}

static void train_small(run_result *out, const dataset *train, const dataset *test,
                        uint64_t seed, sampling_kind sampling, int epochs)
{
    train_config tc = small_config(seed);
    tc.sampling = sampling;
    train_small_cfg(out, train, test, &tc, epochs);
}

static void test_learns_and_is_deterministic(void **state)
{
    (void)state;
    dataset train, test;
    make_synthetic(&train, 2000, 1);
    make_synthetic(&test, 500, 2);
    run_result a, b, c;
    train_small(&a, &train, &test, 5, SAMPLING_WITH_REPLACEMENT, 3);
    train_small(&b, &train, &test, 5, SAMPLING_WITH_REPLACEMENT, 3);
    train_small(&c, &train, &test, 6, SAMPLING_WITH_REPLACEMENT, 3);
    /* it learns: chance is 1/3 */
    assert_true(a.test.accuracy > 0.9);
    assert_int_equal(a.last.epoch, 3);
    assert_int_equal(a.last.iterations, 100); /* 2000 / 20 */
    assert_int_equal(a.last.images, 2000);
    /* same seed: bitwise identical parameters and metrics */
    assert_memory_equal(a.params, b.params, a.n_params * sizeof(float));
    assert_memory_equal(&a.test, &b.test, sizeof a.test);
    assert_memory_equal(&a.last, &b.last, sizeof a.last);
    /* another seed: other parameters */
    assert_memory_not_equal(a.params, c.params, a.n_params * sizeof(float));
    free(a.params);
    free(b.params);
    free(c.params);
    dataset_release(&train);
    dataset_release(&test);
}

static void test_shuffle_protocol(void **state)
{
    (void)state;
    dataset train, test;
    make_synthetic(&train, 2010, 3); /* 2010 = 100 batches of 20 + 10 left over */
    make_synthetic(&test, 300, 4);
    run_result a, b, r;
    train_small(&a, &train, &test, 9, SAMPLING_SHUFFLE, 2);
    train_small(&b, &train, &test, 9, SAMPLING_SHUFFLE, 2);
    train_small(&r, &train, &test, 9, SAMPLING_WITH_REPLACEMENT, 2);
    assert_int_equal(a.last.iterations, 100);
    assert_true(a.test.accuracy > 0.9);
    assert_memory_equal(a.params, b.params, a.n_params * sizeof(float));
    /* the protocol matters: same seed, other sampling, other result */
    assert_memory_not_equal(a.params, r.params, a.n_params * sizeof(float));
    free(a.params);
    free(b.params);
    free(r.params);
    dataset_release(&train);
    dataset_release(&test);
}

static void test_lr_schedule(void **state)
{
    (void)state;
    lr_schedule k;
    err_info e = {0};
    assert_int_equal(lr_schedule_from_name(&k, "cosine", &e), 0);
    assert_int_equal(k, LR_COSINE);
    assert_string_equal(lr_schedule_name(LR_CONSTANT), "constant");
    assert_int_not_equal(lr_schedule_from_name(&k, "step", &e), 0);
    assert_string_equal(e.msg, "unknown learning-rate schedule 'step' (valid: constant, cosine)");
    /* constant: the base rate at every step */
    assert_true(lr_schedule_at(LR_CONSTANT, 0.1f, 0, 10) == 0.1f);
    assert_true(lr_schedule_at(LR_CONSTANT, 0.1f, 9, 10) == 0.1f);
    /* cosine over T = 4 steps: 0.1 * (1 + cos(pi s / 4)) / 2 for s = 0..3
     *   = 0.1, 0.1 * (1 + 0.70711) / 2 = 0.085355, 0.05, 0.1 * (1 - 0.70711) / 2 = 0.014645 */
    assert_float_equal(lr_schedule_at(LR_COSINE, 0.1f, 0, 4), 0.1f, 1e-7);
    assert_float_equal(lr_schedule_at(LR_COSINE, 0.1f, 1, 4), 0.0853553f, 1e-6);
    assert_float_equal(lr_schedule_at(LR_COSINE, 0.1f, 2, 4), 0.05f, 1e-7);
    assert_float_equal(lr_schedule_at(LR_COSINE, 0.1f, 3, 4), 0.0146447f, 1e-6);
}

/* Augmentation and the cosine schedule: each changes the result, each is bitwise repeatable,
 * the defaults leave the paper's path untouched, and bad values are refused. */
static void test_augment_and_schedule(void **state)
{
    (void)state;
    dataset train, test;
    make_synthetic(&train, 2000, 11);
    make_synthetic(&test, 500, 12);
    train_config base = small_config(3);
    train_config aug = base, cos = base;
    aug.augment_shift = 1;
    cos.schedule = LR_COSINE;
    cos.epochs = 2;
    run_result b, a1, a2, c1, c2;
    train_small_cfg(&b, &train, &test, &base, 2);
    train_small_cfg(&a1, &train, &test, &aug, 2);
    train_small_cfg(&a2, &train, &test, &aug, 2);
    train_small_cfg(&c1, &train, &test, &cos, 2);
    train_small_cfg(&c2, &train, &test, &cos, 2);
    assert_memory_equal(a1.params, a2.params, a1.n_params * sizeof(float));
    assert_memory_equal(c1.params, c2.params, c1.n_params * sizeof(float));
    assert_memory_not_equal(b.params, a1.params, b.n_params * sizeof(float));
    assert_memory_not_equal(b.params, c1.params, b.n_params * sizeof(float));
    /* the task is still learnt (bands of 2-3 rows survive a 1-pixel shift) */
    assert_true(a1.test.accuracy > 0.85);
    assert_true(c1.test.accuracy > 0.9);
    run_result *all[] = {&b, &a1, &a2, &c1, &c2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]->params);

    net_config nc = net_config_default();
    nc.c = 1; nc.h = 8; nc.w = 8; nc.classes = 3; nc.max_batch = 20;
    err_info e = {0};
    net *n = NULL;
    trainer *t = NULL;
    assert_int_equal(net_new(&n, &nc, small_specs, 8, &e), 0);
    train_config bad = aug;
    bad.augment_shift = 8;
    assert_int_equal(trainer_new(&t, n, &train, &bad, true, &e), ERR_INVALID);
    assert_string_equal(e.msg, "augmentation shift 8 must be in 0..7 for 8x8 images");
    bad = cos;
    bad.epochs = 0;
    assert_int_equal(trainer_new(&t, n, &train, &bad, true, &e), ERR_INVALID);
    /* a cosine schedule of 1 epoch refuses a second one rather than raise the rate again */
    bad.epochs = 1;
    bad.iters_per_epoch = 3;
    assert_int_equal(trainer_new(&t, n, &train, &bad, true, &e), 0);
    train_stats st;
    assert_int_equal(trainer_train_epoch(t, &st, NULL, NULL, &e), 0);
    assert_int_equal(trainer_train_epoch(t, &st, NULL, NULL, &e), ERR_INVALID);
    assert_string_equal(e.msg, "the cosine schedule spans 1 epochs; epoch 2 is past it");
    trainer_free(t);
    net_free(n);
    dataset_release(&train);
    dataset_release(&test);
}

/* The training loop as it was before the distortions existed (with-replacement sampling,
 * constant rate), written out from its parts: sample on RNG_STREAM_SAMPLE, gather, translate
 * each image by (dx, dy) = rng_below(2s+1) - s twice on RNG_STREAM_AUGMENT, forward, backward,
 * optimizer step. The parameters after `epochs` epochs go to out. */
static void train_reference(run_result *out, const dataset *train, const train_config *tc,
                            int epochs)
{
    net_config nc = net_config_default();
    nc.c = 1; nc.h = 8; nc.w = 8; nc.classes = 3; nc.max_batch = 20;
    err_info e = {0};
    net *n = NULL;
    optim *o = NULL;
    assert_int_equal(net_new(&n, &nc, small_specs, 8, &e), 0);
    assert_int_equal(optim_new(&o, &tc->optim, net_param_count(n), &e), 0);
    net_init_params(n, tc->seed);
    rng sample, shift;
    rng_init(&sample, tc->seed, RNG_STREAM_SAMPLE);
    rng_init(&shift, tc->seed, RNG_STREAM_AUGMENT);
    const int B = tc->batch, s = tc->augment_shift;
    float x[20 * 64], tmp[64];
    uint8_t y[20];
    uint32_t idx[20];
    for (int ep = 0; ep < epochs; ep++)
        for (int it = 0; it < (int)(train->n / B); it++) {
            for (int b = 0; b < B; b++)
                idx[b] = rng_below(&sample, (uint32_t)train->n);
            dataset_gather(x, y, train, idx, 0, B);
            for (int b = 0; b < B && s > 0; b++) {
                const int dx = (int)rng_below(&shift, 2u * (uint32_t)s + 1u) - s;
                const int dy = (int)rng_below(&shift, 2u * (uint32_t)s + 1u) - s;
                dataset_translate(x + b * 64, 1, 8, 8, dx, dy, tmp);
            }
            net_forward(n, x, y, B, true);
            net_backward(n, y, B);
            optim_step_par(o, net_params(n), net_grads(n), net_decay_mask(n), net_param_count(n), NULL);
        }
    out->n_params = net_param_count(n);
    out->params = malloc(out->n_params * sizeof(float));
    memcpy(out->params, net_params(n), out->n_params * sizeof(float));
    optim_free(o);
    net_free(n);
}

/* With every distortion off (the default augment_config), training is bitwise the loop above,
 * with and without the shift: adding the distortions moved no draw and no bit of the paths that
 * existed before them. And a distortion that is on changes the parameters (the comparison can
 * fail). */
static void test_distortions_off_are_the_old_path(void **state)
{
    (void)state;
    dataset train, test;
    make_synthetic(&train, 600, 21);
    make_synthetic(&test, 100, 22);
    for (int s = 0; s <= 1; s++) {
        train_config tc = small_config(4);
        tc.augment_shift = s;
        assert_false(augment_config_distorts(&tc.augment));
        run_result got, want;
        train_small_cfg(&got, &train, &test, &tc, 2);
        train_reference(&want, &train, &tc, 2);
        assert_int_equal(got.n_params, want.n_params);
        assert_memory_equal(got.params, want.params, got.n_params * sizeof(float));
        free(got.params);
        tc.augment.rotate_deg = 10.0f;
        train_small_cfg(&got, &train, &test, &tc, 2);
        assert_memory_not_equal(got.params, want.params, got.n_params * sizeof(float));
        free(got.params);
        free(want.params);
    }
    dataset_release(&train);
    dataset_release(&test);
}

/* Training with every distortion on (and the shift): bitwise repeatable, other parameters than
 * without them, the task still learnt; a bad value is refused by trainer_new; and evaluation
 * does not augment: the trained net gives the same metrics through a trainer without any
 * augmentation. */
static void test_distortions_train(void **state)
{
    (void)state;
    dataset train, test;
    make_synthetic(&train, 2000, 23);
    make_synthetic(&test, 500, 24);
    train_config base = small_config(7);
    train_config aug = base;
    aug.augment_shift = 1;
    aug.augment.rotate_deg = 8.0f;
    aug.augment.scale = 0.1f;
    aug.augment.shear = 0.1f;
    aug.augment.elastic_alpha = 4.0f;
    aug.augment.elastic_sigma = 2.0f;
    run_result b, a1, a2;
    train_small_cfg(&b, &train, &test, &base, 2);
    train_small_cfg(&a1, &train, &test, &aug, 2);
    train_small_cfg(&a2, &train, &test, &aug, 2);
    assert_memory_equal(a1.params, a2.params, a1.n_params * sizeof(float));
    assert_memory_equal(&a1.test, &a2.test, sizeof a1.test);
    assert_memory_not_equal(b.params, a1.params, b.n_params * sizeof(float));
    print_message("distorted training: test accuracy %.3f (undistorted %.3f)\n",
                  a1.test.accuracy, b.test.accuracy);
    assert_true(a1.test.accuracy > 0.85);
    free(b.params);
    free(a1.params);
    free(a2.params);

    net_config nc = net_config_default();
    nc.c = 1; nc.h = 8; nc.w = 8; nc.classes = 3; nc.max_batch = 20;
    err_info e = {0};
    net *n = NULL;
    trainer *t = NULL, *plain = NULL;
    assert_int_equal(net_new(&n, &nc, small_specs, 8, &e), 0);
    train_config bad = aug;
    bad.augment.rotate_deg = 200.0f;
    assert_int_equal(trainer_new(&t, n, &train, &bad, true, &e), ERR_INVALID);
    assert_string_equal(e.msg, "augmentation rotate_deg 200 must be in [0, 180]");
    assert_null(t);
    assert_int_equal(trainer_new(&t, n, &train, &aug, true, &e), 0);
    train_stats st;
    assert_int_equal(trainer_train_epoch(t, &st, NULL, NULL, &e), 0);
    assert_int_equal(trainer_new(&plain, n, &train, &base, false, &e), 0);
    metrics m1, m2, m3;
    assert_int_equal(trainer_evaluate(t, &m1, &test, 0, &e), 0);
    assert_int_equal(trainer_evaluate(plain, &m2, &test, 0, &e), 0);
    assert_int_equal(trainer_evaluate(t, &m3, &test, 0, &e), 0);
    assert_memory_equal(&m1, &m2, sizeof m1);
    assert_memory_equal(&m1, &m3, sizeof m1);
    trainer_free(t);
    trainer_free(plain);
    net_free(n);
    dataset_release(&train);
    dataset_release(&test);
}

static void test_divergence_is_reported(void **state)
{
    (void)state;
    dataset train;
    make_synthetic(&train, 400, 5);
    layer_spec specs[] = {{.kind = LAYER_AFFINE, .units = 32}, {.kind = LAYER_RELU},
                          {.kind = LAYER_AFFINE, .units = 3}};
    net_config nc = net_config_default();
    nc.c = 1; nc.h = 8; nc.w = 8; nc.classes = 3; nc.max_batch = 20;
    nc.init = INIT_HE;
    err_info e = {0};
    net *n = NULL;
    assert_int_equal(net_new(&n, &nc, specs, 3, &e), 0);
    train_config tc = train_config_default();
    tc.batch = 20;
    tc.optim = optim_defaults(OPTIM_SGD);
    tc.optim.lr = 1e30f;
    trainer *t = NULL;
    assert_int_equal(trainer_new(&t, n, &train, &tc, true, &e), 0);
    train_stats st;
    int rc = 0;
    for (int ep = 0; ep < 5 && rc == 0; ep++)
        rc = trainer_train_epoch(t, &st, NULL, NULL, &e);
    assert_int_equal(rc, ERR_DIVERGED);
    assert_true(st.diverged_iter >= 1);
    assert_non_null(strstr(e.msg, "at epoch"));
    trainer_free(t);
    net_free(n);
    dataset_release(&train);
}

static int stop_at_7(void *ctx, int epoch, int iter, int iters, double loss)
{
    (void)epoch; (void)iters; (void)loss;
    int *calls = ctx;
    ++*calls;
    return iter == 7;
}

static void test_interrupt_and_bad_config(void **state)
{
    (void)state;
    dataset train;
    make_synthetic(&train, 400, 6);
    net_config nc = net_config_default();
    nc.c = 1; nc.h = 8; nc.w = 8; nc.classes = 3; nc.max_batch = 20;
    err_info e = {0};
    net *n = NULL;
    assert_int_equal(net_new(&n, &nc, small_specs, 8, &e), 0);
    train_config tc = train_config_default();
    tc.batch = 20;
    trainer *t = NULL;
    assert_int_equal(trainer_new(&t, n, &train, &tc, true, &e), 0);
    int calls = 0;
    train_stats st;
    assert_int_equal(trainer_train_epoch(t, &st, stop_at_7, &calls, &e), ERR_INTERRUPTED);
    assert_int_equal(calls, 7);
    assert_int_equal(st.iterations, 7);
    trainer_free(t);

    tc.batch = 50; /* larger than the net's max_batch */
    assert_int_equal(trainer_new(&t, n, &train, &tc, true, &e), ERR_INVALID);
    assert_null(t);
    tc.batch = 20;
    tc.optim.lr = -1.0f;
    assert_int_not_equal(trainer_new(&t, n, &train, &tc, true, &e), 0);
    net_free(n);
    dataset_release(&train);

    sampling_kind k;
    assert_int_equal(sampling_kind_from_name(&k, "shuffle", &e), 0);
    assert_int_equal(k, SAMPLING_SHUFFLE);
    assert_int_equal(sampling_kind_from_name(&k, "bootstrap", &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "with-replacement"));
}

/* Find MNIST as a user would have it after `bench data fetch`: $BENCH_DATA_DIR/mnist,
 * $BENCH_DATA_DIR itself, or data/mnist in the source tree. Raw or gzipped files: *gz <- ""
 * or ".gz", the suffix of the names found (the IDX reader inflates by the gzip magic). */
static int find_mnist(char *dir, size_t n, const char **gz)
{
    const char *env = getenv("BENCH_DATA_DIR");
    const char *candidates[3] = {NULL, NULL, TEST_DATA_DIR "/../../data/mnist"};
    char a[1024], b[1024];
    if (env) {
        snprintf(a, sizeof a, "%s/mnist", env);
        snprintf(b, sizeof b, "%s", env);
        candidates[0] = a;
        candidates[1] = b;
    }
    for (int i = 0; i < 3; i++) {
        if (!candidates[i])
            continue;
        static const char *const suffixes[] = {"", ".gz"};
        for (int k = 0; k < 2; k++) {
            char probe[1100];
            struct stat st;
            snprintf(probe, sizeof probe, "%s/train-labels-idx1-ubyte%s", candidates[i],
                     suffixes[k]);
            if (stat(probe, &st) == 0) {
                snprintf(dir, n, "%s", candidates[i]);
                *gz = suffixes[k];
                return 0;
            }
        }
    }
    return -1;
}

/* The paper's configuration (its network with BN, Momentum lr 0.1, batch 100, 600 draws with
 * replacement), seed 1, one epoch: at least 97% on the 10,000 test images. */
static void test_paper_one_epoch_mnist(void **state)
{
    (void)state;
    char dir[1024], ti[1200], tl[1200], vi[1200], vl[1200];
    const char *gz = "";
    if (find_mnist(dir, sizeof dir, &gz) != 0)
        fail_msg("MNIST not found: run 'build/bench data fetch mnist' or set BENCH_DATA_DIR");
    snprintf(ti, sizeof ti, "%s/train-images-idx3-ubyte%s", dir, gz);
    snprintf(tl, sizeof tl, "%s/train-labels-idx1-ubyte%s", dir, gz);
    snprintf(vi, sizeof vi, "%s/t10k-images-idx3-ubyte%s", dir, gz);
    snprintf(vl, sizeof vl, "%s/t10k-labels-idx1-ubyte%s", dir, gz);
    dataset train, test;
    err_info e = {0};
    if (dataset_load_idx(&train, ti, tl, &e) || dataset_load_idx(&test, vi, vl, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(train.n, 60000);
    assert_int_equal(test.n, 10000);

    const model_preset *p;
    assert_int_equal(models_find(&p, "paper", &e), 0);
    layer_spec specs[MODELS_MAX_LAYERS];
    int ns = models_layers(specs, MODELS_MAX_LAYERS, p, 10, true);
    net_config nc = net_config_default();
    nc.gemm.threads = 2;
    net *n = NULL;
    assert_int_equal(net_new(&n, &nc, specs, ns, &e), 0);
    train_config tc = train_config_default();
    trainer *t = NULL;
    assert_int_equal(trainer_new(&t, n, &train, &tc, true, &e), 0);
    train_stats st;
    assert_int_equal(trainer_train_epoch(t, &st, NULL, NULL, &e), 0);
    assert_int_equal(st.iterations, 600);
    metrics m;
    assert_int_equal(trainer_evaluate(t, &m, &test, 0, &e), 0);
    print_message("paper config, seed 1, 1 epoch: test accuracy %.4f, macro F1 %.4f\n",
                  m.accuracy, m.f1_macro);
    assert_int_equal(m.n, 10000);
    assert_true(m.accuracy >= 0.97);
    assert_true(m.f1_macro >= 0.96);
    trainer_free(t);
    net_free(n);
    dataset_release(&train);
    dataset_release(&test);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_and_is_deterministic),
        cmocka_unit_test(test_shuffle_protocol),
        cmocka_unit_test(test_lr_schedule),
        cmocka_unit_test(test_augment_and_schedule),
        cmocka_unit_test(test_distortions_off_are_the_old_path),
        cmocka_unit_test(test_distortions_train),
        cmocka_unit_test(test_divergence_is_reported),
        cmocka_unit_test(test_interrupt_and_bad_config),
        cmocka_unit_test(test_paper_one_epoch_mnist),
    };
    return cmocka_run_group_tests_name("train", tests, NULL, NULL);
}
