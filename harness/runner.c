#define _GNU_SOURCE /* prctl, pipe2 */

#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "data.h"
#include "prov.h"
#include "revision.h" /* generated at build time: BENCH_GIT_HEAD */
#include "select.h"
#include "store.h"
#include "toml.h"
#include "training.h"

runner_options runner_options_default(void)
{
    return (runner_options){
        .db_path = "results/bench.db",
        .jobs = 0,
        .shard_index = 0,
        .shard_count = 1,
        .stale_after_s = 30.0,
        .out = stdout,
    };
}

/* ---- signals ----
 * A signal flag is the one piece of process-wide state a handler may set; both the
 * coordinator and its workers poll it. Every signal that would otherwise end the process
 * with its runs left RUNNING stops the sweep the same way: Ctrl-C, kill, a closed terminal
 * (SIGHUP), a closed output pipe (`bench run ... | head`: SIGPIPE), and SIGUSR1, the warning
 * a batch system such as Slurm sends before the time limit (--signal). */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) { stop_signal = sig; }

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGUSR1};
enum { N_STOP_SIGNALS = sizeof stop_signals / sizeof stop_signals[0] };

static void install_stop_handlers(struct sigaction old[N_STOP_SIGNALS])
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < N_STOP_SIGNALS; i++)
        sigaction(stop_signals[i], &sa, &old[i]);
}

/* After a closed output pipe, SIGPIPE stays ignored: the reader is gone for good, and the
 * summary still to be written must fail with EPIPE rather than kill the process before it
 * exits with the status that says runs were left unfinished. */
static void restore_stop_handlers(const struct sigaction old[N_STOP_SIGNALS])
{
    for (int i = 0; i < N_STOP_SIGNALS; i++) {
        if (stop_signals[i] == SIGPIPE && stop_signal == SIGPIPE)
            signal(SIGPIPE, SIG_IGN);
        else
            sigaction(stop_signals[i], &old[i], NULL);
    }
}

/* ---- messages from a worker to the coordinator ----
 * A header then a fixed-size body. Both ends are the same binary (fork), so the structs
 * travel as bytes. */
enum msg_kind { MSG_PROGRESS = 1, MSG_EPOCH = 2, MSG_DONE = 3 };

typedef struct msg_header {
    uint32_t kind;
    uint32_t size; /* bytes of the body */
} msg_header;

typedef struct msg_progress {
    int epoch, iter, iters;
    double loss;
} msg_progress;

/* An epoch: training_run's record of it, as the worker's callback receives it. */
typedef training_epoch msg_epoch;

typedef struct msg_done {
    int status;        /* RUN_COMPLETED, RUN_FAILED, RUN_DIVERGED, RUN_INTERRUPTED */
    int diverged_epoch;
    double wall_s, cpu_s;
    int64_t peak_rss_bytes;
    char params_sha256[65];
    char error[ERR_MSG_MAX];
} msg_done;

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Returns bytes read (n), 0 on a clean EOF before any byte, -1 on error or a short read. */
static ssize_t read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return got == 0 ? 0 : -1;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static void send_msg(int fd, uint32_t kind, const void *body, uint32_t size)
{
    msg_header h = {kind, size};
    /* The coordinator is gone when this fails: nobody is left to record the run. */
    if (write_all(fd, &h, sizeof h) || write_all(fd, body, size))
        _exit(3);
}

/* ---- the worker: one run in a child process ---- */

typedef struct worker_ctx {
    int fd;
    int last_sent_iter;
} worker_ctx;

/* Progress to the coordinator every 25 iterations; stopping is training_run's (hooks.stop). */
static int worker_progress(void *ctx, int epoch, int iter, int iters, double loss)
{
    worker_ctx *w = ctx;
    if (iter - w->last_sent_iter >= 25 || iter == iters) {
        msg_progress p = {epoch, iter, iters, loss};
        send_msg(w->fd, MSG_PROGRESS, &p, sizeof p);
        w->last_sent_iter = iter == iters ? 0 : iter;
    }
    return 0;
}

static int worker_epoch(void *ctx, const training_epoch *m)
{
    const worker_ctx *w = ctx;
    send_msg(w->fd, MSG_EPOCH, m, sizeof *m);
    return 0;
}

/* Train run r on the data of src (training.h), reporting on fd. Never returns. */
static void worker_main(int fd, const run_spec *r, const data_source *src, int threads, kern_isa isa)
{
    msg_done done;
    memset(&done, 0, sizeof done);
    done.status = RUN_FAILED;
    err_info e = {0};
    training *t = NULL;
    double w0 = clock_wall(), c0 = clock_cpu();
    worker_ctx wc = {fd, 0};
    const training_hooks hooks = {.progress = worker_progress, .epoch = worker_epoch,
                                  .ctx = &wc, .stop = &stop_signal};
    training_result res = {0};
    int rc = training_new(&t, r, src, threads, isa, &e);
    if (rc == 0)
        rc = training_run(&res, t, &hooks, &e);
    if (rc == 0) {
        done.status = RUN_COMPLETED;
        memcpy(done.params_sha256, res.params_sha256, sizeof done.params_sha256);
    } else if (rc == ERR_DIVERGED) {
        done.status = RUN_DIVERGED;
        done.diverged_epoch = res.diverged_epoch;
    } else if (rc == ERR_INTERRUPTED) {
        done.status = RUN_INTERRUPTED;
    }
    if (done.status != RUN_COMPLETED)
        snprintf(done.error, sizeof done.error, "%s", e.msg[0] ? e.msg : "stopped");
    done.wall_s = clock_wall() - w0;
    done.cpu_s = clock_cpu() - c0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    done.peak_rss_bytes = (int64_t)ru.ru_maxrss * 1024;
    send_msg(fd, MSG_DONE, &done, sizeof done);
    training_free(t);
    _exit(0);
}

/* ---- the coordinator ---- */

enum { RUNNER_MAX_SOURCES = 16 }; /* distinct data sets in one experiment */

typedef struct planned_run {
    const run_spec *spec;
    char key[65];
    int source;      /* index into the data sources */
    int prev_status; /* before this execution, STORE_ABSENT if new */
    bool todo;
    kern_isa isa;    /* the kernel set it trains with (choose_kernels) */
    char kernels[256]; /* net_kernels_describe() with that set */
} planned_run;

typedef struct slot {
    pid_t pid;
    int fd;          /* read end of the worker's pipe, -1 when free */
    int run;         /* index into plan */
    bool done_seen;  /* MSG_DONE received */
    bool lost;       /* another process took the run over: nothing more is recorded */
    int epoch, iter, iters;
    int epochs_recorded;
    double loss, last_acc;
    double started;
    double epoch_started; /* when the epoch in progress began (after the last MSG_EPOCH) */
} slot;

typedef struct coordinator {
    const experiment *x;   /* what runs: the file's experiment, or selected */
    experiment selected;   /* a [select] file with its winner applied (select_resolve) */
    char *selection;       /* that decision as JSON, stored with each run; NULL without */
    const runner_options *o;
    store *db;
    planned_run *plan;
    int n_plan;
    data_source *sources;
    int n_sources;
    int threads;
    slot *slots;
    int jobs;
    bool tty;
    int drawn_lines;       /* lines of the live block on the terminal */
    runner_summary *sum;
    int n_todo, n_finished;
    double epoch_time_sum; /* wall seconds of finished epochs (training + evaluation) */
    int epochs_finished;
    int epochs_total;      /* epochs of all runs to do */
} coordinator;

/* The kernel set of every planned run (training_choose_kernels) and its description for the
 * store. Runs of the same network, batch and threads share one timing. */
static int choose_kernels(coordinator *c, err_info *e)
{
    for (int i = 0; i < c->n_plan; i++) {
        planned_run *p = &c->plan[i];
        const run_spec *r = p->spec;
        const int threads = r->threads > 0 ? r->threads : c->threads;
        p->isa = kern_resolve(KERN_AUTO);
        if (p->todo) {
            const planned_run *same = NULL;
            for (int j = 0; j < i && !same; j++) {
                const planned_run *q = &c->plan[j];
                if (q->todo && strcmp(q->spec->model, r->model) == 0 && q->spec->train.batch == r->train.batch &&
                    (q->spec->threads > 0 ? q->spec->threads : c->threads) == threads &&
                    q->spec->n_layers == r->n_layers && q->spec->channels == r->channels &&
                    q->spec->height == r->height && q->spec->width == r->width && q->spec->classes == r->classes)
                    same = q;
            }
            if (same) {
                p->isa = same->isa;
            } else {
                perf_choice choice;
                int rc = training_choose_kernels(&choice, r, threads, e);
                if (rc)
                    return rc;
                p->isa = choice.isa;
                fprintf(c->o->out, "kernel choice for %s (batch %d, %d thread%s): %s\n", r->model, r->train.batch,
                        threads, threads == 1 ? "" : "s", choice.why);
            }
        }
        /* (a run not trained here is described with the set the CPU offers first) */
        const net_config nc = training_net_config(r, threads, p->isa);
        net_kernels_describe(p->kernels, sizeof p->kernels, &nc, r->layers, r->n_layers);
    }
    return 0;
}

static const char *run_label(const run_spec *r, char *buf, size_t n)
{
    if (r->label[0])
        return r->label;
    exp_run_summary(buf, n, r);
    return buf;
}

static void format_duration(char *buf, size_t n, double s)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, n, "?");
    else if (s < 90)
        snprintf(buf, n, "%.0fs", s);
    else if (s < 5400)
        snprintf(buf, n, "%.0fm%02.0fs", floor(s / 60), fmod(s, 60));
    else
        snprintf(buf, n, "%.0fh%02.0fm", floor(s / 3600), fmod(floor(s / 60), 60));
}

/* Erase the live block (terminal only) so that a permanent line can be printed above it. */
static void clear_live(coordinator *c)
{
    if (c->tty && c->drawn_lines > 0) {
        fprintf(c->o->out, "\033[%dA\033[J", c->drawn_lines);
        c->drawn_lines = 0;
    }
}

static double eta_seconds(const coordinator *c)
{
    double per_epoch = NAN;
    if (c->epochs_finished > 0) {
        per_epoch = c->epoch_time_sum / c->epochs_finished;
    } else {
        /* Before any epoch ends: extrapolate the epochs in flight from their progress. */
        double sum = 0.0;
        int n = 0;
        for (int i = 0; i < c->jobs; i++) {
            const slot *s = &c->slots[i];
            if (s->fd >= 0 && s->iter > 0 && s->iters > 0) {
                sum += (clock_wall() - s->epoch_started) * s->iters / s->iter;
                n++;
            }
        }
        if (n == 0)
            return NAN;
        per_epoch = sum / n;
    }
    double left = (double)(c->epochs_total - c->epochs_finished);
    int parallel = c->jobs < c->n_todo ? c->jobs : c->n_todo;
    return left * per_epoch / (parallel > 0 ? parallel : 1);
}

static void draw_live(coordinator *c)
{
    if (!c->tty)
        return;
    clear_live(c);
    FILE *out = c->o->out;
    char lb[EXP_TEXT_MAX], eta[32];
    for (int i = 0; i < c->jobs; i++) {
        slot *s = &c->slots[i];
        if (s->fd < 0)
            continue;
        const planned_run *p = &c->plan[s->run];
        fprintf(out, "  run %d/%d %.60s  epoch %d/%d  %3.0f%%  loss %.4f", s->run + 1,
                c->n_plan, run_label(p->spec, lb, sizeof lb), s->epoch, p->spec->epochs,
                s->iters ? 100.0 * s->iter / s->iters : 0.0, s->loss);
        if (!isnan(s->last_acc))
            fprintf(out, "  acc %.4f", s->last_acc);
        fputc('\n', out);
        c->drawn_lines++;
    }
    format_duration(eta, sizeof eta, eta_seconds(c));
    fprintf(out, "  %d/%d runs done, ETA %s\n", c->n_finished, c->n_todo, eta);
    c->drawn_lines++;
    fflush(out);
}

/* What a run's per-epoch evaluation measures: "val" on a held-out split, else "test". */
static const char *eval_name(const run_spec *r) { return r->validation > 0 ? "val" : "test"; }

/* plan[run] was claimed by another bench run after this one planned it: it is that process's
 * now (not this one's to interrupt on a signal), and no longer counts towards the ETA. */
static void skip_taken(coordinator *c, int run)
{
    planned_run *p = &c->plan[run];
    p->todo = false;
    c->sum->busy++;
    c->n_todo--;
    c->epochs_total -= p->spec->epochs;
    clear_live(c);
    char lb[EXP_TEXT_MAX];
    fprintf(c->o->out, "run %d/%d %s: taken by another bench run since the plan; not run here\n",
            run + 1, c->n_plan, run_label(p->spec, lb, sizeof lb));
}

/* The run of slot s was taken over by another bench run (the store said ERR_CONFLICT, why):
 * what its worker computes is no longer this process's to record. The worker is killed and
 * the run left to the other process, like a run taken before it started (skip_taken). */
static void lose_run(coordinator *c, slot *s, const err_info *why)
{
    if (s->lost)
        return;
    s->lost = true;
    kill(s->pid, SIGKILL);
    planned_run *p = &c->plan[s->run];
    p->todo = false;
    c->sum->busy++;
    c->n_todo--;
    c->epochs_total -= p->spec->epochs - s->epochs_recorded;
    clear_live(c);
    char lb[EXP_TEXT_MAX];
    fprintf(c->o->out, "run %d/%d %s: %s\n", s->run + 1, c->n_plan,
            run_label(p->spec, lb, sizeof lb), why->msg);
    fflush(c->o->out);
}

/* A store write for slot s failed with rc: a run taken over (ERR_CONFLICT) is lost, which is
 * not an error of the sweep; anything else is. */
static int owned_write(coordinator *c, slot *s, int rc, const err_info *e)
{
    if (rc != ERR_CONFLICT)
        return rc;
    lose_run(c, s, e);
    return 0;
}

/* Fork the worker of plan[run] into slot s. Returns 1, launching nothing, when another bench
 * run on the same database claimed the run since this one planned it. */
static int launch(coordinator *c, slot *s, int run, err_info *e)
{
    planned_run *p = &c->plan[run];
    bool claimed = false;
    if (store_run_start(c->db, p->key, &claimed, e))
        return e->code;
    if (!claimed)
        return 1;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return err_set(e, ERR_IO, "cannot create a pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return err_set(e, ERR_IO, "cannot fork a worker: %s", strerror(errno));
    }
    if (pid == 0) {
        /* The worker dies with the coordinator, and shares none of its other pipes. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1)
            _exit(3);
        close(fds[0]);
        for (int i = 0; i < c->jobs; i++)
            if (c->slots[i].fd >= 0)
                close(c->slots[i].fd);
        int threads = p->spec->threads > 0 ? p->spec->threads : c->threads;
        worker_main(fds[1], p->spec, &c->sources[p->source], threads, p->isa);
    }
    close(fds[1]);
    double now = clock_wall();
    *s = (slot){.pid = pid, .fd = fds[0], .run = run, .epoch = 1, .last_acc = NAN,
                .started = now, .epoch_started = now};
    return 0;
}

static int record_epoch(coordinator *c, slot *s, const msg_epoch *m, err_info *e)
{
    const planned_run *p = &c->plan[s->run];
    const metrics *t = &m->test;
    int k = t->k;
    double prec[METRICS_MAX_CLASSES], rec[METRICS_MAX_CLASSES], f1[METRICS_MAX_CLASSES];
    int64_t support[METRICS_MAX_CLASSES];
    int64_t *conf = malloc((size_t)k * (size_t)k * sizeof(int64_t)); /* (k,k) */
    if (!conf)
        return err_set(e, ERR_NOMEM, "out of memory recording an epoch");
    for (int i = 0; i < k; i++) {
        prec[i] = t->cls[i].precision;
        rec[i] = t->cls[i].recall;
        f1[i] = t->cls[i].f1;
        support[i] = t->cls[i].support;
        for (int j = 0; j < k; j++)
            conf[i * k + j] = t->confusion[i][j];
    }
    store_epoch ep = {
        .run_key = p->key, .epoch = m->epoch,
        .train_loss = m->train.loss, .train_acc = m->train_acc,
        .test_loss = t->loss, .test_acc = t->accuracy,
        .precision_macro = t->precision_macro, .recall_macro = t->recall_macro,
        .f1_macro = t->f1_macro, .auroc_macro = t->auroc_macro, .f1_weighted = t->f1_weighted,
        .wall_s = m->time.wall_s, .cpu_s = m->time.cpu_s, .wait_s = m->time.wait_s,
        .nivcsw = m->time.nivcsw,
        .images_per_s = m->time.wall_s > 0 ? (double)m->train.images / m->time.wall_s : 0.0,
        .k = k, .precision = prec, .recall = rec, .f1 = f1, .support = support,
        .confusion = conf,
    };
    int rc = store_epoch_put(c->db, &ep, e);
    free(conf);
    if (rc)
        return owned_write(c, s, rc, e);
    s->last_acc = t->accuracy;
    s->epoch = m->epoch + 1 <= p->spec->epochs ? m->epoch + 1 : m->epoch;
    s->iter = 0;
    s->epochs_recorded++;
    s->epoch_started = clock_wall();
    c->epoch_time_sum += m->time.wall_s + m->eval_s;
    c->epochs_finished++;
    if (!c->tty) {
        char lb[EXP_TEXT_MAX];
        fprintf(c->o->out, "run %d/%d %s: epoch %d/%d loss %.4f train %.4f %s %.4f f1 %.4f "
                "(%.1f s, %.0f img/s)\n", s->run + 1, c->n_plan,
                run_label(p->spec, lb, sizeof lb), m->epoch, p->spec->epochs, m->train.loss,
                m->train_acc, eval_name(p->spec), t->accuracy, t->f1_macro, m->time.wall_s,
                ep.images_per_s);
        fflush(c->o->out);
    }
    return 0;
}

static void count_status(runner_summary *sum, int status)
{
    switch (status) {
    case RUN_COMPLETED: sum->completed++; break;
    case RUN_DIVERGED: sum->diverged++; break;
    case RUN_INTERRUPTED: sum->interrupted++; break;
    default: sum->failed++; break;
    }
}

static int record_done(coordinator *c, slot *s, const msg_done *d, err_info *e)
{
    const planned_run *p = &c->plan[s->run];
    store_run_end end = {
        .status = d->status, .wall_s = d->wall_s, .cpu_s = d->cpu_s,
        .peak_rss_bytes = d->peak_rss_bytes,
        .params_sha256 = d->status == RUN_COMPLETED ? d->params_sha256 : NULL,
        .error = d->status == RUN_COMPLETED ? NULL : d->error,
        .diverged_epoch = d->diverged_epoch,
    };
    int rc = store_run_finish(c->db, p->key, &end, e);
    s->done_seen = true;
    if (rc)
        return owned_write(c, s, rc, e);
    count_status(c->sum, d->status);
    c->n_finished++;
    /* epochs a run will never do no longer count towards the ETA */
    c->epochs_total -= p->spec->epochs - s->epochs_recorded;
    clear_live(c);
    char lb[EXP_TEXT_MAX], dur[32];
    format_duration(dur, sizeof dur, d->wall_s);
    fprintf(c->o->out, "run %d/%d %s: %s", s->run + 1, c->n_plan,
            run_label(p->spec, lb, sizeof lb), run_status_name(d->status));
    if (d->status == RUN_COMPLETED)
        fprintf(c->o->out, ", %s %.4f, %s, peak RSS %.0f MiB\n", eval_name(p->spec), s->last_acc, dur,
                (double)d->peak_rss_bytes / 1048576.0);
    else
        fprintf(c->o->out, ": %s\n", d->error);
    fflush(c->o->out);
    return 0;
}

/* Read one message from slot s; returns 1 when the worker's pipe is closed, 0 otherwise. */
static int handle_message(coordinator *c, slot *s, err_info *e, int *rc)
{
    msg_header h;
    ssize_t r = read_all(s->fd, &h, sizeof h);
    if (r <= 0)
        return 1;
    union {
        msg_progress p;
        msg_epoch ep;
        msg_done d;
    } *body = malloc(sizeof *body);
    if (!body) {
        *rc = err_set(e, ERR_NOMEM, "out of memory reading a worker message");
        return 1;
    }
    int closed = 0;
    if (h.size > sizeof *body || read_all(s->fd, body, h.size) != (ssize_t)h.size) {
        closed = 1;
    } else if (s->lost) {
        /* the worker's last words about a run that is no longer ours */
    } else if (h.kind == MSG_PROGRESS && h.size == sizeof(msg_progress)) {
        s->epoch = body->p.epoch;
        s->iter = body->p.iter;
        s->iters = body->p.iters;
        s->loss = body->p.loss;
    } else if (h.kind == MSG_EPOCH && h.size == sizeof(msg_epoch)) {
        *rc = record_epoch(c, s, &body->ep, e);
    } else if (h.kind == MSG_DONE && h.size == sizeof(msg_done)) {
        *rc = record_done(c, s, &body->d, e);
    } else {
        closed = 1; /* a garbled stream: treat the worker as dead */
    }
    free(body);
    return closed;
}

/* The worker of slot s closed its pipe: reap it; a run without MSG_DONE failed. */
static int reap(coordinator *c, slot *s, err_info *e)
{
    int status = 0;
    close(s->fd);
    s->fd = -1;
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (s->done_seen || s->lost)
        return 0;
    msg_done d;
    memset(&d, 0, sizeof d);
    d.status = stop_signal ? RUN_INTERRUPTED : RUN_FAILED;
    if (WIFSIGNALED(status))
        snprintf(d.error, sizeof d.error, "worker killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(d.error, sizeof d.error, "worker exited with status %d without a result",
                 WEXITSTATUS(status));
    d.wall_s = clock_wall() - s->started;
    return record_done(c, s, &d, e);
}

static int run_loop(coordinator *c, err_info *e)
{
    int rc = 0;
    int next = 0; /* next plan index to consider */
    int active = 0;
    bool stopping = false;
    double stop_at = 0.0, last_beat = clock_wall();
    struct pollfd *pfd = calloc((size_t)c->jobs, sizeof *pfd);
    int *pslot = calloc((size_t)c->jobs, sizeof *pslot);
    if (!pfd || !pslot) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    for (;;) {
        if (stop_signal && !stopping) {
            stopping = true;
            stop_at = clock_wall();
            clear_live(c);
            fprintf(c->o->out, "stopping: waiting for %d running worker(s) to record their "
                    "state\n", active);
            for (int i = 0; i < c->jobs; i++)
                if (c->slots[i].fd >= 0)
                    kill(c->slots[i].pid, SIGTERM);
        }
        if (stopping && clock_wall() - stop_at > 20.0)
            for (int i = 0; i < c->jobs; i++)
                if (c->slots[i].fd >= 0)
                    kill(c->slots[i].pid, SIGKILL);
        while (!stopping && rc == 0 && active < c->jobs && next < c->n_plan) {
            if (!c->plan[next].todo) {
                next++;
                continue;
            }
            int free_slot = 0;
            while (c->slots[free_slot].fd >= 0)
                free_slot++;
            rc = launch(c, &c->slots[free_slot], next, e);
            if (rc == 1) {
                skip_taken(c, next++);
                rc = 0;
                continue;
            }
            if (rc)
                break;
            next++;
            active++;
        }
        if (active == 0)
            break;
        int np = 0;
        for (int i = 0; i < c->jobs; i++) {
            if (c->slots[i].fd >= 0) {
                pfd[np] = (struct pollfd){.fd = c->slots[i].fd, .events = POLLIN};
                pslot[np++] = i;
            }
        }
        int pr = poll(pfd, (nfds_t)np, 1000);
        if (pr < 0 && errno != EINTR) {
            rc = err_set(e, ERR_IO, "poll failed: %s", strerror(errno));
            break;
        }
        for (int j = 0; pr > 0 && j < np; j++) {
            if (!(pfd[j].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            slot *s = &c->slots[pslot[j]];
            int mrc = 0;
            int closed = handle_message(c, s, e, &mrc);
            if (mrc && !rc)
                rc = mrc;
            if (closed) {
                int r2 = reap(c, s, e);
                if (r2 && !rc)
                    rc = r2;
                active--;
            }
        }
        if (rc && !stopping) {
            /* A database error: stop cleanly, as for a signal. */
            stop_signal = SIGTERM;
        }
        if (clock_wall() - last_beat >= 2.0) {
            /* a failed heartbeat is harmless but for a run taken over meanwhile; a run
             * whose end is recorded (its worker not yet gone) needs none */
            for (int i = 0; i < c->jobs; i++) {
                slot *s = &c->slots[i];
                err_info he = {0};
                if (s->fd >= 0 && !s->lost && !s->done_seen &&
                    store_run_heartbeat(c->db, c->plan[s->run].key, &he) == ERR_CONFLICT)
                    lose_run(c, s, &he);
            }
            last_beat = clock_wall();
        }
        draw_live(c);
    }
    clear_live(c);
done:
    free(pfd);
    free(pslot);
    return rc;
}

/* ---- planning ---- */

static int find_or_open_source(coordinator *c, const char *name, err_info *e)
{
    for (int i = 0; i < c->n_sources; i++)
        if (strcmp(c->sources[i].name, name) == 0)
            return i;
    if (c->n_sources == RUNNER_MAX_SOURCES) {
        err_set(e, ERR_INVALID, "an experiment may use at most %d data sets", RUNNER_MAX_SOURCES);
        return -1;
    }
    data_source *s = &c->sources[c->n_sources];
    if (data_open(s, name, c->o->data_dir, e))
        return -1;
    return c->n_sources++;
}

static int default_jobs(int n_todo, int cores)
{
    struct sysinfo si;
    int by_mem = 64;
    if (sysinfo(&si) == 0) {
        /* a paper-sized run peaks near 200 MiB; leave generous room */
        double gib = (double)si.totalram * si.mem_unit / (1024.0 * 1024.0 * 1024.0);
        by_mem = (int)(gib / 0.5);
    }
    int j = cores < by_mem ? cores : by_mem;
    if (j > n_todo)
        j = n_todo;
    return j > 0 ? j : 1;
}

static void print_plan(const coordinator *c)
{
    FILE *out = c->o->out;
    const experiment *x = c->x;
    fprintf(out, "experiment %s (%s): %d run%s", x->name, x->file, c->n_plan,
            c->n_plan == 1 ? "" : "s");
    if (c->o->shard_count > 1)
        fprintf(out, " in shard %d/%d", c->o->shard_index + 1, c->o->shard_count);
    fprintf(out, ", %d to run, %d already complete", c->n_todo, c->sum->skipped);
    if (c->sum->busy)
        fprintf(out, ", %d running elsewhere", c->sum->busy);
    fprintf(out, "\n");
    fprintf(out, "  %4s  %-12s  %-11s  %s\n", "run", "key", "status", "configuration");
    for (int i = 0; i < c->n_plan; i++) {
        const planned_run *p = &c->plan[i];
        char summary[EXP_TEXT_MAX];
        exp_run_summary(summary, sizeof summary, p->spec);
        const char *st = p->todo ? (p->prev_status == STORE_ABSENT ? "new" : "rerun")
                                 : run_status_name(p->prev_status);
        fprintf(out, "  %4d  %.12s  %-11s  %s\n", p->spec->index + 1, p->key, st, summary);
    }
    fflush(out);
}

/* ---- checking the runs against their data ----
 * exp.c validates everything a file says on its own; what depends on the data (a batch or a
 * validation split larger than the training set, labels beyond the declared classes, an
 * image shape the layers were not checked for, a run that needs more memory than the machine
 * has) is known only once the files are read. The
 * coordinator reads each data set once, before the database is opened, so that such a run is
 * a one-line error that names the experiment file, line and key, the database stays
 * byte-identical, and no worker is started (otherwise every worker would fail the same way
 * after its run had been queued). */

/* Line where the experiment's file sets a key: [sweep] short (when that key is swept), else
 * [table] short, else (with or_dataset) [data] dataset (the data set is then the culprit); 0
 * when none. The file was already parsed once by exp_load, so parsing it again cannot fail
 * except out of memory. */
static int key_find(const experiment *x, const char *table, const char *shrt, bool or_dataset)
{
    toml_value *root = NULL;
    if (toml_parse(&root, x->text, x->text_len, x->file, NULL) != 0)
        return 0;
    int line = 0;
    const char *where[][2] = {{"sweep", shrt}, {table, shrt}, {"data", "dataset"}};
    const size_t n_where = sizeof where / sizeof where[0] - (or_dataset ? 0 : 1);
    for (size_t i = 0; line == 0 && i < n_where; i++) {
        const toml_value *t = toml_get(root, where[i][0]);
        long k = t && toml_type_of(t) == TOML_TABLE ? toml_find(t, where[i][1]) : -1;
        if (k >= 0)
            line = toml_key_line(t, (size_t)k);
    }
    toml_free(root);
    return line;
}

/* key_find with the data set as the fallback culprit, else line 1. */
static int key_line(const experiment *x, const char *table, const char *shrt)
{
    int line = key_find(x, table, shrt, true);
    return line > 0 ? line : 1;
}

/* The keys that size a run's memory, most telling first: the one the file sets is named when
 * a run does not fit the machine (the default model on a large idx: image is the image's). */
static const char *const memory_keys[][2] = {
    {"model", "layers"}, {"model", "preset"}, {"data", "height"}, {"data", "width"},
    {"data", "channels"}, {"training", "batch"},
};

/* Refuse run r when what it would hold, trained on train and test, is more than limit bytes
 * (training_memory_check), naming the first key of memory_keys the file sets. */
static int check_run_memory(const experiment *x, const run_spec *r, const dataset *train,
                            const dataset *test, int64_t limit, err_info *e)
{
    training_memory m;
    int rc = training_memory_plan(&m, r, r->threads > 0 ? r->threads : 1, train, test, e);
    if (rc == 0)
        rc = training_memory_check(&m, limit, e);
    if (rc == 0)
        return 0;
    const size_t n_keys = sizeof memory_keys / sizeof memory_keys[0];
    size_t k = 0;
    int line = 0;
    for (; k < n_keys && (line = key_find(x, memory_keys[k][0], memory_keys[k][1], false)) == 0; k++)
        ;
    if (k == n_keys) /* nothing set: the defaults on the data set the file names */
        return err_prefix(e, "%s:%d: key 'data.dataset': run %d (%dx%dx%d images, batch %d)",
                          x->file, key_line(x, "data", "dataset"), r->index + 1, r->channels,
                          r->height, r->width, r->train.batch);
    return err_prefix(e, "%s:%d: key '%s.%s': run %d (%dx%dx%d images, batch %d)", x->file, line,
                      memory_keys[k][0], memory_keys[k][1], r->index + 1, r->channels, r->height,
                      r->width, r->train.batch);
}

/* Check run r against the training set of its data (images as loaded). */
static int check_run_data(const experiment *x, const run_spec *r, const data_source *src,
                          const dataset *train, err_info *e)
{
    if (train->c != r->channels || train->h != r->height || train->w != r->width)
        return err_set(e, ERR_INVALID, "%s:%d: key 'data.dataset': '%s' has %dx%dx%d images but "
                       "the model was built for %dx%dx%d", x->file,
                       key_line(x, "data", "dataset"), src->name, train->c, train->h, train->w,
                       r->channels, r->height, r->width);
    if (r->validation >= train->n)
        return err_set(e, ERR_INVALID, "%s:%d: key 'data.validation': a split of %lld images "
                       "leaves none of the %lld training images of '%s' to train on", x->file,
                       key_line(x, "data", "validation"), (long long)r->validation,
                       (long long)train->n, src->name);
    int64_t n = train->n - r->validation;
    if (r->train.batch > n)
        return err_set(e, ERR_INVALID, "%s:%d: key 'training.batch': batch %d is larger than "
                       "the %lld training images of '%s'%s", x->file,
                       key_line(x, "training", "batch"), r->train.batch, (long long)n, src->name,
                       r->validation > 0 ? " left after the validation split" : "");
    return 0;
}

/* Load every data set of the plan once (labels checked against the fewest classes any of its
 * runs declares), check each run against it and against the machine's memory, and free it
 * again. */
static int check_plan_data(const coordinator *c, err_info *e)
{
    const int64_t limit = prov_memory_limit();
    for (int s = 0; s < c->n_sources; s++) {
        data_source src = c->sources[s];
        src.classes = 256;
        for (int i = 0; i < c->n_plan; i++)
            if (c->plan[i].source == s && c->plan[i].spec->classes < src.classes)
                src.classes = c->plan[i].spec->classes;
        dataset train, test;
        int rc = data_load(&train, &test, &src, e);
        if (rc) {
            err_prefix(e, "data set '%s'", src.name);
            return rc;
        }
        for (int i = 0; rc == 0 && i < c->n_plan; i++)
            if (c->plan[i].source == s &&
                (rc = check_run_data(c->x, c->plan[i].spec, &src, &train, e)) == 0)
                rc = check_run_memory(c->x, c->plan[i].spec, &train, &test, limit, e);
        dataset_release(&train);
        dataset_release(&test);
        if (rc)
            return rc;
    }
    return 0;
}

/* The plan of c->x: provenance into *build and *host, the build identity into identity, and
 * c->plan with the key of every run of the options' shard, its data set open in c->sources
 * and checked against that run. Data first: a missing or corrupt data set stops everything
 * before a database is touched. On success the caller releases *build. */
static int plan_runs(coordinator *c, prov_build_info *build, prov_host_info *host,
                     char identity[RUNNER_IDENTITY_MAX], err_info *e)
{
    const experiment *x = c->x;
    const runner_options *o = c->o;
    c->plan = calloc((size_t)x->n_runs, sizeof *c->plan);
    c->sources = calloc(RUNNER_MAX_SOURCES, sizeof *c->sources);
    if (!c->plan || !c->sources)
        return err_set(e, ERR_NOMEM, "out of memory planning %d runs", x->n_runs);
    int rc = prov_collect(build, host, BENCH_GIT_HEAD, e);
    if (rc)
        return rc;
    prov_build_identity(identity, RUNNER_IDENTITY_MAX, build);
    /* A [select] file's values come from the runs of its `from` of this same build: decided
     * here, where the plan's keys are made, so that bench run, --dry-run and slurm submit
     * plan the same configuration. */
    if (x->select.on && !x->select.applied) {
        rc = select_resolve(&c->selected, &c->selection, x, o->db_path, identity, o->out, e);
        if (rc) {
            prov_build_release(build);
            return rc;
        }
        c->x = x = &c->selected;
    }
    for (int i = 0; rc == 0 && i < x->n_runs; i++) {
        const run_spec *r = &x->runs[i];
        if (o->shard_count > 1 && i % o->shard_count != o->shard_index)
            continue;
        planned_run *p = &c->plan[c->n_plan++];
        p->spec = r;
        p->source = find_or_open_source(c, r->dataset, e);
        rc = p->source < 0 ? e->code
                           : exp_run_key(p->key, r, c->sources[p->source].id, identity, e);
    }
    if (rc == 0)
        rc = check_plan_data(c, e);
    if (rc)
        prov_build_release(build);
    return rc;
}

/* The first line where two build identities differ, as "KEY=THEN then, KEY=NOW now", into
 * buf; "" when they are equal. */
static void identity_difference(char *buf, size_t n, const char *then, const char *now)
{
    buf[0] = '\0';
    while (*then || *now) {
        size_t lt = strcspn(then, "\n"), ln = strcspn(now, "\n");
        if (lt != ln || memcmp(then, now, lt) != 0) {
            snprintf(buf, n, "%.*s then, %.*s now", (int)(lt < 200 ? lt : 200), then,
                     (int)(ln < 200 ? ln : 200), now);
            return;
        }
        then += lt + (then[lt] == '\n');
        now += ln + (now[ln] == '\n');
    }
}

/* The shard's keys must be those the plan o->expect lists, in order. */
static int check_expected(const coordinator *c, const char *identity, err_info *e)
{
    const runner_expect *x = c->o->expect;
    char shard[64] = "";
    if (c->o->shard_count > 1)
        snprintf(shard, sizeof shard, " of shard %d/%d", c->o->shard_index + 1,
                 c->o->shard_count);
    if (x->n != c->n_plan)
        return err_set(e, ERR_INVALID, "the plan '%s' lists %d run%s%s, this experiment file "
                       "gives %d: it is not the file the plan was made from", x->source, x->n,
                       x->n == 1 ? "" : "s", shard, c->n_plan);
    for (int i = 0; i < c->n_plan; i++) {
        if (strcmp(x->keys[i], c->plan[i].key) == 0)
            continue;
        char why[600];
        identity_difference(why, sizeof why, x->identity ? x->identity : identity, identity);
        return err_set(e, ERR_INVALID, "run %d%s has key %.12s here but %.12s in the plan '%s': "
                       "%s%s", c->plan[i].spec->index + 1, shard, c->plan[i].key, x->keys[i],
                       x->source, why[0] ? "the build changed since the plan was made: " :
                       "the experiment's configuration or data changed since the plan was made",
                       why);
    }
    return 0;
}

/* What the sweep amounts to once the workers are done (rc: the loop's own error): 0 when every
 * planned run is COMPLETED, ERR_INTERRUPTED when some are unfinished (a signal stopped the
 * sweep or a worker, or another process runs them), ERR_INVALID when some FAILED or DIVERGED. */
static int sweep_outcome(const coordinator *c, int rc, err_info *e)
{
    const runner_summary *sum = c->sum;
    if (rc)
        return rc;
    if (sum->failed || sum->diverged)
        return err_set(e, ERR_INVALID, "%d run%s failed and %d diverged (see 'bench ls')",
                       sum->failed, sum->failed == 1 ? "" : "s", sum->diverged);
    int left = sum->interrupted + sum->busy;
    if (stop_signal)
        return err_set(e, ERR_INTERRUPTED, "interrupted by signal %d (%s): %d run%s left "
                       "unfinished; run the experiment again to resume", (int)stop_signal,
                       strsignal(stop_signal), left, left == 1 ? "" : "s");
    if (left)
        return err_set(e, ERR_INTERRUPTED, "%d run%s not finished here: %d interrupted, %d "
                       "running in another bench run; run the experiment again to finish them",
                       left, left == 1 ? "" : "s", sum->interrupted, sum->busy);
    return 0;
}

/* Anything this process queued and did not finish is INTERRUPTED (after a signal). */
static void interrupt_unfinished(coordinator *c)
{
    const char **keys = calloc((size_t)c->n_plan, sizeof *keys);
    int nk = 0, marked = 0;
    for (int i = 0; keys && i < c->n_plan; i++)
        if (c->plan[i].todo)
            keys[nk++] = c->plan[i].key;
    err_info e2 = {0};
    if (keys)
        store_interrupt_running(c->db, &marked, keys, nk, &e2);
    free(keys);
    c->sum->interrupted += marked;
}

int runner_plan_keys(char (*keys)[65], char identity[RUNNER_IDENTITY_MAX], const experiment *x,
                     const char *data_dir, const char *db_path, err_info *e)
{
    runner_options o = runner_options_default();
    o.data_dir = data_dir;
    o.db_path = db_path;
    runner_summary sum;
    coordinator c = {.x = x, .o = &o, .sum = &sum};
    prov_build_info build;
    prov_host_info host;
    memset(&build, 0, sizeof build);
    int rc = plan_runs(&c, &build, &host, identity, e);
    if (rc == 0) {
        for (int i = 0; i < c.n_plan; i++)
            memcpy(keys[i], c.plan[i].key, 65);
        prov_build_release(&build);
    }
    free(c.plan);
    free(c.sources);
    exp_release(&c.selected);
    free(c.selection);
    return rc;
}

/* Record the provenance and queue the plan's runs in one transaction (rolled back on failure):
 * the experiment with what reports read of its file (swept keys, budget), so that they never
 * parse it again, the build, the host, each data set, and each run with its configuration. */
static int queue_runs(coordinator *c, const prov_build_info *build, const prov_host_info *host,
                      err_info *e)
{
    const experiment *x = c->x;
    const runner_options *o = c->o;
    char *swept = exp_swept_json(x);
    store_experiment sx = {.name = x->name, .file = x->file, .spec_sha256 = x->sha256,
                           .spec_text = x->text, .swept = swept,
                           .budget_minutes = x->budget_minutes,
                           .target_accuracy = x->target_accuracy,
                           .description = x->description};
    int64_t xid, bid, hid;
    if (!swept)
        return err_set(e, ERR_NOMEM, "out of memory");
    int rc = store_begin(c->db, e);
    if (rc) {
        free(swept);
        return rc;
    }
    rc = store_experiment_put(c->db, &xid, &sx, e);
    free(swept);
    if (rc || (rc = prov_store(c->db, &bid, &hid, build, host, e)))
        goto rollback;
    for (int i = 0; i < c->n_plan; i++) {
        planned_run *p = &c->plan[i];
        const run_spec *r = p->spec;
        const data_source *src = &c->sources[p->source];
        store_dataset sd = {src->name, src->dir, src->id, 0};
        int64_t did;
        if ((rc = store_dataset_put(c->db, &did, &sd, e)))
            goto rollback;
        char *json = exp_run_json(r), *values = exp_run_swept_json(x, r);
        if (!json || !values) {
            free(json);
            free(values);
            rc = err_set(e, ERR_NOMEM, "out of memory");
            goto rollback;
        }
        store_run sr = {
            .run_key = p->key, .experiment_id = xid, .build_id = bid, .host_id = hid,
            .dataset_id = did, .config_json = json, .model = r->model,
            .optimizer = optim_kind_name(r->train.optim.kind), .lr = r->num.lr,
            .bn = r->bn, .seed = (int64_t)r->train.seed, .batch = r->train.batch,
            .epochs = r->epochs, .sampling = sampling_kind_name(r->train.sampling),
            .threads = r->threads > 0 ? r->threads : c->threads, .eval_n = r->eval_test_n,
            .kernels = p->kernels, .position = r->index, .swept_values = values,
            .selection = c->selection,
        };
        /* COMPLETED runs are linked to this experiment but left untouched (force=false);
         * runs RUNNING elsewhere, at planning or by now, are only linked (store_run_queue):
         * they are that process's to finish. */
        rc = store_run_queue(c->db, NULL, &sr, p->todo && o->force, e);
        free(json);
        free(values);
        if (rc)
            goto rollback;
        if (p->todo)
            c->epochs_total += r->epochs;
    }
    if ((rc = store_commit(c->db, e)) == 0)
        return 0;
rollback:
    store_rollback(c->db, NULL);
    return rc;
}

/* Each planned run's stored status, and what is to do: a COMPLETED run is skipped (unless
 * forced), a RUNNING one is another process's; the rest are trained. */
static int read_statuses(coordinator *c, err_info *e)
{
    int rc = 0;
    for (int i = 0; i < c->n_plan; i++) {
        planned_run *p = &c->plan[i];
        p->prev_status = STORE_ABSENT;
        if (c->db && (rc = store_run_status(c->db, &p->prev_status, p->key, e)) != 0)
            return rc;
        if (p->prev_status == RUN_COMPLETED && !c->o->force)
            c->sum->skipped++;
        else if (p->prev_status == RUN_RUNNING)
            c->sum->busy++;
        else
            p->todo = true;
    }
    return 0;
}

int runner_execute(runner_summary *sum, const experiment *x, const runner_options *o,
                   err_info *e)
{
    memset(sum, 0, sizeof *sum);
    coordinator c = {.x = x, .o = o, .sum = sum};
    prov_build_info build;
    prov_host_info host;
    memset(&build, 0, sizeof build);
    bool have_build = false;
    struct sigaction old_handlers[N_STOP_SIGNALS];
    bool handlers = false;
    char identity[RUNNER_IDENTITY_MAX];

    int rc = plan_runs(&c, &build, &host, identity, e);
    if (rc)
        goto done;
    have_build = true;
    sum->planned = c.n_plan;
    if (o->expect && (rc = check_expected(&c, identity, e)) != 0)
        goto done;

    /* A dry run only reads: it neither creates the database nor retires stale runs. From the
     * moment a run does write, a stop signal no longer ends the process but the sweep. */
    bool db_exists = access(o->db_path, F_OK) == 0;
    if (o->dry_run) {
        if (db_exists && (rc = store_open_readonly(&c.db, o->db_path, e)) != 0)
            goto done;
    } else {
        stop_signal = 0;
        install_stop_handlers(old_handlers);
        handlers = true;
        if ((rc = store_open(&c.db, o->db_path, e)) != 0)
            goto done;
        if ((rc = store_reclaim_orphans(c.db, NULL, e)) != 0 ||
            (rc = store_mark_stale(c.db, NULL, o->stale_after_s, e)) != 0)
            goto done;
    }
    if ((rc = read_statuses(&c, e)) != 0)
        goto done;
    c.n_todo = c.n_plan - sum->skipped - sum->busy;
    int cpus = prov_cpus_usable();
    c.jobs = o->jobs > 0 ? o->jobs : default_jobs(c.n_todo, cpus);
    c.threads = cpus / c.jobs > 0 ? cpus / c.jobs : 1;
    print_plan(&c);
    if (o->dry_run)
        goto done;
    if (stop_signal) {
        /* stopped while planning (a closed pipe at the plan, say): nothing was queued */
        sum->interrupted = c.n_todo;
        rc = sweep_outcome(&c, 0, e);
        goto done;
    }
    if ((rc = choose_kernels(&c, e)) != 0)
        goto done;
    if ((rc = queue_runs(&c, &build, &host, e)) != 0)
        goto done;
    /* Nothing to train (every run done, or running elsewhere): the experiment and its links are
     * recorded all the same, so that a file whose runs all belong to other files (bn.toml's
     * to optimizers.toml's) is reported with them. */
    if (c.n_todo == 0) {
        rc = sweep_outcome(&c, 0, e);
        goto done;
    }

    c.slots = calloc((size_t)c.jobs, sizeof *c.slots);
    if (!c.slots) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < c.jobs; i++)
        c.slots[i].fd = -1;
    c.tty = isatty(fileno(o->out));
    fprintf(o->out, "running %d run%s with %d worker%s of %d thread%s each, into %s\n", c.n_todo,
            c.n_todo == 1 ? "" : "s", c.jobs, c.jobs == 1 ? "" : "s", c.threads,
            c.threads == 1 ? "" : "s", o->db_path);
    rc = run_loop(&c, e);
    if (stop_signal)
        interrupt_unfinished(&c);
    rc = sweep_outcome(&c, rc, e);
done:
    if (handlers)
        restore_stop_handlers(old_handlers);
    store_close(c.db);
    if (have_build)
        prov_build_release(&build);
    free(c.slots);
    free(c.plan);
    free(c.sources);
    exp_release(&c.selected);
    free(c.selection);
    return rc;
}
