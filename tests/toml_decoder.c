/* toml_decoder: the toml-test decoder interface over harness/toml.
 *
 * Reads a TOML document on standard input. If it is valid, writes it to standard output as
 * the tagged JSON of toml-test and exits 0: tables become objects, arrays arrays, and each
 * scalar an object {"type": T, "value": "V"} with T a toml_type_name and V the value as text
 * (integers in decimal, floats in shortest round-trip form or inf/-inf/nan, date/times in the
 * canonical text of toml_datetime_text). If it is invalid, prints the parser's one-line
 * message on standard error and exits 1. Usage: toml_decoder [NAME] < file.toml, where NAME
 * is only used in messages. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "toml.h"

/* Shortest "%.*g" spelling of d that reads back as d. */
static void format_float(char *buf, size_t cap, double d)
{
    if (isnan(d)) {
        snprintf(buf, cap, "nan");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, cap, d < 0 ? "-inf" : "inf");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

static json_t *tagged(const char *type, json_t *value)
{
    json_t *o = json_object();
    if (!o || !value) {
        json_decref(o);
        json_decref(value);
        return NULL;
    }
    json_object_set_new(o, "type", json_string(type));
    json_object_set_new(o, "value", value);
    return o;
}

/* The JSON of v, NULL on allocation failure. Recursion is bounded by TOML_MAX_DEPTH. */
static json_t *to_json(const toml_value *v)
{
    char buf[64];
    toml_type t = toml_type_of(v);
    switch (t) {
    case TOML_TABLE: {
        json_t *o = json_object();
        for (size_t i = 0; o && i < toml_len(v); i++) {
            json_t *c = to_json(toml_value_at(v, i));
            if (!c || json_object_setn_new(o, toml_key_at(v, i), toml_key_len(v, i), c) < 0) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    case TOML_ARRAY: {
        json_t *a = json_array();
        for (size_t i = 0; a && i < toml_len(v); i++) {
            json_t *c = to_json(toml_value_at(v, i));
            if (!c || json_array_append_new(a, c) < 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case TOML_STRING:
        return tagged("string", json_stringn(toml_string(v), toml_string_len(v)));
    case TOML_INTEGER:
        snprintf(buf, sizeof buf, "%" PRId64, toml_integer(v));
        return tagged("integer", json_string(buf));
    case TOML_FLOAT:
        format_float(buf, sizeof buf, toml_float(v));
        return tagged("float", json_string(buf));
    case TOML_BOOL:
        return tagged("bool", json_string(toml_bool(v) ? "true" : "false"));
    case TOML_DATETIME:
    case TOML_DATETIME_LOCAL:
    case TOML_DATE_LOCAL:
    case TOML_TIME_LOCAL:
        return tagged(toml_type_name(t), json_string(toml_datetime_text(v)));
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "<stdin>";
    size_t n = 0, cap = 65536;
    char *buf = malloc(cap);
    int status = 1;
    toml_value *doc = NULL;
    json_t *j = NULL;
    err_info e = {0};

    if (!buf)
        goto done;
    for (;;) {
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                fprintf(stderr, "%s: out of memory\n", name);
                goto done;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, stdin);
        if (got == 0)
            break;
        n += got;
    }
    if (toml_parse(&doc, buf, n, name, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        goto done;
    }
    j = to_json(doc);
    if (!j || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII) < 0) {
        fprintf(stderr, "%s: cannot write JSON\n", name);
        goto done;
    }
    fputc('\n', stdout);
    status = 0;
done:
    json_decref(j);
    toml_free(doc);
    free(buf);
    return status;
}
