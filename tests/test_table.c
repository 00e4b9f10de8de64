/* Tests of harness/table, the one writer of results: the format names; aligned text (UTF-8
 * widths, trailing blanks cut), Markdown (escaped '|', alignment row) and CSV (RFC 4180
 * quoting) and HTML (escaped, in a sideways-scrolling box) of one grid; records as CSV and JSON that agree; numbers as the shortest decimal
 * that reads back (0.05, not 0.050000000000000003), reals that look like integers keeping
 * ".0", booleans as true/false and null as an empty CSV field. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

/* What fn(f) writes, as a malloc'd string. */
#define CAPTURE(buf, stmt)                                                                     \
    do {                                                                                       \
        size_t len_ = 0;                                                                       \
        FILE *f = open_memstream(&(buf), &len_);                                               \
        assert_non_null(f);                                                                    \
        stmt;                                                                                  \
        fclose(f);                                                                             \
    } while (0)

static void test_format_names(void **state)
{
    (void)state;
    table_format f;
    err_info e = {0};
    const char *names[] = {"table", "md", "csv", "json"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(table_format_parse(&f, names[i], &e), 0);
        assert_int_equal(f, (table_format)i);
    }
    assert_int_equal(table_format_parse(&f, "xml", &e), ERR_INVALID);
    assert_string_equal(e.msg, "unknown format 'xml' (valid: table, md, csv, json)");
}

/* A grid of two rows: a label with '±', '|' and a comma, a number column, an empty last cell. */
static void fill(table *t)
{
    static const char *const cols[] = {"<group", ">acc %", "<note"};
    table_init(t, cols, 3);
    const char *r1[] = {"bn=true", "99.10 ± 0.03", ""};
    const char *r2[] = {"a|b, \"c\"", "9.00 ± -", "x"};
    err_info e = {0};
    assert_int_equal(table_row(t, r1, &e), 0);
    assert_int_equal(table_row(t, r2, &e), 0);
}

static void test_grid_formats(void **state)
{
    (void)state;
    table t;
    char *buf = NULL;
    fill(&t);
    CAPTURE(buf, table_print(f, &t, TABLE_TEXT, "  "));
    /* widths in code points: "99.10 ± 0.03" is 12 columns; the empty last cell leaves no
     * trailing blanks */
    assert_string_equal(buf, "  group            acc %  note\n"
                             "  bn=true   99.10 ± 0.03\n"
                             "  a|b, \"c\"      9.00 ± -  x\n");
    free(buf);
    CAPTURE(buf, table_print(f, &t, TABLE_MD, ""));
    assert_string_equal(buf, "| group | acc % | note |\n|---|---:|---|\n"
                             "| bn=true | 99.10 ± 0.03 |  |\n"
                             "| a\\|b, \"c\" | 9.00 ± - | x |\n");
    free(buf);
    CAPTURE(buf, table_print(f, &t, TABLE_CSV, ""));
    assert_string_equal(buf, "group,acc %,note\nbn=true,99.10 ± 0.03,\n"
                             "\"a|b, \"\"c\"\"\",9.00 ± -,x\n");
    free(buf);
    /* HTML: escaped cells with their alignment, inside the box the page scrolls sideways */
    CAPTURE(buf, table_print(f, &t, TABLE_HTML, ""));
    assert_string_equal(buf, "<div class=\"wide\"><table>\n<thead><tr><th class=\"l\">group</th>"
                             "<th class=\"r\">acc %</th><th class=\"l\">note</th></tr></thead>\n<tbody>\n"
                             "<tr><td class=\"l\">bn=true</td><td class=\"r\">99.10 ± 0.03</td>"
                             "<td class=\"l\"></td></tr>\n"
                             "<tr><td class=\"l\">a|b, &quot;c&quot;</td><td class=\"r\">9.00 ± -</td>"
                             "<td class=\"l\">x</td></tr>\n</tbody>\n</table></div>\n");
    free(buf);
    table_free(&t);
}

static void test_cells(void **state)
{
    (void)state;
    char buf[64];
    table_cell_num(buf, sizeof buf, "%.2f", NAN);
    assert_string_equal(buf, "-");
    stats_summary s;
    const double x[] = {0.99, 0.97};
    stats_summarize(&s, x, 2);
    table_cell_pm(buf, sizeof buf, &s, 100.0, 2);
    assert_string_equal(buf, "98.00 ± 1.41");
    stats_summarize(&s, x, 1);
    table_cell_pm(buf, sizeof buf, &s, 100.0, 2);
    assert_string_equal(buf, "99.00 ± -");
    table_cell_ci(buf, sizeof buf, 0.5, 1.0, 100.0, 1);
    assert_string_equal(buf, "[50.0, 100.0]");
    table_cell_date(buf, sizeof buf, "2024-05-01T12:34:56.789Z");
    assert_string_equal(buf, "2024-05-01 12:34");
}

/* The same records as CSV and as JSON: one description, two formats that agree. */
static void test_records(void **state)
{
    (void)state;
    json_t *recs = json_array();
    json_array_append_new(recs, json_pack("{s:s, s:f, s:b, s:i, s:o}", "name", "a,b", "lr", 0.05,
                                          "bn", 1, "seed", 3, "sd", table_json_num(NAN)));
    json_array_append_new(recs, json_pack("{s:s, s:f, s:b}", "name", "plain", "lr", 1.0, "bn",
                                          0));
    static const char *const names[] = {"name", "lr", "bn", "seed", "sd"};
    char *buf = NULL;
    CAPTURE(buf, table_records_csv(f, names, 5, recs));
    assert_string_equal(buf, "name,lr,bn,seed,sd\n\"a,b\",0.05,true,3,\nplain,1,false,,\n");
    free(buf);
    err_info e = {0};
    CAPTURE(buf, assert_int_equal(table_json_write(f, json_pack("{s:O}", "rows", recs), &e), 0));
    assert_string_equal(buf, "{\n"
                             "  \"rows\": [\n"
                             "    {\n"
                             "      \"name\": \"a,b\",\n"
                             "      \"lr\": 0.05,\n"
                             "      \"bn\": true,\n"
                             "      \"seed\": 3,\n"
                             "      \"sd\": null\n"
                             "    },\n"
                             "    {\n"
                             "      \"name\": \"plain\",\n"
                             "      \"lr\": 1.0,\n"
                             "      \"bn\": false\n"
                             "    }\n"
                             "  ]\n"
                             "}\n");
    free(buf);
    json_decref(recs);
}

/* Every real reads back as the same double, in the fewest digits. */
static void test_shortest_reals(void **state)
{
    (void)state;
    const double v[] = {0.05, 0.1, 1e-5, 0.9924999999999999, 1.0 / 3.0, 123456.75, 1e300};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *buf = NULL;
        err_info e = {0};
        CAPTURE(buf, assert_int_equal(table_json_write(f, json_real(v[i]), &e), 0));
        assert_true(strtod(buf, NULL) == v[i]);
        char cell[64];
        json_t *j = json_real(v[i]);
        table_csv_value(cell, sizeof cell, j);
        json_decref(j);
        assert_true(strtod(cell, NULL) == v[i]);
        free(buf);
    }
    char *buf = NULL;
    err_info e = {0};
    CAPTURE(buf, table_json_write(f, json_real(0.05), &e));
    assert_string_equal(buf, "0.05\n");
    free(buf);
    CAPTURE(buf, table_json_write(f, json_real(1e-5), &e));
    assert_string_equal(buf, "1e-05\n");
    free(buf);
    /* a failed allocation while building the document */
    CAPTURE(buf, assert_int_equal(table_json_write(f, NULL, &e), ERR_NOMEM));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_names),
        cmocka_unit_test(test_grid_formats),
        cmocka_unit_test(test_cells),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_shortest_reals),
    };
    return cmocka_run_group_tests_name("table", tests, NULL, NULL);
}
