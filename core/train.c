#include "train.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

/* A name table of an enum: the kinds and their names, in the order errors list them. */
typedef struct kind_name {
    int kind;
    const char *name;
} kind_name;

static const kind_name sampling_names[] = {
    {SAMPLING_WITH_REPLACEMENT, "with-replacement"},
    {SAMPLING_SHUFFLE, "shuffle"},
};

static const kind_name schedule_names[] = {
    {LR_CONSTANT, "constant"},
    {LR_COSINE, "cosine"},
};

#define N_NAMES(t) (sizeof t / sizeof t[0])

/* *out <- the kind called name, or ERR_INVALID "unknown WHAT 'name' (valid: a, b)". */
static int kind_from_name(int *out, const kind_name *t, size_t n, const char *what,
                          const char *name, err_info *e)
{
    char valid[128] = "";
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(name, t[i].name) == 0) {
            *out = t[i].kind;
            return 0;
        }
        int w = snprintf(valid + used, sizeof valid - used, "%s%s", i ? ", " : "", t[i].name);
        if (w > 0 && (size_t)w < sizeof valid - used)
            used += (size_t)w;
    }
    return err_set(e, ERR_INVALID, "unknown %s '%s' (valid: %s)", what, name, valid);
}

static const char *kind_name_of(const kind_name *t, size_t n, int kind)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].kind == kind)
            return t[i].name;
    return "?";
}

int sampling_kind_from_name(sampling_kind *out, const char *name, err_info *e)
{
    int k = 0;
    int rc = kind_from_name(&k, sampling_names, N_NAMES(sampling_names), "sampling", name, e);
    if (rc == 0)
        *out = (sampling_kind)k;
    return rc;
}

const char *sampling_kind_name(sampling_kind k)
{
    return kind_name_of(sampling_names, N_NAMES(sampling_names), (int)k);
}

int lr_schedule_from_name(lr_schedule *out, const char *name, err_info *e)
{
    int k = 0;
    int rc = kind_from_name(&k, schedule_names, N_NAMES(schedule_names),
                            "learning-rate schedule", name, e);
    if (rc == 0)
        *out = (lr_schedule)k;
    return rc;
}

const char *lr_schedule_name(lr_schedule k)
{
    return kind_name_of(schedule_names, N_NAMES(schedule_names), (int)k);
}

float lr_schedule_at(lr_schedule k, float lr, int64_t s, int64_t t)
{
    assert(t >= 1 && s >= 0 && s < t);
    if (k == LR_CONSTANT)
        return lr;
    const double pi = 3.14159265358979323846;
    return (float)((double)lr * 0.5 * (1.0 + cos(pi * (double)s / (double)t)));
}

train_config train_config_default(void)
{
    optim_config o = optim_defaults(OPTIM_MOMENTUM);
    o.lr = 0.1f;
    return (train_config){
        .batch = 100,
        .sampling = SAMPLING_WITH_REPLACEMENT,
        .iters_per_epoch = 0,
        .optim = o,
        .schedule = LR_CONSTANT,
        .epochs = 20,
        .augment_shift = 0,
        .augment = augment_config_default(),
        .seed = 1,
    };
}

struct trainer {
    net *net;
    const dataset *train;
    train_config cfg;
    optim *opt;
    rng sample_rng;   /* RNG_STREAM_SAMPLE */
    augment *aug;     /* the training images' augmentation */
    int epochs_done;
    float *x;         /* (B,C,H,W) current batch */
    uint8_t *y;       /* (B) its labels */
    uint32_t *order;  /* (n) permutation for "shuffle"; (B) indices for "with-replacement" */
};

int train_memory_plan(train_memory *out, const net_config *nc, const layer_spec *specs,
                      int n_specs, const train_config *cfg, int64_t n_train, int64_t n_eval,
                      err_info *e)
{
    memset(out, 0, sizeof *out);
    net_sizes ns;
    int rc = net_plan(&ns, nc, specs, n_specs, e);
    if (rc)
        return rc;
    const size_t img = (size_t)nc->c * (size_t)nc->h * (size_t)nc->w;
    const size_t batch = (size_t)cfg->batch, eval_b = (size_t)nc->max_batch;
    const size_t n_order = cfg->sampling == SAMPLING_SHUFFLE ? (size_t)n_train : batch;
    const size_t n_ev = n_eval > 0 ? (size_t)n_eval : 0;
    out->params = (ns.params + ns.state) * sizeof(float);
    out->grads = ns.params * (sizeof(float) + 1);
    out->optim = optim_bytes(cfg->optim.kind, ns.params);
    out->activations = ns.arena_bytes;
    /* trainer_new: x (B,C,H,W), y (B), order; trainer_evaluate: prob (n,k), x, labels (n) */
    out->buffers = batch * img * sizeof(float) + batch + n_order * sizeof(uint32_t) +
                   n_ev * ((size_t)nc->classes * sizeof(float) + 1) + eval_b * img * sizeof(float);
    out->total = out->params + out->grads + out->optim + out->activations + out->buffers;
    return 0;
}

int trainer_new(trainer **out, net *n, const dataset *train, const train_config *cfg, bool init,
                err_info *e)
{
    *out = NULL;
    const net_config *nc = net_get_config(n);
    if (cfg->batch < 1 || cfg->batch > nc->max_batch)
        return err_set(e, ERR_INVALID, "batch %d must be between 1 and the network's maximum %d",
                       cfg->batch, nc->max_batch);
    if (train->n < cfg->batch)
        return err_set(e, ERR_INVALID, "batch %d is larger than the %lld training images",
                       cfg->batch, (long long)train->n);
    if (train->n > (int64_t)UINT32_MAX)
        return err_set(e, ERR_INVALID, "training set too large (%lld images)",
                       (long long)train->n);
    if (train->c != nc->c || train->h != nc->h || train->w != nc->w)
        return err_set(e, ERR_INVALID, "training images are %dx%dx%d but the network expects "
                       "%dx%dx%d", train->c, train->h, train->w, nc->c, nc->h, nc->w);
    if (cfg->iters_per_epoch < 0)
        return err_set(e, ERR_INVALID, "iterations per epoch must be >= 0");
    if (cfg->schedule != LR_CONSTANT && cfg->schedule != LR_COSINE)
        return err_set(e, ERR_INVALID, "unknown learning-rate schedule %d", (int)cfg->schedule);
    if (cfg->schedule == LR_COSINE && cfg->epochs < 1)
        return err_set(e, ERR_INVALID, "a cosine schedule needs the run's epochs (>= 1), got %d",
                       cfg->epochs);
    int rc = ERR_NOMEM;
    trainer *t = calloc(1, sizeof *t);
    if (!t)
        goto nomem;
    t->net = n;
    t->train = train;
    t->cfg = *cfg;
    rc = optim_new(&t->opt, &cfg->optim, net_param_count(n), e);
    if (rc)
        goto fail;
    const size_t img = (size_t)nc->c * (size_t)nc->h * (size_t)nc->w;
    const size_t n_order = cfg->sampling == SAMPLING_SHUFFLE ? (size_t)train->n
                                                             : (size_t)cfg->batch;
    t->x = malloc((size_t)cfg->batch * img * sizeof(float));
    t->y = malloc((size_t)cfg->batch);
    t->order = malloc(n_order * sizeof(uint32_t));
    if (!t->x || !t->y || !t->order)
        goto nomem;
    rc = augment_new(&t->aug, &cfg->augment, cfg->augment_shift, nc->c, nc->h, nc->w, cfg->batch,
                     nc->gemm.team, cfg->seed, e);
    if (rc)
        goto fail;
    rng_init(&t->sample_rng, cfg->seed, RNG_STREAM_SAMPLE);
    if (init)
        net_init_params(n, cfg->seed);
    *out = t;
    return 0;

nomem:
    rc = err_set(e, ERR_NOMEM, "out of memory creating the trainer");
fail:
    trainer_free(t);
    return rc;
}

void trainer_free(trainer *t)
{
    if (!t)
        return;
    optim_free(t->opt);
    free(t->x);
    free(t->y);
    free(t->order);
    augment_free(t->aug);
    free(t);
}

int trainer_epochs_done(const trainer *t) { return t->epochs_done; }

/* Iterations in one epoch under the configured protocol. */
static int epoch_iterations(const trainer *t)
{
    int64_t full = t->train->n / t->cfg.batch;
    int iters = full > 0 ? (int)full : 1;
    if (t->cfg.iters_per_epoch > 0 && t->cfg.iters_per_epoch < iters)
        iters = t->cfg.iters_per_epoch;
    return iters;
}

int trainer_train_epoch(trainer *t, train_stats *stats, train_progress_fn cb, void *cb_ctx,
                        err_info *e)
{
    const int B = t->cfg.batch;
    const int iters = epoch_iterations(t);
    const int epoch = t->epochs_done + 1;
    const net_config *nc = net_get_config(t->net);
    const int k = nc->classes;
    memset(stats, 0, sizeof *stats);
    stats->epoch = epoch;
    if (t->cfg.schedule == LR_COSINE && epoch > t->cfg.epochs)
        return err_set(e, ERR_INVALID, "the cosine schedule spans %d epochs; epoch %d is past it",
                       t->cfg.epochs, epoch);
    const int64_t steps = (int64_t)t->cfg.epochs * iters; /* the schedule's length */

    if (t->cfg.sampling == SAMPLING_SHUFFLE)
        rng_permute(&t->sample_rng, t->order, (uint32_t)t->train->n);

    double loss_sum = 0.0;
    int64_t correct = 0;
    for (int it = 0; it < iters; it++) {
        const uint32_t *idx;
        if (t->cfg.sampling == SAMPLING_SHUFFLE) {
            idx = t->order + (size_t)it * (size_t)B;
        } else {
            for (int b = 0; b < B; b++)
                t->order[b] = rng_below(&t->sample_rng, (uint32_t)t->train->n);
            idx = t->order;
        }
        dataset_gather(t->x, t->y, t->train, idx, 0, B);
        augment_batch(t->aug, t->x, B);
        if (t->cfg.schedule != LR_CONSTANT)
            optim_set_lr(t->opt, lr_schedule_at(t->cfg.schedule, t->cfg.optim.lr,
                                                (int64_t)(epoch - 1) * iters + it, steps));
        double loss = net_forward(t->net, t->x, t->y, B, true);
        if (!isfinite(loss)) {
            stats->diverged_iter = it + 1;
            stats->iterations = it;
            stats->images = (int64_t)it * B;
            stats->loss = it > 0 ? loss_sum / it : loss;
            t->epochs_done = epoch;
            return err_set(e, ERR_DIVERGED, "loss is %s at epoch %d iteration %d",
                           isnan(loss) ? "nan" : "infinite", epoch, it + 1);
        }
        const float *p = net_probs(t->net); /* (B,k) */
        for (int b = 0; b < B; b++)
            correct += metrics_argmax(p + (size_t)b * (size_t)k, k) == t->y[b];
        net_backward(t->net, t->y, B);
        optim_step_par(t->opt, net_params(t->net), net_grads(t->net), net_decay_mask(t->net),
                       net_param_count(t->net), net_get_config(t->net)->gemm.team);
        loss_sum += loss;
        stats->iterations = it + 1;
        if (cb && cb(cb_ctx, epoch, it + 1, iters, loss) != 0) {
            stats->images = (int64_t)(it + 1) * B;
            stats->loss = loss_sum / (it + 1);
            stats->accuracy = (double)correct / (double)stats->images;
            return err_set(e, ERR_INTERRUPTED, "interrupted at epoch %d iteration %d", epoch,
                           it + 1);
        }
    }
    stats->images = (int64_t)iters * B;
    stats->loss = loss_sum / iters;
    stats->accuracy = (double)correct / (double)stats->images;
    t->epochs_done = epoch;
    return 0;
}

int trainer_evaluate(trainer *t, metrics *out, const dataset *d, int64_t n, err_info *e)
{
    const net_config *nc = net_get_config(t->net);
    if (d->c != nc->c || d->h != nc->h || d->w != nc->w)
        return err_set(e, ERR_INVALID, "evaluation images are %dx%dx%d but the network expects "
                       "%dx%dx%d", d->c, d->h, d->w, nc->c, nc->h, nc->w);
    if (n <= 0 || n > d->n)
        n = d->n;
    if (n < 1)
        return err_set(e, ERR_INVALID, "nothing to evaluate: the data set is empty");
    const int k = nc->classes;
    const int B = nc->max_batch;
    const size_t img = (size_t)nc->c * (size_t)nc->h * (size_t)nc->w;
    /* Evaluation runs once per epoch, outside the training loop: it may allocate. */
    float *prob = malloc((size_t)n * (size_t)k * sizeof(float)); /* (n,k) */
    float *x = malloc((size_t)B * img * sizeof(float));           /* (B,C,H,W) */
    uint8_t *labels = malloc((size_t)n);                          /* (n) */
    int rc = 0;
    if (!prob || !x || !labels) {
        rc = err_set(e, ERR_NOMEM, "out of memory evaluating %lld images", (long long)n);
        goto done;
    }
    double loss_sum = 0.0;
    for (int64_t start = 0; start < n; start += B) {
        int b = (int)(n - start < B ? n - start : B);
        dataset_gather(x, labels + start, d, NULL, start, b);
        double loss = net_forward(t->net, x, labels + start, b, false);
        loss_sum += loss * b;
        memcpy(prob + (size_t)start * (size_t)k, net_probs(t->net),
               (size_t)b * (size_t)k * sizeof(float));
    }
    rc = metrics_compute(out, prob, labels, n, k, loss_sum / (double)n, e);
done:
    free(prob);
    free(x);
    free(labels);
    return rc;
}
