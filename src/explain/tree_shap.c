#include "tree_shap.h"

#include <stdlib.h>
#include <string.h>

/* Rows carried through one tree traversal: the inner loops run over them. */
#define BLOCK 16

typedef struct {
    const gbx_tree *tree;
    int points;             /* quadrature points Q */
    int depth;              /* deepest leaf, in edges */
    double *nodes, *weights;/* Gauss-Legendre rule on [0, 1] */
    /* Per node, describing the path element that ends at that node (the parent's split): */
    int32_t *feature;       /* the element's feature */
    int32_t *previous;      /* depth of the nearest ancestor element on the same feature, or -1 */
    double *zero;           /* z: product of the path's cover fractions for that feature */
    double *down;           /* [node][3][Q]: factor on the path polynomial, by state o_prev + o */
    double *up;             /* [node][2][Q]: (o - z) w_q / (z (1 - t_q) + o t_q), by o */
} prepared_tree;

struct gbx_tree_shap {
    size_t features, outputs;
    double *base_values;
    prepared_tree *trees;
    size_t tree_count;
    int max_depth, max_points;
};

struct gbx_tree_shap_workspace {
    double *x;       /* [features][BLOCK]: the block, transposed */
    double *phi;     /* [outputs][features][BLOCK] */
    double *path;    /* [depth][Q][BLOCK]: path polynomial at each quadrature point */
    double *below;   /* [depth][Q][BLOCK]: sum over leaves below of value x path polynomial */
    double *repeats; /* [depth][Q][BLOCK]: the part of `below` under repeats of the feature */
    double *one;     /* [depth][BLOCK]: o of the element ending at that depth (0 or 1) */
    double *left;    /* [depth][BLOCK]: whether each row goes left at the node of that depth */
    int32_t *element;   /* [depth]: node whose element ends at that depth */
    uint8_t *superseded;/* [depth]: element replaced by a deeper split on the same feature */
    double *pair;       /* scratch for interactions */
};

/* Gauss-Legendre nodes and weights mapped to [0, 1], by Newton's method on P_n. */
static void gauss_legendre(int n, double *nodes, double *weights)
{
    for (int i = 0; i < n; i++) {
        double x = cos(M_PI * (i + 0.75) / (n + 0.5)), derivative = 1.0;
        for (int iteration = 0; iteration < 100; iteration++) {
            double p0 = 1.0, p1 = x;
            for (int k = 2; k <= n; k++) {
                double p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            derivative = n * (x * p1 - p0) / (x * x - 1.0);
            double step = p1 / derivative;
            x -= step;
            if (fabs(step) < 1e-16) break;
        }
        nodes[i] = (x + 1.0) / 2.0;
        weights[i] = 1.0 / ((1.0 - x * x) * derivative * derivative);
    }
}

/* Walks every root-to-leaf path once. The first walk (no factors allocated) finds the depth and
 * the largest number of distinct features on a path; the second fills the per-node factors. */
typedef struct {
    prepared_tree *prepared;
    int32_t *depth_of_feature; /* depth of the latest element on each feature, or -1 */
    int32_t *node_at_depth;
    int unique, max_unique;
} path_walk;

static double safe_ratio(double numerator, double denominator)
{
    return denominator != 0.0 ? numerator / denominator : 0.0;
}

static void fill_factors(prepared_tree *p, int32_t child, double z, double z_previous,
                         int repeated)
{
    int Q = p->points;
    double *down = p->down + (size_t)child * 3 * Q, *up = p->up + (size_t)child * 2 * Q;
    for (int q = 0; q < Q; q++) {
        double t = p->nodes[q], w = p->weights[q];
        double off = z * (1.0 - t), on = z * (1.0 - t) + t;
        if (repeated) {
            /* Replace the earlier element's factor by this one's: divide it out. */
            down[q] = safe_ratio(z, z_previous); /* o_prev = 0 (so o = 0) */
            down[Q + q] = off / (z_previous * (1.0 - t) + t);
            down[2 * Q + q] = on / (z_previous * (1.0 - t) + t);
        } else {
            down[q] = 0.0; /* state unused: o_prev is 1 for a first occurrence */
            down[Q + q] = off;
            down[2 * Q + q] = on;
        }
        up[q] = safe_ratio(-z * w, off);
        up[Q + q] = (1.0 - z) * w / on;
    }
}

static void walk_paths(path_walk *walk, int32_t id, int depth)
{
    prepared_tree *p = walk->prepared;
    const gbx_node *node = &p->tree->nodes[id];
    if (depth > p->depth) p->depth = depth;
    if (walk->unique > walk->max_unique) walk->max_unique = walk->unique;
    if (node->kind == GBX_NODE_LEAF) return;
    int32_t children[2] = {node->left, node->right};
    int32_t feature = node->feature, saved = walk->depth_of_feature[feature];
    for (int side = 0; side < 2; side++) {
        int32_t child = children[side];
        double fraction = gbx_cover_fraction(p->tree, id, child);
        double z_previous = saved >= 0 ? p->zero[walk->node_at_depth[saved]] : 1.0;
        p->feature[child] = feature;
        p->previous[child] = saved;
        p->zero[child] = z_previous * fraction;
        if (p->down) fill_factors(p, child, p->zero[child], z_previous, saved >= 0);
        walk->node_at_depth[depth + 1] = child;
        walk->depth_of_feature[feature] = depth + 1;
        walk->unique += saved < 0;
        walk_paths(walk, child, depth + 1);
        walk->unique -= saved < 0;
        walk->depth_of_feature[feature] = saved;
    }
}

static void free_prepared(prepared_tree *p)
{
    free(p->nodes); free(p->weights); free(p->feature); free(p->previous); free(p->zero);
    free(p->down); free(p->up);
}

static gbx_status prepare_tree(const gbx_tree *tree, size_t features, prepared_tree *p,
                               int32_t *depth_of_feature, int32_t *node_at_depth)
{
    size_t n = tree->node_count;
    p->tree = tree;
    p->feature = gbx_malloc_array(n, sizeof(int32_t));
    p->previous = gbx_malloc_array(n, sizeof(int32_t));
    p->zero = gbx_calloc(n, sizeof(double));
    if (!p->feature || !p->previous || !p->zero) return GBX_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) p->feature[i] = p->previous[i] = -1;
    for (size_t f = 0; f < features; f++) depth_of_feature[f] = -1;
    path_walk walk = {p, depth_of_feature, node_at_depth, 0, 0};
    walk_paths(&walk, 0, 0);
    p->points = (walk.max_unique + 1) / 2 > 0 ? (walk.max_unique + 1) / 2 : 1;
    p->nodes = gbx_calloc((size_t)p->points, sizeof(double));
    p->weights = gbx_calloc((size_t)p->points, sizeof(double));
    p->down = gbx_calloc(n * 3 * (size_t)p->points, sizeof(double));
    p->up = gbx_calloc(n * 2 * (size_t)p->points, sizeof(double));
    if (!p->nodes || !p->weights || !p->down || !p->up) return GBX_ERR_NOMEM;
    gauss_legendre(p->points, p->nodes, p->weights);
    walk.unique = walk.max_unique = 0;
    walk_paths(&walk, 0, 0);
    return GBX_OK;
}

gbx_status gbx_tree_shap_prepare(const gbx_tree_ensemble *ensemble, size_t features,
                                 size_t outputs, gbx_tree_shap **out, gbx_error *error)
{
    gbx_tree_shap *shap = calloc(1, sizeof *shap);
    if (!shap) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    shap->features = features;
    shap->outputs = outputs;
    shap->tree_count = ensemble->tree_count;
    shap->trees = gbx_calloc(ensemble->tree_count, sizeof(prepared_tree));
    shap->base_values = gbx_calloc(outputs, sizeof(double));
    size_t deepest = 1;
    for (size_t t = 0; t < ensemble->tree_count; t++)
        if (ensemble->trees[t].node_count > deepest) deepest = ensemble->trees[t].node_count;
    int32_t *depth_of_feature = gbx_malloc_array(features ? features : 1, sizeof(int32_t));
    int32_t *node_at_depth = gbx_malloc_array(deepest + 1, sizeof(int32_t));
    gbx_status status = shap->trees && shap->base_values && depth_of_feature && node_at_depth
                            ? GBX_OK : GBX_ERR_NOMEM;
    for (size_t k = 0; status == GBX_OK && k < outputs; k++)
        shap->base_values[k] = ensemble->base_margin[k];
    for (size_t t = 0; status == GBX_OK && t < ensemble->tree_count; t++) {
        const gbx_tree *tree = &ensemble->trees[t];
        status = prepare_tree(tree, features, &shap->trees[t], depth_of_feature, node_at_depth);
        shap->base_values[tree->output] += gbx_tree_expected_value(tree);
        if (shap->trees[t].depth > shap->max_depth) shap->max_depth = shap->trees[t].depth;
        if (shap->trees[t].points > shap->max_points) shap->max_points = shap->trees[t].points;
    }
    free(depth_of_feature);
    free(node_at_depth);
    if (status != GBX_OK) {
        gbx_tree_shap_free(shap);
        return gbx_fail(error, status, "TreeSHAP: out of memory preparing the trees");
    }
    *out = shap;
    return GBX_OK;
}

void gbx_tree_shap_free(gbx_tree_shap *shap)
{
    if (!shap) return;
    if (shap->trees)
        for (size_t t = 0; t < shap->tree_count; t++) free_prepared(&shap->trees[t]);
    free(shap->trees);
    free(shap->base_values);
    free(shap);
}

void gbx_tree_shap_base_values(const gbx_tree_shap *shap, double *out)
{
    memcpy(out, shap->base_values, shap->outputs * sizeof(double));
}

gbx_tree_shap_workspace *gbx_tree_shap_workspace_new(const gbx_tree_shap *shap)
{
    gbx_tree_shap_workspace *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    size_t levels = (size_t)shap->max_depth + 2, QB = (size_t)shap->max_points * BLOCK;
    size_t features = shap->features ? shap->features : 1;
    w->x = gbx_calloc(features * BLOCK, sizeof(double));
    w->phi = gbx_calloc(shap->outputs * features * BLOCK, sizeof(double));
    w->path = gbx_calloc(levels * QB, sizeof(double));
    w->below = gbx_calloc(levels * QB, sizeof(double));
    w->repeats = gbx_calloc(levels * QB, sizeof(double));
    w->one = gbx_calloc(levels * BLOCK, sizeof(double));
    w->left = gbx_calloc(levels * BLOCK, sizeof(double));
    w->element = gbx_calloc(levels, sizeof(int32_t));
    w->superseded = gbx_calloc(levels, 1);
    w->pair = gbx_calloc(3 * levels * QB + 4 * BLOCK, sizeof(double));
    if (!w->x || !w->phi || !w->path || !w->below || !w->repeats || !w->one || !w->left ||
        !w->element || !w->superseded || !w->pair) {
        gbx_tree_shap_workspace_free(w);
        return NULL;
    }
    return w;
}

void gbx_tree_shap_workspace_free(gbx_tree_shap_workspace *w)
{
    if (!w) return;
    free(w->x); free(w->phi); free(w->path); free(w->below); free(w->repeats); free(w->one);
    free(w->left); free(w->element); free(w->superseded); free(w->pair);
    free(w);
}

/* ---- the traversal ---- */

typedef struct {
    const prepared_tree *p;
    gbx_tree_shap_workspace *w;
    double *phi;          /* [features][BLOCK] of this tree's output */
    double *interactions; /* [rows][outputs][M][M] at the block's first row, or NULL */
    size_t rows, features, outputs;
    int output;
} traversal;

/* Which rows of the block go left at this node; one switch per node, not per row. */
static void directions(const gbx_tree *tree, const gbx_node *node, const double *x, double *left)
{
    if (node->kind == GBX_SPLIT_LESS_FLOAT) {
        float threshold = node->threshold_float;
        double missing = node->default_left;
        for (int r = 0; r < BLOCK; r++)
            left[r] = isnan(x[r]) ? missing : (double)((float)x[r] < threshold);
    } else {
        for (int r = 0; r < BLOCK; r++) left[r] = gbx_node_goes_left(node, tree->categories, x[r]);
    }
}

/* Interaction values from one leaf: for every pair of distinct path features (i, k),
 * 1/2 v (o_i - z_i)(o_k - z_k) integral prod_{j != i,k} (z_j (1-t) + o_j t) dt. */
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
        const double *o = w->one + (size_t)elements[j] * BLOCK;
        for (int q = 0; q < Q; q++)
            for (int r = 0; r < BLOCK; r++)
                a[j * QB + q * BLOCK + r] = z * (1.0 - p->nodes[q]) + o[r] * p->nodes[q];
    }
    for (size_t i = 0; i < QB; i++) prefix[i] = suffix[(count - 1) * QB + i] = 1.0;
    for (int j = 1; j < count; j++)
        for (size_t i = 0; i < QB; i++) prefix[j * QB + i] = prefix[(j - 1) * QB + i] * a[(j - 1) * QB + i];
    for (int j = count - 2; j >= 0; j--)
        for (size_t i = 0; i < QB; i++) suffix[j * QB + i] = suffix[(j + 1) * QB + i] * a[(j + 1) * QB + i];
    double middle[QB], sum[BLOCK];
    size_t M = walk->features;
    for (int i = 0; i < count; i++) {
        int32_t node_i = w->element[elements[i]];
        const double *o_i = w->one + (size_t)elements[i] * BLOCK;
        double z_i = p->zero[node_i];
        for (size_t x = 0; x < QB; x++) middle[x] = 1.0;
        for (int k = i + 1; k < count; k++) {
            if (k > i + 1)
                for (size_t x = 0; x < QB; x++) middle[x] *= a[(k - 1) * QB + x];
            int32_t node_k = w->element[elements[k]];
            const double *o_k = w->one + (size_t)elements[k] * BLOCK;
            double z_k = p->zero[node_k];
            for (int r = 0; r < BLOCK; r++) sum[r] = 0.0;
            for (int q = 0; q < Q; q++)
                for (int r = 0; r < BLOCK; r++) {
                    size_t x = (size_t)q * BLOCK + r;
                    sum[r] += p->weights[q] * prefix[i * QB + x] * middle[x] * suffix[k * QB + x];
                }
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
        for (size_t i = 0; i < QB; i++) below[i] = node->value * path[i];
        if (walk->interactions) leaf_interactions(walk, node->value, depth);
        return;
    }
    double *left = w->left + depth * BLOCK;
    directions(p->tree, node, w->x + (size_t)node->feature * BLOCK, left);
    for (size_t i = 0; i < QB; i++) below[i] = 0.0;
    static const double ones[BLOCK] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    int32_t children[2] = {node->left, node->right};
    double *one = w->one + (depth + 1) * BLOCK;
    double *child_path = w->path + (depth + 1) * QB;
    double *child_below = w->below + (depth + 1) * QB;
    double *child_repeats = w->repeats + (depth + 1) * QB;
    double *phi = walk->phi + (size_t)node->feature * BLOCK;
    for (int side = 0; side < 2; side++) {
        int32_t child = children[side];
        int32_t previous = p->previous[child];
        const double *one_previous = previous >= 0 ? w->one + previous * BLOCK : ones;
        for (int r = 0; r < BLOCK; r++)
            one[r] = (side == 0 ? left[r] : 1.0 - left[r]) * one_previous[r];
        const double *down = p->down + (size_t)child * 3 * Q;
        for (int q = 0; q < Q; q++) {
            double d0 = down[q], d1 = down[Q + q], d2 = down[2 * Q + q];
            for (int r = 0; r < BLOCK; r++) {
                double factor = d0 + one_previous[r] * (d1 - d0) + one[r] * (d2 - d1);
                child_path[q * BLOCK + r] = path[q * BLOCK + r] * factor;
            }
        }
        for (size_t i = 0; i < QB; i++) child_repeats[i] = 0.0;
        w->element[depth + 1] = child;
        if (previous >= 0) w->superseded[previous] = 1;
        visit(walk, child, depth + 1);
        if (previous >= 0) w->superseded[previous] = 0;
        /* This element's contribution, from the leaves below it that are not under a later
         * split on the same feature (those count for that later element). */
        const double *up = p->up + (size_t)child * 2 * Q;
        for (int q = 0; q < Q; q++) {
            double u0 = up[q], u1 = up[Q + q];
            for (int r = 0; r < BLOCK; r++) {
                size_t x = (size_t)q * BLOCK + r;
                phi[r] += (u0 + one[r] * (u1 - u0)) * (child_below[x] - child_repeats[x]);
            }
        }
        if (previous >= 0) {
            double *repeats = w->repeats + previous * QB;
            for (size_t i = 0; i < QB; i++) repeats[i] += child_below[i];
        }
        for (size_t i = 0; i < QB; i++) below[i] += child_below[i];
    }
}

void gbx_tree_shap_explain(const gbx_tree_shap *shap, gbx_tree_shap_workspace *w,
                           const double *rows, size_t count, double *values, double *interactions)
{
    size_t M = shap->features, K = shap->outputs;
    if (interactions) memset(interactions, 0, count * K * M * M * sizeof(double));
    for (size_t start = 0; start < count; start += BLOCK) {
        size_t n = count - start < BLOCK ? count - start : BLOCK;
        /* Transpose the block; padding rows repeat the first row and are never written out. */
        for (size_t f = 0; f < M; f++)
            for (size_t r = 0; r < BLOCK; r++)
                w->x[f * BLOCK + r] = rows[(start + (r < n ? r : 0)) * M + f];
        memset(w->phi, 0, K * M * BLOCK * sizeof(double));
        for (size_t t = 0; t < shap->tree_count; t++) {
            const prepared_tree *p = &shap->trees[t];
            traversal walk = {p, w, w->phi + (size_t)p->tree->output * M * BLOCK,
                              interactions ? interactions + start * K * M * M : NULL, n, M, K,
                              p->tree->output};
            for (size_t i = 0; i < (size_t)p->points * BLOCK; i++) w->path[i] = 1.0;
            visit(&walk, 0, 0);
        }
        for (size_t r = 0; r < n; r++)
            for (size_t k = 0; k < K; k++)
                for (size_t f = 0; f < M; f++)
                    values[((start + r) * K + k) * M + f] = w->phi[(k * M + f) * BLOCK + r];
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
