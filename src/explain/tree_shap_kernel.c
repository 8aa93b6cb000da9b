/* The TreeSHAP traversal: a block of rows walks each tree once. This file is compiled twice,
 * as gbx_tree_shap_kernel_generic and (from tree_shap_kernel_avx2.c) with AVX2 enabled. */
#include "tree_shap_internal.h"

#include <string.h>

#ifndef GBX_KERNEL_NAME
#define GBX_KERNEL_NAME gbx_tree_shap_kernel_generic
#endif

typedef struct {
    const prepared_tree *p;
    gbx_tree_shap_workspace *w;
    double *phi;          /* [players][BLOCK] of this tree's output */
    double *interactions; /* [rows][outputs][M][M] at the block's first row, or NULL */
    size_t rows, features, outputs;
    int output;
} traversal;

/* Which rows of the block go left at this node; one switch per node, not per row. XGBoost's
 * rule (float)x < threshold is tested exactly in double on the pre-rounded block, without
 * branches, so the loop vectorises; NaN fails both comparisons and takes the default. */
static void directions(const gbx_tree *tree, const gbx_node *node, const double *x,
                       const double *x_float, double *left)
{
    if (node->kind == GBX_SPLIT_LESS_FLOAT) {
        double threshold = node->threshold_float, missing = node->default_left;
        for (int r = 0; r < BLOCK; r++)
            left[r] = x_float[r] < threshold ? 1.0 : x_float[r] == x_float[r] ? 0.0 : missing;
    } else {
        for (int r = 0; r < BLOCK; r++) left[r] = gbx_node_goes_left(node, tree->categories, x[r]);
    }
}

/* Interaction values from one leaf: for every pair of distinct path features (i, k),
 * 1/2 v (o_i - z_i)(o_k - z_k) integral prod_{j != i,k} (z_j (1-t) + o_j t) dt. */
/* out = x * y elementwise (out may not alias x or y). */
static inline void multiply(double *restrict out, const double *restrict x,
                            const double *restrict y, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) out[i] = x[i] * y[i];
}

/* sum[r] = sum_q w_q prefix middle suffix: the integral for one pair of path features
 * (middle NULL: the pair is adjacent, nothing lies between). */
static inline void pair_integral(double *restrict sum, const double *restrict prefix,
                                 const double *restrict middle, const double *restrict suffix,
                                 const double *restrict weights, int Q)
{
    for (int q = 0; q < Q; q++) {
        double weight = weights[q];
        const double *restrict pq = prefix + (size_t)q * BLOCK, *restrict sq = suffix + (size_t)q * BLOCK;
        const double *restrict mq = middle ? middle + (size_t)q * BLOCK : NULL;
        if (mq && q == 0) {
#pragma omp simd
            for (int r = 0; r < BLOCK; r++) sum[r] = weight * pq[r] * mq[r] * sq[r];
        } else if (mq) {
#pragma omp simd
            for (int r = 0; r < BLOCK; r++) sum[r] += weight * pq[r] * mq[r] * sq[r];
        } else if (q == 0) {
#pragma omp simd
            for (int r = 0; r < BLOCK; r++) sum[r] = weight * pq[r] * sq[r];
        } else {
#pragma omp simd
            for (int r = 0; r < BLOCK; r++) sum[r] += weight * pq[r] * sq[r];
        }
    }
}

static void leaf_interactions(const traversal *walk, double value, int depth)
{
    const prepared_tree *p = walk->p;
    gbx_tree_shap_workspace *w = walk->w;
    int Q = p->points, count = 0;
    int32_t elements[depth > 0 ? depth : 1];
    for (int e = 1; e <= depth; e++)
        if (!w->superseded[e]) elements[count++] = e;
    if (count < 2) return;
    /* a[j][q][r], prefix[j][q][r] = prod_{l<j} a_l, suffix[j][q][r] = prod_{l>j} a_l */
    size_t QB = (size_t)Q * BLOCK;
    double *a = w->pair, *prefix = a + count * QB, *suffix = prefix + count * QB;
    for (int j = 0; j < count; j++) {
        int32_t node = w->element[elements[j]];
        double z = p->zero[node];
        const double *restrict o = w->one + (size_t)elements[j] * BLOCK;
        double *restrict aj = a + j * QB;
        for (int q = 0; q < Q; q++) {
            double t = p->nodes[q], off = z * (1.0 - t);
#pragma omp simd
            for (int r = 0; r < BLOCK; r++) aj[q * BLOCK + r] = off + o[r] * t;
        }
    }
    for (size_t i = 0; i < QB; i++) prefix[i] = suffix[(count - 1) * QB + i] = 1.0;
    for (int j = 1; j < count; j++) multiply(prefix + j * QB, prefix + (j - 1) * QB, a + (j - 1) * QB, QB);
    for (int j = count - 2; j >= 0; j--) multiply(suffix + j * QB, suffix + (j + 1) * QB, a + (j + 1) * QB, QB);
    double middle[2][QB];
    double sum[BLOCK] = {0}; /* pair_integral writes it whole (Q > 0); a compiler cannot tell */
    size_t M = walk->features;
    for (int i = 0; i < count; i++) {
        int32_t node_i = w->element[elements[i]];
        const double *o_i = w->one + (size_t)elements[i] * BLOCK;
        double z_i = p->zero[node_i];
        /* middle: the product of the a_l strictly between i and k, grown as k moves on */
        int current = 0;
        for (int k = i + 1; k < count; k++) {
            if (k == i + 2) memcpy(middle[0], a + (k - 1) * QB, QB * sizeof(double));
            if (k > i + 2) {
                multiply(middle[!current], middle[current], a + (k - 1) * QB, QB);
                current = !current;
            }
            int32_t node_k = w->element[elements[k]];
            const double *o_k = w->one + (size_t)elements[k] * BLOCK;
            double z_k = p->zero[node_k];
            pair_integral(sum, prefix + i * QB, k > i + 1 ? middle[current] : NULL, suffix + k * QB,
                          p->weights, Q);
            size_t f_i = (size_t)p->feature[node_i], f_k = (size_t)p->feature[node_k];
            for (size_t r = 0; r < walk->rows; r++) {
                double half = 0.5 * value * (o_i[r] - z_i) * (o_k[r] - z_k) * sum[r];
                double *matrix = walk->interactions + (r * walk->outputs + (size_t)walk->output) * M * M;
                matrix[f_i * M + f_k] += half;
                matrix[f_k * M + f_i] += half;
            }
        }
    }
}

/* The loops over a block of rows, as functions whose restrict arguments tell the compiler the
 * arrays do not overlap, so each loop becomes a few full-width vector instructions. */

/* o of a child element: the side taken, and for a repeated feature the earlier o as well. */
static inline void child_one(double *restrict one, const double *restrict left, int side,
                             const double *restrict one_previous)
{
    #pragma omp simd
    for (int r = 0; r < BLOCK; r++) {
        double taken = side == 0 ? left[r] : 1.0 - left[r];
        one[r] = one_previous ? taken * one_previous[r] : taken;
    }
}

/* The path polynomial one level down: times the new element's factor at each point. */
static inline void extend_path(double *restrict child_path, const double *restrict path,
                               const double *restrict one, const double *restrict one_previous,
                               const double *restrict down, int Q)
{
    for (int q = 0; q < Q; q++) {
        const double *restrict in = path + (size_t)q * BLOCK;
        double *restrict out = child_path + (size_t)q * BLOCK;
        double d0 = down[q], d1 = down[Q + q], d2 = down[2 * Q + q];
        if (one_previous) {
            #pragma omp simd
            for (int r = 0; r < BLOCK; r++)
                out[r] = in[r] * (d0 + one_previous[r] * (d1 - d0) + one[r] * (d2 - d1));
        } else {
            /* First split on this feature along the path: the earlier o is 1. */
            double d21 = d2 - d1;
            #pragma omp simd
            for (int r = 0; r < BLOCK; r++) out[r] = in[r] * (d1 + one[r] * d21);
        }
    }
}

/* After the child's subtree: add the element's contribution to phi, from the leaves below it
 * that are not under a later split on the same feature (those count for that later element),
 * and sum the child's polynomial into the node's (and into the earlier element's repeats). */
static inline void collect(double *restrict phi, double *restrict below,
                           double *restrict repeats_previous, const double *restrict child_below,
                           const double *restrict child_repeats, const double *restrict one,
                           const double *restrict up, int Q, int first_child)
{
    for (int q = 0; q < Q; q++) {
        double u0 = up[q], u10 = up[Q + q] - u0;
        const double *restrict b = child_below + (size_t)q * BLOCK;
        double *restrict sum = below + (size_t)q * BLOCK;
        if (child_repeats) {
            const double *restrict rep = child_repeats + (size_t)q * BLOCK;
            #pragma omp simd
            for (int r = 0; r < BLOCK; r++) phi[r] += (u0 + one[r] * u10) * (b[r] - rep[r]);
        } else {
            #pragma omp simd
            for (int r = 0; r < BLOCK; r++) phi[r] += (u0 + one[r] * u10) * b[r];
        }
        if (first_child)
            #pragma omp simd
            for (int r = 0; r < BLOCK; r++) sum[r] = b[r];
        else
            #pragma omp simd
            for (int r = 0; r < BLOCK; r++) sum[r] += b[r];
        if (repeats_previous) {
            double *restrict rep = repeats_previous + (size_t)q * BLOCK;
            #pragma omp simd
            for (int r = 0; r < BLOCK; r++) rep[r] += b[r];
        }
    }
}

static inline void leaf_polynomial(double *restrict below, const double *restrict path,
                                   double value, size_t count)
{
    for (size_t i = 0; i < count; i++) below[i] = value * path[i];
}

static void visit(const traversal *walk, int32_t id, int depth)
{
    const prepared_tree *p = walk->p;
    gbx_tree_shap_workspace *w = walk->w;
    const gbx_node *node = &p->tree->nodes[id];
    int Q = p->points;
    size_t QB = (size_t)Q * BLOCK;
    double *below = w->below + depth * QB;
    const double *path = w->path + depth * QB;
    if (node->kind == GBX_NODE_LEAF) {
        leaf_polynomial(below, path, node->value, QB);
        if (walk->interactions) leaf_interactions(walk, node->value, depth);
        return;
    }
    double *left = w->left + depth * BLOCK;
    size_t column = (size_t)node->feature * BLOCK;
    directions(p->tree, node, w->x + column, w->x_float + column, left);
    size_t player_column = (size_t)p->feature[node->left] * BLOCK;
    int32_t children[2] = {node->left, node->right};
    double *one = w->one + (depth + 1) * BLOCK;
    double *child_path = w->path + (depth + 1) * QB;
    double *child_below = w->below + (depth + 1) * QB;
    double *child_repeats = w->repeats + (depth + 1) * QB;
    for (int side = 0; side < 2; side++) {
        int32_t child = children[side];
        int32_t previous = p->previous[child];
        const double *one_previous = previous >= 0 ? w->one + previous * BLOCK : NULL;
        child_one(one, left, side, one_previous);
        extend_path(child_path, path, one, one_previous, p->down + (size_t)child * 3 * Q, Q);
        int repeated = p->repeated[child];
        if (repeated) memset(child_repeats, 0, QB * sizeof(double));
        w->element[depth + 1] = child;
        if (previous >= 0) w->superseded[previous] = 1;
        visit(walk, child, depth + 1);
        if (previous >= 0) w->superseded[previous] = 0;
        collect(walk->phi + player_column, below, previous >= 0 ? w->repeats + previous * QB : NULL,
                child_below, repeated ? child_repeats : NULL, one, p->up + (size_t)child * 2 * Q,
                Q, side == 0);
    }
}

void GBX_KERNEL_NAME(const gbx_tree_shap *shap, gbx_tree_shap_workspace *w, const double *rows,
                     size_t count, double *values, double *interactions)
{
    size_t M = shap->features, K = shap->outputs, P = shap->players;
    if (interactions) memset(interactions, 0, count * K * M * M * sizeof(double));
    for (size_t start = 0; start < count; start += BLOCK) {
        size_t n = count - start < BLOCK ? count - start : BLOCK;
        /* Transpose the block; padding rows repeat the first row and are never written out. */
        for (size_t f = 0; f < M; f++)
            for (size_t r = 0; r < BLOCK; r++)
            {
                double value = rows[(start + (r < n ? r : 0)) * M + f];
                w->x[f * BLOCK + r] = value;
                w->x_float[f * BLOCK + r] = (float)value;
            }
        memset(w->phi, 0, K * P * BLOCK * sizeof(double));
        for (size_t t = 0; t < shap->tree_count; t++) {
            const prepared_tree *p = &shap->trees[t];
            traversal walk = {p, w, w->phi + (size_t)p->tree->output * P * BLOCK,
                              interactions ? interactions + start * K * M * M : NULL, n, M, K,
                              p->tree->output};
            for (size_t i = 0; i < (size_t)p->points * BLOCK; i++) w->path[i] = 1.0;
            visit(&walk, 0, 0);
        }
        for (size_t r = 0; r < n; r++)
            for (size_t k = 0; k < K; k++)
                for (size_t f = 0; f < P; f++)
                    values[((start + r) * K + k) * P + f] = w->phi[(k * P + f) * BLOCK + r];
        if (interactions)
            for (size_t r = 0; r < n; r++)
                for (size_t k = 0; k < K; k++) {
                    /* Diagonal: the main effect, what the pairs leave of the SHAP value. */
                    double *matrix = interactions + ((start + r) * K + k) * M * M;
                    const double *phi = values + ((start + r) * K + k) * M;
                    for (size_t i = 0; i < M; i++) {
                        double off_diagonal = 0.0;
                        for (size_t j = 0; j < M; j++)
                            if (j != i) off_diagonal += matrix[i * M + j];
                        matrix[i * M + i] = phi[i] - off_diagonal;
                    }
                }
    }
}
