/* The explainer: the method table, the checks every method shares, the players (columns or
 * groups), and the loop that makes an explanation from a method's row. */
#include "method.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* One row per method, in gbx_method's order. */
static const gbx_method_row *const methods[] = {
    [GBX_METHOD_TREE] = &gbx_tree_method,
    [GBX_METHOD_TREE_INTERVENTIONAL] = &gbx_interventional_method,
    [GBX_METHOD_EXACT] = &gbx_exact_method,
    [GBX_METHOD_PERMUTATION] = &gbx_permutation_method,
    [GBX_METHOD_LINEAR] = &gbx_linear_method,
    [GBX_METHOD_KERNEL] = &gbx_kernel_method,
    [GBX_METHOD_LIME] = &gbx_lime_method,
    [GBX_METHOD_SALIENCY] = &gbx_saliency_method,
    [GBX_METHOD_INPUT_X_GRADIENT] = &gbx_input_x_gradient_method,
    [GBX_METHOD_SMOOTHGRAD] = &gbx_smoothgrad_method,
    [GBX_METHOD_INTEGRATED_GRADIENTS] = &gbx_integrated_gradients_method,
    [GBX_METHOD_GRADIENT_SHAP] = &gbx_gradient_shap_method,
    [GBX_METHOD_DEEP] = &gbx_deep_method,
    [GBX_METHOD_GRAD_CAM] = &gbx_grad_cam_method,
};
_Static_assert(sizeof methods / sizeof methods[0] == GBX_METHOD_GRAD_CAM + 1,
               "one row per method");

const gbx_method_row *gbx_method_row_of(gbx_method method)
{
    return (unsigned)method < sizeof methods / sizeof methods[0] ? methods[method] : NULL;
}

void gbx_explainer_options_init(gbx_explainer_options *options)
{
    memset(options, 0, sizeof *options);
    options->method = GBX_METHOD_AUTO;
    options->output_space = GBX_SPACE_RAW;
    options->stdevs = -1;
    options->output = GBX_OUTPUT_ALL;
}

gbx_status gbx_method_parse(const char *name, gbx_method *out)
{
    if (!name || !out) return GBX_ERR_USAGE;
    if (strcmp(name, "auto") == 0) {
        *out = GBX_METHOD_AUTO;
        return GBX_OK;
    }
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        const gbx_method_row *row = methods[m];
        if (row && (strcmp(name, row->name) == 0 ||
                    (row->file_name && strcmp(name, row->file_name) == 0))) {
            *out = row->method;
            return GBX_OK;
        }
    }
    return GBX_ERR_USAGE;
}

const char *gbx_method_name(gbx_method method)
{
    const gbx_method_row *row = gbx_method_row_of(method);
    return row ? row->name : "auto";
}

int gbx_method_background(gbx_method method)
{
    const gbx_method_row *row = gbx_method_row_of(method);
    return !row ? 1 : row->needs & METHOD_BACKGROUND ? 2 : row->needs & METHOD_BASELINE ? 1 : 0;
}

gbx_method gbx_method_resolve(const gbx_model *model, gbx_method method, int background)
{
    /* auto, as shap's TreeExplainer for trees: interventional when a background is given,
     * path-dependent otherwise; exact LinearSHAP for linear models; exact enumeration for
     * black boxes. */
    if (method != GBX_METHOD_AUTO) return method;
    return gbx_linear_weights(model) ? GBX_METHOD_LINEAR
           : !model->trees ? GBX_METHOD_EXACT
           : background ? GBX_METHOD_TREE_INTERVENTIONAL : GBX_METHOD_TREE;
}

gbx_method gbx_explainer_method(const gbx_explainer *explainer)
{
    return explainer->row->method;
}

void gbx_explainer_free(gbx_explainer *explainer)
{
    if (!explainer) return;
    if (explainer->state) explainer->row->release(explainer->state);
    free(explainer->base_values);
    for (size_t g = 0; explainer->group_names && g < explainer->players.count; g++)
        free(explainer->group_names[g]);
    free(explainer->group_names);
    for (size_t j = 0; explainer->layer_names && j < explainer->players.count; j++)
        free(explainer->layer_names[j]);
    free(explainer->layer_names);
    free(explainer->player_of_column);
    gbx_explanation_free(explainer->header);
    free(explainer);
}

/* The players: each column alone, or the groups the options give (checked and copied). */
static gbx_status set_groups(gbx_explainer *explainer, const gbx_explainer_options *options,
                             gbx_error *error)
{
    size_t M = explainer->model->features, G = options->group_count;
    explainer->players.count = G ? G : M;
    explainer->player_of_column = gbx_malloc_array(M ? M : 1, sizeof(int32_t));
    if (!explainer->player_of_column) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    explainer->players.of_column = explainer->player_of_column;
    for (size_t f = 0; f < M; f++) explainer->player_of_column[f] = (int32_t)f;
    if (G == 0) return GBX_OK;
    if (!options->group_of_feature || !options->group_names || G > M)
        return gbx_fail(error, GBX_ERR_USAGE, "feature groups: %s", G > M
                        ? "more groups than features" : "group_of_feature and group_names needed");
    uint8_t *used = gbx_calloc(G, 1);
    if (!used) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    gbx_status status = GBX_OK;
    for (size_t f = 0; f < M && status == GBX_OK; f++) {
        if (options->group_of_feature[f] >= G)
            status = gbx_fail(error, GBX_ERR_USAGE, "feature groups: feature %zu is in group %zu "
                              "of %zu", f, options->group_of_feature[f], G);
        else
            used[options->group_of_feature[f]] = 1,
            explainer->player_of_column[f] = (int32_t)options->group_of_feature[f];
    }
    for (size_t g = 0; g < G && status == GBX_OK; g++)
        if (!used[g]) status = gbx_fail(error, GBX_ERR_USAGE, "feature groups: group %zu (%s) has "
                                        "no feature", g, options->group_names[g]
                                                             ? options->group_names[g] : "?");
    free(used);
    if (status != GBX_OK) return status;
    explainer->group_names = gbx_calloc(G, sizeof(char *));
    if (!explainer->group_names) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t g = 0; g < G; g++)
        if (!(explainer->group_names[g] = gbx_strdup(options->group_names[g] ? options->group_names[g]
                                                                              : "")))
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    return GBX_OK;
}

gbx_status gbx_explainer_name_layer(gbx_explainer *explainer, size_t elements, gbx_error *error)
{
    explainer->players.count = elements;
    if (!(explainer->layer_names = gbx_calloc(elements ? elements : 1, sizeof(char *))))
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < elements; j++) {
        size_t size = strlen(explainer->options.layer) + 24;
        if (!(explainer->layer_names[j] = malloc(size)))
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        snprintf(explainer->layer_names[j], size, "%s[%zu]", explainer->options.layer, j);
    }
    return GBX_OK;
}

/* The options that only some methods take, and the checks of the model and background every
 * method shares; the row's own checks follow. Messages name the options' fields. */
static gbx_status check(const gbx_model *model, const gbx_explainer_options *options,
                        const gbx_method_row *row, gbx_error *error)
{
    int network = (row->needs & METHOD_NETWORK) != 0;
    const struct {
        int broken;
        gbx_status status;
        const char *before, *after; /* around the method's name */
    } rules[] = {
        {network && options->group_count, GBX_ERR_UNSUPPORTED, "gradient methods attribute each "
         "input; they take no feature groups (sum a group's values instead); method ", ""},
        {!network && options->layer, GBX_ERR_USAGE, "options.layer is for the gradient methods "
         "(integrated-gradients, deep, grad-cam); method ", " explains the input"},
        {!network && options->output != GBX_OUTPUT_ALL, GBX_ERR_USAGE, "choosing one output is "
         "for the gradient methods (saliency, input-x-gradient, smoothgrad, "
         "integrated-gradients, gradient-shap, deep, grad-cam); method ",
         " explains every output of any model, a network's too"},
        {(row->needs & METHOD_TREES) && !model->trees, GBX_ERR_UNSUPPORTED, "method ",
         " needs a tree model"},
        {options->sample_background && !(row->needs & METHOD_SAMPLES_BACKGROUND), GBX_ERR_USAGE,
         "sampling the background is for methods permutation and kernel, not ", ""},
        {options->logit_link && row->method != GBX_METHOD_KERNEL, GBX_ERR_USAGE,
         "link logit is for method kernel, not ", ""},
        {options->softmax_rule != GBX_SOFTMAX_RULE_AUTO && row->method != GBX_METHOD_DEEP,
         GBX_ERR_USAGE, "options.softmax_rule is for method deep, not ", ""},
        {options->interactions && row->method != GBX_METHOD_TREE, GBX_ERR_USAGE,
         "interaction values need method tree, not ", ""},
        {options->interactions && options->group_count, GBX_ERR_UNSUPPORTED, "interaction values "
         "are per column; they cannot be asked together with feature groups (method ", ")"},
        {options->output_space == GBX_SPACE_PROBABILITY &&
         row->method != GBX_METHOD_TREE_INTERVENTIONAL, GBX_ERR_USAGE, "output space probability "
         "needs method tree-interventional (path-dependent values are additive in the margin "
         "only), not ", ""},
    };
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++)
        if (rules[r].broken)
            return gbx_fail(error, rules[r].status, "%s%s%s", rules[r].before, row->name,
                            rules[r].after);
    const gbx_data *background = options->background;
    if ((row->needs & METHOD_BACKGROUND) && !background)
        return gbx_fail(error, GBX_ERR_USAGE, "method %s needs options.background (%s)",
                        row->name, row->background_role);
    if (background && !(row->needs & (METHOD_BACKGROUND | METHOD_BASELINE)))
        return gbx_fail(error, GBX_ERR_USAGE, "options.background is not used by method %s",
                        row->name);
    if (background && background->columns != model->features)
        return gbx_fail(error, GBX_ERR_MISMATCH, "background has %zu columns, the model "
                        "expects %zu", background->columns, model->features);
    return row->check ? row->check(model, options, error) : GBX_OK;
}

/* The background's rows and fingerprint (its weights included), for the provenance; and, as
 * shap warns, a note when a large one costs many model calls. */
static gbx_status record_background(gbx_explainer *explainer, const gbx_data *background,
                                    gbx_error *error)
{
    if (!background) return GBX_OK;
    explainer->background_rows = background->rows;
    explainer->background_weighted = background->weights != NULL;
    size_t cells = background->rows * background->columns;
    double *bytes = gbx_malloc_array(cells + background->rows + 1, sizeof(double));
    if (!bytes) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (cells) memcpy(bytes, background->values, cells * sizeof(double));
    if (background->weights) memcpy(bytes + cells, background->weights, background->rows * sizeof(double));
    gbx_sha256_buffer(bytes, (cells + (background->weights ? background->rows : 0)) * sizeof(double),
                      explainer->background_sha256);
    free(bytes);
    if ((explainer->row->needs & METHOD_MODEL_CALLS) && !explainer->options.sample_background &&
        !explainer->model->trees && background->rows > 100)
        gbx_log(GBX_LOG_NOTE, "%zu background rows cost %zu model calls per coalition and row; "
                "a sample of 100 rows or 50 k-means centres (gbx_data_summarise) is usually "
                "enough", background->rows, background->rows);
    return GBX_OK;
}

gbx_status gbx_explainer_create(const gbx_model *model, const gbx_explainer_options *options,
                                gbx_explainer **out, gbx_error *error)
{
    if (!model || !options || !out)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_explainer_create: NULL argument");
    if (options->max_evals > GBX_MAX_EVALS)
        return gbx_fail(error, GBX_ERR_USAGE, "options.max_evals: %zu, more than %d",
                        options->max_evals, GBX_MAX_EVALS);
    if (options->threads < 0 || options->threads > GBX_MAX_THREADS)
        return gbx_fail(error, GBX_ERR_USAGE, "options.threads: %d, not from 0 (all cores) to %d",
                        options->threads, GBX_MAX_THREADS);
    const gbx_method_row *row = gbx_method_row_of(
        gbx_method_resolve(model, options->method, options->background != NULL));
    if (!row) return gbx_fail(error, GBX_ERR_USAGE, "options.method: unknown method %d",
                              (int)options->method);
    gbx_status status = check(model, options, row, error);
    if (status != GBX_OK) return status;
    gbx_explainer *explainer = calloc(1, sizeof *explainer);
    if (!explainer) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    explainer->model = model;
    explainer->row = row;
    explainer->options = *options;
    explainer->options.background = NULL; /* not kept: the caller may free it */
    explainer->threads = options->threads > 0 ? options->threads : omp_get_num_procs();
    explainer->outputs = model->outputs;
    explainer->base_values = gbx_calloc(model->outputs ? model->outputs : 1, sizeof(double));
    status = explainer->base_values ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status == GBX_OK) status = set_groups(explainer, options, error);
    if (status == GBX_OK) status = record_background(explainer, options->background, error);
    if (status == GBX_OK) status = row->prepare(explainer, options->background, error);
    if (status == GBX_OK) status = gbx_explainer_make_header(explainer, error);
    if (status != GBX_OK) {
        gbx_explainer_free(explainer);
        return status;
    }
    *out = explainer;
    return GBX_OK;
}

size_t gbx_explainer_features(const gbx_explainer *explainer) { return explainer->players.count; }

const char *gbx_explainer_feature_name(const gbx_explainer *explainer, size_t i)
{
    if (i >= explainer->players.count) return NULL;
    return explainer->group_names ? explainer->group_names[i]
         : explainer->layer_names ? explainer->layer_names[i] : NULL;
}

const double *gbx_explainer_base_values(const gbx_explainer *explainer)
{
    return explainer->base_values;
}

size_t gbx_explainer_outputs(const gbx_explainer *explainer) { return explainer->outputs; }

gbx_status gbx_explainer_explain(const gbx_explainer *explainer, const gbx_data *data,
                                 gbx_explanation **out, gbx_error *error)
{
    if (!explainer || !data || !out)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_explainer_explain: NULL argument");
    const gbx_model *model = explainer->model;
    if (data->columns != model->features)
        return gbx_fail(error, GBX_ERR_MISMATCH, "data has %zu columns, the model expects %zu",
                        data->columns, model->features);
    size_t rows = data->rows, K = explainer->outputs, M = model->features;
    gbx_explanation *e;
    gbx_status status = gbx_explainer_new_explanation(explainer, data, &e, error);
    if (status != GBX_OK) return status;
    if (explainer->options.interactions &&
        !(e->interactions = gbx_malloc_array(rows ? rows : 1, K * M * M * sizeof(double)))) {
        gbx_explanation_free(e);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu rows", rows);
    }
    for (size_t r = 0; r < rows; r++)
        memcpy(e->base_values + r * K, explainer->base_values, K * sizeof(double));
    status = explainer->row->explain(explainer, data, e, error);
    if (status != GBX_OK) {
        gbx_explanation_free(e);
        return status;
    }
    *out = e;
    return GBX_OK;
}
