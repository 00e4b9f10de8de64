/* dataset: labelled images held as the original uint8 pixels, and mini-batch extraction.
 *
 * A dataset keeps pixels as bytes (60,000 MNIST images are 47 MB as uint8, 188 MB as float)
 * and converts only the rows of a mini-batch to float, scaled to [0,1], when they are
 * gathered. A dataset either owns its two arrays (loaded from files) or is a view into
 * another one (dataset_split); dataset_release frees only what it owns, so views must not
 * outlive the dataset they look into. */
#ifndef BENCH_DATASET_H
#define BENCH_DATASET_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define DATASET_DEFAULT_CLASSES 10

typedef struct dataset {
    int64_t n;         /* number of images */
    int c, h, w;       /* channels, height, width of one image */
    int classes;       /* labels are in 0..classes-1 */
    uint8_t *pixels;   /* (N,C,H,W) */
    uint8_t *labels;   /* (N) */
    bool owns;         /* pixels and labels are freed by dataset_release */
} dataset;

/* Load an image file (IDX uint8, rank 3 (N,H,W) -> c = 1, or rank 4 (N,C,H,W)) and a label
 * file (IDX uint8, rank 1 (N)), raw or gzip, with classes = 10. Errors name the offending
 * file: wrong type or rank, image and label counts that differ, a label >= classes. */
int dataset_load_idx(dataset *out, const char *images_path, const char *labels_path, err_info *e);

/* The same with an explicit number of classes (1..256), for data sets other than 10-class. */
int dataset_load_idx_classes(dataset *out, const char *images_path, const char *labels_path,
                             int classes, err_info *e);

/* Free what d owns and zero it. NULL and zeroed datasets are fine. */
void dataset_release(dataset *d);

/* Values in one image: c * h * w. */
int64_t dataset_image_size(const dataset *d);

/* Copy a mini-batch of `batch` rows: row b is idx[b] when idx is given (start is then
 * ignored; pass perm + offset to walk a permutation), else start + b.
 *   x[b,:] = pixels[row,:] / 255.0f  (the correctly rounded float32 quotient, which is what
 *            numpy's float32 division of the reference code gives; multiplying by
 *            1/255.0f would differ in the last bit for some pixel values)
 *   y[b]   = labels[row]             (y may be NULL when labels are not needed)
 * Every row must be < d->n (asserted). */
void dataset_gather(float *x /*(B,C,H,W)*/, uint8_t *y /*(B)*/, const dataset *d,
                    const uint32_t *idx /*(B) or NULL*/, int64_t start, int batch);

/* Translate the (C,H,W) float image x in place by dx columns right and dy rows down; pixels
 * shifted in from outside are 0 (the background of MNIST-like data), pixels shifted out are
 * lost:  x'(c, i, j) = x(c, i - dy, j - dx) when that is inside the image, else 0.
 * |dx| >= w or |dy| >= h leaves an all-zero image. tmp holds h * w floats. */
void dataset_translate(float *x /*(C,H,W)*/, int c, int h, int w, int dx, int dy,
                       float *tmp /*(H*W)*/);

/* Split d into non-owning views: head = rows [0, n - n_tail), tail = rows [n - n_tail, n)
 * (the validation split takes the last n_tail training images). 0 <= n_tail < d->n, so that
 * head is never empty; n_tail == 0 gives an empty tail. */
int dataset_split(dataset *head, dataset *tail, const dataset *d, int64_t n_tail, err_info *e);

#endif
