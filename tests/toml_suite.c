/* toml_suite: runs the vendored toml-test cases (tests/toml-test) against toml_decoder.
 *
 * Usage: toml_suite DECODER SUITE_DIR [-v]
 * For every case listed in SUITE_DIR/files-toml-1.0.0:
 * - valid/X.toml: the decoder must exit 0 and print JSON equal to valid/X.json, compared
 *   semantically: objects regardless of key order, arrays in order, strings byte for byte,
 *   integers and floats by value (nan equals nan, -0.0 differs from 0.0), date/times by their
 *   canonical text (both sides go through toml_datetime_text, so 17:45:56.6Z equals
 *   17:45:56.600Z);
 * - invalid/X.toml: the decoder must exit with status 1 (a crash is a failure).
 * Prints each failure, then "N passed, N failed, N skipped"; exits 1 if anything failed.
 * Cases in the skip list below are not run; each entry states why. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <jansson.h>

#include "toml.h"

/* Cases not run, with the reason. Empty: the parser passes every TOML 1.0.0 case. */
static const struct {
    const char *path;
    const char *reason;
} skip_list[] = {
    {NULL, NULL},
};

static const char *skip_reason(const char *path)
{
    for (size_t i = 0; skip_list[i].path; i++)
        if (strcmp(skip_list[i].path, path) == 0)
            return skip_list[i].reason;
    return NULL;
}

/* Read all of fd into a NUL-terminated buffer (*len bytes); NULL on failure. */
static char *read_fd(int fd, size_t *len)
{
    size_t n = 0, cap = 4096;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
        }
        ssize_t got = read(fd, buf + n, cap - n - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    if (buf)
        buf[n] = '\0';
    *len = n;
    return buf;
}

/* Run decoder with input on stdin. Fills *out with its stdout, *err with its stderr and
 * *status with the wait status. Returns 0, or -1 if it could not be run. */
static int run_decoder(const char *decoder, const char *input, char **out, char **err,
                       int *status)
{
    int pout[2], perr[2];
    if (pipe(pout) < 0)
        return -1;
    if (pipe(perr) < 0) {
        close(pout[0]);
        close(pout[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int in = open(input, O_RDONLY);
        if (in < 0)
            _exit(127);
        dup2(in, 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        close(pout[0]);
        close(perr[0]);
        execl(decoder, decoder, input, (char *)NULL);
        _exit(127);
    }
    close(pout[1]);
    close(perr[1]);
    size_t n;
    /* The message on stderr is one line, far below a pipe's capacity, so reading stdout to
     * the end first cannot deadlock. */
    *out = read_fd(pout[0], &n);
    *err = read_fd(perr[0], &n);
    close(pout[0]);
    close(perr[0]);
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

/* jansson cannot load "\u0000" in object keys (and in strings only with a flag), but TOML
 * keys and strings may hold NUL. Both JSON texts therefore get every \u0000 escape replaced
 * by the escape of U+10FFFD before loading. The mapping is injective, hence keeps equality
 * exact, as long as U+10FFFD does not occur already; NULL when it does (or out of memory). */
static char *replace_nul_escapes(const char *in, size_t len)
{
    static const char target[] = "\\uDBFF\\uDFFD";
    if (memmem(in, len, "\xF4\x8F\xBF\xBD", 4))
        return NULL;
    for (size_t i = 0; i + 12 <= len; i++)
        if (strncasecmp(in + i, target, 12) == 0)
            return NULL;
    char *out = malloc(2 * len + 1), *o = out;
    if (!out)
        return NULL;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (in_string && c == '\\' && i + 1 < len) {
            if (len - i >= 6 && memcmp(in + i, "\\u0000", 6) == 0) {
                memcpy(o, target, 12);
                o += 12;
                i += 5;
            } else {
                *o++ = c;
                *o++ = in[++i];
            }
            continue;
        }
        if (c == '"')
            in_string = !in_string;
        *o++ = c;
    }
    *o = '\0';
    return out;
}

/* Load JSON text through replace_nul_escapes; NULL with a reason in je->text on failure. */
static json_t *load_json(const char *text, size_t len, json_error_t *je)
{
    char *t = replace_nul_escapes(text, len);
    if (!t) {
        snprintf(je->text, sizeof je->text, "U+10FFFD in JSON text: cannot map NUL escapes");
        return NULL;
    }
    json_t *j = json_loads(t, 0, je);
    free(t);
    return j;
}

/* Canonical text of a date/time written in RFC 3339 (as TOML accepts it), via the parser
 * itself; the input unchanged if it does not parse. Caller frees. */
static char *canonical_datetime(const char *text)
{
    size_t len = strlen(text);
    char *doc = malloc(len + 5);
    char *res = NULL;
    if (!doc)
        return NULL;
    snprintf(doc, len + 5, "v = %s", text);
    toml_value *root = NULL;
    if (toml_parse(&root, doc, len + 4, "expected", NULL) == 0) {
        toml_value *v = toml_get(root, "v");
        toml_type t = toml_type_of(v);
        if (t == TOML_DATETIME || t == TOML_DATETIME_LOCAL || t == TOML_DATE_LOCAL ||
            t == TOML_TIME_LOCAL)
            res = strdup(toml_datetime_text(v));
    }
    toml_free(root);
    free(doc);
    return res ? res : strdup(text);
}

/* A tagged scalar is an object of exactly "type" and "value", both strings. */
static bool is_scalar(const json_t *j)
{
    return json_is_object(j) && json_object_size(j) == 2 &&
           json_is_string(json_object_get(j, "type")) &&
           json_is_string(json_object_get(j, "value"));
}

static bool scalar_equal(const json_t *got, const json_t *want, char *why, size_t cap,
                         const char *path)
{
    const char *gt = json_string_value(json_object_get(got, "type"));
    const char *wt = json_string_value(json_object_get(want, "type"));
    const json_t *gvj = json_object_get(got, "value"), *wvj = json_object_get(want, "value");
    const char *gv = json_string_value(gvj), *wv = json_string_value(wvj);
    bool eq;
    if (strcmp(gt, wt) != 0) {
        snprintf(why, cap, "%s: type %s, expected %s", path, gt, wt);
        return false;
    }
    if (strcmp(wt, "float") == 0) {
        double g = strtod(gv, NULL), w = strtod(wv, NULL);
        eq = (isnan(g) && isnan(w)) || (g == w && signbit(g) == signbit(w));
    } else if (strcmp(wt, "integer") == 0) {
        eq = strtoimax(gv, NULL, 10) == strtoimax(wv, NULL, 10);
    } else if (strcmp(wt, "datetime") == 0 || strcmp(wt, "datetime-local") == 0 ||
               strcmp(wt, "date-local") == 0 || strcmp(wt, "time-local") == 0) {
        char *a = canonical_datetime(gv), *b = canonical_datetime(wv);
        eq = a && b && strcmp(a, b) == 0;
        free(a);
        free(b);
    } else {
        eq = json_string_length(gvj) == json_string_length(wvj) &&
             memcmp(gv, wv, json_string_length(wvj)) == 0;
    }
    if (!eq)
        snprintf(why, cap, "%s: %s value '%s', expected '%s'", path, wt, gv, wv);
    return eq;
}

/* Semantic equality of decoded and expected JSON; on difference *why names the path. */
static bool same_json(const json_t *got, const json_t *want, char *why, size_t cap,
                       const char *path)
{
    char sub[512];
    if (is_scalar(want)) {
        if (!is_scalar(got)) {
            snprintf(why, cap, "%s: expected a scalar", path);
            return false;
        }
        return scalar_equal(got, want, why, cap, path);
    }
    if (json_is_array(want)) {
        if (!json_is_array(got) || json_array_size(got) != json_array_size(want)) {
            snprintf(why, cap, "%s: expected an array of %zu items", path,
                     json_array_size(want));
            return false;
        }
        for (size_t i = 0; i < json_array_size(want); i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            if (!same_json(json_array_get(got, i), json_array_get(want, i), why, cap, sub))
                return false;
        }
        return true;
    }
    if (json_is_object(want)) {
        if (!json_is_object(got) || is_scalar(got) ||
            json_object_size(got) != json_object_size(want)) {
            snprintf(why, cap, "%s: expected a table of %zu keys", path,
                     json_object_size(want));
            return false;
        }
        const char *key;
        json_t *wv;
        json_object_foreach((json_t *)want, key, wv) {
            snprintf(sub, sizeof sub, "%s.%s", path, key);
            json_t *gv = json_object_get(got, key);
            if (!gv) {
                snprintf(why, cap, "%s: missing", sub);
                return false;
            }
            if (!same_json(gv, wv, why, cap, sub))
                return false;
        }
        return true;
    }
    snprintf(why, cap, "%s: unexpected JSON in the expected file", path);
    return false;
}

/* Run one case; returns true if it passed, with the reason in why otherwise. */
static bool run_case(const char *decoder, const char *dir, const char *rel, char *why,
                     size_t cap)
{
    char input[4096], expect[4096];
    if (snprintf(input, sizeof input, "%s/%s", dir, rel) >= (int)sizeof input) {
        snprintf(why, cap, "path too long");
        return false;
    }
    char *out = NULL, *err = NULL;
    int status = 0;
    bool ok = false, valid = strncmp(rel, "valid/", 6) == 0;
    json_t *got = NULL, *want = NULL;

    if (run_decoder(decoder, input, &out, &err, &status) < 0) {
        snprintf(why, cap, "cannot run '%s': %s", decoder, strerror(errno));
        goto done;
    }
    if (WIFSIGNALED(status)) {
        snprintf(why, cap, "decoder killed by signal %d", WTERMSIG(status));
        goto done;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (!valid) {
        ok = code == 1;
        if (!ok)
            snprintf(why, cap, "invalid document accepted (exit %d)", code);
        goto done;
    }
    if (code != 0) {
        snprintf(why, cap, "rejected: %s", err && *err ? strtok(err, "\n") : "(no message)");
        goto done;
    }
    size_t len = strlen(input);
    snprintf(expect, sizeof expect, "%.*s.json", (int)(len - 5), input);
    json_error_t je;
    FILE *ef = fopen(expect, "rb");
    size_t elen = 0;
    char *etext = NULL;
    if (ef) {
        etext = read_fd(fileno(ef), &elen);
        fclose(ef);
    }
    want = etext ? load_json(etext, elen, &je) : NULL;
    if (!etext)
        snprintf(je.text, sizeof je.text, "%s", strerror(errno));
    free(etext);
    if (!want) {
        snprintf(why, cap, "cannot load '%.512s': %.400s", expect, je.text);
        goto done;
    }
    got = load_json(out ? out : "", out ? strlen(out) : 0, &je);
    if (!got) {
        snprintf(why, cap, "decoder printed invalid JSON: %s", je.text);
        goto done;
    }
    ok = same_json(got, want, why, cap, "$");
done:
    json_decref(got);
    json_decref(want);
    free(out);
    free(err);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: toml_suite DECODER SUITE_DIR [-v]\n");
        return 2;
    }
    const char *decoder = argv[1], *dir = argv[2];
    bool verbose = argc > 3 && strcmp(argv[3], "-v") == 0;
    char list[4096], line[4096], why[1024];
    snprintf(list, sizeof list, "%s/files-toml-1.0.0", dir);
    FILE *f = fopen(list, "r");
    if (!f) {
        fprintf(stderr, "toml_suite: cannot open '%s': %s\n", list, strerror(errno));
        return 1;
    }
    int passed = 0, failed = 0, skipped = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        size_t len = strlen(line);
        if (len < 5 || strcmp(line + len - 5, ".toml") != 0)
            continue;
        const char *reason = skip_reason(line);
        if (reason) {
            skipped++;
            printf("SKIP %s: %s\n", line, reason);
            continue;
        }
        why[0] = '\0';
        if (run_case(decoder, dir, line, why, sizeof why)) {
            passed++;
            if (verbose)
                printf("PASS %s\n", line);
        } else {
            failed++;
            printf("FAIL %s: %s\n", line, why);
        }
    }
    fclose(f);
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed == 0 && passed > 0 ? 0 : 1;
}
