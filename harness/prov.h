/* prov: provenance of a run — which source, build and machine produced it.
 *
 * prov_build() describes the build: the git revision of the source tree (through libgit2),
 * whether the tree differs from it and how (the diff), the compiler, flags and build type this
 * binary was compiled with (compile definitions set by harness/CMakeLists.txt), the BLAS
 * kernels in use and the SHA-256 of the running binary. prov_host() describes the machine.
 * prov_build_identity() gives the canonical text of everything in the build that can change a
 * result; the runner hashes it into each run_key.
 *
 * What "dirty" means here: tracked files that differ from HEAD (in the index or the work tree)
 * AND untracked files that are not ignored. Untracked files count because the build globs
 * the sources of core/, harness/ and tests/ by pattern: a new, uncommitted .c file changes the
 * binary, so its content belongs in the diff. Ignored files (build directories, data,
 * results) do not count. This is stricter than `git describe --dirty`, which ignores
 * untracked files.
 *
 * Outside a git work tree (a source tarball, a bare repository) prov_build() still succeeds:
 * git_sha is "none" and git_note says why. */
#ifndef BENCH_PROV_H
#define BENCH_PROV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

/* The diff stored with a build is capped at this many bytes, followed by a marker line
 * "[bench: diff truncated: N of M bytes shown]"; git_diff_sha256 covers the whole diff. */
#define PROV_DIFF_MAX ((size_t)1 << 20)

typedef struct prov_build_info {
    char git_sha[48];          /* 40 lowercase hex digits, or "none" */
    char git_branch[256];      /* branch name, "detached", or "none" */
    char git_describe[128];    /* nearest annotated tag or abbreviated sha, "-dirty" appended
                                * when dirty; "none" without a revision */
    int git_dirty;             /* 1 when the tree differs from HEAD (see above) */
    char *git_diff;            /* heap, NUL-terminated, NULL when clean; capped at PROV_DIFF_MAX */
    size_t git_diff_bytes;     /* length of the whole diff before capping */
    char git_diff_sha256[65];  /* SHA-256 of the whole diff, "" when clean */
    char git_note[256];        /* why no revision was found, "" when one was */
    char compiler[64];         /* compiler id, e.g. "GNU" */
    char compiler_version[64]; /* e.g. "12.2.0" */
    char cflags[512];          /* CMAKE_C_FLAGS plus the build type's flags */
    char build_type[32];       /* "Release", "Debug", ... */
    char blas[128];            /* gemm_numerics() of the kernels this CPU runs: what fixes the
                                * bits ("fma-chains", or "generic+blis-..." without AVX2) */
    char binary_sha256[65];    /* of /proc/self/exe, "" when it cannot be read */
} prov_build_info;

typedef struct prov_host_info {
    char hostname[256];
    char cpu_model[256];   /* "model name" of /proc/cpuinfo, "unknown" when absent; on x86
                            * followed by " (family F, model M)" */
    char cpu_flags[4096];  /* the CPU's feature flags, space-separated, "unknown" when absent */
    int cores;             /* online logical processors */
    int64_t ram_bytes;     /* total physical memory */
    char os[256];          /* PRETTY_NAME of /etc/os-release, else "unknown" */
    char kernel[256];      /* "Linux 6.1.0-18-amd64 x86_64" (uname) */
} prov_host_info;

/* *out <- the build's provenance. repo_dir is where to look for the git repository (searching
 * upwards); NULL means the source directory this binary was built from. Errors (ERR_IO,
 * ERR_NOMEM) only when a repository was found but could not be read; no repository is not an
 * error. Initialises and shuts down libgit2 itself (reference-counted by libgit2).
 * Release with prov_build_release(). */
int prov_build(prov_build_info *out, const char *repo_dir, err_info *e);

/* Free the heap parts of b (the diff); b may be reused after prov_build() again. */
void prov_build_release(prov_build_info *b);

/* *out <- the host's description. Fields that cannot be read are "unknown" (or 0), so this
 * fails only when nothing at all can be learnt (uname fails). */
int prov_host(prov_host_info *out, err_info *e);

/* buf[0..n) <- the canonical identity of the build, one "key=value" line each for git_sha,
 * git_diff_sha256, compiler (id and version), cflags, build_type and blas. Two builds with the
 * same identity are expected to give bitwise-identical results. The binary's hash is left out
 * on purpose: it also changes with paths and timestamps that do not affect results.
 * Returns 0, or ERR_INVALID when n is too small (buf then holds a truncated string). */
int prov_build_identity(char *buf, size_t n, const prov_build_info *b);

/* Results are attributed to the commit the source tree is at (b->git_sha), so the binary must
 * have been built from that commit: built_head is the HEAD captured at build time
 * (BENCH_GIT_HEAD). Returns 0 when they agree or either is unknown ("unknown", "none");
 * otherwise ERR_INVALID, "bench was built from commit X but the source tree is at Y; rebuild
 * it". (Edits to an already dirty tree after the build are not detected.) */
int prov_check_built_from(const prov_build_info *b, const char *built_head, err_info *e);

/* *dirties <- whether files written under the directory path would make the source tree this
 * binary was built from dirty (and so change every run key after them): path lies inside its
 * git work tree and git does not ignore it. False outside a repository. path need not exist
 * (its longest existing prefix is resolved, symbolic links included). ERR_IO when that
 * cannot be resolved or the repository cannot be read. */
int prov_path_dirties_tree(bool *dirties, const char *path, err_info *e);

/* The CPUs this process may run on: the size of its affinity mask (sched_getaffinity), which
 * is what a batch system binds it to (Slurm's --cpus-per-task, a cpuset, taskset); the online
 * processors when the mask cannot be read; at least 1. Worker and thread counts derive from
 * this, never from the machine's total (prov_host_info.cores describes the machine). */
int prov_cpus_usable(void);

/* Bytes of memory this process may use: the physical memory (sysconf _SC_PHYS_PAGES *
 * _SC_PAGESIZE), or the cgroup v2 limit of /sys/fs/cgroup/memory.max when that is lower
 * ("max" or an unreadable file: no limit). 0 when neither can be read. */
int64_t prov_memory_limit(void);

/* Views for the store (pointers into b / h, valid while they live). */
void prov_build_to_store(store_build *out, const prov_build_info *b);
void prov_host_to_store(store_host *out, const prov_host_info *h);

/* What a command that records results does first: *b <- prov_build(NULL), refused by
 * prov_check_built_from(b, built_head), and *h <- prov_host(). On failure b is released;
 * on success the caller releases it. */
int prov_collect(prov_build_info *b, prov_host_info *h, const char *built_head, err_info *e);

/* *build_id, *host_id <- the rows of b and h in s, inserted when new (store_build_put,
 * store_host_put), inside the caller's transaction when one is open. */
int prov_store(store *s, int64_t *build_id, int64_t *host_id, const prov_build_info *b,
               const prov_host_info *h, err_info *e);

#endif
