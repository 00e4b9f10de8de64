/* idx: the IDX file format of MNIST and its relatives (Fashion-MNIST, KMNIST, EMNIST).
 *
 * Layout (all integers big-endian):
 *   bytes 0..3   magic: 0x00 0x00 <type> <rank>
 *   then rank    uint32 dimensions d[0] .. d[rank-1]
 *   then         d[0] * ... * d[rank-1] elements of the type, row-major, big-endian
 * Types: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
 *
 * Validation (every violation is ERR_FORMAT with a message, never a crash):
 *   - the first two bytes are 0, the type is one of the six above, 1 <= rank <= IDX_MAX_RANK;
 *   - no dimension is 0: no IDX data set is empty, and an empty array would make any header
 *     of a truncated file look valid, so a zero dimension is rejected as malformed;
 *   - the product of the dimensions times the element size is computed without overflow and
 *     must equal the payload length exactly: a short file is "truncated", a long one has
 *     "trailing bytes".
 * Files may be gzip-compressed (detected by the 1f 8b magic, not by the name) and are then
 * inflated with zlib; a truncated or corrupt gzip stream is an error too. */
#ifndef BENCH_IDX_H
#define BENCH_IDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define IDX_MAX_RANK 4
/* Upper bound on an inflated file, so that a small corrupt or hostile .gz cannot make us
 * allocate without limit (the largest MNIST-family file, EMNIST byclass, is ~550 MB). */
#define IDX_MAX_BYTES ((size_t)2 << 30)

typedef enum idx_type {
    IDX_U8 = 0x08,
    IDX_I8 = 0x09,
    IDX_I16 = 0x0B,
    IDX_I32 = 0x0C,
    IDX_F32 = 0x0D,
    IDX_F64 = 0x0E,
} idx_type;

typedef struct idx_array {
    idx_type type;
    int rank;                   /* 1..IDX_MAX_RANK */
    int64_t dims[IDX_MAX_RANK]; /* dims[0..rank); the rest 1 */
    int elem_size;              /* bytes per element: 1, 2, 4 or 8 */
    int64_t count;              /* product of the dimensions */
    const void *data;           /* (count) elements as stored: big-endian for multi-byte types */
    void *owned;                /* allocation to free in idx_release, or NULL for a view */
} idx_array;

/* Parse the IDX image buf[0..len) (already inflated). On success out is a non-owning view:
 * out->data points into buf, which must outlive it. On failure *out is zeroed and e says why.
 * Suitable for fuzzing: reads nothing outside buf[0..len). */
int idx_parse(idx_array *out, const uint8_t *buf /*(len)*/, size_t len, err_info *e);

/* Read the whole file at path into *out_buf (malloc'd, caller frees), inflating it when it
 * starts with the gzip magic 1f 8b (concatenated gzip members are accepted). *out_len is the
 * (inflated) length. Errors name the file: cannot open/read, truncated or corrupt gzip, more
 * than IDX_MAX_BYTES. */
int idx_read_bytes(uint8_t **out_buf, size_t *out_len, const char *path, err_info *e);

/* Read and parse the IDX file at path (raw or gzip). On success *out owns its data, which is
 * at the start of its own allocation (the header is dropped); release it with idx_release.
 * Errors are prefixed with the path. */
int idx_read_file(idx_array *out, const char *path, err_info *e);

/* Element i of a as a double, decoding the stored big-endian representation. */
double idx_value(const idx_array *a, int64_t i);

/* Free what a owns (nothing for a view) and zero it. NULL and zeroed arrays are fine. */
void idx_release(idx_array *a);

#endif
