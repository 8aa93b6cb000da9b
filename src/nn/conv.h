/* Convolution and pooling operators (conv.c), referenced by the operator table in ops.c. */
#ifndef GBX_NN_CONV_H
#define GBX_NN_CONV_H

#include "graph.h"

#define GBX_NN_OP_FUNCTIONS(name)                                                               \
    gbx_status gbx_nn_forward_##name(const gbx_nn_node *node, gbx_nn_tensor *const *in,         \
                                     gbx_nn_tensor **out, gbx_error *error);                    \
    gbx_status gbx_nn_backward_##name(const gbx_nn_node *node, gbx_nn_tensor *const *in,        \
                                      gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out, \
                                      gbx_nn_tensor **grad_in, gbx_error *error);

/* Reads kernel_shape, strides, dilations, pads, auto_pad, group, ceil_mode and
 * count_include_pad into node->params.list. */
gbx_status gbx_nn_check_window(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error);
GBX_NN_OP_FUNCTIONS(conv)
GBX_NN_OP_FUNCTIONS(conv_transpose)
GBX_NN_OP_FUNCTIONS(max_pool)
GBX_NN_OP_FUNCTIONS(average_pool)
GBX_NN_OP_FUNCTIONS(global_average_pool)
GBX_NN_OP_FUNCTIONS(global_max_pool)
/* The max pools' DeepLIFT rule (shap's and captum's), given the reference pass's values. */
gbx_status gbx_nn_deeplift_max_pool(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                    gbx_nn_tensor *const *out, const gbx_nn_tensor *x_ref,
                                    const gbx_nn_tensor *y_ref, gbx_nn_tensor *const *grad_out,
                                    gbx_nn_tensor **grad_in, gbx_error *error);

#endif
