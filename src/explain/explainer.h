/* Internal layout of explainers and explanations, shared by the explain and io modules. */
#ifndef GBX_EXPLAINER_H
#define GBX_EXPLAINER_H

#include "../models/model.h"
#include "tree_shap.h"
#include "tree_interventional.h"
#include "exact.h"
#include "permutation.h"
#include "linear_shap.h"
#include "kernel.h"
#include "lime.h"
#include "gradients.h"

struct gbx_explainer {
    const gbx_model *model;
    gbx_method method;
    gbx_explainer_options options;
    int threads;
    double *base_values;             /* per output */
    gbx_tree_shap *tree_shap;        /* GBX_METHOD_TREE */
    gbx_interventional *interventional; /* GBX_METHOD_TREE_INTERVENTIONAL */
    gbx_exact *exact;                /* GBX_METHOD_EXACT */
    gbx_permutation *permutation;    /* GBX_METHOD_PERMUTATION */
    gbx_linear_shap *linear;         /* GBX_METHOD_LINEAR */
    gbx_kernel *kernel;              /* GBX_METHOD_KERNEL */
    gbx_lime *lime;                  /* GBX_METHOD_LIME */
    gbx_gradients *gradients;        /* saliency ... gradient shap */
    size_t background_rows;
    int background_weighted;         /* a weighted summary (k-means, stratified sample) */
    char background_sha256[65];
    gbx_players players;             /* groups of columns, when options gave some */
    int32_t *player_of_column;       /* [features] */
    char **group_names;              /* [players.count], NULL without groups */
    char **layer_names;              /* [players.count]: attributions at a layer's elements */
};

struct gbx_explanation {
    size_t rows, outputs, features;
    double *values;       /* [rows][outputs][features] */
    double *base_values;  /* [rows][outputs] */
    double *predictions;  /* [rows][outputs] */
    double *interactions; /* [rows][outputs][features][features] or NULL */
    double *standard_errors; /* [rows][outputs][features], sampling methods only */
    double *local_predictions, *scores; /* [rows][outputs], LIME only */
    double *deltas;       /* [rows][outputs]: integrated gradients, gradient shap, deep */
    double *classes;      /* [rows]: the output each row explains (GBX_OUTPUT_PREDICTED) */
};

#endif
