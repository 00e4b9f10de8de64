/* path: the few file-system path operations several modules need, in one place: making a
 * directory with its parents, and the absolute name of a path. */
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

#endif
