/* clock: the harness's two clocks. The core never reads a clock (README.md "Conventions" rule 1); the harness
 * times what it drives with these. */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H

/* Seconds on a monotonic clock (CLOCK_MONOTONIC): for durations, never for dates. */
double clock_wall(void);

/* CPU seconds used by this process, all threads (CLOCK_PROCESS_CPUTIME_ID). */
double clock_cpu(void);

#endif
