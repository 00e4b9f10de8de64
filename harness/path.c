/* path: directories and absolute names. See path.h. */
#define _POSIX_C_SOURCE 200809L /* mkdir, getcwd */
#include "path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int path_mkdirs(const char *dir, err_info *e)
{
    size_t n = strlen(dir);
    char *buf = malloc(n + 1);
    if (!buf)
        return err_set(e, ERR_NOMEM, "out of memory");
    memcpy(buf, dir, n + 1);
    int rc = 0;
    for (size_t i = 1; i <= n && rc == 0; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        struct stat st;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            rc = err_set(e, ERR_IO, "cannot create directory '%s': %s", buf, strerror(errno));
        else if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
            rc = err_set(e, ERR_IO, "'%s' is not a directory", buf);
        buf[i] = c;
    }
    free(buf);
    return rc;
}

int path_absolute(char *out, size_t n, const char *path, err_info *e)
{
    char cwd[4096] = "";
    if (path[0] != '/' && !getcwd(cwd, sizeof cwd))
        return err_set(e, ERR_IO, "cannot read the working directory: %s", strerror(errno));
    size_t need = strlen(cwd) + strlen(path) + 2;
    char *all = malloc(need);
    if (!all)
        return err_set(e, ERR_NOMEM, "out of memory");
    snprintf(all, need, "%s/%s", cwd, path);
    /* Copy component by component: skip "" and ".", and ".." drops the last one kept. */
    size_t len = 0;
    int rc = 0;
    for (char *p = all; *p && rc == 0;) {
        while (*p == '/')
            p++;
        size_t k = strcspn(p, "/");
        if (k == 0 || (k == 1 && p[0] == '.')) {
        } else if (k == 2 && p[0] == '.' && p[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--;
        } else if (len + 1 + k + 1 > n) {
            rc = err_set(e, ERR_INVALID, "path '%s' is too long", path);
        } else {
            out[len++] = '/';
            memcpy(out + len, p, k);
            len += k;
        }
        p += k;
    }
    if (rc == 0 && n < 2)
        rc = err_set(e, ERR_INVALID, "path '%s' is too long", path);
    if (rc == 0) {
        if (len == 0)
            out[len++] = '/';
        out[len] = '\0';
    }
    free(all);
    return rc;
}
