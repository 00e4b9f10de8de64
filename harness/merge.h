/* merge: several results databases into one (bench merge), such as the per-task databases of
 * a Slurm array (slurm.h). A union by run key without duplicates, in which the better copy of
 * a run wins whichever file holds it, and which refuses to choose between two COMPLETED
 * copies of one key with different parameters (the same configuration, data and build gave
 * two results: a determinism failure). The rules are store_merge's (store.h). */
#ifndef BENCH_MERGE_H
#define BENCH_MERGE_H

#include <stdio.h>

#include "err.h"
#include "store.h"

/* Merge the databases srcs[0..n) into the database at into (created when missing): first
 * every source is checked (store_merge_check; nothing is written when one fails, and a
 * database this call created is removed again), then each is merged in its own transaction,
 * with one line per source on out (may be NULL). *total <- the counts over all sources.
 * ERR_INVALID when into is also a source. */
int merge_databases(store_merge_counts *total, const char *into, const char *const *srcs, int n,
                    FILE *out, err_info *e);

#endif
