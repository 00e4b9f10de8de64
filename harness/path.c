/* path: directories, absolute names, whole-file writes. See path.h. */
#define _XOPEN_SOURCE 700 /* mkdir, getcwd, mkstemp, fsync, fchmod, realpath */
#include "path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
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

/* Write all of buf to fd; false with errno set on failure. */
static bool path_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return false;
        }
        buf += w;
        len -= (size_t)w;
    }
    return true;
}

/* The write-and-rename of path_write_file onto target (missing or a regular file; st its
 * status when it exists, NULL when it does not). */
static int path_replace(const char *target, const struct stat *st, const void *buf, size_t len,
                        err_info *e)
{
    const char *slash = strrchr(target, '/');
    size_t dir_len = slash ? (size_t)(slash - target) + 1 : 0;
    const char *base = slash ? slash + 1 : target;
    size_t need = dir_len + 1 + strlen(base) + sizeof ".XXXXXX";
    char *tmp = malloc(need);
    if (!tmp)
        return err_set(e, ERR_NOMEM, "out of memory");
    snprintf(tmp, need, "%.*s.%s.XXXXXX", (int)dir_len, target, base);
    int rc = 0;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = err_set(e, ERR_IO, "cannot write '%s': %s", target, strerror(errno));
        goto done;
    }
    mode_t mode;
    if (st) {
        mode = st->st_mode & 07777;
    } else {
        mode_t mask = umask(0);
        umask(mask);
        mode = 0666 & ~mask;
    }
    bool ok = fchmod(fd, mode) == 0 && path_write_all(fd, buf, len) && fsync(fd) == 0;
    int err = errno;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, target) != 0) {
        if (ok)
            err = errno;
        rc = err_set(e, ERR_IO, "cannot write '%s': %s", target, strerror(err));
        unlink(tmp);
    }
done:
    free(tmp);
    return rc;
}

int path_write_file(const char *path, const void *buf, size_t len, err_info *e)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT)
            return err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        struct stat lst;
        if (lstat(path, &lst) == 0) /* a dangling symbolic link: not replaced */
            return err_set(e, ERR_IO, "cannot write '%s': a symbolic link to a missing file",
                           path);
        return path_replace(path, NULL, buf, len, e);
    }
    if (S_ISREG(st.st_mode)) {
        /* Through a symbolic link the file it names is replaced, the link kept. */
        char *real = realpath(path, NULL);
        if (!real)
            return err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        int rc = path_replace(real, &st, buf, len, e);
        free(real);
        return rc;
    }
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
        int fd = open(path, O_WRONLY | O_TRUNC | O_NOCTTY);
        if (fd < 0)
            return err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        bool ok = path_write_all(fd, buf, len);
        int err = errno;
        if (close(fd) != 0 && ok) {
            ok = false;
            err = errno;
        }
        return ok ? 0 : err_set(e, ERR_IO, "cannot write '%s': %s", path, strerror(err));
    }
    return err_set(e, ERR_IO, "cannot write '%s': %s", path,
                   S_ISDIR(st.st_mode) ? "it is a directory"
                                       : "not a regular file, a character device or a FIFO");
}
