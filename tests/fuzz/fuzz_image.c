/* libFuzzer target: PNG and JPEG files (corpus: tests/fuzz/corpus/image). The decoder picks the
 * format by extension, so each input is tried as both; a decoded image must be readable. */
#include "io/image.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const suffixes[] = {"png", "jpg"};
    for (int s = 0; s < 2; s++) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/glassbox-fuzz-%d.%s", (int)getpid(), suffixes[s]);
        FILE *file = fopen(path, "wb");
        if (!file) return 0;
        fwrite(data, 1, size, file);
        fclose(file);
        uint8_t *pixels = NULL;
        size_t width, height;
        int channels;
        gbx_error error;
        if (gbx_image_decode(path, &pixels, &width, &height, &channels, &error) == GBX_OK) {
            volatile unsigned sum = 0;
            for (size_t j = 0; j < width * height * (size_t)channels; j++) sum += pixels[j];
            (void)sum;
            free(pixels);
        }
        remove(path);
    }
    return 0;
}
