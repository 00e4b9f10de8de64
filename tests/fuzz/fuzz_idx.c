/* fuzz_idx: libFuzzer target for the IDX reader (core/idx.c) and the data set loader built on
 * it (core/dataset.c).
 *
 * Contract under test: idx_parse reads nothing outside buf[0..len) and either returns a view
 * whose element count times element size is exactly the payload, or ERR_FORMAT with a message.
 * Inputs that start with the gzip magic 1f 8b also go through idx_read_file (zlib inflation,
 * the IDX_MAX_BYTES cap), via an in-memory file, so corrupt and truncated gzip streams and
 * "zip bombs" are covered too. */
#define _GNU_SOURCE /* memfd_create */

/* The asserts are the oracle: keep them in optimised builds too. */
#undef NDEBUG
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "idx.h"

/* Check the invariants of a parsed array and decode a few of its elements. */
static void fuzz_idx_check(const idx_array *a, size_t payload)
{
    assert(a->rank >= 1 && a->rank <= IDX_MAX_RANK);
    int64_t count = 1;
    for (int i = 0; i < a->rank; i++) {
        assert(a->dims[i] >= 1);
        count *= a->dims[i];
    }
    assert(count == a->count);
    if (payload != (size_t)-1)
        assert((size_t)a->count * (size_t)a->elem_size == payload);
    /* first, last and middle element (idx_value decodes big-endian of every type) */
    (void)idx_value(a, 0);
    (void)idx_value(a, a->count - 1);
    (void)idx_value(a, a->count / 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    idx_array a;
    err_info e = {0};
    if (idx_parse(&a, data, size, &e) == 0) {
        size_t header = 4 + 4 * (size_t)a.rank;
        fuzz_idx_check(&a, size - header);
        assert((const uint8_t *)a.data == data + header);
        idx_release(&a); /* a view: frees nothing */
    } else {
        assert(e.msg[0] != '\0' && a.data == NULL);
    }

    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        int fd = memfd_create("fuzz_idx", MFD_CLOEXEC);
        assert(fd >= 0);
        assert(write(fd, data, size) == (ssize_t)size);
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        err_info ge = {0};
        idx_array g;
        if (idx_read_file(&g, path, &ge) == 0) {
            fuzz_idx_check(&g, (size_t)-1);
            idx_release(&g);
        } else {
            assert(ge.msg[0] != '\0');
        }
        close(fd);
    }
    return 0;
}
