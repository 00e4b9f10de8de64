/* Unit tests of harness/toml: the DOM API, values, positions, error messages with line:col,
 * the nesting-depth limit, lookups through the hash index, and robustness against mutated
 * input. Conformance to TOML 1.0.0 as a whole is the job of the toml_suite test. */
#define _POSIX_C_SOURCE 200809L /* mkstemp, fdopen */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "toml.h"

/* Parse a NUL-terminated document that must be valid. */
static toml_value *parse_ok(const char *text)
{
    toml_value *root = NULL;
    err_info e = {0};
    int rc = toml_parse(&root, text, strlen(text), "t.toml", &e);
    if (rc != 0)
        fail_msg("unexpected parse error: %s", e.msg);
    assert_non_null(root);
    return root;
}

/* Parse a document that must be rejected; returns the message (static storage). */
static const char *parse_err(const char *text, size_t len)
{
    static err_info e;
    toml_value *root = (toml_value *)&e; /* must be reset to NULL */
    memset(&e, 0, sizeof e);
    int rc = toml_parse(&root, text, len, "exp.toml", &e);
    assert_int_equal(rc, ERR_FORMAT);
    assert_int_equal(e.code, ERR_FORMAT);
    assert_null(root);
    return e.msg;
}

#define PARSE_ERR(s) parse_err((s), sizeof(s) - 1)

static void test_experiment_file(void **state)
{
    (void)state;
    toml_value *root = parse_ok("# sweep\n"
                                "name = \"optimizers\"\n"
                                "seeds = [1, 2, 3]\n"
                                "\n"
                                "[train]\n"
                                "lr = 0.1\n"
                                "epochs = 20\n"
                                "bn = true\n"
                                "optimizer.name = 'momentum'\n"
                                "\n"
                                "[[variant]]\n"
                                "bn = false\n"
                                "[[variant]]\n"
                                "bn = true\n");
    assert_int_equal(toml_type_of(root), TOML_TABLE);
    assert_int_equal(toml_len(root), 4);
    assert_string_equal(toml_key_at(root, 0), "name");
    assert_string_equal(toml_key_at(root, 1), "seeds");
    assert_string_equal(toml_key_at(root, 2), "train");
    assert_string_equal(toml_key_at(root, 3), "variant");

    toml_value *name = toml_get(root, "name");
    assert_int_equal(toml_type_of(name), TOML_STRING);
    assert_string_equal(toml_string(name), "optimizers");
    assert_int_equal(toml_line(name), 2);
    assert_int_equal(toml_column(name), 8);

    toml_value *seeds = toml_get(root, "seeds");
    assert_int_equal(toml_type_of(seeds), TOML_ARRAY);
    assert_int_equal(toml_len(seeds), 3);
    assert_int_equal(toml_integer(toml_value_at(seeds, 2)), 3);
    assert_int_equal(toml_column(toml_value_at(seeds, 1)), 13);

    toml_value *train = toml_get(root, "train");
    assert_int_equal(toml_type_of(train), TOML_TABLE);
    assert_int_equal(toml_line(train), 5);
    assert_int_equal(toml_column(train), 2);
    assert_true(toml_float(toml_get(train, "lr")) == 0.1);
    assert_int_equal(toml_integer(toml_get(train, "epochs")), 20);
    assert_true(toml_bool(toml_get(train, "bn")));
    assert_null(toml_get(train, "momentum"));
    toml_value *opt = toml_get(train, "optimizer");
    assert_int_equal(toml_type_of(opt), TOML_TABLE);
    assert_string_equal(toml_string(toml_get(opt, "name")), "momentum");

    /* Key positions, for "unknown key" messages. */
    long i = toml_find(train, "epochs");
    assert_int_equal(i, 1);
    assert_int_equal(toml_key_line(train, (size_t)i), 7);
    assert_int_equal(toml_key_column(train, (size_t)i), 1);
    assert_int_equal(toml_find(train, "nope"), -1);

    toml_value *variant = toml_get(root, "variant");
    assert_int_equal(toml_type_of(variant), TOML_ARRAY);
    assert_int_equal(toml_len(variant), 2);
    assert_false(toml_bool(toml_get(toml_value_at(variant, 0), "bn")));
    assert_true(toml_bool(toml_get(toml_value_at(variant, 1), "bn")));
    assert_int_equal(toml_line(toml_value_at(variant, 1)), 13);
    toml_free(root);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(toml_type_name(TOML_TABLE), "table");
    assert_string_equal(toml_type_name(TOML_DATETIME_LOCAL), "datetime-local");
    assert_string_equal(toml_type_name(TOML_TIME_LOCAL), "time-local");
    assert_string_equal(toml_type_name((toml_type)99), "unknown");
}

static void test_integers(void **state)
{
    (void)state;
    toml_value *root = parse_ok("max = 9223372036854775807\n"
                                "min = -9223372036854775808\n"
                                "hex = 0xDEAD_beef\n"
                                "oct = 0o755\n"
                                "bin = 0b1101\n"
                                "us = 1_000_000\n"
                                "plus = +7\n"
                                "hexmax = 0x7fffffffffffffff\n");
    assert_true(toml_integer(toml_get(root, "max")) == INT64_MAX);
    assert_true(toml_integer(toml_get(root, "min")) == INT64_MIN);
    assert_int_equal(toml_integer(toml_get(root, "hex")), 0xDEADBEEF);
    assert_int_equal(toml_integer(toml_get(root, "oct")), 0755);
    assert_int_equal(toml_integer(toml_get(root, "bin")), 13);
    assert_int_equal(toml_integer(toml_get(root, "us")), 1000000);
    assert_int_equal(toml_integer(toml_get(root, "plus")), 7);
    assert_true(toml_integer(toml_get(root, "hexmax")) == INT64_MAX);
    toml_free(root);

    assert_string_equal(PARSE_ERR("a = 9223372036854775808\n"),
                        "exp.toml:1:5: key 'a': integer '9223372036854775808' does not fit in 64 bits");
    assert_string_equal(PARSE_ERR("a = -9223372036854775809"),
                        "exp.toml:1:5: key 'a': integer '-9223372036854775809' does not fit in 64 bits");
    assert_string_equal(PARSE_ERR("a = 0x8000000000000000"),
                        "exp.toml:1:5: key 'a': integer '0x8000000000000000' does not fit in 64 bits");
    assert_string_equal(PARSE_ERR("a = 012"),
                        "exp.toml:1:5: key 'a': leading zeros are not allowed in '012'");
    assert_string_equal(PARSE_ERR("a = 1__0"), "exp.toml:1:5: key 'a': invalid number '1__0'");
    assert_string_equal(PARSE_ERR("a = -0x1"),
                        "exp.toml:1:5: key 'a': a sign is not allowed on a hexadecimal integer in "
                        "'-0x1'");
}

static void test_floats(void **state)
{
    (void)state;
    toml_value *root = parse_ok("a = 1e3\n"
                                "b = -2.5E-2\n"
                                "c = 6.626_070e-34\n"
                                "d = -0.0\n"
                                "e = -inf\n"
                                "f = nan\n"
                                "g = 1e007\n");
    assert_true(toml_float(toml_get(root, "a")) == 1000.0);
    assert_true(toml_float(toml_get(root, "b")) == -0.025);
    assert_true(toml_float(toml_get(root, "c")) == 6.626070e-34);
    double d = toml_float(toml_get(root, "d"));
    assert_true(d == 0.0 && signbit(d));
    assert_true(isinf(toml_float(toml_get(root, "e"))) && toml_float(toml_get(root, "e")) < 0);
    assert_true(isnan(toml_float(toml_get(root, "f"))));
    assert_true(toml_float(toml_get(root, "g")) == 1e7);
    toml_free(root);

    assert_string_equal(PARSE_ERR("x = 1e400"), "exp.toml:1:5: key 'x': float '1e400' is out of range");
    assert_string_equal(PARSE_ERR("x = 1."),
                        "exp.toml:1:5: key 'x': invalid float '1.' (digits must follow '.')");
    assert_string_equal(PARSE_ERR("x = .5"), "exp.toml:1:5: key 'x': expected a value, found '.'");
    assert_string_equal(PARSE_ERR("x = 1e"), "exp.toml:1:5: key 'x': invalid float exponent in '1e'");
}

static void test_strings(void **state)
{
    (void)state;
    toml_value *root = parse_ok("basic = \"tab\\there \\u00e9 \\U0001F600 \\\"q\\\"\"\n"
                                "lit = 'C:\\path'\n"
                                "nul = \"a\\u0000b\"\n"
                                "ml = \"\"\"\n"
                                "one \\\n"
                                "    two\r\n"
                                "three\"\"\"\"\n"
                                "mll = '''\n"
                                "x''y'''\n"
                                "empty = \"\"\n");
    assert_string_equal(toml_string(toml_get(root, "basic")),
                        "tab\there \xC3\xA9 \xF0\x9F\x98\x80 \"q\"");
    assert_string_equal(toml_string(toml_get(root, "lit")), "C:\\path");
    toml_value *nul = toml_get(root, "nul");
    assert_int_equal(toml_string_len(nul), 3);
    assert_memory_equal(toml_string(nul), "a\0b", 4);
    assert_string_equal(toml_string(toml_get(root, "ml")), "one two\nthree\"");
    assert_string_equal(toml_string(toml_get(root, "mll")), "x''y");
    assert_string_equal(toml_string(toml_get(root, "empty")), "");
    /* Lines after a multi-line string are still counted right (CRLF included). */
    assert_int_equal(toml_line(toml_get(root, "mll")), 8);
    assert_int_equal(toml_line(toml_get(root, "empty")), 10);
    toml_free(root);

    assert_string_equal(PARSE_ERR("s = \"\\ud800\""),
                        "exp.toml:1:6: key 's': escape '\\u' names U+D800, which is not a Unicode scalar "
                        "value");
    assert_string_equal(PARSE_ERR("s = \"\\x41\""),
                        "exp.toml:1:6: key 's': invalid escape sequence: backslash followed by 'x'");
    assert_string_equal(PARSE_ERR("s = \"open\nx = 1"),
                        "exp.toml:1:5: key 's': unterminated string (a basic string must close on its "
                        "line)");
    assert_string_equal(PARSE_ERR("s = \"a\x01\""),
                        "exp.toml:1:7: key 's': control character U+0001 in string");
    assert_string_equal(PARSE_ERR("s = '''\nabc\n"),
                        "exp.toml:3:1: key 's': unterminated multi-line string opened on line 1");
}

static void test_datetimes(void **state)
{
    (void)state;
    toml_value *root = parse_ok("odt = 1979-05-27T07:32:00.500-07:00\n"
                                "z = 1979-05-27 07:32:00z\n"
                                "ldt = 2024-02-29t23:59:60.000\n"
                                "ld = 2000-02-29\n"
                                "lt = 07:32:00.123456789123\n");
    toml_value *odt = toml_get(root, "odt");
    assert_int_equal(toml_type_of(odt), TOML_DATETIME);
    assert_string_equal(toml_datetime_text(odt), "1979-05-27T07:32:00.5-07:00");
    toml_datetime dt = toml_datetime_of(odt);
    assert_int_equal(dt.year, 1979);
    assert_int_equal(dt.month, 5);
    assert_int_equal(dt.day, 27);
    assert_int_equal(dt.hour, 7);
    assert_int_equal(dt.minute, 32);
    assert_int_equal(dt.nanosecond, 500000000);
    assert_int_equal(dt.offset_minutes, -420);
    assert_string_equal(toml_datetime_text(toml_get(root, "z")), "1979-05-27T07:32:00Z");
    toml_value *ldt = toml_get(root, "ldt");
    assert_int_equal(toml_type_of(ldt), TOML_DATETIME_LOCAL);
    assert_string_equal(toml_datetime_text(ldt), "2024-02-29T23:59:60");
    assert_int_equal(toml_type_of(toml_get(root, "ld")), TOML_DATE_LOCAL);
    assert_string_equal(toml_datetime_text(toml_get(root, "ld")), "2000-02-29");
    toml_value *lt = toml_get(root, "lt");
    assert_int_equal(toml_type_of(lt), TOML_TIME_LOCAL);
    assert_string_equal(toml_datetime_text(lt), "07:32:00.123456789123");
    assert_int_equal(toml_datetime_of(lt).nanosecond, 123456789);
    toml_free(root);

    assert_string_equal(PARSE_ERR("d = 2023-02-29"),
                        "exp.toml:1:5: key 'd': date 2023-02-29 does not exist");
    assert_string_equal(PARSE_ERR("d = 1900-02-29"),
                        "exp.toml:1:5: key 'd': date 1900-02-29 does not exist");
    assert_string_equal(PARSE_ERR("d = 2023-04-31"),
                        "exp.toml:1:5: key 'd': date 2023-04-31 does not exist");
    assert_string_equal(PARSE_ERR("t = 24:00:00"), "exp.toml:1:5: key 't': time 24:00:00 out of range");
    assert_string_equal(PARSE_ERR("t = 2020-01-01T10:00:00+24:00"),
                        "exp.toml:1:24: key 't': time offset +24:00 out of range");
    assert_string_equal(PARSE_ERR("t = 10:00"),
                        "exp.toml:1:5: key 't': malformed time (expected HH:MM:SS)");
}

/* The messages a user sees for the mistakes a user makes, with line and column. */
static void test_error_messages(void **state)
{
    (void)state;
    assert_string_equal(PARSE_ERR("[train]\nepochs = 20\nlr    0.1\n"),
                        "exp.toml:3:7: expected '=' after key 'lr', found '0'");
    assert_string_equal(PARSE_ERR("a = 1\nb = 2\na = 3\n"),
                        "exp.toml:3:1: duplicate key 'a' (first defined on line 1)");
    assert_string_equal(PARSE_ERR("[a]\nx = 1\n\n[a]\n"),
                        "exp.toml:4:1: table 'a' is already defined (line 1)");
    assert_string_equal(PARSE_ERR("p = {x = 1}\np.y = 2\n"),
                        "exp.toml:2:1: cannot add key 'p.y': 'p' is an inline table, which is "
                        "immutable (line 1)");
    assert_string_equal(PARSE_ERR("a = [1]\n[[a]]\n"),
                        "exp.toml:2:1: cannot define array of tables 'a': it is already a "
                        "static array (line 1)");
    assert_string_equal(PARSE_ERR("[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n"),
                        "exp.toml:4:3: cannot add key 'b.c.t': 'b.c' is a table defined by a "
                        "[header] (line 1)");
    assert_string_equal(PARSE_ERR("a = 1 2\n"), "exp.toml:1:7: expected end of line, found '2'");
    assert_string_equal(PARSE_ERR("a =\n"), "exp.toml:1:4: key 'a': missing value");
    assert_string_equal(PARSE_ERR("a = [1, 2\n"),
                        "exp.toml:2:1: key 'a': unterminated array opened at line 1");
    assert_string_equal(PARSE_ERR("a = {x = 1,}\n"),
                        "exp.toml:1:12: key 'a': trailing comma is not allowed in an inline table");
    assert_string_equal(PARSE_ERR("[a\n"),
                        "exp.toml:1:3: expected ']' after table name 'a', found end of line");
    assert_string_equal(PARSE_ERR("a = 1 # bell\x07\n"),
                        "exp.toml:1:13: control character U+0007 in comment");
    assert_string_equal(PARSE_ERR("a = 1\rb = 2\n"),
                        "exp.toml:1:6: carriage return not followed by line feed");
    /* Columns count code points, not bytes. */
    assert_string_equal(PARSE_ERR("\"\xC3\xA9t\xC3\xA9\" = 1 x"),
                        "exp.toml:1:11: expected end of line, found 'x'");
    /* A byte-order mark is not a column. */
    assert_string_equal(PARSE_ERR("\xEF\xBB\xBF" "a = ?"),
                        "exp.toml:1:5: key 'a': expected a value, found '?'");
    /* Keys shown in messages are cut and cleaned. */
    const char *msg = PARSE_ERR("\"a\\nb\" 1");
    assert_string_equal(msg, "exp.toml:1:8: expected '=' after key 'a?b', found '1'");
    char doc[256] = "\"a";
    for (int i = 0; i < 50; i++)
        strcat(doc, "\xC3\xA9");
    strcat(doc, "\".k 1");
    char want[256] = "exp.toml:1:57: expected '=' after key 'a";
    for (int i = 0; i < 37; i++) /* 75 bytes, then no half of the next 'é' */
        strcat(want, "\xC3\xA9");
    strcat(want, "...', found '1'");
    assert_string_equal(parse_err(doc, strlen(doc)), want);
}

static void test_utf8_validation(void **state)
{
    (void)state;
    assert_string_equal(PARSE_ERR("a = 1\nb = \"\xC0\xAF\"\n"),
                        "exp.toml:2:6: invalid UTF-8 byte 0xC0");               /* overlong '/' */
    assert_string_equal(PARSE_ERR("# \xED\xA0\x80\n"),
                        "exp.toml:1:3: invalid UTF-8 byte 0xED");               /* surrogate */
    assert_string_equal(PARSE_ERR("# \xF4\x90\x80\x80"),
                        "exp.toml:1:3: invalid UTF-8 byte 0xF4");               /* > U+10FFFF */
    assert_string_equal(PARSE_ERR("s = 'ab\xE2\x82'"), "exp.toml:1:8: invalid UTF-8 byte 0xE2");
    assert_string_equal(PARSE_ERR("a = 1\0"), "exp.toml:1:6: expected end of line, found "
                                              "character U+0000");
}

/* Build "a = " followed by n '[' and n ']' (or inline tables). */
static char *nested(int n, bool tables)
{
    char *s = malloc((size_t)n * 8 + 16);
    assert_non_null(s);
    char *o = s + sprintf(s, "a = ");
    for (int i = 0; i < n; i++)
        o += sprintf(o, tables ? "{b=" : "[");
    o += sprintf(o, "1");
    for (int i = 0; i < n; i++)
        *o++ = tables ? '}' : ']';
    *o = '\0';
    return s;
}

static void test_depth_limit(void **state)
{
    (void)state;
    /* The root is depth 0 and "a" is depth 1, so TOML_MAX_DEPTH arrays fit exactly. */
    char *ok = nested(TOML_MAX_DEPTH, false);
    toml_value *root = parse_ok(ok);
    toml_free(root);
    free(ok);

    char *deep = nested(TOML_MAX_DEPTH + 1, false);
    assert_string_equal(parse_err(deep, strlen(deep)),
                        "exp.toml:1:105: key 'a': tables and arrays nested more than 100 deep");
    free(deep);
    deep = nested(100000, true);
    const char *msg = parse_err(deep, strlen(deep));
    assert_non_null(strstr(msg, "nested more than 100 deep"));
    free(deep);

    /* Dotted keys and headers cannot build deep trees either. */
    size_t n = 5000;
    char *dotted = malloc(2 * n + 8);
    assert_non_null(dotted);
    for (size_t i = 0; i < n; i++)
        memcpy(dotted + 2 * i, "a.", 2);
    memcpy(dotted + 2 * n, "a = 1", 6);
    msg = parse_err(dotted, strlen(dotted));
    assert_string_equal(msg, "exp.toml:1:201: key has more than 100 dotted parts");
    /* [a.a. ... .a] of 100 parts makes a table at depth 100; one part more is refused. */
    dotted[0] = '[';
    for (size_t i = 0; i < 99; i++)
        memcpy(dotted + 1 + 2 * i, "a.", 2);
    memcpy(dotted + 1 + 2 * 99, "a]\n", 4);
    root = parse_ok(dotted);
    toml_free(root);
    memcpy(dotted + 1 + 2 * 99, "a.a]\n", 6);
    msg = parse_err(dotted, strlen(dotted));
    assert_string_equal(msg, "exp.toml:1:202: key has more than 100 dotted parts");
    /* [[a. ... .a]] of 100 parts: its element tables would sit at depth 101. */
    memmove(dotted + 1, dotted, 2 * 100);
    memcpy(dotted + 1 + 2 * 100, "]]\n", 4);
    msg = parse_err(dotted, strlen(dotted));
    assert_string_equal(msg, "exp.toml:1:1: tables and arrays nested more than 100 deep");
    /* a. ... .a = 1 of 100 parts puts the value at depth 100: a scalar or an empty array. */
    for (size_t i = 0; i < 99; i++)
        memcpy(dotted + 2 * i, "a.", 2);
    memcpy(dotted + 2 * 99, "a = 1", 6);
    root = parse_ok(dotted);
    toml_free(root);
    memcpy(dotted + 2 * 99, "a = []", 7);
    root = parse_ok(dotted);
    toml_free(root);
    memcpy(dotted + 2 * 99, "a = [[]]", 9);
    msg = parse_err(dotted, strlen(dotted));
    assert_string_equal(msg, "exp.toml:1:204: key 'a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a....': tables and arrays nested more than 100 deep");
    free(dotted);
}

/* Tables switch to a hash index when they grow: lookups, order and duplicate detection must
 * not change. */
static void test_large_table(void **state)
{
    (void)state;
    enum { N = 3000 };
    char *doc = malloc(N * 32);
    assert_non_null(doc);
    char *o = doc;
    for (int i = 0; i < N; i++)
        o += sprintf(o, "k%d = %d\n", i, i * 7);
    toml_value *root = parse_ok(doc);
    assert_int_equal(toml_len(root), N);
    for (int i = 0; i < N; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        assert_string_equal(toml_key_at(root, (size_t)i), key);
        toml_value *v = toml_get(root, key);
        assert_non_null(v);
        assert_int_equal(toml_integer(v), i * 7);
        assert_int_equal(toml_key_line(root, (size_t)i), i + 1);
    }
    assert_null(toml_get(root, "k3000"));
    toml_free(root);

    sprintf(o, "k1234 = 0\n");
    const char *msg = parse_err(doc, strlen(doc));
    assert_string_equal(msg, "exp.toml:3001:1: duplicate key 'k1234' (first defined on line "
                             "1235)");
    free(doc);
}

static void test_empty_and_comments(void **state)
{
    (void)state;
    toml_value *root = parse_ok("");
    assert_int_equal(toml_len(root), 0);
    assert_int_equal(toml_line(root), 1);
    toml_free(root);
    root = parse_ok("# only a comment\r\n\r\n   \t\n# é\n");
    assert_int_equal(toml_len(root), 0);
    toml_free(root);
    toml_value *none = NULL;
    assert_int_equal(toml_parse(&none, NULL, 0, NULL, NULL), 0);
    assert_int_equal(toml_len(none), 0);
    toml_free(none);
    toml_free(NULL);
}

static void test_parse_file(void **state)
{
    (void)state;
    toml_value *root = NULL;
    err_info e = {0};
    assert_int_equal(toml_parse_file(&root, "/nonexistent/x.toml", &e), ERR_IO);
    assert_null(root);
    assert_string_equal(e.msg, "cannot open '/nonexistent/x.toml': No such file or directory");

    char path[] = "toml_test_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("[model]\nname = \"cnn\"\nbn = yes\n", f);
    fclose(f);
    assert_int_equal(toml_parse_file(&root, path, &e), ERR_FORMAT);
    char want[128];
    snprintf(want, sizeof want, "%s:3:6: key 'bn': expected a value, found 'y'", path);
    assert_string_equal(e.msg, want);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("[model]\nname = \"cnn\"\n", f);
    fclose(f);
    assert_int_equal(toml_parse_file(&root, path, &e), 0);
    assert_string_equal(toml_string(toml_get(toml_get(root, "model"), "name")), "cnn");
    toml_free(root);
    remove(path);
}

/* xorshift64*, for reproducible mutations (no rand(), README.md "Conventions" rule 6). */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* Mutated documents (bytes flipped, inserted, deleted, chunks duplicated) must parse or fail
 * cleanly with a positioned message; under the sanitizer build this also checks memory. */
static void test_mutations(void **state)
{
    (void)state;
    static const char *const seeds[] = {
        "title = \"x\"\n[a.b]\nc = [1, 2.5, 'q', {d = 1979-05-27T07:32:00Z}]\n[[e]]\nf.g = true\n",
        "s = \"\"\"\nline \\\n  more\"\"\"\nt = '''x'''\nu = 0x_ff\nv = {w = [[]], x.y = -inf}\n",
        "[x]\n\"k\\u00e9\" = 07:32:00.5 # c\n[[x.z]]\n[x.z.w]\nn = +1_000\r\nm = 1e-9\n",
    };
    static const char alphabet[] = "[]{}=.,\"'#\\\n\r\t 0123456789+-_eExobTZ:\x80\xC3\xFF";
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    char buf[512];
    int accepted = 0, rejected = 0;
    for (int iter = 0; iter < 20000; iter++) {
        const char *seed = seeds[iter % 3];
        size_t n = strlen(seed);
        memcpy(buf, seed, n);
        int edits = 1 + (int)(next_rand(&rng) % 4);
        for (int k = 0; k < edits; k++) {
            size_t at = next_rand(&rng) % (n + 1);
            char c = alphabet[next_rand(&rng) % (sizeof alphabet - 1)];
            switch (next_rand(&rng) % 4) {
            case 0: /* replace */
                if (at < n)
                    buf[at] = c;
                break;
            case 1: /* insert */
                if (n + 1 < sizeof buf) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = c;
                    n++;
                }
                break;
            case 2: /* delete */
                if (at < n) {
                    memmove(buf + at, buf + at + 1, n - at - 1);
                    n--;
                }
                break;
            default: { /* duplicate a chunk */
                size_t len = next_rand(&rng) % 16;
                if (at + len <= n && n + len < sizeof buf) {
                    memmove(buf + at + len, buf + at, n - at);
                    n += len;
                }
                break;
            }
            }
        }
        toml_value *root = NULL;
        err_info e = {0};
        int rc = toml_parse(&root, buf, n, "m.toml", &e);
        if (rc == 0) {
            assert_non_null(root);
            accepted++;
        } else {
            assert_int_equal(rc, ERR_FORMAT);
            assert_null(root);
            assert_true(strncmp(e.msg, "m.toml:", 7) == 0);
            assert_null(strchr(e.msg, '\n'));
            rejected++;
        }
        toml_free(root);
    }
    /* Both outcomes must occur, or the mutations test nothing. */
    assert_true(accepted > 100);
    assert_true(rejected > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_experiment_file), cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_integers),        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_strings),         cmocka_unit_test(test_datetimes),
        cmocka_unit_test(test_error_messages),  cmocka_unit_test(test_utf8_validation),
        cmocka_unit_test(test_depth_limit),     cmocka_unit_test(test_large_table),
        cmocka_unit_test(test_empty_and_comments), cmocka_unit_test(test_parse_file),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests_name("toml", tests, NULL, NULL);
}
