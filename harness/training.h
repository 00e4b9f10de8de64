/* training: one training run of a resolved configuration; the one run path of `bench train`,
 * of the sweep worker of `bench run`, and (for its network and data) of `bench perf`.
 *
 * The run is an exp.h run_spec: what `bench run` expands from an experiment file, and what
 * `bench train` writes from its flags. training_new loads its data set (labels checked against
 * the run's classes, images against its shape), holds out the validation split (the last
 * r->validation training images, evaluated instead of the test set), builds the network from
 * training_net_config (the one place a run's net_config is filled) and the trainer, and
 * initialises the parameters from the run's seed. Between the data and the network it
 * computes what the run will hold in memory (training_memory_plan) and refuses a run that
 * needs more than the machine has (prov_memory_limit), before allocating any of it; the
 * runner makes the same check at planning time, --dry-run included. training_run trains the epochs; each one is
 * timed (timing.h: wall, CPU, run-queue wait, involuntary context switches of this process),
 * then evaluated on the first r->eval_train_n training images and the first r->eval_test_n
 * evaluation images (0 = all; inference mode), and handed to the caller's epoch callback.
 * After the last epoch the SHA-256 of the parameter file image (net_save) identifies the
 * trained model.
 *
 * Stopping: the caller owns the signal handlers and passes the flag they set; the epoch in
 * progress stops at its next iteration, and a set flag after an epoch stops before the next.
 *
 * Determinism: the same run, data and build give bitwise the same parameters and metrics for
 * any thread count (train.h), whichever command runs it. */
#ifndef BENCH_TRAINING_H
#define BENCH_TRAINING_H

#include <signal.h>
#include <stdbool.h>

#include "data.h"
#include "err.h"
#include "exp.h"
#include "perf.h"
#include "timing.h"
#include "train.h"

/* The network configuration of run r computed with threads threads (>= 1) on the kernel set
 * isa (training_choose_kernels; KERN_AUTO: the best set the CPU runs): input shape, classes,
 * largest batch and weight initialisation from r; batch-norm constants and fusion at their
 * defaults (bench perf may unfuse: fusion is not part of a run). */
net_config training_net_config(const run_spec *r, int threads, kern_isa isa);

/* *out <- the kernel set run r trains with on threads threads (>= 1): perf_choose on r's own
 * network (perf.h: by the CPU's features, then by timing the sets that compute the same bits
 * on a few training steps), with out->why saying why. The one home of a run's kernel choice:
 * `bench train`, `bench run` (once per network, before its runs are queued, so that the store
 * describes their kernels) and `bench perf` take it from here. The timing builds the network:
 * a run whose network alone needs more memory than the machine has is refused first
 * (training_memory_check, no data counted). */
int training_choose_kernels(perf_choice *out, const run_spec *r, int threads, err_info *e);

/* The memory of one run, in bytes, computed before the network is allocated. */
typedef struct training_memory {
    train_memory run; /* the network, its gradients, the optimizer and the trainer's buffers
                       * (train_memory_plan) */
    size_t data;      /* the training and test sets as loaded: pixels and labels */
    size_t total;     /* run.total + data */
} training_memory;

/* *out <- the memory run r needs trained with threads threads (>= 1) on the sets train (as
 * loaded: the validation split is inside it) and test, whose images have r's shape. Fails as
 * net_plan does on layers that do not fit. */
int training_memory_plan(training_memory *out, const run_spec *r, int threads,
                         const dataset *train, const dataset *test, err_info *e);

/* ERR_INVALID "needs X MiB (network and training Y MiB, data Z MiB), more than the L MiB this
 * machine has" when m->total exceeds limit bytes (prov_memory_limit; 0 = unknown: nothing is
 * refused), else 0. The caller prefixes what the run is. */
int training_memory_check(const training_memory *m, int64_t limit, err_info *e);

/* A run's data: the loaded sets and the views trained and evaluated on. */
typedef struct training_data {
    dataset all;   /* owned: the whole training set as loaded */
    dataset test;  /* owned: the test set */
    dataset train; /* view: all but the validation split */
    dataset val;   /* view: the validation split (n = 0 without one) */
} training_data;

/* *out <- the data of run r from src: labels checked against r->classes, images against
 * r->channels x r->height x r->width, the validation split taken. Errors name the data set. On
 * failure nothing is left to release. */
int training_data_load(training_data *out, const run_spec *r, const data_source *src,
                       err_info *e);

/* What each epoch is evaluated on: the validation split when there is one, else the test set. */
const dataset *training_data_eval(const training_data *d);

void training_data_release(training_data *d);

/* One epoch as training_run hands it to the caller. */
typedef struct training_epoch {
    int epoch;          /* 1-based */
    train_stats train;  /* loss and training-mode accuracy over its iterations */
    double train_acc;   /* inference-mode accuracy on the training sample */
    metrics test;       /* on the evaluation set (the test set or the validation split) */
    timing_span time;   /* the training iterations (evaluation excluded) */
    double eval_s;      /* wall seconds of the two evaluations */
} training_epoch;

typedef struct training_hooks {
    train_progress_fn progress; /* after every iteration, may be NULL; non-zero stops */
    int (*epoch)(void *ctx, const training_epoch *ep); /* after every epoch, may be NULL; a
                                 * non-zero return ends the run with that code */
    void *ctx;                  /* for both */
    const volatile sig_atomic_t *stop; /* set (non-zero) by the caller's signal handler to
                                 * stop; may be NULL */
} training_hooks;

/* What a run did. */
typedef struct training_result {
    int epochs_done;          /* epochs trained and evaluated */
    int diverged_epoch;       /* epoch whose loss became non-finite, 0 if none */
    int diverged_iter;        /* its 1-based iteration */
    char params_sha256[65];   /* of the trained parameters (net_save's image); "" unless
                               * every epoch was trained */
    timing_run time;          /* the epochs' timings folded for the budget gate */
} training_result;

typedef struct training training;

/* Prepare run r on the data of src with threads threads (>= 1; r->threads, when > 0, is the
 * caller's to pass) on the kernel set isa (training_choose_kernels): load the data
 * (training_data_load), build the network and the trainer, initialise the parameters. */
int training_new(training **out, const run_spec *r, const data_source *src, int threads,
                 kern_isa isa, err_info *e);
void training_free(training *t);

/* Train r->epochs epochs (see the header comment); *out says how far it got. Returns 0 when
 * every epoch was trained and evaluated, ERR_DIVERGED when a loss was not finite (out says
 * where), ERR_INTERRUPTED when the stop flag or the progress callback stopped it, the epoch
 * callback's non-zero return, or another error. */
int training_run(training_result *out, training *t, const training_hooks *h, err_info *e);

/* The network, the data and the thread count of t (for printing). */
const net *training_net(const training *t);
const training_data *training_data_of(const training *t);
int training_threads(const training *t);

/* Write t's parameters to path as a parameter file (net.h) with path_write_file: a missing
 * or regular file is replaced through a unique temporary name and a rename (never
 * half-written), a FIFO or character device written through, anything else refused. */
int training_save(const training *t, const char *path, err_info *e);

#endif
