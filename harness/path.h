/* path: the few file-system path operations several modules need, in one place: making a
 * directory with its parents, the absolute name of a path, and writing a file whole. */
#ifndef BENCH_PATH_H
#define BENCH_PATH_H

#include <stddef.h>

#include "err.h"

/* mkdir -p dir: dir and its missing parents (mode 0777 less the umask). Existing directories
 * are fine; ERR_IO names the component that could not be made or is not a directory. */
int path_mkdirs(const char *dir, err_info *e);

/* out[0..n) <- path made absolute against the working directory, "." and ".." components and
 * repeated slashes removed, symbolic links left as they are (the path need not exist).
 * ERR_INVALID when it does not fit, ERR_IO when the working directory cannot be read. */
int path_absolute(char *out, size_t n, const char *path, err_info *e);

/* Write buf[0..len) as the whole content of path. What is at path decides how:
 *   - nothing, or a regular file (also through symbolic links): written to a unique temporary
 *     file (mkstemp) in the same directory, flushed to disk and renamed into place, so the file
 *     is never half-written and two writers cannot share a temporary name; a new file gets mode
 *     0666 less the umask, a replaced one keeps its mode;
 *   - a character device or a FIFO (/dev/null, /dev/stdout, a pipe): written directly, never
 *     replaced;
 *   - anything else (a directory, a block device, a socket): refused, untouched.
 * ERR_IO names the path and the reason. */
int path_write_file(const char *path, const void *buf, size_t len, err_info *e);

#endif
