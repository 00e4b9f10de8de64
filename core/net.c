#include "net.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "act.h"
#include "affine.h"
#include "bn.h"
#include "conv.h"
#include "dropout.h"
#include "kern.h"
#include "loss.h"
#include "par.h"
#include "pool.h"
#include "rng.h"

static const struct {
    layer_kind kind;
    const char *name;
} layer_names[] = {
    {LAYER_CONV, "conv"},       {LAYER_MAXPOOL, "maxpool"}, {LAYER_AVGPOOL, "avgpool"},
    {LAYER_AFFINE, "affine"},   {LAYER_BN, "bn"},           {LAYER_RELU, "relu"},
    {LAYER_TANH, "tanh"},       {LAYER_DROPOUT, "dropout"},
};
#define N_LAYER_NAMES (sizeof layer_names / sizeof layer_names[0])

int layer_kind_from_name(layer_kind *out, const char *name, err_info *e)
{
    for (size_t i = 0; i < N_LAYER_NAMES; i++) {
        if (strcmp(name, layer_names[i].name) == 0) {
            *out = layer_names[i].kind;
            return 0;
        }
    }
    return err_set(e, ERR_INVALID,
                   "unknown layer '%s' (valid: conv, maxpool, avgpool, affine, bn, relu, tanh, "
                   "dropout)",
                   name);
}

const char *layer_kind_name(layer_kind k)
{
    for (size_t i = 0; i < N_LAYER_NAMES; i++)
        if (layer_names[i].kind == k)
            return layer_names[i].name;
    return "?";
}

net_config net_config_default(void)
{
    return (net_config){
        .c = 1, .h = 28, .w = 28, .classes = 10, .max_batch = 100,
        .init = INIT_NORMAL, .init_std = 0.01f,
        .bn_momentum = 0.9f, .bn_eps = 1e-6f,
        .gemm = {.threads = 1},
    };
}

/* One layer's shapes and its views into the network's blocks. */
typedef struct net_layer {
    layer_spec spec;
    int in_c, in_h, in_w;    /* input shape of one image */
    int out_c, out_h, out_w; /* output shape of one image */
    size_t in_n, out_n;      /* floats per image in and out */
    conv_geom cg;
    pool_geom pg;
    int fan_in;              /* conv/affine: inputs per output unit */
    size_t n_w, n_b;         /* conv/affine: weights, biases; BN: gamma, beta */
    size_t off_w, off_b;     /* offsets into the parameter block */
    size_t off_state;        /* BN: offset of running mean; running var follows */
    float *w, *b, *dw, *db;  /* views into params / grads */
    float *run_mean, *run_var;
    float *out;              /* (B,out_n) activation */
    float *xhat;             /* BN: (B,out_n) normalised input */
    float *inv_std;          /* BN: (C) */
    int32_t *argmax;         /* max-pool: (B,out_n) */
    uint8_t *mask;           /* dropout: (B,out_n) */
    float *ws;               /* conv: workspace */
    int group;               /* a fused group's first layer: how many layers follow it in the group */
    int head;                /* a fused group's last layer: index of the first one; else -1 */
} net_layer;

struct net {
    net_config cfg;
    int n_layers;
    net_layer *layers;
    size_t n_params, n_state;
    float *params;    /* (n_params) */
    float *grads;     /* (n_params) */
    uint8_t *decay;   /* (n_params) */
    float *state;     /* (n_state) */
    void *arena;      /* activations, caches, workspaces, gradient buffers */
    size_t arena_bytes;
    float *dbuf[2];   /* ping-pong input-gradient buffers, (B, max layer width) */
    float *prob;      /* (B,classes) */
    uint8_t *no_labels; /* (B) zeros, for forward passes without labels */
    const float *input; /* (B,C,H,W) of the last forward; the caller keeps it alive */
    uint32_t arch_hash;
    rng dropout_rng;
    char kernels[128]; /* net_kernels() */
    net_hook_fn hook;  /* net_set_hook(), may be NULL */
    void *hook_ctx;
    par_team *team;    /* cfg.gemm.threads threads; cfg.gemm.team points here */
};

/* Tell the profiling hook, if any, that step first..last starts or ends. */
static void net_mark(const net *n, int first, int last, bool backward, bool after)
{
    if (n->hook)
        n->hook(n->hook_ctx, first, last, backward, after);
}

void net_set_hook(net *n, net_hook_fn fn, void *ctx)
{
    n->hook = fn;
    n->hook_ctx = ctx;
}

/* Derive a layer's output shape from its input shape; fills the geometry structs. */
static int layer_shape(net_layer *l, int index, err_info *e)
{
    layer_spec *s = &l->spec;
    const char *kname = layer_kind_name(s->kind);
    int rc = 0;
    l->out_c = l->in_c;
    l->out_h = l->in_h;
    l->out_w = l->in_w;
    switch (s->kind) {
    case LAYER_CONV:
        if (s->stride == 0)
            s->stride = 1;
        if (s->filters < 1 || s->size < 1 || s->stride < 1 || s->pad < 0)
            return err_set(e, ERR_INVALID,
                           "layer %d (conv): filters, size and stride must be >= 1 and pad >= 0",
                           index);
        rc = conv_geom_init(&l->cg, l->in_c, l->in_h, l->in_w, s->filters, s->size, s->stride,
                            s->pad, e);
        if (rc)
            return err_prefix(e, "layer %d (conv)", index);
        l->out_c = s->filters;
        l->out_h = l->cg.oh;
        l->out_w = l->cg.ow;
        l->fan_in = l->in_c * s->size * s->size;
        l->n_w = (size_t)s->filters * (size_t)l->fan_in;
        l->n_b = (size_t)s->filters;
        break;
    case LAYER_MAXPOOL:
    case LAYER_AVGPOOL:
        if (s->stride == 0)
            s->stride = s->size;
        if (s->size < 1 || s->stride < 1)
            return err_set(e, ERR_INVALID, "layer %d (%s): size and stride must be >= 1", index,
                           kname);
        rc = pool_geom_init(&l->pg, l->in_c, l->in_h, l->in_w, s->size, s->stride, e);
        if (rc)
            return err_prefix(e, "layer %d (%s)", index, kname);
        l->out_h = l->pg.oh;
        l->out_w = l->pg.ow;
        break;
    case LAYER_AFFINE:
        if (s->units < 1)
            return err_set(e, ERR_INVALID, "layer %d (affine): units must be >= 1", index);
        l->fan_in = l->in_c * l->in_h * l->in_w;
        l->out_c = s->units;
        l->out_h = l->out_w = 1;
        l->n_w = (size_t)l->fan_in * (size_t)s->units;
        l->n_b = (size_t)s->units;
        break;
    case LAYER_BN:
        l->n_w = l->n_b = (size_t)l->in_c;
        break;
    case LAYER_DROPOUT:
        if (!(s->ratio >= 0.0f && s->ratio < 1.0f))
            return err_set(e, ERR_INVALID, "layer %d (dropout): ratio must be in [0,1)", index);
        break;
    case LAYER_RELU:
    case LAYER_TANH:
        break;
    default:
        return err_set(e, ERR_INVALID, "layer %d: unknown kind %d", index, (int)s->kind);
    }
    l->in_n = (size_t)l->in_c * (size_t)l->in_h * (size_t)l->in_w;
    l->out_n = (size_t)l->out_c * (size_t)l->out_h * (size_t)l->out_w;
    /* The kernels index one image's values with int. */
    if (l->out_n > INT_MAX)
        return err_set(e, ERR_INVALID, "layer %d (%s): %dx%dx%d outputs per image are more than "
                       "%d", index, kname, l->out_c, l->out_h, l->out_w, INT_MAX);
    return 0;
}

/* Arena carving: every region is rounded up to 64 bytes so that each view is cache-line
 * aligned. With base == NULL only the size is computed. */
static void *carve(char *base, size_t *offset, size_t bytes)
{
    size_t at = *offset;
    *offset += (bytes + 63) & ~(size_t)63;
    return base ? base + at : NULL;
}

/* Lay out (or, with base == NULL, size) every per-batch buffer of the net. */
static size_t layout_arena(net *n, char *base)
{
    size_t off = 0;
    const size_t B = (size_t)n->cfg.max_batch;
    size_t widest = (size_t)n->cfg.c * (size_t)n->cfg.h * (size_t)n->cfg.w;
    for (int i = 0; i < n->n_layers; i++) {
        net_layer *l = &n->layers[i];
        if (l->out_n > widest)
            widest = l->out_n;
        /* inside a fused group only the last layer's output exists */
        const bool inner = l->group > 0 || (i > 0 && n->layers[i - 1].group > 0 && l->head < 0);
        l->out = inner ? NULL : carve(base, &off, B * l->out_n * sizeof(float));
        switch (l->spec.kind) {
        case LAYER_CONV:
            l->ws = carve(base, &off,
                          (l->group ? conv_pool_ws_floats(&l->cg, (int)B) : conv_ws_floats(&l->cg, (int)B)) *
                              sizeof(float));
            break;
        case LAYER_MAXPOOL:
            l->argmax = carve(base, &off, B * l->out_n * sizeof(int32_t));
            break;
        case LAYER_BN:
            l->xhat = carve(base, &off, B * l->out_n * sizeof(float));
            l->inv_std = carve(base, &off, (size_t)l->out_c * sizeof(float));
            break;
        case LAYER_DROPOUT:
            l->mask = carve(base, &off, B * l->out_n);
            break;
        default:
            break;
        }
    }
    n->dbuf[0] = carve(base, &off, B * widest * sizeof(float));
    n->dbuf[1] = carve(base, &off, B * widest * sizeof(float));
    n->prob = carve(base, &off, B * (size_t)n->cfg.classes * sizeof(float));
    n->no_labels = carve(base, &off, B);
    return off;
}

/* The layer runs that execute as one kernel: conv -> maxpool and conv -> relu -> maxpool
 * (conv_pool_forward: the conv output is pooled from cache, never stored) and relu -> maxpool
 * (the ReLU runs on the 4x smaller pooled map; exact, see conv.c). Returns how many layers
 * after specs[i] join it in a group (0: none); i must not be inside an earlier group. */
static int net_fusion_group(const layer_spec *specs, int n_specs, int i)
{
    const layer_kind k = specs[i].kind;
    const layer_kind next = i + 1 < n_specs ? specs[i + 1].kind : LAYER_CONV;
    const layer_kind next2 = i + 2 < n_specs ? specs[i + 2].kind : LAYER_CONV;
    if (k == LAYER_CONV && next == LAYER_MAXPOOL)
        return 1;
    if (k == LAYER_CONV && next == LAYER_RELU && next2 == LAYER_MAXPOOL)
        return 2;
    if (k == LAYER_RELU && next == LAYER_MAXPOOL)
        return 1;
    return 0;
}

void net_kernels_describe(char *out, size_t cap, const net_config *cfg, const layer_spec *specs,
                          int n_specs)
{
    const kern_isa isa = kern_resolve(cfg->gemm.isa);
    bool conv_pool = false, conv_relu_pool = false, relu_pool = false, sparse_dw = false;
    char conv[96] = ""; /* the distinct conv kernels, in layer order, comma-separated */
    int chans = cfg->c; /* channels into layer i */
    for (int i = 0; i < n_specs; i++) {
        const int g = cfg->unfused ? 0 : net_fusion_group(specs, n_specs, i);
        const layer_spec *s = &specs[i];
        conv_pool |= g == 1 && s->kind == LAYER_CONV;
        conv_relu_pool |= g == 2;
        relu_pool |= g == 1 && s->kind == LAYER_RELU;
        if (s->kind == LAYER_CONV) {
            const layer_spec *pool = g > 0 ? &specs[i + g] : NULL;
            const int stride = s->stride ? s->stride : 1;
            const char *name = conv_kernel_name(isa, chans, s->size, stride, s->pad, g > 0,
                                                pool ? pool->size : 0,
                                                pool ? (pool->stride ? pool->stride : pool->size) : 0);
            /* some fused conv+pool takes its dW from the argmax (conv.h) */
            sparse_dw |= g > 0 && conv_pool_sparse_dw(isa, s->size, s->pad);
            if (!strstr(conv, name)) {
                const size_t used = strlen(conv);
                snprintf(conv + used, sizeof conv - used, "%s%s", used ? "," : "", name);
            }
            chans = s->filters;
        } else if (s->kind == LAYER_AFFINE) {
            chans = s->units;
        }
        i += g;
    }
    char gb[64];
    gemm_backend(gb, sizeof gb, isa);
    snprintf(out, cap, "%s%s%sgemm:%s%s%s%s%s", conv[0] ? "conv:" : "", conv, conv[0] ? " " : "", gb,
             conv_relu_pool ? " fused:conv+relu+maxpool" : "", conv_pool ? " fused:conv+maxpool" : "",
             relu_pool ? " fused:maxpool-then-relu" : "", sparse_dw ? " dw:sparse-argmax" : "");
}

/* Mark the fused groups in the layers (group at the first, head at the last) and describe the
 * kernels. */
static void net_plan_fusion(net *n, const layer_spec *specs)
{
    for (int i = 0; i < n->n_layers; i++)
        n->layers[i].head = -1;
    for (int i = 0; i < n->n_layers && !n->cfg.unfused; i++) {
        net_layer *l = &n->layers[i];
        l->group = net_fusion_group(specs, n->n_layers, i);
        if (l->group) {
            n->layers[i + l->group].head = i;
            i += l->group;
        }
    }
    net_kernels_describe(n->kernels, sizeof n->kernels, &n->cfg, specs, n->n_layers);
}

const char *net_kernels(const net *n) { return n->kernels; }

static uint32_t arch_hash(const net_config *cfg, const layer_spec *specs, int n_specs)
{
    /* Hash the fields that fix the parameter layout, one by one (no struct padding). */
    int32_t head[4] = {cfg->c, cfg->h, cfg->w, cfg->classes};
    uLong crc = crc32(0L, (const Bytef *)head, sizeof head);
    for (int i = 0; i < n_specs; i++) {
        int32_t f[6] = {(int32_t)specs[i].kind, specs[i].filters, specs[i].size,
                        specs[i].stride, specs[i].pad, specs[i].units};
        crc = crc32(crc, (const Bytef *)f, sizeof f);
    }
    return (uint32_t)crc;
}

/* The shapes and sizes of n (whose cfg, n_layers and zeroed layers are set) built from specs:
 * every layer's shape and views' offsets, the block sizes, the fused groups and the arena's
 * size. Allocates nothing: net_plan and net_new share it, so a plan is what net_new builds. */
static int net_layout(net *n, const layer_spec *specs, err_info *e)
{
    const net_config *cfg = &n->cfg;
    const int n_specs = n->n_layers;
    if (n_specs < 1)
        return err_set(e, ERR_INVALID, "the model has no layers");
    if (cfg->c < 1 || cfg->h < 1 || cfg->w < 1 || cfg->classes < 2 || cfg->max_batch < 1 ||
        cfg->gemm.threads < 1)
        return err_set(e, ERR_INVALID, "invalid network configuration (input %dx%dx%d, %d "
                       "classes, batch %d)", cfg->c, cfg->h, cfg->w, cfg->classes, cfg->max_batch);
    if (!(cfg->bn_eps > 0.0f) || !(cfg->bn_momentum >= 0.0f && cfg->bn_momentum < 1.0f))
        return err_set(e, ERR_INVALID, "batch-norm momentum must be in [0,1) and eps > 0");
    int c = cfg->c, h = cfg->h, w = cfg->w;
    for (int i = 0; i < n_specs; i++) {
        net_layer *l = &n->layers[i];
        l->spec = specs[i];
        l->in_c = c;
        l->in_h = h;
        l->in_w = w;
        int rc = layer_shape(l, i + 1, e);
        if (rc)
            return rc;
        l->off_w = n->n_params;
        n->n_params += l->n_w;
        l->off_b = n->n_params;
        n->n_params += l->n_b;
        if (l->spec.kind == LAYER_BN) {
            l->off_state = n->n_state;
            n->n_state += 2 * (size_t)l->in_c;
        }
        c = l->out_c;
        h = l->out_h;
        w = l->out_w;
    }
    if ((size_t)c * (size_t)h * (size_t)w != (size_t)cfg->classes)
        return err_set(e, ERR_INVALID,
                       "the last layer outputs %dx%dx%d values but the data set has %d classes", c,
                       h, w, cfg->classes);
    if (n->n_params == 0)
        return err_set(e, ERR_INVALID, "the model has no trainable parameters");
    n->cfg.gemm.isa = kern_resolve(cfg->gemm.isa);
    net_plan_fusion(n, specs);
    n->arena_bytes = layout_arena(n, NULL);
    return 0;
}

/* A net with its layer table and nothing else, for net_layout. */
static net *net_shell(const net_config *cfg, int n_specs)
{
    net *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->cfg = *cfg;
    n->n_layers = n_specs;
    n->layers = calloc(n_specs > 0 ? (size_t)n_specs : 1, sizeof *n->layers);
    if (!n->layers) {
        free(n);
        return NULL;
    }
    return n;
}

int net_plan(net_sizes *out, const net_config *cfg, const layer_spec *specs, int n_specs,
             err_info *e)
{
    memset(out, 0, sizeof *out);
    net *n = net_shell(cfg, n_specs);
    if (!n)
        return err_set(e, ERR_NOMEM, "out of memory planning the network");
    int rc = net_layout(n, specs, e);
    if (rc == 0) {
        out->params = n->n_params;
        out->state = n->n_state;
        out->arena_bytes = n->arena_bytes;
        /* params and grads (float), decay mask (byte), state (float, at least one), arena */
        out->bytes = n->n_params * (2 * sizeof(float) + 1) +
                     (n->n_state ? n->n_state : 1) * sizeof(float) + n->arena_bytes +
                     sizeof *n + (size_t)n_specs * sizeof *n->layers;
    }
    free(n->layers);
    free(n);
    return rc;
}

int net_new(net **out, const net_config *cfg, const layer_spec *specs, int n_specs, err_info *e)
{
    *out = NULL;
    int rc = ERR_NOMEM;
    net *n = net_shell(cfg, n_specs);
    if (!n)
        goto nomem;
    /* Shapes, sizes and fused groups first (net_layout), the thread team, then the blocks,
     * each one allocation. */
    if ((rc = net_layout(n, specs, e)) != 0)
        goto fail;
    if ((rc = par_new(&n->team, cfg->gemm.threads, e)) != 0)
        goto fail;
    n->cfg.gemm.team = n->team;
    rc = ERR_NOMEM;
    n->params = calloc(n->n_params, sizeof(float));
    n->grads = calloc(n->n_params, sizeof(float));
    n->decay = calloc(n->n_params, 1);
    n->state = calloc(n->n_state ? n->n_state : 1, sizeof(float));
    if (!n->params || !n->grads || !n->decay || !n->state)
        goto nomem;
    n->arena = aligned_alloc(64, n->arena_bytes);
    if (!n->arena)
        goto nomem;
    memset(n->arena, 0, n->arena_bytes);
    layout_arena(n, n->arena);

    for (int i = 0; i < n_specs; i++) {
        net_layer *l = &n->layers[i];
        if (l->n_w) {
            l->w = n->params + l->off_w;
            l->b = n->params + l->off_b;
            l->dw = n->grads + l->off_w;
            l->db = n->grads + l->off_b;
        }
        if (l->spec.kind == LAYER_CONV || l->spec.kind == LAYER_AFFINE)
            memset(n->decay + l->off_w, 1, l->n_w);
        if (l->spec.kind == LAYER_BN) {
            l->run_mean = n->state + l->off_state;
            l->run_var = l->run_mean + l->in_c;
        }
    }
    n->arch_hash = arch_hash(cfg, specs, n_specs);
    net_init_params(n, 0);
    *out = n;
    return 0;

nomem:
    rc = err_set(e, ERR_NOMEM, "out of memory allocating the network");
fail:
    net_free(n);
    return rc;
}

void net_free(net *n)
{
    if (!n)
        return;
    par_free(n->team);
    free(n->layers);
    free(n->params);
    free(n->grads);
    free(n->decay);
    free(n->state);
    free(n->arena);
    free(n);
}

void net_init_params(net *n, uint64_t seed)
{
    rng r;
    rng_init(&r, seed, RNG_STREAM_INIT);
    for (int i = 0; i < n->n_layers; i++) {
        net_layer *l = &n->layers[i];
        switch (l->spec.kind) {
        case LAYER_CONV:
        case LAYER_AFFINE:
            init_fill(l->w, l->n_w, n->cfg.init, n->cfg.init_std, l->fan_in, &r);
            memset(l->b, 0, l->n_b * sizeof(float));
            break;
        case LAYER_BN:
            for (size_t j = 0; j < l->n_w; j++) {
                l->w[j] = 1.0f;
                l->b[j] = 0.0f;
            }
            memset(l->run_mean, 0, 2 * (size_t)l->in_c * sizeof(float));
            break;
        default:
            break;
        }
    }
    rng_init(&n->dropout_rng, seed, RNG_STREAM_DROPOUT);
}

double net_forward(net *n, const float *x, const uint8_t *labels, int batch, bool training)
{
    assert(batch >= 1 && batch <= n->cfg.max_batch);
    const gemm_ctx *g = &n->cfg.gemm;
    n->input = x;
    const float *in = x; /* (B, in_n) */
    for (int i = 0; i < n->n_layers; i++) {
        net_layer *l = &n->layers[i];
        const size_t total = (size_t)batch * l->out_n;
        if (l->group) {
            /* a fused group: conv [-> relu] -> maxpool, or relu -> maxpool, into the pool's out */
            net_layer *last = &n->layers[i + l->group];
            int32_t *am = training ? last->argmax : NULL;
            net_mark(n, i, i + l->group, false, false);
            if (l->spec.kind == LAYER_CONV) {
                conv_pool_forward(g, last->out, am, l->ws, in, l->w, l->b, &l->cg, &last->pg, l->group == 2,
                                  batch);
            } else {
                pool_max_forward_team(g, last->out, am, in, &last->pg, batch, true);
            }
            in = last->out;
            net_mark(n, i, i + l->group, false, true);
            i += l->group;
            continue;
        }
        net_mark(n, i, i, false, false);
        switch (l->spec.kind) {
        case LAYER_CONV:
            conv_forward(g, l->out, l->ws, in, l->w, l->b, &l->cg, batch);
            break;
        case LAYER_MAXPOOL:
            pool_max_forward_team(g, l->out, training ? l->argmax : NULL, in, &l->pg, batch, false);
            break;
        case LAYER_AVGPOOL:
            pool_avg_forward(l->out, in, &l->pg, batch);
            break;
        case LAYER_AFFINE:
            affine_forward(g, l->out, in, l->w, l->b, batch, (int)l->in_n, (int)l->out_n);
            break;
        case LAYER_BN: {
            const int s = l->in_h * l->in_w;
            if (training)
                bn_forward_train(g, l->out, l->xhat, l->inv_std, l->run_mean, l->run_var, in, l->w,
                                 l->b, batch, l->in_c, s, n->cfg.bn_momentum, n->cfg.bn_eps);
            else
                bn_forward_infer(g, l->out, in, l->w, l->b, l->run_mean, l->run_var, batch, l->in_c,
                                 s, n->cfg.bn_eps);
            break;
        }
        case LAYER_RELU:
            act_relu_forward(l->out, in, total);
            break;
        case LAYER_TANH:
            act_tanh_forward(l->out, in, total);
            break;
        case LAYER_DROPOUT:
            if (training)
                dropout_forward_train(l->out, l->mask, in, total, l->spec.ratio,
                                      &n->dropout_rng);
            else
                dropout_forward_infer(l->out, in, total, l->spec.ratio);
            break;
        }
        in = l->out;
        net_mark(n, i, i, false, true);
    }
    net_mark(n, n->n_layers, n->n_layers, false, false);
    /* Without labels only the probabilities matter: the loss kernel runs against all-zero
     * labels and its loss is dropped. */
    double loss = loss_softmax_xent_forward(n->prob, in, labels ? labels : n->no_labels, batch,
                                            n->cfg.classes);
    net_mark(n, n->n_layers, n->n_layers, false, true);
    return labels ? loss : 0.0;
}

/* Elementwise passes of the backward split over the team in contiguous ranges (whole 64-byte
 * lines): each element is computed alone, so the result is the same for any split. Below
 * NET_PAR_MIN elements one thread does it (a task switch costs more than it saves). */
#define NET_PAR_MIN 65536
enum { NET_PAR_PARTS = 8 };

typedef struct net_par_job {
    float *a;        /* zero: a; relu backward: dx */
    const float *dy, *y;
    size_t n;
} net_par_job;

static void net_zero_task(void *ctx, int task, int thread)
{
    (void)thread;
    const net_par_job *j = ctx;
    size_t lo, hi;
    par_split(&lo, &hi, j->n, task, NET_PAR_PARTS, 16);
    memset(j->a + lo, 0, (hi - lo) * sizeof *j->a);
}

static void net_relu_backward_task(void *ctx, int task, int thread)
{
    (void)thread;
    const net_par_job *j = ctx;
    size_t lo, hi;
    par_split(&lo, &hi, j->n, task, NET_PAR_PARTS, 16);
    act_relu_backward(j->a + lo, j->dy + lo, j->y + lo, hi - lo);
}

static void net_par_zero(const gemm_ctx *g, float *a, size_t n)
{
    net_par_job j = {.a = a, .n = n};
    par_run(n < NET_PAR_MIN ? NULL : g->team, NET_PAR_PARTS, net_zero_task, &j);
}

static void net_par_relu_backward(const gemm_ctx *g, float *dx, const float *dy, const float *y, size_t n)
{
    net_par_job j = {.a = dx, .dy = dy, .y = y, .n = n};
    par_run(n < NET_PAR_MIN ? NULL : g->team, NET_PAR_PARTS, net_relu_backward_task, &j);
}

void net_backward(net *n, const uint8_t *labels, int batch)
{
    assert(batch >= 1 && batch <= n->cfg.max_batch);
    const gemm_ctx *g = &n->cfg.gemm;
    net_mark(n, n->n_layers, n->n_layers, true, false);
    net_par_zero(g, n->grads, n->n_params);

    /* dy of the last layer = d(loss)/d(logits) = (p - onehot)/B. */
    int cur = 0;
    loss_softmax_xent_backward(n->dbuf[cur], n->prob, labels, batch, n->cfg.classes);
    net_mark(n, n->n_layers, n->n_layers, true, true);
    for (int i = n->n_layers - 1; i >= 0; i--) {
        net_layer *l = &n->layers[i];
        const float *dy = n->dbuf[cur];
        float *dx = n->dbuf[cur ^ 1];
        const float *x = i > 0 ? n->layers[i - 1].out : n->input; /* (B,in_n) */
        const size_t total = (size_t)batch * l->in_n;
        /* Nothing upstream needs the first layer's input gradient: layers with parameters
         * skip it (dx NULL), layers without have nothing left to do. */
        if (l->head >= 0) {
            /* the last layer of a fused group: run the group's backward, then skip to before it */
            const int h = l->head;
            net_layer *hd = &n->layers[h];
            net_mark(n, h, i, true, false);
            const bool relu = hd->spec.kind == LAYER_RELU || hd->group == 2;
            if (relu) /* dy *= [pooled output > 0], in place (the ReLU ran after the pool) */
                net_par_relu_backward(g, n->dbuf[cur], dy, l->out, (size_t)batch * l->out_n);
            if (h == 0 && hd->n_w == 0) {
                net_mark(n, h, i, true, true);
                break;
            }
            const float *xh = h > 0 ? n->layers[h - 1].out : n->input;
            if (hd->spec.kind == LAYER_CONV) {
                conv_pool_backward(g, h > 0 ? dx : NULL, hd->dw, hd->db, hd->ws, dy, l->argmax, xh, hd->w,
                                   &hd->cg, &l->pg, batch);
            } else {
                pool_max_backward_team(g, dx, dy, l->argmax, &l->pg, batch);
            }
            net_mark(n, h, i, true, true);
            cur ^= 1;
            i = h;
            continue;
        }
        if (i == 0 && l->n_w == 0)
            break;
        net_mark(n, i, i, true, false);
        switch (l->spec.kind) {
        case LAYER_CONV:
            conv_backward(g, i > 0 ? dx : NULL, l->dw, l->db, l->ws, dy, x, l->w, &l->cg, batch);
            break;
        case LAYER_MAXPOOL:
            pool_max_backward_team(g, dx, dy, l->argmax, &l->pg, batch);
            break;
        case LAYER_AVGPOOL:
            pool_avg_backward(dx, dy, &l->pg, batch);
            break;
        case LAYER_AFFINE:
            affine_backward(g, i > 0 ? dx : NULL, l->dw, l->db, dy, x, l->w, batch, (int)l->in_n,
                            (int)l->out_n);
            break;
        case LAYER_BN:
            bn_backward(g, dx, l->dw, l->db, dy, l->xhat, l->inv_std, l->w, batch, l->in_c,
                        l->in_h * l->in_w);
            break;
        case LAYER_RELU:
            net_par_relu_backward(g, dx, dy, l->out, total);
            break;
        case LAYER_TANH:
            act_tanh_backward(dx, dy, l->out, total);
            break;
        case LAYER_DROPOUT:
            dropout_backward(dx, dy, l->mask, total);
            break;
        }
        net_mark(n, i, i, true, true);
        cur ^= 1;
    }
}

const float *net_probs(const net *n) { return n->prob; }
float *net_params(net *n) { return n->params; }
const float *net_grads(const net *n) { return n->grads; }
const uint8_t *net_decay_mask(const net *n) { return n->decay; }
size_t net_param_count(const net *n) { return n->n_params; }
float *net_state(net *n) { return n->state; }
size_t net_state_count(const net *n) { return n->n_state; }
const net_config *net_get_config(const net *n) { return &n->cfg; }
int net_layer_count(const net *n) { return n->n_layers; }
size_t net_arena_bytes(const net *n) { return n->arena_bytes; }

void net_layer_shape(const net *n, int i, int *c, int *h, int *w)
{
    assert(i >= 0 && i < n->n_layers);
    *c = n->layers[i].out_c;
    *h = n->layers[i].out_h;
    *w = n->layers[i].out_w;
}

double net_forward_macs(const net *n)
{
    double macs = 0.0;
    for (int i = 0; i < n->n_layers; i++) {
        const net_layer *l = &n->layers[i];
        if (l->spec.kind == LAYER_CONV)
            macs += (double)l->out_n * (double)l->fan_in;
        else if (l->spec.kind == LAYER_AFFINE)
            macs += (double)l->n_w;
    }
    return macs;
}

/* ---- parameter files ---- */

static const uint8_t params_magic[8] = {'B', 'N', 'C', 'H', 'P', 'R', 'M', 0};
enum { PARAMS_VERSION = 1, PARAMS_HEADER = 32 };

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}
/* floats travel as their IEEE-754 bit patterns, little-endian */
static void put_floats(uint8_t *p, const float *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &f[i], 4);
        put_u32(p + 4 * i, bits);
    }
}
static void get_floats(float *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = get_u32(p + 4 * i);
        memcpy(&f[i], &bits, 4);
    }
}

size_t net_save_size(const net *n)
{
    return PARAMS_HEADER + 4 * (n->n_params + n->n_state) + 4;
}

void net_save(const net *n, uint8_t *buf)
{
    memcpy(buf, params_magic, 8);
    put_u32(buf + 8, PARAMS_VERSION);
    put_u32(buf + 12, n->arch_hash);
    put_u64(buf + 16, n->n_params);
    put_u64(buf + 24, n->n_state);
    put_floats(buf + PARAMS_HEADER, n->params, n->n_params);
    put_floats(buf + PARAMS_HEADER + 4 * n->n_params, n->state, n->n_state);
    size_t body = net_save_size(n) - 4;
    put_u32(buf + body, (uint32_t)crc32(0L, buf, (uInt)body));
}

int net_load(net *n, const uint8_t *buf, size_t len, err_info *e)
{
    if (len < PARAMS_HEADER + 4 || memcmp(buf, params_magic, 8) != 0)
        return err_set(e, ERR_FORMAT, "not a bench parameter file (bad magic)");
    uint32_t version = get_u32(buf + 8);
    if (version != PARAMS_VERSION)
        return err_set(e, ERR_FORMAT, "parameter file version %u is not supported (expected %d)",
                       version, PARAMS_VERSION);
    if (len != net_save_size(n))
        return err_set(e, ERR_FORMAT, "parameter file has %zu bytes, this network needs %zu",
                       len, net_save_size(n));
    uint32_t want = get_u32(buf + len - 4);
    uint32_t got = (uint32_t)crc32(0L, buf, (uInt)(len - 4));
    if (want != got)
        return err_set(e, ERR_CHECKSUM, "parameter file checksum mismatch (stored %08x, computed "
                       "%08x)", want, got);
    if (get_u32(buf + 12) != n->arch_hash || get_u64(buf + 16) != n->n_params ||
        get_u64(buf + 24) != n->n_state)
        return err_set(e, ERR_FORMAT, "parameter file was saved from a different architecture");
    get_floats(n->params, buf + PARAMS_HEADER, n->n_params);
    get_floats(n->state, buf + PARAMS_HEADER + 4 * n->n_params, n->n_state);
    return 0;
}
