/* Einsum (einsum.c), referenced by the operator table in ops.c. */
#ifndef GBX_NN_EINSUM_H
#define GBX_NN_EINSUM_H

#include "conv.h"

gbx_status gbx_nn_check_einsum(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error);
GBX_NN_OP_FUNCTIONS(einsum)

#endif
