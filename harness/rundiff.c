/* rundiff: two runs side by side, as JSON rows that `bench diff` prints. Each run is first
 * read into one flat JSON object per section (configuration, provenance, metrics), then the
 * sections are compared field by field in the order of the first run's fields. */
#include "rundiff.h"

#include <stdio.h>
#include <string.h>

#include "exp.h"
#include "table.h"

/* One run, flattened. */
typedef struct rundiff_side {
    json_t *config, *prov, *metrics;
    err_info *e;
} rundiff_side;

static int side_run(void *ctx, const store_run_row *r)
{
    rundiff_side *d = ctx;
    json_t *cfg = r->config_json ? json_loads(r->config_json, 0, NULL) : NULL;
    for (int k = 0; k < exp_vocab_count(); k++) {
        exp_value v = {.type = EXP_NONE};
        if (cfg)
            exp_value_from_json(&v, exp_vocab_at(k), cfg);
        json_object_set_new(d->config, exp_vocab_at(k)->label, exp_value_json(&v));
    }
    json_decref(cfg);
    json_object_set_new(d->prov, "kernels", table_json_text(r->kernels));
    json_object_set_new(d->prov, "threads used", json_integer(r->threads));
    json_object_set_new(d->metrics, "status", json_string(run_status_name(r->status)));
    json_object_set_new(d->metrics, "epochs done", json_integer(r->epochs_done));
    json_object_set_new(d->metrics, "wall_s", table_json_num(r->wall_s));
    json_object_set_new(d->metrics, "cpu_s", table_json_num(r->cpu_s));
    json_object_set_new(d->metrics, "peak_rss_bytes",
                        r->peak_rss_bytes ? json_integer(r->peak_rss_bytes) : json_null());
    json_object_set_new(d->metrics, "params_sha256", table_json_text(r->params_sha256));
    return 0;
}

static int side_provenance(void *ctx, const store_provenance *p)
{
    json_t *o = ((rundiff_side *)ctx)->prov;
    const store_build *b = p->build;
    const store_host *h = p->host;
    const store_dataset *d = p->dataset;
    const struct {
        const char *key;
        const char *text;
    } texts[] = {
        {"git_sha", b ? b->git_sha : NULL},           {"git_branch", b ? b->git_branch : NULL},
        {"git_describe", b ? b->git_describe : NULL}, {"compiler", b ? b->compiler : NULL},
        {"compiler_version", b ? b->compiler_version : NULL},
        {"cflags", b ? b->cflags : NULL},             {"build_type", b ? b->build_type : NULL},
        {"blas", b ? b->blas : NULL},                 {"binary_sha256", b ? b->binary_sha256 : NULL},
        {"hostname", h ? h->hostname : NULL},         {"cpu_model", h ? h->cpu_model : NULL},
        {"os", h ? h->os : NULL},                     {"kernel", h ? h->kernel : NULL},
        {"data set", d ? d->name : NULL},             {"data file", d ? d->file : NULL},
        {"data sha256", d ? d->sha256 : NULL},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        json_object_set_new(o, texts[i].key, table_json_text(texts[i].text));
    json_object_set_new(o, "git_dirty", b ? json_boolean(b->git_dirty) : json_null());
    json_object_set_new(o, "cores", h ? json_integer(h->cores) : json_null());
    json_object_set_new(o, "ram_bytes", h ? json_integer(h->ram_bytes) : json_null());
    /* the uncommitted changes themselves are long: their size tells two builds apart */
    json_object_set_new(o, "git_diff bytes",
                        b && b->git_diff ? json_integer((json_int_t)strlen(b->git_diff))
                                         : json_null());
    return 0;
}

/* The last epoch's metrics (epochs come in order: the last call wins). */
static int side_epoch(void *ctx, const store_epoch *ep)
{
    json_t *o = ((rundiff_side *)ctx)->metrics;
    const struct {
        const char *key;
        double v;
    } m[] = {
        {"test_acc", ep->test_acc},         {"f1_macro", ep->f1_macro},
        {"precision_macro", ep->precision_macro}, {"recall_macro", ep->recall_macro},
        {"auroc_macro", ep->auroc_macro},   {"f1_weighted", ep->f1_weighted},
        {"test_loss", ep->test_loss},       {"train_acc", ep->train_acc},
        {"train_loss", ep->train_loss},     {"epoch wall_s", ep->wall_s},
        {"images_per_s", ep->images_per_s},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        json_object_set_new(o, m[i].key, table_json_num(m[i].v));
    return 0;
}

static int side_load(rundiff_side *d, store *s, const char *key, err_info *e)
{
    *d = (rundiff_side){json_object(), json_object(), json_object(), e};
    if (!d->config || !d->prov || !d->metrics)
        return err_set(e, ERR_NOMEM, "out of memory");
    int rc = store_run_get(s, key, side_run, d, e);
    if (!rc)
        rc = store_run_provenance(s, key, side_provenance, d, e);
    if (!rc)
        rc = store_epochs(s, key, false, side_epoch, d, e);
    return rc;
}

static void side_release(rundiff_side *d)
{
    json_decref(d->config);
    json_decref(d->prov);
    json_decref(d->metrics);
}

/* Rows of the fields of a and b (in a's order, then b's own) that differ, or all of them. */
static json_t *compare(const json_t *a, const json_t *b, bool all, bool delta)
{
    json_t *rows = json_array();
    json_t *keys = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)a, k, v) json_object_set_new(keys, k, json_true());
    json_object_foreach((json_t *)b, k, v) json_object_set_new(keys, k, json_true());
    json_object_foreach(keys, k, v) {
        json_t *x = json_object_get(a, k), *y = json_object_get(b, k);
        x = x ? x : json_null();
        y = y ? y : json_null();
        if (!all && json_equal(x, y))
            continue;
        json_t *row = json_pack("{s:s, s:O, s:O}", "key", k, "a", x, "b", y);
        if (row && delta)
            json_object_set_new(row, "delta", json_is_number(x) && json_is_number(y)
                                                  ? table_json_num(json_number_value(y) -
                                                                   json_number_value(x))
                                                  : json_null());
        json_array_append_new(rows, row);
    }
    json_decref(keys);
    return rows;
}

int rundiff_runs(json_t **out, store *s, const char *a, const char *b, err_info *e)
{
    *out = NULL;
    rundiff_side x = {0}, y = {0};
    int rc = side_load(&x, s, a, e);
    if (!rc)
        rc = side_load(&y, s, b, e);
    if (!rc) {
        *out = json_pack("{s:s, s:s, s:o, s:o, s:o}", "a", a, "b", b, "configuration",
                         compare(x.config, y.config, false, false), "provenance",
                         compare(x.prov, y.prov, false, false), "metrics",
                         compare(x.metrics, y.metrics, true, true));
        if (!*out)
            rc = err_set(e, ERR_NOMEM, "out of memory");
    }
    side_release(&x);
    side_release(&y);
    return rc;
}
