/* Tests of core/idx: good files raw and gzipped, and every way a file can be malformed
 * (fixtures from tests/data/make_idx_fixtures.py). A malformed file must give an error with a
 * message, never a crash (the sanitizer build checks the "never" part). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idx.h"

#define FIX(name) TEST_DATA_DIR "/idx/" name

/* The pixel rule of the fixture generator. */
static uint8_t expected_pixel(int64_t i)
{
    return (uint8_t)(i * 4 % 256);
}

static void check_good_images(const idx_array *a)
{
    assert_int_equal(a->type, IDX_U8);
    assert_int_equal(a->rank, 3);
    assert_int_equal(a->dims[0], 5);
    assert_int_equal(a->dims[1], 3);
    assert_int_equal(a->dims[2], 4);
    assert_int_equal(a->dims[3], 1);
    assert_int_equal(a->elem_size, 1);
    assert_int_equal(a->count, 60);
    const uint8_t *p = a->data;
    for (int64_t i = 0; i < a->count; i++)
        assert_int_equal(p[i], expected_pixel(i));
}

static void read_good(const char *path)
{
    idx_array a;
    err_info e = {0};
    assert_int_equal(idx_read_file(&a, path, &e), 0);
    check_good_images(&a);
    /* The owned data starts its allocation (datasets take it over). */
    assert_ptr_equal(a.data, a.owned);
    idx_release(&a);
    assert_null(a.owned);
}

static void test_raw(void **state)
{
    (void)state;
    read_good(FIX("images.idx"));
}

static void test_gzip(void **state)
{
    (void)state;
    read_good(FIX("images.idx.gz"));
}

static void test_gzip_detected_by_magic(void **state)
{
    (void)state;
    read_good(FIX("images_gz_no_suffix.idx"));
}

static void test_gzip_two_members(void **state)
{
    (void)state;
    read_good(FIX("images_two_members.idx.gz"));
}

static void test_labels(void **state)
{
    (void)state;
    idx_array a;
    err_info e = {0};
    assert_int_equal(idx_read_file(&a, FIX("labels.idx"), &e), 0);
    assert_int_equal(a.rank, 1);
    assert_int_equal(a.count, 5);
    const uint8_t want[] = {3, 0, 9, 1, 7};
    assert_memory_equal(a.data, want, 5);
    idx_release(&a);
}

static void test_other_types(void **state)
{
    (void)state;
    idx_array a;
    err_info e = {0};
    assert_int_equal(idx_read_file(&a, FIX("int16.idx"), &e), 0);
    assert_int_equal(a.type, IDX_I16);
    assert_int_equal(a.elem_size, 2);
    assert_true(idx_value(&a, 0) == -2.0);
    assert_true(idx_value(&a, 1) == 300.0);
    assert_true(idx_value(&a, 2) == 7.0);
    idx_release(&a);
    assert_int_equal(idx_read_file(&a, FIX("float32.idx"), &e), 0);
    assert_true(idx_value(&a, 0) == 1.5);
    assert_true(idx_value(&a, 1) == -0.25);
    idx_release(&a);
}

static void test_parse_is_a_view(void **state)
{
    (void)state;
    const uint8_t buf[] = {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 1, 42, 43};
    idx_array a;
    err_info e = {0};
    assert_int_equal(idx_parse(&a, buf, sizeof buf, &e), 0);
    assert_ptr_equal(a.data, buf + 12);
    assert_null(a.owned);
    assert_int_equal(a.count, 2);
    idx_release(&a); /* frees nothing */
}

/* path must fail with code and a message containing want (and the file name for files). */
static void expect_error(const char *path, int code, const char *want)
{
    idx_array a;
    err_info e = {0};
    int rc = idx_read_file(&a, path, &e);
    if (rc != code || !strstr(e.msg, want) || !strstr(e.msg, path))
        fail_msg("%s: rc %d msg '%s', wanted rc %d and '%s'", path, rc, e.msg, code, want);
    assert_null(a.owned);
    assert_null(a.data);
}

static void test_empty(void **state)
{
    (void)state;
    expect_error(FIX("empty.idx"), ERR_FORMAT, "shorter than the 4-byte magic");
    expect_error(FIX("short_magic.idx"), ERR_FORMAT, "shorter than the 4-byte magic");
}

static void test_truncated(void **state)
{
    (void)state;
    expect_error(FIX("truncated.idx"), ERR_FORMAT, "truncated idx data");
    expect_error(FIX("header_truncated.idx"), ERR_FORMAT, "truncated idx header");
}

static void test_trailing(void **state)
{
    (void)state;
    expect_error(FIX("trailing.idx"), ERR_FORMAT, "2 trailing bytes");
}

static void test_wrong_magic(void **state)
{
    (void)state;
    expect_error(FIX("bad_magic.idx"), ERR_FORMAT, "not an idx file");
    expect_error(FIX("bad_type.idx"), ERR_FORMAT, "unknown idx element type 0x07");
}

static void test_wrong_rank(void **state)
{
    (void)state;
    expect_error(FIX("rank0.idx"), ERR_FORMAT, "rank 0 is outside");
    expect_error(FIX("rank5.idx"), ERR_FORMAT, "rank 5 is outside");
}

static void test_wrong_dimensions(void **state)
{
    (void)state;
    expect_error(FIX("zero_dim.idx"), ERR_FORMAT, "dimension 1 is 0");
    expect_error(FIX("overflow.idx"), ERR_FORMAT, "overflow");
    expect_error(FIX("wrong_dims.idx"), ERR_FORMAT, "truncated idx data");
}

static void test_bad_gzip(void **state)
{
    (void)state;
    expect_error(FIX("truncated.idx.gz"), ERR_FORMAT, "truncated gzip");
    expect_error(FIX("corrupt.idx.gz"), ERR_FORMAT, "corrupt gzip");
}

static void test_missing_file(void **state)
{
    (void)state;
    expect_error(FIX("no-such-file.idx"), ERR_IO, "cannot open");
}

/* Every proper prefix of a good file must be rejected cleanly: the parser never reads past
 * len and never accepts a short payload. */
static void test_every_prefix(void **state)
{
    (void)state;
    uint8_t *buf = NULL;
    size_t len = 0;
    err_info e = {0};
    assert_int_equal(idx_read_bytes(&buf, &len, FIX("images.idx"), &e), 0);
    assert_int_equal(len, 76);
    for (size_t n = 0; n < len; n++) {
        /* a fresh allocation of exactly n bytes, so ASan catches any over-read */
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, buf, n);
        idx_array a;
        assert_int_equal(idx_parse(&a, copy, n, &e), ERR_FORMAT);
        free(copy);
    }
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_gzip_detected_by_magic),
        cmocka_unit_test(test_gzip_two_members),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_other_types),
        cmocka_unit_test(test_parse_is_a_view),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_trailing),
        cmocka_unit_test(test_wrong_magic),
        cmocka_unit_test(test_wrong_rank),
        cmocka_unit_test(test_wrong_dimensions),
        cmocka_unit_test(test_bad_gzip),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_every_prefix),
    };
    return cmocka_run_group_tests_name("idx", tests, NULL, NULL);
}
