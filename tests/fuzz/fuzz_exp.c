/* fuzz_exp: libFuzzer target for experiment files (harness/exp.c over harness/toml.c).
 *
 * Contract under test: exp_parse turns any byte string into either a validated experiment with
 * 1..EXP_MAX_RUNS fully resolved runs, or a one-line error naming the file; no crash, no leak,
 * no unbounded allocation. Accepted experiments are pushed through the functions the runner
 * calls on every run (canonical JSON, run key, summary), so that a value the validator let
 * through but the rest cannot handle is found here. */
/* The asserts are the oracle: keep them in optimised builds too. */
#undef NDEBUG
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    experiment x;
    err_info e = {0};
    if (exp_parse(&x, (const char *)data, size, "fuzz.toml", &e) != 0) {
        assert(e.msg[0] != '\0' && strchr(e.msg, '\n') == NULL);
        assert(strstr(e.msg, "fuzz.toml") != NULL);
        return 0;
    }
    assert(x.n_runs >= 1 && x.n_runs <= EXP_MAX_RUNS);
    /* the runner's per-run work, on a bounded number of runs so one input stays fast */
    for (int i = 0; i < x.n_runs && i < 64; i++) {
        const run_spec *r = &x.runs[i];
        assert(r->index == i && r->epochs >= 1 && r->train.batch >= 1);
        char *json = exp_run_json(r);
        assert(json != NULL);
        free(json);
        char key[65];
        err_info ke = {0};
        int rc = exp_run_key(key, r, "0000", "fuzz-build", &ke);
        assert(rc == 0 && strlen(key) == 64);
        char summary[EXP_TEXT_MAX];
        exp_run_summary(summary, sizeof summary, r);
    }
    exp_release(&x);
    return 0;
}
