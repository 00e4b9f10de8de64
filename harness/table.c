/* table: tables, CSV and JSON for every command (see table.h). */
#define _POSIX_C_SOURCE 200809L /* strdup, open_memstream */
#include "table.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exp.h"

static const char *const table_format_names[] = {
    [TABLE_TEXT] = "table", [TABLE_MD] = "md",     [TABLE_CSV] = "csv",
    [TABLE_JSON] = "json",  [TABLE_HTML] = "html",
};

/* The format called name among the first n of table_format_names. */
static int format_parse(table_format *out, const char *name, int n, err_info *e)
{
    char valid[64] = "";
    for (int i = 0; i < n; i++) {
        if (strcasecmp(name, table_format_names[i]) == 0) { /* any case, as every enum */
            *out = (table_format)i;
            return 0;
        }
        snprintf(valid + strlen(valid), sizeof valid - strlen(valid), "%s%s", i ? ", " : "",
                 table_format_names[i]);
    }
    return err_set(e, ERR_INVALID, "unknown format '%s' (valid: %s)", name, valid);
}

int table_format_parse(table_format *out, const char *name, err_info *e)
{
    return format_parse(out, name, TABLE_HTML, e);
}

int table_format_parse_page(table_format *out, const char *name, err_info *e)
{
    return format_parse(out, name, TABLE_HTML + 1, e);
}

/* ---- the grid ------------------------------------------------------------------------------ */

void table_init(table *t, const char *const *cols, int n)
{
    assert(n <= TABLE_MAX_COLS);
    memset(t, 0, sizeof *t);
    t->ncols = n;
    for (int i = 0; i < n; i++) {
        t->left[i] = cols[i][0] == '<';
        t->head[i] = cols[i] + 1;
    }
}

int table_row(table *t, const char *const *cells, err_info *e)
{
    if (t->nrows == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        char **c = realloc(t->cells, (size_t)cap * (size_t)t->ncols * sizeof *c);
        if (!c)
            return err_set(e, ERR_NOMEM, "out of memory building a table");
        t->cells = c;
        t->cap = cap;
    }
    char **row = t->cells + (size_t)t->nrows * (size_t)t->ncols;
    for (int i = 0; i < t->ncols; i++) {
        row[i] = strdup(cells[i] ? cells[i] : "");
        if (!row[i]) {
            for (int j = 0; j < i; j++)
                free(row[j]);
            return err_set(e, ERR_NOMEM, "out of memory building a table");
        }
    }
    t->nrows++;
    return 0;
}

void table_free(table *t)
{
    for (size_t i = 0; i < (size_t)t->nrows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

/* Display width of UTF-8 text: code points, not bytes ("±" is one column). */
static int utf8_width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void csv_cell(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\n\r") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* One row of an aligned table into f (trailing blanks included). */
static void text_row(FILE *f, const table *t, const char *const *row, const int *w)
{
    for (int c = 0; c < t->ncols; c++) {
        int pad = w[c] - utf8_width(row[c]);
        if (c)
            fputs("  ", f);
        if (!t->left[c])
            fprintf(f, "%*s", pad, "");
        fputs(row[c], f);
        if (t->left[c] && c + 1 < t->ncols)
            fprintf(f, "%*s", pad, "");
    }
}

/* One row of a Markdown table ('|' inside a cell would end it, so it is escaped). */
static void md_row(FILE *f, const table *t, const char *const *row)
{
    fputs("|", f);
    for (int c = 0; c < t->ncols; c++) {
        fputc(' ', f);
        for (const char *p = row[c]; *p; p++)
            fputs(*p == '|' ? "\\|" : (char[]){*p, 0}, f);
        fputs(" |", f);
    }
}

/* The first len bytes of s, escaped (table_html_escape). */
static void html_escape_n(FILE *f, const char *s, size_t len)
{
    for (size_t i = 0; i < len && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
                fputs("&#xFFFD;", f);
            else
                fputc(c, f);
        }
    }
}

void table_html_escape(FILE *f, const char *s) { html_escape_n(f, s, strlen(s)); }

/* An HTML table: a header row, then the rows; each cell's class says its alignment. It sits
 * in a <div class="wide"> that the page's style scrolls sideways, so that a table wider than the
 * window (a comparison has 13 columns) scrolls on its own instead of widening the page. */
static void html_table(FILE *f, const table *t)
{
    fputs("<div class=\"wide\"><table>\n<thead><tr>", f);
    for (int c = 0; c < t->ncols; c++) {
        fprintf(f, "<th class=\"%s\">", t->left[c] ? "l" : "r");
        table_html_escape(f, t->head[c]);
        fputs("</th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
    for (int r = 0; r < t->nrows; r++) {
        fputs("<tr>", f);
        for (int c = 0; c < t->ncols; c++) {
            fprintf(f, "<td class=\"%s\">", t->left[c] ? "l" : "r");
            table_html_escape(f, t->cells[(size_t)r * (size_t)t->ncols + (size_t)c]);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody>\n</table></div>\n", f);
}

void table_print(FILE *f, const table *t, table_format fmt, const char *indent)
{
    if (fmt == TABLE_HTML) {
        html_table(f, t);
        return;
    }
    int w[TABLE_MAX_COLS];
    for (int c = 0; c < t->ncols; c++) {
        w[c] = utf8_width(t->head[c]);
        for (int r = 0; r < t->nrows; r++) {
            int cw = utf8_width(t->cells[(size_t)r * (size_t)t->ncols + (size_t)c]);
            w[c] = cw > w[c] ? cw : w[c];
        }
    }
    for (int r = -1; r < t->nrows; r++) {
        const char *const *row =
            r < 0 ? t->head : (const char *const *)t->cells + (size_t)r * (size_t)t->ncols;
        if (fmt == TABLE_CSV) {
            for (int c = 0; c < t->ncols; c++) {
                if (c)
                    fputc(',', f);
                csv_cell(f, row[c]);
            }
        } else if (fmt == TABLE_MD) {
            md_row(f, t, row);
        } else {
            /* Written to a buffer first so that the trailing blanks of empty last cells can
             * be cut; without memory for it, written directly, blanks and all. */
            char *line = NULL;
            size_t len = 0;
            FILE *m = open_memstream(&line, &len);
            fputs(indent, m ? m : f);
            text_row(m ? m : f, t, row, w);
            if (m) {
                fclose(m);
                while (len > 0 && line[len - 1] == ' ')
                    len--;
                fwrite(line, 1, len, f);
                free(line);
            }
        }
        fputc('\n', f);
        if (r < 0 && fmt == TABLE_MD) {
            fputs("|", f);
            for (int c = 0; c < t->ncols; c++)
                fputs(t->left[c] ? "---|" : "---:|", f);
            fputc('\n', f);
        }
    }
}

int table_finish(FILE *f, table *t, table_format fmt, const char *indent, int rc)
{
    if (!rc)
        table_print(f, t, fmt, indent);
    table_free(t);
    return rc;
}

void table_notes(FILE *f, const char *text, table_format fmt)
{
    if (fmt == TABLE_HTML) {
        fputs("<p class=\"notes\">", f);
        for (const char *p = text; *p;) {
            size_t len = strcspn(p, "\n");
            if (p != text)
                fputs("<br>\n", f);
            html_escape_n(f, p, len);
            p += len + (p[len] == '\n');
        }
        fputs("</p>\n", f);
        return;
    }
    fputc('\n', f);
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        fprintf(f, "%s%.*s\n", fmt == TABLE_MD ? "" : "  ", (int)len, p);
        p += len + (p[len] == '\n');
    }
}

/* ---- text around tables ---------------------------------------------------------------------- */

void table_heading(FILE *f, table_format fmt, int level, const char *format, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, format);
    vsnprintf(text, sizeof text, format, ap);
    va_end(ap);
    if (fmt == TABLE_HTML) {
        fprintf(f, "<h%d>", level + 2);
        table_html_escape(f, text);
        fprintf(f, "</h%d>\n", level + 2);
    } else if (fmt == TABLE_MD) {
        fprintf(f, "%s %s\n\n", level <= 1 ? "##" : "###", text);
    } else {
        fprintf(f, "%s%s\n\n", level <= 1 ? "== " : "  ", text);
    }
}

void table_line(FILE *f, table_format fmt, const char *format, ...)
{
    char text[2048];
    va_list ap;
    va_start(ap, format);
    vsnprintf(text, sizeof text, format, ap);
    va_end(ap);
    if (fmt == TABLE_HTML) {
        fputs("<p>", f);
        table_html_escape(f, text);
        fputs("</p>\n", f);
    } else {
        fprintf(f, "%s%s\n", fmt == TABLE_MD ? "" : "  ", text);
    }
}

void table_gap(FILE *f, table_format fmt)
{
    if (fmt != TABLE_HTML)
        fputc('\n', f);
}

/* ---- cells for people ---------------------------------------------------------------------- */

void table_cell_num(char *buf, size_t n, const char *fmt, double v)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, fmt, v);
}

void table_cell_pm(char *buf, size_t n, const stats_summary *s, double scale, int dec)
{
    if (s->n == 0)
        snprintf(buf, n, "-");
    else if (isnan(s->sd))
        snprintf(buf, n, "%.*f ± -", dec, s->mean * scale);
    else
        snprintf(buf, n, "%.*f ± %.*f", dec, s->mean * scale, dec, s->sd * scale);
}

void table_cell_ci(char *buf, size_t n, double lo, double hi, double scale, int dec)
{
    if (isnan(lo) || isnan(hi))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "[%.*f, %.*f]", dec, lo * scale, dec, hi * scale);
}

void table_cell_date(char *buf, size_t n, const char *iso)
{
    snprintf(buf, n, "%.10s %.5s", iso, strlen(iso) > 11 ? iso + 11 : "");
}

/* ---- machine values ------------------------------------------------------------------------ */

json_t *table_json_num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *table_json_text(const char *s) { return s && s[0] ? json_string(s) : json_null(); }

void table_csv_value(char *buf, size_t n, const json_t *v)
{
    if (json_is_string(v))
        snprintf(buf, n, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        exp_format_number(buf, n, json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
    else
        buf[0] = '\0';
}

void table_records_csv(FILE *f, const char *const *names, int n, const json_t *records)
{
    char cell[4096];
    for (int c = 0; c < n; c++) {
        if (c)
            fputc(',', f);
        csv_cell(f, names[c]);
    }
    fputc('\n', f);
    for (size_t r = 0; r < json_array_size(records); r++) {
        const json_t *rec = json_array_get(records, r);
        for (int c = 0; c < n; c++) {
            if (c)
                fputc(',', f);
            table_csv_value(cell, sizeof cell, json_object_get(rec, names[c]));
            csv_cell(f, cell);
        }
        fputc('\n', f);
    }
}

/* Write one JSON value at nesting depth (indent 2 per level). */
static void json_write_value(FILE *f, const json_t *v, int depth)
{
    char buf[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *item;
        size_t i = 0;
        if (json_object_size(v) == 0) {
            fputs("{}", f);
            return;
        }
        fputs("{\n", f);
        json_object_foreach((json_t *)v, key, item) {
            json_t *ks = json_string(key);
            char *quoted = ks ? json_dumps(ks, JSON_ENCODE_ANY) : NULL;
            json_decref(ks);
            fprintf(f, "%*s%s: ", 2 * (depth + 1), "", quoted ? quoted : "\"?\"");
            free(quoted);
            json_write_value(f, item, depth + 1);
            fputs(++i < json_object_size(v) ? ",\n" : "\n", f);
        }
        fprintf(f, "%*s}", 2 * depth, "");
        return;
    }
    case JSON_ARRAY:
        if (json_array_size(v) == 0) {
            fputs("[]", f);
            return;
        }
        fputs("[\n", f);
        for (size_t i = 0; i < json_array_size(v); i++) {
            fprintf(f, "%*s", 2 * (depth + 1), "");
            json_write_value(f, json_array_get(v, i), depth + 1);
            fputs(i + 1 < json_array_size(v) ? ",\n" : "\n", f);
        }
        fprintf(f, "%*s]", 2 * depth, "");
        return;
    case JSON_REAL:
        exp_format_number(buf, sizeof buf, json_real_value(v));
        fprintf(f, "%s%s", buf, strpbrk(buf, ".e") ? "" : ".0");
        return;
    case JSON_INTEGER: fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); return;
    case JSON_TRUE: fputs("true", f); return;
    case JSON_FALSE: fputs("false", f); return;
    case JSON_NULL: fputs("null", f); return;
    case JSON_STRING: {
        char *s = json_dumps(v, JSON_ENCODE_ANY);
        fputs(s ? s : "\"\"", f);
        free(s);
        return;
    }
    }
}

int table_json_write(FILE *f, json_t *doc, err_info *e)
{
    if (!doc)
        return err_set(e, ERR_NOMEM, "out of memory writing JSON");
    json_write_value(f, doc, 0);
    fputc('\n', f);
    json_decref(doc);
    return 0;
}
