#include "training.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "path.h"
#include "prov.h"
#include "sha256.h"

struct training {
    const run_spec *r;
    int threads;
    training_data data;
    net *net;
    trainer *trainer;
};

net_config training_net_config(const run_spec *r, int threads, kern_isa isa)
{
    assert(threads >= 1);
    net_config nc = net_config_default();
    nc.c = r->channels;
    nc.h = r->height;
    nc.w = r->width;
    nc.classes = r->classes;
    nc.max_batch = r->train.batch;
    nc.init = r->init;
    nc.init_std = r->init_std;
    nc.gemm.threads = threads;
    nc.gemm.isa = isa;
    return nc;
}

int training_memory_plan(training_memory *out, const run_spec *r, int threads,
                         const dataset *train, const dataset *test, err_info *e)
{
    memset(out, 0, sizeof *out);
    const net_config nc = training_net_config(r, threads, KERN_AUTO); /* any set: one layout */
    const int64_t n_train = train->n - (r->validation > 0 ? r->validation : 0);
    const int64_t n_eval_set = r->validation > 0 ? r->validation : test->n;
    /* trainer_evaluate holds the outputs of the larger of the two evaluations */
    int64_t n_eval = r->eval_train_n > 0 && r->eval_train_n < train->n ? r->eval_train_n
                                                                        : train->n;
    const int64_t n_test = r->eval_test_n > 0 && r->eval_test_n < n_eval_set ? r->eval_test_n
                                                                             : n_eval_set;
    if (n_test > n_eval)
        n_eval = n_test;
    int rc = train_memory_plan(&out->run, &nc, r->layers, r->n_layers, &r->train,
                               n_train > 0 ? n_train : 0, n_eval, e);
    if (rc)
        return rc;
    const size_t img = (size_t)r->channels * (size_t)r->height * (size_t)r->width;
    out->data = ((size_t)train->n + (size_t)test->n) * (img + 1);
    out->total = out->run.total + out->data;
    return 0;
}

int training_memory_check(const training_memory *m, int64_t limit, err_info *e)
{
    if (limit <= 0 || m->total <= (uint64_t)limit)
        return 0;
    const double mib = 1024.0 * 1024.0;
    return err_set(e, ERR_INVALID, "needs %.0f MiB (network and training %.0f MiB, data %.0f "
                   "MiB), more than the %.0f MiB this machine has", ceil((double)m->total / mib),
                   ceil((double)m->run.total / mib), ceil((double)m->data / mib),
                   floor((double)limit / mib));
}

/* training_memory_plan and training_memory_check against the machine (prov_memory_limit), the
 * error prefixed with the run's model, data set (data_name, NULL when not loaded yet) and
 * shape. */
static int training_memory_guard(const run_spec *r, int threads, const dataset *train,
                                 const dataset *test, const char *data_name, err_info *e)
{
    training_memory mem;
    int rc = training_memory_plan(&mem, r, threads, train, test, e);
    if (rc == 0)
        rc = training_memory_check(&mem, prov_memory_limit(), e);
    if (rc)
        err_prefix(e, "model '%s'%s%s%s (%dx%dx%d images, batch %d)", r->model,
                   data_name ? " on '" : "", data_name ? data_name : "", data_name ? "'" : "",
                   r->channels, r->height, r->width, r->train.batch);
    return rc;
}

int training_choose_kernels(perf_choice *out, const run_spec *r, int threads, err_info *e)
{
    /* the timing builds the run's network: never one the machine cannot hold */
    const dataset none = {0};
    int rc = training_memory_guard(r, threads, &none, &none, NULL, e);
    if (rc)
        return rc;
    const net_config nc = training_net_config(r, threads, KERN_AUTO);
    return perf_choose(out, KERN_AUTO, &nc, r->layers, r->n_layers, e);
}

int training_data_load(training_data *out, const run_spec *r, const data_source *src,
                       err_info *e)
{
    memset(out, 0, sizeof *out);
    /* Labels are checked against the classes the run declares (an idx: data set may have
     * fewer than the registry's). */
    data_source mine = *src;
    mine.classes = r->classes;
    int rc = data_load(&out->all, &out->test, &mine, e);
    if (rc)
        return rc;
    const dataset *d = &out->all;
    if (d->c != r->channels || d->h != r->height || d->w != r->width) {
        rc = err_set(e, ERR_INVALID, "data set '%s' has %dx%dx%d images but the model was built "
                     "for %dx%dx%d", src->name, d->c, d->h, d->w, r->channels, r->height,
                     r->width);
        goto fail;
    }
    out->train = out->all;
    if (r->validation > 0 && (rc = dataset_split(&out->train, &out->val, &out->all,
                                                 r->validation, e)) != 0) {
        err_prefix(e, "data set '%s'", src->name);
        goto fail;
    }
    return 0;
fail:
    training_data_release(out);
    return rc;
}

const dataset *training_data_eval(const training_data *d)
{
    return d->val.n > 0 ? &d->val : &d->test;
}

void training_data_release(training_data *d)
{
    dataset_release(&d->all);
    dataset_release(&d->test);
    memset(d, 0, sizeof *d);
}

int training_new(training **out, const run_spec *r, const data_source *src, int threads,
                 kern_isa isa, err_info *e)
{
    *out = NULL;
    training *t = calloc(1, sizeof *t);
    if (!t)
        return err_set(e, ERR_NOMEM, "out of memory");
    t->r = r;
    t->threads = threads;
    int rc = training_data_load(&t->data, r, src, e);
    if (rc)
        goto fail;
    /* What the run will hold, before any of it is allocated (the data is already). */
    if ((rc = training_memory_guard(r, threads, &t->data.all, &t->data.test, src->name, e)) != 0)
        goto fail;
    const net_config nc = training_net_config(r, threads, isa);
    if ((rc = net_new(&t->net, &nc, r->layers, r->n_layers, e)) != 0 ||
        (rc = trainer_new(&t->trainer, t->net, &t->data.train, &r->train, true, e)) != 0)
        goto fail;
    *out = t;
    return 0;
fail:
    training_free(t);
    return rc;
}

void training_free(training *t)
{
    if (!t)
        return;
    trainer_free(t->trainer);
    net_free(t->net);
    training_data_release(&t->data);
    free(t);
}

const net *training_net(const training *t) { return t->net; }
const training_data *training_data_of(const training *t) { return &t->data; }
int training_threads(const training *t) { return t->threads; }

/* The caller's progress callback, then its stop flag. */
static int training_progress(void *ctx, int epoch, int iter, int iters, double loss)
{
    const training_hooks *h = ctx;
    if (h->progress && h->progress(h->ctx, epoch, iter, iters, loss))
        return 1;
    return h->stop && *h->stop ? 1 : 0;
}

/* buf (malloc'd, *len bytes) <- the parameter file image of t's network. */
static int training_image(uint8_t **buf, size_t *len, const training *t, err_info *e)
{
    *len = net_save_size(t->net);
    *buf = malloc(*len);
    if (!*buf)
        return err_set(e, ERR_NOMEM, "out of memory saving the parameters");
    net_save(t->net, *buf);
    return 0;
}

int training_run(training_result *out, training *t, const training_hooks *h, err_info *e)
{
    static const training_hooks none = {0};
    if (!h)
        h = &none;
    memset(out, 0, sizeof *out);
    const dataset *eval = training_data_eval(&t->data);
    for (int ep = 1; ep <= t->r->epochs; ep++) {
        training_epoch m;
        memset(&m, 0, sizeof m);
        m.epoch = ep;
        timing_mark a, b;
        timing_mark_now(&a);
        int rc = trainer_train_epoch(t->trainer, &m.train, training_progress, (void *)h, e);
        timing_mark_now(&b);
        if (rc == ERR_DIVERGED) {
            out->diverged_epoch = ep;
            out->diverged_iter = m.train.diverged_iter;
        }
        if (rc)
            return rc;
        m.time = timing_span_between(&a, &b);
        metrics tm;
        if ((rc = trainer_evaluate(t->trainer, &tm, &t->data.train, t->r->eval_train_n, e)) ||
            (rc = trainer_evaluate(t->trainer, &m.test, eval, t->r->eval_test_n, e)))
            return rc;
        m.train_acc = tm.accuracy;
        m.eval_s = clock_wall() - b.wall;
        out->epochs_done = ep;
        timing_run_add(&out->time, &m.time);
        if (h->epoch && (rc = h->epoch(h->ctx, &m)) != 0)
            return rc;
        /* A stop that came during the evaluation ends the run before the next epoch. */
        if (h->stop && *h->stop && ep < t->r->epochs)
            return err_set(e, ERR_INTERRUPTED, "interrupted after epoch %d", ep);
    }
    uint8_t *buf;
    size_t len;
    int rc = training_image(&buf, &len, t, e);
    if (rc)
        return rc;
    sha256_hex(out->params_sha256, buf, len);
    free(buf);
    return 0;
}

int training_save(const training *t, const char *path, err_info *e)
{
    uint8_t *buf;
    size_t len;
    int rc = training_image(&buf, &len, t, e);
    if (rc)
        return rc;
    rc = path_write_file(path, buf, len, e);
    free(buf);
    return rc;
}
