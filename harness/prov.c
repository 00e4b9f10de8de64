/* prov: provenance of builds and hosts. See prov.h for the contract. */
#define _GNU_SOURCE /* gethostname, sysinfo, sched_getaffinity */

#include "prov.h"

#include <ctype.h>

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <git2.h>

#include "gemm.h"
#include "sha256.h"

/* Compile definitions from harness/CMakeLists.txt; fallbacks for a build outside CMake. */
#ifndef BENCH_COMPILER
#define BENCH_COMPILER "unknown"
#endif
#ifndef BENCH_C_FLAGS
#define BENCH_C_FLAGS ""
#endif
#ifndef BENCH_BUILD_TYPE
#define BENCH_BUILD_TYPE "unknown"
#endif
#ifndef BENCH_SOURCE_DIR
#define BENCH_SOURCE_DIR "."
#endif

/* snprintf into a fixed field; truncation is acceptable for descriptive text. */
#define SET(field, ...) snprintf((field), sizeof(field), __VA_ARGS__)

/* Trim leading and trailing white space in place (CMake leaves a leading space in the flags
 * when CMAKE_C_FLAGS is empty). */
static void trim(char *s)
{
    size_t n = strlen(s), i = 0;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n'))
        s[--n] = '\0';
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    memmove(s, s + i, n - i + 1);
}

/* e <- "<what> in 'dir': <libgit2's last message>". */
static int git_fail(err_info *e, const char *what, const char *dir)
{
    const git_error *ge = git_error_last();
    return err_set(e, ERR_IO, "%s in '%s': %s", what, dir, ge && ge->message ? ge->message : "?");
}

/* The diff of the work tree (through the index) against HEAD's tree, untracked files
 * included with their content (see prov.h on why). head_tree NULL (no commit yet) diffs
 * against the empty tree. */
static int read_diff(prov_build_info *b, git_repository *repo, git_tree *head_tree,
                     const char *dir, err_info *e)
{
    git_diff *diff = NULL;
    git_buf buf = {0};
    git_diff_options opts;
    /* The *_init() functions rather than the *_INIT macros: the macros leave fields out,
     * which -Wextra reports. */
    git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
    opts.flags = GIT_DIFF_INCLUDE_UNTRACKED | GIT_DIFF_RECURSE_UNTRACKED_DIRS |
                 GIT_DIFF_SHOW_UNTRACKED_CONTENT;
    int rc = 0;
    if (git_diff_tree_to_workdir_with_index(&diff, repo, head_tree, &opts) != 0) {
        rc = git_fail(e, "cannot diff the work tree", dir);
        goto done;
    }
    if (git_diff_num_deltas(diff) == 0)
        goto done;
    if (git_diff_to_buf(&buf, diff, GIT_DIFF_FORMAT_PATCH) != 0) {
        rc = git_fail(e, "cannot format the diff", dir);
        goto done;
    }
    b->git_dirty = 1;
    b->git_diff_bytes = buf.size;
    sha256_hex(b->git_diff_sha256, buf.ptr, buf.size);
    size_t keep = buf.size < PROV_DIFF_MAX ? buf.size : PROV_DIFF_MAX;
    char marker[128] = "";
    if (keep < buf.size)
        SET(marker, "\n[bench: diff truncated: %zu of %zu bytes shown]\n", keep, buf.size);
    b->git_diff = malloc(keep + strlen(marker) + 1);
    if (!b->git_diff) {
        rc = err_set(e, ERR_NOMEM, "out of memory");
        goto done;
    }
    memcpy(b->git_diff, buf.ptr, keep);
    strcpy(b->git_diff + keep, marker);
done:
    git_buf_dispose(&buf);
    git_diff_free(diff);
    return rc;
}

/* git_describe <- nearest annotated tag description, or the abbreviated sha. */
static void read_describe(prov_build_info *b, git_repository *repo)
{
    git_describe_result *res = NULL;
    git_buf buf = {0};
    git_describe_options opts;
    git_describe_options_init(&opts, GIT_DESCRIBE_OPTIONS_VERSION);
    opts.show_commit_oid_as_fallback = 1;
    git_describe_format_options fmt;
    git_describe_format_options_init(&fmt, GIT_DESCRIBE_FORMAT_OPTIONS_VERSION);
    /* Our own dirty flag (untracked files included) decides the suffix, not libgit2's. */
    if (git_describe_workdir(&res, repo, &opts) == 0 && git_describe_format(&buf, res, &fmt) == 0)
        SET(b->git_describe, "%s%s", buf.ptr, b->git_dirty ? "-dirty" : "");
    else
        SET(b->git_describe, "%.12s%s", b->git_sha, b->git_dirty ? "-dirty" : "");
    git_buf_dispose(&buf);
    git_describe_result_free(res);
}

/* The git part of prov_build; libgit2 is initialised by the caller. */
static int read_git(prov_build_info *b, const char *dir, err_info *e)
{
    git_repository *repo = NULL;
    git_reference *head = NULL;
    git_commit *commit = NULL;
    git_tree *tree = NULL;
    int rc = 0;
    int grc = git_repository_open_ext(&repo, dir, 0, NULL);
    if (grc == GIT_ENOTFOUND) {
        SET(b->git_note, "no git repository found at or above '%s'", dir);
        goto done;
    }
    if (grc == GIT_EOWNER) {
        /* libgit2 refuses a repository owned by another user (git's safe.directory). */
        SET(b->git_note, "git repository at or above '%s' is owned by another user", dir);
        goto done;
    }
    if (grc != 0) {
        rc = git_fail(e, "cannot open the git repository", dir);
        goto done;
    }
    if (git_repository_is_bare(repo)) {
        SET(b->git_note, "'%s' is a bare git repository (no work tree)", dir);
        goto done;
    }
    grc = git_repository_head(&head, repo);
    if (grc == GIT_EUNBORNBRANCH || grc == GIT_ENOTFOUND) {
        /* A repository without commits: everything is "changed" against the empty tree. */
        SET(b->git_note, "git repository at '%s' has no commit yet",
            git_repository_workdir(repo));
        SET(b->git_branch, "none");
        rc = read_diff(b, repo, NULL, dir, e);
        goto done;
    }
    if (grc != 0) {
        rc = git_fail(e, "cannot read HEAD", dir);
        goto done;
    }
    if (git_reference_peel((git_object **)&commit, head, GIT_OBJECT_COMMIT) != 0 ||
        git_commit_tree(&tree, commit) != 0) {
        rc = git_fail(e, "cannot read the HEAD commit", dir);
        goto done;
    }
    git_oid_tostr(b->git_sha, sizeof b->git_sha, git_commit_id(commit));
    if (git_repository_head_detached(repo) == 1)
        SET(b->git_branch, "detached");
    else
        SET(b->git_branch, "%s", git_reference_shorthand(head));
    rc = read_diff(b, repo, tree, dir, e);
    if (rc == 0)
        read_describe(b, repo);
done:
    git_tree_free(tree);
    git_commit_free(commit);
    git_reference_free(head);
    git_repository_free(repo);
    return rc;
}

int prov_build(prov_build_info *out, const char *repo_dir, err_info *e)
{
    assert(out);
    *out = (prov_build_info){0};
    const char *dir = repo_dir ? repo_dir : BENCH_SOURCE_DIR;
    SET(out->git_sha, "none");
    SET(out->git_branch, "none");
    SET(out->git_describe, "none");

    /* BENCH_COMPILER is "<id> <version>", e.g. "GNU 12.2.0". */
    const char *compiler = BENCH_COMPILER;
    const char *space = strchr(compiler, ' ');
    if (space) {
        SET(out->compiler, "%.*s", (int)(space - compiler), compiler);
        SET(out->compiler_version, "%s", space + 1);
    } else {
        SET(out->compiler, "%s", compiler);
        SET(out->compiler_version, "unknown");
    }
    SET(out->cflags, "%s", BENCH_C_FLAGS);
    trim(out->cflags);
    SET(out->build_type, "%s", BENCH_BUILD_TYPE);
    gemm_numerics(out->blas, sizeof out->blas, kern_resolve(KERN_AUTO));
    /* The binary's own hash: a missing /proc is a note, not a failure. */
    err_info ignore = {0};
    if (sha256_file(out->binary_sha256, "/proc/self/exe", &ignore) != 0)
        out->binary_sha256[0] = '\0';

    if (git_libgit2_init() < 0) {
        const git_error *ge = git_error_last();
        return err_set(e, ERR_IO, "cannot initialise libgit2: %s",
                       ge && ge->message ? ge->message : "?");
    }
    int rc = read_git(out, dir, e);
    git_libgit2_shutdown();
    if (rc)
        prov_build_release(out);
    return rc;
}

int prov_path_dirties_tree(bool *dirties, const char *path, err_info *e)
{
    *dirties = false;
    char real[4096], top[4096], head[4096];
    /* resolve the longest prefix that exists, then append the rest as it is */
    if (snprintf(head, sizeof head, "%s", path) >= (int)sizeof head)
        return err_set(e, ERR_INVALID, "path '%.100s...' is too long", path);
    size_t cut = strlen(head);
    while (!realpath(head, real)) {
        char *slash = strrchr(head, '/');
        if (errno != ENOENT || !slash || slash == head)
            return err_set(e, ERR_IO, "cannot resolve '%s': %s", path, strerror(errno));
        *slash = '\0';
        cut = (size_t)(slash - head);
    }
    if (path[cut] && strlen(real) + strlen(path + cut) < sizeof real)
        strcat(real, path + cut);
    if (git_libgit2_init() < 0)
        return err_set(e, ERR_IO, "cannot initialise libgit2");
    git_repository *repo = NULL;
    int rc = 0;
    const char *workdir = NULL;
    /* no repository, or a bare one: nothing a file could make dirty */
    if (git_repository_open_ext(&repo, BENCH_SOURCE_DIR, 0, NULL) != 0 ||
        !(workdir = git_repository_workdir(repo)) || !realpath(workdir, top))
        goto done;
    size_t n = strlen(top);
    while (n > 1 && top[n - 1] == '/')
        top[--n] = '\0';
    if (strncmp(real, top, n) != 0 || (real[n] != '/' && real[n] != '\0'))
        goto done;
    /* inside the work tree: files there count unless git ignores them (build/, results/) */
    const char *rel = real[n] ? real + n + 1 : ".";
    char dir[4200];
    SET(dir, "%s/", rel);
    int ignored = 0;
    if (git_ignore_path_is_ignored(&ignored, repo, dir) != 0)
        rc = git_fail(e, "cannot read the ignore rules", top);
    else
        *dirties = !ignored;
done:
    git_repository_free(repo);
    git_libgit2_shutdown();
    return rc;
}

void prov_build_release(prov_build_info *b)
{
    if (!b)
        return;
    free(b->git_diff);
    b->git_diff = NULL;
}

int prov_build_identity(char *buf, size_t n, const prov_build_info *b)
{
    assert(buf && n && b);
    int len = snprintf(buf, n,
                       "git_sha=%s\ngit_diff_sha256=%s\ncompiler=%s %s\ncflags=%s\n"
                       "build_type=%s\nblas=%s\n",
                       b->git_sha, b->git_diff_sha256, b->compiler, b->compiler_version,
                       b->cflags, b->build_type, b->blas);
    return len >= 0 && (size_t)len < n ? 0 : ERR_INVALID;
}

/* value <- the text after "key<spaces/tabs>:" on the first line of /proc/cpuinfo that
 * starts with key. Returns true when found. */
static bool cpuinfo_field(char *value, size_t n, const char *key)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return false;
    /* The flags line of an AVX-512 CPU is about 1.5 KiB; lines longer than the buffer are
     * read in pieces, and a piece that does not start a line never matches. */
    char line[8192];
    bool found = false, at_start = true;
    size_t klen = strlen(key);
    while (!found && fgets(line, sizeof line, f)) {
        bool starts = at_start;
        at_start = strchr(line, '\n') != NULL;
        if (!starts || strncmp(line, key, klen) != 0)
            continue;
        const char *p = line + klen;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != ':')
            continue;
        p++;
        while (*p == ' ')
            p++;
        snprintf(value, n, "%s", p);
        trim(value);
        found = value[0] != '\0';
    }
    fclose(f);
    return found;
}

/* os <- PRETTY_NAME of /etc/os-release, quotes removed. */
static bool os_pretty_name(char *os, size_t n)
{
    FILE *f = fopen("/etc/os-release", "r");
    if (!f)
        return false;
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, "PRETTY_NAME=", 12) != 0)
            continue;
        char *v = line + 12;
        trim(v);
        size_t len = strlen(v);
        if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
            v[len - 1] = '\0';
            v++;
        }
        size_t m = strlen(v) < n ? strlen(v) : n - 1; /* truncate quietly, like snprintf */
        memcpy(os, v, m);
        os[m] = '\0';
        found = m > 0;
    }
    fclose(f);
    return found;
}

int prov_host(prov_host_info *out, err_info *e)
{
    assert(out);
    *out = (prov_host_info){0};
    struct utsname u;
    if (uname(&u) != 0)
        return err_set(e, ERR_IO, "cannot describe the host: uname failed");
    SET(out->kernel, "%s %s %s", u.sysname, u.release, u.machine);
    if (gethostname(out->hostname, sizeof out->hostname) != 0 || !out->hostname[0])
        SET(out->hostname, "%s", u.nodename[0] ? u.nodename : "unknown");
    out->hostname[sizeof out->hostname - 1] = '\0';
    /* x86 names the model "model name" and the features "flags"; arm64 has no model name
     * and calls the features "Features". */
    if (!cpuinfo_field(out->cpu_model, sizeof out->cpu_model, "model name") &&
        !cpuinfo_field(out->cpu_model, sizeof out->cpu_model, "Hardware"))
        SET(out->cpu_model, "unknown");
    /* x86's family and model say which generation a vague name is ("AMD EPYC" has been Zen 3
     * and Zen 5 on machines of one kind) */
    char family[32], model[32];
    if (cpuinfo_field(family, sizeof family, "cpu family") && cpuinfo_field(model, sizeof model, "model")) {
        const size_t len = strlen(out->cpu_model);
        snprintf(out->cpu_model + len, sizeof out->cpu_model - len, " (family %s, model %s)", family, model);
    }
    if (!cpuinfo_field(out->cpu_flags, sizeof out->cpu_flags, "flags") &&
        !cpuinfo_field(out->cpu_flags, sizeof out->cpu_flags, "Features"))
        SET(out->cpu_flags, "unknown");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    out->cores = cores > 0 ? (int)cores : 0;
    struct sysinfo si;
    if (sysinfo(&si) == 0)
        out->ram_bytes = (int64_t)si.totalram * (int64_t)si.mem_unit;
    if (!os_pretty_name(out->os, sizeof out->os))
        SET(out->os, "unknown");
    return 0;
}

int prov_cpus_usable(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (int)cores : 1;
}

int64_t prov_memory_limit(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    int64_t limit = pages > 0 && page > 0 ? (int64_t)pages * (int64_t)page : 0;
    FILE *f = fopen("/sys/fs/cgroup/memory.max", "r");
    if (f) {
        char buf[64];
        if (fgets(buf, sizeof buf, f)) {
            char *end;
            errno = 0;
            long long v = strtoll(buf, &end, 10); /* "max" reads as no number: no limit */
            if (end != buf && errno == 0 && v > 0 && (limit == 0 || v < limit))
                limit = (int64_t)v;
        }
        fclose(f);
    }
    return limit;
}

void prov_build_to_store(store_build *out, const prov_build_info *b)
{
    *out = (store_build){
        .git_sha = b->git_sha,
        .git_branch = b->git_branch,
        .git_dirty = b->git_dirty,
        .git_diff = b->git_diff,
        .git_describe = b->git_describe,
        .compiler = b->compiler,
        .compiler_version = b->compiler_version,
        .cflags = b->cflags,
        .build_type = b->build_type,
        .blas = b->blas,
        .binary_sha256 = b->binary_sha256,
    };
}

void prov_host_to_store(store_host *out, const prov_host_info *h)
{
    *out = (store_host){
        .hostname = h->hostname,
        .cpu_model = h->cpu_model,
        .cpu_flags = h->cpu_flags,
        .cores = h->cores,
        .ram_bytes = h->ram_bytes,
        .os = h->os,
        .kernel = h->kernel,
    };
}

int prov_collect(prov_build_info *b, prov_host_info *h, const char *built_head, err_info *e)
{
    int rc = prov_build(b, NULL, e);
    if (rc)
        return rc;
    if ((rc = prov_check_built_from(b, built_head, e)) != 0 || (rc = prov_host(h, e)) != 0)
        prov_build_release(b);
    return rc;
}

int prov_store(store *s, int64_t *build_id, int64_t *host_id, const prov_build_info *b,
               const prov_host_info *h, err_info *e)
{
    store_build sb;
    store_host sh;
    prov_build_to_store(&sb, b);
    prov_host_to_store(&sh, h);
    int rc = store_build_put(s, build_id, &sb, e);
    return rc ? rc : store_host_put(s, host_id, &sh, e);
}

/* A full 40-hex-digit commit id. */
static bool is_sha(const char *s)
{
    if (strlen(s) != 40)
        return false;
    for (int i = 0; i < 40; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

int prov_check_built_from(const prov_build_info *b, const char *built_head, err_info *e)
{
    if (!built_head || !is_sha(built_head) || !is_sha(b->git_sha))
        return 0;
    if (strcmp(built_head, b->git_sha) == 0)
        return 0;
    return err_set(e, ERR_INVALID,
                   "bench was built from commit %.12s but the source tree is at %.12s; rebuild "
                   "it (cmake --build build) so that results name the code that produced them",
                   built_head, b->git_sha);
}
