/* Reliability of bench run (issue #7), by running the built binary (BENCH_BINARY) on small
 * synthetic IDX data made in a temporary directory:
 *   - every file of tests/data/bad/ (plus a generated 10 MB line): exit 1 or 2, ONE line that
 *     names file:line (and the key for schema errors), and an existing database left
 *     byte-identical;
 *   - bad data (truncated, wrong magic, wrong dimensions, count mismatch, label above 9, corrupt
 *     gzip, unreadable file): a clear error before any training, database byte-identical;
 *   - a full disk (a 4 MiB tmpfs, when mounting is permitted) and a read-only database: a clear
 *     error, exit non-zero, earlier results intact;
 *   - divergence: a huge lr gives a DIVERGED run with its epoch, the sweep carries on, bench ls
 *     shows it;
 *   - concurrency: two bench run processes on one database (same and different experiments):
 *     no "database is locked", no duplicate or lost rows; bench ls while a sweep writes;
 *   - injection: names and values with quotes, semicolons and SQL stored and shown verbatim;
 *   - bench train --save onto a FIFO, a link to /dev/null, a directory, a regular file;
 *   - memory: a valid file of 1024x1024 images plans in bounded memory, a run larger than the
 *     machine is refused before anything of it is allocated (issue 18.4). */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <zlib.h>

#include "idx.h"
#include "sha256.h"

#include "cli.h"

typedef struct fixture {
    char dir[256];   /* temporary working directory, holds data/synth */
    char db[300];    /* dir/ref.db: a database with earlier results */
    char sum[65];    /* checksum of the database files before a test's failing runs */
} fixture;

typedef cli_result result;

/* ---- running bench ---- */

/* Start bench with args (NULL-terminated) in cwd, output into out/err; as user nobody when
 * as_nobody (root only). */
static pid_t spawn(const char *cwd, const char *const *args, FILE *out, FILE *err, bool as_nobody)
{
    return cli_spawn_bench(&(cli_opts){.cwd = cwd, .as_nobody = as_nobody}, args, out, err);
}

static void run_in(result *r, const char *cwd, bool as_nobody, const char *const *args)
{
    cli_run_bench(r, &(cli_opts){.cwd = cwd, .as_nobody = as_nobody}, args);
}

#define RUN(r, f, ...) run_in(r, (f)->dir, false, (const char *const[]){__VA_ARGS__, NULL})

/* ---- files ---- */

static void put_be32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    fwrite(b, 1, 4, f);
}

/* Shapes and defects of a generated IDX pair. */
typedef struct idx_gen {
    int n;            /* images */
    int h, w;         /* image size */
    int n_labels;     /* labels written (n unless testing a mismatch) */
    uint32_t magic;   /* of the image file, 0x803 unless testing a wrong one */
    int bad_label;    /* > 0: the label of image 3 */
    long cut;         /* > 0: drop this many bytes from the end of the image file */
} idx_gen;

/* A learnable 10-class task: class c lights a patch at a position fixed per class over noise.
 * Writes DIR/PREFIX-images-idx3-ubyte and DIR/PREFIX-labels-idx1-ubyte. */
static void write_idx(const char *dir, const char *prefix, idx_gen g, uint32_t seed)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, prefix);
    FILE *fi = fopen(path, "wb");
    char lpath[1024];
    snprintf(lpath, sizeof lpath, "%s/%s-labels-idx1-ubyte", dir, prefix);
    FILE *fl = fopen(lpath, "wb");
    assert_true(fi && fl);
    put_be32(fi, g.magic ? g.magic : 0x803);
    put_be32(fi, (uint32_t)g.n);
    put_be32(fi, (uint32_t)g.h);
    put_be32(fi, (uint32_t)g.w);
    put_be32(fl, 0x801);
    put_be32(fl, (uint32_t)g.n_labels);
    uint32_t s = seed;
    unsigned char img[64 * 64];
    for (int i = 0; i < g.n || i < g.n_labels; i++) {
        s = s * 1664525u + 1013904223u;
        int c = (int)((s >> 16) % 10);
        for (int p = 0; p < g.h * g.w; p++) {
            s = s * 1664525u + 1013904223u;
            img[p] = (unsigned char)((s >> 24) & 0x7f);
        }
        int y0 = 2 + (c / 5) * (g.h / 2 - 2), x0 = 2 + (c % 5) * (g.w / 6);
        for (int y = 0; y < 6 && y0 + y < g.h; y++)
            for (int x = 0; x < 4 && x0 + x < g.w; x++)
                img[(y0 + y) * g.w + x0 + x] = 250;
        if (i < g.n)
            fwrite(img, 1, (size_t)(g.h * g.w), fi);
        unsigned char lab = (unsigned char)(i == 3 && g.bad_label ? g.bad_label : c);
        if (i < g.n_labels)
            fwrite(&lab, 1, 1, fl);
    }
    fclose(fi);
    fclose(fl);
    if (g.cut > 0) {
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(truncate(path, st.st_size - g.cut), 0);
    }
}

static idx_gen gen(int n)
{
    return (idx_gen){.n = n, .h = 28, .w = 28, .n_labels = n};
}

/* A data set directory DIR/data/NAME with train (n_train) and t10k (100) images. */
static void make_dataset(const fixture *f, const char *name, int n_train)
{
    char p[600];
    snprintf(p, sizeof p, "%s/data", f->dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/data/%s", f->dir, name);
    assert_int_equal(mkdir(p, 0755), 0);
    write_idx(p, "train", gen(n_train), 1);
    write_idx(p, "t10k", gen(100), 2);
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Checksum of db and its non-empty -wal (the -shm index is rebuilt by readers and is not
 * data). */
static void db_checksum(char out[65], const char *db)
{
    char a[65], b[65] = "", wal[400], cat[140];
    err_info e = {0};
    assert_int_equal(sha256_file(a, db, &e), 0);
    snprintf(wal, sizeof wal, "%s-wal", db);
    struct stat st;
    /* a reader creates an empty -wal: no content, same database */
    if (stat(wal, &st) == 0 && st.st_size > 0)
        assert_int_equal(sha256_file(b, wal, &e), 0);
    snprintf(cat, sizeof cat, "%s%s", a, b);
    sha256_hex(out, cat, strlen(cat));
}

static void assert_db_unchanged(const fixture *f, const char *what)
{
    char now[65];
    db_checksum(now, f->db);
    if (strcmp(now, f->sum) != 0)
        fail_msg("%s: the database changed", what);
}

static int64_t query_int(const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* The first column of the first row of sql as text (into buf). */
static const char *query_text(char *buf, size_t n, const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(buf, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return buf;
}

static void integrity_ok(const char *db_path)
{
    char buf[64];
    assert_string_equal(query_text(buf, sizeof buf, db_path, "PRAGMA integrity_check"), "ok");
}

/* An experiment over data/NAME: `runs` seeds of the paper network without BN, 2 epochs of 4
 * iterations of batch 20, evaluated on 100 training images: about a second per run. */
static void write_experiment(const fixture *f, const char *file, const char *name,
                             const char *data, int first_seed, int runs, const char *extra)
{
    char text[4096], seeds[256] = "";
    for (int i = 0; i < runs; i++)
        snprintf(seeds + strlen(seeds), sizeof seeds - strlen(seeds), "%s%d", i ? ", " : "",
                 first_seed + i);
    snprintf(text, sizeof text,
             "[experiment]\nname = \"%s\"\n"
             "[data]\ndataset = \"idx:data/%s\"\n"
             "[model]\npreset = \"paper\"\nbn = false\n"
             "[training]\nepochs = 2\nbatch = 20\niterations = 4\nthreads = 1\n"
             "[evaluation]\ntrain_samples = 100\n"
             "[sweep]\nseed = [%s]\n%s",
             name, data, seeds, extra ? extra : "");
    char path[600];
    snprintf(path, sizeof path, "%s/%s", f->dir, file);
    write_text(path, text);
}

/* ---- fixture: data/synth and ref.db holding one completed 2-run sweep ---- */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/bench-test-rel-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    chmod(f->dir, 0755); /* the read-only test runs bench as nobody */
    snprintf(f->db, sizeof f->db, "%s/ref.db", f->dir);
    make_dataset(f, "synth", 400);
    write_experiment(f, "ref.toml", "ref", "synth", 1, 2, NULL);
    static result r;
    RUN(&r, f, "run", "ref.toml", "--db", f->db, "-j", "2");
    if (r.status != 0)
        fail_msg("reference sweep failed: %s%s", r.out, r.err);
    db_checksum(f->sum, f->db);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cli_rm_tree(f->dir);
    free(f);
    return 0;
}

/* stderr is exactly one line that names base:LINE (a line number after the file name). */
static void assert_one_line_naming(const result *r, const char *base, const char *what)
{
    const char *nl = strchr(r->err, '\n');
    if (!nl || nl[1] != '\0')
        fail_msg("%s: not one line: %s", what, r->err);
    char needle[600];
    snprintf(needle, sizeof needle, "%s:", base);
    const char *at = strstr(r->err, needle);
    if (!at || at[strlen(needle)] < '1' || at[strlen(needle)] > '9')
        fail_msg("%s: message does not name %s:LINE: %s", what, base, r->err);
    /* a schema error ("FILE:LINE: ...", no column) names the key or table at fault; a syntax
     * error ("FILE:LINE:COL: ...") names the position */
    const char *p = at + strlen(needle);
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == ':' && p[1] == ' ' && !strstr(r->err, "key '") && !strstr(r->err, "table '"))
        fail_msg("%s: schema error without the key: %s", what, r->err);
}

/* ---- bad experiment files ---- */

static void check_bad_file(fixture *f, const char *path, const char *base, result *r)
{
    RUN(r, f, "run", path, "--db", f->db);
    if (r->status != 1 && r->status != 2)
        fail_msg("%s: exit %d (%s%s)", base, r->status, r->out, r->err);
    assert_one_line_naming(r, base, base);
    assert_null(strstr(r->out, "epoch"));
    assert_db_unchanged(f, base);
}

static void test_bad_corpus(void **state)
{
    fixture *f = *state;
    static result r;
    const char *dir = TEST_DATA_DIR "/bad";
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".toml") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        check_bad_file(f, path, de->d_name, &r);
        files++;
    }
    closedir(d);

    /* Generated: a 3 MiB line (under the 4 MiB cap on an experiment file), as a string value
     * and as an array of numbers; then a file over the cap, and /dev/zero, refused for their
     * size in one line that names them (issue 18.4: /dev/zero grew the reader to 24 GB). */
    const char *big[] = {"long_string.toml", "long_array.toml"};
    for (int k = 0; k < 2; k++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", f->dir, big[k]);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        if (k == 0) {
            fputs("[experiment]\nname = \"", fp);
            for (int i = 0; i < 3 * 1024 * 1024; i++)
                fputc('x', fp);
            fputs("\"\n", fp);
        } else {
            fputs("[training]\nepochs = 1\n[sweep]\nseed = [", fp);
            for (int i = 0; i < 1500000; i++)
                fprintf(fp, "%d,", i % 10);
            fputs("1]\n", fp);
        }
        fclose(fp);
        check_bad_file(f, path, big[k], &r);
        files++;
    }
    char huge[600];
    snprintf(huge, sizeof huge, "%s/huge.toml", f->dir);
    FILE *fp = fopen(huge, "w");
    assert_non_null(fp);
    fputs("[training]\nepochs = 1\n", fp);
    for (int i = 0; i < 5 * 1024 * 1024; i++)
        fputc(i % 64 == 63 ? '\n' : '#', fp);
    fclose(fp);
    const char *capped[] = {"huge.toml", "/dev/zero"};
    for (int k = 0; k < 2; k++) {
        RUN(&r, f, "run", capped[k], "--dry-run", "--db", f->db);
        assert_int_equal(r.status, 1);
        char want[700];
        snprintf(want, sizeof want, "bench: '%s' is larger than 4 MiB: not an experiment file\n",
                 capped[k]);
        assert_string_equal(r.err, want);
        files++;
    }
    assert_db_unchanged(f, "files over the size cap");
    assert_true(files >= 100);
    print_message("%d bad experiment files refused, database byte-identical\n", files);
}

/* ---- bad data ---- */

/* Write a gzip copy of src at dst with the bytes in the middle of the stream flipped. */
static void write_corrupt_gzip(const char *dst, const char *src)
{
    FILE *in = fopen(src, "rb");
    assert_non_null(in);
    static unsigned char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    gzFile gz = gzopen(dst, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, buf, (unsigned)n), (int)n);
    gzclose(gz);
    FILE *g = fopen(dst, "r+b");
    assert_non_null(g);
    fseek(g, 0, SEEK_END);
    long size = ftell(g);
    for (long at = size / 3; at < size / 3 + 16; at++) {
        fseek(g, at, SEEK_SET);
        int c = fgetc(g);
        fseek(g, at, SEEK_SET);
        fputc(c ^ 0x5a, g);
    }
    fclose(g);
}

static void test_bad_data(void **state)
{
    fixture *f = *state;
    static result r;
    struct {
        const char *name;   /* data set directory */
        idx_gen train;      /* how its training files are written */
        const char *expect; /* in the message */
    } cases[] = {
        {"truncated", {.n = 200, .h = 28, .w = 28, .n_labels = 200, .cut = 100}, "truncated"},
        {"magic", {.n = 200, .h = 28, .w = 28, .n_labels = 200, .magic = 0x0A03}, "type"},
        {"dims", {.n = 200, .h = 20, .w = 20, .n_labels = 200}, "20x20"},
        {"count", {.n = 200, .h = 28, .w = 28, .n_labels = 199}, "199 labels"},
        {"label", {.n = 200, .h = 28, .w = 28, .n_labels = 200, .bad_label = 12}, "label 12"},
        {"gzip", {.n = 200, .h = 28, .w = 28, .n_labels = 200}, "gzip"},
        {"dir", {.n = 200, .h = 28, .w = 28, .n_labels = 200}, "missing"},
        {"unreadable", {.n = 200, .h = 28, .w = 28, .n_labels = 200}, "ermission"},
    };
    int checked = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char d[600], p[700], q[800];
        snprintf(d, sizeof d, "%s/data/%s", f->dir, cases[i].name);
        assert_int_equal(mkdir(d, 0755), 0);
        write_idx(d, "train", cases[i].train, 1);
        write_idx(d, "t10k", gen(100), 2);
        snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", d);
        bool as_nobody = false;
        if (strcmp(cases[i].name, "gzip") == 0) {
            snprintf(q, sizeof q, "%s.gz", p);
            write_corrupt_gzip(q, p);
            unlink(p);
        } else if (strcmp(cases[i].name, "dir") == 0) {
            /* a directory where a file should be */
            snprintf(q, sizeof q, "%s/train-labels-idx1-ubyte", d);
            unlink(q);
            assert_int_equal(mkdir(q, 0755), 0);
        } else if (strcmp(cases[i].name, "unreadable") == 0) {
            /* mode 000 stops everyone but root: run bench as nobody when we are root */
            assert_int_equal(chmod(p, 0), 0);
            as_nobody = geteuid() == 0;
        }
        char file[64];
        snprintf(file, sizeof file, "%s.toml", cases[i].name);
        write_experiment(f, file, cases[i].name, cases[i].name, 1, 1, NULL);
        run_in(&r, f->dir, as_nobody, (const char *const[]){"run", file, "--db", f->db, NULL});
        if (r.status != 1 || !strstr(r.err, cases[i].expect) || strchr(r.err, '\n')[1] != '\0')
            fail_msg("bad data '%s': exit %d, stderr: %s", cases[i].name, r.status, r.err);
        if (strstr(r.out, "epoch") || strstr(r.out, "running"))
            fail_msg("bad data '%s': training started: %s", cases[i].name, r.out);
        assert_db_unchanged(f, cases[i].name);
        checked++;
    }
    print_message("%d kinds of bad data refused before training\n", checked);
}

/* ---- resource failures ---- */

static void copy_file(const char *dst, const char *src)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    assert_true(in && out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

/* Rows of the reference sweep, as text, to compare before and after a failure. */
static char *epoch_rows(const char *db_path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                     "SELECT group_concat(run_key || ' ' || epoch || ' ' ||"
                     " printf('%.17g', test_acc), ';') FROM (SELECT * FROM epochs"
                     " ORDER BY run_key, epoch)", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char *s = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return s;
}

static void test_full_disk(void **state)
{
    fixture *f = *state;
    static result r;
    char mnt[400], db[500], fill[500];
    snprintf(mnt, sizeof mnt, "%s/full", f->dir);
    assert_int_equal(mkdir(mnt, 0755), 0);
    /* room for the reference database (1.04 MiB since schema 7) before the rest is filled */
    if (geteuid() != 0 || mount("tmpfs", mnt, "tmpfs", 0, "size=4m") != 0) {
        print_message("skipped: cannot mount a 4 MiB tmpfs (%s)\n",
                      geteuid() != 0 ? "not root" : strerror(errno));
        skip();
    }
    snprintf(db, sizeof db, "%s/bench.db", mnt);
    copy_file(db, f->db);
    char *before = epoch_rows(db);
    /* fill the rest of the file system */
    snprintf(fill, sizeof fill, "%s/fill", mnt);
    FILE *fp = fopen(fill, "wb");
    assert_non_null(fp);
    static char block[4096];
    while (fwrite(block, 1, sizeof block, fp) == sizeof block && fflush(fp) == 0)
        ;
    fclose(fp);
    write_experiment(f, "more.toml", "more", "synth", 7, 2, NULL);
    RUN(&r, f, "run", "more.toml", "--db", db, "-j", "2");
    int status = r.status;
    /* free the space again, then look at what is left */
    unlink(fill);
    if (status == 0 || !strchr(r.err, '\n') || !(strstr(r.err, "full") || strstr(r.err, "space")))
        fail_msg("full disk: exit %d, stderr: %s", status, r.err);
    assert_non_null(strstr(r.err, "bench.db"));
    integrity_ok(db);
    char *after = epoch_rows(db);
    assert_string_equal(before, after);
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs WHERE status = 'COMPLETED'"), 2);
    print_message("full disk: %s", r.err);
    free(before);
    free(after);
    umount2(mnt, MNT_DETACH);
}

static void test_readonly_db(void **state)
{
    fixture *f = *state;
    static result r;
    char *before = epoch_rows(f->db);
    bool root = geteuid() == 0;
    /* root ignores file modes: it runs bench as nobody, for whom the root-owned 0644 file is
     * read-only; others make the file read-only */
    if (!root)
        assert_int_equal(chmod(f->db, 0444), 0);
    write_experiment(f, "more.toml", "more", "synth", 7, 1, NULL);
    run_in(&r, f->dir, root, (const char *const[]){"run", "more.toml", "--db", f->db, NULL});
    chmod(f->db, 0644);
    if (r.status != 1 || !strchr(r.err, '\n') || strchr(r.err, '\n')[1] != '\0' ||
        !strstr(r.err, "ref.db"))
        fail_msg("read-only database: exit %d, stderr: %s", r.status, r.err);
    assert_null(strstr(r.out, "epoch"));
    assert_db_unchanged(f, "read-only database");
    char *after = epoch_rows(f->db);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* ---- divergence ---- */

static void test_divergence(void **state)
{
    fixture *f = *state;
    static result r;
    write_experiment(f, "div.toml", "div", "synth", 1, 1,
                     "optimizer = [\"sgd\"]\nlr = [1e30, 0.1]\n");
    RUN(&r, f, "run", "div.toml", "--db", f->db, "-j", "1");
    /* exit 1 (a run diverged), after finishing the other run */
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "diverged"));
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM runs r JOIN experiment_runs l"
                               " USING (run_key) JOIN experiments x ON x.id = l.experiment_id"
                               " WHERE x.name = 'div' AND r.status = 'DIVERGED'"
                               " AND r.diverged_epoch = 1 AND r.lr > 1e29"), 1);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM runs WHERE status = 'COMPLETED'"
                               " AND abs(lr - 0.1) < 1e-6 AND optimizer = 'sgd'"), 1);
    RUN(&r, f, "ls", "--db", f->db);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "DIVERGED"));
    integrity_ok(f->db);
}

/* ---- concurrency ---- */

/* No row twice, none missing: every run COMPLETED once with all its epochs. */
static void assert_rows_exact(const char *db, int runs, int epochs)
{
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs"), runs);
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs WHERE status = 'COMPLETED'"), runs);
    assert_int_equal(query_int(db, "SELECT count(*) FROM epochs"), runs * epochs);
    assert_int_equal(query_int(db, "SELECT count(*) FROM (SELECT DISTINCT run_key, epoch"
                               " FROM epochs)"), runs * epochs);
    assert_int_equal(query_int(db, "SELECT count(*) FROM class_metrics"), runs * epochs * 10);
    assert_int_equal(query_int(db, "SELECT count(*) FROM confusion WHERE epoch = 2"), runs * 100);
    integrity_ok(db);
}

static void run_two(fixture *f, const char *db, const char *file_a, const char *file_b)
{
    static result ra, rb;
    FILE *oa = tmpfile(), *ea = tmpfile(), *ob = tmpfile(), *eb = tmpfile();
    pid_t a = spawn(f->dir, (const char *const[]){"run", file_a, "--db", db, "-j", "1", NULL},
                    oa, ea, false);
    pid_t b = spawn(f->dir, (const char *const[]){"run", file_b, "--db", db, "-j", "1", NULL},
                    ob, eb, false);
    cli_wait(&ra, a, oa, ea);
    cli_wait(&rb, b, ob, eb);
    /* exit 3: runs left to the other process ("running in another bench run") */
    bool ok_a = ra.status == 0 || (ra.status == 3 && strstr(ra.err, "another bench run"));
    bool ok_b = rb.status == 0 || (rb.status == 3 && strstr(rb.err, "another bench run"));
    if (strstr(ra.err, "locked") || strstr(rb.err, "locked") || !ok_a || !ok_b)
        fail_msg("concurrent runs: exit %d / %d\n%s%s\n%s%s", ra.status, rb.status, ra.out,
                 ra.err, rb.out, rb.err);
}

static void test_concurrent_same_experiment(void **state)
{
    fixture *f = *state;
    char db[400];
    snprintf(db, sizeof db, "%s/same.db", f->dir);
    write_experiment(f, "c.toml", "conc", "synth", 1, 3, NULL);
    run_two(f, db, "c.toml", "c.toml");
    /* a run one process left to the other ("running elsewhere") is finished by the time both
     * exit: 3 runs, each COMPLETED once with all its rows (a third invocation would say so
     * too, but its run keys change when the source tree is edited meanwhile) */
    assert_rows_exact(db, 3, 2);
}

static void test_concurrent_different_experiments(void **state)
{
    fixture *f = *state;
    char db[400];
    snprintf(db, sizeof db, "%s/diff.db", f->dir);
    write_experiment(f, "a.toml", "conc-a", "synth", 1, 2, NULL);
    write_experiment(f, "b.toml", "conc-b", "synth", 11, 2, NULL);
    run_two(f, db, "a.toml", "b.toml");
    assert_rows_exact(db, 4, 2);
    assert_int_equal(query_int(db, "SELECT count(*) FROM experiments"), 2);
}

static void test_ls_while_writing(void **state)
{
    fixture *f = *state;
    static result r, w;
    char db[400];
    snprintf(db, sizeof db, "%s/busy.db", f->dir);
    write_experiment(f, "w.toml", "writing", "synth", 1, 4, NULL);
    FILE *out = tmpfile(), *err = tmpfile();
    pid_t pid = spawn(f->dir, (const char *const[]){"run", "w.toml", "--db", db, "-j", "2", NULL},
                      out, err, false);
    int reads = 0, ok = 0;
    for (;;) {
        int st;
        pid_t done = waitpid(pid, &st, WNOHANG);
        if (exists(db)) {
            RUN(&r, f, "ls", "--db", db);
            reads++;
            if (strstr(r.err, "locked"))
                fail_msg("bench ls during a sweep: %s", r.err);
            /* before the schema is committed a reader may find no table yet; never an error
             * about locking, and once rows exist it shows them */
            if (r.status == 0 && strstr(r.out, "experiment writing"))
                ok++;
        }
        if (done == pid) {
            w.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            cli_slurp(w.out, out);
            cli_slurp(w.err, err);
            break;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (w.status != 0)
        fail_msg("sweep under reads: exit %d %s%s", w.status, w.out, w.err);
    assert_true(ok >= 1);
    assert_rows_exact(db, 4, 2);
    print_message("%d bench ls reads during the sweep, %d showed it\n", reads, ok);
}

/* ---- injection ---- */

static void test_injection(void **state)
{
    fixture *f = *state;
    static result r;
    /* a data directory whose name is SQL, an experiment name and description with quotes,
     * semicolons and SQL keywords */
    const char *dirname = "x'); DROP TABLE runs; --";
    make_dataset(f, dirname, 200);
    const char *name = "it's \\\"quoted\\\"; DROP TABLE epochs; SELECT * FROM runs --";
    const char *shown = "it's \"quoted\"; DROP TABLE epochs; SELECT * FROM runs --";
    char text[2048], path[600];
    snprintf(text, sizeof text,
             "[experiment]\nname = \"%s\"\ndescription = 'Robert\"); DELETE FROM runs;--'\n"
             "[data]\ndataset = \"idx:data/%s\"\n"
             "[training]\nepochs = 1\nbatch = 20\niterations = 2\nthreads = 1\n"
             "[evaluation]\ntrain_samples = 50\n",
             name, dirname);
    snprintf(path, sizeof path, "%s/inj.toml", f->dir);
    write_text(path, text);
    RUN(&r, f, "run", "inj.toml", "--db", f->db);
    if (r.status != 0)
        fail_msg("injection run: %s%s", r.out, r.err);
    char buf[1024];
    assert_string_equal(query_text(buf, sizeof buf, f->db,
                                   "SELECT name FROM experiments ORDER BY id DESC LIMIT 1"),
                        shown);
    assert_string_equal(query_text(buf, sizeof buf, f->db,
                                   "SELECT spec_text FROM experiments ORDER BY id DESC LIMIT 1"),
                        text);
    char want[600];
    snprintf(want, sizeof want, "idx:data/%s", dirname);
    assert_int_equal(query_int(f->db, "SELECT count(*) FROM datasets WHERE name LIKE"
                               " 'idx:data/x''); DROP TABLE runs; --'"), 1);
    /* the tables are all there, with the reference sweep's rows */
    assert_true(query_int(f->db, "SELECT count(*) FROM runs") >= 3);
    assert_true(query_int(f->db, "SELECT count(*) FROM epochs") >= 5);
    RUN(&r, f, "ls", "--db", f->db);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, shown));
    /* a key with quotes and SQL is refused by name, verbatim */
    write_text(path, "[training]\n\"lr'; DROP TABLE runs; --\" = 1\n");
    RUN(&r, f, "run", "inj.toml", "--db", f->db);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "lr'; DROP TABLE runs; --"));
    integrity_ok(f->db);
    (void)want;
}

/* ---- bench train --save ---- */

/* bench train --save target in dir on the synthetic data (one iteration); r gets the result and
 * sha the parameters' checksum it printed. */
static void train_save(result *r, char sha[65], const char *dir, const char *target)
{
    run_in(r, dir, false,
           (const char *const[]){"train", "--model", "lenet5", "--dataset", "idx:data/synth",
                                 "--epochs", "1", "--iters", "1", "--eval-train", "10", "--save",
                                 target, NULL});
    const char *p = strstr(r->out, "parameters sha256 ");
    sha[0] = '\0';
    if (p)
        snprintf(sha, 65, "%.64s", p + strlen("parameters sha256 "));
}

static void assert_file_sha(const char *path, const char *sha)
{
    char got[65];
    err_info e = {0};
    assert_int_equal(sha256_file(got, path, &e), 0);
    assert_string_equal(got, sha);
}

/* Issue 18.1: --save wrote PATH.tmp and renamed it over PATH, whatever PATH was (as root,
 * --save /dev/null replaced /dev/null with a regular file). Only a missing path or a regular
 * file is replaced, through a unique temporary name; a FIFO and a symbolic link to /dev/null
 * are written through and stay what they were; a directory is refused untouched. Nothing of
 * the system is at risk: every target is in a temporary directory. */
static void test_save_targets(void **state)
{
    (void)state;
    char dir[] = "/tmp/bench-test-save-XXXXXX", p[512], q[512], sha[65];
    assert_non_null(mkdtemp(dir));
    cli_synth_dir(dir);
    static result r;

    /* a FIFO: written through to its reader (a child copying it to a file), never replaced */
    snprintf(p, sizeof p, "%s/fifo", dir);
    snprintf(q, sizeof q, "%s/fifo.out", dir);
    assert_int_equal(mkfifo(p, 0600), 0);
    fflush(NULL);
    pid_t reader = fork();
    assert_true(reader >= 0);
    if (reader == 0) {
        alarm(60);
        int in = open(p, O_RDONLY), out = open(q, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        char buf[65536];
        ssize_t n;
        while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)n) != n)
                _exit(1);
        _exit(in >= 0 && out >= 0 ? 0 : 1);
    }
    train_save(&r, sha, dir, "fifo");
    struct stat st;
    bool still_fifo = lstat(p, &st) == 0 && S_ISFIFO(st.st_mode);
    if (!still_fifo)
        kill(reader, SIGKILL); /* it waits for a writer that never comes */
    int ws;
    assert_int_equal(waitpid(reader, &ws, 0), reader);
    assert_true(still_fifo);
    assert_int_equal(r.status, 0);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    assert_file_sha(q, sha);

    /* a symbolic link to /dev/null: written through, the link and /dev/null stay */
    snprintf(p, sizeof p, "%s/null", dir);
    assert_int_equal(symlink("/dev/null", p), 0);
    train_save(&r, sha, dir, "null");
    assert_int_equal(r.status, 0);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));

    /* a directory: refused in one line, left as it was */
    snprintf(p, sizeof p, "%s/sub", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    train_save(&r, sha, dir, "sub");
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, "bench: cannot write 'sub': it is a directory\n");
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));

    /* a regular file: replaced, keeping its mode; a file at the old fixed temporary name
     * (PATH.tmp) is someone else's and stays; no temporary file is left behind */
    snprintf(p, sizeof p, "%s/params.bin", dir);
    cli_write_text(p, "old");
    assert_int_equal(chmod(p, 0640), 0);
    snprintf(q, sizeof q, "%s/params.bin.tmp", dir);
    cli_write_text(q, "not bench's");
    train_save(&r, sha, dir, "params.bin");
    assert_int_equal(r.status, 0);
    assert_file_sha(p, sha);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    size_t len;
    char *text = cli_read_file(q, &len);
    assert_non_null(text);
    assert_string_equal(text, "not bench's");
    free(text);

    /* a missing path: created; through a link to a regular file, the file is replaced and the
     * link kept */
    train_save(&r, sha, dir, "new.bin");
    assert_int_equal(r.status, 0);
    snprintf(p, sizeof p, "%s/new.bin", dir);
    assert_file_sha(p, sha);
    snprintf(p, sizeof p, "%s/link.bin", dir);
    assert_int_equal(symlink("params.bin", p), 0);
    cli_write_text(q, "x");
    snprintf(q, sizeof q, "%s/params.bin", dir);
    cli_write_text(q, "old");
    train_save(&r, sha, dir, "link.bin");
    assert_int_equal(r.status, 0);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_file_sha(q, sha);

    /* the directory holds exactly what the test made: no temporary left */
    DIR *d = opendir(dir);
    assert_non_null(d);
    int entries = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;)
        entries += de->d_name[0] != '.';
    closedir(d);
    /* data, fifo, fifo.out, null, sub, params.bin, params.bin.tmp, new.bin, link.bin */
    assert_int_equal(entries, 9);
    cli_rm_tree(dir);
}

/* ---- findings of fuzz_idx, kept as tests ---- */

/* ---- memory before checking (issue 18.4) ---- */

/* Run bench with args (NULL-terminated) in f->dir; *rss_kib <- the child's peak resident set
 * (wait4's ru_maxrss). */
static void run_rss(result *r, long *rss_kib, const fixture *f, const char *const *args)
{
    FILE *out = tmpfile(), *err = tmpfile();
    assert_true(out && err);
    pid_t pid = spawn(f->dir, args, out, err, false);
    int st = 0;
    struct rusage ru;
    assert_int_equal(wait4(pid, &st, 0, &ru), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    *rss_kib = ru.ru_maxrss;
    cli_slurp(r->out, out);
    cli_slurp(r->err, err);
}

/* DIR/data/NAME: n_train and 2 test images of 1 x side x side, all zeros but a pixel. */
static void write_square_idx(const fixture *f, const char *name, int n_train, int side)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/data/%s", f->dir, name);
    assert_int_equal(mkdir(dir, 0755), 0);
    const char *prefix[] = {"train", "t10k"};
    unsigned char *img = calloc((size_t)side * (size_t)side, 1);
    assert_non_null(img);
    for (int k = 0; k < 2; k++) {
        int n = k == 0 ? n_train : 2;
        char path[700];
        snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, prefix[k]);
        FILE *fi = fopen(path, "wb");
        snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, prefix[k]);
        FILE *fl = fopen(path, "wb");
        assert_true(fi && fl);
        put_be32(fi, 0x803);
        put_be32(fi, (uint32_t)n);
        put_be32(fi, (uint32_t)side);
        put_be32(fi, (uint32_t)side);
        put_be32(fl, 0x801);
        put_be32(fl, (uint32_t)n);
        for (int i = 0; i < n; i++) {
            img[i] = 255;
            assert_int_equal(fwrite(img, 1, (size_t)side * (size_t)side, fi),
                             (size_t)side * (size_t)side);
            img[i] = 0;
            fputc(i % 10, fl);
        }
        fclose(fi);
        fclose(fl);
    }
    free(img);
}

/* A valid file of 1024x1024 images was checked by building its network: the paper's 780
 * million weights made --dry-run take 6.2 GB and 28 s. Shapes are now planned (net_plan), so
 * the dry run stays under 200 MiB; and a run too large for the machine (a custom stack of 70
 * trillion weights, which no machine holds) is refused at planning, before anything of it is
 * allocated, in one line naming the file, the key and both figures, the database untouched.
 * What the guard lets through: the paper's network on the fixture's 28x28 data, planned and
 * trained (the setup's runs), and the 1024x1024 paper network at batch 1 (about 7 GB with
 * SGD) on a machine that holds it. */
static void test_memory_before_checking(void **state)
{
    fixture *f = *state;
    static result r;
    long rss;
    write_square_idx(f, "big", 4, 1024);
    char path[600];
    snprintf(path, sizeof path, "%s/big.toml", f->dir);
    write_text(path, "[data]\ndataset = \"idx:data/big\"\nheight = 1024\nwidth = 1024\n"
                     "[training]\nbatch = 1\noptimizer = \"sgd\"\n");
    run_rss(&r, &rss, f, (const char *const[]){"run", "big.toml", "--dry-run", "--db", f->db, NULL});
    print_message("1024x1024 paper network, --dry-run: exit %d, peak RSS %ld KiB\n", r.status, rss);
    assert_true(rss < 200 * 1024);
    if (r.status == 0) {
        assert_non_null(strstr(r.out, "1 run, 1 to run"));
    } else {
        /* a machine with less than the run's ~7 GB refuses it, in the same one line */
        assert_int_equal(r.status, 1);
        assert_non_null(strstr(r.err, "bench: big.toml:3: key 'data.height': run 1 (1x1024x1024 "
                                      "images, batch 1): needs "));
    }

    snprintf(path, sizeof path, "%s/huge.toml", f->dir);
    write_text(path, "[experiment]\nname = \"huge\"\n"
                     "[data]\ndataset = \"idx:data/big\"\nheight = 1024\nwidth = 1024\n"
                     "[model]\nlayers = [{type = \"conv\", filters = 1024, size = 1},\n"
                     "  {type = \"affine\", units = 65536}, {type = \"affine\", units = \"classes\"}]\n"
                     "[training]\nbatch = 2\n");
    const char *modes[] = {"--dry-run", NULL};
    for (int m = 0; m < 2; m++) {
        run_rss(&r, &rss, f, (const char *const[]){"run", "huge.toml", "--db", f->db, modes[m], NULL});
        print_message("70 trillion weights, %s: exit %d, peak RSS %ld KiB: %s", modes[m] ? modes[m] : "run",
                      r.status, rss, r.err);
        assert_int_equal(r.status, 1);
        assert_true(rss < 200 * 1024);
        assert_non_null(strstr(r.err, "bench: huge.toml:8: key 'model.layers': run 1 (1x1024x1024 "
                                      "images, batch 2): needs "));
        assert_non_null(strstr(r.err, " MiB this machine has\n"));
        assert_ptr_equal(strchr(r.err, '\n'), r.err + strlen(r.err) - 1); /* one line */
    }
    assert_db_unchanged(f, "a run too large for the machine");

    /* let through: the fixture's own experiment plans (its runs trained in the setup) */
    RUN(&r, f, "run", "ref.toml", "--dry-run", "--db", f->db);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "0 to run, 2 already complete"));
}

/* A gzip file whose trailer claims 2 GiB (ISIZE) for 8 bytes of IDX: the reader used to
 * allocate the claimed size up front, so a 40-byte file cost 2 GiB. With the address space
 * capped at 1 GiB the reader must still get to the real error, the bad trailer. (Skipped
 * under AddressSanitizer, whose shadow memory needs far more address space than any cap.) */
static void test_gzip_isize_lie(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    skip();
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    skip();
#endif
#endif
    const char *path = TEST_DATA_DIR "/../fuzz/corpus_idx/isize_2gib.idx.gz";
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {1ul << 30, 1ul << 30};
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(3);
        idx_array a;
        err_info e = {0};
        int rc = idx_read_file(&a, path, &e);
        if (rc == 0)
            _exit(4); /* the trailer is wrong: must not be accepted */
        _exit(rc == ERR_NOMEM || strstr(e.msg, "out of memory") ? 5 : 0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_corpus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_db, setup, teardown),
        cmocka_unit_test_setup_teardown(test_divergence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_same_experiment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_different_experiments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ls_while_writing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_injection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_before_checking, setup, teardown),
        cmocka_unit_test(test_gzip_isize_lie),
        cmocka_unit_test(test_save_targets),
    };
    return cmocka_run_group_tests_name("reliability", tests, NULL, NULL);
}
