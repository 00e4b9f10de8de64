/* Tests of core/net and core/models: shapes and parameter counts of the presets, a
 * finite-difference check of the whole network's gradient, determinism, parameter files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models.h"
#include "net.h"
#include "rng.h"

static net *make_preset(const char *name, bool bn, int batch)
{
    const model_preset *p;
    err_info e = {0};
    assert_int_equal(models_find(&p, name, &e), 0);
    layer_spec specs[MODELS_MAX_LAYERS];
    int n = models_layers(specs, MODELS_MAX_LAYERS, p, 10, bn);
    net_config cfg = net_config_default();
    cfg.max_batch = batch;
    net *nn = NULL;
    assert_int_equal(net_new(&nn, &cfg, specs, n, &e), 0);
    return nn;
}

/* The paper's network: conv 30x1x5x5 + 30, affine 4320x100 + 100, BN 100 + 100,
 * affine 100x10 + 10 = 780 + 432100 + 200 + 1010 = 434090 parameters; 200 BN state values. */
static void test_paper_shapes(void **state)
{
    (void)state;
    net *n = make_preset("paper", true, 100);
    assert_int_equal(net_param_count(n), 434090);
    assert_int_equal(net_state_count(n), 200);
    assert_int_equal(net_layer_count(n), 7);
    int c, h, w;
    net_layer_shape(n, 0, &c, &h, &w); /* conv: 30x24x24 */
    assert_int_equal(c, 30);
    assert_int_equal(h, 24);
    assert_int_equal(w, 24);
    net_layer_shape(n, 2, &c, &h, &w); /* pool: 30x12x12 = 4320 */
    assert_int_equal(c * h * w, 4320);
    /* forward multiply-adds: 30*24*24*25 + 4320*100 + 100*10 = 432000 + 432000 + 1000 */
    assert_true(net_forward_macs(n) == 865000.0);
    net_free(n);

    n = make_preset("paper", false, 100);
    assert_int_equal(net_param_count(n), 434090 - 200);
    assert_int_equal(net_state_count(n), 0);
    net_free(n);
}

/* net_plan gives the sizes net_new builds (for every preset, with and without BN), and plans a
 * network far larger than any machine without allocating it; a layer whose output would
 * overflow the kernels' int indexing is refused by both. */
static void test_plan(void **state)
{
    (void)state;
    const char *presets[] = {"paper", "lenet5", "ji2018"};
    err_info e = {0};
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        for (int bn = 0; bn < 2; bn++) {
            net *n = make_preset(presets[i], bn, 100);
            const model_preset *p;
            assert_int_equal(models_find(&p, presets[i], &e), 0);
            layer_spec specs[MODELS_MAX_LAYERS];
            int ns = models_layers(specs, MODELS_MAX_LAYERS, p, 10, bn);
            net_config cfg = net_config_default();
            cfg.max_batch = 100;
            net_sizes z;
            assert_int_equal(net_plan(&z, &cfg, specs, ns, &e), 0);
            assert_int_equal(z.params, net_param_count(n));
            assert_int_equal(z.state, net_state_count(n));
            assert_int_equal(z.arena_bytes, net_arena_bytes(n));
            assert_true(z.bytes > z.arena_bytes + 2 * 4 * z.params);
            net_free(n);
        }
    }
    /* 1x4096x4096 input, conv 64@3x3 then an affine of 65536 units: 64*4094*4094 * 65536
     * weights, about 70 trillion, 280 TB: planned, never allocated. */
    layer_spec big[] = {{.kind = LAYER_CONV, .filters = 64, .size = 3},
                        {.kind = LAYER_AFFINE, .units = 65536},
                        {.kind = LAYER_AFFINE, .units = 10}};
    net_config cfg = net_config_default();
    cfg.h = cfg.w = 4096;
    net_sizes z;
    assert_int_equal(net_plan(&z, &cfg, big, 3, &e), 0);
    assert_true(z.params == (size_t)64 * 9 + 64 + (size_t)64 * 4094 * 4094 * 65536 + 65536 +
                               (size_t)65536 * 10 + 10);
    /* 4096 filters of 4094x4094 are 6.9e10 values per image: more than an int indexes */
    big[0].filters = 4096;
    assert_int_equal(net_plan(&z, &cfg, big, 3, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "layer 1 (conv)"));
    net *n = NULL;
    assert_int_equal(net_new(&n, &cfg, big, 3, &e), ERR_INVALID);
    assert_null(n);
}

/* LeNet-5: C1 6x1x5x5+6=156, C3 16x6x5x5+16=2416, C5 120x16x5x5+120=48120,
 * F6 120x84+84=10164, output 84x10+10=850: 61706 parameters. */
static void test_lenet5_and_ji2018_shapes(void **state)
{
    (void)state;
    net *n = make_preset("lenet5", true, 10);
    assert_int_equal(net_param_count(n), 61706);
    net_free(n);
    /* Ji 2018: conv 32x1x3x3+32=320, BN 64, conv 64x32x3x3+64=18496, BN 128,
     * fc 3136x625+625=1960625, BN 1250, fc 625x10+10=6260: 1987143. */
    n = make_preset("ji2018", true, 10);
    assert_int_equal(net_param_count(n), 1987143);
    net_free(n);
}

static void test_bad_specs(void **state)
{
    (void)state;
    err_info e = {0};
    net *n = NULL;
    net_config cfg = net_config_default();
    layer_spec too_big[] = {{.kind = LAYER_CONV, .filters = 4, .size = 40}, {.kind = LAYER_AFFINE, .units = 10}};
    assert_int_equal(net_new(&n, &cfg, too_big, 2, &e), ERR_INVALID);
    assert_null(n);
    assert_non_null(strstr(e.msg, "layer 1 (conv)"));

    layer_spec wrong_out[] = {{.kind = LAYER_AFFINE, .units = 7}};
    assert_int_equal(net_new(&n, &cfg, wrong_out, 1, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "10 classes"));

    layer_spec no_params[] = {{.kind = LAYER_RELU}};
    cfg.c = 10; cfg.h = 1; cfg.w = 1;
    assert_int_equal(net_new(&n, &cfg, no_params, 1, &e), ERR_INVALID);

    layer_kind k;
    assert_int_equal(layer_kind_from_name(&k, "softmax", &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "valid: conv"));
    assert_int_equal(layer_kind_from_name(&k, "maxpool", &e), 0);
    assert_int_equal(k, LAYER_MAXPOOL);
    const model_preset *p;
    assert_int_equal(models_find(&p, "resnet", &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "paper"));
}

/* A small network using every layer kind, on 2x6x6 inputs and 3 classes. */
static net *make_small(int batch, uint64_t seed)
{
    layer_spec specs[] = {
        {.kind = LAYER_CONV, .filters = 3, .size = 3, .stride = 1, .pad = 1},
        {.kind = LAYER_BN},
        {.kind = LAYER_RELU},
        {.kind = LAYER_MAXPOOL, .size = 2},
        {.kind = LAYER_CONV, .filters = 4, .size = 2, .stride = 1, .pad = 0},
        {.kind = LAYER_TANH},
        {.kind = LAYER_AVGPOOL, .size = 2},
        {.kind = LAYER_AFFINE, .units = 5},
        {.kind = LAYER_BN},
        {.kind = LAYER_RELU},
        {.kind = LAYER_AFFINE, .units = 3},
    };
    net_config cfg = net_config_default();
    cfg.c = 2; cfg.h = 6; cfg.w = 6; cfg.classes = 3; cfg.max_batch = batch;
    cfg.init = INIT_HE;
    net *n = NULL;
    err_info e = {0};
    assert_int_equal(net_new(&n, &cfg, specs, (int)(sizeof specs / sizeof specs[0]), &e), 0);
    net_init_params(n, seed);
    return n;
}

static void random_batch(float *x, uint8_t *y, int batch, int img, int classes, uint64_t seed)
{
    rng r;
    rng_init(&r, seed, 99);
    for (int i = 0; i < batch * img; i++)
        x[i] = (float)rng_uniform(&r);
    for (int b = 0; b < batch; b++)
        y[b] = (uint8_t)rng_below(&r, (uint32_t)classes);
}

/* Whole-network gradient check: central differences of the training-mode loss against
 * net_backward for every parameter. The network computes in float, so the difference quotient
 * carries about 1e-7 * |loss| / h of rounding; with h = 3e-3 (larger steps cross ReLU
 * kinks and max-pool switches of this tiny net) and sizeable gradients (He init)
 * we require |analytic - numeric| <= 2e-3 + 5e-2 * |numeric| for every parameter. (Max-pool
 * ties and ReLU kinks are avoided by continuous random inputs.) */
static void test_gradient_check(void **state)
{
    (void)state;
    const int B = 4, img = 2 * 6 * 6;
    net *n = make_small(B, 7);
    float x[4 * 72];
    uint8_t y[4];
    random_batch(x, y, B, img, 3, 3);
    net_forward(n, x, y, B, true);
    net_backward(n, y, B);
    size_t np = net_param_count(n);
    float *analytic = malloc(np * sizeof(float));
    memcpy(analytic, net_grads(n), np * sizeof(float));
    float *p = net_params(n);
    const float h = 3e-3f;
    int bad = 0;
    for (size_t i = 0; i < np; i++) {
        float saved = p[i];
        p[i] = saved + h;
        double lp = net_forward(n, x, y, B, true);
        p[i] = saved - h;
        double lm = net_forward(n, x, y, B, true);
        p[i] = saved;
        double numeric = (lp - lm) / (2.0 * h);
        double diff = fabs(numeric - analytic[i]);
        if (diff > 2e-3 + 5e-2 * fabs(numeric)) {
            if (bad < 5)
                print_message("param %zu: analytic %g numeric %g\n", i, analytic[i], numeric);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    free(analytic);
    net_free(n);
}

static void test_determinism_and_seeds(void **state)
{
    (void)state;
    net *a = make_small(4, 11), *b = make_small(4, 11), *c = make_small(4, 12);
    size_t np = net_param_count(a);
    assert_memory_equal(net_params(a), net_params(b), np * sizeof(float));
    assert_memory_not_equal(net_params(a), net_params(c), np * sizeof(float));
    float x[4 * 72];
    uint8_t y[4];
    random_batch(x, y, 4, 72, 3, 5);
    double la = net_forward(a, x, y, 4, true), lb = net_forward(b, x, y, 4, true);
    assert_memory_equal(&la, &lb, sizeof la);
    net_backward(a, y, 4);
    net_backward(b, y, 4);
    assert_memory_equal(net_grads(a), net_grads(b), np * sizeof(float));
    net_free(a);
    net_free(b);
    net_free(c);
}

/* Inference uses the running statistics: with fresh (zero) running mean/var, the paper's
 * textbook init, BN inference output is beta + gamma*x/sqrt(eps): different from training. */
static void test_inference_differs_from_training(void **state)
{
    (void)state;
    net *n = make_small(4, 3);
    float x[4 * 72];
    uint8_t y[4];
    random_batch(x, y, 4, 72, 3, 9);
    net_forward(n, x, y, 4, false);
    float p_inf[12];
    memcpy(p_inf, net_probs(n), sizeof p_inf);
    net_forward(n, x, y, 4, true);
    assert_memory_not_equal(p_inf, net_probs(n), sizeof p_inf);
    /* probabilities sum to one per row */
    for (int b = 0; b < 4; b++) {
        const float *p = net_probs(n) + 3 * b;
        assert_float_equal(p[0] + p[1] + p[2], 1.0f, 1e-5f);
    }
    /* forward without labels returns 0 and the same probabilities */
    float p_train[12];
    memcpy(p_train, net_probs(n), sizeof p_train);
    net *m = make_small(4, 3);
    assert_true(net_forward(m, x, NULL, 4, true) == 0.0);
    assert_memory_equal(p_train, net_probs(m), sizeof p_train);
    net_free(m);
    net_free(n);
}

static void test_save_load(void **state)
{
    (void)state;
    net *a = make_small(4, 21), *b = make_small(4, 22);
    float x[4 * 72];
    uint8_t y[4];
    random_batch(x, y, 4, 72, 3, 1);
    net_forward(a, x, y, 4, true); /* moves BN running statistics */
    size_t len = net_save_size(a);
    uint8_t *buf = malloc(len);
    net_save(a, buf);
    assert_memory_equal(buf, "BNCHPRM", 8);
    err_info e = {0};
    assert_int_equal(net_load(b, buf, len, &e), 0);
    assert_memory_equal(net_params(a), net_params(b), net_param_count(a) * sizeof(float));
    assert_memory_equal(net_state(a), net_state(b), net_state_count(a) * sizeof(float));

    buf[40] ^= 0x01; /* one flipped bit inside the parameters */
    assert_int_equal(net_load(b, buf, len, &e), ERR_CHECKSUM);
    assert_non_null(strstr(e.msg, "checksum"));
    buf[40] ^= 0x01;
    assert_int_equal(net_load(b, buf, len - 1, &e), ERR_FORMAT);
    buf[0] = 'X';
    assert_int_equal(net_load(b, buf, len, &e), ERR_FORMAT);
    assert_non_null(strstr(e.msg, "magic"));
    free(buf);

    /* a different architecture refuses the file */
    net *paper = make_preset("paper", true, 4);
    len = net_save_size(a);
    buf = malloc(len);
    net_save(a, buf);
    assert_int_not_equal(net_load(paper, buf, len, &e), 0);
    free(buf);
    net_free(paper);
    net_free(a);
    net_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paper_shapes),
        cmocka_unit_test(test_lenet5_and_ji2018_shapes),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_bad_specs),
        cmocka_unit_test(test_gradient_check),
        cmocka_unit_test(test_determinism_and_seeds),
        cmocka_unit_test(test_inference_differs_from_training),
        cmocka_unit_test(test_save_load),
    };
    return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
