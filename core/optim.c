/* optim: the textbook's update rules over one flat parameter block; see optim.h. */
#include "optim.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct optim {
    optim_config cfg;
    size_t n;       /* parameters */
    size_t n_state; /* floats in state[]: 0, n or 2n */
    int64_t t;      /* steps taken */
    float state[];  /* (n_state): [v] | [h] | [m, v], see optim_state */
};

/* Names indexed by optim_kind (README.md "Conventions" rule 8). */
static const char *const optim_names[OPTIM_KIND_COUNT] = {
    [OPTIM_SGD] = "sgd",         [OPTIM_MOMENTUM] = "momentum", [OPTIM_NESTEROV] = "nesterov",
    [OPTIM_ADAGRAD] = "adagrad", [OPTIM_RMSPROP] = "rmsprop",   [OPTIM_ADAM] = "adam",
};

/* State vectors of n floats each kind keeps. */
static const int optim_state_vectors[OPTIM_KIND_COUNT] = {
    [OPTIM_SGD] = 0,     [OPTIM_MOMENTUM] = 1, [OPTIM_NESTEROV] = 1,
    [OPTIM_ADAGRAD] = 1, [OPTIM_RMSPROP] = 1,  [OPTIM_ADAM] = 2,
};

optim_config optim_defaults(optim_kind kind)
{
    return (optim_config){
        .kind = kind,
        .lr = kind == OPTIM_ADAM ? 0.001f : 0.01f,
        .momentum = 0.9f,
        .beta1 = 0.9f,
        .beta2 = 0.999f,
        .decay_rate = 0.99f,
        .weight_decay = 0.0f,
    };
}

int optim_kind_from_name(optim_kind *out, const char *name, err_info *e)
{
    for (int k = 0; k < OPTIM_KIND_COUNT; k++) {
        if (name && strcmp(name, optim_names[k]) == 0) {
            *out = (optim_kind)k;
            return 0;
        }
    }
    return err_set(e, ERR_INVALID,
                   "unknown optimizer '%s' (valid: sgd, momentum, nesterov, adagrad, rmsprop, adam)",
                   name ? name : "(null)");
}

const char *optim_kind_name(optim_kind k)
{
    if ((int)k < 0 || (int)k >= OPTIM_KIND_COUNT)
        return "?";
    return optim_names[k];
}

/* 0 when x is in [0, 1), else ERR_INVALID naming the field. NaN fails the test. */
static int optim_check_unit(float x, const char *field, err_info *e)
{
    if (!(x >= 0.0f && x < 1.0f))
        return err_set(e, ERR_INVALID, "optimizer %s %g out of range [0, 1)", field, (double)x);
    return 0;
}

int optim_config_validate(const optim_config *cfg, err_info *e)
{
    int rc;
    if ((int)cfg->kind < 0 || (int)cfg->kind >= OPTIM_KIND_COUNT)
        return err_set(e, ERR_INVALID, "unknown optimizer kind %d", (int)cfg->kind);
    if (!(cfg->lr > 0.0f) || !isfinite(cfg->lr))
        return err_set(e, ERR_INVALID, "learning rate %g must be positive and finite",
                       (double)cfg->lr);
    if (!(cfg->weight_decay >= 0.0f) || !isfinite(cfg->weight_decay))
        return err_set(e, ERR_INVALID, "weight_decay %g must be >= 0 and finite",
                       (double)cfg->weight_decay);
    switch (cfg->kind) {
    case OPTIM_MOMENTUM:
    case OPTIM_NESTEROV:
        return optim_check_unit(cfg->momentum, "momentum", e);
    case OPTIM_RMSPROP:
        return optim_check_unit(cfg->decay_rate, "decay_rate", e);
    case OPTIM_ADAM:
        if ((rc = optim_check_unit(cfg->beta1, "beta1", e)) < 0)
            return rc;
        return optim_check_unit(cfg->beta2, "beta2", e);
    case OPTIM_SGD:
    case OPTIM_ADAGRAD:
        break;
    }
    return 0;
}

size_t optim_bytes(optim_kind kind, size_t n_params)
{
    assert((int)kind >= 0 && (int)kind < OPTIM_KIND_COUNT);
    return sizeof(optim) + (size_t)optim_state_vectors[kind] * n_params * sizeof(float);
}

int optim_new(optim **out, const optim_config *cfg, size_t n_params, err_info *e)
{
    *out = NULL;
    int rc = optim_config_validate(cfg, e);
    if (rc < 0)
        return rc;
    size_t vectors = (size_t)optim_state_vectors[cfg->kind];
    if (n_params > (SIZE_MAX - sizeof(optim)) / sizeof(float) / (vectors ? vectors : 1))
        return err_set(e, ERR_NOMEM, "optimizer state for %zu parameters is too large", n_params);
    size_t n_state = vectors * n_params;
    optim *o = calloc(1, sizeof(optim) + n_state * sizeof(float));
    if (!o)
        return err_set(e, ERR_NOMEM, "cannot allocate optimizer state for %zu parameters",
                       n_params);
    o->cfg = *cfg;
    o->n = n_params;
    o->n_state = n_state;
    o->t = 0;
    *out = o;
    return 0;
}

void optim_free(optim *o)
{
    free(o);
}

void optim_reset(optim *o)
{
    /* All-zero bits are 0.0f in IEEE 754. */
    memset(o->state, 0, o->n_state * sizeof(float));
    o->t = 0;
}

const optim_config *optim_get_config(const optim *o)
{
    return &o->cfg;
}

int64_t optim_steps(const optim *o)
{
    return o->t;
}

float *optim_state(optim *o, size_t *n_out)
{
    *n_out = o->n_state;
    return o->state;
}

void optim_set_steps(optim *o, int64_t steps)
{
    assert(steps >= 0);
    o->t = steps;
}

void optim_set_lr(optim *o, float lr)
{
    assert(lr > 0.0f && isfinite(lr));
    o->cfg.lr = lr;
}

/* The gradient the rule sees for entry i: grads[i] plus the L2 term lambda * w on decayed
 * entries. lambda == 0 leaves grads[i] bit-for-bit (no + 0 * w, which would turn -0 into +0
 * and NaN weights into NaN gradients). */
static inline float optim_grad(const float *params, const float *grads, const uint8_t *mask,
                               float lambda, size_t i)
{
    if (lambda == 0.0f || (mask && !mask[i]))
        return grads[i];
    return grads[i] + lambda * params[i];
}

/* The update of entries [lo, hi) at step o->t (already counted); entries are independent. */
static void optim_update(optim *o, float *params, const float *grads, const uint8_t *decay_mask, size_t lo,
                         size_t hi)
{
    const float lr = o->cfg.lr;
    const float wd = o->cfg.weight_decay;
    const float eps = OPTIM_EPS;

    switch (o->cfg.kind) {
    case OPTIM_SGD:
        for (size_t i = lo; i < hi; i++)
            params[i] -= lr * optim_grad(params, grads, decay_mask, wd, i);
        break;

    case OPTIM_MOMENTUM: {
        const float mom = o->cfg.momentum;
        float *v = o->state; /* (n) velocity */
        for (size_t i = lo; i < hi; i++) {
            float g = optim_grad(params, grads, decay_mask, wd, i);
            v[i] = mom * v[i] - lr * g;
            params[i] += v[i];
        }
        break;
    }

    case OPTIM_NESTEROV: {
        /* Textbook form: with v_new = m v - lr g, the look-ahead update collapses to
         * w += m^2 v_new - (1 + m) lr g. The two scalars are formed once per step. */
        const float mom = o->cfg.momentum;
        const float mm = mom * mom;
        const float c = (1.0f + mom) * lr;
        float *v = o->state; /* (n) velocity */
        for (size_t i = lo; i < hi; i++) {
            float g = optim_grad(params, grads, decay_mask, wd, i);
            v[i] = mom * v[i] - lr * g;
            params[i] += mm * v[i];
            params[i] -= c * g;
        }
        break;
    }

    case OPTIM_ADAGRAD: {
        float *h = o->state; /* (n) sum of squared gradients */
        for (size_t i = lo; i < hi; i++) {
            float g = optim_grad(params, grads, decay_mask, wd, i);
            h[i] += g * g;
            params[i] -= lr * g / (sqrtf(h[i]) + eps);
        }
        break;
    }

    case OPTIM_RMSPROP: {
        const float rho = o->cfg.decay_rate;
        const float one_minus_rho = 1.0f - rho;
        float *h = o->state; /* (n) running mean of squared gradients */
        for (size_t i = lo; i < hi; i++) {
            float g = optim_grad(params, grads, decay_mask, wd, i);
            h[i] = rho * h[i] + one_minus_rho * g * g;
            params[i] -= lr * g / (sqrtf(h[i]) + eps);
        }
        break;
    }

    case OPTIM_ADAM: {
        /* Bias correction folded into the step size: m and v start at 0, so after t steps
         * E[m] = (1 - beta1^t) E[g] and E[v] = (1 - beta2^t) E[g^2]; dividing m by
         * (1 - beta1^t) and sqrt(v) by sqrt(1 - beta2^t) is the same as scaling lr. */
        const double b1 = o->cfg.beta1, b2 = o->cfg.beta2;
        const float lr_t =
            (float)((double)lr * sqrt(1.0 - pow(b2, (double)o->t)) / (1.0 - pow(b1, (double)o->t)));
        const float c1 = 1.0f - o->cfg.beta1;
        const float c2 = 1.0f - o->cfg.beta2;
        float *m = o->state;        /* (n) first moment */
        float *v = o->state + o->n; /* (n) second moment */
        for (size_t i = lo; i < hi; i++) {
            float g = optim_grad(params, grads, decay_mask, wd, i);
            m[i] += c1 * (g - m[i]);
            v[i] += c2 * (g * g - v[i]);
            params[i] -= lr_t * m[i] / (sqrtf(v[i]) + eps);
        }
        break;
    }
    }
}

void optim_step(optim *o, float *params, const float *grads, const uint8_t *decay_mask, size_t n)
{
    optim_step_par(o, params, grads, decay_mask, n, NULL);
}

/* parts of the block for the team; entries are independent, so any split gives the same bits */
enum { OPTIM_PARTS = 8 };

typedef struct optim_job {
    optim *o;
    float *params;
    const float *grads;
    const uint8_t *decay_mask;
    size_t n;
} optim_job;

static void optim_task(void *ctx, int task, int thread)
{
    (void)thread;
    const optim_job *j = ctx;
    size_t lo, hi;
    par_split(&lo, &hi, j->n, task, OPTIM_PARTS, 16); /* whole 64-byte lines */
    optim_update(j->o, j->params, j->grads, j->decay_mask, lo, hi);
}

void optim_step_par(optim *o, float *params, const float *grads, const uint8_t *decay_mask, size_t n,
                    par_team *team)
{
    assert(n == o->n);
    o->t++;
    optim_job j = {o, params, grads, decay_mask, n};
    /* tiny blocks stay on one thread */
    par_run(n < 65536 ? NULL : team, OPTIM_PARTS, optim_task, &j);
}
