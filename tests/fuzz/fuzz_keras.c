/* libFuzzer target: Keras .keras and .h5 models (corpus: tests/fuzz/corpus/keras). */
#include "fuzz_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_load(data, size, "keras", gbx_keras_load);
    return 0;
}
