/* libFuzzer target: the streaming CSV reader (corpus: tests/fuzz/corpus/csv). The input goes
 * through a memory file so the reader sees a real file descriptor, as it does in use. The first
 * byte picks the mode: columns by position, or matched by name to a model with feature names. */
#include "models/model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static gbx_model *named_model(void)
{
    static gbx_model *model;
    static int made;
    if (!made) {
        made = 1;
        static const char *names[] = {"age", "income", "duration", "x"};
        model = gbx_model_alloc("xgboost");
        model->features = 4;
        model->feature_names = calloc(4, sizeof(char *));
        for (size_t f = 0; f < 4; f++) model->feature_names[f] = gbx_strdup(names[f]);
    }
    return model;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (size == 0) return 0;
    if (fd < 0) {
        fd = memfd_create("fuzz.csv", 0);
        if (fd < 0) abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data + 1, size - 1, 0) != (ssize_t)(size - 1)) abort();
    gbx_data_reader *reader = NULL;
    gbx_error error;
    const gbx_model *model = data[0] & 1 ? named_model() : NULL;
    if (gbx_data_reader_open(path, model, &reader, &error) == GBX_OK) {
        gbx_data_reader_set_quiet(reader, 1);
        gbx_data *chunk = NULL;
        while (gbx_data_reader_next(reader, 1 + data[0] % 7, &chunk, &error) == GBX_OK && chunk)
            gbx_data_free(chunk);
    }
    gbx_data_reader_free(reader);
    return 0;
}
