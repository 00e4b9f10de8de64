#include "models.h"

#include <string.h>

#define CONV(f, k, s, p) {.kind = LAYER_CONV, .filters = (f), .size = (k), .stride = (s), .pad = (p)}
#define MAXPOOL(k) {.kind = LAYER_MAXPOOL, .size = (k), .stride = (k)}
#define AVGPOOL(k) {.kind = LAYER_AVGPOOL, .size = (k), .stride = (k)}
#define AFFINE(n) {.kind = LAYER_AFFINE, .units = (n)}
#define CLASSES {.kind = LAYER_AFFINE, .units = 0} /* resized to the data set's classes */
#define BN {.kind = LAYER_BN}
#define RELU {.kind = LAYER_RELU}
#define TANH {.kind = LAYER_TANH}

/* Lee & Rhee 2024: conv 30@5x5 -> ReLU -> max-pool 2 -> affine 100 -> BN -> ReLU -> affine 10. */
static const layer_spec paper_layers[] = {
    CONV(30, 5, 1, 0), RELU, MAXPOOL(2), AFFINE(100), BN, RELU, CLASSES,
};

/* LeNet-5 (LeCun et al. 1998) with the modern substitutes: the 32x32 input is the 28x28 image
 * zero-padded by 2 (conv pad 2), average pooling for trainable subsampling, full C3
 * connections, a softmax output instead of RBF units; tanh activations. */
static const layer_spec lenet5_layers[] = {
    CONV(6, 5, 1, 2), TANH, AVGPOOL(2), CONV(16, 5, 1, 0), TANH, AVGPOOL(2),
    CONV(120, 5, 1, 0), TANH, AFFINE(84), TANH, CLASSES,
};

/* Ji, Chun & Kim 2018: conv-BN-maxpool-conv-BN-maxpool-fc625-BN-fc10. The paper gives the
 * layer sequence, not every size; we use 3x3 "same" convolutions of 32 and 64 filters and
 * ReLU after each BN, the common TensorFlow tutorial network that sequence describes. */
static const layer_spec ji2018_layers[] = {
    CONV(32, 3, 1, 1), BN, RELU, MAXPOOL(2), CONV(64, 3, 1, 1), BN, RELU, MAXPOOL(2),
    AFFINE(625), BN, RELU, CLASSES,
};

#define PRESET(n, d, l) {n, d, l, (int)(sizeof l / sizeof l[0])}
static const model_preset presets[] = {
    PRESET("paper", "Lee & Rhee 2024: conv30@5x5, max-pool, affine 100, BN, ReLU, affine 10",
           paper_layers),
    PRESET("lenet5", "LeNet-5 (LeCun 1998) with average pooling, full C3 and softmax output",
           lenet5_layers),
    PRESET("ji2018", "Ji, Chun & Kim 2018: conv-BN-pool x2, fc625-BN, fc10", ji2018_layers),
};
#define N_PRESETS ((int)(sizeof presets / sizeof presets[0]))

int models_find(const model_preset **out, const char *name, err_info *e)
{
    for (int i = 0; i < N_PRESETS; i++) {
        if (strcmp(presets[i].name, name) == 0) {
            *out = &presets[i];
            return 0;
        }
    }
    *out = NULL;
    return err_set(e, ERR_INVALID, "unknown model '%s' (valid: paper, lenet5, ji2018)", name);
}

int models_count(void) { return N_PRESETS; }

const model_preset *models_at(int i) { return i >= 0 && i < N_PRESETS ? &presets[i] : NULL; }

int models_layers(layer_spec *out, int cap, const model_preset *p, int classes, bool bn)
{
    int n = 0;
    for (int i = 0; i < p->n_layers && n < cap; i++) {
        if (!bn && p->layers[i].kind == LAYER_BN)
            continue;
        out[n] = p->layers[i];
        if (out[n].kind == LAYER_AFFINE && out[n].units == 0)
            out[n].units = classes;
        n++;
    }
    return n;
}
