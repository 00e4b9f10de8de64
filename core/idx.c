#include "idx.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

/* Element sizes by type code; 0 = not an IDX type. */
static const struct {
    idx_type type;
    int size;
    const char *name;
} idx_types[] = {
    {IDX_U8, 1, "uint8"},  {IDX_I8, 1, "int8"},    {IDX_I16, 2, "int16"},
    {IDX_I32, 4, "int32"}, {IDX_F32, 4, "float32"}, {IDX_F64, 8, "float64"},
};

static int idx_type_size(int code)
{
    for (size_t i = 0; i < sizeof idx_types / sizeof idx_types[0]; i++)
        if ((int)idx_types[i].type == code)
            return idx_types[i].size;
    return 0;
}

static uint32_t idx_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int idx_parse(idx_array *out, const uint8_t *buf, size_t len, err_info *e)
{
    memset(out, 0, sizeof *out);
    if (len < 4)
        return err_set(e, ERR_FORMAT, "not an idx file: %zu bytes, shorter than the 4-byte magic",
                       len);
    if (buf[0] != 0 || buf[1] != 0)
        return err_set(e, ERR_FORMAT,
                       "not an idx file: magic %02x %02x %02x %02x does not start with 00 00",
                       buf[0], buf[1], buf[2], buf[3]);
    int elem = idx_type_size(buf[2]);
    if (!elem)
        return err_set(e, ERR_FORMAT, "unknown idx element type 0x%02x", buf[2]);
    int rank = buf[3];
    if (rank < 1 || rank > IDX_MAX_RANK)
        return err_set(e, ERR_FORMAT, "idx rank %d is outside 1..%d", rank, IDX_MAX_RANK);
    size_t header = 4 + 4 * (size_t)rank;
    if (len < header)
        return err_set(e, ERR_FORMAT, "truncated idx header: %zu bytes, need %zu for rank %d", len,
                       header, rank);

    /* count = d0*d1*...; each d < 2^32, so test against the limit before every product. */
    int64_t dims[IDX_MAX_RANK] = {1, 1, 1, 1};
    uint64_t count = 1;
    for (int k = 0; k < rank; k++) {
        uint32_t d = idx_be32(buf + 4 + 4 * k);
        if (d == 0)
            return err_set(e, ERR_FORMAT, "idx dimension %d is 0", k);
        if (count > (uint64_t)SIZE_MAX / elem / d)
            return err_set(e, ERR_FORMAT, "idx dimensions overflow the address space");
        count *= d;
        dims[k] = d;
    }
    size_t payload = (size_t)count * elem;
    size_t have = len - header;
    if (have < payload)
        return err_set(e, ERR_FORMAT, "truncated idx data: header promises %zu bytes, file has %zu",
                       payload, have);
    if (have > payload)
        return err_set(e, ERR_FORMAT, "idx data has %zu trailing bytes after the %zu the header "
                       "promises", have - payload, payload);

    out->type = (idx_type)buf[2];
    out->rank = rank;
    memcpy(out->dims, dims, sizeof dims);
    out->elem_size = elem;
    out->count = (int64_t)count;
    out->data = buf + header;
    out->owned = NULL;
    return 0;
}

/* Append-style growth of *buf (capacity *cap) so that it can hold at least need bytes. */
static int idx_grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 1 << 16;
    while (c < need)
        c = c > SIZE_MAX / 2 ? need : 2 * c;
    uint8_t *p = realloc(*buf, c);
    if (!p)
        return ERR_NOMEM;
    *buf = p;
    *cap = c;
    return 0;
}

/* *out <- inflated gzip data of in[0..n). Accepts concatenated members (as gzip(1) does). */
static int idx_inflate(uint8_t **out, size_t *out_len, const uint8_t *in, size_t n,
                       const char *path, err_info *e)
{
    int rc = 0;
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 15 + 16: a 32 KiB window, gzip wrapper only (the magic told us it is gzip). */
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return err_set(e, ERR_NOMEM, "cannot initialise zlib for '%s'", path);
    /* The gzip trailer's ISIZE is the length mod 2^32; a good first guess for one member. */
    size_t guess = n >= 4 ? idx_be32((const uint8_t[]){in[n - 1], in[n - 2], in[n - 3], in[n - 4]})
                          : 0;
    /* Deflate expands at most 1032:1, so a larger ISIZE is a lie (found by fuzz_idx: a 20-byte
     * corrupt file made us allocate 2 GiB before inflating a byte); grow as data arrives. */
    if (guess > IDX_MAX_BYTES || guess / 1032 > n)
        guess = 0;
    if (idx_grow(&buf, &cap, guess + 1)) {
        rc = err_set(e, ERR_NOMEM, "out of memory inflating '%s'", path);
        goto done;
    }
    z.next_in = (Bytef *)in;
    /* zlib's avail_in is 32-bit; feed the input in chunks. */
    size_t fed = 0;
    for (;;) {
        if (z.avail_in == 0 && fed < n) {
            size_t chunk = n - fed < (1u << 30) ? n - fed : (1u << 30);
            z.next_in = (Bytef *)in + fed;
            z.avail_in = (uInt)chunk;
            fed += chunk;
        }
        if (len == cap && idx_grow(&buf, &cap, cap + 1)) {
            rc = err_set(e, ERR_NOMEM, "out of memory inflating '%s'", path);
            goto done;
        }
        size_t room = cap - len < (1u << 30) ? cap - len : (1u << 30);
        z.next_out = buf + len;
        z.avail_out = (uInt)room;
        int zr = inflate(&z, Z_NO_FLUSH);
        len += room - z.avail_out;
        if (len > IDX_MAX_BYTES) {
            rc = err_set(e, ERR_FORMAT, "'%s' inflates to more than %zu bytes", path,
                         (size_t)IDX_MAX_BYTES);
            goto done;
        }
        if (zr == Z_STREAM_END) {
            if (z.avail_in == 0 && fed == n)
                break;
            /* Another gzip member may follow (as gzip -d accepts); anything else is garbage. */
            if (z.avail_in > 0 && z.next_in[0] != 0x1f) {
                rc = err_set(e, ERR_FORMAT, "'%s' has trailing garbage after the gzip data", path);
                goto done;
            }
            if (inflateReset(&z) != Z_OK) {
                rc = err_set(e, ERR_FORMAT, "corrupt gzip data in '%s'", path);
                goto done;
            }
            continue;
        }
        if (zr == Z_BUF_ERROR && z.avail_in == 0 && fed == n) {
            rc = err_set(e, ERR_FORMAT, "truncated gzip data in '%s'", path);
            goto done;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = err_set(e, ERR_FORMAT, "corrupt gzip data in '%s': %s", path,
                         z.msg ? z.msg : "inflate failed");
            goto done;
        }
    }
    *out = buf;
    *out_len = len;
    buf = NULL;
done:
    inflateEnd(&z);
    free(buf);
    return rc;
}

int idx_read_bytes(uint8_t **out_buf, size_t *out_len, const char *path, err_info *e)
{
    int rc = 0;
    uint8_t *raw = NULL;
    size_t cap = 0, len = 0;
    *out_buf = NULL;
    *out_len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(e, ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    /* Read to EOF in growing blocks: works for pipes and files whose size changes. */
    for (;;) {
        if (idx_grow(&raw, &cap, len + (1 << 16))) {
            rc = err_set(e, ERR_NOMEM, "out of memory reading '%s'", path);
            goto done;
        }
        size_t got = fread(raw + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
        if (len > IDX_MAX_BYTES) {
            rc = err_set(e, ERR_FORMAT, "'%s' is larger than %zu bytes", path,
                         (size_t)IDX_MAX_BYTES);
            goto done;
        }
    }
    if (ferror(f)) {
        rc = err_set(e, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
        goto done;
    }
    if (len >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) {
        rc = idx_inflate(out_buf, out_len, raw, len, path, e);
        goto done;
    }
    *out_buf = raw;
    *out_len = len;
    raw = NULL;
done:
    fclose(f);
    free(raw);
    return rc;
}

int idx_read_file(idx_array *out, const char *path, err_info *e)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    int rc = idx_read_bytes(&buf, &len, path, e);
    if (rc)
        return rc;
    rc = idx_parse(out, buf, len, e);
    if (rc) {
        free(buf);
        return err_prefix(e, "'%s'", path);
    }
    /* Drop the header so that the data starts the allocation (a dataset can then take it over
     * and free it), and give back the header's bytes. */
    size_t header = (size_t)((const uint8_t *)out->data - buf);
    size_t payload = len - header;
    memmove(buf, buf + header, payload);
    uint8_t *shrunk = realloc(buf, payload);
    if (shrunk)
        buf = shrunk;
    out->data = buf;
    out->owned = buf;
    return 0;
}

double idx_value(const idx_array *a, int64_t i)
{
    assert(a && a->data && i >= 0 && i < a->count);
    const uint8_t *p = (const uint8_t *)a->data + (size_t)i * a->elem_size;
    switch (a->type) {
    case IDX_U8:
        return p[0];
    case IDX_I8:
        return (int8_t)p[0];
    case IDX_I16:
        return (int16_t)(uint16_t)((unsigned)p[0] << 8 | p[1]);
    case IDX_I32:
        return (int32_t)idx_be32(p);
    case IDX_F32: {
        uint32_t u = idx_be32(p);
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    case IDX_F64: {
        uint64_t u = (uint64_t)idx_be32(p) << 32 | idx_be32(p + 4);
        double d;
        memcpy(&d, &u, sizeof d);
        return d;
    }
    }
    assert(!"unknown idx type");
    return 0;
}

void idx_release(idx_array *a)
{
    if (!a)
        return;
    free(a->owned);
    memset(a, 0, sizeof *a);
}
