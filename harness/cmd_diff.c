/* bench diff RUN RUN: what differs between two runs (rundiff.c), printed as three tables:
 * configuration and provenance (only the keys that differ), then the results side by side
 * with their difference. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "rundiff.h"
#include "store.h"
#include "table.h"

static const char diff_usage[] =
    "usage: bench diff RUN_A RUN_B [--db PATH] [--format FORMAT]\n"
    "\n"
    "Compare two runs: the configuration keys whose values differ, the differences of their\n"
    "builds (git revision, uncommitted changes, compiler, flags, BLAS, binary), hosts and data\n"
    "sets, then every result side by side with its difference B - A (status, epochs done,\n"
    "the last epoch's test accuracy, F1, precision, recall, AUROC, losses, time, throughput,\n"
    "peak memory, parameter checksum). RUN is a run key or a unique prefix of one.\n"
    "\n"
    "  --db PATH        results database (default results/bench.db)\n"
    "  --format FORMAT  table (default), md, csv (section,key,a,b,delta) or json\n"
    "  -h, --help       this help\n";

enum { OPT_DB = 256, OPT_FORMAT };

static const struct option diff_options[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The sections of the document, in print order, with their titles. */
static const struct {
    const char *name, *title, *same;
} diff_sections[] = {
    {"configuration", "configuration", "same configuration"},
    {"provenance", "build, host and data", "same build, host and data"},
    {"metrics", "results", NULL},
};
enum { DIFF_SECTIONS = sizeof diff_sections / sizeof diff_sections[0] };

/* A cell of value v: numbers to 6 significant digits for people, SHA-256 digests cut to
 * 16 digits, other text as it is. */
static void diff_cell(char *buf, size_t n, const json_t *v)
{
    if (json_is_real(v))
        snprintf(buf, n, "%.6g", json_real_value(v));
    else if (json_is_string(v) && json_string_length(v) == 64) /* a SHA-256: its start */
        snprintf(buf, n, "%.16s...", json_string_value(v));
    else
        table_csv_value(buf, n, v);
    if (!buf[0])
        snprintf(buf, n, "-");
}

static int diff_tables(const json_t *doc, table_format fmt, err_info *e)
{
    char ha[32], hb[32];
    snprintf(ha, sizeof ha, "<%.12s", json_string_value(json_object_get(doc, "a")));
    snprintf(hb, sizeof hb, "<%.12s", json_string_value(json_object_get(doc, "b")));
    int rc = 0;
    for (int s = 0; s < DIFF_SECTIONS && !rc; s++) {
        const json_t *rows = json_object_get(doc, diff_sections[s].name);
        bool delta = diff_sections[s].same == NULL;
        printf("%s%s%s\n", s ? "\n" : "", fmt == TABLE_MD ? "## " : "",
               json_array_size(rows) || !diff_sections[s].same ? diff_sections[s].title
                                                               : diff_sections[s].same);
        if (json_array_size(rows) == 0)
            continue;
        if (fmt == TABLE_MD)
            putchar('\n');
        const char *cols[] = {"<key", ha, hb, ">B - A"};
        table t;
        table_init(&t, cols, delta ? 4 : 3);
        for (size_t i = 0; i < json_array_size(rows) && !rc; i++) {
            const json_t *r = json_array_get(rows, i);
            char cell[4][512];
            snprintf(cell[0], sizeof cell[0], "%s", json_string_value(json_object_get(r, "key")));
            diff_cell(cell[1], sizeof cell[1], json_object_get(r, "a"));
            diff_cell(cell[2], sizeof cell[2], json_object_get(r, "b"));
            diff_cell(cell[3], sizeof cell[3], json_object_get(r, "delta"));
            const char *row[] = {cell[0], cell[1], cell[2], cell[3]};
            rc = table_row(&t, row, e);
        }
        rc = table_finish(stdout, &t, fmt, "  ", rc);
    }
    return rc;
}

int cmd_diff(int argc, char **argv)
{
    const char *db = "results/bench.db";
    table_format fmt = TABLE_TEXT;
    err_info e = {0};
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", diff_options, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(diff_usage, stdout); return CMD_OK;
        case OPT_DB: db = optarg; break;
        case OPT_FORMAT:
            if (table_format_parse(&fmt, optarg, &e))
                return cmd_usage_error("diff", "--format: %s", e.msg);
            break;
        default: return cmd_bad_option("diff", argv);
        }
    }
    if (argc - optind != 2)
        return cmd_usage_error("diff", "want two run keys, got %d", argc - optind);
    store *s = NULL;
    if (store_open_readonly(&s, db, &e))
        return cmd_fail(&e);
    char a[STORE_KEY_MAX], b[STORE_KEY_MAX];
    json_t *doc = NULL;
    int rc = store_run_resolve(s, a, argv[optind], &e);
    if (!rc)
        rc = store_run_resolve(s, b, argv[optind + 1], &e);
    if (!rc)
        rc = rundiff_runs(&doc, s, a, b, &e);
    store_close(s);
    if (!rc && fmt == TABLE_JSON) {
        json_object_set_new(doc, "format", json_integer(1));
        rc = table_json_write(stdout, doc, &e);
        doc = NULL;
    } else if (!rc && fmt == TABLE_CSV) {
        json_t *all = json_array();
        for (int i = 0; i < DIFF_SECTIONS; i++) {
            size_t j;
            json_t *r;
            json_array_foreach(json_object_get(doc, diff_sections[i].name), j, r) {
                json_object_set_new(r, "section", json_string(diff_sections[i].name));
                json_array_append(all, r);
            }
        }
        static const char *const names[] = {"section", "key", "a", "b", "delta"};
        table_records_csv(stdout, names, 5, all);
        json_decref(all);
    } else if (!rc) {
        printf("A %s\nB %s\n\n", a, b);
        rc = diff_tables(doc, fmt, &e);
    }
    json_decref(doc);
    return rc ? cmd_fail(&e) : CMD_OK;
}
