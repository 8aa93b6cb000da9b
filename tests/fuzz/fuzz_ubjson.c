/* libFuzzer target: the UBJSON decoder on its own (corpus: tests/fuzz/corpus/ubjson). */
#include "io/ubjson.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_object *object = NULL;
    gbx_error error;
    if (gbx_ubjson_parse(data, size, &object, &error) == GBX_OK) json_object_put(object);
    return 0;
}
