/* The common model interface every loader produces, and the tree-ensemble capability. */
#ifndef GBX_MODEL_H
#define GBX_MODEL_H

/* The deepest tree any loader accepts (gbx_tree_validate): the explainers walk paths
 * recursively, so their depth is bounded by this, not by the input. */
#define GBX_MAX_TREE_DEPTH 4096

#include "../core/core.h"

#include <math.h>
#include <stdint.h>

struct gbx_nn_graph;

/* How a split node sends a value left; the rules differ between libraries and must match the
 * library that trained the model bit for bit. */
typedef enum {
    GBX_NODE_LEAF,
    GBX_SPLIT_LESS_FLOAT,    /* XGBoost: left iff (float)x < (float)threshold; NaN -> default */
    GBX_SPLIT_LESS_EQUAL,    /* LightGBM numerical: left iff x <= threshold, missing types */
    GBX_SPLIT_CATEGORY_RIGHT,/* XGBoost categorical: categories in the set go right */
    GBX_SPLIT_CATEGORY_LEFT  /* LightGBM categorical: categories in the bitset go left */
} gbx_node_kind;

/* LightGBM's missing_type for numerical splits. */
typedef enum { GBX_MISSING_NONE, GBX_MISSING_ZERO, GBX_MISSING_NAN } gbx_missing_type;

typedef struct {
    int32_t left, right;   /* children, -1 for a leaf */
    int32_t feature;
    uint8_t kind;          /* gbx_node_kind */
    uint8_t default_left;  /* where missing values go */
    uint8_t missing_type;  /* gbx_missing_type (LightGBM) */
    float threshold_float; /* XGBoost compares in float32 */
    double threshold;
    double value;          /* leaf output (already scaled by tree weight) */
    double cover;          /* hessian sum (XGBoost) or sample count (LightGBM) */
    uint32_t category_begin, category_words; /* bitset slice in the tree's categories */
} gbx_node;

typedef struct {
    gbx_node *nodes;       /* nodes[0] is the root */
    size_t node_count;
    uint32_t *categories;  /* bitset words of all categorical splits */
    size_t category_word_count;
    int output;            /* the output (class) this tree adds to */
} gbx_tree;

/* A split for prediction only: children adjacent (right = left + 1), a leaf has feature -1. */
typedef struct {
    int32_t feature;
    float threshold;
    int32_t left;
    int32_t default_left;
} gbx_compact_node;

/* The same trees again, each padded to a complete tree of its depth (a leaf above the bottom
 * repeats its value under splits that go either way), for the vector predictors: level l of a
 * tree holds its 2^l splits side by side, so a vector of rows walks a level by permutes or
 * gathers. */
typedef struct {
    int32_t *depth;         /* [tree_count] */
    size_t *split_offset;   /* [tree_count]: a tree's 2^depth - 1 splits, level by level */
    size_t *leaf_offset;    /* [tree_count]: its 2^depth leaves */
    int32_t *column;        /* per split: the feature's offset in a block of 16 rows (16 f) */
    float *threshold;       /* per split */
    int32_t *default_left;  /* per split: 1 when a missing value goes left */
    double *leaf;           /* per leaf: value */
} gbx_tree_levels;

typedef struct {
    gbx_tree *trees;
    size_t tree_count;
    double *base_margin;   /* per output, in margin space */
    /* The same trees in breadth-first order, children side by side, when every split is
     * XGBoost's float compare (gbx_tree_ensemble_compile); NULL otherwise. */
    gbx_compact_node *compact;
    double *compact_value; /* leaf values, by compact index */
    size_t *compact_root;  /* [tree_count] */
    size_t *compact_depth; /* [tree_count]: splits on the longest path */
    gbx_tree_levels *levels; /* with compact, when no tree is deeper than 12 and the layout
                              * fits 64 MB; else NULL */
    int vector_predict;      /* GBX_PREDICT_*: the levels' predictor for this CPU, or scalar */
    /* Node covers are the training rows (or hessian) that reached each node; 0 when the file
     * does not record them, so path-dependent TreeSHAP cannot run. */
    int has_cover;
} gbx_tree_ensemble;

struct gbx_model {
    const char *type; /* "xgboost", "lightgbm" */
    char *objective;
    char sha256[65];
    char *source;   /* where a served model is called (its URL), or NULL */
    char *version;  /* the served version its server reports, or NULL */
    size_t features;
    char **feature_names;  /* NULL when the file has none */
    size_t outputs;
    char **output_names;
    gbx_link link;
    double sigmoid_scale;  /* logit link: p = 1 / (1 + exp(-scale * margin)) */
    /* Raw output -> prediction for one row, in place (outputs values). */
    void (*transform)(const struct gbx_model *model, double *row);
    gbx_tree_ensemble *trees; /* the tree capability; NULL for other models */
    const struct gbx_nn_graph *network; /* the differentiable-graph capability (ONNX, Keras) */
    /* Raw outputs of `count` rows ([count][outputs]); what every model-agnostic method calls.
     * Tree models evaluate their trees; black-box adapters call out. */
    gbx_status (*predict_raw)(const struct gbx_model *model, const double *rows, size_t count,
                              double *out, gbx_error *error);
    void *adapter;                                  /* a black-box adapter's own state */
    void (*release_adapter)(struct gbx_model *model); /* frees it, from gbx_model_free */
};

/* Whether category x is in a node's set: words [begin, begin + word_count) of the tree's bitsets
 * (none at all for an empty set, hence no pointer arithmetic before the range check). */
static inline int gbx_category_in_set(const uint32_t *categories, uint32_t begin,
                                      uint32_t word_count, double x)
{
    /* Library-specific range checks happen before this call; x is a non-negative integer. */
    double word = floor(x / 32.0);
    if (word >= (double)word_count) return 0;
    uint32_t category = (uint32_t)x;
    return (categories[begin + (category >> 5)] >> (category & 31)) & 1u;
}

/* Whether value x goes to the left child of node; the single source of truth for traversal. */
static inline int gbx_node_goes_left(const gbx_node *node, const uint32_t *categories, double x)
{
    switch ((gbx_node_kind)node->kind) {
    case GBX_SPLIT_LESS_FLOAT:
        if (isnan(x)) return node->default_left;
        return (float)x < node->threshold_float;
    case GBX_SPLIT_LESS_EQUAL:
        if (isnan(x) && node->missing_type != GBX_MISSING_NAN) x = 0.0;
        if ((node->missing_type == GBX_MISSING_ZERO && x >= -1e-35f && x <= 1e-35f) ||
            (node->missing_type == GBX_MISSING_NAN && isnan(x)))
            return node->default_left;
        return x <= node->threshold;
    case GBX_SPLIT_CATEGORY_RIGHT: {
        if (isnan(x)) return node->default_left;
        float category = (float)x;
        /* XGBoost: negative or out-of-range categories are "not in the set", so left. */
        if (!(category >= 0.0f) || category >= 16777216.0f) return 1;
        return !gbx_category_in_set(categories, node->category_begin, node->category_words,
                                    (double)(int32_t)category);
    }
    case GBX_SPLIT_CATEGORY_LEFT: {
        /* LightGBM: NaN and negative categories go right; the integer part is the category. */
        if (isnan(x) || x <= -1.0 || x >= 2147483648.0) return 0;
        int32_t category = (int32_t)x;
        if (category < 0) return 0;
        return gbx_category_in_set(categories, node->category_begin, node->category_words,
                                   (double)category);
    }
    case GBX_NODE_LEAF:
        break;
    }
    return 0;
}

/* A row's path pattern one split further down: bit j says the row satisfies every split on
 * the path's j-th distinct feature so far. The first split on a feature sets its bit when
 * satisfied; a later one clears it when not. Shared by interventional TreeSHAP and the
 * coalition tables, which must agree on it. */
static inline uint64_t gbx_pattern_step(uint64_t pattern, int bit, int first, int satisfied)
{
    uint64_t mask = (uint64_t)1 << bit;
    return first ? (satisfied ? pattern | mask : pattern) : (satisfied ? pattern : pattern & ~mask);
}

/* Leaf reached by one row. */
static inline const gbx_node *gbx_tree_leaf(const gbx_tree *tree, const double *row)
{
    const gbx_node *node = tree->nodes;
    while (node->kind != GBX_NODE_LEAF)
        node = tree->nodes + (gbx_node_goes_left(node, tree->categories, row[node->feature])
                                  ? node->left : node->right);
    return node;
}

/* Lays the trees out for fast prediction when all their splits are float compares; leaves
 * the ensemble as it is otherwise (or when memory runs out). */
void gbx_tree_ensemble_compile(gbx_tree_ensemble *ensemble);
/* The AVX-512 predictor (tree_predict_avx512.c): margins of `count` rows through the levels,
 * every row summing its trees in order as gbx_tree_ensemble_margin does. block: 16 M floats,
 * sums: 16 K doubles of scratch. */
void gbx_tree_levels_margins_avx512(const gbx_tree_ensemble *ensemble, size_t features,
                                    size_t outputs, const double *rows, size_t count, double *out,
                                    float *block, double *sums);
/* The vector predictors' start on a block of n (at most 16) rows: the rows as floats,
 * feature by feature (block[16 f + lane], lanes past n zero), and each output's sums
 * ([K][16]) at the base margin. */
static inline void gbx_tree_levels_block(const gbx_tree_ensemble *e, size_t M, size_t K,
                                         const double *rows, size_t n, float *block, double *sums)
{
    for (size_t f = 0; f < M; f++) {
        for (size_t l = 0; l < n; l++) block[f * 16 + l] = (float)rows[l * M + f];
        for (size_t l = n; l < 16; l++) block[f * 16 + l] = 0.0f;
    }
    for (size_t k = 0; k < K; k++)
        for (size_t l = 0; l < 16; l++) sums[k * 16 + l] = e->base_margin[k];
}
/* The same for CPUs with AVX2 only (tree_predict_avx2.c), with the same scratch. */
void gbx_tree_levels_margins_avx2(const gbx_tree_ensemble *ensemble, size_t features,
                                  size_t outputs, const double *rows, size_t count, double *out,
                                  float *block, double *sums);
enum { GBX_PREDICT_SCALAR, GBX_PREDICT_AVX512, GBX_PREDICT_AVX2 };
/* Picks the predictor: "avx512" or "avx2" (each needs the levels and the CPU's instructions),
 * "vector" (the widest of those the CPU has) or "scalar"; 0 if unavailable. All give the same
 * bits; tests compare them. */
int gbx_tree_ensemble_select_predictor(gbx_tree_ensemble *ensemble, const char *name);
/* Raw output (margin) of the tree ensemble for one row: out has one value per output. */
void gbx_tree_ensemble_margin(const gbx_model *model, const double *row, double *out);
/* predict_raw for tree models. */
gbx_status gbx_tree_ensemble_predict_raw(const gbx_model *model, const double *rows, size_t count,
                                         double *out, gbx_error *error);

/* Checks that the nodes form one tree rooted at 0 (every node reached once, children in range,
 * features in range, finite leaves). The message names the tree index. */
gbx_status gbx_tree_validate(const gbx_tree *tree, size_t tree_index, size_t features,
                             gbx_error *error);

/* Share of the parent's cover that flows to the child: the "zero fraction" of path-dependent
 * TreeSHAP. A parent without cover splits evenly, so that expectations stay finite. */
static inline double gbx_cover_fraction(const gbx_tree *tree, int32_t parent, int32_t child)
{
    double parent_cover = tree->nodes[parent].cover;
    return parent_cover > 0 ? tree->nodes[child].cover / parent_cover : 0.5;
}

/* Cover-weighted expected leaf value: E[f] under the path-dependent distribution. */
double gbx_tree_expected_value(const gbx_tree *tree);

gbx_model *gbx_model_alloc(const char *type);
/* Sets output names "class_0".. or the single name given. */
gbx_status gbx_model_set_outputs(gbx_model *model, size_t outputs, const char *single_name);
void gbx_tree_ensemble_free(gbx_tree_ensemble *ensemble);

/* gbx_model_load on bytes in memory; name is used in messages. */
gbx_status gbx_model_load_buffer(const char *name, const char *bytes, size_t length,
                                 gbx_model **out, gbx_error *error);
/* Linear models from a glassbox_linear JSON file (linear.c); weights [K][M] and intercepts
 * [K] of such a model, NULL for any other. */
gbx_status gbx_linear_load(const char *name, const char *bytes, size_t length, gbx_model *model,
                           gbx_error *error);
/* Makes model the linear model with weights [K][M] and intercepts [K] (both taken over) and
 * the given link (identity, logit with K = 1, softmax with K > 1). */
gbx_status gbx_linear_init(gbx_model *model, size_t K, size_t M, double *weights,
                           double *intercepts, gbx_link link, gbx_error *error);
const double *gbx_linear_weights(const gbx_model *model);
const double *gbx_linear_intercepts(const gbx_model *model);
/* "cmd:COMMAND": a child process speaking the line protocol in command.c. */
gbx_status gbx_command_load(const char *command, double timeout_seconds, gbx_model *model,
                            gbx_error *error);
/* "http://HOST:PORT/v1/models/NAME:predict" (TF Serving REST) or ".../v2/models/NAME/infer"
 * (Open Inference Protocol): a served model (http.c). */
/* A served model's reply to rows first_row.. (rows of K outputs) into out: TF Serving's
 * {"predictions": ...}, or the Open Inference Protocol's output named output_name. Apart from
 * the transfer, for the fuzz target. */
gbx_status gbx_http_parse_reply(const char *url, int open_inference, const char *output_name,
                                const char *reply, size_t first_row, size_t rows, size_t K,
                                double *out, gbx_error *error);
gbx_status gbx_http_load(const char *url, double timeout_seconds, gbx_model *model,
                         gbx_error *error);
/* "plugin:PATH.so[:ARGUMENT]" (see include/glassbox_plugin.h). */
gbx_status gbx_plugin_load(const char *spec, gbx_model *model, gbx_error *error);
gbx_status gbx_xgboost_load(const char *path, const char *bytes, size_t length, gbx_model *model,
                            gbx_error *error);
/* ONNX files (onnx.c): networks, and ONNX-ML tree ensembles and linear models. */
int gbx_onnx_detect(const char *bytes, size_t length);
gbx_status gbx_onnx_load(const char *path, const char *bytes, size_t length, gbx_model *model,
                         gbx_error *error);
/* The rank of a network's input tensor (batch included) and its dimension d (onnx.c). */
int gbx_network_input_rank(const struct gbx_nn_graph *graph);
long long gbx_network_input_dim(const struct gbx_nn_graph *graph, int d);
/* An image input's layout (GBX_LAYOUT_*), found when the model loaded: channels last where the
 * input meets a reshuffle to channels first; unknown for inputs of rank 2 and 3 (onnx.c). */
int gbx_network_input_layout(const struct gbx_nn_graph *graph);
/* Makes model the network `graph` (taken over), run in float32 batches (onnx.c). */
gbx_status gbx_network_model_init(gbx_model *model, struct gbx_nn_graph *graph, const char *path,
                                  gbx_error *error);
/* Keras .keras and legacy .h5 files (keras.c). */
int gbx_keras_detect(const char *bytes, size_t length);
gbx_status gbx_keras_load(const char *path, const char *bytes, size_t length, gbx_model *model,
                          gbx_error *error);
gbx_status gbx_lightgbm_load(const char *path, const char *bytes, size_t length, gbx_model *model,
                             gbx_error *error);
/* TensorFlow SavedModel directories (saved_model.c): the path is the directory, or its
 * saved_model.pb. */
int gbx_saved_model_detect(const char *path);
gbx_status gbx_saved_model_load(const char *path, gbx_model *model, gbx_error *error);

/* Shared transforms. */
void gbx_transform_identity(const gbx_model *model, double *row);
void gbx_transform_sigmoid(const gbx_model *model, double *row);
void gbx_transform_softmax(const gbx_model *model, double *row);
void gbx_transform_exp(const gbx_model *model, double *row);

#endif
