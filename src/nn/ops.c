/* The operator table: ONNX semantics (opsets 9 to 21), float32 data, int64 shapes and indices.
 * Each row names the op, its input/output counts, a load-time check that reads attributes into
 * node->params, and the forward function. Output shapes come from input shapes at run time. */
#include "graph.h"
#include "conv.h"
#include "einsum.h"
#include "space_batch.h"
#include "recurrent.h"
#include "../core/blas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------------ */

static int64_t attribute_int(const gbx_nn_node *node, const char *name, int64_t fallback)
{
    const gbx_nn_attribute *a = gbx_nn_attribute_find(node, name);
    return a && a->kind == GBX_NN_ATTRIBUTE_INT ? a->i : fallback;
}

static float attribute_float(const gbx_nn_node *node, const char *name, float fallback)
{
    const gbx_nn_attribute *a = gbx_nn_attribute_find(node, name);
    return a && a->kind == GBX_NN_ATTRIBUTE_FLOAT ? a->f : fallback;
}

static const char *attribute_string(const gbx_nn_node *node, const char *name, const char *fallback)
{
    const gbx_nn_attribute *a = gbx_nn_attribute_find(node, name);
    return a && a->kind == GBX_NN_ATTRIBUTE_STRING ? a->s : fallback;
}

/* Copies an INTS attribute into params.list; *present says whether it was there. */
static gbx_status keep_ints(gbx_nn_node *node, const char *name, int *present, gbx_error *error)
{
    const gbx_nn_attribute *a = gbx_nn_attribute_find(node, name);
    *present = a && a->kind == GBX_NN_ATTRIBUTE_INTS;
    if (!*present) return GBX_OK;
    node->params.list = gbx_malloc_array(a->count ? a->count : 1, sizeof(int64_t));
    if (!node->params.list) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    memcpy(node->params.list, a->ints, a->count * sizeof(int64_t));
    node->params.list_count = a->count;
    return GBX_OK;
}

static gbx_status need_float(const gbx_nn_tensor *t, const char *what, gbx_error *error)
{
    return t->type == GBX_NN_FLOAT ? GBX_OK
                                   : gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s must be float", what);
}

/* Axis in [-rank, rank) to [0, rank). */
static gbx_status normal_axis(int64_t axis, int rank, int *out, gbx_error *error)
{
    if (axis < -rank || axis >= rank)
        return gbx_fail(error, GBX_ERR_PARSE, "axis %lld is out of range for rank %d",
                        (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return GBX_OK;
}

static size_t product(const int64_t *dims, int from, int to)
{
    size_t p = 1;
    for (int d = from; d < to; d++) p *= (size_t)dims[d];
    return p;
}

/* Output takes the input's data unchanged under a new shape (Reshape, Flatten, Squeeze...). */
static gbx_status copy_reshaped(const gbx_nn_tensor *in, int rank, const int64_t *dims,
                                gbx_nn_tensor *out, gbx_error *error)
{
    gbx_status status = gbx_nn_tensor_alloc(out, in->type, rank, dims, error);
    if (status != GBX_OK) return status;
    if (out->count != in->count) {
        gbx_nn_tensor_release(out);
        return gbx_fail(error, GBX_ERR_PARSE, "cannot reshape %zu values into %zu", in->count,
                        out->count);
    }
    if (in->type == GBX_NN_FLOAT) memcpy(out->f, in->f, in->count * sizeof(float));
    else memcpy(out->i, in->i, in->count * sizeof(int64_t));
    return GBX_OK;
}

/* Reads an int64 tensor input into a list (shape, axes, starts...). */
static gbx_status read_ints(const gbx_nn_tensor *t, int64_t *out, size_t max, size_t *count,
                            gbx_error *error)
{
    if (t->type != GBX_NN_INT64) return gbx_fail(error, GBX_ERR_UNSUPPORTED, "an int64 input "
                                                 "holds float values");
    if (t->count > max) return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%zu values (at most %zu)",
                                        t->count, max);
    memcpy(out, t->i, t->count * sizeof(int64_t));
    *count = t->count;
    return GBX_OK;
}

/* Steps a multi-dimensional index (the last dimension fastest) over `rank` dimensions. */
static void advance(int64_t *counter, const int64_t *dims, int rank)
{
    for (int d = rank - 1; d >= 0; d--) {
        if (++counter[d] < dims[d]) return;
        counter[d] = 0;
    }
}

/* ---- broadcasting ------------------------------------------------------------------------- */

/* Numpy broadcasting of n shapes into out_dims; strides[i][d] steps input i along output
 * dimension d (0 where it is broadcast). */
static gbx_status broadcast(int n, gbx_nn_tensor *const *t, int *rank, int64_t *dims,
                            size_t strides[][GBX_NN_MAX_RANK], gbx_error *error)
{
    int r = 0;
    for (int i = 0; i < n; i++) if (t[i]->rank > r) r = t[i]->rank;
    for (int d = 0; d < r; d++) dims[d] = 1;
    for (int i = 0; i < n; i++)
        for (int d = 0; d < t[i]->rank; d++) {
            int64_t size = t[i]->dims[d], *target = &dims[r - t[i]->rank + d];
            if (size == *target || size == 1) continue;
            if (*target != 1)
                return gbx_fail(error, GBX_ERR_PARSE, "shapes do not broadcast: %lld against %lld",
                                (long long)size, (long long)*target);
            *target = size;
        }
    for (int i = 0; i < n; i++) {
        size_t stride = 1;
        for (int d = r - 1; d >= 0; d--) {
            int own = d - (r - t[i]->rank);
            if (own < 0 || t[i]->dims[own] == 1) {
                strides[i][d] = 0;
            } else {
                strides[i][d] = stride;
            }
            if (own >= 0) stride *= (size_t)t[i]->dims[own];
        }
    }
    *rank = r;
    return GBX_OK;
}

/* Walks the broadcast output row by row (the last dimension inner): calls fn with each input's
 * offset at the row start and its stride along the row. */
typedef void (*row_fn)(void *context, size_t out_offset, const size_t *offsets,
                       const size_t *inner_strides, size_t length);

static void broadcast_rows(int n, int rank, const int64_t *dims,
                           size_t strides[][GBX_NN_MAX_RANK], row_fn fn, void *context)
{
    size_t length = rank ? (size_t)dims[rank - 1] : 1, rows = rank ? product(dims, 0, rank - 1) : 1;
    size_t inner[4], offsets[4];
    int64_t counter[GBX_NN_MAX_RANK] = {0};
    for (int i = 0; i < n; i++) inner[i] = rank ? strides[i][rank - 1] : 0;
    if (length == 0) return;
    for (size_t row = 0; row < rows; row++) {
        for (int i = 0; i < n; i++) {
            offsets[i] = 0;
            for (int d = 0; d < rank - 1; d++) offsets[i] += (size_t)counter[d] * strides[i][d];
        }
        fn(context, row * length, offsets, inner, length);
        advance(counter, dims, rank - 1);
    }
}

/* ---- elementwise binary ------------------------------------------------------------------- */

enum { ADD, SUB, MUL, DIV, POW, EQUAL, LESS, GREATER, LESS_EQUAL, GREATER_EQUAL, MIN2, MAX2,
       MOD, FMOD, AND, OR, XOR };

typedef struct {
    int code;
    gbx_nn_tensor *const *in;
    gbx_nn_tensor *out;
} binary_context;

static void binary_float_row(void *context, size_t out_offset, const size_t *offsets,
                             const size_t *inner, size_t length)
{
    const binary_context *c = context;
    const float *a = c->in[0]->f + offsets[0], *b = c->in[1]->f + offsets[1];
    size_t sa = inner[0], sb = inner[1];
    if (c->out->type == GBX_NN_INT64) {
        int64_t *y = c->out->i + out_offset;
        for (size_t j = 0; j < length; j++) {
            float x = a[j * sa], z = b[j * sb];
            y[j] = c->code == EQUAL ? x == z : c->code == LESS ? x < z : c->code == GREATER ? x > z
                 : c->code == LESS_EQUAL ? x <= z : x >= z;
        }
        return;
    }
    float *y = c->out->f + out_offset;
    switch (c->code) {
    case ADD: for (size_t j = 0; j < length; j++) y[j] = a[j * sa] + b[j * sb]; break;
    case SUB: for (size_t j = 0; j < length; j++) y[j] = a[j * sa] - b[j * sb]; break;
    case MUL: for (size_t j = 0; j < length; j++) y[j] = a[j * sa] * b[j * sb]; break;
    case DIV: for (size_t j = 0; j < length; j++) y[j] = a[j * sa] / b[j * sb]; break;
    case POW: for (size_t j = 0; j < length; j++) y[j] = powf(a[j * sa], b[j * sb]); break;
    case MIN2: for (size_t j = 0; j < length; j++) y[j] = fminf(a[j * sa], b[j * sb]); break;
    case MAX2: for (size_t j = 0; j < length; j++) y[j] = fmaxf(a[j * sa], b[j * sb]); break;
    case FMOD: for (size_t j = 0; j < length; j++) y[j] = fmodf(a[j * sa], b[j * sb]); break;
    }
}

static void binary_int_row(void *context, size_t out_offset, const size_t *offsets,
                           const size_t *inner, size_t length)
{
    const binary_context *c = context;
    const int64_t *a = c->in[0]->i + offsets[0], *b = c->in[1]->i + offsets[1];
    int64_t *y = c->out->i + out_offset;
    for (size_t j = 0; j < length; j++) {
        int64_t x = a[j * inner[0]], z = b[j * inner[1]];
        switch (c->code) {
        case ADD: y[j] = (int64_t)((uint64_t)x + (uint64_t)z); break;
        case SUB: y[j] = (int64_t)((uint64_t)x - (uint64_t)z); break;
        case MUL: y[j] = (int64_t)((uint64_t)x * (uint64_t)z); break;
        case DIV: y[j] = z == 0 || (z == -1 && x == INT64_MIN) ? 0 : x / z; break;
        case EQUAL: y[j] = x == z; break;
        case LESS: y[j] = x < z; break;
        case GREATER: y[j] = x > z; break;
        case LESS_EQUAL: y[j] = x <= z; break;
        case GREATER_EQUAL: y[j] = x >= z; break;
        case MIN2: y[j] = x < z ? x : z; break;
        case MAX2: y[j] = x > z ? x : z; break;
        /* C's remainder takes the dividend's sign; Mod without fmod the divisor's (Python's). */
        case FMOD: y[j] = z == 0 || z == -1 ? 0 : x % z; break;
        case MOD: {
            int64_t rest = z == 0 || z == -1 ? 0 : x % z;
            y[j] = rest != 0 && (rest < 0) != (z < 0) ? rest + z : rest;
            break;
        }
        case AND: y[j] = x != 0 && z != 0; break;
        case OR: y[j] = x != 0 || z != 0; break;
        case XOR: y[j] = (x != 0) != (z != 0); break;
        default: y[j] = 0; break;
        }
    }
}

static gbx_status binary(int code, gbx_nn_tensor *const *in, gbx_nn_tensor **out, gbx_error *error)
{
    if (in[0]->type != in[1]->type)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "inputs of different types");
    if (code == POW && in[0]->type != GBX_NN_FLOAT)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "integer Pow");
    if (code == MOD && in[0]->type == GBX_NN_FLOAT)
        return gbx_fail(error, GBX_ERR_PARSE, "a float Mod needs fmod=1 (as the ONNX standard says)");
    if (code >= AND && in[0]->type == GBX_NN_FLOAT)
        return gbx_fail(error, GBX_ERR_PARSE, "And, Or and Xor take booleans, not floats");
    int rank;
    int64_t dims[GBX_NN_MAX_RANK];
    size_t strides[2][GBX_NN_MAX_RANK];
    gbx_status status = broadcast(2, in, &rank, dims, strides, error);
    if (status != GBX_OK) return status;
    int comparison = code >= EQUAL && code <= GREATER_EQUAL;
    if ((status = gbx_nn_tensor_alloc(out[0], comparison ? GBX_NN_INT64 : in[0]->type, rank, dims,
                                      error)) != GBX_OK)
        return status;
    binary_context context = {code, in, out[0]};
    broadcast_rows(2, rank, dims, strides, in[0]->type == GBX_NN_FLOAT ? binary_float_row
                                                                        : binary_int_row, &context);
    return GBX_OK;
}

#define BINARY_OP(fname, code)                                                                  \
    static gbx_status fname(const gbx_nn_node *node, gbx_nn_tensor *const *in,                  \
                            gbx_nn_tensor **out, gbx_error *error)                              \
    {                                                                                           \
        (void)node;                                                                             \
        return binary(code, in, out, error);                                                    \
    }
BINARY_OP(forward_add, ADD)
BINARY_OP(forward_sub, SUB)
BINARY_OP(forward_mul, MUL)
BINARY_OP(forward_div, DIV)
BINARY_OP(forward_pow, POW)
BINARY_OP(forward_equal, EQUAL)
BINARY_OP(forward_and, AND)
BINARY_OP(forward_or, OR)
BINARY_OP(forward_xor, XOR)
BINARY_OP(forward_less, LESS)
BINARY_OP(forward_greater, GREATER)
BINARY_OP(forward_less_equal, LESS_EQUAL)
BINARY_OP(forward_greater_equal, GREATER_EQUAL)

/* Min and Max take any number of inputs; folded pairwise. */
static gbx_status variadic(int code, const gbx_nn_node *node, gbx_nn_tensor *const *in,
                           gbx_nn_tensor **out, gbx_error *error)
{
    gbx_nn_tensor accumulator = *in[0];
    accumulator.borrowed = 1;
    for (int i = 1; i < node->input_count; i++) {
        gbx_nn_tensor next, *pair[2] = {&accumulator, in[i]}, *result = &next;
        gbx_status status = binary(code, pair, &result, error);
        gbx_nn_tensor_release(&accumulator);
        if (status != GBX_OK) return status;
        accumulator = next;
    }
    if (accumulator.borrowed) return copy_reshaped(in[0], in[0]->rank, in[0]->dims, out[0], error);
    *out[0] = accumulator;
    return GBX_OK;
}

static gbx_status forward_min(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                              gbx_nn_tensor **out, gbx_error *error)
{
    return variadic(MIN2, node, in, out, error);
}

static gbx_status forward_max(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                              gbx_nn_tensor **out, gbx_error *error)
{
    return variadic(MAX2, node, in, out, error);
}

/* ---- elementwise unary -------------------------------------------------------------------- */

enum { RELU, LEAKY_RELU, ELU, SELU, SIGMOID, TANH, SOFTPLUS, EXP, LOG, SQRT, NEG, ABS, ERF,
       GELU, GELU_TANH, RECIPROCAL, HARD_SIGMOID, FLOOR, CEIL, NOT };

static float sigmoid(float x)
{
    /* Split by sign so neither branch overflows. */
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

static gbx_status unary(int code, const gbx_nn_node *node, gbx_nn_tensor *const *in,
                        gbx_nn_tensor **out, gbx_error *error)
{
    if (code == NOT && in[0]->type == GBX_NN_INT64) {
        gbx_status status = gbx_nn_tensor_alloc(out[0], GBX_NN_INT64, in[0]->rank, in[0]->dims, error);
        for (size_t j = 0; status == GBX_OK && j < in[0]->count; j++) out[0]->i[j] = !in[0]->i[j];
        return status;
    }
    if (in[0]->type == GBX_NN_INT64 && (code == NEG || code == ABS)) {
        gbx_status status = gbx_nn_tensor_alloc(out[0], GBX_NN_INT64, in[0]->rank, in[0]->dims, error);
        for (size_t j = 0; status == GBX_OK && j < in[0]->count; j++) {
            int64_t v = in[0]->i[j];
            out[0]->i[j] = code == NEG || v < 0 ? (int64_t)(0 - (uint64_t)v) : v;
        }
        return status;
    }
    gbx_status status = need_float(in[0], "the input", error);
    if (status == GBX_OK)
        status = gbx_nn_tensor_alloc_unset(out[0], GBX_NN_FLOAT, in[0]->rank, in[0]->dims, error);
    if (status != GBX_OK) return status;
    const float *x = in[0]->f;
    float *y = out[0]->f, alpha = node->params.floats[0], gamma = node->params.floats[1];
    size_t n = in[0]->count;
    switch (code) {
    case RELU: for (size_t j = 0; j < n; j++) y[j] = x[j] > 0 ? x[j] : 0; break;
    case LEAKY_RELU: for (size_t j = 0; j < n; j++) y[j] = x[j] >= 0 ? x[j] : alpha * x[j]; break;
    case ELU: for (size_t j = 0; j < n; j++) y[j] = x[j] >= 0 ? x[j] : alpha * expm1f(x[j]); break;
    case SELU:
        for (size_t j = 0; j < n; j++) y[j] = gamma * (x[j] > 0 ? x[j] : alpha * expm1f(x[j]));
        break;
    case SIGMOID: for (size_t j = 0; j < n; j++) y[j] = sigmoid(x[j]); break;
    case TANH: for (size_t j = 0; j < n; j++) y[j] = tanhf(x[j]); break;
    case SOFTPLUS:
        for (size_t j = 0; j < n; j++) y[j] = x[j] > 0 ? x[j] + log1pf(expf(-x[j])) : log1pf(expf(x[j]));
        break;
    case EXP: for (size_t j = 0; j < n; j++) y[j] = expf(x[j]); break;
    case LOG: for (size_t j = 0; j < n; j++) y[j] = logf(x[j]); break;
    case SQRT: for (size_t j = 0; j < n; j++) y[j] = sqrtf(x[j]); break;
    case NEG: for (size_t j = 0; j < n; j++) y[j] = -x[j]; break;
    case ABS: for (size_t j = 0; j < n; j++) y[j] = fabsf(x[j]); break;
    case ERF: for (size_t j = 0; j < n; j++) y[j] = erff(x[j]); break;
    case GELU:
        for (size_t j = 0; j < n; j++) y[j] = 0.5f * x[j] * (1.0f + erff(x[j] * (float)M_SQRT1_2));
        break;
    case GELU_TANH:
        for (size_t j = 0; j < n; j++) {
            float v = x[j];
            y[j] = 0.5f * v * (1.0f + tanhf(0.7978845608f * (v + 0.044715f * v * v * v)));
        }
        break;
    case RECIPROCAL: for (size_t j = 0; j < n; j++) y[j] = 1.0f / x[j]; break;
    case HARD_SIGMOID:
        for (size_t j = 0; j < n; j++) y[j] = fmaxf(0.0f, fminf(1.0f, alpha * x[j] + gamma));
        break;
    case FLOOR: for (size_t j = 0; j < n; j++) y[j] = floorf(x[j]); break;
    case CEIL: for (size_t j = 0; j < n; j++) y[j] = ceilf(x[j]); break;
    case NOT: for (size_t j = 0; j < n; j++) y[j] = x[j] == 0; break;
    }
    return GBX_OK;
}

#define UNARY_OP(fname, code)                                                                   \
    static gbx_status fname(const gbx_nn_node *node, gbx_nn_tensor *const *in,                  \
                            gbx_nn_tensor **out, gbx_error *error)                              \
    {                                                                                           \
        return unary(code, node, in, out, error);                                               \
    }
UNARY_OP(forward_relu, RELU)
UNARY_OP(forward_leaky_relu, LEAKY_RELU)
UNARY_OP(forward_elu, ELU)
UNARY_OP(forward_selu, SELU)
UNARY_OP(forward_sigmoid, SIGMOID)
UNARY_OP(forward_tanh, TANH)
UNARY_OP(forward_softplus, SOFTPLUS)
UNARY_OP(forward_exp, EXP)
UNARY_OP(forward_log, LOG)
UNARY_OP(forward_sqrt, SQRT)
UNARY_OP(forward_neg, NEG)
UNARY_OP(forward_abs, ABS)
UNARY_OP(forward_erf, ERF)
UNARY_OP(forward_reciprocal, RECIPROCAL)
UNARY_OP(forward_hard_sigmoid, HARD_SIGMOID)
UNARY_OP(forward_floor, FLOOR)
UNARY_OP(forward_ceil, CEIL)
UNARY_OP(forward_not, NOT)

static gbx_status forward_gelu(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                               gbx_nn_tensor **out, gbx_error *error)
{
    return unary(node->params.ints[0] ? GELU_TANH : GELU, node, in, out, error);
}

static gbx_status check_alpha(gbx_nn_node *node, float alpha, float gamma)
{
    node->params.floats[0] = attribute_float(node, "alpha", alpha);
    node->params.floats[1] = attribute_float(node, "gamma", gamma);
    return GBX_OK;
}

static gbx_status check_leaky_relu(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph; (void)error;
    return check_alpha(node, 0.01f, 0);
}

static gbx_status check_elu(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph; (void)error;
    return check_alpha(node, 1.0f, 0);
}

static gbx_status check_selu(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph; (void)error;
    return check_alpha(node, 1.67326319217681884765625f, 1.05070102214813232421875f);
}

static gbx_status check_hard_sigmoid(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph; (void)error;
    node->params.floats[0] = attribute_float(node, "alpha", 0.2f);
    node->params.floats[1] = attribute_float(node, "beta", 0.5f);
    return GBX_OK;
}

static gbx_status check_gelu(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph;
    const char *approximate = attribute_string(node, "approximate", "none");
    if (strcmp(approximate, "none") && strcmp(approximate, "tanh"))
        return gbx_fail(error, GBX_ERR_PARSE, "approximate \"%s\" (none or tanh)", approximate);
    node->params.ints[0] = strcmp(approximate, "tanh") == 0;
    return GBX_OK;
}

/* Clip: bounds from attributes (opset < 11) or optional inputs. */
static gbx_status check_clip(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph; (void)error;
    node->params.floats[0] = attribute_float(node, "min", -INFINITY);
    node->params.floats[1] = attribute_float(node, "max", INFINITY);
    return GBX_OK;
}

static gbx_status forward_clip(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                               gbx_nn_tensor **out, gbx_error *error)
{
    float low = node->params.floats[0], high = node->params.floats[1];
    for (int b = 1; b <= 2; b++) {
        if (node->input_count <= b || !in[b]) continue;
        if (in[b]->type != GBX_NN_FLOAT || in[b]->count != 1)
            return gbx_fail(error, GBX_ERR_UNSUPPORTED, "Clip bounds must be float scalars");
        if (b == 1) low = in[b]->f[0];
        else high = in[b]->f[0];
    }
    gbx_status status = need_float(in[0], "the input", error);
    if (status == GBX_OK)
        status = gbx_nn_tensor_alloc(out[0], GBX_NN_FLOAT, in[0]->rank, in[0]->dims, error);
    for (size_t j = 0; status == GBX_OK && j < in[0]->count; j++)
        out[0]->f[j] = fminf(fmaxf(in[0]->f[j], low), high);
    return status;
}

/* ---- Identity, Dropout, Cast ------------------------------------------------------------- */

static gbx_status forward_identity(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                   gbx_nn_tensor **out, gbx_error *error)
{
    gbx_status status = copy_reshaped(in[0], in[0]->rank, in[0]->dims, out[0], error);
    /* Dropout's optional mask: all ones at inference. */
    if (status == GBX_OK && node->output_count > 1 && out[1]) {
        status = gbx_nn_tensor_alloc(out[1], GBX_NN_INT64, in[0]->rank, in[0]->dims, error);
        for (size_t j = 0; status == GBX_OK && j < out[1]->count; j++) out[1]->i[j] = 1;
    }
    return status;
}

enum { ONNX_FLOAT = 1, ONNX_INT32 = 6, ONNX_INT64 = 7, ONNX_BOOL = 9, ONNX_DOUBLE = 11 };

static gbx_status check_cast(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph;
    int64_t to = attribute_int(node, "to", 0);
    if (to == ONNX_FLOAT || to == ONNX_DOUBLE) node->params.ints[0] = GBX_NN_FLOAT;
    else if (to == ONNX_INT64 || to == ONNX_INT32 || to == ONNX_BOOL) node->params.ints[0] = GBX_NN_INT64;
    else return gbx_fail(error, GBX_ERR_UNSUPPORTED, "cast to ONNX type %lld", (long long)to);
    node->params.ints[1] = to == ONNX_BOOL;
    return GBX_OK;
}

static gbx_status forward_cast(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                               gbx_nn_tensor **out, gbx_error *error)
{
    gbx_nn_type to = (gbx_nn_type)node->params.ints[0];
    int to_bool = (int)node->params.ints[1];
    gbx_status status = gbx_nn_tensor_alloc(out[0], to, in[0]->rank, in[0]->dims, error);
    for (size_t j = 0; status == GBX_OK && j < in[0]->count; j++) {
        if (to == GBX_NN_FLOAT)
            out[0]->f[j] = in[0]->type == GBX_NN_FLOAT ? in[0]->f[j] : (float)in[0]->i[j];
        else if (in[0]->type == GBX_NN_INT64)
            out[0]->i[j] = to_bool ? in[0]->i[j] != 0 : in[0]->i[j];
        else if (to_bool)
            out[0]->i[j] = in[0]->f[j] != 0;
        else if (!(fabsf(in[0]->f[j]) < 9.2e18f)) /* NaN or beyond int64 */
            return gbx_fail(error, GBX_ERR_PARSE, "cannot cast %g to an integer", in[0]->f[j]);
        else
            out[0]->i[j] = (int64_t)in[0]->f[j];
    }
    return status;
}

/* ---- Gemm and MatMul ---------------------------------------------------------------------- */

static gbx_status check_gemm(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph; (void)error;
    node->params.floats[0] = attribute_float(node, "alpha", 1.0f);
    node->params.floats[1] = attribute_float(node, "beta", 1.0f);
    node->params.ints[0] = attribute_int(node, "transA", 0);
    node->params.ints[1] = attribute_int(node, "transB", 0);
    return GBX_OK;
}

static gbx_status forward_gemm(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                               gbx_nn_tensor **out, gbx_error *error)
{
    const gbx_nn_tensor *A = in[0], *B = in[1];
    gbx_nn_tensor *C = node->input_count > 2 ? in[2] : NULL;
    if (A->type != GBX_NN_FLOAT || B->type != GBX_NN_FLOAT || A->rank != 2 || B->rank != 2)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "Gemm takes two float matrices");
    int transA = (int)node->params.ints[0], transB = (int)node->params.ints[1];
    int64_t M = transA ? A->dims[1] : A->dims[0], K = transA ? A->dims[0] : A->dims[1];
    int64_t KB = transB ? B->dims[1] : B->dims[0], N = transB ? B->dims[0] : B->dims[1];
    if (K != KB)
        return gbx_fail(error, GBX_ERR_PARSE, "inner dimensions differ: %lld and %lld",
                        (long long)K, (long long)KB);
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "a matrix too large for BLAS");
    int64_t dims[2] = {M, N};
    gbx_status status = gbx_nn_tensor_alloc(out[0], GBX_NN_FLOAT, 2, dims, error);
    if (status != GBX_OK) return status;
    float beta = 0.0f;
    if (C && node->params.floats[1] != 0.0f) {
        gbx_nn_tensor *pair[2] = {out[0], C};
        int rank;
        int64_t bdims[GBX_NN_MAX_RANK];
        size_t strides[2][GBX_NN_MAX_RANK];
        if ((status = need_float(C, "C", error)) != GBX_OK ||
            (status = broadcast(2, pair, &rank, bdims, strides, error)) != GBX_OK)
            return status;
        if (rank != 2 || bdims[0] != M || bdims[1] != N)
            return gbx_fail(error, GBX_ERR_PARSE, "C does not broadcast to the output");
        for (int64_t r = 0; r < M; r++)
            for (int64_t c = 0; c < N; c++)
                out[0]->f[r * N + c] = node->params.floats[1] *
                                       C->f[(size_t)r * strides[1][0] + (size_t)c * strides[1][1]];
        beta = 1.0f;
    }
    if (M && N)
        gbx_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
                    node->params.floats[0], A->f, (int)A->dims[1], B->f, (int)B->dims[1], beta,
                    out[0]->f, (int)N);
    return GBX_OK;
}

static gbx_status forward_matmul(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                 gbx_nn_tensor **out, gbx_error *error)
{
    (void)node;
    gbx_nn_tensor A = *in[0], B = *in[1];
    if (A.type != GBX_NN_FLOAT || B.type != GBX_NN_FLOAT || A.rank < 1 || B.rank < 1)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "MatMul takes float tensors of rank >= 1");
    /* numpy: a vector on the left is a row, on the right a column; both dropped after. */
    int vector_a = A.rank == 1, vector_b = B.rank == 1;
    if (vector_a) { A.dims[1] = A.dims[0]; A.dims[0] = 1; A.rank = 2; }
    if (vector_b) { B.dims[1] = 1; B.rank = 2; }
    int64_t M = A.dims[A.rank - 2], K = A.dims[A.rank - 1], N = B.dims[B.rank - 1];
    if (B.dims[B.rank - 2] != K)
        return gbx_fail(error, GBX_ERR_PARSE, "inner dimensions differ: %lld and %lld",
                        (long long)K, (long long)B.dims[B.rank - 2]);
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "a matrix too large for BLAS");
    /* Broadcast the batch dimensions (all but the last two). */
    gbx_nn_tensor batch_a = A, batch_b = B;
    batch_a.rank = A.rank - 2;
    batch_b.rank = B.rank - 2;
    gbx_nn_tensor *pair[2] = {&batch_a, &batch_b};
    int rank;
    int64_t dims[GBX_NN_MAX_RANK];
    size_t strides[2][GBX_NN_MAX_RANK];
    gbx_status status = broadcast(2, pair, &rank, dims, strides, error);
    if (status != GBX_OK) return status;
    if (rank + 2 > GBX_NN_MAX_RANK) return gbx_fail(error, GBX_ERR_UNSUPPORTED, "rank too high");
    size_t batches = product(dims, 0, rank);
    int out_rank = rank;
    if (!vector_a) dims[out_rank++] = M;
    if (!vector_b) dims[out_rank++] = N;
    if ((status = gbx_nn_tensor_alloc(out[0], GBX_NN_FLOAT, out_rank, dims, error)) != GBX_OK)
        return status;
    if (!M || !N) return GBX_OK;
    if (batch_b.rank == 0 && batch_a.rank > 0 && !vector_a) {
        /* One weight matrix for every batch: a single tall GEMM. */
        size_t rows = batches * (size_t)M;
        if (rows <= INT32_MAX) {
            gbx_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)N, (int)K, 1.0f,
                        A.f, (int)K, B.f, (int)N, 0.0f, out[0]->f, (int)N);
            return GBX_OK;
        }
    }
    int64_t counter[GBX_NN_MAX_RANK] = {0};
    for (size_t b = 0; b < batches; b++) {
        size_t offset_a = 0, offset_b = 0;
        for (int d = 0; d < rank; d++) {
            offset_a += (size_t)counter[d] * strides[0][d];
            offset_b += (size_t)counter[d] * strides[1][d];
        }
        gbx_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0f,
                    A.f + offset_a * (size_t)(M * K), (int)K, B.f + offset_b * (size_t)(K * N),
                    (int)N, 0.0f, out[0]->f + b * (size_t)(M * N), (int)N);
        advance(counter, dims, rank);
    }
    return GBX_OK;
}

/* ---- Softmax, LogSoftmax ------------------------------------------------------------------ */

static gbx_status check_softmax(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)error;
    /* Before opset 13 the input is flattened to 2-D at axis (default 1); from 13 one axis
     * (default -1). */
    int legacy = graph->opset < 13;
    node->params.ints[0] = attribute_int(node, "axis", legacy ? 1 : -1);
    node->params.ints[1] = legacy;
    return GBX_OK;
}

static gbx_status softmax(const gbx_nn_node *node, gbx_nn_tensor *const *in, gbx_nn_tensor **out,
                          int logarithm, gbx_error *error)
{
    int axis = 0;
    gbx_status status = need_float(in[0], "the input", error);
    if (status == GBX_OK) status = normal_axis(node->params.ints[0], in[0]->rank, &axis, error);
    if (status == GBX_OK)
        status = gbx_nn_tensor_alloc(out[0], GBX_NN_FLOAT, in[0]->rank, in[0]->dims, error);
    if (status != GBX_OK) return status;
    size_t outer = product(in[0]->dims, 0, axis), length, inner;
    if (node->params.ints[1]) {
        length = product(in[0]->dims, axis, in[0]->rank);
        inner = 1;
    } else {
        length = (size_t)in[0]->dims[axis];
        inner = product(in[0]->dims, axis + 1, in[0]->rank);
    }
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            const float *x = in[0]->f + o * length * inner + i;
            float *y = out[0]->f + o * length * inner + i;
            float high = -INFINITY;
            for (size_t j = 0; j < length; j++) high = fmaxf(high, x[j * inner]);
            float sum = 0;
            for (size_t j = 0; j < length; j++) {
                y[j * inner] = expf(x[j * inner] - high);
                sum += y[j * inner];
            }
            for (size_t j = 0; j < length; j++)
                y[j * inner] = logarithm ? x[j * inner] - high - logf(sum) : y[j * inner] / sum;
        }
    return GBX_OK;
}

static gbx_status forward_softmax(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                  gbx_nn_tensor **out, gbx_error *error)
{
    return softmax(node, in, out, 0, error);
}

static gbx_status forward_log_softmax(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                      gbx_nn_tensor **out, gbx_error *error)
{
    return softmax(node, in, out, 1, error);
}

/* ---- shape operators ---------------------------------------------------------------------- */

static gbx_status check_axis(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph; (void)error;
    node->params.ints[0] = attribute_int(node, "axis", 1);
    return GBX_OK;
}

static gbx_status forward_flatten(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                  gbx_nn_tensor **out, gbx_error *error)
{
    int64_t axis = node->params.ints[0];
    if (axis < 0) axis += in[0]->rank;
    if (axis < 0 || axis > in[0]->rank)
        return gbx_fail(error, GBX_ERR_PARSE, "axis %lld is out of range",
                        (long long)node->params.ints[0]);
    int64_t dims[2] = {(int64_t)product(in[0]->dims, 0, (int)axis),
                       (int64_t)product(in[0]->dims, (int)axis, in[0]->rank)};
    return copy_reshaped(in[0], 2, dims, out[0], error);
}

static gbx_status check_reshape(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph; (void)error;
    node->params.ints[0] = attribute_int(node, "allowzero", 0);
    return GBX_OK;
}

static gbx_status forward_reshape(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                  gbx_nn_tensor **out, gbx_error *error)
{
    int64_t dims[GBX_NN_MAX_RANK];
    size_t rank = 0;
    gbx_status status = read_ints(in[1], dims, GBX_NN_MAX_RANK, &rank, error);
    if (status != GBX_OK) return status;
    int infer = -1;
    size_t known = 1;
    for (size_t d = 0; d < rank; d++) {
        if (dims[d] == 0 && !node->params.ints[0]) {
            if ((int)d >= in[0]->rank) return gbx_fail(error, GBX_ERR_PARSE, "shape 0 copies a "
                                                       "dimension the input lacks");
            dims[d] = in[0]->dims[d];
        }
        if (dims[d] == -1) {
            if (infer >= 0) return gbx_fail(error, GBX_ERR_PARSE, "two -1 in a shape");
            infer = (int)d;
        } else if (dims[d] < 0) {
            return gbx_fail(error, GBX_ERR_PARSE, "negative dimension %lld", (long long)dims[d]);
        } else {
            known *= (size_t)dims[d];
        }
    }
    if (infer >= 0) {
        if (known == 0 || in[0]->count % known)
            return gbx_fail(error, GBX_ERR_PARSE, "cannot reshape %zu values with a -1",
                            in[0]->count);
        dims[infer] = (int64_t)(in[0]->count / known);
    }
    return copy_reshaped(in[0], (int)rank, dims, out[0], error);
}

static gbx_status check_transpose(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph;
    int present;
    return keep_ints(node, "perm", &present, error);
}

static gbx_status transpose_perm(const gbx_nn_node *node, int rank, int *perm, gbx_error *error)
{
    int seen[GBX_NN_MAX_RANK] = {0};
    if (node->params.list && node->params.list_count != (size_t)rank)
        return gbx_fail(error, GBX_ERR_PARSE, "perm has %zu axes for rank %d",
                        node->params.list_count, rank);
    for (int d = 0; d < rank; d++) {
        int64_t p = node->params.list ? node->params.list[d] : rank - 1 - d;
        if (p < 0 || p >= rank || seen[p]++)
            return gbx_fail(error, GBX_ERR_PARSE, "perm is not a permutation");
        perm[d] = (int)p;
    }
    return GBX_OK;
}

static gbx_status forward_transpose(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                    gbx_nn_tensor **out, gbx_error *error)
{
    int rank = in[0]->rank, perm[GBX_NN_MAX_RANK];
    gbx_status status = transpose_perm(node, rank, perm, error);
    if (status != GBX_OK) return status;
    int64_t dims[GBX_NN_MAX_RANK];
    size_t in_strides[GBX_NN_MAX_RANK], stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
        in_strides[d] = stride;
        stride *= (size_t)in[0]->dims[d];
    }
    for (int d = 0; d < rank; d++) dims[d] = in[0]->dims[perm[d]];
    status = gbx_nn_tensor_alloc(out[0], in[0]->type, rank, dims, error);
    if (status != GBX_OK || out[0]->count == 0) return status;
    int64_t counter[GBX_NN_MAX_RANK] = {0};
    for (size_t j = 0; j < out[0]->count; j++) {
        size_t source = 0;
        for (int d = 0; d < rank; d++) source += (size_t)counter[d] * in_strides[perm[d]];
        if (in[0]->type == GBX_NN_FLOAT) out[0]->f[j] = in[0]->f[source];
        else out[0]->i[j] = in[0]->i[source];
        advance(counter, dims, rank);
    }
    return GBX_OK;
}

/* Squeeze/Unsqueeze/Reduce*: axes from the attribute (older opsets) or the second input. */
static gbx_status check_axes(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph;
    node->params.ints[0] = attribute_int(node, "keepdims", 1);
    node->params.ints[1] = attribute_int(node, "noop_with_empty_axes", 0);
    int present;
    gbx_status status = keep_ints(node, "axes", &present, error);
    node->params.ints[2] = present;
    return status;
}

static gbx_status axes_of(const gbx_nn_node *node, gbx_nn_tensor *const *in, int64_t *axes,
                          size_t *count, gbx_error *error)
{
    *count = 0;
    if (node->params.ints[2]) {
        if (node->params.list_count > GBX_NN_MAX_RANK)
            return gbx_fail(error, GBX_ERR_PARSE, "too many axes");
        memcpy(axes, node->params.list, node->params.list_count * sizeof(int64_t));
        *count = node->params.list_count;
        return GBX_OK;
    }
    if (node->input_count > 1 && in[1]) return read_ints(in[1], axes, GBX_NN_MAX_RANK, count, error);
    return GBX_OK;
}

static gbx_status forward_squeeze(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                  gbx_nn_tensor **out, gbx_error *error)
{
    int64_t axes[GBX_NN_MAX_RANK], dims[GBX_NN_MAX_RANK];
    size_t count = 0;
    gbx_status status = axes_of(node, in, axes, &count, error);
    if (status != GBX_OK) return status;
    int drop[GBX_NN_MAX_RANK] = {0}, rank = 0;
    for (size_t a = 0; a < count; a++) {
        int axis = 0;
        if ((status = normal_axis(axes[a], in[0]->rank, &axis, error)) != GBX_OK) return status;
        if (in[0]->dims[axis] != 1)
            return gbx_fail(error, GBX_ERR_PARSE, "axis %d has size %lld, not 1", axis,
                            (long long)in[0]->dims[axis]);
        drop[axis] = 1;
    }
    for (int d = 0; d < in[0]->rank; d++)
        if (!(count ? drop[d] : in[0]->dims[d] == 1)) dims[rank++] = in[0]->dims[d];
    return copy_reshaped(in[0], rank, dims, out[0], error);
}

static gbx_status forward_unsqueeze(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                    gbx_nn_tensor **out, gbx_error *error)
{
    int64_t axes[GBX_NN_MAX_RANK], dims[GBX_NN_MAX_RANK];
    size_t count = 0;
    gbx_status status = axes_of(node, in, axes, &count, error);
    if (status != GBX_OK) return status;
    int rank = in[0]->rank + (int)count, inserted[GBX_NN_MAX_RANK] = {0};
    if (rank > GBX_NN_MAX_RANK) return gbx_fail(error, GBX_ERR_UNSUPPORTED, "rank too high");
    for (size_t a = 0; a < count; a++) {
        int axis = 0;
        if ((status = normal_axis(axes[a], rank, &axis, error)) != GBX_OK) return status;
        if (inserted[axis]++) return gbx_fail(error, GBX_ERR_PARSE, "axis %d given twice", axis);
    }
    for (int d = 0, source = 0; d < rank; d++) dims[d] = inserted[d] ? 1 : in[0]->dims[source++];
    return copy_reshaped(in[0], rank, dims, out[0], error);
}

static gbx_status forward_concat(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                 gbx_nn_tensor **out, gbx_error *error)
{
    int axis = 0;
    gbx_status status = normal_axis(node->params.ints[0], in[0]->rank, &axis, error);
    if (status != GBX_OK) return status;
    int64_t dims[GBX_NN_MAX_RANK];
    memcpy(dims, in[0]->dims, sizeof dims);
    dims[axis] = 0;
    for (int i = 0; i < node->input_count; i++) {
        if (in[i]->type != in[0]->type || in[i]->rank != in[0]->rank)
            return gbx_fail(error, GBX_ERR_PARSE, "inputs differ in type or rank");
        for (int d = 0; d < in[0]->rank; d++)
            if (d != axis && in[i]->dims[d] != in[0]->dims[d])
                return gbx_fail(error, GBX_ERR_PARSE, "inputs differ in dimension %d", d);
        dims[axis] += in[i]->dims[axis];
    }
    if ((status = gbx_nn_tensor_alloc(out[0], in[0]->type, in[0]->rank, dims, error)) != GBX_OK)
        return status;
    size_t outer = product(dims, 0, axis), inner = product(dims, axis + 1, in[0]->rank),
           width = sizeof(float), offset = 0, row = (size_t)dims[axis] * inner;
    if (in[0]->type == GBX_NN_INT64) width = sizeof(int64_t);
    char *target = in[0]->type == GBX_NN_FLOAT ? (char *)out[0]->f : (char *)out[0]->i;
    for (int i = 0; i < node->input_count; i++) {
        size_t part = (size_t)in[i]->dims[axis] * inner;
        const char *source = in[0]->type == GBX_NN_FLOAT ? (const char *)in[i]->f
                                                          : (const char *)in[i]->i;
        for (size_t o = 0; o < outer && part; o++)
            memcpy(target + (o * row + offset) * width, source + o * part * width, part * width);
        offset += part;
    }
    return GBX_OK;
}

static gbx_status check_shape(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph; (void)error;
    node->params.ints[0] = attribute_int(node, "start", 0);
    node->params.ints[1] = attribute_int(node, "end", INT64_MAX);
    return GBX_OK;
}

static gbx_status forward_shape(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                gbx_nn_tensor **out, gbx_error *error)
{
    int64_t rank = in[0]->rank, start = node->params.ints[0], end = node->params.ints[1];
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = start < 0 ? 0 : start > rank ? rank : start;
    end = end < start ? start : end > rank ? rank : end;
    int64_t count = end - start;
    gbx_status status = gbx_nn_tensor_alloc(out[0], GBX_NN_INT64, 1, &count, error);
    for (int64_t d = 0; status == GBX_OK && d < count; d++) out[0]->i[d] = in[0]->dims[start + d];
    return status;
}

static gbx_status check_constant_of_shape(gbx_nn_node *node, const gbx_nn_graph *graph,
                                          gbx_error *error)
{
    (void)graph;
    const gbx_nn_attribute *value = gbx_nn_attribute_find(node, "value");
    node->params.ints[0] = GBX_NN_FLOAT;
    if (!value) return GBX_OK;
    if (value->kind != GBX_NN_ATTRIBUTE_TENSOR || value->t.count != 1)
        return gbx_fail(error, GBX_ERR_PARSE, "value must be a one-element tensor");
    node->params.ints[0] = value->t.type;
    if (value->t.type == GBX_NN_FLOAT) node->params.floats[0] = value->t.f[0];
    else node->params.ints[1] = value->t.i[0];
    return GBX_OK;
}

static gbx_status forward_constant_of_shape(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                            gbx_nn_tensor **out, gbx_error *error)
{
    int64_t dims[GBX_NN_MAX_RANK];
    size_t rank = 0;
    gbx_status status = read_ints(in[0], dims, GBX_NN_MAX_RANK, &rank, error);
    if (status == GBX_OK)
        status = gbx_nn_tensor_alloc(out[0], (gbx_nn_type)node->params.ints[0], (int)rank, dims, error);
    for (size_t j = 0; status == GBX_OK && j < out[0]->count; j++) {
        if (out[0]->type == GBX_NN_FLOAT) out[0]->f[j] = node->params.floats[0];
        else out[0]->i[j] = node->params.ints[1];
    }
    return status;
}

typedef struct {
    gbx_nn_tensor *const *in;
    gbx_nn_tensor *out;
    int first; /* index in `in` of the first data input (Where: 1) */
} select_context;

static void expand_row(void *context, size_t out_offset, const size_t *offsets,
                       const size_t *inner, size_t length)
{
    const select_context *c = context;
    const gbx_nn_tensor *x = c->in[0];
    for (size_t j = 0; j < length; j++) {
        if (x->type == GBX_NN_FLOAT) c->out->f[out_offset + j] = x->f[offsets[0] + j * inner[0]];
        else c->out->i[out_offset + j] = x->i[offsets[0] + j * inner[0]];
    }
}

static gbx_status forward_expand(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                 gbx_nn_tensor **out, gbx_error *error)
{
    (void)node;
    gbx_nn_tensor shape = {0};
    size_t rank = 0;
    gbx_status status = read_ints(in[1], shape.dims, GBX_NN_MAX_RANK, &rank, error);
    if (status != GBX_OK) return status;
    shape.rank = (int)rank;
    gbx_nn_tensor *pair[2] = {in[0], &shape};
    int out_rank;
    int64_t dims[GBX_NN_MAX_RANK];
    size_t strides[2][GBX_NN_MAX_RANK];
    if ((status = broadcast(2, pair, &out_rank, dims, strides, error)) != GBX_OK ||
        (status = gbx_nn_tensor_alloc(out[0], in[0]->type, out_rank, dims, error)) != GBX_OK)
        return status;
    select_context context = {in, out[0], 0};
    broadcast_rows(1, out_rank, dims, strides, expand_row, &context);
    return GBX_OK;
}

static void where_row(void *context, size_t out_offset, const size_t *offsets,
                      const size_t *inner, size_t length)
{
    const select_context *c = context;
    const gbx_nn_tensor *condition = c->in[0], *x = c->in[1], *y = c->in[2];
    for (size_t j = 0; j < length; j++) {
        int take_x = condition->i[offsets[0] + j * inner[0]] != 0;
        size_t source = take_x ? offsets[1] + j * inner[1] : offsets[2] + j * inner[2];
        if (x->type == GBX_NN_FLOAT) c->out->f[out_offset + j] = take_x ? x->f[source] : y->f[source];
        else c->out->i[out_offset + j] = take_x ? x->i[source] : y->i[source];
    }
}

static gbx_status forward_where(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                gbx_nn_tensor **out, gbx_error *error)
{
    (void)node;
    if (in[0]->type != GBX_NN_INT64 || in[1]->type != in[2]->type)
        return gbx_fail(error, GBX_ERR_PARSE, "Where takes a bool condition and two inputs of "
                        "one type");
    int rank;
    int64_t dims[GBX_NN_MAX_RANK];
    size_t strides[3][GBX_NN_MAX_RANK];
    gbx_status status = broadcast(3, in, &rank, dims, strides, error);
    if (status == GBX_OK) status = gbx_nn_tensor_alloc(out[0], in[1]->type, rank, dims, error);
    if (status != GBX_OK) return status;
    select_context context = {in, out[0], 1};
    broadcast_rows(3, rank, dims, strides, where_row, &context);
    return GBX_OK;
}

static gbx_status check_gather(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph; (void)error;
    node->params.ints[0] = attribute_int(node, "axis", 0);
    return GBX_OK;
}

static gbx_status forward_gather(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                 gbx_nn_tensor **out, gbx_error *error)
{
    const gbx_nn_tensor *data = in[0], *indices = in[1];
    int axis = 0;
    gbx_status status = normal_axis(node->params.ints[0], data->rank, &axis, error);
    if (status != GBX_OK) return status;
    if (indices->type != GBX_NN_INT64)
        return gbx_fail(error, GBX_ERR_PARSE, "indices must be integers");
    int rank = data->rank - 1 + indices->rank;
    if (rank > GBX_NN_MAX_RANK) return gbx_fail(error, GBX_ERR_UNSUPPORTED, "rank too high");
    int64_t dims[GBX_NN_MAX_RANK];
    int r = 0;
    for (int d = 0; d < axis; d++) dims[r++] = data->dims[d];
    for (int d = 0; d < indices->rank; d++) dims[r++] = indices->dims[d];
    for (int d = axis + 1; d < data->rank; d++) dims[r++] = data->dims[d];
    if ((status = gbx_nn_tensor_alloc(out[0], data->type, rank, dims, error)) != GBX_OK)
        return status;
    size_t outer = product(data->dims, 0, axis), inner = product(data->dims, axis + 1, data->rank);
    int64_t size = data->dims[axis];
    for (size_t o = 0; o < outer; o++)
        for (size_t k = 0; k < indices->count; k++) {
            int64_t index = indices->i[k];
            if (index < 0) index += size;
            if (index < 0 || index >= size)
                return gbx_fail(error, GBX_ERR_PARSE, "index %lld is out of range for size %lld",
                                (long long)indices->i[k], (long long)size);
            size_t source = (o * (size_t)size + (size_t)index) * inner,
                   target = (o * indices->count + k) * inner;
            if (data->type == GBX_NN_FLOAT)
                memcpy(out[0]->f + target, data->f + source, inner * sizeof(float));
            else
                memcpy(out[0]->i + target, data->i + source, inner * sizeof(int64_t));
        }
    return GBX_OK;
}

/* Slice: starts/ends/axes as attributes before opset 10, then as inputs (with steps). */
static gbx_status check_slice(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    node->params.ints[0] = graph->opset < 10;
    if (graph->opset >= 10 && node->input_count < 3)
        return gbx_fail(error, GBX_ERR_PARSE, "starts and ends inputs are required");
    return GBX_OK;
}

static gbx_status slice_lists(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                              int64_t lists[4][GBX_NN_MAX_RANK], size_t *count, gbx_error *error)
{
    size_t counts[4] = {0, 0, 0, 0};
    const char *names[3] = {"starts", "ends", "axes"};
    for (int l = 0; l < 4; l++) {
        if (node->params.ints[0]) {
            const gbx_nn_attribute *a = l < 3 ? gbx_nn_attribute_find(node, names[l]) : NULL;
            if (!a) continue;
            if (a->kind != GBX_NN_ATTRIBUTE_INTS || a->count > GBX_NN_MAX_RANK)
                return gbx_fail(error, GBX_ERR_PARSE, "%s must list at most %d integers",
                                names[l], GBX_NN_MAX_RANK);
            memcpy(lists[l], a->ints, a->count * sizeof(int64_t));
            counts[l] = a->count;
        } else if (node->input_count > l + 1 && in[l + 1]) {
            gbx_status status = read_ints(in[l + 1], lists[l], GBX_NN_MAX_RANK, &counts[l], error);
            if (status != GBX_OK) return status;
        }
    }
    if (counts[1] != counts[0] || (counts[2] && counts[2] != counts[0]) ||
        (counts[3] && counts[3] != counts[0]))
        return gbx_fail(error, GBX_ERR_PARSE, "starts, ends, axes and steps differ in length");
    for (size_t k = 0; k < counts[0]; k++) {
        if (!counts[2]) lists[2][k] = (int64_t)k;
        if (!counts[3]) lists[3][k] = 1;
    }
    *count = counts[0];
    return GBX_OK;
}

/* Where each output position of a Slice reads: start and step per axis, and the output dims. */
static gbx_status slice_plan(const gbx_nn_node *node, gbx_nn_tensor *const *in, int64_t *start,
                             int64_t *step, int64_t *dims, gbx_error *error)
{
    int64_t lists[4][GBX_NN_MAX_RANK];
    size_t count = 0;
    gbx_status status = slice_lists(node, in, lists, &count, error);
    if (status != GBX_OK) return status;
    const gbx_nn_tensor *x = in[0];
    int rank = x->rank;
    for (int d = 0; d < rank; d++) {
        start[d] = 0;
        step[d] = 1;
        dims[d] = x->dims[d];
    }
    for (size_t k = 0; k < count; k++) {
        int axis = 0;
        if ((status = normal_axis(lists[2][k], rank, &axis, error)) != GBX_OK) return status;
        int64_t size = x->dims[axis], s = lists[0][k], e = lists[1][k], p = lists[3][k];
        if (p == 0) return gbx_fail(error, GBX_ERR_PARSE, "a slice step of 0");
        if (p == INT64_MIN) p = -INT64_MAX;
        if (s < 0) s += size;
        if (e < 0 && e > INT64_MIN / 2) e += size;
        if (p > 0) {
            s = s < 0 ? 0 : s > size ? size : s;
            e = e < 0 ? 0 : e > size ? size : e;
            dims[axis] = e > s ? (e - s - 1) / p + 1 : 0;
        } else {
            s = s < 0 ? -1 : s > size - 1 ? size - 1 : s;
            e = e < -1 ? -1 : e > size - 1 ? size - 1 : e;
            dims[axis] = s > e ? (s - e - 1) / -p + 1 : 0;
        }
        start[axis] = s;
        step[axis] = p;
    }
    return GBX_OK;
}

/* Calls visit(j, source) for every output position j of a Slice and the input position it reads. */
static void slice_walk(const gbx_nn_tensor *x, const int64_t *start, const int64_t *step,
                       const int64_t *dims, size_t count,
                       void (*visit)(void *context, size_t j, size_t source), void *context)
{
    int rank = x->rank;
    size_t strides[GBX_NN_MAX_RANK], stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
        strides[d] = stride;
        stride *= (size_t)x->dims[d];
    }
    int64_t counter[GBX_NN_MAX_RANK] = {0};
    for (size_t j = 0; j < count; j++) {
        size_t source = 0;
        for (int d = 0; d < rank; d++)
            source += (size_t)(start[d] + counter[d] * step[d]) * strides[d];
        visit(context, j, source);
        advance(counter, dims, rank);
    }
}

typedef struct {
    const gbx_nn_tensor *from;
    gbx_nn_tensor *to;
} copy_context;

static void slice_copy(void *context, size_t j, size_t source)
{
    copy_context *c = context;
    if (c->from->type == GBX_NN_FLOAT) c->to->f[j] = c->from->f[source];
    else c->to->i[j] = c->from->i[source];
}

static gbx_status forward_slice(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                gbx_nn_tensor **out, gbx_error *error)
{
    int64_t start[GBX_NN_MAX_RANK], step[GBX_NN_MAX_RANK], dims[GBX_NN_MAX_RANK];
    gbx_status status = slice_plan(node, in, start, step, dims, error);
    if (status != GBX_OK) return status;
    const gbx_nn_tensor *x = in[0];
    if ((status = gbx_nn_tensor_alloc(out[0], x->type, x->rank, dims, error)) != GBX_OK)
        return status;
    copy_context context = {x, out[0]};
    slice_walk(x, start, step, dims, out[0]->count, slice_copy, &context);
    return GBX_OK;
}

static gbx_status forward_tile(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                               gbx_nn_tensor **out, gbx_error *error)
{
    (void)node;
    const gbx_nn_tensor *x = in[0];
    int64_t repeats[GBX_NN_MAX_RANK], dims[GBX_NN_MAX_RANK];
    size_t count = 0;
    gbx_status status = read_ints(in[1], repeats, GBX_NN_MAX_RANK, &count, error);
    if (status != GBX_OK) return status;
    if (count != (size_t)x->rank)
        return gbx_fail(error, GBX_ERR_PARSE, "%zu repeats for rank %d", count, x->rank);
    for (int d = 0; d < x->rank; d++) {
        if (repeats[d] < 0) return gbx_fail(error, GBX_ERR_PARSE, "a negative repeat");
        dims[d] = x->dims[d] * repeats[d];
    }
    if ((status = gbx_nn_tensor_alloc(out[0], x->type, x->rank, dims, error)) != GBX_OK)
        return status;
    size_t strides[GBX_NN_MAX_RANK], stride = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        strides[d] = stride;
        stride *= (size_t)x->dims[d];
    }
    int64_t counter[GBX_NN_MAX_RANK] = {0};
    for (size_t j = 0; j < out[0]->count; j++) {
        size_t source = 0;
        for (int d = 0; d < x->rank; d++) source += (size_t)(counter[d] % x->dims[d]) * strides[d];
        if (x->type == GBX_NN_FLOAT) out[0]->f[j] = x->f[source];
        else out[0]->i[j] = x->i[source];
        advance(counter, dims, x->rank);
    }
    return GBX_OK;
}

/* ---- reductions --------------------------------------------------------------------------- */

/* Which axes a Reduce* node folds (all when it names none). Returns 0 in *noop when the
 * node passes its input through (no axes and noop_with_empty_axes). */
static gbx_status reduced_axes(const gbx_nn_node *node, gbx_nn_tensor *const *in, int *reduced,
                               int *noop, gbx_error *error)
{
    int64_t axes[GBX_NN_MAX_RANK];
    size_t count = 0;
    gbx_status status = axes_of(node, in, axes, &count, error);
    if (status != GBX_OK) return status;
    *noop = count == 0 && node->params.ints[1];
    for (int d = 0; d < in[0]->rank; d++) reduced[d] = count == 0;
    for (size_t a = 0; a < count; a++) {
        int axis = 0;
        if ((status = normal_axis(axes[a], in[0]->rank, &axis, error)) != GBX_OK) return status;
        reduced[axis] = 1;
    }
    return GBX_OK;
}

/* Strides that send an input position to its reduced output position; *group: values folded. */
static void reduce_strides(const gbx_nn_tensor *x, const int *reduced, size_t *strides,
                           size_t *group)
{
    size_t stride = 1;
    *group = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        strides[d] = reduced[d] ? 0 : stride;
        if (reduced[d]) *group *= (size_t)x->dims[d];
        else stride *= (size_t)x->dims[d];
    }
}

static gbx_status reduce(const gbx_nn_node *node, gbx_nn_tensor *const *in, gbx_nn_tensor **out,
                         int mean, gbx_error *error)
{
    int reduced[GBX_NN_MAX_RANK], noop = 0;
    gbx_status status = need_float(in[0], "the input", error);
    if (status == GBX_OK) status = reduced_axes(node, in, reduced, &noop, error);
    if (status != GBX_OK) return status;
    int rank = in[0]->rank;
    if (noop) return copy_reshaped(in[0], rank, in[0]->dims, out[0], error);
    int64_t dims[GBX_NN_MAX_RANK];
    int out_rank = 0;
    for (int d = 0; d < rank; d++)
        if (!reduced[d] || node->params.ints[0]) dims[out_rank++] = reduced[d] ? 1 : in[0]->dims[d];
    if ((status = gbx_nn_tensor_alloc(out[0], GBX_NN_FLOAT, out_rank, dims, error)) != GBX_OK)
        return status;
    /* Sum in double so the order of a long reduction matters less. */
    double *sums = gbx_calloc(out[0]->count ? out[0]->count : 1, sizeof(double));
    if (!sums) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    size_t strides[GBX_NN_MAX_RANK], group;
    reduce_strides(in[0], reduced, strides, &group);
    int64_t counter[GBX_NN_MAX_RANK] = {0};
    for (size_t j = 0; j < in[0]->count; j++) {
        size_t target = 0;
        for (int d = 0; d < rank; d++) target += (size_t)counter[d] * strides[d];
        sums[target] += in[0]->f[j];
        advance(counter, in[0]->dims, rank);
    }
    for (size_t j = 0; j < out[0]->count; j++)
        out[0]->f[j] = (float)(mean ? (group ? sums[j] / (double)group : NAN) : sums[j]);
    free(sums);
    return GBX_OK;
}

/* ReduceProd, as exports multiply a shape's dimensions (int64), or floats (in double). It has
 * no gradient here: what it multiplies in practice is shapes. */
static gbx_status forward_reduce_prod(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                      gbx_nn_tensor **out, gbx_error *error)
{
    int reduced[GBX_NN_MAX_RANK], noop = 0, rank = in[0]->rank, out_rank = 0;
    gbx_status status = reduced_axes(node, in, reduced, &noop, error);
    if (status != GBX_OK) return status;
    if (noop) return copy_reshaped(in[0], rank, in[0]->dims, out[0], error);
    int64_t dims[GBX_NN_MAX_RANK];
    for (int d = 0; d < rank; d++)
        if (!reduced[d] || node->params.ints[0]) dims[out_rank++] = reduced[d] ? 1 : in[0]->dims[d];
    if ((status = gbx_nn_tensor_alloc(out[0], in[0]->type, out_rank, dims, error)) != GBX_OK)
        return status;
    double *products = gbx_malloc_array(out[0]->count ? out[0]->count : 1, sizeof(double));
    if (!products) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < out[0]->count; j++) {
        products[j] = 1.0;
        if (out[0]->type == GBX_NN_INT64) out[0]->i[j] = 1;
    }
    size_t strides[GBX_NN_MAX_RANK], group;
    reduce_strides(in[0], reduced, strides, &group);
    int64_t counter[GBX_NN_MAX_RANK] = {0};
    for (size_t j = 0; j < in[0]->count; j++) {
        size_t target = 0;
        for (int d = 0; d < rank; d++) target += (size_t)counter[d] * strides[d];
        if (in[0]->type == GBX_NN_FLOAT) products[target] *= in[0]->f[j];
        else out[0]->i[target] = (int64_t)((uint64_t)out[0]->i[target] * (uint64_t)in[0]->i[j]);
        advance(counter, in[0]->dims, rank);
    }
    for (size_t j = 0; in[0]->type == GBX_NN_FLOAT && j < out[0]->count; j++)
        out[0]->f[j] = (float)products[j];
    free(products);
    return GBX_OK;
}

static gbx_status forward_reduce_mean(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                      gbx_nn_tensor **out, gbx_error *error)
{
    return reduce(node, in, out, 1, error);
}

static gbx_status forward_reduce_sum(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                     gbx_nn_tensor **out, gbx_error *error)
{
    return reduce(node, in, out, 0, error);
}

/* ---- normalisation ------------------------------------------------------------------------ */

static gbx_status check_epsilon(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph;
    node->params.floats[0] = attribute_float(node, "epsilon", 1e-5f);
    node->params.ints[0] = attribute_int(node, "axis", -1);
    if (attribute_int(node, "training_mode", 0))
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "training_mode 1 (export the model in "
                        "inference mode)");
    return GBX_OK;
}

static gbx_status forward_batch_norm(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                     gbx_nn_tensor **out, gbx_error *error)
{
    const gbx_nn_tensor *x = in[0];
    if (x->rank < 2) return gbx_fail(error, GBX_ERR_PARSE, "the input needs a channel axis");
    size_t channels = (size_t)x->dims[1];
    for (int i = 0; i < 5; i++)
        if (in[i]->type != GBX_NN_FLOAT || (i > 0 && in[i]->count != channels))
            return gbx_fail(error, GBX_ERR_PARSE, "scale, bias, mean and variance must hold %zu "
                            "floats", channels);
    gbx_status status = gbx_nn_tensor_alloc(out[0], GBX_NN_FLOAT, x->rank, x->dims, error);
    if (status != GBX_OK) return status;
    size_t outer = (size_t)x->dims[0], inner = product(x->dims, 2, x->rank);
    for (size_t c = 0; c < channels; c++) {
        float scale = in[1]->f[c] / sqrtf(in[4]->f[c] + node->params.floats[0]);
        float shift = in[2]->f[c] - in[3]->f[c] * scale;
        for (size_t o = 0; o < outer; o++) {
            const float *source = x->f + (o * channels + c) * inner;
            float *target = out[0]->f + (o * channels + c) * inner;
            for (size_t j = 0; j < inner; j++) target[j] = source[j] * scale + shift;
        }
    }
    return GBX_OK;
}

static gbx_status forward_layer_norm(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                     gbx_nn_tensor **out, gbx_error *error)
{
    const gbx_nn_tensor *x = in[0], *scale = in[1], *bias = node->input_count > 2 ? in[2] : NULL;
    int axis = 0;
    gbx_status status = need_float(x, "the input", error);
    if (status == GBX_OK) status = normal_axis(node->params.ints[0], x->rank, &axis, error);
    if (status != GBX_OK) return status;
    size_t outer = product(x->dims, 0, axis), length = product(x->dims, axis, x->rank);
    if (scale->type != GBX_NN_FLOAT || scale->count != length ||
        (bias && (bias->type != GBX_NN_FLOAT || bias->count != length)))
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "scale and bias must hold %zu floats "
                        "(broadcast forms are not supported)", length);
    if ((status = gbx_nn_tensor_alloc(out[0], GBX_NN_FLOAT, x->rank, x->dims, error)) != GBX_OK)
        return status;
    for (size_t o = 0; o < outer; o++) {
        const float *source = x->f + o * length;
        float *target = out[0]->f + o * length;
        double mean = 0, variance = 0;
        for (size_t j = 0; j < length; j++) mean += source[j];
        mean /= (double)length;
        for (size_t j = 0; j < length; j++) variance += (source[j] - mean) * (source[j] - mean);
        variance /= (double)length;
        float inverse = (float)(1.0 / sqrt(variance + node->params.floats[0]));
        for (size_t j = 0; j < length; j++)
            target[j] = ((float)(source[j] - mean)) * inverse * scale->f[j] + (bias ? bias->f[j] : 0);
    }
    /* Optional Mean and InvStdDev outputs are training aids; exporters leave them unused. */
    for (int o = 1; o < node->output_count; o++)
        if (out[o]) return gbx_fail(error, GBX_ERR_UNSUPPORTED, "the Mean/InvStdDev outputs");
    return GBX_OK;
}

/* ---- gradients ---------------------------------------------------------------------------- */
/* Each rule adds its contribution into grad_in (+=), so an input used twice, or broadcast,
 * collects every path's share. */

static const float *gradient_of(gbx_nn_tensor *const *grad_out, int o)
{
    return grad_out[o] && grad_out[o]->f ? grad_out[o]->f : NULL;
}

typedef struct {
    int code;
    gbx_nn_tensor *const *in;
    const gbx_nn_tensor *out;
    const float *g;
    gbx_nn_tensor **grad_in;
} binary_gradient_context;

static void binary_gradient_row(void *context, size_t out_offset, const size_t *offsets,
                                const size_t *inner, size_t length)
{
    const binary_gradient_context *c = context;
    const float *a = c->in[0]->f + offsets[0], *b = c->in[1]->f + offsets[1];
    const float *g = c->g + out_offset, *y = c->out->f + out_offset;
    float *ga = c->grad_in[0] ? c->grad_in[0]->f + offsets[0] : NULL;
    float *gb = c->grad_in[1] ? c->grad_in[1]->f + offsets[1] : NULL;
    for (size_t j = 0; j < length; j++) {
        float x = a[j * inner[0]], z = b[j * inner[1]], d = g[j], da = 0, db = 0;
        switch (c->code) {
        case ADD: da = d; db = d; break;
        case SUB: da = d; db = -d; break;
        case MUL: da = d * z; db = d * x; break;
        case DIV: da = d / z; db = -d * x / (z * z); break;
        case POW:
            da = z == 0 ? 0 : d * z * powf(x, z - 1);
            db = x > 0 ? d * y[j] * logf(x) : 0;
            break;
        case MIN2: case MAX2:
            /* The chosen input takes the gradient; ties go to the first. */
            if (x == y[j]) da = d;
            else db = d;
            break;
        }
        if (ga) ga[j * inner[0]] += da;
        if (gb) gb[j * inner[1]] += db;
    }
}

static gbx_status binary_backward(int code, gbx_nn_tensor *const *in, gbx_nn_tensor *const *out,
                                  gbx_nn_tensor *const *grad_out, gbx_nn_tensor **grad_in,
                                  gbx_error *error)
{
    const float *g = gradient_of(grad_out, 0);
    if (!g) return GBX_OK;
    int rank;
    int64_t dims[GBX_NN_MAX_RANK];
    size_t strides[2][GBX_NN_MAX_RANK];
    gbx_status status = broadcast(2, in, &rank, dims, strides, error);
    if (status != GBX_OK) return status;
    binary_gradient_context context = {code, in, out[0], g, grad_in};
    broadcast_rows(2, rank, dims, strides, binary_gradient_row, &context);
    return GBX_OK;
}

#define BINARY_BACKWARD(fname, code)                                                            \
    static gbx_status fname(const gbx_nn_node *node, gbx_nn_tensor *const *in,                  \
                            gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,          \
                            gbx_nn_tensor **grad_in, gbx_error *error)                          \
    {                                                                                           \
        (void)node;                                                                             \
        return binary_backward(code, in, out, grad_out, grad_in, error);                        \
    }
BINARY_BACKWARD(backward_add, ADD)
BINARY_BACKWARD(backward_sub, SUB)
BINARY_BACKWARD(backward_mul, MUL)
BINARY_BACKWARD(backward_div, DIV)
BINARY_BACKWARD(backward_pow, POW)

static gbx_status backward_min_max(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                   gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                   gbx_nn_tensor **grad_in, gbx_error *error)
{
    if (node->input_count == 1) {
        const float *g = gradient_of(grad_out, 0);
        for (size_t j = 0; g && grad_in[0] && j < in[0]->count; j++) grad_in[0]->f[j] += g[j];
        return GBX_OK;
    }
    if (node->input_count != 2)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "gradients of Min/Max over more than two "
                        "inputs");
    return binary_backward(MIN2, in, out, grad_out, grad_in, error);
}

/* d(output)/d(input) of an elementwise function, from x and y = f(x). */
static float unary_derivative(int code, float x, float y, float alpha, float gamma)
{
    switch (code) {
    case RELU: return x > 0 ? 1.0f : 0.0f;
    case LEAKY_RELU: return x >= 0 ? 1.0f : alpha;
    case ELU: return x >= 0 ? 1.0f : y + alpha;
    case SELU: return x > 0 ? gamma : y + gamma * alpha;
    case SIGMOID: return y * (1 - y);
    case TANH: return 1 - y * y;
    case SOFTPLUS: return sigmoid(x);
    case EXP: return y;
    case LOG: return 1 / x;
    case SQRT: return 0.5f / y;
    case NEG: return -1.0f;
    case ABS: return x > 0 ? 1.0f : x < 0 ? -1.0f : 0.0f;
    case ERF: return 1.1283791670955126f * expf(-x * x);
    case GELU:
        return 0.5f * (1 + erff(x * (float)M_SQRT1_2)) + x * 0.3989422804014327f * expf(-0.5f * x * x);
    case GELU_TANH: {
        float k = 0.7978845608f, u = k * (x + 0.044715f * x * x * x), t = tanhf(u);
        return 0.5f * (1 + t) + 0.5f * x * (1 - t * t) * k * (1 + 3 * 0.044715f * x * x);
    }
    case RECIPROCAL: return -y * y;
    case HARD_SIGMOID: {
        float v = alpha * x + gamma;
        return v > 0 && v < 1 ? alpha : 0.0f;
    }
    default: return 0.0f;
    }
}

static gbx_status unary_backward(int code, const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                 gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                 gbx_nn_tensor **grad_in)
{
    const float *g = gradient_of(grad_out, 0);
    if (!g || !grad_in[0]) return GBX_OK;
    float alpha = node->params.floats[0], gamma = node->params.floats[1];
    const float *x = in[0]->f, *y = out[0]->f;
    float *dx = grad_in[0]->f;
    size_t n = in[0]->count;
    /* The common activations get loops of their own, which the compiler vectorises. */
    switch (code) {
    case RELU:
        /* Both loops are written so that they vectorise rather than branch per element. A
         * first contribution is written, as 0 + the passed value (+0 where nothing passes),
         * through a mask on the bits: a select between a value and a constant is turned
         * back into a branch. */
        if (grad_in[0]->unset) {
            for (size_t j = 0; j < n; j++) {
                uint32_t bits;
                memcpy(&bits, &g[j], sizeof bits);
                bits &= 0u - (uint32_t)(x[j] > 0);
                float pass;
                memcpy(&pass, &bits, sizeof pass);
                dx[j] = 0.0f + pass;
            }
            grad_in[0]->unset = 0;
            break;
        }
        /* Both values loaded before the choice: a ternary that loads on one side only is not
         * if-converted. */
        for (size_t j = 0; j < n; j++) {
            float pass = g[j];
            dx[j] += x[j] > 0 ? pass : 0.0f;
        }
        break;
    case SIGMOID: for (size_t j = 0; j < n; j++) dx[j] += g[j] * y[j] * (1 - y[j]); break;
    case TANH: for (size_t j = 0; j < n; j++) dx[j] += g[j] * (1 - y[j] * y[j]); break;
    default:
        for (size_t j = 0; j < n; j++) dx[j] += g[j] * unary_derivative(code, x[j], y[j], alpha, gamma);
    }
    return GBX_OK;
}

#define UNARY_BACKWARD(fname, code)                                                             \
    static gbx_status fname(const gbx_nn_node *node, gbx_nn_tensor *const *in,                  \
                            gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,          \
                            gbx_nn_tensor **grad_in, gbx_error *error)                          \
    {                                                                                           \
        (void)error;                                                                            \
        return unary_backward(code, node, in, out, grad_out, grad_in);                          \
    }
UNARY_BACKWARD(backward_relu, RELU)
UNARY_BACKWARD(backward_leaky_relu, LEAKY_RELU)
UNARY_BACKWARD(backward_elu, ELU)
UNARY_BACKWARD(backward_selu, SELU)
UNARY_BACKWARD(backward_sigmoid, SIGMOID)
UNARY_BACKWARD(backward_tanh, TANH)
UNARY_BACKWARD(backward_softplus, SOFTPLUS)
UNARY_BACKWARD(backward_exp, EXP)
UNARY_BACKWARD(backward_log, LOG)
UNARY_BACKWARD(backward_sqrt, SQRT)
UNARY_BACKWARD(backward_neg, NEG)
UNARY_BACKWARD(backward_abs, ABS)
UNARY_BACKWARD(backward_erf, ERF)
UNARY_BACKWARD(backward_reciprocal, RECIPROCAL)
UNARY_BACKWARD(backward_hard_sigmoid, HARD_SIGMOID)

static gbx_status backward_gelu(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)error;
    return unary_backward(node->params.ints[0] ? GELU_TANH : GELU, node, in, out, grad_out, grad_in);
}

static gbx_status backward_clip(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)node; (void)error;
    const float *g = gradient_of(grad_out, 0);
    /* The gradient passes where the value was not clipped. */
    for (size_t j = 0; g && grad_in[0] && j < in[0]->count; j++)
        if (out[0]->f[j] == in[0]->f[j]) grad_in[0]->f[j] += g[j];
    return GBX_OK;
}

/* Identity, Dropout, float Cast and every reshaping op: the same values, so the same gradient. */
static gbx_status backward_pass_through(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                        gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                        gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)node; (void)out;
    const float *g = gradient_of(grad_out, 0);
    if (!g || !grad_in[0]) return GBX_OK;
    if (in[0]->type != GBX_NN_FLOAT)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "a gradient cannot flow into integers");
    for (size_t j = 0; j < in[0]->count; j++) grad_in[0]->f[j] += g[j];
    return GBX_OK;
}

/* Adds alpha * op(X) op(Y) into Z [m x n] (row-major, leading dimensions from the shapes). */
static void gemm_add(int transpose_x, int transpose_y, int m, int n, int k, float alpha,
                     const float *x, int ldx, const float *y, int ldy, float *z)
{
    if (m && n && k)
        gbx_sgemm(CblasRowMajor, transpose_x ? CblasTrans : CblasNoTrans,
                    transpose_y ? CblasTrans : CblasNoTrans, m, n, k, alpha, x, ldx, y, ldy, 1.0f,
                    z, n);
}

static gbx_status backward_gemm(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)out;
    const float *g = gradient_of(grad_out, 0);
    if (!g) return GBX_OK;
    const gbx_nn_tensor *A = in[0], *B = in[1];
    int transA = (int)node->params.ints[0], transB = (int)node->params.ints[1];
    int M = (int)(transA ? A->dims[1] : A->dims[0]), K = (int)(transA ? A->dims[0] : A->dims[1]);
    int N = (int)(transB ? B->dims[0] : B->dims[1]);
    float alpha = node->params.floats[0];
    /* Y = alpha op(A) op(B): d op(A) = alpha G op(B)^T, d op(B) = alpha op(A)^T G; a transposed
     * operand takes the transposed product. */
    if (grad_in[0]) {
        if (!transA) gemm_add(0, !transB, M, K, N, alpha, g, N, B->f, (int)B->dims[1], grad_in[0]->f);
        else gemm_add(transB, 1, K, M, N, alpha, B->f, (int)B->dims[1], g, N, grad_in[0]->f);
    }
    if (grad_in[1]) {
        if (!transB) gemm_add(!transA, 0, K, N, M, alpha, A->f, (int)A->dims[1], g, N, grad_in[1]->f);
        else gemm_add(1, transA, N, K, M, alpha, g, N, A->f, (int)A->dims[1], grad_in[1]->f);
    }
    if (node->input_count > 2 && grad_in[2]) {
        gbx_nn_tensor *C = in[2], Y = *grad_out[0];
        gbx_nn_tensor *pair[2] = {&Y, C};
        int rank;
        int64_t dims[GBX_NN_MAX_RANK];
        size_t strides[2][GBX_NN_MAX_RANK];
        gbx_status status = broadcast(2, pair, &rank, dims, strides, error);
        if (status != GBX_OK) return status;
        for (int r = 0; r < M; r++)
            for (int c = 0; c < N; c++)
                grad_in[2]->f[(size_t)r * strides[1][0] + (size_t)c * strides[1][1]] +=
                    node->params.floats[1] * g[(size_t)r * N + c];
    }
    return GBX_OK;
}

static gbx_status backward_matmul(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                  gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                  gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)node; (void)out;
    const float *g = gradient_of(grad_out, 0);
    if (!g) return GBX_OK;
    gbx_nn_tensor A = *in[0], B = *in[1];
    if (A.rank == 1) { A.dims[1] = A.dims[0]; A.dims[0] = 1; A.rank = 2; }
    if (B.rank == 1) { B.dims[1] = 1; B.rank = 2; }
    int M = (int)A.dims[A.rank - 2], K = (int)A.dims[A.rank - 1], N = (int)B.dims[B.rank - 1];
    gbx_nn_tensor batch_a = A, batch_b = B;
    batch_a.rank = A.rank - 2;
    batch_b.rank = B.rank - 2;
    gbx_nn_tensor *pair[2] = {&batch_a, &batch_b};
    int rank;
    int64_t dims[GBX_NN_MAX_RANK];
    size_t strides[2][GBX_NN_MAX_RANK];
    gbx_status status = broadcast(2, pair, &rank, dims, strides, error);
    if (status != GBX_OK) return status;
    size_t batches = product(dims, 0, rank);
    if (batch_b.rank == 0 && batch_a.rank > 0 && batches * (size_t)M <= INT32_MAX) {
        /* One weight matrix: dA = G B^T, dB = A^T G over all batches at once. */
        int rows = (int)(batches * (size_t)M);
        if (grad_in[0]) gemm_add(0, 1, rows, K, N, 1.0f, g, N, B.f, N, grad_in[0]->f);
        if (grad_in[1]) gemm_add(1, 0, K, N, rows, 1.0f, A.f, K, g, N, grad_in[1]->f);
        return GBX_OK;
    }
    int64_t counter[GBX_NN_MAX_RANK] = {0};
    for (size_t b = 0; b < batches; b++) {
        size_t offset_a = 0, offset_b = 0;
        for (int d = 0; d < rank; d++) {
            offset_a += (size_t)counter[d] * strides[0][d];
            offset_b += (size_t)counter[d] * strides[1][d];
        }
        const float *gb = g + b * (size_t)M * (size_t)N;
        if (grad_in[0])
            gemm_add(0, 1, M, K, N, 1.0f, gb, N, B.f + offset_b * (size_t)K * N, N,
                     grad_in[0]->f + offset_a * (size_t)M * K);
        if (grad_in[1])
            gemm_add(1, 0, K, N, M, 1.0f, A.f + offset_a * (size_t)M * K, K, gb, N,
                     grad_in[1]->f + offset_b * (size_t)K * N);
        advance(counter, dims, rank);
    }
    return GBX_OK;
}

static gbx_status softmax_backward(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                   gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                   gbx_nn_tensor **grad_in, int logarithm, gbx_error *error)
{
    const float *g = gradient_of(grad_out, 0);
    if (!g || !grad_in[0]) return GBX_OK;
    int axis = 0;
    gbx_status status = normal_axis(node->params.ints[0], in[0]->rank, &axis, error);
    if (status != GBX_OK) return status;
    size_t outer = product(in[0]->dims, 0, axis), length, inner;
    if (node->params.ints[1]) {
        length = product(in[0]->dims, axis, in[0]->rank);
        inner = 1;
    } else {
        length = (size_t)in[0]->dims[axis];
        inner = product(in[0]->dims, axis + 1, in[0]->rank);
    }
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            size_t base = o * length * inner + i;
            const float *y = out[0]->f + base, *d = g + base;
            float *dx = grad_in[0]->f + base;
            double dot = 0;
            for (size_t j = 0; j < length; j++)
                dot += logarithm ? d[j * inner] : (double)d[j * inner] * y[j * inner];
            for (size_t j = 0; j < length; j++)
                dx[j * inner] += logarithm ? d[j * inner] - expf(y[j * inner]) * (float)dot
                                           : y[j * inner] * (d[j * inner] - (float)dot);
        }
    return GBX_OK;
}

static gbx_status backward_softmax(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                   gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                   gbx_nn_tensor **grad_in, gbx_error *error)
{
    return softmax_backward(node, in, out, grad_out, grad_in, 0, error);
}

static gbx_status backward_log_softmax(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                       gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                       gbx_nn_tensor **grad_in, gbx_error *error)
{
    return softmax_backward(node, in, out, grad_out, grad_in, 1, error);
}

static gbx_status backward_transpose(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                     gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                     gbx_nn_tensor **grad_in, gbx_error *error)
{
    const float *g = gradient_of(grad_out, 0);
    if (!g || !grad_in[0]) return GBX_OK;
    int rank = in[0]->rank, perm[GBX_NN_MAX_RANK];
    gbx_status status = transpose_perm(node, rank, perm, error);
    if (status != GBX_OK) return status;
    size_t in_strides[GBX_NN_MAX_RANK], stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
        in_strides[d] = stride;
        stride *= (size_t)in[0]->dims[d];
    }
    int64_t counter[GBX_NN_MAX_RANK] = {0};
    for (size_t j = 0; j < out[0]->count; j++) {
        size_t source = 0;
        for (int d = 0; d < rank; d++) source += (size_t)counter[d] * in_strides[perm[d]];
        grad_in[0]->f[source] += g[j];
        advance(counter, out[0]->dims, rank);
    }
    return GBX_OK;
}

static gbx_status backward_concat(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                  gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                  gbx_nn_tensor **grad_in, gbx_error *error)
{
    const float *g = gradient_of(grad_out, 0);
    if (!g) return GBX_OK;
    int axis = 0;
    gbx_status status = normal_axis(node->params.ints[0], in[0]->rank, &axis, error);
    if (status != GBX_OK) return status;
    size_t outer = product(out[0]->dims, 0, axis), inner = product(out[0]->dims, axis + 1, in[0]->rank);
    size_t row = (size_t)out[0]->dims[axis] * inner, offset = 0;
    for (int i = 0; i < node->input_count; i++) {
        size_t part = (size_t)in[i]->dims[axis] * inner;
        for (size_t o = 0; grad_in[i] && o < outer; o++)
            for (size_t j = 0; j < part; j++) grad_in[i]->f[o * part + j] += g[o * row + offset + j];
        offset += part;
    }
    return GBX_OK;
}

typedef struct {
    const float *g;
    float *target;
} scatter_context;

static void slice_scatter(void *context, size_t j, size_t source)
{
    scatter_context *c = context;
    c->target[source] += c->g[j];
}

static gbx_status backward_slice(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                 gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                 gbx_nn_tensor **grad_in, gbx_error *error)
{
    const float *g = gradient_of(grad_out, 0);
    if (!g || !grad_in[0]) return GBX_OK;
    int64_t start[GBX_NN_MAX_RANK], step[GBX_NN_MAX_RANK], dims[GBX_NN_MAX_RANK];
    gbx_status status = slice_plan(node, in, start, step, dims, error);
    if (status != GBX_OK) return status;
    scatter_context context = {g, grad_in[0]->f};
    slice_walk(in[0], start, step, dims, out[0]->count, slice_scatter, &context);
    return GBX_OK;
}

static gbx_status backward_gather(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                  gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                  gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)out;
    const float *g = gradient_of(grad_out, 0);
    if (!g || !grad_in[0]) return GBX_OK;
    const gbx_nn_tensor *data = in[0], *indices = in[1];
    int axis = 0;
    gbx_status status = normal_axis(node->params.ints[0], data->rank, &axis, error);
    if (status != GBX_OK) return status;
    size_t outer = product(data->dims, 0, axis), inner = product(data->dims, axis + 1, data->rank);
    int64_t size = data->dims[axis];
    for (size_t o = 0; o < outer; o++)
        for (size_t k = 0; k < indices->count; k++) {
            int64_t index = indices->i[k] < 0 ? indices->i[k] + size : indices->i[k];
            float *target = grad_in[0]->f + (o * (size_t)size + (size_t)index) * inner;
            const float *source = g + (o * indices->count + k) * inner;
            for (size_t t = 0; t < inner; t++) target[t] += source[t];
        }
    return GBX_OK;
}

typedef struct {
    const float *g;
    gbx_nn_tensor **grad_in;
    gbx_nn_tensor *const *in;
} select_gradient_context;

static void expand_gradient_row(void *context, size_t out_offset, const size_t *offsets,
                                const size_t *inner, size_t length)
{
    const select_gradient_context *c = context;
    for (size_t j = 0; j < length; j++)
        c->grad_in[0]->f[offsets[0] + j * inner[0]] += c->g[out_offset + j];
}

static gbx_status backward_expand(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                  gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                  gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)node;
    const float *g = gradient_of(grad_out, 0);
    if (!g || !grad_in[0]) return GBX_OK;
    gbx_nn_tensor *pair[2] = {in[0], out[0]};
    int rank;
    int64_t dims[GBX_NN_MAX_RANK];
    size_t strides[2][GBX_NN_MAX_RANK];
    gbx_status status = broadcast(2, pair, &rank, dims, strides, error);
    if (status != GBX_OK) return status;
    select_gradient_context context = {g, grad_in, in};
    broadcast_rows(1, rank, dims, strides, expand_gradient_row, &context);
    return GBX_OK;
}

static gbx_status backward_tile(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)node; (void)error;
    const float *g = gradient_of(grad_out, 0);
    if (!g || !grad_in[0]) return GBX_OK;
    const gbx_nn_tensor *x = in[0];
    size_t strides[GBX_NN_MAX_RANK], stride = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        strides[d] = stride;
        stride *= (size_t)x->dims[d];
    }
    int64_t counter[GBX_NN_MAX_RANK] = {0};
    for (size_t j = 0; j < out[0]->count; j++) {
        size_t source = 0;
        for (int d = 0; d < x->rank; d++) source += (size_t)(counter[d] % x->dims[d]) * strides[d];
        grad_in[0]->f[source] += g[j];
        advance(counter, out[0]->dims, x->rank);
    }
    return GBX_OK;
}

static void where_gradient_row(void *context, size_t out_offset, const size_t *offsets,
                               const size_t *inner, size_t length)
{
    const select_gradient_context *c = context;
    for (size_t j = 0; j < length; j++) {
        int take_x = c->in[0]->i[offsets[0] + j * inner[0]] != 0;
        gbx_nn_tensor *target = c->grad_in[take_x ? 1 : 2];
        if (target) target->f[offsets[take_x ? 1 : 2] + j * inner[take_x ? 1 : 2]] += c->g[out_offset + j];
    }
}

static gbx_status backward_where(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                 gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                 gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)node; (void)out;
    const float *g = gradient_of(grad_out, 0);
    if (!g) return GBX_OK;
    int rank;
    int64_t dims[GBX_NN_MAX_RANK];
    size_t strides[3][GBX_NN_MAX_RANK];
    gbx_status status = broadcast(3, in, &rank, dims, strides, error);
    if (status != GBX_OK) return status;
    select_gradient_context context = {g, grad_in, in};
    broadcast_rows(3, rank, dims, strides, where_gradient_row, &context);
    return GBX_OK;
}

static gbx_status reduce_backward(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                  gbx_nn_tensor *const *grad_out, gbx_nn_tensor **grad_in,
                                  int mean, gbx_error *error)
{
    const float *g = gradient_of(grad_out, 0);
    if (!g || !grad_in[0]) return GBX_OK;
    int reduced[GBX_NN_MAX_RANK], noop = 0;
    gbx_status status = reduced_axes(node, in, reduced, &noop, error);
    if (status != GBX_OK) return status;
    if (noop) {
        for (size_t j = 0; j < in[0]->count; j++) grad_in[0]->f[j] += g[j];
        return GBX_OK;
    }
    size_t strides[GBX_NN_MAX_RANK], group;
    reduce_strides(in[0], reduced, strides, &group);
    float scale = mean && group ? 1.0f / (float)group : 1.0f;
    int64_t counter[GBX_NN_MAX_RANK] = {0};
    for (size_t j = 0; j < in[0]->count; j++) {
        size_t target = 0;
        for (int d = 0; d < in[0]->rank; d++) target += (size_t)counter[d] * strides[d];
        grad_in[0]->f[j] += g[target] * scale;
        advance(counter, in[0]->dims, in[0]->rank);
    }
    return GBX_OK;
}

static gbx_status backward_reduce_mean(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                       gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                       gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)out;
    return reduce_backward(node, in, grad_out, grad_in, 1, error);
}

static gbx_status backward_reduce_sum(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                      gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                      gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)out;
    return reduce_backward(node, in, grad_out, grad_in, 0, error);
}

static gbx_status backward_batch_norm(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                      gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                      gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)out; (void)error;
    const float *g = gradient_of(grad_out, 0);
    if (!g || !grad_in[0]) return GBX_OK;
    const gbx_nn_tensor *x = in[0];
    size_t channels = (size_t)x->dims[1], outer = (size_t)x->dims[0], inner = product(x->dims, 2, x->rank);
    for (size_t c = 0; c < channels; c++) {
        float scale = in[1]->f[c] / sqrtf(in[4]->f[c] + node->params.floats[0]);
        for (size_t o = 0; o < outer; o++)
            for (size_t j = 0; j < inner; j++)
                grad_in[0]->f[(o * channels + c) * inner + j] += g[(o * channels + c) * inner + j] * scale;
    }
    return GBX_OK;
}

static gbx_status backward_layer_norm(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                      gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                      gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)out;
    const float *g = gradient_of(grad_out, 0);
    if (!g || !grad_in[0]) return GBX_OK;
    const gbx_nn_tensor *x = in[0], *scale = in[1];
    int axis = 0;
    gbx_status status = normal_axis(node->params.ints[0], x->rank, &axis, error);
    if (status != GBX_OK) return status;
    size_t outer = product(x->dims, 0, axis), length = product(x->dims, axis, x->rank);
    for (size_t o = 0; o < outer; o++) {
        const float *source = x->f + o * length, *d = g + o * length;
        double mean = 0, variance = 0;
        for (size_t j = 0; j < length; j++) mean += source[j];
        mean /= (double)length;
        for (size_t j = 0; j < length; j++) variance += (source[j] - mean) * (source[j] - mean);
        variance /= (double)length;
        double inverse = 1.0 / sqrt(variance + node->params.floats[0]);
        /* dx = inv * (dz - mean(dz) - xhat * mean(dz * xhat)), dz = g * scale. */
        double mean_dz = 0, mean_dz_xhat = 0;
        for (size_t j = 0; j < length; j++) {
            double dz = (double)d[j] * scale->f[j], xhat = (source[j] - mean) * inverse;
            mean_dz += dz;
            mean_dz_xhat += dz * xhat;
        }
        mean_dz /= (double)length;
        mean_dz_xhat /= (double)length;
        for (size_t j = 0; j < length; j++) {
            double dz = (double)d[j] * scale->f[j], xhat = (source[j] - mean) * inverse;
            grad_in[0]->f[o * length + j] += (float)(inverse * (dz - mean_dz - xhat * mean_dz_xhat));
        }
    }
    return GBX_OK;
}

/* ---- Mod, IsNaN, IsInf, Size, Range, CumSum, Trilu (what transformer exports use) ---------- */

static gbx_status forward_mod(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                              gbx_nn_tensor **out, gbx_error *error)
{
    return binary(attribute_int(node, "fmod", 0) ? FMOD : MOD, in, out, error);
}

/* fmod(a, b) moves with a at slope 1 between its jumps, as Add does; b's gradient is not
 * taken (an int Mod is shape arithmetic, a float one's divisor a constant in practice). */
static gbx_status backward_mod(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                               gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                               gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)node;
    return binary_backward(ADD, in, out, grad_out, grad_in, error);
}

static gbx_status check_is_inf(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph;
    (void)error;
    node->params.ints[0] = attribute_int(node, "detect_negative", 1) != 0;
    node->params.ints[1] = attribute_int(node, "detect_positive", 1) != 0;
    return GBX_OK;
}

/* IsNaN (no params) and IsInf (which signs): bool, as int64 0/1. */
static gbx_status classify(const gbx_nn_node *node, gbx_nn_tensor *const *in, gbx_nn_tensor **out,
                           int nan, gbx_error *error)
{
    gbx_status status = need_float(in[0], "the input", error);
    if (status == GBX_OK)
        status = gbx_nn_tensor_alloc_unset(out[0], GBX_NN_INT64, in[0]->rank, in[0]->dims, error);
    int negative = (int)node->params.ints[0], positive = (int)node->params.ints[1];
    for (size_t j = 0; status == GBX_OK && j < in[0]->count; j++) {
        float x = in[0]->f[j];
        out[0]->i[j] = nan ? isnan(x) : isinf(x) && (x < 0 ? negative : positive);
    }
    return status;
}

static gbx_status forward_is_nan(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                 gbx_nn_tensor **out, gbx_error *error)
{
    return classify(node, in, out, 1, error);
}

static gbx_status forward_is_inf(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                 gbx_nn_tensor **out, gbx_error *error)
{
    return classify(node, in, out, 0, error);
}

static gbx_status forward_size(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                               gbx_nn_tensor **out, gbx_error *error)
{
    (void)node;
    gbx_status status = gbx_nn_tensor_alloc(out[0], GBX_NN_INT64, 0, NULL, error);
    if (status == GBX_OK) out[0]->i[0] = (int64_t)in[0]->count;
    return status;
}

/* One value of a scalar input (rank 0, or one element), as a double. */
static gbx_status scalar(const gbx_nn_tensor *t, const char *what, double *out, gbx_error *error)
{
    if (t->count != 1)
        return gbx_fail(error, GBX_ERR_PARSE, "%s must hold one value, not %zu", what, t->count);
    *out = t->type == GBX_NN_FLOAT ? (double)t->f[0] : (double)t->i[0];
    return GBX_OK;
}

static gbx_status forward_range(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                gbx_nn_tensor **out, gbx_error *error)
{
    (void)node;
    double start = 0, limit = 0, delta = 0;
    gbx_status status = scalar(in[0], "start", &start, error);
    if (status == GBX_OK) status = scalar(in[1], "limit", &limit, error);
    if (status == GBX_OK) status = scalar(in[2], "delta", &delta, error);
    if (status != GBX_OK) return status;
    if (in[0]->type != in[1]->type || in[0]->type != in[2]->type)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "inputs of different types");
    if (delta == 0 || !isfinite(start) || !isfinite(limit) || !isfinite(delta))
        return gbx_fail(error, GBX_ERR_PARSE, "a range from %g to %g by %g", start, limit, delta);
    /* Counted before anything is allocated: a range is at most a tensor long. */
    double steps = fmax(ceil((limit - start) / delta), 0);
    if (steps > (double)GBX_NN_MAX_VALUES)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "a range of %.0f values (at most %llu)", steps,
                        (unsigned long long)GBX_NN_MAX_VALUES);
    int64_t count = (int64_t)steps;
    if ((status = gbx_nn_tensor_alloc_unset(out[0], in[0]->type, 1, &count, error)) != GBX_OK)
        return status;
    for (int64_t j = 0; j < count; j++) {
        if (in[0]->type == GBX_NN_FLOAT) out[0]->f[j] = in[0]->f[0] + (float)j * in[2]->f[0];
        else /* wrapping, never undefined, where a file's values come near 2^63 */
            out[0]->i[j] = (int64_t)((uint64_t)in[0]->i[0] + (uint64_t)j * (uint64_t)in[2]->i[0]);
    }
    return GBX_OK;
}

static gbx_status check_cum_sum(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph;
    (void)error;
    node->params.ints[0] = attribute_int(node, "exclusive", 0) != 0;
    node->params.ints[1] = attribute_int(node, "reverse", 0) != 0;
    return GBX_OK;
}

/* Sums along one axis of `from` into `to` (same shape), forward or in reverse, including each
 * element or excluding it; to += when adding (the gradient), to = otherwise. */
static void cumulate(const gbx_nn_tensor *from, float *to, int axis, int exclusive, int reverse,
                     int adding)
{
    size_t outer = product(from->dims, 0, axis), length = (size_t)from->dims[axis];
    size_t inner = product(from->dims, axis + 1, from->rank);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            double total = 0;
            for (size_t step = 0; step < length; step++) {
                size_t k = reverse ? length - 1 - step : step, at = (o * length + k) * inner + i;
                double value = from->f[at];
                if (!exclusive) total += value;
                to[at] = (float)(adding ? to[at] + total : total);
                if (exclusive) total += value;
            }
        }
}

static gbx_status cum_sum_axis(const gbx_nn_node *node, gbx_nn_tensor *const *in, int *axis,
                               gbx_error *error)
{
    int64_t value = 0;
    size_t count = 0;
    gbx_status status = read_ints(in[1], &value, 1, &count, error);
    if (status == GBX_OK && count != 1) status = gbx_fail(error, GBX_ERR_PARSE, "no axis");
    if (status == GBX_OK) status = normal_axis(value, in[0]->rank, axis, error);
    (void)node;
    return status;
}

/* An int64 running sum (position ids counted over an attention mask), wrapping on overflow. */
static void cumulate_ints(const gbx_nn_tensor *from, int64_t *to, int axis, int exclusive,
                          int reverse)
{
    size_t outer = product(from->dims, 0, axis), length = (size_t)from->dims[axis];
    size_t inner = product(from->dims, axis + 1, from->rank);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            uint64_t total = 0;
            for (size_t step = 0; step < length; step++) {
                size_t k = reverse ? length - 1 - step : step, at = (o * length + k) * inner + i;
                if (!exclusive) total += (uint64_t)from->i[at];
                to[at] = (int64_t)total;
                if (exclusive) total += (uint64_t)from->i[at];
            }
        }
}

static gbx_status forward_cum_sum(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                  gbx_nn_tensor **out, gbx_error *error)
{
    int axis = 0;
    gbx_status status = cum_sum_axis(node, in, &axis, error);
    if (status == GBX_OK)
        status = gbx_nn_tensor_alloc_unset(out[0], in[0]->type, in[0]->rank, in[0]->dims, error);
    if (status != GBX_OK) return status;
    int exclusive = (int)node->params.ints[0], reverse = (int)node->params.ints[1];
    if (in[0]->type == GBX_NN_INT64) cumulate_ints(in[0], out[0]->i, axis, exclusive, reverse);
    else cumulate(in[0], out[0]->f, axis, exclusive, reverse, 0);
    return GBX_OK;
}

/* The gradient of a cumulative sum is the cumulative sum of the gradient the other way. */
static gbx_status backward_cum_sum(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                   gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                   gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)out;
    if (!grad_out[0] || !grad_in[0]) return GBX_OK;
    int axis = 0;
    gbx_status status = cum_sum_axis(node, in, &axis, error);
    if (status == GBX_OK)
        cumulate(grad_out[0], grad_in[0]->f, axis, (int)node->params.ints[0],
                 !node->params.ints[1], 1);
    return status;
}

static gbx_status check_trilu(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph;
    (void)error;
    node->params.ints[0] = attribute_int(node, "upper", 1) != 0;
    return GBX_OK;
}

/* Whether Trilu keeps element (row, column) of each matrix: on or above the k-th diagonal
 * (upper), or on or below it. */
static int trilu_keeps(const gbx_nn_node *node, int64_t k, int64_t row, int64_t column)
{
    return node->params.ints[0] ? column - row >= k : column - row <= k;
}

static gbx_status trilu_diagonal(gbx_nn_tensor *const *in, int64_t *k, gbx_error *error)
{
    *k = 0;
    if (in[0]->rank < 2)
        return gbx_fail(error, GBX_ERR_PARSE, "Trilu needs matrices, not rank %d", in[0]->rank);
    if (!in[1]) return GBX_OK;
    size_t count = 0;
    gbx_status status = read_ints(in[1], k, 1, &count, error);
    if (status == GBX_OK && count != 1) status = gbx_fail(error, GBX_ERR_PARSE, "no diagonal k");
    return status;
}

/* Trilu's output from `from` (or, adding, its gradient into `to`): the kept elements. */
static void trilu_mask(const gbx_nn_node *node, const gbx_nn_tensor *from, float *to,
                       int64_t k, int adding)
{
    int64_t rows = from->dims[from->rank - 2], columns = from->dims[from->rank - 1];
    for (size_t j = 0; j < from->count; j++) {
        int64_t column = (int64_t)(j % (size_t)columns), row = (int64_t)(j / (size_t)columns % (size_t)rows);
        float value = trilu_keeps(node, k, row, column) ? from->f[j] : 0.0f;
        to[j] = adding ? to[j] + value : value;
    }
}

static gbx_status forward_trilu(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                gbx_nn_tensor **out, gbx_error *error)
{
    int64_t k;
    gbx_status status = trilu_diagonal(in, &k, error);
    if (status != GBX_OK) return status;
    if (in[0]->type == GBX_NN_INT64) {
        status = gbx_nn_tensor_alloc_unset(out[0], GBX_NN_INT64, in[0]->rank, in[0]->dims, error);
        int64_t rows = in[0]->dims[in[0]->rank - 2], columns = in[0]->dims[in[0]->rank - 1];
        for (size_t j = 0; status == GBX_OK && j < in[0]->count; j++) {
            int64_t column = (int64_t)(j % (size_t)columns);
            int64_t row = (int64_t)(j / (size_t)columns % (size_t)rows);
            out[0]->i[j] = trilu_keeps(node, k, row, column) ? in[0]->i[j] : 0;
        }
        return status;
    }
    status = gbx_nn_tensor_alloc_unset(out[0], GBX_NN_FLOAT, in[0]->rank, in[0]->dims, error);
    if (status == GBX_OK) trilu_mask(node, in[0], out[0]->f, k, 0);
    return status;
}

static gbx_status backward_trilu(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                 gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                 gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)out;
    if (!grad_out[0] || !grad_in[0]) return GBX_OK;
    int64_t k;
    gbx_status status = trilu_diagonal(in, &k, error);
    if (status == GBX_OK) trilu_mask(node, grad_out[0], grad_in[0]->f, k, 1);
    return status;
}

/* ---- ScatterND (an index assignment, as torch exports x[..., idx] = v) -------------------- */

static gbx_status check_scatter_nd(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph;
    const char *reduction = attribute_string(node, "reduction", "none");
    if (strcmp(reduction, "none") != 0 && strcmp(reduction, "add") != 0)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "ScatterND with reduction %s (none or add)",
                        reduction);
    node->params.ints[0] = strcmp(reduction, "add") == 0;
    return GBX_OK;
}

/* Where each update goes: indices [..., k] name a slice of the data's first k dimensions, of
 * `inner` values (the data's other dimensions), and updates hold one slice per index tuple.
 * offsets[u] receives update u's first value's place in the data. */
static gbx_status scatter_offsets(gbx_nn_tensor *const *in, size_t *offsets, size_t *inner,
                                  gbx_error *error)
{
    const gbx_nn_tensor *data = in[0], *indices = in[1], *updates = in[2];
    if (indices->type != GBX_NN_INT64 || indices->rank < 1)
        return gbx_fail(error, GBX_ERR_PARSE, "ScatterND's indices must be integers of rank 1 or more");
    int k = (int)indices->dims[indices->rank - 1];
    if (k < 1 || k > data->rank || updates->rank != indices->rank - 1 + data->rank - k)
        return gbx_fail(error, GBX_ERR_PARSE, "ScatterND: indices of depth %d do not fit data of "
                        "rank %d and updates of rank %d", k, data->rank, updates->rank);
    for (int d = 0; d < indices->rank - 1; d++)
        if (updates->dims[d] != indices->dims[d])
            return gbx_fail(error, GBX_ERR_PARSE, "ScatterND: updates and indices disagree");
    for (int d = k; d < data->rank; d++)
        if (updates->dims[indices->rank - 1 + d - k] != data->dims[d])
            return gbx_fail(error, GBX_ERR_PARSE, "ScatterND: updates and data disagree");
    *inner = product(data->dims, k, data->rank);
    size_t tuples = indices->count / (size_t)k;
    for (size_t u = 0; u < tuples; u++) {
        size_t place = 0;
        for (int d = 0; d < k; d++) {
            int64_t index = indices->i[u * (size_t)k + (size_t)d], size = data->dims[d];
            if (index < 0) index += size;
            if (index < 0 || index >= size)
                return gbx_fail(error, GBX_ERR_PARSE, "ScatterND: index %lld is out of range for "
                                "size %lld", (long long)indices->i[u * (size_t)k + (size_t)d],
                                (long long)size);
            place = place * (size_t)size + (size_t)index;
        }
        offsets[u] = place * *inner;
    }
    return GBX_OK;
}

static gbx_status forward_scatter_nd(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                     gbx_nn_tensor **out, gbx_error *error)
{
    const gbx_nn_tensor *data = in[0], *updates = in[2];
    if (updates->type != data->type)
        return gbx_fail(error, GBX_ERR_PARSE, "ScatterND: updates and data differ in type");
    size_t tuples = in[1]->rank && in[1]->dims[in[1]->rank - 1] > 0
                        ? in[1]->count / (size_t)in[1]->dims[in[1]->rank - 1] : 0, inner = 0;
    size_t *offsets = gbx_malloc_array(tuples ? tuples : 1, sizeof(size_t));
    if (!offsets) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    gbx_status status = scatter_offsets(in, offsets, &inner, error);
    if (status == GBX_OK)
        status = gbx_nn_tensor_alloc_unset(out[0], data->type, data->rank, data->dims, error);
    int adding = (int)node->params.ints[0];
    if (status == GBX_OK && data->type == GBX_NN_FLOAT) {
        memcpy(out[0]->f, data->f, data->count * sizeof(float));
        for (size_t u = 0; u < tuples; u++)
            for (size_t j = 0; j < inner; j++)
                out[0]->f[offsets[u] + j] = (adding ? out[0]->f[offsets[u] + j] : 0.0f) +
                                            updates->f[u * inner + j];
    } else if (status == GBX_OK) {
        memcpy(out[0]->i, data->i, data->count * sizeof(int64_t));
        for (size_t u = 0; u < tuples; u++)
            for (size_t j = 0; j < inner; j++)
                out[0]->i[offsets[u] + j] = (adding ? out[0]->i[offsets[u] + j] : 0) +
                                            updates->i[u * inner + j];
    }
    free(offsets);
    return status;
}

/* The data's gradient is the output's, except where an update replaced it; each update's is the
 * output's at its place. */
static gbx_status backward_scatter_nd(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                      gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                      gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)out;
    if (!grad_out[0]) return GBX_OK;
    size_t tuples = in[1]->count / (size_t)in[1]->dims[in[1]->rank - 1], inner = 0;
    size_t *offsets = gbx_malloc_array(tuples ? tuples : 1, sizeof(size_t));
    if (!offsets) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    gbx_status status = scatter_offsets(in, offsets, &inner, error);
    const float *g = grad_out[0]->f;
    if (status == GBX_OK && grad_in[0]) {
        float *to = grad_in[0]->f;
        if (node->params.ints[0]) {
            for (size_t j = 0; j < grad_out[0]->count; j++) to[j] += g[j];
        } else {
            float *kept = gbx_malloc_array(grad_out[0]->count ? grad_out[0]->count : 1, sizeof(float));
            if (!kept) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
            if (kept) {
                memcpy(kept, g, grad_out[0]->count * sizeof(float));
                for (size_t u = 0; u < tuples; u++) memset(kept + offsets[u], 0, inner * sizeof(float));
                for (size_t j = 0; j < grad_out[0]->count; j++) to[j] += kept[j];
                free(kept);
            }
        }
    }
    if (status == GBX_OK && grad_in[2])
        for (size_t u = 0; u < tuples; u++)
            for (size_t j = 0; j < inner; j++) grad_in[2]->f[u * inner + j] += g[offsets[u] + j];
    free(offsets);
    return status;
}

static gbx_status check_split(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph;
    node->params.ints[0] = attribute_int(node, "axis", 0);
    int present;
    /* Before opset 13 the sizes are an attribute; from 13 an input. */
    return keep_ints(node, "split", &present, error);
}

/* Split's part sizes along its axis: given (input or attribute), or equal parts, the last one
 * shorter where the length does not divide (opset 18's num_outputs). */
static gbx_status split_sizes(const gbx_nn_node *node, gbx_nn_tensor *const *in, int *axis,
                              int64_t *sizes, gbx_error *error)
{
    gbx_status status = normal_axis(node->params.ints[0], in[0]->rank, axis, error);
    if (status != GBX_OK) return status;
    int parts = node->output_count;
    int64_t length = in[0]->dims[*axis], total = 0;
    size_t count = 0;
    if (in[1]) {
        status = read_ints(in[1], sizes, GBX_NN_MAX_OUTPUTS, &count, error);
    } else if (node->params.list_count) {
        count = node->params.list_count;
        if (count <= GBX_NN_MAX_OUTPUTS) memcpy(sizes, node->params.list, count * sizeof(int64_t));
    } else {
        count = (size_t)parts;
        int64_t each = (length + parts - 1) / parts;
        for (int o = 0; o < parts; o++) sizes[o] = o + 1 < parts ? each : length - each * (parts - 1);
    }
    if (status != GBX_OK) return status;
    if (count != (size_t)parts)
        return gbx_fail(error, GBX_ERR_PARSE, "%zu split sizes for %d outputs", count, parts);
    for (int o = 0; o < parts; o++) {
        if (sizes[o] < 0 || sizes[o] > length - total)
            return gbx_fail(error, GBX_ERR_PARSE, "split sizes that do not add up to %lld",
                            (long long)length);
        total += sizes[o];
    }
    if (total != length)
        return gbx_fail(error, GBX_ERR_PARSE, "split sizes that add up to %lld, not %lld",
                        (long long)total, (long long)length);
    return GBX_OK;
}

static gbx_status forward_split(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                gbx_nn_tensor **out, gbx_error *error)
{
    int axis = 0;
    int64_t sizes[GBX_NN_MAX_OUTPUTS];
    gbx_status status = split_sizes(node, in, &axis, sizes, error);
    const gbx_nn_tensor *x = in[0];
    size_t outer = product(x->dims, 0, axis), inner = product(x->dims, axis + 1, x->rank);
    size_t width = x->type == GBX_NN_FLOAT ? sizeof(float) : sizeof(int64_t);
    size_t row = (size_t)x->dims[axis] * inner, offset = 0;
    const char *source = x->type == GBX_NN_FLOAT ? (const char *)x->f : (const char *)x->i;
    for (int o = 0; status == GBX_OK && o < node->output_count; o++) {
        size_t part = (size_t)sizes[o] * inner;
        if (out[o]) {
            int64_t dims[GBX_NN_MAX_RANK];
            memcpy(dims, x->dims, sizeof dims);
            dims[axis] = sizes[o];
            status = gbx_nn_tensor_alloc_unset(out[o], x->type, x->rank, dims, error);
            char *target = status != GBX_OK ? NULL
                           : x->type == GBX_NN_FLOAT ? (char *)out[o]->f : (char *)out[o]->i;
            for (size_t r = 0; target && r < outer && part; r++)
                memcpy(target + r * part * width, source + (r * row + offset) * width, part * width);
        }
        offset += part;
    }
    return status;
}

/* Each part's gradient goes back to where the part came from. */
static gbx_status backward_split(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                 gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                 gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)out;
    if (!grad_in[0]) return GBX_OK;
    int axis = 0;
    int64_t sizes[GBX_NN_MAX_OUTPUTS];
    gbx_status status = split_sizes(node, in, &axis, sizes, error);
    if (status != GBX_OK) return status;
    size_t outer = product(in[0]->dims, 0, axis), inner = product(in[0]->dims, axis + 1, in[0]->rank);
    size_t row = (size_t)in[0]->dims[axis] * inner, offset = 0;
    for (int o = 0; o < node->output_count; o++) {
        size_t part = (size_t)sizes[o] * inner;
        const float *g = gradient_of(grad_out, o);
        for (size_t r = 0; g && r < outer; r++)
            for (size_t j = 0; j < part; j++) grad_in[0]->f[r * row + offset + j] += g[r * part + j];
        offset += part;
    }
    return GBX_OK;
}

/* ---- the table ---------------------------------------------------------------------------- */

/* gradient_inputs masks: which inputs carry gradients (data, not shapes, indices or masks). */
#define IN0 1u
#define IN01 3u
#define IN012 7u
#define ALL_INPUTS 0xffffffffu

static const gbx_nn_op ops[] = {
    {"AveragePool", 1, 1, 1, gbx_nn_check_window, gbx_nn_forward_average_pool, gbx_nn_backward_average_pool, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"Abs", 1, 1, 1, NULL, forward_abs, backward_abs, IN0, GBX_DEEPLIFT_RESCALE, 0},
    {"Add", 2, 2, 1, NULL, forward_add, backward_add, IN01, GBX_DEEPLIFT_LINEAR, 0},
    {"BatchNormalization", 5, 5, 1, check_epsilon, forward_batch_norm, backward_batch_norm, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"Cast", 1, 1, 1, check_cast, forward_cast, backward_pass_through, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"Ceil", 1, 1, 1, NULL, forward_ceil, NULL, IN0, GBX_DEEPLIFT_NONE, 0},
    {"Clip", 1, 3, 1, check_clip, forward_clip, backward_clip, IN0, GBX_DEEPLIFT_RESCALE, 0},
    {"Conv", 2, 3, 1, gbx_nn_check_window, gbx_nn_forward_conv, gbx_nn_backward_conv, IN012, GBX_DEEPLIFT_PRODUCT, 1},
    {"ConvTranspose", 2, 3, 1, gbx_nn_check_window, gbx_nn_forward_conv_transpose, gbx_nn_backward_conv_transpose, IN012, GBX_DEEPLIFT_PRODUCT, 0},
    {"Concat", 1, GBX_NN_MAX_INPUTS, 1, check_axis, forward_concat, backward_concat, ALL_INPUTS, GBX_DEEPLIFT_LINEAR, 0},
    {"ConstantOfShape", 1, 1, 1, check_constant_of_shape, forward_constant_of_shape, NULL, 0, GBX_DEEPLIFT_NONE, 0},
    {"CumSum", 2, 2, 1, check_cum_sum, forward_cum_sum, backward_cum_sum, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"Div", 2, 2, 1, NULL, forward_div, backward_div, IN01, GBX_DEEPLIFT_PRODUCT, 0},
    {"Dropout", 1, 3, 2, NULL, forward_identity, backward_pass_through, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"Elu", 1, 1, 1, check_elu, forward_elu, backward_elu, IN0, GBX_DEEPLIFT_RESCALE, 0},
    {"Equal", 2, 2, 1, NULL, forward_equal, NULL, IN01, GBX_DEEPLIFT_NONE, 0},
    {"And", 2, 2, 1, NULL, forward_and, NULL, IN01, GBX_DEEPLIFT_NONE, 0},
    {"Or", 2, 2, 1, NULL, forward_or, NULL, IN01, GBX_DEEPLIFT_NONE, 0},
    {"Xor", 2, 2, 1, NULL, forward_xor, NULL, IN01, GBX_DEEPLIFT_NONE, 0},
    {"Erf", 1, 1, 1, NULL, forward_erf, backward_erf, IN0, GBX_DEEPLIFT_RESCALE, 0},
    {"Exp", 1, 1, 1, NULL, forward_exp, backward_exp, IN0, GBX_DEEPLIFT_RESCALE, 0},
    {"Expand", 2, 2, 1, NULL, forward_expand, backward_expand, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"Flatten", 1, 1, 1, check_axis, forward_flatten, backward_pass_through, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"Floor", 1, 1, 1, NULL, forward_floor, NULL, IN0, GBX_DEEPLIFT_NONE, 0},
    {"GlobalAveragePool", 1, 1, 1, NULL, gbx_nn_forward_global_average_pool, gbx_nn_backward_global_average_pool, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"GlobalMaxPool", 1, 1, 1, NULL, gbx_nn_forward_global_max_pool, gbx_nn_backward_global_max_pool, IN0, GBX_DEEPLIFT_MAX_POOL, 0},
    {"GRU", 3, 6, 2, gbx_nn_check_gru, gbx_nn_forward_gru, gbx_nn_backward_gru, IN0, GBX_DEEPLIFT_NONE, 0},
    {"Einsum", 1, 8, 1, gbx_nn_check_einsum, gbx_nn_forward_einsum, gbx_nn_backward_einsum, 0xffu, GBX_DEEPLIFT_PRODUCT, 0},
    {"Gather", 2, 2, 1, check_gather, forward_gather, backward_gather, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"Gelu", 1, 1, 1, check_gelu, forward_gelu, backward_gelu, IN0, GBX_DEEPLIFT_RESCALE, 0},
    {"Gemm", 2, 3, 1, check_gemm, forward_gemm, backward_gemm, IN012, GBX_DEEPLIFT_PRODUCT, 0},
    {"Greater", 2, 2, 1, NULL, forward_greater, NULL, IN01, GBX_DEEPLIFT_NONE, 0},
    {"GreaterOrEqual", 2, 2, 1, NULL, forward_greater_equal, NULL, IN01, GBX_DEEPLIFT_NONE, 0},
    {"HardSigmoid", 1, 1, 1, check_hard_sigmoid, forward_hard_sigmoid, backward_hard_sigmoid, IN0, GBX_DEEPLIFT_RESCALE, 0},
    {"Identity", 1, 1, 1, NULL, forward_identity, backward_pass_through, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"IsInf", 1, 1, 1, check_is_inf, forward_is_inf, NULL, 0, GBX_DEEPLIFT_NONE, 0},
    {"IsNaN", 1, 1, 1, NULL, forward_is_nan, NULL, 0, GBX_DEEPLIFT_NONE, 0},
    {"LSTM", 3, 8, 3, gbx_nn_check_lstm, gbx_nn_forward_lstm, gbx_nn_backward_lstm, IN0, GBX_DEEPLIFT_NONE, 0},
    {"LayerNormalization", 2, 3, 3, check_epsilon, forward_layer_norm, backward_layer_norm, IN0, GBX_DEEPLIFT_NONE, 0},
    {"LeakyRelu", 1, 1, 1, check_leaky_relu, forward_leaky_relu, backward_leaky_relu, IN0, GBX_DEEPLIFT_RESCALE, 0},
    {"Less", 2, 2, 1, NULL, forward_less, NULL, IN01, GBX_DEEPLIFT_NONE, 0},
    {"LessOrEqual", 2, 2, 1, NULL, forward_less_equal, NULL, IN01, GBX_DEEPLIFT_NONE, 0},
    {"Log", 1, 1, 1, NULL, forward_log, backward_log, IN0, GBX_DEEPLIFT_RESCALE, 0},
    {"LogSoftmax", 1, 1, 1, check_softmax, forward_log_softmax, backward_log_softmax, IN0, GBX_DEEPLIFT_NONE, 0},
    {"MatMul", 2, 2, 1, NULL, forward_matmul, backward_matmul, IN01, GBX_DEEPLIFT_PRODUCT, 0},
    {"MaxPool", 1, 1, 2, gbx_nn_check_window, gbx_nn_forward_max_pool, gbx_nn_backward_max_pool, IN0, GBX_DEEPLIFT_MAX_POOL, 1},
    {"Max", 1, GBX_NN_MAX_INPUTS, 1, NULL, forward_max, backward_min_max, ALL_INPUTS, GBX_DEEPLIFT_NONE, 0},
    {"Min", 1, GBX_NN_MAX_INPUTS, 1, NULL, forward_min, backward_min_max, ALL_INPUTS, GBX_DEEPLIFT_NONE, 0},
    {"Mod", 2, 2, 1, NULL, forward_mod, backward_mod, IN0, GBX_DEEPLIFT_NONE, 0},
    {"Mul", 2, 2, 1, NULL, forward_mul, backward_mul, IN01, GBX_DEEPLIFT_PRODUCT, 0},
    {"Neg", 1, 1, 1, NULL, forward_neg, backward_neg, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"Not", 1, 1, 1, NULL, forward_not, NULL, IN0, GBX_DEEPLIFT_NONE, 0},
    {"Pow", 2, 2, 1, NULL, forward_pow, backward_pow, IN01, GBX_DEEPLIFT_RESCALE, 0},
    {"Range", 3, 3, 1, NULL, forward_range, NULL, 0, GBX_DEEPLIFT_NONE, 0},
    {"Reciprocal", 1, 1, 1, NULL, forward_reciprocal, backward_reciprocal, IN0, GBX_DEEPLIFT_RESCALE, 0},
    {"ReduceProd", 1, 2, 1, check_axes, forward_reduce_prod, NULL, IN0, GBX_DEEPLIFT_NONE, 0},
    {"ReduceMean", 1, 2, 1, check_axes, forward_reduce_mean, backward_reduce_mean, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"ReduceSum", 1, 2, 1, check_axes, forward_reduce_sum, backward_reduce_sum, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"Relu", 1, 1, 1, NULL, forward_relu, backward_relu, IN0, GBX_DEEPLIFT_RESCALE, 1},
    {"Reshape", 2, 2, 1, check_reshape, forward_reshape, backward_pass_through, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"ScatterND", 3, 3, 1, check_scatter_nd, forward_scatter_nd, backward_scatter_nd, 5u, GBX_DEEPLIFT_NONE, 0},
    {"SpaceToBatchND", 3, 3, 1, NULL, gbx_nn_forward_space_to_batch, gbx_nn_backward_space_to_batch, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"BatchToSpaceND", 3, 3, 1, NULL, gbx_nn_forward_batch_to_space, gbx_nn_backward_batch_to_space, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"Selu", 1, 1, 1, check_selu, forward_selu, backward_selu, IN0, GBX_DEEPLIFT_RESCALE, 0},
    {"Shape", 1, 1, 1, check_shape, forward_shape, NULL, 0, GBX_DEEPLIFT_NONE, 0},
    {"Sigmoid", 1, 1, 1, NULL, forward_sigmoid, backward_sigmoid, IN0, GBX_DEEPLIFT_RESCALE, 0},
    {"Size", 1, 1, 1, NULL, forward_size, NULL, 0, GBX_DEEPLIFT_NONE, 0},
    {"Slice", 1, 5, 1, check_slice, forward_slice, backward_slice, IN0, GBX_DEEPLIFT_LINEAR, 0},
    /* Softmax takes the rescale rule element by element, as shap's PyTorch DeepExplainer and
     * captum do; it is not elementwise, so the values may miss additivity (reported per row). */
    {"Softmax", 1, 1, 1, check_softmax, forward_softmax, backward_softmax, IN0, GBX_DEEPLIFT_RESCALE, 0},
    {"Softplus", 1, 1, 1, NULL, forward_softplus, backward_softplus, IN0, GBX_DEEPLIFT_RESCALE, 0},
    {"Split", 1, 2, GBX_NN_MAX_OUTPUTS, check_split, forward_split, backward_split, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"Sqrt", 1, 1, 1, NULL, forward_sqrt, backward_sqrt, IN0, GBX_DEEPLIFT_RESCALE, 0},
    {"Squeeze", 1, 2, 1, check_axes, forward_squeeze, backward_pass_through, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"Sub", 2, 2, 1, NULL, forward_sub, backward_sub, IN01, GBX_DEEPLIFT_LINEAR, 0},
    {"Tanh", 1, 1, 1, NULL, forward_tanh, backward_tanh, IN0, GBX_DEEPLIFT_RESCALE, 0},
    {"Tile", 2, 2, 1, NULL, forward_tile, backward_tile, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"Transpose", 1, 1, 1, check_transpose, forward_transpose, backward_transpose, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"Trilu", 1, 2, 1, check_trilu, forward_trilu, backward_trilu, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"Unsqueeze", 1, 2, 1, check_axes, forward_unsqueeze, backward_pass_through, IN0, GBX_DEEPLIFT_LINEAR, 0},
    {"Where", 3, 3, 1, NULL, forward_where, backward_where, 6u, GBX_DEEPLIFT_NONE, 0},
};

const gbx_nn_op *gbx_nn_find_op(const char *name)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i].name, name) == 0) return &ops[i];
    return NULL;
}
