/* libFuzzer target: explanation files as plots read them (corpus: tests/fuzz/corpus/explanation).
 * The reader takes a path, so each input goes through a file of this process's own. */
#include "io/explanation_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/glassbox-fuzz-%d.json", (int)getpid());
    FILE *file = fopen(path, "wb");
    if (!file) return 0;
    fwrite(data, 1, size, file);
    fclose(file);
    gbx_explanation_document *document;
    gbx_error error;
    if (gbx_explanation_document_read(path, &document, &error) == GBX_OK) {
        /* Every announced value must be readable. */
        volatile double sum = 0;
        size_t cells = document->rows * document->outputs;
        for (size_t j = 0; j < cells * document->features; j++) sum += document->values[j];
        for (size_t j = 0; j < cells; j++) sum += document->base_values[j] + document->predictions[j];
        for (size_t j = 0; document->data && j < document->rows * document->columns; j++)
            sum += document->data[j];
        (void)sum;
        gbx_explanation_document_free(document);
    }
    remove(path);
    return 0;
}
