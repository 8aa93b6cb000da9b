/* Runs a fuzz target over every file of the given corpus folders (or files), so the kept corpus
 * is replayed by `make test` (and under the sanitizers by `make sanitize`) without libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        fprintf(stderr, "%s: cannot open\n", path);
        return 1;
    }
    size_t capacity = 1 << 16, size = 0, got;
    uint8_t *data = malloc(capacity);
    while (data && (got = fread(data + size, 1, capacity - size, file)) > 0) {
        size += got;
        if (size == capacity) data = realloc(data, capacity *= 2);
    }
    fclose(file);
    if (!data) return 1;
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 0;
}

int main(int argc, char **argv)
{
    int failures = 0, count = 0;
    for (int a = 1; a < argc; a++) {
        struct stat info;
        if (stat(argv[a], &info) != 0) {
            fprintf(stderr, "%s: not found\n", argv[a]);
            return 1;
        }
        if (!S_ISDIR(info.st_mode)) {
            failures += replay_file(argv[a]);
            count++;
            continue;
        }
        struct dirent **entries;
        int n = scandir(argv[a], &entries, NULL, alphasort);
        for (int i = 0; i < n; i++) {
            if (entries[i]->d_name[0] != '.') {
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", argv[a], entries[i]->d_name);
                failures += replay_file(path);
                count++;
            }
            free(entries[i]);
        }
        free(entries);
    }
    printf("replayed %d inputs\n", count);
    return failures != 0 || count == 0;
}
