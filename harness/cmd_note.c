/* bench note: the researcher's free-text note about a run (runs.note), shown by show and ls
 * and searched by ls --note. */
#include <getopt.h>
#include <stdio.h>

#include "cmd.h"
#include "store.h"

static const char note_usage[] =
    "usage: bench note RUN [TEXT] [--clear] [--db PATH]\n"
    "\n"
    "Set the note of a run to TEXT (replacing the one it had), remove it (--clear), or with\n"
    "neither print it. bench show prints the note, bench ls shows it in its note column, and\n"
    "ls --note TEXT lists the runs whose note contains TEXT. RUN is a run key or a unique\n"
    "prefix of one (at least 4 characters).\n"
    "\n"
    "  --clear       remove the note\n"
    "  --db PATH     results database (default results/bench.db)\n"
    "  -h, --help    this help\n";

enum { OPT_DB = 256, OPT_CLEAR };

static const struct option note_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"clear", no_argument, NULL, OPT_CLEAR},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int note_print(void *ctx, const store_run_row *r)
{
    (void)ctx;
    if (r->note)
        printf("%s\n", r->note);
    return 0;
}

int cmd_note(int argc, char **argv)
{
    const char *db = "results/bench.db";
    bool clear = false;
    err_info e = {0};
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", note_options, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(note_usage, stdout); return CMD_OK;
        case OPT_DB: db = optarg; break;
        case OPT_CLEAR: clear = true; break;
        default: return cmd_bad_option("note", argv);
        }
    }
    if (optind == argc)
        return cmd_usage_error("note", "missing the run key");
    if (optind + 2 < argc)
        return cmd_usage_error("note", "unexpected argument '%s' (quote the note's text)",
                               argv[optind + 2]);
    const char *text = optind + 1 < argc ? argv[optind + 1] : NULL;
    if (clear && text)
        return cmd_usage_error("note", "--clear takes no TEXT");
    if (text && !text[0])
        return cmd_usage_error("note", "empty TEXT (--clear removes a note)");
    store *s = NULL;
    if (cmd_open_existing(&s, db, &e))
        return cmd_fail(&e);
    char key[STORE_KEY_MAX];
    int rc = store_run_resolve(s, key, argv[optind], &e);
    if (!rc && (text || clear))
        rc = store_note_set(s, key, text, &e);
    if (!rc && !text && !clear)
        rc = store_run_get(s, key, note_print, NULL, &e);
    store_close(s);
    return rc ? cmd_fail(&e) : CMD_OK;
}
