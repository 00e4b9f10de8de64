/* Tests of harness/prov: build provenance in this repository, in a scratch repository made
 * with libgit2 (clean, modified, untracked, ignored, detached, oversized diff), outside any
 * repository, the canonical build identity, and the host description. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, nftw */
#define _XOPEN_SOURCE 700

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cli.h"

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <git2.h>

#include "prov.h"
#include "store.h"

typedef struct fixture {
    char dir[256];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/test_prov.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    git_libgit2_init();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    git_libgit2_shutdown();
    cli_rm_tree(f->dir);
    free(f);
    return 0;
}

static bool is_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", s[i]))
            return false;
    return true;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    assert_true(snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void check_git(int rc)
{
    if (rc < 0) {
        const git_error *ge = git_error_last();
        fail_msg("libgit2: %s", ge && ge->message ? ge->message : "?");
    }
}

/* Commit every file of the work tree (as `git add -A && git commit`); *id <- the commit. */
static void commit_all(git_repository *repo, git_oid *id)
{
    git_index *idx = NULL;
    git_tree *tree = NULL;
    git_signature *sig = NULL;
    git_commit *parent = NULL;
    git_oid tree_id, parent_id;
    check_git(git_repository_index(&idx, repo));
    check_git(git_index_add_all(idx, NULL, 0, NULL, NULL));
    check_git(git_index_write(idx));
    check_git(git_index_write_tree(&tree_id, idx));
    check_git(git_tree_lookup(&tree, repo, &tree_id));
    check_git(git_signature_new(&sig, "test", "test@example.org", 1700000000, 0));
    int n = 0;
    if (git_reference_name_to_id(&parent_id, repo, "HEAD") == 0) {
        check_git(git_commit_lookup(&parent, repo, &parent_id));
        n = 1;
    }
    const git_commit *parents[1] = {parent};
    check_git(git_commit_create(id, repo, "HEAD", sig, sig, NULL, "test commit", tree, n,
                                parents));
    git_commit_free(parent);
    git_signature_free(sig);
    git_tree_free(tree);
    git_index_free(idx);
}

/* A repository in f->dir/repo with one commit on branch "main" and an ignore rule. */
static git_repository *make_repo(fixture *f, char *repo_dir, size_t n, git_oid *head)
{
    git_repository *repo = NULL;
    git_repository_init_options opts;
    git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
    opts.flags = GIT_REPOSITORY_INIT_MKPATH;
    opts.initial_head = "main";
    snprintf(repo_dir, n, "%s/repo", f->dir);
    check_git(git_repository_init_ext(&repo, repo_dir, &opts));
    write_file(repo_dir, "a.txt", "first line\n");
    write_file(repo_dir, ".gitignore", "build/\n*.db\n");
    commit_all(repo, head);
    return repo;
}

static void test_in_this_repo(void **state)
{
    (void)state;
    prov_build_info b;
    err_info e = {0};
    /* TEST_DATA_DIR is tests/data of the source tree: the repository is found upwards. */
    int rc = prov_build(&b, TEST_DATA_DIR, &e);
    if (rc)
        fail_msg("prov_build: %s", e.msg);
    assert_true(is_hex(b.git_sha, 40));
    assert_true(strlen(b.git_branch) > 0);
    assert_string_equal(b.git_note, "");
    assert_true(strlen(b.git_describe) > 0);
    assert_true(strlen(b.compiler) > 0 && strlen(b.compiler_version) > 0);
    assert_true(strlen(b.build_type) > 0);
    assert_true(strlen(b.blas) > 0);
    assert_true(is_hex(b.binary_sha256, 64));
    /* Dirty or not depends on the checkout; the fields must agree with each other. */
    if (b.git_dirty) {
        assert_non_null(b.git_diff);
        assert_true(is_hex(b.git_diff_sha256, 64));
        assert_non_null(strstr(b.git_describe, "-dirty"));
    } else {
        assert_null(b.git_diff);
        assert_string_equal(b.git_diff_sha256, "");
    }
    /* NULL means the source directory compiled in: the same repository. */
    prov_build_info c;
    assert_int_equal(prov_build(&c, NULL, &e), 0);
    assert_string_equal(c.git_sha, b.git_sha);
    prov_build_release(&b);
    prov_build_release(&c);
    assert_null(b.git_diff);
}

static void test_scratch_repo_states(void **state)
{
    fixture *f = *state;
    char dir[400];
    git_oid head;
    git_repository *repo = make_repo(f, dir, sizeof dir, &head);
    char want_sha[GIT_OID_HEXSZ + 1];
    git_oid_tostr(want_sha, sizeof want_sha, &head);
    prov_build_info b;
    err_info e = {0};

    /* Clean. */
    assert_int_equal(prov_build(&b, dir, &e), 0);
    assert_string_equal(b.git_sha, want_sha);
    assert_string_equal(b.git_branch, "main");
    assert_int_equal(b.git_dirty, 0);
    assert_null(b.git_diff);
    assert_int_equal(strncmp(b.git_describe, want_sha, 7), 0);
    assert_null(strstr(b.git_describe, "dirty"));
    prov_build_release(&b);

    /* Ignored files do not count. */
    char sub[512];
    snprintf(sub, sizeof sub, "%s/build", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    write_file(sub, "out.o", "object\n");
    write_file(dir, "results.db", "data\n");
    assert_int_equal(prov_build(&b, dir, &e), 0);
    assert_int_equal(b.git_dirty, 0);
    prov_build_release(&b);

    /* A modified tracked file: dirty, and the diff shows the change. */
    write_file(dir, "a.txt", "first line\nsecond line\n");
    assert_int_equal(prov_build(&b, dir, &e), 0);
    assert_int_equal(b.git_dirty, 1);
    assert_non_null(b.git_diff);
    assert_non_null(strstr(b.git_diff, "+second line"));
    assert_true(is_hex(b.git_diff_sha256, 64));
    assert_int_equal(b.git_diff_bytes, strlen(b.git_diff));
    assert_non_null(strstr(b.git_describe, "-dirty"));
    char modified_hash[65];
    memcpy(modified_hash, b.git_diff_sha256, 65);
    prov_build_release(&b);

    /* An untracked, not ignored file: dirty too, with its content (see prov.h). */
    write_file(dir, "new.c", "int added_later;\n");
    assert_int_equal(prov_build(&b, dir, &e), 0);
    assert_int_equal(b.git_dirty, 1);
    assert_non_null(strstr(b.git_diff, "new.c"));
    assert_non_null(strstr(b.git_diff, "+int added_later;"));
    assert_string_not_equal(b.git_diff_sha256, modified_hash);
    prov_build_release(&b);

    /* Committed: clean again at a new sha; then detached at that commit. */
    git_oid second;
    commit_all(repo, &second);
    check_git(git_repository_set_head_detached(repo, &second));
    assert_int_equal(prov_build(&b, dir, &e), 0);
    git_oid_tostr(want_sha, sizeof want_sha, &second);
    assert_string_equal(b.git_sha, want_sha);
    assert_string_equal(b.git_branch, "detached");
    assert_int_equal(b.git_dirty, 0);
    prov_build_release(&b);
    git_repository_free(repo);
}

static void test_diff_capped(void **state)
{
    fixture *f = *state;
    char dir[400];
    git_oid head;
    git_repository *repo = make_repo(f, dir, sizeof dir, &head);
    /* 1.5 MiB of text in an untracked file. */
    char path[512];
    snprintf(path, sizeof path, "%s/big.txt", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 24 * 1024; i++)
        fprintf(fp, "%063d\n", i);
    fclose(fp);
    prov_build_info b;
    err_info e = {0};
    assert_int_equal(prov_build(&b, dir, &e), 0);
    assert_int_equal(b.git_dirty, 1);
    assert_true(b.git_diff_bytes > PROV_DIFF_MAX);
    assert_true(strlen(b.git_diff) <= PROV_DIFF_MAX + 128);
    assert_non_null(strstr(b.git_diff + PROV_DIFF_MAX, "[bench: diff truncated"));
    prov_build_release(&b);
    git_repository_free(repo);
}

static void test_outside_repo(void **state)
{
    fixture *f = *state;
    prov_build_info b;
    err_info e = {0};
    assert_int_equal(prov_build(&b, f->dir, &e), 0);
    assert_string_equal(b.git_sha, "none");
    assert_string_equal(b.git_branch, "none");
    assert_int_equal(b.git_dirty, 0);
    assert_null(b.git_diff);
    assert_non_null(strstr(b.git_note, f->dir));
    /* The build half is still there. */
    assert_true(strlen(b.compiler) > 0);
    assert_true(is_hex(b.binary_sha256, 64));
    char id[1024];
    assert_int_equal(prov_build_identity(id, sizeof id, &b), 0);
    assert_non_null(strstr(id, "git_sha=none\n"));
    prov_build_release(&b);
}

static void test_identity(void **state)
{
    (void)state;
    prov_build_info b = {0};
    snprintf(b.git_sha, sizeof b.git_sha, "%s", "0123456789abcdef0123456789abcdef01234567");
    snprintf(b.git_diff_sha256, sizeof b.git_diff_sha256, "%s", "ab");
    snprintf(b.compiler, sizeof b.compiler, "GNU");
    snprintf(b.compiler_version, sizeof b.compiler_version, "12.2.0");
    snprintf(b.cflags, sizeof b.cflags, "-O3");
    snprintf(b.build_type, sizeof b.build_type, "Release");
    snprintf(b.blas, sizeof b.blas, "skx");
    snprintf(b.binary_sha256, sizeof b.binary_sha256, "11");
    char one[512], two[512];
    assert_int_equal(prov_build_identity(one, sizeof one, &b), 0);
    assert_string_equal(one, "git_sha=0123456789abcdef0123456789abcdef01234567\n"
                             "git_diff_sha256=ab\ncompiler=GNU 12.2.0\ncflags=-O3\n"
                             "build_type=Release\nblas=skx\n");
    /* The binary's hash is not part of the identity; the flags are. */
    snprintf(b.binary_sha256, sizeof b.binary_sha256, "22");
    assert_int_equal(prov_build_identity(two, sizeof two, &b), 0);
    assert_string_equal(one, two);
    snprintf(b.cflags, sizeof b.cflags, "-O2");
    assert_int_equal(prov_build_identity(two, sizeof two, &b), 0);
    assert_string_not_equal(one, two);
    char small[16];
    assert_int_equal(prov_build_identity(small, sizeof small, &b), ERR_INVALID);
}

static void test_host(void **state)
{
    (void)state;
    prov_host_info h;
    err_info e = {0};
    assert_int_equal(prov_host(&h, &e), 0);
    assert_true(strlen(h.hostname) > 0);
    assert_true(strlen(h.cpu_model) > 0);
    /* on x86 the family and model follow the name, as /proc/cpuinfo gives them */
    char line[512], family[64] = "", model[64] = "";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f) && !(family[0] && model[0])) {
        if (!family[0])
            sscanf(line, "cpu family : %63s", family);
        if (!model[0])
            sscanf(line, "model : %63s", model);
    }
    if (f)
        fclose(f);
    if (family[0] && model[0]) {
        char want[160];
        snprintf(want, sizeof want, " (family %s, model %s)", family, model);
        const size_t n = strlen(h.cpu_model), w = strlen(want);
        assert_true(n > w);
        assert_string_equal(h.cpu_model + n - w, want);
    } else {
        assert_null(strstr(h.cpu_model, "(family"));
    }
    assert_true(strlen(h.cpu_flags) > 0);
    assert_true(h.cores >= 1);
    assert_true(h.ram_bytes > 0);
    assert_true(strlen(h.os) > 0);
    assert_non_null(strstr(h.kernel, "Linux"));
    assert_null(strchr(h.os, '"'));
    assert_null(strchr(h.cpu_flags, '\n'));
}

typedef struct seen {
    char sha[48], host[256];
} seen;

static int see(void *ctx, const store_provenance *p)
{
    seen *w = ctx;
    snprintf(w->sha, sizeof w->sha, "%s", p->build ? p->build->git_sha : "");
    snprintf(w->host, sizeof w->host, "%s", p->host ? p->host->hostname : "");
    return 0;
}

/* What the runner does with these: store them and read them back for `bench show`. */
static void test_into_store(void **state)
{
    fixture *f = *state;
    char db[400];
    snprintf(db, sizeof db, "%s/bench.db", f->dir);
    prov_build_info b;
    prov_host_info h;
    err_info e = {0};
    assert_int_equal(prov_build(&b, TEST_DATA_DIR, &e), 0);
    assert_int_equal(prov_host(&h, &e), 0);
    store *s = NULL;
    assert_int_equal(store_open(&s, db, &e), 0);
    int64_t bid = 0, hid = 0, bid2 = 0, hid2 = 0;
    assert_int_equal(prov_store(s, &bid, &hid, &b, &h, &e), 0);
    assert_int_equal(prov_store(s, &bid2, &hid2, &b, &h, &e), 0);
    assert_int_equal(bid, bid2);
    assert_int_equal(hid, hid2);
    store_run r = {.run_key = "k1", .build_id = bid, .host_id = hid, .config_json = "{}"};
    assert_int_equal(store_run_queue(s, NULL, &r, false, &e), 0);
    seen w = {0};
    assert_int_equal(store_run_provenance(s, "k1", see, &w, &e), 0);
    assert_string_equal(w.sha, b.git_sha);
    assert_string_equal(w.host, h.hostname);
    store_close(s);
    prov_build_release(&b);
}

/* The binary must come from the commit the tree is at; unknown either side is accepted. */
static void test_built_from(void **state)
{
    (void)state;
    prov_build_info b;
    memset(&b, 0, sizeof b);
    const char *a = "0123456789abcdef0123456789abcdef01234567";
    const char *c = "fedcba9876543210fedcba9876543210fedcba98";
    err_info e = {0};
    snprintf(b.git_sha, sizeof b.git_sha, "%s", a);
    assert_int_equal(prov_check_built_from(&b, a, &e), 0);
    assert_int_equal(prov_check_built_from(&b, "unknown", &e), 0);
    assert_int_equal(prov_check_built_from(&b, NULL, &e), 0);
    assert_int_equal(prov_check_built_from(&b, c, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "built from commit fedcba987654"));
    assert_non_null(strstr(e.msg, "source tree is at 0123456789ab"));
    snprintf(b.git_sha, sizeof b.git_sha, "none");
    assert_int_equal(prov_check_built_from(&b, c, &e), 0);
}

/* What a recording command does first: the build (refused when built from another commit)
 * and the host. */
static void test_collect(void **state)
{
    (void)state;
    prov_build_info b;
    prov_host_info h;
    err_info e = {0};
    assert_int_equal(prov_collect(&b, &h, "unknown", &e), 0);
    assert_true(h.hostname[0] != '\0');
    char other[48];
    snprintf(other, sizeof other, "%s", b.git_sha);
    prov_build_release(&b);
    if (strcmp(other, "none") == 0)
        return; /* a source tarball: nothing to refuse */
    other[0] = other[0] == 'a' ? 'b' : 'a';
    assert_int_equal(prov_collect(&b, &h, other, &e), ERR_INVALID);
    assert_non_null(strstr(e.msg, "rebuild it"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_this_repo),
        cmocka_unit_test_setup_teardown(test_scratch_repo_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outside_repo, setup, teardown),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_built_from),
        cmocka_unit_test(test_collect),
        cmocka_unit_test(test_host),
        cmocka_unit_test_setup_teardown(test_into_store, setup, teardown),
    };
    return cmocka_run_group_tests_name("prov", tests, NULL, NULL);
}
