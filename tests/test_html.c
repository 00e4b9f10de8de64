/* Tests of harness/html and `bench report --format html`: the page is one self-contained file
 * (no script, no external resource, every name escaped) with the verdicts, the groups table,
 * the figures as inline SVG and the provenance; --out writes it atomically; usage errors.
 * Then a real browser: Debian's headless chromium loads the page without errors, its DOM has
 * every figure as a drawn <svg> (paths and text inside), and it renders a screenshot (a PNG).
 * The browser part is skipped, saying so, where chromium or gnuplot is missing (scripts/setup
 * installs both). */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "plot.h"
#include "report_fixture.h"

/* How many times needle occurs in hay. */
static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The first of the names that is an executable on PATH, else NULL. */
static const char *on_path(const char *const *names)
{
    const char *path = getenv("PATH");
    for (int i = 0; names[i]; i++) {
        char buf[4096];
        for (const char *p = path ? path : ""; *p;) {
            size_t len = strcspn(p, ":");
            snprintf(buf, sizeof buf, "%.*s/%s", (int)len, p, names[i]);
            if (access(buf, X_OK) == 0)
                return names[i];
            p += len + (p[len] == ':');
        }
    }
    return NULL;
}

static fix_db *make_db(void)
{
    fix_db *f = fix_db_new("test_html");
    /* a name that would be markup if it were not escaped */
    int64_t x = fix_experiment(f->s, "paper", "[experiment]\nname = \"paper\"\n");
    int64_t y = fix_experiment(f->s, "<b>x</b>&'\"", "[experiment]\nname = \"y\"\n");
    fix_add(f->s, x, &(fix_run){"p1aaaaa", "momentum", 1, 1, RUN_COMPLETED, 0.991, 10, 11, 0, NULL});
    fix_add(f->s, x, &(fix_run){"p2aaaaa", "momentum", 1, 2, RUN_COMPLETED, 0.993, 10, 12, 0, NULL});
    fix_add(f->s, x, &(fix_run){"p3aaaaa", "adam", 1, 1, RUN_COMPLETED, 0.985, 10, 11, 0, NULL});
    fix_add(f->s, x, &(fix_run){"p4aaaaa", "adam", 1, 2, RUN_COMPLETED, 0.987, 10, 11, 0, NULL});
    fix_add(f->s, y, &(fix_run){"y1aaaaa", "sgd", 0, 1, RUN_COMPLETED, 0.95, 10, 11, 0, NULL});
    return f;
}

/* The page, read back; asserts what holds with or without gnuplot. */
static char *page_checks(const char *path)
{
    char *html = cli_read_file(path, NULL);
    assert_int_equal(strncmp(html, "<!DOCTYPE html>\n<html", 21), 0);
    assert_non_null(strstr(html, "</html>\n"));
    /* self-contained: no script, no external resource of any kind */
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, " src="));
    assert_null(strstr(html, "url("));
    assert_null(strstr(html, "href=\"http"));
    assert_null(strstr(html, "<b>x</b>"));
    assert_non_null(strstr(html, "&lt;b&gt;x&lt;/b&gt;&amp;&#39;&quot;"));
    /* the verdicts, the groups, the provenance */
    assert_non_null(strstr(html, "<h2>verdicts</h2>"));
    assert_non_null(strstr(html, "<td class=\"l\">test accuracy (Lee &amp; Rhee 2024)</td>"));
    assert_non_null(strstr(html, "<h2>results</h2>"));
    assert_non_null(strstr(html, "<td class=\"l\">optimizer=momentum</td>"));
    assert_non_null(strstr(html, "<h2>figures</h2>"));
    assert_non_null(strstr(html, "<h2>provenance</h2>"));
    assert_non_null(strstr(html, "<h4>builds</h4>"));
    return html;
}

/* bench report --format html --out DIR/page.html on f: the page's path in page. */
static void write_page(char *page, size_t n, const fix_db *f, cli_result *r)
{
    snprintf(page, n, "%s/page.html", f->dir);
    cli_run_bench(r, NULL, (const char *const[]){"report", "--db", f->db, "--format", "html",
                                                 "--out", page, NULL});
    if (r->status != 0)
        fail_msg("exit %d: %s", r->status, r->err);
}

static void test_page(void **state)
{
    (void)state;
    fix_db *f = make_db();
    char page[400];
    cli_result *r = malloc(sizeof *r);
    assert_non_null(r);
    write_page(page, sizeof page, f, r);
    assert_string_equal(r->out, "");
    char *html = page_checks(page);
    if (plot_gnuplot_available()) {
        /* paper: fig4 x2, confusion x2, optimizers, loss, time; y: fig4, confusion, loss, time */
        assert_int_equal(count(html, "<figure class=\"plot\">"), 11);
        assert_int_equal(count(html, "<svg"), 11);
        assert_non_null(strstr(html, "<figcaption>optimizers.svg</figcaption>"));
        assert_non_null(strstr(html, "claimed 99.22%"));
    } else {
        assert_non_null(strstr(html, "gnuplot is not on PATH"));
    }
    struct stat st;
    assert_int_equal(stat(page, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644 & ~(unsigned)umask(022));
    free(html);

    /* one experiment: its claims only, its section only; to stdout */
    cli_run_bench(r, NULL, (const char *const[]){"report", "--db", f->db, "--format", "html",
                                                 "-e", "paper", NULL});
    assert_int_equal(r->status, 0);
    assert_non_null(strstr(r->out, "<h1>bench report: paper</h1>"));
    assert_null(strstr(r->out, "&lt;b&gt;"));

    /* usage: --out needs html, html is the whole report; a page that cannot be written
     * leaves nothing behind */
    cli_run_bench(r, NULL, (const char *const[]){"report", "--db", f->db, "--out", page, NULL});
    assert_int_equal(r->status, 2);
    assert_non_null(strstr(r->err, "--out writes a page: it needs --format html"));
    cli_run_bench(r, NULL, (const char *const[]){"report", "--db", f->db, "--format", "html",
                                                 "--paper", NULL});
    assert_int_equal(r->status, 2);
    assert_non_null(strstr(r->err, "--format html is the whole report: not with --paper"));
    cli_run_bench(r, NULL, (const char *const[]){"report", "--db", f->db, "--format", "xml",
                                                 NULL});
    assert_int_equal(r->status, 2);
    assert_non_null(strstr(r->err, "unknown format 'xml' (valid: table, md, csv, json, html)"));
    char bad[400];
    snprintf(bad, sizeof bad, "%s/nodir/page.html", f->dir);
    cli_run_bench(r, NULL, (const char *const[]){"report", "--db", f->db, "--format", "html",
                                                 "--out", bad, NULL});
    assert_int_equal(r->status, 1);
    assert_non_null(strstr(r->err, "cannot write"));
    /* other commands keep their four formats */
    cli_run_bench(r, NULL, (const char *const[]){"ls", "--db", f->db, "--format", "html", NULL});
    assert_int_equal(r->status, 2);
    free(r);
    fix_db_free(f);
}

/* The page in a real browser. */
static void test_browser(void **state)
{
    (void)state;
    const char *browser = on_path((const char *const[]){"chromium", "chromium-browser", NULL});
    if (!browser || !plot_gnuplot_available()) {
        print_message("skipped: the browser test needs chromium and gnuplot on PATH "
                      "(scripts/setup installs them)\n");
        skip();
    }
    fix_db *f = make_db();
    char page[400], cmd[4096];
    cli_result *r = malloc(sizeof *r);
    assert_non_null(r);
    write_page(page, sizeof page, f, r);
    char *html = page_checks(page);
    int figures = count(html, "<figure class=\"plot\">");
    free(html);
    /* the DOM chromium builds, and a screenshot; a private profile; its log on stderr */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && %s --headless --no-sandbox --disable-gpu --user-data-dir=profile "
             "--enable-logging=stderr --v=0 --dump-dom file://%s > dom.html 2> dom.err && "
             "%s --headless --no-sandbox --disable-gpu --user-data-dir=profile "
             "--window-size=1280,4000 --screenshot=shot.png file://%s > shot.out 2> shot.err",
             f->dir, browser, page, browser, page);
    cli_run(r, NULL, (const char *const[]){"/bin/sh", "-c", cmd, NULL});
    if (r->status != 0)
        fail_msg("chromium exit %d: %s", r->status, r->err);
    char p[600];
    snprintf(p, sizeof p, "%s/dom.err", f->dir);
    char *log = cli_read_file(p, NULL);
    /* loads without errors: no resource it failed to fetch, no console error */
    assert_null(strstr(log, "Failed to load resource"));
    assert_null(strstr(log, "net::ERR"));
    assert_null(strstr(log, "Uncaught"));
    free(log);
    snprintf(p, sizeof p, "%s/dom.html", f->dir);
    char *dom = cli_read_file(p, NULL);
    /* every figure parsed into an <svg> element with drawing in it */
    assert_true(figures > 0);
    assert_int_equal(count(dom, "<figure class=\"plot\">"), figures);
    int drawn = 0;
    for (const char *q = dom; (q = strstr(q, "<figure class=\"plot\">")); q++) {
        const char *end = strstr(q, "</figure>");
        assert_non_null(end);
        const char *svg = strstr(q, "<svg");
        const char *path = strstr(q, "<path");
        const char *text = strstr(q, "<text");
        drawn += svg && svg < end && path && path < end && text && text < end;
    }
    assert_int_equal(drawn, figures);
    assert_non_null(strstr(dom, "</body></html>"));
    free(dom);
    snprintf(p, sizeof p, "%s/shot.png", f->dir);
    size_t len = 0;
    char *png = cli_read_file(p, &len);
    assert_true(len > 10000);
    assert_int_equal(memcmp(png, "\x89PNG\r\n\x1a\n", 8), 0);
    free(png);
    /* BENCH_HTML_SHOT=PATH keeps the screenshot (for a note or a CI artifact) */
    const char *keep = getenv("BENCH_HTML_SHOT");
    if (keep && *keep) {
        snprintf(cmd, sizeof cmd, "cp '%s/shot.png' '%s'", f->dir, keep);
        assert_int_equal(system(cmd), 0);
    }
    free(r);
    fix_db_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page),
        cmocka_unit_test(test_browser),
    };
    return cmocka_run_group_tests_name("html", tests, NULL, NULL);
}
