/* timing: what a span of training cost this process, whether other processes took CPUs from
 * it meanwhile (contention), and the training time the budget gate compares.
 *
 * A mark (timing_mark_now) is a snapshot of the process:
 *   wall    seconds on CLOCK_MONOTONIC;
 *   cpu     CPU seconds of all its threads, user + system (CLOCK_PROCESS_CPUTIME_ID);
 *   wait    run-queue wait: seconds its threads were ready to run but waited for a CPU,
 *           summed over its threads (second field of /proc/self/task/<tid>/schedstat;
 *           NAN where the kernel does not provide it);
 *   nivcsw  involuntary context switches of all its threads (getrusage): how often the
 *           scheduler took a CPU away from one of them.
 * A span (timing_span_between) is the difference of two marks: what one epoch cost.
 *
 * Why run-queue wait measures contention: it is the time this process lost to others, in
 * seconds, per process. The load average is the machine's, counts this process's own threads,
 * and is a one-minute damped average that lags an epoch of a few seconds; involuntary context
 * switches count preemptions but not how long they lasted (they are stored beside the wait as
 * a cross-check that survives thread exit).
 *
 * The rules (one place, used by bench check, report, ls, show and perf):
 *
 * Contended span: its threads waited for a CPU for more than TIMING_CONTENDED_SHARE (10%) of
 *   the CPU time they got: wait > 0.10 * cpu. Its wall time then includes other processes'
 *   work. Measured on 2 cores: quiet training epochs wait 0 to 3% of their CPU time; beside
 *   other busy processes, 35% to over 300%. A span whose wait is unknown (NAN: an older
 *   database, a kernel without schedstat) counts as not contended.
 *
 * Gate time of a run (timing_run_gate_s), the training time `bench check --budget` compares:
 *   - when some of its epochs were not contended: the mean wall time of those epochs times the
 *     number of epochs (epochs that shared the machine are replaced by the run's own
 *     uncontended speed; on a quiet machine it is the plain sum of the epochs' wall time);
 *   - when every epoch was contended: the CPU time of its epochs divided by its threads.
 *   Load alone does not move it: contended epochs never enter the first form, and a
 *   single-threaded run's CPU time does not grow while it waits. A real slowdown moves it: twice
 *   the work doubles both the uncontended epochs' wall time and the CPU time. Limit: with more
 *   than one thread, the kernels' threads spin at their barriers while a preempted peer waits
 *   for a CPU, so a multi-threaded run contended in every epoch has its CPU time inflated (up
 *   to 9x per epoch measured on 2 cores with 2 busy processes beside it) and the second form
 *   overestimates; experiments gated under load should train with threads = 1. */
#ifndef BENCH_TIMING_H
#define BENCH_TIMING_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

/* The contended threshold: run-queue wait over CPU time. */
#define TIMING_CONTENDED_SHARE 0.10

typedef struct timing_mark {
    double wall, cpu, wait; /* seconds; wait NAN when unknown */
    int64_t nivcsw;
} timing_mark;

typedef struct timing_span {
    double wall_s;   /* elapsed */
    double cpu_s;    /* user + system of all threads */
    double wait_s;   /* run-queue wait of all threads; NAN when unknown */
    int64_t nivcsw;  /* involuntary context switches; -1 when unknown */
} timing_span;

/* *m <- this process now. Never fails: what cannot be read is NAN (wait) or -1 (nivcsw). */
void timing_mark_now(timing_mark *m);

/* The cost of the work between marks a and b (a taken first). A thread that ended between
 * them takes its run-queue wait with it, so the wait is clamped at 0. */
timing_span timing_span_between(const timing_mark *a, const timing_mark *b);

/* *sum <- *sum followed by s (zero-initialise sum first): wall, CPU and wait add up (an unknown
 * wait makes the sum's unknown), and so do the switches (unknown: -1). For work timed in
 * pieces, such as bench perf's alternated repetitions. */
void timing_span_add(timing_span *sum, const timing_span *s);

/* True when s was contended: s->wait_s > TIMING_CONTENDED_SHARE * s->cpu_s (false for an
 * unknown wait). */
bool timing_contended(const timing_span *s);

/* Run-queue wait as a share of CPU time (0.25 = waited a quarter of the CPU time it got);
 * NAN when unknown or when no CPU time was used. For messages. */
double timing_wait_share(const timing_span *s);

/* A run's epochs folded together for the gate; zero-initialise, then timing_run_add each
 * epoch in order. */
typedef struct timing_run {
    int epochs;          /* epochs added */
    int contended;       /* of which contended */
    double wall_s;       /* wall time of every epoch */
    double quiet_wall_s; /* wall time of the epochs not contended */
    double cpu_s;        /* CPU time of every epoch (NAN parts skipped) */
} timing_run;

void timing_run_add(timing_run *r, const timing_span *epoch);

/* The gate time of r (see the header comment) for a run trained with threads threads
 * (< 1: taken as 1). NAN when no epoch was added. */
double timing_run_gate_s(const timing_run *r, int threads);

/* The span a stored epoch recorded (its training iterations). */
timing_span timing_span_of(const store_epoch *ep);

/* *out <- the stored epochs of run run_key folded in order (none: zero epochs). */
int timing_run_load(timing_run *out, store *s, const char *run_key, err_info *e);

#endif
