/* Coalition values of tree ensembles without hybrid rows.
 *
 * The model-agnostic methods need v(S) = E_b f(x_S, b_notS): the model's raw output on rows
 * that take the players in S from x and the rest from a background row b, averaged over the
 * background. For a tree, a hybrid reaches a leaf exactly when x satisfies the leaf's path
 * splits on the players in S and b satisfies those on the others; so with, per leaf, the
 * (weighted) share F[m] of background rows satisfying the splits of every path player in m
 * (a superset sum over the background's patterns), one walk of the tree per coalition gives
 *     v_tree(S) = sum over leaves reached of value x F[path players not in S],
 * following only x's branch at a split on a player in S and both branches otherwise. That is
 * O(nodes) per coalition and tree instead of O(background x depth), and no hybrid is built. */
#ifndef GBX_TREE_COALITIONS_H
#define GBX_TREE_COALITIONS_H

#include "../models/model.h"

typedef struct gbx_tree_coalitions gbx_tree_coalitions;

/* Tables for a tree model against a background (weights NULL: equal). NULL (and no error)
 * when they would take more than `budget` bytes or a path has more than 20 distinct players:
 * the caller then evaluates hybrid rows. */
gbx_tree_coalitions *gbx_tree_coalitions_new(const gbx_model *model, const double *background,
                                             const double *weights, size_t rows,
                                             const int32_t *player, size_t players,
                                             size_t budget);
void gbx_tree_coalitions_free(gbx_tree_coalitions *tables);
/* v for `count` coalitions of row x: in is [count][players] (1: from x); v is [count][outputs]
 * raw outputs (base margin included). Fails only when memory runs out. */
gbx_status gbx_tree_coalitions_values(const gbx_tree_coalitions *tables, const double *x,
                                      const uint8_t *in, size_t count, double *v);

#endif
