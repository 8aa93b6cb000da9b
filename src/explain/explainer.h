/* Internal layout of explainers and explanations, shared by the explain and io modules. */
#ifndef GBX_EXPLAINER_H
#define GBX_EXPLAINER_H

#include "../models/model.h"
#include "../io/explanation.h"
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
    gbx_explanation *header;         /* names and provenance, no rows (provenance.c) */
};

/* Made when the explainer is created (provenance.c): the header every explanation copies. */
gbx_status gbx_explainer_make_header(gbx_explainer *explainer, gbx_error *error);
/* A new explanation of data, with the explainer's names and provenance, the data's rows and
 * room for the required arrays. */
gbx_status gbx_explainer_new_explanation(const gbx_explainer *explainer, const gbx_data *data,
                                         gbx_explanation **out, gbx_error *error);

#endif
