/* ONNX models, read with protobuf-c. A network becomes a gbx_nn graph (src/nn) run in float32
 * batches; a graph built around an ONNX-ML tree ensemble or linear node is handed to
 * onnx_ml.c, which turns it into glassbox's own tree or linear model.
 *
 * The data feed the one graph input that is not an initializer; each row is that input's shape
 * without the batch dimension, flattened. The explained output is the graph's first float
 * output; its size per row is found by running one row at load, which also proves the graph
 * runs. */
#include "onnx_proto.h"
#include "../core/blas.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define ROWS_PER_BLOCK 128

typedef struct {
    gbx_nn_graph *graph;
    size_t input_size; /* floats per row */
    int fixed_batch;   /* the file fixes the batch dimension to 1: run rows one at a time */
} network_adapter;

/* ---- tensors ------------------------------------------------------------------------------ */

enum { TYPE_FLOAT = 1, TYPE_INT32 = 6, TYPE_INT64 = 7, TYPE_BOOL = 9, TYPE_DOUBLE = 11,
       TYPE_UINT8 = 2, TYPE_INT8 = 3 };

static size_t element_size(int type)
{
    switch (type) {
    case TYPE_FLOAT: case TYPE_INT32: return 4;
    case TYPE_INT64: case TYPE_DOUBLE: return 8;
    case TYPE_BOOL: case TYPE_UINT8: case TYPE_INT8: return 1;
    default: return 0;
    }
}

/* Reads external data named by the tensor, refusing paths that leave the model's folder. */
static gbx_status external_bytes(const Onnx__TensorProto *proto, const char *model_path,
                                 char **bytes, size_t *length, gbx_error *error)
{
    const char *location = NULL;
    long long offset = 0, size = -1;
    for (size_t e = 0; e < proto->n_external_data; e++) {
        const Onnx__StringStringEntryProto *entry = proto->external_data[e];
        if (!entry->key || !entry->value) continue;
        if (strcmp(entry->key, "location") == 0) location = entry->value;
        else if (strcmp(entry->key, "offset") == 0) offset = atoll(entry->value);
        else if (strcmp(entry->key, "length") == 0) size = atoll(entry->value);
    }
    if (!location || !*location || location[0] == '/' || strstr(location, ".."))
        return gbx_fail(error, GBX_ERR_PARSE, "tensor \"%s\": external data location \"%s\" "
                        "must be a file beside the model", proto->name, location ? location : "");
    const char *slash = strrchr(model_path, '/');
    size_t directory = slash ? (size_t)(slash - model_path + 1) : 0;
    char *path = malloc(directory + strlen(location) + 1);
    if (!path) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    memcpy(path, model_path, directory);
    strcpy(path + directory, location);
    char *file;
    size_t file_length;
    gbx_status status = gbx_read_file(path, &file, &file_length, error);
    free(path);
    if (status != GBX_OK) return status;
    if (size < 0) size = (long long)file_length - offset;
    if (offset < 0 || size < 0 || (unsigned long long)offset + (unsigned long long)size > file_length) {
        free(file);
        return gbx_fail(error, GBX_ERR_PARSE, "tensor \"%s\": external data (offset %lld, length "
                        "%lld) lies outside %s", proto->name, offset, size, location);
    }
    memmove(file, file + offset, (size_t)size);
    *bytes = file;
    *length = (size_t)size;
    return GBX_OK;
}

/* Value j of little-endian raw bytes of ONNX type `type`, as double (float) or int64. */
static double raw_double(const uint8_t *raw, int type, size_t j)
{
    if (type == TYPE_FLOAT) { float v; memcpy(&v, raw + 4 * j, 4); return v; }
    double v;
    memcpy(&v, raw + 8 * j, 8);
    return v;
}

static int64_t raw_int(const uint8_t *raw, int type, size_t j)
{
    if (type == TYPE_INT64) { int64_t v; memcpy(&v, raw + 8 * j, 8); return v; }
    if (type == TYPE_INT32) { int32_t v; memcpy(&v, raw + 4 * j, 4); return v; }
    if (type == TYPE_INT8) return (int8_t)raw[j];
    return raw[j]; /* bool, uint8 */
}

gbx_status gbx_onnx_tensor(const Onnx__TensorProto *proto, const char *model_path,
                           gbx_nn_tensor *tensor, gbx_error *error)
{
    const char *name = proto->name ? proto->name : "";
    int type = proto->has_data_type ? proto->data_type : 0;
    int is_float = type == TYPE_FLOAT || type == TYPE_DOUBLE;
    if (!element_size(type))
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "tensor \"%s\" has ONNX data type %d (float, "
                        "double, int8/32/64, uint8 and bool are supported)", name, type);
    if (proto->n_dims > GBX_NN_MAX_RANK)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "tensor \"%s\" has rank %zu", name, proto->n_dims);
    /* The data must be there before the shape is believed: count first, allocate after. */
    size_t n = 1;
    for (size_t d = 0; d < proto->n_dims; d++) {
        if (proto->dims[d] < 0 || (proto->dims[d] > 0 && n > SIZE_MAX / 16 / (size_t)proto->dims[d]))
            return gbx_fail(error, GBX_ERR_PARSE, "tensor \"%s\" has dimension %lld", name,
                            (long long)proto->dims[d]);
        n *= (size_t)proto->dims[d];
    }
    char *external = NULL;
    const uint8_t *raw = NULL;
    size_t raw_length = 0;
    gbx_status status;
    if (proto->has_data_location &&
        proto->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        if ((status = external_bytes(proto, model_path, &external, &raw_length, error)) != GBX_OK)
            return status;
        raw = (const uint8_t *)external;
    } else if (proto->has_raw_data) {
        raw = proto->raw_data.data;
        raw_length = proto->raw_data.len;
    }
    size_t available = raw ? raw_length / element_size(type)
                     : type == TYPE_FLOAT ? proto->n_float_data
                     : type == TYPE_DOUBLE ? proto->n_double_data
                     : type == TYPE_INT64 ? proto->n_int64_data : proto->n_int32_data;
    if (available != n || (raw && raw_length != n * element_size(type))) {
        free(external);
        return gbx_fail(error, GBX_ERR_PARSE, "tensor \"%s\" holds %zu values; its shape needs %zu",
                        name, available, n);
    }
    status = gbx_nn_tensor_alloc(tensor, is_float ? GBX_NN_FLOAT : GBX_NN_INT64,
                                 (int)proto->n_dims, proto->dims, error);
    if (status != GBX_OK) {
        free(external);
        gbx_error_prefix(error, "tensor \"%s\": ", name);
        return status;
    }
    for (size_t j = 0; j < n; j++) {
        if (is_float)
            tensor->f[j] = raw ? (float)raw_double(raw, type, j)
                         : type == TYPE_FLOAT ? proto->float_data[j] : (float)proto->double_data[j];
        else
            tensor->i[j] = raw ? raw_int(raw, type, j)
                         : type == TYPE_INT64 ? proto->int64_data[j] : proto->int32_data[j];
        if (type == TYPE_BOOL) tensor->i[j] = tensor->i[j] != 0;
    }
    free(external);
    return GBX_OK;
}

const Onnx__AttributeProto *gbx_onnx_attribute(const Onnx__NodeProto *node, const char *name)
{
    for (size_t a = 0; a < node->n_attribute; a++)
        if (node->attribute[a]->name && strcmp(node->attribute[a]->name, name) == 0)
            return node->attribute[a];
    return NULL;
}

/* ---- graph conversion --------------------------------------------------------------------- */

static gbx_status convert_attribute(const Onnx__AttributeProto *proto, const char *path,
                                    gbx_nn_attribute *out, gbx_error *error)
{
    memset(out, 0, sizeof *out);
    if (!(out->name = gbx_strdup(proto->name ? proto->name : "")))
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    switch (proto->has_type ? proto->type : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
        out->kind = GBX_NN_ATTRIBUTE_INT;
        out->i = proto->i;
        return GBX_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
        out->kind = GBX_NN_ATTRIBUTE_FLOAT;
        out->f = proto->f;
        return GBX_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
        out->kind = GBX_NN_ATTRIBUTE_STRING;
        if (!(out->s = calloc(proto->s.len + 1, 1)))
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        if (proto->s.len) memcpy(out->s, proto->s.data, proto->s.len);
        return GBX_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
        out->kind = GBX_NN_ATTRIBUTE_INTS;
        out->count = proto->n_ints;
        if (!(out->ints = gbx_malloc_array(proto->n_ints ? proto->n_ints : 1, sizeof(int64_t))))
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        if (proto->n_ints) memcpy(out->ints, proto->ints, proto->n_ints * sizeof(int64_t));
        return GBX_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
        out->kind = GBX_NN_ATTRIBUTE_FLOATS;
        out->count = proto->n_floats;
        if (!(out->floats = gbx_malloc_array(proto->n_floats ? proto->n_floats : 1, sizeof(float))))
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        if (proto->n_floats) memcpy(out->floats, proto->floats, proto->n_floats * sizeof(float));
        return GBX_OK;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
        if (!proto->t) return gbx_fail(error, GBX_ERR_PARSE, "attribute %s has no tensor", out->name);
        out->kind = GBX_NN_ATTRIBUTE_TENSOR;
        return gbx_onnx_tensor(proto->t, path, &out->t, error);
    default:
        out->kind = GBX_NN_ATTRIBUTE_OTHER;
        return GBX_OK;
    }
}

/* A Constant node's value as a tensor (value, value_float(s), value_int(s)). */
static gbx_status constant_value(const Onnx__NodeProto *node, const char *path,
                                 gbx_nn_tensor *tensor, gbx_error *error)
{
    const Onnx__AttributeProto *a;
    if ((a = gbx_onnx_attribute(node, "value")) && a->t) return gbx_onnx_tensor(a->t, path, tensor, error);
    int64_t count = 1;
    gbx_status status;
    if ((a = gbx_onnx_attribute(node, "value_float"))) {
        if ((status = gbx_nn_tensor_alloc(tensor, GBX_NN_FLOAT, 0, NULL, error)) == GBX_OK) tensor->f[0] = a->f;
    } else if ((a = gbx_onnx_attribute(node, "value_int"))) {
        if ((status = gbx_nn_tensor_alloc(tensor, GBX_NN_INT64, 0, NULL, error)) == GBX_OK) tensor->i[0] = a->i;
    } else if ((a = gbx_onnx_attribute(node, "value_floats"))) {
        count = (int64_t)a->n_floats;
        if ((status = gbx_nn_tensor_alloc(tensor, GBX_NN_FLOAT, 1, &count, error)) == GBX_OK && count)
            memcpy(tensor->f, a->floats, a->n_floats * sizeof(float));
    } else if ((a = gbx_onnx_attribute(node, "value_ints"))) {
        count = (int64_t)a->n_ints;
        if ((status = gbx_nn_tensor_alloc(tensor, GBX_NN_INT64, 1, &count, error)) == GBX_OK && count)
            memcpy(tensor->i, a->ints, a->n_ints * sizeof(int64_t));
    } else {
        status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "a Constant without a numeric value");
    }
    return status;
}

static gbx_status add_node(gbx_nn_graph *graph, const Onnx__NodeProto *proto, size_t index,
                           const char *path, gbx_error *error)
{
    const char *op_type = proto->op_type ? proto->op_type : "";
    char fallback[96];
    snprintf(fallback, sizeof fallback, "%.40s#%zu", op_type, index);
    const char *name = proto->name && *proto->name ? proto->name : fallback;
    const char *domain = proto->domain ? proto->domain : "";
    if (*domain && strcmp(domain, "ai.onnx") != 0)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "node \"%s\" uses operator %s of domain "
                        "\"%s\", which glassbox does not support", name, op_type, domain);
    if (strcmp(op_type, "Constant") == 0) {
        if (proto->n_output != 1) return gbx_fail(error, GBX_ERR_PARSE, "node \"%s\": a Constant "
                                                  "has one output", name);
        gbx_nn_tensor tensor;
        gbx_status status = constant_value(proto, path, &tensor, error);
        int value = gbx_nn_value(graph, proto->output[0]);
        if (status == GBX_OK && value < 0) {
            gbx_nn_tensor_release(&tensor);
            status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        }
        if (status == GBX_OK) status = gbx_nn_set_constant(graph, value, &tensor, error);
        if (status != GBX_OK) gbx_error_prefix(error, "node \"%s\" (Constant): ", name);
        return status;
    }
    const gbx_nn_op *op = gbx_nn_find_op(op_type);
    if (!op)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "node \"%s\" uses operator %s, which glassbox "
                        "does not support", name, op_type);
    if (proto->n_input > GBX_NN_MAX_INPUTS || proto->n_output > GBX_NN_MAX_OUTPUTS)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "node \"%s\" (%s) has too many inputs or "
                        "outputs", name, op_type);
    int inputs[GBX_NN_MAX_INPUTS], outputs[GBX_NN_MAX_OUTPUTS];
    for (size_t i = 0; i < proto->n_input; i++) {
        /* An empty name is an omitted optional input. */
        inputs[i] = proto->input[i][0] ? gbx_nn_value(graph, proto->input[i]) : -1;
        if (proto->input[i][0] && inputs[i] < 0) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t o = 0; o < proto->n_output; o++) {
        outputs[o] = proto->output[o][0] ? gbx_nn_value(graph, proto->output[o]) : -1;
        if (proto->output[o][0] && outputs[o] < 0) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    gbx_nn_attribute *attributes = gbx_calloc(proto->n_attribute ? proto->n_attribute : 1,
                                              sizeof *attributes);
    if (!attributes) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t a = 0; a < proto->n_attribute; a++) {
        gbx_status status = convert_attribute(proto->attribute[a], path, &attributes[a], error);
        if (status != GBX_OK) {
            for (size_t b = 0; b <= a; b++) gbx_nn_attribute_release(&attributes[b]);
            free(attributes);
            gbx_error_prefix(error, "node \"%s\" (%s): ", name, op_type);
            return status;
        }
    }
    return gbx_nn_add_node(graph, op, name, inputs, (int)proto->n_input, outputs,
                           (int)proto->n_output, attributes, (int)proto->n_attribute, error);
}

static int is_initializer(const Onnx__GraphProto *graph, const char *name)
{
    for (size_t i = 0; i < graph->n_initializer; i++)
        if (graph->initializer[i]->name && strcmp(graph->initializer[i]->name, name) == 0) return 1;
    return 0;
}

/* The data input: its shape, with -1 for free dimensions. */
static gbx_status read_input(gbx_nn_graph *graph, const Onnx__GraphProto *proto, gbx_error *error)
{
    const Onnx__ValueInfoProto *input = NULL;
    for (size_t i = 0; i < proto->n_input; i++) {
        if (!proto->input[i]->name || is_initializer(proto, proto->input[i]->name)) continue;
        if (input)
            return gbx_fail(error, GBX_ERR_UNSUPPORTED, "the graph has several inputs (\"%s\", "
                            "\"%s\"); glassbox explains models with one input tensor",
                            input->name, proto->input[i]->name);
        input = proto->input[i];
    }
    if (!input) return gbx_fail(error, GBX_ERR_PARSE, "the graph has no input");
    const Onnx__TypeProto *type = input->type;
    if (!type || type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !type->tensor_type->shape)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "input \"%s\" is not a tensor of known rank",
                        input->name);
    int element = type->tensor_type->has_elem_type ? type->tensor_type->elem_type : 0;
    int integer = element == TYPE_INT64 || element == TYPE_INT32;
    if (element != TYPE_FLOAT && element != TYPE_DOUBLE && !integer)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "input \"%s\" has ONNX type %d; glassbox "
                        "feeds float and integer tensors", input->name, element);
    const Onnx__TensorShapeProto *shape = type->tensor_type->shape;
    if (shape->n_dim < 1 || shape->n_dim > GBX_NN_MAX_RANK)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "input \"%s\" has rank %zu (1 to %d, the "
                        "first being the batch)", input->name, shape->n_dim, GBX_NN_MAX_RANK);
    graph->input_rank = (int)shape->n_dim;
    for (size_t d = 0; d < shape->n_dim; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = shape->dim[d];
        graph->input_dims[d] = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                                   ? dim->dim_value : -1;
        if (d > 0 && graph->input_dims[d] <= 0)
            return gbx_fail(error, GBX_ERR_UNSUPPORTED, "input \"%s\": dimension %zu is not "
                            "fixed; glassbox needs every dimension but the batch", input->name, d);
    }
    if (!integer) {
        graph->input = gbx_nn_value(graph, input->name);
        return graph->input >= 0 ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    /* Integer inputs (token ids of a text model) arrive as numbers like every row and are cast
     * (truncated toward zero) into the tensor the graph reads. */
    size_t length = strlen(input->name) + 16;
    char *name = malloc(length);
    gbx_nn_attribute *to = calloc(1, sizeof *to);
    int cast = -1;
    if (name && to && (to->name = gbx_strdup("to"))) {
        snprintf(name, length, "%s (as numbers)", input->name);
        graph->input = gbx_nn_value(graph, name);
        cast = gbx_nn_value(graph, input->name);
    }
    free(name);
    if (graph->input < 0 || cast < 0) {
        if (to) gbx_nn_attribute_release(to);
        free(to);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    to->kind = GBX_NN_ATTRIBUTE_INT;
    to->i = TYPE_INT64;
    return gbx_nn_add_node(graph, gbx_nn_find_op("Cast"), "input cast", &graph->input, 1, &cast, 1,
                           to, 1, error);
}

static gbx_status build_graph(const char *path, const Onnx__ModelProto *proto, int opset,
                              gbx_nn_graph **out, gbx_error *error)
{
    gbx_nn_graph *graph = gbx_nn_graph_new();
    if (!graph) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    graph->opset = opset;
    /* tf2onnx (and its predecessor keras2onnx) name themselves in producer_name. */
    const char *producer = proto->producer_name ? proto->producer_name : "";
    graph->from_tensorflow = strcmp(producer, "tf2onnx") == 0 || strcmp(producer, "keras2onnx") == 0;
    const Onnx__GraphProto *g = proto->graph;
    gbx_status status = GBX_OK;
    for (size_t i = 0; i < g->n_initializer && status == GBX_OK; i++) {
        gbx_nn_tensor tensor;
        const char *name = g->initializer[i]->name ? g->initializer[i]->name : "";
        int value = gbx_nn_value(graph, name);
        if (value < 0) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        if (status == GBX_OK) status = gbx_onnx_tensor(g->initializer[i], path, &tensor, error);
        if (status == GBX_OK) status = gbx_nn_set_constant(graph, value, &tensor, error);
    }
    if (status == GBX_OK) status = read_input(graph, g, error);
    for (size_t n = 0; n < g->n_node && status == GBX_OK; n++)
        status = add_node(graph, g->node[n], n, path, error);
    if (status == GBX_OK) {
        for (size_t o = 0; o < g->n_output && graph->output < 0; o++) {
            const Onnx__TypeProto *type = g->output[o]->type;
            int element = type && type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
                          type->tensor_type->has_elem_type ? type->tensor_type->elem_type : 0;
            if ((element == TYPE_FLOAT || element == TYPE_DOUBLE) && g->output[o]->name)
                graph->output = gbx_nn_find_value(graph, g->output[o]->name);
        }
        if (graph->output < 0)
            status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "the graph has no float output");
    }
    if (status == GBX_OK) status = gbx_nn_graph_finish(graph, error);
    if (status != GBX_OK) {
        gbx_nn_graph_free(graph);
        return status;
    }
    *out = graph;
    return GBX_OK;
}

/* ---- the network model -------------------------------------------------------------------- */

static void release(gbx_model *model)
{
    network_adapter *a = model->adapter;
    if (!a) return;
    gbx_nn_graph_free(a->graph);
    free(a);
    model->adapter = NULL;
}

/* Runs one block of rows; out gets [count][outputs]. */
static gbx_status run_block(const gbx_model *model, const double *rows, size_t count, double *out,
                            gbx_error *error)
{
    const network_adapter *a = model->adapter;
    const gbx_nn_graph *graph = a->graph;
    size_t M = model->features, K = model->outputs;
    float *input = gbx_malloc_array(count * M > 0 ? count * M : 1, sizeof(float));
    gbx_nn_tensor *values = gbx_calloc(graph->value_count, sizeof *values);
    if (!input || !values) {
        free(input);
        free(values);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    gbx_status status = GBX_OK;
    for (size_t j = 0; j < count * M && status == GBX_OK; j++) {
        if (isnan(rows[j]))
            status = gbx_fail(error, GBX_ERR_USAGE, "row %zu: feature %zu is missing; a network "
                              "has no rule for missing values", j / M + 1, j % M);
        input[j] = (float)rows[j];
    }
    if (status == GBX_OK) status = gbx_nn_forward(graph, input, count, values, error);
    if (status == GBX_OK) {
        const gbx_nn_tensor *y = &values[graph->output];
        if (y->type != GBX_NN_FLOAT || y->count != count * K || (y->rank > 0 && y->dims[0] != (int64_t)count))
            status = gbx_fail(error, GBX_ERR_PARSE, "output \"%s\" has %zu values for %zu rows; "
                              "expected %zu per row", graph->value_names[graph->output], y->count,
                              count, K);
        for (size_t j = 0; status == GBX_OK && j < count * K; j++) out[j] = y->f[j];
        gbx_nn_values_free(graph, values);
    }
    free(values);
    free(input);
    return status;
}

static gbx_status predict(const gbx_model *model, const double *rows, size_t count, double *out,
                          gbx_error *error)
{
    const network_adapter *a = model->adapter;
    size_t block = a->fixed_batch ? 1 : ROWS_PER_BLOCK, blocks = (count + block - 1) / block;
    size_t M = model->features, K = model->outputs;
    /* Blocks are fixed in size whatever the thread count, so results are too. The first
     * failing block (in row order) reports. */
    size_t failed = SIZE_MAX;
    gbx_error block_error;
    gbx_status failure = GBX_OK;
    #pragma omp parallel for schedule(dynamic, 1)
    for (size_t b = 0; b < blocks; b++) {
        size_t first = b * block, n = count - first < block ? count - first : block;
        gbx_error local;
        gbx_status status = run_block(model, rows + first * M, n, out + first * K, &local);
        if (status != GBX_OK) {
            #pragma omp critical(gbx_network_failure)
            if (b < failed) {
                failed = b;
                failure = status;
                block_error = local;
            }
        }
    }
    if (failure == GBX_OK) return GBX_OK;
    if (error) *error = block_error;
    return failure;
}

static int ml_node(const Onnx__GraphProto *graph)
{
    for (size_t n = 0; n < graph->n_node; n++)
        if (graph->node[n]->domain && strcmp(graph->node[n]->domain, "ai.onnx.ml") == 0) return 1;
    return 0;
}

int gbx_network_input_rank(const gbx_nn_graph *graph) { return graph->input_rank; }

long long gbx_network_input_dim(const gbx_nn_graph *graph, int d)
{
    return (long long)graph->input_dims[d];
}

/* Makes model the network `graph` (taken over): features from the input's shape, outputs from
 * one run on a row of zeros, which also proves the graph runs. Shared with keras.c. */
int gbx_network_input_layout(const gbx_nn_graph *graph) { return graph->input_layout; }

gbx_status gbx_network_model_init(gbx_model *model, gbx_nn_graph *graph, const char *path,
                                  gbx_error *error)
{
    network_adapter *a = calloc(1, sizeof *a);
    if (!a) {
        gbx_nn_graph_free(graph);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    a->graph = graph;
    model->network = graph;
    model->adapter = a;
    model->release_adapter = release;
    a->fixed_batch = graph->input_dims[0] == 1;
    if (graph->input_dims[0] > 1)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: input \"%s\" fixes the batch at %lld "
                        "rows (export it with a free batch dimension)", path,
                        graph->value_names[graph->input], (long long)graph->input_dims[0]);
    a->input_size = 1;
    /* A row larger than the largest tensor the engine makes is a corrupt or hostile shape:
     * bad input, said as such, not an allocation that fails. */
    for (int d = 1; d < graph->input_rank; d++) {
        size_t dim = graph->input_dims[d] > 0 ? (size_t)graph->input_dims[d] : 0;
        if (dim > GBX_NN_MAX_VALUES || a->input_size * dim > GBX_NN_MAX_VALUES)
            return gbx_fail(error, GBX_ERR_PARSE, "%s: input \"%s\" holds more than %llu values "
                            "per row (dimension %d is %lld)", path,
                            graph->value_names[graph->input],
                            (unsigned long long)GBX_NN_MAX_VALUES, d,
                            (long long)graph->input_dims[d]);
        a->input_size *= dim;
    }
    model->features = a->input_size;
    gbx_status loaded = gbx_blas_load(error);
    if (loaded != GBX_OK) return loaded;
    float *zeros = gbx_calloc(a->input_size ? a->input_size : 1, sizeof(float));
    gbx_nn_tensor *values = gbx_calloc(graph->value_count, sizeof *values);
    gbx_status status = GBX_OK;
    if (!zeros || !values) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status == GBX_OK) status = gbx_nn_forward(graph, zeros, 1, values, error);
    size_t outputs = 0;
    /* An image's layout, from the first reshuffle its input meets (with the run's values: a
     * one-channel image may reach channels first by a Reshape). */
    if (status == GBX_OK && graph->input_rank >= 4)
        graph->input_layout = gbx_nn_input_channels_last(graph, values) ? GBX_LAYOUT_CHANNELS_LAST
                                                                        : GBX_LAYOUT_CHANNELS_FIRST;
    if (status == GBX_OK) {
        outputs = values[graph->output].count;
        if (values[graph->output].type != GBX_NN_FLOAT || outputs == 0 || outputs > 4096)
            status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "output \"%s\" gives %zu values per "
                              "row (1 to 4096 floats)", graph->value_names[graph->output], outputs);
        gbx_nn_values_free(graph, values);
    }
    free(zeros);
    free(values);
    if (status != GBX_OK) {
        gbx_error_prefix(error, "%s: ", path);
        return status;
    }
    if ((status = gbx_model_set_outputs(model, outputs, "output")) != GBX_OK)
        return gbx_fail(error, status, "out of memory");
    model->link = GBX_LINK_IDENTITY;
    model->predict_raw = predict;
    model->objective = gbx_strdup(graph->value_names[graph->output]);
    return model->objective ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
}

int gbx_onnx_detect(const char *bytes, size_t length)
{
    /* A ModelProto opens with ir_version, field 1 as a varint: tag byte 0x08. No JSON or
     * LightGBM text file starts with a control character. */
    return length >= 2 && (unsigned char)bytes[0] == 0x08;
}

gbx_status gbx_onnx_load(const char *path, const char *bytes, size_t length, gbx_model *model,
                         gbx_error *error)
{
    Onnx__ModelProto *proto = onnx__model_proto__unpack(NULL, length, (const uint8_t *)bytes);
    if (!proto) return gbx_fail(error, GBX_ERR_PARSE, "%s: not a valid ONNX model (protobuf "
                                "decoding failed)", path);
    gbx_status status = GBX_OK;
    int opset = 0;
    for (size_t i = 0; i < proto->n_opset_import; i++) {
        const char *domain = proto->opset_import[i]->domain ? proto->opset_import[i]->domain : "";
        if ((!*domain || strcmp(domain, "ai.onnx") == 0) && proto->opset_import[i]->has_version &&
            proto->opset_import[i]->version > opset && proto->opset_import[i]->version < INT_MAX)
            opset = (int)proto->opset_import[i]->version;
    }
    if (!proto->graph) {
        status = gbx_fail(error, GBX_ERR_PARSE, "%s: the ONNX file has no graph", path);
    } else if (ml_node(proto->graph)) {
        status = gbx_onnx_ml_load(path, proto->graph, model, error);
    } else if (opset && opset < 7) {
        status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: opset %d is too old (7 or newer; "
                          "re-export the model)", path, opset);
    } else {
        if (!opset) opset = 21;
        gbx_nn_graph *graph = NULL;
        status = build_graph(path, proto, opset, &graph, error);
        if (status != GBX_OK) gbx_error_prefix(error, "%s: ", path);
        else status = gbx_network_model_init(model, graph, path, error);
    }
    onnx__model_proto__free_unpacked(proto, NULL);
    return status;
}
