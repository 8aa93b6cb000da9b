/* Shared by the ONNX loaders (onnx.c: networks; onnx_ml.c: ONNX-ML trees and linear models):
 * the protobuf-c code generated from Debian's onnx.proto at build time, and the helpers both
 * use to read it. */
#ifndef GBX_ONNX_PROTO_H
#define GBX_ONNX_PROTO_H

#include "../nn/graph.h"
#include "model.h"
#include "onnx.pb-c.h"

/* A tensor from an initializer or attribute: float, double (to float), int32/int64/bool (to
 * int64); external data is read from beside the model (directory of `model_path`). */
gbx_status gbx_onnx_tensor(const Onnx__TensorProto *proto, const char *model_path,
                           gbx_nn_tensor *tensor, gbx_error *error);

/* The attribute of a node named `name`, or NULL. */
const Onnx__AttributeProto *gbx_onnx_attribute(const Onnx__NodeProto *node, const char *name);

/* Turns an ONNX-ML model (its graph holds a TreeEnsemble* or Linear* node) into glassbox's
 * tree or linear model. */
gbx_status gbx_onnx_ml_load(const char *path, const Onnx__GraphProto *graph, gbx_model *model,
                            gbx_error *error);

#endif
