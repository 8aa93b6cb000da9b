/* Internal layout of explainers, shared by explainer.c, the methods' rows and provenance.c. */
#ifndef GBX_EXPLAINER_H
#define GBX_EXPLAINER_H

#include "../models/model.h"
#include "../io/explanation.h"
#include "players.h"

struct gbx_method_row;

struct gbx_explainer {
    const gbx_model *model;          /* kept, not owned: it must outlive the explainer */
    const struct gbx_method_row *row; /* the method, resolved from auto */
    void *state;                     /* the method's own, freed by row->release */
    gbx_explainer_options options;   /* a copy; background NULL (not kept) */
    int threads;
    size_t outputs;                  /* per explained row: the model's, or one a network
                                      * method was asked for (set by prepare) */
    double *base_values;             /* per model output */
    size_t background_rows;
    int background_weighted;         /* a weighted summary (k-means, stratified sample) */
    char background_sha256[65];
    gbx_players players;             /* groups of columns, when options gave some */
    int32_t *player_of_column;       /* [features] */
    char **group_names;              /* [players.count], NULL without groups */
    char **layer_names;              /* [players.count]: attributions at a layer's elements */
    gbx_explanation *header;         /* names and provenance, no rows (provenance.c) */
};

/* The players the method explains: the groups, or NULL when every column is its own. */
static inline const gbx_players *gbx_explainer_players(const gbx_explainer *explainer)
{
    return explainer->group_names ? &explainer->players : NULL;
}

/* Made when the explainer is created (provenance.c): the header every explanation copies. */
gbx_status gbx_explainer_make_header(gbx_explainer *explainer, gbx_error *error);
/* A new explanation of data, with the explainer's names and provenance, the data's rows and
 * room for the required arrays. */
gbx_status gbx_explainer_new_explanation(const gbx_explainer *explainer, const gbx_data *data,
                                         gbx_explanation **out, gbx_error *error);
/* Names the explained features a layer's elements, LAYER[i] (the gradient methods' prepare,
 * when they attribute at a layer). */
gbx_status gbx_explainer_name_layer(gbx_explainer *explainer, size_t elements, gbx_error *error);

#endif
