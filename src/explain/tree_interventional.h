/* Interventional TreeSHAP: Shapley values of the game v(S) = E_b[f(x_S, b_notS)] over a
 * background set, as shap's TreeExplainer(feature_perturbation="interventional").
 *
 * For one leaf with distinct path features D, a background row b and the explained row x, let
 * o_j (s_j) say whether x (b) satisfies the path's splits on feature j. The leaf is reached by a
 * hybrid row only when every j has o_j or s_j; with X = {o_j & !s_j} and Z = {!o_j & s_j} the
 * leaf adds v |X|-1! |Z|! / (|X|+|Z|)! to each feature of X and subtracts v |X|! |Z|-1! /
 * (|X|+|Z|)! from each feature of Z. Only the pattern s of b matters, so the background is
 * summarised once per leaf as a histogram of patterns. From the histogram each leaf gets a
 * table over the 2^d patterns a row can have (built in O(2^d d^2)), so a row costs O(d) per
 * leaf and the whole run costs O(background) + O(rows), not their product. Leaves whose
 * tables would not fit the memory budget walk their histogram for every row instead.
 *
 * In probability space shap rescales each (row, background row) pair by
 * (T(f(x)) - T(f(b))) / (f(x) - f(b)); that needs the pair's own values, so this space walks
 * each pair jointly through the trees. */
#ifndef GBX_TREE_INTERVENTIONAL_H
#define GBX_TREE_INTERVENTIONAL_H

#include "../models/model.h"
#include "players.h"

typedef struct gbx_interventional gbx_interventional;

/* Bytes of per-leaf tables kept between calls by default; tables that do not fit are rebuilt
 * for each call. 0 turns tables off: every row walks the histograms (tests compare both). */
#define GBX_INTERVENTIONAL_TABLE_BUDGET ((size_t)64 << 20)

gbx_status gbx_interventional_prepare(const gbx_model *model, const gbx_data *background,
                                      const gbx_players *players, gbx_output_space space,
                                      int threads, size_t table_budget,
                                      gbx_interventional **out, gbx_error *error);
void gbx_interventional_free(gbx_interventional *interventional);
void gbx_interventional_base_values(const gbx_interventional *interventional, double *out);
/* values: [count][outputs][features]; predictions: [count][outputs] in the chosen space.
 * Runs on `threads` threads; the result does not depend on their number. */
gbx_status gbx_interventional_explain(const gbx_interventional *interventional, const double *rows,
                                      size_t count, double *values, double *predictions,
                                      int threads, gbx_error *error);

#endif
