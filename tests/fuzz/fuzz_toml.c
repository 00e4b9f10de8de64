/* fuzz_toml: libFuzzer target for the TOML parser (harness/toml.c).
 *
 * Contract under test: toml_parse accepts any byte string and either returns a tree or fails
 * with ERR_FORMAT/ERR_NOMEM and a one-line "FILE:LINE:COL: message"; it never reads outside
 * text[0..len), never leaks, never overflows the stack (nesting is capped at TOML_MAX_DEPTH).
 * On success the whole tree is walked through every accessor, so that a malformed node that
 * parsing let through shows up as an ASan/UBSan report or a failed assert here. */
/* The asserts are the oracle: keep them in optimised builds too. */
#undef NDEBUG
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "toml.h"

/* Visit v and its children (depth-first), touching every accessor of its type. */
static void fuzz_toml_walk(const toml_value *v, int depth)
{
    assert(depth <= TOML_MAX_DEPTH + 1);
    assert(toml_line(v) >= 1 && toml_column(v) >= 1);
    switch (toml_type_of(v)) {
    case TOML_TABLE:
        for (size_t i = 0; i < toml_len(v); i++) {
            const char *k = toml_key_at(v, i);
            assert(k && strlen(k) <= toml_key_len(v, i));
            assert(toml_key_line(v, i) >= 1 && toml_key_column(v, i) >= 1);
            /* a key without an embedded NUL must be found again by name */
            if (strlen(k) == toml_key_len(v, i))
                assert(toml_find(v, k) == (long)i && toml_get(v, k) == toml_value_at(v, i));
            fuzz_toml_walk(toml_value_at(v, i), depth + 1);
        }
        break;
    case TOML_ARRAY:
        for (size_t i = 0; i < toml_len(v); i++)
            fuzz_toml_walk(toml_value_at(v, i), depth + 1);
        break;
    case TOML_STRING:
        assert(strlen(toml_string(v)) <= toml_string_len(v));
        break;
    case TOML_INTEGER:
        (void)toml_integer(v);
        break;
    case TOML_FLOAT:
        (void)toml_float(v);
        break;
    case TOML_BOOL:
        (void)toml_bool(v);
        break;
    case TOML_DATETIME:
    case TOML_DATETIME_LOCAL:
    case TOML_DATE_LOCAL:
    case TOML_TIME_LOCAL: {
        toml_datetime d = toml_datetime_of(v);
        assert(d.month >= 0 && d.month <= 12 && d.second >= 0 && d.second <= 60);
        assert(strlen(toml_datetime_text(v)) > 0);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    toml_value *root = NULL;
    err_info e = {0};
    int rc = toml_parse(&root, (const char *)data, size, "fuzz.toml", &e);
    if (rc == 0) {
        assert(root && toml_type_of(root) == TOML_TABLE);
        fuzz_toml_walk(root, 0);
        toml_free(root);
    } else {
        assert(root == NULL);
        assert(rc == ERR_FORMAT || rc == ERR_NOMEM);
        /* one line: the message is non-empty and holds no newline */
        assert(e.msg[0] != '\0' && strchr(e.msg, '\n') == NULL);
    }
    return 0;
}
