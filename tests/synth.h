/* synth.h: a small synthetic IDX data set for the tests that train (header-only, like cli.h):
 * a learnable 10-class task on 1x28x28 images, written as the four MNIST file names so that
 * "idx:<dir>" reads it. Include after <cmocka.h>. */
#ifndef BENCH_TESTS_SYNTH_H
#define BENCH_TESTS_SYNTH_H

#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

static inline void synth_be32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    fwrite(b, 1, 4, f);
}

/* A learnable 10-class task on 1x28x28 images: class c lights a 6x6 patch at a position fixed
 * per class, over noise. Deterministic (LCG). */
static inline void synth_idx_set(const char *dir, const char *prefix, int n, uint32_t seed)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, prefix);
    FILE *fi = fopen(path, "wb");
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, prefix);
    FILE *fl = fopen(path, "wb");
    assert_non_null(fi);
    assert_non_null(fl);
    synth_be32(fi, 0x803);
    synth_be32(fi, (uint32_t)n);
    synth_be32(fi, 28);
    synth_be32(fi, 28);
    synth_be32(fl, 0x801);
    synth_be32(fl, (uint32_t)n);
    uint32_t s = seed;
    unsigned char img[784];
    for (int i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        int c = (int)((s >> 16) % 10);
        for (int p = 0; p < 784; p++) {
            s = s * 1664525u + 1013904223u;
            img[p] = (unsigned char)((s >> 24) & 0x7f);
        }
        int y0 = 2 + (c / 5) * 12, x0 = 2 + (c % 5) * 5;
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 4; x++)
                img[(y0 + y) * 28 + x0 + x] = 250;
        fwrite(img, 1, 784, fi);
        unsigned char lab = (unsigned char)c;
        fwrite(&lab, 1, 1, fl);
    }
    fclose(fi);
    fclose(fl);
}

/* dir (created) <- a data set of n_train training and n_test test images. */
static inline void synth_data_dir(const char *dir, int n_train, int n_test)
{
    mkdir(dir, 0755);
    synth_idx_set(dir, "train", n_train, 1);
    synth_idx_set(dir, "t10k", n_test, 2);
}

#endif
