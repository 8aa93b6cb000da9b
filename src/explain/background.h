/* The background set as the model-agnostic methods (exact, permutation, kernel) keep it: a
 * copy of its rows and the mean model output over them, E[f], their base value. */
#ifndef GBX_BACKGROUND_H
#define GBX_BACKGROUND_H

#include "../models/model.h"
#include "tree_coalitions.h"

typedef struct {
    double *rows;   /* [count][features] */
    size_t count;
    double *weight; /* [count] summing to 1 for a weighted summary (k-means), else NULL */
    double *mean;   /* [outputs]: mean raw output, or mean prediction when asked */
    double *outputs; /* [count][outputs]: each row's raw output, or prediction when asked */
    const gbx_model *model;
    const int32_t *player; /* [features]: the caller's players, kept while this lives */
    size_t players;
    int own_players;       /* each column is its own player (player[f] = f) */
    int predictions;
    gbx_tree_coalitions *trees; /* tree models in raw space: coalition values from tables */
} gbx_background;

/* predictions: average the model's predictions (transformed outputs) instead of raw outputs.
 * player maps the columns to the P players coalitions are made of. */
gbx_status gbx_background_init(gbx_background *background, const gbx_model *model,
                               const gbx_data *data, const int32_t *player, size_t players,
                               int predictions, gbx_error *error);
/* v(S) for `count` coalitions of row x, given as masks [count][players] (1: the player's
 * columns come from x), into v [count][outputs]: the background average of the model on the
 * hybrid rows, evaluated in one batch (hybrids and outputs are scratch of count x background
 * rows), or for a tree model read from its coalition tables without any hybrid row. */
gbx_status gbx_background_values(const gbx_background *background, const double *x,
                                 const uint8_t *masks, size_t count, double *hybrids,
                                 double *outputs, double *v, gbx_error *error);
/* v for `count` coalitions of row x against single background rows: coalition c against row
 * reference[c], v = the model's output on that one hybrid (hybrids: count rows, outputs:
 * count x outputs). The sampling methods' cheaper estimator draws reference rows at random. */
gbx_status gbx_background_values_at(const gbx_background *background, const size_t *reference,
                                    const double *x, const uint8_t *masks, size_t count,
                                    double *hybrids, double *v, gbx_error *error);
/* The model's outputs for `count` coalitions of row x (masks [count][players]), coalition c
 * against rows[c] background rows, the next ones of reference: one hybrid per coalition and
 * row (hybrids: as many rows), outputs [those rows][outputs], transformed when asked. */
gbx_status gbx_background_values_drawn(const gbx_background *background, const double *x,
                                       const uint8_t *masks, const size_t *rows, size_t count,
                                       const size_t *reference, double *hybrids,
                                       double *outputs, gbx_error *error);
/* A background row drawn by weight, from u uniform in [0, 1). */
size_t gbx_background_draw(const gbx_background *background, double u);
/* Whether gbx_background_values needs the hybrid scratch at all. */
int gbx_background_needs_hybrids(const gbx_background *background);
void gbx_background_release(gbx_background *background);
/* The background's expectation of one number per background row (values[b * stride]): the
 * weighted sum for a weighted background, the plain mean otherwise. */
double gbx_background_average(const gbx_background *background, const double *values,
                              size_t stride);

#endif
