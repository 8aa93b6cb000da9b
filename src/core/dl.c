#include "dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void bind(gbx_library *library)
{
    /* RTLD_LOCAL: the symbols are reached through the table only. */
    void *handle = dlopen(library->soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(library->failure, sizeof library->failure, "cannot load %s: %s",
                 library->soname, dlerror());
        return;
    }
    for (size_t i = 0; i < library->count; i++) {
        void *address = dlsym(handle, library->names[i]);
        if (!address) {
            snprintf(library->failure, sizeof library->failure, "%s has no %s", library->soname,
                     library->names[i]);
            return;
        }
        memcpy((char *)library->table + i * sizeof address, &address, sizeof address);
    }
}

gbx_status gbx_dl_load(gbx_library *library, gbx_error *error)
{
    pthread_mutex_lock(&lock);
    if (!library->tried) {
        library->tried = 1;
        bind(library);
    }
    pthread_mutex_unlock(&lock);
    return library->failure[0] ? gbx_fail(error, GBX_ERR_INTERNAL, "%s", library->failure) : GBX_OK;
}
