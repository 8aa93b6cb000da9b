/* libFuzzer target: a SavedModel's variables index (the sorted table of checkpoint keys and the
 * checkpoint's object graph's place), beside the MLP fixture's graph and data shard (corpus:
 * tests/fuzz/corpus/tensor_bundle). */
#include "fuzz_saved_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_saved_model(data, size, "variables/variables.index");
    return 0;
}
