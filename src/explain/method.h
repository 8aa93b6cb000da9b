/* Methods as table rows. A method is its file and one row: what it is called, what it needs,
 * its own option checks, and how it prepares, explains, records its parameters and frees.
 * explainer.c holds the table (one row per gbx_method) and everything the methods share. */
#ifndef GBX_METHOD_H
#define GBX_METHOD_H

#include "explainer.h"

#include <stdio.h>

/* What a method needs and takes. */
enum {
    METHOD_BACKGROUND = 1 << 0,         /* needs a background set */
    METHOD_BASELINE = 1 << 1,           /* takes one row as a baseline, optionally */
    METHOD_TREES = 1 << 2,              /* needs a tree ensemble */
    METHOD_NETWORK = 1 << 3,            /* works through a network's gradients: takes a layer
                                         * and an output choice, no feature groups */
    METHOD_MODEL_CALLS = 1 << 4,        /* calls the model once per background row and
                                         * coalition (shap warns of large backgrounds) */
    METHOD_SAMPLES_BACKGROUND = 1 << 5, /* may draw background rows per coalition */
};

typedef struct gbx_method_row {
    gbx_method method;
    const char *name;       /* the one spelling: the CLI's --method, the API, new files */
    const char *file_name;  /* how glassbox 0.1 files spelled it, or NULL when the same */
    unsigned needs;         /* METHOD_* */
    const char *background_role; /* what the background is to it, for messages */
    int variant;            /* passed to the shared functions of a family (the gradient kind) */
    /* Checks of the options beyond what the flags say; NULL when none. */
    gbx_status (*check)(const gbx_model *model, const gbx_explainer_options *options,
                        gbx_error *error);
    /* Prepares explainer->state and fills explainer->base_values. */
    gbx_status (*prepare)(gbx_explainer *explainer, const gbx_data *background, gbx_error *error);
    /* Fills the explanation's values and predictions (base values hold the explainer's) and
     * the method's own arrays. */
    gbx_status (*explain)(const gbx_explainer *explainer, const gbx_data *data,
                          gbx_explanation *explanation, gbx_error *error);
    /* Writes the parameters that shaped the numbers, the inside of a JSON object. */
    void (*parameters)(FILE *file, const gbx_explainer *explainer);
    void (*release)(void *state);
} gbx_method_row;

extern const gbx_method_row gbx_tree_method, gbx_interventional_method, gbx_exact_method,
    gbx_permutation_method, gbx_linear_method, gbx_kernel_method, gbx_lime_method,
    gbx_saliency_method, gbx_input_x_gradient_method, gbx_smoothgrad_method,
    gbx_integrated_gradients_method, gbx_gradient_shap_method, gbx_deep_method,
    gbx_grad_cam_method;

/* The row of a method (NULL for GBX_METHOD_AUTO). */
const gbx_method_row *gbx_method_row_of(gbx_method method);

/* The parameters every method with a tabular background records (rows, weighting,
 * fingerprint, output space), for the rows' parameters functions. */
void gbx_background_parameters(FILE *file, const gbx_explainer *explainer);

/* Rows handed to one thread at a time: large enough to amortise scheduling, small enough to
 * balance two cores on a short chunk. */
#define GBX_ROWS_PER_TASK 64

#endif
