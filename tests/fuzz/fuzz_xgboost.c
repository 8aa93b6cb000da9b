/* libFuzzer target: XGBoost JSON and UBJSON models (corpus: tests/fuzz/corpus/xgboost). */
#include "fuzz_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_load(data, size, "xgboost", gbx_xgboost_load);
    return 0;
}
