/* libFuzzer target: ONNX models (corpus: tests/fuzz/corpus/onnx, seeded with the fixtures). */
#include "fuzz_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_load(data, size, "onnx", gbx_onnx_load);
    return 0;
}
