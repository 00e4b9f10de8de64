/* Tests of harness/sha256 and harness/data: digests, the data set registry and lookup order,
 * checksum verification of raw and gzipped files, the refusal of a copy with one flipped byte
 * (message naming the file and both checksums), and loading a data set. */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"

#include "data.h"
#include "idx.h"
#include "sha256.h"

#define TINY TEST_DATA_DIR "/tiny"

static const char *const tiny_files[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte"};

/* ---- helpers: a temporary directory per test ---- */

static int setup_tmp(void **state)
{
    char *dir = strdup("/tmp/bench-test-data-XXXXXX");
    if (!dir || !mkdtemp(dir))
        return -1;
    *state = dir;
    unsetenv(DATA_ENV);
    return 0;
}

static int teardown_tmp(void **state)
{
    cli_rm_tree(*state);
    free(*state);
    unsetenv(DATA_ENV);
    return 0;
}

static void copy_file(const char *src, const char *dst)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

/* Copy the tiny data set into dir. */
static void copy_tiny(const char *dir)
{
    char src[512], dst[512];
    mkdir(dir, 0777);
    for (int i = 0; i < 4; i++) {
        snprintf(src, sizeof src, "%s/%s", TINY, tiny_files[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, tiny_files[i]);
        copy_file(src, dst);
    }
}

static void flip_byte(const char *path, long offset)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, offset, SEEK_SET), 0);
    int c = fgetc(f);
    assert_true(c != EOF);
    assert_int_equal(fseek(f, offset, SEEK_SET), 0);
    fputc(c ^ 0x01, f);
    assert_int_equal(fclose(f), 0);
}

/* sha256 of the uncompressed content of a fixture file. */
static void content_sha(char out[65], const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    err_info e = {0};
    assert_int_equal(idx_read_bytes(&buf, &len, path, &e), 0);
    sha256_hex(out, buf, len);
    free(buf);
}

/* ---- sha256 ---- */

static void test_sha256_known_answers(void **state)
{
    (void)state;
    char h[65];
    /* FIPS 180-2 examples */
    sha256_hex(h, "abc", 3);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_hex(h, NULL, 0);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(h, m, strlen(m));
    assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_file(void **state)
{
    (void)state;
    char h[65], g[65];
    err_info e = {0};
    FILE *f = fopen(TEST_DATA_DIR "/idx/images.idx", "rb");
    assert_non_null(f);
    uint8_t buf[128];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_int_equal(n, 76);
    sha256_hex(g, buf, n);
    assert_int_equal(sha256_file(h, TEST_DATA_DIR "/idx/images.idx", &e), 0);
    assert_string_equal(h, g);
    assert_int_equal(sha256_file(h, TEST_DATA_DIR "/nope", &e), ERR_IO);
    assert_non_null(strstr(e.msg, "cannot open '" TEST_DATA_DIR "/nope'"));
    assert_string_equal(h, "");
}

/* ---- registry and lookup ---- */

static void test_registry(void **state)
{
    (void)state;
    int n = 0;
    const data_spec *specs = data_specs(&n);
    assert_int_equal(n, 2);
    assert_string_equal(specs[0].name, "mnist");
    assert_ptr_equal(data_find("fashion-mnist"), &specs[1]);
    assert_null(data_find("kmnist"));
    for (int i = 0; i < n; i++)
        for (int f = 0; f < DATA_N_FILES; f++) {
            assert_int_equal(strlen(specs[i].files[f].sha256), 64);
            assert_int_equal(strlen(specs[i].files[f].sha256_gz), 64);
        }
    assert_string_equal(specs[0].files[DATA_TRAIN_IMAGES].sha256,
                        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db");
    data_source src;
    err_info e = {0};
    assert_int_equal(data_open(&src, "kmnist", NULL, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "unknown data set 'kmnist' (valid: mnist, fashion-mnist"));
}

/* Class names: Fashion-MNIST's ten, none for MNIST's digits, an unknown data set or another
 * number of classes, and nothing outside 0..classes-1. */
static void test_class_names(void **state)
{
    (void)state;
    assert_string_equal(data_class_name("fashion-mnist", 10, 0), "T-shirt/top");
    assert_string_equal(data_class_name("fashion-mnist", 10, 6), "Shirt");
    assert_string_equal(data_class_name("fashion-mnist", 10, 9), "Ankle boot");
    assert_null(data_class_name("fashion-mnist", 10, 10));
    assert_null(data_class_name("fashion-mnist", 10, -1));
    assert_null(data_class_name("fashion-mnist", 3, 0));
    assert_null(data_class_name("mnist", 10, 3));
    assert_null(data_class_name("idx:/tmp/x", 10, 3));
    assert_null(data_class_name("", 10, 3));
}

static void test_idx_dir_unverified_and_load(void **state)
{
    (void)state;
    data_source src;
    err_info e = {0};
    assert_int_equal(data_open(&src, "idx:" TINY, NULL, &e), 0);
    assert_false(src.verified);
    assert_string_equal(src.name, "idx:" TINY);
    assert_string_equal(src.dir, TINY);
    assert_string_equal(src.paths[DATA_TEST_IMAGES], TINY "/t10k-images-idx3-ubyte.gz");
    /* the checksum of a gzipped file is of its uncompressed content */
    char want[65];
    content_sha(want, TINY "/t10k-images-idx3-ubyte.gz");
    assert_string_equal(src.sha256[DATA_TEST_IMAGES], want);
    assert_int_equal(strlen(src.id), 64);

    dataset train, test;
    assert_int_equal(data_load(&train, &test, &src, &e), 0);
    assert_int_equal(train.n, 4);
    assert_int_equal(test.n, 2);
    assert_int_equal(train.h, 2);
    assert_int_equal(test.w, 2);
    assert_int_equal(train.labels[3], 9);
    assert_int_equal(test.pixels[0], 255);
    assert_int_equal(test.labels[1], 6);
    dataset_release(&train);
    dataset_release(&test);

    assert_int_equal(data_open(&src, "idx:" TEST_DATA_DIR "/idx", NULL, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "train-images-idx3-ubyte' (or .gz) is missing"));
}

/* A spec for the tiny data set with its true checksums, as the registry holds for mnist. */
static data_spec tiny_spec(char sums[4][65])
{
    data_spec s = {"tiny", "tiny test set", 10, NULL, NULL,
                   {{"train-images-idx3-ubyte", sums[0], NULL},
                    {"train-labels-idx1-ubyte", sums[1], NULL},
                    {"t10k-images-idx3-ubyte", sums[2], NULL},
                    {"t10k-labels-idx1-ubyte", sums[3], NULL}},
                   NULL};
    for (int i = 0; i < 4; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", TINY, tiny_files[i]);
        content_sha(sums[i], path);
    }
    return s;
}

static void test_verified(void **state)
{
    (void)state;
    char sums[4][65];
    data_spec spec = tiny_spec(sums);
    data_source src;
    err_info e = {0};
    assert_int_equal(data_open_dir(&src, &spec, TINY, &e), 0);
    assert_true(src.verified);
    /* the gz fast path: the checksum of the .gz itself, given as sha256_gz */
    char gz[65];
    assert_int_equal(sha256_file(gz, TINY "/t10k-images-idx3-ubyte.gz", &e), 0);
    spec.files[2].sha256_gz = gz;
    assert_int_equal(data_open_dir(&src, &spec, TINY, &e), 0);
    assert_true(src.verified);
    assert_string_equal(src.sha256[2], sums[2]);
}

static void test_flipped_byte_is_refused(void **state)
{
    const char *dir = *state;
    char sums[4][65];
    data_spec spec = tiny_spec(sums);
    copy_tiny(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    flip_byte(path, 20);
    char actual[65];
    err_info e = {0};
    assert_int_equal(sha256_file(actual, path, &e), 0);

    data_source src;
    assert_int_equal(data_open_dir(&src, &spec, dir, &e), ERR_CHECKSUM);
    char want[1024];
    snprintf(want, sizeof want, "checksum mismatch for '%s': expected sha-256 %s, got %s", path,
             sums[0], actual);
    assert_string_equal(e.msg, want);
}

static void test_flipped_byte_in_gzip_is_refused(void **state)
{
    const char *dir = *state;
    char sums[4][65];
    data_spec spec = tiny_spec(sums);
    copy_tiny(dir);
    /* flip a byte of the gzip header's OS field: the stream still inflates to the same
     * content, so this copy verifies; then damage the deflate data instead */
    char path[512];
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
    flip_byte(path, 9);
    data_source src;
    err_info e = {0};
    assert_int_equal(data_open_dir(&src, &spec, dir, &e), 0);
    assert_true(src.verified);
    flip_byte(path, 14);
    int rc = data_open_dir(&src, &spec, dir, &e);
    /* either zlib notices (corrupt data / crc) or the content differs */
    assert_true(rc == ERR_FORMAT || rc == ERR_CHECKSUM);
    assert_non_null(strstr(e.msg, path));
}

/* The registry's own checksums refuse a data set that is not MNIST, found through --data-dir
 * (DIR/mnist/ first) and through BENCH_DATA_DIR. */
static void test_lookup_order_and_registry_mismatch(void **state)
{
    const char *root = *state;
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/mnist", root);
    copy_tiny(dir);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    data_source src;
    err_info e = {0};
    assert_int_equal(data_open(&src, "mnist", root, &e), ERR_CHECKSUM);
    assert_non_null(strstr(e.msg, path));
    assert_non_null(
        strstr(e.msg, "expected sha-256 ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"));

    setenv(DATA_ENV, root, 1);
    err_clear(&e);
    assert_int_equal(data_open(&src, "mnist", NULL, &e), ERR_CHECKSUM);
    assert_non_null(strstr(e.msg, path));
    /* an explicit directory wins over the environment */
    err_clear(&e);
    assert_int_equal(data_open(&src, "mnist", TEST_DATA_DIR "/idx", &e), ERR_IO);
    assert_non_null(strstr(e.msg, "not found (looked in '" TEST_DATA_DIR "/idx/mnist', '" TEST_DATA_DIR
                                  "/idx'); run 'bench data fetch mnist'"));

    char fetch_dir[DATA_PATH_MAX];
    data_fetch_dir(fetch_dir, "mnist", NULL);
    assert_string_equal(fetch_dir, dir);
    data_fetch_dir(fetch_dir, "mnist", "/x");
    assert_string_equal(fetch_dir, "/x/mnist");
    unsetenv(DATA_ENV);
    data_fetch_dir(fetch_dir, "fashion-mnist", NULL);
    assert_string_equal(fetch_dir, "data/fashion-mnist");
}

static void test_incomplete_dir(void **state)
{
    const char *root = *state;
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/mnist", root);
    copy_tiny(dir);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", dir);
    assert_int_equal(unlink(path), 0);
    data_source src;
    err_info e = {0};
    assert_int_equal(data_open(&src, "mnist", root, &e), ERR_IO);
    assert_non_null(strstr(e.msg, "t10k-labels-idx1-ubyte' (or .gz) is missing"));
}

static void test_fetch_unknown(void **state)
{
    (void)state;
    data_source src;
    bool already = true;
    err_info e = {0};
    assert_int_equal(data_fetch(&src, &already, "kmnist", NULL, NULL, &e), ERR_INVALID);
    assert_false(already);
    assert_non_null(strstr(e.msg, "unknown data set 'kmnist'"));
}

/* The real data sets, when scripts/setup has put them in the repository's data/ (as in CI):
 * verified, and their published facts hold (SOURCE.txt: counts, first labels, class 0 count).
 * Skipped when the data is absent. */
static void test_real_data_sets(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int first_train, first_test;
    } sets[] = {{"mnist", 5, 7}, {"fashion-mnist", 9, 9}};
    int checked = 0;
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        data_source src;
        err_info e = {0};
        int rc = data_open(&src, sets[s].name, TEST_DATA_DIR "/../../data", &e);
        if (rc == ERR_IO)
            continue;
        assert_int_equal(rc, 0);
        assert_true(src.verified);
        dataset train, test;
        assert_int_equal(data_load(&train, &test, &src, &e), 0);
        assert_int_equal(train.n, 60000);
        assert_int_equal(test.n, 10000);
        assert_int_equal(train.c, 1);
        assert_int_equal(train.h, 28);
        assert_int_equal(train.w, 28);
        assert_int_equal(train.labels[0], sets[s].first_train);
        assert_int_equal(test.labels[0], sets[s].first_test);
        if (s == 0) {
            int zeros = 0;
            for (int64_t i = 0; i < train.n; i++)
                zeros += train.labels[i] == 0;
            assert_int_equal(zeros, 5923);
        }
        dataset_release(&train);
        dataset_release(&test);
        checked++;
    }
    if (!checked)
        skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_known_answers),
        cmocka_unit_test(test_sha256_file),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_class_names),
        cmocka_unit_test(test_idx_dir_unverified_and_load),
        cmocka_unit_test(test_verified),
        cmocka_unit_test_setup_teardown(test_flipped_byte_is_refused, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_flipped_byte_in_gzip_is_refused, setup_tmp,
                                        teardown_tmp),
        cmocka_unit_test_setup_teardown(test_lookup_order_and_registry_mismatch, setup_tmp,
                                        teardown_tmp),
        cmocka_unit_test_setup_teardown(test_incomplete_dir, setup_tmp, teardown_tmp),
        cmocka_unit_test(test_fetch_unknown),
        cmocka_unit_test(test_real_data_sets),
    };
    return cmocka_run_group_tests_name("data", tests, NULL, NULL);
}
