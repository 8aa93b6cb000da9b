/* Shared by the model fuzz targets: whatever loads must also predict and explain without
 * crashing, since a loader that accepts a broken tree would pass the fault on to them. */
#ifndef GBX_FUZZ_MODEL_H
#define GBX_FUZZ_MODEL_H

#include "models/model.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* NUL-terminated copy, as gbx_read_file hands the loaders. */
static char *fuzz_copy(const uint8_t *data, size_t size)
{
    char *bytes = malloc(size + 1);
    if (bytes) {
        memcpy(bytes, data, size);
        bytes[size] = '\0';
    }
    return bytes;
}

static void fuzz_explain(const gbx_model *model, const gbx_data *rows, gbx_method method,
                         gbx_output_space space, int interactions)
{
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.max_evals = 40;
    options.method = method;
    options.threads = 1;
    options.interactions = interactions;
    options.background = rows;
    options.output_space = space;
    gbx_explainer *explainer = NULL;
    gbx_explanation *explanation = NULL;
    gbx_error error;
    if (gbx_explainer_create(model, &options, &explainer, &error) == GBX_OK &&
        gbx_explainer_explain(explainer, rows, &explanation, &error) == GBX_OK)
        gbx_explanation_free(explanation);
    gbx_explainer_free(explainer);
}

/* Rows of zeros, missing values and a ramp, through predict and every tree method. */
static void fuzz_exercise(const gbx_model *model)
{
    size_t M = gbx_model_features(model), K = gbx_model_outputs(model);
    if (M == 0 || M > 2048 || K == 0 || K > 64) return;
    double *x = malloc(3 * M * sizeof(double));
    double predictions[3 * 64];
    gbx_data *rows = NULL;
    gbx_error error;
    if (!x) return;
    for (size_t f = 0; f < M; f++) {
        x[f] = 0.0;
        x[M + f] = NAN;
        x[2 * M + f] = (double)f - 1.5;
    }
    if (gbx_data_create(3, M, x, NULL, &rows, &error) == GBX_OK) {
        /* The compact trees must give the node walk's margins exactly. */
        if (model->trees && model->trees->compact &&
            gbx_model_predict(model, rows, 1, predictions, &error) == GBX_OK)
            for (size_t r = 0; r < 3; r++) {
                double walk[64];
                gbx_tree_ensemble_margin(model, x + r * M, walk);
                if (memcmp(walk, predictions + r * K, K * sizeof(double)) != 0) abort();
            }
        gbx_model_predict(model, rows, 1, predictions, &error);
        gbx_model_predict(model, rows, 0, predictions, &error);
        fuzz_explain(model, rows, GBX_METHOD_TREE, GBX_SPACE_RAW, M <= 64);
        fuzz_explain(model, rows, GBX_METHOD_TREE_INTERVENTIONAL, GBX_SPACE_RAW, 0);
        fuzz_explain(model, rows, GBX_METHOD_TREE_INTERVENTIONAL, GBX_SPACE_PROBABILITY, 0);
        if (M <= 8) {
            fuzz_explain(model, rows, GBX_METHOD_EXACT, GBX_SPACE_RAW, 0);
            fuzz_explain(model, rows, GBX_METHOD_KERNEL, GBX_SPACE_RAW, 0);
            fuzz_explain(model, rows, GBX_METHOD_PERMUTATION, GBX_SPACE_RAW, 0);
        }
        fuzz_explain(model, rows, GBX_METHOD_LINEAR, GBX_SPACE_RAW, 0);
        if (model->network) {
            /* Gradients through whatever graph loaded (gradient shap draws from the rows). */
            fuzz_explain(model, rows, GBX_METHOD_SALIENCY, GBX_SPACE_RAW, 0);
            fuzz_explain(model, rows, GBX_METHOD_GRADIENT_SHAP, GBX_SPACE_RAW, 0);
        }
    }
    gbx_data_free(rows);
    free(x);
}

/* Loads with one loader, exercises what loaded. */
static inline void fuzz_load(const uint8_t *data, size_t size, const char *type,
                      gbx_status (*load)(const char *, const char *, size_t, gbx_model *,
                                         gbx_error *))
{
    char *bytes = fuzz_copy(data, size);
    gbx_model *model = gbx_model_alloc(type);
    gbx_error error;
    if (bytes && model && load("fuzz", bytes, size, model, &error) == GBX_OK) {
        if (model->trees) gbx_tree_ensemble_compile(model->trees); /* as gbx_model_load does */
        fuzz_exercise(model);
    }
    gbx_model_free(model);
    free(bytes);
}

#endif
