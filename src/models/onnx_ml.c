/* ONNX-ML models, as skl2onnx writes them: one model node (TreeEnsembleRegressor,
 * TreeEnsembleClassifier, opset 5's TreeEnsemble, LinearRegressor, LinearClassifier) reading
 * the graph input, followed only by bookkeeping (ZipMap, Normalizer, Cast, Identity, the label
 * output). The model node becomes glassbox's own tree ensemble or linear model, so TreeSHAP
 * and LinearSHAP apply.
 *
 * Outputs follow glassbox's convention, not ZipMap's: a binary classifier (two labels, one
 * score) has one output, the positive class's margin with a logit link under LOGISTIC, or its
 * probability under NONE; a multi-class one has one output per class. */
#include "onnx_proto.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- attributes --------------------------------------------------------------------------- */

static const int64_t *ints(const Onnx__NodeProto *node, const char *name, size_t *count)
{
    const Onnx__AttributeProto *a = gbx_onnx_attribute(node, name);
    *count = a ? a->n_ints : 0;
    return a ? a->ints : NULL;
}

static const float *floats(const Onnx__NodeProto *node, const char *name, size_t *count)
{
    const Onnx__AttributeProto *a = gbx_onnx_attribute(node, name);
    *count = a ? a->n_floats : 0;
    return a ? a->floats : NULL;
}

/* A STRING attribute compared with `text` (attribute strings are not NUL-terminated). */
static int string_is(const ProtobufCBinaryData *s, const char *text)
{
    return s->len == strlen(text) && memcmp(s->data, text, s->len) == 0;
}

static const ProtobufCBinaryData *string(const Onnx__NodeProto *node, const char *name)
{
    const Onnx__AttributeProto *a = gbx_onnx_attribute(node, name);
    return a && a->has_s ? &a->s : NULL;
}

typedef enum { POST_NONE, POST_LOGISTIC, POST_SOFTMAX, POST_OTHER } post_transform;

static post_transform post_transform_of(const Onnx__NodeProto *node)
{
    const ProtobufCBinaryData *s = string(node, "post_transform");
    if (!s || string_is(s, "NONE")) return POST_NONE;
    if (string_is(s, "LOGISTIC")) return POST_LOGISTIC;
    if (string_is(s, "SOFTMAX")) return POST_SOFTMAX;
    return POST_OTHER;
}

static const char *post_transform_name(post_transform p)
{
    return p == POST_NONE ? "NONE" : p == POST_LOGISTIC ? "LOGISTIC" : p == POST_SOFTMAX
           ? "SOFTMAX" : "SOFTMAX_ZERO or PROBIT";
}

/* Number of class labels (int64 or string labels). */
static size_t class_labels(const Onnx__NodeProto *node)
{
    const Onnx__AttributeProto *a = gbx_onnx_attribute(node, "classlabels_int64s");
    if (!a) a = gbx_onnx_attribute(node, "classlabels_ints");
    if (a && a->n_ints) return a->n_ints;
    a = gbx_onnx_attribute(node, "classlabels_strings");
    return a ? a->n_strings : 0;
}

/* ---- linear models ------------------------------------------------------------------------ */

static gbx_status linear_model(const char *path, const Onnx__NodeProto *node, int classifier,
                               size_t M, gbx_model *model, gbx_error *error)
{
    size_t coefficient_count, intercept_count;
    const float *coefficients = floats(node, "coefficients", &coefficient_count);
    const float *intercepts = floats(node, "intercepts", &intercept_count);
    if (!coefficients || coefficient_count == 0)
        return gbx_fail(error, GBX_ERR_PARSE, "%s: %s has no coefficients", path, node->op_type);
    size_t rows = classifier ? class_labels(node) : 1;
    if (!classifier) {
        const Onnx__AttributeProto *targets = gbx_onnx_attribute(node, "targets");
        rows = targets && targets->has_i && targets->i > 0 ? (size_t)targets->i : 1;
    }
    /* A binary classifier may carry one row of coefficients for its two labels. */
    if (classifier && rows == 2 && coefficient_count == M) rows = 1;
    if (rows == 0 || coefficient_count != rows * M)
        return gbx_fail(error, GBX_ERR_PARSE, "%s: %s has %zu coefficients; %zu features and "
                        "%zu outputs need %zu", path, node->op_type, coefficient_count, M, rows,
                        rows * M);
    if (intercepts && intercept_count != rows)
        return gbx_fail(error, GBX_ERR_PARSE, "%s: %s has %zu intercepts for %zu outputs", path,
                        node->op_type, intercept_count, rows);
    post_transform post = post_transform_of(node);
    /* Two rows that are each other's negatives under LOGISTIC: sigmoid(-z) = 1 - sigmoid(z),
     * so the second row alone is the binary model. */
    size_t first = 0, K = rows;
    if (classifier && rows == 2 && post == POST_LOGISTIC) {
        for (size_t f = 0; f < M; f++)
            if (coefficients[f] != -coefficients[M + f])
                return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: a two-class LinearClassifier "
                                "whose rows are not opposite scores each class on its own", path);
        if (intercepts && intercepts[0] != -intercepts[1])
            return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: a two-class LinearClassifier whose "
                            "intercepts are not opposite", path);
        first = 1;
        K = 1;
    }
    gbx_link link = GBX_LINK_IDENTITY;
    if (post == POST_LOGISTIC && K == 1) link = GBX_LINK_LOGIT;
    else if (post == POST_SOFTMAX && K > 1) link = GBX_LINK_SOFTMAX;
    else if (post != POST_NONE)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: %s with post_transform %s and %zu "
                        "outputs (glassbox reads NONE, LOGISTIC for binary models, SOFTMAX)",
                        path, node->op_type, post_transform_name(post), K);
    double *weights = gbx_malloc_array(K * M, sizeof(double));
    double *bias = gbx_calloc(K, sizeof(double));
    if (!weights || !bias) {
        free(weights);
        free(bias);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t k = 0; k < K; k++) {
        for (size_t f = 0; f < M; f++) weights[k * M + f] = coefficients[(first + k) * M + f];
        if (intercepts) bias[k] = intercepts[first + k];
    }
    model->objective = gbx_strdup(node->op_type);
    if (!model->objective) {
        free(weights);
        free(bias);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    return gbx_linear_init(model, K, M, weights, bias, link, error);
}

/* ---- tree ensembles ----------------------------------------------------------------------- */

typedef struct {
    const Onnx__NodeProto *node;
    const char *path;
    size_t count;                 /* nodes over all trees */
    const int64_t *tree_ids, *node_ids, *feature_ids, *true_ids, *false_ids, *missing_true;
    size_t missing_count;
    const float *thresholds, *hit_rates;
    const ProtobufCBinaryData *modes;
    size_t *order;                /* node indices sorted by (tree, node) */
    /* leaf weights */
    const int64_t *leaf_tree, *leaf_node, *leaf_output;
    const float *leaf_weight;
    size_t leaf_count;
    size_t *leaf_order;           /* leaf entries sorted by (tree, node) */
} ensemble_source;

static int compare_nodes(const void *a, const void *b, void *source)
{
    const ensemble_source *s = source;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (s->tree_ids[i] != s->tree_ids[j]) return s->tree_ids[i] < s->tree_ids[j] ? -1 : 1;
    if (s->node_ids[i] != s->node_ids[j]) return s->node_ids[i] < s->node_ids[j] ? -1 : 1;
    return 0;
}

static int compare_leaves(const void *a, const void *b, void *source)
{
    const ensemble_source *s = source;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (s->leaf_tree[i] != s->leaf_tree[j]) return s->leaf_tree[i] < s->leaf_tree[j] ? -1 : 1;
    if (s->leaf_node[i] != s->leaf_node[j]) return s->leaf_node[i] < s->leaf_node[j] ? -1 : 1;
    return i < j ? -1 : i > j;
}

/* Index of node (tree, id), or SIZE_MAX. */
static size_t find_node(const ensemble_source *s, int64_t tree, int64_t id)
{
    size_t low = 0, high = s->count;
    while (low < high) {
        size_t middle = (low + high) / 2, m = s->order[middle];
        if (s->tree_ids[m] < tree || (s->tree_ids[m] == tree && s->node_ids[m] < id)) low = middle + 1;
        else high = middle;
    }
    if (low < s->count && s->tree_ids[s->order[low]] == tree && s->node_ids[s->order[low]] == id)
        return s->order[low];
    return SIZE_MAX;
}

/* Sum of a leaf's weights for one output. */
static double leaf_value(const ensemble_source *s, int64_t tree, int64_t id, int64_t output)
{
    size_t low = 0, high = s->leaf_count;
    while (low < high) {
        size_t middle = (low + high) / 2, m = s->leaf_order[middle];
        if (s->leaf_tree[m] < tree || (s->leaf_tree[m] == tree && s->leaf_node[m] < id)) low = middle + 1;
        else high = middle;
    }
    double value = 0;
    for (size_t k = low; k < s->leaf_count; k++) {
        size_t m = s->leaf_order[k];
        if (s->leaf_tree[m] != tree || s->leaf_node[m] != id) break;
        if (s->leaf_output[m] == output) value += s->leaf_weight[m];
    }
    return value;
}

enum { MODE_LEAF, MODE_LEQ, MODE_LT, MODE_GTE, MODE_GT, MODE_UNSUPPORTED };

static int mode_of(const ProtobufCBinaryData *mode)
{
    return string_is(mode, "LEAF") ? MODE_LEAF : string_is(mode, "BRANCH_LEQ") ? MODE_LEQ
         : string_is(mode, "BRANCH_LT") ? MODE_LT : string_is(mode, "BRANCH_GTE") ? MODE_GTE
         : string_is(mode, "BRANCH_GT") ? MODE_GT : MODE_UNSUPPORTED;
}

/* Builds the gbx_tree of one (tree, output): nodes renumbered breadth-first from the root.
 * ONNX compares in float32; x <= t in float is x < nextafter(t) in float, so every branch
 * becomes glassbox's float "less than" with the children ordered to match. */
static gbx_status build_tree(const ensemble_source *s, int64_t tree_id, size_t root,
                             size_t node_total, int64_t output, double scale, size_t M,
                             gbx_tree *tree, gbx_error *error)
{
    tree->nodes = gbx_calloc(node_total, sizeof(gbx_node));
    size_t *queue = gbx_malloc_array(node_total, sizeof(size_t));
    if (!tree->nodes || !queue) {
        free(queue);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    tree->output = (int)output;
    size_t made = 1;
    queue[0] = root;
    gbx_status status = GBX_OK;
    for (size_t q = 0; q < made && status == GBX_OK; q++) {
        size_t i = queue[q];
        gbx_node *node = &tree->nodes[q];
        node->cover = s->hit_rates ? s->hit_rates[i] : 1.0;
        int mode = mode_of(&s->modes[i]);
        if (mode == MODE_LEAF) {
            node->kind = GBX_NODE_LEAF;
            node->left = node->right = -1;
            node->value = leaf_value(s, tree_id, s->node_ids[i], output) * scale;
            continue;
        }
        if (mode == MODE_UNSUPPORTED) {
            status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "tree %lld node %lld: mode %.*s "
                              "(glassbox reads BRANCH_LEQ, BRANCH_LT, BRANCH_GTE, BRANCH_GT)",
                              (long long)tree_id, (long long)s->node_ids[i], (int)s->modes[i].len,
                              (const char *)s->modes[i].data);
            break;
        }
        if (s->feature_ids[i] < 0 || (size_t)s->feature_ids[i] >= M) {
            status = gbx_fail(error, GBX_ERR_PARSE, "tree %lld node %lld splits on feature %lld "
                              "of %zu", (long long)tree_id, (long long)s->node_ids[i],
                              (long long)s->feature_ids[i], M);
            break;
        }
        size_t when_true = find_node(s, tree_id, s->true_ids[i]);
        size_t when_false = find_node(s, tree_id, s->false_ids[i]);
        if (when_true == SIZE_MAX || when_false == SIZE_MAX || made + 2 > node_total) {
            status = gbx_fail(error, GBX_ERR_PARSE, "tree %lld node %lld: a child is missing or "
                              "the nodes do not form a tree", (long long)tree_id,
                              (long long)s->node_ids[i]);
            break;
        }
        float threshold = s->thresholds[i];
        int true_is_left = mode == MODE_LEQ || mode == MODE_LT;
        if (mode == MODE_LEQ || mode == MODE_GT) threshold = nextafterf(threshold, INFINITY);
        int tracks_true = i < s->missing_count && s->missing_true[i];
        node->kind = GBX_SPLIT_LESS_FLOAT;
        node->feature = (int32_t)s->feature_ids[i];
        node->threshold_float = threshold;
        node->threshold = threshold;
        /* A missing value takes the true branch when tracked, else the comparison fails. */
        node->default_left = (uint8_t)(tracks_true ? true_is_left : !true_is_left);
        node->left = (int32_t)made;
        node->right = (int32_t)made + 1;
        queue[made++] = true_is_left ? when_true : when_false;
        queue[made++] = true_is_left ? when_false : when_true;
    }
    tree->node_count = made;
    free(queue);
    if (status == GBX_OK && made != node_total)
        status = gbx_fail(error, GBX_ERR_PARSE, "tree %lld: %zu of its %zu nodes hang below the "
                          "root (its lowest node id)", (long long)tree_id, made, node_total);
    if (status != GBX_OK) return status;
    return gbx_tree_validate(tree, 0, M, error);
}

static gbx_status tree_ensemble(const char *path, const Onnx__NodeProto *node, int classifier,
                                size_t M, gbx_model *model, gbx_error *error)
{
    ensemble_source s = {.node = node, .path = path};
    size_t n[9];
    s.tree_ids = ints(node, "nodes_treeids", &n[0]);
    s.node_ids = ints(node, "nodes_nodeids", &n[1]);
    s.feature_ids = ints(node, "nodes_featureids", &n[2]);
    s.true_ids = ints(node, "nodes_truenodeids", &n[3]);
    s.false_ids = ints(node, "nodes_falsenodeids", &n[4]);
    s.thresholds = floats(node, "nodes_values", &n[5]);
    const Onnx__AttributeProto *modes = gbx_onnx_attribute(node, "nodes_modes");
    n[6] = modes ? modes->n_strings : 0;
    s.modes = modes ? modes->strings : NULL;
    s.missing_true = ints(node, "nodes_missing_value_tracks_true", &s.missing_count);
    s.hit_rates = floats(node, "nodes_hitrates", &n[7]);
    s.count = n[0];
    for (int a = 0; a < 7; a++)
        if (n[a] != s.count || !s.count)
            return gbx_fail(error, GBX_ERR_PARSE, "%s: %s: the nodes_* attributes differ in "
                            "length or are empty (nodes_values_as_tensor is not read)", path,
                            node->op_type);
    if (s.hit_rates && n[7] != s.count) s.hit_rates = NULL;
    const char *prefix = classifier ? "class_" : "target_";
    char key[4][32];
    snprintf(key[0], sizeof key[0], "%streeids", prefix);
    snprintf(key[1], sizeof key[1], "%snodeids", prefix);
    snprintf(key[2], sizeof key[2], "%sids", prefix);
    snprintf(key[3], sizeof key[3], "%sweights", prefix);
    size_t m[4];
    s.leaf_tree = ints(node, key[0], &m[0]);
    s.leaf_node = ints(node, key[1], &m[1]);
    s.leaf_output = ints(node, key[2], &m[2]);
    s.leaf_weight = floats(node, key[3], &m[3]);
    s.leaf_count = m[0];
    if (m[1] != m[0] || m[2] != m[0] || m[3] != m[0] || !m[0])
        return gbx_fail(error, GBX_ERR_PARSE, "%s: %s: the %s* attributes differ in length or "
                        "are empty", path, node->op_type, prefix);

    /* Outputs: the classes (one for the binary case, where every weight scores one class) or
     * the regression targets. */
    int64_t highest = 0;
    int single_class = 1;
    for (size_t j = 0; j < s.leaf_count; j++) {
        if (s.leaf_output[j] < 0 || s.leaf_output[j] > 4095)
            return gbx_fail(error, GBX_ERR_PARSE, "%s: leaf output %lld is out of range", path,
                            (long long)s.leaf_output[j]);
        if (s.leaf_output[j] > highest) highest = s.leaf_output[j];
        if (s.leaf_output[j] != s.leaf_output[0]) single_class = 0;
    }
    size_t labels = classifier ? class_labels(node) : 0, K;
    int binary = classifier && labels == 2 && single_class;
    if (binary) {
        K = 1;
    } else if (classifier) {
        K = labels;
    } else {
        const Onnx__AttributeProto *targets = gbx_onnx_attribute(node, "n_targets");
        K = targets && targets->has_i && targets->i > 0 ? (size_t)targets->i : (size_t)highest + 1;
    }
    if (K == 0 || (!binary && (size_t)highest >= K))
        return gbx_fail(error, GBX_ERR_PARSE, "%s: leaves score output %lld of %zu", path,
                        (long long)highest, K);
    post_transform post = post_transform_of(node);
    gbx_link link = GBX_LINK_IDENTITY;
    if (post == POST_LOGISTIC && K == 1) link = GBX_LINK_LOGIT;
    else if (post == POST_SOFTMAX && K > 1) link = GBX_LINK_SOFTMAX;
    else if (post != POST_NONE)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: %s with post_transform %s and %zu "
                        "outputs (glassbox reads NONE, LOGISTIC for binary models, SOFTMAX)",
                        path, node->op_type, post_transform_name(post), K);
    const ProtobufCBinaryData *aggregate = string(node, "aggregate_function");
    int average = aggregate && string_is(aggregate, "AVERAGE");
    if (aggregate && !average && !string_is(aggregate, "SUM"))
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: aggregate_function %.*s (SUM or "
                        "AVERAGE)", path, (int)aggregate->len, (const char *)aggregate->data);
    size_t base_count;
    const float *base = floats(node, "base_values", &base_count);
    if (base && base_count != K)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: %zu base_values for %zu outputs", path,
                        base_count, K);

    s.order = gbx_malloc_array(s.count, sizeof(size_t));
    s.leaf_order = gbx_malloc_array(s.leaf_count, sizeof(size_t));
    int64_t *roots = gbx_malloc_array(s.count, sizeof(int64_t)); /* tree id per distinct tree */
    size_t *root_index = gbx_malloc_array(s.count, sizeof(size_t));
    size_t *tree_size = gbx_calloc(s.count, sizeof(size_t));
    model->trees = calloc(1, sizeof *model->trees);
    gbx_status status = GBX_OK;
    if (!s.order || !s.leaf_order || !roots || !root_index || !tree_size || !model->trees ||
        !(model->trees->base_margin = gbx_calloc(K, sizeof(double))))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    size_t tree_count = 0;
    if (status == GBX_OK) {
        for (size_t j = 0; j < s.count; j++) s.order[j] = j;
        for (size_t j = 0; j < s.leaf_count; j++) s.leaf_order[j] = j;
        qsort_r(s.order, s.count, sizeof(size_t), compare_nodes, &s);
        qsort_r(s.leaf_order, s.leaf_count, sizeof(size_t), compare_leaves, &s);
        /* Trees in id order; each tree's root is its lowest node id (skl2onnx numbers it 0);
         * build_tree checks that every node hangs below it. */
        for (size_t j = 0; j < s.count && status == GBX_OK; j++) {
            size_t i = s.order[j];
            if (j > 0 && s.tree_ids[s.order[j - 1]] == s.tree_ids[i]) {
                if (s.node_ids[s.order[j - 1]] == s.node_ids[i])
                    status = gbx_fail(error, GBX_ERR_PARSE, "%s: tree %lld has node %lld twice",
                                      path, (long long)s.tree_ids[i], (long long)s.node_ids[i]);
                tree_size[tree_count - 1]++;
                continue;
            }
            roots[tree_count] = s.tree_ids[i];
            root_index[tree_count] = i;
            tree_size[tree_count++] = 1;
        }
    }
    /* One glassbox tree per (tree, output) that the tree scores. */
    size_t per_tree = binary ? 1 : K;
    if (status == GBX_OK &&
        !(model->trees->trees = gbx_calloc(tree_count * per_tree, sizeof(gbx_tree))))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    double scale = average ? 1.0 / (double)tree_count : 1.0;
    int has_cover = 0;
    for (size_t j = 0; s.hit_rates && j < s.count; j++) has_cover |= s.hit_rates[j] != 1.0f;
    for (size_t t = 0; t < tree_count && status == GBX_OK; t++)
        for (size_t k = 0; k < per_tree && status == GBX_OK; k++) {
            int64_t output = binary ? s.leaf_output[0] : (int64_t)k;
            int scores = 0;
            for (size_t j = 0; j < s.leaf_count && !scores; j++)
                scores = s.leaf_tree[j] == roots[t] && s.leaf_output[j] == output;
            if (!scores) continue;
            gbx_tree *tree = &model->trees->trees[model->trees->tree_count++];
            status = build_tree(&s, roots[t], root_index[t], tree_size[t], output, scale, M,
                                tree, error);
            tree->output = binary ? 0 : (int)k;
            if (status != GBX_OK) gbx_error_prefix(error, "%s: ", path);
        }
    free(s.order);
    free(s.leaf_order);
    free(roots);
    free(root_index);
    free(tree_size);
    if (status != GBX_OK) return status;
    for (size_t k = 0; k < K; k++) model->trees->base_margin[k] = base ? base[k] : 0.0;
    model->trees->has_cover = has_cover;
    model->features = M;
    model->link = link;
    model->transform = link == GBX_LINK_LOGIT     ? gbx_transform_sigmoid
                       : link == GBX_LINK_SOFTMAX ? gbx_transform_softmax
                                                  : gbx_transform_identity;
    if ((status = gbx_model_set_outputs(model, K, "output")) != GBX_OK)
        return gbx_fail(error, status, "out of memory");
    model->objective = gbx_strdup(node->op_type);
    return model->objective ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
}

/* ---- TreeEnsemble (ai.onnx.ml opset 5) ---------------------------------------------------- */

/* A tensor attribute read whole (float thresholds and weights, uint8 modes); count 0 when the
 * attribute is missing. */
static gbx_status tensor_attribute(const char *path, const Onnx__NodeProto *node,
                                   const char *name, gbx_nn_tensor *tensor, gbx_error *error)
{
    memset(tensor, 0, sizeof *tensor);
    const Onnx__AttributeProto *a = gbx_onnx_attribute(node, name);
    if (!a || !a->t) return GBX_OK;
    return gbx_onnx_tensor(a->t, path, tensor, error);
}

static int64_t int_attribute(const Onnx__NodeProto *node, const char *name, int64_t fallback)
{
    const Onnx__AttributeProto *a = gbx_onnx_attribute(node, name);
    return a && a->has_i ? a->i : fallback;
}

typedef struct {
    const int64_t *features, *true_ids, *false_ids, *true_leaf, *false_leaf, *missing_true;
    size_t nodes, leaves, missing_count;
    const float *splits, *weights, *hit_rates;
    const int64_t *modes, *targets;
} ensemble5;

/* One (tree, output) from root node `root`: breadth-first over nodes and leaves, each branch
 * made glassbox's float "less than" as build_tree does; leaves scoring another output are 0. */
static gbx_status build_tree5(const ensemble5 *e, size_t tree_index, size_t root, int64_t output,
                              double scale, size_t M, gbx_tree *tree, gbx_error *error)
{
    size_t capacity = e->nodes + e->leaves;
    tree->nodes = gbx_calloc(capacity, sizeof(gbx_node));
    size_t *queue = gbx_malloc_array(capacity, sizeof(size_t)); /* leaves as nodes + index */
    if (!tree->nodes || !queue) {
        free(queue);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    tree->output = (int)output;
    size_t made = 1;
    queue[0] = root;
    gbx_status status = GBX_OK;
    for (size_t q = 0; q < made && status == GBX_OK; q++) {
        gbx_node *node = &tree->nodes[q];
        if (queue[q] >= e->nodes) {
            size_t leaf = queue[q] - e->nodes;
            node->kind = GBX_NODE_LEAF;
            node->left = node->right = -1;
            node->cover = 1.0;
            node->value = e->targets[leaf] == output ? e->weights[leaf] * scale : 0.0;
            continue;
        }
        size_t i = queue[q];
        int64_t mode = e->modes[i];
        if (mode < 0 || mode > 3) {
            status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "tree %zu node %zu: mode %lld "
                              "(glassbox reads BRANCH_LEQ, BRANCH_LT, BRANCH_GTE, BRANCH_GT)",
                              tree_index, i, (long long)mode);
            break;
        }
        if (e->features[i] < 0 || (size_t)e->features[i] >= M) {
            status = gbx_fail(error, GBX_ERR_PARSE, "tree %zu node %zu splits on feature %lld of "
                              "%zu", tree_index, i, (long long)e->features[i], M);
            break;
        }
        size_t children[2];
        const int64_t *ids[2] = {e->true_ids, e->false_ids}, *leafs[2] = {e->true_leaf, e->false_leaf};
        for (int side = 0; side < 2 && status == GBX_OK; side++) {
            int64_t id = ids[side][i];
            size_t bound = leafs[side][i] ? e->leaves : e->nodes;
            if (id < 0 || (size_t)id >= bound || made + 2 > capacity)
                status = gbx_fail(error, GBX_ERR_PARSE, "tree %zu node %zu: a child is out of "
                                  "range or the nodes do not form a tree", tree_index, i);
            else
                children[side] = (leafs[side][i] ? e->nodes : 0) + (size_t)id;
        }
        if (status != GBX_OK) break;
        float threshold = e->splits[i];
        int true_is_left = mode == 0 || mode == 1; /* LEQ, LT */
        if (mode == 0 || mode == 3) threshold = nextafterf(threshold, INFINITY);
        int tracks_true = i < e->missing_count && e->missing_true[i];
        node->kind = GBX_SPLIT_LESS_FLOAT;
        node->feature = (int32_t)e->features[i];
        node->threshold_float = threshold;
        node->threshold = threshold;
        node->cover = e->hit_rates ? e->hit_rates[i] : 1.0;
        node->default_left = (uint8_t)(tracks_true ? true_is_left : !true_is_left);
        node->left = (int32_t)made;
        node->right = (int32_t)made + 1;
        queue[made++] = true_is_left ? children[0] : children[1];
        queue[made++] = true_is_left ? children[1] : children[0];
    }
    tree->node_count = made;
    free(queue);
    if (status != GBX_OK) return status;
    return gbx_tree_validate(tree, 0, M, error);
}

/* The TreeEnsemble operator: nodes and leaves listed apart (each child flagged as either),
 * thresholds, modes and weights as tensors, one target per leaf, trees from tree_roots. Its
 * leaves record no hit rates, so path-dependent TreeSHAP is refused. */
static gbx_status tree_ensemble5(const char *path, const Onnx__NodeProto *node, size_t M,
                                 gbx_model *model, gbx_error *error)
{
    ensemble5 e = {0};
    size_t n[5], roots_count;
    e.features = ints(node, "nodes_featureids", &n[0]);
    e.true_ids = ints(node, "nodes_truenodeids", &n[1]);
    e.false_ids = ints(node, "nodes_falsenodeids", &n[2]);
    e.true_leaf = ints(node, "nodes_trueleafs", &n[3]);
    e.false_leaf = ints(node, "nodes_falseleafs", &n[4]);
    e.missing_true = ints(node, "nodes_missing_value_tracks_true", &e.missing_count);
    e.targets = ints(node, "leaf_targetids", &e.leaves);
    const int64_t *roots = ints(node, "tree_roots", &roots_count);
    e.nodes = n[0];
    gbx_nn_tensor splits = {0}, modes = {0}, weights = {0}, hit_rates = {0};
    gbx_status status = tensor_attribute(path, node, "nodes_splits", &splits, error);
    if (status == GBX_OK) status = tensor_attribute(path, node, "nodes_modes", &modes, error);
    if (status == GBX_OK) status = tensor_attribute(path, node, "leaf_weights", &weights, error);
    if (status == GBX_OK) status = tensor_attribute(path, node, "nodes_hitrates", &hit_rates, error);
    int shapes = status == GBX_OK && e.nodes && e.leaves && roots_count &&
                 splits.type == GBX_NN_FLOAT && splits.count == e.nodes &&
                 modes.type == GBX_NN_INT64 && modes.count == e.nodes &&
                 weights.type == GBX_NN_FLOAT && weights.count == e.leaves;
    for (int a = 1; a < 5; a++) shapes = shapes && n[a] == e.nodes;
    if (status == GBX_OK && !shapes)
        status = gbx_fail(error, GBX_ERR_PARSE, "%s: TreeEnsemble: the nodes_*, leaf_* and "
                          "tree_roots attributes are missing or differ in length", path);
    e.splits = splits.f;
    e.modes = modes.i;
    e.weights = weights.f;
    e.hit_rates = hit_rates.type == GBX_NN_FLOAT && hit_rates.count == e.nodes ? hit_rates.f : NULL;
    int64_t K = int_attribute(node, "n_targets", 0), aggregate = int_attribute(node, "aggregate_function", 1);
    int64_t post = int_attribute(node, "post_transform", 0);
    if (status == GBX_OK && (K < 1 || K > 4096))
        status = gbx_fail(error, GBX_ERR_PARSE, "%s: TreeEnsemble: n_targets %lld", path, (long long)K);
    for (size_t j = 0; status == GBX_OK && j < e.leaves; j++)
        if (e.targets[j] < 0 || e.targets[j] >= K)
            status = gbx_fail(error, GBX_ERR_PARSE, "%s: TreeEnsemble: leaf %zu scores target "
                              "%lld of %lld", path, j, (long long)e.targets[j], (long long)K);
    if (status == GBX_OK && aggregate != 0 && aggregate != 1)
        status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: TreeEnsemble: aggregate_function %s "
                          "(glassbox reads SUM and AVERAGE)", path, aggregate == 2 ? "MIN" : "MAX");
    gbx_link link = post == 2 && K == 1 ? GBX_LINK_LOGIT : post == 1 && K > 1 ? GBX_LINK_SOFTMAX
                                                                             : GBX_LINK_IDENTITY;
    if (status == GBX_OK && post != 0 && link == GBX_LINK_IDENTITY)
        status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: TreeEnsemble: post_transform %lld with "
                          "%lld targets (glassbox reads NONE, LOGISTIC for one target, SOFTMAX)",
                          path, (long long)post, (long long)K);
    if (status == GBX_OK && (!(model->trees = calloc(1, sizeof *model->trees)) ||
                             !(model->trees->base_margin = gbx_calloc((size_t)K, sizeof(double))) ||
                             !(model->trees->trees = gbx_calloc(roots_count * (size_t)K, sizeof(gbx_tree)))))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    double scale = aggregate == 0 ? 1.0 / (double)roots_count : 1.0;
    for (size_t t = 0; status == GBX_OK && t < roots_count; t++) {
        if (roots[t] < 0 || (size_t)roots[t] >= e.nodes) {
            status = gbx_fail(error, GBX_ERR_PARSE, "%s: TreeEnsemble: tree %zu's root %lld is "
                              "not a node", path, t, (long long)roots[t]);
            break;
        }
        /* One glassbox tree per target that some leaf scores (a tree seldom scores several). */
        for (int64_t k = 0; status == GBX_OK && k < K; k++) {
            gbx_tree *tree = &model->trees->trees[model->trees->tree_count];
            status = build_tree5(&e, t, (size_t)roots[t], k, scale, M, tree, error);
            int scores = 0;
            for (size_t j = 0; status == GBX_OK && j < tree->node_count && !scores; j++)
                scores = tree->nodes[j].kind == GBX_NODE_LEAF && tree->nodes[j].value != 0.0;
            if (status == GBX_OK && scores) {
                model->trees->tree_count++;
            } else {
                free(tree->nodes);
                memset(tree, 0, sizeof *tree);
            }
            if (status != GBX_OK) gbx_error_prefix(error, "%s: ", path);
        }
    }
    gbx_nn_tensor_release(&splits);
    gbx_nn_tensor_release(&modes);
    gbx_nn_tensor_release(&weights);
    gbx_nn_tensor_release(&hit_rates);
    if (status != GBX_OK) return status;
    model->trees->has_cover = 0;
    model->features = M;
    model->link = link;
    model->transform = link == GBX_LINK_LOGIT     ? gbx_transform_sigmoid
                       : link == GBX_LINK_SOFTMAX ? gbx_transform_softmax
                                                  : gbx_transform_identity;
    if ((status = gbx_model_set_outputs(model, (size_t)K, "output")) != GBX_OK)
        return gbx_fail(error, status, "out of memory");
    model->objective = gbx_strdup(node->op_type);
    return model->objective ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
}

/* ---- the graph ---------------------------------------------------------------------------- */

static int is_ml(const Onnx__NodeProto *node)
{
    return node->domain && strcmp(node->domain, "ai.onnx.ml") == 0;
}

static int op_is(const Onnx__NodeProto *node, const char *name)
{
    return node->op_type && strcmp(node->op_type, name) == 0;
}

gbx_status gbx_onnx_ml_load(const char *path, const Onnx__GraphProto *graph, gbx_model *model,
                            gbx_error *error)
{
    static const char *const models[] = {"TreeEnsembleRegressor", "TreeEnsembleClassifier",
                                         "LinearRegressor", "LinearClassifier", "TreeEnsemble"};
    const Onnx__NodeProto *core = NULL;
    int kind = -1;
    for (size_t n = 0; n < graph->n_node; n++) {
        const Onnx__NodeProto *node = graph->node[n];
        const char *name = node->name && *node->name ? node->name : node->op_type;
        int found = -1;
        for (int k = 0; k < 5 && is_ml(node); k++)
            if (op_is(node, models[k])) found = k;
        if (found >= 0) {
            if (core)
                return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: the graph holds two models "
                                "(\"%s\" and \"%s\"); glassbox reads one", path, core->name, name);
            core = node;
            kind = found;
            continue;
        }
        /* Bookkeeping after the model: labels, dictionaries, normalising probabilities that
         * already sum to one. */
        int harmless = is_ml(node) ? op_is(node, "ZipMap") || op_is(node, "Normalizer")
                                   : op_is(node, "Cast") || op_is(node, "Identity");
        if (!harmless || !core)
            return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: node \"%s\" (%s%s) %s; glassbox "
                            "reads ONNX-ML graphs made of one model node (TreeEnsemble*, Linear*) "
                            "and its ZipMap/Normalizer/Cast outputs", path, name,
                            is_ml(node) ? "ai.onnx.ml." : "", node->op_type,
                            core ? "is not supported" : "comes before the model");
    }
    if (!core)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: no ONNX-ML model node (TreeEnsemble*, "
                        "Linear*) in the graph", path);
    /* The model must read the data input directly. */
    const Onnx__ValueInfoProto *input = NULL;
    for (size_t i = 0; i < graph->n_input && !input; i++)
        if (core->n_input > 0 && graph->input[i]->name &&
            strcmp(graph->input[i]->name, core->input[0]) == 0)
            input = graph->input[i];
    if (!input)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: the %s node does not read a graph "
                        "input", path, core->op_type);
    size_t M = 0;
    const Onnx__TypeProto *type = input->type;
    if (type && type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && type->tensor_type->shape &&
        type->tensor_type->shape->n_dim == 2 &&
        type->tensor_type->shape->dim[1]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
        type->tensor_type->shape->dim[1]->dim_value > 0)
        M = (size_t)type->tensor_type->shape->dim[1]->dim_value;
    if (M == 0 || M > (1u << 24))
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: input \"%s\" must be a matrix with a "
                        "fixed number of columns", path, input->name);
    return kind <= 1 ? tree_ensemble(path, core, kind == 1, M, model, error)
         : kind == 4 ? tree_ensemble5(path, core, M, model, error)
                     : linear_model(path, core, kind == 3, M, model, error);
}
