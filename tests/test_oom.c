/* Allocation failure (issue 18), in the style of SQLite's malloc tests: for N = 1, 2, 3 ...
 * the Nth allocation fails (and every later one succeeds), and the operation is run again,
 * until it succeeds without the failure being reached. Every failed attempt must return an
 * error with a message, release what it holds (LeakSanitizer checks that in the sanitizer
 * build, scripts/ci-sanitize) and, for the store, leave the database intact: integrity_check
 * ok and the write either wholly done or not at all. Operations: exp_load, net_new,
 * store_open (new and existing files), store_run_queue and store_experiment_put, report_load.
 *
 * The allocations failed are those of bench's own code (core/, harness/: malloc, calloc,
 * realloc, strdup and aligned_alloc, wrapped at link time with -Wl,--wrap, see
 * tests/CMakeLists.txt), SQLite's (sqlite3_config(SQLITE_CONFIG_MALLOC)) and jansson's
 * (json_set_alloc_funcs). */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "exp.h"
#include "models.h"
#include "net.h"
#include "report.h"
#include "report_fixture.h"
#include "store.h"

/* ---- the injector --------------------------------------------------------------------- */

static long oom_countdown; /* allocations until the failing one; 0: none fails */
static bool oom_hit;       /* the failing allocation was reached */
static long oom_allocs;    /* allocations since oom_arm */

/* True when this allocation is to fail. */
static bool oom_fail_now(void)
{
    oom_allocs++;
    if (oom_countdown <= 0)
        return false;
    if (--oom_countdown > 0)
        return false;
    oom_hit = true;
    return true;
}

static void oom_arm(long n)
{
    oom_hit = false;
    oom_allocs = 0;
    oom_countdown = n;
}

static void oom_disarm(void) { oom_countdown = 0; }

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__real_aligned_alloc(size_t a, size_t n);

void *__wrap_malloc(size_t n) { return oom_fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t k, size_t n) { return oom_fail_now() ? NULL : __real_calloc(k, n); }
void *__wrap_realloc(void *p, size_t n) { return oom_fail_now() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return oom_fail_now() ? NULL : __real_strdup(s); }
void *__wrap_aligned_alloc(size_t a, size_t n)
{
    return oom_fail_now() ? NULL : __real_aligned_alloc(a, n);
}

static sqlite3_mem_methods sqlite_mem; /* SQLite's own allocator, wrapped below */

static void *sqlite_malloc(int n) { return oom_fail_now() ? NULL : sqlite_mem.xMalloc(n); }
static void *sqlite_realloc(void *p, int n)
{
    return oom_fail_now() ? NULL : sqlite_mem.xRealloc(p, n);
}

static void *json_malloc(size_t n) { return oom_fail_now() ? NULL : __real_malloc(n); }

static void oom_install(void)
{
    sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sqlite_mem);
    sqlite3_mem_methods m = sqlite_mem;
    m.xMalloc = sqlite_malloc;
    m.xRealloc = sqlite_realloc;
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK)
        abort();
    json_set_alloc_funcs(json_malloc, free);
}

/* Run op(ctx) with the Nth allocation failing for N = 1, 1 + stride, 1 + 2 stride, ... until
 * it succeeds untouched; check(ctx, rc, e) after each attempt. Returns the number of
 * allocations op makes. */
typedef int (*oom_op)(void *ctx, err_info *e);
typedef void (*oom_check)(void *ctx, int rc, const err_info *e);

static long oom_loop_every(const char *what, oom_op op, oom_check check, void *ctx, long stride)
{
    long n = 1;
    for (;; n += stride) {
        err_info e = {0};
        oom_arm(n);
        int rc = op(ctx, &e);
        oom_disarm();
        if (rc != 0 && e.msg[0] == '\0')
            fail_msg("%s: allocation %ld failed: error %d without a message", what, n, rc);
        if (!oom_hit) {
            if (rc != 0)
                fail_msg("%s: fails without an allocation failure: %s", what, e.msg);
            break;
        }
        /* A failed allocation may be survived (SQLite retries, caches are optional), but
         * never turned into a success that lost something: check() says. */
        if (check)
            check(ctx, rc, &e);
    }
    /* the attempt that succeeded untouched (the last, nothing allocated since) counted every
     * allocation op makes */
    const long total = oom_allocs;
    if (stride == 1)
        print_message("%s: %ld allocations, each failed once\n", what, total);
    else
        print_message("%s: %ld allocations, one in %ld failed once\n", what, total, stride);
    assert_true(n > 1);
    return total;
}

static long oom_loop(const char *what, oom_op op, oom_check check, void *ctx)
{
    return oom_loop_every(what, op, check, ctx, 1);
}

/* ---- exp_load, net_new ---------------------------------------------------------------- */

static int op_exp_load(void *ctx, err_info *e)
{
    experiment x;
    int rc = exp_load(&x, ctx, e);
    if (rc == 0) {
        if (x.n_runs != 16)
            rc = err_set(e, ERR_INVALID, "%d runs, expected 16", x.n_runs);
        exp_release(&x);
    }
    return rc;
}

/* Running out of memory is no key's fault (issue 18.11: the network built to check shapes
 * blamed 'model.preset' at line 1, a key the file never wrote): the message says so and names
 * the file, not a key. */
static int exp_network_ooms; /* failures met planning the network that checks shapes */

static void check_exp_message(void *ctx, int rc, const err_info *e)
{
    assert_int_not_equal(rc, 0);
    if (strstr(e->msg, "out of memory") && strstr(e->msg, "key '"))
        fail_msg("out of memory blamed on a key: %s", e->msg);
    assert_non_null(strstr(e->msg, (const char *)ctx));
    exp_network_ooms += strstr(e->msg, "out of memory planning the network") != NULL;
}

static void test_exp_load(void **state)
{
    (void)state;
    char dir[256], path[300];
    fix_mkdtemp(dir, sizeof dir, "test_oom");
    snprintf(path, sizeof path, "%s/x.toml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("[experiment]\nname = \"oom\"\n[training]\nepochs = 2\n[optimizer.adam]\nlr = 0.01\n"
          "[sweep]\noptimizer = [\"momentum\", \"adam\"]\nbn = [true, false]\n"
          "seed = [1, 2, 3, 4]\n",
          f);
    fclose(f);
    oom_loop("exp_load", op_exp_load, check_exp_message, path);
    assert_true(exp_network_ooms > 0);
    fix_rmdir(dir);
}

static int op_net_new(void *ctx, err_info *e)
{
    const model_preset *p = ctx;
    layer_spec layers[MODELS_MAX_LAYERS];
    int n_layers = models_layers(layers, MODELS_MAX_LAYERS, p, 10, true);
    net_config nc = net_config_default();
    nc.c = 1;
    nc.h = 28;
    nc.w = 28;
    nc.classes = 10;
    nc.max_batch = 4;
    net *n = NULL;
    int rc = net_new(&n, &nc, layers, n_layers, e);
    if (rc == 0 && !n)
        rc = err_set(e, ERR_INVALID, "no network");
    net_free(n);
    return rc;
}

static void test_net_new(void **state)
{
    (void)state;
    for (int i = 0; i < models_count(); i++)
        oom_loop(models_at(i)->name, op_net_new, NULL, (void *)models_at(i));
}

/* ---- the store ------------------------------------------------------------------------ */

/* Creating a file runs every schema migration: some 32,000 allocations, nearly all SQLite's
 * own (each ALTER TABLE reloads the schema), and failing each in turn costs their square, 25
 * minutes under the sanitizers. The sanitizer build (tests/CMakeLists.txt) fails one in
 * OOM_NEW_FILE_STRIDE there, which still fails every migration hundreds of times; the release
 * build fails every one. */
#ifndef OOM_NEW_FILE_STRIDE
#define OOM_NEW_FILE_STRIDE 1
#endif

typedef struct store_ctx {
    char dir[256];
    char db[320];
    int runs; /* rows in runs before the operation */
    int step; /* a counter that makes each attempt's run key new */
} store_ctx;

static int64_t db_int(const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_type(st, 0) == SQLITE_TEXT
                ? (strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0 ? 1 : 0)
                : sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void check_intact(void *ctx, int rc, const err_info *e)
{
    (void)rc;
    (void)e;
    store_ctx *c = ctx;
    oom_disarm();
    assert_int_equal(db_int(c->db, "PRAGMA integrity_check"), 1);
    assert_int_equal(db_int(c->db, "PRAGMA application_id"), 0x424e4348);
    assert_int_equal(db_int(c->db, "PRAGMA user_version"), store_schema_version());
}

static int op_store_open(void *ctx, err_info *e)
{
    store_ctx *c = ctx;
    store *s = NULL;
    int rc = store_open(&s, c->db, e);
    store_close(s);
    return rc;
}

/* A new database each attempt (c->step names it): a failed open leaves no usable file or a
 * complete one. */
static int op_store_open_new(void *ctx, err_info *e)
{
    store_ctx *c = ctx;
    snprintf(c->db, sizeof c->db, "%s/new%d.db", c->dir, c->step++);
    return op_store_open(ctx, e);
}

static void check_new(void *ctx, int rc, const err_info *e)
{
    if (rc == 0)
        check_intact(ctx, rc, e);
}

/* A queued run: a write either done whole (the run and its experiment link) or not at all. */
static int op_queue(void *ctx, err_info *e)
{
    store_ctx *c = ctx;
    store *s = NULL;
    int rc = store_open(&s, c->db, e);
    if (rc)
        return rc;
    char key[64];
    snprintf(key, sizeof key, "oomkey%06d", c->step++);
    int64_t id = 0;
    store_experiment x = {.name = "oom", .file = "x.toml", .spec_sha256 = key,
                          .spec_text = "[training]\nepochs = 2\n"};
    store_run r = {.run_key = key, .config_json = "{\"optimizer\":\"adam\"}", .model = "paper",
                   .optimizer = "adam", .lr = 0.001, .bn = 1, .seed = 1, .batch = 100,
                   .epochs = 2, .sampling = "with-replacement", .threads = 1};
    int prev = 0;
    if ((rc = store_begin(s, e)) == 0) {
        if ((rc = store_experiment_put(s, &id, &x, e)) == 0)
            r.experiment_id = id;
        if (rc == 0)
            rc = store_run_queue(s, &prev, &r, false, e);
        if (rc == 0)
            rc = store_run_link(s, id, key, 0, NULL, NULL, e);
        if (rc == 0)
            rc = store_commit(s, e);
    }
    store_close(s);
    return rc;
}

static void check_queue(void *ctx, int rc, const err_info *e)
{
    store_ctx *c = ctx;
    check_intact(ctx, rc, e);
    int64_t runs = db_int(c->db, "SELECT count(*) FROM runs");
    int64_t linked = db_int(c->db, "SELECT count(*) FROM experiment_runs");
    assert_int_equal(runs, linked);
    assert_int_equal(runs, c->runs + (rc == 0 ? 1 : 0));
    c->runs = (int)runs;
}

static void test_store(void **state)
{
    (void)state;
    store_ctx c = {0};
    fix_mkdtemp(c.dir, sizeof c.dir, "test_oom");
    oom_loop_every("store_open (new file)", op_store_open_new, check_new, &c, OOM_NEW_FILE_STRIDE);
    oom_loop("store_open (existing)", op_store_open, check_intact, &c);
    oom_loop("store write (experiment, run, link)", op_queue, check_queue, &c);
    assert_int_equal(db_int(c.db, "SELECT count(*) FROM runs"), c.runs + 1);
    fix_rmdir(c.dir);
}

/* ---- report_load ---------------------------------------------------------------------- */

/* Two optimizers x bn on/off x 2 seeds, one run diverged and one failed: 4 groups. */
static const char spec_opt[] = "[experiment]\nname = \"opt\"\n"
                               "[sweep]\noptimizer = [\"momentum\", \"adam\"]\n"
                               "bn = [true, false]\nseed = [1, 2]\n";

static int op_report(void *ctx, err_info *e)
{
    report_options o = report_options_default();
    o.per_class = true;
    report r;
    int rc = report_load(&r, ctx, &o, e);
    if (rc == 0 && (r.n_sections != 1 || r.sections[0].n_groups != 4))
        rc = err_set(e, ERR_INVALID, "%d sections, expected 1 of 4 groups", r.n_sections);
    report_release(&r);
    return rc;
}

static void test_report_load(void **state)
{
    (void)state;
    fix_db *f = fix_db_new("test_oom");
    int64_t x = fix_experiment(f->s, "opt", spec_opt);
    for (int i = 0; i < 8; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%02daaaa", i);
        fix_run r = {key, i % 2 ? "adam" : "momentum", i / 2 % 2, 1 + i / 4,
                     i == 5 ? RUN_DIVERGED : i == 6 ? RUN_FAILED : RUN_COMPLETED,
                     0.9 + 0.01 * i, 10, 12, 0, NULL};
        fix_add(f->s, x, &r);
    }
    oom_loop("report_load", op_report, NULL, f->s);
    fix_db_free(f);
}

int main(void)
{
    /* Thousands of database opens, each creating and syncing files: in memory when possible. */
    if (access("/dev/shm", W_OK) == 0)
        setenv("TMPDIR", "/dev/shm", 1);
    oom_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp_load),
        cmocka_unit_test(test_net_new),
        cmocka_unit_test(test_store),
        cmocka_unit_test(test_report_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
