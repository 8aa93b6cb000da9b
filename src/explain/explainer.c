#include "explainer.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Rows handed to one thread at a time: large enough to amortise scheduling, small enough to
 * balance two cores on a short chunk. */
#define ROWS_PER_TASK 64

void gbx_explainer_options_init(gbx_explainer_options *options)
{
    memset(options, 0, sizeof *options);
    options->method = GBX_METHOD_AUTO;
    options->output_space = GBX_SPACE_RAW;
    options->stdevs = -1;
    options->output = GBX_OUTPUT_ALL;
}

static const char *const method_names[] = {
    [GBX_METHOD_AUTO] = "auto",
    [GBX_METHOD_TREE] = "tree",
    [GBX_METHOD_TREE_INTERVENTIONAL] = "tree-interventional",
    [GBX_METHOD_EXACT] = "exact",
    [GBX_METHOD_PERMUTATION] = "permutation",
    [GBX_METHOD_LINEAR] = "linear",
    [GBX_METHOD_KERNEL] = "kernel",
    [GBX_METHOD_LIME] = "lime",
    [GBX_METHOD_SALIENCY] = "saliency",
    [GBX_METHOD_INPUT_X_GRADIENT] = "input-x-gradient",
    [GBX_METHOD_SMOOTHGRAD] = "smoothgrad",
    [GBX_METHOD_INTEGRATED_GRADIENTS] = "integrated-gradients",
    [GBX_METHOD_GRADIENT_SHAP] = "gradient-shap",
    [GBX_METHOD_DEEP] = "deep",
    [GBX_METHOD_GRAD_CAM] = "grad-cam",
};

gbx_status gbx_method_parse(const char *name, gbx_method *out)
{
    for (size_t m = 0; m < sizeof method_names / sizeof method_names[0]; m++)
        if (strcmp(name, method_names[m]) == 0) {
            *out = (gbx_method)m;
            return GBX_OK;
        }
    return GBX_ERR_USAGE;
}

const char *gbx_method_name(gbx_method method)
{
    switch (method) {
    case GBX_METHOD_TREE: return "tree_path_dependent";
    case GBX_METHOD_TREE_INTERVENTIONAL: return "tree_interventional";
    case GBX_METHOD_EXACT: return "exact";
    case GBX_METHOD_PERMUTATION: return "permutation";
    case GBX_METHOD_LINEAR: return "linear";
    case GBX_METHOD_KERNEL: return "kernel";
    case GBX_METHOD_LIME: return "lime";
    case GBX_METHOD_SALIENCY: return "saliency";
    case GBX_METHOD_INPUT_X_GRADIENT: return "input_x_gradient";
    case GBX_METHOD_SMOOTHGRAD: return "smoothgrad";
    case GBX_METHOD_INTEGRATED_GRADIENTS: return "integrated_gradients";
    case GBX_METHOD_GRADIENT_SHAP: return "gradient_shap";
    case GBX_METHOD_DEEP: return "deep";
    case GBX_METHOD_GRAD_CAM: return "grad_cam";
    case GBX_METHOD_AUTO: break;
    }
    return "auto";
}

void gbx_explainer_free(gbx_explainer *explainer)
{
    if (!explainer) return;
    gbx_tree_shap_free(explainer->tree_shap);
    gbx_interventional_free(explainer->interventional);
    gbx_exact_free(explainer->exact);
    gbx_permutation_free(explainer->permutation);
    gbx_linear_shap_free(explainer->linear);
    gbx_kernel_free(explainer->kernel);
    gbx_lime_free(explainer->lime);
    gbx_gradients_free(explainer->gradients);
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

/* Attributions at a layer: one per element, named LAYER[i] (an embedding lookup whose tokens
 * line up with the input's columns keeps the columns' names instead). */
static gbx_status name_layer_elements(gbx_explainer *explainer, gbx_error *error)
{
    size_t F = gbx_gradients_features(explainer->gradients);
    explainer->players.count = F;
    if (!(explainer->layer_names = gbx_calloc(F ? F : 1, sizeof(char *))))
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < F; j++) {
        size_t size = strlen(explainer->options.layer) + 24;
        if (!(explainer->layer_names[j] = malloc(size)))
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        snprintf(explainer->layer_names[j], size, "%s[%zu]", explainer->options.layer, j);
    }
    return GBX_OK;
}

gbx_status gbx_explainer_create(const gbx_model *model, const gbx_explainer_options *options,
                                gbx_explainer **out, gbx_error *error)
{
    if (!model || !options || !out)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_explainer_create: NULL argument");
    /* auto, as shap's TreeExplainer for trees: interventional when a background is given,
     * path-dependent otherwise; exact enumeration for black boxes. */
    gbx_method method = options->method != GBX_METHOD_AUTO ? options->method
                        : gbx_linear_weights(model) ? GBX_METHOD_LINEAR
                        : !model->trees ? GBX_METHOD_EXACT
                        : options->background ? GBX_METHOD_TREE_INTERVENTIONAL : GBX_METHOD_TREE;
    int model_agnostic = method == GBX_METHOD_EXACT || method == GBX_METHOD_PERMUTATION ||
                         method == GBX_METHOD_LINEAR || method == GBX_METHOD_KERNEL ||
                         method == GBX_METHOD_LIME;
    int gradient = method >= GBX_METHOD_SALIENCY && method <= GBX_METHOD_GRAD_CAM;
    if (gradient && options->group_count)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "gradient methods attribute each input; they "
                        "take no feature groups (sum a group's values instead)");
    if (!gradient && options->layer)
        return gbx_fail(error, GBX_ERR_USAGE, "--layer is for the network methods "
                        "(integrated-gradients, deep, grad-cam); method %s explains the input",
                        method_names[method]);
    if (!gradient && options->output != GBX_OUTPUT_ALL)
        return gbx_fail(error, GBX_ERR_USAGE, "choosing one output is for the network methods; "
                        "method %s explains every output", method_names[method]);
    if (!model->trees && !model_agnostic && !gradient)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "method %s needs a tree model",
                        method_names[method]);
    if (method == GBX_METHOD_TREE && model->trees && !model->trees->has_cover)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "path-dependent TreeSHAP needs how many "
                        "training rows reached each node, and this model does not record it "
                        "(skl2onnx writes every nodes_hitrates as 1, and the TreeEnsemble "
                        "operator of ONNX-ML opset 5 has none for leaves); use --method "
                        "tree-interventional with --background, or fill nodes_hitrates with "
                        "scripts/onnx_hitrates.py");
    if (options->sample_background && method != GBX_METHOD_PERMUTATION &&
        method != GBX_METHOD_KERNEL)
        return gbx_fail(error, GBX_ERR_USAGE, "sampling the background is for methods "
                        "permutation and kernel");
    if (options->sample_background > 1 && method == GBX_METHOD_PERMUTATION)
        return gbx_fail(error, GBX_ERR_USAGE, "method permutation samples one background row "
                        "per pair of orders, not %zu", options->sample_background);
    if (options->logit_link && method != GBX_METHOD_KERNEL)
        return gbx_fail(error, GBX_ERR_USAGE, "link logit is for method kernel");
    if (options->interactions && method != GBX_METHOD_TREE)
        return gbx_fail(error, GBX_ERR_USAGE, "interaction values need method tree");
    if (method == GBX_METHOD_LIME && options->background && options->background->weights)
        return gbx_fail(error, GBX_ERR_USAGE, "method lime learns its sampling distribution from "
                        "the training rows themselves, not from a weighted summary (drop "
                        "--background-kmeans and --background-stratify)");
    if (options->interactions && options->group_count)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "interaction values are per column; they "
                        "cannot be asked together with feature groups");
    size_t explained = options->group_count ? options->group_count : model->features;
    if (method == GBX_METHOD_EXACT && explained > GBX_EXACT_MAX_FEATURES)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "method exact evaluates all 2^M coalitions "
                        "and takes at most %d features; this model has %zu%s (use a sampling "
                        "method: kernel or permutation)", GBX_EXACT_MAX_FEATURES, explained,
                        options->group_count ? " features and groups" : "");
    if (options->output_space == GBX_SPACE_PROBABILITY && method != GBX_METHOD_TREE_INTERVENTIONAL)
        return gbx_fail(error, GBX_ERR_USAGE,
                        "output space probability needs method tree-interventional (path-dependent "
                        "values are additive in the margin only)");
    gbx_explainer *explainer = calloc(1, sizeof *explainer);
    if (!explainer) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    explainer->model = model;
    explainer->method = method;
    explainer->options = *options;
    explainer->options.background = NULL; /* not kept: the caller may free it */
    explainer->threads = options->threads > 0 ? options->threads : omp_get_num_procs();
    explainer->base_values = gbx_calloc(model->outputs, sizeof(double));
    gbx_status status = explainer->base_values ? GBX_OK
                                               : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status == GBX_OK) status = set_groups(explainer, options, error);
    const gbx_players *players = explainer->group_names ? &explainer->players : NULL;
    if (status == GBX_OK && gradient) {
        static const gbx_gradient_kind kinds[] = {
            [GBX_METHOD_SALIENCY] = GBX_GRADIENT_SALIENCY,
            [GBX_METHOD_INPUT_X_GRADIENT] = GBX_GRADIENT_INPUT_X_GRADIENT,
            [GBX_METHOD_SMOOTHGRAD] = GBX_GRADIENT_SMOOTHGRAD,
            [GBX_METHOD_INTEGRATED_GRADIENTS] = GBX_GRADIENT_INTEGRATED,
            [GBX_METHOD_GRADIENT_SHAP] = GBX_GRADIENT_SHAP,
            [GBX_METHOD_DEEP] = GBX_GRADIENT_DEEP,
            [GBX_METHOD_GRAD_CAM] = GBX_GRADIENT_GRAD_CAM};
        gbx_gradient_options gradient_options = {kinds[method], options->steps, options->integration,
                                                 options->samples, options->stdevs, options->seed,
                                                 options->output, options->layer};
        status = gbx_gradients_prepare(model, options->background, &gradient_options,
                                       &explainer->gradients, error);
        if (status == GBX_OK && options->layer && method != GBX_METHOD_GRAD_CAM &&
            !gbx_gradients_per_column(explainer->gradients))
            status = name_layer_elements(explainer, error);
        if (status == GBX_OK) {
            gbx_gradients_base_values(explainer->gradients, explainer->base_values);
            const gbx_data *background = options->background;
            explainer->background_rows = background ? background->rows : 0;
            if (background)
                gbx_sha256_buffer(background->values, background->rows * background->columns *
                                  sizeof(double), explainer->background_sha256);
        }
    } else if (status == GBX_OK && method == GBX_METHOD_TREE) {
        status = gbx_tree_shap_prepare(model->trees, model->features, model->outputs, players,
                                       &explainer->tree_shap, error);
        if (status == GBX_OK) gbx_tree_shap_base_values(explainer->tree_shap, explainer->base_values);
    } else if (status == GBX_OK) {
        const gbx_data *background = options->background;
        if (!background)
            status = gbx_fail(error, GBX_ERR_USAGE, "method %s needs a background data set "
                              "(--background)", method_names[method]);
        else if (background->columns != model->features)
            status = gbx_fail(error, GBX_ERR_MISMATCH, "background has %zu columns, the model "
                              "expects %zu", background->columns, model->features);
        if (status == GBX_OK && method == GBX_METHOD_EXACT)
            status = gbx_exact_prepare(model, background, players, &explainer->exact, error);
        else if (status == GBX_OK && method == GBX_METHOD_KERNEL)
            status = gbx_kernel_prepare(model, background, players, options->max_evals,
                                        options->seed, options->logit_link, options->kernel_l1,
                                        options->kernel_l1_features, options->tolerance,
                                        options->sample_background, &explainer->kernel, error);
        else if (status == GBX_OK && method == GBX_METHOD_LINEAR)
            status = gbx_linear_shap_prepare(model, background, players, &explainer->linear,
                                             error);
        else if (status == GBX_OK && method == GBX_METHOD_LIME) {
            gbx_lime_options lime = {options->lime_discretizer, options->lime_selection,
                                     options->lime_cosine, options->lime_features,
                                     options->max_evals, options->lime_kernel_width,
                                     options->categorical, options->seed};
            status = gbx_lime_prepare(model, background, players, &lime, &explainer->lime, error);
        } else if (status == GBX_OK && method == GBX_METHOD_PERMUTATION)
            status = gbx_permutation_prepare(model, background, players, options->max_evals,
                                             options->seed, options->sample_background == 1,
                                             &explainer->permutation, error);
        else if (status == GBX_OK)
            status = gbx_interventional_prepare(model, background, players, options->output_space,
                                                explainer->threads,
                                                GBX_INTERVENTIONAL_TABLE_BUDGET,
                                                &explainer->interventional,
                                                error);
        if (status == GBX_OK) {
            if (explainer->exact) gbx_exact_base_values(explainer->exact, explainer->base_values);
            else if (explainer->permutation)
                gbx_permutation_base_values(explainer->permutation, explainer->base_values);
            else if (explainer->linear)
                gbx_linear_shap_base_values(explainer->linear, explainer->base_values);
            else if (explainer->kernel)
                gbx_kernel_base_values(explainer->kernel, explainer->base_values);
            else if (explainer->interventional)
                gbx_interventional_base_values(explainer->interventional, explainer->base_values);
            /* LIME: each row's intercept is its base value, set when it is explained. */
            explainer->background_rows = background->rows;
            /* The fingerprint covers the weights of a weighted summary too. */
            size_t cells = background->rows * background->columns;
            double *bytes = gbx_malloc_array(cells + background->rows, sizeof(double));
            if (!bytes) {
                status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
            } else {
                memcpy(bytes, background->values, cells * sizeof(double));
                if (background->weights)
                    memcpy(bytes + cells, background->weights, background->rows * sizeof(double));
                gbx_sha256_buffer(bytes, (cells + (background->weights ? background->rows : 0)) *
                                             sizeof(double), explainer->background_sha256);
                free(bytes);
            }
            explainer->background_weighted = background->weights != NULL;
        }
    }
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

/* Path-dependent TreeSHAP: tasks of ROWS_PER_TASK rows, one workspace per thread. */
static gbx_status explain_tree(const gbx_explainer *explainer, const gbx_data *data,
                               gbx_explanation *e, gbx_error *error)
{
    const gbx_model *model = explainer->model;
    size_t rows = data->rows, K = model->outputs, M = model->features, P = e->features;
    size_t tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
    int failed = 0;
#pragma omp parallel num_threads(explainer->threads)
    {
        gbx_tree_shap_workspace *workspace = gbx_tree_shap_workspace_new(explainer->tree_shap);
        if (!workspace) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t task = 0; task < tasks; task++) {
            if (!workspace) continue;
            size_t begin = task * ROWS_PER_TASK;
            size_t end = begin + ROWS_PER_TASK < rows ? begin + ROWS_PER_TASK : rows;
            gbx_tree_shap_explain(explainer->tree_shap, workspace, data->values + begin * M,
                                  end - begin, e->values + begin * K * P,
                                  e->interactions ? e->interactions + begin * K * M * M : NULL);
            for (size_t r = begin; r < end; r++)
                gbx_tree_ensemble_margin(model, data->values + r * M, e->predictions + r * K);
        }
        gbx_tree_shap_workspace_free(workspace);
    }
    return failed ? gbx_fail(error, GBX_ERR_NOMEM, "out of memory for the explainer's workspace")
                  : GBX_OK;
}

/* Fills values and predictions (and standard errors, for sampling methods) by the method the
 * explainer was prepared for. */
static gbx_status explain_rows(const gbx_explainer *x, const gbx_data *data, gbx_explanation *e,
                               gbx_error *error)
{
    const double *rows = data->values;
    size_t n = data->rows;
    if (x->permutation || x->kernel) {
        e->standard_errors = gbx_malloc_array(n * e->outputs * e->features, sizeof(double));
        if (!e->standard_errors) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu rows", n);
    }
    if (x->gradients) {
        if (gbx_gradients_additive(x->gradients) &&
            !(e->deltas = gbx_malloc_array(n * e->outputs, sizeof(double))))
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu rows", n);
        if (x->options.output == GBX_OUTPUT_PREDICTED &&
            !(e->classes = gbx_malloc_array(n ? n : 1, sizeof(double))))
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu rows", n);
        return gbx_gradients_explain(x->gradients, rows, n, e->values, e->predictions,
                                     e->base_values, e->deltas, e->classes, x->threads, error);
    }
    if (x->lime) {
        size_t cells = n * e->outputs;
        e->local_predictions = gbx_malloc_array(cells, sizeof(double));
        e->scores = gbx_malloc_array(cells, sizeof(double));
        if (!e->local_predictions || !e->scores)
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu rows", n);
        return gbx_lime_explain(x->lime, rows, n, e->values, e->base_values,
                                e->local_predictions, e->scores, e->predictions, x->threads,
                                error);
    }
    if (x->kernel)
        return gbx_kernel_explain(x->kernel, rows, n, e->values, e->standard_errors,
                                  e->predictions, x->threads, error);
    if (x->permutation)
        return gbx_permutation_explain(x->permutation, rows, n, e->values, e->standard_errors,
                                       e->predictions, x->threads, error);
    if (x->linear)
        return gbx_linear_shap_explain(x->linear, rows, n, e->values, e->predictions, error);
    if (x->exact)
        return gbx_exact_explain(x->exact, rows, n, e->values, e->predictions, x->threads, error);
    if (x->interventional)
        return gbx_interventional_explain(x->interventional, rows, n, e->values, e->predictions,
                                          x->threads, error);
    return explain_tree(x, data, e, error);
}

gbx_status gbx_explainer_explain(const gbx_explainer *explainer, const gbx_data *data,
                                 gbx_explanation **out, gbx_error *error)
{
    if (!explainer || !data || !out)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_explainer_explain: NULL argument");
    const gbx_model *model = explainer->model;
    if (data->columns != model->features)
        return gbx_fail(error, GBX_ERR_MISMATCH, "data has %zu columns, the model expects %zu",
                        data->columns, model->features);
    size_t rows = data->rows, K = gbx_explainer_outputs(explainer), M = model->features;
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
    status = explain_rows(explainer, data, e, error);
    if (status != GBX_OK) {
        gbx_explanation_free(e);
        return status;
    }
    *out = e;
    return GBX_OK;
}

size_t gbx_explainer_outputs(const gbx_explainer *explainer)
{
    return explainer->gradients ? gbx_gradients_outputs(explainer->gradients)
                                : explainer->model->outputs;
}
