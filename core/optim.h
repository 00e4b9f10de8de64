/* optim: the parameter-update rules of the textbook "Deep Learning from Scratch" (Saitoh,
 * common/optimizer.py), over one flat parameter block.
 *
 * The module owns the optimizer's state (velocities, squared-gradient accumulators, Adam's
 * moments and step count), kept in ONE allocation made by optim_new; optim_step never
 * allocates. The network owns the parameters and gradients: a step updates the whole block
 * params (n) from grads (n) in place.
 *
 * Update rules, elementwise over i (eps = 1e-7, all arithmetic on float elements; the
 * per-step scalars of Adam are computed in double and rounded to float once per step):
 *   weight decay (any kind, when weight_decay > 0): g = grads[i] + weight_decay * params[i] on
 *       entries with decay_mask[i] == 1 (every entry when decay_mask is NULL), else g = grads[i].
 *       This is the gradient of the textbook's L2 term 0.5 * lambda * sum(w^2).
 *   SGD:       w -= lr * g
 *   Momentum:  v = momentum * v - lr * g;   w += v                            (v starts at 0)
 *   Nesterov:  v = momentum * v - lr * g;
 *              w += momentum * momentum * v - (1 + momentum) * lr * g   (the textbook's form:
 *              Nesterov's look-ahead rewritten in terms of the current w; Bengio et al. 2012)
 *   AdaGrad:   h += g * g;                  w -= lr * g / (sqrt(h) + eps)     (h starts at 0)
 *   RMSprop:   h = decay_rate * h + (1 - decay_rate) * g * g;
 *              w -= lr * g / (sqrt(h) + eps)                                   (h starts at 0)
 *   Adam:      t += 1;  lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t);
 *              m += (1 - beta1) * (g - m);  v += (1 - beta2) * (g * g - v);
 *              w -= lr_t * m / (sqrt(v) + eps)                           (m, v start at 0)
 *   (The textbook's Adam folds the bias correction into lr_t and leaves eps uncorrected; that
 *   is kept, so results match its code rather than Kingma & Ba's Algorithm 1 to the last bit.)
 *
 * Deterministic: elements are updated independently, so the result is the same in any order
 * and for any thread count (optim_step_par). */
#ifndef BENCH_OPTIM_H
#define BENCH_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "par.h"

typedef enum optim_kind {
    OPTIM_SGD,
    OPTIM_MOMENTUM,
    OPTIM_NESTEROV,
    OPTIM_ADAGRAD,
    OPTIM_RMSPROP,
    OPTIM_ADAM,
} optim_kind;

#define OPTIM_KIND_COUNT 6

#define OPTIM_EPS 1e-7f

typedef struct optim_config {
    optim_kind kind;
    float lr;           /* learning rate, > 0 and finite */
    float momentum;     /* Momentum, Nesterov: in [0, 1); default 0.9 */
    float beta1, beta2; /* Adam: each in [0, 1); defaults 0.9, 0.999 */
    float decay_rate;   /* RMSprop: in [0, 1); default 0.99 */
    float weight_decay; /* L2 coefficient lambda >= 0, finite; 0 = off (default) */
} optim_config;

/* The textbook's defaults for kind: lr 0.01 (SGD, Momentum, Nesterov, AdaGrad, RMSprop) or
 * 0.001 (Adam); momentum 0.9, beta1 0.9, beta2 0.999, decay_rate 0.99, weight_decay 0. All
 * fields are filled whatever the kind, so switching kind later keeps sensible values. */
optim_config optim_defaults(optim_kind kind);

/* *out = the kind called name: "sgd" "momentum" "nesterov" "adagrad" "rmsprop" "adam"
 * (exact, lowercase). Unknown name: ERR_INVALID listing the valid names, *out untouched. */
int optim_kind_from_name(optim_kind *out, const char *name, err_info *e);

/* The name of k as accepted by optim_kind_from_name, or "?" for an out-of-range value. */
const char *optim_kind_name(optim_kind k);

/* Check cfg's fields that kind uses (ranges above). 0 or ERR_INVALID naming the field and value. */
int optim_config_validate(const optim_config *cfg, err_info *e);

typedef struct optim optim; /* opaque */

/* *out = a new optimizer for n_params parameters with zeroed state and step count 0, after
 * optim_config_validate. One allocation holds the struct and all state (0, 1 or 2 floats per
 * parameter depending on kind). ERR_INVALID or ERR_NOMEM on failure, *out = NULL then. */
int optim_new(optim **out, const optim_config *cfg, size_t n_params, err_info *e);

/* Bytes optim_new allocates for kind over n_params parameters (the struct and its state). */
size_t optim_bytes(optim_kind kind, size_t n_params);

/* Release o (NULL is fine). */
void optim_free(optim *o);

/* One update of the whole block: params (n) -= f(grads (n), state), rules above. n must equal
 * the n_params given to optim_new (asserted). decay_mask (n) selects the entries that get
 * weight decay (1) or not (0); NULL means every entry. No allocation. */
void optim_step(optim *o, float *params, const float *grads, const uint8_t *decay_mask,
                size_t n);

/* optim_step with the block split in contiguous ranges over the threads of `team` (par.h; one
 * thread for small blocks, or when team is NULL); bitwise the same result as optim_step. */
void optim_step_par(optim *o, float *params, const float *grads, const uint8_t *decay_mask, size_t n,
                    par_team *team);

/* Zero the state and the step count, as if freshly made. */
void optim_reset(optim *o);

/* The configuration o was made with. */
const optim_config *optim_get_config(const optim *o);

/* Number of optim_step calls since creation or the last optim_reset (Adam's t). */
int64_t optim_steps(const optim *o);

/* The state block, for checkpointing: *n_out = its length in floats (0 for SGD), laid out as
 * [v] (Momentum, Nesterov), [h] (AdaGrad, RMSprop) or [m, v] (Adam), each (n_params).
 * Writing through the pointer (then optim_set_steps) restores a checkpoint. */
float *optim_state(optim *o, size_t *n_out);

/* Set the step count (restoring a checkpoint); steps >= 0. */
void optim_set_steps(optim *o, int64_t steps);

/* Change the learning rate used by the next optim_step (a schedule's step); lr > 0 and finite. */
void optim_set_lr(optim *o, float lr);

#endif
