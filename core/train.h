/* train: the epoch-level training API that the harness drives.
 *
 * A trainer owns the batch buffers, the optimizer and the sampling stream of one run; the
 * network and the data sets belong to the caller. The protocol is the textbook's
 * (experiments/README.md, "The paper's protocol"):
 *
 *   sampling "with-replacement": every iteration draws `batch` indices uniformly with
 *     replacement from the n training images (np.random.choice); an epoch is
 *     iters_per_epoch = max(n / batch, 1) iterations (600 for MNIST at batch 100);
 *   sampling "shuffle": a fresh permutation per epoch, consumed in order, floor(n / batch)
 *     full batches; the n mod batch images left over are not seen that epoch.
 *
 * Each iteration: forward in training mode, loss, backward, one optimizer step. Randomness comes
 * from the run's seed only: stream RNG_STREAM_INIT initialises the weights (net_init_params),
 * RNG_STREAM_SAMPLE draws the batches, RNG_STREAM_DROPOUT the dropout masks, and the
 * augmentation (augment.h) draws the translations (when augment_shift > 0) from
 * RNG_STREAM_AUGMENT, the affine distortions from RNG_STREAM_AFFINE and the elastic fields from
 * RNG_STREAM_ELASTIC, each only when it is on, right after the batch is gathered and only for
 * training batches: evaluation never augments. Before each step the optimizer gets
 * the schedule's learning rate (lr_schedule_at; never touched under "constant"). The same
 * configuration, seed, data, build and thread count give bitwise identical results.
 *
 * Nothing here reads a clock or prints: the harness times the calls and shows progress through
 * the callback. */
#ifndef BENCH_TRAIN_H
#define BENCH_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "augment.h"
#include "dataset.h"
#include "err.h"
#include "metrics.h"
#include "net.h"
#include "optim.h"

typedef enum sampling_kind { SAMPLING_WITH_REPLACEMENT, SAMPLING_SHUFFLE } sampling_kind;

/* Names: "with-replacement", "shuffle"; an unknown name is an error listing both. */
int sampling_kind_from_name(sampling_kind *out, const char *name, err_info *e);
const char *sampling_kind_name(sampling_kind k);

/* Learning-rate schedules over the whole run of E epochs of I iterations (T = E * I steps;
 * step s = 0 .. T-1 is the s-th optimizer update):
 *   "constant": lr_s = lr                                   (the paper's)
 *   "cosine":   lr_s = lr * (1 + cos(pi * s / T)) / 2        (Loshchilov & Hutter 2017, no
 *               restarts: lr at the first step, lr/2 halfway, towards 0 at the end) */
typedef enum lr_schedule { LR_CONSTANT, LR_COSINE } lr_schedule;

/* Names: "constant", "cosine"; an unknown name is an error listing both. */
int lr_schedule_from_name(lr_schedule *out, const char *name, err_info *e);
const char *lr_schedule_name(lr_schedule s);

/* The learning rate of step s of T under schedule k for a base rate lr (formulas above). */
float lr_schedule_at(lr_schedule k, float lr, int64_t s, int64_t t);

typedef struct train_config {
    int batch;              /* images per iteration (the paper: 100) */
    sampling_kind sampling; /* the paper: SAMPLING_WITH_REPLACEMENT */
    int iters_per_epoch;    /* 0: the protocol's own count (see above); > 0 caps it */
    optim_config optim;     /* the paper: Momentum, lr 0.1 (the base rate of the schedule) */
    lr_schedule schedule;   /* the paper: LR_CONSTANT */
    int epochs;             /* epochs the run will train: the schedule's length; >= 1 for cosine */
    int augment_shift;      /* 0 (the paper): none; s > 0: every training image of every batch is
                             * translated by (dx, dy) drawn uniformly from [-s, s]^2 on stream
                             * RNG_STREAM_AUGMENT (dx first, then dy, image by image), zero fill
                             * (dataset_translate; with a distortion on, the translation of its
                             * affine map instead, so that the image is interpolated once) */
    augment_config augment; /* rotation, scaling, shear, elastic distortion of every training
                             * image (augment.h); augment_config_default(): all off */
    uint64_t seed;
} train_config;

/* The paper's configuration: batch 100, with replacement, Momentum lr 0.1 momentum 0.9, constant
 * learning rate, no augmentation, epochs 20, seed 1. */
train_config train_config_default(void);

/* Called after every iteration; a non-zero return stops the epoch with ERR_INTERRUPTED. */
typedef int (*train_progress_fn)(void *ctx, int epoch, int iter, int iters, double loss);

typedef struct train_stats {
    int epoch;            /* 1-based number of the epoch just trained */
    int iterations;       /* iterations done */
    int64_t images;       /* images seen (iterations * batch) */
    double loss;          /* mean mini-batch loss over the epoch */
    double accuracy;      /* fraction of training-mode predictions that were right */
    int diverged_iter;    /* 1-based iteration whose loss was not finite, 0 if none */
} train_stats;

typedef struct trainer trainer;

/* Create a trainer for network n on the training set. The net's max_batch must be at least
 * cfg->batch; the optimizer configuration is validated here. Does not initialise the
 * parameters: call net_init_params(n, cfg->seed) (trainer_new does it when init is true). */
int trainer_new(trainer **out, net *n, const dataset *train, const train_config *cfg, bool init,
                err_info *e);
void trainer_free(trainer *t);

/* Train one epoch. Returns 0, ERR_DIVERGED when a mini-batch loss is not finite (the epoch stops
 * there, stats->diverged_iter says where, no update is applied from that batch), or
 * ERR_INTERRUPTED when the callback asked to stop. */
int trainer_train_epoch(trainer *t, train_stats *stats, train_progress_fn cb, void *cb_ctx,
                        err_info *e);

/* Evaluate the first n images of d (n <= 0 or n > d->n: all of them) in inference mode, in
 * batches of the net's max_batch, into out (accuracy, loss, confusion, P/R/F1, AUROC). */
int trainer_evaluate(trainer *t, metrics *out, const dataset *d, int64_t n, err_info *e);

/* Epochs trained so far. */
int trainer_epochs_done(const trainer *t);

#endif
