/* merge: results databases into one. See merge.h; the SQL is store_merge's. */
#define _POSIX_C_SOURCE 200809L
#include "merge.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Remove a database this call created, with its WAL files. */
static void remove_db(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char p[4200];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
        if (snprintf(p, sizeof p, "%s%s", path, suffixes[i]) < (int)sizeof p)
            unlink(p);
}

int merge_databases(store_merge_counts *total, const char *into, const char *const *srcs, int n,
                    FILE *out, err_info *e)
{
    memset(total, 0, sizeof *total);
    struct stat dst, src;
    bool existed = stat(into, &dst) == 0;
    for (int i = 0; i < n; i++) {
        if (stat(srcs[i], &src) != 0)
            return err_set(e, ERR_IO, "cannot merge '%s': %s", srcs[i], strerror(errno));
        if (existed && src.st_dev == dst.st_dev && src.st_ino == dst.st_ino)
            return err_set(e, ERR_INVALID, "'%s' is the database merged into (--into '%s'): "
                           "leave it out of the sources", srcs[i], into);
    }
    store *s = NULL;
    int rc = store_open(&s, into, e);
    if (rc)
        return rc;
    if ((rc = store_merge_check(s, srcs, n, e)))
        goto done;
    for (int i = 0; rc == 0 && i < n; i++) {
        store_merge_counts c = {0};
        if ((rc = store_merge(s, &c, srcs[i], e)))
            break;
        if (out)
            fprintf(out, "%s: %d run%s added, %d replaced by a better copy, %d kept; %d perf "
                    "measurement%s added\n", srcs[i], c.runs_added, c.runs_added == 1 ? "" : "s",
                    c.runs_replaced, c.runs_kept, c.perf_added, c.perf_added == 1 ? "" : "s");
        total->runs_added += c.runs_added;
        total->runs_replaced += c.runs_replaced;
        total->runs_kept += c.runs_kept;
        total->perf_added += c.perf_added;
    }
done:
    store_close(s);
    if (rc && !existed)
        remove_db(into);
    return rc;
}
