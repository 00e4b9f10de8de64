/* time_augment: how long augmenting one batch takes, per transform (a measurement, not a test:
 * it asserts nothing and is not registered with ctest).
 *
 *   build/tests/time_augment [THREADS [BATCHES]]     (defaults: 1 thread, 300 batches)
 *
 * For each configuration it augments BATCHES batches of 100 images of 1x28x28 (MNIST's shape;
 * the cost does not depend on the pixel values) and prints the median and the fastest batch in
 * milliseconds. Each batch is gathered afresh from a fixed source, as the trainer does, and
 * the copy is outside the timed region. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "augment.h"

enum { B = 100, H = 28, W = 28, IMG = H * W };

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct timing_case {
    const char *name;
    int shift;
    float rotate_deg, scale, shear, elastic_alpha, elastic_sigma;
} timing_case;

int main(int argc, char **argv)
{
    const int threads = argc > 1 ? atoi(argv[1]) : 1;
    const int batches = argc > 2 ? atoi(argv[2]) : 300;
    if (threads < 1 || batches < 1) {
        fprintf(stderr, "usage: time_augment [THREADS [BATCHES]]\n");
        return 2;
    }
    static const timing_case cases[] = {
        {"shift 2 (dataset_translate)", 2, 0, 0, 0, 0, 0},
        {"rotate 15", 0, 15, 0, 0, 0, 0},
        {"scale 0.15", 0, 0, 0.15f, 0, 0, 0},
        {"shear 0.3", 0, 0, 0, 0.3f, 0, 0},
        {"rotate 15 + scale 0.15 + shear 0.3 + shift 2", 2, 15, 0.15f, 0.3f, 0, 0},
        {"elastic alpha 34 sigma 4", 0, 0, 0, 0, 34, 4},
        {"elastic alpha 36 sigma 6", 0, 0, 0, 0, 36, 6},
        {"everything (shift 2, affine, elastic 34/4)", 2, 15, 0.15f, 0.3f, 34, 4},
    };
    float *src = malloc(sizeof(float) * B * IMG), *x = malloc(sizeof(float) * B * IMG);
    double *ms = malloc(sizeof(double) * (size_t)batches);
    if (!src || !x || !ms)
        return 1;
    rng r;
    rng_init(&r, 1, 99);
    for (int k = 0; k < B * IMG; k++)
        src[k] = (float)rng_uniform(&r);
    par_team *team = NULL;
    err_info te = {0};
    if (par_new(&team, threads, &te)) {
        fprintf(stderr, "time_augment: %s\n", te.msg);
        return 1;
    }
    printf("ms per batch of %d images of %dx%d, %d thread%s, %d batches\n", B, H, W, threads,
           threads == 1 ? "" : "s", batches);
    printf("%-46s %8s %8s\n", "transform", "median", "best");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        augment_config cfg = augment_config_default();
        cfg.rotate_deg = cases[c].rotate_deg;
        cfg.scale = cases[c].scale;
        cfg.shear = cases[c].shear;
        cfg.elastic_alpha = cases[c].elastic_alpha;
        if (cases[c].elastic_sigma > 0.0f)
            cfg.elastic_sigma = cases[c].elastic_sigma;
        augment *a = NULL;
        err_info e = {0};
        if (augment_new(&a, &cfg, cases[c].shift, 1, H, W, B, team, 1, &e)) {
            fprintf(stderr, "time_augment: %s\n", e.msg);
            return 1;
        }
        for (int i = 0; i < batches; i++) {
            memcpy(x, src, sizeof(float) * B * IMG);
            const double t0 = now_ms();
            augment_batch(a, x, B);
            ms[i] = now_ms() - t0;
        }
        augment_free(a);
        qsort(ms, (size_t)batches, sizeof *ms, cmp_double);
        printf("%-46s %8.3f %8.3f\n", cases[c].name, ms[batches / 2], ms[0]);
    }
    par_free(team);
    free(src);
    free(x);
    free(ms);
    return 0;
}
