/* libFuzzer target: the cmd: line protocol, from the model's side. The input is what a child
 * process writes (its two header lines, then its answers); the child is `cat` of that input,
 * so every header, answer, surplus line, unfinished line or early exit the fuzzer makes up is
 * read as glassbox reads a real model's (corpus: tests/fuzz/corpus/command). Three rows are
 * sent; whatever comes back must be an error or finite numbers. */
#include "models/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], locator[128];
    snprintf(path, sizeof path, "/tmp/glassbox-fuzz-%d.command", (int)getpid());
    FILE *file = fopen(path, "wb");
    if (!file) return 0;
    fwrite(data, 1, size, file);
    fclose(file);
    /* The child answers with the input, then waits for its input to end (as a model does). */
    snprintf(locator, sizeof locator, "cmd:cat %s; cat >/dev/null", path);
    gbx_model_options options = {0.1}; /* a child that stops answering costs a tenth of a second */
    gbx_model *model = NULL;
    gbx_error error;
    if (gbx_model_load_with(locator, &options, &model, &error) == GBX_OK) {
        size_t M = gbx_model_features(model), K = gbx_model_outputs(model);
        if (M <= 64 && K <= 64) {
            double *rows = calloc(3 * M + 1, sizeof(double)), *out = calloc(3 * K + 1, sizeof(double));
            gbx_data *batch = NULL;
            if (rows && out && gbx_data_create(3, M, rows, NULL, &batch, &error) == GBX_OK &&
                gbx_model_predict(model, batch, 1, out, &error) == GBX_OK)
                for (size_t i = 0; i < 3 * K; i++)
                    if (!isfinite(out[i])) abort();
            gbx_data_free(batch);
            free(rows);
            free(out);
        }
        gbx_model_free(model);
    }
    remove(path);
    return 0;
}
