/* net: a sequential network built from a list of layer specs, with softmax cross-entropy on top.
 *
 * A model is data: the paper's CNN, LeNet-5 and the Ji-2018 CNN are arrays of layer_spec
 * (see models.h), not code. net_new() computes every shape first, then makes exactly three
 * parameter-sized allocations (parameters, gradients, decay mask), one for the BN running
 * statistics and one arena for activations, caches and workspaces sized for cfg.max_batch;
 * layers hold views into them (README.md "Conventions" rule 4). Forward and backward never allocate.
 *
 * Parameter block layout, in layer order: conv W (F,C,K,K) then b (F); affine W (D,N) then b (N);
 * batch-norm gamma (C) then beta (C). The BN running mean and variance live in a separate
 * "state" block (they are not trained but are saved with the parameters).
 *
 * The last layer must produce cfg.classes outputs; the net applies softmax and cross-entropy
 * to them (loss.h), so specs never list a softmax layer. */
#ifndef BENCH_NET_H
#define BENCH_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "gemm.h"
#include "init.h"

typedef enum layer_kind {
    LAYER_CONV,
    LAYER_MAXPOOL,
    LAYER_AVGPOOL,
    LAYER_AFFINE,
    LAYER_BN,
    LAYER_RELU,
    LAYER_TANH,
    LAYER_DROPOUT,
} layer_kind;

typedef struct layer_spec {
    layer_kind kind;
    int filters;  /* conv: output channels */
    int size;     /* conv: kernel size; pools: window size */
    int stride;   /* conv and pools; 0 means 1 for conv and `size` for pools */
    int pad;      /* conv: zero padding on each side */
    int units;    /* affine: outputs */
    float ratio;  /* dropout: probability of dropping a unit */
} layer_spec;

/* Layer names as written in experiment files: conv maxpool avgpool affine bn relu tanh dropout. */
int layer_kind_from_name(layer_kind *out, const char *name, err_info *e);
const char *layer_kind_name(layer_kind k);

typedef struct net_config {
    int c, h, w;          /* input shape of one image */
    int classes;          /* outputs of the last layer */
    int max_batch;        /* largest batch forward/backward will see */
    init_kind init;       /* weight initialisation of conv and affine layers */
    float init_std;       /* std for INIT_NORMAL (the paper: 0.01) */
    float bn_momentum;    /* running = momentum*running + (1-momentum)*batch; textbook 0.9 */
    float bn_eps;         /* inside the square root; textbook 1e-6 */
    gemm_ctx gemm;        /* threads for the products and layer loops, kernel set (kern.h) */
    bool unfused;         /* run every layer on its own instead of fused groups (tests, perf) */
} net_config;

/* The paper's defaults: 1x28x28 input, 10 classes, batch 100, N(0, 0.01^2), BN 0.9 / 1e-6. */
net_config net_config_default(void);

typedef struct net net;

/* Validate specs against cfg (shapes must fit, the last layer must output cfg.classes) and
 * allocate the network. Errors name the layer by index and kind, e.g.
 * "layer 3 (conv): kernel 5 larger than input 4x4 plus padding". */
int net_new(net **out, const net_config *cfg, const layer_spec *specs, int n_specs, err_info *e);
void net_free(net *n);

/* Initialise parameters from `seed` (stream RNG_STREAM_INIT): weights per cfg.init, biases 0,
 * BN gamma 1 and beta 0, running mean and variance 0 (as the textbook does). Also reseeds the
 * dropout stream (RNG_STREAM_DROPOUT) from the same seed. */
void net_init_params(net *n, uint64_t seed);

/* Forward pass of `batch` images x (B,C,H,W). training: BN uses batch statistics and updates
 * its running ones, dropout drops. When labels is not NULL the mean cross-entropy loss is
 * returned (else 0). Afterwards net_probs() holds the softmax output (B,classes). */
double net_forward(net *n, const float *x, const uint8_t *labels, int batch, bool training);

/* Backward pass after a training forward with the same labels: clears the gradient block,
 * then fills it with d(loss)/d(params). */
void net_backward(net *n, const uint8_t *labels, int batch);

const float *net_probs(const net *n);           /* (B,classes) of the last forward */
float *net_params(net *n);                       /* the parameter block */
const float *net_grads(const net *n);            /* the gradient block */
const uint8_t *net_decay_mask(const net *n);     /* 1 for conv/affine weights, 0 elsewhere */
size_t net_param_count(const net *n);
float *net_state(net *n);                        /* BN running mean/var block */
size_t net_state_count(const net *n);
const net_config *net_get_config(const net *n);
int net_layer_count(const net *n);
/* Output shape of layer i (per image). */
void net_layer_shape(const net *n, int i, int *c, int *h, int *w);
/* Multiply-adds of one image's forward pass (conv and affine layers), for FLOP figures. */
double net_forward_macs(const net *n);
/* Profiling hook: when set, net_forward and net_backward call fn(ctx, first, last, backward,
 * after) right before (after = false) and right after (after = true) each step, where a step
 * is one layer or one fused group (layers first..last), and first = last = net_layer_count()
 * is the softmax cross-entropy (plus, in backward, clearing the gradient block). The core reads
 * no clock: the harness times the steps in fn. fn = NULL removes the hook. */
typedef void (*net_hook_fn)(void *ctx, int first, int last, bool backward, bool after);
void net_set_hook(net *n, net_hook_fn fn, void *ctx);

/* Which kernels this network runs, for provenance: the conv kernel set, the BLAS, the fused
 * layer groups and the conv weight gradient, e.g. "conv:direct-avx2 gemm:blis-zen3
 * fused:conv+relu+maxpool dw:sparse-argmax". The fused groups (conv -> [relu ->] maxpool,
 * relu -> maxpool) give bitwise the same results as the separate layers (cfg.unfused), except
 * the conv's dW and db under "dw:sparse-argmax" (summed in another order, conv.h); the conv
 * kernel set changes rounding (kern.h). */
const char *net_kernels(const net *n);
/* The same description for a network not built yet (cfg and specs as net_new would get them). */
void net_kernels_describe(char *out, size_t cap, const net_config *cfg, const layer_spec *specs,
                          int n_specs);
/* Bytes of the activation arena (for memory figures). */
size_t net_arena_bytes(const net *n);

/* Parameter files: a versioned binary image of the parameter and state blocks.
 *   offset 0  magic "BNCHPRM\0" (8 bytes)
 *          8  format version, uint32 little-endian (1)
 *         12  architecture hash, uint32 (CRC-32 of the layer specs and input shape)
 *         16  parameter count, uint64 LE;  24 state count, uint64 LE
 *         32  parameters then state, float32 LE
 *        end  CRC-32 (zlib) of every preceding byte, uint32 LE
 * net_save_size() bytes are written by net_save() into buf. net_load() checks magic, version,
 * architecture, sizes and checksum before touching the network. */
size_t net_save_size(const net *n);
void net_save(const net *n, uint8_t *buf);
int net_load(net *n, const uint8_t *buf, size_t len, err_info *e);

#endif
