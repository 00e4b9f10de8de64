/* cmd: the commands of the bench program, one function per command, one file per command.
 *
 * main.c holds the command table {name, function, one-line help}; `bench NAME ARGS...` calls
 * the function with argv[0] == "NAME" and the remaining arguments. A command parses its own
 * options with getopt_long (set `optind = 0` first so that glibc re-initialises its state, and
 * `opterr = 0` so that unknown options are reported by cmd_usage_error in bench's format),
 * supports --help (usage on stdout, exit 0), and returns the process exit code:
 *
 *   CMD_OK 0       success
 *   CMD_FAIL 1     the command ran and failed (missing data, bad file, failed check...)
 *   CMD_USAGE 2    the command line itself is wrong (unknown option, missing argument)
 *   CMD_UNFINISHED 3  bench run stopped with runs of its shard not finished (a signal, or runs
 *                  that another process is executing); running it again resumes them
 *
 * Errors are printed as a single line `bench: <message>` on stderr through cmd_error /
 * cmd_fail / cmd_usage_error; a command never calls exit().
 *
 * Recipe for adding a command `foo`:
 *   1. declare `int cmd_foo(int argc, char **argv);` below, with a one-line comment;
 *   2. define it in harness/cmd_foo.c (picked up by harness/CMakeLists.txt's glob; re-run cmake),
 *      starting from cmd_data.c: a static const struct option table, a usage text printed by
 *      --help, the getopt_long loop (numbers through cmd_parse_long & co. below, never
 *      strtol or sscanf of its own), then the work through the library modules;
 *   3. add a row {"foo", cmd_foo, "one-line help"} to the commands[] table in harness/main.c;
 *   4. test it by running the built binary in tests/test_cli.c (BENCH_BINARY), and list it in
 *      README.md's Usage section. */
#ifndef BENCH_CMD_H
#define BENCH_CMD_H

#include <stdbool.h>

#include "err.h"
#include "exp.h"
#include "store.h"

enum { CMD_OK = 0, CMD_FAIL = 1, CMD_USAGE = 2, CMD_UNFINISHED = 3 };

/* bench data status|fetch [NAME] [--data-dir DIR]: where the data sets are, fetch and verify. */
int cmd_data(int argc, char **argv);

/* bench train [options]: one training run from flags, per-epoch metrics, no database. */
int cmd_train(int argc, char **argv);

/* bench run FILE.toml [options]: run an experiment's sweep into the results database. */
int cmd_run(int argc, char **argv);

/* bench ls [--db PATH] [--experiment NAME] [--format F]: experiments and runs with status. */
int cmd_ls(int argc, char **argv);

/* bench show RUN [--db PATH] [--format F]: one run's configuration, provenance and epochs. */
int cmd_show(int argc, char **argv);

/* bench report [options]: runs aggregated over seeds, comparisons, the paper's claims. */
int cmd_report(int argc, char **argv);

/* bench check [options]: the CI gate on the current revision's runs (exit 0 or 1); --format. */
int cmd_check(int argc, char **argv);

/* bench history [options]: accuracy and training time per git revision; --perf: speed. */
int cmd_history(int argc, char **argv);

/* bench plot [--experiment NAME] [--out DIR] [--format png|svg]: gnuplot figures of the runs. */
int cmd_plot(int argc, char **argv);

/* bench perf [--threads N] [--iters N] [--batch N] [--data] [--torch] [--db PATH | --no-store]:
 * speed of the core, recorded in the results database. */
int cmd_perf(int argc, char **argv);

/* bench merge A.db B.db ... --into X.db: results databases into one, by run key. */
int cmd_merge(int argc, char **argv);

/* bench rm RUN... | --experiment NAME [--status S] [--dry-run]: delete runs. */
int cmd_rm(int argc, char **argv);

/* bench archive RUN... [--unarchive]: hide runs from the reports without deleting them. */
int cmd_archive(int argc, char **argv);

/* bench tag RUN [KEY=VALUE...] [--remove KEY]: a run's tags. */
int cmd_tag(int argc, char **argv);

/* bench note RUN [TEXT] [--clear]: a run's note. */
int cmd_note(int argc, char **argv);

/* bench diff RUN RUN: configuration, build and data differences, then the results. */
int cmd_diff(int argc, char **argv);

/* bench export [--experiment NAME] [--format csv|json]: a row per run and epoch. */
int cmd_export(int argc, char **argv);

/* bench slurm submit|status: a sweep as a Slurm job array, and where it stands. */
int cmd_slurm(int argc, char **argv);

/* --- helpers shared by the commands (harness/cmd.c) --- */

/* Print "bench: <formatted message>\n" on stderr. */
void cmd_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Print "bench: <e->msg>" on stderr and return CMD_FAIL: `return cmd_fail(&e);`. */
int cmd_fail(const err_info *e);

/* Print "bench: <cmd>: <message> (see 'bench <cmd> --help')" on stderr and return CMD_USAGE. */
int cmd_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Report the option getopt_long rejected (it returned '?' or ':' with opterr = 0) as a usage
 * error of cmd and return CMD_USAGE. argv and the current optind/optopt identify the option. */
int cmd_bad_option(const char *cmd, char **argv);

/* The strict number syntax of option values: decimal only, an optional leading '-', no blanks,
 * '+', hex, "inf" or "nan", and a value that fits (no silent wrap-around). cmd_strict_long
 * wants the whole text; cmd_strict_double stops where the number ends and sets *rest there
 * (for a unit suffix such as "20m" or "99%"), or with rest NULL wants the whole text.
 * Both return false, leaving *out alone, when text is not such a number. */
bool cmd_strict_long(long *out, const char *text);
bool cmd_strict_double(double *out, const char *text, const char **rest);

/* Option value parsers for command cmd's option --opt: *out <- text when it is a number in
 * range, else a usage error naming the option, the text and the valid range, e.g.
 * "bench: run: --jobs: '0' is not a whole number in [1, 256]". Return CMD_OK or CMD_USAGE:
 * `if ((rc = cmd_parse_int(&o.jobs, "run", "jobs", optarg, 1, 256))) return rc;`.
 * cmd_parse_double takes a finite number >= lo (lo_inclusive) or > lo. */
int cmd_parse_long(long *out, const char *cmd, const char *opt, const char *text, long lo,
                   long hi);
int cmd_parse_int(int *out, const char *cmd, const char *opt, const char *text, int lo, int hi);
int cmd_parse_double(double *out, const char *cmd, const char *opt, const char *text, double lo,
                     bool lo_inclusive);

/* Names typed on the command line (optimizers, models, samplings, data sets...) match in any
 * case: the value lowered in place (argv is the program's own), for the tables of names
 * that the experiment files share, which stay exact. A data set "idx:DIR" keeps its DIR. */
char *cmd_enum_arg(char *arg);

/* *s <- the results database at path opened for writing, which must exist already (a command
 * that edits runs never creates an empty database from a mistyped --db). */
int cmd_open_existing(store **s, const char *path, err_info *e);

/* The run selections of ls and export. --tag KEY[=VALUE]: tags[*n] <- KEY and VALUE (NULL:
 * any value), pointing into arg (its '=' replaced by a NUL); --where KEY=VALUE: w[*n] <- the
 * condition (exp_where_parse). Both count *n up, and return CMD_OK, or a usage error of cmd
 * when arg is not such a text or *n == max. */
int cmd_parse_tag(store_tag *tags, int *n, int max, const char *cmd, char *arg);
int cmd_parse_where(exp_where *w, int *n, int max, const char *cmd, const char *arg);

/* buf <- "key=value key=value" of a run's tags (the JSON object of store_run_row.tags), ""
 * without tags. */
void cmd_tags_text(char *buf, size_t n, const char *tags_json);

/* --shard I/N: *index <- I, *count <- N with 1 <= I <= N <= CMD_SHARDS_MAX (1-based, as
 * typed). A usage error otherwise. */
#define CMD_SHARDS_MAX 1000000
int cmd_parse_shard(int *index, int *count, const char *cmd, const char *opt, const char *text);

#endif
