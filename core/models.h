/* models: the named network presets of the paper and its comparison points, as data.
 *
 * A preset is a list of layer_spec. models_layers() copies it out for a data set with a given
 * number of classes (the last affine layer gets that many units) and can drop every batch-norm
 * layer, which is how experiments sweep "BN on/off" over one architecture. */
#ifndef BENCH_MODELS_H
#define BENCH_MODELS_H

#include <stdbool.h>

#include "err.h"
#include "net.h"

#define MODELS_MAX_LAYERS 64

typedef struct model_preset {
    const char *name;
    const char *description; /* one line: what it is and where it comes from */
    const layer_spec *layers;
    int n_layers;
} model_preset;

/* Find a preset by name; an unknown name is an error listing the valid ones. */
int models_find(const model_preset **out, const char *name, err_info *e);

/* Number of presets and the i-th one, for listings. */
int models_count(void);
const model_preset *models_at(int i);

/* Copy p's layers into out (capacity cap), the final affine layer sized to `classes`,
 * dropping batch-norm layers when bn is false. Returns the number of layers written. */
int models_layers(layer_spec *out, int cap, const model_preset *p, int classes, bool bn);

#endif
