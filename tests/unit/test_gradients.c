/* Reverse-mode gradients against central finite differences: every operator with a gradient
 * rule, in a one-node graph fed from each of its data inputs in turn (broadcast shapes
 * included), then every network fixture end to end. Operators without a useful gradient must
 * stop a gradient method with the node named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "glassbox.h"
#include "core/core.h"
#include "core/blas.h"
#undef I /* complex.h's, by way of cblas.h: the tests below name a tensor I */
#include "models/model.h"
#include "nn/graph.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FIXTURES "tests/conformance/fixtures/onnx/"

static uint64_t random_state = 12345;

static double uniform(void) { return gbx_random_uniform(&random_state); }

/* ---- one-node graphs ---------------------------------------------------------------------- */

typedef struct {
    const char *name;
    gbx_nn_attribute_kind kind;
    int64_t i;
    float f;
    int64_t ints[4];
    size_t count;
} attribute_spec;

typedef struct {
    const char *op;
    int inputs;
    int ranks[5];
    int64_t shapes[5][5];
    unsigned int_inputs;       /* inputs given as int64 values below (shapes, axes, indices) */
    int64_t ints[5][6];
    unsigned data_inputs;      /* inputs to differentiate, one at a time */
    attribute_spec attributes[4];
    float away_from_zero;      /* |x| at least this (kinks at 0) */
    int positive;              /* inputs must be positive (log, sqrt, pow) */
    int opset;
} op_case;

static gbx_nn_attribute *make_attributes(const op_case *c, int *count)
{
    *count = 0;
    while (*count < 4 && c->attributes[*count].name) (*count)++;
    gbx_nn_attribute *attributes = calloc(*count ? (size_t)*count : 1, sizeof *attributes);
    for (int a = 0; a < *count; a++) {
        const attribute_spec *spec = &c->attributes[a];
        attributes[a].name = strdup(spec->name);
        attributes[a].kind = spec->kind;
        attributes[a].i = spec->i;
        attributes[a].f = spec->f;
        if (spec->kind == GBX_NN_ATTRIBUTE_INTS) {
            attributes[a].ints = malloc(spec->count * sizeof(int64_t));
            memcpy(attributes[a].ints, spec->ints, spec->count * sizeof(int64_t));
            attributes[a].count = spec->count;
        }
        if (spec->kind == GBX_NN_ATTRIBUTE_STRING)
            attributes[a].s = strdup(strcmp(spec->name, "auto_pad") == 0    ? "SAME_UPPER"
                                     : strcmp(spec->name, "direction") == 0 ? "bidirectional"
                                                                            : "tanh");
    }
    return attributes;
}

static float sample(const op_case *c)
{
    float v = (float)(uniform() * 2 - 1);
    if (c->positive) return 0.5f + fabsf(v);
    if (fabsf(v) < c->away_from_zero) v = v < 0 ? -c->away_from_zero - 0.1f : c->away_from_zero + 0.1f;
    return v;
}

/* Graph: input `data` feeds slot `data_slot`; other slots are random or given constants. */
static gbx_nn_graph *build(const op_case *c, int data_slot)
{
    gbx_nn_graph *graph = gbx_nn_graph_new();
    graph->opset = c->opset ? c->opset : 17;
    gbx_error error;
    int inputs[5];
    for (int i = 0; i < c->inputs; i++) {
        char name[16];
        snprintf(name, sizeof name, "in%d", i);
        inputs[i] = gbx_nn_value(graph, name);
        if (i == data_slot) continue;
        gbx_nn_tensor t;
        int integer = (c->int_inputs >> i) & 1u;
        assert_int_equal(gbx_nn_tensor_alloc(&t, integer ? GBX_NN_INT64 : GBX_NN_FLOAT, c->ranks[i],
                                             c->shapes[i], &error), GBX_OK);
        for (size_t j = 0; j < t.count; j++) {
            if (integer) t.i[j] = c->ints[i][j % 6]; /* a longer tensor repeats the pattern */
            else t.f[j] = sample(c);
        }
        if (strcmp(c->op, "BatchNormalization") == 0 && i == 4)
            for (size_t j = 0; j < t.count; j++) t.f[j] = fabsf(t.f[j]) + 0.5f; /* variance */
        assert_int_equal(gbx_nn_set_constant(graph, inputs[i], &t, &error), GBX_OK);
    }
    /* The data input's first dimension is the batch. */
    graph->input = inputs[data_slot];
    graph->input_rank = c->ranks[data_slot];
    graph->input_dims[0] = -1;
    for (int d = 1; d < c->ranks[data_slot]; d++) graph->input_dims[d] = c->shapes[data_slot][d];
    int output = gbx_nn_value(graph, "out"), count;
    gbx_nn_attribute *attributes = make_attributes(c, &count);
    if (gbx_nn_add_node(graph, gbx_nn_find_op(c->op), c->op, inputs, c->inputs, &output, 1,
                        attributes, count, &error))
        fail_msg("%s: %s", c->op, error.message);
    graph->output = output;
    assert_int_equal(gbx_nn_graph_finish(graph, &error), GBX_OK);
    return graph;
}

/* sum(seed * f(x)) in double, for finite differences, with tensor `patch` replaced by
 * patch_values when patch >= 0. */
static double objective(const gbx_nn_graph *graph, const float *x, const float *seed, size_t batch,
                        int patch, const gbx_nn_tensor *patch_values)
{
    gbx_nn_tensor *values = calloc(graph->value_count, sizeof *values);
    gbx_error error;
    if (gbx_nn_forward_patched(graph, x, batch, patch, patch_values, values, &error))
        fail_msg("%s", error.message);
    double total = 0;
    for (size_t j = 0; j < values[graph->output].count; j++)
        total += (double)seed[j] * values[graph->output].f[j];
    gbx_nn_values_free(graph, values);
    free(values);
    return total;
}

/* Backward gradient at source (the input or a layer's output) against central differences
 * at step h. */
static void check_gradient_at(const char *what, const gbx_nn_graph *graph, int source, float *x,
                              size_t batch, float h, double tolerance)
{
    gbx_nn_tensor *values = calloc(graph->value_count, sizeof *values);
    gbx_nn_tensor *grads = calloc(graph->value_count, sizeof *grads);
    gbx_error error;
    if (gbx_nn_forward(graph, x, batch, values, &error)) fail_msg("%s: %s", what, error.message);
    gbx_nn_tensor seed;
    const gbx_nn_tensor *y = &values[graph->output];
    assert_int_equal(gbx_nn_tensor_alloc(&seed, GBX_NN_FLOAT, y->rank, y->dims, &error), GBX_OK);
    for (size_t j = 0; j < seed.count; j++) seed.f[j] = (float)(uniform() * 2 - 1);
    if (gbx_nn_backward(graph, values, source, graph->output, &seed, grads, &error))
        fail_msg("%s: %s", what, error.message);
    const gbx_nn_tensor *g = &grads[source];
    assert_non_null(g->f);
    /* What is perturbed: the input itself, or a copy of the layer's activations patched in. */
    size_t count = values[source].count;
    float *at = source == graph->input ? x : malloc(count * sizeof(float));
    if (at != x) memcpy(at, values[source].f, count * sizeof(float));
    int patch = source == graph->input ? -1 : source;
    gbx_nn_tensor view = values[source]; /* the layer's shape over the perturbed copy */
    view.f = at;
    double worst = 0, scale = 1e-3;
    for (size_t j = 0; j < count; j++) scale = fmax(scale, fabs(g->f[j]));
    for (size_t j = 0; j < count; j++) {
        float keep = at[j];
        at[j] = keep + h;
        double up = objective(graph, x, seed.f, batch, patch, &view);
        at[j] = keep - h;
        double down = objective(graph, x, seed.f, batch, patch, &view);
        at[j] = keep;
        double numeric = (up - down) / (2.0 * (double)h);
        double gap = fabs(numeric - g->f[j]) / scale;
        if (gap > worst) worst = gap;
        if (gap > tolerance)
            fail_msg("%s: d/dx[%zu] is %.6g; finite differences give %.6g", what, j, g->f[j], numeric);
    }
    if (at != x) free(at);
    gbx_nn_tensor_release(&seed);
    gbx_nn_values_free(graph, values);
    for (size_t v = 0; v < graph->value_count; v++) gbx_nn_tensor_release(&grads[v]);
    free(values);
    free(grads);
}

static void check_gradient(const char *what, const gbx_nn_graph *graph, float *x, size_t size,
                           size_t batch, float h, double tolerance)
{
    (void)size;
    check_gradient_at(what, graph, graph->input, x, batch, h, tolerance);
}

#define F GBX_NN_ATTRIBUTE_FLOAT
#define I GBX_NN_ATTRIBUTE_INT
#define IS GBX_NN_ATTRIBUTE_INTS

static const op_case cases[] = {
    /* elementwise, with broadcasting in both directions */
    {"Add", 2, {3, 1}, {{2, 3, 4}, {4}}, 0, {{0}}, 3, {{0}}, 0, 0, 0},
    {"Sub", 2, {3, 2}, {{2, 3, 4}, {3, 1}}, 0, {{0}}, 3, {{0}}, 0, 0, 0},
    {"Mul", 2, {2, 2}, {{3, 4}, {3, 4}}, 0, {{0}}, 3, {{0}}, 0, 0, 0},
    {"Div", 2, {2, 1}, {{3, 4}, {4}}, 0, {{0}}, 3, {{0}}, 0, 1, 0},
    {"Pow", 2, {2, 1}, {{3, 4}, {1}}, 0, {{0}}, 3, {{0}}, 0, 1, 0},
    {"Max", 2, {2, 2}, {{3, 4}, {3, 4}}, 0, {{0}}, 3, {{0}}, 0, 0, 0},
    {"Min", 2, {2, 1}, {{3, 4}, {4}}, 0, {{0}}, 3, {{0}}, 0, 0, 0},
    {"Relu", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{0}}, 0.05f, 0, 0},
    {"LeakyRelu", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{"alpha", F, 0, 0.1f, {0}, 0}}, 0.05f, 0, 0},
    {"Elu", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{0}}, 0.05f, 0, 0},
    {"Selu", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{0}}, 0.05f, 0, 0},
    {"Sigmoid", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{0}}, 0, 0, 0},
    {"Tanh", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{0}}, 0, 0, 0},
    {"Softplus", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{0}}, 0, 0, 0},
    {"Exp", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{0}}, 0, 0, 0},
    {"Log", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{0}}, 0, 1, 0},
    {"Sqrt", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{0}}, 0, 1, 0},
    {"Neg", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{0}}, 0, 0, 0},
    {"Abs", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{0}}, 0.05f, 0, 0},
    {"Erf", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{0}}, 0, 0, 0},
    {"Gelu", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{0}}, 0, 0, 20},
    {"Gelu", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{"approximate", GBX_NN_ATTRIBUTE_STRING, 0, 0, {0}, 0}}, 0, 0, 20},
    {"Reciprocal", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{0}}, 0, 1, 0},
    {"HardSigmoid", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{0}}, 0, 0, 0},
    {"Clip", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{"min", F, 0, -0.5f, {0}, 0}, {"max", F, 0, 0.5f, {0}, 0}}, 0, 0, 9},
    {"Identity", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{0}}, 0, 0, 0},
    {"Dropout", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{0}}, 0, 0, 0},
    {"Cast", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{"to", I, 1, 0, {0}, 0}}, 0, 0, 0},
    /* linear algebra */
    {"Gemm", 3, {2, 2, 1}, {{3, 4}, {4, 5}, {5}}, 0, {{0}}, 7, {{0}}, 0, 0, 0},
    {"Gemm", 3, {2, 2, 2}, {{4, 3}, {5, 4}, {1, 5}}, 0, {{0}}, 7,
     {{"transA", I, 1, 0, {0}, 0}, {"transB", I, 1, 0, {0}, 0}, {"alpha", F, 0, 0.7f, {0}, 0}}, 0, 0, 0},
    {"Gemm", 2, {2, 2}, {{3, 4}, {5, 4}}, 0, {{0}}, 3, {{"transB", I, 1, 0, {0}, 0}}, 0, 0, 0},
    {"MatMul", 2, {3, 2}, {{2, 3, 4}, {4, 5}}, 0, {{0}}, 3, {{0}}, 0, 0, 0},
    {"MatMul", 2, {3, 3}, {{2, 3, 4}, {1, 4, 2}}, 0, {{0}}, 3, {{0}}, 0, 0, 0},
    {"MatMul", 2, {1, 2}, {{4}, {4, 3}}, 0, {{0}}, 3, {{0}}, 0, 0, 0},
    /* normalisation and softmax */
    {"Softmax", 1, {3}, {{2, 3, 4}}, 0, {{0}}, 1, {{"axis", I, 1, 0, {0}, 0}}, 0, 0, 13},
    {"Softmax", 1, {3}, {{2, 3, 4}}, 0, {{0}}, 1, {{"axis", I, 1, 0, {0}, 0}}, 0, 0, 11},
    {"LogSoftmax", 1, {2}, {{3, 4}}, 0, {{0}}, 1, {{0}}, 0, 0, 13},
    {"BatchNormalization", 5, {3, 1, 1, 1, 1}, {{3, 2, 4}, {2}, {2}, {2}, {2}}, 0, {{0}}, 1, {{0}}, 0, 0, 0},
    {"LayerNormalization", 3, {2, 1, 1}, {{3, 6}, {6}, {6}}, 0, {{0}}, 1, {{0}}, 0, 0, 17},
    {"ReduceMean", 1, {3}, {{2, 3, 4}}, 0, {{0}}, 1, {{"axes", IS, 0, 0, {1}, 1}}, 0, 0, 13},
    {"ReduceSum", 2, {3, 1}, {{2, 3, 4}, {2}}, 2, {{0}, {0, 2}}, 1, {{"keepdims", I, 0, 0, {0}, 0}}, 0, 0, 13},
    /* shapes and selection */
    {"Reshape", 2, {2, 1}, {{3, 4}, {3}}, 2, {{0}, {2, -1, 3}}, 1, {{0}}, 0, 0, 0},
    {"Flatten", 1, {3}, {{2, 3, 4}}, 0, {{0}}, 1, {{0}}, 0, 0, 0},
    {"Transpose", 1, {3}, {{2, 3, 4}}, 0, {{0}}, 1, {{"perm", IS, 0, 0, {2, 0, 1}, 3}}, 0, 0, 0},
    {"Squeeze", 2, {3, 1}, {{3, 1, 4}, {1}}, 2, {{0}, {1}}, 1, {{0}}, 0, 0, 13},
    {"Unsqueeze", 2, {2, 1}, {{3, 4}, {1}}, 2, {{0}, {1}}, 1, {{0}}, 0, 0, 13},
    {"Concat", 2, {2, 2}, {{3, 4}, {3, 2}}, 0, {{0}}, 3, {{"axis", I, 1, 0, {0}, 0}}, 0, 0, 0},
    {"Slice", 5, {2, 1, 1, 1, 1}, {{5, 6}, {2}, {2}, {2}, {2}}, 30,
     {{0}, {1, 5}, {4, 0}, {0, 1}, {1, -2}}, 1, {{0}}, 0, 0, 13},
    {"Gather", 2, {2, 1}, {{4, 3}, {5}}, 2, {{0}, {3, 0, 3, -1, 2}}, 1, {{"axis", I, 0, 0, {0}, 0}}, 0, 0, 0},
    {"Expand", 2, {2, 1}, {{3, 1}, {3}}, 2, {{0}, {2, 3, 4}}, 1, {{0}}, 0, 0, 0},
    {"Tile", 2, {2, 1}, {{2, 3}, {2}}, 2, {{0}, {2, 3}}, 1, {{0}}, 0, 0, 0},
    {"Where", 3, {2, 2, 1}, {{3, 4}, {3, 4}, {4}}, 1, {{1, 0, 0, 1}}, 6, {{0}}, 0, 0, 0},
    /* what transformer exports use: running sums along a sequence, masks of a matrix */
    {"CumSum", 2, {3, 0}, {{3, 4, 5}, {0}}, 2, {{0}, {1}}, 1, {{0}}, 0, 0, 0},
    {"CumSum", 2, {2, 1}, {{3, 5}, {1}}, 2, {{0}, {-1}}, 1,
     {{"exclusive", I, 1, 0, {0}, 0}, {"reverse", I, 1, 0, {0}, 0}}, 0, 0, 0},
    {"Trilu", 2, {3, 0}, {{2, 4, 5}, {0}}, 2, {{0}, {1}}, 1, {{"upper", I, 0, 0, {0}, 0}}, 0, 0, 0},
    {"Trilu", 1, {3}, {{2, 3, 3}}, 0, {{0}}, 1, {{0}}, 0, 0, 0},
    /* convolution and pooling */
    {"Conv", 3, {4, 4, 1}, {{2, 4, 6, 5}, {6, 2, 3, 2}, {6}}, 0, {{0}}, 7,
     {{"group", I, 2, 0, {0}, 0}, {"pads", IS, 0, 0, {1, 0, 1, 1}, 4}, {"strides", IS, 0, 0, {2, 1}, 2},
      {"dilations", IS, 0, 0, {1, 2}, 2}}, 0, 0, 0},
    /* stride 1 in 2-D: the wide layout (conv.c), with groups, uneven pads and a dilation */
    {"Conv", 3, {4, 4, 1}, {{2, 4, 6, 5}, {6, 2, 3, 2}, {6}}, 0, {{0}}, 7,
     {{"group", I, 2, 0, {0}, 0}, {"pads", IS, 0, 0, {1, 0, 2, 1}, 4},
      {"dilations", IS, 0, 0, {2, 1}, 2}}, 0, 0, 0},
    {"Conv", 2, {3, 3}, {{2, 3, 9}, {4, 3, 3}}, 0, {{0}}, 3,
     {{"auto_pad", GBX_NN_ATTRIBUTE_STRING, 0, 0, {0}, 0}}, 0, 0, 0},
    {"ConvTranspose", 3, {4, 4, 1}, {{2, 4, 3, 3}, {4, 3, 2, 3}, {3}}, 0, {{0}}, 7,
     {{"strides", IS, 0, 0, {2, 2}, 2}, {"pads", IS, 0, 0, {0, 1, 1, 0}, 4}}, 0, 0, 0},
    {"MaxPool", 1, {4}, {{2, 3, 5, 5}}, 0, {{0}}, 1,
     {{"kernel_shape", IS, 0, 0, {2, 3}, 2}, {"strides", IS, 0, 0, {2, 2}, 2},
      {"pads", IS, 0, 0, {1, 1, 0, 1}, 4}, {"ceil_mode", I, 1, 0, {0}, 0}}, 0, 0, 0},
    {"AveragePool", 1, {4}, {{2, 3, 5, 5}}, 0, {{0}}, 1,
     {{"kernel_shape", IS, 0, 0, {3, 3}, 2}, {"strides", IS, 0, 0, {2, 1}, 2},
      {"pads", IS, 0, 0, {1, 1, 1, 1}, 4}, {"count_include_pad", I, 1, 0, {0}, 0}}, 0, 0, 0},
    {"AveragePool", 1, {3}, {{2, 3, 7}}, 0, {{0}}, 1,
     {{"kernel_shape", IS, 0, 0, {3}, 1}, {"pads", IS, 0, 0, {1, 1}, 2}}, 0, 0, 0},
    {"GlobalAveragePool", 1, {4}, {{2, 3, 4, 5}}, 0, {{0}}, 1, {{0}}, 0, 0, 0},
    {"GlobalMaxPool", 1, {4}, {{2, 3, 4, 5}}, 0, {{0}}, 1, {{0}}, 0, 0, 0},
    /* recurrent */
    {"LSTM", 4, {3, 3, 3, 2}, {{4, 2, 3}, {1, 8, 3}, {1, 8, 2}, {1, 16}}, 0, {{0}}, 1,
     {{"hidden_size", I, 2, 0, {0}, 0}}, 0, 0, 0},
    {"GRU", 4, {3, 3, 3, 2}, {{4, 2, 3}, {1, 6, 3}, {1, 6, 2}, {1, 12}}, 0, {{0}}, 1,
     {{"hidden_size", I, 2, 0, {0}, 0}}, 0, 0, 0},
    {"GRU", 4, {3, 3, 3, 2}, {{4, 2, 3}, {2, 9, 3}, {2, 9, 3}, {2, 18}}, 0, {{0}}, 1,
     {{"hidden_size", I, 3, 0, {0}, 0}, {"direction", GBX_NN_ATTRIBUTE_STRING, 0, 0, {0}, 0},
      {"linear_before_reset", I, 1, 0, {0}, 0}}, 0, 0, 0},
    {"LSTM", 3, {3, 3, 3}, {{5, 2, 3}, {2, 12, 3}, {2, 12, 3}}, 0, {{0}}, 1,
     {{"hidden_size", I, 3, 0, {0}, 0}, {"direction", GBX_NN_ATTRIBUTE_STRING, 0, 0, {0}, 0}}, 0, 0, 0},
};

static void test_every_rule(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const op_case *spec = &cases[c];
        for (int slot = 0; slot < spec->inputs; slot++) {
            if (!((spec->data_inputs >> slot) & 1u)) continue;
            /* Where's condition is the int input; its data slots come after it. */
            op_case adjusted = *spec;
            if (strcmp(spec->op, "Where") == 0) {
                adjusted.ranks[0] = 2;
                adjusted.shapes[0][0] = 3;
                adjusted.shapes[0][1] = 4;
                adjusted.ints[0][0] = 1;
            }
            gbx_nn_graph *graph = build(&adjusted, slot);
            size_t size = 1, batch = (size_t)spec->shapes[slot][0];
            for (int d = 1; d < spec->ranks[slot]; d++) size *= (size_t)spec->shapes[slot][d];
            float *x = malloc(batch * size * sizeof(float));
            for (size_t j = 0; j < batch * size; j++) x[j] = sample(spec);
            char what[64];
            snprintf(what, sizeof what, "%s (case %zu, input %d)", spec->op, c, slot);
            print_message("%s\n", what);
            check_gradient(what, graph, x, size, batch, 2e-3f, 2e-2);
            free(x);
            gbx_nn_graph_free(graph);
        }
    }
}

/* ---- whole networks ----------------------------------------------------------------------- */

/* The 2-D Conv cases' forward (the flat padded layout at stride 1, the tap runs otherwise)
 * against the convolution's sum written out here: finite differences alone would not see a
 * forward that is wrong in the same way as its gradient. */
static void test_conv_forward_is_the_sum(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const op_case *c = &cases[i];
        if (strcmp(c->op, "Conv") != 0 || c->ranks[0] != 4) continue;
        int64_t pads[4] = {0, 0, 0, 0}, strides[2] = {1, 1}, dilations[2] = {1, 1}, group = 1;
        for (int a = 0; a < 4 && c->attributes[a].name; a++) {
            const attribute_spec *spec = &c->attributes[a];
            int64_t *to = strcmp(spec->name, "pads") == 0 ? pads
                        : strcmp(spec->name, "strides") == 0 ? strides
                        : strcmp(spec->name, "dilations") == 0 ? dilations : NULL;
            for (size_t j = 0; to && j < spec->count; j++) to[j] = spec->ints[j];
            if (strcmp(spec->name, "group") == 0) group = spec->i;
        }
        gbx_nn_graph *graph = build(c, 0);
        const int64_t *xs = c->shapes[0], *ws = c->shapes[1];
        size_t count = (size_t)(xs[0] * xs[1] * xs[2] * xs[3]);
        float *x = malloc(count * sizeof(float));
        for (size_t j = 0; j < count; j++) x[j] = sample(c);
        gbx_nn_tensor *values = calloc(graph->value_count, sizeof *values);
        gbx_error error;
        assert_int_equal(gbx_nn_forward(graph, x, (size_t)xs[0], values, &error), GBX_OK);
        const float *w = values[gbx_nn_find_value(graph, "in1")].f;
        const float *b = c->inputs > 2 ? values[gbx_nn_find_value(graph, "in2")].f : NULL;
        const gbx_nn_tensor *y = &values[graph->output];
        int64_t H = xs[2], W = xs[3], M = ws[0], Cg = ws[1], KH = ws[2], KW = ws[3];
        int64_t OH = (H + pads[0] + pads[2] - (KH - 1) * dilations[0] - 1) / strides[0] + 1;
        int64_t OW = (W + pads[1] + pads[3] - (KW - 1) * dilations[1] - 1) / strides[1] + 1;
        assert_int_equal(y->count, (size_t)(xs[0] * M * OH * OW));
        for (int64_t n = 0; n < xs[0]; n++)
            for (int64_t m = 0; m < M; m++)
                for (int64_t oy = 0; oy < OH; oy++)
                    for (int64_t ox = 0; ox < OW; ox++) {
                        double sum = b ? b[m] : 0.0;
                        int64_t first = m / (M / group) * Cg;
                        for (int64_t ci = 0; ci < Cg; ci++)
                            for (int64_t ky = 0; ky < KH; ky++)
                                for (int64_t kx = 0; kx < KW; kx++) {
                                    int64_t iy = oy * strides[0] - pads[0] + ky * dilations[0];
                                    int64_t ix = ox * strides[1] - pads[1] + kx * dilations[1];
                                    if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                    sum += (double)w[((m * Cg + ci) * KH + ky) * KW + kx] *
                                           x[((n * xs[1] + first + ci) * H + iy) * W + ix];
                                }
                        float got = y->f[((n * M + m) * OH + oy) * OW + ox];
                        if (!(fabs(got - sum) <= 1e-5 * (1 + fabs(sum))))
                            fail_msg("Conv (case %zu): y[%lld, %lld, %lld, %lld] is %.7g, the sum "
                                     "%.7g", i, (long long)n, (long long)m, (long long)oy,
                                     (long long)ox, got, sum);
                    }
        gbx_nn_values_free(graph, values);
        free(values);
        free(x);
        gbx_nn_graph_free(graph);
    }
}

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(o, key, &v);
    return v;
}

static void test_fixture_networks(void **state)
{
    (void)state;
    json_object *manifest = json_object_from_file(FIXTURES "manifest.json");
    json_object *fixtures = member(manifest, "fixtures");
    int checked = 0, refused = 0, at_layer = 0;
    for (size_t i = 0; i < json_object_array_length(fixtures); i++) {
        json_object *fixture = json_object_array_get_idx(fixtures, i);
        const char *name = json_object_get_string(member(fixture, "name"));
        if (member(fixture, "expect_error") || strncmp(name, "skl_", 4) == 0 ||
            !member(fixture, "data"))
            continue;
        char path[512];
        snprintf(path, sizeof path, FIXTURES "%s", json_object_get_string(member(fixture, "model")));
        gbx_model *model;
        gbx_error error;
        assert_int_equal(gbx_model_load(path, &model, &error), GBX_OK);
        const gbx_nn_graph *graph = model->network;
        assert_non_null(graph);
        int source = graph->input;
        json_object *layer = member(fixture, "layer");
        if (layer) {
            /* Text networks read token ids: their gradients start at the embedding. */
            assert_int_not_equal(gbx_nn_check_differentiable(graph, source, graph->output, &error),
                                 GBX_OK);
            assert_non_null(strstr(error.message, "only through indices"));
            source = gbx_nn_find_value(graph, json_object_get_string(layer));
            assert_true(source >= 0);
            at_layer++;
        }
        if (gbx_nn_check_differentiable(graph, source, graph->output, &error) != GBX_OK) {
            /* The shape-ops fixture rounds and compares on the way to its output. */
            assert_string_equal(name, "torch_shape_ops");
            assert_non_null(strstr(error.message, "has no useful gradient"));
            print_message("%s: %s\n", name, error.message);
            refused++;
            gbx_model_free(model);
            continue;
        }
        snprintf(path, sizeof path, FIXTURES "%s", json_object_get_string(member(fixture, "data")));
        gbx_data *data;
        assert_int_equal(gbx_data_read_csv(path, model, &data, &error), GBX_OK);
        size_t M = gbx_data_columns(data);
        float *x = malloc(2 * M * sizeof(float));
        for (size_t j = 0; j < 2 * M; j++) x[j] = (float)gbx_data_values(data)[j];
        print_message("%s\n", name);
        /* Each network's seed gradient is drawn the same whatever fixtures come before it. */
        random_state = 12345;
        /* An image network is piecewise linear with a kink near almost every background
         * pixel, so finite differences say little there; its gradients are held to torch's
         * instead (captum's saliency and input x gradient, test_onnx), and each of its
         * operators is checked here above. */
        if (M <= 100) check_gradient_at(name, graph, source, x, 2, 5e-3f, 5e-2);
        free(x);
        gbx_data_free(data);
        gbx_model_free(model);
        checked++;
    }
    assert_true(checked >= 5);
    assert_int_equal(refused, 1);
    assert_int_equal(at_layer, 3);
    json_object_put(manifest);
}

/* The operator graphs of transformer exports (fixtures/onnx_ops): gradients cross shape
 * arithmetic (Shape, Size, Range, an int Mod) without stopping, and match finite differences. */
static void test_operator_fixtures(void **state)
{
    (void)state;
    const char *directory = "tests/conformance/fixtures/onnx_ops/";
    char path[512];
    snprintf(path, sizeof path, "%smanifest.json", directory);
    json_object *manifest = json_object_from_file(path), *cases = member(manifest, "cases");
    assert_non_null(cases);
    int checked = 0;
    for (size_t c = 0; c < json_object_array_length(cases); c++) {
        json_object *fixture = json_object_array_get_idx(cases, c);
        if (!json_object_get_boolean(member(fixture, "differentiable"))) continue;
        const char *name = json_object_get_string(member(fixture, "name"));
        snprintf(path, sizeof path, "%s%s", directory, json_object_get_string(member(fixture, "model")));
        gbx_model *model;
        gbx_error error;
        assert_int_equal(gbx_model_load(path, &model, &error), GBX_OK);
        const gbx_nn_graph *graph = model->network;
        if (gbx_nn_check_differentiable(graph, graph->input, graph->output, &error))
            fail_msg("%s: %s", name, error.message);
        snprintf(path, sizeof path, "%s%s", directory,
                 json_object_get_string(member(manifest, "data")));
        gbx_data *data;
        assert_int_equal(gbx_data_read_csv(path, model, &data, &error), GBX_OK);
        size_t n = gbx_data_rows(data), M = gbx_data_columns(data);
        float *x = malloc(n * M * sizeof(float));
        for (size_t j = 0; j < n * M; j++) x[j] = (float)gbx_data_values(data)[j];
        print_message("%s\n", name);
        random_state = 12345;
        check_gradient_at(name, graph, graph->input, x, n, 2e-3f, 2e-2);
        free(x);
        gbx_data_free(data);
        gbx_model_free(model);
        checked++;
    }
    assert_int_equal(checked, 15);
    json_object_put(manifest);
}

/* An input used only as indices (an embedding lookup) has no gradient: refused, not zeros. */
static void test_indices_only_input_is_refused(void **state)
{
    (void)state;
    gbx_nn_graph *graph = gbx_nn_graph_new();
    graph->opset = 17;
    gbx_error error;
    int x = gbx_nn_value(graph, "x"), table = gbx_nn_value(graph, "table");
    int index = gbx_nn_value(graph, "index"), y = gbx_nn_value(graph, "y");
    gbx_nn_tensor t;
    int64_t dims[2] = {10, 4};
    assert_int_equal(gbx_nn_tensor_alloc(&t, GBX_NN_FLOAT, 2, dims, &error), GBX_OK);
    assert_int_equal(gbx_nn_set_constant(graph, table, &t, &error), GBX_OK);
    graph->input = x;
    graph->input_rank = 2;
    graph->input_dims[0] = -1;
    graph->input_dims[1] = 3;
    gbx_nn_attribute *to = calloc(1, sizeof *to);
    to->name = strdup("to");
    to->kind = GBX_NN_ATTRIBUTE_INT;
    to->i = 7; /* int64 */
    assert_int_equal(gbx_nn_add_node(graph, gbx_nn_find_op("Cast"), "cast", &x, 1, &index, 1, to, 1,
                                     &error), GBX_OK);
    int gather[2] = {table, index};
    assert_int_equal(gbx_nn_add_node(graph, gbx_nn_find_op("Gather"), "lookup", gather, 2, &y, 1,
                                     NULL, 0, &error), GBX_OK);
    graph->output = y;
    assert_int_equal(gbx_nn_graph_finish(graph, &error), GBX_OK);
    assert_int_not_equal(gbx_nn_check_differentiable(graph, graph->input, y, &error), GBX_OK);
    assert_non_null(strstr(error.message, "only through indices"));
    gbx_nn_graph_free(graph);
}

/* DeepLIFT pairs explained row p with reference row p mod B; a graph that moves the batch out of
 * the first dimension before a nonlinearity must be refused, not paired wrongly. */
static void test_deeplift_needs_the_batch_first(void **state)
{
    (void)state;
    gbx_nn_graph *graph = gbx_nn_graph_new();
    graph->opset = 17;
    gbx_error error;
    int x = gbx_nn_value(graph, "x"), t = gbx_nn_value(graph, "t"), r = gbx_nn_value(graph, "r");
    int y = gbx_nn_value(graph, "y");
    graph->input = x;
    graph->input_rank = 2;
    graph->input_dims[0] = -1;
    graph->input_dims[1] = 3;
    int64_t perm[2] = {1, 0};
    const int inputs[3][1] = {{x}, {t}, {r}}, outputs[3] = {t, r, y};
    const char *ops[3] = {"Transpose", "Relu", "Transpose"};
    for (int n = 0; n < 3; n++) {
        gbx_nn_attribute *attributes = NULL;
        int count = 0;
        if (n != 1) {
            attributes = calloc(1, sizeof *attributes);
            attributes->name = strdup("perm");
            attributes->kind = GBX_NN_ATTRIBUTE_INTS;
            attributes->ints = malloc(sizeof perm);
            memcpy(attributes->ints, perm, sizeof perm);
            attributes->count = 2;
            count = 1;
        }
        assert_int_equal(gbx_nn_add_node(graph, gbx_nn_find_op(ops[n]), ops[n], inputs[n], 1,
                                         &outputs[n], 1, attributes, count, &error), GBX_OK);
    }
    graph->output = y;
    assert_int_equal(gbx_nn_graph_finish(graph, &error), GBX_OK);
    float explained[6] = {1, -2, 3, 4, 5, -6}, reference[3] = {0.5f, 0.5f, 0.5f};
    gbx_nn_tensor *values = calloc(graph->value_count, sizeof *values);
    gbx_nn_tensor *references = calloc(graph->value_count, sizeof *references);
    gbx_nn_tensor *grads = calloc(graph->value_count, sizeof *grads);
    assert_int_equal(gbx_nn_forward(graph, explained, 2, values, &error), GBX_OK);
    assert_int_equal(gbx_nn_forward(graph, reference, 1, references, &error), GBX_OK);
    gbx_nn_tensor seed;
    assert_int_equal(gbx_nn_tensor_alloc(&seed, GBX_NN_FLOAT, values[y].rank, values[y].dims,
                                         &error), GBX_OK);
    for (size_t j = 0; j < seed.count; j++) seed.f[j] = 1;
    assert_int_not_equal(gbx_nn_deeplift(graph, values, references, graph->input, y, &seed, 0, grads, &error), GBX_OK);
    assert_non_null(strstr(error.message, "batch is not the first dimension"));
    gbx_nn_tensor_release(&seed);
    for (size_t v = 0; v < graph->value_count; v++) gbx_nn_tensor_release(&grads[v]);
    gbx_nn_values_free(graph, values);
    gbx_nn_values_free(graph, references);
    free(values);
    free(references);
    free(grads);
    gbx_nn_graph_free(graph);
}

/* src/core/blas.c loads OpenBLAS with one thread and the widest kernels the CPU runs (unless
 * the user set them), whatever OpenBLAS's table of CPU models would have chosen (its SSE3
 * ones on a CPU newer than the table), and leaves the environment as it found it. */
static void test_blas_settings(void **state)
{
    (void)state;
    const char *threads = getenv("OPENBLAS_NUM_THREADS"), *coretype = getenv("OPENBLAS_CORETYPE");
    assert_int_equal(gbx_blas_load(NULL), GBX_OK);
    assert_ptr_equal(getenv("OPENBLAS_NUM_THREADS"), threads);
    assert_ptr_equal(getenv("OPENBLAS_CORETYPE"), coretype);
    if (!threads) assert_int_equal(gbx_blas_threads(), 1);
    if (coretype) return;
    __builtin_cpu_init();
    const char *core = gbx_blas_core();
    assert_non_null(core);
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512cd"))
        assert_int_equal(strcasecmp(core, "SkylakeX"), 0);
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        assert_int_equal(strcasecmp(core, "Haswell"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blas_settings),
        cmocka_unit_test(test_every_rule),
        cmocka_unit_test(test_conv_forward_is_the_sum),
        cmocka_unit_test(test_fixture_networks),
        cmocka_unit_test(test_operator_fixtures),
        cmocka_unit_test(test_indices_only_input_is_refused),
        cmocka_unit_test(test_deeplift_needs_the_batch_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
