/* proc: running another program (gnuplot, Slurm's sbatch, scontrol, squeue) and reading what
 * it says. No shell is involved: arguments are passed as they are. */
#ifndef BENCH_PROC_H
#define BENCH_PROC_H

#include <stddef.h>

#include "err.h"

/* Run argv (argv[0] searched on PATH, as execvp does) with standard input from /dev/null and
 * wait for it. out[0..n) <- the last n-1 bytes of what it wrote on standard output and error
 * together, NUL-terminated (n >= 1); *wait_status <- its status as waitpid gives it (a
 * program that cannot be started exits 127 after saying why). Returns ERR_IO only when no
 * process could be started or waited for. */
int proc_run(char *out, size_t n, int *wait_status, const char *const *argv, err_info *e);

/* The last non-empty line of text, for a one-line message: trailing newlines and blanks are
 * cut from text in place, and the returned pointer is into text. */
const char *proc_last_line(char *text);

#endif
