#include "dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int gbx_dl_bind(const char *library, const char *const *names, size_t count, void *table,
                char *failure, size_t failure_size)
{
    /* RTLD_LOCAL: the symbols are reached through the table only. */
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(failure, failure_size, "cannot load %s: %s", library, dlerror());
        return 0;
    }
    for (size_t i = 0; i < count; i++) {
        void *address = dlsym(handle, names[i]);
        if (!address) {
            snprintf(failure, failure_size, "%s has no %s", library, names[i]);
            return 0;
        }
        memcpy((char *)table + i * sizeof address, &address, sizeof address);
    }
    return 1;
}
