/* The neural-network engine: a graph of named tensors and operator nodes, run forward in
 * float32 over a batch. ONNX and Keras loaders build the same graph; operators are rows in
 * one table (ops.c), each with a load-time check and a forward function.
 *
 * Shapes are worked out while running, from the inputs' shapes, so one graph serves any batch
 * size and the shape arithmetic exporters emit (Shape -> Gather -> Concat -> Reshape) just
 * runs as int64 tensors. */
#ifndef GBX_NN_GRAPH_H
#define GBX_NN_GRAPH_H

#include "../core/core.h"

#include <stdint.h>

#define GBX_NN_MAX_RANK 8
#define GBX_NN_MAX_INPUTS 64  /* per node; an op's max_inputs never exceeds it */
#define GBX_NN_MAX_OUTPUTS 8
/* Largest tensor (1 GB of floats): a bound that turns a corrupt shape into an error, not an
 * allocation the machine cannot make. Fuzz builds set a smaller one to keep runs fast. */
#ifndef GBX_NN_MAX_VALUES
#define GBX_NN_MAX_VALUES ((size_t)1 << 28)
#endif

typedef enum { GBX_NN_FLOAT, GBX_NN_INT64 } gbx_nn_type; /* bool is int64 0/1 */

typedef struct {
    gbx_nn_type type;
    int rank;
    int64_t dims[GBX_NN_MAX_RANK];
    size_t count;   /* product of dims */
    float *f;       /* GBX_NN_FLOAT */
    int64_t *i;     /* GBX_NN_INT64 */
    int borrowed;   /* data belongs to someone else (a graph constant): never freed here */
    int pooled;     /* data came from the thread's pool (gbx_nn_pool) */
    int unset;      /* a gradient not yet written (its contents are garbage): see overwrites */
} gbx_nn_tensor;

/* A per-thread pool of tensor buffers: while one is active on a thread, tensors allocated there
 * reuse the buffers of tensors released there, instead of asking the system for fresh pages on
 * every batch (large blocks are mapped and unmapped each time, which costs more than the
 * arithmetic on image networks). */
typedef struct {
    void **blocks;
    size_t *sizes;
    size_t count, capacity;
} gbx_nn_pool;
/* Makes pool (zero-initialised by the caller) the calling thread's; NULL stops pooling. */
void gbx_nn_pool_use(gbx_nn_pool *pool);
/* Frees the pool's buffers (stop using it first). */
void gbx_nn_pool_free(gbx_nn_pool *pool);

typedef enum {
    GBX_NN_ATTRIBUTE_INT, GBX_NN_ATTRIBUTE_FLOAT, GBX_NN_ATTRIBUTE_INTS, GBX_NN_ATTRIBUTE_FLOATS,
    GBX_NN_ATTRIBUTE_STRING, GBX_NN_ATTRIBUTE_TENSOR, GBX_NN_ATTRIBUTE_OTHER
} gbx_nn_attribute_kind;

typedef struct {
    char *name;
    gbx_nn_attribute_kind kind;
    int64_t i;
    float f;
    int64_t *ints;    /* INTS */
    float *floats;    /* FLOATS */
    size_t count;     /* of ints or floats */
    char *s;          /* STRING */
    gbx_nn_tensor t;  /* TENSOR */
} gbx_nn_attribute;

typedef struct gbx_nn_op gbx_nn_op;

/* How DeepLIFT (and DeepSHAP) passes multipliers through an operator. */
typedef enum {
    GBX_DEEPLIFT_NONE,     /* no rule: DeepLIFT refuses a path through it */
    GBX_DEEPLIFT_LINEAR,   /* linear in its data input(s): the gradient is the multiplier */
    GBX_DEEPLIFT_PRODUCT,  /* linear while only one input depends on the data (Mul, MatMul...) */
    GBX_DEEPLIFT_RESCALE,  /* elementwise: (f(x) - f(r)) / (x - r), the gradient where x ~ r */
    GBX_DEEPLIFT_MAX_POOL  /* shap's max-pool rule (conv.c) */
} gbx_deeplift_rule;

/* Settings an operator reads from its attributes once, at load. */
typedef struct {
    int64_t ints[8];
    float floats[4];
    int64_t *list;      /* an attribute list the op keeps (perm, axes...), list_count long */
    size_t list_count;
} gbx_nn_params;

typedef struct {
    const gbx_nn_op *op;
    char *name;           /* the node's name, or "OpType#index" when the file gives none */
    int *inputs;          /* value indexes; -1 for an omitted optional input */
    int input_count;
    int *outputs;
    int output_count;
    gbx_nn_attribute *attributes;
    int attribute_count;
    gbx_nn_params params;
} gbx_nn_node;

typedef struct gbx_nn_graph {
    char **value_names;         /* every tensor of the graph, by value index */
    gbx_nn_tensor *constants;   /* initializers and Constant outputs; count 0 where not constant */
    int *is_constant;
    size_t value_count;
    size_t value_capacity;      /* of the three arrays above */
    int *name_slots;            /* open-addressing index of value_names: value or -1 */
    size_t slot_count;          /* a power of two, at least twice value_count */
    gbx_nn_node *nodes;         /* in an order where every input is made before it is used */
    size_t node_count;
    int input;                  /* the value the data feed */
    int input_rank;
    int64_t input_dims[GBX_NN_MAX_RANK]; /* -1 where the file leaves a dimension free */
    int output;                 /* the value explained */
    int opset;                  /* default-domain opset the file imports */
    int from_tensorflow;        /* made by Keras or exported by tf2onnx: shap's TensorFlow
                                 * DeepExplainer is its user's reference */
    int input_layout;           /* GBX_LAYOUT_* of an image input, found when the model loads */
} gbx_nn_graph;

/* Whether a value of the given rank is laid out channels last ([batch, positions..., channels]):
 * made by a Transpose from channels first (glassbox's operators are channels first; Keras
 * layers and tf2onnx exports transpose back), through operators that keep the layout. */
int gbx_nn_channels_last(const gbx_nn_graph *graph, int value, int rank);
/* Whether the input is channels last: the first reshuffle it meets moves its last axis to
 * the second (a Transpose, or with a forward pass's values, a Reshape of one channel). */
int gbx_nn_input_channels_last(const gbx_nn_graph *graph, const gbx_nn_tensor *values);

/* Whether the explained output is a sigmoid's or softmax's (through reshapes only): a
 * probability, not a margin. */
int gbx_nn_output_is_probability(const gbx_nn_graph *graph);

struct gbx_nn_op {
    const char *name;
    int min_inputs, max_inputs, max_outputs;
    /* Reads and checks attributes into node->params; may be NULL. */
    gbx_status (*check)(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error);
    /* Computes the outputs (allocating them) from the inputs; in[i] is NULL for an omitted one. */
    gbx_status (*forward)(const gbx_nn_node *node, gbx_nn_tensor *const *in, gbx_nn_tensor **out,
                          gbx_error *error);
    /* Reverse mode: adds d(target)/d(input i) into grad_in[i] (allocated, input-shaped) for the
     * inputs that want one (grad_in[i] NULL otherwise), given the outputs' gradients
     * (grad_out[o] NULL: zero). NULL for operators without a useful gradient. */
    gbx_status (*backward)(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                           gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                           gbx_nn_tensor **grad_in, gbx_error *error);
    unsigned gradient_inputs; /* bit i: input i carries a gradient (not shapes, indices, masks) */
    gbx_deeplift_rule deeplift;
    /* backward may find grad_in[0] unset (its first contribution, not zeroed, to save a pass
     * over memory): it then writes every element instead of adding, and clears unset. The
     * reverse pass zeroes whatever it leaves unset. */
    int overwrites;
};

/* The operator named `name` (ONNX spelling), or NULL. */
const gbx_nn_op *gbx_nn_find_op(const char *name);

/* Graph building, for loaders. Values are found or added by name. */
gbx_nn_graph *gbx_nn_graph_new(void);
int gbx_nn_value(gbx_nn_graph *graph, const char *name); /* -1 when out of memory */
int gbx_nn_find_value(const gbx_nn_graph *graph, const char *name);
/* Gives a value another name; 0 (nothing changed) when the name is taken or memory is short. */
int gbx_nn_rename_value(gbx_nn_graph *graph, int value, const char *name);
/* Adds a node (taking op, name and attributes), then runs the op's check; the error names the
 * node. */
gbx_status gbx_nn_add_node(gbx_nn_graph *graph, const gbx_nn_op *op, const char *name,
                           const int *inputs, int input_count, const int *outputs,
                           int output_count, gbx_nn_attribute *attributes, int attribute_count,
                           gbx_error *error);
/* Makes value a constant holding tensor (taken over). */
gbx_status gbx_nn_set_constant(gbx_nn_graph *graph, int value, gbx_nn_tensor *tensor,
                               gbx_error *error);
/* Constant folding: when every input of the node added last is a constant, runs it once and
 * makes its outputs constants in its place (*folded 1). How a loader works out, while it loads,
 * what a graph computes from constants alone (a loop's trip count, a list's index). */
gbx_status gbx_nn_fold_last(gbx_nn_graph *graph, int *folded, gbx_error *error);
/* Checks that every node's inputs exist before it runs and that the output is reachable. */
gbx_status gbx_nn_graph_finish(gbx_nn_graph *graph, gbx_error *error);
void gbx_nn_graph_free(gbx_nn_graph *graph);

/* Runs the graph on `batch` inputs (each the input's shape without its first dimension,
 * flattened); values[value_count] receive every tensor, to be released with
 * gbx_nn_values_free. */
gbx_status gbx_nn_forward(const gbx_nn_graph *graph, const float *input, size_t batch,
                          gbx_nn_tensor *values, gbx_error *error);
void gbx_nn_values_free(const gbx_nn_graph *graph, gbx_nn_tensor *values);
/* gbx_nn_forward, except that tensor `patch` (a value index; -1 for none) holds patch_values
 * (its shape, the batch first) instead of what its node computes, for everything after it; the
 * node is not run when that tensor is its only output. How layer attributions run the network
 * from interpolated activations (captum's layer methods). */
gbx_status gbx_nn_forward_patched(const gbx_nn_graph *graph, const float *input, size_t batch,
                                  int patch, const gbx_nn_tensor *patch_values,
                                  gbx_nn_tensor *values, gbx_error *error);

/* Reverse mode after gbx_nn_forward: grads[value_count] (zeroed by the caller) receive the
 * gradient of sum(seed * values[target]) with respect to every float tensor between source
 * (the input, or a layer's output) and target (others stay empty). seed has the target's
 * shape. Fails, naming the node, when the path from source to target crosses an operator
 * without a useful gradient. */
gbx_status gbx_nn_backward(const gbx_nn_graph *graph, gbx_nn_tensor *values, int source,
                           int target, const gbx_nn_tensor *seed, gbx_nn_tensor *grads,
                           gbx_error *error);
/* DeepLIFT's rescale rule: like gbx_nn_backward on the values of the explained rows, but every
 * elementwise nonlinearity passes (f(x) - f(r)) / (x - r) instead of its derivative, with
 * reference values from a second forward pass over the reference rows (whose count must divide
 * the explained batch: explained row p pairs with reference row p mod count). Fails, naming
 * the node, on a path through an operator without a DeepLIFT rule. */
/* tensorflow_softmax: a Softmax takes shap-TensorFlow's rule (softmax_tensorflow in graph.c)
 * instead of the rescale rule. */
gbx_status gbx_nn_deeplift(const gbx_nn_graph *graph, gbx_nn_tensor *values,
                           const gbx_nn_tensor *references, int source, int target,
                           const gbx_nn_tensor *seed, int tensorflow_softmax,
                           gbx_nn_tensor *grads, gbx_error *error);
gbx_status gbx_nn_check_deeplift(const gbx_nn_graph *graph, int source, int target,
                                 gbx_error *error);
/* Whether explained tensor x and reference tensor r pair element j of x with element
 * j mod count(r): both lead with the batch (x's a multiple of r's) and agree on every other
 * dimension. Fails, naming the tensors' shapes, when a graph moved the batch elsewhere. */
gbx_status gbx_nn_references_aligned(const gbx_nn_tensor *x, const gbx_nn_tensor *r,
                                     gbx_error *error);
/* Checks, without running, that gradients can flow from source to target. */
gbx_status gbx_nn_check_differentiable(const gbx_nn_graph *graph, int source, int target,
                                       gbx_error *error);

/* Tensors. */
gbx_status gbx_nn_tensor_alloc(gbx_nn_tensor *tensor, gbx_nn_type type, int rank,
                               const int64_t *dims, gbx_error *error);
/* The same without zeroing the values, for operators that write every one of them (zeroing
 * large activations costs as much as computing them). */
gbx_status gbx_nn_tensor_alloc_unset(gbx_nn_tensor *tensor, gbx_nn_type type, int rank,
                                     const int64_t *dims, gbx_error *error);
void gbx_nn_tensor_release(gbx_nn_tensor *tensor);
const gbx_nn_attribute *gbx_nn_attribute_find(const gbx_nn_node *node, const char *name);
void gbx_nn_attribute_release(gbx_nn_attribute *attribute);

#endif
