/* ONNX-ML models: tree ensembles and linear models from skl2onnx become glassbox's own. */
#include "onnx_proto.h"

gbx_status gbx_onnx_ml_load(const char *path, const Onnx__GraphProto *graph, gbx_model *model,
                            gbx_error *error)
{
    (void)graph; (void)model;
    return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: ONNX-ML models are not supported yet", path);
}
