/* Shared by the SavedModel fuzz targets. SavedModels are directories: the fuzzed bytes replace
 * one file (`replaced`, relative to the directory) of a working copy of a real one (the MLP
 * fixture), made once per process. */
#ifndef GBX_FUZZ_SAVED_MODEL_H
#define GBX_FUZZ_SAVED_MODEL_H

#include "fuzz_model.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_saved_model_directory[64];
static const char *const fuzz_saved_model_files[] = {
    "saved_model.pb", "variables/variables.index", "variables/variables.data-00000-of-00001"};

static void fuzz_saved_model_remove(void)
{
    char path[128];
    for (size_t f = 0; f < 3; f++) {
        snprintf(path, sizeof path, "%s/%s", fuzz_saved_model_directory, fuzz_saved_model_files[f]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/variables", fuzz_saved_model_directory);
    rmdir(path);
    rmdir(fuzz_saved_model_directory);
}

static int fuzz_write(const char *path, const void *bytes, size_t size)
{
    FILE *file = fopen(path, "wb");
    if (!file) return 0;
    int ok = fwrite(bytes, 1, size, file) == size;
    return fclose(file) == 0 && ok;
}

static int fuzz_saved_model_setup(void)
{
    if (fuzz_saved_model_directory[0]) return 1;
    snprintf(fuzz_saved_model_directory, sizeof fuzz_saved_model_directory, "/tmp/gbx-fuzz-XXXXXX");
    if (!mkdtemp(fuzz_saved_model_directory)) return 0;
    atexit(fuzz_saved_model_remove);
    char path[512];
    snprintf(path, sizeof path, "%s/variables", fuzz_saved_model_directory);
    if (mkdir(path, 0700) != 0) return 0;
    for (size_t f = 0; f < 3; f++) {
        char *bytes;
        size_t length;
        gbx_error error;
        snprintf(path, sizeof path, "%s/tests/conformance/fixtures/saved_model/mlp/%s",
                 GBX_SOURCE_DIR, fuzz_saved_model_files[f]);
        if (gbx_read_file(path, &bytes, &length, &error) != GBX_OK) return 0;
        snprintf(path, sizeof path, "%s/%s", fuzz_saved_model_directory, fuzz_saved_model_files[f]);
        int written = fuzz_write(path, bytes, length);
        free(bytes);
        if (!written) return 0;
    }
    return 1;
}

static void fuzz_saved_model(const uint8_t *data, size_t size, const char *replaced)
{
    char path[512];
    if (!fuzz_saved_model_setup()) abort();
    snprintf(path, sizeof path, "%s/%s", fuzz_saved_model_directory, replaced);
    if (!fuzz_write(path, data, size)) abort();
    gbx_model *model = gbx_model_alloc("savedmodel");
    gbx_error error;
    if (model && gbx_saved_model_load(fuzz_saved_model_directory, model, &error) == GBX_OK)
        fuzz_exercise(model);
    gbx_model_free(model);
}

#endif
