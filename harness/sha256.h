/* sha256: SHA-256 digests as lowercase hex strings, for data verification and provenance.
 *
 * A thin layer over OpenSSL's EVP interface (libcrypto). The digest of a buffer cannot fail
 * (OpenSSL aborts only on allocation failure, which we treat as fatal); the digest of a file
 * can, and reports why through err_info. Output strings are 64 hex digits plus a NUL. */
#ifndef BENCH_SHA256_H
#define BENCH_SHA256_H

#include <stddef.h>

#include "err.h"

#define SHA256_HEX_LEN 64

/* out <- lowercase hex SHA-256 of buf[0..n). buf may be NULL when n == 0. */
void sha256_hex(char out[65], const void *buf, size_t n);

/* out <- lowercase hex SHA-256 of the whole file at path, read in blocks (constant memory).
 * Returns 0, or ERR_IO with "cannot open 'path': reason" / "cannot read 'path': reason";
 * out is "" on failure. */
int sha256_file(char out[65], const char *path, err_info *e);

#endif
