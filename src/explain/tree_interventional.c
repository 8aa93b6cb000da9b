#include "tree_interventional.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DISTINCT 64
/* Leaves with at most this many distinct path features may get a table over all 2^d row
 * patterns; the tables of all trees together stay within the table budget (trees are served
 * in order, so the choice does not depend on the thread count). */
#define TABLE_MAX_DISTINCT 12

typedef struct {
    uint64_t pattern; /* bit j: the background row satisfies the path's splits on feature j */
    double share;     /* fraction of background rows with this pattern */
} pattern_share;

typedef struct {
    int32_t node;
    int distinct;                 /* distinct features on the path */
    size_t first_pattern, patterns;
    size_t table;                 /* offset of its [2^d][d] table in the tree's tables, or
                                   * NO_TABLE when the patterns are walked for every row */
} leaf_summary;

#define NO_TABLE SIZE_MAX

typedef struct {
    const gbx_tree *tree;
    int8_t *bit;             /* per node: bit of the feature split by its parent */
    uint8_t *first;          /* per node: the parent's feature is new on the path */
    int32_t *order;          /* the split nodes, each before its children */
    size_t split_count;
    int32_t *leaf_index;     /* per node: index into leaves, or -1 */
    int32_t *feature_of_bit; /* [leaf][MAX_DISTINCT] */
    leaf_summary *leaves;
    size_t leaf_count;
    pattern_share *patterns;
    size_t table_size;       /* doubles in all the leaves' tables */
    double *tables;          /* kept from prepare when within the budget, else NULL */
    int depth;
} summarised_tree;

struct gbx_interventional {
    const gbx_model *model;
    gbx_output_space space;
    summarised_tree *trees;
    size_t tree_count;
    double *background;             /* [rows][features] */
    double *background_margins;    /* [rows][outputs] */
    double *background_weights;    /* [rows] of a weighted summary, or NULL */
    size_t background_rows;
    size_t P;                       /* players: features, or groups of them */
    int32_t *player;                /* [features] */
    double *base_values;
    double beta[MAX_DISTINCT + 1][MAX_DISTINCT + 1]; /* a! b! / (a + b + 1)! */
    size_t max_leaves;      /* nodes of the largest tree (scratch sizes) */
    size_t max_leaf_count;  /* leaves of the largest tree */
    size_t max_table_size;  /* doubles, the largest tree's tables */
    int max_depth;
};

typedef struct gbx_interventional_workspace {
    uint64_t *leaf_pattern;  /* per leaf of the current tree */
    uint64_t *node_pattern;  /* per node of the current tree */
    double *pair;            /* [outputs][players] */
    uint8_t *state;          /* per player: 0 free, 1 from x, 2 from the background row */
    int32_t *assigned;       /* players assigned on the current path */
} gbx_interventional_workspace;

/* ---- summarising the trees and the background ---- */

typedef struct {
    summarised_tree *s;
    int32_t *bit_of_feature; /* per player: -1 when it is not on the path */
    const int32_t *player;   /* [features] */
    int distinct;
} shape_walk;

static gbx_status shape(shape_walk *walk, int32_t id, int depth, size_t tree_index,
                        gbx_error *error)
{
    summarised_tree *s = walk->s;
    const gbx_node *node = &s->tree->nodes[id];
    if (depth > s->depth) s->depth = depth;
    if (node->kind == GBX_NODE_LEAF) {
        s->leaf_index[id] = (int32_t)s->leaf_count;
        leaf_summary *leaf = &s->leaves[s->leaf_count++];
        leaf->node = id;
        leaf->distinct = walk->distinct;
        return GBX_OK;
    }
    s->order[s->split_count++] = id;
    int32_t feature = walk->player[node->feature], saved = walk->bit_of_feature[feature];
    if (saved < 0 && walk->distinct == MAX_DISTINCT)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "tree %zu: a path tests more than %d distinct "
                        "features, beyond interventional TreeSHAP's limit", tree_index,
                        MAX_DISTINCT);
    int32_t children[2] = {node->left, node->right};
    for (int side = 0; side < 2; side++) {
        int32_t child = children[side];
        s->first[child] = saved < 0;
        s->bit[child] = (int8_t)(saved >= 0 ? saved : walk->distinct);
        if (saved < 0) walk->bit_of_feature[feature] = walk->distinct++;
        gbx_status status = shape(walk, child, depth + 1, tree_index, error);
        if (saved < 0) walk->bit_of_feature[feature] = -1, walk->distinct--;
        if (status != GBX_OK) return status;
    }
    return GBX_OK;
}

/* Records the players by bit for each leaf (second walk, leaves already numbered). */
static void record_features(summarised_tree *s, int32_t id, const int32_t *player,
                            int32_t *path_features)
{
    const gbx_node *node = &s->tree->nodes[id];
    if (node->kind == GBX_NODE_LEAF) {
        int32_t *out = s->feature_of_bit + (size_t)s->leaf_index[id] * MAX_DISTINCT;
        memcpy(out, path_features, MAX_DISTINCT * sizeof(int32_t));
        return;
    }
    int32_t children[2] = {node->left, node->right};
    for (int side = 0; side < 2; side++) {
        int32_t child = children[side];
        path_features[s->bit[child]] = player[node->feature];
        record_features(s, child, player, path_features);
    }
}

/* Pattern of one row at every leaf of a tree: bit j set when the row satisfies all splits of
 * the leaf's path on its j-th feature. One pass over the splits, parents first; node_pattern
 * is scratch with one entry per node. */
static void row_patterns(const summarised_tree *s, const double *row, uint64_t *node_pattern,
                         uint64_t *out)
{
    const gbx_node *nodes = s->tree->nodes;
    node_pattern[0] = 0;
    for (size_t i = 0; i < s->split_count; i++) {
        int32_t id = s->order[i];
        const gbx_node *node = &nodes[id];
        uint64_t pattern = node_pattern[id];
        int left = gbx_node_goes_left(node, s->tree->categories, row[node->feature]);
        int32_t children[2] = {node->left, node->right};
        for (int side = 0; side < 2; side++) {
            int32_t child = children[side];
            uint64_t next = gbx_pattern_step(pattern, s->bit[child], s->first[child],
                                             side == 0 ? left : !left);
            if (s->leaf_index[child] >= 0) out[s->leaf_index[child]] = next;
            else node_pattern[child] = next;
        }
    }
    if (s->split_count == 0) out[0] = 0; /* a lone leaf */
}

static int compare_patterns(const void *a, const void *b)
{
    uint64_t x = ((const pattern_share *)a)->pattern, y = ((const pattern_share *)b)->pattern;
    return x < y ? -1 : x > y;
}

/* Shapes a tree and keeps the background's pattern histogram of the leaves that will walk it
 * (more than TABLE_MAX_DISTINCT features, or tables off); tabled leaves are built straight
 * from the background (fill_tables) and keep nothing per pattern. */
static gbx_status summarise_tree(const gbx_tree *tree, size_t tree_index, const gbx_data *background,
                                 size_t features, const int32_t *player, size_t players,
                                 int tables, summarised_tree *s, gbx_error *error)
{
    size_t n = tree->node_count, N = background->rows;
    s->tree = tree;
    s->bit = gbx_calloc(n, 1);
    s->first = gbx_calloc(n, 1);
    s->leaf_index = gbx_malloc_array(n, sizeof(int32_t));
    s->order = gbx_malloc_array(n, sizeof(int32_t));
    s->leaves = gbx_calloc(n, sizeof(leaf_summary));
    int32_t *bit_of_feature = gbx_malloc_array(players ? players : 1, sizeof(int32_t));
    if (!s->bit || !s->first || !s->leaf_index || !s->order || !s->leaves || !bit_of_feature) {
        free(bit_of_feature);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) s->leaf_index[i] = -1;
    for (size_t f = 0; f < players; f++) bit_of_feature[f] = -1;
    shape_walk walk = {s, bit_of_feature, player, 0};
    gbx_status status = shape(&walk, 0, 0, tree_index, error);
    free(bit_of_feature);
    if (status != GBX_OK) return status;
    int32_t path_features[MAX_DISTINCT] = {0};
    s->feature_of_bit = gbx_calloc(s->leaf_count * MAX_DISTINCT, sizeof(int32_t));
    pattern_share *by_leaf = gbx_malloc_array(s->leaf_count * (N ? N : 1), sizeof(pattern_share));
    uint64_t *one_row = gbx_malloc_array(s->leaf_count, sizeof(uint64_t));
    uint64_t *node_pattern = gbx_malloc_array(n, sizeof(uint64_t));
    s->patterns = gbx_malloc_array(s->leaf_count * (N ? N : 1), sizeof(pattern_share));
    if (!s->feature_of_bit || !by_leaf || !one_row || !node_pattern || !s->patterns) {
        free(by_leaf);
        free(one_row);
        free(node_pattern);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory summarising the background");
    }
    record_features(s, 0, player, path_features);
    for (size_t b = 0; b < N; b++) {
        row_patterns(s, background->values + b * features, node_pattern, one_row);
        for (size_t l = 0; l < s->leaf_count; l++) {
            by_leaf[l * N + b].pattern = one_row[l];
            by_leaf[l * N + b].share = background->weights ? background->weights[b] : 1.0 / (double)N;
        }
    }
    /* Histogram per leaf; patterns that can never reach the leaf together with any row still
     * matter (the row may supply the missing features), so all distinct patterns are kept. */
    size_t used = 0;
    for (size_t l = 0; l < s->leaf_count; l++) {
        pattern_share *list = by_leaf + l * N;
        s->leaves[l].first_pattern = used;
        int d = s->leaves[l].distinct;
        if (d == 0 || (tables && d <= TABLE_MAX_DISTINCT)) {
            s->leaves[l].patterns = 0;
            continue;
        }
        qsort(list, N, sizeof(pattern_share), compare_patterns);
        for (size_t b = 0; b < N;) {
            size_t same = b;
            double share = 0.0;
            while (same < N && list[same].pattern == list[b].pattern) share += list[same++].share;
            s->patterns[used].pattern = list[b].pattern;
            /* Equal weights: the count over N, exactly. */
            s->patterns[used].share = background->weights ? share : (double)(same - b) / (double)N;
            used++;
            b = same;
        }
        s->leaves[l].patterns = used - s->leaves[l].first_pattern;
    }
    free(by_leaf);
    free(one_row);
    free(node_pattern);
    return GBX_OK;
}

/* A leaf's table: what it adds to each of its d path features for every row pattern o, built
 * from the background histogram so that a row then costs O(d) at the leaf, whatever the
 * background. With F_k(m) the share of background patterns of popcount k that contain m (a
 * superset sum within each layer k), m = ~o and z = |m|:
 *   feature j outside o:  -v sum_k beta[d-k][z-1] F_k(m)                     = -v S(m)
 *   feature j inside o:    v sum_k beta[d-k-1][z] (F_k(m) - F_k(m + j))      = v (A(m) - B(m + j))
 * with A(m) = sum_k beta[d-k-1][|m|] F_k(m) and B(m) = sum_k beta[d-k-1][|m|-1] F_k(m): this
 * regroups by |p| the per-pattern terms of the histogram walk (explain_tree_raw). The layered
 * sums cost O(2^d d^2); layers holds (d+1) 2^d + 3 2^d doubles. */
static void leaf_table(const gbx_interventional *iv, const summarised_tree *s, size_t l,
                       const uint64_t *patterns, double *layers, double *table)
{
    const leaf_summary *leaf = &s->leaves[l];
    int d = leaf->distinct;
    size_t size = (size_t)1 << d, full = size - 1, N = iv->background_rows;
    double value = s->tree->nodes[leaf->node].value, share = 1.0 / (double)N;
    const double *weight = iv->background_weights;
    double *A = layers + (size_t)(d + 1) * size, *B = A + size, *S = B + size;
    memset(layers, 0, (size_t)(d + 1) * size * sizeof(double));
    for (size_t b = 0; b < N; b++) {
        uint64_t p = patterns[b * s->leaf_count + l];
        layers[(size_t)__builtin_popcountll(p) * size + p] += weight ? weight[b] : share;
    }
    for (int k = 0; k <= d; k++) {
        double *F = layers + (size_t)k * size;
        for (int b = 0; b < d; b++)
            for (size_t m = 0; m < size; m++)
                if (!(m & ((size_t)1 << b))) F[m] += F[m | ((size_t)1 << b)];
    }
    for (size_t m = 0; m < size; m++) {
        int z = __builtin_popcountll(m);
        double a = 0.0, b = 0.0, subtract = 0.0;
        for (int k = z; k <= d; k++) { /* F_k(m) is 0 below |m| */
            double F = layers[(size_t)k * size + m];
            if (k < d) a += iv->beta[d - k - 1][z] * F;
            if (k < d && z > 0) b += iv->beta[d - k - 1][z - 1] * F;
            if (z > 0) subtract += iv->beta[d - k][z - 1] * F;
        }
        A[m] = a, B[m] = b, S[m] = subtract;
    }
    for (size_t o = 0; o < size; o++) {
        size_t m = ~o & full;
        double *out = table + o * (size_t)d;
        for (int j = 0; j < d; j++) {
            size_t bit = (size_t)1 << j;
            out[j] = o & bit ? value * (A[m] - B[m | bit]) : -value * S[m];
        }
    }
}

/* Doubles of a leaf's layered sums at the largest table size. */
#define LAYERS_SIZE (((size_t)TABLE_MAX_DISTINCT + 4) << TABLE_MAX_DISTINCT)

/* Lays out the tables of a tree's leaves with few enough distinct features (none when tables
 * are off). */
static void plan_tables(summarised_tree *s, int enabled)
{
    s->table_size = 0;
    for (size_t l = 0; l < s->leaf_count; l++) {
        leaf_summary *leaf = &s->leaves[l];
        leaf->table = NO_TABLE;
        /* A leaf with no split above it (a one-leaf tree) adds nothing to any feature. */
        if (!enabled || leaf->distinct == 0 || leaf->distinct > TABLE_MAX_DISTINCT) continue;
        leaf->table = s->table_size;
        s->table_size += ((size_t)1 << leaf->distinct) * (size_t)leaf->distinct;
    }
}

/* Fills a tree's tables inside a parallel region: the background rows' patterns at every leaf
 * first (patterns: [rows][leaves], shared), then the leaves, both shared among the threads.
 * node_pattern is the thread's scratch; a thread without layers marks nothing and the caller
 * reports the failure. */
static void fill_tables(const gbx_interventional *iv, const summarised_tree *s, double *layers,
                        uint64_t *node_pattern, uint64_t *patterns, double *tables)
{
    size_t M = iv->model->features;
#pragma omp for schedule(static)
    for (size_t b = 0; b < iv->background_rows; b++)
        if (node_pattern)
            row_patterns(s, iv->background + b * M, node_pattern, patterns + b * s->leaf_count);
#pragma omp for schedule(dynamic, 4)
    for (size_t l = 0; l < s->leaf_count; l++)
        if (layers && s->leaves[l].table != NO_TABLE)
            leaf_table(iv, s, l, patterns, layers, tables + s->leaves[l].table);
}

static gbx_status fill_kept_tables(const gbx_interventional *iv, int threads)
{
    uint64_t *patterns = gbx_malloc_array(iv->background_rows * (iv->max_leaf_count ? iv->max_leaf_count : 1),
                                          sizeof(uint64_t));
    int failed = !patterns;
#pragma omp parallel num_threads(threads) if (!failed)
    {
        double *layers = gbx_malloc_array(LAYERS_SIZE, sizeof(double));
        uint64_t *node_pattern = gbx_malloc_array(iv->max_leaves, sizeof(uint64_t));
        if (!layers || !node_pattern) {
#pragma omp atomic write
            failed = 1;
        }
        /* Every thread meets the same work-sharing loops; fill_tables skips work it cannot do. */
        for (size_t t = 0; t < iv->tree_count; t++)
            if (iv->trees[t].tables)
                fill_tables(iv, &iv->trees[t], layers, node_pattern, patterns, iv->trees[t].tables);
        free(layers);
        free(node_pattern);
    }
    free(patterns);
    return failed ? GBX_ERR_NOMEM : GBX_OK;
}

static void free_summary(summarised_tree *s)
{
    free(s->tables);
    free(s->bit); free(s->first); free(s->leaf_index); free(s->order); free(s->feature_of_bit); free(s->leaves);
    free(s->patterns);
}

void gbx_interventional_free(gbx_interventional *iv)
{
    if (!iv) return;
    if (iv->trees)
        for (size_t t = 0; t < iv->tree_count; t++) free_summary(&iv->trees[t]);
    free(iv->trees);
    free(iv->background);
    free(iv->background_margins);
    free(iv->background_weights);
    free(iv->base_values);
    free(iv->player);
    free(iv);
}

gbx_status gbx_interventional_prepare(const gbx_model *model, const gbx_data *background,
                                      const gbx_players *players, gbx_output_space space,
                                      int threads, size_t table_budget,
                                      gbx_interventional **out, gbx_error *error)
{
    if (background->rows == 0)
        return gbx_fail(error, GBX_ERR_USAGE, "the background data set has no rows");
    if (space == GBX_SPACE_PROBABILITY && model->link != GBX_LINK_LOGIT &&
        model->link != GBX_LINK_SOFTMAX)
        return gbx_fail(error, GBX_ERR_USAGE, "output space probability needs a logistic or "
                        "softmax model; objective \"%s\" is not", model->objective);
    if (model->outputs > 64)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "more than 64 outputs");
    gbx_interventional *iv = calloc(1, sizeof *iv);
    if (!iv) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    iv->model = model;
    iv->space = space;
    size_t N = background->rows, M = model->features, K = model->outputs;
    iv->background_rows = N;
    iv->tree_count = model->trees->tree_count;
    iv->trees = gbx_calloc(iv->tree_count, sizeof(summarised_tree));
    iv->base_values = gbx_calloc(K, sizeof(double));
    iv->background_margins = gbx_malloc_array(N * K, sizeof(double));
    gbx_status status = iv->trees && iv->base_values && iv->background_margins
                            ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status == GBX_OK) status = gbx_players_copy(players, M, &iv->player, &iv->P, error);
    for (int a = 0; a <= MAX_DISTINCT; a++)
        for (int b = 0; b <= MAX_DISTINCT; b++)
            iv->beta[a][b] = a == 0 ? (b == 0 ? 1.0 : iv->beta[0][b - 1] * b / (b + 1))
                                    : iv->beta[a - 1][b] * a / (a + b + 1);
    if (status == GBX_OK) {
        iv->background = gbx_malloc_array(N * (M ? M : 1), sizeof(double));
        if (!iv->background) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        else memcpy(iv->background, background->values, N * M * sizeof(double));
    }
    if (status == GBX_OK && background->weights) {
        if (!(iv->background_weights = gbx_malloc_array(N, sizeof(double))))
            status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        else
            memcpy(iv->background_weights, background->weights, N * sizeof(double));
    }
    /* Each tree keeps its own error; the first failing tree's is reported, whatever the
     * thread count. */
    gbx_error *tree_errors = status == GBX_OK && space == GBX_SPACE_RAW
                                 ? gbx_calloc(iv->tree_count, sizeof(gbx_error)) : NULL;
    if (status == GBX_OK && space == GBX_SPACE_RAW && !tree_errors)
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (tree_errors) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (size_t t = 0; t < iv->tree_count; t++)
            summarise_tree(&model->trees->trees[t], t, background, M, iv->player, iv->P,
                           table_budget > 0, &iv->trees[t], &tree_errors[t]);
        for (size_t t = 0; t < iv->tree_count && status == GBX_OK; t++)
            if (tree_errors[t].status != GBX_OK) {
                status = tree_errors[t].status;
                if (error) *error = tree_errors[t];
            }
        for (size_t t = 0; t < iv->tree_count; t++) {
            if (model->trees->trees[t].node_count > iv->max_leaves)
                iv->max_leaves = model->trees->trees[t].node_count;
            if (iv->trees[t].leaf_count > iv->max_leaf_count)
                iv->max_leaf_count = iv->trees[t].leaf_count;
        }
        /* Tables kept for the trees that fit the budget, first trees first; the others are
         * rebuilt for each call of gbx_interventional_explain. Budget 0: no tables at all. */
        size_t budget = table_budget;
        for (size_t t = 0; status == GBX_OK && t < iv->tree_count; t++) {
            summarised_tree *s = &iv->trees[t];
            plan_tables(s, table_budget > 0);
            size_t bytes = s->table_size * sizeof(double);
            if (s->table_size > iv->max_table_size) iv->max_table_size = s->table_size;
            if (bytes > budget || !s->table_size) continue;
            if (!(s->tables = gbx_malloc_array(s->table_size, sizeof(double))))
                status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory for background tables");
            budget -= bytes;
        }
        if (status == GBX_OK && fill_kept_tables(iv, threads) != GBX_OK)
            status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory building background tables");
        free(tree_errors);
    }
    for (size_t t = 0; status == GBX_OK && t < iv->tree_count; t++) {
        const gbx_tree *tree = &model->trees->trees[t];
        if (space == GBX_SPACE_PROBABILITY) iv->trees[t].tree = tree;
        if ((size_t)tree->node_count > iv->max_leaves) iv->max_leaves = tree->node_count;
    }
    /* Base value: the mean model output over the background, in the explained space. */
    for (size_t b = 0; status == GBX_OK && b < N; b++) {
        double *margin = iv->background_margins + b * K;
        gbx_tree_ensemble_margin(model, background->values + b * M, margin);
        double transformed[64];
        memcpy(transformed, margin, K * sizeof(double));
        if (space == GBX_SPACE_PROBABILITY) model->transform(model, transformed);
        for (size_t k = 0; k < K; k++)
            iv->base_values[k] += background->weights ? background->weights[b] * transformed[k]
                                                      : transformed[k] / (double)N;
    }
    int depth = 0;
    for (size_t t = 0; status == GBX_OK && t < iv->tree_count; t++) {
        int tree_depth = 0;
        const gbx_tree *tree = &model->trees->trees[t];
        if (space == GBX_SPACE_RAW) tree_depth = iv->trees[t].depth;
        else tree_depth = (int)tree->node_count; /* a safe bound for the joint walk */
        if (tree_depth > depth) depth = tree_depth;
    }
    iv->max_depth = depth;
    if (status != GBX_OK) {
        gbx_interventional_free(iv);
        return status;
    }
    *out = iv;
    return GBX_OK;
}

void gbx_interventional_base_values(const gbx_interventional *iv, double *out)
{
    memcpy(out, iv->base_values, iv->model->outputs * sizeof(double));
}

static void workspace_free(gbx_interventional_workspace *w)
{
    if (!w) return;
    free(w->leaf_pattern); free(w->node_pattern); free(w->pair); free(w->state); free(w->assigned);
    free(w);
}

static gbx_interventional_workspace *workspace_new(const gbx_interventional *iv)
{
    gbx_interventional_workspace *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    size_t P = iv->P ? iv->P : 1;
    w->leaf_pattern = gbx_calloc(iv->max_leaves, sizeof(uint64_t));
    w->node_pattern = gbx_calloc(iv->max_leaves, sizeof(uint64_t));
    w->pair = gbx_calloc(iv->model->outputs * P, sizeof(double));
    w->state = gbx_calloc(P, 1);
    w->assigned = gbx_calloc((size_t)iv->max_depth + 1, sizeof(int32_t));
    if (!w->leaf_pattern || !w->node_pattern || !w->pair || !w->state || !w->assigned) {
        workspace_free(w);
        return NULL;
    }
    return w;
}


/* ---- raw space: the background enters through the pattern histograms ---- */

static void explain_tree_raw(const gbx_interventional *iv, const summarised_tree *s,
                             const double *tables, uint64_t *node_pattern,
                             uint64_t *leaf_pattern, const double *row,
                             double *phi)
{
    row_patterns(s, row, node_pattern, leaf_pattern);
    for (size_t l = 0; l < s->leaf_count; l++) {
        const leaf_summary *leaf = &s->leaves[l];
        int d = leaf->distinct;
        if (leaf->table != NO_TABLE) {
            const double *add = tables + leaf->table + leaf_pattern[l] * (uint64_t)d;
            const int32_t *feature = s->feature_of_bit + l * MAX_DISTINCT;
            for (int j = 0; j < d; j++) phi[feature[j]] += add[j];
            continue;
        }
        uint64_t full = d == 64 ? ~(uint64_t)0 : (((uint64_t)1 << d) - 1);
        uint64_t o = leaf_pattern[l], need = ~o & full;
        int z_count = __builtin_popcountll(need);
        double value = s->tree->nodes[leaf->node].value, subtract = 0.0;
        const int32_t *feature = s->feature_of_bit + l * MAX_DISTINCT;
        const pattern_share *p = s->patterns + leaf->first_pattern;
        for (size_t i = 0; i < leaf->patterns; i++) {
            uint64_t pattern = p[i].pattern;
            if ((pattern & need) != need) continue; /* no hybrid row reaches the leaf */
            uint64_t x_only = ~pattern & full;
            int x_count = __builtin_popcountll(x_only);
            if (x_count + z_count == 0) continue;
            double weight = value * p[i].share;
            if (x_count) {
                double add = weight * iv->beta[x_count - 1][z_count];
                for (uint64_t bits = x_only; bits; bits &= bits - 1)
                    phi[feature[__builtin_ctzll(bits)]] += add;
            }
            if (z_count) subtract += weight * iv->beta[x_count][z_count - 1];
        }
        if (subtract != 0.0)
            for (uint64_t bits = need; bits; bits &= bits - 1)
                phi[feature[__builtin_ctzll(bits)]] -= subtract;
    }
}

/* ---- probability space: one background row at a time ---- */

typedef struct {
    const gbx_interventional *iv;
    gbx_interventional_workspace *w;
    const double *x, *reference;
    double *phi;
} pair_walk;

static void walk_pair(const pair_walk *p, const gbx_tree *tree, int32_t id, int x_count,
                      int z_count, int assigned)
{
    const gbx_node *node = &tree->nodes[id];
    gbx_interventional_workspace *w = p->w;
    if (node->kind == GBX_NODE_LEAF) {
        if (x_count + z_count == 0) return;
        double add = x_count ? node->value * p->iv->beta[x_count - 1][z_count] : 0.0;
        double subtract = z_count ? node->value * p->iv->beta[x_count][z_count - 1] : 0.0;
        for (int i = 0; i < assigned; i++) {
            int32_t f = w->assigned[i];
            p->phi[f] += w->state[f] == 1 ? add : -subtract;
        }
        return;
    }
    int32_t column = node->feature, f = p->iv->player[column];
    int x_left = gbx_node_goes_left(node, tree->categories, p->x[column]);
    int r_left = gbx_node_goes_left(node, tree->categories, p->reference[column]);
    if (w->state[f] || x_left == r_left) {
        int left = w->state[f] == 2 ? r_left : x_left;
        walk_pair(p, tree, left ? node->left : node->right, x_count, z_count, assigned);
        return;
    }
    w->assigned[assigned] = f;
    w->state[f] = 1;
    walk_pair(p, tree, x_left ? node->left : node->right, x_count + 1, z_count, assigned + 1);
    w->state[f] = 2;
    walk_pair(p, tree, r_left ? node->left : node->right, x_count, z_count + 1, assigned + 1);
    w->state[f] = 0;
}

static void explain_row_probability(const gbx_interventional *iv, gbx_interventional_workspace *w,
                                    const double *row, double *phi, double *prediction)
{
    const gbx_model *model = iv->model;
    size_t K = model->outputs, M = model->features, P = iv->P, N = iv->background_rows;
    double margin_x[64], p_x[64];
    gbx_tree_ensemble_margin(model, row, margin_x);
    memcpy(p_x, margin_x, K * sizeof(double));
    model->transform(model, p_x);
    memcpy(prediction, p_x, K * sizeof(double));
    for (size_t b = 0; b < N; b++) {
        const double *margin_r = iv->background_margins + b * K;
        double p_r[64];
        memcpy(p_r, margin_r, K * sizeof(double));
        model->transform(model, p_r);
        memset(w->pair, 0, K * P * sizeof(double));
        for (size_t t = 0; t < iv->tree_count; t++) {
            const gbx_tree *tree = iv->trees[t].tree;
            pair_walk p = {iv, w, row, iv->background + b * M, w->pair + (size_t)tree->output * P};
            walk_pair(&p, tree, 0, 0, 0, 0);
        }
        for (size_t k = 0; k < K; k++) {
            double difference = margin_x[k] - margin_r[k];
            double scale = difference == 0.0 ? 1.0 : (p_x[k] - p_r[k]) / difference;
            double weight = iv->background_weights ? iv->background_weights[b] : 1.0 / (double)N;
            for (size_t f = 0; f < P; f++) phi[k * P + f] += w->pair[k * P + f] * scale * weight;
        }
    }
}

/* Raw space runs tree by tree over all the rows, so each tree's tables are built (when not
 * kept) and read while they sit in cache; each row is still summed tree by tree in order, so
 * the result does not depend on the thread count. Probability space walks pairs row by row. */
gbx_status gbx_interventional_explain(const gbx_interventional *iv, const double *rows,
                                      size_t count, double *values, double *predictions,
                                      int threads, gbx_error *error)
{
    const gbx_model *model = iv->model;
    size_t K = model->outputs, M = model->features, P = iv->P, rebuilt = 0;
    memset(values, 0, count * K * P * sizeof(double));
    int raw = iv->space == GBX_SPACE_RAW;
    for (size_t t = 0; raw && t < iv->tree_count; t++)
        if (!iv->trees[t].tables && iv->trees[t].table_size > rebuilt)
            rebuilt = iv->trees[t].table_size;
    double *scratch = rebuilt ? gbx_malloc_array(rebuilt, sizeof(double)) : NULL;
    uint64_t *patterns = rebuilt ? gbx_malloc_array(iv->background_rows * iv->max_leaf_count,
                                                    sizeof(uint64_t)) : NULL;
    int failed = rebuilt && (!scratch || !patterns);
#pragma omp parallel num_threads(threads) if (!failed)
    {
        gbx_interventional_workspace *w = workspace_new(iv);
        double *layers = scratch ? gbx_malloc_array(LAYERS_SIZE, sizeof(double)) : NULL;
        if (!w || (scratch && !layers)) {
#pragma omp atomic write
            failed = 1;
        }
        for (size_t t = 0; raw && t < iv->tree_count; t++) {
            const summarised_tree *s = &iv->trees[t];
            const double *tables = s->tables;
            if (!tables && s->table_size) {
                fill_tables(iv, s, layers, w ? w->node_pattern : NULL, patterns, scratch);
                tables = scratch;
            }
#pragma omp for schedule(static)
            for (size_t r = 0; r < count; r++)
                if (w)
                    explain_tree_raw(iv, s, tables, w->node_pattern, w->leaf_pattern, rows + r * M,
                                     values + r * K * P + (size_t)s->tree->output * P);
        }
#pragma omp for schedule(dynamic, 16)
        for (size_t r = 0; r < count; r++) {
            if (!w) continue;
            if (raw)
                gbx_tree_ensemble_margin(model, rows + r * M, predictions + r * K);
            else
                explain_row_probability(iv, w, rows + r * M, values + r * K * P,
                                        predictions + r * K);
        }
        free(layers);
        workspace_free(w);
    }
    free(scratch);
    free(patterns);
    if (failed) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory explaining %zu rows", count);
    return GBX_OK;
}

/* ---- the method's row: interventional TreeSHAP against a background --------------------- */
#include "method.h"

static gbx_status interventional_prepare(gbx_explainer *x, const gbx_data *background,
                                         gbx_error *error)
{
    gbx_interventional *interventional;
    gbx_status status = gbx_interventional_prepare(
        x->model, background, gbx_explainer_players(x), x->options.output_space, x->threads,
        GBX_INTERVENTIONAL_TABLE_BUDGET, &interventional, error);
    if (status != GBX_OK) return status;
    x->state = interventional;
    gbx_interventional_base_values(interventional, x->base_values);
    return GBX_OK;
}

static gbx_status interventional_explain(const gbx_explainer *x, const gbx_data *data,
                                         gbx_explanation *e, gbx_error *error)
{
    return gbx_interventional_explain(x->state, data->values, data->rows, e->values,
                                      e->predictions, x->threads, error);
}

static void interventional_release(void *state) { gbx_interventional_free(state); }

const gbx_method_row gbx_interventional_method = {
    GBX_METHOD_TREE_INTERVENTIONAL, "tree-interventional", "tree_interventional",
    METHOD_TREES | METHOD_BACKGROUND, "a background data set", 0, NULL,
    interventional_prepare, interventional_explain, gbx_background_parameters, interventional_release};
