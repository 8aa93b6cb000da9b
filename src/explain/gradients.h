/* Gradient attributions for networks (ONNX, Keras): saliency, input x gradient, SmoothGrad,
 * Integrated Gradients and GradientSHAP, with captum's semantics. */
#ifndef GBX_GRADIENTS_H
#define GBX_GRADIENTS_H

#include "../models/model.h"

typedef enum {
    GBX_GRADIENT_SALIENCY,          /* |d f / d x| (captum Saliency, abs=True) */
    GBX_GRADIENT_INPUT_X_GRADIENT,  /* x * d f / d x */
    GBX_GRADIENT_SMOOTHGRAD,        /* saliency averaged over noisy copies of x */
    GBX_GRADIENT_INTEGRATED,        /* (x - b) * integral of the gradient from b to x */
    GBX_GRADIENT_SHAP,              /* expected gradients over baselines and noise */
    GBX_GRADIENT_DEEP,              /* DeepLIFT rescale multipliers averaged over baselines */
    GBX_GRADIENT_GRAD_CAM           /* a layer's channels weighed by their mean gradient */
} gbx_gradient_kind;

typedef struct {
    gbx_gradient_kind kind;
    size_t steps;                /* integrated: integration points (default 50) */
    gbx_integration integration; /* integrated: the rule */
    size_t samples;              /* smoothgrad, gradient shap: draws per row (default 5) */
    double stdevs;               /* smoothgrad (default 1), gradient shap (default 0): noise */
    uint64_t seed;
    long output;                 /* GBX_OUTPUT_ALL, GBX_OUTPUT_PREDICTED or an output's index */
    const char *layer;           /* grad cam: the tensor whose channels are weighed;
                                  * integrated, deep: attribute to this tensor, not the input */
    int tensorflow_softmax;      /* deep: shap-TensorFlow's softmax rule, not the rescale rule */
} gbx_gradient_options;

typedef struct gbx_gradients gbx_gradients;

/* baselines: integrated gradients reads one row (NULL: zeros); gradient shap draws from all
 * rows and deep uses all (by weight when the set is weighted); the others take none. */
gbx_status gbx_gradients_prepare(const gbx_model *model, const gbx_data *baselines,
                                 const gbx_gradient_options *options, gbx_gradients **out,
                                 gbx_error *error);
/* Per output: f(baseline) for integrated gradients, E[f(baselines)] for gradient shap and
 * deep, 0 for the rest (their values do not add up to the output). */
void gbx_gradients_base_values(const gbx_gradients *gradients, double *out);
/* Outputs in each explained row: all of the model's, or 1 when one is selected. */
size_t gbx_gradients_outputs(const gbx_gradients *gradients);
/* Attributions per output and row (F): the model's inputs, or with a layer its elements, or
 * one per looked-up token where the layer is an embedding lookup (its rows summed). */
size_t gbx_gradients_features(const gbx_gradients *gradients);
/* Whether attributions at a layer are one per input column (an embedding lookup's tokens). */
int gbx_gradients_per_column(const gbx_gradients *gradients);
/* values [n][K][F], predictions and base_values [n][K] (K from gbx_gradients_outputs;
 * base_values already hold the explainer's and are rewritten per row when one output is
 * selected), deltas [n][K] (sum of values minus (f(x) - base), or NULL for methods that are
 * not additive), classes [n] (the output each row explains, or NULL). */
gbx_status gbx_gradients_explain(const gbx_gradients *gradients, const double *rows, size_t n,
                                 double *values, double *predictions, double *base_values,
                                 double *deltas, double *classes, int threads, gbx_error *error);
int gbx_gradients_additive(const gbx_gradients *gradients);
void gbx_gradients_free(gbx_gradients *gradients);

#endif
