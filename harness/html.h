/* html: the self-contained HTML page of `bench report --format html`: the claims against the
 * measurements with their verdicts, the groups tables, the figures and the provenance of one
 * experiment or of the whole database, in one file a reader opens from CI artifacts or a web
 * server.
 *
 * The page needs nothing but itself: its style sheet is inline, every figure is inline SVG
 * (bench plot's scripts rendered by gnuplot into a temporary directory, then removed), it
 * loads nothing from the network and runs no JavaScript (the SVG carries none: a figure whose
 * SVG holds a <script> element is refused). Every text from the database (names, labels,
 * messages) is escaped through table.h's HTML writer. Without gnuplot on PATH the page says
 * so where the figures would be.
 *
 * Layout: <h1> title and what was reported (database, date, bench version); "verdicts" (the
 * claims table, only the claims that name the experiment when there is one); per experiment
 * the groups table of `bench report` and its figures, one <figure class="plot"> each with the
 * figure's file name as caption; then "provenance" (builds, hosts, data sets). */
#ifndef BENCH_HTML_H
#define BENCH_HTML_H

#include <stdio.h>

#include "claims.h"
#include "err.h"
#include "report.h"
#include "store.h"

/* What the page reports. */
typedef struct html_options {
    const char *experiment; /* NULL: every experiment */
    const char *db_path;    /* as the user named it, for the header */
    int epoch;              /* 0: each run's last epoch */
    const claims *claims;   /* may be NULL: no verdicts section */
    const char *tmp_dir;    /* where figures are rendered (a fresh subdirectory is made and
                             * removed); NULL: $TMPDIR, else /tmp */
} html_options;

/* Write the page to f. Errors: those of the report and of the plots (ERR_INVALID when the
 * database has no runs of the experiment), ERR_IO when gnuplot fails on a figure. */
int html_report(FILE *f, store *s, const html_options *o, err_info *e);

/* Write the page to path (written beside it under a temporary name, then renamed, so that a
 * failure leaves no half-written page). */
int html_report_file(const char *path, store *s, const html_options *o, err_info *e);

#endif
