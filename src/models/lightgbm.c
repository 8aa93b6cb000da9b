/* LightGBM text model files (LightGBM 3.x and 4.x). Errors name the line, key and tree. */
#include "model.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define DECISION_CATEGORICAL 1
#define DECISION_DEFAULT_LEFT 2

typedef struct {
    const char *key;  /* points into the buffer, not NUL-terminated */
    size_t key_length;
    const char *value;
    size_t value_length;
    size_t line;
} entry;

typedef struct {
    const char *file;
    const char *cursor, *end;
    size_t line;
    gbx_error *error;
} reader;

/* Next line split at the first '='; returns 0 at the end of the buffer. */
static int next_entry(reader *in, entry *out)
{
    if (in->cursor >= in->end) return 0;
    const char *start = in->cursor;
    const char *newline = memchr(start, '\n', (size_t)(in->end - start));
    const char *stop = newline ? newline : in->end;
    in->cursor = newline ? newline + 1 : in->end;
    out->line = ++in->line;
    if (stop > start && stop[-1] == '\r') stop--;
    const char *equals = memchr(start, '=', (size_t)(stop - start));
    out->key = start;
    out->key_length = (size_t)((equals ? equals : stop) - start);
    out->value = equals ? equals + 1 : stop;
    out->value_length = (size_t)(stop - out->value);
    return 1;
}

static int key_is(const entry *e, const char *key)
{
    return e->key_length == strlen(key) && memcmp(e->key, key, e->key_length) == 0;
}

static gbx_status bad(reader *in, const entry *e, const char *what)
{
    return gbx_fail(in->error, GBX_ERR_PARSE, "%s:%zu: %.*s: %s", in->file, e->line,
                    (int)e->key_length, e->key, what);
}

/* Parses `expected` space-separated numbers of the entry's value. */
static gbx_status parse_numbers(reader *in, const entry *e, size_t expected, double *out)
{
    char *text = malloc(e->value_length + 1);
    if (!text) return gbx_fail(in->error, GBX_ERR_NOMEM, "out of memory");
    memcpy(text, e->value, e->value_length);
    text[e->value_length] = '\0';
    const char *p = text;
    size_t count = 0;
    gbx_status status = GBX_OK;
    for (;;) {
        while (*p == ' ') p++;
        if (!*p) break;
        char *end;
        double value = strtod(p, &end);
        if (end == p || (*end && *end != ' ')) {
            status = gbx_fail(in->error, GBX_ERR_PARSE, "%s:%zu: %.*s: entry %zu is not a number",
                              in->file, e->line, (int)e->key_length, e->key, count + 1);
            break;
        }
        if (count < expected) out[count] = value;
        count++;
        p = end;
    }
    free(text);
    if (status == GBX_OK && count != expected) {
        char what[96];
        snprintf(what, sizeof what, "has %zu values, expected %zu", count, expected);
        status = bad(in, e, what);
    }
    return status;
}

/* The arrays of one "Tree=" block that glassbox needs. */
typedef struct {
    size_t leaves, categorical_splits;
    double *split_feature, *threshold, *decision_type, *left, *right;
    double *leaf_value, *leaf_count, *internal_count, *cat_boundaries, *cat_threshold;
    size_t cat_threshold_count;
    int linear;
} tree_block;

static void free_block(tree_block *b)
{
    free(b->split_feature); free(b->threshold); free(b->decision_type); free(b->left);
    free(b->right); free(b->leaf_value); free(b->leaf_count); free(b->internal_count);
    free(b->cat_boundaries); free(b->cat_threshold);
    memset(b, 0, sizeof *b);
}

static size_t count_numbers(const entry *e)
{
    size_t count = 0;
    for (size_t i = 0; i < e->value_length; i++)
        if (e->value[i] != ' ' && (i == 0 || e->value[i - 1] == ' ')) count++;
    return count;
}

static gbx_status read_array(reader *in, const entry *e, size_t count, double **out)
{
    free(*out);
    *out = gbx_calloc(count ? count : 1, sizeof(double));
    if (!*out) return gbx_fail(in->error, GBX_ERR_NOMEM, "out of memory");
    return parse_numbers(in, e, count, *out);
}

static gbx_status read_block(reader *in, size_t tree_index, tree_block *b)
{
    entry e;
    gbx_status status = GBX_OK;
    size_t splits = 0;
    while (status == GBX_OK && next_entry(in, &e) && e.key_length > 0) {
        double number;
        if (key_is(&e, "num_leaves") || key_is(&e, "num_cat") || key_is(&e, "is_linear")) {
            if ((status = parse_numbers(in, &e, 1, &number))) break;
            if (!(number >= 0 && number <= 1e8) || number != (double)(size_t)number) {
                status = bad(in, &e, "not a valid count");
                break;
            }
            if (key_is(&e, "num_leaves")) b->leaves = (size_t)number, splits = b->leaves - 1;
            else if (key_is(&e, "num_cat")) b->categorical_splits = (size_t)number;
            else b->linear = number != 0;
            if (b->leaves == 0 && key_is(&e, "num_leaves")) status = bad(in, &e, "must be >= 1");
            continue;
        }
        if (b->leaves == 0 && !key_is(&e, "num_leaves")) {
            status = bad(in, &e, "appears before num_leaves");
            break;
        }
        if (key_is(&e, "split_feature")) status = read_array(in, &e, splits, &b->split_feature);
        else if (key_is(&e, "threshold")) status = read_array(in, &e, splits, &b->threshold);
        else if (key_is(&e, "decision_type")) status = read_array(in, &e, splits, &b->decision_type);
        else if (key_is(&e, "left_child")) status = read_array(in, &e, splits, &b->left);
        else if (key_is(&e, "right_child")) status = read_array(in, &e, splits, &b->right);
        else if (key_is(&e, "internal_count")) status = read_array(in, &e, splits, &b->internal_count);
        else if (key_is(&e, "leaf_value")) status = read_array(in, &e, b->leaves, &b->leaf_value);
        else if (key_is(&e, "leaf_count")) status = read_array(in, &e, b->leaves, &b->leaf_count);
        else if (key_is(&e, "cat_boundaries"))
            status = read_array(in, &e, b->categorical_splits + 1, &b->cat_boundaries);
        else if (key_is(&e, "cat_threshold")) {
            b->cat_threshold_count = count_numbers(&e);
            status = read_array(in, &e, b->cat_threshold_count, &b->cat_threshold);
        }
    }
    if (status != GBX_OK) return status;
    if (b->linear)
        return gbx_fail(in->error, GBX_ERR_UNSUPPORTED,
                        "%s: tree %zu: linear trees (linear_tree=true) are not supported",
                        in->file, tree_index);
    const char *lacking = !b->leaves ? "num_leaves" : !b->leaf_value ? "leaf_value" : NULL;
    if (!lacking && splits > 0)
        lacking = !b->split_feature ? "split_feature" : !b->threshold ? "threshold"
                : !b->decision_type ? "decision_type" : !b->left ? "left_child"
                : !b->right ? "right_child" : !b->internal_count ? "internal_count"
                : !b->leaf_count ? "leaf_count" : NULL;
    if (!lacking && b->categorical_splits > 0)
        lacking = !b->cat_boundaries ? "cat_boundaries" : !b->cat_threshold ? "cat_threshold" : NULL;
    if (lacking)
        return gbx_fail(in->error, GBX_ERR_PARSE, "%s: tree %zu (before line %zu): missing %s",
                        in->file, tree_index, in->line, lacking);
    return GBX_OK;
}

/* Leaves come after the splits: child codes >= 0 are splits, ~code are leaves. */
static int32_t child_index(double code, size_t splits)
{
    return code >= 0 ? (int32_t)code : (int32_t)(splits + (size_t)(-code - 1));
}

static gbx_status build_tree(reader *in, size_t tree_index, const tree_block *b, size_t features,
                             gbx_tree *tree)
{
    size_t splits = b->leaves - 1;
    tree->node_count = splits + b->leaves;
    tree->nodes = gbx_calloc(tree->node_count, sizeof(gbx_node));
    if (!tree->nodes) return gbx_fail(in->error, GBX_ERR_NOMEM, "out of memory");
    if (b->categorical_splits) {
        tree->category_word_count = b->cat_threshold_count;
        tree->categories = gbx_calloc(b->cat_threshold_count, sizeof(uint32_t));
        if (!tree->categories) return gbx_fail(in->error, GBX_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < b->cat_threshold_count; i++) {
            if (!(b->cat_threshold[i] >= 0 && b->cat_threshold[i] <= 4294967295.0))
                return gbx_fail(in->error, GBX_ERR_PARSE, "%s: tree %zu: cat_threshold[%zu] is "
                                "not a 32-bit word", in->file, tree_index, i);
            tree->categories[i] = (uint32_t)b->cat_threshold[i];
        }
    }
    for (size_t i = 0; i < splits; i++) {
        gbx_node *node = &tree->nodes[i];
        double left = b->left[i], right = b->right[i], feature = b->split_feature[i];
        double limit = (double)b->leaves;
        /* Written as "not inside" so that NaN fails too, before any conversion to int. */
        if (!(left >= -limit && left < (double)splits) || !(right >= -limit && right < (double)splits) ||
            left != (int32_t)left || right != (int32_t)right ||
            !(feature >= 0 && feature < (double)features) || feature != (int32_t)feature)
            return gbx_fail(in->error, GBX_ERR_PARSE,
                            "%s: tree %zu: split %zu has children (%g, %g) or feature %g out of "
                            "range", in->file, tree_index, i, left, right, feature);
        node->left = child_index(left, splits);
        node->right = child_index(right, splits);
        node->feature = (int32_t)feature;
        node->cover = b->internal_count[i];
        if (!(b->decision_type[i] >= 0 && b->decision_type[i] <= 255))
            return gbx_fail(in->error, GBX_ERR_PARSE, "%s: tree %zu: split %zu has decision_type "
                            "%g (not 0 to 255)", in->file, tree_index, i, b->decision_type[i]);
        int decision = (int)b->decision_type[i];
        node->default_left = (decision & DECISION_DEFAULT_LEFT) != 0;
        node->missing_type = (uint8_t)((decision >> 2) & 3);
        node->threshold = b->threshold[i];
        node->threshold_float = (float)node->threshold;
        if (decision & DECISION_CATEGORICAL) {
            node->kind = GBX_SPLIT_CATEGORY_LEFT;
            double slot = b->threshold[i];
            if (!(slot >= 0 && slot < (double)b->categorical_splits) || slot != (int)slot)
                return gbx_fail(in->error, GBX_ERR_PARSE, "%s: tree %zu: split %zu refers to "
                                "categorical split %g of %zu", in->file, tree_index, i, slot,
                                b->categorical_splits);
            double begin = b->cat_boundaries[(size_t)slot], end = b->cat_boundaries[(size_t)slot + 1];
            if (!(begin >= 0 && end >= begin && end <= (double)b->cat_threshold_count) ||
                begin != (uint32_t)begin || end != (uint32_t)end)
                return gbx_fail(in->error, GBX_ERR_PARSE, "%s: tree %zu: bad cat_boundaries",
                                in->file, tree_index);
            node->category_begin = (uint32_t)begin;
            node->category_words = (uint32_t)(end - begin);
        } else {
            node->kind = GBX_SPLIT_LESS_EQUAL;
            if (node->missing_type > GBX_MISSING_NAN)
                return gbx_fail(in->error, GBX_ERR_PARSE, "%s: tree %zu: split %zu has an "
                                "unknown missing type", in->file, tree_index, i);
        }
    }
    for (size_t i = 0; i < b->leaves; i++) {
        gbx_node *leaf = &tree->nodes[splits + i];
        leaf->kind = GBX_NODE_LEAF;
        leaf->left = leaf->right = -1;
        leaf->value = b->leaf_value[i];
        leaf->cover = splits ? b->leaf_count[i] : 1.0;
    }
    return gbx_tree_validate(tree, tree_index, features, in->error);
}

typedef struct {
    const char *prefix; /* first word of the objective line */
    gbx_link link;
    void (*transform)(const gbx_model *, double *);
} objective_rule;

static void transform_square_signed(const gbx_model *model, double *row)
{
    for (size_t k = 0; k < model->outputs; k++) row[k] = copysign(row[k] * row[k], row[k]);
}

static void transform_softplus(const gbx_model *model, double *row)
{
    for (size_t k = 0; k < model->outputs; k++) row[k] = log1p(exp(row[k]));
}

static const objective_rule objective_rules[] = {
    {"binary", GBX_LINK_LOGIT, gbx_transform_sigmoid},
    {"multiclass", GBX_LINK_SOFTMAX, gbx_transform_softmax},
    {"multiclassova", GBX_LINK_LOGIT, gbx_transform_sigmoid},
    {"cross_entropy", GBX_LINK_LOGIT, gbx_transform_sigmoid},
    {"xentropy", GBX_LINK_LOGIT, gbx_transform_sigmoid},
    {"cross_entropy_lambda", GBX_LINK_OTHER, transform_softplus},
    {"xentlambda", GBX_LINK_OTHER, transform_softplus},
    {"poisson", GBX_LINK_LOG, gbx_transform_exp},
    {"gamma", GBX_LINK_LOG, gbx_transform_exp},
    {"tweedie", GBX_LINK_LOG, gbx_transform_exp},
    {"regression", GBX_LINK_IDENTITY, gbx_transform_identity},
    {"regression_l1", GBX_LINK_IDENTITY, gbx_transform_identity},
    {"huber", GBX_LINK_IDENTITY, gbx_transform_identity},
    {"fair", GBX_LINK_IDENTITY, gbx_transform_identity},
    {"quantile", GBX_LINK_IDENTITY, gbx_transform_identity},
    {"mape", GBX_LINK_IDENTITY, gbx_transform_identity},
    {"lambdarank", GBX_LINK_IDENTITY, gbx_transform_identity},
    {"rank_xendcg", GBX_LINK_IDENTITY, gbx_transform_identity},
    {"custom", GBX_LINK_IDENTITY, gbx_transform_identity},
    {"none", GBX_LINK_IDENTITY, gbx_transform_identity},
};

static gbx_status set_objective(reader *in, const entry *e, gbx_model *model)
{
    free(model->objective); /* a repeated objective line: the last one counts */
    model->objective = malloc(e->value_length + 1);
    if (!model->objective) return gbx_fail(in->error, GBX_ERR_NOMEM, "out of memory");
    memcpy(model->objective, e->value, e->value_length);
    model->objective[e->value_length] = '\0';
    size_t word = strcspn(model->objective, " ");
    const objective_rule *rule = NULL;
    for (size_t i = 0; i < sizeof objective_rules / sizeof objective_rules[0]; i++)
        if (strlen(objective_rules[i].prefix) == word &&
            strncmp(model->objective, objective_rules[i].prefix, word) == 0)
            rule = &objective_rules[i];
    if (!rule)
        return gbx_fail(in->error, GBX_ERR_UNSUPPORTED, "%s:%zu: objective \"%s\" is not supported",
                        in->file, e->line, model->objective);
    model->link = rule->link;
    model->transform = rule->transform;
    const char *sigmoid = strstr(model->objective, "sigmoid:");
    if (sigmoid) model->sigmoid_scale = strtod(sigmoid + 8, NULL);
    if (rule->link == GBX_LINK_IDENTITY && strstr(model->objective, " sqrt")) {
        model->link = GBX_LINK_OTHER;
        model->transform = transform_square_signed;
    }
    if (!(model->sigmoid_scale > 0))
        return gbx_fail(in->error, GBX_ERR_PARSE, "%s:%zu: bad sigmoid scale in \"%s\"", in->file,
                        e->line, model->objective);
    return GBX_OK;
}

static gbx_status set_feature_names(reader *in, const entry *e, gbx_model *model)
{
    if (count_numbers(e) != model->features)
        return bad(in, e, "number of names differs from max_feature_idx + 1");
    model->feature_names = gbx_calloc(model->features, sizeof(char *));
    if (!model->feature_names) return gbx_fail(in->error, GBX_ERR_NOMEM, "out of memory");
    const char *p = e->value, *end = e->value + e->value_length;
    for (size_t j = 0; j < model->features; j++) {
        while (p < end && *p == ' ') p++;
        const char *stop = p;
        while (stop < end && *stop != ' ') stop++;
        model->feature_names[j] = malloc((size_t)(stop - p) + 1);
        if (!model->feature_names[j]) return gbx_fail(in->error, GBX_ERR_NOMEM, "out of memory");
        memcpy(model->feature_names[j], p, (size_t)(stop - p));
        model->feature_names[j][stop - p] = '\0';
        p = stop;
    }
    return GBX_OK;
}

/* The header, up to the first "Tree=" line. */
static gbx_status read_header(reader *in, gbx_model *model, size_t *trees_per_iteration,
                              int *average_output, size_t *tree_count_hint)
{
    entry e, names = {0};
    double classes = 1, per_iteration = 1, max_feature = -1;
    int have_objective = 0;
    gbx_status status = GBX_OK;
    const char *before = in->cursor;
    size_t line_before = in->line;
    while (status == GBX_OK && next_entry(in, &e)) {
        if (e.key_length == 4 && memcmp(e.key, "Tree", 4) == 0 && e.value != e.key + 4) {
            in->cursor = before; /* leave the Tree= line for the tree reader */
            in->line = line_before;
            break;
        }
        before = in->cursor;
        line_before = in->line;
        if (key_is(&e, "num_class")) status = parse_numbers(in, &e, 1, &classes);
        else if (key_is(&e, "num_tree_per_iteration")) status = parse_numbers(in, &e, 1, &per_iteration);
        else if (key_is(&e, "max_feature_idx")) status = parse_numbers(in, &e, 1, &max_feature);
        else if (key_is(&e, "average_output")) *average_output = 1;
        else if (key_is(&e, "feature_names")) names = e;
        else if (key_is(&e, "tree_sizes")) *tree_count_hint = count_numbers(&e);
        else if (key_is(&e, "objective")) {
            status = set_objective(in, &e, model);
            have_objective = 1;
        }
    }
    if (status != GBX_OK) return status;
    if (!(max_feature >= 0 && max_feature <= 1e7) || max_feature != (int)max_feature)
        return gbx_fail(in->error, GBX_ERR_PARSE, "%s: missing or bad max_feature_idx", in->file);
    if (!(classes >= 1 && classes <= 1e5) || classes != (int)classes ||
        !(per_iteration >= 1 && per_iteration <= 1e5) || per_iteration != (int)per_iteration)
        return gbx_fail(in->error, GBX_ERR_PARSE, "%s: bad num_class or num_tree_per_iteration",
                        in->file);
    if (!have_objective) {
        model->objective = gbx_strdup("none");
        if (!model->objective) return gbx_fail(in->error, GBX_ERR_NOMEM, "out of memory");
    }
    model->features = (size_t)max_feature + 1;
    *trees_per_iteration = (size_t)per_iteration;
    if ((status = gbx_model_set_outputs(model, (size_t)per_iteration, "output")))
        return gbx_fail(in->error, status, "out of memory");
    if (names.key && (status = set_feature_names(in, &names, model))) return status;
    return GBX_OK;
}

static gbx_status add_tree(reader *in, gbx_tree_ensemble *ensemble, size_t *capacity)
{
    if (ensemble->tree_count < *capacity) return GBX_OK;
    size_t grown = *capacity ? *capacity * 2 : 64;
    gbx_tree *trees = realloc(ensemble->trees, grown * sizeof(gbx_tree));
    if (!trees) return gbx_fail(in->error, GBX_ERR_NOMEM, "out of memory");
    memset(trees + *capacity, 0, (grown - *capacity) * sizeof(gbx_tree));
    ensemble->trees = trees;
    *capacity = grown;
    return GBX_OK;
}

gbx_status gbx_lightgbm_load(const char *path, const char *bytes, size_t length, gbx_model *model,
                             gbx_error *error)
{
    reader in = {path, bytes, bytes + length, 0, error};
    size_t per_iteration = 1, tree_count_hint = 0, capacity = 0;
    int average_output = 0;
    gbx_status status = read_header(&in, model, &per_iteration, &average_output, &tree_count_hint);
    if (status != GBX_OK) return status;
    gbx_tree_ensemble *ensemble = calloc(1, sizeof *ensemble);
    model->trees = ensemble;
    if (ensemble) ensemble->has_cover = 1; /* internal_count: training rows per node */
    if (!ensemble || !(ensemble->base_margin = gbx_calloc(model->outputs, sizeof(double))))
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    entry e;
    int ended = 0;
    while (next_entry(&in, &e)) {
        if (e.key_length >= 12 && memcmp(e.key, "end of trees", 12) == 0) {
            ended = 1;
            break;
        }
        if (!(e.key_length == 4 && memcmp(e.key, "Tree", 4) == 0)) {
            if (e.key_length == 0) continue;
            return gbx_fail(error, GBX_ERR_PARSE, "%s:%zu: expected \"Tree=\" or \"end of trees\"",
                            path, e.line);
        }
        size_t index = ensemble->tree_count;
        tree_block block = {0};
        if ((status = add_tree(&in, ensemble, &capacity)) ||
            (status = read_block(&in, index, &block))) {
            free_block(&block);
            return status;
        }
        ensemble->tree_count++;
        gbx_tree *tree = &ensemble->trees[index];
        tree->output = (int)(index % per_iteration);
        status = build_tree(&in, index, &block, model->features, tree);
        free_block(&block);
        if (status != GBX_OK) return status;
    }
    if (!ended)
        return gbx_fail(error, GBX_ERR_PARSE, "%s: truncated: no \"end of trees\" line after %zu "
                        "trees", path, ensemble->tree_count);
    if (tree_count_hint && tree_count_hint != ensemble->tree_count)
        return gbx_fail(error, GBX_ERR_PARSE, "%s: tree_sizes lists %zu trees but %zu were read",
                        path, tree_count_hint, ensemble->tree_count);
    if (ensemble->tree_count % per_iteration != 0)
        return gbx_fail(error, GBX_ERR_PARSE, "%s: %zu trees is not a multiple of "
                        "num_tree_per_iteration %zu", path, ensemble->tree_count, per_iteration);
    if (average_output && ensemble->tree_count > 0) {
        /* Random-forest mode: the prediction is the mean over iterations. */
        double iterations = (double)(ensemble->tree_count / per_iteration);
        for (size_t t = 0; t < ensemble->tree_count; t++)
            for (size_t i = 0; i < ensemble->trees[t].node_count; i++)
                ensemble->trees[t].nodes[i].value /= iterations;
    }
    return GBX_OK;
}
