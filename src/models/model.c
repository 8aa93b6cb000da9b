#include "model.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

gbx_model *gbx_model_alloc(const char *type)
{
    gbx_model *model = calloc(1, sizeof *model);
    if (!model) return NULL;
    model->type = type;
    model->sigmoid_scale = 1.0;
    model->transform = gbx_transform_identity;
    model->predict_raw = gbx_tree_ensemble_predict_raw;
    return model;
}

gbx_status gbx_model_set_outputs(gbx_model *model, size_t outputs, const char *single_name)
{
    model->outputs = outputs;
    model->output_names = gbx_calloc(outputs, sizeof(char *));
    if (!model->output_names) return GBX_ERR_NOMEM;
    for (size_t k = 0; k < outputs; k++) {
        char name[32];
        snprintf(name, sizeof name, "class_%zu", k);
        model->output_names[k] = gbx_strdup(outputs == 1 && single_name ? single_name : name);
        if (!model->output_names[k]) return GBX_ERR_NOMEM;
    }
    return GBX_OK;
}

static void levels_free(gbx_tree_levels *levels)
{
    if (!levels) return;
    free(levels->depth);
    free(levels->split_offset);
    free(levels->leaf_offset);
    free(levels->column);
    free(levels->threshold);
    free(levels->default_left);
    free(levels->leaf);
    free(levels);
}

void gbx_tree_ensemble_free(gbx_tree_ensemble *ensemble)
{
    if (!ensemble) return;
    for (size_t t = 0; t < ensemble->tree_count; t++) {
        free(ensemble->trees[t].nodes);
        free(ensemble->trees[t].categories);
    }
    free(ensemble->trees);
    free(ensemble->base_margin);
    free(ensemble->compact);
    free(ensemble->compact_value);
    free(ensemble->compact_root);
    free(ensemble->compact_depth);
    levels_free(ensemble->levels);
    free(ensemble);
}

static char **free_names(char **names, size_t count)
{
    if (names)
        for (size_t i = 0; i < count; i++) free(names[i]);
    free(names);
    return NULL;
}

void gbx_model_free(gbx_model *model)
{
    if (!model) return;
    if (model->release_adapter) model->release_adapter(model);
    free(model->source);
    free(model->version);
    free(model->objective);
    free_names(model->feature_names, model->features);
    free_names(model->output_names, model->outputs);
    gbx_tree_ensemble_free(model->trees);
    free(model);
}

gbx_status gbx_tree_validate(const gbx_tree *tree, size_t tree_index, size_t features,
                             gbx_error *error)
{
    if (tree->node_count == 0)
        return gbx_fail(error, GBX_ERR_PARSE, "tree %zu: has no nodes", tree_index);
    uint8_t *seen = gbx_calloc(tree->node_count, 1);
    int32_t *stack = gbx_malloc_array(tree->node_count, sizeof(int32_t));
    uint32_t *depth = gbx_calloc(tree->node_count, sizeof(uint32_t));
    gbx_status status = GBX_OK;
    if (!seen || !stack || !depth) {
        status = gbx_fail(error, GBX_ERR_NOMEM, "tree %zu: out of memory", tree_index);
        goto done;
    }
    size_t top = 0;
    stack[top++] = 0;
    seen[0] = 1;
    while (top > 0) {
        int32_t id = stack[--top];
        const gbx_node *node = &tree->nodes[id];
        if (node->kind == GBX_NODE_LEAF) {
            if (!isfinite(node->value)) {
                status = gbx_fail(error, GBX_ERR_PARSE, "tree %zu: leaf %d has a non-finite value",
                                  tree_index, id);
                goto done;
            }
            continue;
        }
        if (node->feature < 0 || (size_t)node->feature >= features) {
            status = gbx_fail(error, GBX_ERR_PARSE,
                              "tree %zu: node %d splits on feature %d, but the model has %zu",
                              tree_index, id, node->feature, features);
            goto done;
        }
        if (node->category_begin + (size_t)node->category_words > tree->category_word_count) {
            status = gbx_fail(error, GBX_ERR_PARSE, "tree %zu: node %d has a bad category slice",
                              tree_index, id);
            goto done;
        }
        int32_t children[2] = {node->left, node->right};
        for (int c = 0; c < 2; c++) {
            int32_t child = children[c];
            if (child < 0 || (size_t)child >= tree->node_count) {
                status = gbx_fail(error, GBX_ERR_PARSE,
                                  "tree %zu: node %d has child %d outside 0..%zu", tree_index, id,
                                  child, tree->node_count - 1);
                goto done;
            }
            if (seen[child]) {
                status = gbx_fail(error, GBX_ERR_PARSE,
                                  "tree %zu: node %d is reached twice (not a tree)", tree_index,
                                  child);
                goto done;
            }
            /* The explainers walk a tree's paths recursively and keep a path's state per
             * level: the depth is bounded here, once, not by whatever the file holds. */
            if ((depth[child] = depth[id] + 1) > GBX_MAX_TREE_DEPTH) {
                status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "tree %zu: more than %d splits "
                                  "deep (at node %d); no tree trained for prediction is",
                                  tree_index, GBX_MAX_TREE_DEPTH, child);
                goto done;
            }
            seen[child] = 1;
            stack[top++] = child;
        }
    }
done:
    free(seen);
    free(stack);
    free(depth);
    return status;
}

static double expected_value_below(const gbx_tree *tree, int32_t id)
{
    const gbx_node *node = &tree->nodes[id];
    if (node->kind == GBX_NODE_LEAF) return node->value;
    return gbx_cover_fraction(tree, id, node->left) * expected_value_below(tree, node->left) +
           gbx_cover_fraction(tree, id, node->right) * expected_value_below(tree, node->right);
}

double gbx_tree_expected_value(const gbx_tree *tree) { return expected_value_below(tree, 0); }

void gbx_transform_identity(const gbx_model *model, double *row)
{
    (void)model;
    (void)row;
}

void gbx_transform_sigmoid(const gbx_model *model, double *row)
{
    for (size_t k = 0; k < model->outputs; k++)
        row[k] = 1.0 / (1.0 + exp(-model->sigmoid_scale * row[k]));
}

void gbx_transform_softmax(const gbx_model *model, double *row)
{
    double largest = row[0];
    for (size_t k = 1; k < model->outputs; k++)
        if (row[k] > largest) largest = row[k];
    double sum = 0.0;
    for (size_t k = 0; k < model->outputs; k++) sum += row[k] = exp(row[k] - largest);
    for (size_t k = 0; k < model->outputs; k++) row[k] /= sum;
}

void gbx_transform_exp(const gbx_model *model, double *row)
{
    for (size_t k = 0; k < model->outputs; k++) row[k] = exp(row[k]);
}

/* ---- public interface ---- */

/* ---- the formats: a file's format is told by its content, the first row that claims it ---- */

static int looks_like_lightgbm(const char *bytes, size_t length)
{
    return (length >= 5 && strncmp(bytes, "tree\n", 5) == 0) ||
           (length >= 6 && strncmp(bytes, "tree\r\n", 6) == 0);
}

/* Our linear format names itself near the top; XGBoost's JSON never uses that key. */
static int looks_like_linear(const char *bytes, size_t length)
{
    return memmem(bytes, length < 4096 ? length : 4096, "\"glassbox_linear\"", 17) != NULL;
}

/* XGBoost JSON or UBJSON: whatever no other format claims (its reader says what is wrong). */
static int anything(const char *bytes, size_t length)
{
    (void)bytes, (void)length;
    return 1;
}

typedef struct {
    const char *name;
    int (*detect)(const char *bytes, size_t length);
    gbx_status (*load)(const char *name, const char *bytes, size_t length, gbx_model *model,
                       gbx_error *error);
} file_format;

static const file_format file_formats[] = {
    {"onnx", gbx_onnx_detect, gbx_onnx_load},
    {"keras", gbx_keras_detect, gbx_keras_load},
    {"lightgbm", looks_like_lightgbm, gbx_lightgbm_load},
    {"linear", looks_like_linear, gbx_linear_load},
    {"xgboost", anything, gbx_xgboost_load},
};

gbx_status gbx_model_load_buffer(const char *name, const char *bytes, size_t length,
                                 gbx_model **out, gbx_error *error)
{
    if (length == 0) return gbx_fail(error, GBX_ERR_PARSE, "%s: the model file is empty", name);
    const file_format *format = file_formats;
    while (!format->detect(bytes, length)) format++; /* the last claims anything */
    gbx_model *model = gbx_model_alloc(format->name);
    if (!model) return gbx_fail(error, GBX_ERR_NOMEM, "%s: out of memory", name);
    gbx_sha256_buffer(bytes, length, model->sha256);
    gbx_status status = format->load(name, bytes, length, model, error);
    if (status != GBX_OK) {
        gbx_model_free(model);
        return status;
    }
    if (model->trees) gbx_tree_ensemble_compile(model->trees);
    *out = model;
    return GBX_OK;
}

gbx_status gbx_model_load_bytes(const void *bytes, size_t length, const char *name,
                                gbx_model **out, gbx_error *error)
{
    if (!bytes || !out) return gbx_fail(error, GBX_ERR_USAGE, "gbx_model_load_bytes: NULL argument");
    return gbx_model_load_buffer(name ? name : "(model bytes)", bytes, length, out, error);
}

gbx_status gbx_model_load(const char *path, gbx_model **out, gbx_error *error)
{
    return gbx_model_load_with(path, NULL, out, error);
}

/* ---- models that are not files: named by a prefix of the locator ---------------------- */

static gbx_status load_plugin(const char *locator, double timeout, gbx_model *model,
                              gbx_error *error)
{
    (void)timeout;
    return gbx_plugin_load(locator + strlen("plugin:"), model, error);
}

static gbx_status load_command(const char *locator, double timeout, gbx_model *model,
                               gbx_error *error)
{
    return gbx_command_load(locator + strlen("cmd:"), timeout, model, error);
}

typedef struct {
    const char *prefix, *type;
    gbx_status (*load)(const char *locator, double timeout, gbx_model *model, gbx_error *error);
} locator_kind;

static const locator_kind locators[] = {
    {"plugin:", "plugin", load_plugin},
    {"cmd:", "command", load_command},
    {"http://", "http", gbx_http_load},
    {"https://", "http", gbx_http_load},
};

/* Models stored as several files: found by their path (a directory), loaded from it. */
typedef struct {
    const char *name;
    int (*detect)(const char *path);
    gbx_status (*load)(const char *path, gbx_model *model, gbx_error *error);
} directory_format;

static const directory_format directory_formats[] = {
    {"savedmodel", gbx_saved_model_detect, gbx_saved_model_load},
};

gbx_status gbx_model_load_with(const char *path, const gbx_model_options *options,
                               gbx_model **out, gbx_error *error)
{
    if (!path || !out) return gbx_fail(error, GBX_ERR_USAGE, "gbx_model_load: NULL argument");
    for (size_t l = 0; l < sizeof locators / sizeof locators[0]; l++) {
        if (strncmp(path, locators[l].prefix, strlen(locators[l].prefix)) != 0) continue;
        gbx_model *model = gbx_model_alloc(locators[l].type);
        if (!model) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        gbx_status status = locators[l].load(path, options ? options->timeout_seconds : 0, model,
                                             error);
        if (status != GBX_OK) {
            gbx_model_free(model);
            return status;
        }
        *out = model;
        return GBX_OK;
    }
    for (size_t d = 0; d < sizeof directory_formats / sizeof directory_formats[0]; d++) {
        if (!directory_formats[d].detect(path)) continue;
        gbx_model *model = gbx_model_alloc(directory_formats[d].name);
        if (!model) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        gbx_status status = directory_formats[d].load(path, model, error);
        if (status != GBX_OK) {
            gbx_model_free(model);
            return status;
        }
        *out = model;
        return GBX_OK;
    }
    char *bytes;
    size_t length;
    gbx_status status = gbx_read_file(path, &bytes, &length, error);
    if (status != GBX_OK) return status;
    status = gbx_model_load_buffer(path, bytes, length, out, error);
    free(bytes);
    return status;
}

const char *gbx_model_type(const gbx_model *model) { return model->type; }
int gbx_model_is_tree(const gbx_model *model) { return model->trees != NULL; }
int gbx_model_is_linear(const gbx_model *model) { return gbx_linear_weights(model) != NULL; }
const char *gbx_model_objective(const gbx_model *model)
{
    return model->objective ? model->objective : "";
}
const char *gbx_model_sha256(const gbx_model *model) { return model->sha256; }
size_t gbx_model_features(const gbx_model *model) { return model->features; }
const char *gbx_model_feature_name(const gbx_model *model, size_t feature)
{
    return model->feature_names && feature < model->features ? model->feature_names[feature]
                                                              : NULL;
}
size_t gbx_model_outputs(const gbx_model *model) { return model->outputs; }
const char *gbx_model_output_name(const gbx_model *model, size_t output)
{
    return output < model->outputs ? model->output_names[output] : NULL;
}
gbx_link gbx_model_link(const gbx_model *model) { return model->link; }

void gbx_tree_ensemble_margin(const gbx_model *model, const double *row, double *out)
{
    const gbx_tree_ensemble *ensemble = model->trees;
    for (size_t k = 0; k < model->outputs; k++) out[k] = ensemble->base_margin[k];
    for (size_t t = 0; t < ensemble->tree_count; t++)
        out[ensemble->trees[t].output] += gbx_tree_leaf(&ensemble->trees[t], row)->value;
}

#define LEVELS_MAX_DEPTH 12
/* Padding deep, sparse trees to complete ones can cost far more than the trees: past this,
 * no levels (the compact walk predicts). */
#define LEVELS_MAX_BYTES ((size_t)64 << 20)
/* Reads of a level's (or the leaves') 16 entries may run this far past a tree's last one. */
#define LEVELS_PAD 16

/* Places node id at index i of level l of a complete tree of depth D: its split, or for a
 * leaf its value on every leaf below that place and splits that go either way above them. */
static void place_levels(const gbx_tree *tree, int32_t id, int l, size_t i, int D,
                         gbx_tree_levels *L, size_t splits, size_t leaves)
{
    const gbx_node *node = &tree->nodes[id];
    if (node->kind == GBX_NODE_LEAF) {
        for (int below = l; below < D; below++)
            for (size_t j = i << (below - l); j < (i + 1) << (below - l); j++) {
                size_t at = splits + ((size_t)1 << below) - 1 + j;
                L->column[at] = 0, L->threshold[at] = 0.0f, L->default_left[at] = 0;
            }
        for (size_t j = i << (D - l); j < (i + 1) << (D - l); j++) L->leaf[leaves + j] = node->value;
        return;
    }
    size_t at = splits + ((size_t)1 << l) - 1 + i;
    L->column[at] = node->feature * 16;
    L->threshold[at] = node->threshold_float;
    L->default_left[at] = node->default_left != 0;
    place_levels(tree, node->left, l + 1, 2 * i, D, L, splits, leaves);
    place_levels(tree, node->right, l + 1, 2 * i + 1, D, L, splits, leaves);
}

/* The level layout of compacted trees; NULL when a tree is too deep, the layout too large
 * or memory runs out. */
static gbx_tree_levels *build_levels(const gbx_tree_ensemble *e)
{
    size_t splits = 0, leaves = 0;
    for (size_t t = 0; t < e->tree_count; t++) {
        if (e->compact_depth[t] > LEVELS_MAX_DEPTH) return NULL;
        splits += ((size_t)1 << e->compact_depth[t]) - 1;
        leaves += (size_t)1 << e->compact_depth[t];
    }
    if (splits * (2 * sizeof(int32_t) + sizeof(float)) + leaves * sizeof(double) > LEVELS_MAX_BYTES)
        return NULL;
    for (size_t t = 0; t < e->tree_count; t++)
        for (size_t i = 0; i < e->trees[t].node_count; i++)
            if (e->trees[t].nodes[i].kind != GBX_NODE_LEAF && e->trees[t].nodes[i].feature > (1 << 26))
                return NULL; /* its offset in a block would not fit an int32 */
    gbx_tree_levels *L = calloc(1, sizeof *L);
    if (!L) return NULL;
    size_t T = e->tree_count ? e->tree_count : 1;
    L->depth = gbx_malloc_array(T, sizeof(int32_t));
    L->split_offset = gbx_malloc_array(T, sizeof(size_t));
    L->leaf_offset = gbx_malloc_array(T, sizeof(size_t));
    L->column = gbx_calloc(splits + LEVELS_PAD, sizeof(int32_t));
    L->threshold = gbx_calloc(splits + LEVELS_PAD, sizeof(float));
    L->default_left = gbx_calloc(splits + LEVELS_PAD, sizeof(int32_t));
    L->leaf = gbx_calloc(leaves + LEVELS_PAD, sizeof(double));
    if (!L->depth || !L->split_offset || !L->leaf_offset || !L->column || !L->threshold ||
        !L->default_left || !L->leaf) {
        levels_free(L);
        return NULL;
    }
    splits = leaves = 0;
    for (size_t t = 0; t < e->tree_count; t++) {
        int D = (int)e->compact_depth[t];
        L->depth[t] = D;
        L->split_offset[t] = splits;
        L->leaf_offset[t] = leaves;
        place_levels(&e->trees[t], 0, 0, 0, D, L, splits, leaves);
        splits += ((size_t)1 << D) - 1;
        leaves += (size_t)1 << D;
    }
    return L;
}

int gbx_tree_ensemble_select_predictor(gbx_tree_ensemble *e, const char *name)
{
    if (strcmp(name, "scalar") == 0) {
        e->vector_predict = GBX_PREDICT_SCALAR;
        return 1;
    }
    if (strcmp(name, "vector") == 0)
        return gbx_tree_ensemble_select_predictor(e, "avx512") ||
               gbx_tree_ensemble_select_predictor(e, "avx2");
#ifdef GBX_HAVE_VECTOR_PREDICT
    if (strcmp(name, "avx512") == 0 && e->levels && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512dq")) {
        e->vector_predict = GBX_PREDICT_AVX512;
        return 1;
    }
    if (strcmp(name, "avx2") == 0 && e->levels && __builtin_cpu_supports("avx2")) {
        e->vector_predict = GBX_PREDICT_AVX2;
        return 1;
    }
#endif
    return 0;
}

void gbx_tree_ensemble_compile(gbx_tree_ensemble *e)
{
    size_t total = 0;
    for (size_t t = 0; t < e->tree_count; t++) {
        const gbx_tree *tree = &e->trees[t];
        for (size_t i = 0; i < tree->node_count; i++)
            if (tree->nodes[i].kind != GBX_NODE_LEAF && tree->nodes[i].kind != GBX_SPLIT_LESS_FLOAT)
                return;
        total += tree->node_count;
    }
    e->compact = gbx_malloc_array(total ? total : 1, sizeof(gbx_compact_node));
    e->compact_value = gbx_calloc(total ? total : 1, sizeof(double));
    e->compact_root = gbx_malloc_array(e->tree_count ? e->tree_count : 1, sizeof(size_t));
    e->compact_depth = gbx_calloc(e->tree_count ? e->tree_count : 1, sizeof(size_t));
    int32_t *order = gbx_malloc_array(total ? total : 1, sizeof(int32_t)); /* compact -> node */
    size_t *level = gbx_malloc_array(total ? total : 1, sizeof(size_t));
    if (!e->compact || !e->compact_value || !e->compact_root || !e->compact_depth || !order ||
        !level) {
        free(e->compact); free(e->compact_value); free(e->compact_root); free(e->compact_depth);
        e->compact = NULL, e->compact_value = NULL, e->compact_root = NULL;
        e->compact_depth = NULL;
        free(order);
        free(level);
        return;
    }
    size_t base = 0;
    for (size_t t = 0; t < e->tree_count; t++) {
        const gbx_tree *tree = &e->trees[t];
        e->compact_root[t] = base;
        /* Breadth first: a split's two children take the next two free places. */
        size_t next = 1;
        order[base] = 0;
        level[base] = 0;
        for (size_t i = 0; i < next; i++) {
            const gbx_node *node = &tree->nodes[order[base + i]];
            gbx_compact_node *c = &e->compact[base + i];
            if (node->kind == GBX_NODE_LEAF) {
                /* A leaf steps onto itself whatever the value (no x is below NaN, so the step
                 * is left + 1 = itself), so every row can take the tree's depth in steps. */
                c->feature = 0, c->threshold = NAN, c->default_left = 0;
                c->left = (int32_t)(base + i) - 1;
                e->compact_value[base + i] = node->value;
                if (level[base + i] > e->compact_depth[t]) e->compact_depth[t] = level[base + i];
                continue;
            }
            c->feature = node->feature;
            c->threshold = node->threshold_float;
            c->left = (int32_t)(base + next);
            c->default_left = node->default_left;
            level[base + next] = level[base + next + 1] = level[base + i] + 1;
            order[base + next++] = node->left;
            order[base + next++] = node->right;
        }
        base += tree->node_count;
    }
    free(order);
    free(level);
    e->levels = build_levels(e);
    gbx_tree_ensemble_select_predictor(e, "vector");
}

/* Rows walked through a tree together: each walk is a chain of dependent loads, and several
 * independent chains keep the memory system busy while one waits. */
#define COMPACT_LANES 8

/* Margins of rows through the compact trees: each row is rounded to float once, and each step
 * picks the child by arithmetic (NaN fails the compare and goes right, unless its default is
 * left). COMPACT_LANES rows go through each tree side by side; every row still sums its trees
 * in the order gbx_tree_ensemble_margin does. rows_float holds COMPACT_LANES x M floats. */
static void compact_margins(const gbx_model *model, const double *rows, size_t count, double *out,
                            float *rows_float)
{
    const gbx_tree_ensemble *e = model->trees;
    const gbx_compact_node *nodes = e->compact;
    size_t M = model->features, K = model->outputs;
    for (size_t first = 0; first < count; first += COMPACT_LANES) {
        size_t lanes = count - first < COMPACT_LANES ? count - first : COMPACT_LANES;
        for (size_t j = 0; j < lanes * M; j++) rows_float[j] = (float)rows[first * M + j];
        for (size_t l = 0; l < lanes; l++)
            for (size_t k = 0; k < K; k++) out[(first + l) * K + k] = e->base_margin[k];
        for (size_t t = 0; t < e->tree_count; t++) {
            size_t at[COMPACT_LANES];
            for (size_t l = 0; l < lanes; l++) at[l] = e->compact_root[t];
            for (size_t step = 0; step < e->compact_depth[t]; step++)
                for (size_t l = 0; l < lanes; l++) {
                    const gbx_compact_node *node = &nodes[at[l]];
                    float x = rows_float[l * M + (size_t)node->feature];
                    int right = !(x < node->threshold);
                    right ^= (x != x) & node->default_left;
                    at[l] = (size_t)(int64_t)node->left + (size_t)right;
                }
            for (size_t l = 0; l < lanes; l++)
                out[(first + l) * K + (size_t)e->trees[t].output] += e->compact_value[at[l]];
        }
    }
}

gbx_status gbx_tree_ensemble_predict_raw(const gbx_model *model, const double *rows, size_t count,
                                         double *out, gbx_error *error)
{
    if (!model->trees) return gbx_fail(error, GBX_ERR_UNSUPPORTED, "the model has no trees");
    size_t M = model->features, K = model->outputs;
    if (model->trees->compact) {
        size_t blocks = (count + 255) / 256;
        int failed = 0;
        /* Large batches use every core, except inside an explainer's threads (even a team of
         * one, which --threads 1 makes). */
#pragma omp parallel for schedule(static) if (count >= 1024 && omp_get_level() == 0)
        for (size_t b = 0; b < blocks; b++) {
            size_t first = b * 256, n = count - first < 256 ? count - first : 256;
            float *row = malloc((M ? M : 1) * 16 * sizeof(float));
            double *sums = malloc(K * 16 * sizeof(double));
            if (!row || !sums) {
                free(row);
                free(sums);
#pragma omp atomic write
                failed = 1;
                continue;
            }
#ifdef GBX_HAVE_VECTOR_PREDICT
            if (model->trees->vector_predict == GBX_PREDICT_AVX512)
                gbx_tree_levels_margins_avx512(model->trees, M, K, rows + first * M, n,
                                               out + first * K, row, sums);
            else if (model->trees->vector_predict == GBX_PREDICT_AVX2)
                gbx_tree_levels_margins_avx2(model->trees, M, K, rows + first * M, n,
                                             out + first * K, row, sums);
            else
#endif
                compact_margins(model, rows + first * M, n, out + first * K, row);
            free(row);
            free(sums);
        }
        return failed ? gbx_fail(error, GBX_ERR_NOMEM, "out of memory") : GBX_OK;
    }
#pragma omp parallel for schedule(static) if (count >= 1024 && omp_get_level() == 0)
    for (size_t r = 0; r < count; r++)
        gbx_tree_ensemble_margin(model, rows + r * M, out + r * K);
    return GBX_OK;
}

gbx_status gbx_model_predict(const gbx_model *model, const gbx_data *data, int raw, double *out,
                             gbx_error *error)
{
    if (!model || !data || !out) return gbx_fail(error, GBX_ERR_USAGE, "predict: NULL argument");
    if (data->columns != model->features)
        return gbx_fail(error, GBX_ERR_MISMATCH, "data has %zu columns, the model expects %zu",
                        data->columns, model->features);
    gbx_status status = model->predict_raw(model, data->values, data->rows, out, error);
    if (status == GBX_OK && !raw)
        for (size_t r = 0; r < data->rows; r++) model->transform(model, out + r * model->outputs);
    return status;
}

const char *gbx_model_source(const gbx_model *model) { return model->source ? model->source : ""; }
const char *gbx_model_version(const gbx_model *model) { return model->version ? model->version : ""; }

long gbx_model_output_index(const gbx_model *model, const char *name)
{
    for (size_t k = 0; model && name && k < model->outputs; k++)
        if (strcmp(model->output_names[k], name) == 0) return (long)k;
    return -1;
}

gbx_status gbx_model_output_choice(const gbx_model *model, const char *choice, long *out,
                                   gbx_error *error)
{
    if (!model || !choice || !out)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_model_output_choice: NULL argument");
    size_t K = model->outputs;
    char *end;
    unsigned long index = strtoul(choice, &end, 10);
    if (strcmp(choice, "all") == 0) *out = GBX_OUTPUT_ALL;
    else if (strcmp(choice, "predicted") == 0) *out = GBX_OUTPUT_PREDICTED;
    else if (*choice >= '0' && *choice <= '9' && !*end && index < K) *out = (long)index;
    else if ((*out = gbx_model_output_index(model, choice)) < 0)
        return gbx_fail(error, GBX_ERR_USAGE, "%s is not an output of this model (it has %zu: "
                        "%s%s)", choice, K, K ? model->output_names[0] : "", K > 1 ? ", ..." : "");
    return GBX_OK;
}
