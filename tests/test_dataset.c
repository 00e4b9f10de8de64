/* Tests of core/dataset: loading image/label pairs, the checks that tie them together, batch
 * gathering with its exact scaling, and the validation split's views. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataset.h"

#define FIX(name) TEST_DATA_DIR "/idx/" name

static void test_load(void **state)
{
    (void)state;
    dataset d;
    err_info e = {0};
    assert_int_equal(dataset_load_idx(&d, FIX("images.idx.gz"), FIX("labels.idx"), &e), 0);
    assert_int_equal(d.n, 5);
    assert_int_equal(d.c, 1);
    assert_int_equal(d.h, 3);
    assert_int_equal(d.w, 4);
    assert_int_equal(d.classes, 10);
    assert_true(d.owns);
    assert_int_equal(dataset_image_size(&d), 12);
    assert_int_equal(d.pixels[13], 13 * 4);
    assert_int_equal(d.labels[2], 9);
    dataset_release(&d);
    assert_null(d.pixels);
}

static void test_count_mismatch(void **state)
{
    (void)state;
    dataset d;
    err_info e = {0};
    assert_int_equal(dataset_load_idx(&d, FIX("images.idx"), FIX("labels_4.idx"), &e), ERR_FORMAT);
    assert_non_null(strstr(e.msg, "labels_4.idx' has 4 labels"));
    assert_non_null(strstr(e.msg, "images.idx' has 5 images"));
    assert_null(d.pixels);
}

static void test_label_out_of_range(void **state)
{
    (void)state;
    dataset d;
    err_info e = {0};
    assert_int_equal(dataset_load_idx(&d, FIX("images.idx"), FIX("labels_10.idx"), &e), ERR_FORMAT);
    assert_non_null(strstr(e.msg, "labels_10.idx"));
    assert_non_null(strstr(e.msg, "label 10 of image 2"));
    /* With 11 classes the same files are fine. */
    assert_int_equal(dataset_load_idx_classes(&d, FIX("images.idx"), FIX("labels_10.idx"), 11, &e),
                     0);
    assert_int_equal(d.classes, 11);
    dataset_release(&d);
    assert_int_equal(dataset_load_idx_classes(&d, FIX("images.idx"), FIX("labels.idx"), 0, &e),
                     ERR_INVALID);
}

static void test_wrong_shapes(void **state)
{
    (void)state;
    dataset d;
    err_info e = {0};
    /* labels where images belong: rank 1 */
    assert_int_equal(dataset_load_idx(&d, FIX("labels.idx"), FIX("labels.idx"), &e), ERR_FORMAT);
    assert_non_null(strstr(e.msg, "labels.idx': images must be uint8 of rank 3"));
    assert_int_equal(dataset_load_idx(&d, FIX("images.idx"), FIX("labels_rank2.idx"), &e),
                     ERR_FORMAT);
    assert_non_null(strstr(e.msg, "labels_rank2.idx': labels must be uint8 of rank 1"));
    assert_int_equal(dataset_load_idx(&d, FIX("images.idx"), FIX("truncated.idx"), &e), ERR_FORMAT);
    assert_non_null(strstr(e.msg, "truncated.idx"));
}

static void test_gather(void **state)
{
    (void)state;
    dataset d;
    err_info e = {0};
    assert_int_equal(dataset_load_idx(&d, FIX("images.idx"), FIX("labels.idx"), &e), 0);
    float x[3 * 12];
    uint8_t y[3];
    /* contiguous rows 1..2 */
    dataset_gather(x, y, &d, NULL, 1, 2);
    for (int k = 0; k < 24; k++)
        assert_true(x[k] == (float)(12 + k) * 4 / 255.0f);
    assert_int_equal(y[0], 0);
    assert_int_equal(y[1], 9);
    /* explicit rows, repeats allowed (sampling with replacement) */
    const uint32_t rows[3] = {4, 0, 4};
    dataset_gather(x, y, &d, rows, 99 /* ignored */, 3);
    for (int k = 0; k < 12; k++) {
        assert_true(x[k] == (float)(d.pixels[4 * 12 + k]) / 255.0f);
        assert_true(x[12 + k] == (float)(d.pixels[k]) / 255.0f);
    }
    assert_memory_equal(x, x + 24, 12 * sizeof(float));
    const uint8_t want[3] = {7, 3, 7};
    assert_memory_equal(y, want, 3);
    /* labels are optional */
    dataset_gather(x, NULL, &d, NULL, 0, 1);
    assert_true(x[1] == 4 / 255.0f);
    dataset_release(&d);
}

/* Translation for augmentation, on a 2-channel 3x4 image with values 1..24. */
static void test_translate(void **state)
{
    (void)state;
    float x[24], tmp[12];
    for (int k = 0; k < 24; k++)
        x[k] = (float)(k + 1);
    /* right 1, up 1: x'(i, j) = x(i + 1, j - 1); column 0 and the last row become 0
     *   channel 0 rows: 1 2 3 4 / 5 6 7 8 / 9 10 11 12  ->  0 5 6 7 / 0 9 10 11 / 0 0 0 0 */
    dataset_translate(x, 2, 3, 4, 1, -1, tmp);
    const float want[24] = {0, 5, 6, 7, 0, 9, 10, 11, 0, 0, 0, 0,
                            0, 17, 18, 19, 0, 21, 22, 23, 0, 0, 0, 0};
    assert_memory_equal(x, want, sizeof want);
    /* left 2, down 1, on a fresh 1-channel image: 0 0 0 0 / 3 4 0 0 / 7 8 0 0 */
    for (int k = 0; k < 12; k++)
        x[k] = (float)(k + 1);
    dataset_translate(x, 1, 3, 4, -2, 1, tmp);
    const float want2[12] = {0, 0, 0, 0, 3, 4, 0, 0, 7, 8, 0, 0};
    assert_memory_equal(x, want2, sizeof want2);
    /* no shift is the identity; a shift by the whole width empties the image */
    for (int k = 0; k < 12; k++)
        x[k] = (float)(k + 1);
    float same[12];
    memcpy(same, x, sizeof same);
    dataset_translate(x, 1, 3, 4, 0, 0, tmp);
    assert_memory_equal(x, same, sizeof same);
    dataset_translate(x, 1, 3, 4, 4, 0, tmp);
    for (int k = 0; k < 12; k++)
        assert_true(x[k] == 0.0f);
}

/* The scaling is the correctly rounded quotient p / 255 (as numpy's float32 division), which
 * is not always p * (1/255.0f): check the whole range against the division. */
static void test_gather_scaling_is_division(void **state)
{
    (void)state;
    uint8_t pixels[256], labels[1] = {0};
    for (int v = 0; v < 256; v++)
        pixels[v] = (uint8_t)v;
    dataset d = {.n = 1, .c = 1, .h = 16, .w = 16, .classes = 10, .pixels = pixels,
                 .labels = labels, .owns = false};
    float x[256];
    dataset_gather(x, NULL, &d, NULL, 0, 1);
    volatile float denom = 255.0f; /* keep the compiler from folding anything */
    for (int v = 0; v < 256; v++)
        assert_true(x[v] == (float)v / denom);
    assert_true(x[0] == 0.0f);
    assert_true(x[255] == 1.0f);
}

static void test_split(void **state)
{
    (void)state;
    dataset d, head, tail;
    err_info e = {0};
    assert_int_equal(dataset_load_idx(&d, FIX("images.idx"), FIX("labels.idx"), &e), 0);
    assert_int_equal(dataset_split(&head, &tail, &d, 2, &e), 0);
    assert_int_equal(head.n, 3);
    assert_int_equal(tail.n, 2);
    assert_false(head.owns);
    assert_false(tail.owns);
    assert_ptr_equal(head.pixels, d.pixels);
    assert_ptr_equal(tail.pixels, d.pixels + 3 * 12);
    assert_int_equal(tail.labels[0], 1);
    assert_int_equal(tail.labels[1], 7);
    assert_int_equal(tail.h, 3);
    dataset_release(&tail); /* a view: frees nothing, d stays valid */
    dataset_release(&head);
    assert_int_equal(d.labels[4], 7);
    /* an empty tail is allowed, an empty head is not */
    assert_int_equal(dataset_split(&head, &tail, &d, 0, &e), 0);
    assert_int_equal(head.n, 5);
    assert_int_equal(tail.n, 0);
    assert_int_equal(dataset_split(&head, &tail, &d, 5, &e), ERR_INVALID);
    assert_int_equal(dataset_split(&head, &tail, &d, -1, &e), ERR_INVALID);
    dataset_release(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_count_mismatch),
        cmocka_unit_test(test_label_out_of_range),
        cmocka_unit_test(test_wrong_shapes),
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_translate),
        cmocka_unit_test(test_gather_scaling_is_division),
        cmocka_unit_test(test_split),
    };
    return cmocka_run_group_tests_name("dataset", tests, NULL, NULL);
}
