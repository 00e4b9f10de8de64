/* bench: the command-line entry point. Dispatches `bench COMMAND ARGS...` through the command
 * table below (git style); each command lives in harness/cmd_<name>.c and returns the exit code
 * (0 ok, 1 failure, 2 usage; see cmd.h for the recipe to add one). */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "revision.h" /* generated at build time: BENCH_GIT_REVISION */

#ifndef BENCH_VERSION
#define BENCH_VERSION "unknown"
#endif

static const struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"data", cmd_data, "show, fetch and verify the data sets (mnist, fashion-mnist)"},
    {"train", cmd_train, "train one network from flags and print per-epoch metrics"},
    {"run", cmd_run, "run an experiment's sweep and store every epoch in SQLite"},
    {"ls", cmd_ls, "list experiments and runs with their status"},
    {"rm", cmd_rm, "delete runs by key or by experiment and status (--dry-run first)"},
    {"archive", cmd_archive, "hide runs from ls and reports without deleting them (--unarchive)"},
    {"tag", cmd_tag, "set, remove and print a run's KEY=VALUE tags"},
    {"note", cmd_note, "set, clear and print a run's note"},
    {"show", cmd_show, "show one run: configuration, provenance and per-epoch metrics"},
    {"diff", cmd_diff, "compare two runs: configuration, build and data, then results"},
    {"report", cmd_report, "aggregate runs over seeds: accuracy, F1, CIs, comparisons, paper claims"},
    {"check", cmd_check, "CI gate: accuracy and time budget of the current revision's runs"},
    {"history", cmd_history, "accuracy and training time (--perf: speed) per git revision"},
    {"export", cmd_export, "a row per run and epoch, every configuration key a column (csv, json)"},
    {"plot", cmd_plot, "gnuplot scripts, data and images of the paper's figures"},
    {"perf", cmd_perf, "time the training core and record it: per-layer ms, GFLOP/s vs peak, s/epoch"},
    {"merge", cmd_merge, "merge results databases into one, by run key (Slurm task databases)"},
    {"slurm", cmd_slurm, "run a sweep as a Slurm job array plus a merge job; follow it"},
};

enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void main_usage(FILE *out)
{
    fputs("usage: bench [--help] [--version] COMMAND [ARGS...]\n\n"
          "Reproduce and benchmark the small batch-normalised CNN of Lee & Rhee (2024) on MNIST.\n\n"
          "commands:\n",
          out);
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
    fputs("\n'bench COMMAND --help' describes a command's options.\n", out);
}

static const struct command *main_find(const char *name)
{
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        main_usage(stderr);
        return CMD_USAGE;
    }
    const char *arg = argv[1];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
        main_usage(stdout);
        return CMD_OK;
    }
    if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
        printf("bench %s (git %s)\n", BENCH_VERSION, BENCH_GIT_REVISION);
        return CMD_OK;
    }
    /* `bench help [COMMAND]` is the same as `bench [COMMAND] --help`. */
    if (strcmp(arg, "help") == 0) {
        if (argc < 3) {
            main_usage(stdout);
            return CMD_OK;
        }
        const struct command *c = main_find(argv[2]);
        if (!c) {
            cmd_error("unknown command '%s' (see 'bench --help')", argv[2]);
            return CMD_USAGE;
        }
        char help_opt[] = "--help";
        char *sub[] = {argv[2], help_opt, NULL};
        return c->fn(2, sub);
    }
    if (arg[0] == '-') {
        cmd_error("unknown option '%s' (see 'bench --help')", arg);
        return CMD_USAGE;
    }
    const struct command *c = main_find(arg);
    if (!c) {
        cmd_error("unknown command '%s' (see 'bench --help')", arg);
        return CMD_USAGE;
    }
    return c->fn(argc - 1, argv + 1);
}
