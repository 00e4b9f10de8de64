/* hog.h: load for the tests of time under contention (header-only, like cli.h): child processes
 * that keep a CPU busy until they are stopped, each killed by its own alarm after two minutes
 * should the test die first. Include after <cmocka.h>, in a file that defines
 * _XOPEN_SOURCE 700 (fork, kill). */
#ifndef BENCH_TESTS_HOG_H
#define BENCH_TESTS_HOG_H

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

enum { HOG_MAX = 64 };

/* One more busy process than the machine has CPUs: whatever runs beside them waits for a CPU
 * about as long as it runs. */
static inline int hog_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 2 : n + 1 > HOG_MAX ? HOG_MAX : (int)n + 1;
}

/* Start n hogs into pids. */
static inline void hog_start(pid_t *pids, int n)
{
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            alarm(120);
            volatile unsigned long x = 0;
            for (;;)
                x++;
        }
    }
}

/* Stop the n hogs of pids (those this test started, by their id). */
static inline void hog_stop(const pid_t *pids, int n)
{
    for (int i = 0; i < n; i++) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
    }
}

#endif
