/* Helpers shared by the bench commands: one-line error reporting in a single format. */
#include "cmd.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>

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
