/* libFuzzer target: feature groups files (corpus: tests/fuzz/corpus/groups), read through a
 * memory file against six named columns; whatever is accepted must be a partition of them. */
#include "core/core.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const columns[] = {"age", "income", "purpose.car", "purpose.tv",
                                          "purpose.other", "duration"};
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz.json", 0);
        if (fd < 0) abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) abort();
    gbx_groups *groups = NULL;
    gbx_error error;
    if (gbx_groups_read(path, 6, columns, &groups, &error) == GBX_OK) {
        gbx_explainer_options options;
        gbx_explainer_options_init(&options);
        gbx_groups_apply(groups, &options);
        size_t count = gbx_groups_count(groups), used[6] = {0};
        if (count == 0 || count > 6) abort();
        for (size_t f = 0; f < 6; f++) {
            if (options.group_of_feature[f] >= count || !options.group_names[options.group_of_feature[f]])
                abort();
            used[options.group_of_feature[f]]++;
        }
        for (size_t g = 0; g < count; g++)
            if (!used[g]) abort();
        gbx_groups_free(groups);
    }
    return 0;
}
