/* Exact Shapley values of any model against a background set: every coalition S of the M
 * features is evaluated as v(S) = mean over background rows b of f(x_S, b_notS) (the
 * interventional value function, as shap's ExactExplainer with an Independent masker), and
 *     phi_i = sum_{S not containing i} |S|! (M - |S| - 1)! / M! (v(S + i) - v(S)).
 * That is 2^M x background-rows model evaluations per row, so M is limited to 24. The model is
 * only called through predict_raw, in batches; values are in its raw output space. With
 * players (groups of columns), the coalitions are subsets of players and M counts players. */
#ifndef GBX_EXACT_H
#define GBX_EXACT_H

#include "../models/model.h"
#include "players.h"

#define GBX_EXACT_MAX_FEATURES 24

typedef struct gbx_exact gbx_exact;

gbx_status gbx_exact_prepare(const gbx_model *model, const gbx_data *background,
                             const gbx_players *players, gbx_exact **out, gbx_error *error);
void gbx_exact_free(gbx_exact *exact);
/* E[f] over the background, per output. */
void gbx_exact_base_values(const gbx_exact *exact, double *out);
/* values: [count][outputs][players]; predictions: [count][outputs], raw. The result does not
 * depend on the thread count. */
gbx_status gbx_exact_explain(const gbx_exact *exact, const double *rows, size_t count,
                             double *values, double *predictions, int threads, gbx_error *error);

#endif
