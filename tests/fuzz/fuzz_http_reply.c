/* libFuzzer target: a served model's reply, as TF Serving ({"predictions": ...}) and the Open
 * Inference Protocol ({"outputs": [{"name": ..., "data": ...}]}) would send it, for batches of
 * 1 to 4 rows of 1 to 3 outputs (corpus: tests/fuzz/corpus/http_reply). Every value read must be
 * a finite number where the parse succeeds. */
#include "models/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *reply = malloc(size + 1);
    if (!reply) return 0;
    memcpy(reply, data, size);
    reply[size] = '\0';
    double out[12];
    gbx_error error;
    for (int open_inference = 0; open_inference < 2; open_inference++)
        for (size_t rows = 1; rows <= 4; rows++)
            for (size_t K = 1; K <= 3; K++)
                if (gbx_http_parse_reply("http://fuzz", open_inference, "y", reply, 0, rows, K,
                                         out, &error) == GBX_OK)
                    for (size_t i = 0; i < rows * K; i++)
                        if (!isfinite(out[i])) abort();
    free(reply);
    return 0;
}
