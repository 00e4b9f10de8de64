/* claims: the published figures, from a TOML file (see claims.h). */
#define _POSIX_C_SOURCE 200809L
#include "claims.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exp.h"
#include "toml.h"

#ifndef BENCH_SOURCE_DIR
#define BENCH_SOURCE_DIR "."
#endif

static const char *const metric_names[CLAIM_METRIC_COUNT] = {
    [CLAIM_ACCURACY] = "accuracy",
    [CLAIM_F1] = "f1",
    [CLAIM_TIME] = "time",
};

const char *claim_metric_name(claim_metric m)
{
    return m >= 0 && m < CLAIM_METRIC_COUNT ? metric_names[m] : "?";
}

/* The units, what a value in each means and the metrics that take it. */
typedef enum claim_unit { UNIT_PERCENT, UNIT_FRACTION, UNIT_MIN, UNIT_COUNT } claim_unit;
static const char *const unit_names[UNIT_COUNT] = {
    [UNIT_PERCENT] = "%", [UNIT_FRACTION] = "fraction", [UNIT_MIN] = "min"};
static const struct unit_def {
    double scale;      /* value * scale = the measured quantity (fraction, seconds) */
    double max;        /* largest value allowed (INFINITY: none) */
    bool time;         /* for the time metric, else for accuracy and f1 */
} units[UNIT_COUNT] = {
    [UNIT_PERCENT] = {0.01, 100, false},
    [UNIT_FRACTION] = {1, 1, false},
    [UNIT_MIN] = {60, INFINITY, true},
};

static const char *const claim_keys[] = {"claim",  "value",      "unit",  "approximate",
                                         "metric", "experiment", "source"};
#define N_KEYS (int)(sizeof claim_keys / sizeof claim_keys[0])

/* Where a key of a claim is, for messages. */
typedef struct where {
    const char *file;
    int index;  /* 1-based claim number */
    int line;
    err_info *e;
} where;

static int key_err(const where *w, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int key_err(const where *w, const char *key, const char *fmt, ...)
{
    char what[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return err_set(w->e, ERR_INVALID, "%s:%d: key 'claim[%d].%s': %.300s", w->file, w->line,
                   w->index, key, what);
}

/* The value of key in claim table t, its line in *w; NULL (and an error) when required and
 * missing. */
static const toml_value *get(where *w, const toml_value *t, int claim_line, const char *key,
                             bool required)
{
    const toml_value *v = toml_get(t, key);
    w->line = v ? toml_line(v) : claim_line;
    if (!v && required)
        key_err(w, key, "missing (every claim needs claim, value, unit, metric, experiment and "
                        "source)");
    return v;
}

/* A string value that fits n bytes, non-empty. */
static int get_text(char *out, size_t n, where *w, const toml_value *t, int line, const char *key)
{
    const toml_value *v = get(w, t, line, key, true);
    if (!v)
        return ERR_INVALID;
    if (toml_type_of(v) != TOML_STRING)
        return key_err(w, key, "must be a string (got a %s)", toml_type_name(toml_type_of(v)));
    if (toml_string(v)[0] == '\0' || strlen(toml_string(v)) >= n ||
        strlen(toml_string(v)) != toml_string_len(v))
        return key_err(w, key, "must be a non-empty string of fewer than %zu bytes", n);
    snprintf(out, n, "%s", toml_string(v));
    return 0;
}

/* out <- the index of name in names[0..n), or an error listing them. */
static int get_name(int *out, where *w, const toml_value *t, int line, const char *key,
                    const char *const *names, int n)
{
    char text[64];
    int rc = get_text(text, sizeof text, w, t, line, key);
    if (rc)
        return rc;
    char valid[256] = "";
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], text) == 0) {
            *out = i;
            return 0;
        }
        snprintf(valid + strlen(valid), sizeof valid - strlen(valid), "%s%s", i ? ", " : "",
                 names[i]);
    }
    return key_err(w, key, "unknown %s '%s' (valid: %s)", key, text, valid);
}

/* The experiment key: a name or a non-empty array of names. */
static int get_experiments(claim *c, where *w, const toml_value *t, int line)
{
    const toml_value *v = get(w, t, line, "experiment", true);
    if (!v)
        return ERR_INVALID;
    bool array = toml_type_of(v) == TOML_ARRAY;
    size_t n = array ? toml_len(v) : 1;
    if (!array && toml_type_of(v) != TOML_STRING)
        return key_err(w, "experiment", "must be a name or an array of names (got a %s)",
                       toml_type_name(toml_type_of(v)));
    if (n == 0 || n > CLAIMS_MAX_EXPERIMENTS)
        return key_err(w, "experiment", "must name 1 to %d experiments (got %zu)",
                       CLAIMS_MAX_EXPERIMENTS, n);
    for (size_t i = 0; i < n; i++) {
        const toml_value *s = array ? toml_value_at(v, i) : v;
        if (toml_type_of(s) != TOML_STRING || toml_string(s)[0] == '\0' ||
            strlen(toml_string(s)) >= CLAIMS_NAME_MAX ||
            strlen(toml_string(s)) != toml_string_len(s))
            return key_err(w, "experiment", "item %zu must be an experiment name (a non-empty "
                                            "string of fewer than %d bytes)",
                           i + 1, CLAIMS_NAME_MAX);
        snprintf(c->experiments[c->n_experiments++], CLAIMS_NAME_MAX, "%s", toml_string(s));
    }
    return 0;
}

/* c->stated <- the figure as the source states it: "99.22%", "0.9919", "~20 min". */
static void format_stated(claim *c, double value, claim_unit u, bool approximate)
{
    char num[40];
    exp_format_number(num, sizeof num, value);
    snprintf(c->stated, sizeof c->stated, "%s%s%s%s", approximate ? "~" : "", num,
             u == UNIT_PERCENT ? "" : u == UNIT_MIN ? " " : "",
             u == UNIT_PERCENT ? "%" : u == UNIT_MIN ? "min" : "");
}

static int parse_claim(claim *c, const toml_value *t, int index, const char *file, err_info *e)
{
    where w = {.file = file, .index = index, .line = toml_line(t), .e = e};
    int line = toml_line(t);
    c->line = line;
    for (size_t i = 0; i < toml_len(t); i++) {
        const char *k = toml_key_at(t, i);
        bool known = false;
        for (int j = 0; j < N_KEYS && !known; j++)
            known = strcmp(k, claim_keys[j]) == 0;
        if (!known) {
            w.line = toml_key_line(t, i);
            return key_err(&w, k, "unknown key (valid: claim, value, unit, approximate, "
                                  "metric, experiment, source)");
        }
    }
    int metric = 0, unit = 0, rc;
    if ((rc = get_text(c->what, sizeof c->what, &w, t, line, "claim")) ||
        (rc = get_name(&metric, &w, t, line, "metric", metric_names, CLAIM_METRIC_COUNT)) ||
        (rc = get_name(&unit, &w, t, line, "unit", unit_names, UNIT_COUNT)))
        return rc;
    c->metric = (claim_metric)metric;
    const struct unit_def *u = &units[unit];
    if (u->time != (c->metric == CLAIM_TIME))
        return key_err(&w, "unit", "'%s' does not measure %s (valid: %s)", unit_names[unit],
                       claim_metric_name(c->metric),
                       c->metric == CLAIM_TIME ? "min" : "%, fraction");
    const toml_value *v = get(&w, t, line, "value", true);
    if (!v)
        return ERR_INVALID;
    double value = toml_type_of(v) == TOML_INTEGER ? (double)toml_integer(v)
                   : toml_type_of(v) == TOML_FLOAT ? toml_float(v)
                                                   : NAN;
    if (!isfinite(value) || value <= 0 || value > u->max) {
        char max[32];
        exp_format_number(max, sizeof max, u->max);
        return isinf(u->max)
                   ? key_err(&w, "value", "must be a finite number > 0 in %s", unit_names[unit])
                   : key_err(&w, "value", "must be a number in (0, %s] in %s", max,
                             unit_names[unit]);
    }
    c->value = value * u->scale;
    c->percent = unit == UNIT_PERCENT;
    bool approximate = false;
    if ((v = get(&w, t, line, "approximate", false))) {
        if (toml_type_of(v) != TOML_BOOL)
            return key_err(&w, "approximate", "must be true or false (got a %s)",
                           toml_type_name(toml_type_of(v)));
        approximate = toml_bool(v);
    }
    format_stated(c, value, (claim_unit)unit, approximate);
    if ((rc = get_experiments(c, &w, t, line)) ||
        (rc = get_text(c->source, sizeof c->source, &w, t, line, "source")))
        return rc;
    return 0;
}

void claims_release(claims *c)
{
    if (!c)
        return;
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

int claims_parse(claims *out, const char *text, size_t len, const char *filename, err_info *e)
{
    const char *file = filename ? filename : "<claims>";
    *out = (claims){0};
    snprintf(out->path, sizeof out->path, "%s", file);
    toml_value *root = NULL;
    int rc = toml_parse(&root, text, len, file, e);
    if (rc)
        return rc;
    for (size_t i = 0; i < toml_len(root); i++)
        if (strcmp(toml_key_at(root, i), "claim") != 0) {
            rc = err_set(e, ERR_INVALID, "%s:%d: unknown key '%s' (valid: claim, an array of "
                                         "[[claim]] tables)",
                         file, toml_key_line(root, i), toml_key_at(root, i));
            goto done;
        }
    const toml_value *arr = toml_get(root, "claim");
    if (!arr || toml_type_of(arr) != TOML_ARRAY || toml_len(arr) == 0) {
        rc = err_set(e, ERR_INVALID, "%s:%d: no claims (write one [[claim]] table per claim)",
                     file, arr ? toml_line(arr) : 1);
        goto done;
    }
    if (toml_len(arr) > CLAIMS_MAX) {
        rc = err_set(e, ERR_INVALID, "%s:%d: %zu claims, more than %d", file, toml_line(arr),
                     toml_len(arr), CLAIMS_MAX);
        goto done;
    }
    out->v = calloc(toml_len(arr), sizeof *out->v);
    if (!out->v) {
        rc = err_set(e, ERR_NOMEM, "out of memory reading '%s'", file);
        goto done;
    }
    for (size_t i = 0; i < toml_len(arr) && !rc; i++) {
        const toml_value *t = toml_value_at(arr, i);
        if (toml_type_of(t) != TOML_TABLE)
            rc = err_set(e, ERR_INVALID, "%s:%d: key 'claim': must be an array of tables "
                                         "([[claim]])",
                         file, toml_line(t));
        else
            rc = parse_claim(&out->v[out->n++], t, (int)i + 1, file, e);
    }
done:
    toml_free(root);
    if (rc)
        claims_release(out);
    return rc;
}

int claims_load(claims *out, const char *path, err_info *e)
{
    *out = (claims){0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(e, ERR_IO, "cannot read claims file '%s': %s", path, strerror(errno));
    /* A claims file is a few kilobytes: refuse anything far larger before reading it. */
    enum { MAX_BYTES = 1 << 20 };
    char *buf = malloc(MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, MAX_BYTES + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    int rc;
    if (!buf)
        rc = err_set(e, ERR_NOMEM, "out of memory reading '%s'", path);
    else if (bad)
        rc = err_set(e, ERR_IO, "cannot read claims file '%s'", path);
    else if (n > MAX_BYTES)
        rc = err_set(e, ERR_INVALID, "claims file '%s' is larger than %d bytes", path,
                     MAX_BYTES);
    else
        rc = claims_parse(out, buf, n, path, e);
    free(buf);
    return rc;
}

int claims_locate(char *out, size_t n, const char *given, err_info *e)
{
    if (given) {
        if (access(given, F_OK) != 0)
            return err_set(e, ERR_IO, "cannot read claims file '%s': %s", given,
                           strerror(errno));
        snprintf(out, n, "%s", given);
        return 0;
    }
    const char *const places[] = {CLAIMS_DEFAULT_PATH, BENCH_SOURCE_DIR "/" CLAIMS_DEFAULT_PATH};
    for (int i = 0; i < 2; i++)
        if (access(places[i], F_OK) == 0) {
            snprintf(out, n, "%s", places[i]);
            return 0;
        }
    return err_set(e, ERR_IO, "no claims file: neither '%s' nor '%s' exists (--claims FILE "
                              "names one)",
                   places[0], places[1]);
}

bool claim_names(const claim *c, const char *name)
{
    for (int i = 0; i < c->n_experiments; i++)
        if (strcmp(c->experiments[i], name) == 0)
            return true;
    return false;
}
