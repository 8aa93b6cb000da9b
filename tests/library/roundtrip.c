/* Reads each explanation file given and writes it again with gbx_explanation_write: the bytes
 * must be the same (JSON and CSV alike), and a second read must give the same object. */
#include "glassbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *slurp(const char *path, size_t *length)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *bytes = malloc((size_t)size + 1);
    if (bytes && fread(bytes, 1, (size_t)size, f) != (size_t)size) {
        free(bytes);
        bytes = NULL;
    }
    fclose(f);
    *length = (size_t)size;
    return bytes;
}

/* Where two files first differ, or -1 when they are the same. */
static long first_difference(const char *a, const char *b)
{
    size_t la, lb;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    long at = -1;
    if (!x || !y) at = 0;
    else
        for (size_t i = 0; i < (la > lb ? la : lb) && at < 0; i++)
            if (i >= la || i >= lb || x[i] != y[i]) at = (long)i;
    free(x);
    free(y);
    return at;
}

int main(int argc, char **argv)
{
    const char *directory = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    int failures = 0;
    for (int i = 1; i < argc; i++) {
        const char *path = argv[i], *dot = strrchr(path, '.');
        char copy[4096];
        snprintf(copy, sizeof copy, "%s/roundtrip-%d-%d%s", directory, (int)getpid(), i,
                 dot ? dot : "");
        gbx_error error;
        gbx_explanation *explanation = NULL;
        gbx_writer_options options = {1, NULL, 0};
        if (gbx_explanation_read(path, &explanation, &error) != GBX_OK ||
            gbx_explanation_write(explanation, copy, &options, &error) != GBX_OK) {
            fprintf(stderr, "FAIL: %s: %s\n", path, error.message);
            failures++;
        } else {
            long at = first_difference(path, copy);
            if (at >= 0) {
                fprintf(stderr, "FAIL: %s: written again, it differs from byte %ld\n", path, at);
                failures++;
            }
        }
        gbx_explanation_free(explanation);
        remove(copy);
    }
    printf("%d of %d explanation files read and written back byte for byte\n", argc - 1 - failures,
           argc - 1);
    return failures != 0;
}
