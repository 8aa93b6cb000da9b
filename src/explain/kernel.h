/* KernelSHAP for any model (shap's KernelExplainer with its default sampling plan):
 * coalitions are drawn with the Shapley kernel weight (M-1) / (C(M,s) s (M-s)), whole subset
 * sizes enumerated while the budget allows (smallest and largest sizes first, each with its
 * complement), the rest sampled in complementary pairs; then the weighted least-squares fit
 * of v(S) - v(empty) on the coalition masks, constrained so the values add up to
 * f(x) - E[f], gives the values. With a budget that covers every coalition this is exact.
 * Features whose value equals every background row's cannot matter and get 0, as in shap.
 * Each row draws from its own random stream keyed by the seed and the row's values: a row gets
 * the same values in any batch, at any position and thread count. */
#ifndef GBX_KERNEL_H
#define GBX_KERNEL_H

#include "../models/model.h"
#include "players.h"

typedef struct gbx_kernel gbx_kernel;

/* max_evals: coalitions per row (0: 2M + 2048, as shap), capped at 2^M - 2. logit: explain
 * logit(mean prediction) (shap's link="logit"; base values and predictions in that space).
 * l1: shap's l1_reg: off (every varying feature is fitted), num_features(l1_features), aic or
 * bic (lars.c); the features left out get 0. tolerance > 0: the drawn coalitions are used in
 * growing prefixes (64, 128, ...) until every standard error is at most tolerance, so easy
 * rows stop early; max_evals stays the ceiling. draw_rows > 0 (below the background's size):
 * each draw of a coalition is evaluated against that many background rows drawn by weight
 * instead of the whole background, a coalition's complement against the same ones; a size is
 * enumerated (against the whole background) only where each of its coalitions would be drawn
 * N / draw_rows times anyway. An unbiased estimate of v(S) per coalition at a fraction of the
 * model calls, so many more coalitions fit the same calls; the standard errors include the
 * rows' spread, since it is in the drawn coalitions only. */
gbx_status gbx_kernel_prepare(const gbx_model *model, const gbx_data *background,
                              const gbx_players *players, size_t max_evals, uint64_t seed,
                              int logit, gbx_kernel_l1 l1, size_t l1_features, double tolerance,
                              size_t draw_rows, gbx_kernel **out, gbx_error *error);
void gbx_kernel_free(gbx_kernel *kernel);
void gbx_kernel_base_values(const gbx_kernel *kernel, double *out);
/* values and standard_errors: [count][outputs][features]. Standard errors are batch means over
 * 8 groups of the drawn coalitions (0 when every coalition was enumerated, NaN when too few
 * were drawn to tell). */
gbx_status gbx_kernel_explain(const gbx_kernel *kernel, const double *rows, size_t count,
                              double *values, double *standard_errors, double *predictions,
                              int threads, gbx_error *error);

#endif
