/* Permutation SHAP for any model (shap's PermutationExplainer with an Independent masker):
 * for a random order of the features, start from the background and switch features to the
 * explained row one at a time; each feature's step in v(S) = mean over the background of
 * f(x_S, b_notS) is a sample of its Shapley value. Orders come in antithetic pairs (an order and
 * its reverse), which cancels much of the variance; the mean over pairs is the estimate and
 * the spread over pairs gives its standard error. On additive models every order gives the
 * exact values. Order p of a row is drawn from a random stream keyed by (seed, the row's
 * values, p), and pairs are summed in order, so a row gets the same values at any thread count
 * and in any batch.
 *
 * With one_row, each pair of orders goes against a single background row drawn by weight
 * instead of the whole background: f(x_S, b_notS) for a random b is still an unbiased sample of
 * every step, at 1/N of the model calls, so for the same model calls many more orders are
 * drawn; where the background rows disagree more than the orders do, that is far more
 * accurate per call. Both orders of a pair share the row, so each pair still adds up to
 * f(x) - f(b). */
#ifndef GBX_PERMUTATION_H
#define GBX_PERMUTATION_H

#include "../models/model.h"
#include "players.h"

typedef struct gbx_permutation gbx_permutation;

/* max_evals: coalition evaluations per row (each costs one model call per background row, or
 * one with one_row); 0 = 500, as shap. At least one pair of orders is always used. */
gbx_status gbx_permutation_prepare(const gbx_model *model, const gbx_data *background,
                                   const gbx_players *players, size_t max_evals, uint64_t seed,
                                   int one_row, gbx_permutation **out, gbx_error *error);
void gbx_permutation_free(gbx_permutation *permutation);
void gbx_permutation_base_values(const gbx_permutation *permutation, double *out);
size_t gbx_permutation_pairs(const gbx_permutation *permutation);
/* values and standard_errors: [count][outputs][features]; predictions: [count][outputs]. */
gbx_status gbx_permutation_explain(const gbx_permutation *permutation, const double *rows,
                                   size_t count, double *values, double *standard_errors,
                                   double *predictions, int threads, gbx_error *error);

#endif
