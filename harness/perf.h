/* perf: how fast the training core runs a model on this machine, and against what ceiling.
 *
 * The measuring half of `bench perf` (cmd_perf.c parses, prints through perf_print and records
 * through perf_record), and the kernel choice that every training run makes (perf_choose):
 *
 * - the physical peak (perf_peak): a loop of independent vector FMAs (kern_fma_peak) for the
 *   widest instruction set of this CPU, on 1 thread and on N threads at once: what no kernel
 *   can beat, unlike an SGEMM through whatever BLAS is linked (a BLAS that falls back to
 *   generic kernels drags such a "peak" down with it);
 * - the SGEMM of each library available (perf_sgemm): the core's own kernels (per instruction
 *   set), BLIS (linked) and OpenBLAS (loaded with dlopen when installed), on an n^3 product and
 *   on every product of the model's affine layers (shapes from the layer specs);
 * - the kernel choice (perf_choose): among the instruction sets this CPU runs that give the
 *   same bits (AVX-512 and AVX2, gemm.h), the one that trains the model fastest here, timed on
 *   a few of its training steps, and why;
 * - the training step (perf_measure): whole iterations (forward, backward, Momentum step) on N
 *   threads and on 1, in `reps` alternated repetitions (with PyTorch's, when asked, alternated
 *   with them: both vary from run to run, minima are the fair comparison), with what they cost
 *   this process and whether other processes held the CPUs meanwhile (timing.h), a per-layer
 *   profile through the net's hook (one pass a repetition, each step its fastest pass, so that
 *   the steps and the whole iteration come from the machine's quietest moments alike),
 *   evaluation time and peak memory.
 *
 * Every figure is a measurement and is never asserted: the machine's load is recorded with it. */
#ifndef BENCH_PERF_H
#define BENCH_PERF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "data.h"
#include "dataset.h"
#include "err.h"
#include "exp.h"
#include "kern.h"
#include "models.h"
#include "net.h"
#include "prov.h"
#include "store.h"
#include "table.h"
#include "timing.h"

enum {
    PERF_MAX_STEPS = MODELS_MAX_LAYERS + 2, /* the layers (fused groups count once), loss, optimizer */
    PERF_MAX_SHAPES = 12,                   /* n^3 and 3 products of each affine layer */
    PERF_MAX_LIBS = 4,                      /* own AVX-512, own AVX2, BLIS, OpenBLAS */
    PERF_MAX_REPS = 32,
    PERF_MAX_ISAS = 2,                      /* the candidates of a kernel choice */
};

/* ---- the physical peak ---- */

typedef struct perf_peak {
    kern_isa isa;        /* the widest set this CPU runs */
    int threads;         /* N */
    double core_gflops;  /* one thread */
    double gflops;       /* N threads at once */
} perf_peak;

/* *out <- the FMA peak of the widest set this CPU runs on 1 and on `threads` threads, each the
 * best of 3 runs of about 0.1 s. ERR_INVALID when a thread cannot be started. */
int perf_peak_measure(perf_peak *out, int threads, err_info *e);

/* Measure again and keep the better of each figure in *p: a peak measured in a moment when
 * another process held a core says nothing of the machine, so bench perf takes it before and
 * after the rest and keeps the best. */
int perf_peak_again(perf_peak *p, err_info *e);

/* ---- the SGEMM of each library ---- */

typedef struct perf_shape {
    char name[48]; /* "4320->100 fwd", "2000^3" */
    bool trans_a, trans_b;
    int m, n, k;
} perf_shape;

typedef struct perf_lib {
    char name[64];            /* "bench avx512-6x64", "blis-zen3", "openblas-Cooperlake" */
    bool ok;                  /* measured; else note says why not */
    char note[96];
    double ms[PERF_MAX_SHAPES]; /* best of the repetitions, per shape */
} perf_lib;

typedef struct perf_sgemm {
    int threads;
    int n_shapes, n_libs;
    perf_shape shapes[PERF_MAX_SHAPES]; /* shapes[0] is the n^3 product */
    perf_lib libs[PERF_MAX_LIBS];
} perf_sgemm;

/* *out <- the SGEMM of each library on `threads` threads: the n^3 product (n = size) and the
 * forward, weight-gradient and input-gradient products of every affine layer of the model
 * (specs, for a batch of `batch` images of the net configuration cfg). A library that is not
 * installed is listed with a note. */
int perf_sgemm_measure(perf_sgemm *out, const net_config *cfg, const layer_spec *specs, int n_specs, int batch,
                       int threads, int size, err_info *e);

/* ---- the kernel choice ---- */

typedef struct perf_choice {
    kern_isa isa;                  /* the set to train with (resolved) */
    int n;                         /* candidates timed (0: nothing to choose) */
    kern_isa cand[PERF_MAX_ISAS];
    double ms[PERF_MAX_ISAS];      /* best training step of each, milliseconds */
    char why[192];                 /* one line: the figures, or why there was no choice */
} perf_choice;

/* *out <- the kernel set to train the model with on this machine. want != KERN_AUTO is taken
 * as given (forced); otherwise every set this CPU runs that computes the same bits as the best
 * one (kern_has_avx2: AVX-512 and AVX2) is timed on the network itself (cfg, specs; synthetic
 * data), a few training steps each, alternated, and the fastest wins. About 20 training steps
 * in all. */
int perf_choose(perf_choice *out, kern_isa want, const net_config *cfg, const layer_spec *specs, int n_specs,
                err_info *e);

/* ---- the training step ---- */

typedef struct perf_options {
    const char *model;     /* preset name ("paper"), for the report */
    const run_spec *run;   /* the run whose network is timed, built as training builds it
                            * (training_net_config: input shape, classes, layers, batch) */
    int threads;           /* N */
    int iters;             /* timed iterations per repetition */
    int batch;
    int reps;              /* alternated repetitions (>= 1) */
    kern_isa isa;          /* KERN_AUTO: perf_choose decides */
    bool unfused;
    const dataset *train;  /* NULL: synthetic data of the model's input shape */
    const dataset *test;   /* for the evaluation; NULL: synthetic */
    int64_t epoch_images;  /* images per epoch (the training set's size; 60,000 synthetic) */
    bool torch;            /* alternate scripts/torch_bench.py with the repetitions */
    const char *python;    /* the python3 that imports torch (with torch) */
} perf_options;

typedef struct perf_step {
    int step;            /* first layer; n_layers for the loss, n_layers + 1 for the optimizer */
    char layers[64];     /* "conv+relu+maxpool", "affine", "softmax-xent", "momentum-step" */
    double fwd_ms, bwd_ms;
    double fwd_flops, bwd_flops; /* per iteration; 0 for memory-bound steps */
} perf_step;

/* min, median and max of a sample */
typedef struct perf_spread {
    double min, median, max;
} perf_spread;

typedef struct perf_result {
    char kernels[160];         /* net_kernels() of the N-thread network */
    perf_choice choice;
    int n_steps;
    perf_step steps[PERF_MAX_STEPS];
    double flops;              /* of one iteration, every step */
    double iters_per_epoch;
    int reps;
    double iter_s[PERF_MAX_REPS], iter1_s[PERF_MAX_REPS]; /* per repetition: N threads, 1 */
    perf_spread epoch, epoch1; /* seconds per epoch over the repetitions: N threads, 1 */
    timing_span time, time1;   /* what the timed iterations of all repetitions cost this
                                * process (timing.h: CPU time, run-queue wait, involuntary
                                * switches; contended when the wait exceeds 10% of the CPU
                                * time): N threads, 1 (with N == 1 a copy of time) */
    double eval_s;             /* inference over 10,000 images, N threads */
    int64_t peak_rss_bytes;
    int torch_reps;            /* repetitions PyTorch reported */
    double torch_s[PERF_MAX_REPS]; /* its best setting's seconds per epoch, per repetition */
    perf_spread torch;
    char torch_setting[64];    /* its best setting overall, e.g. "torch 1.13.1, 1 thread" */
} perf_result;

/* *out <- the measurement of o (see the header comment). Prints PyTorch's own lines to `log`
 * (may be NULL) as they come. */
int perf_measure(perf_result *out, const perf_options *o, FILE *log, err_info *e);

/* The first python3 on PATH (then /usr/bin/python3) that can import torch, NULL when none. */
const char *perf_torch_python(void);

/* ---- output ---- */

/* Write the report of one `bench perf` to f in fmt (harness/table.c). TABLE_TEXT and
 * TABLE_MD: the peak, the kernels and why, the SGEMM table, the per-layer table against the
 * physical peak, the whole iteration, seconds per epoch min/median/max, PyTorch and the ratio,
 * the CPU time, run-queue wait and switches of the timed iterations (a CONTENDED mark when
 * other processes held the CPUs), evaluation time and peak RSS; TABLE_JSON: all of it as one document; TABLE_CSV: the
 * per-layer profile (step, layers, fwd/bwd ms, GFLOP/s, % of the peak). ERR_NOMEM only. */
int perf_print(FILE *f, table_format fmt, const perf_options *o, const perf_peak *peak, const perf_sgemm *sg,
               const perf_result *r, err_info *e);

/* Record the measurement in s, in one transaction with the build, host and data set (src;
 * NULL for synthetic data): the N-thread measurement with its steps, SGEMM table and PyTorch
 * figures, and with N > 1 the 1-thread timing, each with the CPU time, run-queue wait and
 * switches of its timed iterations. ids[0..*n_ids) <- their rows; load: the 1-minute
 * load average before and after. Nothing is written on error. */
int perf_record(store *s, int64_t ids[2], int *n_ids, const perf_options *o, const perf_peak *peak,
                const perf_sgemm *sg, const perf_result *r, const data_source *src, const prov_build_info *build,
                const prov_host_info *host, const double load[2], err_info *e);

#endif
