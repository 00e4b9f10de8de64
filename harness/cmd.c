#define _POSIX_C_SOURCE 200809L /* stat */
/* Helpers shared by the bench commands: one-line error reporting in a single format, and the
 * one strict parser of numeric option values that every command uses. */
#include "cmd.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"

void cmd_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cmd_fail(const err_info *e)
{
    cmd_error("%s", e && e->msg[0] ? e->msg : "unknown error");
    return CMD_FAIL;
}

int cmd_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench: %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'bench %s --help')\n", cmd);
    va_end(ap);
    return CMD_USAGE;
}

int cmd_bad_option(const char *cmd, char **argv)
{
    /* getopt_long leaves optind past the offending element; for an unknown long option
     * optopt is 0 and only that element names it. */
    const char *arg = optind > 0 ? argv[optind - 1] : "?";
    if (optopt && arg[0] == '-' && arg[1] != '-')
        return cmd_usage_error(cmd, "unknown option or missing argument '-%c'", optopt);
    return cmd_usage_error(cmd, "unknown option or missing argument '%s'", arg);
}

/* ---- numbers ----
 * strtol and strtod alone accept too much for an option value: leading blanks, a '+', hex
 * ("0x10"), "inf" and "nan", and values that do not fit (sscanf's %d even wraps them
 * silently: 99999999999 became 1215752191). These take exactly a decimal number that fits. */

bool cmd_strict_long(long *out, const char *text)
{
    const char *p = text[0] == '-' ? text + 1 : text;
    if (*p < '0' || *p > '9')
        return false;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

bool cmd_strict_double(double *out, const char *text, const char **rest)
{
    const char *p = text[0] == '-' ? text + 1 : text;
    if (!((*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9')))
        return false;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    /* a digit first rules out inf and nan; hex needs an 'x' right after the first digit */
    if (errno || end == text || !isfinite(v) || p[1] == 'x' || p[1] == 'X')
        return false;
    if (!rest && *end)
        return false;
    if (rest)
        *rest = end;
    *out = v;
    return true;
}

int cmd_parse_long(long *out, const char *cmd, const char *opt, const char *text, long lo, long hi)
{
    long v;
    if (!cmd_strict_long(&v, text) || v < lo || v > hi)
        return cmd_usage_error(cmd, "--%s: '%s' is not a whole number in [%ld, %ld]", opt, text,
                               lo, hi);
    *out = v;
    return CMD_OK;
}

int cmd_parse_int(int *out, const char *cmd, const char *opt, const char *text, int lo, int hi)
{
    long v = 0;
    int rc = cmd_parse_long(&v, cmd, opt, text, lo, hi);
    if (rc == CMD_OK)
        *out = (int)v;
    return rc;
}

int cmd_parse_double(double *out, const char *cmd, const char *opt, const char *text, double lo,
                     bool lo_inclusive)
{
    double v;
    if (!cmd_strict_double(&v, text, NULL) || v < lo || (!lo_inclusive && v == lo))
        return cmd_usage_error(cmd, "--%s: '%s' is not a finite number %s %g", opt, text,
                               lo_inclusive ? ">=" : ">", lo);
    *out = v;
    return CMD_OK;
}

int cmd_open_existing(store **s, const char *path, err_info *e)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return err_set(e, ERR_IO, "no results database '%s' (--db names one)", path);
    return store_open(s, path, e);
}

int cmd_parse_tag(store_tag *tags, int *n, int max, const char *cmd, char *arg)
{
    char *eq = strchr(arg, '=');
    if (*n >= max || arg[0] == '=' || arg[0] == '\0')
        return cmd_usage_error(cmd, "--tag: '%s' is not KEY or KEY=VALUE (at most %d)", arg,
                               max);
    if (eq)
        *eq = '\0';
    tags[(*n)++] = (store_tag){.key = arg, .value = eq ? eq + 1 : NULL};
    return CMD_OK;
}

int cmd_parse_where(exp_where *w, int *n, int max, const char *cmd, const char *arg)
{
    err_info e = {0};
    if (*n >= max)
        return cmd_usage_error(cmd, "--where: at most %d conditions", max);
    if (exp_where_parse(&w[*n], arg, &e))
        return cmd_usage_error(cmd, "--where: %s", e.msg);
    ++*n;
    return CMD_OK;
}

void cmd_tags_text(char *buf, size_t n, const char *tags_json)
{
    buf[0] = '\0';
    json_t *tags = tags_json ? json_loads(tags_json, 0, NULL) : NULL;
    const char *k;
    json_t *v;
    json_object_foreach(tags, k, v) {
        size_t used = strlen(buf);
        snprintf(buf + used, n - used, "%s%s=%s", used ? " " : "", k, json_string_value(v));
    }
    json_decref(tags);
}

char *cmd_enum_arg(char *arg)
{
    char *end = strncmp(arg, "idx:", 4) == 0 || strncmp(arg, "IDX:", 4) == 0 ? arg + 4
                                                                            : arg + strlen(arg);
    for (char *p = arg; p < end; p++)
        *p = (char)tolower((unsigned char)*p);
    return arg;
}

int cmd_parse_shard(int *index, int *count, const char *cmd, const char *opt, const char *text)
{
    const char *slash = strchr(text, '/');
    char num[32];
    long i = 0, n = 0;
    bool ok = slash && (size_t)(slash - text) < sizeof num;
    if (ok) {
        memcpy(num, text, (size_t)(slash - text));
        num[slash - text] = '\0';
        ok = cmd_strict_long(&i, num) && cmd_strict_long(&n, slash + 1) && n >= 1 &&
             n <= CMD_SHARDS_MAX && i >= 1 && i <= n;
    }
    if (!ok)
        return cmd_usage_error(cmd, "--%s: '%s' is not I/N with 1 <= I <= N <= %d", opt, text,
                               CMD_SHARDS_MAX);
    *index = (int)i;
    *count = (int)n;
    return CMD_OK;
}
