#define _POSIX_C_SOURCE 200809L

#include "timing.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <sys/resource.h>

#include "clock.h"

/* Run-queue wait of every live thread of this process, in seconds; NAN when unreadable.
 * /proc/self/task/<tid>/schedstat holds "<on-cpu ns> <run-queue wait ns> <timeslices>". */
static double timing_wait_now(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return NAN;
    double ns = 0.0;
    int threads = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue; /* the thread ended since readdir */
        unsigned long long on_cpu, waited;
        if (fscanf(f, "%llu %llu", &on_cpu, &waited) == 2) {
            ns += (double)waited;
            threads++;
        }
        fclose(f);
    }
    closedir(d);
    return threads > 0 ? ns * 1e-9 : NAN;
}

void timing_mark_now(timing_mark *m)
{
    m->wait = timing_wait_now();
    struct rusage ru;
    m->nivcsw = getrusage(RUSAGE_SELF, &ru) == 0 ? (int64_t)ru.ru_nivcsw : -1;
    m->cpu = clock_cpu();
    m->wall = clock_wall();
}

timing_span timing_span_between(const timing_mark *a, const timing_mark *b)
{
    timing_span s = {
        .wall_s = b->wall - a->wall,
        .cpu_s = b->cpu - a->cpu,
        .wait_s = b->wait - a->wait, /* NAN when either is unknown */
        .nivcsw = a->nivcsw >= 0 && b->nivcsw >= 0 ? b->nivcsw - a->nivcsw : -1,
    };
    if (s.wait_s < 0.0)
        s.wait_s = 0.0;
    return s;
}

bool timing_contended(const timing_span *s)
{
    /* false for NAN: comparisons with NAN are false */
    return s->wait_s > TIMING_CONTENDED_SHARE * s->cpu_s;
}

double timing_wait_share(const timing_span *s)
{
    return s->cpu_s > 0.0 ? s->wait_s / s->cpu_s : NAN;
}

void timing_span_add(timing_span *sum, const timing_span *s)
{
    sum->wall_s += s->wall_s;
    sum->cpu_s += s->cpu_s;
    sum->wait_s += s->wait_s;
    sum->nivcsw = sum->nivcsw < 0 || s->nivcsw < 0 ? -1 : sum->nivcsw + s->nivcsw;
}

void timing_run_add(timing_run *r, const timing_span *epoch)
{
    r->epochs++;
    if (!isnan(epoch->wall_s))
        r->wall_s += epoch->wall_s;
    if (!isnan(epoch->cpu_s))
        r->cpu_s += epoch->cpu_s;
    if (timing_contended(epoch))
        r->contended++;
    else if (!isnan(epoch->wall_s))
        r->quiet_wall_s += epoch->wall_s;
}

double timing_run_gate_s(const timing_run *r, int threads)
{
    if (r->epochs == 0)
        return NAN;
    int quiet = r->epochs - r->contended;
    if (quiet > 0)
        return r->quiet_wall_s / quiet * r->epochs;
    return r->cpu_s / (threads > 1 ? threads : 1);
}

timing_span timing_span_of(const store_epoch *ep)
{
    return (timing_span){.wall_s = ep->wall_s, .cpu_s = ep->cpu_s, .wait_s = ep->wait_s,
                         .nivcsw = ep->nivcsw};
}

static int timing_fold(void *ctx, const store_epoch *ep)
{
    const timing_span s = timing_span_of(ep);
    timing_run_add(ctx, &s);
    return 0;
}

int timing_run_load(timing_run *out, store *s, const char *run_key, err_info *e)
{
    *out = (timing_run){0};
    return store_epochs(s, run_key, false, timing_fold, out, e);
}
