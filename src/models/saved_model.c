/* TensorFlow SavedModel directories (what Keras 3 `model.export()` and `tf.saved_model.save`
 * write, and TF Serving serves): the serving signature's graph becomes the network engine's,
 * so the artifact in production is the one explained.
 *
 * saved_model.pb holds a graph whose serving output comes from a call into a library of
 * functions (signature wrapper -> the model's call), reading variables through resource
 * handles. The loader walks back from the signature's output, inlining each call, and turns
 * every TensorFlow operation it meets into engine operators (ONNX semantics: channels-last
 * convolutions and pools are wrapped in transposes, as for .keras files). A variable's value
 * comes from the variables bundle, found as TensorFlow 2 finds it (map_variables). Control flow
 * (While, If, TensorList...) is refused by name. */
#include "model.h"
#include "tensor_bundle.h"
#include "tensorflow.pb-c.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Calls nest a few deep (signature wrapper -> call -> layer); 32 is far beyond any export and
 * bounds the loader's recursion whatever the file says. */
#define CALL_DEPTH_LIMIT 32
/* Nodes translated and operators made, in all: unrolled loops (nested ones especially) multiply
 * a graph, and a file must not turn that into hours of loading or gigabytes of graph. */
#define TRANSLATION_LIMIT (1 << 22)
#define OPERATOR_LIMIT (1 << 20)
#define OUTPUTS_LIMIT GBX_NN_MAX_INPUTS

/* TensorFlow's DataType numbers. */
enum { DT_FLOAT = 1, DT_DOUBLE = 2, DT_INT32 = 3, DT_UINT8 = 4, DT_INT16 = 5, DT_INT8 = 6,
       DT_STRING = 7, DT_INT64 = 9, DT_BOOL = 10, DT_BFLOAT16 = 14, DT_HALF = 19 };
/* ONNX's, for Cast. */
enum { ONNX_FLOAT = 1, ONNX_INT64 = 7, ONNX_BOOL = 9 };

/* What a TensorFlow tensor became: a graph value, a variable's handle (a resource), or a
 * tensor list (what loops read their steps from and write their outputs to). */
typedef struct {
    int value;    /* -1: none */
    int variable; /* index into loader.variables; -1: none */
    int list;     /* index into loader.lists; -1: none */
} ref;
#define NO_REF ((ref){-1, -1, -1})

/* A tensor list, as a value: setting an item makes a new list. Its items are refs (value -1
 * where unset); a list made from a tensor reads unset items from that tensor's rows. */
typedef struct {
    int *items;
    int count;
    int source; /* the tensor it was made from, or -1 */
} tensor_list;

/* ---- a name table: open addressing from a name (not owned) to a run of refs ---------------- */

typedef struct {
    const char *name;
    size_t length;
    const char *op; /* the TensorFlow op that made it; NULL for a function's argument */
    int first, count;
} slot;

typedef struct {
    slot *slots;
    size_t size, used; /* size: a power of two */
} table;

static uint64_t hash(const char *name, size_t length)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < length; i++) h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
    return h;
}

static slot *table_find(const table *t, const char *name, size_t length)
{
    if (!t->size) return NULL;
    for (size_t i = hash(name, length) & (t->size - 1);; i = (i + 1) & (t->size - 1)) {
        slot *s = &t->slots[i];
        if (!s->name) return NULL;
        if (s->length == length && memcmp(s->name, name, length) == 0) return s;
    }
}

static gbx_status table_put(table *t, const char *name, const char *op, int first, int count,
                            gbx_error *error)
{
    if (2 * (t->used + 1) > t->size) {
        table bigger = {gbx_calloc(t->size ? 2 * t->size : 64, sizeof(slot)),
                        t->size ? 2 * t->size : 64, 0};
        if (!bigger.slots) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < t->size; i++)
            if (t->slots[i].name)
                table_put(&bigger, t->slots[i].name, t->slots[i].op, t->slots[i].first,
                          t->slots[i].count, error);
        free(t->slots);
        *t = bigger;
    }
    size_t length = strlen(name);
    size_t i = hash(name, length) & (t->size - 1);
    while (t->slots[i].name && !(t->slots[i].length == length &&
                                 memcmp(t->slots[i].name, name, length) == 0))
        i = (i + 1) & (t->size - 1);
    if (!t->slots[i].name) t->used++;
    t->slots[i] = (slot){name, length, op, first, count};
    return GBX_OK;
}

/* ---- the loader ----------------------------------------------------------------------------- */

typedef struct {
    char *key;  /* checkpoint key */
    int value;  /* its graph constant once read; -1 before */
} variable;

typedef struct {
    const char *path; /* the SavedModel directory */
    const Gbxtf__MetaGraphDef *meta;
    table functions;  /* name -> index in the library */
    table handles;    /* the main graph's VarHandleOp node -> variable */
    variable *variables;
    size_t variable_count;
    gbx_tensor_bundle *bundle;
    ref *refs;
    size_t ref_count, ref_capacity;
    tensor_list *lists;
    size_t list_count;
    gbx_nn_graph *graph;
    const char *input_node; /* the signature's placeholder */
    int input_type;         /* its TensorFlow type */
    unsigned counter;       /* for unique value names */
    size_t translated;      /* TensorFlow nodes translated so far (loops count each step) */
    gbx_error *error;
} loader;

/* A graph being translated: the main graph, or one call of a library function. */
typedef struct {
    const char *prefix;  /* for the values made here: the calls that lead here */
    table names;         /* TensorFlow node or argument -> its refs */
    Gbxtf__NodeDef **nodes;
    size_t node_count;
    table index;         /* node name -> position in nodes */
    int depth;
} scope;

typedef struct tf_op tf_op;
/* Turns `node` (its inputs resolved to `in`) into engine nodes; fills out[*out_count]
 * (*out_count is 1 on entry). */
typedef gbx_status (*emitter)(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                              const ref *in, int n, ref *out, int *out_count);
struct tf_op {
    const char *name;    /* TensorFlow's */
    const char *engine;  /* the engine operator it maps to, where one does */
    emitter emit;
};

static gbx_status fail_node(loader *L, const Gbxtf__NodeDef *node, gbx_status status,
                            const char *format, ...)
{
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    return gbx_fail(L->error, status, "node \"%s\" (%s): %s", node->name, node->op, message);
}

static gbx_status out_of_memory(loader *L) { return gbx_fail(L->error, GBX_ERR_NOMEM, "out of memory"); }

static const Gbxtf__AttrValue *attr(const Gbxtf__NodeDef *node, const char *name)
{
    for (size_t a = 0; a < node->n_attr; a++)
        if (node->attr[a]->key && strcmp(node->attr[a]->key, name) == 0) return node->attr[a]->value;
    return NULL;
}

static int64_t attr_int(const Gbxtf__NodeDef *node, const char *name, int64_t fallback)
{
    const Gbxtf__AttrValue *a = attr(node, name);
    if (!a) return fallback;
    if (a->value_case == GBXTF__ATTR_VALUE__VALUE_I) return a->i;
    if (a->value_case == GBXTF__ATTR_VALUE__VALUE_B) return a->b;
    if (a->value_case == GBXTF__ATTR_VALUE__VALUE_TYPE) return a->type;
    return fallback;
}

static float attr_float(const Gbxtf__NodeDef *node, const char *name, float fallback)
{
    const Gbxtf__AttrValue *a = attr(node, name);
    return a && a->value_case == GBXTF__ATTR_VALUE__VALUE_F ? a->f : fallback;
}

/* A string attribute (into buffer, cut to its size); fallback when absent. */
static const char *attr_string(const Gbxtf__NodeDef *node, const char *name, char *buffer,
                               size_t size, const char *fallback)
{
    const Gbxtf__AttrValue *a = attr(node, name);
    if (!a || a->value_case != GBXTF__ATTR_VALUE__VALUE_S) return fallback;
    size_t length = a->s.len < size - 1 ? a->s.len : size - 1;
    memcpy(buffer, a->s.data, length);
    buffer[length] = '\0';
    return buffer;
}

/* A list-of-ints attribute; count 0 when absent. */
static const int64_t *attr_ints(const Gbxtf__NodeDef *node, const char *name, size_t *count)
{
    const Gbxtf__AttrValue *a = attr(node, name);
    *count = a && a->value_case == GBXTF__ATTR_VALUE__VALUE_LIST ? a->list->n_i : 0;
    return *count ? a->list->i : NULL;
}

/* ---- engine nodes --------------------------------------------------------------------------- */

/* A fresh value named after the TensorFlow node that makes it. */
static int fresh_value(loader *L, scope *S, const Gbxtf__NodeDef *node)
{
    size_t length = strlen(S->prefix) + strlen(node->name) + 16;
    char *name = malloc(length);
    if (!name) return -1;
    snprintf(name, length, "%s%s#%u", S->prefix, node->name, L->counter++);
    int value = gbx_nn_value(L->graph, name);
    free(name);
    return value;
}

static gbx_nn_attribute *attributes_new(int count) { return gbx_calloc((size_t)count, sizeof(gbx_nn_attribute)); }

static void set_int(gbx_nn_attribute *a, const char *name, int64_t value)
{
    a->name = gbx_strdup(name);
    a->kind = GBX_NN_ATTRIBUTE_INT;
    a->i = value;
}

static void set_ints(gbx_nn_attribute *a, const char *name, const int64_t *values, size_t count)
{
    a->name = gbx_strdup(name);
    a->kind = GBX_NN_ATTRIBUTE_INTS;
    a->ints = gbx_malloc_array(count ? count : 1, sizeof(int64_t));
    if (a->ints && count) memcpy(a->ints, values, count * sizeof(int64_t));
    a->count = count;
}

static void set_float(gbx_nn_attribute *a, const char *name, float value)
{
    a->name = gbx_strdup(name);
    a->kind = GBX_NN_ATTRIBUTE_FLOAT;
    a->f = value;
}

static void set_string(gbx_nn_attribute *a, const char *name, const char *value)
{
    a->name = gbx_strdup(name);
    a->kind = GBX_NN_ATTRIBUTE_STRING;
    a->s = gbx_strdup(value);
}

static void attributes_free(gbx_nn_attribute *attributes, int count)
{
    for (int a = 0; attributes && a < count; a++) gbx_nn_attribute_release(&attributes[a]);
    free(attributes);
}

/* Adds engine operator `op` (taking the attributes) with `output_count` fresh outputs. */
static gbx_status emit_many(loader *L, scope *S, const Gbxtf__NodeDef *node, const char *op,
                            const int *inputs, int input_count, gbx_nn_attribute *attributes,
                            int attribute_count, int *outputs, int output_count)
{
    const gbx_nn_op *engine = gbx_nn_find_op(op);
    for (int o = 0; o < output_count; o++)
        if ((outputs[o] = fresh_value(L, S, node)) < 0) engine = NULL;
    for (int a = 0; a < attribute_count; a++)
        if (!attributes[a].name) engine = NULL;
    if (!engine) {
        attributes_free(attributes, attribute_count);
        return out_of_memory(L);
    }
    size_t length = strlen(S->prefix) + strlen(node->name) + strlen(op) + 2;
    char *name = malloc(length);
    if (!name) {
        attributes_free(attributes, attribute_count);
        return out_of_memory(L);
    }
    snprintf(name, length, "%s%s/%s", S->prefix, node->name, op);
    gbx_status status = gbx_nn_add_node(L->graph, engine, name, inputs, input_count, outputs,
                                        output_count, attributes, attribute_count, L->error);
    free(name);
    /* What constants alone determine is computed now: a loop's counters, a list's indexes. */
    int folded;
    return status == GBX_OK ? gbx_nn_fold_last(L->graph, &folded, L->error) : status;
}

/* The same with one output; returns it, or -1 with the error set. */
static int emit(loader *L, scope *S, const Gbxtf__NodeDef *node, const char *op,
                const int *inputs, int input_count, gbx_nn_attribute *attributes,
                int attribute_count)
{
    int output;
    return emit_many(L, S, node, op, inputs, input_count, attributes, attribute_count, &output, 1)
                   == GBX_OK ? output : -1;
}

/* The same, its output the node's: how most emitters end. */
static gbx_status emit_into(loader *L, scope *S, const Gbxtf__NodeDef *node, const char *op,
                            const int *inputs, int input_count, gbx_nn_attribute *attributes,
                            int attribute_count, ref *out)
{
    out[0].value = emit(L, S, node, op, inputs, input_count, attributes, attribute_count);
    return out[0].value < 0 ? GBX_ERR_PARSE : GBX_OK;
}

/* A new graph constant (tensor taken over); -1 with the error set. */
static int constant(loader *L, scope *S, const Gbxtf__NodeDef *node, gbx_nn_tensor *tensor)
{
    int value = fresh_value(L, S, node);
    if (value < 0) {
        gbx_nn_tensor_release(tensor);
        out_of_memory(L);
        return -1;
    }
    return gbx_nn_set_constant(L->graph, value, tensor, L->error) == GBX_OK ? value : -1;
}

static int int_constant(loader *L, scope *S, const Gbxtf__NodeDef *node, const int64_t *values,
                        size_t count)
{
    gbx_nn_tensor tensor;
    int64_t dims[1] = {(int64_t)count};
    if (gbx_nn_tensor_alloc(&tensor, GBX_NN_INT64, 1, dims, L->error) != GBX_OK) return -1;
    if (count) memcpy(tensor.i, values, count * sizeof(int64_t));
    return constant(L, S, node, &tensor);
}

static int float_constant(loader *L, scope *S, const Gbxtf__NodeDef *node, const float *values,
                          size_t count, int rank)
{
    gbx_nn_tensor tensor;
    int64_t dims[1] = {(int64_t)count};
    if (gbx_nn_tensor_alloc(&tensor, GBX_NN_FLOAT, rank, dims, L->error) != GBX_OK) return -1;
    memcpy(tensor.f, values, count * sizeof(float));
    return constant(L, S, node, &tensor);
}

/* Input i as a graph value (not a variable's handle). */
static gbx_status value_of(loader *L, const Gbxtf__NodeDef *node, const ref *in, int n, int i,
                           int *value)
{
    if (i >= n) return fail_node(L, node, GBX_ERR_PARSE, "input %d is missing", i);
    if (in[i].value < 0)
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, in[i].variable >= 0
                         ? "input %d is a variable's handle where a tensor is read"
                         : in[i].list >= 0 ? "input %d is a tensor list where a tensor is read"
                         : "input %d is an output glassbox does not compute", i);
    *value = in[i].value;
    return GBX_OK;
}

/* Input i's values as integers, where the graph holds it as a constant (axes, perms, sizes). */
static gbx_status constant_ints(loader *L, const Gbxtf__NodeDef *node, const ref *in, int n,
                                int i, int64_t *values, size_t capacity, size_t *count)
{
    int value = -1;
    gbx_status status = value_of(L, node, in, n, i, &value);
    if (status != GBX_OK) return status;
    const gbx_nn_tensor *t = L->graph->is_constant[value] ? &L->graph->constants[value] : NULL;
    if (!t || t->type != GBX_NN_INT64)
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "input %d must be a constant list of "
                         "integers", i);
    if (t->count > capacity)
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "input %d holds %zu values (at most %zu)",
                         i, t->count, capacity);
    memcpy(values, t->i, t->count * sizeof(int64_t));
    *count = t->count;
    return GBX_OK;
}

static const gbx_nn_tensor *constant_floats(loader *L, const ref *r)
{
    return r->value >= 0 && L->graph->is_constant[r->value] &&
           L->graph->constants[r->value].type == GBX_NN_FLOAT ? &L->graph->constants[r->value] : NULL;
}

/* ---- tensors from the file -------------------------------------------------------------------- */

/* Element j of a TensorProto's values: tensor_content (raw little-endian) when present, else
 * the typed list, whose last value repeats where the list is shorter than the shape (how
 * TensorFlow stores a splat). */
static double proto_element(const Gbxtf__TensorProto *p, size_t j, int *ok)
{
    size_t n;
#define LISTED(field) (n = p->n_##field, n ? (double)p->field[j < n ? j : n - 1] : 0.0)
    if (p->tensor_content.len) {
        const uint8_t *raw = p->tensor_content.data;
        switch (p->dtype) {
        case DT_FLOAT: { float v; memcpy(&v, raw + 4 * j, 4); return v; }
        case DT_DOUBLE: { double v; memcpy(&v, raw + 8 * j, 8); return v; }
        case DT_INT32: { int32_t v; memcpy(&v, raw + 4 * j, 4); return v; }
        case DT_INT64: { int64_t v; memcpy(&v, raw + 8 * j, 8); return (double)v; }
        case DT_INT16: { int16_t v; memcpy(&v, raw + 2 * j, 2); return v; }
        case DT_BOOL: case DT_UINT8: return raw[j];
        case DT_INT8: return (int8_t)raw[j];
        default: *ok = 0; return 0;
        }
    }
    switch (p->dtype) {
    case DT_FLOAT: return LISTED(float_val);
    case DT_DOUBLE: return LISTED(double_val);
    case DT_INT32: case DT_UINT8: case DT_INT8: case DT_INT16: return LISTED(int_val);
    case DT_INT64: return LISTED(int64_val);
    case DT_BOOL: return LISTED(bool_val);
    default: *ok = 0; return 0;
    }
#undef LISTED
}

static size_t proto_element_size(int dtype)
{
    switch (dtype) {
    case DT_FLOAT: case DT_INT32: return 4;
    case DT_DOUBLE: case DT_INT64: return 8;
    case DT_INT16: return 2;
    default: return 1;
    }
}

/* A Const's tensor; int64 values go through int64 directly (no rounding through double). */
static gbx_status proto_tensor(loader *L, const Gbxtf__NodeDef *node,
                               const Gbxtf__TensorProto *p, gbx_nn_tensor *tensor)
{
    int64_t dims[GBX_NN_MAX_RANK];
    size_t rank = p->tensor_shape ? p->tensor_shape->n_dim : 0, count = 1;
    if (rank > GBX_NN_MAX_RANK)
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "a constant of rank %zu", rank);
    for (size_t d = 0; d < rank; d++) {
        int64_t size = p->tensor_shape->dim[d]->size;
        if (size < 0 || (uint64_t)size > GBX_NN_MAX_VALUES ||
            (size && count > GBX_NN_MAX_VALUES / (size_t)size))
            return fail_node(L, node, GBX_ERR_PARSE, "a constant with a bad or too large shape");
        dims[d] = size;
        count *= (size_t)size;
    }
    int floating = p->dtype == DT_FLOAT || p->dtype == DT_DOUBLE;
    int known = floating || p->dtype == DT_INT32 || p->dtype == DT_INT64 || p->dtype == DT_BOOL ||
                p->dtype == DT_UINT8 || p->dtype == DT_INT8 || p->dtype == DT_INT16;
    if (!known)
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "a constant of TensorFlow type %d",
                         p->dtype);
    if (p->tensor_content.len && p->tensor_content.len != count * proto_element_size(p->dtype))
        return fail_node(L, node, GBX_ERR_PARSE, "a constant holds %zu bytes for %zu values",
                         p->tensor_content.len, count);
    gbx_status status = gbx_nn_tensor_alloc(tensor, floating ? GBX_NN_FLOAT : GBX_NN_INT64,
                                            (int)rank, dims, L->error);
    int ok = 1;
    for (size_t j = 0; status == GBX_OK && j < count; j++) {
        if (floating) tensor->f[j] = (float)proto_element(p, j, &ok);
        else if (p->dtype == DT_INT64 && !p->tensor_content.len)
            tensor->i[j] = p->n_int64_val ? p->int64_val[j < p->n_int64_val ? j : p->n_int64_val - 1] : 0;
        else if (p->dtype == DT_INT64) memcpy(&tensor->i[j], p->tensor_content.data + 8 * j, 8);
        else tensor->i[j] = (int64_t)proto_element(p, j, &ok);
    }
    if (status == GBX_OK && !ok) {
        gbx_nn_tensor_release(tensor);
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "a constant of TensorFlow type %d",
                         p->dtype);
    }
    return status;
}

/* ---- operators: one emitter per family ------------------------------------------------------ */

/* Operators the engine has under another name, with the same inputs. */
static gbx_status emit_same(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                            const ref *in, int n, ref *out, int *out_count)
{
    (void)out_count;
    int values[GBX_NN_MAX_INPUTS];
    for (int i = 0; i < n; i++) {
        gbx_status status = value_of(L, node, in, n, i, &values[i]);
        if (status != GBX_OK) return status;
    }
    return emit_into(L, S, node, op->engine, values, n, NULL, 0, out);
}

/* Identity and its kin pass their inputs through; NoOp gives nothing. */
static gbx_status emit_pass(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                            const ref *in, int n, ref *out, int *out_count)
{
    (void)L, (void)S, (void)node, (void)op;
    memcpy(out, in, (size_t)n * sizeof *in);
    *out_count = n;
    return GBX_OK;
}

static gbx_status emit_const(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                             const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)in, (void)n, (void)out_count;
    const Gbxtf__AttrValue *a = attr(node, "value");
    if (!a || a->value_case != GBXTF__ATTR_VALUE__VALUE_TENSOR)
        return fail_node(L, node, GBX_ERR_PARSE, "a constant without a value");
    if (a->tensor->dtype == DT_STRING) { /* names and paths: nothing a network computes with */
        out[0].value = -1;
        return GBX_OK;
    }
    gbx_nn_tensor tensor;
    gbx_status status = proto_tensor(L, node, a->tensor, &tensor);
    if (status != GBX_OK) return status;
    out[0].value = constant(L, S, node, &tensor);
    return out[0].value < 0 ? GBX_ERR_NOMEM : GBX_OK;
}

static gbx_status emit_placeholder(loader *L, scope *S, const Gbxtf__NodeDef *node,
                                   const tf_op *op, const ref *in, int n, ref *out,
                                   int *out_count)
{
    (void)S, (void)op, (void)in, (void)n, (void)out_count;
    if (S->depth > 0 || strcmp(node->name, L->input_node) != 0)
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "the graph reads an input the serving "
                         "signature does not feed");
    out[0].value = L->graph->input;
    if (L->input_type == DT_FLOAT || L->input_type == DT_DOUBLE) return GBX_OK;
    /* Token ids and other integer inputs arrive as numbers. */
    gbx_nn_attribute *to = attributes_new(1);
    if (!to) return out_of_memory(L);
    set_int(&to[0], "to", L->input_type == DT_BOOL ? ONNX_BOOL : ONNX_INT64);
    return emit_into(L, S, node, "Cast", &L->graph->input, 1, to, 1, out);
}

static gbx_status emit_var_handle(loader *L, scope *S, const Gbxtf__NodeDef *node,
                                  const tf_op *op, const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)in, (void)n, (void)out_count;
    const slot *s = S->depth == 0 ? table_find(&L->handles, node->name, strlen(node->name)) : NULL;
    if (!s)
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "a variable no function of the "
                         "SavedModel's object graph captures (a TensorFlow 1 SavedModel?)");
    out[0] = (ref){-1, s->first, -1};
    return GBX_OK;
}

/* A variable's value, read from the bundle once and kept as a graph constant. */
static gbx_status variable_value(loader *L, const Gbxtf__NodeDef *node, int index, int *value)
{
    variable *v = &L->variables[index];
    if (v->value < 0) {
        if (!L->bundle)
            return fail_node(L, node, GBX_ERR_PARSE, "reads variable %s, but the SavedModel has "
                             "no variables/variables.index", v->key);
        gbx_nn_tensor tensor;
        gbx_status status = gbx_tensor_bundle_read(L->bundle, v->key, &tensor, L->error);
        if (status != GBX_OK) return status;
        int slot_value = gbx_nn_value(L->graph, v->key);
        if (slot_value < 0) {
            gbx_nn_tensor_release(&tensor);
            return out_of_memory(L);
        }
        if ((status = gbx_nn_set_constant(L->graph, slot_value, &tensor, L->error)) != GBX_OK)
            return status;
        v->value = slot_value;
    }
    *value = v->value;
    return GBX_OK;
}

static gbx_status emit_read_variable(loader *L, scope *S, const Gbxtf__NodeDef *node,
                                     const tf_op *op, const ref *in, int n, ref *out,
                                     int *out_count)
{
    (void)S, (void)op, (void)out_count;
    if (n < 1 || in[0].variable < 0)
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "reads something other than a variable");
    return variable_value(L, node, in[0].variable, &out[0].value);
}

/* An embedding lookup straight from a variable: Gather on axis 0. */
static gbx_status emit_resource_gather(loader *L, scope *S, const Gbxtf__NodeDef *node,
                                       const tf_op *op, const ref *in, int n, ref *out,
                                       int *out_count)
{
    (void)op, (void)out_count;
    int values[2] = {-1, -1};
    gbx_status status = n == 2 && in[0].variable >= 0
        ? variable_value(L, node, in[0].variable, &values[0])
        : fail_node(L, node, GBX_ERR_UNSUPPORTED, "gathers from something other than a variable");
    if (status == GBX_OK) status = value_of(L, node, in, n, 1, &values[1]);
    if (status == GBX_OK && attr_int(node, "batch_dims", 0) != 0)
        status = fail_node(L, node, GBX_ERR_UNSUPPORTED, "batch_dims other than 0");
    if (status != GBX_OK) return status;
    return emit_into(L, S, node, "Gather", values, 2, NULL, 0, out);
}

static gbx_status translate_call(loader *L, scope *S, const Gbxtf__NodeDef *node,
                                 const char *function, const ref *in, int n, ref *out,
                                 int *out_count);

static gbx_status emit_call(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                            const ref *in, int n, ref *out, int *out_count)
{
    (void)op;
    const Gbxtf__AttrValue *f = attr(node, "f");
    if (!f || f->value_case != GBXTF__ATTR_VALUE__VALUE_FUNC || !f->func->name)
        return fail_node(L, node, GBX_ERR_PARSE, "a call without a function");
    return translate_call(L, S, node, f->func->name, in, n, out, out_count);
}

/* A single attribute naming the axis TensorFlow always uses (the last). */
static gbx_status emit_last_axis(loader *L, scope *S, const Gbxtf__NodeDef *node,
                                 const tf_op *op, const ref *in, int n, ref *out, int *out_count)
{
    (void)out_count;
    int value = -1;
    gbx_status status = value_of(L, node, in, n, 0, &value);
    gbx_nn_attribute *axis = status == GBX_OK ? attributes_new(1) : NULL;
    if (status != GBX_OK) return status;
    if (!axis) return out_of_memory(L);
    set_int(&axis[0], "axis", -1);
    return emit_into(L, S, node, op->engine, &value, 1, axis, 1, out);
}

static gbx_status emit_leaky_relu(loader *L, scope *S, const Gbxtf__NodeDef *node,
                                  const tf_op *op, const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    int value = -1;
    gbx_status status = value_of(L, node, in, n, 0, &value);
    gbx_nn_attribute *alpha = status == GBX_OK ? attributes_new(1) : NULL;
    if (status != GBX_OK) return status;
    if (!alpha) return out_of_memory(L);
    set_float(&alpha[0], "alpha", attr_float(node, "alpha", 0.2f));
    return emit_into(L, S, node, "LeakyRelu", &value, 1, alpha, 1, out);
}

/* Relu6: Clip between constant bounds. */
static gbx_status emit_relu6(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                             const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    static const float low = 0.0f, high = 6.0f;
    int values[3];
    gbx_status status = value_of(L, node, in, n, 0, &values[0]);
    if (status != GBX_OK) return status;
    if ((values[1] = float_constant(L, S, node, &low, 1, 0)) < 0 ||
        (values[2] = float_constant(L, S, node, &high, 1, 0)) < 0)
        return GBX_ERR_NOMEM;
    return emit_into(L, S, node, "Clip", values, 3, NULL, 0, out);
}

/* Rsqrt, Square, SquaredDifference: two engine steps each. */
static gbx_status emit_rsqrt(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                             const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    int value = -1;
    gbx_status status = value_of(L, node, in, n, 0, &value);
    if (status != GBX_OK) return status;
    int root = emit(L, S, node, "Sqrt", &value, 1, NULL, 0);
    out[0].value = root < 0 ? -1 : emit(L, S, node, "Reciprocal", &root, 1, NULL, 0);
    return out[0].value < 0 ? GBX_ERR_PARSE : GBX_OK;
}

static gbx_status emit_square(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                              const ref *in, int n, ref *out, int *out_count)
{
    (void)out_count;
    int values[2] = {-1, -1};
    gbx_status status = value_of(L, node, in, n, 0, &values[0]);
    if (status == GBX_OK && strcmp(op->name, "SquaredDifference") == 0) {
        status = value_of(L, node, in, n, 1, &values[1]);
        if (status == GBX_OK && (values[0] = emit(L, S, node, "Sub", values, 2, NULL, 0)) < 0)
            status = GBX_ERR_PARSE;
    }
    if (status != GBX_OK) return status;
    values[1] = values[0];
    return emit_into(L, S, node, "Mul", values, 2, NULL, 0, out);
}

static gbx_status emit_add_n(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                             const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    int sum;
    gbx_status status = value_of(L, node, in, n, 0, &sum);
    for (int i = 1; status == GBX_OK && i < n; i++) {
        int pair[2] = {sum, -1};
        status = value_of(L, node, in, n, i, &pair[1]);
        if (status == GBX_OK && (sum = emit(L, S, node, "Add", pair, 2, NULL, 0)) < 0)
            status = GBX_ERR_PARSE;
    }
    out[0].value = sum;
    return status;
}

/* Swaps a rank-2 value's axes (MatMul's transpose_a / transpose_b). */
static int swap_axes(loader *L, scope *S, const Gbxtf__NodeDef *node, int value)
{
    static const int64_t perm[2] = {1, 0};
    gbx_nn_attribute *a = attributes_new(1);
    if (!a) return out_of_memory(L), -1;
    set_ints(&a[0], "perm", perm, 2);
    return emit(L, S, node, "Transpose", &value, 1, a, 1);
}

static gbx_status emit_matmul(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                              const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    int values[2] = {-1, -1};
    gbx_status status = value_of(L, node, in, n, 0, &values[0]);
    if (status == GBX_OK) status = value_of(L, node, in, n, 1, &values[1]);
    if (status != GBX_OK) return status;
    static const char *const flags[2][2] = {{"transpose_a", "transpose_b"}, {"adj_x", "adj_y"}};
    int batched = strcmp(node->op, "MatMul") != 0;
    for (int i = 0; i < 2; i++) {
        if (!attr_int(node, flags[batched][i], 0)) continue;
        if (batched)
            return fail_node(L, node, GBX_ERR_UNSUPPORTED, "%s (a transposed batch product)",
                             flags[1][i]);
        if ((values[i] = swap_axes(L, S, node, values[i])) < 0) return GBX_ERR_PARSE;
    }
    return emit_into(L, S, node, "MatMul", values, 2, NULL, 0, out);
}

static gbx_status check_channels_last(loader *L, const Gbxtf__NodeDef *node)
{
    char buffer[16];
    const char *format = attr_string(node, "data_format", buffer, sizeof buffer, "NHWC");
    if (strcmp(format, "NHWC") != 0 && strcmp(format, "NWC") != 0 && strcmp(format, "NDHWC") != 0)
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "data_format %s (glassbox reads "
                         "channels-last graphs, as TensorFlow runs them on a CPU)", format);
    return GBX_OK;
}

static gbx_status emit_bias_add(loader *L, scope *S, const Gbxtf__NodeDef *node,
                                const tf_op *op, const ref *in, int n, ref *out, int *out_count)
{
    gbx_status status = check_channels_last(L, node);
    return status == GBX_OK ? emit_same(L, S, node, op, in, n, out, out_count) : status;
}

/* Channels-last [N, spatial..., C] <-> the engine's channels-first [N, C, spatial...], for
 * `spatial` dimensions. */
static void channel_permutations(int spatial, int64_t *to_first, int64_t *to_last)
{
    to_first[0] = to_last[0] = 0;
    to_first[1] = spatial + 1;
    for (int d = 0; d < spatial; d++) {
        to_first[2 + d] = 1 + d;
        to_last[1 + d] = 2 + d;
    }
    to_last[spatial + 1] = 1;
}

static int permute(loader *L, scope *S, const Gbxtf__NodeDef *node, int value, const int64_t *perm,
                   int rank)
{
    gbx_nn_attribute *a = attributes_new(1);
    if (!a) return out_of_memory(L), -1;
    set_ints(&a[0], "perm", perm, (size_t)rank);
    return emit(L, S, node, "Transpose", &value, 1, a, 1);
}

/* The spatial dimensions an operator works over: 3 for its 3D forms, else 2. */
static int spatial_of(const Gbxtf__NodeDef *node) { return strstr(node->op, "3D") ? 3 : 2; }

/* The window attributes TensorFlow gives as [1, spatial..., 1] lists: strides, dilations,
 * ksize (absent: ones). */
static gbx_status spatial_list(loader *L, const Gbxtf__NodeDef *node, const char *name,
                               int spatial, int64_t *values)
{
    size_t count;
    const int64_t *given = attr_ints(node, name, &count);
    for (int d = 0; d < spatial; d++) values[d] = count ? given[1 + d] : 1;
    if (!count) return GBX_OK;
    if (count != (size_t)spatial + 2 || given[0] != 1 || given[spatial + 1] != 1)
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "%s must be [1, %s, 1]", name,
                         spatial == 3 ? "d, h, w" : "h, w");
    for (int d = 0; d < spatial; d++)
        if (values[d] < 1) return fail_node(L, node, GBX_ERR_PARSE, "%s below 1", name);
    return GBX_OK;
}

/* padding SAME (the engine's SAME_UPPER, as TensorFlow pads the end more), VALID, or EXPLICIT
 * ([0, 0, top, bottom, left, right, 0, 0] in explicit_paddings). */
static gbx_status padding_attribute(loader *L, const Gbxtf__NodeDef *node, gbx_nn_attribute *a)
{
    char buffer[16];
    const char *padding = attr_string(node, "padding", buffer, sizeof buffer, "VALID");
    if (strcmp(padding, "SAME") == 0 || strcmp(padding, "VALID") == 0) {
        set_string(a, "auto_pad", strcmp(padding, "SAME") == 0 ? "SAME_UPPER" : "VALID");
        return GBX_OK;
    }
    size_t count;
    const int64_t *explicit_pads = attr_ints(node, "explicit_paddings", &count);
    if (strcmp(padding, "EXPLICIT") != 0 || count != 8)
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "padding %s", padding);
    int64_t pads[4] = {explicit_pads[2], explicit_pads[4], explicit_pads[3], explicit_pads[5]};
    set_ints(a, "pads", pads, 4);
    return GBX_OK;
}

/* A kernel [spatial..., in, out] (DepthwiseConv2dNative's [h, w, in, multiplier]) as the
 * engine's [out, in / group, spatial...]. */
static int reorder_kernel(loader *L, scope *S, const Gbxtf__NodeDef *node,
                          const gbx_nn_tensor *kernel, int spatial, int depthwise)
{
    int64_t c = kernel->dims[spatial], m = kernel->dims[spatial + 1], window = 1;
    int64_t dims[5] = {depthwise ? c * m : m, depthwise ? 1 : c};
    for (int d = 0; d < spatial; d++) {
        dims[2 + d] = kernel->dims[d];
        window *= kernel->dims[d];
    }
    gbx_nn_tensor reordered;
    if (gbx_nn_tensor_alloc(&reordered, GBX_NN_FLOAT, spatial + 2, dims, L->error) != GBX_OK) return -1;
    for (int64_t w = 0; w < window; w++)
        for (int64_t i = 0; i < c; i++)
            for (int64_t o = 0; o < m; o++) {
                size_t at = depthwise ? (size_t)((i * m + o) * window + w)
                                      : (size_t)((o * c + i) * window + w);
                reordered.f[at] = kernel->f[(w * c + i) * m + o];
            }
    return constant(L, S, node, &reordered);
}

/* Conv2D, Conv3D, DepthwiseConv2dNative: channels first inside a pair of transposes. A kernel
 * with fewer input channels than the data has is a grouped convolution. */
static gbx_status emit_conv(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                            const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    int depthwise = strcmp(node->op, "DepthwiseConv2dNative") == 0, x = -1;
    int spatial = spatial_of(node);
    gbx_status status = check_channels_last(L, node);
    if (status == GBX_OK) status = value_of(L, node, in, n, 0, &x);
    const gbx_nn_tensor *kernel = n > 1 ? constant_floats(L, &in[1]) : NULL;
    if (status == GBX_OK && (!kernel || kernel->rank != spatial + 2))
        status = fail_node(L, node, GBX_ERR_UNSUPPORTED, "the kernel must be a constant "
                           "(a variable) of rank %d", spatial + 2);
    int64_t strides[3], dilations[3], window[3], to_first[5], to_last[5];
    if (status == GBX_OK) status = spatial_list(L, node, "strides", spatial, strides);
    if (status == GBX_OK) status = spatial_list(L, node, "dilations", spatial, dilations);
    gbx_nn_attribute *a = status == GBX_OK ? attributes_new(5) : NULL;
    if (status != GBX_OK) return status;
    if (!a) return out_of_memory(L);
    int count = 0;
    if ((status = padding_attribute(L, node, &a[count++])) != GBX_OK) {
        attributes_free(a, count);
        return status;
    }
    for (int d = 0; d < spatial; d++) window[d] = kernel->dims[d];
    set_ints(&a[count++], "strides", strides, (size_t)spatial);
    set_ints(&a[count++], "dilations", dilations, (size_t)spatial);
    set_ints(&a[count++], "kernel_shape", window, (size_t)spatial);
    if (depthwise) set_int(&a[count++], "group", kernel->dims[spatial]);
    channel_permutations(spatial, to_first, to_last);
    int inputs[2] = {permute(L, S, node, x, to_first, spatial + 2),
                     reorder_kernel(L, S, node, kernel, spatial, depthwise)};
    if (inputs[0] < 0 || inputs[1] < 0) {
        attributes_free(a, count);
        return GBX_ERR_PARSE;
    }
    int convolved = emit(L, S, node, "Conv", inputs, 2, a, count);
    out[0].value = convolved < 0 ? -1 : permute(L, S, node, convolved, to_last, spatial + 2);
    return out[0].value < 0 ? GBX_ERR_PARSE : GBX_OK;
}

/* MaxPool, AvgPool and their 3D forms. */
static gbx_status emit_pool(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                            const ref *in, int n, ref *out, int *out_count)
{
    (void)out_count;
    int x = -1, spatial = spatial_of(node);
    int64_t strides[3], window[3], to_first[5], to_last[5];
    gbx_status status = check_channels_last(L, node);
    if (status == GBX_OK) status = value_of(L, node, in, n, 0, &x);
    if (status == GBX_OK) status = spatial_list(L, node, "strides", spatial, strides);
    if (status == GBX_OK) status = spatial_list(L, node, "ksize", spatial, window);
    gbx_nn_attribute *a = status == GBX_OK ? attributes_new(3) : NULL;
    if (status != GBX_OK) return status;
    if (!a) return out_of_memory(L);
    if ((status = padding_attribute(L, node, &a[0])) != GBX_OK) {
        attributes_free(a, 1);
        return status;
    }
    set_ints(&a[1], "strides", strides, (size_t)spatial);
    set_ints(&a[2], "kernel_shape", window, (size_t)spatial);
    channel_permutations(spatial, to_first, to_last);
    int first = permute(L, S, node, x, to_first, spatial + 2);
    if (first < 0) {
        attributes_free(a, 3);
        return GBX_ERR_PARSE;
    }
    int pooled = emit(L, S, node, op->engine, &first, 1, a, 3);
    out[0].value = pooled < 0 ? -1 : permute(L, S, node, pooled, to_last, spatial + 2);
    return out[0].value < 0 ? GBX_ERR_PARSE : GBX_OK;
}

/* Mean and Sum over constant axes. */
static gbx_status emit_reduce(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                              const ref *in, int n, ref *out, int *out_count)
{
    (void)out_count;
    int x = -1;
    int64_t axes[GBX_NN_MAX_RANK];
    size_t count;
    gbx_status status = value_of(L, node, in, n, 0, &x);
    if (status == GBX_OK) status = constant_ints(L, node, in, n, 1, axes, GBX_NN_MAX_RANK, &count);
    gbx_nn_attribute *a = status == GBX_OK ? attributes_new(2) : NULL;
    if (status != GBX_OK) return status;
    if (!a) return out_of_memory(L);
    set_ints(&a[0], "axes", axes, count);
    set_int(&a[1], "keepdims", attr_int(node, "keep_dims", 0));
    return emit_into(L, S, node, op->engine, &x, 1, a, 2, out);
}

/* TensorFlow's Reshape takes a 0 in the shape literally. */
static gbx_status emit_reshape(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                               const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    int values[2] = {-1, -1};
    gbx_status status = value_of(L, node, in, n, 0, &values[0]);
    if (status == GBX_OK) status = value_of(L, node, in, n, 1, &values[1]);
    gbx_nn_attribute *a = status == GBX_OK ? attributes_new(1) : NULL;
    if (status != GBX_OK) return status;
    if (!a) return out_of_memory(L);
    set_int(&a[0], "allowzero", 1);
    return emit_into(L, S, node, "Reshape", values, 2, a, 1, out);
}

static gbx_status emit_transpose(loader *L, scope *S, const Gbxtf__NodeDef *node,
                                 const tf_op *op, const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    int x = -1;
    int64_t perm[GBX_NN_MAX_RANK];
    size_t count;
    gbx_status status = value_of(L, node, in, n, 0, &x);
    if (status == GBX_OK) status = constant_ints(L, node, in, n, 1, perm, GBX_NN_MAX_RANK, &count);
    gbx_nn_attribute *a = status == GBX_OK ? attributes_new(1) : NULL;
    if (status != GBX_OK) return status;
    if (!a) return out_of_memory(L);
    set_ints(&a[0], "perm", perm, count);
    return emit_into(L, S, node, "Transpose", &x, 1, a, 1, out);
}

/* Squeeze's dimensions are an attribute (none: every dimension of size 1). */
static gbx_status emit_squeeze(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                               const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    int x = -1;
    size_t count;
    const int64_t *axes = attr_ints(node, "squeeze_dims", &count);
    gbx_status status = value_of(L, node, in, n, 0, &x);
    gbx_nn_attribute *a = status == GBX_OK && count ? attributes_new(1) : NULL;
    if (status != GBX_OK) return status;
    if (count && !a) return out_of_memory(L);
    if (count) set_ints(&a[0], "axes", axes, count);
    return emit_into(L, S, node, "Squeeze", &x, 1, a, count ? 1 : 0, out);
}

/* Axes as an attribute, for the engine's Squeeze and Unsqueeze. */
static int reshape_axes(loader *L, scope *S, const Gbxtf__NodeDef *node, const char *op, int x,
                        const int64_t *axes, size_t count)
{
    gbx_nn_attribute *a = attributes_new(1);
    if (!a) return out_of_memory(L), -1;
    set_ints(&a[0], "axes", axes, count);
    return emit(L, S, node, op, &x, 1, a, 1);
}

static gbx_status emit_expand_dims(loader *L, scope *S, const Gbxtf__NodeDef *node,
                                   const tf_op *op, const ref *in, int n, ref *out,
                                   int *out_count)
{
    (void)op, (void)out_count;
    int x = -1;
    int64_t axis[1];
    size_t count;
    gbx_status status = value_of(L, node, in, n, 0, &x);
    if (status == GBX_OK) status = constant_ints(L, node, in, n, 1, axis, 1, &count);
    if (status == GBX_OK && count != 1)
        status = fail_node(L, node, GBX_ERR_PARSE, "the axis must be one number");
    if (status != GBX_OK) return status;
    out[0].value = reshape_axes(L, S, node, "Unsqueeze", x, axis, 1);
    return out[0].value < 0 ? GBX_ERR_PARSE : GBX_OK;
}

/* A Slice node over constant starts / ends / axes / steps. */
static int slice(loader *L, scope *S, const Gbxtf__NodeDef *node, int x, const int64_t *starts,
                 const int64_t *ends, const int64_t *axes, const int64_t *steps, size_t count)
{
    int inputs[5] = {x, int_constant(L, S, node, starts, count),
                     int_constant(L, S, node, ends, count), int_constant(L, S, node, axes, count),
                     int_constant(L, S, node, steps, count)};
    for (int i = 1; i < 5; i++)
        if (inputs[i] < 0) return -1;
    return emit(L, S, node, "Slice", inputs, 5, NULL, 0);
}

/* StridedSlice with constant bounds: a Slice over the ranges that cut, then a Squeeze of the
 * shrunk axes and an Unsqueeze of the new ones. An ellipsis is read as the last entry (the
 * remaining dimensions whole), which is where Keras puts it. */
static gbx_status emit_strided_slice(loader *L, scope *S, const Gbxtf__NodeDef *node,
                                     const tf_op *op, const ref *in, int n, ref *out,
                                     int *out_count)
{
    (void)op, (void)out_count;
    int x = -1;
    int64_t begin[GBX_NN_MAX_RANK], end[GBX_NN_MAX_RANK], stride[GBX_NN_MAX_RANK];
    size_t count, end_count, stride_count;
    gbx_status status = value_of(L, node, in, n, 0, &x);
    if (status == GBX_OK) status = constant_ints(L, node, in, n, 1, begin, GBX_NN_MAX_RANK, &count);
    if (status == GBX_OK) status = constant_ints(L, node, in, n, 2, end, GBX_NN_MAX_RANK, &end_count);
    if (status == GBX_OK)
        status = constant_ints(L, node, in, n, 3, stride, GBX_NN_MAX_RANK, &stride_count);
    if (status == GBX_OK && (end_count != count || stride_count != count))
        status = fail_node(L, node, GBX_ERR_PARSE, "begin, end and strides differ in length");
    if (status != GBX_OK) return status;
    int64_t begin_mask = attr_int(node, "begin_mask", 0), end_mask = attr_int(node, "end_mask", 0);
    int64_t ellipsis = attr_int(node, "ellipsis_mask", 0), added = attr_int(node, "new_axis_mask", 0);
    int64_t shrink = attr_int(node, "shrink_axis_mask", 0);
    int64_t starts[GBX_NN_MAX_RANK], ends[GBX_NN_MAX_RANK], axes[GBX_NN_MAX_RANK],
        steps[GBX_NN_MAX_RANK], squeezed[GBX_NN_MAX_RANK], unsqueezed[GBX_NN_MAX_RANK];
    size_t cuts = 0, squeezes = 0, unsqueezes = 0;
    int64_t dim = 0, position = 0; /* in the input; in the output */
    for (size_t i = 0; i < count; i++) {
        int64_t bit = (int64_t)1 << i;
        if (ellipsis & bit) {
            if (i + 1 != count)
                return fail_node(L, node, GBX_ERR_UNSUPPORTED, "an ellipsis before other ranges");
            break;
        }
        if (added & bit) {
            if (shrink) return fail_node(L, node, GBX_ERR_UNSUPPORTED, "new and shrunk axes together");
            unsqueezed[unsqueezes++] = position++;
            continue;
        }
        if (stride[i] == 0) return fail_node(L, node, GBX_ERR_PARSE, "a stride of 0");
        int forward = stride[i] > 0;
        int64_t b = begin_mask & bit ? (forward ? 0 : INT64_MAX) : begin[i];
        int64_t e = end_mask & bit ? (forward ? INT64_MAX : INT64_MIN) : end[i];
        if (shrink & bit) {
            b = begin[i];
            e = b == -1 ? INT64_MAX : b + 1;
            squeezed[squeezes++] = dim;
            stride[i] = 1;
        } else {
            position++;
        }
        if (!(b == 0 && e == INT64_MAX && stride[i] == 1)) {
            starts[cuts] = b;
            ends[cuts] = e;
            axes[cuts] = dim;
            steps[cuts++] = stride[i];
        }
        dim++;
    }
    int value = x;
    if (cuts && (value = slice(L, S, node, value, starts, ends, axes, steps, cuts)) < 0)
        return GBX_ERR_PARSE;
    if (squeezes && (value = reshape_axes(L, S, node, "Squeeze", value, squeezed, squeezes)) < 0)
        return GBX_ERR_PARSE;
    if (unsqueezes &&
        (value = reshape_axes(L, S, node, "Unsqueeze", value, unsqueezed, unsqueezes)) < 0)
        return GBX_ERR_PARSE;
    out[0].value = value; /* x itself where nothing is cut */
    return GBX_OK;
}

/* Slice(x, begin, size): size -1 runs to the end. */
static gbx_status emit_slice(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                             const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    int x = -1;
    int64_t begin[GBX_NN_MAX_RANK], size[GBX_NN_MAX_RANK], axes[GBX_NN_MAX_RANK],
        ends[GBX_NN_MAX_RANK], steps[GBX_NN_MAX_RANK];
    size_t count, size_count;
    gbx_status status = value_of(L, node, in, n, 0, &x);
    if (status == GBX_OK) status = constant_ints(L, node, in, n, 1, begin, GBX_NN_MAX_RANK, &count);
    if (status == GBX_OK) status = constant_ints(L, node, in, n, 2, size, GBX_NN_MAX_RANK, &size_count);
    if (status == GBX_OK && size_count != count)
        status = fail_node(L, node, GBX_ERR_PARSE, "begin and size differ in length");
    for (size_t d = 0; status == GBX_OK && d < count; d++) {
        if (begin[d] < 0 || size[d] < -1 || begin[d] > INT64_MAX / 2 || size[d] > INT64_MAX / 2)
            status = fail_node(L, node, GBX_ERR_PARSE, "a bad begin or size");
        axes[d] = (int64_t)d;
        steps[d] = 1;
        ends[d] = size[d] == -1 ? INT64_MAX : begin[d] + size[d];
    }
    if (status != GBX_OK) return status;
    out[0].value = slice(L, S, node, x, begin, ends, axes, steps, count);
    return out[0].value < 0 ? GBX_ERR_PARSE : GBX_OK;
}

static gbx_status concatenate(loader *L, scope *S, const Gbxtf__NodeDef *node, const int *values,
                              int count, int64_t axis, int *output)
{
    gbx_nn_attribute *a = attributes_new(1);
    if (!a) return out_of_memory(L);
    set_int(&a[0], "axis", axis);
    *output = emit(L, S, node, "Concat", values, count, a, 1);
    return *output < 0 ? GBX_ERR_PARSE : GBX_OK;
}

/* Pack: each input gains the axis, then they are joined along it. */
static gbx_status emit_pack(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                            const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    int64_t axis = attr_int(node, "axis", 0);
    int values[GBX_NN_MAX_INPUTS];
    for (int i = 0; i < n; i++) {
        gbx_status status = value_of(L, node, in, n, i, &values[i]);
        if (status != GBX_OK) return status;
        if ((values[i] = reshape_axes(L, S, node, "Unsqueeze", values[i], &axis, 1)) < 0)
            return GBX_ERR_PARSE;
    }
    if (n == 1) {
        out[0].value = values[0];
        return GBX_OK;
    }
    return concatenate(L, S, node, values, n, axis, &out[0].value);
}

/* Unpack: Split into `num` parts along the axis, each squeezed. */
static gbx_status emit_unpack(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                              const ref *in, int n, ref *out, int *out_count)
{
    (void)op;
    int64_t parts = attr_int(node, "num", 0), axis = attr_int(node, "axis", 0);
    int x = -1;
    gbx_status status = value_of(L, node, in, n, 0, &x);
    if (status == GBX_OK && (parts < 1 || parts > GBX_NN_MAX_OUTPUTS))
        status = fail_node(L, node, GBX_ERR_UNSUPPORTED, "%lld parts (1 to %d)", (long long)parts,
                           GBX_NN_MAX_OUTPUTS);
    gbx_nn_attribute *a = status == GBX_OK ? attributes_new(1) : NULL;
    if (status != GBX_OK) return status;
    if (!a) return out_of_memory(L);
    set_int(&a[0], "axis", axis);
    int split[GBX_NN_MAX_OUTPUTS];
    status = emit_many(L, S, node, "Split", &x, 1, a, 1, split, (int)parts);
    for (int p = 0; status == GBX_OK && p < parts; p++)
        if ((out[p].value = reshape_axes(L, S, node, "Squeeze", split[p], &axis, 1)) < 0)
            status = GBX_ERR_PARSE;
    *out_count = (int)parts;
    return status;
}

/* ConcatV2: the axis is the last input. */
static gbx_status emit_concat(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                              const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    int64_t axis;
    size_t count;
    int values[GBX_NN_MAX_INPUTS];
    gbx_status status = n >= 2 ? constant_ints(L, node, in, n, n - 1, &axis, 1, &count)
                               : fail_node(L, node, GBX_ERR_PARSE, "nothing to join");
    for (int i = 0; status == GBX_OK && i < n - 1; i++) status = value_of(L, node, in, n, i, &values[i]);
    if (status != GBX_OK) return status;
    if (n == 2) {
        out[0].value = values[0];
        return GBX_OK;
    }
    return concatenate(L, S, node, values, n - 1, axis, &out[0].value);
}

static gbx_status emit_gather(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                              const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    int values[2] = {-1, -1};
    int64_t axis = 0;
    size_t count;
    gbx_status status = value_of(L, node, in, n, 0, &values[0]);
    if (status == GBX_OK) status = value_of(L, node, in, n, 1, &values[1]);
    if (status == GBX_OK && n > 2) status = constant_ints(L, node, in, n, 2, &axis, 1, &count);
    if (status == GBX_OK && attr_int(node, "batch_dims", 0) != 0)
        status = fail_node(L, node, GBX_ERR_UNSUPPORTED, "batch_dims other than 0");
    gbx_nn_attribute *a = status == GBX_OK ? attributes_new(1) : NULL;
    if (status != GBX_OK) return status;
    if (!a) return out_of_memory(L);
    set_int(&a[0], "axis", axis);
    return emit_into(L, S, node, "Gather", values, 2, a, 1, out);
}

/* Fill(dims, value): the value broadcast to the shape. */
static gbx_status emit_fill(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                            const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    int values[2] = {-1, -1};
    gbx_status status = value_of(L, node, in, n, 1, &values[0]);
    if (status == GBX_OK) status = value_of(L, node, in, n, 0, &values[1]);
    if (status != GBX_OK) return status;
    return emit_into(L, S, node, "Expand", values, 2, NULL, 0, out);
}

static gbx_status emit_cast(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                            const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    int x = -1;
    int64_t type = attr_int(node, "DstT", DT_FLOAT);
    gbx_status status = value_of(L, node, in, n, 0, &x);
    int floating = type == DT_FLOAT || type == DT_DOUBLE || type == DT_HALF || type == DT_BFLOAT16;
    int integral = type == DT_INT32 || type == DT_INT64 || type == DT_INT16 || type == DT_INT8 ||
                   type == DT_UINT8;
    if (status == GBX_OK && !floating && !integral && type != DT_BOOL)
        status = fail_node(L, node, GBX_ERR_UNSUPPORTED, "a cast to TensorFlow type %lld",
                           (long long)type);
    gbx_nn_attribute *a = status == GBX_OK ? attributes_new(1) : NULL;
    if (status != GBX_OK) return status;
    if (!a) return out_of_memory(L);
    set_int(&a[0], "to", floating ? ONNX_FLOAT : integral ? ONNX_INT64 : ONNX_BOOL);
    return emit_into(L, S, node, "Cast", &x, 1, a, 1, out);
}

/* Split(axis, x) in num_split equal parts; SplitV(x, sizes, axis). */
static gbx_status emit_split(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                             const ref *in, int n, ref *out, int *out_count)
{
    (void)op;
    int sized = strcmp(node->op, "SplitV") == 0;
    int64_t parts = attr_int(node, "num_split", 0), axis;
    size_t count;
    int values[2] = {-1, -1};
    gbx_status status = constant_ints(L, node, in, n, sized ? 2 : 0, &axis, 1, &count);
    if (status == GBX_OK) status = value_of(L, node, in, n, sized ? 0 : 1, &values[0]);
    if (status == GBX_OK && sized) status = value_of(L, node, in, n, 1, &values[1]);
    if (status == GBX_OK && (parts < 1 || parts > GBX_NN_MAX_OUTPUTS))
        status = fail_node(L, node, GBX_ERR_UNSUPPORTED, "%lld parts (1 to %d)", (long long)parts,
                           GBX_NN_MAX_OUTPUTS);
    gbx_nn_attribute *a = status == GBX_OK ? attributes_new(1) : NULL;
    if (status != GBX_OK) return status;
    if (!a) return out_of_memory(L);
    set_int(&a[0], "axis", axis);
    int split[GBX_NN_MAX_OUTPUTS];
    status = emit_many(L, S, node, "Split", values, sized ? 2 : 1, a, 1, split, (int)parts);
    for (int p = 0; status == GBX_OK && p < parts; p++) out[p].value = split[p];
    *out_count = (int)parts;
    return status;
}

/* FusedBatchNorm in inference: x * scale' + shift' per channel (the last axis), from the
 * constant statistics. Its other outputs (the batch's statistics) are not computed. */
static gbx_status emit_batch_norm(loader *L, scope *S, const Gbxtf__NodeDef *node,
                                  const tf_op *op, const ref *in, int n, ref *out, int *out_count)
{
    (void)op;
    int x = -1;
    gbx_status status = check_channels_last(L, node);
    if (status == GBX_OK) status = value_of(L, node, in, n, 0, &x);
    if (status == GBX_OK && attr_int(node, "is_training", 0))
        status = fail_node(L, node, GBX_ERR_UNSUPPORTED, "batch statistics (is_training)");
    const gbx_nn_tensor *p[4] = {NULL, NULL, NULL, NULL};
    for (int i = 0; status == GBX_OK && i < 4; i++)
        if (n < 5 || !(p[i] = constant_floats(L, &in[1 + i])) || p[i]->count != p[0]->count)
            status = fail_node(L, node, GBX_ERR_UNSUPPORTED, "scale, offset, mean and variance "
                               "must be constants of one length");
    if (status != GBX_OK) return status;
    size_t channels = p[0]->count;
    float *scale = gbx_malloc_array(channels, sizeof(float));
    float *shift = gbx_malloc_array(channels, sizeof(float));
    double epsilon = attr_float(node, "epsilon", 1e-4f);
    for (size_t c = 0; scale && shift && c < channels; c++) {
        scale[c] = (float)(p[0]->f[c] / sqrt((double)p[3]->f[c] + epsilon));
        shift[c] = (float)(p[1]->f[c] - (double)p[2]->f[c] * scale[c]);
    }
    if (!scale || !shift) {
        free(scale);
        free(shift);
        return out_of_memory(L);
    }
    int values[2] = {x, float_constant(L, S, node, scale, channels, 1)};
    int shift_value = values[1] >= 0 ? float_constant(L, S, node, shift, channels, 1) : -1;
    free(scale);
    free(shift);
    if (shift_value < 0) return GBX_ERR_PARSE;
    values[0] = emit(L, S, node, "Mul", values, 2, NULL, 0);
    values[1] = shift_value;
    out[0].value = values[0] < 0 ? -1 : emit(L, S, node, "Add", values, 2, NULL, 0);
    for (int o = 1; o < 6; o++) out[o] = NO_REF;
    *out_count = 6;
    return out[0].value < 0 ? GBX_ERR_PARSE : GBX_OK;
}

/* Einsum: the equation as an attribute, the operands as they are. */
static gbx_status emit_einsum(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                              const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    char equation[256];
    int values[GBX_NN_MAX_INPUTS];
    if (!attr_string(node, "equation", equation, sizeof equation, NULL))
        return fail_node(L, node, GBX_ERR_PARSE, "no equation");
    for (int i = 0; i < n; i++) {
        gbx_status status = value_of(L, node, in, n, i, &values[i]);
        if (status != GBX_OK) return status;
    }
    gbx_nn_attribute *a = attributes_new(1);
    if (!a) return out_of_memory(L);
    set_string(&a[0], "equation", equation);
    return emit_into(L, S, node, "Einsum", values, n, a, 1, out);
}

/* NotEqual and Erfc: an engine operator, then its complement. */
static gbx_status emit_complement(loader *L, scope *S, const Gbxtf__NodeDef *node,
                                  const tf_op *op, const ref *in, int n, ref *out, int *out_count)
{
    gbx_status status = emit_same(L, S, node, op, in, n, out, out_count);
    if (status != GBX_OK) return status;
    if (strcmp(op->engine, "Equal") == 0) {
        out[0].value = emit(L, S, node, "Not", &out[0].value, 1, NULL, 0);
    } else {
        static const float one = 1.0f;
        int values[2] = {float_constant(L, S, node, &one, 1, 0), out[0].value};
        out[0].value = values[0] < 0 ? -1 : emit(L, S, node, "Sub", values, 2, NULL, 0);
    }
    return out[0].value < 0 ? GBX_ERR_PARSE : GBX_OK;
}

/* ---- loops: unrolled while they load ---------------------------------------------------------
 * A While whose condition constants decide (a Keras RNN's loop over its known number of steps)
 * is unrolled: the condition is translated with the loop's current values, folded to a
 * constant, and while it holds the body is translated once more on the values it gave last. The
 * tensor lists such loops read and write become lists of graph values. A condition that depends
 * on the data, or a list index that does, is refused by name. */

/* Steps a loop may unroll to: each copies the body into the graph. */
#define LOOP_LIMIT 4096

static gbx_status new_list(loader *L, int count, int source, int *index)
{
    tensor_list *more = realloc(L->lists, (L->list_count + 1) * sizeof *more);
    if (!more) return out_of_memory(L);
    L->lists = more;
    tensor_list *list = &L->lists[L->list_count];
    list->items = gbx_malloc_array(count > 0 ? (size_t)count : 1, sizeof(int));
    if (!list->items) return out_of_memory(L);
    for (int i = 0; i < count; i++) list->items[i] = -1;
    list->count = count;
    list->source = source;
    *index = (int)L->list_count++;
    return GBX_OK;
}

/* A scalar the graph holds as a constant (a folded index or condition). */
static gbx_status constant_scalar(loader *L, const Gbxtf__NodeDef *node, const ref *in, int n,
                                  int i, const char *what, int64_t *value)
{
    int64_t values[1];
    size_t count = 0;
    gbx_status status = i < n && in[i].value >= 0 && L->graph->is_constant[in[i].value]
        ? constant_ints(L, node, in, n, i, values, 1, &count) : GBX_ERR_UNSUPPORTED;
    if (status != GBX_OK || count != 1)
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "its %s depends on the data (glassbox "
                         "unrolls loops whose steps constants decide)", what);
    *value = values[0];
    return GBX_OK;
}

static gbx_status emit_list_reserve(loader *L, scope *S, const Gbxtf__NodeDef *node,
                                    const tf_op *op, const ref *in, int n, ref *out,
                                    int *out_count)
{
    (void)S, (void)op, (void)out_count;
    int64_t count;
    gbx_status status = constant_scalar(L, node, in, n, 1, "length", &count);
    if (status == GBX_OK && (count < 0 || count > LOOP_LIMIT))
        status = fail_node(L, node, GBX_ERR_UNSUPPORTED, "a list of %lld items", (long long)count);
    *out = NO_REF;
    return status == GBX_OK ? new_list(L, (int)count, -1, &out->list) : status;
}

static gbx_status emit_list_from_tensor(loader *L, scope *S, const Gbxtf__NodeDef *node,
                                        const tf_op *op, const ref *in, int n, ref *out,
                                        int *out_count)
{
    (void)S, (void)op, (void)out_count;
    int source = -1;
    gbx_status status = value_of(L, node, in, n, 0, &source);
    *out = NO_REF;
    return status == GBX_OK ? new_list(L, 0, source, &out->list) : status;
}

static gbx_status list_of(loader *L, const Gbxtf__NodeDef *node, const ref *in, int n,
                          tensor_list **list)
{
    if (n < 1 || in[0].list < 0)
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "input 0 is not a tensor list");
    *list = &L->lists[in[0].list];
    return GBX_OK;
}

/* Item `index` of a list: set, or the source's row (a Gather of one index drops the axis). */
static gbx_status emit_list_get(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                                const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    tensor_list *list = NULL;
    int64_t index = -1;
    gbx_status status = list_of(L, node, in, n, &list);
    if (status == GBX_OK) status = constant_scalar(L, node, in, n, 1, "index", &index);
    if (status != GBX_OK) return status;
    if (index >= 0 && index < list->count && list->items[index] >= 0) {
        out[0].value = list->items[index];
        return GBX_OK;
    }
    if (list->source < 0 || index < 0)
        return fail_node(L, node, GBX_ERR_PARSE, "reads item %lld, which is not set",
                         (long long)index);
    int values[2] = {list->source, -1};
    gbx_nn_tensor scalar;
    if (gbx_nn_tensor_alloc(&scalar, GBX_NN_INT64, 0, NULL, L->error) != GBX_OK) return GBX_ERR_NOMEM;
    scalar.i[0] = index;
    if ((values[1] = constant(L, S, node, &scalar)) < 0) return GBX_ERR_NOMEM;
    return emit_into(L, S, node, "Gather", values, 2, NULL, 0, out);
}

static gbx_status emit_list_set(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                                const ref *in, int n, ref *out, int *out_count)
{
    (void)S, (void)op, (void)out_count;
    tensor_list *list = NULL;
    int64_t index = -1;
    int item = -1;
    gbx_status status = list_of(L, node, in, n, &list);
    if (status == GBX_OK) status = constant_scalar(L, node, in, n, 1, "index", &index);
    if (status == GBX_OK) status = value_of(L, node, in, n, 2, &item);
    if (status == GBX_OK && (index < 0 || index >= (list->count > 0 ? list->count : LOOP_LIMIT)))
        status = fail_node(L, node, GBX_ERR_UNSUPPORTED, "sets item %lld of a list of %d",
                           (long long)index, list->count);
    if (status != GBX_OK) return status;
    int count = list->count > index ? list->count : (int)index + 1, source = list->source;
    const int previous = (int)(list - L->lists);
    *out = NO_REF;
    if ((status = new_list(L, count, source, &out->list)) != GBX_OK) return status;
    tensor_list *copy = &L->lists[out->list], *old = &L->lists[previous]; /* lists moved */
    memcpy(copy->items, old->items, (size_t)old->count * sizeof(int));
    copy->items[index] = item;
    return GBX_OK;
}

/* Every item stacked along a new first axis; a list made from a tensor and never set is that
 * tensor. */
static gbx_status emit_list_stack(loader *L, scope *S, const Gbxtf__NodeDef *node,
                                  const tf_op *op, const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    tensor_list *list = NULL;
    gbx_status status = list_of(L, node, in, n, &list);
    if (status != GBX_OK) return status;
    if (list->count == 0 && list->source >= 0) {
        out[0].value = list->source;
        return GBX_OK;
    }
    if (list->count < 1 || list->count > GBX_NN_MAX_INPUTS)
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "stacks %d items (1 to %d)", list->count,
                         GBX_NN_MAX_INPUTS);
    int values[GBX_NN_MAX_INPUTS], count = list->count;
    int64_t axis = 0;
    for (int i = 0; i < count; i++) {
        int item = L->lists[in[0].list].items[i];
        if (item < 0)
            return fail_node(L, node, GBX_ERR_PARSE, "stacks item %d, which is not set", i);
        if ((values[i] = reshape_axes(L, S, node, "Unsqueeze", item, &axis, 1)) < 0)
            return GBX_ERR_PARSE;
    }
    if (count == 1) {
        out[0].value = values[0];
        return GBX_OK;
    }
    return concatenate(L, S, node, values, count, 0, &out[0].value);
}

static const char *function_name(const Gbxtf__NodeDef *node, const char *key)
{
    const Gbxtf__AttrValue *f = attr(node, key);
    return f && f->value_case == GBXTF__ATTR_VALUE__VALUE_FUNC ? f->func->name : NULL;
}

static gbx_status emit_while(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                             const ref *in, int n, ref *out, int *out_count)
{
    (void)op;
    const char *cond = function_name(node, "cond"), *body = function_name(node, "body");
    if (!cond || !body) return fail_node(L, node, GBX_ERR_PARSE, "a loop without its functions");
    ref *state = gbx_malloc_array(n > 0 ? (size_t)n : 1, sizeof *state);
    if (!state) return out_of_memory(L);
    memcpy(state, in, (size_t)n * sizeof *in);
    gbx_status status = GBX_OK;
    for (int step = 0; status == GBX_OK; step++) {
        ref decision[OUTPUTS_LIMIT];
        int decisions = 0, results = 0;
        int64_t holds;
        status = translate_call(L, S, node, cond, state, n, decision, &decisions);
        if (status == GBX_OK && decisions != 1)
            status = fail_node(L, node, GBX_ERR_PARSE, "its condition gives %d values", decisions);
        if (status == GBX_OK) status = constant_scalar(L, node, decision, 1, 0, "condition", &holds);
        if (status != GBX_OK || !holds) break;
        if (step == LOOP_LIMIT) {
            status = fail_node(L, node, GBX_ERR_UNSUPPORTED, "loops more than %d times", LOOP_LIMIT);
            break;
        }
        status = translate_call(L, S, node, body, state, n, out, &results);
        if (status == GBX_OK && results != n)
            status = fail_node(L, node, GBX_ERR_PARSE, "its body gives %d values for %d", results, n);
        if (status == GBX_OK) memcpy(state, out, (size_t)n * sizeof *out);
    }
    if (status == GBX_OK) {
        memcpy(out, state, (size_t)n * sizeof *out);
        *out_count = n;
    }
    free(state);
    return status;
}

/* Max over the positions of channels-last data (Keras's GlobalMaxPooling: axes 1 to k of a
 * tensor of rank k + 2): the engine's GlobalMaxPool, channels first, flattened to [N, C]. A
 * tensor of another rank fails at its transpose, by name, when it runs. */
static gbx_status global_max_pool(loader *L, scope *S, const Gbxtf__NodeDef *node, const ref *in,
                                  int n, ref *out)
{
    int64_t axes[GBX_NN_MAX_RANK], to_first[5], to_last[5];
    size_t count;
    int x = -1;
    gbx_status status = value_of(L, node, in, n, 0, &x);
    if (status == GBX_OK) status = constant_ints(L, node, in, n, 1, axes, GBX_NN_MAX_RANK, &count);
    int positions = status == GBX_OK && count >= 1 && count <= 3 && !attr_int(node, "keep_dims", 0);
    for (size_t a = 0; positions && a < count; a++) positions = axes[a] == (int64_t)a + 1;
    if (status == GBX_OK && !positions)
        status = fail_node(L, node, GBX_ERR_UNSUPPORTED, "a maximum over other axes than a "
                           "channels-last tensor's positions (GlobalMaxPooling)");
    if (status != GBX_OK) return status;
    channel_permutations((int)count, to_first, to_last);
    int first = permute(L, S, node, x, to_first, (int)count + 2);
    int pooled = first < 0 ? -1 : emit(L, S, node, "GlobalMaxPool", &first, 1, NULL, 0);
    gbx_nn_attribute *a = pooled < 0 ? NULL : attributes_new(1);
    if (pooled >= 0 && !a) return out_of_memory(L);
    if (a) set_int(&a[0], "axis", 1);
    out[0].value = a ? emit(L, S, node, "Flatten", &pooled, 1, a, 1) : -1;
    return out[0].value < 0 ? GBX_ERR_PARSE : GBX_OK;
}

/* Max and Min: over every element of a constant list of integers (how Keras works out a loop's
 * length), or Max over channels-last positions. */
static gbx_status emit_extreme(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                               const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    int maximum = strcmp(node->op, "Max") == 0;
    const gbx_nn_tensor *t = n > 0 && in[0].value >= 0 && L->graph->is_constant[in[0].value]
        ? &L->graph->constants[in[0].value] : NULL;
    if (!t && maximum) return global_max_pool(L, S, node, in, n, out);
    if (!t || t->type != GBX_NN_INT64 || t->count == 0 || attr_int(node, "keep_dims", 0))
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "a reduction glassbox computes only over "
                         "a constant list of integers");
    gbx_nn_tensor result;
    if (gbx_nn_tensor_alloc(&result, GBX_NN_INT64, 0, NULL, L->error) != GBX_OK) return GBX_ERR_NOMEM;
    result.i[0] = t->i[0];
    for (size_t j = 1; j < t->count; j++)
        if (maximum ? t->i[j] > result.i[0] : t->i[j] < result.i[0]) result.i[0] = t->i[j];
    out[0].value = constant(L, S, node, &result);
    return out[0].value < 0 ? GBX_ERR_NOMEM : GBX_OK;
}

/* ReverseV2 (a backwards RNN's steps): a Slice with step -1 along each axis. */
static gbx_status emit_reverse(loader *L, scope *S, const Gbxtf__NodeDef *node, const tf_op *op,
                               const ref *in, int n, ref *out, int *out_count)
{
    (void)op, (void)out_count;
    int x = -1;
    int64_t axes[GBX_NN_MAX_RANK], starts[GBX_NN_MAX_RANK], ends[GBX_NN_MAX_RANK],
        steps[GBX_NN_MAX_RANK];
    size_t count;
    gbx_status status = value_of(L, node, in, n, 0, &x);
    if (status == GBX_OK) status = constant_ints(L, node, in, n, 1, axes, GBX_NN_MAX_RANK, &count);
    if (status != GBX_OK) return status;
    for (size_t a = 0; a < count; a++) {
        starts[a] = -1;
        ends[a] = INT64_MIN;
        steps[a] = -1;
    }
    out[0].value = count ? slice(L, S, node, x, starts, ends, axes, steps, count) : x;
    return out[0].value < 0 ? GBX_ERR_PARSE : GBX_OK;
}

/* Graph-mode control flow (TensorFlow 1's Switch and Merge, conditionals): named, with where to
 * go instead. */
static gbx_status emit_control_flow(loader *L, scope *S, const Gbxtf__NodeDef *node,
                                    const tf_op *op, const ref *in, int n, ref *out,
                                    int *out_count)
{
    (void)S, (void)op, (void)in, (void)n, (void)out, (void)out_count;
    return fail_node(L, node, GBX_ERR_UNSUPPORTED, "control flow, which glassbox does not run "
                     "from a SavedModel (it unrolls loops of a known length); convert it with "
                     "tf2onnx (python -m tf2onnx.convert --saved-model DIR --output model.onnx) "
                     "or serve it and explain http://...");
}

static const tf_op tf_ops[] = {
    /* plumbing */
    {"Identity", NULL, emit_pass}, {"IdentityN", NULL, emit_pass},
    {"StopGradient", NULL, emit_pass}, {"PreventGradient", NULL, emit_pass},
    {"Snapshot", NULL, emit_pass}, {"EnsureShape", NULL, emit_pass},
    {"CheckNumerics", NULL, emit_pass}, {"NoOp", NULL, emit_pass},
    {"Const", NULL, emit_const}, {"Placeholder", NULL, emit_placeholder},
    {"VarHandleOp", NULL, emit_var_handle}, {"ReadVariableOp", NULL, emit_read_variable},
    {"ResourceGather", NULL, emit_resource_gather},
    {"StatefulPartitionedCall", NULL, emit_call}, {"PartitionedCall", NULL, emit_call},
    /* elementwise */
    {"Add", "Add", emit_same}, {"AddV2", "Add", emit_same}, {"Sub", "Sub", emit_same},
    {"Mul", "Mul", emit_same}, {"RealDiv", "Div", emit_same}, {"Div", "Div", emit_same},
    {"Maximum", "Max", emit_same}, {"Minimum", "Min", emit_same}, {"Pow", "Pow", emit_same},
    {"AddN", NULL, emit_add_n}, {"BiasAdd", "Add", emit_bias_add},
    {"Square", NULL, emit_square}, {"SquaredDifference", NULL, emit_square},
    {"Relu", "Relu", emit_same}, {"Relu6", NULL, emit_relu6}, {"Elu", "Elu", emit_same},
    {"Selu", "Selu", emit_same}, {"Sigmoid", "Sigmoid", emit_same}, {"Tanh", "Tanh", emit_same},
    {"Softplus", "Softplus", emit_same}, {"LeakyRelu", NULL, emit_leaky_relu},
    {"Exp", "Exp", emit_same}, {"Log", "Log", emit_same}, {"Neg", "Neg", emit_same},
    {"Abs", "Abs", emit_same}, {"Sqrt", "Sqrt", emit_same}, {"Rsqrt", NULL, emit_rsqrt},
    {"Reciprocal", "Reciprocal", emit_same}, {"Inv", "Reciprocal", emit_same},
    {"Erf", "Erf", emit_same}, {"Floor", "Floor", emit_same}, {"Ceil", "Ceil", emit_same},
    {"Softmax", "Softmax", emit_last_axis}, {"LogSoftmax", "LogSoftmax", emit_last_axis},
    {"Less", "Less", emit_same}, {"LessEqual", "LessOrEqual", emit_same},
    {"Greater", "Greater", emit_same}, {"GreaterEqual", "GreaterOrEqual", emit_same},
    {"Equal", "Equal", emit_same}, {"NotEqual", "Equal", emit_complement},
    {"Erfc", "Erf", emit_complement}, {"LogicalNot", "Not", emit_same},
    {"Select", "Where", emit_same}, {"SelectV2", "Where", emit_same},
    {"Cast", NULL, emit_cast},
    /* linear algebra, convolution, pooling, reduction */
    {"MatMul", NULL, emit_matmul}, {"BatchMatMul", NULL, emit_matmul},
    {"BatchMatMulV2", NULL, emit_matmul}, {"BatchMatMulV3", NULL, emit_matmul},
    {"Conv2D", NULL, emit_conv}, {"Conv3D", NULL, emit_conv},
    {"DepthwiseConv2dNative", NULL, emit_conv},
    {"MaxPool", "MaxPool", emit_pool}, {"AvgPool", "AveragePool", emit_pool},
    {"MaxPool3D", "MaxPool", emit_pool}, {"AvgPool3D", "AveragePool", emit_pool},
    {"Mean", "ReduceMean", emit_reduce}, {"Sum", "ReduceSum", emit_reduce},
    {"Prod", "ReduceProd", emit_reduce}, {"Einsum", NULL, emit_einsum},
    {"FusedBatchNorm", NULL, emit_batch_norm}, {"FusedBatchNormV3", NULL, emit_batch_norm},
    /* shapes */
    {"Shape", "Shape", emit_same}, {"Size", "Size", emit_same}, {"Range", "Range", emit_same},
    {"Reshape", NULL, emit_reshape}, {"Transpose", NULL, emit_transpose},
    {"Squeeze", NULL, emit_squeeze}, {"ExpandDims", NULL, emit_expand_dims},
    {"StridedSlice", NULL, emit_strided_slice}, {"Slice", NULL, emit_slice},
    {"Pack", NULL, emit_pack}, {"Unpack", NULL, emit_unpack}, {"ConcatV2", NULL, emit_concat},
    {"GatherV2", NULL, emit_gather}, {"Fill", NULL, emit_fill}, {"Tile", "Tile", emit_same},
    {"Split", NULL, emit_split}, {"SplitV", NULL, emit_split},
    {"SpaceToBatchND", "SpaceToBatchND", emit_same}, {"BatchToSpaceND", "BatchToSpaceND", emit_same},
    {"ReverseV2", NULL, emit_reverse}, {"LogicalAnd", "And", emit_same},
    {"LogicalOr", "Or", emit_same},
    {"Max", NULL, emit_extreme}, {"Min", NULL, emit_extreme},
    /* loops of a known length, unrolled, and their tensor lists */
    {"While", NULL, emit_while}, {"StatelessWhile", NULL, emit_while},
    {"TensorListReserve", NULL, emit_list_reserve},
    {"TensorListFromTensor", NULL, emit_list_from_tensor},
    {"TensorListGetItem", NULL, emit_list_get}, {"TensorListSetItem", NULL, emit_list_set},
    {"TensorListStack", NULL, emit_list_stack},
    /* other control flow: refused by name */
    {"If", NULL, emit_control_flow}, {"StatelessIf", NULL, emit_control_flow},
    {"Case", NULL, emit_control_flow}, {"StatelessCase", NULL, emit_control_flow},
    {"Switch", NULL, emit_control_flow}, {"Merge", NULL, emit_control_flow},
    {"Enter", NULL, emit_control_flow}, {"Exit", NULL, emit_control_flow},
    {"NextIteration", NULL, emit_control_flow}, {"LoopCond", NULL, emit_control_flow},
};

static const tf_op *find_tf_op(const char *name)
{
    for (size_t i = 0; i < sizeof tf_ops / sizeof tf_ops[0]; i++)
        if (strcmp(tf_ops[i].name, name) == 0) return &tf_ops[i];
    return NULL;
}

/* ---- walking a graph ------------------------------------------------------------------------ */

/* Operators whose outputs are several named lists, and the order of those names: a function's
 * "node:name:k" refers to output k of list `name`. Every other operator's outputs form one list. */
static int output_offset(const char *op, const char *name, size_t length)
{
    static const char *const batch_norm[] = {"y", "batch_mean", "batch_variance",
                                             "reserve_space_1", "reserve_space_2",
                                             "reserve_space_3", NULL};
    if (!op || strncmp(op, "FusedBatchNorm", 14) != 0) return 0;
    for (int i = 0; batch_norm[i]; i++)
        if (strlen(batch_norm[i]) == length && memcmp(batch_norm[i], name, length) == 0) return i;
    return 0;
}

/* The refs a tensor name stands for in a scope: "node", "node:k" (graphs) or "node:list:k"
 * (functions); arguments by their name. */
static gbx_status resolve(loader *L, const scope *S, const char *tensor, ref *out)
{
    const char *colon = strchr(tensor, ':');
    size_t length = colon ? (size_t)(colon - tensor) : strlen(tensor);
    const slot *s = table_find(&S->names, tensor, length);
    if (!s) return gbx_fail(L->error, GBX_ERR_PARSE, "tensor %s is made by no node", tensor);
    long index = 0;
    int offset = 0;
    if (colon) {
        const char *second = strchr(colon + 1, ':');
        if (second) offset = output_offset(s->op, colon + 1, (size_t)(second - colon - 1));
        char *end;
        index = strtol(second ? second + 1 : colon + 1, &end, 10);
        if (*end || index < 0) return gbx_fail(L->error, GBX_ERR_PARSE, "tensor %s: a bad name", tensor);
    }
    if (index + offset >= s->count)
        return gbx_fail(L->error, GBX_ERR_PARSE, "tensor %s: its node has %d outputs", tensor,
                        s->count);
    *out = L->refs[s->first + offset + index];
    return GBX_OK;
}

/* Records a node's (or argument's) refs under its name. */
static gbx_status record(loader *L, scope *S, const char *name, const char *op, const ref *refs,
                         int count)
{
    if (L->ref_count + (size_t)count > L->ref_capacity) {
        size_t capacity = 2 * (L->ref_count + (size_t)count) + 64;
        ref *more = realloc(L->refs, capacity * sizeof *more);
        if (!more) return out_of_memory(L);
        L->refs = more;
        L->ref_capacity = capacity;
    }
    memcpy(L->refs + L->ref_count, refs, (size_t)count * sizeof *refs);
    gbx_status status = table_put(&S->names, name, op, (int)L->ref_count, count, L->error);
    L->ref_count += (size_t)count;
    return status;
}

static gbx_status translate(loader *L, scope *S, const Gbxtf__NodeDef *node)
{
    ref in[GBX_NN_MAX_INPUTS], out[OUTPUTS_LIMIT];
    int n = 0, out_count = 1;
    for (size_t i = 0; i < node->n_input; i++) {
        if (node->input[i][0] == '^') continue; /* ordering only */
        if (n == GBX_NN_MAX_INPUTS)
            return fail_node(L, node, GBX_ERR_UNSUPPORTED, "more than %d inputs", GBX_NN_MAX_INPUTS);
        gbx_status status = resolve(L, S, node->input[i], &in[n++]);
        if (status != GBX_OK) return status;
    }
    if (++L->translated > TRANSLATION_LIMIT || L->graph->node_count > OPERATOR_LIMIT)
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "the graph unrolls to more than %d "
                         "operations", L->graph->node_count > OPERATOR_LIMIT ? OPERATOR_LIMIT
                                                                             : TRANSLATION_LIMIT);
    const tf_op *op = find_tf_op(node->op);
    if (!op)
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "glassbox does not run this TensorFlow "
                         "operation; convert the model with tf2onnx (python -m tf2onnx.convert "
                         "--saved-model DIR --output model.onnx) or serve it and explain "
                         "http://...");
    out[0] = NO_REF;
    size_t made = L->graph->value_count;
    gbx_status status = op->emit(L, S, node, op, in, n, out, &out_count);
    /* A value this node made takes TensorFlow's name for it ("node:k", as saved_model_cli and
     * tf2onnx show it), where no other value has it yet: how --layer finds a layer's output. */
    for (int o = 0; status == GBX_OK && o < out_count; o++) {
        if (out[o].value < (int)made) continue;
        char name[1024];
        if ((size_t)snprintf(name, sizeof name, "%s:%d", node->name, o) < sizeof name)
            gbx_nn_rename_value(L->graph, out[o].value, name);
    }
    return status == GBX_OK ? record(L, S, node->name, node->op, out, out_count) : status;
}

/* The node a tensor name comes from, or -1 when the name is an argument or already made. */
static gbx_status producer(loader *L, const scope *S, const char *tensor, int *node)
{
    const char *colon = strchr(tensor, ':');
    size_t length = colon ? (size_t)(colon - tensor) : strlen(tensor);
    *node = -1;
    if (table_find(&S->names, tensor, length)) return GBX_OK;
    const slot *s = table_find(&S->index, tensor, length);
    if (!s) return gbx_fail(L->error, GBX_ERR_PARSE, "tensor %s is made by no node", tensor);
    *node = s->first;
    return GBX_OK;
}

/* Translates the nodes `wanted` needs, each after its inputs (depth first, with an explicit
 * stack: a graph of any depth, no recursion). */
static gbx_status run_scope(loader *L, scope *S, const char *const *wanted, size_t wanted_count)
{
    size_t capacity = S->node_count + 1;
    for (size_t i = 0; i < S->node_count; i++) capacity += S->nodes[i]->n_input;
    capacity += wanted_count;
    int *stack = gbx_malloc_array(capacity, sizeof(int));
    unsigned char *state = gbx_calloc(S->node_count ? S->node_count : 1, 1); /* 1 open, 2 done */
    gbx_status status = stack && state ? GBX_OK : out_of_memory(L);
    for (size_t w = 0; w < wanted_count && status == GBX_OK; w++) {
        size_t top = 0;
        int start;
        if ((status = producer(L, S, wanted[w], &start)) != GBX_OK || start < 0) continue;
        stack[top++] = start;
        while (top && status == GBX_OK) {
            int i = stack[top - 1];
            const Gbxtf__NodeDef *node = S->nodes[i];
            if (state[i] == 2) {
                top--;
            } else if (state[i] == 1) {
                status = translate(L, S, node);
                state[i] = 2;
                top--;
            } else {
                state[i] = 1;
                for (size_t k = 0; k < node->n_input && status == GBX_OK; k++) {
                    int j;
                    if (node->input[k][0] == '^') continue;
                    if ((status = producer(L, S, node->input[k], &j)) != GBX_OK || j < 0) continue;
                    if (state[j] == 1)
                        status = fail_node(L, node, GBX_ERR_PARSE, "its inputs form a cycle");
                    else if (state[j] == 0 && top < capacity) stack[top++] = j;
                }
            }
        }
    }
    free(stack);
    free(state);
    return status;
}

static gbx_status index_nodes(loader *L, scope *S)
{
    for (size_t i = 0; i < S->node_count; i++) {
        const char *name = S->nodes[i]->name;
        if (!name || !*name || table_find(&S->index, name, strlen(name)))
            return gbx_fail(L->error, GBX_ERR_PARSE, "a node without a name, or two named %s",
                            name ? name : "");
        gbx_status status = table_put(&S->index, name, NULL, (int)i, 1, L->error);
        if (status != GBX_OK) return status;
    }
    return GBX_OK;
}

static void scope_free(scope *S)
{
    free(S->names.slots);
    free(S->index.slots);
}

static const char *function_return(const Gbxtf__FunctionDef *f, const char *name)
{
    for (size_t r = 0; r < f->n_ret; r++)
        if (f->ret[r]->key && strcmp(f->ret[r]->key, name) == 0) return f->ret[r]->value;
    return NULL;
}

/* A call: the function's body in a scope of its own, its arguments bound to the call's inputs,
 * its outputs the call's. Recursion bounded by CALL_DEPTH_LIMIT. */
static gbx_status translate_call(loader *L, scope *S, const Gbxtf__NodeDef *node,
                                 const char *function, const ref *in, int n, ref *out,
                                 int *out_count)
{
    const slot *found = table_find(&L->functions, function, strlen(function));
    if (!found) return fail_node(L, node, GBX_ERR_PARSE, "calls %s, which the library lacks", function);
    if (S->depth + 1 > CALL_DEPTH_LIMIT)
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "calls nest deeper than %d", CALL_DEPTH_LIMIT);
    const Gbxtf__FunctionDef *f = L->meta->graph_def->library->function[found->first];
    const Gbxtf__OpDef *signature = f->signature;
    if ((int)signature->n_input_arg != n)
        return fail_node(L, node, GBX_ERR_PARSE, "calls %s with %d inputs; it takes %zu",
                         function, n, signature->n_input_arg);
    if (signature->n_output_arg > OUTPUTS_LIMIT)
        return fail_node(L, node, GBX_ERR_UNSUPPORTED, "%s returns %zu tensors", function,
                         signature->n_output_arg);
    size_t length = strlen(S->prefix) + strlen(node->name) + 2;
    char *prefix = malloc(length);
    const char **wanted = gbx_calloc(signature->n_output_arg + 1, sizeof *wanted);
    scope inner = {.prefix = prefix, .nodes = f->node_def, .node_count = f->n_node_def,
                   .depth = S->depth + 1};
    gbx_status status = prefix && wanted ? GBX_OK : out_of_memory(L);
    if (status == GBX_OK) snprintf(prefix, length, "%s%s/", S->prefix, node->name);
    if (status == GBX_OK) status = index_nodes(L, &inner);
    for (int i = 0; status == GBX_OK && i < n; i++)
        status = record(L, &inner, signature->input_arg[i]->name, NULL, &in[i], 1);
    for (size_t o = 0; status == GBX_OK && o < signature->n_output_arg; o++)
        if (!(wanted[o] = function_return(f, signature->output_arg[o]->name)))
            status = fail_node(L, node, GBX_ERR_PARSE, "%s does not say what it returns", function);
    if (status == GBX_OK) status = run_scope(L, &inner, wanted, signature->n_output_arg);
    for (size_t o = 0; status == GBX_OK && o < signature->n_output_arg; o++)
        status = resolve(L, &inner, wanted[o], &out[o]);
    if (status == GBX_OK) *out_count = (int)signature->n_output_arg;
    scope_free(&inner);
    free(wanted);
    free(prefix);
    return status;
}

/* ---- variables: which checkpoint key each handle restores from ------------------------------ */

/* TensorFlow 2 restores variables by object: a concrete function's last arguments are the
 * objects it captured (bound_inputs, node ids of the SavedModel's object graph), node k of which
 * is node k of the checkpoint's object graph, which names the checkpoint key of its value. The
 * main graph's calls pass a VarHandleOp for each such argument: that handle reads that key. */
static gbx_status map_variables(loader *L, const Gbxtf__NodeDef *const *main_nodes,
                                size_t main_count)
{
    const Gbxtf__SavedObjectGraph *objects = L->meta->object_graph_def;
    if (!objects || !L->bundle) return GBX_OK; /* nothing to restore (or nothing to read it from) */
    char *bytes = NULL;
    size_t length = 0;
    gbx_status status = gbx_tensor_bundle_read_string(L->bundle, "_CHECKPOINTABLE_OBJECT_GRAPH",
                                                      &bytes, &length, L->error);
    if (status != GBX_OK) return status;
    Gbxtf__TrackableObjectGraph *checkpoint =
        gbxtf__trackable_object_graph__unpack(NULL, length, (const uint8_t *)bytes);
    free(bytes);
    if (!checkpoint)
        return gbx_fail(L->error, GBX_ERR_PARSE, "the checkpoint's object graph is damaged");
    for (size_t i = 0; i < main_count && status == GBX_OK; i++) {
        const Gbxtf__AttrValue *f = attr(main_nodes[i], "f");
        if (!f || f->value_case != GBXTF__ATTR_VALUE__VALUE_FUNC || !f->func->name) continue;
        const Gbxtf__SavedConcreteFunction *captured = NULL;
        for (size_t c = 0; c < objects->n_concrete_functions && !captured; c++)
            if (strcmp(objects->concrete_functions[c]->key, f->func->name) == 0)
                captured = objects->concrete_functions[c]->value;
        if (!captured || captured->n_bound_inputs > main_nodes[i]->n_input) continue;
        size_t first = main_nodes[i]->n_input - captured->n_bound_inputs;
        for (size_t j = 0; j < captured->n_bound_inputs && status == GBX_OK; j++) {
            const char *handle = main_nodes[i]->input[first + j];
            int32_t id = captured->bound_inputs[j];
            if (table_find(&L->handles, handle, strlen(handle))) continue;
            if (id < 0 || (size_t)id >= checkpoint->n_nodes) {
                status = gbx_fail(L->error, GBX_ERR_PARSE, "function %s captures object %d of "
                                  "%zu", f->func->name, id, checkpoint->n_nodes);
                break;
            }
            const char *key = NULL;
            const Gbxtf__TrackableObjectGraph__TrackableObject *object = checkpoint->nodes[id];
            for (size_t a = 0; a < object->n_attributes && !key; a++)
                if (strcmp(object->attributes[a]->name, "VARIABLE_VALUE") == 0)
                    key = object->attributes[a]->checkpoint_key;
            if (!key) continue; /* a captured constant or resource other than a variable */
            variable *more = realloc(L->variables, (L->variable_count + 1) * sizeof *more);
            if (!more || !(more[L->variable_count].key = gbx_strdup(key))) {
                if (more) L->variables = more;
                status = out_of_memory(L);
                break;
            }
            L->variables = more;
            more[L->variable_count].value = -1;
            status = table_put(&L->handles, handle, NULL, (int)L->variable_count++, 1, L->error);
        }
    }
    gbxtf__trackable_object_graph__free_unpacked(checkpoint, NULL);
    return status;
}

/* ---- the SavedModel ------------------------------------------------------------------------- */

static const Gbxtf__MetaGraphDef *serving_graph(const Gbxtf__SavedModel *model)
{
    for (size_t m = 0; m < model->n_meta_graphs; m++) {
        const Gbxtf__MetaGraphDef *meta = model->meta_graphs[m];
        for (size_t t = 0; meta->meta_info_def && t < meta->meta_info_def->n_tags; t++)
            if (strcmp(meta->meta_info_def->tags[t], "serve") == 0) return meta;
    }
    return model->n_meta_graphs == 1 ? model->meta_graphs[0] : NULL;
}

/* serving_default, or the one signature there is. */
static const Gbxtf__SignatureDef *serving_signature(const Gbxtf__MetaGraphDef *meta)
{
    const Gbxtf__SignatureDef *only = NULL;
    size_t count = 0;
    for (size_t s = 0; s < meta->n_signature_def; s++) {
        const char *key = meta->signature_def[s]->key;
        if (strcmp(key, "serving_default") == 0) return meta->signature_def[s]->value;
        if (strcmp(key, "__saved_model_init_op") != 0) {
            only = meta->signature_def[s]->value;
            count++;
        }
    }
    return count == 1 ? only : NULL;
}

/* The graph input from the signature's one input: its placeholder, type and shape. */
static gbx_status signature_input(loader *L, const Gbxtf__SignatureDef *signature, char **node)
{
    if (signature->n_inputs != 1)
        return gbx_fail(L->error, GBX_ERR_UNSUPPORTED, "the serving signature takes %zu inputs "
                        "(glassbox explains models of one input)", signature->n_inputs);
    const char *key = signature->inputs[0]->key;
    const Gbxtf__TensorInfo *info = signature->inputs[0]->value;
    const Gbxtf__TensorShapeProto *shape = info ? info->tensor_shape : NULL;
    if (!info || !info->name || !shape || shape->unknown_rank || shape->n_dim < 1 ||
        shape->n_dim > GBX_NN_MAX_RANK)
        return gbx_fail(L->error, GBX_ERR_UNSUPPORTED, "input %s has no shape of rank 1 to %d",
                        key, GBX_NN_MAX_RANK);
    int t = info->dtype;
    if (t != DT_FLOAT && t != DT_DOUBLE && t != DT_INT32 && t != DT_INT64 && t != DT_BOOL)
        return gbx_fail(L->error, GBX_ERR_UNSUPPORTED, "input %s has TensorFlow type %d "
                        "(glassbox feeds numbers)", key, t);
    L->input_type = t;
    L->graph->input = gbx_nn_value(L->graph, key);
    L->graph->input_rank = (int)shape->n_dim;
    for (size_t d = 0; d < shape->n_dim; d++) L->graph->input_dims[d] = shape->dim[d]->size;
    size_t length = strcspn(info->name, ":");
    if (L->graph->input < 0 || !(*node = malloc(length + 1))) return out_of_memory(L);
    memcpy(*node, info->name, length);
    (*node)[length] = '\0';
    return GBX_OK;
}

static gbx_status build(loader *L, const Gbxtf__SignatureDef *signature)
{
    const Gbxtf__GraphDef *g = L->meta->graph_def;
    if (signature->n_outputs != 1)
        return gbx_fail(L->error, GBX_ERR_UNSUPPORTED, "the serving signature gives %zu outputs "
                        "(glassbox explains one)", signature->n_outputs);
    const char *output = signature->outputs[0]->value ? signature->outputs[0]->value->name : NULL;
    if (!output || !*output)
        return gbx_fail(L->error, GBX_ERR_PARSE, "the serving signature names no output tensor");
    for (size_t f = 0; g->library && f < g->library->n_function; f++) {
        const Gbxtf__OpDef *s = g->library->function[f]->signature;
        if (!s || !s->name)
            return gbx_fail(L->error, GBX_ERR_PARSE, "a library function without a signature");
        for (size_t a = 0; a < s->n_input_arg + s->n_output_arg; a++)
            if (!(a < s->n_input_arg ? s->input_arg[a] : s->output_arg[a - s->n_input_arg])->name)
                return gbx_fail(L->error, GBX_ERR_PARSE, "function %s: an unnamed argument", s->name);
        gbx_status status = table_put(&L->functions, s->name, NULL, (int)f, 1, L->error);
        if (status != GBX_OK) return status;
    }
    gbx_status status = map_variables(L, (const Gbxtf__NodeDef *const *)g->node, g->n_node);
    scope main = {.prefix = "", .nodes = g->node, .node_count = g->n_node};
    if (status == GBX_OK) status = index_nodes(L, &main);
    if (status == GBX_OK) status = run_scope(L, &main, &output, 1);
    ref result = NO_REF;
    if (status == GBX_OK) status = resolve(L, &main, output, &result);
    scope_free(&main);
    if (status == GBX_OK && result.value < 0)
        status = gbx_fail(L->error, GBX_ERR_UNSUPPORTED, "output %s is not a computed tensor", output);
    if (status != GBX_OK) return status;
    L->graph->output = result.value;
    return gbx_nn_graph_finish(L->graph, L->error);
}

/* The SavedModel directory of a path: the directory itself, or the one holding saved_model.pb. */
static char *saved_model_directory(const char *path)
{
    struct stat info;
    if (stat(path, &info) == 0 && S_ISDIR(info.st_mode)) return gbx_strdup(path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strcmp(base, "saved_model.pb") != 0) return NULL;
    size_t length = (size_t)(base - path);
    char *directory = malloc(length + 2);
    if (!directory) return NULL;
    memcpy(directory, path, length);
    strcpy(directory + length, length ? "" : ".");
    return directory;
}

int gbx_saved_model_detect(const char *path)
{
    char *directory = saved_model_directory(path);
    free(directory);
    return directory != NULL;
}

static char *join(const char *directory, const char *name)
{
    size_t length = strlen(directory) + strlen(name) + 2;
    char *path = malloc(length);
    if (path) snprintf(path, length, "%s/%s", directory, name);
    return path;
}

/* The model's version: one SHA-256 over saved_model.pb, the variables index and its shards. */
static gbx_status version(const char *directory, int shards, char out[65], gbx_error *error)
{
    size_t count = shards > 0 ? (size_t)shards + 2 : 1;
    char **paths = gbx_calloc(count, sizeof *paths);
    gbx_status status = paths ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t p = 0; status == GBX_OK && p < count; p++) {
        char name[64];
        if (p == 0) snprintf(name, sizeof name, "saved_model.pb");
        else if (p == 1) snprintf(name, sizeof name, "variables/variables.index");
        else snprintf(name, sizeof name, "variables/variables.data-%05zu-of-%05d", p - 2, shards);
        if (!(paths[p] = join(directory, name))) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    if (status == GBX_OK) status = gbx_sha256_files((const char *const *)paths, count, out, error);
    for (size_t p = 0; paths && p < count; p++) free(paths[p]);
    free(paths);
    return status;
}

static void loader_free(loader *L)
{
    for (size_t v = 0; v < L->variable_count; v++) free(L->variables[v].key);
    free(L->variables);
    free(L->functions.slots);
    free(L->handles.slots);
    free(L->refs);
    for (size_t l = 0; l < L->list_count; l++) free(L->lists[l].items);
    free(L->lists);
    gbx_tensor_bundle_close(L->bundle);
}

gbx_status gbx_saved_model_load(const char *path, gbx_model *model, gbx_error *error)
{
    char *directory = saved_model_directory(path);
    if (!directory) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    char *file = join(directory, "saved_model.pb"), *prefix = join(directory, "variables/variables");
    char *index = join(directory, "variables/variables.index");
    char *bytes = NULL, *input_node = NULL;
    size_t length = 0;
    gbx_status status = file && prefix && index ? gbx_read_file(file, &bytes, &length, error)
                                                : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    Gbxtf__SavedModel *proto = NULL;
    if (status == GBX_OK &&
        !(proto = gbxtf__saved_model__unpack(NULL, length, (const uint8_t *)bytes)))
        status = gbx_fail(error, GBX_ERR_PARSE, "not a valid SavedModel (protobuf decoding failed)");
    free(bytes);
    loader L = {.path = directory, .error = error};
    const Gbxtf__SignatureDef *signature = NULL;
    if (status == GBX_OK && (!(L.meta = serving_graph(proto)) || !L.meta->graph_def))
        status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "no graph tagged \"serve\"");
    if (status == GBX_OK && !(signature = serving_signature(L.meta)))
        status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "no serving_default signature (and more "
                          "than one other)");
    struct stat info;
    if (status == GBX_OK && stat(index, &info) == 0)
        status = gbx_tensor_bundle_open(prefix, &L.bundle, error);
    if (status == GBX_OK && !(L.graph = gbx_nn_graph_new()))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status == GBX_OK) {
        L.graph->opset = 21;
        L.graph->from_tensorflow = 1;
        status = signature_input(&L, signature, &input_node);
    }
    if (status == GBX_OK) {
        L.input_node = input_node;
        status = build(&L, signature);
    }
    if (status == GBX_OK)
        status = version(directory, L.bundle ? gbx_tensor_bundle_shards(L.bundle) : 0,
                         model->sha256, error);
    if (proto) gbxtf__saved_model__free_unpacked(proto, NULL);
    loader_free(&L);
    free(input_node);
    free(file);
    free(prefix);
    free(index);
    if (status != GBX_OK) {
        gbx_nn_graph_free(L.graph);
        gbx_error_prefix(error, "%s: ", directory);
        free(directory);
        return status;
    }
    status = gbx_network_model_init(model, L.graph, directory, error);
    free(directory);
    return status;
}
