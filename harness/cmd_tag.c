/* bench tag: the researcher's KEY=VALUE labels of a run (run_tags), shown by show and ls and
 * selected by their --tag option. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "store.h"

static const char tag_usage[] =
    "usage: bench tag RUN [KEY=VALUE...] [--remove KEY]... [--db PATH]\n"
    "\n"
    "Set tags on a run (a KEY has one value: setting it again replaces it), remove them, and\n"
    "print the run's tags. KEY is letters, digits, '_', '-' and '.'; VALUE any non-empty text.\n"
    "bench ls and bench export take --tag KEY[=VALUE] to select tagged runs.\n"
    "RUN is a run key or a unique prefix of one (at least 4 characters).\n"
    "\n"
    "  -r, --remove KEY  remove tag KEY (no error when the run does not have it)\n"
    "  --db PATH         results database (default results/bench.db)\n"
    "  -h, --help        this help\n";

enum { OPT_DB = 256 };

static const struct option tag_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"remove", required_argument, NULL, 'r'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Whether key is a tag key: [A-Za-z0-9_.-]+, at most 64 bytes. */
static bool tag_key_ok(const char *key, size_t len)
{
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", key[i]))
            return false;
    return true;
}

static int tag_print(void *ctx, const store_tag *t)
{
    (void)ctx;
    printf("%s=%s\n", t->key, t->value);
    return 0;
}

int cmd_tag(int argc, char **argv)
{
    const char *db = "results/bench.db";
    const char *removes[64];
    int n_removes = 0;
    err_info e = {0};
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "r:h", tag_options, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(tag_usage, stdout); return CMD_OK;
        case OPT_DB: db = optarg; break;
        case 'r':
            if (!tag_key_ok(optarg, strlen(optarg)) || n_removes == 64)
                return cmd_usage_error("tag", "--remove: '%s' is not a tag key (letters, "
                                       "digits, '_', '-', '.')", optarg);
            removes[n_removes++] = optarg;
            break;
        default: return cmd_bad_option("tag", argv);
        }
    }
    if (optind == argc)
        return cmd_usage_error("tag", "missing the run key");
    /* every KEY=VALUE is checked before the database is touched */
    for (int i = optind + 1; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq || !tag_key_ok(argv[i], (size_t)(eq - argv[i])) || !eq[1])
            return cmd_usage_error("tag", "'%s' is not KEY=VALUE (KEY: letters, digits, '_', "
                                   "'-', '.'; VALUE: not empty)", argv[i]);
    }
    store *s = NULL;
    if (cmd_open_existing(&s, db, &e))
        return cmd_fail(&e);
    char key[STORE_KEY_MAX];
    int rc = store_run_resolve(s, key, argv[optind], &e);
    bool began = !rc && store_begin(s, &e) == 0;
    if (!rc && !began)
        rc = e.code;
    for (int i = 0; i < n_removes && !rc; i++)
        rc = store_tag_set(s, key, removes[i], NULL, &e);
    for (int i = optind + 1; i < argc && !rc; i++) {
        char *eq = strchr(argv[i], '=');
        *eq = '\0';
        rc = store_tag_set(s, key, argv[i], eq + 1, &e);
        *eq = '=';
    }
    if (began && rc)
        store_rollback(s, NULL);
    else if (began)
        rc = store_commit(s, &e);
    if (!rc)
        rc = store_tags(s, key, tag_print, NULL, &e);
    store_close(s);
    return rc ? cmd_fail(&e) : CMD_OK;
}
