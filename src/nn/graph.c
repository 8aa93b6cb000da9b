/* Graph construction and the forward interpreter. */
#include "graph.h"
#include "conv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local gbx_nn_pool *thread_pool;

void gbx_nn_pool_use(gbx_nn_pool *pool) { thread_pool = pool; }

void gbx_nn_pool_free(gbx_nn_pool *pool)
{
    for (size_t b = 0; b < pool->count; b++) free(pool->blocks[b]);
    free(pool->blocks);
    free(pool->sizes);
    memset(pool, 0, sizeof *pool);
}

/* A buffer of `bytes` (header included; zeroed when asked): the smallest pooled one that fits
 * without wasting more than half of it, or a new one. Pooled buffers keep their whole size in
 * their first bytes. */
static char *pooled_buffer(size_t bytes, int zero, int *pooled)
{
    gbx_nn_pool *pool = thread_pool;
    *pooled = pool != NULL;
    if (!pool) return zero ? calloc(1, bytes) : malloc(bytes);
    size_t best = SIZE_MAX;
    for (size_t b = 0; b < pool->count; b++)
        if (pool->sizes[b] >= bytes && pool->sizes[b] / 2 <= bytes &&
            (best == SIZE_MAX || pool->sizes[b] < pool->sizes[best]))
            best = b;
    char *block;
    size_t size = bytes;
    if (best == SIZE_MAX) {
        if (!(block = zero ? calloc(1, bytes) : malloc(bytes))) return NULL;
    } else {
        block = pool->blocks[best];
        size = pool->sizes[best];
        pool->blocks[best] = pool->blocks[--pool->count];
        pool->sizes[best] = pool->sizes[pool->count];
        if (zero) memset(block, 0, bytes);
    }
    memcpy(block, &size, sizeof size);
    return block;
}

/* Returns a buffer to the thread's pool, or frees it; pooled buffers have their size in front. */
static void release_buffer(void *data, int pooled)
{
    if (!data) return;
    gbx_nn_pool *pool = thread_pool;
    if (!pooled || !pool) {
        free(pooled ? (char *)data - 16 : data);
        return;
    }
    if (pool->count == pool->capacity) {
        size_t capacity = pool->capacity ? 2 * pool->capacity : 64;
        void **blocks = realloc(pool->blocks, capacity * sizeof *blocks);
        if (blocks) pool->blocks = blocks;
        size_t *sizes = blocks ? realloc(pool->sizes, capacity * sizeof *sizes) : NULL;
        if (sizes) pool->sizes = sizes;
        if (!blocks || !sizes) {
            free((char *)data - 16);
            return;
        }
        pool->capacity = capacity;
    }
    size_t bytes;
    memcpy(&bytes, (char *)data - 16, sizeof bytes);
    pool->blocks[pool->count] = (char *)data - 16;
    pool->sizes[pool->count++] = bytes;
}

static gbx_status tensor_alloc(gbx_nn_tensor *tensor, gbx_nn_type type, int rank,
                               const int64_t *dims, int zero, gbx_error *error)
{
    memset(tensor, 0, sizeof *tensor);
    if (rank < 0 || rank > GBX_NN_MAX_RANK)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "a tensor of rank %d (at most %d)", rank,
                        GBX_NN_MAX_RANK);
    size_t count = 1;
    for (int d = 0; d < rank; d++) {
        if (dims[d] < 0)
            return gbx_fail(error, GBX_ERR_PARSE, "a tensor dimension of %lld", (long long)dims[d]);
        if (dims[d] > 0 && count > GBX_NN_MAX_VALUES / (size_t)dims[d])
            return gbx_fail(error, GBX_ERR_UNSUPPORTED, "a tensor of more than %llu values",
                            (unsigned long long)GBX_NN_MAX_VALUES);
        count *= (size_t)dims[d];
        tensor->dims[d] = dims[d];
    }
    tensor->type = type;
    tensor->rank = rank;
    tensor->count = count;
    /* A pooled buffer carries its usable size in a 16-byte header (keeping the alignment). */
    size_t bytes = (count ? count : 1) * (type == GBX_NN_FLOAT ? sizeof(float) : sizeof(int64_t));
    int pooled;
    char *block = pooled_buffer(bytes + 16, zero, &pooled);
    if (!block) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for a tensor of %zu values",
                                count);
    void *data = pooled ? block + 16 : block;
    tensor->pooled = pooled;
    if (type == GBX_NN_FLOAT) tensor->f = data;
    else tensor->i = data;
    return GBX_OK;
}

gbx_status gbx_nn_tensor_alloc(gbx_nn_tensor *tensor, gbx_nn_type type, int rank,
                               const int64_t *dims, gbx_error *error)
{
    return tensor_alloc(tensor, type, rank, dims, 1, error);
}

gbx_status gbx_nn_tensor_alloc_unset(gbx_nn_tensor *tensor, gbx_nn_type type, int rank,
                                     const int64_t *dims, gbx_error *error)
{
    return tensor_alloc(tensor, type, rank, dims, 0, error);
}

void gbx_nn_tensor_release(gbx_nn_tensor *tensor)
{
    if (!tensor->borrowed) {
        release_buffer(tensor->f, tensor->pooled);
        release_buffer(tensor->i, tensor->pooled);
    }
    memset(tensor, 0, sizeof *tensor);
}

void gbx_nn_attribute_release(gbx_nn_attribute *attribute)
{
    free(attribute->name);
    free(attribute->ints);
    free(attribute->floats);
    free(attribute->s);
    gbx_nn_tensor_release(&attribute->t);
}

const gbx_nn_attribute *gbx_nn_attribute_find(const gbx_nn_node *node, const char *name)
{
    for (int a = 0; a < node->attribute_count; a++)
        if (strcmp(node->attributes[a].name, name) == 0) return &node->attributes[a];
    return NULL;
}

gbx_nn_graph *gbx_nn_graph_new(void)
{
    gbx_nn_graph *graph = calloc(1, sizeof *graph);
    if (graph) graph->input = graph->output = -1;
    return graph;
}

/* Values are found by name through a hash index (FNV-1a, linear probing): a graph of tens of
 * thousands of nodes looks its inputs up in constant time, not by a search each. */
static size_t name_hash(const char *name)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) h = (h ^ *p) * 1099511628211ULL;
    return (size_t)h;
}

int gbx_nn_find_value(const gbx_nn_graph *graph, const char *name)
{
    if (!graph->slot_count) return -1;
    for (size_t i = name_hash(name) & (graph->slot_count - 1);; i = (i + 1) & (graph->slot_count - 1)) {
        int v = graph->name_slots[i];
        if (v < 0) return -1;
        if (strcmp(graph->value_names[v], name) == 0) return v;
    }
}

int gbx_nn_rename_value(gbx_nn_graph *graph, int value, const char *name)
{
    if (gbx_nn_find_value(graph, name) >= 0) return 0;
    char *copy = gbx_strdup(name);
    if (!copy) return 0;
    size_t mask = graph->slot_count - 1, i = name_hash(graph->value_names[value]) & mask;
    while (graph->name_slots[i] != value) i = (i + 1) & mask;
    /* Linear probing's deletion: later entries of the run move back into the hole, unless
     * their home lies cyclically in (hole, their place]. */
    for (size_t j = (i + 1) & mask; graph->name_slots[j] >= 0; j = (j + 1) & mask) {
        size_t home = name_hash(graph->value_names[graph->name_slots[j]]) & mask;
        int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays) continue;
        graph->name_slots[i] = graph->name_slots[j];
        i = j;
    }
    graph->name_slots[i] = -1;
    free(graph->value_names[value]);
    graph->value_names[value] = copy;
    for (i = name_hash(copy) & mask; graph->name_slots[i] >= 0; i = (i + 1) & mask) {}
    graph->name_slots[i] = value;
    return 1;
}

/* Room for one more value: the arrays by doubling, the index rebuilt at twice the values. */
static int grow(gbx_nn_graph *graph)
{
    size_t n = graph->value_count + 1;
    if (n > graph->value_capacity) {
        size_t capacity = graph->value_capacity ? graph->value_capacity * 2 : 64;
        char **names = realloc(graph->value_names, capacity * sizeof *names);
        if (!names) return 0;
        graph->value_names = names;
        gbx_nn_tensor *constants = realloc(graph->constants, capacity * sizeof *constants);
        if (!constants) return 0;
        graph->constants = constants;
        int *is_constant = realloc(graph->is_constant, capacity * sizeof *is_constant);
        if (!is_constant) return 0;
        graph->is_constant = is_constant;
        graph->value_capacity = capacity;
    }
    if (2 * n <= graph->slot_count) return 1;
    size_t slots = graph->slot_count ? graph->slot_count * 2 : 128;
    int *index = gbx_malloc_array(slots, sizeof(int));
    if (!index) return 0;
    for (size_t i = 0; i < slots; i++) index[i] = -1;
    for (size_t v = 0; v < graph->value_count; v++) {
        size_t i = name_hash(graph->value_names[v]) & (slots - 1);
        while (index[i] >= 0) i = (i + 1) & (slots - 1);
        index[i] = (int)v;
    }
    free(graph->name_slots);
    graph->name_slots = index;
    graph->slot_count = slots;
    return 1;
}

int gbx_nn_value(gbx_nn_graph *graph, const char *name)
{
    int found = gbx_nn_find_value(graph, name);
    if (found >= 0) return found;
    if (graph->value_count >= INT32_MAX || !grow(graph)) return -1;
    size_t v = graph->value_count;
    if (!(graph->value_names[v] = gbx_strdup(name))) return -1;
    memset(&graph->constants[v], 0, sizeof graph->constants[v]);
    graph->is_constant[v] = 0;
    size_t i = name_hash(name) & (graph->slot_count - 1);
    while (graph->name_slots[i] >= 0) i = (i + 1) & (graph->slot_count - 1);
    graph->name_slots[i] = (int)v;
    graph->value_count = v + 1;
    return (int)v;
}

gbx_status gbx_nn_set_constant(gbx_nn_graph *graph, int value, gbx_nn_tensor *tensor,
                               gbx_error *error)
{
    if (graph->is_constant[value]) {
        gbx_nn_tensor_release(tensor);
        return gbx_fail(error, GBX_ERR_PARSE, "tensor \"%s\" is defined twice",
                        graph->value_names[value]);
    }
    graph->constants[value] = *tensor;
    graph->constants[value].borrowed = 0;
    graph->is_constant[value] = 1;
    memset(tensor, 0, sizeof *tensor);
    return GBX_OK;
}

gbx_status gbx_nn_add_node(gbx_nn_graph *graph, const gbx_nn_op *op, const char *name,
                           const int *inputs, int input_count, const int *outputs,
                           int output_count, gbx_nn_attribute *attributes, int attribute_count,
                           gbx_error *error)
{
    gbx_nn_node *nodes = realloc(graph->nodes, (graph->node_count + 1) * sizeof *nodes);
    if (!nodes) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    graph->nodes = nodes;
    gbx_nn_node *node = &nodes[graph->node_count++];
    memset(node, 0, sizeof *node);
    node->op = op;
    node->attributes = attributes;
    node->attribute_count = attribute_count;
    node->name = gbx_strdup(name);
    node->inputs = gbx_malloc_array(input_count ? (size_t)input_count : 1, sizeof(int));
    node->outputs = gbx_malloc_array(output_count ? (size_t)output_count : 1, sizeof(int));
    if (!node->name || !node->inputs || !node->outputs)
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    memcpy(node->inputs, inputs, (size_t)input_count * sizeof(int));
    memcpy(node->outputs, outputs, (size_t)output_count * sizeof(int));
    node->input_count = input_count;
    node->output_count = output_count;
    if (input_count < op->min_inputs || input_count > op->max_inputs)
        return gbx_fail(error, GBX_ERR_PARSE, "node \"%s\" (%s) has %d inputs; %s takes %d to %d",
                        name, op->name, input_count, op->name, op->min_inputs, op->max_inputs);
    if (output_count < 1 || output_count > op->max_outputs)
        return gbx_fail(error, GBX_ERR_PARSE, "node \"%s\" (%s) has %d outputs; %s gives at "
                        "most %d", name, op->name, output_count, op->name, op->max_outputs);
    /* Variadic operators (Concat, Max, Min) have no optional inputs. */
    int required = op->max_inputs == GBX_NN_MAX_INPUTS ? input_count : op->min_inputs;
    for (int i = 0; i < required; i++)
        if (inputs[i] < 0)
            return gbx_fail(error, GBX_ERR_PARSE, "node \"%s\" (%s): input %d is required",
                            name, op->name, i + 1);
    if (op->check) {
        gbx_status status = op->check(node, graph, error);
        if (status != GBX_OK) {
            gbx_error_prefix(error, "node \"%s\" (%s): ", name, op->name);
            return status;
        }
    }
    return GBX_OK;
}

gbx_status gbx_nn_graph_finish(gbx_nn_graph *graph, gbx_error *error)
{
    if (graph->input < 0) return gbx_fail(error, GBX_ERR_PARSE, "the graph has no input");
    if (graph->output < 0) return gbx_fail(error, GBX_ERR_PARSE, "the graph has no output");
    char *made = calloc(graph->value_count ? graph->value_count : 1, 1);
    if (!made) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t v = 0; v < graph->value_count; v++) made[v] = (char)graph->is_constant[v];
    made[graph->input] = 1;
    gbx_status status = GBX_OK;
    for (size_t n = 0; n < graph->node_count && status == GBX_OK; n++) {
        const gbx_nn_node *node = &graph->nodes[n];
        for (int i = 0; i < node->input_count; i++)
            if (node->inputs[i] >= 0 && !made[node->inputs[i]]) {
                status = gbx_fail(error, GBX_ERR_PARSE, "node \"%s\" (%s) reads \"%s\", which "
                                  "no earlier node makes", node->name, node->op->name,
                                  graph->value_names[node->inputs[i]]);
                break;
            }
        for (int o = 0; o < node->output_count && status == GBX_OK; o++) {
            if (node->outputs[o] < 0) continue;
            if (made[node->outputs[o]])
                status = gbx_fail(error, GBX_ERR_PARSE, "tensor \"%s\" is made twice (node \"%s\")",
                                  graph->value_names[node->outputs[o]], node->name);
            made[node->outputs[o]] = 1;
        }
    }
    if (status == GBX_OK && !made[graph->output])
        status = gbx_fail(error, GBX_ERR_PARSE, "no node makes the output \"%s\"",
                          graph->value_names[graph->output]);
    free(made);
    return status;
}

static void node_release(gbx_nn_node *node)
{
    for (int a = 0; a < node->attribute_count; a++) gbx_nn_attribute_release(&node->attributes[a]);
    free(node->attributes);
    free(node->params.list);
    free(node->name);
    free(node->inputs);
    free(node->outputs);
}

gbx_status gbx_nn_fold_last(gbx_nn_graph *graph, int *folded, gbx_error *error)
{
    *folded = 0;
    if (!graph->node_count) return GBX_OK;
    gbx_nn_node *node = &graph->nodes[graph->node_count - 1];
    gbx_nn_tensor *in[GBX_NN_MAX_INPUTS] = {0}, results[GBX_NN_MAX_OUTPUTS], *out[GBX_NN_MAX_OUTPUTS];
    for (int i = 0; i < node->input_count; i++) {
        if (node->inputs[i] >= 0 && !graph->is_constant[node->inputs[i]]) return GBX_OK;
        in[i] = node->inputs[i] >= 0 ? &graph->constants[node->inputs[i]] : NULL;
    }
    for (int o = 0; o < node->output_count; o++) {
        if (node->outputs[o] < 0 || graph->is_constant[node->outputs[o]]) return GBX_OK;
        memset(&results[o], 0, sizeof results[o]);
        out[o] = &results[o];
    }
    gbx_status status = node->op->forward(node, in, out, error);
    for (int o = 0; o < node->output_count; o++) {
        if (status == GBX_OK) status = gbx_nn_set_constant(graph, node->outputs[o], &results[o], error);
        else gbx_nn_tensor_release(&results[o]);
    }
    if (status != GBX_OK) {
        gbx_error_prefix(error, "node \"%s\" (%s): ", node->name, node->op->name);
        return status;
    }
    node_release(node);
    graph->node_count--;
    *folded = 1;
    return GBX_OK;
}

void gbx_nn_graph_free(gbx_nn_graph *graph)
{
    if (!graph) return;
    for (size_t n = 0; n < graph->node_count; n++) node_release(&graph->nodes[n]);
    free(graph->nodes);
    for (size_t v = 0; v < graph->value_count; v++) {
        free(graph->value_names[v]);
        gbx_nn_tensor_release(&graph->constants[v]);
    }
    free(graph->value_names);
    free(graph->constants);
    free(graph->is_constant);
    free(graph->name_slots);
    free(graph);
}

void gbx_nn_values_free(const gbx_nn_graph *graph, gbx_nn_tensor *values)
{
    for (size_t v = 0; v < graph->value_count; v++) gbx_nn_tensor_release(&values[v]);
}

gbx_status gbx_nn_forward(const gbx_nn_graph *graph, const float *input, size_t batch,
                          gbx_nn_tensor *values, gbx_error *error)
{
    return gbx_nn_forward_patched(graph, input, batch, -1, NULL, values, error);
}

gbx_status gbx_nn_forward_patched(const gbx_nn_graph *graph, const float *input, size_t batch,
                                  int patch, const gbx_nn_tensor *patch_values,
                                  gbx_nn_tensor *values, gbx_error *error)
{
    memset(values, 0, graph->value_count * sizeof *values);
    for (size_t v = 0; v < graph->value_count; v++)
        if (graph->is_constant[v]) {
            values[v] = graph->constants[v];
            values[v].borrowed = 1;
        }
    int64_t dims[GBX_NN_MAX_RANK];
    dims[0] = (int64_t)batch;
    for (int d = 1; d < graph->input_rank; d++) dims[d] = graph->input_dims[d];
    gbx_status status = gbx_nn_tensor_alloc(&values[graph->input], GBX_NN_FLOAT, graph->input_rank,
                                            dims, error);
    if (status != GBX_OK) return status;
    memcpy(values[graph->input].f, input, values[graph->input].count * sizeof(float));
    for (size_t n = 0; n < graph->node_count; n++) {
        const gbx_nn_node *node = &graph->nodes[n];
        gbx_nn_tensor *in[GBX_NN_MAX_INPUTS] = {0}, *out[GBX_NN_MAX_OUTPUTS] = {0};
        for (int i = 0; i < node->input_count; i++)
            in[i] = node->inputs[i] >= 0 ? &values[node->inputs[i]] : NULL;
        for (int o = 0; o < node->output_count; o++)
            out[o] = node->outputs[o] >= 0 ? &values[node->outputs[o]] : NULL;
        /* The patched tensor's node is not run when that tensor is all it makes. */
        int patched = patch >= 0 && node->output_count == 1 && node->outputs[0] == patch;
        if (patched) {
            status = gbx_nn_tensor_alloc_unset(&values[patch], GBX_NN_FLOAT, patch_values->rank,
                                               patch_values->dims, error);
            if (status == GBX_OK)
                memcpy(values[patch].f, patch_values->f, values[patch].count * sizeof(float));
        } else {
            status = node->op->forward(node, in, out, error);
        }
        for (int o = 0; status == GBX_OK && patch >= 0 && !patched && o < node->output_count; o++)
            if (node->outputs[o] == patch) {
                if (values[patch].type != GBX_NN_FLOAT || values[patch].count != patch_values->count)
                    status = gbx_fail(error, GBX_ERR_USAGE, "\"%s\" is not a float tensor of "
                                      "%zu values", graph->value_names[patch], patch_values->count);
                else
                    memcpy(values[patch].f, patch_values->f, values[patch].count * sizeof(float));
            }
        if (status != GBX_OK) {
            gbx_error_prefix(error, "node \"%s\" (%s): ", node->name, node->op->name);
            gbx_nn_values_free(graph, values);
            return status;
        }
    }
    return GBX_OK;
}

/* ---- reverse mode ------------------------------------------------------------------------- */

/* Marks the values that depend on the input (depends) and those whose gradient the target needs
 * (wanted: on a gradient-carrying path into target). A node is on the path when an input
 * depends on the data and an output is wanted. */
static gbx_status deeplift_rule_check(const gbx_nn_graph *graph, int source,
                                      const gbx_nn_node *node, const char *depends,
                                      gbx_error *error)
{
    int data_inputs = 0, first_only = 1;
    for (int i = 0; i < node->input_count; i++)
        if (node->inputs[i] >= 0 && depends[node->inputs[i]]) {
            data_inputs++;
            if (i > 0) first_only = 0;
        }
    const char *problem = NULL;
    switch (node->op->deeplift) {
    case GBX_DEEPLIFT_NONE: problem = "has no DeepLIFT rule"; break;
    case GBX_DEEPLIFT_LINEAR: break;
    case GBX_DEEPLIFT_PRODUCT:
        if (data_inputs > 1) problem = "multiplies two tensors that both depend on the input, "
                                       "which DeepLIFT's rules do not cover";
        else if (strcmp(node->op->name, "Div") == 0 && !first_only)
            problem = "divides by a tensor that depends on the input";
        break;
    case GBX_DEEPLIFT_MAX_POOL:
    case GBX_DEEPLIFT_RESCALE:
        if (!first_only) problem = "takes a data-dependent parameter (the rescale rule needs one "
                                   "input)";
        break;
    }
    if (!problem) return GBX_OK;
    return gbx_fail(error, GBX_ERR_UNSUPPORTED, "node \"%s\" (%s) lies between %s%s%s and the "
                    "explained output and %s; deep cannot explain through it (use "
                    "integrated-gradients or gradient-shap, or a model-agnostic method)",
                    node->name, node->op->name, source == graph->input ? "the input" : "\"",
                    source == graph->input ? "" : graph->value_names[source],
                    source == graph->input ? "" : "\"", problem);
}

/* Operators that read only their input's shape: what they make is the same whatever the data
 * holds, so shape arithmetic after them (an attention's 1 / sqrt(d)) is no data path. */
static int reads_shape_only(const char *op)
{
    return strcmp(op, "Shape") == 0 || strcmp(op, "Size") == 0;
}

static gbx_status gradient_paths(const gbx_nn_graph *graph, int source, int target, int deeplift,
                                 char *depends, char *wanted, gbx_error *error)
{
    memset(depends, 0, graph->value_count);
    memset(wanted, 0, graph->value_count);
    depends[source] = 1;
    for (size_t n = 0; n < graph->node_count; n++) {
        const gbx_nn_node *node = &graph->nodes[n];
        if (reads_shape_only(node->op->name)) continue;
        int any = 0;
        for (int i = 0; i < node->input_count; i++) any |= node->inputs[i] >= 0 && depends[node->inputs[i]];
        for (int o = 0; o < node->output_count && any; o++)
            if (node->outputs[o] >= 0) depends[node->outputs[o]] = 1;
    }
    wanted[target] = 1;
    for (size_t n = graph->node_count; n-- > 0;) {
        const gbx_nn_node *node = &graph->nodes[n];
        int any = 0, reads_data = 0;
        for (int o = 0; o < node->output_count; o++) any |= node->outputs[o] >= 0 && wanted[node->outputs[o]];
        if (!any) continue;
        for (int i = 0; i < node->input_count; i++)
            reads_data |= node->inputs[i] >= 0 && depends[node->inputs[i]];
        if (deeplift && reads_data) {
            gbx_status status = deeplift_rule_check(graph, source, node, depends, error);
            if (status != GBX_OK) return status;
        }
        for (int i = 0; i < node->input_count && i < 32; i++) {
            int v = node->inputs[i];
            if (v < 0 || !depends[v] || !((node->op->gradient_inputs >> i) & 1u)) continue;
            /* Operators without a useful gradient (rounding, comparisons) stop here. */
            if (!node->op->backward)
                return gbx_fail(error, GBX_ERR_UNSUPPORTED, "node \"%s\" (%s) lies between the "
                                "input and the explained output and has no useful gradient; "
                                "gradient methods cannot cross it (re-export the model with a "
                                "differentiable operator in its place, e.g. Sigmoid for a step, "
                                "Softmax for ArgMax), or use a model-agnostic method such as "
                                "kernel or permutation", node->name, node->op->name);
            wanted[v] = 1;
        }
    }
    if (!depends[target])
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "\"%s\" does not depend on %s",
                        graph->value_names[target],
                        source == graph->input ? "the input" : graph->value_names[source]);
    if (graph->is_constant[source] || (source != graph->input && !wanted[source]))
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "\"%s\" is %s, so gradients cannot be taken "
                        "there", graph->value_names[source], graph->is_constant[source]
                        ? "a constant" : "not a float tensor on the way to the output");
    /* The input reaches the output only as indices or shapes (an embedding lookup): every
     * gradient would be zero, which is no explanation. Where the lookup is a Gather from a
     * table, its output is the layer to attribute to instead. */
    if (!wanted[source]) {
        const char *lookup = NULL;
        for (size_t n = 0; n < graph->node_count && !lookup; n++) {
            const gbx_nn_node *node = &graph->nodes[n];
            if (strcmp(node->op->name, "Gather") == 0 && node->input_count == 2 &&
                graph->is_constant[node->inputs[0]] && depends[node->inputs[1]] &&
                wanted[node->outputs[0]])
                lookup = graph->value_names[node->outputs[0]];
        }
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "\"%s\" depends on the input only through "
                        "indices or shapes (an embedding lookup?), so its gradient is zero; "
                        "gradient methods cannot explain it (attribute to the embedding's "
                        "output with options.layer %s, or use a model-agnostic method)",
                        graph->value_names[target], lookup ? lookup : "NAME");
    }
    return GBX_OK;
}

static gbx_status check_paths(const gbx_nn_graph *graph, int source, int target, int deeplift,
                              gbx_error *error)
{
    char *marks = calloc(2 * (graph->value_count ? graph->value_count : 1), 1);
    if (!marks) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    gbx_status status = gradient_paths(graph, source, target, deeplift, marks,
                                       marks + graph->value_count, error);
    free(marks);
    return status;
}

gbx_status gbx_nn_check_differentiable(const gbx_nn_graph *graph, int source, int target,
                                       gbx_error *error)
{
    return check_paths(graph, source, target, 0, error);
}

gbx_status gbx_nn_check_deeplift(const gbx_nn_graph *graph, int source, int target,
                                 gbx_error *error)
{
    return check_paths(graph, source, target, 1, error);
}

gbx_status gbx_nn_references_aligned(const gbx_nn_tensor *x, const gbx_nn_tensor *r,
                                     gbx_error *error)
{
    int aligned = x->type == GBX_NN_FLOAT && r->type == GBX_NN_FLOAT && x->rank == r->rank &&
                  x->rank >= 1 && r->dims[0] > 0 && x->dims[0] % r->dims[0] == 0 && r->f && x->f;
    for (int d = 1; aligned && d < x->rank; d++) aligned = x->dims[d] == r->dims[d];
    if (aligned) return GBX_OK;
    return gbx_fail(error, GBX_ERR_UNSUPPORTED, "the batch is not the first dimension here (a "
                    "tensor of %d dimensions, first %lld, against the references' %lld), so the "
                    "explained rows cannot be paired with their reference rows; deep needs the "
                    "batch first on the way to the output", x->rank,
                    x->rank ? (long long)x->dims[0] : 0LL, r->rank ? (long long)r->dims[0] : 0LL);
}

/* The rescale rule for one elementwise node: grad_in += g * (y - y_ref) / (x - x_ref), or
 * g * dy/dx where |x - x_ref| < 1e-6 (shap's threshold). */
static gbx_status rescale(const gbx_nn_node *node, gbx_nn_tensor *const *in, gbx_nn_tensor *const *out,
                          gbx_nn_tensor *const *grad_out, gbx_nn_tensor **grad_in,
                          const gbx_nn_tensor *x_ref, const gbx_nn_tensor *y_ref, gbx_error *error)
{
    if (!grad_out[0] || !grad_in[0]) return GBX_OK;
    gbx_status aligned = gbx_nn_references_aligned(in[0], x_ref, error);
    if (aligned == GBX_OK) aligned = gbx_nn_references_aligned(out[0], y_ref, error);
    if (aligned != GBX_OK) return aligned;
    /* The derivative where the difference vanishes: the node's own gradient rule. */
    gbx_nn_tensor derivative;
    gbx_status status = gbx_nn_tensor_alloc(&derivative, GBX_NN_FLOAT, in[0]->rank, in[0]->dims,
                                            error);
    if (status != GBX_OK) return status;
    gbx_nn_tensor *local[GBX_NN_MAX_INPUTS] = {&derivative};
    status = node->op->backward(node, in, out, grad_out, local, error);
    size_t reference_count = x_ref->count;
    for (size_t j = 0; status == GBX_OK && j < in[0]->count; j++) {
        size_t r = j % reference_count;
        float delta_in = in[0]->f[j] - x_ref->f[r];
        grad_in[0]->f[j] += fabsf(delta_in) < 1e-6f
                                ? derivative.f[j]
                                : grad_out[0]->f[j] * (out[0]->f[j] - y_ref->f[r]) / delta_in;
    }
    gbx_nn_tensor_release(&derivative);
    return status;
}

/* shap's TensorFlow DeepExplainer on a softmax over the last axis: the softmax taken apart as
 * e = exp(x - max x), s = sum e, y = e / s, with the rescale rule on Exp, Sum linear, the
 * two-input rule on the division (each input's multiplier the average of its two one-sided
 * differences, zero where its own difference is under 1e-7), multipliers found for the
 * shifted input x - max x and carried to x by (x' - r') / (x - r). Computed in double. */
static void softmax_tensorflow_vector(const float *x, const float *r, const float *g, size_t L,
                                      double *work, float *grad_in)
{
    double high_x = -INFINITY, high_r = -INFINITY, sum_x = 0, sum_r = 0;
    for (size_t i = 0; i < L; i++) {
        high_x = fmax(high_x, x[i]);
        high_r = fmax(high_r, r[i]);
    }
    double *e_x = work, *e_r = work + L;
    for (size_t i = 0; i < L; i++) {
        sum_x += e_x[i] = exp(x[i] - high_x);
        sum_r += e_r[i] = exp(r[i] - high_r);
    }
    /* The division's multipliers: to each e_i, and to the sum (broadcast, so summed). */
    double delta_sum = sum_x - sum_r, to_sum = 0;
    for (size_t i = 0; i < L; i++) {
        double both = e_x[i] / sum_x, neither = e_r[i] / sum_r;
        double only_e = e_x[i] / sum_r, only_sum = e_r[i] / sum_x;
        double delta_e = e_x[i] - e_r[i];
        if (fabs(delta_sum) >= 1e-7)
            to_sum += g[i] * 0.5 * (both - only_e + only_sum - neither) / delta_sum;
        work[2 * L + i] = fabs(delta_e) < 1e-7
                              ? 0 : g[i] * 0.5 * (both - only_sum + only_e - neither) / delta_e;
    }
    for (size_t i = 0; i < L; i++) {
        double shifted_x = x[i] - high_x, shifted_r = r[i] - high_r;
        double delta_shifted = shifted_x - shifted_r, delta = (double)x[i] - r[i];
        double to_e = work[2 * L + i] + to_sum;
        double through_exp = fabs(delta_shifted) < 1e-6 ? to_e * e_x[i]
                                                        : to_e * (e_x[i] - e_r[i]) / delta_shifted;
        grad_in[i] += (float)(fabs(delta) < 1e-6 ? through_exp
                                                 : through_exp * delta_shifted / delta);
    }
}

static gbx_status softmax_tensorflow(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                     gbx_nn_tensor *const *grad_out, gbx_nn_tensor **grad_in,
                                     const gbx_nn_tensor *x_ref, gbx_error *error)
{
    if (!grad_out[0] || !grad_in[0]) return GBX_OK;
    gbx_status status = gbx_nn_references_aligned(in[0], x_ref, error);
    int rank = in[0]->rank;
    long long axis = node->params.ints[0];
    if (status == GBX_OK && (rank < 1 || (axis != -1 && axis != rank - 1)))
        status = gbx_fail(error, GBX_ERR_USAGE, "shap's TensorFlow softmax rule takes the last "
                          "axis, not axis %lld of %d (use the PyTorch rule)", axis, rank);
    if (status != GBX_OK) return status;
    size_t L = (size_t)in[0]->dims[rank - 1];
    double *work = L ? gbx_malloc_array(3 * L, sizeof(double)) : NULL;
    if (L && !work) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t start = 0; L && start < in[0]->count; start += L)
        softmax_tensorflow_vector(in[0]->f + start, x_ref->f + start % x_ref->count,
                                  grad_out[0]->f + start, L, work, grad_in[0]->f + start);
    free(work);
    return GBX_OK;
}

static gbx_status reverse(const gbx_nn_graph *graph, gbx_nn_tensor *values,
                          const gbx_nn_tensor *references, int source, int target,
                          const gbx_nn_tensor *seed, int tensorflow_softmax,
                          gbx_nn_tensor *grads, gbx_error *error)
{
    char *marks = calloc(2 * (graph->value_count ? graph->value_count : 1), 1);
    if (!marks) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    char *depends = marks, *wanted = marks + graph->value_count;
    gbx_status status = gradient_paths(graph, source, target, references != NULL, depends, wanted,
                                       error);
    if (status == GBX_OK && (seed->type != GBX_NN_FLOAT || seed->count != values[target].count))
        status = gbx_fail(error, GBX_ERR_USAGE, "the seed gradient does not match \"%s\"",
                          graph->value_names[target]);
    if (status == GBX_OK) {
        status = gbx_nn_tensor_alloc(&grads[target], GBX_NN_FLOAT, values[target].rank,
                                     values[target].dims, error);
        if (status == GBX_OK) memcpy(grads[target].f, seed->f, seed->count * sizeof(float));
    }
    for (size_t n = graph->node_count; status == GBX_OK && n-- > 0;) {
        const gbx_nn_node *node = &graph->nodes[n];
        gbx_nn_tensor *in[GBX_NN_MAX_INPUTS] = {0}, *out[GBX_NN_MAX_OUTPUTS] = {0};
        gbx_nn_tensor *grad_out[GBX_NN_MAX_OUTPUTS] = {0}, *grad_in[GBX_NN_MAX_INPUTS] = {0};
        int live = 0, takes = 0;
        for (int o = 0; o < node->output_count; o++) {
            int v = node->outputs[o];
            if (v < 0) continue;
            out[o] = &values[v];
            if (wanted[v] && grads[v].f) {
                grad_out[o] = &grads[v];
                live = 1;
            }
        }
        if (!live) continue;
        for (int i = 0; i < node->input_count && status == GBX_OK; i++) {
            int v = node->inputs[i];
            if (v < 0) continue;
            in[i] = &values[v];
            if (!wanted[v]) continue;
            if (!grads[v].f) {
                /* The first contribution to a gradient need not be added to zeros when the
                 * operator overwrites it (plain gradients only: DeepLIFT's rules add). */
                int once = 1;
                for (int j = 0; j < node->input_count; j++) once &= j == i || node->inputs[j] != v;
                int unset = !references && node->op->overwrites && i == 0 && once;
                status = (unset ? gbx_nn_tensor_alloc_unset : gbx_nn_tensor_alloc)(
                    &grads[v], GBX_NN_FLOAT, values[v].rank, values[v].dims, error);
                grads[v].unset = unset && status == GBX_OK;
            }
            grad_in[i] = &grads[v];
            takes = 1;
        }
        if (status == GBX_OK && takes) {
            if (references && tensorflow_softmax && strcmp(node->op->name, "Softmax") == 0)
                status = softmax_tensorflow(node, in, grad_out, grad_in,
                                            &references[node->inputs[0]], error);
            else if (references && node->op->deeplift == GBX_DEEPLIFT_RESCALE)
                status = rescale(node, in, out, grad_out, grad_in, &references[node->inputs[0]],
                                 &references[node->outputs[0]], error);
            else if (references && node->op->deeplift == GBX_DEEPLIFT_MAX_POOL)
                status = gbx_nn_deeplift_max_pool(node, in, out, &references[node->inputs[0]],
                                                  &references[node->outputs[0]], grad_out,
                                                  grad_in, error);
            else
                status = node->op->backward(node, in, out, grad_out, grad_in, error);
            if (grad_in[0] && grad_in[0]->unset) {
                memset(grad_in[0]->f, 0, grad_in[0]->count * sizeof(float));
                grad_in[0]->unset = 0;
            }
        }
        if (status != GBX_OK) gbx_error_prefix(error, "node \"%s\" (%s): ", node->name, node->op->name);
    }
    free(marks);
    return status;
}

gbx_status gbx_nn_backward(const gbx_nn_graph *graph, gbx_nn_tensor *values, int source,
                           int target, const gbx_nn_tensor *seed, gbx_nn_tensor *grads,
                           gbx_error *error)
{
    return reverse(graph, values, NULL, source, target, seed, 0, grads, error);
}

gbx_status gbx_nn_deeplift(const gbx_nn_graph *graph, gbx_nn_tensor *values,
                           const gbx_nn_tensor *references, int source, int target,
                           const gbx_nn_tensor *seed, int tensorflow_softmax,
                           gbx_nn_tensor *grads, gbx_error *error)
{
    return reverse(graph, values, references, source, target, seed, tensorflow_softmax, grads,
                   error);
}

int gbx_nn_output_is_probability(const gbx_nn_graph *graph)
{
    /* Back from the output through operators that only reshape, to the one that made it. */
    static const char *const reshaping[] = {"Identity", "Reshape", "Flatten", "Squeeze"};
    int value = graph->output;
    for (size_t step = 0; step <= graph->node_count; step++) {
        const gbx_nn_node *producer = NULL;
        for (size_t n = 0; n < graph->node_count && !producer; n++)
            for (int o = 0; o < graph->nodes[n].output_count; o++)
                if (graph->nodes[n].outputs[o] == value) producer = &graph->nodes[n];
        if (!producer) return 0;
        const char *op = producer->op->name;
        if (strcmp(op, "Sigmoid") == 0 || strcmp(op, "Softmax") == 0) return 1;
        int passes = 0;
        for (size_t r = 0; r < sizeof reshaping / sizeof reshaping[0]; r++)
            passes |= strcmp(op, reshaping[r]) == 0;
        if (!passes || producer->input_count < 1) return 0;
        value = producer->inputs[0];
    }
    return 0;
}

/* Operators that keep a tensor's layout: an elementwise function of one tensor (and constants,
 * as Rescaling's Mul and Add). */
static int keeps_layout(const char *op)
{
    static const char *const ops[] = {"Identity", "Relu", "Sigmoid", "Tanh", "Elu", "Selu",
                                      "LeakyRelu", "Softplus", "HardSigmoid", "Clip", "Gelu",
                                      "Add", "Sub", "Mul", "Div", "Neg", "Abs", "Exp", "Dropout"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(op, ops[i]) == 0) return 1;
    return 0;
}

/* Whether a Transpose node's perm is the given one. */
static int permutes(const gbx_nn_node *node, const int64_t *perm, int rank)
{
    if (strcmp(node->op->name, "Transpose") != 0 || node->params.list_count != (size_t)rank)
        return 0;
    for (int d = 0; d < rank; d++)
        if (node->params.list[d] != perm[d]) return 0;
    return 1;
}

static const gbx_nn_node *producer_of(const gbx_nn_graph *graph, int value)
{
    for (size_t n = 0; n < graph->node_count; n++)
        for (int o = 0; o < graph->nodes[n].output_count; o++)
            if (graph->nodes[n].outputs[o] == value) return &graph->nodes[n];
    return NULL;
}

int gbx_nn_channels_last(const gbx_nn_graph *graph, int value, int rank)
{
    if (rank < 3 || rank > GBX_NN_MAX_RANK) return 0;
    /* Channels-first to last: [0, 2, ..., rank-1, 1]. */
    int64_t to_last[GBX_NN_MAX_RANK];
    to_last[0] = 0;
    for (int d = 1; d < rank - 1; d++) to_last[d] = d + 1;
    to_last[rank - 1] = 1;
    for (size_t step = 0; step <= graph->node_count; step++) {
        const gbx_nn_node *node = producer_of(graph, value);
        if (!node) return 0;
        if (permutes(node, to_last, rank)) return 1;
        if (!keeps_layout(node->op->name) || node->input_count < 1) return 0;
        value = node->inputs[0];
    }
    return 0;
}

/* Whether a Reshape moves a single channel from last to first: [n, s..., 1] to [n, 1, s...],
 * what tf2onnx writes for a one-channel image in place of a Transpose. */
static int reshapes_to_first(const gbx_nn_node *node, const gbx_nn_tensor *values)
{
    if (!values || strcmp(node->op->name, "Reshape") != 0 || node->output_count < 1) return 0;
    const gbx_nn_tensor *from = &values[node->inputs[0]], *to = &values[node->outputs[0]];
    int rank = from->rank;
    if (rank < 3 || to->rank != rank || from->dims[rank - 1] != 1 || to->dims[1] != 1) return 0;
    if (from->dims[0] != to->dims[0]) return 0;
    for (int d = 1; d < rank - 1; d++)
        if (from->dims[d] != to->dims[d + 1]) return 0;
    return 1;
}

int gbx_nn_input_channels_last(const gbx_nn_graph *graph, const gbx_nn_tensor *values)
{
    int rank = graph->input_rank;
    if (rank < 3 || rank > GBX_NN_MAX_RANK) return 0;
    /* Channels-last to first: [0, rank-1, 1, ..., rank-2], the first reshuffle the input meets. */
    int64_t to_first[GBX_NN_MAX_RANK];
    to_first[0] = 0;
    to_first[1] = rank - 1;
    for (int d = 2; d < rank; d++) to_first[d] = d - 1;
    int value = graph->input;
    for (size_t step = 0; step <= graph->node_count; step++) {
        const gbx_nn_node *consumer = NULL;
        for (size_t n = 0; n < graph->node_count && !consumer; n++)
            for (int i = 0; i < graph->nodes[n].input_count; i++)
                if (graph->nodes[n].inputs[i] == value) consumer = &graph->nodes[n];
        if (!consumer) return 0;
        if (permutes(consumer, to_first, rank) || reshapes_to_first(consumer, values)) return 1;
        if (!keeps_layout(consumer->op->name) || consumer->output_count < 1) return 0;
        value = consumer->outputs[0];
    }
    return 0;
}
