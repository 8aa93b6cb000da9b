/* XGBoost JSON and UBJSON model files (XGBoost 1.6 to 3.x), gbtree and dart boosters.
 * Errors name the JSON path of the offending field. */
#include "../io/ubjson.h"
#include "model.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;          /* objective name, or prefix ending in ':' */
    gbx_link link;
    void (*transform)(const gbx_model *, double *);
    int log_margin;            /* base_score -> margin: 1 = logit, 2 = log, 0 = as is */
} objective_rule;

static void transform_hinge(const gbx_model *model, double *row)
{
    for (size_t k = 0; k < model->outputs; k++) row[k] = row[k] > 0 ? 1.0 : 0.0;
}

static const objective_rule objective_rules[] = {
    {"binary:logistic", GBX_LINK_LOGIT, gbx_transform_sigmoid, 1},
    {"reg:logistic", GBX_LINK_LOGIT, gbx_transform_sigmoid, 1},
    {"binary:logitraw", GBX_LINK_IDENTITY, gbx_transform_identity, 0},
    {"binary:hinge", GBX_LINK_OTHER, transform_hinge, 0},
    {"reg:squarederror", GBX_LINK_IDENTITY, gbx_transform_identity, 0},
    {"reg:linear", GBX_LINK_IDENTITY, gbx_transform_identity, 0},
    {"reg:squaredlogerror", GBX_LINK_IDENTITY, gbx_transform_identity, 0},
    {"reg:pseudohubererror", GBX_LINK_IDENTITY, gbx_transform_identity, 0},
    {"reg:absoluteerror", GBX_LINK_IDENTITY, gbx_transform_identity, 0},
    {"reg:quantileerror", GBX_LINK_IDENTITY, gbx_transform_identity, 0},
    {"count:poisson", GBX_LINK_LOG, gbx_transform_exp, 2},
    {"reg:gamma", GBX_LINK_LOG, gbx_transform_exp, 2},
    {"reg:tweedie", GBX_LINK_LOG, gbx_transform_exp, 2},
    {"survival:cox", GBX_LINK_LOG, gbx_transform_exp, 2},
    {"multi:softprob", GBX_LINK_SOFTMAX, gbx_transform_softmax, 0},
    {"multi:softmax", GBX_LINK_SOFTMAX, gbx_transform_softmax, 0},
    {"rank:", GBX_LINK_IDENTITY, gbx_transform_identity, 0},
};

static const objective_rule *find_objective(const char *name)
{
    for (size_t i = 0; i < sizeof objective_rules / sizeof objective_rules[0]; i++) {
        const char *rule = objective_rules[i].name;
        size_t length = strlen(rule);
        if (rule[length - 1] == ':' ? strncmp(name, rule, length) == 0 : strcmp(name, rule) == 0)
            return &objective_rules[i];
    }
    return NULL;
}

/* ---- JSON access with paths in the messages ---- */

typedef struct {
    const char *file;
    gbx_error *error;
} context;

static gbx_status missing(const context *c, const char *path)
{
    return gbx_fail(c->error, GBX_ERR_PARSE, "%s: missing or malformed field %s", c->file, path);
}

static json_object *member(json_object *object, const char *key)
{
    json_object *value = NULL;
    if (!object || !json_object_is_type(object, json_type_object)) return NULL;
    return json_object_object_get_ex(object, key, &value) ? value : NULL;
}

static int is_number(json_object *value)
{
    return json_object_is_type(value, json_type_double) || json_object_is_type(value, json_type_int) ||
           json_object_is_type(value, json_type_boolean);
}

/* XGBoost writes parameters as strings ("5E-1", "[5E-1,2E-1]"); parse one or a list. */
static gbx_status parse_number_list(const context *c, const char *path, json_object *value,
                                    double *out, size_t capacity, size_t *count)
{
    *count = 0;
    if (value && is_number(value)) {
        if (capacity < 1) return missing(c, path);
        out[0] = json_object_get_double(value);
        *count = 1;
        return GBX_OK;
    }
    if (!value || !json_object_is_type(value, json_type_string)) return missing(c, path);
    const char *text = json_object_get_string(value);
    while (*text == ' ' || *text == '[') text++;
    while (*text && *text != ']') {
        char *end;
        double number = strtod(text, &end);
        if (end == text || *count >= capacity)
            return gbx_fail(c->error, GBX_ERR_PARSE, "%s: %s: cannot read \"%s\" as numbers",
                            c->file, path, json_object_get_string(value));
        out[(*count)++] = number;
        text = end;
        while (*text == ' ' || *text == ',') text++;
    }
    if (*count == 0)
        return gbx_fail(c->error, GBX_ERR_PARSE, "%s: %s: no number in \"%s\"", c->file, path,
                        json_object_get_string(value));
    return GBX_OK;
}

static gbx_status integer_parameter(const context *c, json_object *object, const char *key,
                                    const char *path, long long minimum, long long *out)
{
    json_object *value = member(object, key);
    double number;
    size_t count;
    gbx_status status = parse_number_list(c, path, value, &number, 1, &count);
    if (status != GBX_OK) return status;
    if (number != (double)(long long)number || number < (double)minimum || number > 1e9)
        return gbx_fail(c->error, GBX_ERR_PARSE, "%s: %s: %g is not a valid count", c->file,
                        path, number);
    *out = (long long)number;
    return GBX_OK;
}

/* A numeric array member of exactly `count` entries (count 0 = any length, returned). */
static gbx_status number_array(const context *c, json_object *tree, size_t tree_index,
                               const char *key, size_t count, json_object **out)
{
    json_object *array = member(tree, key);
    if (!array || !json_object_is_type(array, json_type_array))
        return gbx_fail(c->error, GBX_ERR_PARSE, "%s: trees[%zu].%s: missing or not an array",
                        c->file, tree_index, key);
    size_t length = json_object_array_length(array);
    if (count && length != count)
        return gbx_fail(c->error, GBX_ERR_PARSE,
                        "%s: trees[%zu].%s: has %zu entries, expected %zu (num_nodes)", c->file,
                        tree_index, key, length, count);
    for (size_t i = 0; i < length; i++)
        if (!is_number(json_object_array_get_idx(array, i)))
            return gbx_fail(c->error, GBX_ERR_PARSE, "%s: trees[%zu].%s[%zu]: not a number",
                            c->file, tree_index, key, i);
    *out = array;
    return GBX_OK;
}

static double number_at(json_object *array, size_t i)
{
    return json_object_get_double(json_object_array_get_idx(array, i));
}

/* Builds per-node category bitsets from XGBoost's (nodes, segments, sizes, categories) lists. */
static gbx_status load_categories(const context *c, json_object *tree_json, size_t tree_index,
                                  gbx_tree *tree)
{
    json_object *nodes = member(tree_json, "categories_nodes");
    if (!nodes || json_object_array_length(nodes) == 0) return GBX_OK;
    json_object *segments, *sizes, *categories;
    gbx_status status;
    if ((status = number_array(c, tree_json, tree_index, "categories_nodes", 0, &nodes)) ||
        (status = number_array(c, tree_json, tree_index, "categories_segments",
                               json_object_array_length(nodes), &segments)) ||
        (status = number_array(c, tree_json, tree_index, "categories_sizes",
                               json_object_array_length(nodes), &sizes)) ||
        (status = number_array(c, tree_json, tree_index, "categories", 0, &categories)))
        return status;
    size_t split_count = json_object_array_length(nodes);
    size_t category_count = json_object_array_length(categories);
    /* First pass: sizes of the bitsets. */
    size_t total_words = 0;
    for (size_t s = 0; s < split_count; s++) {
        double node = number_at(nodes, s), segment = number_at(segments, s),
               size = number_at(sizes, s);
        /* "not inside" tests, so that NaN is refused before any conversion */
        if (!(node >= 0 && node < (double)tree->node_count) || node != (double)(size_t)node ||
            !(segment >= 0 && size >= 0 && segment + size <= (double)category_count))
            return gbx_fail(c->error, GBX_ERR_PARSE,
                            "%s: trees[%zu].categories_nodes[%zu]: bad node or segment", c->file,
                            tree_index, s);
        double largest = -1;
        for (size_t i = (size_t)segment; i < (size_t)(segment + size); i++) {
            double category = number_at(categories, i);
            if (!(category >= 0 && category < 16777216.0) || category != (double)(int32_t)category)
                return gbx_fail(c->error, GBX_ERR_PARSE,
                                "%s: trees[%zu].categories[%zu]: %g is not a category", c->file,
                                tree_index, i, category);
            if (category > largest) largest = category;
        }
        total_words += largest < 0 ? 0 : (size_t)largest / 32 + 1;
    }
    tree->categories = gbx_calloc(total_words, sizeof(uint32_t));
    if (!tree->categories) return gbx_fail(c->error, GBX_ERR_NOMEM, "%s: out of memory", c->file);
    tree->category_word_count = total_words;
    size_t next_word = 0;
    for (size_t s = 0; s < split_count; s++) {
        gbx_node *node = &tree->nodes[(size_t)number_at(nodes, s)];
        size_t segment = (size_t)number_at(segments, s), size = (size_t)number_at(sizes, s);
        double largest = -1;
        for (size_t i = segment; i < segment + size; i++)
            if (number_at(categories, i) > largest) largest = number_at(categories, i);
        node->category_begin = (uint32_t)next_word;
        node->category_words = largest < 0 ? 0 : (uint32_t)((size_t)largest / 32 + 1);
        for (size_t i = segment; i < segment + size; i++) {
            uint32_t category = (uint32_t)number_at(categories, i);
            tree->categories[next_word + (category >> 5)] |= 1u << (category & 31);
        }
        next_word += node->category_words;
    }
    return GBX_OK;
}

static gbx_status load_tree(const context *c, json_object *tree_json, size_t tree_index,
                            double weight, size_t features, gbx_tree *tree)
{
    long long node_count;
    char path[96];
    snprintf(path, sizeof path, "trees[%zu].tree_param.num_nodes", tree_index);
    gbx_status status = integer_parameter(c, member(tree_json, "tree_param"), "num_nodes", path, 1,
                                          &node_count);
    if (status != GBX_OK) return status;
    long long leaf_size = 1;
    json_object *leaf_vector = member(member(tree_json, "tree_param"), "size_leaf_vector");
    if (leaf_vector) {
        snprintf(path, sizeof path, "trees[%zu].tree_param.size_leaf_vector", tree_index);
        if ((status = integer_parameter(c, member(tree_json, "tree_param"), "size_leaf_vector",
                                        path, 0, &leaf_size)))
            return status;
    }
    if (leaf_size > 1)
        return gbx_fail(c->error, GBX_ERR_UNSUPPORTED,
                        "%s: trees[%zu]: vector leaves (multi_strategy=multi_output_tree) are not "
                        "supported", c->file, tree_index);
    size_t n = (size_t)node_count;
    json_object *left, *right, *feature, *condition, *default_left, *hessian, *split_type = NULL;
    if ((status = number_array(c, tree_json, tree_index, "left_children", n, &left)) ||
        (status = number_array(c, tree_json, tree_index, "right_children", n, &right)) ||
        (status = number_array(c, tree_json, tree_index, "split_indices", n, &feature)) ||
        (status = number_array(c, tree_json, tree_index, "split_conditions", n, &condition)) ||
        (status = number_array(c, tree_json, tree_index, "default_left", n, &default_left)) ||
        (status = number_array(c, tree_json, tree_index, "sum_hessian", n, &hessian)))
        return status;
    if (member(tree_json, "split_type") &&
        (status = number_array(c, tree_json, tree_index, "split_type", n, &split_type)))
        return status;
    tree->node_count = n;
    tree->nodes = gbx_calloc(n, sizeof(gbx_node));
    if (!tree->nodes) return gbx_fail(c->error, GBX_ERR_NOMEM, "%s: out of memory", c->file);
    for (size_t i = 0; i < n; i++) {
        gbx_node *node = &tree->nodes[i];
        double l = number_at(left, i), r = number_at(right, i), f = number_at(feature, i);
        node->cover = number_at(hessian, i);
        if (l == -1) {
            node->kind = GBX_NODE_LEAF;
            node->left = node->right = -1;
            node->value = number_at(condition, i) * weight;
            continue;
        }
        if (!(l >= 0 && l < (double)n) || !(r >= 0 && r < (double)n) ||
            !(f >= 0 && f < (double)features))
            return gbx_fail(c->error, GBX_ERR_PARSE,
                            "%s: trees[%zu]: node %zu has children (%g, %g) or feature %g out of "
                            "range", c->file, tree_index, i, l, r, f);
        node->left = (int32_t)l;
        node->right = (int32_t)r;
        node->feature = (int32_t)f;
        node->default_left = number_at(default_left, i) != 0;
        node->threshold = number_at(condition, i);
        node->threshold_float = (float)node->threshold;
        node->kind = split_type && number_at(split_type, i) == 1 ? GBX_SPLIT_CATEGORY_RIGHT
                                                                 : GBX_SPLIT_LESS_FLOAT;
    }
    if ((status = load_categories(c, tree_json, tree_index, tree))) return status;
    status = gbx_tree_validate(tree, tree_index, features, c->error);
    if (status != GBX_OK) gbx_error_prefix(c->error, "%s: ", c->file);
    return status;
}

static gbx_status load_feature_names(const context *c, json_object *learner, gbx_model *model)
{
    json_object *names = member(learner, "feature_names");
    if (!names || !json_object_is_type(names, json_type_array) ||
        json_object_array_length(names) == 0)
        return GBX_OK;
    if (json_object_array_length(names) != model->features)
        return gbx_fail(c->error, GBX_ERR_PARSE,
                        "%s: learner.feature_names has %zu names for %zu features", c->file,
                        json_object_array_length(names), model->features);
    model->feature_names = gbx_calloc(model->features, sizeof(char *));
    if (!model->feature_names) return gbx_fail(c->error, GBX_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < model->features; j++) {
        json_object *name = json_object_array_get_idx(names, j);
        if (!json_object_is_type(name, json_type_string))
            return gbx_fail(c->error, GBX_ERR_PARSE, "%s: learner.feature_names[%zu]: not a string",
                            c->file, j);
        model->feature_names[j] = gbx_strdup(json_object_get_string(name));
        if (!model->feature_names[j]) return gbx_fail(c->error, GBX_ERR_NOMEM, "out of memory");
    }
    return GBX_OK;
}

static gbx_status load_base_margin(const context *c, json_object *parameters,
                                   const objective_rule *objective, gbx_model *model)
{
    size_t outputs = model->outputs, count;
    double *scores = gbx_calloc(outputs, sizeof(double));
    model->trees->base_margin = gbx_calloc(outputs, sizeof(double));
    if (!scores || !model->trees->base_margin) {
        free(scores);
        return gbx_fail(c->error, GBX_ERR_NOMEM, "out of memory");
    }
    gbx_status status = parse_number_list(c, "learner.learner_model_param.base_score",
                                          member(parameters, "base_score"), scores, outputs, &count);
    if (status == GBX_OK && count != 1 && count != outputs)
        status = gbx_fail(c->error, GBX_ERR_PARSE,
                          "%s: learner.learner_model_param.base_score has %zu values for %zu "
                          "outputs", c->file, count, outputs);
    for (size_t k = 0; status == GBX_OK && k < outputs; k++) {
        /* XGBoost stores base_score as a float32 in the output space. */
        double score = (float)scores[count == 1 ? 0 : k];
        if (!isfinite(score)) {
            /* Every prediction would be NaN or infinite: refused as non-finite leaves are. */
            status = gbx_fail(c->error, GBX_ERR_PARSE, "%s: base_score %g is not a finite "
                              "number", c->file, score);
            break;
        }
        if (objective->log_margin == 1) {
            if (!(score > 0 && score < 1))
                status = gbx_fail(c->error, GBX_ERR_PARSE,
                                  "%s: base_score %g must lie in (0, 1) for %s", c->file, score,
                                  objective->name);
            score = -log(1.0 / score - 1.0);
        } else if (objective->log_margin == 2) {
            if (!(score > 0))
                status = gbx_fail(c->error, GBX_ERR_PARSE, "%s: base_score %g must be positive "
                                  "for %s", c->file, score, objective->name);
            score = log(score);
        }
        model->trees->base_margin[k] = (float)score;
    }
    free(scores);
    return status;
}

static gbx_status load_learner(const context *c, json_object *root, gbx_model *model)
{
    json_object *learner = member(root, "learner");
    if (!learner) return missing(c, "learner");
    json_object *parameters = member(learner, "learner_model_param");
    long long features, classes, targets = 1;
    gbx_status status;
    if ((status = integer_parameter(c, parameters, "num_feature",
                                    "learner.learner_model_param.num_feature", 0, &features)) ||
        (status = integer_parameter(c, parameters, "num_class",
                                    "learner.learner_model_param.num_class", 0, &classes)))
        return status;
    if (member(parameters, "num_target") &&
        (status = integer_parameter(c, parameters, "num_target",
                                    "learner.learner_model_param.num_target", 1, &targets)))
        return status;
    if (targets > 1)
        return gbx_fail(c->error, GBX_ERR_UNSUPPORTED,
                        "%s: models with %lld targets are not supported (one target only)",
                        c->file, targets);
    json_object *objective_name = member(member(learner, "objective"), "name");
    if (!objective_name || !json_object_is_type(objective_name, json_type_string))
        return missing(c, "learner.objective.name");
    model->objective = gbx_strdup(json_object_get_string(objective_name));
    if (!model->objective) return gbx_fail(c->error, GBX_ERR_NOMEM, "out of memory");
    const objective_rule *objective = find_objective(model->objective);
    if (!objective)
        return gbx_fail(c->error, GBX_ERR_UNSUPPORTED, "%s: objective \"%s\" is not supported",
                        c->file, model->objective);
    model->link = objective->link;
    model->transform = objective->transform;
    model->features = (size_t)features;
    /* Every class has trees of its own: a num_class beyond the trees the file holds is a lie,
     * refused before memory is allocated for its outputs' names. */
    json_object *booster_model = member(member(learner, "gradient_booster"), "model");
    if (!booster_model)
        booster_model = member(member(member(learner, "gradient_booster"), "gbtree"), "model");
    json_object *tree_list = member(booster_model, "trees");
    size_t listed = tree_list && json_object_is_type(tree_list, json_type_array)
                        ? json_object_array_length(tree_list) : 0;
    if (classes > 1 && (size_t)classes > (listed > 1 ? listed : 1))
        return gbx_fail(c->error, GBX_ERR_PARSE, "%s: learner.learner_model_param.num_class is "
                        "%lld, but the model holds %zu trees (each class has its own)", c->file,
                        classes, listed);
    if ((status = gbx_model_set_outputs(model, classes > 1 ? (size_t)classes : 1, "output")))
        return gbx_fail(c->error, status, "out of memory");
    if ((status = load_feature_names(c, learner, model))) return status;

    json_object *booster = member(learner, "gradient_booster");
    json_object *booster_name = member(booster, "name");
    if (!booster_name) return missing(c, "learner.gradient_booster.name");
    const char *kind = json_object_get_string(booster_name);
    json_object *weights = NULL, *trees_model;
    if (strcmp(kind, "gbtree") == 0) {
        trees_model = member(booster, "model");
    } else if (strcmp(kind, "dart") == 0) {
        trees_model = member(member(booster, "gbtree"), "model");
        weights = member(booster, "weight_drop");
        if (!weights || !json_object_is_type(weights, json_type_array))
            return missing(c, "learner.gradient_booster.weight_drop");
    } else {
        return gbx_fail(c->error, GBX_ERR_UNSUPPORTED,
                        "%s: booster \"%s\" is not supported (gbtree and dart are)", c->file, kind);
    }
    json_object *trees = member(trees_model, "trees"), *tree_info = member(trees_model, "tree_info");
    if (!trees || !json_object_is_type(trees, json_type_array))
        return missing(c, "learner.gradient_booster.model.trees");
    size_t tree_count = json_object_array_length(trees);
    if (!tree_info || !json_object_is_type(tree_info, json_type_array) ||
        json_object_array_length(tree_info) != tree_count)
        return missing(c, "learner.gradient_booster.model.tree_info");
    if (weights && json_object_array_length(weights) != tree_count)
        return gbx_fail(c->error, GBX_ERR_PARSE, "%s: weight_drop has %zu weights for %zu trees",
                        c->file, json_object_array_length(weights), tree_count);

    model->trees = calloc(1, sizeof *model->trees);
    if (!model->trees || !(model->trees->trees = gbx_calloc(tree_count, sizeof(gbx_tree))))
        return gbx_fail(c->error, GBX_ERR_NOMEM, "out of memory");
    model->trees->has_cover = 1; /* sum_hessian */
    if ((status = load_base_margin(c, parameters, objective, model))) return status;
    for (size_t t = 0; t < tree_count; t++) {
        json_object *group = json_object_array_get_idx(tree_info, t);
        double output = group && is_number(group) ? json_object_get_double(group) : -1;
        if (output < 0 || output >= (double)model->outputs || output != (int)output)
            return gbx_fail(c->error, GBX_ERR_PARSE, "%s: tree_info[%zu]: bad output group",
                            c->file, t);
        double weight = 1.0;
        if (weights) {
            json_object *w = json_object_array_get_idx(weights, t);
            if (!w || !is_number(w))
                return gbx_fail(c->error, GBX_ERR_PARSE, "%s: weight_drop[%zu]: not a number",
                                c->file, t);
            weight = json_object_get_double(w);
        }
        model->trees->tree_count = t + 1;
        model->trees->trees[t].output = (int)output;
        json_object *tree_json = json_object_array_get_idx(trees, t);
        if (!tree_json || !json_object_is_type(tree_json, json_type_object))
            return gbx_fail(c->error, GBX_ERR_PARSE, "%s: trees[%zu]: not an object", c->file, t);
        if ((status = load_tree(c, tree_json, t, weight, model->features, &model->trees->trees[t])))
            return status;
    }
    return GBX_OK;
}

gbx_status gbx_xgboost_load(const char *path, const char *bytes, size_t length, gbx_model *model,
                            gbx_error *error)
{
    context c = {path, error};
    json_object *root = NULL;
    gbx_status status;
    if (bytes[0] == '{' && length > 1 && (bytes[1] == '"' || bytes[1] == ' ' || bytes[1] == '\n' ||
                                          bytes[1] == '\r' || bytes[1] == '\t' || bytes[1] == '}')) {
        if (length > INT_MAX)
            return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: JSON models over 2 GB are not "
                            "supported; save the model as UBJSON", path);
        json_tokener *tokener = json_tokener_new_ex(64);
        if (!tokener) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        root = json_tokener_parse_ex(tokener, bytes, (int)length);
        enum json_tokener_error parse_error = json_tokener_get_error(tokener);
        size_t offset = json_tokener_get_parse_end(tokener);
        json_tokener_free(tokener);
        if (parse_error != json_tokener_success || !root) {
            json_object_put(root);
            /* Translate the byte offset into line:column for the reader. */
            size_t line = 1, column = 1;
            for (size_t i = 0; i < offset && i < length; i++, column++)
                if (bytes[i] == '\n') line++, column = 0;
            return gbx_fail(error, GBX_ERR_PARSE, "%s:%zu:%zu: not valid JSON (%s)", path, line,
                            column, parse_error == json_tokener_continue
                                        ? "unexpected end of file"
                                        : json_tokener_error_desc(parse_error));
        }
    } else if (bytes[0] == '{') {
        status = gbx_ubjson_parse((const unsigned char *)bytes, length, &root, error);
        if (status != GBX_OK) {
            gbx_error_prefix(error, "%s: ", path);
            return status;
        }
    } else {
        return gbx_fail(error, GBX_ERR_PARSE,
                        "%s: not a model file glassbox knows (XGBoost JSON/UBJSON or LightGBM text)",
                        path);
    }
    status = load_learner(&c, root, model);
    json_object_put(root);
    return status;
}
