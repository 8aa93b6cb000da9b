/* libFuzzer target: NumPy .npy arrays (corpus: tests/fuzz/corpus/npy). The reader takes a path,
 * so each input goes through a file of this process's own. */
#include "io/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/glassbox-fuzz-%d.npy", (int)getpid());
    FILE *file = fopen(path, "wb");
    if (!file) return 0;
    fwrite(data, 1, size, file);
    fclose(file);
    size_t rows, columns;
    double *values = NULL;
    gbx_error error;
    if (gbx_npy_read(path, &rows, &columns, &values, &error) == GBX_OK) {
        /* Every value must be readable. */
        volatile double sum = 0;
        for (size_t j = 0; j < rows * columns; j++) sum += values[j];
        (void)sum;
        free(values);
    }
    remove(path);
    return 0;
}
