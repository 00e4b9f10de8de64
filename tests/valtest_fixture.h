/* valtest_fixture.h: the database that test_valtest.c and test_valtest_cli.c read, written
 * directly through the store (no training), so that every figure is an exact binary fraction
 * the tests can redo by hand. Include after <cmocka.h>.
 *
 *   from       validation (data.validation = 50) on "mnist": lr 0.1 x seeds 1, 2 (accuracies
 *              0.5, 0.75: mean 0.625) and lr 0.01 x seeds 1, 2 (0.875, 0.625: mean 0.75, the
 *              winner, candidate 2)
 *   target     two versions. The old one: one run (0.25) with a decision. The newest: 3
 *              COMPLETED runs on the test set of "mnist" (0.75, 0.875, 1: mean 0.875, sd 0.125)
 *              and a FAILED one (0.0625), each link carrying the decision
 *   transfer   2 COMPLETED runs on the test set of "fashion-mnist" (0.5, 0.5) with the same
 *              decision: another data set than from's
 *   step2      a validation step that itself selects (data.validation = 50, its link carries a
 *              decision): not on the test set, so not a row
 * The decision is written by hand in the JSON select.h stores. */
#ifndef BENCH_TESTS_VALTEST_FIXTURE_H
#define BENCH_TESTS_VALTEST_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "exp.h"
#include "store.h"

typedef struct vt_fx {
    store *s;
    int64_t xid, did;
    char from_keys[4][65];  /* the run keys of from, in plan order */
} vt_fx;

/* A version of experiment name. */
static inline void vt_fx_version(vt_fx *f, const char *name, const char *sha)
{
    err_info e = {0};
    store_experiment x = {.name = name, .file = "x.toml", .spec_sha256 = sha,
                          .swept = "[\"seed\"]"};
    assert_int_equal(store_experiment_put(f->s, &f->xid, &x, &e), 0);
}

/* A run of the current version: its configuration, final (2nd) epoch accuracy acc (F1 =
 * acc / 2), status, and the decision on its link (NULL: none). key (may be NULL) <- its key. */
static inline void vt_fx_run(vt_fx *f, char key[65], int pos, const char *dataset,
                             int validation, double lr, int seed, double acc, int status,
                             const char *selection)
{
    err_info e = {0};
    char cfg[256], k[65];
    snprintf(cfg, sizeof cfg,
             "{\"dataset\":\"%s\",\"optimizer\":{\"lr\":%.17g},\"seed\":%d,\"validation\":%d}",
             dataset, lr, seed, validation);
    assert_int_equal(exp_json_key(k, cfg, dataset, "git_sha=test\n", &e), 0);
    store_run r = {.run_key = k, .experiment_id = f->xid, .dataset_id = f->did,
                   .config_json = cfg, .seed = seed, .epochs = 2, .position = pos,
                   .selection = selection};
    assert_int_equal(store_run_queue(f->s, NULL, &r, false, &e), 0);
    bool claimed = false;
    assert_int_equal(store_run_start(f->s, k, &claimed, &e), 0);
    for (int ep = 1; ep <= 2; ep++) {
        store_epoch m = {.run_key = k, .epoch = ep, .test_acc = ep == 2 ? acc : 0.1,
                         .f1_macro = ep == 2 ? acc / 2 : 0.1, .wait_s = NAN, .nivcsw = -1};
        assert_int_equal(store_epoch_put(f->s, &m, &e), 0);
    }
    store_run_end end = {.status = status};
    assert_int_equal(store_run_finish(f->s, k, &end, &e), 0);
    if (key)
        memcpy(key, k, 65);
}

/* The decision select.h would store: from's two candidates, the second the winner. */
static inline void vt_fx_decision(char *buf, size_t n, const vt_fx *f)
{
    snprintf(buf, n,
             "{\"from\":\"from\",\"file\":\"from.toml\",\"metric\":\"accuracy\",\"margin\":0.0,"
             "\"keys\":[\"lr\"],\"candidates\":["
             "{\"values\":[0.1],\"runs\":[{\"run\":\"%s\",\"seed\":1,\"value\":0.5},"
             "{\"run\":\"%s\",\"seed\":2,\"value\":0.75}],\"mean\":0.625},"
             "{\"values\":[0.01],\"runs\":[{\"run\":\"%s\",\"seed\":1,\"value\":0.875},"
             "{\"run\":\"%s\",\"seed\":2,\"value\":0.625}],\"mean\":0.75}],"
             "\"winner\":1,\"winner_values\":{\"lr\":0.01}}",
             f->from_keys[0], f->from_keys[1], f->from_keys[2], f->from_keys[3]);
}

/* *f <- the database at path (created), with its one data set row; store_close(f->s). */
static inline void vt_fx_open(vt_fx *f, const char *path)
{
    memset(f, 0, sizeof *f);
    err_info e = {0};
    assert_int_equal(store_open(&f->s, path, &e), 0);
    store_dataset d = {"synth", "/x", "d5a7", 10};
    assert_int_equal(store_dataset_put(f->s, &f->did, &d, &e), 0);
}

/* The whole fixture into the database at path (created). */
static inline void vt_fx_write(const char *path)
{
    vt_fx f;
    vt_fx_open(&f, path);
    vt_fx_version(&f, "from", "f1");
    static const double acc[] = {0.5, 0.75, 0.875, 0.625};
    for (int i = 0; i < 4; i++)
        vt_fx_run(&f, f.from_keys[i], i, "mnist", 50, i < 2 ? 0.1 : 0.01, 1 + i % 2, acc[i],
                  RUN_COMPLETED, NULL);
    char dec[2048];
    vt_fx_decision(dec, sizeof dec, &f);
    vt_fx_version(&f, "target", "t0");
    vt_fx_run(&f, NULL, 0, "mnist", 0, 0.01, 9, 0.25, RUN_COMPLETED, dec);
    vt_fx_version(&f, "step2", "s1");
    vt_fx_run(&f, NULL, 0, "mnist", 50, 0.01, 7, 0.5, RUN_COMPLETED, dec);
    vt_fx_version(&f, "target", "t1");
    static const double test[] = {0.75, 0.875, 1.0, 0.0625};
    for (int i = 0; i < 4; i++)
        vt_fx_run(&f, NULL, i, "mnist", 0, 0.01, 1 + i, test[i],
                  i < 3 ? RUN_COMPLETED : RUN_FAILED, dec);
    vt_fx_version(&f, "transfer", "x1");
    for (int i = 0; i < 2; i++)
        vt_fx_run(&f, NULL, i, "fashion-mnist", 0, 0.01, 1 + i, 0.5, RUN_COMPLETED, dec);
    store_close(f.s);
}

#endif
