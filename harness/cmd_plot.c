/* bench plot: the paper's figures (gnuplot scripts, data files and, with gnuplot, images)
 * from the results database. The work is in plot.c; this file is options and output. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "claims.h"
#include "cmd.h"
#include "plot.h"
#include "store.h"
#include "valtest.h"

static const char plot_usage[] =
    "usage: bench plot [--experiment NAME] [--run RUN] [--out DIR] [--format png|svg|pdf]\n"
    "                  [--db PATH] [--partial] [--no-render] [--claims FILE]\n"
    "       bench plot --selections [--out DIR] [--format png|svg|pdf] [--db PATH] [--no-render]\n"
    "\n"
    "Write gnuplot scripts and their data for the paper's figures and render them when gnuplot\n"
    "is on PATH. Per experiment, runs that differ only in the seed form a group; the figures:\n"
    "  fig4[_GROUP]        train and test accuracy per epoch, mean over seeds with a +/-1 sd\n"
    "                      band (titled as the paper's Fig. 4 for the paper's network only)\n"
    "  optimizers[_...]    test accuracy per epoch, one line and band per optimizer\n"
    "  bn[_...]            test accuracy per epoch by batch norm (when bn varies)\n"
    "  vs_KEY[_...]        final test accuracy against a numeric swept key, +/-1 sd bars\n"
    "  loss, time          training loss; CPU (solid) and wall (dashed) seconds per epoch\n"
    "  confusion[_GROUP]   confusion matrix of the last epoch, summed over the group's runs:\n"
    "                      counts and rows normalised (class names for Fashion-MNIST)\n"
    "Experiments evaluated on a validation split say \"validation\", never \"test\". The\n"
    "accuracy claims of experiments/claims.toml, and the experiment's [budget]\n"
    "target_accuracy on test figures, are dashed, labelled lines.\n"
    "With --selections, one figure of the whole study: validation_vs_test, the validation mean\n"
    "of each recipe a [select] table chose (x) against its mean on the test set (y), +/-1 sd\n"
    "bars both ways, the diagonal test = validation (rows of bench report --selections run on\n"
    "the data set they were chosen on).\n"
    "Each figure's footer names the experiment, the git revision of the runs' build and the\n"
    "date of the newest run. Scripts run from any directory: gnuplot plots/NAME/fig4.gp.\n"
    "\n"
    "  -e, --experiment NAME  only this experiment (default: every experiment with runs)\n"
    "  --run RUN              Fig. 4 and the confusion matrix of one run (key or prefix)\n"
    "  -o, --out DIR          write into DIR (default plots/NAME; with several experiments,\n"
    "                         DIR/NAME). NAME is the experiment's name with every byte but\n"
    "                         letters, digits, - and _ (and . but first) as %XX. Scripts\n"
    "                         load no file but their own data (the style is copied in)\n"
    "  -f, --format FMT       png (default), svg or pdf\n"
    "  --db PATH              results database (default results/bench.db)\n"
    "  --partial              also runs that are not COMPLETED, with the epochs they stored\n"
    "  --no-render            write scripts and data only\n"
    "  --claims FILE          the claims to draw (default experiments/claims.toml, when found)\n"
    "  --selections           the validation-against-test figure into DIR (default plots)\n"
    "  -h, --help             this help\n";

enum { OPT_DB = 256, OPT_RUN, OPT_PARTIAL, OPT_NO_RENDER, OPT_CLAIMS, OPT_SELECTIONS };

static const struct option plot_options_table[] = {
    {"experiment", required_argument, NULL, 'e'},
    {"run", required_argument, NULL, OPT_RUN},
    {"out", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"db", required_argument, NULL, OPT_DB},
    {"partial", no_argument, NULL, OPT_PARTIAL},
    {"no-render", no_argument, NULL, OPT_NO_RENDER},
    {"claims", required_argument, NULL, OPT_CLAIMS},
    {"selections", no_argument, NULL, OPT_SELECTIONS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Say what was written, and keep the scripts to render. */
static int note_file(void *ctx, const char *path, const char *kind)
{
    printf("wrote %s\n", path);
    return plot_scripts_note(ctx, path, kind);
}

/* The image a script writes: its path with .gp replaced by the format's extension. */
static void image_of(char *out, size_t n, const char *script, plot_format f)
{
    size_t len = strlen(script);
    if (len > 3 && strcmp(script + len - 3, ".gp") == 0)
        len -= 3;
    snprintf(out, n, "%.*s.%s", (int)len, script, plot_format_name(f));
}

/* Render the scripts written (when gnuplot is on PATH, else say how); rc: the status so far,
 * returned unless a figure fails. */
static int render_scripts(const plot_scripts *scripts, plot_format format, int rc)
{
    if (!plot_gnuplot_available()) {
        printf("gnuplot is not on PATH: the scripts are written; render them with\n");
        for (int i = 0; i < scripts->n; i++)
            printf("  gnuplot %s\n", scripts->v[i]);
        return rc;
    }
    for (int i = 0; i < scripts->n; i++) {
        char image[PLOT_PATH_MAX + 8];
        image_of(image, sizeof image, scripts->v[i], format);
        err_info e = {0};
        if (plot_render(scripts->v[i], &e)) {
            rc = cmd_fail(&e);
            continue;
        }
        if (access(image, F_OK) != 0) {
            cmd_error("gnuplot ran '%s' but wrote no '%s'", scripts->v[i], image);
            rc = CMD_FAIL;
            continue;
        }
        printf("wrote %s\n", image);
    }
    return rc;
}

/* bench plot --selections: the validation-against-test figure of the whole database. */
static int plot_selections_cmd(const char *db, const char *out, plot_format format, bool render)
{
    err_info e = {0};
    store *s = NULL;
    valtest_set v = {0};
    plot_scripts scripts = {0};
    plot_options o = {.dir = out ? out : "plots", .format = format};
    int rc = store_open_readonly(&s, db, &e);
    if (!rc)
        rc = valtest_load(&v, s, &e);
    if (!rc)
        rc = valtest_plot(&v, &o, note_file, &scripts, &e);
    if (rc == ERR_NOMEM && !e.msg[0])
        err_set(&e, ERR_NOMEM, "out of memory");
    rc = rc ? cmd_fail(&e) : render ? render_scripts(&scripts, format, CMD_OK) : CMD_OK;
    plot_scripts_free(&scripts);
    valtest_release(&v);
    store_close(s);
    return rc;
}

int cmd_plot(int argc, char **argv)
{
    const char *db = "results/bench.db", *out = NULL, *claims_file = NULL;
    plot_query q = {0};
    plot_format format = PLOT_PNG;
    bool render = true, selections = false;
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
        case OPT_CLAIMS: claims_file = optarg; break;
        case OPT_SELECTIONS: selections = true; break;
        default: return cmd_bad_option("plot", argv);
        }
    }
    if (optind < argc)
        return cmd_usage_error("plot", "unexpected argument '%s'", argv[optind]);
    if (out && !*out)
        return cmd_usage_error("plot", "--out: empty directory name");
    if (selections && (q.experiment || q.run_key || q.partial || claims_file))
        return cmd_usage_error("plot", "--selections is a figure of its own: not with %s",
                               q.experiment ? "--experiment" : q.run_key ? "--run"
                               : q.partial  ? "--partial"
                                            : "--claims");
    if (selections)
        return plot_selections_cmd(db, out, format, render);

    store *s = NULL;
    plot_set set = {0};
    claims cl = {0};
    plot_scripts scripts = {0};
    int rc = CMD_OK;
    if (store_open_readonly(&s, db, &e) || plot_load(&set, s, &q, &e)) {
        rc = cmd_fail(&e);
        goto done;
    }
    /* The claims drawn on the figures: --claims FILE, else the default file when there is
     * one (without it the figures carry no claim lines). */
    char claims_path[4096];
    if (claims_file || claims_locate(claims_path, sizeof claims_path, NULL, &e) == 0) {
        if ((claims_file && claims_locate(claims_path, sizeof claims_path, claims_file, &e)) ||
            claims_load(&cl, claims_path, &e)) {
            rc = cmd_fail(&e);
            goto done;
        }
    }
    /* One experiment's or one figure's failure is reported and the rest are still drawn:
     * exit 1 at the end. */
    for (int i = 0; i < set.n; i++) {
        const plot_experiment *x = &set.x[i];
        char dir[PLOT_PATH_MAX];
        if (!out)
            snprintf(dir, sizeof dir, "plots/%s", x->dir_name);
        else if (set.n > 1)
            snprintf(dir, sizeof dir, "%s/%s", out, x->dir_name);
        else
            snprintf(dir, sizeof dir, "%s", out);
        plot_options o = {.dir = dir, .format = format, .claims = &cl};
        e = (err_info){0};
        int w = plot_write(x, &o, note_file, &scripts, &e);
        if (w == ERR_NOMEM && !e.msg[0])
            err_set(&e, ERR_NOMEM, "out of memory");
        if (w)
            rc = cmd_fail(&e);
    }
    if (render)
        rc = render_scripts(&scripts, format, rc);
done:
    plot_scripts_free(&scripts);
    plot_set_release(&set);
    claims_release(&cl);
    store_close(s);
    return rc;
}
