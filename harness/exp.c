#define _POSIX_C_SOURCE 200809L /* strcasecmp */
/* exp: experiment files -> a validated experiment and its flat list of resolved runs.
 *
 * How a file is read:
 *   1. toml_parse gives a DOM (syntax errors come out as "FILE:LINE:COL: message");
 *   2. every key of [experiment] [data] [model] [training] [evaluation] [budget] is looked up in
 *      one static table (exp_keys) whose setter checks type and range and stores the value into
 *      an exp_cfg, the unresolved configuration; unknown keys list the valid ones;
 *   3. [optimizer.NAME] tables fill per-optimizer parameter sets;
 *   4. [sweep]: the grid's size from the arrays' lengths first (at most EXP_MAX_RUNS runs),
 *      then the arrays element by element with the same setters (so a bad swept lr gets the
 *      same message as a bad [training] lr), and for duplicates (by sorting);
 *   5. each grid point applies its swept values over a copy of the base exp_cfg and is resolved
 *      into a run_spec: optimizer parameters by precedence, the layer list sized to the data
 *      set's classes, and the layer shapes proved once per distinct architecture by net_plan
 *      (the layout net_new builds, computed without allocating the network: a valid file of
 *      4096x4096 images is checked in microseconds and a few KiB).
 * A file is read whole but never more than EXP_FILE_MAX bytes. Every optimizer parameter is
 * checked as the float the optimizer will use where it is given, so a value that overflows a
 * float (lr = 1e308) is an error at its own key and line.
 *
 * Precedence of optimizer parameters, lowest first: the optimizer's defaults (optim_defaults,
 * except Momentum's lr 0.1, the paper's), [training], [optimizer.NAME] for the selected
 * optimizer, then a swept value. */
#include "exp.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data.h"
#include "sha256.h"
#include "toml.h"

/* ---- the unresolved configuration ------------------------------------------------------ */

/* Optimizer parameters that may be given at several levels (see precedence above). */
enum { OP_LR, OP_MOMENTUM, OP_BETA1, OP_BETA2, OP_DECAY_RATE, OP_WEIGHT_DECAY, OP_COUNT };

static const char *const exp_oparam_names[OP_COUNT] = {
    "lr", "momentum", "beta1", "beta2", "decay_rate", "weight_decay",
};

/* Which parameters each optimizer reads (the keys valid in its [optimizer.NAME] table). */
static const bool exp_oparam_used[OPTIM_KIND_COUNT][OP_COUNT] = {
    [OPTIM_SGD] = {[OP_LR] = true, [OP_WEIGHT_DECAY] = true},
    [OPTIM_MOMENTUM] = {[OP_LR] = true, [OP_MOMENTUM] = true, [OP_WEIGHT_DECAY] = true},
    [OPTIM_NESTEROV] = {[OP_LR] = true, [OP_MOMENTUM] = true, [OP_WEIGHT_DECAY] = true},
    [OPTIM_ADAGRAD] = {[OP_LR] = true, [OP_WEIGHT_DECAY] = true},
    [OPTIM_RMSPROP] = {[OP_LR] = true, [OP_DECAY_RATE] = true, [OP_WEIGHT_DECAY] = true},
    [OPTIM_ADAM] = {[OP_LR] = true, [OP_BETA1] = true, [OP_BETA2] = true,
                    [OP_WEIGHT_DECAY] = true},
};

typedef struct oparams {
    bool set[OP_COUNT];
    double v[OP_COUNT];
} oparams;

typedef struct exp_cfg {
    /* [experiment], [budget] */
    char name[EXP_NAME_MAX];
    char description[EXP_TEXT_MAX];
    double budget_minutes, target_accuracy;
    /* [data] */
    char dataset[EXP_TEXT_MAX];
    int64_t validation;
    int classes, channels, height, width; /* used for idx: data sets only */
    int idx_line;                          /* line of the first of those keys, 0 if none given */
    char idx_key[32];
    /* [model] */
    char model[EXP_NAME_MAX];              /* preset name, or "custom" */
    bool custom;
    layer_spec layers[MODELS_MAX_LAYERS];  /* custom only; affine units 0 = "classes" */
    int n_layers;
    int model_line;                        /* where the model was chosen (for shape errors) */
    char model_key[64];
    bool bn;
    init_kind init;
    double init_std;
    /* [training] */
    int epochs, batch, iterations, threads, augment_shift;
    sampling_kind sampling;
    lr_schedule schedule;
    optim_kind optimizer;
    int augment_line;
    augment_config augment;                /* rotation, scaling, shear, elastic distortion */
    int64_t seed;
    oparams training, sweep, per_opt[OPTIM_KIND_COUNT];
    /* [evaluation] */
    int64_t eval_train, eval_test;
} exp_cfg;

/* The paper's configuration (experiments/README.md, "The paper's protocol") plus the harness's evaluation defaults. */
static void exp_cfg_default(exp_cfg *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->dataset, "mnist");
    c->classes = 10;
    c->channels = 1;
    c->height = 28;
    c->width = 28;
    strcpy(c->model, "paper");
    c->bn = true;
    c->init = INIT_NORMAL;
    c->init_std = 0.01;
    c->epochs = 20;
    c->batch = 100;
    c->sampling = SAMPLING_WITH_REPLACEMENT;
    c->optimizer = OPTIM_MOMENTUM;
    c->seed = 1;
    c->eval_train = 10000;
    c->augment = augment_config_default();
}

/* ---- messages ---------------------------------------------------------------------------- */

/* Where a value comes from, for messages: "FILE:LINE: key 'KEY': ...". op is the parameter set
 * optimizer parameters are written to (depends on the table or the sweep). */
typedef struct key_ctx {
    const char *file;
    const char *key;
    int line;
    oparams *op;
    err_info *e;
} key_ctx;

void exp_format_number(char *buf, size_t n, double d)
{
    if (isnan(d)) {
        snprintf(buf, n, "nan");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, n, d > 0 ? "inf" : "-inf");
        return;
    }
    /* Integers print whole ("%.1g" would give 20 as "2e+01"). */
    if (d == floor(d) && fabs(d) < 1e15) {
        snprintf(buf, n, "%.0f", d);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, n, "%.*g", p, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* The same for a float: the shortest decimal that reads back (strtof) as f. */
static void exp_fmt_float(char *buf, size_t n, float f)
{
    if (f == floorf(f) && fabsf(f) < 1e7f) {
        snprintf(buf, n, "%.0f", (double)f);
        return;
    }
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, n, "%.*g", p, (double)f);
        if (strtof(buf, NULL) == f)
            return;
    }
}

/* buf <- a short description of v for "(got ...)": the value of a scalar, the type otherwise. */
static void exp_describe(char *buf, size_t n, const toml_value *v)
{
    switch (toml_type_of(v)) {
    case TOML_STRING:
        snprintf(buf, n, "'%.80s'", toml_string(v));
        break;
    case TOML_INTEGER:
        snprintf(buf, n, "%" PRId64, toml_integer(v));
        break;
    case TOML_FLOAT:
        exp_format_number(buf, n, toml_float(v));
        /* 20.0 must not read like the integer 20 in "must be an integer (got 20.0)". */
        if (isfinite(toml_float(v)) && !strpbrk(buf, ".e"))
            strncat(buf, ".0", n - strlen(buf) - 1);
        break;
    case TOML_BOOL:
        snprintf(buf, n, "%s", toml_bool(v) ? "true" : "false");
        break;
    case TOML_ARRAY:
        snprintf(buf, n, "an array");
        break;
    case TOML_TABLE:
        snprintf(buf, n, "a table");
        break;
    default:
        snprintf(buf, n, "a %s", toml_type_name(toml_type_of(v)));
        break;
    }
}

/* "FILE:LINE: key 'KEY': <fmt>" as ERR_INVALID. */
static int exp_key_err(const key_ctx *k, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int exp_key_err(const key_ctx *k, const char *fmt, ...)
{
    char what[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return err_set(k->e, ERR_INVALID, "%s:%d: key '%s': %.300s", k->file, k->line, k->key, what);
}

/* "must be WHAT (got V)". */
static int exp_bad_value(const key_ctx *k, const toml_value *v, const char *what)
{
    char got[128];
    exp_describe(got, sizeof got, v);
    return exp_key_err(k, "must be %s (got %s)", what, got);
}

/* Prefix a message from a name lookup (optim_kind_from_name and the like) with file, line, key. */
static int exp_key_prefix(const key_ctx *k)
{
    char old[ERR_MSG_MAX];
    memcpy(old, k->e->msg, sizeof old);
    return exp_key_err(k, "%s", old);
}

/* ---- typed getters ----------------------------------------------------------------------- */

static int get_int(int64_t *out, const key_ctx *k, const toml_value *v, int64_t lo, int64_t hi)
{
    char what[96];
    if (hi == INT64_MAX)
        snprintf(what, sizeof what, "an integer >= %" PRId64, lo);
    else
        snprintf(what, sizeof what, "an integer in %" PRId64 "..%" PRId64, lo, hi);
    if (toml_type_of(v) != TOML_INTEGER || toml_integer(v) < lo || toml_integer(v) > hi)
        return exp_bad_value(k, v, what);
    *out = toml_integer(v);
    return 0;
}

static int get_int32(int *out, const key_ctx *k, const toml_value *v, int lo, int hi)
{
    int64_t x = 0;
    int rc = get_int(&x, k, v, lo, hi);
    if (rc == 0)
        *out = (int)x;
    return rc;
}

/* A finite number (integers accepted) in the range described by the flags: lo < x (lo_open)
 * or lo <= x; x < hi (hi_open) or x <= hi; hi = INFINITY means no upper bound. */
static int get_num(double *out, const key_ctx *k, const toml_value *v, double lo, bool lo_open,
                   double hi, bool hi_open)
{
    char what[96], a[32], b[32];
    exp_format_number(a, sizeof a, lo);
    exp_format_number(b, sizeof b, hi);
    if (isinf(hi))
        snprintf(what, sizeof what, "a finite number %s %s", lo_open ? ">" : ">=", a);
    else
        snprintf(what, sizeof what, "a number in %c%s, %s%c", lo_open ? '(' : '[', a, b,
                 hi_open ? ')' : ']');
    double x;
    if (toml_type_of(v) == TOML_INTEGER)
        x = (double)toml_integer(v);
    else if (toml_type_of(v) == TOML_FLOAT)
        x = toml_float(v);
    else
        return exp_bad_value(k, v, what);
    bool ok = isfinite(x) && (lo_open ? x > lo : x >= lo) && (hi_open ? x < hi : x <= hi);
    if (!ok)
        return exp_bad_value(k, v, what);
    *out = x;
    return 0;
}

/* A string of at most cap-1 bytes without embedded NULs. */
/* The first control character of s (C0, including tab and newline, or DEL), NULL if none:
 * names and texts reach terminals, Markdown and gnuplot, where such bytes act rather than
 * print, so they are refused where they enter. */
static const char *exp_control_char(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return s;
    return NULL;
}

static int get_str(char *out, size_t cap, const key_ctx *k, const toml_value *v)
{
    if (toml_type_of(v) != TOML_STRING)
        return exp_bad_value(k, v, "a string");
    size_t len = toml_string_len(v);
    if (len != strlen(toml_string(v)))
        return exp_key_err(k, "must not contain NUL characters");
    if (len >= cap)
        return exp_key_err(k, "longer than %zu bytes", cap - 1);
    const char *at = exp_control_char(toml_string(v));
    if (at)
        return exp_key_err(k, "must not contain control characters (byte 0x%02x at offset %zu)",
                           (unsigned)(unsigned char)*at, (size_t)(at - toml_string(v)));
    memcpy(out, toml_string(v), len + 1);
    return 0;
}

static int get_bool(bool *out, const key_ctx *k, const toml_value *v)
{
    if (toml_type_of(v) != TOML_BOOL)
        return exp_bad_value(k, v, "true or false");
    *out = toml_bool(v);
    return 0;
}

/* ---- setters: one per key of the schema ------------------------------------------------ */

typedef int (*exp_set_fn)(exp_cfg *c, const key_ctx *k, const toml_value *v);

static int set_name(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    int rc = get_str(c->name, sizeof c->name, k, v);
    if (rc == 0 && c->name[0] == '\0')
        return exp_key_err(k, "must not be empty");
    return rc;
}

static int set_description(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return get_str(c->description, sizeof c->description, k, v);
}

static int set_dataset(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    char name[EXP_TEXT_MAX];
    int rc = get_str(name, sizeof name, k, v);
    if (rc)
        return rc;
    if (strncmp(name, "idx:", 4) == 0) {
        if (name[4] == '\0')
            return exp_key_err(k, "'idx:' needs a directory, e.g. 'idx:data/kmnist'");
    } else if (!data_find(name)) {
        return exp_key_err(k, "unknown data set '%s' (valid: %s)", name, data_names());
    }
    memcpy(c->dataset, name, sizeof name);
    return 0;
}

static int set_validation(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    /* The upper bound (fewer than the training images) is checked when the data is loaded. */
    return get_int(&c->validation, k, v, 0, INT32_MAX);
}

/* classes, channels, height, width: shape of an idx: data set. */
static int set_idx_dim(int *out, exp_cfg *c, const key_ctx *k, const toml_value *v, int lo, int hi)
{
    int rc = get_int32(out, k, v, lo, hi);
    if (rc == 0 && c->idx_line == 0) {
        c->idx_line = k->line;
        snprintf(c->idx_key, sizeof c->idx_key, "%.31s", k->key);
    }
    return rc;
}

static int set_classes(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return set_idx_dim(&c->classes, c, k, v, 2, 64);
}

static int set_channels(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return set_idx_dim(&c->channels, c, k, v, 1, 64);
}

static int set_height(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return set_idx_dim(&c->height, c, k, v, 1, 4096);
}

static int set_width(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return set_idx_dim(&c->width, c, k, v, 1, 4096);
}

static void exp_note_model(exp_cfg *c, const key_ctx *k)
{
    c->model_line = k->line;
    snprintf(c->model_key, sizeof c->model_key, "%.63s", k->key);
}

static int set_preset(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    char name[EXP_NAME_MAX];
    const model_preset *p;
    int rc = get_str(name, sizeof name, k, v);
    if (rc)
        return rc;
    if (models_find(&p, name, k->e))
        return exp_key_prefix(k);
    memcpy(c->model, name, sizeof name);
    c->custom = false;
    exp_note_model(c, k);
    return 0;
}

/* The keys each layer type accepts, "type" first; NULL-terminated. */
static const struct {
    layer_kind kind;
    const char *keys[6];
} exp_layer_keys[] = {
    {LAYER_CONV, {"type", "filters", "size", "stride", "pad", NULL}},
    {LAYER_MAXPOOL, {"type", "size", "stride", NULL}},
    {LAYER_AVGPOOL, {"type", "size", "stride", NULL}},
    {LAYER_AFFINE, {"type", "units", NULL}},
    {LAYER_BN, {"type", NULL}},
    {LAYER_RELU, {"type", NULL}},
    {LAYER_TANH, {"type", NULL}},
    {LAYER_DROPOUT, {"type", "ratio", NULL}},
};

/* One element of model.layers, a table such as {type="conv", filters=30, size=5}. */
static int exp_parse_layer(layer_spec *out, const key_ctx *lk, const toml_value *t)
{
    char kname[96];
    key_ctx k = *lk;
    k.key = kname;
    if (toml_type_of(t) != TOML_TABLE)
        return exp_bad_value(lk, t, "a table such as {type = \"relu\"}");
    const toml_value *tv = toml_get(t, "type");
    if (!tv)
        return exp_key_err(lk, "missing 'type' (valid: conv, maxpool, avgpool, affine, bn, "
                               "relu, tanh, dropout)");
    snprintf(kname, sizeof kname, "%s.type", lk->key);
    k.line = toml_line(tv);
    char type[32];
    int rc = get_str(type, sizeof type, &k, tv);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    if (layer_kind_from_name(&out->kind, type, k.e))
        return exp_key_prefix(&k);
    size_t row = 0;
    while (exp_layer_keys[row].kind != out->kind)
        row++;
    const char *const *valid = exp_layer_keys[row].keys;

    /* Defaults: conv stride 1 pad 0, pool stride = size, dropout ratio 0.5. */
    out->stride = 0;
    out->ratio = 0.5f;
    for (size_t i = 0; i < toml_len(t); i++) {
        const char *key = toml_key_at(t, i);
        const toml_value *v = toml_value_at(t, i);
        snprintf(kname, sizeof kname, "%s.%s", lk->key, key);
        k.line = toml_line(v);
        bool known = false;
        for (int j = 0; valid[j]; j++)
            known = known || strcmp(valid[j], key) == 0;
        if (!known) {
            char list[128] = "";
            for (int j = 0; valid[j]; j++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? ", " : "",
                         valid[j]);
            k.line = toml_key_line(t, i);
            return err_set(k.e, ERR_INVALID, "%s:%d: unknown key '%s' for a %s layer (valid: %s)",
                           k.file, k.line, kname, type, list);
        }
        if (strcmp(key, "filters") == 0)
            rc = get_int32(&out->filters, &k, v, 1, 4096);
        else if (strcmp(key, "size") == 0)
            rc = get_int32(&out->size, &k, v, 1, 256);
        else if (strcmp(key, "stride") == 0)
            rc = get_int32(&out->stride, &k, v, 1, 256);
        else if (strcmp(key, "pad") == 0)
            rc = get_int32(&out->pad, &k, v, 0, 256);
        else if (strcmp(key, "units") == 0) {
            /* "classes": the data set's number of classes, filled in at resolution (0). */
            if (toml_type_of(v) == TOML_STRING && strcmp(toml_string(v), "classes") == 0)
                out->units = 0;
            else if (toml_type_of(v) != TOML_INTEGER)
                rc = exp_bad_value(&k, v, "an integer in 1..65536 or \"classes\"");
            else
                rc = get_int32(&out->units, &k, v, 1, 65536);
        } else if (strcmp(key, "ratio") == 0) {
            double r = 0.0;
            rc = get_num(&r, &k, v, 0.0, false, 1.0, true);
            out->ratio = (float)r;
        }
        if (rc)
            return rc;
    }
    /* Required sizes. */
    const char *missing = NULL;
    if (out->kind == LAYER_CONV && out->filters == 0)
        missing = "filters";
    else if ((out->kind == LAYER_CONV || out->kind == LAYER_MAXPOOL ||
              out->kind == LAYER_AVGPOOL) && out->size == 0)
        missing = "size";
    else if (out->kind == LAYER_AFFINE && !toml_get(t, "units"))
        missing = "units";
    if (missing)
        return exp_key_err(lk, "a %s layer needs '%s'", type, missing);
    if (out->stride == 0)
        out->stride = out->kind == LAYER_CONV ? 1 : out->size;
    return 0;
}

static int set_layers(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    if (toml_type_of(v) != TOML_ARRAY || toml_len(v) == 0)
        return exp_bad_value(k, v, "a non-empty array of layer tables");
    if (toml_len(v) > MODELS_MAX_LAYERS)
        return exp_key_err(k, "%zu layers, at most %d allowed", toml_len(v), MODELS_MAX_LAYERS);
    char kname[64];
    for (size_t i = 0; i < toml_len(v); i++) {
        const toml_value *t = toml_value_at(v, i);
        /* 1-based, as net_new numbers layers. */
        snprintf(kname, sizeof kname, "%.40s[%zu]", k->key, i + 1);
        key_ctx lk = *k;
        lk.key = kname;
        lk.line = toml_line(t);
        int rc = exp_parse_layer(&c->layers[i], &lk, t);
        if (rc)
            return rc;
    }
    c->n_layers = (int)toml_len(v);
    c->custom = true;
    strcpy(c->model, "custom");
    exp_note_model(c, k);
    return 0;
}

static int set_bn(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return get_bool(&c->bn, k, v);
}

static int set_init(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    char name[32];
    int rc = get_str(name, sizeof name, k, v);
    if (rc)
        return rc;
    if (init_kind_from_name(&c->init, name, k->e))
        return exp_key_prefix(k);
    return 0;
}

static int set_init_std(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return get_num(&c->init_std, k, v, 0.0, true, INFINITY, false);
}

static int set_epochs(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return get_int32(&c->epochs, k, v, 1, 10000);
}

static int set_batch(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    /* Whether the training set has that many images is known only when it is loaded. */
    return get_int32(&c->batch, k, v, 1, 65536);
}

static int set_sampling(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    char name[32];
    int rc = get_str(name, sizeof name, k, v);
    if (rc)
        return rc;
    if (sampling_kind_from_name(&c->sampling, name, k->e))
        return exp_key_prefix(k);
    return 0;
}

static int set_lr_schedule(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    char name[32];
    int rc = get_str(name, sizeof name, k, v);
    if (rc)
        return rc;
    if (lr_schedule_from_name(&c->schedule, name, k->e))
        return exp_key_prefix(k);
    return 0;
}

static int set_augment_shift(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    /* Whether it is smaller than the image is known only when the shape is (exp_resolve). */
    c->augment_line = k->line;
    return get_int32(&c->augment_shift, k, v, 0, 64);
}

/* A distortion's magnitude: get_num's range, and the float the augmenter uses must lie in it
 * too (0.999999999 is below 1 but its float is 1). */
static int get_distortion(float *out, const key_ctx *k, const toml_value *v, double lo,
                          bool lo_open, double hi, bool hi_open)
{
    double x;
    int rc = get_num(&x, k, v, lo, lo_open, hi, hi_open);
    if (rc)
        return rc;
    float f = (float)x;
    if ((lo_open ? !(f > lo) : !(f >= lo)) || (hi_open ? !(f < hi) : !(f <= hi)))
        return exp_bad_value(k, v, "a number whose float stays inside the range");
    *out = f;
    return 0;
}

static int set_augment_rotate(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return get_distortion(&c->augment.rotate_deg, k, v, 0.0, false, 180.0, false);
}

static int set_augment_scale(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return get_distortion(&c->augment.scale, k, v, 0.0, false, 1.0, true);
}

static int set_augment_shear(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return get_distortion(&c->augment.shear, k, v, 0.0, false, 1.0, false);
}

static int set_augment_alpha(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return get_distortion(&c->augment.elastic_alpha, k, v, 0.0, false, 1000.0, false);
}

static int set_augment_sigma(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return get_distortion(&c->augment.elastic_sigma, k, v, 0.0, true, 100.0, false);
}

static int set_iterations(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return get_int32(&c->iterations, k, v, 0, 1000000000);
}

static int set_optimizer(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    char name[32];
    int rc = get_str(name, sizeof name, k, v);
    if (rc)
        return rc;
    if (optim_kind_from_name(&c->optimizer, name, k->e))
        return exp_key_prefix(k);
    return 0;
}

/* Optimizer parameters go to k->op: [training], [optimizer.NAME] or the sweep level. */
static int set_oparam(exp_cfg *c, const key_ctx *k, const toml_value *v, int which)
{
    (void)c;
    double x = 0.0;
    int rc;
    switch (which) {
    case OP_LR:
        rc = get_num(&x, k, v, 0.0, true, INFINITY, false);
        break;
    case OP_WEIGHT_DECAY:
        rc = get_num(&x, k, v, 0.0, false, INFINITY, false);
        break;
    default: /* momentum, beta1, beta2, decay_rate: [0, 1), as optim_config_validate wants */
        rc = get_num(&x, k, v, 0.0, false, 1.0, true);
        break;
    }
    if (rc)
        return rc;
    /* Stored as the float the optimizer will use, so the float must be in range too, checked
     * here where the key's line is known: lr = 1e-50 rounds to 0, lr = 1e308 overflows to
     * infinity, momentum = 0.99999999 rounds to 1. */
    const float f = (float)x;
    if (which == OP_LR && !(f > 0.0f && isfinite(f)))
        return exp_bad_value(k, v, "a finite number > 0 representable as a float (at most "
                                   "3.4e38, at least 1.4e-45)");
    if (which == OP_WEIGHT_DECAY && !isfinite(f))
        return exp_bad_value(k, v, "a finite number >= 0 representable as a float (at most "
                                   "3.4e38)");
    if (which != OP_LR && which != OP_WEIGHT_DECAY && !(f < 1.0f))
        return exp_bad_value(k, v, "a number in [0, 1) that stays below 1 as a float");
    k->op->set[which] = true;
    k->op->v[which] = x;
    return 0;
}

static int set_lr(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return set_oparam(c, k, v, OP_LR);
}
static int set_momentum(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return set_oparam(c, k, v, OP_MOMENTUM);
}
static int set_beta1(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return set_oparam(c, k, v, OP_BETA1);
}
static int set_beta2(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return set_oparam(c, k, v, OP_BETA2);
}
static int set_decay_rate(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return set_oparam(c, k, v, OP_DECAY_RATE);
}
static int set_weight_decay(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return set_oparam(c, k, v, OP_WEIGHT_DECAY);
}

static int set_seed(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return get_int(&c->seed, k, v, 0, INT32_MAX);
}

static int set_threads(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return get_int32(&c->threads, k, v, 0, 256);
}

static int set_eval_train(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return get_int(&c->eval_train, k, v, 0, INT64_MAX);
}

static int set_eval_test(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return get_int(&c->eval_test, k, v, 0, INT64_MAX);
}

static int set_minutes(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return get_num(&c->budget_minutes, k, v, 0.0, true, INFINITY, false);
}

static int set_target(exp_cfg *c, const key_ctx *k, const toml_value *v)
{
    return get_num(&c->target_accuracy, k, v, 0.0, true, 1.0, false);
}

/* The schema and the vocabulary in one table: every key of every table, its label (the short
 * name [sweep] accepts when sweepable), its display name, its field in the run's configuration
 * JSON (NULL: not part of a run's configuration) and its type, the setter that checks and
 * stores it, and where run_numbers keeps the file's double of a float parameter. Order within
 * a table is the order of "valid: ..." lists; the configuration keys' order is the display
 * order of exp_vocab_at. */
typedef struct exp_key {
    exp_vocab_key v;
    exp_set_fn set;
    int num;          /* offsetof(run_numbers, field), or -1 */
} exp_key;

#define NUM(f) ((int)offsetof(run_numbers, f))
static const exp_key exp_keys[] = {
    {{"experiment", "name", "name", "experiment name", NULL, EXP_STR, false}, set_name, -1},
    {{"experiment", "description", "description", "description", NULL, EXP_STR, false},
     set_description, -1},
    {{"data", "dataset", "dataset", "data set", "dataset", EXP_STR, true}, set_dataset, -1},
    {{"data", "validation", "validation", "validation images", "validation", EXP_INT, true},
     set_validation, -1},
    {{"data", "classes", "classes", "classes", "classes", EXP_INT, false}, set_classes, -1},
    {{"data", "channels", "channels", "image channels", "input.0", EXP_INT, false}, set_channels,
     -1},
    {{"data", "height", "height", "image height", "input.1", EXP_INT, false}, set_height, -1},
    {{"data", "width", "width", "image width", "input.2", EXP_INT, false}, set_width, -1},
    {{"model", "preset", "model", "model", "model", EXP_STR, true}, set_preset, -1},
    {{"model", "layers", "layers", "layers", "layers", EXP_LAYERS, false}, set_layers, -1},
    {{"model", "bn", "bn", "batch norm", "bn", EXP_BOOL, true}, set_bn, -1},
    {{"model", "init", "init", "weight init", "init", EXP_STR, true}, set_init, -1},
    {{"model", "init_std", "init_std", "init std", "init_std", EXP_NUM, true}, set_init_std,
     NUM(init_std)},
    {{"training", "epochs", "epochs", "epochs", "epochs", EXP_INT, true}, set_epochs, -1},
    {{"training", "batch", "batch", "batch size", "batch", EXP_INT, true}, set_batch, -1},
    {{"training", "sampling", "sampling", "sampling", "sampling", EXP_STR, true}, set_sampling,
     -1},
    {{"training", "lr_schedule", "lr_schedule", "lr schedule", "lr_schedule", EXP_STR, true},
     set_lr_schedule, -1},
    {{"training", "augment_shift", "augment_shift", "shift augmentation", "augment_shift",
      EXP_INT, true},
     set_augment_shift, -1},
    {{"training", "augment_rotate", "augment_rotate", "rotation augmentation (degrees)",
      "augment.rotate_deg", EXP_NUM, true},
     set_augment_rotate, -1},
    {{"training", "augment_scale", "augment_scale", "scale augmentation", "augment.scale",
      EXP_NUM, true},
     set_augment_scale, -1},
    {{"training", "augment_shear", "augment_shear", "shear augmentation", "augment.shear",
      EXP_NUM, true},
     set_augment_shear, -1},
    {{"training", "augment_elastic_alpha", "augment_elastic_alpha", "elastic distortion alpha",
      "augment.elastic_alpha", EXP_NUM, true},
     set_augment_alpha, -1},
    {{"training", "augment_elastic_sigma", "augment_elastic_sigma", "elastic distortion sigma",
      "augment.elastic_sigma", EXP_NUM, true},
     set_augment_sigma, -1},
    {{"training", "iterations", "iterations", "iterations per epoch", "iterations", EXP_INT,
      false},
     set_iterations, -1},
    {{"training", "optimizer", "optimizer", "optimizer", "optimizer.kind", EXP_STR, true},
     set_optimizer, -1},
    {{"training", "lr", "lr", "learning rate", "optimizer.lr", EXP_NUM, true}, set_lr, NUM(lr)},
    {{"training", "momentum", "momentum", "momentum", "optimizer.momentum", EXP_NUM, true},
     set_momentum, NUM(momentum)},
    {{"training", "beta1", "beta1", "Adam beta1", "optimizer.beta1", EXP_NUM, false}, set_beta1,
     NUM(beta1)},
    {{"training", "beta2", "beta2", "Adam beta2", "optimizer.beta2", EXP_NUM, false}, set_beta2,
     NUM(beta2)},
    {{"training", "decay_rate", "decay_rate", "RMSprop decay rate", "optimizer.decay_rate",
      EXP_NUM, false},
     set_decay_rate, NUM(decay_rate)},
    {{"training", "weight_decay", "weight_decay", "weight decay", "optimizer.weight_decay",
      EXP_NUM, true},
     set_weight_decay, NUM(weight_decay)},
    {{"training", "seed", "seed", "seed", "seed", EXP_INT, true}, set_seed, -1},
    {{"training", "threads", "threads", "threads", "threads", EXP_INT, true}, set_threads, -1},
    {{"evaluation", "train_samples", "train_samples", "training-accuracy images",
      "eval_train_n", EXP_INT, false},
     set_eval_train, -1},
    {{"evaluation", "test_samples", "test_samples", "evaluation images per epoch",
      "eval_test_n", EXP_INT, false},
     set_eval_test, -1},
    {{"budget", "minutes", "minutes", "time budget (minutes)", NULL, EXP_NUM, false},
     set_minutes, -1},
    {{"budget", "target_accuracy", "target_accuracy", "target accuracy", NULL, EXP_NUM, false},
     set_target, -1},
};
#undef NUM
#define EXP_N_KEYS (sizeof exp_keys / sizeof exp_keys[0])

/* Top-level tables; "optimizer" and "sweep" have their own readers. */
static const char *const exp_tables[] = {
    "experiment", "data", "model", "training", "evaluation", "budget", "optimizer", "sweep",
    "select",
};
#define EXP_N_TABLES (sizeof exp_tables / sizeof exp_tables[0])

static const exp_key *exp_key_find(const char *table, const char *name)
{
    for (size_t i = 0; i < EXP_N_KEYS; i++)
        if (strcmp(exp_keys[i].v.table, table) == 0 && strcmp(exp_keys[i].v.name, name) == 0)
            return &exp_keys[i];
    return NULL;
}

/* Whether name is k's TOML path "table.name". */
static bool exp_is_path(const exp_vocab_key *k, const char *name)
{
    size_t tl = strlen(k->table);
    return strncmp(name, k->table, tl) == 0 && name[tl] == '.' && strcmp(name + tl + 1, k->name) == 0;
}

/* The sweepable key called name: a label ("lr") or a TOML path ("training.lr"). */
static const exp_key *exp_sweep_find(const char *name)
{
    for (size_t i = 0; i < EXP_N_KEYS; i++) {
        const exp_key *d = &exp_keys[i];
        if (d->v.sweepable && (strcmp(d->v.label, name) == 0 || exp_is_path(&d->v, name)))
            return d;
    }
    return NULL;
}

/* ---- reading the tables ------------------------------------------------------------------ */

typedef struct exp_reader {
    const char *file;
    err_info *e;
} exp_reader;

/* "FILE:LINE: unknown key 'PREFIX.KEY' (valid: ...)" with the valid names of table `table`
 * (or of the sweep when sweep is true). */
/* list <- the names of table `table`'s keys, or (sweep) the sweepable keys' labels. */
static void exp_valid_keys(char *list, size_t n, const char *table, bool sweep)
{
    list[0] = '\0';
    for (size_t i = 0; i < EXP_N_KEYS; i++) {
        const exp_vocab_key *v = &exp_keys[i].v;
        const char *name = sweep ? v->label : v->name;
        if ((sweep && !v->sweepable) || (!sweep && strcmp(v->table, table) != 0))
            continue;
        snprintf(list + strlen(list), n - strlen(list), "%s%s", list[0] ? ", " : "", name);
    }
}

static int exp_unknown_key(const exp_reader *rd, int line, const char *prefix, const char *key,
                           const char *table, bool sweep)
{
    char list[512];
    exp_valid_keys(list, sizeof list, table, sweep);
    return err_set(rd->e, ERR_INVALID, "%s:%d: unknown key '%s%s%.100s' (valid: %s)", rd->file,
                   line, prefix, prefix[0] ? "." : "", key, list);
}

/* Read the keys of one ordinary table into c. */
static int exp_read_table(exp_cfg *c, const exp_reader *rd, const char *table,
                          const toml_value *t)
{
    char kname[160];
    for (size_t i = 0; i < toml_len(t); i++) {
        const char *key = toml_key_at(t, i);
        const exp_key *d = exp_key_find(table, key);
        if (!d)
            return exp_unknown_key(rd, toml_key_line(t, i), table, key, table, false);
        snprintf(kname, sizeof kname, "%s.%.100s", table, key);
        const toml_value *v = toml_value_at(t, i);
        key_ctx k = {rd->file, kname, toml_line(v), &c->training, rd->e};
        int rc = d->set(c, &k, v);
        if (rc)
            return rc;
    }
    if (strcmp(table, "model") == 0 && toml_get(t, "preset") && toml_get(t, "layers")) {
        long i = toml_find(t, "layers");
        return err_set(rd->e, ERR_INVALID,
                       "%s:%d: key 'model.layers': give either 'model.preset' or 'model.layers', "
                       "not both", rd->file, toml_key_line(t, (size_t)i));
    }
    return 0;
}

/* [optimizer.NAME] tables: parameters used when NAME is the selected optimizer. */
static int exp_read_optimizers(exp_cfg *c, const exp_reader *rd, const toml_value *t)
{
    char kname[160];
    for (size_t i = 0; i < toml_len(t); i++) {
        const char *name = toml_key_at(t, i);
        const toml_value *sub = toml_value_at(t, i);
        int line = toml_key_line(t, i);
        optim_kind kind;
        snprintf(kname, sizeof kname, "optimizer.%.100s", name);
        key_ctx k = {rd->file, kname, line, NULL, rd->e};
        if (optim_kind_from_name(&kind, name, rd->e))
            return exp_key_prefix(&k);
        if (toml_type_of(sub) != TOML_TABLE)
            return exp_bad_value(&k, sub, "a table of that optimizer's parameters");
        for (size_t j = 0; j < toml_len(sub); j++) {
            const char *key = toml_key_at(sub, j);
            int which = -1;
            for (int p = 0; p < OP_COUNT; p++)
                if (strcmp(key, exp_oparam_names[p]) == 0 && exp_oparam_used[kind][p])
                    which = p;
            if (which < 0) {
                char list[128] = "";
                for (int p = 0; p < OP_COUNT; p++)
                    if (exp_oparam_used[kind][p])
                        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                                 list[0] ? ", " : "", exp_oparam_names[p]);
                return err_set(rd->e, ERR_INVALID,
                               "%s:%d: unknown key 'optimizer.%s.%.100s' (%s uses: %s)", rd->file,
                               toml_key_line(sub, j), name, key, name, list);
            }
            char pname[200];
            snprintf(pname, sizeof pname, "optimizer.%s.%.100s", name, key);
            const toml_value *v = toml_value_at(sub, j);
            key_ctx pk = {rd->file, pname, toml_line(v), &c->per_opt[kind], rd->e};
            int rc = set_oparam(c, &pk, v, which);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* One swept key: its definition, its array and the names used in labels and messages. */
typedef struct exp_axis {
    const exp_key *def;
    const toml_value *values; /* non-empty array */
    char key[160];            /* as written, "sweep.training.lr", for messages */
    int line;                 /* of the key */
} exp_axis;

/* Swept values in a total order for finding duplicates by sorting: numbers (by value; the
 * integers a sweepable key accepts are far below 2^53, so as doubles they compare exactly),
 * then strings (bytewise, then by length), then booleans; equal values by their position in
 * the array. Two values are the same (1 == 1.0) exactly when they are adjacent and differ only
 * in position. */
typedef struct exp_swept_value {
    const toml_value *v;
    size_t index; /* position in the [sweep] array */
} exp_swept_value;

static int exp_value_class(const toml_value *v, double *num)
{
    switch (toml_type_of(v)) {
    case TOML_INTEGER: *num = (double)toml_integer(v); return 0;
    case TOML_FLOAT: *num = toml_float(v); return 0;
    case TOML_STRING: return 1;
    case TOML_BOOL: return 2;
    default: return 3;
    }
}

/* The order above without the position: <0, 0 (the same value), >0. */
static int exp_value_cmp(const toml_value *a, const toml_value *b)
{
    double x = 0.0, y = 0.0;
    int ca = exp_value_class(a, &x), cb = exp_value_class(b, &y);
    if (ca != cb)
        return ca < cb ? -1 : 1;
    if (ca == 0)
        return x < y ? -1 : x > y;
    if (ca == 1) {
        size_t la = toml_string_len(a), lb = toml_string_len(b);
        int c = memcmp(toml_string(a), toml_string(b), la < lb ? la : lb);
        return c ? c : (la < lb ? -1 : la > lb);
    }
    if (ca == 2)
        return (int)toml_bool(a) - (int)toml_bool(b);
    return 0; /* arrays and tables are refused by every setter before this */
}

static int exp_swept_cmp(const void *pa, const void *pb)
{
    const exp_swept_value *a = pa, *b = pb;
    int c = exp_value_cmp(a->v, b->v);
    return c ? c : (a->index < b->index ? -1 : a->index > b->index);
}

/* Check one [sweep] entry (name as written: "lr" or "training.lr") and append it to axes: its
 * shape only (a known sweepable key, swept once, a non-empty array); its values are checked by
 * exp_check_axis once the grid's size is known to be within the limit. */
static int exp_add_axis(exp_axis *axes, int *n_axes, const exp_cfg *base, const exp_reader *rd,
                        const char *name, const toml_value *v, int key_line)
{
    const exp_key *d = exp_sweep_find(name);
    if (!d)
        return exp_unknown_key(rd, key_line, "sweep", name, NULL, true);
    exp_axis *a = &axes[*n_axes];
    snprintf(a->key, sizeof a->key, "sweep.%.140s", name);
    key_ctx k = {rd->file, a->key, key_line, NULL, rd->e};
    for (int i = 0; i < *n_axes; i++)
        if (axes[i].def == d)
            return exp_key_err(&k, "'%s' is swept twice", d->v.label);
    if (*n_axes >= EXP_MAX_SWEPT)
        return exp_key_err(&k, "more than %d swept keys", EXP_MAX_SWEPT);
    if (toml_type_of(v) != TOML_ARRAY)
        return exp_bad_value(&k, v, "a non-empty array of values");
    if (toml_len(v) == 0)
        return exp_key_err(&k, "empty sweep (give at least one value)");
    if (d->set == set_preset && base->custom)
        return exp_key_err(&k, "cannot sweep presets over a model given by 'model.layers'");
    a->def = d;
    a->values = v;
    a->line = key_line;
    (*n_axes)++;
    return 0;
}

/* Check every value of axis a with its key's setter (the same messages as in its table), then
 * that no value is given twice: sorted, duplicates are neighbours, so n values cost n log n
 * (a file may sweep up to EXP_MAX_RUNS values of one key). The duplicate reported is the
 * earliest value in the array that repeats an earlier one. */
static int exp_check_axis(const exp_axis *a, const exp_cfg *base, const exp_reader *rd)
{
    key_ctx k = {rd->file, a->key, a->line, NULL, rd->e};
    const size_t n = toml_len(a->values);
    exp_cfg *scratch = malloc(sizeof *scratch);
    exp_swept_value *sv = malloc(n * sizeof *sv);
    int rc = 0;
    if (!scratch || !sv) {
        rc = err_set(rd->e, ERR_NOMEM, "%s: out of memory checking '%s'", rd->file, a->key);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const toml_value *x = toml_value_at(a->values, i);
        *scratch = *base;
        k.line = toml_line(x);
        k.op = &scratch->sweep;
        if ((rc = a->def->set(scratch, &k, x)) != 0)
            goto done;
        sv[i] = (exp_swept_value){x, i};
    }
    qsort(sv, n, sizeof *sv, exp_swept_cmp);
    size_t dup = n; /* the smallest position that repeats an earlier value */
    for (size_t i = 1; i < n; i++)
        if (exp_value_cmp(sv[i - 1].v, sv[i].v) == 0 && sv[i].index < dup)
            dup = sv[i].index; /* within equal values positions ascend: i-1 is earlier */
    if (dup < n) {
        const toml_value *x = toml_value_at(a->values, dup);
        char got[128];
        exp_describe(got, sizeof got, x);
        k.line = toml_line(x);
        rc = exp_key_err(&k, "duplicate value %s", got);
    }
done:
    free(scratch);
    free(sv);
    return rc;
}

/* [sweep]: keys are short ("lr") or full names, quoted ("training.lr") or as nested tables
 * (training.lr = [...] unquoted, or a [sweep.training] table). */
static int exp_read_sweep(exp_axis *axes, int *n_axes, const exp_cfg *base,
                          const exp_reader *rd, const toml_value *t)
{
    char name[160];
    for (size_t i = 0; i < toml_len(t); i++) {
        const char *key = toml_key_at(t, i);
        const toml_value *v = toml_value_at(t, i);
        int rc;
        if (toml_type_of(v) == TOML_TABLE) {
            for (size_t j = 0; j < toml_len(v); j++) {
                snprintf(name, sizeof name, "%.60s.%.60s", key, toml_key_at(v, j));
                rc = exp_add_axis(axes, n_axes, base, rd, name, toml_value_at(v, j),
                                  toml_key_line(v, j));
                if (rc)
                    return rc;
            }
            continue;
        }
        snprintf(name, sizeof name, "%.100s", key);
        rc = exp_add_axis(axes, n_axes, base, rd, name, v, toml_key_line(t, i));
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- [select] ----------------------------------------------------------------------------
 * The table names the experiment whose runs decide and the swept keys taken from its winner
 * (select.h). Here it is checked on its own; the values arrive through exp_apply_select. */

static const char *const exp_metric_names[EXP_METRIC_COUNT] = {
    [EXP_METRIC_ACCURACY] = "accuracy", [EXP_METRIC_F1] = "f1",
};

const char *exp_select_metric_name(exp_select_metric m)
{
    return (unsigned)m < EXP_METRIC_COUNT ? exp_metric_names[m] : "?";
}

const char *exp_heldout_name(bool validation) { return validation ? "validation" : "test"; }

/* Whether the file gives key d a value itself: in its table, in an [optimizer.NAME] table (an
 * optimizer parameter), or in [sweep]. */
static bool exp_file_sets(const toml_value *root, const exp_axis *axes, int n_axes,
                          const exp_key *d)
{
    for (int a = 0; a < n_axes; a++)
        if (axes[a].def == d)
            return true;
    const toml_value *t = toml_get(root, d->v.table);
    if (t && toml_type_of(t) == TOML_TABLE && toml_get(t, d->v.name))
        return true;
    const toml_value *o = toml_get(root, "optimizer");
    bool training = strcmp(d->v.table, "training") == 0;
    for (size_t i = 0; training && o && toml_type_of(o) == TOML_TABLE && i < toml_len(o); i++) {
        const toml_value *sub = toml_value_at(o, i);
        if (toml_type_of(sub) == TOML_TABLE && toml_get(sub, d->v.name))
            return true;
    }
    return false;
}

/* What a [select] reader needs besides the table: the file's tables and sweep. */
typedef struct exp_select_ctx {
    const exp_reader *rd;
    const toml_value *root;
    const exp_axis *axes;
    int n_axes;
} exp_select_ctx;

typedef int (*exp_select_fn)(exp_select *sel, const exp_select_ctx *sc, const key_ctx *k,
                             const toml_value *v);

static int select_from(exp_select *sel, const exp_select_ctx *sc, const key_ctx *k,
                       const toml_value *v)
{
    (void)sc;
    int rc = get_str(sel->from, sizeof sel->from, k, v);
    if (rc == 0 && sel->from[0] == '\0')
        rc = exp_key_err(k, "must name an experiment (its [experiment] name)");
    sel->from_line = k->line;
    return rc;
}

/* select.keys: each a sweepable key (label or TOML path), not the seed (a candidate is the
 * mean over its seeds), given once, and not set or swept by this file. */
static int select_keys(exp_select *sel, const exp_select_ctx *sc, const key_ctx *k0,
                       const toml_value *v)
{
    key_ctx k = *k0;
    sel->keys_line = k.line;
    if (toml_type_of(v) != TOML_ARRAY || toml_len(v) == 0)
        return exp_bad_value(&k, v, "a non-empty array of swept keys' names");
    if (toml_len(v) > EXP_MAX_SWEPT)
        return exp_key_err(&k, "more than %d keys", EXP_MAX_SWEPT);
    for (size_t i = 0; i < toml_len(v); i++) {
        const toml_value *x = toml_value_at(v, i);
        if (toml_type_of(x) != TOML_STRING)
            return exp_bad_value(&k, x, "an array of key names");
        const exp_key *d = exp_sweep_find(toml_string(x));
        char list[512];
        exp_valid_keys(list, sizeof list, NULL, true);
        if (!d)
            return exp_key_err(&k, "unknown key '%.100s' (valid: %s)", toml_string(x), list);
        if (strcmp(d->v.label, "seed") == 0)
            return exp_key_err(&k, "'seed' cannot be selected: a candidate is the mean over "
                                   "its seeds");
        for (int j = 0; j < sel->n_keys; j++)
            if (sel->keys[j] == &d->v)
                return exp_key_err(&k, "'%s' is given twice", d->v.label);
        if (exp_file_sets(sc->root, sc->axes, sc->n_axes, d))
            return exp_key_err(&k, "'%s' is also set or swept by this file: a selected key "
                                   "takes its value from the winner only", d->v.label);
        sel->keys[sel->n_keys++] = &d->v;
    }
    return 0;
}

static int select_metric(exp_select *sel, const exp_select_ctx *sc, const key_ctx *k,
                         const toml_value *v)
{
    (void)sc;
    char name[32];
    int rc = get_str(name, sizeof name, k, v);
    for (int m = 0; rc == 0 && m < EXP_METRIC_COUNT; m++)
        if (strcmp(name, exp_metric_names[m]) == 0) {
            sel->metric = (exp_select_metric)m;
            return 0;
        }
    return rc ? rc : exp_key_err(k, "unknown metric '%s' (valid: accuracy, f1)", name);
}

static int select_margin(exp_select *sel, const exp_select_ctx *sc, const key_ctx *k,
                         const toml_value *v)
{
    (void)sc;
    return get_num(&sel->margin, k, v, 0.0, false, INFINITY, false);
}

static const struct {
    const char *name;
    exp_select_fn read;
} exp_select_keys[] = {
    {"from", select_from}, {"keys", select_keys}, {"metric", select_metric},
    {"margin", select_margin},
};
#define EXP_N_SELECT_KEYS (sizeof exp_select_keys / sizeof exp_select_keys[0])

static int exp_apply_values(exp_cfg *base, const exp_select *sel, const exp_value *values,
                            const exp_reader *rd);

/* sel <- the [select] table t (its header at line), checked; from and keys are required.
 * With values (not NULL), they are then set in base (exp_apply_values). */
static int exp_read_select(exp_select *sel, const exp_select_ctx *sc, const toml_value *t,
                           int line, exp_cfg *base, const exp_value *values)
{
    memset(sel, 0, sizeof *sel);
    sel->on = true;
    sel->line = line;
    char kname[160];
    for (size_t i = 0; i < toml_len(t); i++) {
        const char *key = toml_key_at(t, i);
        size_t j = 0;
        while (j < EXP_N_SELECT_KEYS && strcmp(exp_select_keys[j].name, key) != 0)
            j++;
        if (j == EXP_N_SELECT_KEYS)
            return err_set(sc->rd->e, ERR_INVALID, "%s:%d: unknown key 'select.%.100s' (valid: "
                           "from, keys, metric, margin)", sc->rd->file, toml_key_line(t, i), key);
        snprintf(kname, sizeof kname, "select.%s", key);
        key_ctx k = {sc->rd->file, kname, toml_key_line(t, i), NULL, sc->rd->e};
        int rc = exp_select_keys[j].read(sel, sc, &k, toml_value_at(t, i));
        if (rc)
            return rc;
    }
    if (!sel->from_line || !sel->keys_line)
        return err_set(sc->rd->e, ERR_INVALID, "%s:%d: key 'select.%s': required in [select] "
                       "(the experiment whose runs decide, and the swept keys taken from its "
                       "winner)", sc->rd->file, line, sel->from_line ? "keys" : "from");
    if (!values)
        return 0;
    sel->applied = true;
    return exp_apply_values(base, sel, values, sc->rd);
}

/* *doc <- the TOML document "v = VALUE" for value v, read by toml.h: a selected value then
 * reaches its key's setter as a value the file wrote would (integers stay integers). */
static int exp_value_toml(toml_value **doc, const exp_value *v, const exp_reader *rd)
{
    char buf[2 * EXP_TEXT_MAX + 16] = "v = ";
    size_t n = strlen(buf);
    switch (v->type) {
    case EXP_INT: snprintf(buf + n, sizeof buf - n, "%" PRId64, v->i); break;
    case EXP_NUM: exp_format_number(buf + n, sizeof buf - n, v->d); break;
    case EXP_BOOL: snprintf(buf + n, sizeof buf - n, "%s", v->b ? "true" : "false"); break;
    case EXP_STR:
        buf[n++] = '"';
        for (const char *c = v->s; *c && n + 3 < sizeof buf; c++) {
            if (*c == '"' || *c == '\\')
                buf[n++] = '\\';
            buf[n++] = *c;
        }
        buf[n++] = '"';
        buf[n] = '\0';
        break;
    default:
        return err_set(rd->e, ERR_INVALID, "%s: a selected value must be a number, a boolean "
                       "or a string", rd->file);
    }
    return toml_parse(doc, buf, strlen(buf), rd->file, rd->e);
}

/* Set each of sel's keys in base to values[i], as the key's own table would. */
static int exp_apply_values(exp_cfg *base, const exp_select *sel, const exp_value *values,
                            const exp_reader *rd)
{
    char kname[160];
    for (int i = 0; i < sel->n_keys; i++) {
        const exp_key *d = exp_key_find(sel->keys[i]->table, sel->keys[i]->name);
        toml_value *doc = NULL;
        int rc = exp_value_toml(&doc, &values[i], rd);
        if (rc)
            return rc;
        snprintf(kname, sizeof kname, "%s.%s", d->v.table, d->v.name);
        key_ctx k = {rd->file, kname, sel->keys_line, &base->training, rd->e};
        rc = d->set(base, &k, toml_get(doc, "v"));
        toml_free(doc);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- resolution ------------------------------------------------------------------------- */

/* Architectures already proved to fit, so that net_plan runs once per distinct one. */
#define EXP_SHAPE_CACHE 32
typedef struct exp_shape_cache {
    int n;
    struct {
        layer_spec layers[MODELS_MAX_LAYERS];
        int n_layers, c, h, w, classes;
    } item[EXP_SHAPE_CACHE];
} exp_shape_cache;

static bool exp_same_layers(const layer_spec *a, const layer_spec *b, int n)
{
    for (int i = 0; i < n; i++) {
        if (a[i].kind != b[i].kind || a[i].filters != b[i].filters || a[i].size != b[i].size ||
            a[i].stride != b[i].stride || a[i].pad != b[i].pad || a[i].units != b[i].units ||
            a[i].ratio != b[i].ratio)
            return false;
    }
    return true;
}

/* Prove r's layers fit its input shape and classes by planning the network (net_plan, batch
 * 1: the checks net_new makes, nothing allocated but its layer table). A model that does not
 * fit is blamed on where the file chose it, else (the default preset) on the idx: shape key
 * that set the input it does not fit; running out of memory on none. Whether the run fits the
 * machine's memory is the runner's to check, once the data is known (runner.c). */
static int exp_check_shapes(exp_shape_cache *sc, const run_spec *r, const exp_cfg *c,
                            const exp_reader *rd)
{
    for (int i = 0; i < sc->n; i++) {
        if (sc->item[i].n_layers == r->n_layers && sc->item[i].c == r->channels &&
            sc->item[i].h == r->height && sc->item[i].w == r->width &&
            sc->item[i].classes == r->classes &&
            exp_same_layers(sc->item[i].layers, r->layers, r->n_layers))
            return 0;
    }
    net_config nc = net_config_default();
    nc.c = r->channels;
    nc.h = r->height;
    nc.w = r->width;
    nc.classes = r->classes;
    nc.max_batch = 1;
    nc.init = r->init;
    nc.init_std = r->init_std;
    net_sizes sizes;
    int rc = net_plan(&sizes, &nc, r->layers, r->n_layers, rd->e);
    if (rc == ERR_NOMEM) /* not a fault of the file: no key is blamed (issue 18.11) */
        return err_set(rd->e, ERR_NOMEM,
                       "%s: out of memory planning the network to check its shapes (input "
                       "%dx%dx%d, %d classes)",
                       rd->file, r->channels, r->height, r->width, r->classes);
    if (rc) {
        key_ctx k = {rd->file, "model.preset", 1, NULL, rd->e};
        if (c->model_line) {
            k.key = c->model_key;
            k.line = c->model_line;
        } else if (c->idx_line) {
            k.key = c->idx_key;
            k.line = c->idx_line;
        }
        char old[ERR_MSG_MAX];
        memcpy(old, rd->e->msg, sizeof old);
        exp_key_err(&k, "%s (input %dx%dx%d, %d classes)", old, r->channels, r->height, r->width,
                    r->classes);
        return rc;
    }
    if (sc->n < EXP_SHAPE_CACHE) {
        memcpy(sc->item[sc->n].layers, r->layers, sizeof r->layers);
        sc->item[sc->n].n_layers = r->n_layers;
        sc->item[sc->n].c = r->channels;
        sc->item[sc->n].h = r->height;
        sc->item[sc->n].w = r->width;
        sc->item[sc->n].classes = r->classes;
        sc->n++;
    }
    return 0;
}

/* r <- the run that configuration c describes (label and index are the caller's). */
static int exp_resolve(run_spec *r, const exp_cfg *c, exp_shape_cache *sc, const exp_reader *rd)
{
    memset(r, 0, sizeof *r);
    memcpy(r->dataset, c->dataset, sizeof r->dataset);
    r->validation = c->validation;
    const data_spec *ds = data_find(c->dataset);
    if (ds) {
        /* Registered data sets are 28x28 grey images (MNIST's format). */
        r->classes = ds->classes;
        r->channels = 1;
        r->height = 28;
        r->width = 28;
    } else {
        r->classes = c->classes;
        r->channels = c->channels;
        r->height = c->height;
        r->width = c->width;
    }

    memcpy(r->model, c->model, sizeof r->model);
    r->bn = c->bn;
    if (c->custom) {
        for (int i = 0; i < c->n_layers; i++) {
            if (!c->bn && c->layers[i].kind == LAYER_BN)
                continue;
            r->layers[r->n_layers] = c->layers[i];
            if (r->layers[r->n_layers].kind == LAYER_AFFINE && r->layers[r->n_layers].units == 0)
                r->layers[r->n_layers].units = r->classes;
            r->n_layers++;
        }
    } else {
        const model_preset *p;
        int rc = models_find(&p, c->model, rd->e);
        assert(rc == 0); /* checked by set_preset */
        (void)rc;
        r->n_layers = models_layers(r->layers, MODELS_MAX_LAYERS, p, r->classes, c->bn);
    }
    r->init = c->init;
    r->init_std = (float)c->init_std;
    r->num.init_std = c->init_std;

    r->epochs = c->epochs;
    r->train = train_config_default();
    r->train.batch = c->batch;
    r->train.sampling = c->sampling;
    r->train.iters_per_epoch = c->iterations;
    r->train.schedule = c->schedule;
    r->train.epochs = c->epochs;
    r->train.augment_shift = c->augment_shift;
    if (c->augment_shift >= r->height || c->augment_shift >= r->width) {
        key_ctx k = {rd->file, "training.augment_shift", c->augment_line ? c->augment_line : 1,
                     NULL, rd->e};
        return exp_key_err(&k, "must be less than the %dx%d image (got %d)", r->height, r->width,
                           c->augment_shift);
    }
    r->train.augment = c->augment;
    r->train.seed = (uint64_t)c->seed;
    optim_config o = optim_defaults(c->optimizer);
    if (c->optimizer == OPTIM_MOMENTUM)
        o.lr = 0.1f; /* the paper's learning rate; the textbook's default would be 0.01 */
    /* The parameters in OP_ order: the float the optimizer uses and the double reports print
     * (a default's double is its float's shortest decimal: 0.9f -> 0.9). */
    float *fv[OP_COUNT] = {&o.lr, &o.momentum, &o.beta1, &o.beta2, &o.decay_rate,
                           &o.weight_decay};
    double *dv[OP_COUNT] = {&r->num.lr, &r->num.momentum, &r->num.beta1, &r->num.beta2,
                            &r->num.decay_rate, &r->num.weight_decay};
    for (int p = 0; p < OP_COUNT; p++) {
        char buf[32];
        exp_fmt_float(buf, sizeof buf, *fv[p]);
        *dv[p] = strtod(buf, NULL);
    }
    const oparams *levels[3] = {&c->training, &c->per_opt[c->optimizer], &c->sweep};
    for (int l = 0; l < 3; l++)
        for (int p = 0; p < OP_COUNT; p++)
            if (levels[l]->set[p]) {
                *fv[p] = (float)levels[l]->v[p];
                *dv[p] = levels[l]->v[p];
            }
    r->train.optim = o;
    /* Every parameter was checked as the float it becomes where it was given (set_oparam), at
     * its own line. */
    int valid = optim_config_validate(&o, rd->e);
    assert(valid == 0);
    (void)valid;
    r->threads = c->threads;
    r->eval_train_n = c->eval_train;
    r->eval_test_n = c->eval_test;
    return exp_check_shapes(sc, r, c, rd);
}

/* Append "key=value" for one swept value to a label, spelled as the vocabulary spells the
 * key's values (a swept lr = 1 is the number 1, as the run's configuration holds it). */
static void exp_label_add(char *label, size_t n, const exp_key *d, const toml_value *v)
{
    exp_value x = {.type = d->v.type};
    switch (toml_type_of(v)) {
    case TOML_STRING: snprintf(x.s, sizeof x.s, "%s", toml_string(v)); break;
    case TOML_BOOL: x.b = toml_bool(v); break;
    case TOML_FLOAT: x.d = toml_float(v); break;
    default: /* an integer, for an int or a number key */
        x.i = toml_integer(v);
        x.d = (double)x.i;
        break;
    }
    exp_label_append(label, n, d->v.label, &x);
}

/* ---- public API ------------------------------------------------------------------------- */

void exp_release(experiment *x)
{
    if (!x)
        return;
    free(x->text);
    free(x->runs);
    memset(x, 0, sizeof *x);
}

/* The default experiment name: the file's base name without its extension. */
static void exp_base_name(char *out, size_t n, const char *filename)
{
    const char *b = strrchr(filename, '/');
    b = b ? b + 1 : filename;
    const char *dot = strrchr(b, '.');
    size_t len = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    if (len >= n)
        len = n - 1;
    memcpy(out, b, len);
    out[len] = '\0';
}

/* *n_runs <- the size of the grid of axes, without overflow; a sweep of more than
 * EXP_MAX_RUNS runs is an error at the [sweep] line. */
static int exp_grid_size(int64_t *n_runs, const exp_axis *axes, int n_axes,
                         const toml_value *root, const char *filename, err_info *e)
{
    *n_runs = 1;
    for (int a = 0; a < n_axes; a++) {
        int64_t len_a = (int64_t)toml_len(axes[a].values);
        if (*n_runs <= EXP_MAX_RUNS / len_a) {
            *n_runs *= len_a;
            continue;
        }
        int64_t total = 1;
        bool huge = false;
        for (int b = 0; b < n_axes; b++) {
            int64_t lb = (int64_t)toml_len(axes[b].values);
            if (total > INT64_MAX / lb)
                huge = true;
            else
                total *= lb;
        }
        long sweep_line = toml_find(root, "sweep");
        key_ctx k = {filename, "sweep", toml_key_line(root, (size_t)sweep_line), NULL, e};
        return huge ? exp_key_err(&k, "the sweep has too many runs (limit %d)", EXP_MAX_RUNS)
                    : exp_key_err(&k, "the sweep has %" PRId64 " runs (limit %d)", total,
                                  EXP_MAX_RUNS);
    }
    return 0;
}

/* out->runs <- the n_runs points of the grid of axes over base, resolved and labelled (the
 * first axis varies slowest); [data] shape keys without an idx: data set are an error. */
static int exp_expand(experiment *out, const exp_cfg *base, const exp_axis *axes, int n_axes,
                      exp_shape_cache *sc, const exp_reader *rd, int64_t n_runs)
{
    out->runs = calloc((size_t)n_runs, sizeof *out->runs);
    if (!out->runs)
        return err_set(rd->e, ERR_NOMEM, "%s: out of memory expanding %" PRId64 " runs", rd->file,
                       n_runs);
    bool any_idx = false;
    for (int64_t i = 0; i < n_runs; i++) {
        /* Digits of i in the mixed radix of the axis lengths, the last axis fastest. */
        size_t digit[EXP_MAX_SWEPT];
        int64_t rest = i;
        for (int a = n_axes - 1; a >= 0; a--) {
            int64_t len_a = (int64_t)toml_len(axes[a].values);
            digit[a] = (size_t)(rest % len_a);
            rest /= len_a;
        }
        exp_cfg c = *base;
        char label[EXP_TEXT_MAX] = "";
        for (int a = 0; a < n_axes; a++) {
            const toml_value *v = toml_value_at(axes[a].values, digit[a]);
            key_ctx k = {rd->file, axes[a].key, toml_line(v), &c.sweep, rd->e};
            int rc = axes[a].def->set(&c, &k, v);
            assert(rc == 0); /* every value was checked by exp_add_axis */
            (void)rc;
            exp_label_add(label, sizeof label, axes[a].def, v);
        }
        run_spec *r = &out->runs[i];
        int rc = exp_resolve(r, &c, sc, rd);
        if (rc)
            return rc;
        r->index = (int)i;
        memcpy(r->label, label, sizeof r->label);
        any_idx = any_idx || strncmp(r->dataset, "idx:", 4) == 0;
        out->n_runs = (int)i + 1;
    }
    if (base->idx_line && !any_idx) {
        key_ctx k = {rd->file, base->idx_key, base->idx_line, NULL, rd->e};
        return exp_key_err(&k, "only for 'idx:' data sets (the registered ones know their shape)");
    }
    return 0;
}


/* exp_parse, with values (NULL: none) for the [select] keys (exp_apply_select). */
static int exp_parse_with(experiment *out, const char *text, size_t len, const char *filename,
                          const exp_value *values, err_info *e)
{
    memset(out, 0, sizeof *out);
    if (!filename)
        filename = "<input>";
    exp_reader rd = {filename, e};
    toml_value *root = NULL;
    exp_cfg *base = NULL;
    exp_shape_cache *sc = NULL;
    exp_axis axes[EXP_MAX_SWEPT];
    int n_axes = 0;
    int rc;

    snprintf(out->file, sizeof out->file, "%s", filename);
    out->text = malloc(len + 1);
    base = malloc(sizeof *base);
    sc = calloc(1, sizeof *sc);
    if (!out->text || !base || !sc) {
        rc = err_set(e, ERR_NOMEM, "out of memory reading '%s'", filename);
        goto done;
    }
    memcpy(out->text, text, len);
    out->text[len] = '\0';
    out->text_len = len;
    sha256_hex(out->sha256, text, len);

    rc = toml_parse(&root, text, len, filename, e);
    if (rc)
        goto done;

    exp_cfg_default(base);
    const toml_value *sweep = NULL, *select = NULL;
    int select_line = 0;
    for (size_t i = 0; i < toml_len(root); i++) {
        const char *name = toml_key_at(root, i);
        const toml_value *t = toml_value_at(root, i);
        int line = toml_key_line(root, i);
        size_t j = 0;
        while (j < EXP_N_TABLES && strcmp(exp_tables[j], name) != 0)
            j++;
        if (j == EXP_N_TABLES) {
            rc = err_set(e, ERR_INVALID,
                         "%s:%d: unknown %s '%.100s' (valid tables: experiment, data, model, "
                         "training, evaluation, budget, optimizer, sweep, select)",
                         filename, line, toml_type_of(t) == TOML_TABLE ? "table" : "key", name);
            goto done;
        }
        if (toml_type_of(t) != TOML_TABLE) {
            key_ctx k = {filename, name, line, NULL, e};
            rc = exp_bad_value(&k, t, "a table");
            goto done;
        }
        if (strcmp(name, "optimizer") == 0)
            rc = exp_read_optimizers(base, &rd, t);
        else if (strcmp(name, "sweep") == 0)
            sweep = t; /* read after the base configuration is complete */
        else if (strcmp(name, "select") == 0) {
            select = t; /* read once the sweep is known */
            select_line = line;
        } else
            rc = exp_read_table(base, &rd, name, t);
        if (rc)
            goto done;
    }
    if (sweep && (rc = exp_read_sweep(axes, &n_axes, base, &rd, sweep)))
        goto done;
    exp_select_ctx selc = {&rd, root, axes, n_axes};
    if (select && (rc = exp_read_select(&out->select, &selc, select, select_line, base, values)))
        goto done;

    /* The grid's size from the arrays' lengths alone, before any value is looked at: a sweep
     * over the limit costs nothing however many values it lists. */
    int64_t n_runs = 1;
    if ((rc = exp_grid_size(&n_runs, axes, n_axes, root, filename, e)))
        goto done;
    for (int a = 0; a < n_axes; a++)
        if ((rc = exp_check_axis(&axes[a], base, &rd)))
            goto done;

    if (base->name[0])
        memcpy(out->name, base->name, sizeof out->name);
    else
        exp_base_name(out->name, sizeof out->name, filename);
    if (exp_control_char(out->name)) {
        rc = err_set(e, ERR_INVALID, "the experiment file's name, the default experiment name, "
                                     "contains control characters: give [experiment] name");
        goto done;
    }
    if (out->select.on && strcmp(out->select.from, out->name) == 0) {
        rc = err_set(e, ERR_INVALID, "%s:%d: key 'select.from': '%s' is this experiment: the "
                     "runs that decide must be another experiment's", filename,
                     out->select.from_line, out->name);
        goto done;
    }
    memcpy(out->description, base->description, sizeof out->description);
    out->budget_minutes = base->budget_minutes;
    out->target_accuracy = base->target_accuracy;
    out->n_swept = n_axes;
    for (int a = 0; a < n_axes; a++)
        snprintf(out->swept[a], sizeof out->swept[a], "%s", axes[a].def->v.label);

    if ((rc = exp_expand(out, base, axes, n_axes, sc, &rd, n_runs)))
        goto done;
    rc = 0;

done:
    toml_free(root);
    free(base);
    free(sc);
    if (rc)
        exp_release(out);
    return rc;
}

int exp_parse(experiment *out, const char *text, size_t len, const char *filename, err_info *e)
{
    return exp_parse_with(out, text, len, filename, NULL, e);
}

int exp_apply_select(experiment *out, const experiment *x, const exp_value *values, err_info *e)
{
    assert(x->select.on);
    return exp_parse_with(out, x->text, x->text_len, x->file, values, e);
}

int exp_load(experiment *out, const char *path, err_info *e)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(e, ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    /* Read at most EXP_FILE_MAX bytes and one more, which tells a file over the limit (a
     * device such as /dev/zero, a FIFO, a file grown while read) without reading it all. */
    char *buf = malloc(EXP_FILE_MAX + 1);
    size_t len = 0;
    int rc = 0;
    if (!buf) {
        rc = err_set(e, ERR_NOMEM, "out of memory reading '%s'", path);
        goto done;
    }
    while (len < EXP_FILE_MAX + 1) {
        size_t got = fread(buf + len, 1, EXP_FILE_MAX + 1 - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        rc = err_set(e, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    else if (len > EXP_FILE_MAX)
        rc = err_set(e, ERR_INVALID, "'%s' is larger than %d MiB: not an experiment file",
                     path, EXP_FILE_MAX >> 20);
    else
        rc = exp_parse(out, buf, len, path, e);
done:
    free(buf);
    fclose(f);
    return rc;
}

/* A float as the JSON number of its shortest round-tripping decimal: printed with
 * JSON_REAL_PRECISION(9) it reads back (as a float) exactly, and 0.1f prints as 0.1. */
static json_t *exp_json_float(float f)
{
    char buf[32];
    exp_fmt_float(buf, sizeof buf, f);
    return json_real(strtod(buf, NULL));
}

/* Canonical stride: 0 means 1 for conv and `size` for pools (net.h). */
static int exp_stride(const layer_spec *l)
{
    if (l->stride)
        return l->stride;
    return l->kind == LAYER_CONV ? 1 : l->size;
}

/* The canonical configuration of r as a JSON object (new reference), NULL when out of memory. */
static json_t *exp_run_object(const run_spec *r)
{
    json_t *layers = json_array();
    json_t *opt = NULL, *root = NULL, *aug = NULL;
    if (!layers)
        goto done;
    for (int i = 0; i < r->n_layers; i++) {
        const layer_spec *l = &r->layers[i];
        const char *type = layer_kind_name(l->kind);
        json_t *j;
        switch (l->kind) {
        case LAYER_CONV:
            j = json_pack("{s:s, s:i, s:i, s:i, s:i}", "type", type, "filters", l->filters,
                          "size", l->size, "stride", exp_stride(l), "pad", l->pad);
            break;
        case LAYER_MAXPOOL:
        case LAYER_AVGPOOL:
            j = json_pack("{s:s, s:i, s:i}", "type", type, "size", l->size, "stride",
                          exp_stride(l));
            break;
        case LAYER_AFFINE:
            j = json_pack("{s:s, s:i}", "type", type, "units", l->units);
            break;
        case LAYER_DROPOUT:
            j = json_pack("{s:s, s:o}", "type", type, "ratio", exp_json_float(l->ratio));
            break;
        default:
            j = json_pack("{s:s}", "type", type);
            break;
        }
        if (!j || json_array_append_new(layers, j))
            goto done;
    }
    /* Only the parameters the optimizer reads, so that an unused [training] momentum under
     * Adam does not change the run key. */
    const optim_config *o = &r->train.optim;
    opt = json_pack("{s:s, s:o, s:o}", "kind", optim_kind_name(o->kind), "lr",
                    exp_json_float(o->lr), "weight_decay", exp_json_float(o->weight_decay));
    if (!opt)
        goto done;
    int rc = 0;
    if (exp_oparam_used[o->kind][OP_MOMENTUM])
        rc |= json_object_set_new(opt, "momentum", exp_json_float(o->momentum));
    if (exp_oparam_used[o->kind][OP_BETA1])
        rc |= json_object_set_new(opt, "beta1", exp_json_float(o->beta1));
    if (exp_oparam_used[o->kind][OP_BETA2])
        rc |= json_object_set_new(opt, "beta2", exp_json_float(o->beta2));
    if (exp_oparam_used[o->kind][OP_DECAY_RATE])
        rc |= json_object_set_new(opt, "decay_rate", exp_json_float(o->decay_rate));
    if (rc)
        goto done;
    root = json_pack("{s:i, s:s, s:I, s:i, s:[i,i,i], s:s, s:b, s:O, s:s, s:i, s:i, s:s, s:i,"
                     " s:O, s:I, s:i, s:I, s:I}",
                     "format", 1, "dataset", r->dataset, "validation", (json_int_t)r->validation,
                     "classes", r->classes, "input", r->channels, r->height, r->width, "model",
                     r->model, "bn", (int)r->bn, "layers", layers, "init", init_kind_name(r->init),
                     "epochs", r->epochs, "batch", r->train.batch, "sampling",
                     sampling_kind_name(r->train.sampling), "iterations",
                     r->train.iters_per_epoch, "optimizer", opt, "seed",
                     (json_int_t)r->train.seed, "threads", r->threads, "eval_train_n",
                     (json_int_t)r->eval_train_n, "eval_test_n", (json_int_t)r->eval_test_n);
    if (!root)
        goto done;
    /* The std matters only to the normal scheme. */
    if (r->init == INIT_NORMAL && json_object_set_new(root, "init_std", exp_json_float(r->init_std)))
        goto done;
    if (json_object_set_new(root, "lr_schedule", json_string(lr_schedule_name(r->train.schedule))) ||
        json_object_set_new(root, "augment_shift", json_integer(r->train.augment_shift)))
        goto done;
    /* The distortions, always (a sweep's 0 is a value like any other); sigma shapes only an
     * elastic field, so it is there only when alpha is on. */
    const augment_config *a = &r->train.augment;
    aug = json_pack("{s:o, s:o, s:o, s:o}", "rotate_deg", exp_json_float(a->rotate_deg),
                    "scale", exp_json_float(a->scale), "shear", exp_json_float(a->shear),
                    "elastic_alpha", exp_json_float(a->elastic_alpha));
    if (!aug || (a->elastic_alpha > 0.0f &&
                 json_object_set_new(aug, "elastic_sigma", exp_json_float(a->elastic_sigma))))
        goto done;
    int set = json_object_set_new(root, "augment", aug); /* steals aug, even on failure */
    aug = NULL;
    if (set)
        goto done;
    json_decref(opt);
    json_decref(layers);
    return root;
done:
    json_decref(aug);
    json_decref(root);
    json_decref(opt);
    json_decref(layers);
    return NULL;
}

char *exp_run_json(const run_spec *r)
{
    json_t *root = exp_run_object(r);
    char *s = root ? json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(9))
                   : NULL;
    json_decref(root);
    return s;
}

int exp_json_key(char out[65], const char *config_json, const char *dataset_id,
                   const char *build_identity, err_info *e)
{
    out[0] = '\0';
    const char *d = dataset_id ? dataset_id : "";
    const char *b = build_identity ? build_identity : "";
    size_t lj = strlen(config_json), ld = strlen(d), lb = strlen(b);
    char *buf = malloc(lj + ld + lb + 3);
    if (!buf)
        return err_set(e, ERR_NOMEM, "out of memory computing a run key");
    /* json \n dataset_id \n build_identity: none of the parts can contain the other's text
     * in a way that shifts a newline, since the JSON is compact (no raw newlines) and the
     * data set id is hex. */
    memcpy(buf, config_json, lj);
    buf[lj] = '\n';
    memcpy(buf + lj + 1, d, ld);
    buf[lj + 1 + ld] = '\n';
    memcpy(buf + lj + 2 + ld, b, lb);
    sha256_hex(out, buf, lj + ld + lb + 2);
    free(buf);
    return 0;
}

int exp_run_key(char out[65], const run_spec *r, const char *dataset_id, const char *build_identity,
                err_info *e)
{
    out[0] = '\0';
    char *json = exp_run_json(r);
    if (!json)
        return err_set(e, ERR_NOMEM, "out of memory writing the configuration of run %d", r->index);
    int rc = exp_json_key(out, json, dataset_id, build_identity, e);
    free(json);
    return rc;
}

/* ---- the vocabulary ------------------------------------------------------------------ */

int exp_vocab_count(void)
{
    int n = 0;
    for (size_t i = 0; i < EXP_N_KEYS; i++)
        n += exp_keys[i].v.json != NULL;
    return n;
}

/* The i-th configuration key of the table (the keys with a JSON path), NULL past the end. */
static const exp_key *exp_config_key(int i)
{
    for (size_t j = 0; j < EXP_N_KEYS; j++)
        if (exp_keys[j].v.json && i-- == 0)
            return &exp_keys[j];
    return NULL;
}

const exp_vocab_key *exp_vocab_at(int i)
{
    const exp_key *k = exp_config_key(i);
    return k ? &k->v : NULL;
}

/* The table row of configuration key called name (label, TOML path or JSON path). */
static const exp_key *exp_vocab_row(const char *name)
{
    for (size_t i = 0; i < EXP_N_KEYS; i++) {
        const exp_vocab_key *k = &exp_keys[i].v;
        if (k->json && (strcmp(k->label, name) == 0 || strcmp(k->json, name) == 0 ||
                        exp_is_path(k, name)))
            return &exp_keys[i];
    }
    return NULL;
}

const exp_vocab_key *exp_vocab_find(const char *name)
{
    const exp_key *k = exp_vocab_row(name);
    return k ? &k->v : NULL;
}

void exp_vocab_labels(char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < exp_vocab_count(); i++) {
        int w = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", exp_vocab_at(i)->label);
        if (w < 0 || (size_t)w >= n - used)
            return;
        used += (size_t)w;
    }
}

void exp_value_format(char *buf, size_t n, const exp_value *v)
{
    switch (v->type) {
    case EXP_INT: snprintf(buf, n, "%" PRId64, v->i); break;
    case EXP_NUM: exp_format_number(buf, n, v->d); break;
    case EXP_BOOL: snprintf(buf, n, "%s", v->b ? "true" : "false"); break;
    case EXP_STR:
    case EXP_LAYERS: snprintf(buf, n, "%s", v->s); break;
    default: snprintf(buf, n, "-"); break;
    }
}

void exp_label_append(char *buf, size_t n, const char *label, const exp_value *v)
{
    char val[EXP_TEXT_MAX];
    exp_value_format(val, sizeof val, v);
    size_t used = strlen(buf);
    if (used + 4 >= n)
        return;
    /* A label longer than the buffer (long idx: paths) is cut and ends in "..."; testing the
     * result also tells gcc the truncation is handled. */
    int w = snprintf(buf + used, n - used, "%s%s=%s", used ? " " : "", label, val);
    if (w < 0 || (size_t)w >= n - used)
        memcpy(buf + n - 4, "...", 4);
}

json_t *exp_value_json(const exp_value *v)
{
    switch (v->type) {
    case EXP_INT: return json_integer((json_int_t)v->i);
    case EXP_NUM: return isfinite(v->d) ? json_real(v->d) : json_null();
    case EXP_BOOL: return json_boolean(v->b);
    case EXP_STR:
    case EXP_LAYERS: return json_string(v->s);
    default: return json_null();
    }
}

bool exp_value_equal(const exp_value *a, const exp_value *b)
{
    bool na = a->type == EXP_INT || a->type == EXP_NUM, nb = b->type == EXP_INT || b->type == EXP_NUM;
    if (na && nb)
        return (a->type == EXP_INT ? (double)a->i : a->d) == (b->type == EXP_INT ? (double)b->i : b->d);
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case EXP_BOOL: return a->b == b->b;
    case EXP_STR:
    case EXP_LAYERS: return strcmp(a->s, b->s) == 0;
    default: return true; /* both absent */
    }
}

/* Append one layer of a configuration's layer list to buf: "conv30x5" (stride s and pad p when
 * not 1 and 0: "conv6x5p2"), "maxpool2" (stride when not the size), "affine100",
 * "dropout0.5", else the type. */
static void exp_layer_summary(char *buf, size_t n, const json_t *l)
{
    const char *type = json_string_value(json_object_get(l, "type"));
    long long size = json_integer_value(json_object_get(l, "size"));
    long long stride = json_integer_value(json_object_get(l, "stride"));
    char part[96], ratio[32];
    if (!type)
        type = "?";
    if (strcmp(type, "conv") == 0) {
        long long pad = json_integer_value(json_object_get(l, "pad"));
        int w = snprintf(part, sizeof part, "conv%lldx%lld",
                         json_integer_value(json_object_get(l, "filters")), size);
        if (stride != 1 && w > 0 && (size_t)w < sizeof part)
            w += snprintf(part + w, sizeof part - (size_t)w, "s%lld", stride);
        if (pad != 0 && w > 0 && (size_t)w < sizeof part)
            snprintf(part + w, sizeof part - (size_t)w, "p%lld", pad);
    } else if (strcmp(type, "maxpool") == 0 || strcmp(type, "avgpool") == 0) {
        if (stride == size)
            snprintf(part, sizeof part, "%s%lld", type, size);
        else
            snprintf(part, sizeof part, "%s%llds%lld", type, size, stride);
    } else if (strcmp(type, "affine") == 0) {
        snprintf(part, sizeof part, "affine%lld", json_integer_value(json_object_get(l, "units")));
    } else if (strcmp(type, "dropout") == 0) {
        exp_format_number(ratio, sizeof ratio, json_number_value(json_object_get(l, "ratio")));
        snprintf(part, sizeof part, "dropout%s", ratio);
    } else {
        snprintf(part, sizeof part, "%.60s", type);
    }
    size_t used = strlen(buf);
    snprintf(buf + used, n - used, "%s%s", used ? "-" : "", part);
}

/* The JSON value at a dotted path ("optimizer.lr", "input.0": digits index an array). */
static const json_t *exp_json_at(const json_t *cfg, const char *path)
{
    const json_t *v = cfg;
    char part[64];
    while (v && *path) {
        size_t len = strcspn(path, ".");
        if (len >= sizeof part)
            return NULL;
        memcpy(part, path, len);
        part[len] = '\0';
        if (json_is_array(v) && part[0] >= '0' && part[0] <= '9')
            v = json_array_get(v, (size_t)strtoul(part, NULL, 10));
        else
            v = json_is_object(v) ? json_object_get(v, part) : NULL;
        path += len + (path[len] == '.');
    }
    return v;
}

void exp_value_from_json(exp_value *out, const exp_vocab_key *k, const json_t *cfg)
{
    const json_t *v = exp_json_at(cfg, k->json);
    out->type = EXP_NONE;
    out->s[0] = '\0';
    if (!v)
        return;
    switch (k->type) {
    case EXP_INT:
    case EXP_NUM:
        if (!json_is_number(v))
            return;
        out->i = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
        out->d = json_number_value(v);
        break;
    case EXP_BOOL:
        if (!json_is_boolean(v))
            return;
        out->b = json_is_true(v);
        break;
    case EXP_STR:
        if (!json_is_string(v))
            return;
        snprintf(out->s, sizeof out->s, "%s", json_string_value(v));
        break;
    case EXP_LAYERS:
        if (!json_is_array(v))
            return;
        for (size_t i = 0; i < json_array_size(v); i++)
            exp_layer_summary(out->s, sizeof out->s, json_array_get(v, i));
        break;
    default: return;
    }
    out->type = k->type;
}

void exp_value_from_stored(exp_value *out, const json_t *v)
{
    *out = (exp_value){.type = EXP_NONE};
    if (json_is_integer(v)) {
        out->type = EXP_INT;
        out->i = (int64_t)json_integer_value(v);
        out->d = (double)out->i;
    } else if (json_is_real(v)) {
        out->type = EXP_NUM;
        out->d = json_real_value(v);
    } else if (json_is_boolean(v)) {
        out->type = EXP_BOOL;
        out->b = json_is_true(v);
    } else if (json_is_string(v)) {
        out->type = EXP_STR;
        snprintf(out->s, sizeof out->s, "%s", json_string_value(v));
    }
}

int exp_run_values(exp_value *out, const run_spec *r, const exp_vocab_key *const *keys, int n,
                   err_info *e)
{
    json_t *cfg = exp_run_object(r);
    if (!cfg)
        return err_set(e, ERR_NOMEM, "out of memory describing run %d", r->index);
    for (int i = 0; i < n; i++) {
        const exp_key *k = exp_vocab_row(keys[i]->label);
        exp_value_from_json(&out[i], keys[i], cfg);
        if (k && k->num >= 0 && out[i].type == EXP_NUM) /* the file's double, not the float's */
            memcpy(&out[i].d, (const char *)&r->num + k->num, sizeof out[i].d);
    }
    json_decref(cfg);
    return 0;
}

/* A growing text buffer for the compact JSON the store keeps. */
typedef struct exp_buf {
    char *s;
    size_t len, cap;
    bool oom;
} exp_buf;

static void exp_buf_add(exp_buf *b, const char *t)
{
    size_t n = strlen(t);
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 128;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, t, n + 1);
    b->len += n;
}

/* Append v as compact JSON: a string quoted and escaped, a number as the shortest decimal
 * (with ".0" when it looks like an integer, so that it reads back as a real). */
static void exp_buf_value(exp_buf *b, const exp_value *v)
{
    char num[64];
    if (v->type == EXP_NUM && isfinite(v->d)) {
        exp_format_number(num, sizeof num, v->d);
        exp_buf_add(b, num);
        if (!strpbrk(num, ".e"))
            exp_buf_add(b, ".0");
        return;
    }
    json_t *j = exp_value_json(v);
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    if (t)
        exp_buf_add(b, t);
    else
        b->oom = true;
    free(t);
    json_decref(j);
}

/* The buffer's text (the caller frees), or NULL when it ran out of memory. */
static char *exp_buf_take(exp_buf *b)
{
    if (b->oom) {
        free(b->s);
        return NULL;
    }
    return b->s;
}

char *exp_swept_json(const experiment *x)
{
    exp_buf b = {0};
    exp_buf_add(&b, "[");
    for (int i = 0; i < x->n_swept; i++) {
        exp_value v = {.type = EXP_STR};
        snprintf(v.s, sizeof v.s, "%s", x->swept[i]);
        exp_buf_add(&b, i ? "," : "");
        exp_buf_value(&b, &v);
    }
    exp_buf_add(&b, "]");
    return exp_buf_take(&b);
}

char *exp_run_swept_json(const experiment *x, const run_spec *r)
{
    const exp_vocab_key *keys[EXP_MAX_SWEPT];
    exp_value *v = malloc(EXP_MAX_SWEPT * sizeof *v);
    exp_buf b = {0};
    for (int i = 0; i < x->n_swept; i++)
        keys[i] = exp_vocab_find(x->swept[i]);
    if (!v || exp_run_values(v, r, keys, x->n_swept, NULL)) {
        free(v);
        return NULL;
    }
    exp_buf_add(&b, "[");
    for (int i = 0; i < x->n_swept; i++) {
        exp_buf_add(&b, i ? "," : "");
        exp_buf_value(&b, &v[i]);
    }
    exp_buf_add(&b, "]");
    free(v);
    return exp_buf_take(&b);
}

/* The keys of a summary and whether each shows always or only away from the paper's value. */
static const struct {
    const char *label;
    const char *paper; /* NULL: always shown; else shown when the value prints otherwise */
} exp_summary_keys[] = {
    {"model", NULL},        {"bn", NULL},           {"optimizer", NULL},
    {"lr", NULL},           {"batch", NULL},        {"epochs", NULL},
    {"seed", NULL},         {"weight_decay", "0"},  {"lr_schedule", "constant"},
    {"augment_shift", "0"}, {"augment_rotate", "0"}, {"augment_scale", "0"},
    {"augment_shear", "0"}, {"augment_elastic_alpha", "0"}, {"augment_elastic_sigma", "4"},
    {"dataset", "mnist"},
};

void exp_run_summary(char *buf, size_t n, const run_spec *r)
{
    enum { N = sizeof exp_summary_keys / sizeof exp_summary_keys[0] };
    const exp_vocab_key *keys[N];
    exp_value *v = malloc(N * sizeof *v);
    buf[0] = '\0';
    for (int i = 0; i < N; i++)
        keys[i] = exp_vocab_find(exp_summary_keys[i].label);
    if (!v || exp_run_values(v, r, keys, N, NULL)) {
        snprintf(buf, n, "run %d", r->index + 1); /* out of memory: a summary still */
        free(v);
        return;
    }
    for (int i = 0; i < N; i++) {
        char text[EXP_TEXT_MAX];
        exp_value_format(text, sizeof text, &v[i]);
        if (v[i].type == EXP_NONE) /* does not apply to this run (sigma without alpha) */
            continue;
        if (!exp_summary_keys[i].paper || strcmp(text, exp_summary_keys[i].paper) != 0)
            exp_label_append(buf, n, keys[i]->label, &v[i]);
    }
    free(v);
}

void exp_label_from_stored(char *buf, size_t n, const char *swept_json, const char *values_json)
{
    buf[0] = '\0';
    json_t *keys = swept_json ? json_loads(swept_json, 0, NULL) : NULL;
    json_t *vals = values_json ? json_loads(values_json, 0, NULL) : NULL;
    for (size_t i = 0; json_is_array(keys) && i < json_array_size(keys); i++) {
        exp_value v;
        exp_value_from_stored(&v, json_array_get(vals, i));
        const char *label = json_string_value(json_array_get(keys, i));
        if (label)
            exp_label_append(buf, n, label, &v);
    }
    json_decref(keys);
    json_decref(vals);
}

int exp_value_parse(exp_value *out, const exp_vocab_key *k, const char *text, err_info *e)
{
    *out = (exp_value){.type = k->type};
    char *end = NULL;
    bool ok = text[0] != '\0';
    switch (k->type) {
    case EXP_INT:
        out->i = strtoll(text, &end, 10);
        ok = ok && *end == '\0';
        break;
    case EXP_NUM:
        out->d = strtod(text, &end);
        ok = ok && *end == '\0' && isfinite(out->d);
        break;
    case EXP_BOOL:
        ok = strcasecmp(text, "true") == 0 || strcasecmp(text, "false") == 0;
        out->b = strcasecmp(text, "true") == 0;
        break;
    default: snprintf(out->s, sizeof out->s, "%s", text); break;
    }
    if (!ok)
        return err_set(e, ERR_INVALID, "key '%s': '%s' is not %s", k->label, text,
                       k->type == EXP_BOOL  ? "true or false"
                       : k->type == EXP_INT ? "a whole number"
                                            : "a number");
    return 0;
}

bool exp_value_matches(const exp_value *v, const exp_value *want)
{
    if ((v->type == EXP_STR || v->type == EXP_LAYERS) && v->type == want->type)
        return strcasecmp(v->s, want->s) == 0;
    if (v->type == EXP_NUM && want->type == EXP_NUM && (float)v->d == (float)want->d)
        return true;
    return exp_value_equal(v, want);
}

int exp_where_parse(exp_where *out, const char *text, err_info *e)
{
    const char *eq = strchr(text, '=');
    char name[128];
    if (!eq || eq == text || (size_t)(eq - text) >= sizeof name)
        return err_set(e, ERR_INVALID, "'%s' is not KEY=VALUE", text);
    memcpy(name, text, (size_t)(eq - text));
    name[eq - text] = '\0';
    out->key = exp_vocab_find(name);
    if (!out->key) {
        char valid[1024];
        exp_vocab_labels(valid, sizeof valid);
        return err_set(e, ERR_INVALID, "unknown configuration key '%s' (valid: %s)", name, valid);
    }
    return exp_value_parse(&out->value, out->key, eq + 1, e);
}

bool exp_where_match(const exp_where *w, int n, const json_t *cfg)
{
    for (int i = 0; i < n; i++) {
        exp_value v;
        exp_value_from_json(&v, w[i].key, cfg);
        if (!exp_value_matches(&v, &w[i].value))
            return false;
    }
    return true;
}
