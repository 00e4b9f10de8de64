/* Tests of exp: the shipped experiment files, the paper's defaults, sweep expansion (order,
 * labels, precedence of optimizer parameters), canonical run JSON and run keys, a corpus of
 * bad files under tests/data/exp/bad/, each checked for its error code, file, line and key,
 * and the vocabulary: every configuration key named once, found by label, TOML path or JSON
 * path, its values printed one way (0.05, true) and typed in JSON, a run's values the file's
 * own doubles, and what the store keeps of a sweep. */
#define _POSIX_C_SOURCE 200809L /* popen, mkstemp, fdopen, unlink */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "exp.h"
#include "sha256.h"

#define EXPERIMENTS_DIR TEST_DATA_DIR "/../../experiments/"
#define BAD_DIR TEST_DATA_DIR "/exp/bad/"
#define GOOD_DIR TEST_DATA_DIR "/exp/good/"

/* Parse text (must succeed) into x. */
static void parse_ok(experiment *x, const char *text)
{
    err_info e = {0};
    int rc = exp_parse(x, text, strlen(text), "t.toml", &e);
    if (rc)
        fail_msg("unexpected error: %s", e.msg);
}

/* Parse text (must fail with code) and return the message in e. */
static void parse_bad(err_info *e, const char *text, int code)
{
    experiment x;
    int rc = exp_parse(&x, text, strlen(text), "t.toml", e);
    assert_int_equal(rc, code);
    assert_int_equal(e->code, code);
    assert_null(x.runs);
    assert_null(x.text);
}

/* ---- shipped files ----------------------------------------------------------------------- */

static void load_shipped(experiment *x, const char *name, int runs)
{
    char path[1024];
    err_info e = {0};
    snprintf(path, sizeof path, "%s%s", EXPERIMENTS_DIR, name);
    int rc = exp_load(x, path, &e);
    if (rc)
        fail_msg("%s: %s", name, e.msg);
    assert_int_equal(x->n_runs, runs);
    for (int i = 0; i < x->n_runs; i++)
        assert_int_equal(x->runs[i].index, i);
    assert_true(x->text_len > 0);
    assert_int_equal(strlen(x->sha256), 64);
    assert_string_equal(x->file, path);
}

static void test_shipped_files(void **state)
{
    (void)state;
    static const struct {
        const char *file, *name;
        int runs;
    } files[] = {
        {"paper.toml", "paper", 5},   {"optimizers.toml", "optimizers", 40},
        {"bn.toml", "bn", 10},        {"lenet5.toml", "lenet5", 3},
        {"ji2018.toml", "ji2018", 3}, {"quick.toml", "quick", 2},
        {"ci.toml", "ci", 1},         {"fashion.toml", "fashion", 3},
        {"select995.toml", "select995", 4}, {"target995.toml", "target995", 3},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        experiment x;
        load_shipped(&x, files[i].file, files[i].runs);
        assert_string_equal(x.name, files[i].name);
        assert_true(strlen(x.description) > 0);
        exp_release(&x);
    }
}

static void test_shipped_contents(void **state)
{
    (void)state;
    experiment x;

    load_shipped(&x, "paper.toml", 5);
    assert_int_equal(x.n_swept, 1);
    assert_string_equal(x.swept[0], "seed");
    for (int i = 0; i < 5; i++) {
        assert_int_equal(x.runs[i].train.seed, (uint64_t)i + 1);
        assert_string_equal(x.runs[i].model, "paper");
        assert_true(x.runs[i].bn);
        assert_int_equal(x.runs[i].epochs, 20);
        assert_int_equal(x.runs[i].train.optim.kind, OPTIM_MOMENTUM);
        assert_true(x.runs[i].train.optim.lr == 0.1f);
    }
    assert_string_equal(x.runs[4].label, "seed=5");
    exp_release(&x);

    load_shipped(&x, "optimizers.toml", 40);
    /* optimizer slowest, seed fastest: runs 0-9 sgd, 10-19 momentum, 20-29 adagrad, 30-39 adam. */
    static const struct {
        optim_kind kind;
        float lr;
    } want[4] = {{OPTIM_SGD, 0.1f}, {OPTIM_MOMENTUM, 0.1f}, {OPTIM_ADAGRAD, 0.01f},
                 {OPTIM_ADAM, 0.001f}};
    for (int i = 0; i < 40; i++) {
        const run_spec *r = &x.runs[i];
        assert_int_equal(r->train.optim.kind, want[i / 10].kind);
        assert_true(r->train.optim.lr == want[i / 10].lr);
        assert_int_equal(r->bn, (i / 5) % 2 == 0);
        assert_int_equal(r->train.seed, (uint64_t)(i % 5) + 1);
    }
    assert_string_equal(x.runs[37].label, "optimizer=adam bn=false seed=3");
    exp_release(&x);

    load_shipped(&x, "lenet5.toml", 3);
    assert_string_equal(x.runs[0].model, "lenet5");
    assert_int_equal(x.runs[0].init, INIT_XAVIER);
    exp_release(&x);

    load_shipped(&x, "ji2018.toml", 3);
    assert_string_equal(x.runs[0].model, "ji2018");
    assert_int_equal(x.runs[0].init, INIT_HE);
    exp_release(&x);

    load_shipped(&x, "quick.toml", 2);
    assert_int_equal(x.runs[0].epochs, 2);
    assert_true(x.runs[0].bn);
    assert_false(x.runs[1].bn);
    assert_string_equal(x.runs[1].label, "bn=false");
    exp_release(&x);

    load_shipped(&x, "ci.toml", 1);
    assert_true(x.budget_minutes == 20.0);
    assert_true(x.target_accuracy == 0.99);
    assert_int_equal(x.n_swept, 0);
    assert_string_equal(x.runs[0].label, "");
    exp_release(&x);

    load_shipped(&x, "fashion.toml", 3);
    assert_string_equal(x.runs[0].dataset, "fashion-mnist");
    assert_int_equal(x.runs[0].classes, 10);
    exp_release(&x);
}

/* ---- defaults and resolution ------------------------------------------------------------- */

static void test_defaults_are_the_paper(void **state)
{
    (void)state;
    experiment x;
    parse_ok(&x, "# nothing: every default\n");
    assert_int_equal(x.n_runs, 1);
    assert_string_equal(x.name, "t");
    assert_true(x.budget_minutes == 0.0 && x.target_accuracy == 0.0);
    const run_spec *r = &x.runs[0];
    assert_string_equal(r->label, "");
    assert_string_equal(r->dataset, "mnist");
    assert_int_equal(r->validation, 0);
    assert_int_equal(r->classes, 10);
    assert_int_equal(r->channels, 1);
    assert_int_equal(r->height, 28);
    assert_int_equal(r->width, 28);
    assert_string_equal(r->model, "paper");
    assert_true(r->bn);
    /* conv 30@5x5 -> ReLU -> max-pool 2 -> affine 100 -> BN -> ReLU -> affine 10 */
    const model_preset *p;
    assert_int_equal(models_find(&p, "paper", NULL), 0);
    layer_spec want[MODELS_MAX_LAYERS];
    int n = models_layers(want, MODELS_MAX_LAYERS, p, 10, true);
    assert_int_equal(r->n_layers, n);
    assert_int_equal(n, 7);
    assert_memory_equal(r->layers, want, (size_t)n * sizeof want[0]);
    assert_int_equal(r->layers[0].filters, 30);
    assert_int_equal(r->layers[6].units, 10);
    assert_int_equal(r->init, INIT_NORMAL);
    assert_true(r->init_std == 0.01f);
    assert_int_equal(r->epochs, 20);
    train_config d = train_config_default();
    assert_int_equal(r->train.batch, 100);
    assert_int_equal(r->train.batch, d.batch);
    assert_int_equal(r->train.sampling, SAMPLING_WITH_REPLACEMENT);
    assert_int_equal(r->train.iters_per_epoch, 0);
    assert_int_equal(r->train.schedule, LR_CONSTANT);
    assert_int_equal(r->train.augment_shift, 0);
    assert_int_equal(r->train.seed, 1);
    assert_int_equal(r->train.optim.kind, OPTIM_MOMENTUM);
    assert_true(r->train.optim.lr == 0.1f);
    assert_true(r->train.optim.momentum == 0.9f);
    assert_true(r->train.optim.weight_decay == 0.0f);
    assert_memory_equal(&r->train.optim, &d.optim, sizeof d.optim);
    assert_int_equal(r->threads, 0);
    assert_int_equal(r->eval_train_n, 10000);
    assert_int_equal(r->eval_test_n, 0);
    char s[256];
    exp_run_summary(s, sizeof s, r);
    assert_string_equal(s, "model=paper bn=true optimizer=momentum lr=0.1 batch=100 epochs=20 seed=1");
    exp_release(&x);
}

static void test_default_lr_per_optimizer(void **state)
{
    (void)state;
    experiment x;
    parse_ok(&x, "[sweep]\noptimizer = [\"momentum\", \"sgd\", \"nesterov\", \"adagrad\", "
                 "\"rmsprop\", \"adam\"]\n");
    assert_int_equal(x.n_runs, 6);
    assert_true(x.runs[0].train.optim.lr == 0.1f);   /* the paper's Momentum */
    assert_true(x.runs[1].train.optim.lr == 0.01f);  /* optim_defaults: the textbook's */
    assert_true(x.runs[2].train.optim.lr == 0.01f);
    assert_true(x.runs[3].train.optim.lr == 0.01f);
    assert_true(x.runs[4].train.optim.lr == 0.01f);
    assert_true(x.runs[5].train.optim.lr == 0.001f);
    assert_true(x.runs[5].train.optim.beta1 == 0.9f);
    assert_true(x.runs[5].train.optim.beta2 == 0.999f);
    assert_true(x.runs[4].train.optim.decay_rate == 0.99f);
    exp_release(&x);
}

static void test_all_keys(void **state)
{
    (void)state;
    experiment x;
    parse_ok(&x, "[experiment]\nname = \"all\"\ndescription = \"every key\"\n"
                 "[data]\ndataset = \"fashion-mnist\"\nvalidation = 5000\n"
                 "[model]\npreset = \"ji2018\"\nbn = false\ninit = \"he\"\ninit_std = 0.05\n"
                 "[training]\nepochs = 3\nbatch = 50\nsampling = \"shuffle\"\niterations = 7\n"
                 "optimizer = \"rmsprop\"\nlr = 1\nmomentum = 0.5\nbeta1 = 0.8\nbeta2 = 0.9\n"
                 "decay_rate = 0.95\nweight_decay = 1e-4\nseed = 42\nthreads = 2\n"
                 "lr_schedule = \"cosine\"\naugment_shift = 2\n"
                 "[evaluation]\ntrain_samples = 0\ntest_samples = 1000\n"
                 "[budget]\nminutes = 1.5\ntarget_accuracy = 1\n");
    assert_string_equal(x.name, "all");
    assert_string_equal(x.description, "every key");
    assert_true(x.budget_minutes == 1.5);
    assert_true(x.target_accuracy == 1.0);
    const run_spec *r = &x.runs[0];
    assert_string_equal(r->dataset, "fashion-mnist");
    assert_int_equal(r->validation, 5000);
    assert_string_equal(r->model, "ji2018");
    assert_false(r->bn);
    for (int i = 0; i < r->n_layers; i++)
        assert_int_not_equal(r->layers[i].kind, LAYER_BN);
    assert_int_equal(r->n_layers, 9); /* ji2018's 12 layers minus 3 BN */
    assert_int_equal(r->init, INIT_HE);
    assert_true(r->init_std == 0.05f);
    assert_int_equal(r->epochs, 3);
    assert_int_equal(r->train.batch, 50);
    assert_int_equal(r->train.sampling, SAMPLING_SHUFFLE);
    assert_int_equal(r->train.iters_per_epoch, 7);
    assert_int_equal(r->train.optim.kind, OPTIM_RMSPROP);
    assert_true(r->train.optim.lr == 1.0f); /* an integer where a float is expected */
    assert_true(r->train.optim.momentum == 0.5f);
    assert_true(r->train.optim.beta1 == 0.8f);
    assert_true(r->train.optim.beta2 == 0.9f);
    assert_true(r->train.optim.decay_rate == 0.95f);
    assert_true(r->train.optim.weight_decay == 1e-4f);
    assert_int_equal(r->train.seed, 42);
    assert_int_equal(r->train.schedule, LR_COSINE);
    assert_int_equal(r->train.epochs, 3); /* the schedule's length */
    assert_int_equal(r->train.augment_shift, 2);
    assert_int_equal(r->threads, 2);
    assert_int_equal(r->eval_train_n, 0);
    assert_int_equal(r->eval_test_n, 1000);
    char s[256];
    exp_run_summary(s, sizeof s, r);
    assert_string_equal(s, "model=ji2018 bn=false optimizer=rmsprop lr=1 batch=50 epochs=3 "
                           "seed=42 weight_decay=0.0001 lr_schedule=cosine augment_shift=2 "
                           "dataset=fashion-mnist");
    exp_release(&x);
}

/* The distortions of the training core are experiment keys: read into the run's train_config,
 * written into its configuration (so into its key), sweepable, and checked against the
 * augmenter's own ranges with the key and line named. */
static void test_augment_keys(void **state)
{
    (void)state;
    experiment x;
    parse_ok(&x, "[training]\naugment_rotate = 10\naugment_scale = 0.1\naugment_shear = 0.2\n"
                 "augment_elastic_alpha = 34\naugment_elastic_sigma = 6\n"
                 "[sweep]\naugment_rotate = [0, 12.5]\n");
    assert_int_equal(x.n_runs, 2);
    const augment_config *a = &x.runs[1].train.augment;
    assert_true(a->rotate_deg == 12.5f && a->scale == 0.1f && a->shear == 0.2f);
    assert_true(a->elastic_alpha == 34.0f && a->elastic_sigma == 6.0f);
    assert_true(x.runs[0].train.augment.rotate_deg == 0.0f);
    assert_string_equal(x.runs[1].label, "augment_rotate=12.5");
    char s[512];
    exp_run_summary(s, sizeof s, &x.runs[1]);
    assert_non_null(strstr(s, "augment_rotate=12.5 augment_scale=0.1 augment_shear=0.2 "
                              "augment_elastic_alpha=34 augment_elastic_sigma=6"));
    char *j0 = exp_run_json(&x.runs[0]), *j1 = exp_run_json(&x.runs[1]);
    assert_non_null(strstr(j1, "\"augment\":{\"elastic_alpha\":34.0,\"elastic_sigma\":6.0,"
                               "\"rotate_deg\":12.5,\"scale\":0.1,\"shear\":0.2}"));
    assert_string_not_equal(j0, j1);
    free(j0);
    free(j1);
    exp_release(&x);

    /* Off by default: every magnitude 0 in the configuration, sigma absent (it shapes nothing
     * without alpha) and absent from the summary. */
    parse_ok(&x, "");
    assert_false(augment_config_distorts(&x.runs[0].train.augment));
    char *j = exp_run_json(&x.runs[0]);
    assert_non_null(strstr(j, "\"augment\":{\"elastic_alpha\":0.0,\"rotate_deg\":0.0,"
                              "\"scale\":0.0,\"shear\":0.0}"));
    free(j);
    exp_run_summary(s, sizeof s, &x.runs[0]);
    assert_null(strstr(s, "augment"));
    exp_release(&x);

    err_info e = {0};
    parse_bad(&e, "[training]\naugment_rotate = 181\n", ERR_INVALID);
    assert_non_null(strstr(e.msg, "t.toml:2: key 'training.augment_rotate': must be a number in "
                                  "[0, 180]"));
    parse_bad(&e, "[training]\naugment_scale = 1\n", ERR_INVALID);
    assert_non_null(strstr(e.msg, "key 'training.augment_scale': must be a number in [0, 1)"));
    /* Below 1 as a double, 1 as the float the augmenter would use. */
    parse_bad(&e, "[training]\naugment_scale = 0.99999999999\n", ERR_INVALID);
    assert_non_null(strstr(e.msg, "t.toml:2: key 'training.augment_scale'"));
    parse_bad(&e, "[training]\naugment_elastic_sigma = 0\n", ERR_INVALID);
    assert_non_null(strstr(e.msg, "key 'training.augment_elastic_sigma': must be a number in "
                                  "(0, 100]"));
    parse_bad(&e, "[sweep]\naugment_shear = [0.1, \"x\"]\n", ERR_INVALID);
    assert_non_null(strstr(e.msg, "t.toml:2: key 'sweep.augment_shear'"));
}

static void test_custom_layers_idx(void **state)
{
    (void)state;
    experiment x;
    err_info e = {0};
    int rc = exp_load(&x, GOOD_DIR "custom_idx.toml", &e);
    if (rc)
        fail_msg("%s", e.msg);
    assert_string_equal(x.name, "custom_idx"); /* the file's base name */
    assert_int_equal(x.n_runs, 2);
    const run_spec *r = &x.runs[0];
    assert_string_equal(r->model, "custom");
    assert_string_equal(r->dataset, "idx:data/digits8");
    assert_int_equal(r->classes, 5);
    assert_int_equal(r->channels, 1);
    assert_int_equal(r->height, 8);
    assert_int_equal(r->width, 8);
    assert_int_equal(r->n_layers, 8);
    assert_int_equal(r->layers[0].kind, LAYER_CONV);
    assert_int_equal(r->layers[0].filters, 4);
    assert_int_equal(r->layers[0].size, 3);
    assert_int_equal(r->layers[0].stride, 1);
    assert_int_equal(r->layers[0].pad, 1);
    assert_int_equal(r->layers[2].kind, LAYER_MAXPOOL);
    assert_int_equal(r->layers[2].stride, 2); /* defaults to the window size */
    assert_int_equal(r->layers[5].kind, LAYER_DROPOUT);
    assert_true(r->layers[5].ratio == 0.25f);
    assert_int_equal(r->layers[7].kind, LAYER_AFFINE);
    assert_int_equal(r->layers[7].units, 5); /* "classes" */
    /* bn = false removes the BN layer of a custom list too. */
    assert_string_equal(x.runs[1].label, "bn=false");
    assert_int_equal(x.runs[1].n_layers, 7);
    for (int i = 0; i < x.runs[1].n_layers; i++)
        assert_int_not_equal(x.runs[1].layers[i].kind, LAYER_BN);
    exp_release(&x);
}

/* ---- sweeps ------------------------------------------------------------------------------ */

static void test_grid_order_and_labels(void **state)
{
    (void)state;
    experiment x;
    parse_ok(&x, "[sweep]\noptimizer = [\"sgd\", \"adam\"]\nbn = [true, false]\n"
                 "seed = [1, 2, 3]\n");
    assert_int_equal(x.n_runs, 12);
    assert_int_equal(x.n_swept, 3);
    assert_string_equal(x.swept[0], "optimizer");
    assert_string_equal(x.swept[1], "bn");
    assert_string_equal(x.swept[2], "seed");
    assert_string_equal(x.runs[0].label, "optimizer=sgd bn=true seed=1");
    assert_string_equal(x.runs[1].label, "optimizer=sgd bn=true seed=2");
    assert_string_equal(x.runs[3].label, "optimizer=sgd bn=false seed=1");
    assert_string_equal(x.runs[6].label, "optimizer=adam bn=true seed=1");
    assert_string_equal(x.runs[11].label, "optimizer=adam bn=false seed=3");
    for (int i = 0; i < 12; i++) {
        assert_int_equal(x.runs[i].index, i);
        assert_int_equal(x.runs[i].train.optim.kind, i < 6 ? OPTIM_SGD : OPTIM_ADAM);
        assert_int_equal(x.runs[i].bn, (i / 3) % 2 == 0);
        assert_int_equal(x.runs[i].train.seed, (uint64_t)(i % 3) + 1);
        assert_int_equal(x.runs[i].n_layers, x.runs[i].bn ? 7 : 6);
    }
    exp_release(&x);

    /* Floats and strings in labels; the order of [sweep] keys is the file's. */
    parse_ok(&x, "[sweep]\nlr = [0.05, 1e-3]\nsampling = [\"shuffle\"]\nmodel = [\"lenet5\"]\n");
    assert_int_equal(x.n_runs, 2);
    assert_string_equal(x.runs[0].label, "lr=0.05 sampling=shuffle model=lenet5");
    assert_string_equal(x.runs[1].label, "lr=0.001 sampling=shuffle model=lenet5");
    assert_true(x.runs[1].train.optim.lr == 0.001f);
    exp_release(&x);
}

static void test_sweep_dotted_names(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "[sweep]\n\"training.lr\" = [0.01, 0.02]\n",
        "[sweep]\ntraining.lr = [0.01, 0.02]\n",
        "[sweep.training]\nlr = [0.01, 0.02]\n",
        "[sweep]\nlr = [0.01, 0.02]\n",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        experiment x;
        parse_ok(&x, texts[i]);
        assert_int_equal(x.n_runs, 2);
        assert_int_equal(x.n_swept, 1);
        assert_string_equal(x.swept[0], "lr");
        assert_string_equal(x.runs[1].label, "lr=0.02");
        assert_true(x.runs[1].train.optim.lr == 0.02f);
        exp_release(&x);
    }
    experiment x;
    parse_ok(&x, "[sweep]\n\"model.preset\" = [\"paper\", \"ji2018\"]\n\"data.dataset\" = "
                 "[\"mnist\", \"fashion-mnist\"]\n\"model.bn\" = [false]\n");
    assert_int_equal(x.n_runs, 4);
    assert_string_equal(x.runs[3].label, "model=ji2018 dataset=fashion-mnist bn=false");
    assert_string_equal(x.runs[3].model, "ji2018");
    assert_string_equal(x.runs[3].dataset, "fashion-mnist");
    exp_release(&x);
}

static void test_optimizer_precedence(void **state)
{
    (void)state;
    experiment x;
    /* [training] < [optimizer.NAME] for the selected optimizer. */
    parse_ok(&x, "[training]\nlr = 0.05\nmomentum = 0.8\n"
                 "[optimizer.adam]\nlr = 0.002\nbeta1 = 0.85\n"
                 "[optimizer.momentum]\nmomentum = 0.95\n"
                 "[sweep]\noptimizer = [\"sgd\", \"adam\", \"momentum\"]\n");
    assert_int_equal(x.n_runs, 3);
    assert_true(x.runs[0].train.optim.lr == 0.05f);   /* sgd: [training] */
    assert_true(x.runs[1].train.optim.lr == 0.002f);  /* adam: its table */
    assert_true(x.runs[1].train.optim.beta1 == 0.85f);
    assert_true(x.runs[0].train.optim.beta1 == 0.9f); /* not adam: untouched */
    assert_true(x.runs[2].train.optim.lr == 0.05f);
    assert_true(x.runs[2].train.optim.momentum == 0.95f);
    exp_release(&x);

    /* A swept value wins over both. */
    parse_ok(&x, "[training]\nlr = 0.05\n[optimizer.adam]\nlr = 0.002\n"
                 "[sweep]\noptimizer = [\"sgd\", \"adam\"]\nlr = [0.3, 0.4]\n");
    assert_int_equal(x.n_runs, 4);
    assert_true(x.runs[0].train.optim.lr == 0.3f);
    assert_true(x.runs[1].train.optim.lr == 0.4f);
    assert_true(x.runs[2].train.optim.lr == 0.3f);
    assert_true(x.runs[3].train.optim.lr == 0.4f);
    assert_string_equal(x.runs[3].label, "optimizer=adam lr=0.4");
    exp_release(&x);

    /* Swept momentum likewise beats [optimizer.momentum]. */
    parse_ok(&x, "[optimizer.momentum]\nmomentum = 0.5\n[sweep]\nmomentum = [0.7]\n");
    assert_true(x.runs[0].train.optim.momentum == 0.7f);
    exp_release(&x);
}

static void test_sweep_limit(void **state)
{
    (void)state;
    /* 100 x 100 = EXP_MAX_RUNS runs is allowed; 73 x 137 = 10001 is one too many. */
    char *text = malloc(8192);
    assert_non_null(text);
    int n = sprintf(text, "[sweep]\nseed = [");
    for (int i = 0; i < 100; i++)
        n += sprintf(text + n, "%s%d", i ? ", " : "", i);
    n += sprintf(text + n, "]\nbatch = [");
    for (int i = 0; i < 100; i++)
        n += sprintf(text + n, "%s%d", i ? ", " : "", i + 1);
    sprintf(text + n, "]\n");
    experiment x;
    parse_ok(&x, text);
    assert_int_equal(x.n_runs, EXP_MAX_RUNS);
    assert_string_equal(x.runs[EXP_MAX_RUNS - 1].label, "seed=99 batch=100");
    exp_release(&x);

    n = sprintf(text, "[sweep]\nseed = [");
    for (int i = 0; i < 73; i++)
        n += sprintf(text + n, "%s%d", i ? ", " : "", i);
    n += sprintf(text + n, "]\nbatch = [");
    for (int i = 0; i < 137; i++)
        n += sprintf(text + n, "%s%d", i ? ", " : "", i + 1);
    sprintf(text + n, "]\n");
    err_info e = {0};
    parse_bad(&e, text, ERR_INVALID);
    assert_string_equal(e.msg, "t.toml:1: key 'sweep': the sweep has 10001 runs (limit 10000)");
    free(text);
}

/* The grid's size is checked from the arrays' lengths before any value (issue 18.7): 65,536
 * swept seeds are refused at once for their number, whatever their values, and duplicates are
 * found by sorting (10,000 values, the limit, with repeats far apart), the earliest repeat
 * named at its line. */
static void test_sweep_size_before_values(void **state)
{
    (void)state;
    enum { BIG = 65536, MAX = EXP_MAX_RUNS };
    char *text = malloc(16 * BIG + 64);
    assert_non_null(text);
    err_info e = {0};
    /* the last value invalid, then the last repeating the first: the count is the error */
    for (int last = 0; last < 2; last++) {
        int n = sprintf(text, "[sweep]\nseed = [\n");
        for (int i = 0; i < BIG - 1; i++)
            n += sprintf(text + n, "%d,\n", i);
        sprintf(text + n, "%s]\n", last == 0 ? "-1" : "0");
        parse_bad(&e, text, ERR_INVALID);
        assert_string_equal(e.msg, "t.toml:1: key 'sweep': the sweep has 65536 runs (limit 10000)");
    }
    /* the limit's worth of values, one per line (value i on line i + 3): distinct is fine */
    int n = sprintf(text, "[sweep]\nseed = [\n");
    for (int i = 0; i < MAX; i++)
        n += sprintf(text + n, "%d,\n", MAX - i);
    sprintf(text + n, "]\n");
    experiment x;
    parse_ok(&x, text);
    assert_int_equal(x.n_runs, MAX);
    exp_release(&x);
    /* value 9000 repeats value 7, value 9500 repeats value 2: 9000 is the earliest repeat */
    n = sprintf(text, "[sweep]\nseed = [\n");
    for (int i = 0; i < MAX; i++)
        n += sprintf(text + n, "%d,\n", i == 9000 ? 7 : i == 9500 ? 2 : i);
    sprintf(text + n, "]\n");
    parse_bad(&e, text, ERR_INVALID);
    assert_string_equal(e.msg, "t.toml:9003: key 'sweep.seed': duplicate value 7");
    /* numbers compare by value across integer and float, strings bytewise */
    parse_bad(&e, "[sweep]\nlr = [0.5, 2, 0.25,\n 2.0]\n", ERR_INVALID);
    assert_string_equal(e.msg, "t.toml:3: key 'sweep.lr': duplicate value 2.0");
    parse_bad(&e, "[sweep]\noptimizer = [\"adam\", \"sgd\",\n\"adam\"]\n", ERR_INVALID);
    assert_string_equal(e.msg, "t.toml:3: key 'sweep.optimizer': duplicate value 'adam'");
    parse_ok(&x, "[sweep]\noptimizer = [\"adam\", \"adagrad\"]\nbn = [true, false]\n");
    assert_int_equal(x.n_runs, 4);
    exp_release(&x);
    parse_bad(&e, "[sweep]\nbn = [true, false, true]\n", ERR_INVALID);
    assert_string_equal(e.msg, "t.toml:2: key 'sweep.bn': duplicate value true");
    free(text);
}

/* An optimizer parameter is checked as the float the optimizer uses, at its own key and line
 * (issue 18.11): lr = 1e308 overflows a float; it was blamed on 'training.optimizer' line 1. */
static void test_float_parameters(void **state)
{
    (void)state;
    err_info e = {0};
    parse_bad(&e, "[experiment]\nname = \"x\"\n[training]\nlr = 1e308\n", ERR_INVALID);
    assert_string_equal(e.msg, "t.toml:4: key 'training.lr': must be a finite number > 0 "
                               "representable as a float (at most 3.4e38, at least 1.4e-45) "
                               "(got 1e+308)");
    parse_bad(&e, "[training]\noptimizer = \"adam\"\n[optimizer.adam]\n\nlr = 1e39\n",
              ERR_INVALID);
    assert_non_null(strstr(e.msg, "t.toml:5: key 'optimizer.adam.lr': must be a finite number"));
    parse_bad(&e, "[sweep]\nlr = [0.1,\n  1e300]\n", ERR_INVALID);
    assert_non_null(strstr(e.msg, "t.toml:3: key 'sweep.lr': must be a finite number > 0 "
                                  "representable as a float"));
    parse_bad(&e, "[training]\nweight_decay = 1e300\n", ERR_INVALID);
    assert_non_null(strstr(e.msg, "t.toml:2: key 'training.weight_decay': must be a finite "
                                  "number >= 0 representable as a float"));
    parse_bad(&e, "[training]\noptimizer = \"adam\"\n\nbeta2 = 0.99999999\n", ERR_INVALID);
    assert_string_equal(e.msg, "t.toml:4: key 'training.beta2': must be a number in [0, 1) that "
                               "stays below 1 as a float (got 0.99999999)");
    /* what they let through: the largest and smallest floats, a beta just below 1 */
    experiment x;
    parse_ok(&x, "[training]\nlr = 3e38\nweight_decay = 3e38\n");
    assert_true(x.runs[0].train.optim.lr == 3e38f);
    exp_release(&x);
    parse_ok(&x, "[training]\noptimizer = \"adam\"\nlr = 1e-45\nbeta2 = 0.9999999\n");
    assert_true(x.runs[0].train.optim.lr > 0.0f && x.runs[0].train.optim.beta2 < 1.0f);
    exp_release(&x);
}

/* An experiment file is read up to EXP_FILE_MAX bytes (issue 18.4): /dev/zero, which grew the
 * reader to 24 GB, and a file one byte over are refused in one line; a file of exactly
 * EXP_FILE_MAX bytes is read. */
static void test_file_size_cap(void **state)
{
    (void)state;
    err_info e = {0};
    experiment x;
    assert_int_equal(exp_load(&x, "/dev/zero", &e), ERR_INVALID);
    assert_string_equal(e.msg, "'/dev/zero' is larger than 4 MiB: not an experiment file");
    assert_null(x.runs);
    char path[] = "/tmp/test_exp_capXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    const char *head = "[training]\nepochs = 3\n#";
    fputs(head, f);
    for (size_t i = strlen(head); i < EXP_FILE_MAX - 1; i++)
        fputc('x', f);
    fputc('\n', f);
    fflush(f);
    assert_int_equal(exp_load(&x, path, &e), 0);
    assert_int_equal(x.runs[0].epochs, 3);
    assert_int_equal(x.text_len, EXP_FILE_MAX);
    exp_release(&x);
    fputc('\n', f);
    fclose(f);
    assert_int_equal(exp_load(&x, path, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "is larger than 4 MiB"));
    unlink(path);
}

/* Issue 18.8: control characters in names reached the terminal and the Markdown output raw.
 * They are refused at load, in every string value (named by byte, never echoed) and in the
 * file name that gives the default experiment name; other text, UTF-8 included, is kept. */
static void test_control_characters(void **state)
{
    (void)state;
    err_info e = {0};
    parse_bad(&e, "[experiment]\nname = \"a\\u001b[31mb\"\n", ERR_INVALID);
    assert_string_equal(e.msg, "t.toml:2: key 'experiment.name': must not contain control "
                               "characters (byte 0x1b at offset 1)");
    parse_bad(&e, "[experiment]\ndescription = \"\"\"one\ntwo\"\"\"\n", ERR_INVALID);
    assert_non_null(strstr(e.msg, "key 'experiment.description': must not contain control "
                                  "characters (byte 0x0a at offset 3)"));
    parse_bad(&e, "[experiment]\nname = \"tab\\there\"\n", ERR_INVALID);
    assert_non_null(strstr(e.msg, "(byte 0x09 at offset 3)"));
    parse_bad(&e, "[data]\ndataset = \"idx:d\\u007f\"\n", ERR_INVALID);
    assert_non_null(strstr(e.msg, "key 'data.dataset': must not contain control characters"));
    experiment x;
    const char *text = "[training]\nepochs = 1\n";
    assert_int_equal(exp_parse(&x, text, strlen(text), "dir/x\x1b]0;t\x07.toml", &e),
                     ERR_INVALID);
    assert_null(strchr(e.msg, '\x1b'));
    assert_non_null(strstr(e.msg, "give [experiment] name"));
    /* what passes: the same file with a name, and non-ASCII text */
    const char *named = "[experiment]\nname = \"r\xc3\xa9sum\xc3\xa9 \\\"q\\\" 'a/b'\"\n";
    assert_int_equal(exp_parse(&x, named, strlen(named), "dir/x\x1b.toml", &e), 0);
    assert_string_equal(x.name, "r\xc3\xa9sum\xc3\xa9 \"q\" 'a/b'");
    exp_release(&x);
}

/* ---- JSON and keys ----------------------------------------------------------------------- */

static void test_run_json(void **state)
{
    (void)state;
    experiment x, y;
    parse_ok(&x, "[training]\nlr = 0.05\n[sweep]\nseed = [1, 2]\n");
    parse_ok(&y, "[sweep]\nseed = [1]\n[training]\nlr = 0.05\n");
    char *a = exp_run_json(&x.runs[0]);
    char *b = exp_run_json(&x.runs[0]);
    char *c = exp_run_json(&y.runs[0]); /* the same run from another file and position */
    char *d = exp_run_json(&x.runs[1]);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_non_null(d);
    assert_string_equal(a, b);
    assert_string_equal(a, c);
    assert_string_not_equal(a, d);
    assert_null(strchr(a, '\n')); /* compact */

    json_error_t je;
    json_t *j = json_loads(a, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "seed")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "batch")), 100);
    assert_int_equal(json_integer_value(json_object_get(j, "epochs")), 20);
    assert_string_equal(json_string_value(json_object_get(j, "dataset")), "mnist");
    assert_string_equal(json_string_value(json_object_get(j, "model")), "paper");
    assert_string_equal(json_string_value(json_object_get(j, "sampling")), "with-replacement");
    assert_string_equal(json_string_value(json_object_get(j, "lr_schedule")), "constant");
    assert_int_equal(json_integer_value(json_object_get(j, "augment_shift")), 0);
    assert_true(json_is_true(json_object_get(j, "bn")));
    json_t *opt = json_object_get(j, "optimizer");
    assert_string_equal(json_string_value(json_object_get(opt, "kind")), "momentum");
    /* Floats round-trip to the very float the run uses. */
    assert_true((float)json_real_value(json_object_get(opt, "lr")) == x.runs[0].train.optim.lr);
    assert_true((float)json_real_value(json_object_get(opt, "momentum")) == 0.9f);
    assert_true((float)json_real_value(json_object_get(j, "init_std")) == 0.01f);
    assert_null(json_object_get(opt, "beta1")); /* only what momentum reads */
    json_t *layers = json_object_get(j, "layers");
    assert_int_equal(json_array_size(layers), 7);
    json_t *l0 = json_array_get(layers, 0);
    assert_string_equal(json_string_value(json_object_get(l0, "type")), "conv");
    assert_int_equal(json_integer_value(json_object_get(l0, "filters")), 30);
    assert_int_equal(json_integer_value(json_object_get(l0, "size")), 5);
    /* Keys are sorted: re-dumping the parsed object reproduces the string. */
    char *again = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(9));
    assert_string_equal(again, a);
    free(again);
    json_decref(j);
    free(a);
    free(b);
    free(c);
    free(d);
    exp_release(&x);
    exp_release(&y);
}

static void test_run_json_ignores_unused_params(void **state)
{
    (void)state;
    /* momentum is not read by Adam: changing it must not change Adam's run key. */
    experiment x, y;
    parse_ok(&x, "[training]\noptimizer = \"adam\"\nmomentum = 0.5\n");
    parse_ok(&y, "[training]\noptimizer = \"adam\"\n");
    char *a = exp_run_json(&x.runs[0]), *b = exp_run_json(&y.runs[0]);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "\"beta2\":0.999"));
    free(a);
    free(b);
    exp_release(&x);
    exp_release(&y);
}

static void test_run_key(void **state)
{
    (void)state;
    experiment x;
    err_info e = {0};
    parse_ok(&x, "[sweep]\nseed = [1, 2]\n");
    char k1[65], k1b[65], k2[65], kd[65], kb[65];
    assert_int_equal(exp_run_key(k1, &x.runs[0], "data-a", "build-a", &e), 0);
    assert_int_equal(exp_run_key(k1b, &x.runs[0], "data-a", "build-a", &e), 0);
    assert_int_equal(exp_run_key(k2, &x.runs[1], "data-a", "build-a", &e), 0);
    assert_int_equal(exp_run_key(kd, &x.runs[0], "data-b", "build-a", &e), 0);
    assert_int_equal(exp_run_key(kb, &x.runs[0], "data-a", "build-b", &e), 0);
    assert_int_equal(strlen(k1), 64);
    assert_int_equal(strspn(k1, "0123456789abcdef"), 64);
    assert_string_equal(k1, k1b);
    assert_string_not_equal(k1, k2);
    assert_string_not_equal(k1, kd);
    assert_string_not_equal(k1, kb);
    assert_string_not_equal(kd, kb);

    /* The key is the SHA-256 of "json\ndataset\nbuild". */
    char *json = exp_run_json(&x.runs[0]);
    char buf[4096], want[65];
    int n = snprintf(buf, sizeof buf, "%s\n%s\n%s", json, "data-a", "build-a");
    sha256_hex(want, buf, (size_t)n);
    assert_string_equal(k1, want);
    free(json);
    exp_release(&x);
}

/* ---- errors ------------------------------------------------------------------------------ */

/* A [select] file parses on its own (its keys, metric and margin read; its runs without the
 * selected values), and exp_apply_select types each winner's value through the key's setter as
 * if the file wrote it: an int, a number written as an integer, a string, a boolean; a value
 * out of the key's range is the setter's error at the line of select.keys. */
static void test_select_apply(void **state)
{
    (void)state;
    const char *text = "[training]\nepochs = 3\n\n[select]\nfrom = \"sel\"\n"
                       "keys = [\"augment_shift\", \"training.augment_rotate\", "
                       "\"lr_schedule\", \"bn\"]\nmetric = \"f1\"\nmargin = 0.001\n\n"
                       "[sweep]\nseed = [1, 2]\n";
    experiment x, y;
    err_info e = {0};
    assert_int_equal(exp_parse(&x, text, strlen(text), "t.toml", &e), 0);
    assert_true(x.select.on && !x.select.applied);
    assert_string_equal(x.select.from, "sel");
    assert_int_equal(x.select.n_keys, 4);
    assert_string_equal(x.select.keys[1]->label, "augment_rotate");
    assert_int_equal(x.select.metric, EXP_METRIC_F1);
    assert_true(x.select.margin == 0.001);
    assert_int_equal(x.select.keys_line, 6);
    assert_int_equal(x.runs[0].train.augment_shift, 0);
    exp_value v[4] = {{.type = EXP_INT, .i = 2}, {.type = EXP_INT, .i = 10},
                      {.type = EXP_STR, .s = "cosine"}, {.type = EXP_BOOL, .b = false}};
    assert_int_equal(exp_apply_select(&y, &x, v, &e), 0);
    assert_true(y.select.applied);
    assert_int_equal(y.n_runs, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(y.runs[i].train.augment_shift, 2);
        assert_true(y.runs[i].train.augment.rotate_deg == 10.0f);
        assert_int_equal(y.runs[i].train.schedule, LR_COSINE);
        assert_false(y.runs[i].bn);
        assert_int_equal(y.runs[i].epochs, 3);
    }
    assert_string_equal(y.runs[1].label, "seed=2");
    exp_release(&y);
    v[1] = (exp_value){.type = EXP_NUM, .d = 200.5};
    assert_int_equal(exp_apply_select(&y, &x, v, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "t.toml:6: key 'training.augment_rotate': must be a number in "
                                  "[0, 180] (got 200.5)"));
    assert_null(y.runs);
    exp_release(&x);
}

/* Every file of tests/data/exp/bad/ with its error: code, line and a piece of the message that
 * names the key (or the TOML problem). The message must start with "PATH:LINE:". */
static const struct bad_case {
    const char *file;
    int code;
    int line;
    const char *needle;
} bad_cases[] = {
    {"unknown_key", ERR_INVALID, 3, "unknown key 'training.lrr' (valid: epochs, batch,"},
    {"unknown_table", ERR_INVALID, 4, "unknown table 'trainning' (valid tables: experiment,"},
    {"unknown_toplevel_key", ERR_INVALID, 1, "unknown key 'title'"},
    {"table_as_scalar", ERR_INVALID, 1, "key 'training': must be a table (got 5)"},
    {"epochs_string", ERR_INVALID, 2, "key 'training.epochs': must be an integer in 1..10000 (got '20')"},
    {"epochs_float", ERR_INVALID, 2, "key 'training.epochs': must be an integer in 1..10000 (got 20.0)"},
    {"epochs_zero", ERR_INVALID, 2, "key 'training.epochs': must be an integer in 1..10000 (got 0)"},
    {"epochs_negative", ERR_INVALID, 2, "key 'training.epochs': must be an integer in 1..10000 (got -5)"},
    {"batch_zero", ERR_INVALID, 2, "key 'training.batch': must be an integer in 1..65536 (got 0)"},
    {"batch_negative", ERR_INVALID, 2, "key 'training.batch': must be an integer in 1..65536 (got -100)"},
    {"lr_zero", ERR_INVALID, 2, "key 'training.lr': must be a finite number > 0 (got 0)"},
    {"lr_negative", ERR_INVALID, 2, "key 'training.lr': must be a finite number > 0 (got -0.1)"},
    {"lr_nan", ERR_INVALID, 2, "key 'training.lr': must be a finite number > 0 (got nan)"},
    {"lr_inf", ERR_INVALID, 2, "key 'training.lr': must be a finite number > 0 (got inf)"},
    {"lr_string", ERR_INVALID, 2, "key 'training.lr': must be a finite number > 0 (got '0.1')"},
    {"bn_integer", ERR_INVALID, 2, "key 'model.bn': must be true or false (got 1)"},
    {"unknown_optimizer", ERR_INVALID, 2, "key 'training.optimizer': unknown optimizer 'adamw' (valid: sgd, momentum,"},
    {"unknown_layer", ERR_INVALID, 4, "key 'model.layers[2].type': unknown layer 'conv2d' (valid: conv,"},
    {"unknown_dataset", ERR_INVALID, 2, "key 'data.dataset': unknown data set 'cifar10' (valid: mnist, fashion-mnist"},
    {"unknown_preset", ERR_INVALID, 2, "key 'model.preset': unknown model 'resnet50' (valid: paper, lenet5, ji2018)"},
    {"unknown_init", ERR_INVALID, 2, "key 'model.init': unknown weight init 'glorot' (valid: normal, he, xavier)"},
    {"unknown_sampling", ERR_INVALID, 2, "key 'training.sampling': unknown sampling 'permutation' (valid: with-replacement, shuffle)"},
    {"layer_kernel_too_big", ERR_INVALID, 3, "key 'model.layers': layer 1 (conv):"},
    {"layer_wrong_classes", ERR_INVALID, 2, "key 'model.layers': the last layer outputs 7x1x1 values but the data set has 10 classes"},
    {"layer_missing_type", ERR_INVALID, 3, "key 'model.layers[1]': missing 'type'"},
    {"layer_unknown_key", ERR_INVALID, 3, "unknown key 'model.layers[1].size' for a relu layer (valid: type)"},
    {"layer_missing_size", ERR_INVALID, 3, "key 'model.layers[1]': a conv layer needs 'size'"},
    {"dropout_ratio_one", ERR_INVALID, 4, "key 'model.layers[2].ratio': must be a number in [0, 1) (got 1.0)"},
    {"preset_and_layers", ERR_INVALID, 3, "give either 'model.preset' or 'model.layers'"},
    {"empty_sweep", ERR_INVALID, 3, "key 'sweep.seed': empty sweep"},
    {"duplicate_sweep", ERR_INVALID, 2, "key 'sweep.seed': duplicate value 2"},
    {"duplicate_sweep_numbers", ERR_INVALID, 2, "key 'sweep.lr': duplicate value 1.0"},
    {"huge_sweep", ERR_INVALID, 2, "key 'sweep': the sweep has 1000000 runs (limit 10000)"},
    {"sweep_unknown_key", ERR_INVALID, 3, "unknown key 'sweep.colour' (valid: dataset, validation, model, bn,"},
    {"sweep_not_sweepable", ERR_INVALID, 2, "unknown key 'sweep.training.beta1'"},
    {"sweep_not_array", ERR_INVALID, 2, "key 'sweep.seed': must be a non-empty array of values (got 3)"},
    {"sweep_bad_value", ERR_INVALID, 3, "key 'sweep.lr': must be a finite number > 0 (got -1)"},
    {"sweep_bad_optimizer", ERR_INVALID, 2, "key 'sweep.optimizer': unknown optimizer 'lion'"},
    {"sweep_twice", ERR_INVALID, 3, "key 'sweep.training.lr': 'lr' is swept twice"},
    {"sweep_model_custom", ERR_INVALID, 5, "key 'sweep.model': cannot sweep presets"},
    {"optimizer_table_unknown", ERR_INVALID, 1, "key 'optimizer.adamw': unknown optimizer 'adamw' (valid: sgd,"},
    {"optimizer_table_wrong_key", ERR_INVALID, 3, "unknown key 'optimizer.sgd.momentum' (sgd uses: lr, weight_decay)"},
    {"optimizer_table_bad_lr", ERR_INVALID, 2, "key 'optimizer.adam.lr': must be a finite number > 0 (got -0.001)"},
    {"validation_negative", ERR_INVALID, 2, "key 'data.validation': must be an integer in 0..2147483647 (got -1)"},
    {"classes_for_mnist", ERR_INVALID, 3, "key 'data.classes': only for 'idx:' data sets"},
    {"idx_without_dir", ERR_INVALID, 2, "key 'data.dataset': 'idx:' needs a directory"},
    {"momentum_one", ERR_INVALID, 2, "key 'training.momentum': must be a number in [0, 1) (got 1.0)"},
    {"seed_too_big", ERR_INVALID, 2, "key 'training.seed': must be an integer in 0..2147483647 (got 2147483648)"},
    {"threads_too_many", ERR_INVALID, 2, "key 'training.threads': must be an integer in 0..256 (got 1000)"},
    {"init_std_zero", ERR_INVALID, 2, "key 'model.init_std': must be a finite number > 0 (got 0)"},
    {"budget_minutes_zero", ERR_INVALID, 2, "key 'budget.minutes': must be a finite number > 0 (got 0)"},
    {"target_accuracy_above_one", ERR_INVALID, 2, "key 'budget.target_accuracy': must be a number in (0, 1] (got 1.5)"},
    {"eval_negative", ERR_INVALID, 2, "key 'evaluation.test_samples': must be an integer >= 0 (got -1)"},
    {"select_unknown_key", ERR_INVALID, 4, "unknown key 'select.rule' (valid: from, keys, metric, margin)"},
    {"select_keys_unknown", ERR_INVALID, 3, "key 'select.keys': unknown key 'colour' (valid: dataset, validation, model,"},
    {"select_key_set", ERR_INVALID, 6, "key 'select.keys': 'lr' is also set or swept by this file"},
    {"select_key_swept", ERR_INVALID, 3, "key 'select.keys': 'augment_rotate' is also set or swept by this file"},
    {"select_key_optimizer_table", ERR_INVALID, 6, "key 'select.keys': 'lr' is also set or swept by this file"},
    {"select_seed", ERR_INVALID, 3, "key 'select.keys': 'seed' cannot be selected"},
    {"select_from_missing", ERR_INVALID, 1, "key 'select.from': required in [select]"},
    {"select_metric_unknown", ERR_INVALID, 4, "key 'select.metric': unknown metric 'loss' (valid: accuracy, f1)"},
    {"select_margin_negative", ERR_INVALID, 4, "key 'select.margin': must be a finite number >= 0 (got -0.01)"},
    {"select_from_self", ERR_INVALID, 5, "key 'select.from': 'sel' is this experiment"},
    {"select_key_twice", ERR_INVALID, 3, "key 'select.keys': 'lr' is given twice"},
    {"select_keys_empty", ERR_INVALID, 3, "key 'select.keys': must be a non-empty array"},
    {"syntax_unclosed_table", ERR_FORMAT, 1, "expected ']'"},
    {"syntax_missing_value", ERR_FORMAT, 2, "missing value"},
    {"syntax_duplicate_key", ERR_FORMAT, 3, "duplicate key 'epochs'"},
    {"syntax_bad_string", ERR_FORMAT, 2, "unterminated string"},
    {"non_utf8", ERR_FORMAT, 2, "invalid UTF-8"},
};

static void test_bad_corpus(void **state)
{
    (void)state;
    size_t n = sizeof bad_cases / sizeof bad_cases[0];
    assert_true(n >= 25);
    for (size_t i = 0; i < n; i++) {
        const struct bad_case *c = &bad_cases[i];
        char path[1024], prefix[1100];
        snprintf(path, sizeof path, "%s%s.toml", BAD_DIR, c->file);
        snprintf(prefix, sizeof prefix, "%s:%d:", path, c->line);
        experiment x;
        err_info e = {0};
        int rc = exp_load(&x, path, &e);
        if (rc != c->code || strncmp(e.msg, prefix, strlen(prefix)) != 0 ||
            !strstr(e.msg, c->needle) || strchr(e.msg, '\n'))
            fail_msg("%s: got %d '%s', want %d '%s ... %s'", c->file, rc, e.msg, c->code, prefix,
                     c->needle);
        assert_null(x.runs);
    }
}

/* Every file in the bad directory is listed above (so none is silently untested). */
static void test_bad_corpus_complete(void **state)
{
    (void)state;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "ls '%s'", BAD_DIR);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[256];
    int files = 0;
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        char *dot = strstr(line, ".toml");
        assert_non_null(dot);
        *dot = '\0';
        bool listed = false;
        for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
            listed = listed || strcmp(bad_cases[i].file, line) == 0;
        if (!listed)
            fail_msg("tests/data/exp/bad/%s.toml has no expectation in test_exp.c", line);
        files++;
    }
    assert_int_equal(pclose(p), 0);
    assert_int_equal(files, (int)(sizeof bad_cases / sizeof bad_cases[0]));
}

static void test_inline_errors(void **state)
{
    (void)state;
    err_info e = {0};
    /* A value rounded to 0 as a float is not a usable lr. */
    parse_bad(&e, "[training]\nlr = 1e-60\n", ERR_INVALID);
    assert_non_null(strstr(e.msg, "t.toml:2: key 'training.lr':"));
    /* Shapes are checked for the idx: data set's declared image size; the default model does
     * not fit it, and the file's shape key is blamed, not a 'model.preset' it never wrote. */
    parse_bad(&e, "[data]\ndataset = \"idx:d\"\nheight = 4\nwidth = 4\n", ERR_INVALID);
    assert_non_null(strstr(e.msg, "t.toml:3: key 'data.height': layer 1 (conv):"));
    assert_non_null(strstr(e.msg, "input 1x4x4"));
    /* A preset the file names is blamed where it names it. */
    parse_bad(&e, "[data]\ndataset = \"idx:d\"\nheight = 4\nwidth = 4\n[model]\n"
                  "preset = \"lenet5\"\n", ERR_INVALID);
    assert_non_null(strstr(e.msg, "t.toml:6: key 'model.preset': layer"));
    /* A swept data set that is too small for the default model names the shape key. */
    parse_bad(&e, "[data]\nheight = 4\nwidth = 4\n[sweep]\ndataset = [\"idx:a\"]\n",
              ERR_INVALID);
    assert_non_null(strstr(e.msg, "t.toml:2: key 'data.height'"));
    /* Mixed-type arrays are valid TOML but not a valid seed sweep. */
    parse_bad(&e, "[sweep]\nseed = [1, \"two\"]\n", ERR_INVALID);
    assert_string_equal(e.msg,
                        "t.toml:2: key 'sweep.seed': must be an integer in 0..2147483647 (got 'two')");
    /* Schedules and shifts: the valid choices, and a shift that does not fit the image. */
    parse_bad(&e, "[training]\nlr_schedule = \"step\"\n", ERR_INVALID);
    assert_string_equal(e.msg, "t.toml:2: key 'training.lr_schedule': unknown learning-rate "
                               "schedule 'step' (valid: constant, cosine)");
    parse_bad(&e, "[data]\ndataset = \"idx:d\"\nheight = 8\nwidth = 8\n[model]\nlayers = "
                  "[{type = \"affine\", units = \"classes\"}]\n[training]\naugment_shift = 8\n", ERR_INVALID);
    assert_string_equal(e.msg, "t.toml:8: key 'training.augment_shift': must be less than the "
                               "8x8 image (got 8)");
    parse_bad(&e, "[sweep]\naugment_shift = [0, -1]\n", ERR_INVALID);
    assert_non_null(strstr(e.msg, "t.toml:2: key 'sweep.augment_shift': must be an integer in 0..64"));
    /* An empty layer list. */
    parse_bad(&e, "[model]\nlayers = []\n", ERR_INVALID);
    assert_string_equal(e.msg, "t.toml:2: key 'model.layers': must be a non-empty array of layer "
                               "tables (got an array)");
    /* A 10 MB line: as a value it is too long, as a comment it is harmless. */
    size_t big = 10u << 20;
    char *text = malloc(big + 64);
    assert_non_null(text);
    int n = sprintf(text, "[experiment]\ndescription = \"");
    memset(text + n, 'a', big);
    strcpy(text + n + big, "\"\n");
    parse_bad(&e, text, ERR_INVALID);
    assert_string_equal(e.msg, "t.toml:2: key 'experiment.description': longer than 511 bytes");
    n = sprintf(text, "#");
    memset(text + n, 'a', big);
    strcpy(text + n + big, "\n[training]\nepochs = 3\n");
    experiment y;
    parse_ok(&y, text);
    assert_int_equal(y.runs[0].epochs, 3);
    exp_release(&y);
    free(text);
    /* Missing file. */
    experiment x;
    assert_int_equal(exp_load(&x, BAD_DIR "no-such-file.toml", &e), ERR_IO);
    assert_non_null(strstr(e.msg, "cannot open '"));
    assert_non_null(strstr(e.msg, "no-such-file.toml'"));
}

static void test_text_and_digest(void **state)
{
    (void)state;
    const char *text = "[sweep]\nseed = [1]\n";
    experiment x;
    parse_ok(&x, text);
    assert_int_equal(x.text_len, strlen(text));
    assert_string_equal(x.text, text);
    char want[65];
    sha256_hex(want, text, strlen(text));
    assert_string_equal(x.sha256, want);
    exp_release(&x);
    exp_release(&x); /* releasing twice is harmless */
}

/* ---- the vocabulary ------------------------------------------------------------------------ */

/* Every configuration key of the run JSON has one entry: label, TOML path and JSON path find
 * it, labels are unique, and every sweepable key of the schema is one. */
static void test_vocab_names(void **state)
{
    (void)state;
    int n = exp_vocab_count();
    assert_true(n >= 25);
    for (int i = 0; i < n; i++) {
        const exp_vocab_key *k = exp_vocab_at(i);
        char path[128];
        snprintf(path, sizeof path, "%s.%s", k->table, k->name);
        assert_ptr_equal(exp_vocab_find(k->label), k);
        assert_ptr_equal(exp_vocab_find(path), k);
        assert_ptr_equal(exp_vocab_find(k->json), k);
        assert_true(k->display && k->display[0]);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(exp_vocab_at(j)->label, k->label);
    }
    assert_null(exp_vocab_at(n));
    assert_null(exp_vocab_find("colour"));
    assert_null(exp_vocab_find("experiment.name")); /* not part of a run's configuration */
    const exp_vocab_key *lr = exp_vocab_find("training.lr");
    assert_string_equal(lr->label, "lr");
    assert_string_equal(lr->json, "optimizer.lr");
    assert_string_equal(lr->display, "learning rate");
    assert_int_equal(lr->type, EXP_NUM);
    assert_true(lr->sweepable);
    assert_string_equal(exp_vocab_find("model")->name, "preset");
    assert_false(exp_vocab_find("beta1")->sweepable);
    char list[1024];
    exp_vocab_labels(list, sizeof list);
    assert_non_null(strstr(list, "dataset, validation, classes"));
    assert_non_null(strstr(list, ", lr, "));
}

/* One spelling per value: the shortest decimal that reads back, true/false, "-" for none;
 * JSON typed. */
static void test_vocab_values(void **state)
{
    (void)state;
    char buf[64];
    const double nums[] = {0.05, 0.1, 1e-5, 20, 0.30000000000000004, 5e-4};
    const char *want[] = {"0.05", "0.1", "1e-05", "20", "0.30000000000000004", "0.0005"};
    for (int i = 0; i < 6; i++) {
        exp_value v = {.type = EXP_NUM, .d = nums[i]};
        exp_value_format(buf, sizeof buf, &v);
        assert_string_equal(buf, want[i]);
        assert_true(strtod(buf, NULL) == nums[i]);
    }
    exp_value b = {.type = EXP_BOOL, .b = true}, none = {.type = EXP_NONE};
    exp_value_format(buf, sizeof buf, &b);
    assert_string_equal(buf, "true");
    exp_value_format(buf, sizeof buf, &none);
    assert_string_equal(buf, "-");
    char label[64] = "";
    exp_label_append(label, sizeof label, "optimizer", &(exp_value){.type = EXP_STR, .s = "adam"});
    exp_label_append(label, sizeof label, "bn", &b);
    assert_string_equal(label, "optimizer=adam bn=true");
    json_t *j = exp_value_json(&b);
    assert_true(json_is_true(j));
    json_decref(j);
    j = exp_value_json(&(exp_value){.type = EXP_NUM, .d = 0.05});
    assert_true(json_is_real(j) && json_real_value(j) == 0.05);
    json_decref(j);
    assert_true(exp_value_equal(&(exp_value){.type = EXP_INT, .i = 1},
                                &(exp_value){.type = EXP_NUM, .d = 1.0}));
    assert_false(exp_value_equal(&b, &(exp_value){.type = EXP_BOOL, .b = false}));
}

/* A run's values: from its configuration JSON, typed, but the file's own double for a float
 * parameter (0.05, not 0.0500000007450581); the layer list summarised. */
static void test_run_values(void **state)
{
    (void)state;
    experiment x;
    parse_ok(&x, "[training]\nlr = 0.05\n[sweep]\nbn = [true, false]\nseed = [1, 2]\n");
    const exp_vocab_key *keys[] = {exp_vocab_find("lr"), exp_vocab_find("bn"),
                                   exp_vocab_find("layers"), exp_vocab_find("momentum"),
                                   exp_vocab_find("beta1")};
    exp_value v[5];
    err_info e = {0};
    assert_int_equal(exp_run_values(v, &x.runs[2], keys, 5, &e), 0);
    assert_int_equal(v[0].type, EXP_NUM);
    assert_true(v[0].d == 0.05);
    assert_int_equal(v[1].type, EXP_BOOL);
    assert_false(v[1].b);
    assert_string_equal(v[2].s, "conv30x5-relu-maxpool2-affine100-relu-affine10");
    assert_true(v[3].d == 0.9); /* a default: the float's shortest decimal */
    assert_int_equal(v[4].type, EXP_NONE); /* momentum does not read beta1 */
    /* the same read back from the stored configuration */
    char *cfg_text = exp_run_json(&x.runs[2]);
    json_t *cfg = json_loads(cfg_text, 0, NULL);
    exp_value w;
    exp_value_from_json(&w, keys[0], cfg);
    assert_true(w.d == 0.05);
    json_decref(cfg);
    free(cfg_text);
    /* what the store keeps of the sweep */
    char *swept = exp_swept_json(&x), *values = exp_run_swept_json(&x, &x.runs[2]);
    assert_string_equal(swept, "[\"bn\",\"seed\"]");
    assert_string_equal(values, "[false,1]");
    free(swept);
    free(values);
    exp_release(&x);
    parse_ok(&x, "[sweep]\nlr = [0.05, 1]\n");
    values = exp_run_swept_json(&x, &x.runs[1]);
    assert_string_equal(values, "[1.0]"); /* a number, not the integer 1 */
    free(values);
    assert_string_equal(x.runs[0].label, "lr=0.05");
    assert_string_equal(x.runs[1].label, "lr=1");
    exp_release(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_files),
        cmocka_unit_test(test_shipped_contents),
        cmocka_unit_test(test_defaults_are_the_paper),
        cmocka_unit_test(test_default_lr_per_optimizer),
        cmocka_unit_test(test_all_keys),
        cmocka_unit_test(test_augment_keys),
        cmocka_unit_test(test_custom_layers_idx),
        cmocka_unit_test(test_grid_order_and_labels),
        cmocka_unit_test(test_sweep_dotted_names),
        cmocka_unit_test(test_optimizer_precedence),
        cmocka_unit_test(test_sweep_limit),
        cmocka_unit_test(test_sweep_size_before_values),
        cmocka_unit_test(test_float_parameters),
        cmocka_unit_test(test_file_size_cap),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_run_json),
        cmocka_unit_test(test_run_json_ignores_unused_params),
        cmocka_unit_test(test_run_key),
        cmocka_unit_test(test_select_apply),
        cmocka_unit_test(test_bad_corpus),
        cmocka_unit_test(test_bad_corpus_complete),
        cmocka_unit_test(test_inline_errors),
        cmocka_unit_test(test_text_and_digest),
        cmocka_unit_test(test_vocab_names),
        cmocka_unit_test(test_vocab_values),
        cmocka_unit_test(test_run_values),
    };
    return cmocka_run_group_tests_name("exp", tests, NULL, NULL);
}
