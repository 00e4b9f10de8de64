/* bench data: show where the data sets are and whether they verify; fetch them.
 *
 *   bench data [status] [NAME...] [--data-dir DIR]
 *   bench data fetch [NAME...] [--data-dir DIR]
 *
 * status exits 1 when a registered data set asked about (all of them by default) is missing or
 * fails verification, so that scripts and CI can rely on it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "data.h"

static const char cmd_data_usage[] =
    "usage: bench data [status] [NAME...] [--data-dir DIR]\n"
    "       bench data fetch [NAME...] [--data-dir DIR]\n"
    "\n"
    "status  for each data set (default: all registered), where its files are and whether their\n"
    "        SHA-256 checksums match the originals; exit 1 when one is missing or corrupt\n"
    "fetch   download/copy data sets (default: mnist and fashion-mnist) into data/NAME/ and\n"
    "        verify them; nothing is done for a data set that is already verified\n"
    "\n"
    "NAME    mnist | fashion-mnist | idx:DIR (any directory with the four MNIST file names)\n"
    "\n"
    "options:\n"
    "  -d, --data-dir DIR  look in (and fetch into) DIR/NAME/ or DIR instead of data/NAME/\n"
    "                      (default: $BENCH_DATA_DIR when set)\n"
    "  -h, --help          show this help\n";

static const struct option cmd_data_options[] = {
    {"data-dir", required_argument, NULL, 'd'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The subcommands, table-driven like the top-level commands. */
typedef int (*cmd_data_fn)(const char *name, const char *data_dir);

static int cmd_data_status_one(const char *name, const char *data_dir)
{
    data_source src;
    err_info e = {0};
    if (data_open(&src, name, data_dir, &e) != 0) {
        const char *what = e.code == ERR_CHECKSUM ? "CORRUPT" : e.code == ERR_IO ? "missing"
                                                                                 : "error";
        printf("%-15s %-10s %s\n", name, what, e.msg);
        return CMD_FAIL;
    }
    printf("%-15s %-10s %s\n", name, src.verified ? "verified" : "unverified", src.dir);
    return CMD_OK;
}

static int cmd_data_fetch_one(const char *name, const char *data_dir)
{
    data_source src;
    err_info e = {0};
    bool already = false;
    if (data_fetch(&src, &already, name, data_dir, stderr, &e) != 0)
        return cmd_fail(&e);
    printf("%s: %s at %s\n", name, src.verified ? "verified" : "unverified", src.dir);
    return CMD_OK;
}

static const struct {
    const char *name;
    cmd_data_fn fn;
    bool all_by_default; /* without names: every registered data set */
} cmd_data_subcommands[] = {
    {"status", cmd_data_status_one, true},
    {"fetch", cmd_data_fetch_one, true},
};

int cmd_data(int argc, char **argv)
{
    const char *data_dir = NULL;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":d:h", cmd_data_options, NULL)) != -1) {
        switch (c) {
        case 'd':
            data_dir = optarg;
            break;
        case 'h':
            fputs(cmd_data_usage, stdout);
            return CMD_OK;
        default:
            return cmd_bad_option("data", argv);
        }
    }
    /* GNU getopt_long permutes, so options may follow the subcommand and the names. */
    const char *sub = "status";
    int first = optind;
    if (first < argc && (strcmp(argv[first], "status") == 0 || strcmp(argv[first], "fetch") == 0))
        sub = argv[first++];
    for (int i = first; i < argc; i++)
        cmd_enum_arg(argv[i]);
    const char *const *names = (const char *const *)argv + first;
    int n_names = argc - first;

    cmd_data_fn fn = NULL;
    for (size_t i = 0; i < sizeof cmd_data_subcommands / sizeof cmd_data_subcommands[0]; i++)
        if (strcmp(cmd_data_subcommands[i].name, sub) == 0)
            fn = cmd_data_subcommands[i].fn;
    /* Names are checked before any work so a typo costs nothing. */
    for (int i = 0; i < n_names; i++) {
        bool is_idx = strncmp(names[i], "idx:", 4) == 0;
        if (!data_find(names[i]) && !(is_idx && fn == cmd_data_status_one))
            return cmd_usage_error("data", "unknown data set '%s' (valid: %s)", names[i],
                                   fn == cmd_data_status_one ? data_names()
                                                             : "mnist, fashion-mnist");
    }

    int rc = CMD_OK;
    if (n_names == 0) {
        int n = 0;
        const data_spec *specs = data_specs(&n);
        for (int i = 0; i < n; i++) {
            int r = fn(specs[i].name, data_dir);
            if (r > rc)
                rc = r;
        }
    } else {
        for (int i = 0; i < n_names; i++) {
            int r = fn(names[i], data_dir);
            if (r > rc)
                rc = r;
        }
    }
    return rc;
}
