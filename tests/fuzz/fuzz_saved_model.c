/* libFuzzer target: a SavedModel's saved_model.pb (graph, functions, signatures), beside the
 * variables of the MLP fixture (corpus: tests/fuzz/corpus/saved_model). */
#include "fuzz_saved_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_saved_model(data, size, "saved_model.pb");
    return 0;
}
