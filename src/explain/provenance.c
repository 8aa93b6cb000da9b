/* What an explainer records in every explanation it makes: the names of the features, columns
 * and outputs, and the provenance (model, method, every parameter that shaped the numbers,
 * seed, background fingerprint, glassbox version), made once when the explainer is created. */
#include "method.h"

#include "../nn/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gbx_background_parameters(FILE *f, const gbx_explainer *x)
{
    fprintf(f, "\"background_rows\": %zu, \"background_weighted\": %s, \"background_sha256\": "
            "\"%s\", \"output_space\": \"%s\"", x->background_rows,
            x->background_weighted ? "true" : "false", x->background_sha256,
            x->options.output_space == GBX_SPACE_PROBABILITY ? "probability" : "raw");
}

/* The method's parameters as a JSON object's text. */
static void write_parameters(FILE *f, const gbx_explainer *x)
{
    fputc('{', f);
    x->row->parameters(f, x);
    fputc('}', f);
}

/* What the values are in: LIME explains the predictions themselves (probabilities for
 * classifiers); the others the margin, unless asked otherwise. */
static const char *output_space(const gbx_explainer *x)
{
    const gbx_model *model = x->model;
    int classifier = model->link == GBX_LINK_LOGIT || model->link == GBX_LINK_SOFTMAX;
    int lime = x->row->method == GBX_METHOD_LIME;
    /* A network that ends in a sigmoid or softmax outputs probabilities itself. */
    int network_probability = model->network && gbx_nn_output_is_probability(model->network);
    if (x->options.output_space == GBX_SPACE_PROBABILITY || (lime && classifier) ||
        network_probability)
        return "probability";
    return lime ? "prediction" : x->options.logit_link ? "logit_of_mean_probability" : "margin";
}

static gbx_status set_names(gbx_explanation *h, const gbx_explainer *x)
{
    const gbx_model *model = x->model;
    size_t M = model->features;
    h->columns = M;
    h->features = x->players.count;
    h->outputs = gbx_explainer_outputs(x);
    if (!(h->column_names = gbx_calloc(M ? M : 1, sizeof(char *))) ||
        !(h->feature_names = gbx_calloc(h->features ? h->features : 1, sizeof(char *))) ||
        !(h->output_names = gbx_calloc(h->outputs ? h->outputs : 1, sizeof(char *))))
        return GBX_ERR_NOMEM;
    for (size_t j = 0; j < M; j++) {
        char generated[32];
        snprintf(generated, sizeof generated, "f%zu", j);
        const char *name = gbx_model_feature_name(model, j);
        if (!(h->column_names[j] = gbx_strdup(name ? name : generated))) return GBX_ERR_NOMEM;
    }
    for (size_t i = 0; i < h->features; i++) {
        const char *name = gbx_explainer_feature_name(x, i);
        if (!(h->feature_names[i] = gbx_strdup(name ? name : h->column_names[i]))) return GBX_ERR_NOMEM;
    }
    /* One chosen output keeps its name; each row's largest is "predicted" (with the index of
     * the output per row in the classes). */
    long chosen = x->options.output;
    for (size_t k = 0; k < h->outputs; k++) {
        const char *name = chosen == GBX_OUTPUT_PREDICTED ? "predicted"
                           : chosen >= 0 ? model->output_names[chosen] : model->output_names[k];
        if (!(h->output_names[k] = gbx_strdup(name))) return GBX_ERR_NOMEM;
    }
    if (x->group_names) {
        if (!(h->group_of_column = gbx_malloc_array(M ? M : 1, sizeof(size_t)))) return GBX_ERR_NOMEM;
        for (size_t j = 0; j < M; j++) h->group_of_column[j] = (size_t)x->players.of_column[j];
    }
    if (model->network) {
        const struct gbx_nn_graph *graph = model->network;
        int rank = gbx_network_input_rank(graph);
        for (int d = 1; d < rank && d <= GBX_EXPLANATION_MAX_RANK; d++)
            h->input_shape[h->input_rank++] = (size_t)gbx_network_input_dim(graph, d);
        /* Read from the graph (a Keras or TensorFlow input meets a transpose to channels
         * first), so an image plot need not guess from the shape. */
        h->input_layout = gbx_network_input_layout(graph);
    }
    return GBX_OK;
}

gbx_status gbx_explainer_make_header(gbx_explainer *x, gbx_error *error)
{
    gbx_explanation *h = calloc(1, sizeof *h);
    if (!h) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    x->header = h;
    char *parameters = NULL;
    size_t length = 0;
    FILE *memory = open_memstream(&parameters, &length);
    if (memory) {
        write_parameters(memory, x);
        if (fclose(memory) != 0) {
            free(parameters);
            parameters = NULL;
        }
    }
    h->parameters = parameters;
    h->method = gbx_strdup(x->row->name);
    h->version = gbx_strdup(GBX_VERSION);
    h->model_sha256 = gbx_strdup(x->model->sha256);
    h->model_type = gbx_strdup(x->model->type);
    h->objective = gbx_strdup(gbx_model_objective(x->model));
    h->output_space = gbx_strdup(output_space(x));
    h->seed = x->options.seed;
    h->background_sha256 = gbx_strdup(x->background_rows ? x->background_sha256 : "");
    h->model_source = gbx_strdup(gbx_model_source(x->model));
    h->model_version = gbx_strdup(gbx_model_version(x->model));
    if (!h->parameters || !h->method || !h->version || !h->model_sha256 || !h->model_type ||
        !h->objective || !h->output_space || !h->background_sha256 || !h->model_source ||
        !h->model_version || set_names(h, x) != GBX_OK)
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    return GBX_OK;
}

const gbx_explanation *gbx_explainer_header(const gbx_explainer *explainer)
{
    return explainer->header;
}

/* The explanation of data: the explainer's names and provenance, the data's column names where
 * the model has none, room for the numbers, and the rows themselves. */
gbx_status gbx_explainer_new_explanation(const gbx_explainer *x, const gbx_data *data,
                                         gbx_explanation **out, gbx_error *error)
{
    gbx_explanation *e = gbx_explanation_copy_header(x->header);
    if (!e) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    gbx_status status = GBX_OK;
    int named_by_model = x->model->feature_names != NULL;
    int features_are_columns = !x->group_names && !x->layer_names;
    for (size_t j = 0; !named_by_model && data->names && j < e->columns && status == GBX_OK; j++) {
        char *name = gbx_strdup(data->names[j]);
        if (!name) {
            status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
            break;
        }
        free(e->column_names[j]);
        e->column_names[j] = name;
        if (features_are_columns && j < e->features) {
            free(e->feature_names[j]);
            if (!(e->feature_names[j] = gbx_strdup(name)))
                status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        }
    }
    if (status == GBX_OK) status = gbx_explanation_allocate(e, data->rows, NULL, error);
    if (status == GBX_OK) {
        size_t cells = data->rows * data->columns;
        if (!(e->data = gbx_malloc_array(cells ? cells : 1, sizeof(double))))
            status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu rows", data->rows);
        else if (cells)
            memcpy(e->data, data->values, cells * sizeof(double));
    }
    if (status != GBX_OK) {
        gbx_explanation_free(e);
        return status;
    }
    *out = e;
    return GBX_OK;
}
