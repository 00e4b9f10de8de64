/* rundiff: what differs between two stored runs, for `bench diff`: their configurations key
 * by key (the vocabulary of exp.h), their builds, hosts and data sets, then their results
 * (status, epochs, the last epoch's metrics, training time, parameter checksum). */
#ifndef BENCH_RUNDIFF_H
#define BENCH_RUNDIFF_H

#include <jansson.h>

#include "err.h"
#include "store.h"

/* *out <- {"a": KEY, "b": KEY, "configuration": [ROW...], "provenance": [ROW...],
 * "metrics": [ROW...]} for the runs with keys a and b (exact keys), where a ROW of the first
 * two is {"key", "a", "b"} (typed values, null when a run lacks it) for each key whose values
 * differ, and a ROW of metrics is {"key", "a", "b", "delta"} (delta = b - a for numbers, null
 * otherwise) for every result, equal or not. ERR_INVALID when a run is absent, ERR_NOMEM. */
int rundiff_runs(json_t **out, store *s, const char *a, const char *b, err_info *e);

#endif
