/* toml: a strict TOML 1.0.0 parser producing a read-only document tree (DOM).
 *
 * The module owns the parse of experiment files: toml_parse turns a byte buffer into a tree of
 * toml_value nodes, or fails with a one-line message "FILE:LINE:COL: message" in the caller's
 * err_info. It implements all of TOML 1.0.0 and is held to the official toml-test conformance
 * cases (tests/toml-test, run by the CTest test `toml_suite`):
 * - the whole document must be valid UTF-8 (no overlong forms, surrogates or code points above
 *   U+10FFFF); a leading byte-order mark is skipped; newlines are LF or CRLF;
 * - control characters other than tab are rejected in comments and strings;
 * - integers are range-checked to int64_t; floats must be finite unless written inf/nan;
 * - dates and times are range-checked (leap days, second 60 for a leap second);
 * - the table and array-of-tables redefinition rules of the specification are enforced, and
 *   inline tables and array literals are immutable once closed.
 * Arrays and tables may nest at most TOML_MAX_DEPTH deep, so hostile input cannot exhaust the
 * stack of the parser or of recursive consumers of the tree.
 *
 * Lines and columns are 1-based; columns count Unicode code points, a tab counts as one.
 * Accessors take a value of the right type (assert otherwise); lookups on a missing key return
 * NULL. A tree is freed with toml_free on its root; child pointers stay valid until then. */
#ifndef BENCH_TOML_H
#define BENCH_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Maximum nesting of tables and arrays, counting the root table as depth 0. */
#define TOML_MAX_DEPTH 100

typedef enum toml_type {
    TOML_TABLE,
    TOML_ARRAY,
    TOML_STRING,
    TOML_INTEGER,
    TOML_FLOAT,
    TOML_BOOL,
    TOML_DATETIME,       /* offset date-time: 1979-05-27T07:32:00-07:00 */
    TOML_DATETIME_LOCAL, /* local date-time:  1979-05-27T07:32:00 */
    TOML_DATE_LOCAL,     /* local date:       1979-05-27 */
    TOML_TIME_LOCAL,     /* local time:       07:32:00 */
} toml_type;

/* A node of the tree: a table (ordered key -> value map), an array or a scalar. Opaque; each
 * value records the line and column where it starts in the source. */
typedef struct toml_value toml_value;

/* The broken-down fields of a date and/or time value; fields absent from the value's kind
 * are 0 (e.g. year, month, day of a TOML_TIME_LOCAL). */
typedef struct toml_datetime {
    int year, month, day;            /* 0001-9999, 1-12, 1-31 */
    int hour, minute, second;        /* 0-23, 0-59, 0-60 (60: leap second) */
    int nanosecond;                  /* fraction of a second, truncated to nanoseconds */
    int offset_minutes;              /* UTC offset of a TOML_DATETIME, e.g. -420 for -07:00 */
} toml_datetime;

/* Parse len bytes of text (need not be NUL-terminated; NUL bytes are errors). filename is used
 * only in error messages ("<input>" when NULL). On success *out is the root table, owned by the
 * caller (toml_free). On failure returns ERR_FORMAT (or ERR_NOMEM), sets *out to NULL and
 * writes "FILE:LINE:COL: message" to e, e.g. "exp.toml:3:9: expected '=' after key 'lr'". */
int toml_parse(toml_value **out, const char *text, size_t len, const char *filename,
               err_info *e);

/* Read the file at path and parse it as toml_parse does; ERR_IO when it cannot be read. */
int toml_parse_file(toml_value **out, const char *path, err_info *e);

/* Free a tree returned by toml_parse (NULL is allowed). Only roots may be freed. */
void toml_free(toml_value *v);

toml_type toml_type_of(const toml_value *v);
/* "table", "array", "string", "integer", "float", "bool", "datetime", "datetime-local",
 * "date-local", "time-local" (the toml-test spellings); "unknown" for an invalid t. */
const char *toml_type_name(toml_type t);

/* Where v starts in the source: the first character of a scalar or inline value, the key of
 * a table created by a [header] or by a dotted key. The root table is at 1:1. */
int toml_line(const toml_value *v);
int toml_column(const toml_value *v);

/* Number of entries of a table or items of an array. */
size_t toml_len(const toml_value *v);
/* The i-th key of a table (insertion order), NUL-terminated; a key may contain "\u0000",
 * whose full length toml_key_len gives. */
const char *toml_key_at(const toml_value *tbl, size_t i);
size_t toml_key_len(const toml_value *tbl, size_t i);
/* Where the i-th key of a table was first written (for "unknown key 'x'" messages). */
int toml_key_line(const toml_value *tbl, size_t i);
int toml_key_column(const toml_value *tbl, size_t i);
/* The i-th value of a table (insertion order) or item of an array. */
toml_value *toml_value_at(const toml_value *v, size_t i);
/* The value of key in table tbl, NULL if absent. */
toml_value *toml_get(const toml_value *tbl, const char *key);
/* Index of key in tbl (so that its line and column can be reported), or -1 if absent. */
long toml_find(const toml_value *tbl, const char *key);

/* Scalars. toml_string is NUL-terminated; toml_string_len counts bytes, embedded NULs
 * (written "\u0000") included. */
const char *toml_string(const toml_value *v);
size_t toml_string_len(const toml_value *v);
int64_t toml_integer(const toml_value *v);
double toml_float(const toml_value *v);
bool toml_bool(const toml_value *v);

/* Canonical RFC 3339 text of a date/time value of any of the four kinds: 'T' between date and
 * time, fraction of second as written minus trailing zeros (no '.' when nothing remains), 'Z'
 * for a zero offset written Z or z, other offsets as "+HH:MM"/"-HH:MM". */
const char *toml_datetime_text(const toml_value *v);
/* Its broken-down fields. */
toml_datetime toml_datetime_of(const toml_value *v);

#endif
