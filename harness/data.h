/* data: the registry of data sets bench knows, where their files are, whether they are the
 * genuine files (SHA-256), fetching them, and loading them into core datasets.
 *
 * A data set is four IDX files with the MNIST names (train-images-idx3-ubyte,
 * train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte), each stored raw or
 * gzipped (NAME or NAME.gz; raw is preferred when both exist). Names:
 *   "mnist"          MNIST digits, checksums of the original distribution
 *   "fashion-mnist"  Fashion-MNIST, as Debian's dataset-fashion-mnist package ships it
 *   "idx:<dir>"      any other directory holding the four files; no checksum is known, so it is
 *                    reported "unverified" (KMNIST, EMNIST digits...)
 *
 * Checksums are of the UNCOMPRESSED files, so a data set verifies whether it is stored raw or
 * gzipped by any gzip; the SHA-256 of a known .gz distribution is a fast path that skips the
 * inflation.
 *
 * Where a registered data set is looked for, first match wins:
 *   1. the directory given to the function (bench's --data-dir DIR), else
 *   2. the environment variable BENCH_DATA_DIR, when set and non-empty;
 *      in both cases DIR/<name>/ is tried first, then DIR itself (so DIR may be a data root
 *      holding mnist/ and fashion-mnist/, or one data set's directory), and nothing else;
 *   3. otherwise ./data/<name>/ relative to the current directory (where `bench data fetch`
 *      puts it), then the data set's system directory, if it has one
 *      (/usr/share/datasets/fashion-mnist/ for fashion-mnist).
 * Nothing is cached between calls: each data_open looks and verifies again. */
#ifndef BENCH_DATA_H
#define BENCH_DATA_H

#include <stdbool.h>
#include <stdio.h>

#include "dataset.h"
#include "err.h"

#define DATA_PATH_MAX 4096
#define DATA_ENV "BENCH_DATA_DIR"

/* The four files of a data set, in this order everywhere. */
enum { DATA_TRAIN_IMAGES, DATA_TRAIN_LABELS, DATA_TEST_IMAGES, DATA_TEST_LABELS, DATA_N_FILES };

typedef struct data_file_spec {
    const char *name;      /* "train-images-idx3-ubyte"; NAME.gz is accepted too */
    const char *sha256;    /* of the uncompressed file, or NULL when unknown */
    const char *sha256_gz; /* of a known gzipped copy, or NULL (a fast path only) */
} data_file_spec;

struct data_spec;
/* Put verified files of spec into the directory dest (created), working in the empty temporary
 * directory tmp; progress lines go to log (may be NULL). */
typedef int (*data_fetch_fn)(const struct data_spec *spec, const char *dest, const char *tmp,
                             FILE *log, err_info *e);

typedef struct data_spec {
    const char *name;       /* registry name: "mnist" */
    const char *title;      /* one line for humans */
    int classes;            /* labels are 0..classes-1 */
    const char *system_dir; /* where a system package installs the files, or NULL */
    data_fetch_fn fetch;    /* NULL: cannot be fetched */
    data_file_spec files[DATA_N_FILES];
    const char *const *class_names; /* (classes) a name per label, or NULL: numbered */
} data_spec;

/* A located data set: its files and their checksums. */
typedef struct data_source {
    char name[DATA_PATH_MAX];                 /* registry name or "idx:<dir>" */
    int classes;
    char dir[DATA_PATH_MAX];                  /* the directory holding the files */
    char paths[DATA_N_FILES][DATA_PATH_MAX];  /* each file as found (raw or .gz) */
    char sha256[DATA_N_FILES][65];            /* of each file's uncompressed content */
    char id[65];      /* sha256 of the four content checksums concatenated in file order:
                       * identifies the data whatever its compression (for run keys) */
    bool verified;    /* all four matched the registry; false for idx:<dir> */
} data_source;

/* The registry: *n <- number of entries; returns the static table. */
const data_spec *data_specs(int *n);

/* The registry entry called name, or NULL. */
const data_spec *data_find(const char *name);

/* The name of class k of the data set called dataset ("Shirt": Fashion-MNIST's 6), or NULL
 * when the data set is not registered, names no classes (MNIST's digits are their own names)
 * or has another number of classes than `classes`. */
const char *data_class_name(const char *dataset, int classes, int k);

/* The registry's names as "mnist, fashion-mnist" for error messages. */
const char *data_names(void);

/* Resolve and verify the data set `name` (a registry name or "idx:<dir>"), looking where the
 * header says (data_dir may be NULL). Errors: unknown name (listing the valid ones), not found
 * (listing where it looked and how to fetch it), an incomplete directory, a checksum mismatch
 * (ERR_CHECKSUM naming the file and both checksums), unreadable or corrupt gzip files. */
int data_open(data_source *out, const char *name, const char *data_dir, err_info *e);

/* Verify the files of spec in directory dir exactly (no search); used by data_open, by fetch
 * and by tests with their own specs. */
int data_open_dir(data_source *out, const data_spec *spec, const char *dir, err_info *e);

/* actual <- sha256 of the uncompressed content of path (inflated when gzipped). When f has a
 * known checksum and it differs: ERR_CHECKSUM, "checksum mismatch for 'PATH': expected
 * sha-256 X, got Y". *verified <- whether a known checksum matched. */
int data_verify_file(char actual[65], bool *verified, const char *path, const data_file_spec *f,
                     err_info *e);

/* Load the training and test sets of src (labels checked against src->classes). On failure
 * both are released. */
int data_load(dataset *train, dataset *test, const data_source *src, err_info *e);

/* The directory fetch writes data set `name` into: <root>/<name>, where root is data_dir, else
 * $BENCH_DATA_DIR, else "data". */
void data_fetch_dir(char out[DATA_PATH_MAX], const char *name, const char *data_dir);

/* Fetch the registered data set `name` into data_fetch_dir(...) unless a verified copy is
 * already where data_open finds it; *out describes the result. *already <- true when nothing
 * had to be done. Progress lines go to log (may be NULL). */
int data_fetch(data_source *out, bool *already, const char *name, const char *data_dir, FILE *log,
               err_info *e);

#endif
