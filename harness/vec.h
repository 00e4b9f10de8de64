/* vec: the one growable-array helper of the harness (like git's ALLOC_GROW). Header-only.
 *
 *   if (!vec_grow((void **)&v, n, &cap, sizeof *v)) return err_set(e, ERR_NOMEM, ...);
 *   v[n++] = x;
 *
 * Capacities double from 4; on failure the array is left as it was. */
#ifndef BENCH_VEC_H
#define BENCH_VEC_H

#include <stdbool.h>
#include <stdlib.h>

/* *v (of *cap elements of size sz) grown to hold n + 1; false when out of memory. */
static inline bool vec_grow(void **v, int n, int *cap, size_t sz)
{
    if (n < *cap)
        return true;
    int c = *cap ? 2 * *cap : 4;
    void *w = realloc(*v, (size_t)c * sz);
    if (!w)
        return false;
    *v = w;
    *cap = c;
    return true;
}

#endif
