/* Path-dependent TreeSHAP and SHAP interaction values for tree ensembles.
 *
 * The Shapley value of feature i from one leaf with value v, whose root-to-leaf path tests the
 * distinct features D (|D| = d), is
 *     v (o_i - z_i) * sum_{S in D\i} |S|! (d-|S|-1)! / d! * prod_{j in S} o_j prod_{j notin S} z_j
 *   = v (o_i - z_i) * integral_0^1 prod_{j != i} (z_j (1-t) + o_j t) dt
 * where z_j is the product of cover fractions of the path's splits on feature j and o_j says
 * whether the row satisfies all of them. The integrand is a polynomial of degree d-1, so
 * Gauss-Legendre quadrature with ceil(d/2) points integrates it exactly. Summing the
 * polynomials of all leaves below a node first (Linear TreeSHAP, Yu et al. 2022) makes the cost
 * per row O(nodes x points) instead of O(leaves x depth^2), and a block of rows is carried
 * through each traversal so the inner loops run over rows and vectorise. */
#ifndef GBX_TREE_SHAP_H
#define GBX_TREE_SHAP_H

#include "../models/model.h"
#include "players.h"

typedef struct gbx_tree_shap gbx_tree_shap;
typedef struct gbx_tree_shap_workspace gbx_tree_shap_workspace;

/* Precomputes per-node factors for every tree. With players (groups of features), splits on
 * any column of a group count as splits on one feature, which gives the Shapley values of the
 * grouped game exactly (the path's repeated-feature rule merges them). */
gbx_status gbx_tree_shap_prepare(const gbx_tree_ensemble *ensemble, size_t features,
                                 size_t outputs, const gbx_players *players, gbx_tree_shap **out,
                                 gbx_error *error);
void gbx_tree_shap_free(gbx_tree_shap *shap);

/* Per-thread scratch memory. */
gbx_tree_shap_workspace *gbx_tree_shap_workspace_new(const gbx_tree_shap *shap);
void gbx_tree_shap_workspace_free(gbx_tree_shap_workspace *workspace);

/* E[f] per output under the cover distribution (base margin included). */
void gbx_tree_shap_base_values(const gbx_tree_shap *shap, double *out);

/* SHAP values of `count` rows (row-major, `features` wide): values is [count][outputs][players]
 * and is overwritten. When interactions is not NULL it receives [count][outputs][M][M]
 * interaction values (XGBoost pred_interactions semantics, diagonal = main effects). */
void gbx_tree_shap_explain(const gbx_tree_shap *shap, gbx_tree_shap_workspace *workspace,
                           const double *rows, size_t count, double *values,
                           double *interactions);

/* The traversal runs in the widest kernel the CPU supports ("avx2" or "generic"); all give
 * bit-identical results. select returns 0 when the named kernel is not available here. */
int gbx_tree_shap_select_kernel(gbx_tree_shap *shap, const char *name);
const char *gbx_tree_shap_kernel_name(const gbx_tree_shap *shap);

#endif
