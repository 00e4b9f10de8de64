#include "sha256.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* hex <- the 32 digest bytes as 64 lowercase hex digits and a NUL. */
static void sha256_to_hex(char out[65], const unsigned char digest[32])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[digest[i] >> 4];
        out[2 * i + 1] = digits[digest[i] & 15];
    }
    out[64] = '\0';
}

void sha256_hex(char out[65], const void *buf, size_t n)
{
    unsigned char digest[32];
    unsigned int len = 0;
    /* EVP_Digest is the one-shot form; it fails only on allocation failure. */
    int ok = EVP_Digest(n ? buf : "", n, digest, &len, EVP_sha256(), NULL);
    if (!ok || len != 32)
        abort();
    sha256_to_hex(out, digest);
}

int sha256_file(char out[65], const char *path, err_info *e)
{
    int rc = 0;
    unsigned char *block = NULL;
    EVP_MD_CTX *ctx = NULL;
    out[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(e, ERR_IO, "cannot open '%s': %s", path, strerror(errno));

    enum { BLOCK = 1 << 16 };
    block = malloc(BLOCK);
    ctx = EVP_MD_CTX_new();
    if (!block || !ctx) {
        rc = err_set(e, ERR_NOMEM, "out of memory hashing '%s'", path);
        goto done;
    }
    if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        rc = err_set(e, ERR_INVALID, "cannot initialise sha-256 for '%s'", path);
        goto done;
    }
    size_t got;
    while ((got = fread(block, 1, BLOCK, f)) > 0)
        EVP_DigestUpdate(ctx, block, got);
    if (ferror(f)) {
        rc = err_set(e, ERR_IO, "cannot read '%s': %s", path, strerror(errno));
        goto done;
    }
    unsigned char digest[32];
    unsigned int len = 0;
    if (!EVP_DigestFinal_ex(ctx, digest, &len) || len != 32) {
        rc = err_set(e, ERR_INVALID, "cannot finish sha-256 of '%s'", path);
        goto done;
    }
    sha256_to_hex(out, digest);
done:
    EVP_MD_CTX_free(ctx);
    free(block);
    fclose(f);
    return rc;
}
