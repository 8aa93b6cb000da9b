/* libFuzzer target: LightGBM text models (corpus: tests/fuzz/corpus/lightgbm). */
#include "fuzz_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_load(data, size, "lightgbm", gbx_lightgbm_load);
    return 0;
}
