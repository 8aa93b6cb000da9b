/* Recurrent operators (recurrent.c), referenced by the operator table in ops.c. */
#ifndef GBX_NN_RECURRENT_H
#define GBX_NN_RECURRENT_H

#include "conv.h"

gbx_status gbx_nn_check_lstm(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error);
GBX_NN_OP_FUNCTIONS(lstm)
gbx_status gbx_nn_check_gru(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error);
GBX_NN_OP_FUNCTIONS(gru)

#endif
