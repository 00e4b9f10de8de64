/* init: weight initialisation schemes; see init.h for the table of standard deviations. */
#include "init.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* Names indexed by init_kind (README.md "Conventions" rule 8). */
static const char *const init_names[INIT_KIND_COUNT] = {
    [INIT_NORMAL] = "normal",
    [INIT_HE] = "he",
    [INIT_XAVIER] = "xavier",
};

int init_kind_from_name(init_kind *out, const char *name, err_info *e)
{
    for (int k = 0; k < INIT_KIND_COUNT; k++) {
        if (name && strcmp(name, init_names[k]) == 0) {
            *out = (init_kind)k;
            return 0;
        }
    }
    return err_set(e, ERR_INVALID, "unknown weight init '%s' (valid: normal, he, xavier)",
                   name ? name : "(null)");
}

const char *init_kind_name(init_kind k)
{
    if ((int)k < 0 || (int)k >= INIT_KIND_COUNT)
        return "?";
    return init_names[k];
}

double init_std(init_kind kind, float std, int fan_in)
{
    switch (kind) {
    case INIT_NORMAL:
        return std;
    case INIT_HE:
        assert(fan_in >= 1);
        return sqrt(2.0 / fan_in);
    case INIT_XAVIER:
        assert(fan_in >= 1);
        return sqrt(1.0 / fan_in);
    }
    assert(!"unknown init_kind");
    return 0.0;
}

void init_fill(float *w, size_t n, init_kind kind, float std, int fan_in, rng *r)
{
    const double s = init_std(kind, std, fan_in);
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(s * rng_normal(r));
}
