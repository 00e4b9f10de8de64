/* bench plot: the paper's figures (gnuplot scripts, data files and, with gnuplot, images)
 * from the results database. The work is in plot.c; this file is options and output. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "plot.h"
#include "store.h"

static const char plot_usage[] =
    "usage: bench plot [--experiment NAME] [--run RUN] [--out DIR] [--format png|svg]\n"
    "                  [--db PATH] [--partial] [--no-render]\n"
    "\n"
    "Write gnuplot scripts and their data for the paper's figures and render them when gnuplot\n"
    "is on PATH. Per experiment, runs that differ only in the seed form a group; the figures:\n"
    "  fig4[_GROUP]        train and test accuracy per epoch (the paper's Fig. 4), mean over\n"
    "                      seeds with a +/-1 sd band\n"
    "  optimizers[_...]    test accuracy per epoch, one line per optimizer (when it varies)\n"
    "  bn[_...]            test accuracy per epoch by batch norm (when bn varies)\n"
    "  loss, time          training loss and training seconds per epoch, one line per group\n"
    "  confusion[_GROUP]   confusion matrix of the last epoch, summed over the group's runs\n"
    "Each figure's footer names the experiment, the git revision of the runs' build and the\n"
    "date of the newest run. Scripts run from any directory: gnuplot plots/NAME/fig4.gp.\n"
    "\n"
    "  -e, --experiment NAME  only this experiment (default: every experiment with runs)\n"
    "  --run RUN              Fig. 4 and the confusion matrix of one run (key or prefix)\n"
    "  -o, --out DIR          write into DIR (default plots/NAME; with several experiments,\n"
    "                         DIR/NAME). Scripts load the style file DIR/../style.gp when it\n"
    "                         exists, else DIR/style.gp, written when missing\n"
    "  -f, --format FMT       png (default) or svg\n"
    "  --db PATH              results database (default results/bench.db)\n"
    "  --partial              also runs that are not COMPLETED, with the epochs they stored\n"
    "  --no-render            write scripts and data only\n"
    "  -h, --help             this help\n";

enum { OPT_DB = 256, OPT_RUN, OPT_PARTIAL, OPT_NO_RENDER };

static const struct option plot_options_table[] = {
    {"experiment", required_argument, NULL, 'e'},
    {"run", required_argument, NULL, OPT_RUN},
    {"out", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"db", required_argument, NULL, OPT_DB},
    {"partial", no_argument, NULL, OPT_PARTIAL},
    {"no-render", no_argument, NULL, OPT_NO_RENDER},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The scripts written, to render afterwards. */
typedef struct script_list {
    char **v;
    int n, cap;
} script_list;

static int note_file(void *ctx, const char *path, const char *kind)
{
    script_list *l = ctx;
    printf("wrote %s\n", path);
    if (strcmp(kind, "script") != 0)
        return 0;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 32;
        char **v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v)
            return ERR_NOMEM;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(path)))
        return ERR_NOMEM;
    l->n++;
    return 0;
}

/* The image a script writes: its path with .gp replaced by the format's extension. */
static void image_of(char *out, size_t n, const char *script, plot_format f)
{
    size_t len = strlen(script);
    if (len > 3 && strcmp(script + len - 3, ".gp") == 0)
        len -= 3;
    snprintf(out, n, "%.*s.%s", (int)len, script, plot_format_name(f));
}

int cmd_plot(int argc, char **argv)
{
    const char *db = "results/bench.db", *out = NULL;
    plot_query q = {0};
    plot_format format = PLOT_PNG;
    bool render = true;
    err_info e = {0};
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "e:o:f:h", plot_options_table, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(plot_usage, stdout); return CMD_OK;
        case 'e': q.experiment = optarg; break;
        case OPT_RUN: q.run_key = optarg; break;
        case 'o': out = optarg; break;
        case 'f':
            if (plot_format_parse(&format, optarg, &e))
                return cmd_usage_error("plot", "--format: %s", e.msg);
            break;
        case OPT_DB: db = optarg; break;
        case OPT_PARTIAL: q.partial = true; break;
        case OPT_NO_RENDER: render = false; break;
        default: return cmd_bad_option("plot", argv);
        }
    }
    if (optind < argc)
        return cmd_usage_error("plot", "unexpected argument '%s'", argv[optind]);
    if (out && !*out)
        return cmd_usage_error("plot", "--out: empty directory name");

    store *s = NULL;
    plot_set set = {0};
    script_list scripts = {0};
    int rc = CMD_OK;
    if (store_open_readonly(&s, db, &e) || plot_load(&set, s, &q, &e)) {
        rc = cmd_fail(&e);
        goto done;
    }
    for (int i = 0; i < set.n; i++) {
        const plot_experiment *x = &set.x[i];
        char dir[PLOT_PATH_MAX], parent_style[PLOT_PATH_MAX + 16];
        const char *style_rel = "../style.gp";
        if (!out)
            snprintf(dir, sizeof dir, "plots/%s", x->dir_name);
        else if (set.n > 1)
            snprintf(dir, sizeof dir, "%s/%s", out, x->dir_name);
        else {
            snprintf(dir, sizeof dir, "%s", out);
            /* A directory of the user's choosing: share the style of its parent when there
             * is one, else carry a copy, so that nothing is written outside DIR. */
            snprintf(parent_style, sizeof parent_style, "%s/../style.gp", out);
            if (access(parent_style, F_OK) != 0)
                style_rel = "style.gp";
        }
        plot_options o = {.dir = dir, .style_rel = style_rel, .format = format};
        int w = plot_write(x, &o, note_file, &scripts, &e);
        if (w == ERR_NOMEM && !e.msg[0])
            err_set(&e, ERR_NOMEM, "out of memory");
        if (w) {
            rc = cmd_fail(&e);
            goto done;
        }
    }
    if (!render)
        goto done;
    if (!plot_gnuplot_available()) {
        printf("gnuplot is not on PATH: the scripts are written; render them with\n");
        for (int i = 0; i < scripts.n; i++)
            printf("  gnuplot %s\n", scripts.v[i]);
        goto done;
    }
    for (int i = 0; i < scripts.n; i++) {
        char image[PLOT_PATH_MAX + 8];
        image_of(image, sizeof image, scripts.v[i], format);
        if (plot_render(scripts.v[i], &e)) {
            rc = cmd_fail(&e);
            goto done;
        }
        if (access(image, F_OK) != 0) {
            cmd_error("gnuplot ran '%s' but wrote no '%s'", scripts.v[i], image);
            rc = CMD_FAIL;
            goto done;
        }
        printf("wrote %s\n", image);
    }
done:
    for (int i = 0; i < scripts.n; i++)
        free(scripts.v[i]);
    free(scripts.v);
    plot_set_release(&set);
    store_close(s);
    return rc;
}
