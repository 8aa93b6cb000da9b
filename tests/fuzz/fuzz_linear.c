/* libFuzzer target: glassbox_linear JSON models (corpus: tests/fuzz/corpus/linear). */
#include "fuzz_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_load(data, size, "linear", gbx_linear_load);
    return 0;
}
