/* table: the one writer of results, for people and for scripts, used by every command that
 * prints figures (report, history, ls, show, check; perf can use it the same way).
 *
 * Four formats (--format): an aligned table for terminals, Markdown pipe tables, CSV and JSON;
 * and a fifth for a page, HTML, which `bench report --format html` builds its page from.
 *   - A table is a grid of text cells under headings, each column left- or right-aligned;
 *     table_print writes it aligned (two spaces between columns, trailing blanks cut, widths
 *     in UTF-8 code points so that "±" is one column), as Markdown ('|' in a cell escaped,
 *     numbers right-aligned by the "---:" rule) or as CSV (RFC 4180 quoting, header first).
 *   - Machine formats are described once as JSON records: a command builds a JSON array of
 *     flat objects with typed values (numbers, booleans, strings, null) and writes it either
 *     inside its JSON document (table_json_write) or as CSV rows (table_records_csv), whose
 *     cells are the same values as text. So CSV and JSON cannot disagree.
 *   - Numbers in JSON and CSV are written as the shortest decimal that reads back to the same
 *     double (exp_format_number: 0.05, not 0.050000000000000003); booleans are true/false in
 *     both; a value that does not exist is null in JSON and an empty CSV field.
 *   - HTML is the formats for people as elements: a <table> with a header row and a class
 *     "l" or "r" per cell for its alignment, headings and lines of text as <h3>, <h4> and
 *     <p>; every text is escaped (& < > " ' as entities, control characters as U+FFFD), so
 *     that names from experiment files can never become markup.
 *   - Around the tables, headings and lines of text for people go through table_heading,
 *     table_line and table_gap, so that one renderer serves text, Markdown and HTML.
 * Cells for people format a missing value (NAN) as "-". */
#ifndef BENCH_TABLE_H
#define BENCH_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "err.h"
#include "stats.h"

typedef enum table_format { TABLE_TEXT, TABLE_MD, TABLE_CSV, TABLE_JSON, TABLE_HTML } table_format;

/* *out <- the format called name ("table", "md", "csv", "json"); ERR_INVALID listing them. */
int table_format_parse(table_format *out, const char *name, err_info *e);

/* The same, "html" included: for a command that writes a whole page (bench report). */
int table_format_parse_page(table_format *out, const char *name, err_info *e);

#define TABLE_MAX_COLS 32

typedef struct table {
    int ncols;
    const char *head[TABLE_MAX_COLS]; /* views of the column specs given to table_init */
    bool left[TABLE_MAX_COLS];        /* left-aligned (text) rather than right (numbers) */
    int nrows, cap;
    char **cells;                     /* (nrows, ncols), owned */
} table;

/* Columns from specs such as "<group", ">n": '<' left, '>' right aligned; the specs must
 * outlive the table. n <= TABLE_MAX_COLS. */
void table_init(table *t, const char *const *cols, int n);

/* Append a row of ncols cells (copied; NULL is ""). ERR_NOMEM when out of memory. */
int table_row(table *t, const char *const *cells, err_info *e);

/* Write t in fmt (TABLE_TEXT, TABLE_MD, TABLE_CSV or TABLE_HTML); text rows start with
 * indent. */
void table_print(FILE *f, const table *t, table_format fmt, const char *indent);

void table_free(table *t);

/* The end of a table built with rc as its status: print it when rc is 0, free it; returns rc. */
int table_finish(FILE *f, table *t, table_format fmt, const char *indent, int rc);

/* Lines of notes under a table: each line of text indented by two spaces (TABLE_TEXT) or not
 * (Markdown), after a blank line; in HTML one <p class="notes"> with a line break per line. */
void table_notes(FILE *f, const char *text, table_format fmt);

/* ---- text around tables, for people (TABLE_TEXT, TABLE_MD, TABLE_HTML) ------------------- */

/* A heading and the blank line under it. Level 1 (a section): "== T" in text, "## T" in
 * Markdown, <h3> in HTML; level 2 (a part of one): "  T", "### T", <h4>. */
void table_heading(FILE *f, table_format fmt, int level, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* One line of text: "  T" in text, "T" in Markdown, <p>T</p> in HTML. */
void table_line(FILE *f, table_format fmt, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* A blank line between blocks (text, Markdown); nothing in HTML, where elements separate. */
void table_gap(FILE *f, table_format fmt);

/* s with & < > " ' written as entities and control characters (but tab and newline) as
 * U+FFFD: safe as HTML text and inside a quoted attribute. */
void table_html_escape(FILE *f, const char *s);

/* ---- cells for people -------------------------------------------------------------------- */

/* printf of v with fmt ("%.2f"); "-" for NAN. */
void table_cell_num(char *buf, size_t n, const char *fmt, double v);

/* "mean ± sd" of s scaled (100 for percent) with dec decimals; "mean ± -" for one value, "-"
 * for none. */
void table_cell_pm(char *buf, size_t n, const stats_summary *s, double scale, int dec);

/* "[lo, hi]" scaled, dec decimals; "-" when either is NAN. */
void table_cell_ci(char *buf, size_t n, double lo, double hi, double scale, int dec);

/* "2024-05-01 12:34" of a stored "2024-05-01T12:34:56.789Z". */
void table_cell_date(char *buf, size_t n, const char *iso);

/* ---- machine values ---------------------------------------------------------------------- */

/* A JSON number, null for NAN and infinities. */
json_t *table_json_num(double v);

/* A JSON string, null for NULL or "". */
json_t *table_json_text(const char *s);

/* buf <- v as a CSV cell: strings as they are, integers in decimal, reals as the shortest
 * decimal, true/false, "" for null (and for arrays and objects). */
void table_csv_value(char *buf, size_t n, const json_t *v);

/* Write records (a JSON array of objects) as CSV: the header names[0..n), then one line per
 * record with its value of each name (a missing field is empty). Does not steal records. */
void table_records_csv(FILE *f, const char *const *names, int n, const json_t *records);

/* Write doc as indented JSON (two spaces, keys in insertion order, reals as the shortest
 * decimal that reads back, with ".0" when that looks like an integer) and a newline; steals
 * doc. ERR_NOMEM when doc is NULL (a failed allocation while building it). */
int table_json_write(FILE *f, json_t *doc, err_info *e);

#endif
