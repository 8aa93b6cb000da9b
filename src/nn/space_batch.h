/* SpaceToBatchND and BatchToSpaceND (space_batch.c), referenced by the operator table in ops.c:
 * TensorFlow's operators around a dilated convolution, which SavedModels hold. */
#ifndef GBX_NN_SPACE_BATCH_H
#define GBX_NN_SPACE_BATCH_H

#include "conv.h"

GBX_NN_OP_FUNCTIONS(space_to_batch)
GBX_NN_OP_FUNCTIONS(batch_to_space)

#endif
