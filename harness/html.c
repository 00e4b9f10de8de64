/* html: the self-contained report page. See html.h for the contract. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, mkstemp, nftw, fdopen */
#define _XOPEN_SOURCE 700
#include "html.h"

#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plot.h"
#include "table.h"

#ifndef BENCH_VERSION
#define BENCH_VERSION "unknown"
#endif

/* The page's whole style: readable tables, figures that fit the window. */
static const char html_css[] =
    "body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}"
    "h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;margin-top:2em}"
    "div.wide{overflow-x:auto;max-width:100%}"
    "table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}"
    "th,td{border:1px solid #ddd;padding:.25em .6em;white-space:nowrap}"
    "th{background:#f3f3f3}td.r,th.r{text-align:right}td.l,th.l{text-align:left}"
    "p.notes{font-size:.85em;color:#555}"
    "figure.plot{display:inline-block;vertical-align:top;width:49%;margin:.5em 0}"
    "figure.plot svg{width:100%;height:auto}"
    "figcaption{font-size:.8em;color:#666}.meta{color:#555;font-size:.9em}";

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(p);
    return 0;
}

/* Copy the <svg> element of the SVG file at path into f, inside a <figure>. A file with a
 * <script> is refused (the page runs no code). */
static int inline_svg(FILE *f, const char *path, const char *caption, err_info *e)
{
    FILE *in = fopen(path, "rb");
    if (!in)
        return err_set(e, ERR_IO, "cannot read figure '%s': %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    int rc = 0;
    if (!m) {
        fclose(in);
        return err_set(e, ERR_NOMEM, "out of memory reading '%s'", path);
    }
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, in)) > 0)
        fwrite(chunk, 1, got, m);
    int bad = ferror(in);
    fclose(in);
    fclose(m);
    const char *svg = buf ? strstr(buf, "<svg") : NULL;
    if (bad || !svg)
        rc = err_set(e, ERR_IO, "figure '%s' is not an SVG file", path);
    else if (strstr(svg, "<script"))
        rc = err_set(e, ERR_INVALID, "figure '%s' holds a script; the page runs none", path);
    else {
        fputs("<figure class=\"plot\">\n", f);
        fputs(svg, f);
        fputs("<figcaption>", f);
        table_html_escape(f, caption);
        fputs("</figcaption>\n</figure>\n", f);
    }
    free(buf);
    return rc;
}

/* The figures of every experiment of set, rendered as SVG under tmp and inlined. */
static int figures(FILE *f, const plot_set *set, const html_options *o, const char *tmp,
                   err_info *e)
{
    int rc = 0;
    if (!plot_gnuplot_available()) {
        table_line(f, TABLE_HTML, "gnuplot is not on PATH: no figures (bench plot writes their "
                                  "scripts)");
        return 0;
    }
    for (int i = 0; i < set->n && !rc; i++) {
        const plot_experiment *x = &set->x[i];
        char dir[PLOT_PATH_MAX];
        snprintf(dir, sizeof dir, "%s/%s", tmp, x->dir_name);
        plot_scripts l = {0};
        plot_options po = {.dir = dir, .format = PLOT_SVG, .claims = o->claims};
        table_heading(f, TABLE_HTML, 1, "figures of %s", x->name);
        rc = plot_write(x, &po, plot_scripts_note, &l, e);
        if (rc == ERR_NOMEM && !e->msg[0])
            rc = err_set(e, ERR_NOMEM, "out of memory");
        for (int k = 0; k < l.n && !rc; k++) {
            char svg[PLOT_PATH_MAX + 8];
            size_t n = strlen(l.v[k]);
            snprintf(svg, sizeof svg, "%.*s.svg", (int)(n - 3), l.v[k]);
            const char *base = strrchr(svg, '/') ? strrchr(svg, '/') + 1 : svg;
            if (!(rc = plot_render(l.v[k], e)))
                rc = inline_svg(f, svg, base, e);
        }
        plot_scripts_free(&l);
    }
    return rc;
}

int html_report(FILE *f, store *s, const html_options *o, err_info *e)
{
    report r = {0};
    plot_set set = {0};
    report_claim *rows = NULL;
    char tmp[PLOT_PATH_MAX] = "";
    int n_rows = 0, rc;
    report_options ro = report_options_default();
    ro.experiment = o->experiment;
    ro.epoch = o->epoch;
    plot_query q = {.experiment = o->experiment};
    if ((rc = report_load(&r, s, &ro, e)) || (rc = plot_load(&set, s, &q, e)))
        goto done;
    if (o->claims && (rc = report_paper(&rows, &n_rows, s, o->claims, o->experiment, o->epoch, e)))
        goto done;
    const char *t = o->tmp_dir ? o->tmp_dir : getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/bench-html.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmp)) {
        rc = err_set(e, ERR_IO, "cannot make a directory for the figures under '%s': %s",
                     t && *t ? t : "/tmp", strerror(errno));
        tmp[0] = '\0';
        goto done;
    }
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime_r(&now, &tm));
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          f);
    fputs("bench report", f);
    if (o->experiment) {
        fputs(": ", f);
        table_html_escape(f, o->experiment);
    }
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>bench report", html_css);
    if (o->experiment) {
        fputs(": ", f);
        table_html_escape(f, o->experiment);
    }
    fputs("</h1>\n<p class=\"meta\">database ", f);
    table_html_escape(f, o->db_path ? o->db_path : store_path(s));
    fprintf(f, ", written %s by bench %s</p>\n", when, BENCH_VERSION);
    if (o->claims) {
        fputs("<h2>verdicts</h2>\n", f);
        if (n_rows == 0)
            table_line(f, TABLE_HTML, "no claim names this experiment");
        else if ((rc = report_paper_render(f, rows, n_rows, TABLE_HTML, e)))
            goto done;
    }
    fputs("<h2>results</h2>\n", f);
    if ((rc = report_render(f, NULL, &r, TABLE_HTML, e)))
        goto done;
    fputs("<h2>figures</h2>\n", f);
    if ((rc = figures(f, &set, o, tmp, e)))
        goto done;
    fputs("<h2>provenance</h2>\n", f);
    r.opt.provenance = true;
    if ((rc = report_render(f, NULL, &r, TABLE_HTML, e)))
        goto done;
    fputs("</body>\n</html>\n", f);
done:
    if (tmp[0])
        nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(rows);
    plot_set_release(&set);
    report_release(&r);
    return rc;
}

int html_report_file(const char *path, store *s, const html_options *o, err_info *e)
{
    char tmp[PLOT_PATH_MAX + 16];
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp)
        return err_set(e, ERR_INVALID, "path '%.64s...' is too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    fchmod(fd, 0644); /* a page to publish, not mkstemp's 0600 */
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        return err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    }
    int rc = html_report(f, s, o, e);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (!rc && bad)
        rc = err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    if (!rc && rename(tmp, path) != 0)
        rc = err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    if (rc)
        unlink(tmp);
    return rc;
}
