/* Keras models, read without Python: `.keras` (a zip holding config.json and
 * model.weights.h5, read with libzip and libhdf5) and legacy `.h5` (the config in the root's
 * model_config attribute, weights under model_weights). Sequential and functional models become
 * the same gbx_nn graph an ONNX network does; each layer's output tensor carries the layer's
 * name, so later methods can name a layer.
 *
 * Weights are found by layer and position: in .keras files under layers/<path>/vars/<i>,
 * where vars' "name" attribute is the layer's name; in .h5 files under
 * model_weights/<layer>/<weight_names[i]>. Keras keeps a layer's weights in creation order
 * (Dense: kernel, bias; BatchNormalization: gamma, beta, moving mean, moving variance). */
#include "../core/blas.h"
#include "../core/dl.h"
#include "../nn/graph.h"
#include "model.h"

#include <hdf5.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

/* HDF5 is loaded when the first .h5 file is (src/core/dl.h); its type and property-list ids
 * (the *_g variables behind H5T_NATIVE_FLOAT and the like) go through the table too. */
#define HDF5_SYMBOLS(X) \
    X(H5Aclose) \
    X(H5Aexists) \
    X(H5Aget_space) \
    X(H5Aget_type) \
    X(H5Aopen) \
    X(H5Aread) \
    X(H5Dclose) \
    X(H5Dget_space) \
    X(H5Dopen2) \
    X(H5Dread) \
    X(H5Dvlen_reclaim) \
    X(H5Eget_auto2) \
    X(H5Eset_auto2) \
    X(H5Fclose) \
    X(H5Fopen) \
    X(H5Gclose) \
    X(H5Gopen2) \
    X(H5Lexists) \
    X(H5Literate) \
    X(H5P_CLS_FILE_ACCESS_ID_g) \
    X(H5Pclose) \
    X(H5Pcreate) \
    X(H5Pset_fapl_core) \
    X(H5Pset_file_image) \
    X(H5Sclose) \
    X(H5Sget_simple_extent_dims) \
    X(H5Sget_simple_extent_ndims) \
    X(H5Sget_simple_extent_npoints) \
    X(H5T_C_S1_g) \
    X(H5T_NATIVE_FLOAT_g) \
    X(H5Tclose) \
    X(H5Tcopy) \
    X(H5Tget_class) \
    X(H5Tget_cset) \
    X(H5Tget_size) \
    X(H5Tis_variable_str) \
    X(H5Tset_cset) \
    X(H5Tset_size) \
    X(H5check_version) \
    X(H5free_memory) \
    X(H5open)
static struct {
    HDF5_SYMBOLS(GBX_DL_MEMBER)
} hdf5_api;
static const char *const hdf5_names[] = {HDF5_SYMBOLS(GBX_DL_NAME)};
static gbx_library hdf5 = GBX_LIBRARY(GBX_HDF5_SONAME, hdf5_names, hdf5_api);
#define H5Aclose (*hdf5_api.H5Aclose)
#define H5Aexists (*hdf5_api.H5Aexists)
#define H5Aget_space (*hdf5_api.H5Aget_space)
#define H5Aget_type (*hdf5_api.H5Aget_type)
#define H5Aopen (*hdf5_api.H5Aopen)
#define H5Aread (*hdf5_api.H5Aread)
#define H5Dclose (*hdf5_api.H5Dclose)
#define H5Dget_space (*hdf5_api.H5Dget_space)
#define H5Dopen2 (*hdf5_api.H5Dopen2)
#define H5Dread (*hdf5_api.H5Dread)
#define H5Dvlen_reclaim (*hdf5_api.H5Dvlen_reclaim)
#define H5Eget_auto2 (*hdf5_api.H5Eget_auto2)
#define H5Eset_auto2 (*hdf5_api.H5Eset_auto2)
#define H5Fclose (*hdf5_api.H5Fclose)
#define H5Fopen (*hdf5_api.H5Fopen)
#define H5Gclose (*hdf5_api.H5Gclose)
#define H5Gopen2 (*hdf5_api.H5Gopen2)
#define H5Lexists (*hdf5_api.H5Lexists)
#define H5Literate (*hdf5_api.H5Literate)
#define H5P_CLS_FILE_ACCESS_ID_g (*hdf5_api.H5P_CLS_FILE_ACCESS_ID_g)
#define H5Pclose (*hdf5_api.H5Pclose)
#define H5Pcreate (*hdf5_api.H5Pcreate)
#define H5Pset_fapl_core (*hdf5_api.H5Pset_fapl_core)
#define H5Pset_file_image (*hdf5_api.H5Pset_file_image)
#define H5Sclose (*hdf5_api.H5Sclose)
#define H5Sget_simple_extent_dims (*hdf5_api.H5Sget_simple_extent_dims)
#define H5Sget_simple_extent_ndims (*hdf5_api.H5Sget_simple_extent_ndims)
#define H5Sget_simple_extent_npoints (*hdf5_api.H5Sget_simple_extent_npoints)
#define H5T_C_S1_g (*hdf5_api.H5T_C_S1_g)
#define H5T_NATIVE_FLOAT_g (*hdf5_api.H5T_NATIVE_FLOAT_g)
#define H5Tclose (*hdf5_api.H5Tclose)
#define H5Tcopy (*hdf5_api.H5Tcopy)
#define H5Tget_class (*hdf5_api.H5Tget_class)
#define H5Tget_cset (*hdf5_api.H5Tget_cset)
#define H5Tget_size (*hdf5_api.H5Tget_size)
#define H5Tis_variable_str (*hdf5_api.H5Tis_variable_str)
#define H5Tset_cset (*hdf5_api.H5Tset_cset)
#define H5Tset_size (*hdf5_api.H5Tset_size)
#define H5check_version (*hdf5_api.H5check_version)
#define H5free_memory (*hdf5_api.H5free_memory)
#define H5open (*hdf5_api.H5open)
typedef struct {
    const char *path;
    hid_t file;
    int legacy;           /* .h5: weights under model_weights */
    gbx_nn_graph *graph;
    gbx_error *error;
    int counter;          /* for unique internal tensor names */
} keras_loader;

/* ---- HDF5 --------------------------------------------------------------------------------- */

/* Opens an HDF5 file held in memory. */
static hid_t open_image(const void *bytes, size_t length)
{
    hid_t access = H5Pcreate(H5P_FILE_ACCESS);
    if (access < 0) return -1;
    hid_t file = -1;
    if (H5Pset_fapl_core(access, 1 << 20, 0) >= 0 &&
        H5Pset_file_image(access, (void *)bytes, length) >= 0)
        file = H5Fopen("glassbox-image.h5", H5F_ACC_RDONLY, access);
    H5Pclose(access);
    return file;
}

/* A string attribute (variable or fixed length) as a new C string; NULL if absent. */
static char *string_attribute(hid_t object, const char *name)
{
    if (H5Aexists(object, name) <= 0) return NULL;
    hid_t attribute = H5Aopen(object, name, H5P_DEFAULT);
    hid_t type = H5Aget_type(attribute);
    char *text = NULL;
    if (H5Tget_class(type) == H5T_STRING) {
        if (H5Tis_variable_str(type) > 0) {
            hid_t memory = H5Tcopy(H5T_C_S1);
            H5Tset_size(memory, H5T_VARIABLE);
            H5Tset_cset(memory, H5Tget_cset(type)); /* h5py writes UTF-8 */
            char *value = NULL;
            if (H5Aread(attribute, memory, &value) >= 0 && value) {
                text = gbx_strdup(value);
                H5free_memory(value);
            }
            H5Tclose(memory);
        } else {
            size_t size = H5Tget_size(type);
            text = calloc(size + 1, 1);
            if (text && H5Aread(attribute, type, text) < 0) {
                free(text);
                text = NULL;
            }
        }
    }
    H5Tclose(type);
    H5Aclose(attribute);
    return text;
}

/* Entry i of a string-array attribute (weight_names). */
static char *string_array_entry(hid_t object, const char *name, size_t i, size_t *count)
{
    *count = 0;
    if (H5Aexists(object, name) <= 0) return NULL;
    hid_t attribute = H5Aopen(object, name, H5P_DEFAULT);
    hid_t type = H5Aget_type(attribute), space = H5Aget_space(attribute);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    char *text = NULL;
    if (n > 0 && H5Tget_class(type) == H5T_STRING) {
        *count = (size_t)n;
        if (i < *count && H5Tis_variable_str(type) > 0) {
            hid_t memory = H5Tcopy(H5T_C_S1);
            H5Tset_size(memory, H5T_VARIABLE);
            H5Tset_cset(memory, H5Tget_cset(type));
            char **values = calloc((size_t)n, sizeof(char *));
            if (values && H5Aread(attribute, memory, values) >= 0) {
                text = gbx_strdup(values[i]);
                H5Dvlen_reclaim(memory, space, H5P_DEFAULT, values);
            }
            free(values);
            H5Tclose(memory);
        } else if (i < *count) {
            size_t size = H5Tget_size(type);
            char *all = calloc((size_t)n, size + 1);
            if (all && H5Aread(attribute, type, all) >= 0) {
                text = calloc(size + 1, 1);
                if (text) memcpy(text, all + i * size, size);
            }
            free(all);
        }
    }
    H5Sclose(space);
    H5Tclose(type);
    H5Aclose(attribute);
    return text;
}

/* Reads dataset `path` as float into a new tensor. */
static gbx_status read_dataset(keras_loader *k, const char *path, gbx_nn_tensor *tensor)
{
    hid_t dataset = H5Dopen2(k->file, path, H5P_DEFAULT);
    if (dataset < 0)
        return gbx_fail(k->error, GBX_ERR_PARSE, "%s: weight %s is missing", k->path, path);
    hid_t space = H5Dget_space(dataset);
    int rank = H5Sget_simple_extent_ndims(space);
    hsize_t dims[GBX_NN_MAX_RANK];
    int64_t shape[GBX_NN_MAX_RANK];
    gbx_status status = GBX_OK;
    if (rank < 0 || rank > GBX_NN_MAX_RANK || H5Sget_simple_extent_dims(space, dims, NULL) < 0)
        status = gbx_fail(k->error, GBX_ERR_PARSE, "%s: weight %s has an unreadable shape",
                          k->path, path);
    for (int d = 0; status == GBX_OK && d < rank; d++) shape[d] = (int64_t)dims[d];
    if (status == GBX_OK) status = gbx_nn_tensor_alloc(tensor, GBX_NN_FLOAT, rank, shape, k->error);
    if (status == GBX_OK &&
        H5Dread(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, tensor->f) < 0) {
        gbx_nn_tensor_release(tensor);
        status = gbx_fail(k->error, GBX_ERR_PARSE, "%s: weight %s cannot be read as float",
                          k->path, path);
    }
    H5Sclose(space);
    H5Dclose(dataset);
    return status;
}

typedef struct {
    const char *layer;
    char found[256];
} vars_search;

/* H5Literate callback: the layers/<path> group whose vars carry the layer's name. */
static herr_t find_vars(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
    (void)info;
    vars_search *search = data;
    char path[256];
    snprintf(path, sizeof path, "%s/vars", name);
    if (H5Lexists(group, name, H5P_DEFAULT) <= 0 || H5Lexists(group, path, H5P_DEFAULT) <= 0)
        return 0;
    hid_t vars = H5Gopen2(group, path, H5P_DEFAULT);
    if (vars < 0) return 0;
    char *layer = string_attribute(vars, "name");
    H5Gclose(vars);
    int match = layer && strcmp(layer, search->layer) == 0;
    free(layer);
    if (match) snprintf(search->found, sizeof search->found, "layers/%s", name);
    return match;
}

/* Weight `index` of `layer` into tensor, `rank` dimensions (any when -1). A layer that wraps
 * others keeps their weights under sub ("cell/" for a recurrent layer's cell,
 * "forward_layer/cell/" inside Bidirectional) in .keras files; .h5 files list every weight of
 * the layer, wrapped ones included, in weight_names. */
static gbx_status read_weight(keras_loader *k, const char *layer, const char *sub, int index,
                              int rank, gbx_nn_tensor *tensor)
{
    char path[600];
    if (k->legacy) {
        char group[300];
        snprintf(group, sizeof group, "model_weights/%s", layer);
        hid_t object = H5Lexists(k->file, "model_weights", H5P_DEFAULT) > 0 &&
                       H5Lexists(k->file, group, H5P_DEFAULT) > 0
                           ? H5Gopen2(k->file, group, H5P_DEFAULT) : -1;
        size_t count = 0;
        char *name = object >= 0 ? string_array_entry(object, "weight_names", (size_t)index, &count)
                                 : NULL;
        if (object >= 0) H5Gclose(object);
        if (!name)
            return gbx_fail(k->error, GBX_ERR_PARSE, "%s: layer %s has %zu weights; weight %d "
                            "is missing", k->path, layer, count, index);
        snprintf(path, sizeof path, "%s/%s", group, name);
        free(name);
    } else {
        vars_search search = {layer, ""};
        hid_t layers = H5Lexists(k->file, "layers", H5P_DEFAULT) > 0
                           ? H5Gopen2(k->file, "layers", H5P_DEFAULT) : -1;
        if (layers >= 0) {
            H5Literate(layers, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, find_vars, &search);
            H5Gclose(layers);
        }
        if (!search.found[0])
            return gbx_fail(k->error, GBX_ERR_PARSE, "%s: no weights for layer %s", k->path, layer);
        snprintf(path, sizeof path, "%s/%svars/%d", search.found, sub, index);
    }
    gbx_status status = read_dataset(k, path, tensor);
    if (status == GBX_OK && rank >= 0 && tensor->rank != rank) {
        status = gbx_fail(k->error, GBX_ERR_PARSE, "%s: weight %s has rank %d, expected %d",
                          k->path, path, tensor->rank, rank);
        gbx_nn_tensor_release(tensor);
    }
    return status;
}

/* Makes tensor (taken over) the graph constant `name`; returns its value index or -1. */
static int constant_tensor(keras_loader *k, const char *name, gbx_nn_tensor *tensor)
{
    int value = gbx_nn_value(k->graph, name);
    if (value < 0 || gbx_nn_set_constant(k->graph, value, tensor, k->error) != GBX_OK) {
        gbx_nn_tensor_release(tensor);
        if (value < 0) gbx_fail(k->error, GBX_ERR_NOMEM, "out of memory");
        return -1;
    }
    return value;
}

/* Weight `index` of `layer` as a graph constant; returns its value index or -1. */
static int layer_weight(keras_loader *k, const char *layer, int index, int rank)
{
    gbx_nn_tensor tensor;
    if (read_weight(k, layer, "", index, rank, &tensor) != GBX_OK) return -1;
    char name[300];
    snprintf(name, sizeof name, "%s/weight_%d", layer, index);
    return constant_tensor(k, name, &tensor);
}

/* ---- graph building ----------------------------------------------------------------------- */

/* A constant tensor from numbers (a JSON number or array), with shape [count] or scalar. */
static int constant_from(keras_loader *k, const char *name, const float *values, size_t count,
                         int vector)
{
    gbx_nn_tensor tensor;
    int64_t dims[1] = {(int64_t)count};
    if (gbx_nn_tensor_alloc(&tensor, GBX_NN_FLOAT, vector ? 1 : 0, dims, k->error) != GBX_OK)
        return -1;
    memcpy(tensor.f, values, count * sizeof(float));
    int value = gbx_nn_value(k->graph, name);
    if (value < 0 || gbx_nn_set_constant(k->graph, value, &tensor, k->error) != GBX_OK) {
        gbx_nn_tensor_release(&tensor);
        return -1;
    }
    return value;
}

/* Adds one operator node; output is the named value (made if new). */
static gbx_status emit(keras_loader *k, const char *op_name, const char *layer, const int *inputs,
                       int input_count, const char *output, gbx_nn_attribute *attributes,
                       int attribute_count)
{
    const gbx_nn_op *op = gbx_nn_find_op(op_name);
    int out = gbx_nn_value(k->graph, output);
    if (!op || out < 0) {
        for (int a = 0; a < attribute_count; a++) gbx_nn_attribute_release(&attributes[a]);
        free(attributes);
        return gbx_fail(k->error, GBX_ERR_NOMEM, "out of memory");
    }
    char node_name[300];
    snprintf(node_name, sizeof node_name, "%s/%s", layer, op_name);
    gbx_status status = gbx_nn_add_node(k->graph, op, node_name, inputs, input_count, &out, 1,
                                        attributes, attribute_count, k->error);
    if (status != GBX_OK) gbx_error_prefix(k->error, "%s: ", k->path);
    return status;
}

static gbx_nn_attribute *int_attribute(const char *name, int64_t value)
{
    gbx_nn_attribute *a = calloc(1, sizeof *a);
    if (a && !(a->name = gbx_strdup(name))) {
        free(a);
        return NULL;
    }
    if (a) {
        a->kind = GBX_NN_ATTRIBUTE_INT;
        a->i = value;
    }
    return a;
}

/* Name of an internal tensor of a layer. */
static void internal_name(keras_loader *k, const char *layer, char *name, size_t size)
{
    snprintf(name, size, "%s/internal_%d", layer, k->counter++);
}

/* An activation by Keras name, from value `input` to the named output. */
static gbx_status activation(keras_loader *k, const char *layer, const char *which, int input,
                             const char *output)
{
    static const struct { const char *keras, *onnx; } simple[] = {
        {"relu", "Relu"}, {"sigmoid", "Sigmoid"}, {"tanh", "Tanh"}, {"elu", "Elu"},
        {"selu", "Selu"}, {"softplus", "Softplus"}, {"exponential", "Exp"}, {"linear", "Identity"},
        {"gelu", "Gelu"}, {"leaky_relu", "LeakyRelu"}, {"hard_sigmoid", "HardSigmoid"}};
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        if (strcmp(which, simple[i].keras) == 0) {
            gbx_nn_attribute *attributes = NULL;
            int count = 0;
            /* Keras's defaults where they differ from ONNX's. */
            if (strcmp(which, "leaky_relu") == 0 || strcmp(which, "hard_sigmoid") == 0) {
                attributes = calloc(2, sizeof *attributes);
                if (!attributes) return gbx_fail(k->error, GBX_ERR_NOMEM, "out of memory");
                attributes[0].name = gbx_strdup("alpha");
                attributes[0].kind = GBX_NN_ATTRIBUTE_FLOAT;
                attributes[0].f = strcmp(which, "leaky_relu") == 0 ? 0.2f : 1.0f / 6.0f;
                count = 1;
                if (strcmp(which, "hard_sigmoid") == 0) {
                    attributes[1].name = gbx_strdup("beta");
                    attributes[1].kind = GBX_NN_ATTRIBUTE_FLOAT;
                    attributes[1].f = 0.5f;
                    count = 2;
                }
            }
            return emit(k, simple[i].onnx, layer, &input, 1, output, attributes, count);
        }
    if (strcmp(which, "softmax") == 0) {
        gbx_nn_attribute *axis = int_attribute("axis", -1);
        if (!axis) return gbx_fail(k->error, GBX_ERR_NOMEM, "out of memory");
        return emit(k, "Softmax", layer, &input, 1, output, axis, 1);
    }
    if (strcmp(which, "swish") == 0 || strcmp(which, "silu") == 0) {
        char gate[300];
        internal_name(k, layer, gate, sizeof gate);
        gbx_status status = emit(k, "Sigmoid", layer, &input, 1, gate, NULL, 0);
        int pair[2] = {input, gbx_nn_find_value(k->graph, gate)};
        return status == GBX_OK ? emit(k, "Mul", layer, pair, 2, output, NULL, 0) : status;
    }
    return gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: layer %s uses activation \"%s\", which "
                    "glassbox does not support", k->path, layer, which);
}

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *string_member(json_object *o, const char *key, const char *fallback)
{
    json_object *v = member(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : fallback;
}

/* Numbers from a JSON number or array; count 0 when neither. */
static float *numbers(json_object *o, size_t *count)
{
    *count = 0;
    if (!o) return NULL;
    int array = json_object_is_type(o, json_type_array);
    size_t n = array ? json_object_array_length(o) : 1;
    if (!array && !json_object_is_type(o, json_type_double) && !json_object_is_type(o, json_type_int))
        return NULL;
    float *values = gbx_malloc_array(n ? n : 1, sizeof(float));
    if (!values) return NULL;
    for (size_t i = 0; i < n; i++)
        values[i] = (float)json_object_get_double(array ? json_object_array_get_idx(o, i) : o);
    *count = n;
    return values;
}

/* y = x * scale + shift, with per-channel (last axis) or scalar constants. */
static gbx_status affine(keras_loader *k, const char *layer, int input, const float *scale,
                         const float *shift, size_t count, int vector, const char *output)
{
    char name[300], middle[300];
    snprintf(name, sizeof name, "%s/scale", layer);
    int a = constant_from(k, name, scale, count, vector);
    snprintf(name, sizeof name, "%s/shift", layer);
    int b = constant_from(k, name, shift, count, vector);
    if (a < 0 || b < 0) return GBX_ERR_NOMEM;
    internal_name(k, layer, middle, sizeof middle);
    int first[2] = {input, a};
    gbx_status status = emit(k, "Mul", layer, first, 2, middle, NULL, 0);
    int second[2] = {gbx_nn_find_value(k->graph, middle), b};
    return status == GBX_OK ? emit(k, "Add", layer, second, 2, output, NULL, 0) : status;
}

static gbx_status dense(keras_loader *k, const char *layer, json_object *config, int input)
{
    int kernel = layer_weight(k, layer, 0, 2);
    if (kernel < 0) return GBX_ERR_PARSE;
    json_object *use_bias = member(config, "use_bias");
    int biased = !use_bias || json_object_get_boolean(use_bias);
    const char *which = string_member(config, "activation", "linear");
    char product[300], linear[300];
    internal_name(k, layer, product, sizeof product);
    int pair[2] = {input, kernel};
    int plain = strcmp(which, "linear") == 0;
    gbx_status status = emit(k, "MatMul", layer, pair, 2, biased || !plain ? product : layer, NULL, 0);
    if (status != GBX_OK) return status;
    int current = gbx_nn_find_value(k->graph, product);
    if (biased) {
        int bias = layer_weight(k, layer, 1, 1);
        if (bias < 0) return GBX_ERR_PARSE;
        internal_name(k, layer, linear, sizeof linear);
        int add[2] = {current, bias};
        if ((status = emit(k, "Add", layer, add, 2, plain ? layer : linear, NULL, 0)) != GBX_OK)
            return status;
        current = gbx_nn_find_value(k->graph, linear);
    }
    return plain ? GBX_OK : activation(k, layer, which, current, layer);
}

static gbx_status batch_normalization(keras_loader *k, const char *layer, json_object *config,
                                      int input)
{
    json_object *axis = member(config, "axis");
    int64_t channel_axis = axis && json_object_is_type(axis, json_type_array) &&
                                   json_object_array_length(axis) == 1
                               ? json_object_get_int64(json_object_array_get_idx(axis, 0))
                               : axis ? json_object_get_int64(axis) : -1;
    if (channel_axis != -1 && channel_axis < 1)
        return gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: layer %s normalises axis %lld "
                        "(glassbox reads the last axis)", k->path, layer, (long long)channel_axis);
    json_object *center = member(config, "center"), *scale = member(config, "scale");
    int has_center = !center || json_object_get_boolean(center);
    int has_scale = !scale || json_object_get_boolean(scale);
    double epsilon = member(config, "epsilon") ? json_object_get_double(member(config, "epsilon")) : 1e-3;
    int index = 0, gamma = -1, beta = -1;
    if (has_scale && (gamma = layer_weight(k, layer, index++, 1)) < 0) return GBX_ERR_PARSE;
    if (has_center && (beta = layer_weight(k, layer, index++, 1)) < 0) return GBX_ERR_PARSE;
    int mean = layer_weight(k, layer, index++, 1), variance = layer_weight(k, layer, index++, 1);
    if (mean < 0 || variance < 0) return GBX_ERR_PARSE;
    const gbx_nn_tensor *m = &k->graph->constants[mean], *v = &k->graph->constants[variance];
    size_t channels = m->count;
    if (v->count != channels || (gamma >= 0 && k->graph->constants[gamma].count != channels) ||
        (beta >= 0 && k->graph->constants[beta].count != channels))
        return gbx_fail(k->error, GBX_ERR_PARSE, "%s: layer %s: weights differ in length",
                        k->path, layer);
    float *a = gbx_malloc_array(channels, sizeof(float)), *b = gbx_malloc_array(channels, sizeof(float));
    if (!a || !b) {
        free(a);
        free(b);
        return gbx_fail(k->error, GBX_ERR_NOMEM, "out of memory");
    }
    /* Inference: (x - mean) / sqrt(variance + epsilon) * gamma + beta as one multiply-add. */
    for (size_t c = 0; c < channels; c++) {
        float g = gamma >= 0 ? k->graph->constants[gamma].f[c] : 1.0f;
        a[c] = g / sqrtf(v->f[c] + (float)epsilon);
        b[c] = (beta >= 0 ? k->graph->constants[beta].f[c] : 0.0f) - m->f[c] * a[c];
    }
    gbx_status status = affine(k, layer, input, a, b, channels, 1, layer);
    free(a);
    free(b);
    return status;
}

static gbx_status layer_normalization(keras_loader *k, const char *layer, json_object *config,
                                      int input)
{
    json_object *center = member(config, "center"), *scale = member(config, "scale");
    int has_center = !center || json_object_get_boolean(center);
    int has_scale = !scale || json_object_get_boolean(scale);
    json_object *axis = member(config, "axis");
    int64_t last = axis && json_object_is_type(axis, json_type_array) &&
                           json_object_array_length(axis) == 1
                       ? json_object_get_int64(json_object_array_get_idx(axis, 0))
                       : axis && !json_object_is_type(axis, json_type_array)
                             ? json_object_get_int64(axis) : -1;
    if (last != -1)
        return gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: layer %s normalises axis %lld "
                        "(glassbox reads the last axis)", k->path, layer, (long long)last);
    int index = 0, gamma = -1, beta = -1;
    if (has_scale && (gamma = layer_weight(k, layer, index++, 1)) < 0) return GBX_ERR_PARSE;
    if (has_center && (beta = layer_weight(k, layer, index++, 1)) < 0) return GBX_ERR_PARSE;
    size_t channels = gamma >= 0 ? k->graph->constants[gamma].count
                    : beta >= 0 ? k->graph->constants[beta].count : 0;
    if (gamma < 0 || beta < 0) {
        /* ONNX LayerNormalization takes a scale; make the missing parts identity. */
        if (!channels)
            return gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: layer %s has neither scale nor "
                            "center", k->path, layer);
        float *fill = gbx_malloc_array(channels, sizeof(float));
        if (!fill) return gbx_fail(k->error, GBX_ERR_NOMEM, "out of memory");
        char name[300];
        for (size_t c = 0; c < channels; c++) fill[c] = gamma < 0 ? 1.0f : 0.0f;
        snprintf(name, sizeof name, "%s/%s", layer, gamma < 0 ? "unit_scale" : "zero_center");
        int made = constant_from(k, name, fill, channels, 1);
        free(fill);
        if (made < 0) return GBX_ERR_NOMEM;
        if (gamma < 0) gamma = made;
        else beta = made;
    }
    gbx_nn_attribute *attributes = calloc(2, sizeof *attributes);
    if (!attributes) return gbx_fail(k->error, GBX_ERR_NOMEM, "out of memory");
    attributes[0].name = gbx_strdup("axis");
    attributes[0].kind = GBX_NN_ATTRIBUTE_INT;
    attributes[0].i = -1;
    attributes[1].name = gbx_strdup("epsilon");
    attributes[1].kind = GBX_NN_ATTRIBUTE_FLOAT;
    attributes[1].f = member(config, "epsilon") ? (float)json_object_get_double(member(config, "epsilon"))
                                                : 1e-3f;
    int inputs[3] = {input, gamma, beta};
    return emit(k, "LayerNormalization", layer, inputs, 3, layer, attributes, 2);
}

static gbx_status rescaling(keras_loader *k, const char *layer, json_object *config, int input)
{
    size_t scale_count, offset_count;
    float *scale = numbers(member(config, "scale"), &scale_count);
    float *offset = numbers(member(config, "offset"), &offset_count);
    gbx_status status = GBX_OK;
    if (!scale || !offset || scale_count != offset_count)
        status = gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: layer %s: scale and offset must be "
                          "numbers or lists of one length", k->path, layer);
    else
        status = affine(k, layer, input, scale, offset, scale_count,
                        json_object_is_type(member(config, "scale"), json_type_array), layer);
    free(scale);
    free(offset);
    return status;
}

static gbx_status normalization(keras_loader *k, const char *layer, json_object *config, int input)
{
    /* Statistics are weights (mean, variance, count) once adapted, or given in the config. */
    size_t mean_count = 0, variance_count = 0;
    float *mean = numbers(member(config, "mean"), &mean_count);
    float *variance = numbers(member(config, "variance"), &variance_count);
    if (!mean || !variance) {
        free(mean);
        free(variance);
        int m = layer_weight(k, layer, 0, -1), v = layer_weight(k, layer, 1, -1);
        if (m < 0 || v < 0) return GBX_ERR_PARSE;
        mean_count = k->graph->constants[m].count;
        variance_count = k->graph->constants[v].count;
        mean = gbx_malloc_array(mean_count ? mean_count : 1, sizeof(float));
        variance = gbx_malloc_array(variance_count ? variance_count : 1, sizeof(float));
        if (mean) memcpy(mean, k->graph->constants[m].f, mean_count * sizeof(float));
        if (variance) memcpy(variance, k->graph->constants[v].f, variance_count * sizeof(float));
    }
    gbx_status status = GBX_OK;
    if (!mean || !variance || mean_count != variance_count || !mean_count) {
        status = gbx_fail(k->error, GBX_ERR_PARSE, "%s: layer %s: mean and variance differ in "
                          "length", k->path, layer);
    } else {
        /* Keras: (x - mean) / max(sqrt(variance), epsilon). */
        for (size_t c = 0; c < mean_count; c++) {
            float deviation = fmaxf(sqrtf(variance[c]), 1e-7f);
            variance[c] = 1.0f / deviation;
            mean[c] = -mean[c] / deviation;
        }
        status = affine(k, layer, input, variance, mean, mean_count, 1, layer);
    }
    free(mean);
    free(variance);
    return status;
}

/* ---- convolution and pooling (Keras is channels-last; the ops are channels-first) -------- */

/* An INTS attribute from `count` values. */
static gbx_nn_attribute ints_attribute(const char *name, const int64_t *values, size_t count)
{
    gbx_nn_attribute a = {0};
    a.name = gbx_strdup(name);
    a.kind = GBX_NN_ATTRIBUTE_INTS;
    a.ints = gbx_malloc_array(count ? count : 1, sizeof(int64_t));
    if (a.ints) memcpy(a.ints, values, count * sizeof(int64_t));
    a.count = count;
    return a;
}

/* Transposes value `input` by `perm` (rank values) into a new internal tensor. */
static int transpose(keras_loader *k, const char *layer, int input, const int64_t *perm, int rank,
                     const char *output)
{
    gbx_nn_attribute *attributes = calloc(1, sizeof *attributes);
    if (!attributes) return -1;
    attributes[0] = ints_attribute("perm", perm, (size_t)rank);
    char name[300];
    if (!output) internal_name(k, layer, name, sizeof name);
    if (emit(k, "Transpose", layer, &input, 1, output ? output : name, attributes, 1) != GBX_OK)
        return -1;
    return gbx_nn_find_value(k->graph, output ? output : name);
}

/* The Keras tuple `key` (an int or a list) as `spatial` values; fallback when absent. */
static gbx_status tuple(keras_loader *k, const char *layer, json_object *config, const char *key,
                        int spatial, int64_t fallback, int64_t *out)
{
    json_object *v = member(config, key);
    for (int d = 0; d < spatial; d++) out[d] = fallback;
    if (!v || json_object_is_type(v, json_type_null)) return GBX_OK;
    if (json_object_is_type(v, json_type_int)) {
        for (int d = 0; d < spatial; d++) out[d] = json_object_get_int64(v);
        return GBX_OK;
    }
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) != (size_t)spatial)
        return gbx_fail(k->error, GBX_ERR_PARSE, "%s: layer %s: %s must hold %d numbers", k->path,
                        layer, key, spatial);
    for (int d = 0; d < spatial; d++) out[d] = json_object_get_int64(json_object_array_get_idx(v, d));
    return GBX_OK;
}

/* Channels-last <-> channels-first permutations for `spatial` dimensions. */
static void permutations(int spatial, int64_t *to_first, int64_t *to_last)
{
    to_first[0] = to_last[0] = 0;
    to_first[1] = spatial + 1;
    for (int d = 0; d < spatial; d++) {
        to_first[2 + d] = 1 + d;
        to_last[1 + d] = 2 + d;
    }
    to_last[spatial + 1] = 1;
}

static gbx_status check_channels_last(keras_loader *k, const char *layer, json_object *config)
{
    const char *format = string_member(config, "data_format", "channels_last");
    if (strcmp(format, "channels_last") != 0)
        return gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: layer %s uses data_format %s "
                        "(glassbox reads channels_last)", k->path, layer, format);
    return GBX_OK;
}

/* The window attributes: strides, dilations, and padding same (ONNX SAME_UPPER) or valid. */
static gbx_status window_attributes(keras_loader *k, const char *layer, json_object *config,
                                    int spatial, const int64_t *kernel, int pooling,
                                    gbx_nn_attribute *attributes, int *count)
{
    int64_t strides[3], dilations[3];
    gbx_status status = tuple(k, layer, config, "strides", spatial, pooling ? -1 : 1, strides);
    if (status == GBX_OK && !pooling)
        status = tuple(k, layer, config, "dilation_rate", spatial, 1, dilations);
    if (status != GBX_OK) return status;
    for (int d = 0; pooling && d < spatial; d++)
        if (strides[d] < 0) strides[d] = kernel[d]; /* Keras pools default to their size */
    const char *padding = string_member(config, "padding", "valid");
    if (strcmp(padding, "same") != 0 && strcmp(padding, "valid") != 0)
        return gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: layer %s: padding %s", k->path, layer,
                        padding);
    *count = 0;
    attributes[(*count)++] = ints_attribute("strides", strides, (size_t)spatial);
    attributes[(*count)++] = ints_attribute("kernel_shape", kernel, (size_t)spatial);
    if (!pooling) attributes[(*count)++] = ints_attribute("dilations", dilations, (size_t)spatial);
    attributes[*count].name = gbx_strdup("auto_pad");
    attributes[*count].kind = GBX_NN_ATTRIBUTE_STRING;
    attributes[(*count)++].s = gbx_strdup(strcmp(padding, "same") == 0 ? "SAME_UPPER" : "VALID");
    return GBX_OK;
}

/* Conv1D/Conv2D/Conv3D: kernel [k..., Cin/groups, Cout] becomes ONNX's [Cout, Cin/groups, k...]. */
static gbx_status convolution(keras_loader *k, const char *layer, json_object *config, int input,
                              int spatial)
{
    gbx_status status = check_channels_last(k, layer, config);
    if (status != GBX_OK) return status;
    int kernel_value = layer_weight(k, layer, 0, spatial + 2);
    if (kernel_value < 0) return GBX_ERR_PARSE;
    gbx_nn_tensor *kernel = &k->graph->constants[kernel_value];
    /* Reorder the weights in place of a new constant. */
    int64_t dims[5], out_channels = kernel->dims[spatial + 1], in_channels = kernel->dims[spatial];
    dims[0] = out_channels;
    dims[1] = in_channels;
    size_t window = 1;
    for (int d = 0; d < spatial; d++) {
        dims[2 + d] = kernel->dims[d];
        window *= (size_t)kernel->dims[d];
    }
    gbx_nn_tensor reordered;
    if ((status = gbx_nn_tensor_alloc(&reordered, GBX_NN_FLOAT, spatial + 2, dims, k->error)))
        return status;
    for (size_t w = 0; w < window; w++)
        for (int64_t c = 0; c < in_channels; c++)
            for (int64_t m = 0; m < out_channels; m++)
                reordered.f[((size_t)m * (size_t)in_channels + (size_t)c) * window + w] =
                    kernel->f[(w * (size_t)in_channels + (size_t)c) * (size_t)out_channels + (size_t)m];
    char name[300];
    snprintf(name, sizeof name, "%s/kernel_oihw", layer);
    int weights = gbx_nn_value(k->graph, name);
    if (weights < 0 || gbx_nn_set_constant(k->graph, weights, &reordered, k->error) != GBX_OK)
        return gbx_fail(k->error, GBX_ERR_NOMEM, "out of memory");
    json_object *use_bias = member(config, "use_bias");
    int bias = !use_bias || json_object_get_boolean(use_bias) ? layer_weight(k, layer, 1, 1) : -1;
    if (bias < 0 && (!use_bias || json_object_get_boolean(use_bias))) return GBX_ERR_PARSE;
    int64_t kernel_size[3], to_first[5], to_last[5];
    for (int d = 0; d < spatial; d++) kernel_size[d] = dims[2 + d];
    gbx_nn_attribute *attributes = gbx_calloc(6, sizeof *attributes);
    int count = 0;
    if (!attributes) return gbx_fail(k->error, GBX_ERR_NOMEM, "out of memory");
    if ((status = window_attributes(k, layer, config, spatial, kernel_size, 0, attributes, &count))) {
        for (int a = 0; a < count; a++) gbx_nn_attribute_release(&attributes[a]);
        free(attributes);
        return status;
    }
    json_object *groups = member(config, "groups");
    if (groups && json_object_get_int64(groups) > 1) {
        attributes[count].name = gbx_strdup("group");
        attributes[count].kind = GBX_NN_ATTRIBUTE_INT;
        attributes[count++].i = json_object_get_int64(groups);
    }
    permutations(spatial, to_first, to_last);
    int first = transpose(k, layer, input, to_first, spatial + 2, NULL);
    if (first < 0) return GBX_ERR_NOMEM;
    char convolved[300];
    internal_name(k, layer, convolved, sizeof convolved);
    int inputs[3] = {first, weights, bias};
    if ((status = emit(k, "Conv", layer, inputs, bias >= 0 ? 3 : 2, convolved, attributes, count)))
        return status;
    const char *which = string_member(config, "activation", "linear");
    int plain = strcmp(which, "linear") == 0;
    char back[300];
    internal_name(k, layer, back, sizeof back);
    int last = transpose(k, layer, gbx_nn_find_value(k->graph, convolved), to_last, spatial + 2,
                         plain ? layer : back);
    if (last < 0) return GBX_ERR_NOMEM;
    return plain ? GBX_OK : activation(k, layer, which, last, layer);
}

/* MaxPooling / AveragePooling (1-3 D), channels-last around channels-first pools. */
static gbx_status pooling(keras_loader *k, const char *layer, json_object *config, int input,
                          int spatial, const char *op)
{
    gbx_status status = check_channels_last(k, layer, config);
    if (status != GBX_OK) return status;
    int64_t size[3], to_first[5], to_last[5];
    if ((status = tuple(k, layer, config, "pool_size", spatial, 2, size))) return status;
    gbx_nn_attribute *attributes = gbx_calloc(5, sizeof *attributes);
    int count = 0;
    if (!attributes) return gbx_fail(k->error, GBX_ERR_NOMEM, "out of memory");
    if ((status = window_attributes(k, layer, config, spatial, size, 1, attributes, &count))) {
        for (int a = 0; a < count; a++) gbx_nn_attribute_release(&attributes[a]);
        free(attributes);
        return status;
    }
    permutations(spatial, to_first, to_last);
    int first = transpose(k, layer, input, to_first, spatial + 2, NULL);
    char pooled[300];
    internal_name(k, layer, pooled, sizeof pooled);
    if (first < 0 || (status = emit(k, op, layer, &first, 1, pooled, attributes, count)))
        return first < 0 ? GBX_ERR_NOMEM : status;
    return transpose(k, layer, gbx_nn_find_value(k->graph, pooled), to_last, spatial + 2, layer) < 0
               ? GBX_ERR_NOMEM : GBX_OK;
}

/* GlobalAveragePooling / GlobalMaxPooling: the mean (or max) over the positions, channels kept. */
static gbx_status global_pooling(keras_loader *k, const char *layer, json_object *config,
                                 int input, int spatial, int maximum)
{
    gbx_status status = check_channels_last(k, layer, config);
    if (status != GBX_OK) return status;
    json_object *keep = member(config, "keepdims");
    if (keep && json_object_get_boolean(keep))
        return gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: layer %s keeps its dimensions",
                        k->path, layer);
    if (maximum) {
        int64_t to_first[5], to_last[5];
        permutations(spatial, to_first, to_last);
        int first = transpose(k, layer, input, to_first, spatial + 2, NULL);
        char pooled[300];
        internal_name(k, layer, pooled, sizeof pooled);
        if (first < 0 || (status = emit(k, "GlobalMaxPool", layer, &first, 1, pooled, NULL, 0)))
            return first < 0 ? GBX_ERR_NOMEM : status;
        gbx_nn_attribute *flat = int_attribute("axis", 1);
        int pooled_value = gbx_nn_find_value(k->graph, pooled);
        return flat ? emit(k, "Flatten", layer, &pooled_value, 1, layer, flat, 1) : GBX_ERR_NOMEM;
    }
    int64_t axes[3];
    for (int d = 0; d < spatial; d++) axes[d] = 1 + d;
    gbx_nn_attribute *attributes = calloc(2, sizeof *attributes);
    if (!attributes) return gbx_fail(k->error, GBX_ERR_NOMEM, "out of memory");
    attributes[0] = ints_attribute("axes", axes, (size_t)spatial);
    attributes[1].name = gbx_strdup("keepdims");
    attributes[1].kind = GBX_NN_ATTRIBUTE_INT;
    attributes[1].i = 0;
    return emit(k, "ReduceMean", layer, &input, 1, layer, attributes, 2);
}

/* The tensors a functional layer reads: Keras 3 ({"args": [...keras_history...]}) and Keras 2
 * ([[["name", node, tensor, {}], ...]]) forms. */
/* Embedding: the input holds token ids (as numbers); each becomes its row of the table. */
static gbx_status embedding(keras_loader *k, const char *layer, json_object *config, int input)
{
    json_object *mask = member(config, "mask_zero");
    if (mask && json_object_get_boolean(mask))
        return gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: layer %s masks token 0 (mask_zero), "
                        "which glassbox does not support: every step of a sequence is used",
                        k->path, layer);
    int table = layer_weight(k, layer, 0, 2);
    if (table < 0) return GBX_ERR_PARSE;
    gbx_nn_attribute *to = int_attribute("to", 7); /* ONNX INT64 */
    if (!to) return gbx_fail(k->error, GBX_ERR_NOMEM, "out of memory");
    char ids[300];
    internal_name(k, layer, ids, sizeof ids);
    gbx_status status = emit(k, "Cast", layer, &input, 1, ids, to, 1);
    int pair[2] = {table, gbx_nn_find_value(k->graph, ids)};
    return status == GBX_OK ? emit(k, "Gather", layer, pair, 2, layer, NULL, 0) : status;
}

/* LSTM and GRU, alone or both ways inside Bidirectional (merge_mode concat). Keras runs
 * [batch, steps, features] with kernels [input][gates x units] in its gate order (LSTM i f c o,
 * GRU z r h); ONNX's operators take [steps, batch, features] and W [directions][gates x units]
 * [input] in theirs (LSTM i o f c, GRU z r h), so the weights are rearranged once here. */
static gbx_status recurrent(keras_loader *k, const char *layer, const char *kind,
                            json_object *config, int input)
{
    int both = strcmp(kind, "Bidirectional") == 0;
    json_object *inner = both ? member(config, "layer") : NULL;
    if (both) {
        const char *merge = string_member(config, "merge_mode", "concat");
        kind = string_member(inner, "class_name", "");
        if (strcmp(merge, "concat") != 0 || (strcmp(kind, "LSTM") != 0 && strcmp(kind, "GRU") != 0))
            return gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: layer %s: glassbox reads "
                            "Bidirectional around an LSTM or GRU with merge_mode concat, not %s "
                            "with %s", k->path, layer, kind, merge);
    }
    json_object *cell = both ? member(inner, "config") : config;
    int lstm = strcmp(kind, "LSTM") == 0;
    json_object *units_value = member(cell, "units");
    int64_t units = units_value ? json_object_get_int64(units_value) : 0;
    json_object *flag;
    const char *problem = units < 1 || units > 1 << 16 ? "units"
        : strcmp(string_member(cell, "activation", "tanh"), "tanh") != 0 ? "an activation other than tanh"
        : strcmp(string_member(cell, "recurrent_activation", "sigmoid"), "sigmoid") != 0
            ? "a recurrent_activation other than sigmoid"
        : (flag = member(cell, "return_state")) && json_object_get_boolean(flag) ? "return_state"
        : (flag = member(cell, "go_backwards")) && json_object_get_boolean(flag) ? "go_backwards"
        : (flag = member(cell, "stateful")) && json_object_get_boolean(flag) ? "stateful" : NULL;
    if (problem)
        return gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: layer %s: glassbox does not support "
                        "%s here", k->path, layer, problem);
    flag = member(cell, "use_bias");
    int biased = !flag || json_object_get_boolean(flag);
    flag = member(cell, "reset_after");
    int reset_after = !lstm && (!flag || json_object_get_boolean(flag));
    flag = member(cell, "return_sequences");
    int sequences = flag && json_object_get_boolean(flag);
    size_t H = (size_t)units, G = lstm ? 4 : 3, D = both ? 2 : 1, In = 0;
    static const int lstm_order[4] = {0, 3, 1, 2}, gru_order[3] = {0, 1, 2}; /* ONNX gate <- Keras */
    const int *order = lstm ? lstm_order : gru_order;
    gbx_nn_tensor W = {0}, R = {0}, B = {0};
    gbx_status status = GBX_OK;
    for (size_t d = 0; d < D && status == GBX_OK; d++) {
        const char *sub = !both ? "cell/" : d ? "backward_layer/cell/" : "forward_layer/cell/";
        int per = biased ? 3 : 2, base = k->legacy ? (int)d * per : 0;
        gbx_nn_tensor kernel = {0}, recurrent_kernel = {0}, bias = {0};
        status = read_weight(k, layer, sub, base, 2, &kernel);
        if (status == GBX_OK) status = read_weight(k, layer, sub, base + 1, 2, &recurrent_kernel);
        if (status == GBX_OK && biased) status = read_weight(k, layer, sub, base + 2, -1, &bias);
        if (status == GBX_OK && d == 0) {
            In = (size_t)kernel.dims[0];
            int64_t w_dims[3] = {(int64_t)D, (int64_t)(G * H), (int64_t)In};
            int64_t r_dims[3] = {(int64_t)D, (int64_t)(G * H), (int64_t)H};
            int64_t b_dims[2] = {(int64_t)D, (int64_t)(2 * G * H)};
            status = gbx_nn_tensor_alloc(&W, GBX_NN_FLOAT, 3, w_dims, k->error);
            if (status == GBX_OK) status = gbx_nn_tensor_alloc(&R, GBX_NN_FLOAT, 3, r_dims, k->error);
            if (status == GBX_OK) status = gbx_nn_tensor_alloc(&B, GBX_NN_FLOAT, 2, b_dims, k->error);
            if (status == GBX_OK) memset(B.f, 0, B.count * sizeof(float));
        }
        /* Keras's bias: [gates x units] (LSTM, GRU without reset_after), or [2][gates x units]
         * (GRU with reset_after: the input's bias, then the recurrent one). */
        size_t bias_count = reset_after ? 2 * G * H : G * H;
        if (status == GBX_OK &&
            ((size_t)kernel.dims[0] != In || (size_t)kernel.dims[1] != G * H ||
             (size_t)recurrent_kernel.dims[0] != H || (size_t)recurrent_kernel.dims[1] != G * H ||
             (biased && bias.count != bias_count)))
            status = gbx_fail(k->error, GBX_ERR_PARSE, "%s: layer %s: weights do not fit %lld "
                              "units", k->path, layer, (long long)units);
        for (size_t g = 0; status == GBX_OK && g < G; g++)
            for (size_t u = 0; u < H; u++) {
                size_t row = g * H + u, column = (size_t)order[g] * H + u;
                for (size_t i = 0; i < In; i++)
                    W.f[(d * G * H + row) * In + i] = kernel.f[i * G * H + column];
                for (size_t h = 0; h < H; h++)
                    R.f[(d * G * H + row) * H + h] = recurrent_kernel.f[h * G * H + column];
                if (biased) {
                    B.f[d * 2 * G * H + row] = bias.f[column];
                    if (reset_after) B.f[d * 2 * G * H + G * H + row] = bias.f[G * H + column];
                }
            }
        gbx_nn_tensor_release(&kernel);
        gbx_nn_tensor_release(&recurrent_kernel);
        gbx_nn_tensor_release(&bias);
    }
    char name[300];
    int values[4] = {-1, -1, -1, -1};
    snprintf(name, sizeof name, "%s/W", layer);
    if (status == GBX_OK && (values[1] = constant_tensor(k, name, &W)) < 0) status = GBX_ERR_NOMEM;
    snprintf(name, sizeof name, "%s/R", layer);
    if (status == GBX_OK && (values[2] = constant_tensor(k, name, &R)) < 0) status = GBX_ERR_NOMEM;
    snprintf(name, sizeof name, "%s/B", layer);
    if (status == GBX_OK && (values[3] = constant_tensor(k, name, &B)) < 0) status = GBX_ERR_NOMEM;
    if (status != GBX_OK) {
        gbx_nn_tensor_release(&W);
        gbx_nn_tensor_release(&R);
        gbx_nn_tensor_release(&B);
        return status;
    }
    static const int64_t steps_first[3] = {1, 0, 2};
    values[0] = transpose(k, layer, input, steps_first, 3, NULL);
    gbx_nn_attribute *attributes = calloc(3, sizeof *attributes);
    int outputs[2] = {gbx_nn_value(k->graph, (internal_name(k, layer, name, sizeof name), name)),
                      gbx_nn_value(k->graph, (internal_name(k, layer, name, sizeof name), name))};
    if (values[0] < 0 || !attributes || outputs[0] < 0 || outputs[1] < 0) {
        free(attributes);
        return gbx_fail(k->error, GBX_ERR_NOMEM, "out of memory");
    }
    attributes[0].name = gbx_strdup("hidden_size");
    attributes[0].kind = GBX_NN_ATTRIBUTE_INT;
    attributes[0].i = units;
    attributes[1].name = gbx_strdup("direction");
    attributes[1].kind = GBX_NN_ATTRIBUTE_STRING;
    attributes[1].s = gbx_strdup(both ? "bidirectional" : "forward");
    if (!lstm) {
        attributes[2].name = gbx_strdup("linear_before_reset");
        attributes[2].kind = GBX_NN_ATTRIBUTE_INT;
        attributes[2].i = reset_after;
    }
    char node_name[300];
    snprintf(node_name, sizeof node_name, "%s/%s", layer, lstm ? "LSTM" : "GRU");
    status = gbx_nn_add_node(k->graph, gbx_nn_find_op(lstm ? "LSTM" : "GRU"), node_name, values, 4,
                             outputs, 2, attributes, lstm ? 2 : 3, k->error);
    if (status != GBX_OK) return status;
    /* Every step's output Y [steps, directions, batch, units], or the last Y_h [directions,
     * batch, units], back to batch first with the directions side by side. */
    static const int64_t batch_first_y[4] = {2, 0, 1, 3}, batch_first_state[3] = {1, 0, 2};
    int moved = sequences ? transpose(k, layer, outputs[0], batch_first_y, 4, NULL)
                          : transpose(k, layer, outputs[1], batch_first_state, 3, NULL);
    int64_t rank = sequences ? 3 : 2;
    gbx_nn_tensor shape;
    if (moved < 0 || gbx_nn_tensor_alloc(&shape, GBX_NN_INT64, 1, &rank, k->error) != GBX_OK)
        return gbx_fail(k->error, GBX_ERR_NOMEM, "out of memory");
    shape.i[0] = 0;
    shape.i[1] = sequences ? 0 : -1;
    if (sequences) shape.i[2] = -1;
    snprintf(name, sizeof name, "%s/shape", layer);
    int pair[2] = {moved, constant_tensor(k, name, &shape)};
    if (pair[1] < 0) return GBX_ERR_NOMEM;
    return emit(k, "Reshape", layer, pair, 2, layer, NULL, 0);
}

static gbx_status inbound(keras_loader *k, const char *layer, json_object *nodes, int *inputs,
                          int *count)
{
    *count = 0;
    if (!nodes || !json_object_is_type(nodes, json_type_array) || json_object_array_length(nodes) != 1)
        return gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: layer %s must be called exactly once "
                        "(shared layers are not supported)", k->path, layer);
    json_object *node = json_object_array_get_idx(nodes, 0), *items;
    json_object *args = member(node, "args");
    if (args) {
        /* Keras 3: args holds a tensor or a list of tensors (Add, Concatenate). */
        items = json_object_array_length(args) == 1 &&
                        json_object_is_type(json_object_array_get_idx(args, 0), json_type_array)
                    ? json_object_array_get_idx(args, 0) : args;
    } else {
        items = node;
    }
    size_t n = json_object_is_type(items, json_type_array) ? json_object_array_length(items) : 0;
    for (size_t i = 0; i < n && *count < 16; i++) {
        json_object *item = json_object_array_get_idx(items, i);
        json_object *history = args ? member(member(item, "config"), "keras_history") : item;
        const char *source = history && json_object_is_type(history, json_type_array)
                                 ? json_object_get_string(json_object_array_get_idx(history, 0)) : NULL;
        int value = source ? gbx_nn_find_value(k->graph, source) : -1;
        if (value < 0)
            return gbx_fail(k->error, GBX_ERR_PARSE, "%s: layer %s reads \"%s\", which no earlier "
                            "layer makes", k->path, layer, source ? source : "?");
        inputs[(*count)++] = value;
    }
    if (*count == 0)
        return gbx_fail(k->error, GBX_ERR_PARSE, "%s: layer %s has no inputs", k->path, layer);
    return GBX_OK;
}

static gbx_status input_layer(keras_loader *k, const char *layer, json_object *config)
{
    json_object *shape = member(config, "batch_shape");
    if (!shape) shape = member(config, "batch_input_shape");
    size_t rank = shape && json_object_is_type(shape, json_type_array) ? json_object_array_length(shape) : 0;
    if (rank < 2 || rank > GBX_NN_MAX_RANK)
        return gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: input %s must have a batch and at "
                        "least one fixed dimension", k->path, layer);
    if (k->graph->input >= 0)
        return gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: the model has several inputs; "
                        "glassbox explains models with one", k->path);
    k->graph->input_rank = (int)rank;
    k->graph->input_dims[0] = -1;
    for (size_t d = 1; d < rank; d++) {
        json_object *dim = json_object_array_get_idx(shape, d);
        if (!dim || json_object_get_int64(dim) <= 0)
            return gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: input %s: dimension %zu is not "
                            "fixed", k->path, layer, d);
        k->graph->input_dims[d] = json_object_get_int64(dim);
    }
    k->graph->input = gbx_nn_value(k->graph, layer);
    return k->graph->input >= 0 ? GBX_OK : gbx_fail(k->error, GBX_ERR_NOMEM, "out of memory");
}

/* Adds one layer reading `inputs`; its output tensor is named after the layer. */
static gbx_status add_layer(keras_loader *k, json_object *spec, const int *inputs, int count)
{
    const char *kind = string_member(spec, "class_name", "");
    json_object *config = member(spec, "config");
    const char *layer = string_member(config, "name", string_member(spec, "name", ""));
    if (!*layer) return gbx_fail(k->error, GBX_ERR_PARSE, "%s: a %s layer without a name", k->path, kind);
    if (gbx_nn_find_value(k->graph, layer) >= 0)
        return gbx_fail(k->error, GBX_ERR_PARSE, "%s: two layers are named %s", k->path, layer);
    if (strcmp(kind, "InputLayer") == 0) return input_layer(k, layer, config);
    if (count == 0) return gbx_fail(k->error, GBX_ERR_PARSE, "%s: layer %s has no input", k->path, layer);
    int x = inputs[0];
    if (strcmp(kind, "Dense") == 0) return dense(k, layer, config, x);
    if (strcmp(kind, "Dropout") == 0 || strcmp(kind, "GaussianNoise") == 0 ||
        strcmp(kind, "GaussianDropout") == 0 || strcmp(kind, "AlphaDropout") == 0 ||
        strcmp(kind, "ActivityRegularization") == 0)
        return emit(k, "Identity", layer, &x, 1, layer, NULL, 0); /* inference: no-ops */
    if (strcmp(kind, "Activation") == 0)
        return activation(k, layer, string_member(config, "activation", "linear"), x, layer);
    if (strcmp(kind, "ReLU") == 0) return activation(k, layer, "relu", x, layer);
    if (strcmp(kind, "Softmax") == 0) return activation(k, layer, "softmax", x, layer);
    if (strcmp(kind, "Rescaling") == 0) return rescaling(k, layer, config, x);
    if (strcmp(kind, "Normalization") == 0) return normalization(k, layer, config, x);
    if (strcmp(kind, "BatchNormalization") == 0) return batch_normalization(k, layer, config, x);
    if (strcmp(kind, "LayerNormalization") == 0) return layer_normalization(k, layer, config, x);
    if (strcmp(kind, "Embedding") == 0) return embedding(k, layer, config, x);
    if (strcmp(kind, "LSTM") == 0 || strcmp(kind, "GRU") == 0 || strcmp(kind, "Bidirectional") == 0)
        return recurrent(k, layer, kind, config, x);
    static const char *const convolutions[] = {"Conv1D", "Conv2D", "Conv3D"};
    static const char *const max_pools[] = {"MaxPooling1D", "MaxPooling2D", "MaxPooling3D"};
    static const char *const average_pools[] = {"AveragePooling1D", "AveragePooling2D",
                                                "AveragePooling3D"};
    static const char *const global_average[] = {"GlobalAveragePooling1D",
                                                 "GlobalAveragePooling2D", "GlobalAveragePooling3D"};
    static const char *const global_max[] = {"GlobalMaxPooling1D", "GlobalMaxPooling2D",
                                             "GlobalMaxPooling3D"};
    for (int spatial = 1; spatial <= 3; spatial++) {
        if (strcmp(kind, convolutions[spatial - 1]) == 0) return convolution(k, layer, config, x, spatial);
        if (strcmp(kind, max_pools[spatial - 1]) == 0) return pooling(k, layer, config, x, spatial, "MaxPool");
        if (strcmp(kind, average_pools[spatial - 1]) == 0)
            return pooling(k, layer, config, x, spatial, "AveragePool");
        if (strcmp(kind, global_average[spatial - 1]) == 0)
            return global_pooling(k, layer, config, x, spatial, 0);
        if (strcmp(kind, global_max[spatial - 1]) == 0)
            return global_pooling(k, layer, config, x, spatial, 1);
    }
    if (strcmp(kind, "Reshape") == 0) {
        /* target_shape leaves out the batch: ONNX's 0 keeps it. */
        json_object *target = member(config, "target_shape");
        size_t rank = target && json_object_is_type(target, json_type_array)
                          ? json_object_array_length(target) : 0;
        if (rank < 1 || rank + 1 > GBX_NN_MAX_RANK)
            return gbx_fail(k->error, GBX_ERR_PARSE, "%s: layer %s: target_shape", k->path, layer);
        gbx_nn_tensor shape;
        int64_t length = (int64_t)rank + 1;
        gbx_status status = gbx_nn_tensor_alloc(&shape, GBX_NN_INT64, 1, &length, k->error);
        if (status != GBX_OK) return status;
        shape.i[0] = 0;
        for (size_t d = 0; d < rank; d++)
            shape.i[d + 1] = json_object_get_int64(json_object_array_get_idx(target, d));
        char name[300];
        snprintf(name, sizeof name, "%s/shape", layer);
        int value = gbx_nn_value(k->graph, name);
        if (value < 0 || gbx_nn_set_constant(k->graph, value, &shape, k->error) != GBX_OK)
            return gbx_fail(k->error, GBX_ERR_NOMEM, "out of memory");
        int pair[2] = {x, value};
        return emit(k, "Reshape", layer, pair, 2, layer, NULL, 0);
    }
    if (strcmp(kind, "Flatten") == 0) {
        gbx_nn_attribute *axis = int_attribute("axis", 1);
        return axis ? emit(k, "Flatten", layer, &x, 1, layer, axis, 1)
                    : gbx_fail(k->error, GBX_ERR_NOMEM, "out of memory");
    }
    if (strcmp(kind, "Add") == 0 || strcmp(kind, "Concatenate") == 0) {
        if (strcmp(kind, "Concatenate") == 0) {
            json_object *axis = member(config, "axis");
            gbx_nn_attribute *a = int_attribute("axis", axis ? json_object_get_int64(axis) : -1);
            return a ? emit(k, "Concat", layer, inputs, count, layer, a, 1)
                     : gbx_fail(k->error, GBX_ERR_NOMEM, "out of memory");
        }
        int sum = inputs[0];
        for (int i = 1; i < count; i++) {
            char name[300];
            if (i + 1 < count) internal_name(k, layer, name, sizeof name);
            else snprintf(name, sizeof name, "%s", layer);
            int pair[2] = {sum, inputs[i]};
            gbx_status status = emit(k, "Add", layer, pair, 2, name, NULL, 0);
            if (status != GBX_OK) return status;
            sum = gbx_nn_find_value(k->graph, name);
        }
        return count > 1 ? GBX_OK : emit(k, "Identity", layer, &x, 1, layer, NULL, 0);
    }
    return gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: layer %s is a %s, which glassbox does "
                    "not support", k->path, layer, kind);
}

static gbx_status build(keras_loader *k, json_object *root)
{
    const char *kind = string_member(root, "class_name", "");
    json_object *config = member(root, "config");
    json_object *layers = member(config, "layers");
    if (!layers || !json_object_is_type(layers, json_type_array))
        return gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: a %s model without a list of layers "
                        "(glassbox reads Sequential and functional models)", k->path, kind);
    int sequential = strcmp(kind, "Sequential") == 0;
    if (!sequential && strcmp(kind, "Functional") != 0 && strcmp(kind, "Model") != 0)
        return gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: model class %s (glassbox reads "
                        "Sequential and functional models)", k->path, kind);
    size_t count = json_object_array_length(layers);
    int previous = -1;
    for (size_t l = 0; l < count; l++) {
        json_object *spec = json_object_array_get_idx(layers, l);
        int inputs[16], n = 0;
        gbx_status status;
        if (sequential) {
            /* A Sequential model without an InputLayer takes its shape from the first layer. */
            if (previous < 0 && strcmp(string_member(spec, "class_name", ""), "InputLayer") != 0) {
                json_object *shape = member(member(spec, "config"), "batch_input_shape");
                if (!shape) shape = member(member(spec, "config"), "batch_shape");
                json_object *input = json_object_new_object();
                json_object_object_add(input, "batch_shape", json_object_get(shape));
                json_object_object_add(input, "name", json_object_new_string("input"));
                json_object *wrapper = json_object_new_object();
                json_object_object_add(wrapper, "class_name", json_object_new_string("InputLayer"));
                json_object_object_add(wrapper, "config", input);
                status = add_layer(k, wrapper, NULL, 0);
                json_object_put(wrapper);
                if (status != GBX_OK) return status;
                previous = k->graph->input;
            }
            if (previous >= 0) inputs[n++] = previous;
            status = add_layer(k, spec, inputs, n);
        } else {
            if (strcmp(string_member(spec, "class_name", ""), "InputLayer") != 0 &&
                (status = inbound(k, string_member(member(spec, "config"), "name", "?"),
                                  member(spec, "inbound_nodes"), inputs, &n)) != GBX_OK)
                return status;
            status = add_layer(k, spec, inputs, n);
        }
        if (status != GBX_OK) return status;
        const char *name = string_member(member(spec, "config"), "name", string_member(spec, "name", ""));
        previous = gbx_nn_find_value(k->graph, name);
    }
    /* The output: the functional model's first output layer, or the last layer. */
    /* Keras 3 writes one output as ["name", 0, 0]; Keras 2 and several outputs nest them. */
    json_object *outputs = member(config, "output_layers");
    const char *output = NULL;
    if (!sequential && outputs && json_object_is_type(outputs, json_type_array) &&
        json_object_array_length(outputs) > 0) {
        json_object *first = json_object_array_get_idx(outputs, 0);
        if (json_object_is_type(first, json_type_array)) {
            if (json_object_array_length(outputs) > 1)
                return gbx_fail(k->error, GBX_ERR_UNSUPPORTED, "%s: the model has several "
                                "outputs; glassbox explains models with one", k->path);
            first = json_object_array_get_idx(first, 0);
        }
        output = json_object_get_string(first);
    }
    k->graph->output = output ? gbx_nn_find_value(k->graph, output) : previous;
    if (k->graph->output < 0)
        return gbx_fail(k->error, GBX_ERR_PARSE, "%s: the output layer is unknown", k->path);
    return gbx_nn_graph_finish(k->graph, k->error);
}

/* ---- files -------------------------------------------------------------------------------- */

int gbx_keras_detect(const char *bytes, size_t length)
{
    static const char hdf5[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
    return (length >= 4 && memcmp(bytes, "PK\x03\x04", 4) == 0) ||
           (length >= 8 && memcmp(bytes, hdf5, 8) == 0);
}

/* What a member may inflate to before it is read: a model's config is kilobytes (64 MB is far
 * beyond any real one, and keeps a zip bomb from taking gigabytes); its weights may be large. */
#define CONFIG_LIMIT ((zip_uint64_t)64 << 20)
#define WEIGHTS_LIMIT ((zip_uint64_t)1 << 32)

/* A member of the .keras zip, read whole, if it inflates to at most limit bytes. */
static gbx_status zip_member(zip_t *archive, const char *path, const char *name,
                             zip_uint64_t limit, char **bytes, size_t *length, gbx_error *error)
{
    zip_stat_t stat;
    if (zip_stat(archive, name, 0, &stat) != 0 || !(stat.valid & ZIP_STAT_SIZE))
        return gbx_fail(error, GBX_ERR_PARSE, "%s: the .keras archive has no %s", path, name);
    if (stat.size > limit)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: %s inflates to %llu bytes, more than "
                        "%llu MB", path, name, (unsigned long long)stat.size,
                        (unsigned long long)(limit >> 20));
    *bytes = malloc((size_t)stat.size + 1);
    zip_file_t *file = *bytes ? zip_fopen(archive, name, 0) : NULL;
    zip_int64_t got = file ? zip_fread(file, *bytes, stat.size) : -1;
    if (file) zip_fclose(file);
    if (got < 0 || (zip_uint64_t)got != stat.size) {
        free(*bytes);
        *bytes = NULL;
        return gbx_fail(error, GBX_ERR_PARSE, "%s: cannot read %s from the archive", path, name);
    }
    (*bytes)[stat.size] = '\0';
    *length = (size_t)stat.size;
    return GBX_OK;
}

gbx_status gbx_keras_load(const char *path, const char *bytes, size_t length, gbx_model *model,
                          gbx_error *error)
{
    gbx_status loaded = gbx_blas_load(error);
    if (loaded != GBX_OK) return loaded;
    if ((loaded = gbx_dl_load(&hdf5, error)) != GBX_OK) return loaded;
    keras_loader k = {.path = path, .file = -1, .error = error};
    char *config_text = NULL, *weights = NULL;
    size_t config_length = 0, weights_length = length;
    zip_t *archive = NULL;
    gbx_status status = GBX_OK;
    /* HDF5 reports failures through our messages, not on stderr. */
    H5E_auto2_t old_handler;
    void *old_data;
    H5Eget_auto2(H5E_DEFAULT, &old_handler, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (!gbx_keras_detect(bytes, length)) {
        H5Eset_auto2(H5E_DEFAULT, old_handler, old_data);
        return gbx_fail(error, GBX_ERR_PARSE, "%s: neither a .keras archive nor an HDF5 file", path);
    }
    if (memcmp(bytes, "PK", 2) == 0) {
        zip_error_t zip_failure;
        zip_error_init(&zip_failure);
        zip_source_t *source = zip_source_buffer_create(bytes, length, 0, &zip_failure);
        archive = source ? zip_open_from_source(source, ZIP_RDONLY, &zip_failure) : NULL;
        if (!archive) {
            if (source) zip_source_free(source);
            status = gbx_fail(error, GBX_ERR_PARSE, "%s: not a readable .keras archive: %s", path,
                              zip_error_strerror(&zip_failure));
        }
        zip_error_fini(&zip_failure);
        if (status == GBX_OK)
            status = zip_member(archive, path, "config.json", CONFIG_LIMIT, &config_text,
                                &config_length, error);
        if (status == GBX_OK)
            status = zip_member(archive, path, "model.weights.h5", WEIGHTS_LIMIT, &weights,
                                &weights_length, error);
        if (status == GBX_OK && (k.file = open_image(weights, weights_length)) < 0)
            status = gbx_fail(error, GBX_ERR_PARSE, "%s: model.weights.h5 is not a readable HDF5 "
                              "file", path);
    } else {
        k.legacy = 1;
        if ((k.file = open_image(bytes, length)) < 0)
            status = gbx_fail(error, GBX_ERR_PARSE, "%s: not a readable HDF5 file", path);
        else if (!(config_text = string_attribute(k.file, "model_config")))
            status = gbx_fail(error, GBX_ERR_PARSE, "%s: an HDF5 file without a model_config "
                              "attribute (a weights-only file?)", path);
        else
            config_length = strlen(config_text);
    }
    json_object *root = NULL;
    if (status == GBX_OK) {
        json_tokener *tokener = json_tokener_new();
        root = tokener && config_length < 0x7fffffff
                   ? json_tokener_parse_ex(tokener, config_text, (int)config_length) : NULL;
        if (!root || json_tokener_get_error(tokener) != json_tokener_success)
            status = gbx_fail(error, GBX_ERR_PARSE, "%s: the model config is not valid JSON", path);
        if (tokener) json_tokener_free(tokener);
    }
    if (status == GBX_OK && !(k.graph = gbx_nn_graph_new()))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status == GBX_OK) {
        k.graph->opset = 21; /* Softmax and friends take one axis */
        k.graph->from_tensorflow = 1;
        status = build(&k, root);
    }
    json_object_put(root);
    if (k.file >= 0) H5Fclose(k.file);
    H5Eset_auto2(H5E_DEFAULT, old_handler, old_data);
    if (archive) zip_discard(archive);
    free(config_text);
    free(weights);
    if (status != GBX_OK) {
        gbx_nn_graph_free(k.graph);
        return status;
    }
    return gbx_network_model_init(model, k.graph, path, error);
}
