/* Tests of harness/perf (the measuring module behind `bench perf`): the SGEMM shapes come from
 * the model's layer specs (the paper's and LeNet-5's affine layers, in order, the first layer's
 * input gradient left out), every library is listed (measured, or with a reason), the kernel
 * choice (forced, or among the sets this CPU runs, with its figures), the physical peak, and a
 * tiny measurement whose figures are consistent with each other (min <= median <= max, the
 * profile's steps and flops). Timings are never compared with fixed numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "gemm.h"
#include "perf.h"

static int specs_of(layer_spec *s, const char *model)
{
    const model_preset *p = NULL;
    assert_int_equal(models_find(&p, model, NULL), 0);
    return models_layers(s, MODELS_MAX_LAYERS, p, 10, true);
}

static void test_sgemm_shapes_from_model(void **state)
{
    (void)state;
    layer_spec s[MODELS_MAX_LAYERS];
    int n = specs_of(s, "paper");
    net_config c = net_config_default();
    perf_sgemm sg;
    err_info e = {0};
    assert_int_equal(perf_sgemm_measure(&sg, &c, s, n, 8, 1, 32, &e), 0);
    /* 32^3, then 4320 -> 100 fwd, dW, dx, then 100 -> 10 fwd, dW, dx */
    assert_int_equal(sg.n_shapes, 7);
    const struct {
        const char *name;
        int m, n, k, ta, tb;
    } want[] = {{"32^3", 32, 32, 32, 0, 0},          {"4320->100 fwd", 8, 100, 4320, 0, 0},
                {"4320->100 dW", 4320, 100, 8, 1, 0}, {"4320->100 dx", 8, 4320, 100, 0, 1},
                {"100->10 fwd", 8, 10, 100, 0, 0},    {"100->10 dW", 100, 10, 8, 1, 0},
                {"100->10 dx", 8, 100, 10, 0, 1}};
    for (int i = 0; i < 7; i++) {
        const perf_shape *p = &sg.shapes[i];
        assert_string_equal(p->name, want[i].name);
        assert_true(p->m == want[i].m && p->n == want[i].n && p->k == want[i].k);
        assert_true(p->trans_a == want[i].ta && p->trans_b == want[i].tb);
    }
    /* bench's two sets, BLIS and OpenBLAS; what is not measured says why */
    assert_int_equal(sg.n_libs, 4);
    char gb[48];
    gemm_backend(gb, sizeof gb, KERN_AVX512);
    assert_non_null(strstr(sg.libs[0].name, gb));
    assert_non_null(strstr(sg.libs[2].name, "blis"));
    assert_non_null(strstr(sg.libs[3].name, "openblas"));
    for (int l = 0; l < sg.n_libs; l++) {
        if (!sg.libs[l].ok) {
            assert_true(strlen(sg.libs[l].note) > 0);
            continue;
        }
        for (int i = 0; i < sg.n_shapes; i++)
            assert_true(sg.libs[l].ms[i] > 0.0 && isfinite(sg.libs[l].ms[i]));
    }
    assert_true(sg.libs[2].ok); /* BLIS is linked: always there */
    assert_int_equal(sg.libs[0].ok, kern_resolve(KERN_AUTO) == KERN_AVX512);
    /* LeNet-5: its affine layers 120 -> 84 -> 10 (the convs are not products here) */
    n = specs_of(s, "lenet5");
    c.h = c.w = 28;
    assert_int_equal(perf_sgemm_measure(&sg, &c, s, n, 4, 1, 16, &e), 0);
    assert_int_equal(sg.n_shapes, 7);
    assert_string_equal(sg.shapes[1].name, "120->84 fwd");
    assert_string_equal(sg.shapes[4].name, "84->10 fwd");
}

static void test_choose(void **state)
{
    (void)state;
    layer_spec s[MODELS_MAX_LAYERS];
    const int n = specs_of(s, "paper");
    net_config c = net_config_default();
    c.max_batch = 8;
    perf_choice ch;
    err_info e = {0};
    assert_int_equal(perf_choose(&ch, KERN_GENERIC, &c, s, n, &e), 0);
    assert_int_equal(ch.isa, KERN_GENERIC);
    assert_int_equal(ch.n, 0);
    assert_non_null(strstr(ch.why, "generic: forced"));
    assert_int_equal(perf_choose(&ch, KERN_AUTO, &c, s, n, &e), 0);
    const kern_isa best = kern_resolve(KERN_AUTO);
    if (best == KERN_AVX512) {
        /* both sets timed, the faster chosen, the figures in the reason */
        assert_int_equal(ch.n, 2);
        assert_true(ch.ms[0] > 0 && ch.ms[1] > 0);
        assert_int_equal(ch.isa, ch.ms[1] < ch.ms[0] ? ch.cand[1] : ch.cand[0]);
        assert_non_null(strstr(ch.why, " ms against "));
    } else {
        assert_int_equal(ch.isa, best);
        assert_int_equal(ch.n, 0);
    }
    assert_non_null(strstr(ch.why, kern_isa_name(ch.isa)));
}

static void test_peak(void **state)
{
    (void)state;
    perf_peak p;
    err_info e = {0};
    assert_int_equal(perf_peak_measure(&p, 2, &e), 0);
    assert_int_equal(p.isa, kern_resolve(KERN_AUTO));
    assert_int_equal(p.threads, 2);
    assert_true(p.core_gflops > 0 && p.gflops > 0);
}

static void test_tiny_measurement(void **state)
{
    (void)state;
    static const char spec[] = "[training]\nbatch = 4\n"; /* the paper's run */
    experiment x;
    err_info e = {0};
    assert_int_equal(exp_parse(&x, spec, strlen(spec), "perf", &e), 0);
    perf_options o = {.model = "paper", .run = &x.runs[0], .threads = 2, .iters = 2, .batch = 4, .reps = 3,
                      .isa = KERN_AUTO, .epoch_images = 60000};
    perf_result r;
    assert_int_equal(perf_measure(&r, &o, NULL, &e), 0);
    exp_release(&x);
    /* what the timed iterations cost: all repetitions of each thread count */
    assert_true(r.time.cpu_s > 0 && r.time1.cpu_s > 0);
    assert_true(r.time.wall_s >= 3 * 2 * r.epoch.min / r.iters_per_epoch - 1e-9);
    assert_true(r.time.nivcsw >= -1 && r.time1.nivcsw >= -1);
    assert_int_equal(r.reps, 3);
    assert_true(r.iters_per_epoch == 15000.0);
    assert_true(r.epoch.min > 0 && r.epoch.min <= r.epoch.median && r.epoch.median <= r.epoch.max);
    assert_true(r.epoch1.min > 0 && r.epoch1.min <= r.epoch1.median && r.epoch1.median <= r.epoch1.max);
    for (int i = 0; i < r.reps; i++)
        assert_true(r.iter_s[i] * r.iters_per_epoch >= r.epoch.min - 1e-12);
    /* conv+relu+maxpool, affine, bn, relu, affine, loss, optimizer */
    assert_int_equal(r.n_steps, 7);
    assert_string_equal(r.steps[0].layers, "conv+relu+maxpool");
    assert_string_equal(r.steps[6].layers, "momentum-step");
    /* flops: 2 * B * (conv 24*24*30*25 + 4320*100 + 100*10) forward, and the backward's */
    const double fwd = 2.0 * 4 * (24 * 24 * 30 * 25 + 4320 * 100 + 100 * 10);
    double f = 0.0;
    for (int i = 0; i < r.n_steps; i++)
        f += r.steps[i].fwd_flops;
    assert_true(fabs(f - fwd) < 1e-6 * fwd);
    assert_true(r.flops > f);
    assert_true(r.eval_s > 0 && r.peak_rss_bytes > 0);
    assert_non_null(strstr(r.kernels, "fused:conv+relu+maxpool"));
    assert_int_equal(r.torch_reps, 0);
    assert_true(isnan(r.torch.min));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgemm_shapes_from_model),
        cmocka_unit_test(test_choose),
        cmocka_unit_test(test_peak),
        cmocka_unit_test(test_tiny_measurement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
